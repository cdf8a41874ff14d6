"""Merge layers: combine a list of tensors (Add, Concatenate, Dot, ...)."""
import functools

from .. import ops
from .layer import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


class _Merge(Layer):
    """Base: ``call(list_of_tensors)``; shapes broadcast as NumPy's do."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a list of at least 2 inputs, "
                             f"got {type(inputs).__name__}")

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = list(input_shape[0])
        for s in input_shape[1:]:
            if len(s) != len(out):
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs have different ranks: "
                                 f"{[tuple(x) for x in input_shape]}")
            for i, (a, b) in enumerate(zip(out, s)):
                if a is not None and b is not None and a != b and 1 not in (a, b):
                    raise ValueError(f"{type(self).__name__} '{self.name}': incompatible shapes "
                                     f"{[tuple(x) for x in input_shape]}")
                out[i] = a if b in (None, 1) else b
        return tuple(out)


class Add(_Merge):
    """Elementwise sum of the inputs.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Add()([np.ones((2, 3)), np.full((2, 3), 3.0)]).numpy().tolist()
        [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    """
    _merge = staticmethod(ops.add)


class Multiply(_Merge):
    """Elementwise product of the inputs.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Multiply()([np.ones((2, 3)), np.full((2, 3), 3.0)]).numpy().tolist()
        [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]
    """
    _merge = staticmethod(ops.multiply)


class Maximum(_Merge):
    """Elementwise maximum of a list of inputs of the same shape.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Maximum()([np.ones((2, 3)), np.full((2, 3), 3.0)]).numpy().tolist()
        [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]
    """
    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    """Elementwise minimum of a list of inputs of the same shape.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Minimum()([np.ones((2, 3)), np.full((2, 3), 3.0)]).numpy().tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    _merge = staticmethod(ops.minimum)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Subtract()([np.ones((2, 3)), np.full((2, 3), 3.0)]).numpy().tolist()
        [[-2.0, -2.0, -2.0], [-2.0, -2.0, -2.0]]
    """

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"Subtract '{self.name}': expected exactly 2 inputs, got {len(inputs)}")
        return ops.subtract(inputs[0], inputs[1])


class Average(_Merge):
    """Elementwise mean of the inputs.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Average()([np.ones((2, 3)), np.full((2, 3), 3.0)]).numpy().tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    def call(self, inputs):
        return ops.multiply(Add.call(self, inputs), 1.0 / len(inputs))

    _merge = staticmethod(ops.add)


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (the last by default).

    Args:
        axis (int): the axis to join along; the inputs' other axes must match (default -1).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Concatenate()([np.ones((2, 3)), np.ones((2, 5))]).shape
        (2, 8)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        self._check(inputs)
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        first = list(input_shape[0])
        ax = self.axis % len(first)
        for s in input_shape[1:]:
            if len(s) != len(first) or any(a != b and None not in (a, b)
                                            for i, (a, b) in enumerate(zip(first, s)) if i != ax):
                raise ValueError(f"Concatenate '{self.name}': inputs must match except on axis {self.axis}, "
                                 f"got shapes {[tuple(x) for x in input_shape]}")
        sizes = [s[ax] for s in input_shape]
        first[ax] = None if None in sizes else sum(sizes)
        return tuple(first)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two ``(batch, n)`` (or ``(batch, ..., n)``) inputs over ``axes``.

    Args:
        axes (int | tuple[int, int]): the axis to sum over, the same for both inputs, or one
            per input.
        normalize (bool): L2-normalise both inputs along ``axes`` first, giving the cosine
            similarity (default False).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 3))]).shape
        (2, 1)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize

    def call(self, inputs):
        a, b = inputs
        ax = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        ax = [x % len(t.shape) for x, t in zip(ax, (a, b))]
        if self.normalize:
            a = ops.divide(a, ops.sqrt(ops.sum(ops.square(a), axis=ax[0], keepdims=True) + 1e-12))
            b = ops.divide(b, ops.sqrt(ops.sum(ops.square(b), axis=ax[1], keepdims=True) + 1e-12))
        letters = "abcdefghij"
        sa = "z" + letters[:len(a.shape) - 1]
        sb = "z" + letters[len(a.shape) - 1:len(a.shape) + len(b.shape) - 2]
        sb = sb[:ax[1]] + sa[ax[0]] + sb[ax[1] + 1:] if len(sb) > ax[1] else sb
        out = "".join(c for c in sa + sb if (sa + sb).count(c) == 1)
        res = ops.einsum(f"{sa},{sb}->z{out}", a, b)
        return ops.reshape(res, (res.shape[0], 1)) if len(res.shape) == 1 else res

    def compute_output_shape(self, input_shape):
        return super(_Merge, self).compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = (f"Functional form of ``{cls.__name__}``: ``{merge.__name__}([x, y])`` is "
                     f"``{cls.__name__}()([x, y])``.\n\n"
                     f"Args:\n"
                     f"    inputs (list): the tensors to merge (symbolic or arrays).\n"
                     f"    **kwargs: the arguments of ``{cls.__name__}``.\n\n"
                     f"Examples:\n"
                     f"    >>> import kerasette as keras, numpy as np\n"
                     f"    >>> keras.layers.{merge.__name__}([np.ones((2, 3)), np.ones((2, 3))]).shape\n"
                     f"    {(2, 6) if cls is Concatenate else (2, 3)}\n")
    return merge


add = _functional(Add)
subtract = _functional(Subtract)
multiply = _functional(Multiply)
average = _functional(Average)
maximum = _functional(Maximum)
minimum = _functional(Minimum)
concatenate = _functional(Concatenate)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of ``Dot``: ``dot([x, y], axes)`` is ``Dot(axes)([x, y])``.

    Args:
        inputs (list): the two tensors.
        axes (int | tuple[int, int]): as for ``Dot`` (default -1).
        **kwargs: the other arguments of ``Dot`` (``normalize``, ``name``).

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.dot([np.ones((2, 3)), np.full((2, 3), 2.0)], axes=1).numpy().tolist()
        [[6.0], [6.0]]
    """
    return Dot(axes=axes, **kwargs)(inputs)


class _OpLayer(Layer):
    """An op applied to symbolic tensors in functional code (``ops.relu(x)``, ``x + 1``,
    ``x[:, :2]``), as a layer of the graph.

    Args:
        op: the configured op (a ``kerasette.autograd.Function`` instance, e.g.
            ``Mean(axis=1)``), or a config dict of one (from ``get_config``).
        arguments: the op's inputs in order, with ``None`` where a symbolic tensor goes
            (``positions``) and the constants (numbers, arrays, index keys) elsewhere.
        positions: which of ``arguments`` are the layer's inputs.

    Saves as the op's class and settings plus the constants; it loads back without
    running anything from the file (only ``kerasette.ops`` classes and registered ops
    are looked up).
    """

    def __init__(self, op=None, arguments=None, positions=None, fn=None, **kwargs):
        super().__init__(**kwargs)
        if fn is not None:                  # a plain function (not saveable)
            if op is not None:
                raise TypeError(f"_OpLayer '{self.name}': pass op or fn, not both")
            self.fn, self.op, self.arguments, self.positions = fn, None, None, None
            # the op's class as Keras names it (``summary`` shows it): ``not_equal`` -> ``NotEqual``
            self.keras_class_name = "".join(p.capitalize() for p in fn.__name__.split("_")) or "Op"
            return
        if isinstance(op, dict):
            op = _op_from_config(op, self.name)
        from ..autograd.function import Function
        if not isinstance(op, Function):
            raise TypeError(f"_OpLayer '{self.name}': op must be a kerasette op (Function), got "
                            f"{type(op).__name__}")
        arguments = list(arguments) if arguments is not None else [None]
        positions = list(positions) if positions is not None else [0]
        if any(not isinstance(i, int) or not 0 <= i < len(arguments) for i in positions):
            raise ValueError(f"_OpLayer '{self.name}': positions {positions} do not index the "
                             f"{len(arguments)} argument(s)")
        self.op, self.arguments, self.positions, self.fn = op, arguments, positions, None
        self.keras_class_name = type(op).__name__

    def __call__(self, *args, **kwargs):
        return super().__call__(list(args) if len(args) > 1 else args[0], **kwargs)

    def _symbolic_call(self, args, kwargs):
        # the op's own output dtype (a cast, a comparison), not its first input's, from a run on
        # zeros; an op that cannot run there keeps the default (shape inference reports its error)
        from .symbolic import KerasTensor, _output_dtype, flatten_structure
        tensors = [t for t in flatten_structure(args) if isinstance(t, KerasTensor)]
        try:
            self.output_dtype = _output_dtype(lambda *real: self.call(list(real) if len(real) > 1 else real[0]),
                                              tensors)
        except Exception:  # noqa: BLE001
            pass
        return super()._symbolic_call(args, kwargs)

    def call(self, inputs):
        tensors = inputs if isinstance(inputs, list) else [inputs]
        if self.fn is not None:
            return self.fn(*tensors)
        import copy
        args = list(self.arguments)
        for i, t in zip(self.positions, tensors):
            args[i] = t
        return copy.copy(self.op)(*args)            # a fresh node per call

    def get_config(self):
        from ..registry import serialize_keras_object
        if self.fn is not None:
            raise TypeError(f"Cannot save layer '{self.name}': it wraps the Python function "
                            f"{getattr(self.fn, '__name__', self.fn)!r}; use a Lambda layer with a "
                            f"registered function")
        constants = [None if i in self.positions else a for i, a in enumerate(self.arguments)]
        return {**super().get_config(), "op": _op_config(self.op, self.name),
                "arguments": serialize_keras_object(_mark_tuples(constants), f"{self.name}.arguments"),
                "positions": list(self.positions)}

    def as_keras_op(self, input_tensors):
        """This node as Keras 3 writes an op applied to symbolic tensors, ``(entry, args)``:
        the layer entry (``module: keras.src.ops.*``, the op's class and its settings) and the
        call's arguments with ``input_tensors`` in place; None where Keras has no such op or a
        constant is not plain JSON (the node then saves as ``_OpLayer``, which only kerasette reads).
        Keras itself then loads a functional model that applies these ops, and kerasette reads
        the node back as it reads Keras's own (``_KerasOp``)."""
        if self.fn is not None:
            return _keras_call_node(self)
        spec = _AS_KERAS_OPS.get(type(self.op).__name__)
        if spec is None or not type(self.op).__module__.startswith("kerasette.ops."):
            return _keras_call_node(self)        # the public op's call, when this node is all of it
        family, setting_names = spec
        name = type(self.op).__name__
        settings = {k: v for k, v in vars(self.op).items() if not k.startswith("_")}
        key = _keras_index_key(settings.pop("key")) if name == "GetItem" and "key" in settings else None
        if set(settings) != set(setting_names) - {"key"} or (name == "GetItem" and key is None):
            return None
        args = list(self.arguments)
        for i, t in zip(self.positions, input_tensors):
            args[i] = t
        constants = [a for i, a in enumerate(args) if i not in self.positions]
        if not all(_plain_json(a) for a in constants) or not all(_plain_json(v) for v in settings.values()):
            return None
        config = {"name": self.name}
        if name == "GetItem":
            if len(args) != 1:
                return None
            args = [args[0], key]
        elif name == "Concatenate":
            args = [args]
            config.update(settings)
        else:
            config.update(settings)
        entry = {"module": f"keras.src.ops.{family}", "class_name": name, "config": config,
                 "registered_name": name}
        return entry, args, {}

    @classmethod
    def from_config(cls, config):
        from ..registry import deserialize_keras_object
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        if "arguments" in config:
            config["arguments"] = deserialize_keras_object(config["arguments"])
        return cls(**config)


#: kerasette op classes that save as Keras 3's op of the same class name (``keras.src.ops.<family>``),
#: with the settings Keras keeps in the op's config; each is loaded by real Keras in
#: tests/saving/test_keras_op_nodes.py. GetItem's key is a call argument in Keras, not a setting.
_AS_KERAS_OPS = {
    "Add": ("numpy", ()), "Subtract": ("numpy", ()), "Multiply": ("numpy", ()), "Divide": ("numpy", ()),
    "Tanh": ("numpy", ()), "Square": ("numpy", ()), "Sqrt": ("numpy", ()), "Exp": ("numpy", ()),
    "Relu": ("nn", ()), "Sigmoid": ("nn", ()),
    "Mean": ("numpy", ("axis", "keepdims")), "Sum": ("numpy", ("axis", "keepdims")),
    "Concatenate": ("numpy", ("axis",)), "GetItem": ("numpy", ("key",)),
}


def _keras_call_node(layer):
    """``(entry, args, kwargs)`` of Keras's node for an op that runs as a function node here
    (``ops.expand_dims(x, 1)`` on a placeholder: ``layer.op_call``), from Keras's signature of that
    op (``saving/keras_op_signatures.json``, made by tests/fixtures/make_keras_op_signatures.py):
    the parameters of its constructor go in the config, those of its call in the node's arguments.
    None when the op, a parameter or a value has no such place."""
    import inspect
    from .symbolic import KerasTensor, flatten_structure
    call = getattr(layer, "op_call", None)
    spec = _keras_op_signatures().get(call[0].__name__) if call is not None else None
    if spec is None:
        return None
    fn, args, kwargs = call
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    config, call_args = {"name": layer.name}, {}
    for p, v in bound.arguments.items():
        symbolic = any(isinstance(t, KerasTensor) for t in flatten_structure(v))
        if p in spec["init"] and not symbolic and _plain_json(v, strings=True):
            config[p] = list(v) if isinstance(v, tuple) else v
        elif p in spec["call"] and (symbolic or _plain_json(v, strings=True)):
            call_args[p] = v
        else:
            return None
    positional = []
    for p in spec["call"]:
        if p not in call_args:
            break
        positional.append(call_args.pop(p))
    name = spec["class_name"]
    return ({"module": spec["module"], "class_name": name, "config": config, "registered_name": name},
            positional, call_args)


@functools.lru_cache(maxsize=1)
def _keras_op_signatures():
    """The shipped table (read once; never modified)."""
    import json
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving", "keras_op_signatures.json")
    with open(path) as f:
        return json.load(f)["ops"]


def _plain_json(value, strings=False):
    """A constant Keras's config format holds as itself: a number, bool, None, or a list of them."""
    if isinstance(value, (list, tuple)):
        return all(_plain_json(v, strings) for v in value)
    return value is None or type(value) in (bool, int, float) or (strings and type(value) is str)


def _keras_index_key(key):
    """An index key as Keras 3 writes GetItem's argument (slices as ``__slice__`` objects, a
    tuple as a list), or None for a key it would not write the same way (arrays, Ellipsis)."""
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for p in parts:
        if isinstance(p, slice) and all(v is None or type(v) is int for v in (p.start, p.stop, p.step)):
            out.append({"class_name": "__slice__", "config": {"start": p.start, "stop": p.stop, "step": p.step}})
        elif type(p) is int:
            out.append(p)
        else:
            return None
    return out if isinstance(key, tuple) else out[0]


def _op_config(op, layer_name):
    """``{"module", "class_name", "config"}`` of a configured op: its settings (the
    attributes its constructor set), tuples marked so that index keys come back as tuples."""
    from ..registry import get_registered_name, serialize_keras_object
    cls = type(op)
    settings = {k: v for k, v in vars(op).items() if not k.startswith("_")}
    registered = get_registered_name(cls)
    return {"module": cls.__module__, "class_name": cls.__name__,
            "config": serialize_keras_object(_mark_tuples(settings), f"{layer_name}.op"),
            "registered_name": registered if registered != cls.__name__ else None}


def _op_from_config(config, layer_name):
    """The op a ``_op_config`` dict describes: a ``kerasette.ops`` class (looked up among the
    loaded op modules, never imported) or a registered / custom one."""
    from ..autograd.function import Function
    from ..registry import deserialize_keras_object, lookup
    name, module = config.get("class_name"), config.get("module")
    cls = lookup(config.get("registered_name") or name, None) if isinstance(name, str) else None
    if cls is None and isinstance(module, str) and module.startswith("kerasette.ops.") \
            and isinstance(name, str):
        cls = _builtin_ops(Function).get((module, name))
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        raise ValueError(f"_OpLayer '{layer_name}': unknown op {module}.{name}; custom ops must be "
                         f"registered with @keras.saving.register_keras_serializable() or passed in "
                         f"custom_objects")
    settings = deserialize_keras_object(config.get("config") or {})
    if not isinstance(settings, dict):
        raise ValueError(f"_OpLayer '{layer_name}': the settings of op {name} must be a dict")
    # settings are data the op's constructor set: never private names or the op's own methods
    bad = sorted(k for k in settings if not isinstance(k, str) or k.startswith("_")
                 or callable(getattr(cls, k, None)))
    if bad:
        raise ValueError(f"_OpLayer '{layer_name}': op {name} has no setting(s) {bad}")
    op = cls.__new__(cls)
    op.__dict__.update(settings)
    return op


def _builtin_ops(base):
    """{(module, class name): class} of every loaded ``kerasette.ops`` op class."""
    out, todo = {}, [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("kerasette.ops."):
                out.setdefault((sub.__module__, sub.__name__), sub)
    return out


def _mark_tuples(value):
    """Tuples (index keys, axes) as ``__tuple__`` values: the config format has only lists."""
    if isinstance(value, tuple):
        return {"class_name": "__tuple__", "config": {"value": [_mark_tuples(v) for v in value]}}
    if isinstance(value, list):
        return [_mark_tuples(v) for v in value]
    if isinstance(value, dict):
        return {k: _mark_tuples(v) for k, v in value.items()}
    return value


class _KerasOp:
    """An op node of a functional model saved by Keras 3 (``module: keras.src.ops.*``, e.g.
    ``Relu``, ``Add``, ``GetItem``, ``Mean``), rebuilt as the ``kerasette.ops`` function of the
    same name. Calling it on symbolic tensors applies that function, which records an op
    layer (``_OpLayer``) in the new graph; it is not a layer itself and holds no weights."""

    built = True

    def __init__(self, class_name, config, module=None):
        from .. import ops
        from ..naming import to_snake_case
        self.module = module
        config = dict(config or {})
        self.name = config.pop("name", None) or to_snake_case(class_name)
        fn_name = to_snake_case(class_name)
        fn = getattr(ops, fn_name, None) if fn_name in getattr(ops, "__all__", ()) or \
            fn_name in vars(ops) and not fn_name.startswith("_") else None
        if fn is None or not callable(fn) or isinstance(fn, type):
            raise ValueError(f"Keras op '{class_name}' (layer '{self.name}') has no kerasette.ops "
                             f"counterpart '{fn_name}'")
        import inspect
        if isinstance(config.get("dtype"), dict) or "dtype" not in inspect.signature(fn).parameters:
            config.pop("dtype", None)           # the op's dtype policy, not an argument (Cast's is)
        self.fn, self.settings, self.class_name = fn, config, class_name

    def __call__(self, *args, **kwargs):
        args = [_decode_values(a) for a in args]
        kwargs = {k: _decode_values(v) for k, v in kwargs.items()}
        from .symbolic import is_symbolic
        if not is_symbolic((args, kwargs)):       # only ever a node of the graph: never computed here
            raise ValueError(f"Keras op '{self.class_name}' (layer '{self.name}'): called without "
                             f"a symbolic input")
        if self.fn.__name__ == "get_item" and len(args) == 2 and isinstance(args[1], list):
            args[1] = tuple(args[1])            # an index key: JSON turned the tuple into a list
        try:
            out = self.fn(*args, **{**self.settings, **kwargs})
        except TypeError as e:
            raise ValueError(f"Keras op '{self.class_name}' (layer '{self.name}'): kerasette.ops."
                             f"{self.fn.__name__} does not take these arguments ({e})") from None
        if not is_symbolic(out):                  # a plain value (a shape): not a node of the graph
            raise ValueError(f"Keras op '{self.class_name}' (layer '{self.name}'): kerasette.ops."
                             f"{self.fn.__name__} gives no tensor here, so it cannot be a node of the graph")
        # an op without a graph form (NotEqual / Any: Keras 3.15 records Masking's mask so) comes
        # back as a function node (layers.symbolic.symbolic_op_call): it saves as Keras's node
        node = getattr(out, "node", None)
        if node is not None and isinstance(node.layer, _OpLayer):
            node.layer.name = self.name         # the name Keras gave it (model.get_layer finds it)
            if node.layer.fn is not None:
                node.layer.__class__ = _KerasFunctionOpLayer
                node.layer.keras_class_name = self.class_name
                node.layer.keras_node = (self.module, dict(self.settings), list(args), dict(kwargs))
        return out


class _KerasFunctionOpLayer(_OpLayer):
    """A Keras op node (``NotEqual``, ``Any``, ...) of a loaded functional model whose
    ``kerasette.ops`` function has no graph form: it runs, and saves again as the Keras node it was
    read from (the class, settings and call arguments Keras wrote); one read from a legacy
    ``.h5``, which drops the op's module, cannot be saved again."""

    def as_keras_op(self, input_tensors):
        module, settings, args, kwargs = getattr(self, "keras_node", (None, None, None, None))
        if not isinstance(module, str) or not module.startswith("keras.src.ops.") \
                or module == _LEGACY_OP_MODULE or kwargs:
            return None
        name = self.keras_class_name
        return ({"module": module, "class_name": name, "config": {"name": self.name, **settings},
                 "registered_name": name}, list(args), {})

    def get_config(self):
        raise TypeError(f"Cannot save layer '{self.name}': it is the Keras op "
                        f"'{getattr(self, 'keras_class_name', '?')}' of a loaded file, which kerasette "
                        f"runs but cannot save yet")


#: the module a legacy .h5's op node is marked with (``saving.legacy_h5``): not Keras's own
_LEGACY_OP_MODULE = "keras.src.ops.from_legacy_h5"


def _decode_values(value):
    """``__slice__`` / ``__numpy__`` / ... values inside an op's call arguments."""
    from ..registry import deserialize_keras_object
    if isinstance(value, dict) and isinstance(value.get("class_name"), str) \
            and value["class_name"].startswith("__") and value["class_name"] != "__keras_tensor__":
        return deserialize_keras_object(value)
    if isinstance(value, list):
        return [_decode_values(v) for v in value]
    return value


def _op_layer(fn, name):
    from .layer import unique_name
    return _OpLayer(fn=fn, name=unique_name(name))
