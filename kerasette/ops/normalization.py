"""Normalization ops: the fused batch-norm and layer-norm nodes.

Each is one graph node whatever the input rank: the forward keeps only the
normalised input ``xhat`` and ``1 / sqrt(var + epsilon)`` for the backward,
which reduces the incoming gradient in one pass per parameter.
"""
from .. import backend
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
    and the backward is the full batch-norm one (the statistics depend on x).
    Otherwise they are given and get gradients of their own.
    """

    def __init__(self, epsilon=1e-3, axis=-1, batch_stats=False):
        self.epsilon = float(epsilon)
        self.axis = axis
        self.batch_stats = batch_stats
        self.stats = None

    def forward(self, x, mean=None, variance=None, gamma=None, beta=None):
        red, bshape = _channel_layout(x, self.axis)
        xp = xpof(x)
        if self.batch_stats:
            mean = x.mean(axis=red)
            centered = x - mean.reshape(bshape)
            variance = (centered * centered).mean(axis=red)
            self.stats = (mean, variance)
        else:
            centered = x - mean.reshape(bshape)
        inv = 1 / xp.sqrt(variance + self.epsilon)
        xhat = centered * inv.reshape(bshape)
        y = xhat * gamma.reshape(bshape) if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta.reshape(bshape)
        self.save(xhat, inv, gamma)
        self.n = x.size // x.shape[self.axis]
        return y

    def backward(self, g):
        xhat, inv, gamma = self.saved
        red, bshape = _channel_layout(xhat, self.axis)
        need = self.needs_grad + (False,) * (5 - len(self.needs_grad))
        gg = g * gamma.reshape(bshape) if gamma is not None else g
        sum_gg = gg.sum(axis=red) if (need[0] and self.batch_stats) or need[1] else None
        sum_ggx = (gg * xhat).sum(axis=red) if (need[0] and self.batch_stats) or need[2] else None
        dx = dmean = dvar = dgamma = dbeta = None
        if need[0]:
            if self.batch_stats:
                dx = inv.reshape(bshape) * (gg - (sum_gg / self.n).reshape(bshape)
                                            - xhat * (sum_ggx / self.n).reshape(bshape))
            else:
                dx = gg * inv.reshape(bshape)
        if need[1]:
            dmean = -inv * sum_gg
        if need[2]:
            dvar = -0.5 * inv * inv * sum_ggx
        if need[3]:
            dgamma = (g * xhat).sum(axis=red)
        if need[4]:
            dbeta = g.sum(axis=red)
        return (dx, dmean, dvar, dgamma, dbeta)[:len(self.needs_grad)]


class LayerNorm(Function):
    """Per-sample ``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over the last axis.

    x ``(..., C)``; gamma, beta ``(C,)`` or None.
    """

    def __init__(self, epsilon=1e-3):
        self.epsilon = float(epsilon)

    def forward(self, x, gamma=None, beta=None):
        xp = xpof(x)
        centered = x - x.mean(axis=-1, keepdims=True)
        inv = 1 / xp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + self.epsilon)
        xhat = centered * inv
        y = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta
        self.save(xhat, inv, gamma)
        return y

    def backward(self, g):
        xhat, inv, gamma = self.saved
        need = self.needs_grad + (False,) * (3 - len(self.needs_grad))
        dx = dgamma = dbeta = None
        if need[0]:
            gg = g * gamma if gamma is not None else g
            dx = inv * (gg - gg.mean(axis=-1, keepdims=True)
                        - xhat * (gg * xhat).mean(axis=-1, keepdims=True))
        lead = tuple(range(g.ndim - 1))
        if need[1]:
            dgamma = (g * xhat).sum(axis=lead)
        if need[2]:
            dbeta = g.sum(axis=lead)
        return (dx, dgamma, dbeta)[:len(self.needs_grad)]


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
    fn = BatchNorm(epsilon=epsilon, axis=axis, batch_stats=mean is None)
    y = fn(x, mean, variance, gamma, beta)
    if not return_stats:
        fn.stats = None
        return y
    stats = fn.stats if mean is None else (_raw(mean), _raw(variance))
    fn.stats = None
    return y, Tensor(stats[0]), Tensor(stats[1])


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
