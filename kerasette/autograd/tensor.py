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

    Examples:
        >>> from kerasette.autograd import Tensor, backward
        >>> x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
        >>> y = (x * x + 1.0).sum()
        >>> backward(y)
        >>> float(y.numpy()), x.grad.tolist()
        (7.0, [2.0, 4.0])
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
        """Backpropagate from this tensor: accumulate d(self)/d(leaf) into ``leaf.grad`` for
        every leaf that requires grad (see ``autograd.backward``).

        Args:
            grad (array | None): the gradient flowing into this tensor, of its shape; None
                (default) uses ones (d(self)/d(self) for a scalar loss).
            retain_graph (bool): keep the graph's saved arrays so that a second backward
                through it works (default False: freed as it is walked).
            create_graph (bool): must be False; True raises ``NotImplementedError``
                (gradients are plain arrays, no higher-order derivatives).

        Examples:
            >>> import kerasette as keras
            >>> x = keras.Tensor(np.array([1.0, 2.0]), requires_grad=True)
            >>> (x * x).sum().backward()
            >>> x.grad
            array([2., 4.])
        """
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

    def __mod__(self, o):
        return _ops().mod(self, o)

    def __rmod__(self, o):
        return _ops().mod(o, self)

    def __floordiv__(self, o):
        return _ops().floor_divide(self, o)

    def __rfloordiv__(self, o):
        return _ops().floor_divide(o, self)

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
        """``ops.sum`` over ``axis`` (differentiable).

        Args:
            axis (int | tuple[int] | None): the axes summed; None (default) sums everything
                into a scalar.
            keepdims (bool): keep the summed axes with length 1 (default False).

        Examples:
            >>> from kerasette.autograd import Tensor
            >>> Tensor(np.array([[1.0, 2.0], [3.0, 4.0]])).sum(axis=0).numpy().tolist()
            [4.0, 6.0]
        """
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        """``ops.mean`` over ``axis`` (differentiable).

        Args:
            axis (int | tuple[int] | None): the axes averaged; None (default) averages
                everything into a scalar.
            keepdims (bool): keep the averaged axes with length 1 (default False).

        Examples:
            >>> from kerasette.autograd import Tensor
            >>> Tensor(np.array([[1.0, 2.0], [3.0, 4.0]])).mean(axis=1, keepdims=True).numpy().tolist()
            [[1.5], [3.5]]
        """
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def astype(self, dtype):
        """``ops.cast`` to ``dtype`` (differentiable: the gradient is cast back).

        Args:
            dtype (str | numpy.dtype): the target dtype, e.g. ``"float32"``.

        Examples:
            >>> from kerasette.autograd import Tensor
            >>> str(Tensor(np.array([1.5, 2.5])).astype("float32").dtype)
            'float32'
        """
        return _ops().cast(self, dtype)


class Variable(Tensor):
    """A named leaf tensor that holds state: a layer weight, a metric total, a seed.

    Behaves as ``keras.Variable``: ``assign`` / ``assign_add`` / ``assign_sub`` change
    the value in place (same array, so optimizers and saved references see it),
    ``value`` is the array, ``numpy()`` a NumPy copy, ``trainable``, ``name`` (``"kernel"``)
    and ``path`` (``"dense/kernel"``), ``shape``, ``dtype``, ``ndim``; arithmetic and
    ``kerasette.ops`` take it as a Tensor.

    Args:
        initializer: the initial value (an array, a Tensor, a list or a scalar), or an
            initializer (a name such as ``"zeros"``, an Initializer, or a callable
            ``(shape, dtype) -> array``), which then needs ``shape``.
        shape (tuple | None): the shape, required with an initializer; checked against an
            initial value.
        dtype (str | None): the dtype (default: the value's own, ``floatx()`` for an
            initializer or Python floats).
        trainable (bool): whether optimizers update it and gradients are computed for it
            (integer and boolean variables never get gradients).
        autocast (bool): accepted for Keras compatibility (kerasette has no mixed-precision
            autocasting; the variable keeps its dtype).
        aggregation (str): how distributed replicas combine it: ``"none"``, ``"mean"``,
            ``"sum"`` or ``"only_first_replica"`` (kept as an attribute).
        synchronization (str): accepted for Keras compatibility (``"auto"``).
        name (str | None): the variable's name (default ``"variable"``).

    Examples:
        >>> import kerasette as keras
        >>> v = keras.Variable(np.zeros((2,)), name="v")
        >>> _ = v.assign(np.array([1.0, 2.0]))
        >>> _ = v.assign_add(np.array([0.5, 0.5]))
        >>> v.name, v.shape, v.numpy().tolist()
        ('v', (2,), [1.5, 2.5])
    """

    __slots__ = ("name", "path", "_trainable", "constraint", "regularizer", "aggregation",
                 "synchronization", "autocast", "overwrite_with_gradient")

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, **kwargs):
        if "value" in kwargs:                       # Variable(value=...)
            initializer = kwargs.pop("value")
        if kwargs:
            raise TypeError(f"Variable: unexpected keyword argument(s) {sorted(kwargs)}")
        if aggregation not in ("none", "mean", "sum", "only_first_replica"):
            raise ValueError(f"Variable: aggregation must be 'none', 'mean', 'sum' or "
                             f"'only_first_replica', got {aggregation!r}")
        value = _initial_value(initializer, shape, dtype)
        kind = value.dtype.kind
        super().__init__(value, requires_grad=bool(trainable) and kind in "fc")
        self.name = name or "variable"
        self.path = self.name
        self._trainable = bool(trainable)
        self.constraint = None      # applied to the value after each optimizer step
        self.regularizer = None
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.autocast = autocast
        self.overwrite_with_gradient = False

    @property
    def trainable(self):
        """Whether optimizers update it; setting it turns gradient recording on or off."""
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        self._trainable = bool(flag)
        self.requires_grad = bool(flag) and self.value.dtype.kind in "fc"

    def _checked(self, value, what, exact=True):
        """``value`` as an array of this variable's dtype and device, shape checked."""
        raw = _raw(value)
        mod = backend.get_array_module(self.value)
        if not backend.is_array(raw):
            import numpy as np
            raw = np.asarray(raw)
        target = self.value.dtype
        if raw.dtype != target and not _same_kind(raw.dtype, target):
            raise TypeError(f"Variable '{self.path}': cannot {what} a {raw.dtype} value to a {target} "
                            f"variable (cast it first)")
        shape = tuple(raw.shape)
        if exact and shape != self.shape or not exact and not _broadcasts_to(shape, self.shape):
            raise ValueError(f"Variable '{self.path}': cannot {what} a value of shape {shape} to a variable "
                             f"of shape {self.shape}")
        return backend.to_device(raw, mod, dtype=target)

    def assign(self, value):
        """Replace the value in place (the same array; shape must match, dtype is cast within
        its kind: float64 data into a float32 variable is fine, floats into an int one are not).

        Args:
            value (Tensor | array | list): the new value, of the variable's shape.

        Returns the variable.

        Examples:
            >>> import kerasette as keras
            >>> v = keras.Variable(np.zeros(2, dtype="float32"))
            >>> _ = v.assign(np.array([1.0, 2.0]))
            >>> v.numpy().tolist(), str(v.dtype)
            ([1.0, 2.0], 'float32')
        """
        self.value[...] = self._checked(value, "assign")
        return self

    def assign_add(self, value):
        """Add ``value`` in place (``v.assign(v + value)``); broadcasts to the variable's shape.

        Args:
            value (Tensor | array | float): what to add.

        Returns the variable.

        Examples:
            >>> import kerasette as keras
            >>> v = keras.Variable(np.ones(2, dtype="float32"))
            >>> _ = v.assign_add(np.array([1.0, 2.0]))
            >>> v.numpy().tolist()
            [2.0, 3.0]
        """
        self.value += self._checked(value, "assign_add", exact=False)
        return self

    def assign_sub(self, value):
        """Subtract ``value`` in place (``v.assign(v - value)``); broadcasts to the variable's shape.

        Args:
            value (Tensor | array | float): what to subtract.

        Returns the variable.

        Examples:
            >>> import kerasette as keras
            >>> v = keras.Variable(np.ones(2, dtype="float32"))
            >>> _ = v.assign_sub(np.array([1.0, 2.0]))
            >>> v.numpy().tolist()
            [0.0, -1.0]
        """
        self.value -= self._checked(value, "assign_sub", exact=False)
        return self

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={self.numpy()}>"


def _initial_value(initializer, shape, dtype):
    """The array a new Variable starts from: an initial value, or an initializer called."""
    import numpy as np
    shape = None if shape is None else tuple(int(n) for n in shape)
    if isinstance(initializer, Tensor):
        initializer = initializer.value
    if isinstance(initializer, str) or (callable(initializer) and not backend.is_array(initializer)):
        if shape is None:
            raise ValueError(f"Variable: an initializer ({initializer!r}) needs shape=; got shape=None")
        from .. import initializers
        dtype = dtype or backend.floatx()
        initializer = _raw(initializers.get(initializer)(shape, dtype=dtype))
    if initializer is None:
        raise ValueError("Variable: give an initial value or an initializer")
    if backend.is_array(initializer):
        value = initializer
    else:
        value = np.asarray(initializer)
        if dtype is None and value.dtype == np.float64 and not isinstance(initializer, np.generic):
            dtype = backend.floatx()                # Python floats: floatx, as Keras
    if shape is not None and tuple(value.shape) != shape:
        raise ValueError(f"Variable: the initial value has shape {tuple(value.shape)}, but shape={shape}")
    # host values go to the default device; a device array stays where it is
    dev = None if type(value).__module__ == "numpy" else backend.get_array_module(value)
    out = backend.to_device(value, dev, dtype=dtype)
    return out.copy() if out is initializer else out


def _same_kind(src, dst):
    import numpy as np
    try:
        return bool(np.can_cast(src, dst, casting="same_kind"))
    except TypeError:
        return False


def _broadcasts_to(shape, target):
    if len(shape) > len(target):
        return False
    return all(a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


def as_tensor(x, dtype=None):
    """Wrap arrays and scalars as constant Tensors; Tensors pass through.

    Args:
        x (Tensor | array | scalar | list): a Tensor is returned as is (cast when ``dtype``
            differs); anything else becomes a constant Tensor (``requires_grad=False``)
            with the array module of ``x`` (NumPy for lists and scalars, CuPy for CuPy
            arrays).
        dtype (str | numpy.dtype | None): the dtype wanted; None (default) keeps ``x``'s.

    Examples:
        >>> from kerasette.autograd import as_tensor
        >>> as_tensor([1, 2], dtype="float32").value
        array([1., 2.], dtype=float32)
    """
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else _ops().cast(x, dtype)
    mod = backend.get_array_module(x)
    return Tensor(mod.asarray(x, dtype=dtype))


def _raw(x):
    return x.value if isinstance(x, Tensor) else x


def _ops():
    from .. import ops
    return ops
