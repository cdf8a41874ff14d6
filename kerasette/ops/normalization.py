"""Normalization ops: the fused batch-norm and layer-norm nodes.

Each is one graph node whatever the input rank: the forward keeps only the
normalised input ``xhat`` and ``1 / sqrt(var + epsilon)`` for the backward,
which reduces the incoming gradient in one pass per parameter.
"""
from .. import backend, parallel
from ..autograd.function import Function
from ..autograd.tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "batch_normalization", "layer_normalization"]

xpof = backend.get_array_module


def _channel_layout(x, axis):
    """(reduction axes, broadcast shape of a per-channel vector) for channel ``axis``."""
    ax = axis % x.ndim
    red = tuple(i for i in range(x.ndim) if i != ax)
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]
    return red, tuple(shape)


class BatchNorm(Function):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` per channel of ``axis``.

    Inputs: x ``(..., C, ...)``, then mean, variance, gamma, beta, each ``(C,)``
    or None. With ``batch_stats=True`` mean and variance are None: they are the
    (biased) moments of this batch over every axis but ``axis``, computed here,
    and the backward is the full batch-norm one (the statistics depend on x);
    the op then has three results, ``y`` and the batch's ``(C,)`` mean and
    variance (for the moving averages; differentiable too). Otherwise they are
    given and get gradients of their own, and ``y`` is the only result.

    Inside ``kerasette.parallel.region()`` large inputs are split over the
    batch axis: the moments and the parameter gradients are sums of the
    threads' partial sums, every elementwise pass runs on each thread's samples.
    """

    def __init__(self, epsilon=1e-3, axis=-1, batch_stats=False):
        self.epsilon = float(epsilon)
        self.axis = axis
        self.batch_stats = batch_stats

    def forward(self, x, mean=None, variance=None, gamma=None, beta=None):
        red, bshape = _channel_layout(x, self.axis)
        xp = xpof(x)
        parts = _batch_parts(xp, x, self.axis)
        if not self.batch_stats and not self.needs_grad:
            return self._infer(xp, x, mean, variance, gamma, beta, bshape, parts)
        self.n = x.size // x.shape[self.axis]
        xhat = xp.empty(x.shape, dtype=xp.result_type(x.dtype, 1.0 if mean is None else mean.dtype))
        if self.batch_stats:
            mean = _summed_parts(lambda a, z: x[a:z].sum(axis=red), parts) / self.n

            def centre(a, z):                       # xhat holds x - mean until scaled below
                c = xp.subtract(x[a:z], mean.reshape(bshape), out=xhat[a:z])
                return (c * c).sum(axis=red)

            variance = _summed_parts(centre, parts) / self.n
        else:
            parallel.run(lambda a, z: xp.subtract(x[a:z], mean.reshape(bshape), out=xhat[a:z]), parts)
        inv = 1 / xp.sqrt(variance + self.epsilon)
        y = xp.empty(x.shape, dtype=xp.result_type(xhat.dtype, inv.dtype,
                                                     gamma.dtype if gamma is not None else xhat.dtype))

        def scale(a, z):
            xh = xhat[a:z]
            xh *= inv.reshape(bshape)
            if gamma is not None:
                xp.multiply(xh, gamma.reshape(bshape), out=y[a:z])
            else:
                y[a:z] = xh
            if beta is not None:
                y[a:z] += beta.reshape(bshape)

        parallel.run(scale, parts)
        self.save(xhat, inv, gamma)
        return (y, mean, variance) if self.batch_stats else y

    def _infer(self, xp, x, mean, variance, gamma, beta, bshape, parts):
        """Inference without a graph: ``y = x * s + t`` with ``s = gamma / sqrt(var + eps)``
        and ``t = beta - mean * s`` folded per channel first (two passes over ``x``, not four)."""
        s = 1 / xp.sqrt(variance + self.epsilon)
        if gamma is not None:
            s = s * gamma
        t = -mean * s
        if beta is not None:
            t = t + beta
        y = xp.empty(x.shape, dtype=xp.result_type(x.dtype, s.dtype))

        def affine(a, z):
            xp.multiply(x[a:z], s.reshape(bshape), out=y[a:z])
            y[a:z] += t.reshape(bshape)

        parallel.run(affine, parts)
        return y

    def backward(self, g, g_mean=None, g_var=None):
        xhat, inv, gamma = self.saved
        xp = xpof(xhat)
        if g is None:                               # only the statistics received a gradient
            g = xp.zeros(xhat.shape, dtype=xhat.dtype)
        red, bshape = _channel_layout(xhat, self.axis)
        need = self.needs_grad + (False,) * (5 - len(self.needs_grad))
        parts = _batch_parts(xp, g, self.axis)
        full_dx = need[0] and self.batch_stats
        want_gg, want_ggx = full_dx or need[1], full_dx or need[2]

        scaled = xp.empty(g.shape, dtype=xp.result_type(g.dtype, gamma.dtype)) if gamma is not None else g

        def sums(a, z):                             # this share's sums over all axes but the channel
            gp, xh = g[a:z], xhat[a:z]
            gg = xp.multiply(gp, gamma.reshape(bshape), out=scaled[a:z]) if gamma is not None else gp
            return (gg.sum(axis=red) if want_gg else None, (gg * xh).sum(axis=red) if want_ggx else None,
                    (gp * xh).sum(axis=red) if need[3] else None, gp.sum(axis=red) if need[4] else None)

        results = parallel.run(sums, parts)
        sum_gg, sum_ggx, dgamma, dbeta = (parallel.summed([r[i] for r in results]) if results[0][i] is not None
                                          else None for i in range(4))
        dx = dmean = dvar = None
        if need[0]:
            dx = xp.empty(g.shape, dtype=xp.result_type(g.dtype, inv.dtype))

            def input_grad(a, z):
                gg = scaled[a:z]                    # g * gamma, from the sums above
                if self.batch_stats:
                    d = gg - (sum_gg / self.n).reshape(bshape)
                    d -= xhat[a:z] * (sum_ggx / self.n).reshape(bshape)
                    xp.multiply(d, inv.reshape(bshape), out=dx[a:z])
                    if g_mean is not None:          # d mean / dx = 1 / n
                        dx[a:z] += (g_mean / self.n).reshape(bshape)
                    if g_var is not None:           # d var / dx = 2 (x - mean) / n = 2 xhat / (inv n)
                        dx[a:z] += xhat[a:z] * (2 * g_var / (inv * self.n)).reshape(bshape)
                else:
                    xp.multiply(gg, inv.reshape(bshape), out=dx[a:z])

            parallel.run(input_grad, parts)
        if need[1]:
            dmean = -inv * sum_gg
        if need[2]:
            dvar = -0.5 * inv * inv * sum_ggx
        return (dx, dmean, dvar, dgamma, dbeta)[:len(self.needs_grad)]


class LayerNorm(Function):
    """Per-sample ``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis.

    x ``(..., C)``; gamma, beta ``(C,)`` or None. Inside
    ``kerasette.parallel.region()`` large inputs are split over the leading axis.
    """

    def __init__(self, epsilon=1e-3):
        self.epsilon = float(epsilon)

    def forward(self, x, gamma=None, beta=None):
        xp = xpof(x)
        xhat = xp.empty(x.shape, dtype=xp.result_type(x.dtype, 1.0))
        inv = xp.empty(x.shape[:-1] + (1,), dtype=xhat.dtype)
        y = xp.empty(x.shape, dtype=xp.result_type(xhat.dtype, *(p.dtype for p in (gamma, beta) if p is not None)))

        def part(a, z):
            c = xp.subtract(x[a:z], x[a:z].mean(axis=-1, keepdims=True), out=xhat[a:z])
            xp.sqrt((c * c).mean(axis=-1, keepdims=True) + self.epsilon, out=inv[a:z])
            xp.reciprocal(inv[a:z], out=inv[a:z])
            c *= inv[a:z]
            if gamma is not None:
                xp.multiply(c, gamma, out=y[a:z])
            else:
                y[a:z] = c
            if beta is not None:
                y[a:z] += beta

        parallel.run(part, _batch_parts(xp, x, -1))
        self.save(xhat, inv, gamma)
        return y

    def backward(self, g):
        xhat, inv, gamma = self.saved
        xp = xpof(g)
        need = self.needs_grad + (False,) * (3 - len(self.needs_grad))
        lead = tuple(range(g.ndim - 1))
        dx = xp.empty(g.shape, dtype=xp.result_type(g.dtype, inv.dtype)) if need[0] else None

        def part(a, z):
            gp, xh = g[a:z], xhat[a:z]
            if need[0]:
                gg = gp * gamma if gamma is not None else gp
                d = gg - gg.mean(axis=-1, keepdims=True)
                d -= xh * (gg * xh).mean(axis=-1, keepdims=True)
                xp.multiply(d, inv[a:z], out=dx[a:z])
            return [(gp * xh).sum(axis=lead) if need[1] else None, gp.sum(axis=lead) if need[2] else None]

        results = parallel.run(part, _batch_parts(xp, g, -1))
        dgamma = parallel.summed([r[0] for r in results]) if need[1] else None
        dbeta = parallel.summed([r[1] for r in results]) if need[2] else None
        return (dx, dgamma, dbeta)[:len(self.needs_grad)]


# inputs smaller than this are not split over threads (a hand-off costs ~50 us)
NORM_SPLIT_MIN_SIZE = 1 << 16


def _batch_parts(xp, x, channel_axis):
    """Shares of the leading (batch) axis for the threads; one share for small
    inputs, rank-1 inputs, or when the leading axis is the channel axis."""
    if x.ndim < 2 or channel_axis % x.ndim == 0 or x.size < NORM_SPLIT_MIN_SIZE:
        return [(0, x.shape[0] if x.ndim else 1)]
    return parallel.ranges(x.shape[0], xp=xp)


def _summed_parts(fn, parts):
    return parallel.summed(parallel.run(fn, parts))


def _raw(t):
    return getattr(t, "value", t)


def batch_norm(x, mean=None, variance=None, gamma=None, beta=None, epsilon=1e-3, axis=-1,
               return_stats=False):
    """Fused batch normalization over every axis of ``x`` but ``axis`` (one node).

    Args:
        x: input ``(batch, ..., C)`` (channels on ``axis``, last by default).
        mean, variance: ``(C,)`` statistics to normalise with; both None to use
            this batch's moments (training), whose dependence on ``x`` the
            backward includes.
        gamma, beta: ``(C,)`` scale and offset, or None.
        epsilon: added to the variance.
        return_stats: also return the ``(C,)`` mean and variance used, as
            constant Tensors (to update moving averages).

    Returns:
        ``y`` of ``x``'s shape, or ``(y, mean, variance)`` with ``return_stats``.
    """
    if (mean is None) != (variance is None):
        raise ValueError("batch_norm: give both mean and variance, or neither (batch statistics)")
    out = BatchNorm(epsilon=epsilon, axis=axis, batch_stats=mean is None)(x, mean, variance, gamma, beta)
    if mean is None:                                # (y, batch mean, batch variance)
        return out if return_stats else out[0]
    return (out, Tensor(_raw(mean)), Tensor(_raw(variance))) if return_stats else out


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3):
    """Fused layer normalization of each sample over the last axis (one node).

    x ``(..., C)``, gamma and beta ``(C,)`` or None; output of ``x``'s shape.
    """
    if gamma is None and beta is None:
        return LayerNorm(epsilon)(x)
    return LayerNorm(epsilon)(x, gamma, beta)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``keras.ops.batch_normalization``: normalise ``x`` with the given statistics.

    ``(x - mean) / sqrt(variance + epsilon) * scale + offset``, where mean,
    variance, offset and scale are ``(C,)`` for ``C = x.shape[axis]``; every
    float input gets a gradient.
    """
    return batch_norm(x, mean, variance, scale, offset, epsilon=epsilon, axis=axis)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None):
    """``keras.ops.layer_normalization``: per-sample normalization over the last axis.

    x ``(..., C)``, gamma and beta ``(C,)`` or None; ``epsilon`` defaults to
    ``backend.epsilon()``. Only the last axis is supported.
    """
    ndim = len(x.shape)
    if axis not in (-1, ndim - 1, [-1], (-1,), [ndim - 1], (ndim - 1,)):
        raise NotImplementedError(f"layer_normalization: only the last axis is supported, got axis={axis!r}")
    return layer_norm(x, gamma, beta, epsilon=backend.epsilon() if epsilon is None else epsilon)
