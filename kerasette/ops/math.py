"""Elementwise arithmetic, matmul and reductions, each a Function.

Broadcasting follows NumPy; gradients are summed back to each input's shape
(``unbroadcast``). Every op takes its array module from its inputs.
"""
from .. import backend, parallel
from ..autograd.function import Function

__all__ = [
    "add", "subtract", "multiply", "divide", "power", "negative", "abs", "square",
    "exp", "log", "sqrt", "maximum", "minimum", "clip", "where", "matmul", "sum", "mean",
    "max", "min", "var", "std", "cast", "unbroadcast",
]

xpof = backend.get_array_module


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, to ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def _shape(a):
    return getattr(a, "shape", ())


class Add(Function):
    def forward(self, a, b):
        self.shapes = (_shape(a), _shape(b))
        same = type(a) is type(b) and getattr(a, "dtype", None) == getattr(b, "dtype", None)
        if same and self.shapes[0] == self.shapes[1]:
            y = _split_elementwise(xpof(a, b), a,         # a residual sum: on every core
                                   lambda xp, lo, hi, out: xp.add(a[lo:hi], b[lo:hi], out=out))
            if y is not None:
                return y
        return a + b

    def backward(self, g):
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Subtract(Function):
    def forward(self, a, b):
        self.shapes = (_shape(a), _shape(b))
        return a - b

    def backward(self, g):
        sa, sb = self.shapes
        return unbroadcast(g, sa), unbroadcast(-g, sb)


class Multiply(Function):
    def forward(self, a, b):
        self.save(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        ga = unbroadcast(g * b, _shape(a)) if self.needs_grad[0] else None
        gb = unbroadcast(g * a, _shape(b)) if self.needs_grad[1] else None
        return ga, gb


class Divide(Function):
    def forward(self, a, b):
        self.save(a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved
        ga = unbroadcast(g / b, _shape(a)) if self.needs_grad[0] else None
        gb = unbroadcast(-g * a / (b * b), _shape(b)) if self.needs_grad[1] else None
        return ga, gb


class Power(Function):
    def forward(self, a, b):
        out = a ** b
        self.save(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        xp = xpof(a, b)
        ga = unbroadcast(g * b * a ** (b - 1), _shape(a)) if self.needs_grad[0] else None
        gb = None
        if len(self.needs_grad) > 1 and self.needs_grad[1]:
            gb = unbroadcast(g * out * xp.log(xp.where(a > 0, a, 1)), _shape(b))
        return ga, gb


class Unary(Function):
    """An elementwise op given by ``f(xp, x)`` and ``df(xp, x, y, g)``; with ``f_into(xp, x, out)``
    (the same op writing into ``out``) a large input is split over the intra-op threads inside
    ``kerasette.parallel.region()`` (a ResNet's relu layers: one memory pass each, on every core)."""
    f = df = f_into = None
    keep = "x"          # which of input x / output y backward needs

    def forward(self, x):
        xp = xpof(x)
        y = None
        if self.f_into is not None:
            y = _split_elementwise(xp, x, lambda xp, lo, hi, out: self.f_into(xp, x[lo:hi], out))
        if y is None:
            y = self.f(xp, x)
        self.save(x if "x" in self.keep else None, y if "y" in self.keep else None)
        return y

    def backward(self, g):
        x, y = self.saved
        return self.df(xpof(g), x, y, g)


# below this many elements an elementwise op runs unsplit (a thread hand-off costs ~50 us)
UNARY_SPLIT_MIN_SIZE = 1 << 18


def _split_elementwise(xp, like, write):
    """Inside ``parallel.region()``, a new array shaped like ``like`` whose batch rows ``lo:hi``
    each thread fills with ``write(xp, lo, hi, out)``; None when the op should run unsplit
    (a small or rank-1 input, outside the region, or one thread)."""
    if getattr(like, "ndim", 0) < 2 or like.size < UNARY_SPLIT_MIN_SIZE:
        return None
    parts = parallel.ranges(like.shape[0], xp=xp)
    if len(parts) < 2:
        return None
    y = xp.empty(like.shape, dtype=like.dtype)
    parallel.run(lambda lo, hi: write(xp, lo, hi, y[lo:hi]), parts)
    return y


def _unary(name, f, df, keep="x", f_into=None):
    attrs = {"f": staticmethod(f), "df": staticmethod(df), "keep": keep}
    if f_into is not None:
        attrs["f_into"] = staticmethod(f_into)
    return type(name, (Unary,), attrs)


Negative = _unary("Negative", lambda xp, x: -x, lambda xp, x, y, g: -g, keep="")
Abs = _unary("Abs", lambda xp, x: xp.abs(x), lambda xp, x, y, g: g * xp.sign(x))
Square = _unary("Square", lambda xp, x: x * x, lambda xp, x, y, g: 2 * x * g)
Exp = _unary("Exp", lambda xp, x: xp.exp(x), lambda xp, x, y, g: g * y, keep="y")
Log = _unary("Log", lambda xp, x: xp.log(x), lambda xp, x, y, g: g / x)
Sqrt = _unary("Sqrt", lambda xp, x: xp.sqrt(x), lambda xp, x, y, g: g / (2 * y), keep="y")


class _MinMax(Function):
    def __init__(self, pick_max):
        self.pick_max = pick_max

    def forward(self, a, b):
        xp = xpof(a, b)
        mask = (a >= b) if self.pick_max else (a <= b)
        self.save(mask, _shape(a), _shape(b))
        return xp.where(mask, a, b)

    def backward(self, g):
        mask, sa, sb = self.saved
        return unbroadcast(g * mask, sa), unbroadcast(g * ~mask, sb)


class Clip(Function):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = xpof(x)
        self.save((x >= self.lo) & (x <= self.hi))
        return xp.clip(x, self.lo, self.hi)

    def backward(self, g):
        return g * self.saved[0]


class Where(Function):
    def forward(self, cond, a, b):
        xp = xpof(cond, a, b)
        self.save(cond, _shape(a), _shape(b))
        return xp.where(cond, a, b)

    def backward(self, g):
        cond, sa, sb = self.saved
        return None, unbroadcast(g * cond, sa), unbroadcast(g * ~cond, sb)


class MatMul(Function):
    """``a @ b`` with NumPy's batched semantics (1-D operands not supported).

    The common ``(..., n, k) @ (k, m)`` case is one GEMM over the folded rows
    of ``a``, split over the intra-op threads (``kerasette.parallel``).
    """

    def forward(self, a, b):
        self.save(a, b)
        if b.ndim == 2 and a.ndim >= 2:
            xp = xpof(a, b)
            rows = parallel.matmul(a.reshape(-1, a.shape[-1]), b, xp=xp)
            return rows.reshape(a.shape[:-1] + (b.shape[1],))
        return a @ b

    def backward(self, g):
        a, b = self.saved
        xp = xpof(a, b)
        if b.ndim == 2 and a.ndim >= 2:   # (..., n, k) @ (k, m): fold the batch into one GEMM
            a2, g2 = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])
            ga = parallel.matmul(g2, b.T, xp=xp).reshape(a.shape) if self.needs_grad[0] else None
            gb = parallel.matmul_tn(a2, g2, xp=xp) if self.needs_grad[1] else None
            return ga, gb
        ga = unbroadcast(g @ xp.swapaxes(b, -1, -2), a.shape) if self.needs_grad[0] else None
        if not self.needs_grad[1]:
            return ga, None
        return ga, unbroadcast(xp.swapaxes(a, -1, -2) @ g, b.shape)


def _norm_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim for a in axis))


def _expand(g, shape, axes, keepdims):
    """Put back the reduced axes of ``g`` so it broadcasts against ``shape``."""
    if not keepdims:
        g = g.reshape([1 if i in axes else n for i, n in enumerate(shape)])
    return g


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _norm_axis(self.axis, x.ndim)
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = xpof(g)
        return xp.broadcast_to(_expand(g, self.in_shape, self.axes, self.keepdims), self.in_shape)


class Mean(Sum):
    def forward(self, x):
        out = super().forward(x)
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return out / x.dtype.type(self.count) if x.dtype.kind == "f" else out / self.count

    def backward(self, g):
        return super().backward(g / self.count)


class Max(Function):
    """max (or min) over axes; the gradient goes to the first arg-max position
    of each reduced slot (one position on ties, as Keras/TF)."""

    def __init__(self, axis=None, keepdims=False, pick_max=True):
        self.axis, self.keepdims, self.pick_max = axis, keepdims, pick_max

    def forward(self, x):
        xp = xpof(x)
        axes = _norm_axis(self.axis, x.ndim)
        keep = [i for i in range(x.ndim) if i not in axes]
        self.perm = keep + list(axes)
        self.in_shape = x.shape
        flat = x.transpose(self.perm).reshape([x.shape[i] for i in keep] + [-1])
        idx = flat.argmax(axis=-1) if self.pick_max else flat.argmin(axis=-1)
        out = xp.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
        self.save(idx, flat.shape)
        if self.keepdims:
            out = out.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
        return out

    def backward(self, g):
        idx, flat_shape = self.saved
        xp = xpof(g)
        # scatter with a one-hot mask (CuPy < 14 has no put_along_axis)
        hit = idx[..., None] == xp.arange(flat_shape[-1])
        gflat = (hit * g.reshape(idx.shape)[..., None]).astype(g.dtype, copy=False)
        permuted = gflat.reshape([self.in_shape[i] for i in self.perm])
        inverse = [self.perm.index(i) for i in range(len(self.in_shape))]
        return permuted.transpose(inverse)


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.src)


# ---- public functions (keras.ops names) ---------------------------------

def add(a, b):
    """``a + b`` with broadcasting."""
    return Add()(a, b)


def subtract(a, b):
    """``a - b`` with broadcasting."""
    return Subtract()(a, b)


def multiply(a, b):
    """``a * b`` with broadcasting."""
    return Multiply()(a, b)


def divide(a, b):
    """``a / b`` with broadcasting."""
    return Divide()(a, b)


def power(a, b):
    """``a ** b`` with broadcasting (gradient in ``b`` where ``a > 0``)."""
    return Power()(a, b)


def negative(x):
    """``-x``, elementwise."""
    return Negative()(x)


def abs(x):  # noqa: A001 - keras.ops name
    """``|x|``, elementwise (gradient ``sign(x)``, 0 at 0)."""
    return Abs()(x)


def square(x):
    """``x * x``, elementwise.

    Examples:
        >>> from kerasette import ops
        >>> ops.square(np.array([1.0, -3.0])).numpy()
        array([1., 9.])
    """
    return Square()(x)


def exp(x):
    """``e ** x``, elementwise (``keras.activations.exponential`` is this function).

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.exp(np.array([0.0, 1.0])).numpy().round(4).tolist()
        [1.0, 2.7183]
    """
    return Exp()(x)


def log(x):
    """Natural logarithm, elementwise (no clipping: ``log(0)`` is ``-inf``)."""
    return Log()(x)


def sqrt(x):
    """Square root, elementwise."""
    return Sqrt()(x)


def maximum(a, b):
    """Elementwise max; ties send the gradient to ``a``."""
    return _MinMax(True)(a, b)


def minimum(a, b):
    """Elementwise min; ties send the gradient to ``a``."""
    return _MinMax(False)(a, b)


def clip(x, x_min, x_max):
    """Clamp to ``[x_min, x_max]``; zero gradient outside."""
    return Clip(x_min, x_max)(x)


def where(condition, x1, x2):
    """``x1`` where ``condition`` else ``x2`` (no gradient to the condition)."""
    cond = getattr(condition, "value", condition)
    return Where()(cond, x1, x2)


def matmul(a, b):
    """Matrix product with NumPy semantics; batched over leading axes."""
    return MatMul()(a, b)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (int, tuple or None for all)."""
    return Sum(axis=axis, keepdims=keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (int, tuple or None for all)."""
    return Mean(axis=axis, keepdims=keepdims)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Max over ``axis``; the gradient flows to one arg-max per slot."""
    return Max(axis=axis, keepdims=keepdims)(x)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Min over ``axis``; the gradient flows to one arg-min per slot."""
    return Max(axis=axis, keepdims=keepdims, pick_max=False)(x)


def var(x, axis=None, keepdims=False):
    """Population variance over ``axis``, composed from mean and square."""
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def cast(x, dtype):
    """Change the dtype; the gradient is cast back."""
    return Cast(dtype)(x)
