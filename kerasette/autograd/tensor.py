"""Tensor and Variable: the values that flow through the graph.

A ``Tensor`` holds ``.value`` (an ndarray of NumPy or CuPy), ``.grad`` (the
same shape, filled by ``backward``) and ``.node``: the ``Function`` that made
it, or ``None`` for a leaf. A ``Variable`` is a named leaf that an optimizer
updates (layer weights).
"""
from .. import backend

__all__ = ["Tensor", "Variable", "as_tensor"]


class Tensor:
    """A value in the define-by-run graph.

    Args:
        value: an ndarray (any backend module) or something ``asarray`` takes.
        requires_grad: whether ``backward`` should compute ``.grad`` for it.
        node: the Function that produced it (set by ``Function.__call__``).

    ``output_index`` says which of the node's results it is (0 for ops with one).
    """

    __array_priority__ = 100
    __slots__ = ("value", "grad", "node", "output_index", "requires_grad", "_keras_mask", "__weakref__")

    def __init__(self, value, requires_grad=False, node=None):
        if not backend.is_array(value):
            mod = backend.get_array_module(value)
            value = mod.asarray(value)
        self.value = value
        self.grad = None
        self.node = node
        self.output_index = 0
        self.requires_grad = requires_grad
        self._keras_mask = None

    # -- array-like facts -------------------------------------------------
    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def size(self):
        return self.value.size

    def __len__(self):
        return len(self.value)

    def numpy(self):
        """The value as a NumPy array (copied from the GPU when needed)."""
        return backend.to_numpy(self.value)

    def item(self):
        """The value of a one-element tensor as a Python scalar."""
        return self.value.item()

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __array__(self, dtype=None, copy=None):
        a = backend.to_numpy(self.value)
        return a if dtype is None else a.astype(dtype)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor(shape={self.shape}, dtype={self.dtype}{grad})\n{self.value!r}"

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Backpropagate from this tensor (see ``autograd.backward``)."""
        from .engine import backward
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self):
        """The same value, cut from the graph."""
        return Tensor(self.value)

    # -- operators map to ops (imported lazily: ops sit above autograd) ----
    def __add__(self, o):
        return _ops().add(self, o)

    def __radd__(self, o):
        return _ops().add(o, self)

    def __sub__(self, o):
        return _ops().subtract(self, o)

    def __rsub__(self, o):
        return _ops().subtract(o, self)

    def __mul__(self, o):
        return _ops().multiply(self, o)

    def __rmul__(self, o):
        return _ops().multiply(o, self)

    def __truediv__(self, o):
        return _ops().divide(self, o)

    def __rtruediv__(self, o):
        return _ops().divide(o, self)

    def __pow__(self, o):
        return _ops().power(self, o)

    def __rpow__(self, o):
        return _ops().power(o, self)

    def __matmul__(self, o):
        return _ops().matmul(self, o)

    def __rmatmul__(self, o):
        return _ops().matmul(o, self)

    def __neg__(self):
        return _ops().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    def __getitem__(self, key):
        return _ops().get_item(self, key)

    # comparisons give plain (non-differentiable) boolean tensors
    def __lt__(self, o):
        return Tensor(self.value < _raw(o))

    def __le__(self, o):
        return Tensor(self.value <= _raw(o))

    def __gt__(self, o):
        return Tensor(self.value > _raw(o))

    def __ge__(self, o):
        return Tensor(self.value >= _raw(o))

    def __eq__(self, o):
        return Tensor(self.value == _raw(o))

    def __ne__(self, o):
        return Tensor(self.value != _raw(o))

    __hash__ = object.__hash__

    @property
    def T(self):
        return _ops().transpose(self)

    def reshape(self, *shape):
        """``ops.reshape``: ``t.reshape(2, -1)`` or ``t.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def sum(self, axis=None, keepdims=False):
        """``ops.sum`` over ``axis``."""
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """``ops.mean`` over ``axis``."""
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype):
        """``ops.cast`` to ``dtype`` (differentiable)."""
        return _ops().cast(self, dtype)


class Variable(Tensor):
    """A named, trainable leaf tensor: a layer weight.

    Args:
        value: initial array.
        name: the weight's name (``"kernel"``, ``"bias"``).
        trainable: whether optimizers update it and gradients are computed.
    """

    __slots__ = ("name", "path", "_trainable", "constraint")

    def __init__(self, value, name="variable", trainable=True):
        super().__init__(value, requires_grad=trainable)
        self.name = name
        self.path = name
        self._trainable = trainable
        self.constraint = None      # applied to the value after each optimizer step

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        self._trainable = bool(flag)
        self.requires_grad = bool(flag)

    def assign(self, value):
        """Replace the value in place (shape and dtype are kept; data copied)."""
        value = _raw(value)
        if tuple(value.shape) != self.shape:
            raise ValueError(f"Variable '{self.path}': cannot assign shape {tuple(value.shape)} "
                             f"to a variable of shape {self.shape}")
        self.value[...] = backend.to_device(value, backend.get_array_module(self.value))

    def __repr__(self):
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"


def as_tensor(x, dtype=None):
    """Wrap arrays and scalars as constant Tensors; Tensors pass through."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else _ops().cast(x, dtype)
    mod = backend.get_array_module(x)
    return Tensor(mod.asarray(x, dtype=dtype))


def _raw(x):
    return x.value if isinstance(x, Tensor) else x


def _ops():
    from .. import ops
    return ops
