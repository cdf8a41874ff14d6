"""Symbolic tensors of the Functional API.

``Input(shape)`` returns a ``KerasTensor``: a shape and dtype with no value.
Calling a layer on KerasTensors records a ``Node`` (layer, inputs, outputs)
and returns new KerasTensors whose shapes are inferred without computing
anything; ``Model(inputs, outputs)`` later walks these nodes.
"""
__all__ = ["KerasTensor", "Node", "is_symbolic", "flatten_structure", "map_structure"]


class KerasTensor:
    """A placeholder with ``shape`` (``None`` for the batch axis) and ``dtype``."""

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

    # arithmetic on symbolic tensors builds Lambda-like layers so that
    # ``x + y`` works in functional code
    def _binary(self, other, fn, name):
        from .merge import _op_layer
        if not isinstance(other, KerasTensor):          # a constant: keep it inside the layer
            return _op_layer(lambda a: fn(a, other), name)(self)
        return _op_layer(fn, name)(self, other)

    def __add__(self, o):
        from .. import ops
        return self._binary(o, ops.add, "add")

    def __radd__(self, o):
        from .. import ops
        return _rev(self, o, ops.add, "add")

    def __sub__(self, o):
        from .. import ops
        return self._binary(o, ops.subtract, "subtract")

    def __rsub__(self, o):
        from .. import ops
        return _rev(self, o, ops.subtract, "subtract")

    def __mul__(self, o):
        from .. import ops
        return self._binary(o, ops.multiply, "multiply")

    def __rmul__(self, o):
        from .. import ops
        return _rev(self, o, ops.multiply, "multiply")

    def __truediv__(self, o):
        from .. import ops
        return self._binary(o, ops.divide, "divide")

    def __matmul__(self, o):
        from .. import ops
        return self._binary(o, ops.matmul, "matmul")

    def __neg__(self):
        from .. import ops
        from .merge import _op_layer
        return _op_layer(ops.negative, "negative")(self)

    def __getitem__(self, key):
        from .. import ops
        from .merge import _op_layer
        return _op_layer(lambda x: ops.get_item(x, key), "get_item")(self)


def _rev(t, o, fn, name):
    from .merge import _op_layer
    return _op_layer(lambda a: fn(o, a), name)(t)


def _apply_op_symbolically(function, inputs):
    """An op called on KerasTensors (``ops.relu(x)`` in functional code) becomes a layer
    that applies a fresh copy of the op to the real tensors at run time."""
    import copy
    from .merge import _op_layer
    positions = [i for i, x in enumerate(inputs) if isinstance(x, KerasTensor)]

    def run(*tensors):
        args = list(inputs)
        for i, t in zip(positions, tensors):
            args[i] = t
        return copy.copy(function)(*args)
    symbolic = [inputs[i] for i in positions]
    return _op_layer(run, type(function).__name__.lower())(*symbolic)


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
