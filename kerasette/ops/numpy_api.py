"""The rest of the ``keras.ops`` NumPy namespace: elementwise math, comparisons and logic,
reductions, shape and creation functions, linear algebra.

Differentiable ops are either ``Function``s (forward and backward side by side, as in
``math.py``) or compositions of differentiable primitives; comparisons, integer and
bitwise ops, sorting indices and the like return constant Tensors (no gradient), as in
Keras. Every op takes its array module from its inputs (creation functions from the
default device).
"""
import builtins
import math as _pymath

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .math import unbroadcast, _unary
import importlib as _importlib

# by module (the package's ``shape`` attribute is the ``ops.shape`` function)
m = _importlib.import_module(".math", __package__)
s = _importlib.import_module(".shape", __package__)

xpof = backend.get_array_module

__all__ = [
    # elementwise, differentiable
    "absolute", "fabs", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
    "arccosh", "arctanh", "expm1", "exp2", "log1p", "log2", "log10", "reciprocal", "rsqrt", "cbrt",
    "erf", "erfc", "erfinv", "sinc", "deg2rad", "rad2deg", "arctan2", "hypot", "logaddexp", "logaddexp2",
    "mod", "fmod", "divide_no_nan", "fmax", "fmin", "ldexp", "nan_to_num", "copy", "real", "imag",
    "conj", "conjugate", "angle", "polar",
    # elementwise, no gradient
    "sign", "ceil", "floor", "round", "trunc", "floor_divide", "heaviside", "nextafter", "gcd", "lcm",
    "signbit", "i0", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isclose", "allclose", "isfinite", "isinf",
    "isnan", "isneginf", "isposinf", "isreal", "isin", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_invert", "bitwise_left_shift", "bitwise_right_shift", "left_shift",
    "right_shift",
    # reductions and scans
    "all", "any", "amax", "amin", "prod", "cumsum", "cumprod", "logsumexp", "count_nonzero", "average",
    "ptp", "median", "quantile", "percentile", "nansum", "nanmean", "nanmax", "nanmin", "nanprod",
    "nanvar", "nanstd", "nanmedian", "nanquantile", "nanpercentile", "nancumsum", "nancumprod",
    "nanargmax", "nanargmin", "moments", "sort", "argsort", "argpartition", "top_k", "searchsorted",
    "digitize", "bincount", "histogram", "unique", "nonzero", "unravel_index",
    # shape, indexing, products
    "ravel", "append", "hstack", "vstack", "dstack", "array_split", "hsplit", "vsplit", "dsplit", "roll",
    "rot90", "fliplr", "flipud", "tril", "triu", "diag", "diagflat", "diagonal", "trace", "diff",
    "take_along_axis", "slice", "slice_update", "scatter", "scatter_update", "select", "tensordot",
    "inner", "outer", "vdot", "cross", "kron", "trapezoid", "correlate", "vander", "size", "ndim",
    "dtype", "is_tensor", "view", "saturate_cast",
    # creation
    "arange", "array", "empty", "empty_like", "eye", "full", "full_like", "identity", "linspace",
    "logspace", "geomspace", "meshgrid", "tri", "bartlett", "blackman", "hamming", "hanning", "kaiser",
    # linear algebra
    "inv", "det", "slogdet", "logdet", "solve", "solve_triangular", "cholesky", "cholesky_inverse",
    "qr", "svd", "eig", "eigh", "lstsq", "pinv", "matrix_rank", "norm", "lu_factor",
]


# ---- helpers ---------------------------------------------------------------------

def _raw(x):
    return x.value if isinstance(x, Tensor) else x


def _arr(x):
    """``x`` as an array of the default device (device arrays as they are; host arrays and
    lists moved there, as ``convert_to_tensor`` does)."""
    v = _raw(x)
    if backend.is_array(v):
        if type(v).__module__ == "numpy" and backend.xp() is not np:
            return backend.to_device(v)
        return v
    a = np.asarray(v)
    if a.dtype == np.float64 and not isinstance(v, np.generic):
        a = a.astype(backend.floatx())
    return backend.to_device(a)


def _on(arr, like):
    """``arr`` (an index or mask array) on the array module of ``like``."""
    mod = xpof(_raw(like))
    arr = _raw(arr)
    if not backend.is_array(arr):
        arr = np.asarray(arr)
    return arr if xpof(arr) is mod else backend.to_device(backend.to_numpy(arr), mod)


def _t(x):
    """``x`` as a Tensor (constants for arrays, lists and scalars)."""
    return x if isinstance(x, Tensor) else Tensor(_arr(x))


def _float_t(x):
    """A Tensor of a float dtype: integer and boolean inputs are cast to ``floatx()``
    (as Keras does for ``sin`` of ints)."""
    t = _t(x)
    return t if t.dtype.kind in "fc" else Tensor(t.value.astype(backend.floatx()))


def _const(x):
    return Tensor(x)


def _is_number(v):
    return isinstance(v, (int, float, bool, complex, np.generic))


def _pair(a, b):
    """Two operands on one device (the first device array's; host arrays and lists moved
    there), for an op without gradient; Python and NumPy scalars pass as they are."""
    va, vb = _raw(a), _raw(b)
    va = va if _is_number(va) else _arr(va)
    vb = vb if _is_number(vb) else _arr(vb)
    if _is_number(va) and _is_number(vb):
        va = _arr(va)
    mod = xpof(va, vb)
    if backend.is_array(va) and xpof(va) is not mod:
        va = backend.to_device(backend.to_numpy(va), mod)
    if backend.is_array(vb) and xpof(vb) is not mod:
        vb = backend.to_device(backend.to_numpy(vb), mod)
    return va, vb


def _scalar_like(v, x):
    """A Python number as a 0-d array of ``x``'s dtype, so float32 stays float32."""
    return xpof(x).asarray(v, dtype=x.dtype)


# ---- elementwise, differentiable ----------------------------------------------------

_LN2, _LN10 = _pymath.log(2.0), _pymath.log(10.0)


def _erf_array(xp, x):
    """erf by the Chebyshev fit of Numerical Recipes' erfcc (fractional error < 1.2e-7)."""
    z = xp.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277)))))))))
    erfc = t * xp.exp(poly)
    return xp.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(x.dtype, copy=False)


def _erfinv_array(xp, y):
    """erfinv: Giles' single-precision approximation, then two Newton steps on erf."""
    y = xp.clip(y, -1.0, 1.0)
    w = -xp.log(xp.maximum((1.0 - y) * (1.0 + y), 1e-300))
    small = w < 5.0
    ws = w - 2.5
    p1 = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p1 = c + p1 * ws
    wl = xp.sqrt(xp.maximum(w, 5.0)) - 3.0
    p2 = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        p2 = c + p2 * wl
    x = xp.where(small, p1, p2) * y
    for _ in range(2):
        err = _erf_array(xp, x) - y
        x = x - err / (1.1283791670955126 * xp.exp(-x * x))
    x = xp.where(xp.abs(y) >= 1, xp.sign(y) * xp.inf, x)
    return x.astype(y.dtype, copy=False)


def _safe_sqrt(xp, v):
    return xp.sqrt(xp.maximum(v, 0))


Sin = _unary("Sin", lambda xp, x: xp.sin(x), lambda xp, x, y, g: g * xp.cos(x))
Cos = _unary("Cos", lambda xp, x: xp.cos(x), lambda xp, x, y, g: -g * xp.sin(x))
Tan = _unary("Tan", lambda xp, x: xp.tan(x), lambda xp, x, y, g: g * (1 + y * y), keep="y")
Arcsin = _unary("Arcsin", lambda xp, x: xp.arcsin(x), lambda xp, x, y, g: g / _safe_sqrt(xp, 1 - x * x))
Arccos = _unary("Arccos", lambda xp, x: xp.arccos(x), lambda xp, x, y, g: -g / _safe_sqrt(xp, 1 - x * x))
Arctan = _unary("Arctan", lambda xp, x: xp.arctan(x), lambda xp, x, y, g: g / (1 + x * x))
Sinh = _unary("Sinh", lambda xp, x: xp.sinh(x), lambda xp, x, y, g: g * xp.cosh(x))
Cosh = _unary("Cosh", lambda xp, x: xp.cosh(x), lambda xp, x, y, g: g * xp.sinh(x))
Arcsinh = _unary("Arcsinh", lambda xp, x: xp.arcsinh(x), lambda xp, x, y, g: g / xp.sqrt(x * x + 1))
Arccosh = _unary("Arccosh", lambda xp, x: xp.arccosh(x), lambda xp, x, y, g: g / _safe_sqrt(xp, x * x - 1))
Arctanh = _unary("Arctanh", lambda xp, x: xp.arctanh(x), lambda xp, x, y, g: g / (1 - x * x))
Expm1 = _unary("Expm1", lambda xp, x: xp.expm1(x), lambda xp, x, y, g: g * (y + 1), keep="y")
Exp2 = _unary("Exp2", lambda xp, x: xp.exp2(x), lambda xp, x, y, g: g * y * _LN2, keep="y")
Log1p = _unary("Log1p", lambda xp, x: xp.log1p(x), lambda xp, x, y, g: g / (1 + x))
Log2 = _unary("Log2", lambda xp, x: xp.log2(x), lambda xp, x, y, g: g / (x * _LN2))
Log10 = _unary("Log10", lambda xp, x: xp.log10(x), lambda xp, x, y, g: g / (x * _LN10))
Reciprocal = _unary("Reciprocal", lambda xp, x: 1 / x, lambda xp, x, y, g: -g * y * y, keep="y")
Rsqrt = _unary("Rsqrt", lambda xp, x: 1 / xp.sqrt(x), lambda xp, x, y, g: -0.5 * g * y * y * y, keep="y")
Cbrt = _unary("Cbrt", lambda xp, x: xp.cbrt(x), lambda xp, x, y, g: g / (3 * y * y), keep="y")
Erf = _unary("Erf", _erf_array, lambda xp, x, y, g: g * 1.1283791670955126 * xp.exp(-x * x))
Erfc = _unary("Erfc", lambda xp, x: 1 - _erf_array(xp, x),
              lambda xp, x, y, g: -g * 1.1283791670955126 * xp.exp(-x * x))
Erfinv = _unary("Erfinv", _erfinv_array, lambda xp, x, y, g: g * 0.886226925452758 * xp.exp(y * y), keep="y")


def _sinc_grad(xp, x, y, g):
    px = np.pi * x
    safe = xp.where(x == 0, 1, x)
    return g * xp.where(x == 0, 0, (xp.cos(px) - y) / safe)


Sinc = _unary("Sinc", lambda xp, x: xp.sinc(x), _sinc_grad, keep="xy")


def _unary_op(cls, name, doc):
    def op(x):
        return cls()(_float_t(x))
    op.__name__ = name
    op.__doc__ = doc + "\n\n    Args:\n        x (Tensor | array): the input (integers are cast to floatx).\n    "
    return op


sin = _unary_op(Sin, "sin", "Elementwise sine.")
cos = _unary_op(Cos, "cos", "Elementwise cosine.")
tan = _unary_op(Tan, "tan", "Elementwise tangent.")
arcsin = _unary_op(Arcsin, "arcsin", "Elementwise inverse sine.")
arccos = _unary_op(Arccos, "arccos", "Elementwise inverse cosine.")
arctan = _unary_op(Arctan, "arctan", "Elementwise inverse tangent.")
sinh = _unary_op(Sinh, "sinh", "Elementwise hyperbolic sine.")
cosh = _unary_op(Cosh, "cosh", "Elementwise hyperbolic cosine.")
arcsinh = _unary_op(Arcsinh, "arcsinh", "Elementwise inverse hyperbolic sine.")
arccosh = _unary_op(Arccosh, "arccosh", "Elementwise inverse hyperbolic cosine.")
arctanh = _unary_op(Arctanh, "arctanh", "Elementwise inverse hyperbolic tangent.")
expm1 = _unary_op(Expm1, "expm1", "``exp(x) - 1``, accurate near 0.")
exp2 = _unary_op(Exp2, "exp2", "``2 ** x``.")
log1p = _unary_op(Log1p, "log1p", "``log(1 + x)``, accurate near 0.")
log2 = _unary_op(Log2, "log2", "Base-2 logarithm.")
log10 = _unary_op(Log10, "log10", "Base-10 logarithm.")
reciprocal = _unary_op(Reciprocal, "reciprocal", "``1 / x``.")
rsqrt = _unary_op(Rsqrt, "rsqrt", "``1 / sqrt(x)``.")
cbrt = _unary_op(Cbrt, "cbrt", "Cube root.")
erf = _unary_op(Erf, "erf", "The error function (fractional error below 1.2e-7).")
erfc = _unary_op(Erfc, "erfc", "``1 - erf(x)``.")
erfinv = _unary_op(Erfinv, "erfinv", "The inverse error function.")
sinc = _unary_op(Sinc, "sinc", "``sin(pi x) / (pi x)`` (1 at 0).")


def absolute(x):
    """``abs(x)`` (``keras.ops.absolute``).

    Args:
        x (Tensor | array): the input.
    """
    return m.abs(_t(x))


def fabs(x):
    """``abs(x)`` as a float (integers are cast to floatx).

    Args:
        x (Tensor | array): the input.
    """
    return m.abs(_float_t(x))


def deg2rad(x):
    """Degrees to radians.

    Args:
        x (Tensor | array): angles in degrees.
    """
    return m.multiply(_float_t(x), np.pi / 180)


def rad2deg(x):
    """Radians to degrees.

    Args:
        x (Tensor | array): angles in radians.
    """
    return m.multiply(_float_t(x), 180 / np.pi)


class _Binary(Function):
    """An elementwise op of two inputs: ``f(xp, a, b)`` and ``df(xp, a, b, y, g) -> (ga, gb)``."""
    f = df = None

    def forward(self, a, b):
        xp = xpof(a, b)
        y = self.f(xp, a, b)
        self.save(a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        ga, gb = self.df(xpof(g), a, b, y, g)
        return unbroadcast(ga, getattr(a, "shape", ())), unbroadcast(gb, getattr(b, "shape", ()))


def _binary(name, f, df):
    return type(name, (_Binary,), {"f": staticmethod(f), "df": staticmethod(df)})


Arctan2 = _binary("Arctan2", lambda xp, a, b: xp.arctan2(a, b),
                  lambda xp, a, b, y, g: (g * b / (a * a + b * b), -g * a / (a * a + b * b)))
Hypot = _binary("Hypot", lambda xp, a, b: xp.hypot(a, b),
                lambda xp, a, b, y, g: (g * a / xp.where(y == 0, 1, y), g * b / xp.where(y == 0, 1, y)))
Logaddexp = _binary("Logaddexp", lambda xp, a, b: xp.logaddexp(a, b),
                    lambda xp, a, b, y, g: (g * xp.exp(a - y), g * xp.exp(b - y)))
Mod = _binary("Mod", lambda xp, a, b: xp.mod(a, b),
              lambda xp, a, b, y, g: (g, -g * xp.floor_divide(a, b)))
Fmod = _binary("Fmod", lambda xp, a, b: xp.fmod(a, b),
               lambda xp, a, b, y, g: (g, -g * xp.trunc(a / b)))


def _float_pair(a, b):
    ta = a if isinstance(a, Tensor) else (_float_t(a) if backend.is_array(_raw(a)) or
                                          isinstance(a, (list, tuple)) else a)
    tb = b if isinstance(b, Tensor) else (_float_t(b) if backend.is_array(_raw(b)) or
                                          isinstance(b, (list, tuple)) else b)
    if isinstance(ta, Tensor) and ta.dtype.kind not in "fc":
        ta = _float_t(ta)
    if isinstance(tb, Tensor) and tb.dtype.kind not in "fc":
        tb = _float_t(tb)
    if not isinstance(ta, Tensor) and not isinstance(tb, Tensor):
        ta = _float_t(ta)
    return ta, tb


def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)``, elementwise, in ``(-pi, pi]``.

    Args:
        x1 (Tensor | array): y coordinates.
        x2 (Tensor | array): x coordinates.
    """
    return Arctan2()(*_float_pair(x1, x2))


def hypot(x1, x2):
    """``sqrt(x1**2 + x2**2)``, elementwise.

    Args:
        x1 (Tensor | array): first legs.
        x2 (Tensor | array): second legs.
    """
    return Hypot()(*_float_pair(x1, x2))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))``, computed stably.

    Args:
        x1 (Tensor | array): first operand.
        x2 (Tensor | array): second operand.
    """
    return Logaddexp()(*_float_pair(x1, x2))


def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)``, computed stably.

    Args:
        x1 (Tensor | array): first operand.
        x2 (Tensor | array): second operand.
    """
    a, b = _float_pair(x1, x2)
    return m.divide(logaddexp(m.multiply(a, _LN2), m.multiply(b, _LN2)), _LN2)


def mod(x1, x2):
    """The remainder of ``x1 / x2`` with the sign of ``x2`` (Python's ``%``).

    Args:
        x1 (Tensor | array): dividends.
        x2 (Tensor | array): divisors.
    """
    if _kind(x1) in "iub" and _kind(x2) in "iub":
        va, vb = _pair(x1, x2)
        return _const(xpof(va, vb).mod(va, vb))
    return Mod()(*_float_pair(x1, x2))


def fmod(x1, x2):
    """The remainder of ``x1 / x2`` with the sign of ``x1`` (C's ``fmod``).

    Args:
        x1 (Tensor | array): dividends.
        x2 (Tensor | array): divisors.
    """
    if _kind(x1) in "iub" and _kind(x2) in "iub":
        va, vb = _pair(x1, x2)
        return _const(xpof(va, vb).fmod(va, vb))
    return Fmod()(*_float_pair(x1, x2))


def _kind(x):
    v = _raw(x)
    if isinstance(v, bool):
        return "b"
    if isinstance(v, int):
        return "i"
    if isinstance(v, float):
        return "f"
    return np.asarray(v).dtype.kind if not backend.is_array(v) else v.dtype.kind


def divide_no_nan(x1, x2):
    """``x1 / x2``, and 0 where ``x2 == 0``.

    Args:
        x1 (Tensor | array): dividends.
        x2 (Tensor | array): divisors.
    """
    a, b = _float_pair(x1, x2)
    zero = _raw(b) == 0
    safe = m.where(zero, 1.0, b) if isinstance(b, Tensor) else (1.0 if b == 0 else b)
    return m.where(zero, 0.0, m.divide(a, safe))


def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (a NaN loses to a number).

    Args:
        x1 (Tensor | array): first operand.
        x2 (Tensor | array): second operand.
    """
    a, b = _t(x1), _t(x2)
    xp = xpof(a.value, b.value)
    out = m.maximum(a, b)
    out = m.where(xp.isnan(a.value), b, out)
    return m.where(xp.isnan(b.value), a, out)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (a NaN loses to a number).

    Args:
        x1 (Tensor | array): first operand.
        x2 (Tensor | array): second operand.
    """
    a, b = _t(x1), _t(x2)
    xp = xpof(a.value, b.value)
    out = m.minimum(a, b)
    out = m.where(xp.isnan(a.value), b, out)
    return m.where(xp.isnan(b.value), a, out)


def ldexp(x1, x2):
    """``x1 * 2 ** x2`` (``x2`` integer exponents).

    Args:
        x1 (Tensor | array): mantissas.
        x2 (Tensor | array): integer exponents.
    """
    a = _float_t(x1)
    e = _on(x2, a)
    return m.multiply(a, (xpof(e).ones_like(e, dtype=a.dtype) * 2) ** e.astype(a.dtype))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by finite numbers (the gradient flows where ``x`` is finite).

    Args:
        x (Tensor | array): the input.
        nan (float): the value for NaN (default 0).
        posinf (float | None): the value for +inf (default: the dtype's largest).
        neginf (float | None): the value for -inf (default: the dtype's most negative).
    """
    t = _t(x)
    if t.dtype.kind not in "fc":
        return t
    v, info = t.value, np.finfo(t.dtype)
    xp = xpof(v)
    out = m.where(xp.isnan(v), float(nan), t)
    out = m.where(xp.isposinf(v), float(info.max if posinf is None else posinf), out)
    return m.where(xp.isneginf(v), float(info.min if neginf is None else neginf), out)


class _Copy(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def copy(x):
    """A copy of ``x`` (differentiable: the gradient passes through).

    Args:
        x (Tensor | array): the input.
    """
    return _Copy()(_t(x))


def real(x):
    """The real part (``x`` itself for real inputs).

    Args:
        x (Tensor | array): the input.
    """
    t = _t(x)
    return t if t.dtype.kind != "c" else _const(t.value.real.copy())


def imag(x):
    """The imaginary part (zeros for real inputs).

    Args:
        x (Tensor | array): the input.
    """
    t = _t(x)
    return _const(t.value.imag.copy() if t.dtype.kind == "c" else xpof(t.value).zeros_like(t.value))


def conjugate(x):
    """The complex conjugate (``x`` itself for real inputs).

    Args:
        x (Tensor | array): the input.
    """
    t = _t(x)
    return t if t.dtype.kind != "c" else _const(t.value.conj())


conj = conjugate


def angle(x):
    """The argument of complex numbers (0 or pi for real ones).

    Args:
        x (Tensor | array): the input.
    """
    v = _raw(_float_t(x))
    return _const(xpof(v).angle(v).astype(v.real.dtype, copy=False))


def polar(abs_, angle):  # noqa: A002 - keras.ops name
    """The complex numbers ``abs_ * exp(1j * angle)`` (no gradient).

    Args:
        abs_ (Tensor | array): magnitudes.
        angle (Tensor | array): arguments in radians.
    """
    r, a = _raw(_float_t(abs_)), _raw(_float_t(angle))
    xp = xpof(r, a)
    return _const(r * xp.cos(a) + 1j * (r * xp.sin(a)))


# ---- elementwise, no gradient -----------------------------------------------------

def _nograd1(name, fn, doc, float_in=False):
    def op(x):
        v = _raw(_float_t(x) if float_in else _t(x))
        return _const(fn(xpof(v), v))
    op.__name__ = name
    op.__doc__ = doc + " (no gradient).\n\n    Args:\n        x (Tensor | array): the input.\n    "
    return op


def _nograd2(name, fn, doc):
    def op(x1, x2):
        va, vb = _pair(x1, x2)
        return _const(fn(xpof(va, vb), va, vb))
    op.__name__ = name
    op.__doc__ = (doc + " (no gradient).\n\n    Args:\n        x1 (Tensor | array): first operand.\n"
                  "        x2 (Tensor | array): second operand.\n    ")
    return op


sign = _nograd1("sign", lambda xp, v: xp.sign(v), "-1, 0 or 1 by the sign of each element")
ceil = _nograd1("ceil", lambda xp, v: xp.ceil(v), "The smallest integer >= x, as a float", True)
floor = _nograd1("floor", lambda xp, v: xp.floor(v), "The largest integer <= x, as a float", True)
trunc = _nograd1("trunc", lambda xp, v: xp.trunc(v), "x rounded towards zero")
signbit = _nograd1("signbit", lambda xp, v: xp.signbit(v), "True where the sign bit is set (-0.0 too)")
i0 = _nograd1("i0", lambda xp, v: xp.i0(v), "The modified Bessel function of the first kind, order 0", True)
isfinite = _nograd1("isfinite", lambda xp, v: xp.isfinite(v), "True where x is neither inf nor NaN")
isinf = _nograd1("isinf", lambda xp, v: xp.isinf(v), "True where x is +inf or -inf")
isnan = _nograd1("isnan", lambda xp, v: xp.isnan(v), "True where x is NaN")
isneginf = _nograd1("isneginf", lambda xp, v: xp.isneginf(v) if v.dtype.kind == "f"
                    else xp.zeros(v.shape, bool), "True where x is -inf")
isposinf = _nograd1("isposinf", lambda xp, v: xp.isposinf(v) if v.dtype.kind == "f"
                    else xp.zeros(v.shape, bool), "True where x is +inf")
isreal = _nograd1("isreal", lambda xp, v: xp.isreal(v), "True where the imaginary part is 0")
logical_not = _nograd1("logical_not", lambda xp, v: xp.logical_not(v), "Elementwise logical NOT")
bitwise_not = _nograd1("bitwise_not", lambda xp, v: xp.invert(v), "Elementwise bitwise NOT")
bitwise_invert = bitwise_not
floor_divide = _nograd2("floor_divide", lambda xp, a, b: xp.floor_divide(a, b), "``x1 // x2``")
heaviside = _nograd2("heaviside", lambda xp, a, b: xp.heaviside(a, b),
                     "The Heaviside step: 0 below 0, x2 at 0, 1 above")
nextafter = _nograd2("nextafter", lambda xp, a, b: xp.nextafter(a, b), "The next float after x1 towards x2")
gcd = _nograd2("gcd", lambda xp, a, b: xp.gcd(a, b), "Greatest common divisor of integers")
lcm = _nograd2("lcm", lambda xp, a, b: xp.lcm(a, b), "Least common multiple of integers")
equal = _nograd2("equal", lambda xp, a, b: xp.equal(a, b), "``x1 == x2`` elementwise")
not_equal = _nograd2("not_equal", lambda xp, a, b: xp.not_equal(a, b), "``x1 != x2`` elementwise")
greater = _nograd2("greater", lambda xp, a, b: xp.greater(a, b), "``x1 > x2`` elementwise")
greater_equal = _nograd2("greater_equal", lambda xp, a, b: xp.greater_equal(a, b), "``x1 >= x2`` elementwise")
less = _nograd2("less", lambda xp, a, b: xp.less(a, b), "``x1 < x2`` elementwise")
less_equal = _nograd2("less_equal", lambda xp, a, b: xp.less_equal(a, b), "``x1 <= x2`` elementwise")
logical_and = _nograd2("logical_and", lambda xp, a, b: xp.logical_and(a, b), "Elementwise logical AND")
logical_or = _nograd2("logical_or", lambda xp, a, b: xp.logical_or(a, b), "Elementwise logical OR")
logical_xor = _nograd2("logical_xor", lambda xp, a, b: xp.logical_xor(a, b), "Elementwise logical XOR")
bitwise_and = _nograd2("bitwise_and", lambda xp, a, b: xp.bitwise_and(a, b), "Elementwise bitwise AND")
bitwise_or = _nograd2("bitwise_or", lambda xp, a, b: xp.bitwise_or(a, b), "Elementwise bitwise OR")
bitwise_xor = _nograd2("bitwise_xor", lambda xp, a, b: xp.bitwise_xor(a, b), "Elementwise bitwise XOR")
bitwise_left_shift = _nograd2("bitwise_left_shift", lambda xp, a, b: xp.left_shift(a, b), "``x1 << x2``")
bitwise_right_shift = _nograd2("bitwise_right_shift", lambda xp, a, b: xp.right_shift(a, b), "``x1 >> x2``")
left_shift = bitwise_left_shift
right_shift = bitwise_right_shift


def round(x, decimals=0):  # noqa: A001 - keras.ops name
    """Round to ``decimals`` decimals, halves to even (no gradient).

    Args:
        x (Tensor | array): the input.
        decimals (int): how many decimals to keep (default 0).
    """
    v = _raw(_t(x))
    return _const(xpof(v).round(v, decimals))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """``|x1 - x2| <= atol + rtol * |x2|`` elementwise (no gradient).

    Args:
        x1 (Tensor | array): first operand.
        x2 (Tensor | array): second operand.
        rtol (float): relative tolerance.
        atol (float): absolute tolerance.
        equal_nan (bool): whether two NaNs compare equal.
    """
    va, vb = _pair(x1, x2)
    return _const(xpof(va, vb).isclose(va, vb, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True (a boolean scalar Tensor) when ``isclose`` holds everywhere.

    Args:
        x1 (Tensor | array): first operand.
        x2 (Tensor | array): second operand.
        rtol (float): relative tolerance.
        atol (float): absolute tolerance.
        equal_nan (bool): whether two NaNs compare equal.
    """
    return _const(_raw(isclose(x1, x2, rtol, atol, equal_nan)).all())


def isin(x1, x2, assume_unique=False, invert=False):
    """True where an element of ``x1`` occurs in ``x2`` (no gradient).

    Args:
        x1 (Tensor | array): the elements to look up.
        x2 (Tensor | array): the values to look for.
        assume_unique (bool): both inputs hold unique values (a faster path).
        invert (bool): return the opposite (not in ``x2``).
    """
    va, vb = _pair(x1, x2)
    xp = xpof(va, vb)
    return _const(xp.isin(va, xp.asarray(vb), assume_unique=assume_unique, invert=invert))


# ---- reductions and scans -----------------------------------------------------------

def all(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops name
    """True where every element along ``axis`` is nonzero (no gradient).

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    v = _raw(_t(x))
    return _const(xpof(v).all(v, axis=_axis(axis), keepdims=keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001 - keras.ops name
    """True where some element along ``axis`` is nonzero (no gradient).

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    v = _raw(_t(x))
    return _const(xpof(v).any(v, axis=_axis(axis), keepdims=keepdims))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def amax(x, axis=None, keepdims=False):
    """``max`` over ``axis``.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return m.max(_t(x), axis=_axis(axis), keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    """``min`` over ``axis``.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return m.min(_t(x), axis=_axis(axis), keepdims=keepdims)


def _moved(v, axes):
    """``v`` with ``axes`` moved last and merged: ``(kept..., n)``, plus the undo data."""
    keep = [i for i in range(v.ndim) if i not in axes]
    perm = keep + list(axes)
    flat = v.transpose(perm).reshape([v.shape[i] for i in keep] + [-1])
    return flat, perm


class _Prod(Function):
    """Product over axes; the gradient of each factor is the product of the others
    (exclusive cumulative products from both ends, exact with zeros)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        axes = m._norm_axis(self.axis, x.ndim)
        flat, perm = _moved(x, axes)
        self.save(flat, perm, x.shape, axes)
        out = flat.prod(axis=-1)
        if self.keepdims:
            out = out.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
        return out

    def backward(self, g):
        flat, perm, shape, axes = self.saved
        xp = xpof(flat)
        one = xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        left = xp.cumprod(xp.concatenate([one, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.concatenate([one, xp.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
        gk = g.reshape(flat.shape[:-1] + (1,))
        gflat = gk * left * right
        inverse = [perm.index(i) for i in range(len(shape))]
        return gflat.reshape([shape[i] for i in perm]).transpose(inverse)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` (differentiable, exact where factors are zero).

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
        dtype (str | None): cast the input first.
    """
    t = _t(x) if dtype is None else m.cast(_t(x), dtype)
    if t.dtype.kind not in "fc":
        return _const(t.value.prod(axis=_axis(axis), keepdims=keepdims))
    return _Prod(axis=_axis(axis), keepdims=keepdims)(t)


class _Cumsum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xpof(x).cumsum(x, axis=self.axis)

    def backward(self, g):
        xp = xpof(g)
        return xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (None: of the flattened input).

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (default: flatten first).
        dtype (str | None): cast the input first.
    """
    t = _t(x) if dtype is None else m.cast(_t(x), dtype)
    if axis is None:
        t, axis = s.reshape(t, (-1,)), 0
    if t.dtype.kind not in "fc":
        return _const(xpof(t.value).cumsum(t.value, axis=axis))
    return _Cumsum(axis)(t)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (None: of the flattened input); differentiable,
    exact with zeros (each prefix is a product).

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (default: flatten first).
        dtype (str | None): cast the input first.
    """
    t = _t(x) if dtype is None else m.cast(_t(x), dtype)
    if axis is None:
        t, axis = s.reshape(t, (-1,)), 0
    if t.dtype.kind not in "fc":
        return _const(xpof(t.value).cumprod(t.value, axis=axis))
    axis %= t.ndim
    n = t.shape[axis]
    outs = []
    running = None
    for i in range(n):      # Python per element of the axis; cumprod is rarely long
        piece = s.get_item(t, (builtins.slice(None),) * axis + (builtins.slice(i, i + 1),))
        running = piece if running is None else m.multiply(running, piece)
        outs.append(running)
    return s.concatenate(outs, axis=axis)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed stably.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    t = _float_t(x)
    axis = _axis(axis)
    v = t.value
    top = v.max(axis=axis, keepdims=True)
    top = xpof(v).where(xpof(v).isfinite(top), top, 0)
    out = m.add(m.log(m.sum(m.exp(m.subtract(t, top)), axis=axis, keepdims=True)), top)
    if not keepdims:
        axes = m._norm_axis(axis, v.ndim)
        out = s.reshape(out, [n for i, n in enumerate(out.shape) if i not in axes])
    return out


def count_nonzero(x, axis=None):
    """How many elements along ``axis`` are nonzero (no gradient).

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to count over (None: all).
    """
    v = _raw(_t(x))
    return _const(xpof(v).count_nonzero(v, axis=_axis(axis)))


def average(x, axis=None, weights=None):
    """The (weighted) mean over ``axis``.

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (None: all).
        weights (Tensor | array | None): weights along ``axis`` (or of ``x``'s shape).
    """
    t = _float_t(x)
    if weights is None:
        return m.mean(t, axis=axis)
    w = _float_t(weights)
    if axis is not None and w.ndim == 1 and t.ndim > 1:
        shape = [1] * t.ndim
        shape[axis] = w.shape[0]
        w = s.reshape(w, shape)
    return m.divide(m.sum(m.multiply(t, w), axis=axis), m.sum(s.broadcast_to(w, t.shape), axis=axis))


def ptp(x, axis=None, keepdims=False):
    """``max - min`` over ``axis``.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    t = _t(x)
    return m.subtract(m.max(t, axis=_axis(axis), keepdims=keepdims), m.min(t, axis=_axis(axis), keepdims=keepdims))


class _TakeAlong(Function):
    """``take_along_axis`` with a scatter-add backward."""

    def __init__(self, indices, axis):
        self.indices, self.axis = indices, axis

    def forward(self, x):
        self.shape = x.shape
        return xpof(x).take_along_axis(x, self.indices, axis=self.axis)

    def backward(self, g):
        xp = xpof(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        idx = _full_index(xp, self.indices, self.axis, g.shape)
        xp.add.at(out, idx, g)
        return out


def _full_index(xp, indices, axis, shape):
    """An advanced-index tuple addressing ``indices`` along ``axis`` (broadcast elsewhere)."""
    idx = []
    for i, n in enumerate(shape):
        if i == axis:
            idx.append(xp.broadcast_to(indices, shape))
        else:
            r = xp.arange(n).reshape([n if j == i else 1 for j in range(len(shape))])
            idx.append(xp.broadcast_to(r, shape))
    return tuple(idx)


def take_along_axis(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (None: of the flattened input);
    differentiable in ``x``.

    Args:
        x (Tensor | array): the source.
        indices (Tensor | array): integer indices, broadcast against ``x`` off ``axis``.
        axis (int | None): the axis (default: flatten first).
    """
    t = _t(x)
    idx = _on(indices, t)
    if axis is None:
        t, axis = s.reshape(t, (-1,)), 0
        idx = idx.reshape(-1)
    axis %= t.ndim
    idx = idx.astype("int64", copy=False)
    n = t.shape[axis]
    idx = xpof(idx).where(idx < 0, idx + n, idx)
    shape = list(np.broadcast_shapes(tuple(idx.shape[:axis]) + (1,) + tuple(idx.shape[axis + 1:]),
                                     t.shape[:axis] + (1,) + t.shape[axis + 1:]))
    shape[axis] = idx.shape[axis]
    idx = xpof(idx).broadcast_to(idx, shape)
    bshape = list(shape)
    bshape[axis] = t.shape[axis]
    if tuple(bshape) != t.shape:
        t = s.broadcast_to(t, tuple(bshape))
    return _TakeAlong(idx, axis)(t)


def sort(x, axis=-1):
    """Values sorted along ``axis``, ascending (differentiable: the gradient follows the order).

    Args:
        x (Tensor | array): the input.
        axis (int): the axis (default -1).
    """
    t = _t(x)
    order = xpof(t.value).argsort(t.value, axis=axis)
    if t.dtype.kind not in "fc":
        return _const(xpof(t.value).take_along_axis(t.value, order, axis=axis))
    return take_along_axis(t, order, axis=axis)


def argsort(x, axis=-1):
    """Indices that sort ``x`` along ``axis`` (no gradient).

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (default -1; None: the flattened input).
    """
    v = _raw(_t(x))
    if axis is None:
        v, axis = v.reshape(-1), 0
    return _const(xpof(v).argsort(v, axis=axis))


def argpartition(x, kth, axis=-1):
    """Indices that partition ``x`` around its ``kth`` element along ``axis`` (no gradient).

    Args:
        x (Tensor | array): the input.
        kth (int): the element that lands in its sorted position.
        axis (int): the axis (default -1).
    """
    v = _raw(_t(x))
    return _const(xpof(v).argpartition(v, kth, axis=axis))


def top_k(x, k, sorted=True):  # noqa: A002 - keras.ops name
    """The ``k`` largest values along the last axis and their indices: ``(values, indices)``;
    the values are differentiable.

    Args:
        x (Tensor | array): the input.
        k (int): how many.
        sorted (bool): values in descending order (they always are here).
    """
    t = _t(x)
    v = t.value
    xp = xpof(v)
    order = xp.argsort(-v if v.dtype.kind != "b" else ~v, axis=-1, kind="stable")[..., :k]
    return take_along_axis(t, order, axis=-1), _const(order.astype("int32"))


def _quantile(x, q, axis, method, keepdims, nan, where):
    t = _float_t(x)
    qv = np.asarray(backend.to_numpy(_raw(q)), dtype="float64")
    if qv.size and (qv.min() < 0 or qv.max() > 1):
        raise ValueError(f"{where}: q must be in [0, 1] (percentiles in [0, 100])")
    if method not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{where}: method must be 'linear', 'lower', 'higher', 'midpoint' or 'nearest', "
                         f"got {method!r}")
    full_shape = t.shape
    if axis is None:
        axes = tuple(range(t.ndim))
        t = s.reshape(t, (-1,))
        flat_axes = (0,)
    else:
        axes = flat_axes = m._norm_axis(_axis(axis), t.ndim)
    keep = [i for i in range(t.ndim) if i not in flat_axes]
    flat = s.reshape(s.transpose(t, keep + list(flat_axes)), [t.shape[i] for i in keep] + [-1])
    srt = sort(flat, axis=-1)                               # NaN sorts last
    xp = xpof(srt.value)
    n = srt.shape[-1]
    count = ((~xp.isnan(flat.value)).sum(axis=-1, keepdims=True) if nan
             else xp.full(flat.shape[:-1] + (1,), n))
    outs = []
    for qi in qv.reshape(-1):
        pos = qi * (count - 1).astype("float64")
        lo = xp.floor(pos).astype("int64")
        hi = xp.minimum(lo + 1, xp.maximum(count - 1, 0))
        frac = (pos - lo).astype(srt.dtype)
        if method == "lower":
            hi, frac = lo, frac * 0
        elif method == "higher":
            lo = xp.ceil(pos).astype("int64")
            hi, frac = lo, frac * 0
        elif method == "nearest":
            lo = xp.round(pos).astype("int64")
            hi, frac = lo, frac * 0
        elif method == "midpoint":
            frac = xp.where(frac > 0, 0.5, 0.0).astype(srt.dtype)
        a = take_along_axis(srt, xp.maximum(lo, 0), axis=-1)
        b = take_along_axis(srt, xp.maximum(hi, 0), axis=-1)
        val = m.add(a, m.multiply(m.subtract(b, a), frac))
        if nan:
            val = m.where(count == 0, float("nan"), val)
        outs.append(s.squeeze(val, -1))
    out = s.stack(outs, axis=0) if qv.ndim else outs[0]
    if keepdims:
        base = [1 if i in axes else n for i, n in enumerate(full_shape)]
        out = s.reshape(out, tuple(qv.shape) + tuple(base))
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles along ``axis`` (differentiable through the sort).

    Args:
        x (Tensor | array): the input.
        q (float | array): quantiles in ``[0, 1]``; an array gives a leading axis of results.
        axis (int | tuple | None): axes to reduce (None: all).
        method (str): ``"linear"`` (default), ``"lower"``, ``"higher"``, ``"midpoint"`` or
            ``"nearest"``.
        keepdims (bool): keep the reduced axes with size 1.
    """
    return _quantile(x, q, axis, method, keepdims, False, "quantile")


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles (``quantile`` of ``q / 100``).

    Args:
        x (Tensor | array): the input.
        q (float | array): percentiles in ``[0, 100]``.
        axis (int | tuple | None): axes to reduce (None: all).
        method (str): as for ``quantile``.
        keepdims (bool): keep the reduced axes with size 1.
    """
    return _quantile(x, _percent_to_fraction(q), axis, method, keepdims, False, "percentile")


def median(x, axis=None, keepdims=False):
    """The median along ``axis``.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return _quantile(x, 0.5, axis, "linear", keepdims, False, "median")


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """``quantile`` ignoring NaNs (NaN where a slice is all NaN).

    Args:
        x (Tensor | array): the input.
        q (float | array): quantiles in ``[0, 1]``.
        axis (int | tuple | None): axes to reduce (None: all).
        method (str): as for ``quantile``.
        keepdims (bool): keep the reduced axes with size 1.
    """
    return _quantile(x, q, axis, method, keepdims, True, "nanquantile")


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``percentile`` ignoring NaNs.

    Args:
        x (Tensor | array): the input.
        q (float | array): percentiles in ``[0, 100]``.
        axis (int | tuple | None): axes to reduce (None: all).
        method (str): as for ``quantile``.
        keepdims (bool): keep the reduced axes with size 1.
    """
    return _quantile(x, _percent_to_fraction(q), axis, method, keepdims, True, "nanpercentile")


def nanmedian(x, axis=None, keepdims=False):
    """``median`` ignoring NaNs.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return _quantile(x, 0.5, axis, "linear", keepdims, True, "nanmedian")


def _percent_to_fraction(q):
    """Percentiles ``q`` (number, array or Tensor) as float64 quantiles in ``[0, 1]``."""
    return np.asarray(backend.to_numpy(_raw(q)), "float64") / 100


def _nan_filled(x, fill):
    t = _float_t(x)
    return m.where(xpof(t.value).isnan(t.value), fill, t), t


def nansum(x, axis=None, keepdims=False):
    """``sum`` with NaNs counted as 0.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return m.sum(_nan_filled(x, 0.0)[0], axis=_axis(axis), keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    """``mean`` of the non-NaN elements.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    filled, t = _nan_filled(x, 0.0)
    count = (~xpof(t.value).isnan(t.value)).sum(axis=_axis(axis), keepdims=keepdims).astype(t.dtype)
    return m.divide(m.sum(filled, axis=_axis(axis), keepdims=keepdims), count)


def nanmax(x, axis=None, keepdims=False):
    """``max`` ignoring NaNs.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return m.max(_nan_filled(x, -np.inf)[0], axis=_axis(axis), keepdims=keepdims)


def nanmin(x, axis=None, keepdims=False):
    """``min`` ignoring NaNs.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return m.min(_nan_filled(x, np.inf)[0], axis=_axis(axis), keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """``prod`` with NaNs counted as 1.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return prod(_nan_filled(x, 1.0)[0], axis=axis, keepdims=keepdims)


def nanvar(x, axis=None, keepdims=False):
    """Population variance of the non-NaN elements.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    t = _float_t(x)
    mu = nanmean(t, axis=axis, keepdims=True)
    return nanmean(m.square(m.subtract(t, mu)), axis=axis, keepdims=keepdims)


def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation of the non-NaN elements.

    Args:
        x (Tensor | array): the input.
        axis (int | tuple | None): axes to reduce (None: all).
        keepdims (bool): keep the reduced axes with size 1.
    """
    return m.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def nancumsum(x, axis=None, dtype=None):
    """``cumsum`` with NaNs counted as 0.

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (default: flatten first).
        dtype (str | None): cast the input first.
    """
    return cumsum(_nan_filled(x, 0.0)[0], axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """``cumprod`` with NaNs counted as 1.

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (default: flatten first).
        dtype (str | None): cast the input first.
    """
    return cumprod(_nan_filled(x, 1.0)[0], axis=axis, dtype=dtype)


def nanargmax(x, axis=None, keepdims=False):
    """Index of the max ignoring NaNs (no gradient).

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (None: the flattened input).
        keepdims (bool): keep the reduced axis with size 1.
    """
    v = _raw(_nan_filled(x, -np.inf)[0])
    return _const(v.argmax(axis=axis, keepdims=keepdims) if axis is not None else v.argmax())


def nanargmin(x, axis=None, keepdims=False):
    """Index of the min ignoring NaNs (no gradient).

    Args:
        x (Tensor | array): the input.
        axis (int | None): the axis (None: the flattened input).
        keepdims (bool): keep the reduced axis with size 1.
    """
    v = _raw(_nan_filled(x, np.inf)[0])
    return _const(v.argmin(axis=axis, keepdims=keepdims) if axis is not None else v.argmin())


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes``.

    Args:
        x (Tensor | array): the input.
        axes (int | list): axes to reduce.
        keepdims (bool): keep the reduced axes with size 1.
        synchronized (bool): across replicas in distributed training; one process here, so
            it changes nothing.
    """
    t = _float_t(x)
    axes = _axis(axes)
    mu = m.mean(t, axis=axes, keepdims=True)
    var = m.mean(m.square(m.subtract(t, mu)), axis=axes, keepdims=keepdims)
    if not keepdims:
        mu = m.mean(t, axis=axes)
    return mu, var


def searchsorted(sorted_sequence, values, side="left"):
    """Where ``values`` would be inserted into the 1-D ``sorted_sequence`` (no gradient).

    Args:
        sorted_sequence (Tensor | array): ascending 1-D values.
        values (Tensor | array): the values to place.
        side (str): ``"left"`` or ``"right"`` for equal values.
    """
    a, v = _pair(sorted_sequence, values)
    xp = xpof(a, v)
    return _const(xp.searchsorted(xp.asarray(a), xp.asarray(v), side=side).astype("int32"))


def digitize(x, bins):
    """The bin of each element of ``x`` among the ascending edges ``bins`` (no gradient).

    Args:
        x (Tensor | array): the values.
        bins (Tensor | array | list): ascending 1-D bin edges.
    """
    v, b = _pair(x, bins)
    xp = xpof(v, b)
    return _const(xp.digitize(xp.asarray(v), xp.asarray(b)).astype("int32"))


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative integer in ``x`` (1-D, or per row of a 2-D ``x``).

    Args:
        x (Tensor | array): non-negative integers, ``(n,)`` or ``(batch, n)``.
        weights (Tensor | array | None): a weight per element (sums instead of counts).
        minlength (int): the least length of the result.
        sparse (bool): must be False (no sparse tensors here).
    """
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (kerasette has no sparse tensors)")
    v = _raw(_t(x))
    xp = xpof(v)
    w = None if weights is None else _raw(_t(weights))
    if v.ndim == 1:
        return _const(xp.bincount(v, weights=w, minlength=minlength))
    length = builtins.max(int(v.max()) + 1 if v.size else 0, minlength)
    offs = (v + xp.arange(v.shape[0])[:, None] * length).reshape(-1)
    out = xp.bincount(offs, weights=None if w is None else w.reshape(-1), minlength=length * v.shape[0])
    return _const(out.reshape(v.shape[0], length))


def histogram(x, bins=10, range=None):  # noqa: A002 - keras.ops name
    """``(counts, bin_edges)`` of the values of ``x`` (no gradient).

    Args:
        x (Tensor | array): the values.
        bins (int): how many equal-width bins.
        range (tuple | None): ``(low, high)`` (default: the min and max of ``x``).
    """
    v = _raw(_t(x))
    counts, edges = xpof(v).histogram(v, bins=bins, range=range)
    return _const(counts), _const(edges)


def unique(x, sorted=True, return_inverse=False, return_counts=False, axis=None, size=None,  # noqa: A002
           fill_value=None):
    """The unique values of ``x`` (sorted), optionally with the inverse indices and counts.

    Args:
        x (Tensor | array): the input.
        sorted (bool): the values come sorted (always, here).
        return_inverse (bool): also return the indices that rebuild ``x``.
        return_counts (bool): also return how often each value occurs.
        axis (int | None): unique slices along ``axis`` (default: elements of the flattened input).
        size (int | None): pad (with ``fill_value``) or cut the result to this length.
        fill_value (scalar | None): the padding value (default: the smallest unique value).
    """
    v = _raw(_t(x))
    xp = xpof(v)
    res = xp.unique(v, return_inverse=return_inverse, return_counts=return_counts, axis=axis)
    res = list(res) if isinstance(res, tuple) else [res]
    if size is not None:
        vals = res[0]
        n = vals.shape[0]
        if n >= size:
            res[0] = vals[:size]
        else:
            fill = vals[:1] if fill_value is None else xp.asarray([fill_value], dtype=vals.dtype)
            res[0] = xp.concatenate([vals, xp.broadcast_to(fill, (size - n,) + vals.shape[1:])])
        if return_counts:
            c = res[-1]
            res[-1] = c[:size] if c.shape[0] >= size else xp.concatenate([c, xp.zeros(size - c.shape[0], c.dtype)])
    out = tuple(_const(r) for r in res)
    return out if len(out) > 1 else out[0]


def nonzero(x):
    """A tuple of index arrays (one per axis) of the nonzero elements (no gradient).

    Args:
        x (Tensor | array): the input.
    """
    v = _raw(_t(x))
    return tuple(_const(i) for i in xpof(v).nonzero(v))


def unravel_index(indices, shape):
    """Flat indices as a tuple of coordinate arrays for an array of ``shape``.

    Args:
        indices (Tensor | array | int): flat indices.
        shape (tuple[int, ...]): the array's shape.
    """
    v = _raw(_t(indices))
    return tuple(_const(i) for i in xpof(v).unravel_index(v, tuple(shape)))


# ---- shape, indexing, products ------------------------------------------------------

def ravel(x):
    """``x`` flattened to 1-D.

    Args:
        x (Tensor | array): the input.
    """
    return s.reshape(_t(x), (-1,))


def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (None: both flattened).

    Args:
        x1 (Tensor | array): the first part.
        x2 (Tensor | array): the part appended.
        axis (int | None): the axis (default: flatten both).
    """
    a, b = _t(x1), _t(x2)
    if axis is None:
        return s.concatenate([ravel(a), ravel(b)], axis=0)
    return s.concatenate([a, b], axis=axis)


def _atleast(t, n):
    t = _t(t)
    if t.ndim >= n:
        return t
    if n == 2:
        return s.reshape(t, (1,) * (2 - t.ndim) + t.shape)
    shape = {0: (1, 1, 1), 1: (1,) + t.shape + (1,), 2: t.shape + (1,)}[t.ndim]
    return s.reshape(t, shape)


def hstack(xs):
    """Concatenate along axis 1 (axis 0 for 1-D inputs).

    Args:
        xs (list): Tensors or arrays.
    """
    ts = [_t(x) for x in xs]
    return s.concatenate(ts, axis=0 if ts[0].ndim == 1 else 1)


def vstack(xs):
    """Stack rows: concatenate along axis 0 (1-D inputs become rows).

    Args:
        xs (list): Tensors or arrays.
    """
    return s.concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    """Concatenate along axis 2 (inputs made at least 3-D).

    Args:
        xs (list): Tensors or arrays.
    """
    return s.concatenate([_atleast(x, 3) for x in xs], axis=2)


def array_split(x, indices_or_sections, axis=0):
    """Split into ``indices_or_sections`` near-equal parts (the first ones one longer), or at
    the given indices.

    Args:
        x (Tensor | array): the input.
        indices_or_sections (int | list): how many parts, or where to cut.
        axis (int): the axis (default 0).
    """
    t = _t(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        n, k = t.shape[axis], int(indices_or_sections)
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        cuts = list(np.cumsum(sizes)[:-1])
    else:
        cuts = list(indices_or_sections)
    bounds = [0] + [int(c) for c in cuts] + [t.shape[axis]]
    ax = axis % t.ndim
    return [s.get_item(t, (builtins.slice(None),) * ax + (builtins.slice(a, b),)) for a, b in zip(bounds, bounds[1:])]


def hsplit(x, indices_or_sections):
    """``split`` along axis 1 (axis 0 for 1-D inputs).

    Args:
        x (Tensor | array): the input.
        indices_or_sections (int | list): equal parts, or where to cut.
    """
    t = _t(x)
    return s.split(t, indices_or_sections, axis=0 if t.ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    """``split`` along axis 0.

    Args:
        x (Tensor | array): the input.
        indices_or_sections (int | list): equal parts, or where to cut.
    """
    return s.split(_t(x), indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    """``split`` along axis 2.

    Args:
        x (Tensor | array): the input.
        indices_or_sections (int | list): equal parts, or where to cut.
    """
    return s.split(_t(x), indices_or_sections, axis=2)


def roll(x, shift, axis=None):
    """Elements shifted by ``shift`` along ``axis``, wrapping around (None: the flattened input).

    Args:
        x (Tensor | array): the input.
        shift (int | tuple): how far (tuples go with a tuple of axes).
        axis (int | tuple | None): the axis or axes.
    """
    t = _t(x)
    if axis is None:
        return s.reshape(roll(ravel(t), shift, 0), t.shape)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    for sh, ax in zip(shifts, axes):
        ax %= t.ndim
        n = t.shape[ax]
        idx = (np.arange(n) - int(sh)) % n
        t = s.get_item(t, (builtins.slice(None),) * ax + (backend.to_device(idx, xpof(t.value)),))
    return t


def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``.

    Args:
        array (Tensor | array): the input (at least 2-D).
        k (int): quarter turns counterclockwise.
        axes (tuple): the two axes of the plane.
    """
    t = _t(array)
    k %= 4
    a0, a1 = axes
    if k == 0:
        return t
    if k == 2:
        return s.flip(s.flip(t, a0), a1)
    if k == 1:
        return s.swapaxes(s.flip(t, a1), a0, a1)
    return s.flip(s.swapaxes(t, a0, a1), a1)


def fliplr(x):
    """Reverse axis 1.

    Args:
        x (Tensor | array): the input (at least 2-D).
    """
    return s.flip(_t(x), 1)


def flipud(x):
    """Reverse axis 0.

    Args:
        x (Tensor | array): the input.
    """
    return s.flip(_t(x), 0)


def _tri_mask(xp, n, mm, k, lower):
    r = xp.arange(n)[:, None]
    c = xp.arange(mm)[None, :]
    return (c - r <= k) if lower else (c - r >= k)


def tril(x, k=0):
    """The lower triangle of the last two axes (zeros above diagonal ``k``).

    Args:
        x (Tensor | array): the input (at least 2-D).
        k (int): the diagonal (0 main, >0 above, <0 below).
    """
    t = _t(x)
    mask = _tri_mask(xpof(t.value), t.shape[-2], t.shape[-1], k, True)
    return m.where(mask, t, 0)


def triu(x, k=0):
    """The upper triangle of the last two axes (zeros below diagonal ``k``).

    Args:
        x (Tensor | array): the input (at least 2-D).
        k (int): the diagonal (0 main, >0 above, <0 below).
    """
    t = _t(x)
    mask = _tri_mask(xpof(t.value), t.shape[-2], t.shape[-1], k, False)
    return m.where(mask, t, 0)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal ``offset`` of the plane ``(axis1, axis2)``, as the last axis.

    Args:
        x (Tensor | array): the input (at least 2-D).
        offset (int): the diagonal (0 main, >0 above, <0 below).
        axis1 (int): the rows' axis.
        axis2 (int): the columns' axis.
    """
    t = _t(x)
    a1, a2 = axis1 % t.ndim, axis2 % t.ndim
    rest = [i for i in range(t.ndim) if i not in (a1, a2)]
    t = s.transpose(t, rest + [a1, a2])
    n, mm = t.shape[-2], t.shape[-1]
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    length = builtins.max(0, builtins.min(n - r0, mm - c0))
    xp = xpof(t.value)
    rows, cols = xp.arange(r0, r0 + length), xp.arange(c0, c0 + length)
    return s.get_item(t, (Ellipsis, rows, cols))


def diag(x, k=0):
    """The ``k``-th diagonal of a 2-D input, or a 2-D array with a 1-D input on it.

    Args:
        x (Tensor | array): a 1-D or 2-D input.
        k (int): the diagonal (0 main, >0 above, <0 below).
    """
    t = _t(x)
    if t.ndim == 2:
        return diagonal(t, k)
    if t.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D input, got shape {t.shape}")
    n = t.shape[0] + builtins.abs(k)
    xp = xpof(t.value)
    r = xp.arange(t.shape[0]) + builtins.max(-k, 0)
    c = xp.arange(t.shape[0]) + builtins.max(k, 0)
    return _ScatterAdd((r, c), (n, n))(t)


def diagflat(x, k=0):
    """A 2-D array with the flattened input on diagonal ``k``.

    Args:
        x (Tensor | array): the input.
        k (int): the diagonal.
    """
    return diag(ravel(x), k)


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along a diagonal.

    Args:
        x (Tensor | array): the input (at least 2-D).
        offset (int): the diagonal.
        axis1 (int): the rows' axis.
        axis2 (int): the columns' axis.
    """
    return m.sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diff(a, n=1, axis=-1):
    """The ``n``-th discrete difference along ``axis``.

    Args:
        a (Tensor | array): the input.
        n (int): how many times to difference.
        axis (int): the axis (default -1).
    """
    t = _t(a)
    ax = axis % t.ndim
    for _ in range(n):
        head = (builtins.slice(None),) * ax
        t = m.subtract(s.get_item(t, head + (builtins.slice(1, None),)), s.get_item(t, head + (builtins.slice(None, -1),)))
    return t


def slice(inputs, start_indices, shape):  # noqa: A001 - keras.ops name
    """The block of ``shape`` starting at ``start_indices``.

    Args:
        inputs (Tensor | array): the input.
        start_indices (tuple[int, ...]): the block's first index on each axis.
        shape (tuple[int, ...]): the block's shape.
    """
    start = [int(i) for i in backend.to_numpy(_raw(start_indices)).reshape(-1)] \
        if not isinstance(start_indices, (list, tuple)) else [int(i) for i in start_indices]
    key = tuple(builtins.slice(b, b + int(n)) for b, n in zip(start, shape))
    return s.get_item(_t(inputs), key)


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``
    (differentiable in both).

    Args:
        inputs (Tensor | array): the input.
        start_indices (tuple[int, ...]): where the block starts on each axis.
        updates (Tensor | array): the new block.
    """
    t, u = _t(inputs), _t(updates)
    start = [int(i) for i in (start_indices if isinstance(start_indices, (list, tuple))
                              else backend.to_numpy(_raw(start_indices)).reshape(-1))]
    pads = [(b, n - b - k) for b, n, k in zip(start, t.shape, u.shape)]
    from .conv import pad
    region = xpof(t.value).zeros(t.shape, dtype=bool)
    region[tuple(builtins.slice(b, b + k) for b, k in zip(start, u.shape))] = True
    return m.where(region, pad(u, pads), t)


class _ScatterAdd(Function):
    """``zeros(shape)`` with ``values`` added at ``indices``; the backward gathers."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, values):
        out = xpof(values).zeros(self.shape, dtype=values.dtype)
        xpof(values).add.at(out, self.index, values)
        return out

    def backward(self, g):
        return g[self.index]


def _index_tuple(indices, like):
    v = _on(indices, like).astype("int64", copy=False)
    return tuple(v[..., i] for i in range(v.shape[-1]))


def scatter(indices, values, shape):
    """A zeros array of ``shape`` with ``values`` added at ``indices`` (repeats add up);
    differentiable in ``values``.

    Args:
        indices (Tensor | array): ``(n, k)`` integer coordinates of the first ``k`` axes.
        values (Tensor | array): ``(n, ...)`` the values (the rest of each slice).
        shape (tuple[int, ...]): the result's shape.
    """
    vals = _t(values)
    return _ScatterAdd(_index_tuple(indices, vals), tuple(int(n) for n in shape))(vals)


def scatter_update(inputs, indices, updates):
    """``inputs`` with the elements (or slices) at ``indices`` set to ``updates``.

    Args:
        inputs (Tensor | array): the input.
        indices (Tensor | array): ``(n, k)`` integer coordinates of the first ``k`` axes.
        updates (Tensor | array): ``(n, ...)`` the new values.
    """
    t, u = _t(inputs), _t(updates)
    idx = _index_tuple(indices, t)
    hit = xpof(t.value).zeros(t.shape, dtype=bool)
    hit[idx] = True
    placed = _ScatterAdd(idx, t.shape)(u)      # a repeated index would add: Keras leaves it unspecified
    return m.where(hit, placed, t)


def select(condlist, choicelist, default=0):
    """The first ``choicelist[i]`` whose ``condlist[i]`` holds, elementwise (else ``default``).

    Args:
        condlist (list): boolean Tensors or arrays.
        choicelist (list): the values for each condition.
        default (scalar | Tensor): the value where no condition holds.
    """
    out = _t(default) if not isinstance(default, (int, float)) else default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = m.where(_raw(_t(cond)).astype(bool), _t(choice), out)
    return out if isinstance(out, Tensor) else _t(out)


def tensordot(x1, x2, axes=2):
    """Sum of products over ``axes`` (an int: the last ``axes`` of ``x1`` with the first of
    ``x2``; or a pair of axis lists), through ``einsum``.

    Args:
        x1 (Tensor | array): the first operand.
        x2 (Tensor | array): the second operand.
        axes (int | tuple): the contracted axes.
    """
    from .einsum import einsum
    a, b = _t(x1), _t(x2)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(int(axes)))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [i % a.ndim for i in ax_a]
    ax_b = [i % b.ndim for i in ax_b]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    la = [next(letters) for _ in range(a.ndim)]
    lb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in ax_a] + [c for j, c in enumerate(lb) if j not in ax_b]
    return einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


def inner(x1, x2):
    """Sum of products over the last axes.

    Args:
        x1 (Tensor | array): the first operand.
        x2 (Tensor | array): the second operand.
    """
    a, b = _t(x1), _t(x2)
    if a.ndim == 0 or b.ndim == 0:
        return m.multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(x1, x2):
    """The outer product of the flattened inputs.

    Args:
        x1 (Tensor | array): the first operand.
        x2 (Tensor | array): the second operand.
    """
    return m.multiply(s.reshape(_t(x1), (-1, 1)), s.reshape(_t(x2), (1, -1)))


def vdot(x1, x2):
    """The dot product of the flattened inputs (conjugating the first).

    Args:
        x1 (Tensor | array): the first operand.
        x2 (Tensor | array): the second operand.
    """
    return m.sum(m.multiply(conjugate(ravel(x1)), ravel(x2)))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (2-vectors get a zero third component).

    Args:
        x1 (Tensor | array): the first vectors.
        x2 (Tensor | array): the second vectors.
        axisa (int): the vector axis of ``x1``.
        axisb (int): the vector axis of ``x2``.
        axisc (int): the vector axis of the result.
        axis (int | None): overrides the three.
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = s.moveaxis(_t(x1), axisa, -1), s.moveaxis(_t(x2), axisb, -1)

    def comps(t):
        parts = [s.get_item(t, (Ellipsis, i)) for i in range(t.shape[-1])]
        if len(parts) == 2:
            parts.append(m.multiply(parts[0], 0.0))
        return parts

    (a0, a1, a2), (b0, b1, b2) = comps(a), comps(b)
    c = s.stack([m.subtract(m.multiply(a1, b2), m.multiply(a2, b1)),
                 m.subtract(m.multiply(a2, b0), m.multiply(a0, b2)),
                 m.subtract(m.multiply(a0, b1), m.multiply(a1, b0))], axis=-1)
    return s.moveaxis(c, -1, axisc)


def kron(x1, x2):
    """The Kronecker product.

    Args:
        x1 (Tensor | array): the first operand.
        x2 (Tensor | array): the second operand.
    """
    a, b = _t(x1), _t(x2)
    nd = builtins.max(a.ndim, b.ndim)
    a = s.reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = s.reshape(b, (1,) * (nd - b.ndim) + b.shape)
    ea = s.reshape(a, sum_pairs(a.shape, [1] * nd))
    eb = s.reshape(b, sum_pairs([1] * nd, b.shape))
    return s.reshape(m.multiply(ea, eb), tuple(i * j for i, j in zip(a.shape, b.shape)))


def sum_pairs(first, second):
    """``(f0, s0, f1, s1, ...)`` (the interleaved shape ``kron`` multiplies in)."""
    return tuple(v for pair in zip(first, second) for v in pair)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` along ``axis`` by the trapezoid rule.

    Args:
        y (Tensor | array): the samples.
        x (Tensor | array | None): their positions (default: spaced by ``dx``).
        dx (float): the spacing when ``x`` is None.
        axis (int): the axis (default -1).
    """
    t = _float_t(y)
    ax = axis % t.ndim
    head = (builtins.slice(None),) * ax
    mid = m.multiply(m.add(s.get_item(t, head + (builtins.slice(1, None),)),
                           s.get_item(t, head + (builtins.slice(None, -1),))), 0.5)
    if x is None:
        return m.multiply(m.sum(mid, axis=ax), dx)
    d = diff(_float_t(x), axis=-1 if _t(x).ndim == 1 else ax)
    if d.ndim == 1 and t.ndim > 1:
        d = s.reshape(d, [d.shape[0] if i == ax else 1 for i in range(t.ndim)])
    return m.sum(m.multiply(mid, d), axis=ax)


def correlate(x1, x2, mode="valid"):
    """The cross-correlation of two 1-D inputs (no gradient).

    Args:
        x1 (Tensor | array): the first sequence.
        x2 (Tensor | array): the second sequence.
        mode (str): ``"valid"``, ``"same"`` or ``"full"``.
    """
    a, b = _pair(x1, x2)
    xp = xpof(a, b)
    return _const(xp.correlate(xp.asarray(a), xp.asarray(b), mode=mode))


def vander(x, N=None, increasing=False):  # noqa: N803 - keras.ops name
    """The Vandermonde matrix of a 1-D input: columns are powers of ``x``.

    Args:
        x (Tensor | array): the 1-D input.
        N (int | None): how many columns (default ``len(x)``).
        increasing (bool): powers increase left to right (default: decrease).
    """
    t = _float_t(x)
    n = t.shape[0] if N is None else int(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    cols = [m.power(t, float(p)) if p else m.add(m.multiply(t, 0.0), 1.0) for p in powers]
    return s.stack(cols, axis=1) if cols else Tensor(xpof(t.value).zeros((t.shape[0], 0), t.dtype))


def size(x):
    """The number of elements (a Python int).

    Args:
        x (Tensor | array): the input.
    """
    return int(np.prod(_t(x).shape))


def ndim(x):
    """The number of axes (a Python int).

    Args:
        x (Tensor | array): the input.
    """
    return _t(x).ndim


def dtype(x):
    """The dtype's name (``"float32"``).

    Args:
        x (Tensor | array): the input.
    """
    return str(_t(x).dtype)


def is_tensor(x):
    """True for a kerasette Tensor (a Variable too) or an array of the backend.

    Args:
        x (object): anything.
    """
    return isinstance(x, Tensor) or backend.is_array(x)


def view(x, dtype=None):
    """The same bytes read as ``dtype`` (no gradient).

    Args:
        x (Tensor | array): the input.
        dtype (str | None): the new dtype (default: unchanged).
    """
    v = _raw(_t(x))
    return _const(v.view(dtype) if dtype is not None else v.view())


def saturate_cast(x, dtype):
    """Cast to ``dtype``, clipping to its range first (no overflow wrap-around).

    Args:
        x (Tensor | array): the input.
        dtype (str): the target dtype.
    """
    t = _t(x)
    target = np.dtype(dtype)
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
    if t.dtype.kind in "fc" or target.kind in "iu":
        lo = builtins.max(float(info.min), float(np.finfo(np.float64).min))
        hi = float(info.max)
        if t.dtype.kind in "fc":
            t = m.clip(t, lo, hi)
        else:
            t = _const(xpof(t.value).clip(t.value, lo, hi))
    return m.cast(t, str(target))


# ---- creation (the default device, no gradient) --------------------------------------

def _dt(dtype, default=None):
    return str(np.dtype(dtype)) if dtype is not None else (default or backend.floatx())


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in ``[start, stop)``.

    Args:
        start (number): the first value (the end, when ``stop`` is None).
        stop (number | None): the end (excluded).
        step (number): the spacing.
        dtype (str | None): default int32 for integer arguments, else floatx.
    """
    if stop is None:
        start, stop = 0, start
    ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
    return Tensor(backend.xp().arange(start, stop, step, dtype=_dt(dtype, "int32" if ints else None)))


def array(x, dtype=None):
    """A constant Tensor of ``x`` on the default device (``convert_to_tensor``).

    Args:
        x (array | list | scalar): the values.
        dtype (str | None): the dtype (default: the values', floats as floatx).
    """
    from . import convert_to_tensor
    return convert_to_tensor(x, dtype=dtype)


def empty(shape, dtype=None):
    """An uninitialised Tensor of ``shape`` (zeros here).

    Args:
        shape (tuple[int, ...]): the shape.
        dtype (str | None): default floatx.
    """
    return Tensor(backend.xp().zeros(shape, dtype=_dt(dtype)))


def empty_like(x, dtype=None):
    """An uninitialised Tensor of ``x``'s shape (zeros here).

    Args:
        x (Tensor | array): the template.
        dtype (str | None): default ``x``'s dtype.
    """
    v = _raw(_t(x))
    return Tensor(xpof(v).zeros(v.shape, dtype=dtype or v.dtype))


def full(shape, fill_value, dtype=None):
    """A Tensor of ``shape`` filled with ``fill_value``.

    Args:
        shape (tuple[int, ...]): the shape.
        fill_value (number): the value.
        dtype (str | None): default floatx (int32 for an int value).
    """
    default = "int32" if isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool) else None
    return Tensor(backend.xp().full(shape, _raw(fill_value), dtype=_dt(dtype, default)))


def full_like(x, fill_value, dtype=None):
    """A Tensor of ``x``'s shape filled with ``fill_value``.

    Args:
        x (Tensor | array): the template.
        fill_value (number): the value.
        dtype (str | None): default ``x``'s dtype.
    """
    v = _raw(_t(x))
    return Tensor(xpof(v).full(v.shape, _raw(fill_value), dtype=dtype or v.dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - keras.ops names
    """A 2-D Tensor with ones on diagonal ``k``.

    Args:
        N (int): rows.
        M (int | None): columns (default ``N``).
        k (int): the diagonal.
        dtype (str | None): default floatx.
    """
    return Tensor(backend.xp().eye(N, M, k, dtype=_dt(dtype)))


def identity(n, dtype=None):
    """The ``n x n`` identity matrix.

    Args:
        n (int): its size.
        dtype (str | None): default floatx.
    """
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - keras.ops names
    """Ones at and below diagonal ``k``, zeros above.

    Args:
        N (int): rows.
        M (int | None): columns (default ``N``).
        k (int): the diagonal.
        dtype (str | None): default floatx.
    """
    return Tensor(backend.xp().tri(N, M, k, dtype=_dt(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Args:
        start (number | array): the first value.
        stop (number | array): the last value (or the end, with ``endpoint=False``).
        num (int): how many.
        endpoint (bool): include ``stop``.
        retstep (bool): also return the spacing.
        dtype (str | None): default floatx.
        axis (int): where the samples go for array bounds.
    """
    xp = backend.xp()
    out = xp.linspace(_raw(start), _raw(stop), num, endpoint=endpoint, retstep=retstep, axis=axis)
    if retstep:
        return Tensor(out[0].astype(_dt(dtype))), out[1]
    return Tensor(out.astype(_dt(dtype)))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``.

    Args:
        start (number): the first exponent.
        stop (number): the last exponent.
        num (int): how many.
        endpoint (bool): include ``stop``.
        base (number): the base.
        dtype (str | None): default floatx.
        axis (int): where the samples go for array bounds.
    """
    return Tensor(backend.xp().logspace(start, stop, num, endpoint=endpoint, base=base, axis=axis)
                  .astype(_dt(dtype)))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values spaced evenly on a log scale from ``start`` to ``stop``.

    Args:
        start (number): the first value.
        stop (number): the last value.
        num (int): how many.
        endpoint (bool): include ``stop``.
        dtype (str | None): default floatx.
        axis (int): where the samples go for array bounds.
    """
    if start == 0 or stop == 0 or (start < 0) != (stop < 0):
        raise ValueError(f"geomspace: start and stop must be nonzero and of one sign, got {start}, {stop}")
    sign = -1.0 if start < 0 else 1.0            # through logspace: CuPy has no geomspace
    out = sign * backend.xp().logspace(np.log10(abs(start)), np.log10(abs(stop)), num, endpoint=endpoint,
                                       axis=axis)
    return Tensor(out.astype(_dt(dtype)))


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D inputs (differentiable).

    Args:
        *x (Tensor | array): 1-D coordinates.
        indexing (str): ``"xy"`` (the first two axes swapped, as NumPy) or ``"ij"``.
    """
    ts = [_t(v) for v in x]
    n = len(ts)
    shape = [t.shape[0] for t in ts]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(ts):
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        r = s.reshape(t, [t.shape[0] if j == pos else 1 for j in range(n)])
        out.append(s.broadcast_to(r, tuple(shape)))
    return out


def _window(name, doc):
    def op(x):
        n = int(_raw(x))
        return Tensor(getattr(backend.xp(), name)(n).astype(backend.floatx()))
    op.__name__ = name
    op.__doc__ = f"The {doc} window of ``x`` points.\n\n    Args:\n        x (int): how many points.\n    "
    return op


bartlett = _window("bartlett", "Bartlett (triangular)")
blackman = _window("blackman", "Blackman")
hamming = _window("hamming", "Hamming")
hanning = _window("hanning", "Hann")


def kaiser(x, beta):
    """The Kaiser window of ``x`` points.

    Args:
        x (int): how many points.
        beta (float): the shape parameter.
    """
    return Tensor(backend.xp().kaiser(int(_raw(x)), beta).astype(backend.floatx()))


# ---- linear algebra -------------------------------------------------------------------

def _mT(a):
    return a.swapaxes(-1, -2)


class _Inv(Function):
    def forward(self, a):
        y = xpof(a).linalg.inv(a)
        self.save(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return -(_mT(y) @ g @ _mT(y))


class _Det(Function):
    def forward(self, a):
        xp = xpof(a)
        d = xp.linalg.det(a)
        self.save(a, d)
        return d

    def backward(self, g):
        a, d = self.saved
        return (g * d)[..., None, None] * _mT(xpof(a).linalg.inv(a))


class _LogAbsDet(Function):
    def forward(self, a):
        xp = xpof(a)
        self.save(a)
        return xp.asarray(xp.linalg.slogdet(a)[1]).astype(a.dtype)

    def backward(self, g):
        (a,) = self.saved
        return g[..., None, None] * _mT(xpof(a).linalg.inv(a))


class _Solve(Function):
    def __init__(self, vector):
        self.vector = vector

    def forward(self, a, b):
        xp = xpof(a, b)
        bb = b[..., None] if self.vector else b
        x = xp.linalg.solve(a, bb)
        self.save(a, x)
        return x[..., 0] if self.vector else x

    def backward(self, g):
        a, x = self.saved
        xp = xpof(g)
        gg = g[..., None] if self.vector else g
        gb = xp.linalg.solve(_mT(a), gg)
        ga = -gb @ _mT(x)
        return unbroadcast(ga, a.shape), (gb[..., 0] if self.vector else gb)


def inv(x):
    """The matrix inverse over the last two axes (differentiable).

    Args:
        x (Tensor | array): square matrices ``(..., n, n)``.
    """
    return _Inv()(_float_t(x))


def det(x):
    """The determinant over the last two axes (differentiable).

    Args:
        x (Tensor | array): square matrices ``(..., n, n)``.
    """
    return _Det()(_float_t(x))


def slogdet(x):
    """``(sign, log|det|)`` of square matrices; ``log|det|`` is differentiable.

    Args:
        x (Tensor | array): square matrices ``(..., n, n)``.
    """
    t = _float_t(x)
    xp = xpof(t.value)
    sign = xp.asarray(xp.linalg.slogdet(t.value)[0]).astype(t.dtype)
    return _const(sign), _LogAbsDet()(t)


def logdet(x):
    """``log(det(x))`` of positive-definite matrices (differentiable).

    Args:
        x (Tensor | array): square matrices ``(..., n, n)``.
    """
    return _LogAbsDet()(_float_t(x))


def solve(a, b):
    """``x`` with ``a @ x = b`` (differentiable in both).

    Args:
        a (Tensor | array): square matrices ``(..., n, n)``.
        b (Tensor | array): right-hand sides ``(..., n)`` or ``(..., n, k)``.
    """
    ta, tb = _float_t(a), _float_t(b)
    return _Solve(vector=tb.ndim == ta.ndim - 1)(ta, tb)


def solve_triangular(a, b, lower=False):
    """``solve`` with the triangle of ``a`` that ``lower`` names (the other ignored).

    Args:
        a (Tensor | array): square matrices ``(..., n, n)``.
        b (Tensor | array): right-hand sides ``(..., n)`` or ``(..., n, k)``.
        lower (bool): use the lower triangle (default: the upper).
    """
    ta = _float_t(a)
    return solve(tril(ta) if lower else triu(ta), b)


def cholesky(x, upper=False):
    """The Cholesky factor of positive-definite matrices (no gradient).

    Args:
        x (Tensor | array): ``(..., n, n)``.
        upper (bool): return the upper factor ``U`` (``x = U^T U``) instead of ``L``.
    """
    v = _raw(_float_t(x))
    low = xpof(v).linalg.cholesky(v)
    return _const(_mT(low).copy() if upper else low)


def cholesky_inverse(x, upper=False):
    """The inverse of ``L @ L^T`` from its Cholesky factor ``L`` (or ``U^T U`` with ``upper``).

    Args:
        x (Tensor | array): the factor ``(..., n, n)``.
        upper (bool): ``x`` is the upper factor.
    """
    t = _float_t(x)
    full_ = m.matmul(s.swapaxes(t, -1, -2), t) if upper else m.matmul(t, s.swapaxes(t, -1, -2))
    return inv(full_)


def qr(x, mode="reduced"):
    """``(q, r)`` of the QR decomposition (no gradient).

    Args:
        x (Tensor | array): ``(..., m, n)``.
        mode (str): ``"reduced"`` or ``"complete"``.
    """
    v = _raw(_float_t(x))
    xp = xpof(v)
    q, r = xp.linalg.qr(v, mode=mode)
    return _const(xp.asarray(q)), _const(xp.asarray(r))


def svd(x, full_matrices=True, compute_uv=True):
    """``(u, s, vh)`` of the singular value decomposition, or ``s`` alone (no gradient).

    Args:
        x (Tensor | array): ``(..., m, n)``.
        full_matrices (bool): square ``u`` and ``vh``.
        compute_uv (bool): return ``u`` and ``vh`` too.
    """
    v = _raw(_float_t(x))
    xp = xpof(v)
    out = xp.linalg.svd(v, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(_const(xp.asarray(o)) for o in out) if compute_uv else _const(xp.asarray(out))


def eig(x):
    """``(eigenvalues, eigenvectors)`` of square matrices (complex in general; no gradient).

    Args:
        x (Tensor | array): ``(..., n, n)``.
    """
    v = _raw(_float_t(x))
    xp = xpof(v)
    w, vec = xp.linalg.eig(v)
    return _const(xp.asarray(w)), _const(xp.asarray(vec))


def eigh(x):
    """``(eigenvalues, eigenvectors)`` of symmetric matrices, ascending (no gradient).

    Args:
        x (Tensor | array): ``(..., n, n)``.
    """
    v = _raw(_float_t(x))
    xp = xpof(v)
    w, vec = xp.linalg.eigh(v)
    return _const(xp.asarray(w)), _const(xp.asarray(vec))


def lstsq(a, b, rcond=None):
    """The least-squares solution of ``a @ x = b`` (no gradient).

    Args:
        a (Tensor | array): ``(m, n)``.
        b (Tensor | array): ``(m,)`` or ``(m, k)``.
        rcond (float | None): cut-off for small singular values.
    """
    va, vb = _raw(_float_t(a)), _raw(_float_t(b))
    return _const(xpof(va, vb).linalg.lstsq(va, vb, rcond=rcond)[0])


def pinv(x, rtol=1e-15):
    """The Moore-Penrose pseudo-inverse (no gradient).

    Args:
        x (Tensor | array): ``(..., m, n)``.
        rtol (float): relative cut-off for small singular values.
    """
    v = _raw(_float_t(x))
    return _const(xpof(v).linalg.pinv(v, rtol))


def matrix_rank(x, tol=None, hermitian=False):
    """The rank of matrices (via the SVD; no gradient).

    Args:
        x (Tensor | array): ``(..., m, n)``.
        tol (float | None): singular values below it count as zero.
        hermitian (bool): ``x`` is symmetric (a faster path).
    """
    v = _raw(_float_t(x))
    return _const(xpof(v).linalg.matrix_rank(v, tol=tol, hermitian=hermitian))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - keras.ops name
    """Vector or matrix norms, differentiable for the vector norms (2, 1, inf, -inf, p) and the
    Frobenius norm; matrix 2 / nuclear norms have no gradient.

    Args:
        x (Tensor | array): the input.
        ord (int | float | str | None): the norm (default: 2 for vectors, ``"fro"`` for matrices).
        axis (int | tuple | None): one axis (vector norms), two (matrix norms), or None
            (the flattened input, or the matrix norm of a 2-D input when ``ord`` is given).
        keepdims (bool): keep the reduced axes with size 1.
    """
    t = _float_t(x)
    if axis is None:
        if ord is None:
            return m.sqrt(m.sum(m.square(t), keepdims=keepdims))
        axis = tuple(range(t.ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(axes) == 1:
        a = m.abs(t)
        if ord is None or ord == 2:
            return m.sqrt(m.sum(m.square(t), axis=axes, keepdims=keepdims))
        if ord == np.inf:
            return m.max(a, axis=axes, keepdims=keepdims)
        if ord == -np.inf:
            return m.min(a, axis=axes, keepdims=keepdims)
        if ord == 0:
            return _const((t.value != 0).sum(axis=axes, keepdims=keepdims).astype(t.dtype))
        if ord == 1:
            return m.sum(a, axis=axes, keepdims=keepdims)
        return m.power(m.sum(m.power(a, float(ord)), axis=axes, keepdims=keepdims), 1.0 / ord)
    if ord in (None, "fro"):
        return m.sqrt(m.sum(m.square(t), axis=axes, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        a0, a1 = axes[0] % t.ndim, axes[1] % t.ndim
        sum_axis, red_axis = (a0, a1) if ord in (1, -1) else (a1, a0)
        sums = m.sum(m.abs(t), axis=sum_axis, keepdims=True)
        red = m.max if ord in (1, np.inf) else m.min
        out = red(sums, axis=red_axis, keepdims=True)
        return out if keepdims else s.reshape(out, [n for i, n in enumerate(out.shape) if i not in (a0, a1)])
    v = t.value
    return _const(xpof(v).linalg.norm(v, ord=ord, axis=axes, keepdims=keepdims))


def lu_factor(x):
    """The LU factorisation with partial pivoting, as LAPACK's ``getrf`` (and Keras):
    ``(lu, pivots)``, ``lu`` holding ``L`` (unit diagonal, below) and ``U`` (on and above), and
    ``pivots[i]`` the row swapped with row ``i`` at step ``i`` (0-based). No gradient.

    Args:
        x (Tensor | array): square matrices ``(..., n, n)``.
    """
    v = _raw(_float_t(x))
    if v.ndim < 2 or v.shape[-1] != v.shape[-2]:
        raise ValueError(f"lu_factor: expected square matrices (..., n, n), got shape {tuple(v.shape)}")
    xp = xpof(v)
    n = v.shape[-1]
    a = v.reshape((-1, n, n)).copy()
    piv = xp.zeros((a.shape[0], n), dtype="int32")
    rows = xp.arange(n)
    for k in range(n):                  # Python per column; each step is batched array code
        p = xp.abs(a[:, k:, k]).argmax(axis=-1) + k
        piv[:, k] = p
        row_k = a[:, k, :].copy()
        row_p = xp.take_along_axis(a, xp.broadcast_to(p[:, None, None], (a.shape[0], 1, n)), axis=1)[:, 0, :]
        a = xp.where((rows[None, :] == p[:, None])[:, :, None], row_k[:, None, :], a)
        a[:, k, :] = row_p
        if k + 1 < n:
            pivot = a[:, k, k]
            a[:, k + 1:, k] = a[:, k + 1:, k] / xp.where(pivot == 0, 1, pivot)[:, None]
            a[:, k + 1:, k + 1:] = a[:, k + 1:, k + 1:] - a[:, k + 1:, k:k + 1] * a[:, k:k + 1, k + 1:]
    return _const(a.reshape(v.shape)), _const(piv.reshape(v.shape[:-1]))
