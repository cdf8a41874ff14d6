"""Neural-network ops: activations, softmax, the fused softmax cross-entropy
and the fused dense (matmul + bias + activation) node."""
from .. import backend, parallel
from ..autograd.function import Function
from . import kernels
from .math import Unary, _unary

__all__ = ["relu", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu", "softplus",
           "softsign", "leaky_relu", "silu", "gelu", "hard_sigmoid", "relu6",
           "softmax_cross_entropy", "sigmoid_cross_entropy", "dense", "dropout", "one_hot"]

xpof = backend.get_array_module


def _sigmoid(xp, x):
    # exp of a non-positive number only: no overflow for large |x|
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


Relu = _unary("Relu", lambda xp, x: xp.maximum(x, 0), lambda xp, x, y, g: g * (y > 0), keep="y",
              f_into=lambda xp, x, out: xp.maximum(x, 0, out=out))
Sigmoid = _unary("Sigmoid", _sigmoid, lambda xp, x, y, g: g * y * (1 - y), keep="y")
Tanh = _unary("Tanh", lambda xp, x: xp.tanh(x), lambda xp, x, y, g: g * (1 - y * y), keep="y")
Softplus = _unary("Softplus", lambda xp, x: xp.logaddexp(x, 0).astype(x.dtype, copy=False),
                  lambda xp, x, y, g: g * _sigmoid(xp, x))
Softsign = _unary("Softsign", lambda xp, x: x / (1 + xp.abs(x)),
                  lambda xp, x, y, g: g / (1 + xp.abs(x)) ** 2)
Silu = _unary("Silu", lambda xp, x: x * _sigmoid(xp, x),
              lambda xp, x, y, g: g * (_sigmoid(xp, x) * (1 + x * (1 - _sigmoid(xp, x)))))
Relu6 = _unary("Relu6", lambda xp, x: xp.clip(x, 0, 6), lambda xp, x, y, g: g * ((x > 0) & (x < 6)))
HardSigmoid = _unary("HardSigmoid", lambda xp, x: xp.clip(x / 6 + 0.5, 0, 1),
                     lambda xp, x, y, g: g * ((x > -3) & (x < 3)) / 6)


class Elu(Unary):
    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def f(self, xp, x):
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)

    def df(self, xp, x, y, g):
        return g * xp.where(x > 0, 1, y + self.alpha).astype(g.dtype, copy=False)

    keep = "xy"


class Selu(Unary):
    ALPHA, SCALE = 1.6732632423543772, 1.0507009873554805
    keep = "x"

    def f(self, xp, x):
        neg = self.ALPHA * xp.expm1(xp.minimum(x, 0))
        return (self.SCALE * xp.where(x > 0, x, neg)).astype(x.dtype, copy=False)

    def df(self, xp, x, y, g):
        d = xp.where(x > 0, 1, self.ALPHA * xp.exp(xp.minimum(x, 0)))
        return (g * self.SCALE * d).astype(g.dtype, copy=False)


class LeakyRelu(Unary):
    keep = "x"

    def __init__(self, negative_slope=0.2):
        self.slope = negative_slope

    def f(self, xp, x):
        return xp.where(x > 0, x, self.slope * x).astype(x.dtype, copy=False)

    def df(self, xp, x, y, g):
        return xp.where(x > 0, g, self.slope * g).astype(g.dtype, copy=False)


class Gelu(Unary):
    """GELU: ``x * Phi(x)``; ``approximate=True`` uses the tanh form (``keras.ops.gelu``'s
    default), ``False`` the exact normal CDF (``keras.activations.gelu``'s default)."""
    keep = "x"
    C = 0.7978845608028654  # sqrt(2 / pi)

    def __init__(self, approximate=True):
        self.approximate = approximate

    def f(self, xp, x):
        if self.approximate:
            return 0.5 * x * (1 + xp.tanh(self.C * (x + 0.044715 * x ** 3)))
        return (x * _normal_cdf(xp, x)).astype(x.dtype, copy=False)

    def df(self, xp, x, y, g):
        if not self.approximate:
            pdf = xp.exp(-0.5 * x * x) * (self.C / 2)       # 1/sqrt(2 pi) * exp(-x^2/2)
            return (g * (_normal_cdf(xp, x) + x * pdf)).astype(g.dtype, copy=False)
        t = xp.tanh(self.C * (x + 0.044715 * x ** 3))
        dt = (1 - t * t) * self.C * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + t) + 0.5 * x * dt)


def _normal_cdf(xp, x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
    z = xp.abs(x) * 0.7071067811865476
    t = 1 / (1 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1 - poly * xp.exp(-z * z)
    return 0.5 * (1 + xp.where(x >= 0, erf, -erf))


class Softmax(Function):
    """softmax over ``axis``; its input (the logits) is kept on the node so a
    following cross-entropy loss can use the fused, stable form."""

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        y = _softmax(xpof(x), x, self.axis)
        self.save(y)
        self.logits = x
        return y

    def backward(self, g):
        (y,) = self.saved
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))

    def release(self):
        super().release()
        self.logits = None


class LogSoftmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = xpof(x)
        z = x - x.max(axis=self.axis, keepdims=True)
        y = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        self.save(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        xp = xpof(g)
        return g - xp.exp(y) * g.sum(axis=self.axis, keepdims=True)


class SoftmaxCrossEntropy(Function):
    """Per-sample cross-entropy of ``softmax(logits)`` against labels, fused.

    ``labels``: integer class ids ``(batch, ...)`` (sparse) or a probability
    distribution of the logits' shape (one-hot / soft). Output ``(batch, ...)``.
    The gradient is the stable ``softmax - onehot``.
    """

    def forward(self, logits, labels):
        xp = xpof(logits)
        z = logits - logits.max(axis=-1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=-1, keepdims=True)
        logp_norm = xp.log(s)
        sparse = labels.ndim == logits.ndim - 1
        if sparse:
            lab = labels.astype(xp.int64, copy=False)
            picked = xp.take_along_axis(z, lab[..., None], axis=-1)[..., 0]
            loss = logp_norm[..., 0] - picked
        else:
            loss = -(labels * (z - logp_norm)).sum(axis=-1)
            lab = labels
        self.save(e / s, lab)
        return loss

    def backward(self, g):
        p, lab = self.saved
        xp = xpof(p)
        if lab.ndim == p.ndim - 1 and kernels.on_device(xp):
            return kernels.run("softmax_xent_grad", xp, p, lab, g.astype(p.dtype, copy=False)), None
        if lab.ndim == p.ndim - 1:
            grad = p
            flat = grad.reshape(-1, grad.shape[-1])
            flat[xp.arange(flat.shape[0]), lab.reshape(-1)] -= 1
        else:
            grad = p * lab.sum(axis=-1, keepdims=True) - lab
        grad *= g[..., None]
        return grad, None


class SigmoidCrossEntropy(Function):
    """Elementwise binary cross-entropy of ``sigmoid(logits)`` against ``labels``, fused."""

    def forward(self, logits, labels):
        xp = xpof(logits)
        self.save(logits, labels)
        # max(x, 0) - x*z + log(1 + exp(-|x|)) is stable for all x
        return (xp.maximum(logits, 0) - logits * labels + xp.log1p(xp.exp(-xp.abs(logits)))).astype(
            logits.dtype, copy=False)

    def backward(self, g):
        x, z = self.saved
        return g * (_sigmoid(xpof(x), x) - z), None


def _sigmoid_in_place(xp, y):
    """``_sigmoid`` written into ``y``: ``where(y >= 0, 1, e) / (1 + e)``, ``e = exp(-|y|)``."""
    e = xp.abs(y)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    num = xp.where(y >= 0, 1, e).astype(y.dtype, copy=False)
    e += 1
    return xp.divide(num, e, out=y)


def _elu_in_place(xp, y, alpha=None, scale=None):
    """``where(y > 0, y, alpha * expm1(y))`` (times ``scale``) in place, as ``Elu`` / ``Selu``
    compute it: ``max(y, 0) + alpha * expm1(min(y, 0))``, one term being exactly 0."""
    neg = xp.minimum(y, 0)
    xp.expm1(neg, out=neg)
    if alpha is not None:
        neg *= alpha
    xp.maximum(y, 0, out=y)
    y += neg
    if scale is not None:
        y *= scale
    return y


def _softsign_in_place(xp, y):
    d = xp.abs(y)
    d += 1
    y /= d
    return y


def _hard_sigmoid_in_place(xp, y):
    y /= 6
    y += 0.5
    return xp.clip(y, 0, 1, out=y)


def _elu_grad(xp, y, g):
    d = y + 1                                    # exp(x) = y + 1 below 0; min(y + 1, 1) is 1 above
    xp.minimum(d, 1, out=d)
    d *= g
    return d


def _softsign_grad(xp, y, g):
    d = xp.abs(y)                                # 1 / (1 + |x|) = 1 - |y|
    xp.subtract(1, d, out=d)
    d *= d
    d *= g
    return d


# fused activations of the Dense and Conv2D nodes whose derivative follows from the output y:
# each overwrites y (the fresh pre-activation) with act(y) and returns it; the backward
# computes g * act'(.) from y alone, so the node keeps nothing but its output
_ACT_FWD = {
    None: None,
    "relu": lambda xp, y: xp.maximum(y, 0, out=y),
    "tanh": lambda xp, y: xp.tanh(y, out=y),
    "sigmoid": _sigmoid_in_place,
    "elu": _elu_in_place,
    "selu": lambda xp, y: _elu_in_place(xp, y, Selu.ALPHA, Selu.SCALE),
    "softplus": lambda xp, y: xp.logaddexp(y, 0, out=y),
    "softsign": _softsign_in_place,
    "relu6": lambda xp, y: xp.clip(y, 0, 6, out=y),
    "leaky_relu": lambda xp, y: xp.maximum(y, y * kernels.LEAKY_SLOPE, out=y),   # slope in (0, 1)
    "hard_sigmoid": _hard_sigmoid_in_place,
    "exponential": lambda xp, y: xp.exp(y, out=y),
}
_ACT_BWD = {
    "relu": lambda xp, y, g: g * (y > 0),
    "tanh": lambda xp, y, g: g * (1 - y * y),
    "sigmoid": lambda xp, y, g: g * y * (1 - y),
    "elu": _elu_grad,
    "selu": lambda xp, y, g: g * xp.where(y > 0, Selu.SCALE, y + Selu.SCALE * Selu.ALPHA).astype(g.dtype,
                                                                                                 copy=False),
    "softplus": lambda xp, y, g: g * -xp.expm1(-y),                 # sigmoid(x) = 1 - exp(-y)
    "softsign": _softsign_grad,
    "relu6": lambda xp, y, g: g * ((y > 0) & (y < 6)),
    "leaky_relu": lambda xp, y, g: xp.where(y > 0, g, kernels.LEAKY_SLOPE * g).astype(g.dtype, copy=False),
    "hard_sigmoid": lambda xp, y, g: g * ((y > 0) & (y < 1)) / 6,
    "exponential": lambda xp, y, g: g * y,
}


def _softplus(xp, z):
    return xp.logaddexp(z, 0).astype(z.dtype, copy=False)


def _silu_grad(xp, z, g):
    s = _sigmoid(xp, z)                          # one sigmoid: s * (1 + z * (1 - s))
    d = 1 - s
    d *= z
    d += 1
    d *= s
    d *= g
    return d


def _phi_and_pdf(xp, z):
    """``Phi(z)`` by ``_normal_cdf``'s erf formula, and ``exp(-z**2 / 2)``, sharing one exp and
    the buffers (2.5x faster than ``Gelu``'s expressions on a (128, 512) float32 array)."""
    a = xp.abs(z)
    a *= 0.7071067811865476
    e = a * a
    xp.negative(e, out=e)
    xp.exp(e, out=e)                             # exp(-z^2 / 2) = exp(-(|z| / sqrt 2)^2)
    t = a
    t *= 0.3275911
    t += 1
    xp.reciprocal(t, out=t)
    p = t * 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += c
        p *= t
    p *= e
    p *= 0.5                                     # Phi(-|z|) = (1 - erf(|z| / sqrt 2)) / 2
    return xp.where(z < 0, p, 1 - p), e


def _gelu(xp, z):
    phi, _ = _phi_and_pdf(xp, z)
    phi *= z
    return phi


def _gelu_grad(xp, z, g):
    phi, e = _phi_and_pdf(xp, z)                 # Phi(z) + z * pdf(z)
    e *= 0.3989422804014327
    e *= z
    e += phi
    e *= g
    return e


def _mish_grad(xp, z, g):
    t = xp.tanh(_softplus(xp, z))
    return g * (t + z * (1 - t * t) * _sigmoid(xp, z))


# fused activations of the Dense node whose derivative needs the pre-activation z = x @ w + b:
# (forward(xp, z) -> a new y, backward(xp, z, g) -> g * act'(z)); the node keeps z
_ACT_FROM_PRE = {
    "silu": (Silu.f, _silu_grad),
    "gelu": (_gelu, _gelu_grad),                 # the erf form: keras.activations.gelu's default
    "mish": (lambda xp, z: z * xp.tanh(_softplus(xp, z)), _mish_grad),
}
assert set(_ACT_FWD) | set(_ACT_FROM_PRE) == set(kernels.FUSED_ACTIVATIONS)
assert set(_ACT_FROM_PRE) == set(kernels.FUSED_FROM_PRE)


class Dense(Function):
    """``act(x @ w + b)`` over the last axis of ``x`` as one node.

    x ``(..., in)``, w ``(in, out)``, b ``(out,)`` or None; ``activation`` None (linear) or one
    of relu, tanh, sigmoid, elu, selu, softplus, softsign, relu6, leaky_relu (slope 0.2),
    hard_sigmoid, exponential (whose derivative follows from the output ``y``: the node keeps
    only its output, and the activation is applied to the fresh GEMM result in place), or
    silu, gelu (the exact erf form), mish (whose derivative needs the pre-activation ``z``:
    the node keeps ``z`` as well, one more ``(batch, out)`` array until backward, as much as
    the separate activation op would keep). Each equals ``keras.activations.<name>``
    applied after the plain node. On a device the bias and activation are one ``bias_act``
    kernel (which also writes ``z`` when it is kept) and the activation's gradient one
    ``act_grad``. Backward skips ``dx`` when the input needs no gradient (the first layer).

    Inside ``kerasette.parallel.region()`` a large node is split over the
    intra-op threads: by output columns when the layer is wide (each thread
    multiplies by its own columns of ``w``: a 784-512 layer at batch 128), else
    by rows of ``x``. Small nodes are not split: a thread hand-off costs ~50 us.
    """

    def __init__(self, activation=None):
        if activation not in _ACT_FWD and activation not in _ACT_FROM_PRE:
            raise ValueError(f"dense op: fused activation must be one of "
                             f"{list(_ACT_FWD) + list(_ACT_FROM_PRE)}, got {activation!r}")
        self.activation = activation
        self.from_pre = activation in _ACT_FROM_PRE

    def forward(self, x, w, b=None):
        xp = xpof(x, w)
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        z = None                                  # the kept pre-activation (silu, gelu, mish)
        if kernels.on_device(xp):
            y = x2 @ w
            if self.from_pre:
                z = xp.empty_like(y)
            if b is not None or self.activation is not None:
                y = kernels.run("bias_act", xp, y, b, self.activation, pre=z)   # one kernel
        elif x2.shape[0] * w.shape[0] * w.shape[1] < DENSE_SPLIT_MIN_MACS:
            y = x2 @ w                             # too small to split (a one-sample predict)
            if b is not None:
                y += b
            if self.from_pre:
                z, y = y, _ACT_FROM_PRE[self.activation][0](xp, y)
            elif self.activation is not None:
                _ACT_FWD[self.activation](xp, y)
        else:
            shape = (x2.shape[0], w.shape[1])
            y = xp.empty(shape, dtype=xp.result_type(x2.dtype, w.dtype))
            z = xp.empty_like(y) if self.from_pre else None
            act = None if self.from_pre else _ACT_FWD[self.activation]
            act_pre = _ACT_FROM_PRE[self.activation][0] if self.from_pre else None
            self.split = _dense_split(xp, x2.shape[0], w.shape[0], w.shape[1])

            def part(r, c):                       # rows r, columns c of y: one thread's share
                ys = y[r, c] if z is None else z[r, c]
                xp.matmul(x2[r], w[:, c], out=ys)
                if b is not None:
                    ys += b[c]
                if act is not None:
                    act(xp, ys)
                elif act_pre is not None:
                    y[r, c] = act_pre(xp, ys)

            _run_split(part, self.split)
        self.save(x2, w, z if self.from_pre else y if self.activation else None)
        self.x_shape = x.shape
        self.has_bias = b is not None
        return y.reshape(x.shape[:-1] + (w.shape[1],)) if x.ndim != 2 else y

    def backward(self, g):
        x2, w, v = self.saved                     # v: the output y, or z for silu / gelu / mish
        xp = xpof(g)
        g = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        want_gx, want_gw = self.needs_grad[0], self.needs_grad[1]
        want_gb = self.has_bias and self.needs_grad[2]
        split = getattr(self, "split", ("rows", [(0, g.shape[0])]))
        by_cols = split[0] == "cols"
        rdtype = xp.result_type(g.dtype, w.dtype)
        gx = xp.empty((g.shape[0], w.shape[0]), dtype=rdtype) if want_gx and not by_cols else None
        gw = xp.empty(w.shape, dtype=xp.result_type(g.dtype, x2.dtype)) if want_gw and by_cols else None
        gb = xp.empty(w.shape[1], dtype=g.dtype) if want_gb and by_cols else None
        act_grad = None
        if self.activation is not None and not kernels.on_device(xp):
            act_grad = _ACT_FROM_PRE[self.activation][1] if self.from_pre else _ACT_BWD[self.activation]

        def part(r, c):                           # rows r, columns c of g: one thread's share
            gp = g[r, c]
            if act_grad is not None:
                gp = act_grad(xp, v[r, c], gp)
            elif self.activation is not None:
                gp = kernels.run("act_grad", xp, v[r, c], gp, self.activation)
            if by_cols:                           # own columns of dw, db; a partial dx
                if want_gw:
                    xp.matmul(x2.T, gp, out=gw[:, c])
                if want_gb:
                    gb[c] = gp.sum(axis=0)
                return gp @ w[:, c].T if want_gx else None, None, None
            if want_gx:                           # own rows of dx; partial dw, db
                xp.matmul(gp, w.T, out=gx[r])
            return None, x2[r].T @ gp if want_gw else None, gp.sum(axis=0) if want_gb else None

        results = _run_split(part, split)
        if by_cols:
            gx = parallel.summed([p[0] for p in results]) if want_gx else None
        else:
            gw = parallel.summed([p[1] for p in results]) if want_gw else None
            gb = parallel.summed([p[2] for p in results]) if want_gb else None
        gx = gx.reshape(self.x_shape) if want_gx else None
        return (gx, gw, gb) if self.has_bias else (gx, gw)


# below this many multiply-adds a Dense node is not split (~0.1 ms of GEMM on one core)
DENSE_SPLIT_MIN_MACS = 1 << 22


def _dense_split(xp, m, k, n):
    """How the Dense node splits: ``("rows" | "cols", [(start, stop), ...])``."""
    if m * k * n < DENSE_SPLIT_MIN_MACS:
        return "rows", [(0, m)]
    if n >= 128 and n >= m // 4:
        return "cols", parallel.ranges(n, min_rows=64, xp=xp)
    return "rows", parallel.ranges(m, min_rows=32, xp=xp)


def _run_split(part, split):
    """``part(rows, cols)`` for each share of ``split`` (slices), via ``parallel.run``."""
    whole = slice(None)
    if len(split[1]) == 1:                      # unsplit: no hand-off (a one-sample predict)
        return [part(whole, whole)]
    if split[0] == "cols":
        return parallel.run(lambda a, z: part(whole, slice(a, z)), split[1])
    return parallel.run(lambda a, z: part(slice(a, z), whole), split[1])


def _softmax(xp, x, axis):
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


# ---- public functions ----------------------------------------------------

def relu(x):
    """``max(x, 0)``, elementwise (the gradient at 0 is 0).

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.relu(np.array([-1.0, 0.0, 2.0])).numpy()
        array([0., 0., 2.])
    """
    return Relu()(x)


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed without overflow; values in (0, 1).

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.sigmoid(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [0.2689, 0.5, 0.7311]
    """
    return Sigmoid()(x)


def tanh(x):
    """Hyperbolic tangent, elementwise; the backward uses the output: ``1 - y**2``.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.tanh(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-0.7616, 0.0, 0.7616]
    """
    return Tanh()(x)


def softplus(x):
    """``log(1 + exp(x))``, computed without overflow: a smooth ``relu``.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.softplus(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [0.3133, 0.6931, 1.3133]
    """
    return Softplus()(x)


def softsign(x):
    """``x / (1 + |x|)``, elementwise; values in (-1, 1).

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.softsign(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-0.5, 0.0, 0.5]
    """
    return Softsign()(x)


def silu(x):
    """SiLU / swish: ``x * sigmoid(x)`` (``ops.swish`` is the same function).

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.silu(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-0.2689, 0.0, 0.7311]
    """
    return Silu()(x)


def relu6(x):
    """``min(max(x, 0), 6)``, elementwise.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.relu6(np.array([-1.0, 3.0, 8.0])).numpy().tolist()
        [0.0, 3.0, 6.0]
    """
    return Relu6()(x)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid, Keras 3's definition: ``clip(x / 6 + 0.5, 0, 1)``.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.hard_sigmoid(np.array([-4.0, 0.0, 1.0, 4.0])).numpy().round(4).tolist()
        [0.0, 0.5, 0.6667, 1.0]
    """
    return HardSigmoid()(x)


def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.
        alpha (float): the negative side's saturation value is ``-alpha`` (default 1.0).

    Examples:
        >>> from kerasette import ops
        >>> ops.elu(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-0.6321, 0.0, 1.0]
    """
    return Elu(alpha)(x)


def selu(x):
    """Scaled ELU with the self-normalising constants (alpha 1.6733, scale 1.0507):
    ``scale * x`` for ``x > 0``, else ``scale * alpha * (exp(x) - 1)``.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.

    Examples:
        >>> from kerasette import ops
        >>> ops.selu(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-1.1113, 0.0, 1.0507]
    """
    return Selu()(x)


def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x > 0``, else ``negative_slope * x`` (Keras's default slope 0.2).

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.
        negative_slope (float): the slope for ``x <= 0`` (default 0.2).

    Examples:
        >>> from kerasette import ops
        >>> ops.leaky_relu(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-0.2, 0.0, 1.0]
    """
    return LeakyRelu(negative_slope)(x)


def gelu(x, approximate=True):
    """GELU; the tanh approximation by default (as ``keras.ops.gelu``), exact with ``approximate=False``."""
    return Gelu(approximate)(x)


def softmax(x, axis=-1):
    """Softmax over ``axis``."""
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    """Log of softmax over ``axis``, computed stably: ``x - logsumexp(x, axis)``.

    Args:
        x (Tensor | array): any shape; the output has the same shape and dtype.
        axis (int): the axis the softmax normalises (default -1, the last).

    Examples:
        >>> from kerasette import ops
        >>> ops.log_softmax(np.array([[0.0, 0.0]])).numpy().round(4).tolist()
        [[-0.6931, -0.6931]]
    """
    return LogSoftmax(axis)(x)


def softmax_cross_entropy(logits, labels):
    """Per-sample ``-sum(labels * log_softmax(logits))``; integer labels are class ids."""
    return SoftmaxCrossEntropy()(logits, getattr(labels, "value", labels))


def sigmoid_cross_entropy(logits, labels):
    """Elementwise binary cross-entropy from logits."""
    return SigmoidCrossEntropy()(logits, getattr(labels, "value", labels))


def dense(x, kernel, bias=None, activation=None):
    """Fused ``activation(x @ kernel + bias)`` as one graph node."""
    if bias is None:
        return Dense(activation)(x, kernel)
    return Dense(activation)(x, kernel, bias)


def dropout(x, rate, noise_shape=None, seed=None):
    """Zero each element with probability ``rate``; scale the rest by ``1/(1-rate)``.

    ``noise_shape``: the shape of the keep/drop mask, broadcast against ``x``
    (``None`` entries take ``x``'s size), e.g. ``(batch, 1, features)`` drops
    the same features at every time step.
    """
    from .math import multiply
    xv = getattr(x, "value", x)
    xp = xpof(xv)
    shape = xv.shape
    if noise_shape is not None:
        if len(noise_shape) != xv.ndim:
            raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} must have one entry per axis of "
                             f"the input, whose shape is {xv.shape}")
        shape = tuple(n if d is None else int(d) for d, n in zip(noise_shape, xv.shape))
    keep = backend.random_uniform(shape, xp, seed) >= rate
    mask = keep.astype(xv.dtype) * xv.dtype.type(1.0 / (1.0 - rate))
    return multiply(x, mask)


def one_hot(x, num_classes, dtype="float32"):
    """Integer ids ``(...)`` -> one-hot ``(..., num_classes)`` (no gradient)."""
    from ..autograd.tensor import Tensor
    xv = getattr(x, "value", x)
    xp = xpof(xv)
    # a comparison against arange, not put_along_axis: CuPy < 14 has no put_along_axis
    out = (xp.asarray(xv, dtype=xp.int64)[..., None] == xp.arange(num_classes)).astype(dtype)
    return Tensor(out)
