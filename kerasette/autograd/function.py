"""Function: one differentiable op, forward and backward side by side.

An op is plain array code::

    class Square(Function):
        def forward(self, x):
            self.save(x)              # what backward needs, nothing more
            return x * x

        def backward(self, grad):
            (x,) = self.saved
            return 2 * x * grad       # one gradient per input

``Square.apply(t)`` (or ``Square()(t)``) unwraps Tensors to arrays, runs
``forward`` and, when gradients are recorded, returns a Tensor whose
``node`` is the Function instance so ``backward()`` can walk back through it.
``self.needs_grad[i]`` tells backward whether input ``i`` wants a gradient,
so an op can skip work (the first Dense layer never needs ``dx``).
"""
import contextlib

from .. import context
from .tensor import Tensor

__all__ = ["Function", "no_grad", "enable_grad", "is_grad_enabled", "check_inputs", "check_finite"]

# set by kerasette.layers: turns an op applied to symbolic (functional-API) tensors into a layer call
_SYMBOLIC_HOOK = []


def is_grad_enabled():
    """True while ops record the graph (outside ``no_grad()``).

    Examples:
        >>> from kerasette import autograd
        >>> autograd.is_grad_enabled()
        True
        >>> with autograd.no_grad():
        ...     print(autograd.is_grad_enabled())
        ...
        False
    """
    return context.current().grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run the block without recording a graph (inference: predict, evaluate).

    Examples:
        >>> import kerasette as keras
        >>> from kerasette import autograd
        >>> w = keras.Variable(np.array([1.0, 2.0]))
        >>> with autograd.no_grad():
        ...     y = w * 3.0
        ...
        >>> y.requires_grad
        False
    """
    ctx = context.current()
    prev, ctx.grad_enabled = ctx.grad_enabled, False
    try:
        yield
    finally:
        ctx.grad_enabled = prev


@contextlib.contextmanager
def enable_grad():
    """Record the graph inside the block even within ``no_grad()``.

    Examples:
        >>> from kerasette import autograd
        >>> with autograd.no_grad():
        ...     with autograd.enable_grad():
        ...         print(autograd.is_grad_enabled())
        ...
        True
    """
    ctx = context.current()
    prev, ctx.grad_enabled = ctx.grad_enabled, True
    try:
        yield
    finally:
        ctx.grad_enabled = prev


class Function:
    """Base class of every differentiable op; subclass and write
    ``forward(*arrays) -> array`` and ``backward(grad) -> grads``.

    ``backward`` returns one gradient per input of ``forward`` (a tuple, or a
    bare array for one input); ``None`` for inputs that get no gradient
    (integer labels, inputs with ``needs_grad[i] == False``).
    Non-array settings (axis, stride) go to ``__init__`` as keyword arguments.

    An op with several results returns them as a tuple from ``forward``; it is
    then called with one Tensor per result, and ``backward`` receives one
    gradient per result (``None`` for a result no gradient flowed into)::

        class SplitHalves(Function):
            def forward(self, x):
                n = x.shape[-1] // 2
                return x[..., :n], x[..., n:]

            def backward(self, g_left, g_right):
                ...                   # either may be None

    Each call checks its inputs first (all on one device, no silent float
    promotion: see ``check_inputs``); in the debug mode
    ``kerasette.config.enable_check_numerics()`` it also checks that every
    result is finite and names the first op that is not.

    Examples:
        >>> from kerasette.autograd import Function, Tensor, backward
        >>> class Square(Function):
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x * x
        ...     def backward(self, grad):
        ...         return 2.0 * self.x * grad
        ...
        >>> x = Tensor(np.array([3.0]), requires_grad=True)
        >>> y = Square()(x)
        >>> backward(y.sum())
        >>> y.numpy().tolist(), x.grad.tolist()
        ([9.0], [6.0])
    """

    saved = ()
    inputs = ()
    needs_grad = ()
    n_outputs = 1
    freed = False
    # True on ops meant to combine float dtypes (a cast, a loss of float64 targets)
    mixes_dtypes = False

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *grads):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def save(self, *arrays):
        """Keep what backward needs; freed once backward has run."""
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Create the op with ``kwargs`` and call it on ``inputs``."""
        return cls(**kwargs)(*inputs)

    def __call__(self, *inputs):
        # one pass over the inputs: their arrays, whether any wants a gradient, placeholders
        arrays, wants_grad = [], False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.value)
                wants_grad = wants_grad or x.requires_grad
            elif _SYMBOLIC_HOOK and getattr(x, "_keras_symbolic", False):
                return _SYMBOLIC_HOOK[0](self, inputs)      # functional-API placeholders
            else:
                arrays.append(x)
        check_inputs(self, arrays)
        ctx = context.current()
        record = wants_grad and ctx.grad_enabled
        if record:
            self.needs_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        out = self.forward(*arrays)
        several = type(out) is tuple
        if ctx.check_numerics:
            _check_finite(self, out if several else (out,), "produced")
        if not several:                                   # the common case: one result
            if not record:
                self.saved = ()
                return Tensor(out)
            self.inputs = inputs
            return Tensor(out, requires_grad=True, node=self)
        if not record:
            self.saved = ()
            return tuple(Tensor(o) for o in out)
        self.inputs = inputs
        self.n_outputs = len(out)
        results = tuple(Tensor(o, requires_grad=True, node=self) for o in out)
        for i, t in enumerate(results[1:], 1):
            t.output_index = i
        return results

    def release(self):
        """Free the saved arrays and the links to the inputs (after backward)."""
        self.saved = ()
        self.inputs = ()
        self.freed = True

    def __repr__(self):
        return f"<{type(self).__name__} op>"


def check_inputs(op, arrays):
    """Refuse, naming ``op``, inputs from two devices (array modules) or floating
    inputs of two precisions (float64 data into a float32 layer would silently
    promote the whole graph to float64); Python scalars mix with anything."""
    first = first_float = None
    for a in arrays:
        kind = getattr(a, "dtype", None)
        if kind is None:                # None, Python scalars, settings passed as inputs
            continue
        if first is None:
            first = a
        elif type(a) is not type(first) and _module_name(type(a)) != _module_name(type(first)):
            raise ValueError(f"{_op_name(op)}: inputs live on two devices ({_device_of(first)} and "
                             f"{_device_of(a)}); move them to one first, e.g. "
                             f"kerasette.backend.to_device(x) (the default device) or .numpy() (the CPU)")
        if kind.kind != "f" or not getattr(a, "ndim", 0):
            continue                    # ints, bools, and 0-d values (weakly typed like scalars)
        if first_float is None:
            first_float = kind
        elif kind != first_float and not op.mixes_dtypes:
            raise TypeError(f"{_op_name(op)}: got {first_float} and {kind} inputs, which would silently "
                            f"promote to {_wider(first_float, kind)}; cast one first "
                            f"(ops.cast(x, '{_narrower(first_float, kind)}'), or build the layer "
                            f"with dtype='{_wider(first_float, kind)}')")


def _check_finite(op, arrays, verb):
    for i, a in enumerate(arrays):
        if a is None or getattr(a, "dtype", None) is None or a.dtype.kind not in "fc":
            continue
        if not bool(_module(a).isfinite(a).all()):
            which = f" result {i}" if len(arrays) > 1 else ""
            raise FloatingPointError(f"check_numerics: {_op_name(op)}{which} {verb} NaN or inf "
                                     f"(shape {tuple(a.shape)}, dtype {a.dtype})")


def check_finite(op, arrays, verb="produced"):
    """Raise ``FloatingPointError`` naming ``op`` if any float array in ``arrays``
    holds a NaN or inf (the numerics debug mode; the engine checks gradients too)."""
    _check_finite(op, arrays, verb)


def _module(a):
    from ..backend import get_array_module
    return get_array_module(a)


def _module_name(t):
    return t.__module__.split(".")[0]


def _device_of(a):
    name = _module_name(type(a))
    return {"numpy": "cpu (NumPy)", "cupy": "gpu (CuPy)"}.get(name, f"{type(a).__name__} from {name}")


def _op_name(op):
    name = type(op).__name__
    return f"op {name}" if not name.startswith("op ") else name


def _wider(a, b):
    return a if a.itemsize >= b.itemsize else b


def _narrower(a, b):
    return b if a.itemsize >= b.itemsize else a
