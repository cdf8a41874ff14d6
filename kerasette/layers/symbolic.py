"""Symbolic tensors of the Functional API.

``Input(shape)`` returns a ``KerasTensor``: a shape and dtype with no value.
Calling a layer on KerasTensors records a ``Node`` (layer, inputs, outputs)
and returns new KerasTensors whose shapes are inferred without computing
anything; ``Model(inputs, outputs)`` later walks these nodes.
"""
__all__ = ["KerasTensor", "Node", "is_symbolic", "flatten_structure", "map_structure"]


class KerasTensor:
    """A placeholder with ``shape`` (``None`` for the batch axis) and ``dtype``.

    Args:
        shape (tuple): the shape, ``None`` where a size is not known (the batch axis).
        dtype (str): the dtype of the values it stands for (default ``"float32"``).
        name (str | None): a name for messages and summaries.
        node (Node | None): the node that produced it (None for an ``Input`` before wiring).
        index (int): which output of that node it is (default 0).
    """

    _keras_symbolic = True

    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.node = node            # the Node that produced it (None for Input before wiring)
        self.index = index          # which output of that node

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # arithmetic on symbolic tensors calls the op, which records an op layer (see
    # _apply_op_symbolically), so that ``x + 1`` in functional code saves and loads
    def __add__(self, o):
        from .. import ops
        return ops.add(self, o)

    def __radd__(self, o):
        from .. import ops
        return ops.add(o, self)

    def __sub__(self, o):
        from .. import ops
        return ops.subtract(self, o)

    def __rsub__(self, o):
        from .. import ops
        return ops.subtract(o, self)

    def __mul__(self, o):
        from .. import ops
        return ops.multiply(self, o)

    def __rmul__(self, o):
        from .. import ops
        return ops.multiply(o, self)

    def __truediv__(self, o):
        from .. import ops
        return ops.divide(self, o)

    def __rtruediv__(self, o):
        from .. import ops
        return ops.divide(o, self)

    def __matmul__(self, o):
        from .. import ops
        return ops.matmul(self, o)

    def __rmatmul__(self, o):
        from .. import ops
        return ops.matmul(o, self)

    def __pow__(self, o):
        from .. import ops
        return ops.power(self, o)

    def __neg__(self):
        from .. import ops
        return ops.negative(self)

    def __getitem__(self, key):
        from .. import ops
        return ops.get_item(self, key)

    # comparisons and the other operators Keras's KerasTensor has (``==`` / ``!=`` stay identity:
    # the graph code compares and looks up tensors; use ops.equal / ops.not_equal)
    def __gt__(self, o):
        from .. import ops
        return ops.greater(self, o)

    def __ge__(self, o):
        from .. import ops
        return ops.greater_equal(self, o)

    def __lt__(self, o):
        from .. import ops
        return ops.less(self, o)

    def __le__(self, o):
        from .. import ops
        return ops.less_equal(self, o)

    def __abs__(self):
        from .. import ops
        return ops.absolute(self)

    def __mod__(self, o):
        from .. import ops
        return ops.mod(self, o)

    def __rmod__(self, o):
        from .. import ops
        return ops.mod(o, self)

    def __floordiv__(self, o):
        from .. import ops
        return ops.floor_divide(self, o)

    def __rfloordiv__(self, o):
        from .. import ops
        return ops.floor_divide(o, self)

    def __rpow__(self, o):
        from .. import ops
        return ops.power(o, self)


def _apply_op_symbolically(function, inputs):
    """An op called on KerasTensors (``ops.relu(x)``, ``x + 1`` in functional code) becomes
    an op layer: the configured op, its constant arguments and which arguments are the
    symbolic inputs. It saves as that description and applies a fresh copy of the op
    to the real tensors at run time."""
    from .merge import _OpLayer
    from .layer import unique_name
    positions = [i for i, x in enumerate(inputs) if isinstance(x, KerasTensor)]
    arguments = [None if i in positions else x for i, x in enumerate(inputs)]
    layer = _OpLayer(op=function, arguments=arguments, positions=positions,
                     name=unique_name(_op_name(type(function).__name__)))
    return layer(*[inputs[i] for i in positions])


def symbolic_op_call(fn, args, kwargs):
    """A public ``kerasette.ops`` function called on KerasTensors (``kerasette.ops`` sends every
    such call here): the op's own symbolic result when it has one (an op made of graph nodes
    records them), a plain value as is (``ops.shape`` gives ``(None, 4)``), else one graph node
    that calls ``fn`` on the real tensors when the model runs. Its output shape and dtype come
    from a run on zeros; an error the op raises there (a bad axis) is raised here, at the call.
    Such a node saves only where it maps to a Keras op (``_OpLayer.as_keras_op``)."""
    from ..autograd.tensor import Tensor
    try:
        out = fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - no symbolic form: the node below runs it on real tensors
        out = _NO_SYMBOLIC_FORM
    if out is not _NO_SYMBOLIC_FORM:
        leaves = flatten_structure(out)
        if leaves and all(isinstance(t, KerasTensor) for t in leaves):
            _remember_call(out, fn, args, kwargs)
            return out
        if not any(isinstance(t, (KerasTensor, Tensor)) or hasattr(t, "__array__") for t in leaves):
            return out
    return _function_node(fn, args, kwargs)


_NO_SYMBOLIC_FORM = object()


def _remember_call(out, fn, args, kwargs):
    """When ``fn`` made exactly one op node on the call's own placeholders, that node keeps the
    call (``op_call``): an op Keras has but ``_AS_KERAS_OPS`` does not list (``ops.where``) then
    saves as Keras's node too. An op made of several nodes keeps each node's own form."""
    from .merge import _OpLayer
    node = getattr(out, "node", None)
    if node is None or not isinstance(node.layer, _OpLayer) or node.layer.op is None:
        return
    given = [id(t) for t in flatten_structure((args, kwargs)) if isinstance(t, KerasTensor)]
    if [id(t) for t in node.input_tensors] == given:
        node.layer.op_call = (fn, tuple(args), dict(kwargs))


def _function_node(fn, args, kwargs):
    from .merge import _OpLayer
    from .layer import unique_name
    tensors = [t for t in flatten_structure((args, kwargs)) if isinstance(t, KerasTensor)]

    def run(*real):
        it = iter(real)
        a, k = map_structure(lambda t: next(it) if isinstance(t, KerasTensor) else t, (tuple(args), dict(kwargs)))
        return fn(*a, **k)
    run.__name__ = fn.__name__
    layer = _OpLayer(fn=run, name=unique_name(fn.__name__))
    layer.op_call = (fn, tuple(args), dict(kwargs))      # what saves it as Keras's node (as_keras_op)
    return layer(*tensors)


def _output_dtype(run, tensors):
    """The dtype ``run`` gives on zeros of the tensors' shapes and dtypes (batch 1 for None)."""
    import numpy as np
    from ..autograd import no_grad
    from .. import backend
    dummies = [backend.to_device(np.zeros(tuple(1 if d is None else d for d in t.shape), dtype=t.dtype))
               for t in tensors]
    with no_grad(), np.errstate(all="ignore"):       # zeros, not the user's data: 1/x may warn
        out = run(*dummies)
    first = flatten_structure(out)[0]
    return str(getattr(first, "dtype", backend.floatx()))


def _op_name(class_name):
    from ..naming import to_snake_case
    return to_snake_case(class_name)


class Node:
    """One call of a layer on symbolic inputs.

    ``args``/``kwargs`` are the call's arguments with KerasTensors inside;
    ``outputs`` the structure of KerasTensors it returned.
    """

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = [t for t in flatten_structure((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors = flatten_structure(outputs)

    @property
    def parents(self):
        return [t.node for t in self.input_tensors if t.node is not None]


def is_symbolic(structure):
    """True when a nested structure holds a KerasTensor (a functional-API call)."""
    return any(isinstance(t, KerasTensor) for t in flatten_structure(structure))


def flatten_structure(s):
    """The leaves of nested lists / tuples / dicts, in order."""
    if isinstance(s, (list, tuple)):
        out = []
        for x in s:
            out.extend(flatten_structure(x))
        return out
    if isinstance(s, dict):
        out = []
        for k in s:
            out.extend(flatten_structure(s[k]))
        return out
    return [s]


def map_structure(fn, s):
    """Apply ``fn`` to every leaf of a nested structure, keeping its shape."""
    if isinstance(s, list):
        return [map_structure(fn, x) for x in s]
    if isinstance(s, tuple):
        return tuple(map_structure(fn, x) for x in s)
    if isinstance(s, dict):
        return {k: map_structure(fn, v) for k, v in s.items()}
    return fn(s)
