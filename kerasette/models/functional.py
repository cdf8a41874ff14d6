"""Functional models: a graph of layer calls recorded on symbolic tensors."""
from collections import OrderedDict

from ..layers.core import shape_str
from ..layers.input_layer import InputLayer
from ..layers.merge import _OpLayer
from ..layers.serialization import deserialize_member, serialize
from ..layers.symbolic import KerasTensor, flatten_structure, map_structure
from .model import Model

__all__ = ["Functional"]


class Functional(Model):
    """``Functional(inputs, outputs)``: runs the recorded nodes in dependency order.

    ``keras.Model(inputs, outputs)`` creates one. Only the layer calls between
    ``inputs`` and ``outputs`` belong to the model; layer names must be unique.

    Args:
        inputs (KerasTensor | list | dict): from ``keras.Input``; the structure the model is
            called with (a dict model takes a dict of arrays).
        outputs (KerasTensor | list | dict): layer outputs computed from ``inputs``; the
            model returns the same structure.
        name (str | None): the model's name (default ``"functional"``, numbered).
        trainable (bool): whether training updates its weights (default True).
        **kwargs: ``dtype`` as for every ``Model``.

    ``model.layers`` lists the graph's layers in Keras 3's order; an op applied to symbolic
    tensors in the graph (``keras.ops.relu(x)``, ``x + 1``, ``x[:, :2]``) is recorded as an
    op layer that, as in Keras 3, ``model.layers`` leaves out and ``model.operations`` (every
    step of the graph, layers and ops, in the same order) lists. The ops still save, load,
    clone and show in ``summary()``.

    Call arguments:
        inputs: arrays or Tensors in the structure of ``inputs`` (a dict may also be keyed
            by the input layers' names).
        training (bool | None): training mode (dropout, batch statistics); it reaches the
            layers through the call context that calling the model sets, so call the
            model (``model(x, training=True)``) rather than ``model.call``.
        mask: accepted for Keras compatibility and not used: masks made inside the model
            (``Masking``, ``Embedding(mask_zero=True)``) travel with the tensors.

    Examples:
        >>> import kerasette as keras
        >>> x = keras.Input((4,))
        >>> model = keras.Model(x, keras.layers.Dense(2)(x))
        >>> type(model).__name__, model(np.ones((3, 4))).shape
        ('Functional', (3, 2))
        >>> z = keras.Input((4,), name="z")
        >>> model = keras.Model(z, keras.layers.Dense(2, name="out")(keras.ops.relu(z) + 1))
        >>> [layer.name for layer in model.layers], len(model.operations)
        (['z', 'out'], 4)

    Raises:
        TypeError: an input or output is not a symbolic tensor.
        ValueError: two layers of the graph share a name.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        for t in flatten_structure(inputs) + flatten_structure(outputs):
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model '{self.name}': inputs and outputs must be symbolic tensors "
                                f"(from keras.Input and layer calls), got {type(t).__name__}")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten_structure(inputs)
        self.outputs = flatten_structure(outputs)
        self._nodes = _order_nodes(self.inputs, self.outputs)
        self._graph_layers = _layer_order(inputs, outputs)
        names = [l.name for l in self._graph_layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Model '{self.name}': all layer names must be unique, found duplicates {dup}")
        self._build_shapes = map_structure(lambda t: t.shape, inputs)
        self.built = True

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self):
        return _unpack_singleton(map_structure(lambda t: t.shape, self._outputs_struct))

    @property
    def layers(self):
        """The graph's layers in Keras 3's order, without the ops applied to symbolic tensors
        (those are in ``operations``), as Keras 3's ``Functional.layers``."""
        return [layer for layer in self._graph_layers if not isinstance(layer, _OpLayer)]

    @property
    def operations(self):
        """Every step of the graph in Keras 3's order: its layers and the op layers that record
        ops applied to symbolic tensors (Keras 3's ``Functional.operations``)."""
        return list(self._graph_layers)

    def _sublayers(self):
        return list(self._graph_layers)        # the ops too: training flags, device moves, saving

    def call(self, inputs, training=None, mask=None):
        values = {}
        for kt, value in zip(self.inputs, self._flatten_inputs(inputs)):
            values[id(kt)] = value
        for node in self._nodes:
            args = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.args)
            kwargs = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.kwargs)
            if training is not None and "training" in kwargs:
                # Keras's rule: the model's training flag overrides the one a node recorded (Keras 3
                # files record `training: false` for layers whose call defaults to it)
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            for kt, v in zip(node.output_tensors, flatten_structure(out)):
                values[id(kt)] = v
        return _unpack_singleton(map_structure(lambda t: values[id(t)], self._outputs_struct))

    def _flatten_inputs(self, inputs):
        if isinstance(self._inputs_struct, dict) and isinstance(inputs, dict):
            missing = [k for k in self._inputs_struct if k not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}': missing inputs {missing}; expected keys "
                                 f"{list(self._inputs_struct)}")
            flat = [inputs[k] for k in self._inputs_struct]
        elif isinstance(inputs, dict):
            by_name = {t.node.layer.name: i for i, t in enumerate(self.inputs)}
            if set(inputs) != set(by_name):
                raise ValueError(f"Model '{self.name}': input dict keys {sorted(inputs)} do not match "
                                 f"the model's inputs {sorted(by_name)}")
            flat = [None] * len(self.inputs)
            for k, v in inputs.items():
                flat[by_name[k]] = v
        else:
            flat = flatten_structure(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"Model '{self.name}': expected {len(self.inputs)} input(s) "
                             f"{[shape_str(t.shape) for t in self.inputs]}, got {len(flat)}")
        for kt, x in zip(self.inputs, flat):
            shape = tuple(x.shape)
            if len(shape) != len(kt.shape) or any(a is not None and a != b for a, b in zip(kt.shape, shape)):
                raise ValueError(f"Model '{self.name}': input '{kt.name}' expects shape {shape_str(kt.shape)}, "
                                 f"got {shape_str(shape)}")
        return flat

    def compute_output_shape(self, input_shape):
        return map_structure(lambda t: t.shape, self._outputs_struct)

    # -- config (Keras 3 functional format) ----------------------------------------
    def get_config(self):
        node_ids = {}
        layers = []
        for layer in self._graph_layers:
            own = [n for n in layer._inbound_nodes if n in self._nodes]
            keras_op = layer.as_keras_op(own[0].input_tensors) \
                if isinstance(layer, _OpLayer) and len(own) == 1 else None
            if keras_op is not None:         # an op on symbolic tensors, as Keras 3 writes it
                entry, args, kwargs = keras_op
                entry["name"] = layer.name
                entry["inbound_nodes"] = [{"args": _serialize_args(args), "kwargs": _serialize_args(kwargs)}]
                layers.append(entry)
                continue
            entry = serialize(layer)
            entry["name"] = layer.name
            nodes = []
            for n in own:
                node_ids[id(n)] = layer._inbound_nodes.index(n)
                nodes.append({"args": _serialize_args(n.args), "kwargs": _serialize_args(n.kwargs)})
            entry["inbound_nodes"] = nodes
            layers.append(entry)
        ref = lambda t: [t.node.layer.name, t.node.layer._inbound_nodes.index(t.node), t.index]  # noqa: E731
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": _struct_refs(self._inputs_struct, ref),
                "output_layers": _struct_refs(self._outputs_struct, ref)}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild from ``get_config()``; ``safe_mode=False`` allows Python bytecode
        (a ``Lambda``'s lambda), None follows the loading call in progress (safe by default)."""
        from ..registry import CustomObjectScope, SafeModeScope, effective_safe_mode
        with SafeModeScope(effective_safe_mode(safe_mode)), CustomObjectScope(custom_objects or {}):
            return cls._from_config(config, custom_objects)

    @classmethod
    def _from_config(cls, config, custom_objects=None):
        created = {}
        outputs_of = {}      # (layer name, node index) -> flat output KerasTensors
        pending = []
        for i, entry in enumerate(config["layers"]):
            layer = deserialize_member(entry, i, config.get("name"), custom_objects)
            name = entry.get("name", layer.name)
            created[name] = layer
            if isinstance(layer, InputLayer):
                outputs_of[(name, 0)] = [layer.output_tensor]
                continue
            for k, node in enumerate(entry.get("inbound_nodes", [])):
                pending.append((name, k, node))
        while pending:
            progress = False
            rest = []
            for name, k, node in pending:
                try:
                    args = _deserialize_args(node.get("args", []), outputs_of)
                    kwargs = _deserialize_args(node.get("kwargs", {}), outputs_of)
                except KeyError:
                    rest.append((name, k, node))
                    continue
                if isinstance(node, list):          # Keras 2 style [[name, node, tensor, kwargs], ...]
                    args = (args,) if len(args) != 1 else args
                out = created[name](*args, **kwargs)
                outputs_of[(name, k)] = flatten_structure(out)
                progress = True
            if not progress:
                raise ValueError(f"Functional.from_config: cannot resolve inputs of layers "
                                 f"{[p[0] for p in rest]}")
            pending = rest

        def lookup(ref):
            return outputs_of[(ref[0], ref[1])][ref[2]]
        inputs = _struct_lookup(config["input_layers"], lookup)
        outputs = _struct_lookup(config["output_layers"], lookup)
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def _unpack_singleton(x):
    """A one-element list or tuple of outputs stands for its element, as Keras 3's
    ``Model(inputs, [output])`` returns an array, not a list of one."""
    if isinstance(x, (list, tuple)) and len(x) == 1:
        return x[0]
    return x


def _order_nodes(inputs, outputs):
    """The nodes between ``inputs`` and ``outputs``, parents before children (the order they
    run in; a walk with its own stack, so a graph may be deeper than Python's recursion limit)."""
    input_ids = {id(t) for t in inputs}
    order, done = [], set()
    for root in outputs:
        stack = [(root, root.node.layer.name if root.node else "?", None, None)]
        while stack:
            t, path, node, parents = stack.pop()     # path: the layer that needs t
            if parents is None:
                if id(t) in input_ids:
                    continue
                node = t.node
                if node is None or isinstance(node.layer, InputLayer):
                    missing = t.name or (node.layer.name if node else "?")
                    raise ValueError(f"Graph disconnected: cannot obtain value for tensor {t} "
                                     f"(input '{missing}') needed by layer '{path}'. That input is not "
                                     f"among the model's inputs {[x.name for x in inputs]}.")
                if id(node) in done:
                    continue
                parents = iter(node.input_tensors)
            parent = next(parents, None)
            if parent is None:
                done.add(id(node))
                order.append(node)
            else:
                stack.append((t, path, node, parents))
                stack.append((parent, node.layer.name, None, None))
    return order


def _layer_order(inputs, outputs):
    """The graph's layers in Keras 3's ``Functional.layers`` order.

    As ``map_graph`` in ``keras/src/ops/function.py``: a depth-first walk from the outputs
    (flattened as ``keras.tree`` does: dict keys sorted) numbers each layer when first met
    (pre-order) and lists the nodes parents-first (post-order). Walking that list backwards,
    a node's depth is 0 at an output and otherwise 1 + the largest depth of a node it feeds;
    a layer's depth is the largest of its nodes' depths seen so far (a shared layer's later
    nodes are lifted to it). Layers are then sorted by depth, deepest (the inputs) first, ties
    by first-met number. Inputs that feed no output come at depth 0, before the others there.

    An input that is an intermediate tensor stands where Keras puts the ``Input`` it clones
    for it: its producing layer is met there and the walk stops at it.
    """
    input_ids = {id(t) for t in _keras_flatten(inputs)}
    first_seen, finished, leaves, order = {}, set(), set(), []   # order: nodes, parents first
    for root in _keras_flatten(outputs):
        stack = [(root, None, None)]                  # (tensor, its node, iterator over parents)
        while stack:
            t, node, parents = stack.pop()
            if parents is None:
                node = t.node
                if node is None or id(node) in finished:
                    continue
                first_seen.setdefault(id(node.layer), len(first_seen))
                if isinstance(node.layer, InputLayer) or id(t) in input_ids:
                    finished.add(id(node))
                    leaves.add(id(node))
                    order.append(node)
                    continue
                parents = iter(_node_parents(node))
            nxt = next(parents, None)
            if nxt is None:
                finished.add(id(node))
                order.append(node)
            else:
                stack.append((t, node, parents))
                stack.append((nxt, None, None))
    in_graph = {id(n) for n in order}
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        if id(node) in leaves:
            continue
        for parent in _node_parents(node):
            p = parent.node
            if p is not None and id(p) in in_graph:
                node_depth[id(p)] = max(depth + 1, node_depth.get(id(p), 0))
    for t in _keras_flatten(inputs):               # inputs that feed no output
        layer = t.node.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)], layers[id(layer)] = 0, layer
            first_seen[id(layer)] = -1
    by_depth = {}
    for lid, d in layer_depth.items():
        by_depth.setdefault(d, []).append(layers[lid])
    out = []
    for d in sorted(by_depth, reverse=True):
        out.extend(sorted(by_depth[d], key=lambda l: first_seen[id(l)]))
    return out


def _node_parents(node):
    """A node's input tensors in ``keras.tree`` order (keyword arguments by sorted name)."""
    return [t for t in _keras_flatten((list(node.args), node.kwargs)) if isinstance(t, KerasTensor)]


def _keras_flatten(s):
    """The leaves of a nested structure in ``keras.tree.flatten`` order: a dict's values by
    sorted key (an ``OrderedDict``'s in insertion order, as optree does)."""
    if isinstance(s, (list, tuple)):
        out = []
        for x in s:
            out.extend(_keras_flatten(x))
        return out
    if isinstance(s, dict):
        keys = list(s)
        if not isinstance(s, OrderedDict):
            try:
                keys = sorted(keys)
            except TypeError:                        # keys that do not compare: as given
                pass
        out = []
        for k in keys:
            out.extend(_keras_flatten(s[k]))
        return out
    return [s]


def _serialize_args(s):
    def enc(t):
        if isinstance(t, KerasTensor):
            layer = t.node.layer
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(t.shape), "dtype": t.dtype,
                               "keras_history": [layer.name, layer._inbound_nodes.index(t.node), t.index]}}
        return t
    return map_structure(enc, list(s) if isinstance(s, tuple) else s)


def _deserialize_args(s, outputs_of):
    if isinstance(s, dict) and s.get("class_name") == "__keras_tensor__":
        name, node, idx = s["config"]["keras_history"]
        return outputs_of[(name, node)][idx]
    if isinstance(s, dict):
        return {k: _deserialize_args(v, outputs_of) for k, v in s.items()}
    if isinstance(s, list):
        if len(s) >= 3 and isinstance(s[0], str) and isinstance(s[1], int) and isinstance(s[2], int):
            return outputs_of[(s[0], s[1])][s[2]]         # Keras 2 reference
        return [_deserialize_args(x, outputs_of) for x in s]
    return s


def _struct_refs(struct, ref):
    if isinstance(struct, dict):
        return {k: ref(v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [ref(t) for t in struct]
    return ref(struct)


def _struct_lookup(refs, lookup):
    if isinstance(refs, dict):
        return {k: lookup(v) for k, v in refs.items()}
    if refs and isinstance(refs[0], str):
        return lookup(refs)
    return [lookup(r) for r in refs]
