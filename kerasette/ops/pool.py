"""2-D max and average pooling (channels_last), each one graph node.

Both loop over the ``ph*pw`` positions of the pooling window (4 for the usual
2x2), never over pixels or samples: window position ``(a, b)`` of every output
is one strided slice of the (padded) input, ``x[:, a::sh, b::sw, :]``. This
serves overlapping and non-overlapping windows alike; for the common 2x2 /
stride 2 case the slices are exactly the ``reshape(N, Ho, 2, Wo, 2, C)`` view.

Max pooling's backward routes each output's gradient to exactly one input
position: the first window position (row-major) holding the maximum, as
Keras/TF on ties. ``"same"`` padding follows Keras/TF:
``ceil(H / stride)`` outputs, extra pad at the bottom/right; padded positions
never win a max and are not counted in an average.
"""
import numpy as np

from .. import backend, cpu_kernels, parallel
from ..autograd.function import Function
from . import kernels
from .conv import _tap_slice, normalize_padding, normalize_tuple, same_pads

__all__ = ["max_pool2d", "avg_pool2d", "MaxPool2DOp", "AvgPool2DOp", "pool_geometry"]

xpof = backend.get_array_module


def pool_geometry(h, w, pool, strides, padding):
    """``((pt, pb, pl, pr), (Ho, Wo))`` for pooling an ``h x w`` input."""
    if padding == "same":
        pt, pb = same_pads(h, pool[0], strides[0])
        pl, pr = same_pads(w, pool[1], strides[1])
    else:
        pt = pb = pl = pr = 0
    ho = (h + pt + pb - pool[0]) // strides[0] + 1
    wo = (w + pl + pr - pool[1]) // strides[1] + 1
    return (pt, pb, pl, pr), (ho, wo)


def _padded(xp, x, pads, fill):
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    n, h, w, c = x.shape
    out = xp.full((n, h + pt + pb, w + pl + pr, c), fill, dtype=x.dtype)
    out[:, pt:pt + h, pl:pl + w, :] = x
    return out


def _unpad(dxp, pads, x_shape):
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return dxp
    return dxp[:, pt:pt + x_shape[1], pl:pl + x_shape[2], :]


class _Pool(Function):
    def __init__(self, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        self.pool = pool_size
        self.strides = strides
        self.padding = padding

    def _setup(self, x):
        pads, out_hw = pool_geometry(x.shape[1], x.shape[2], self.pool, self.strides, self.padding)
        self.pads, self.out_hw, self.x_shape = pads, out_hw, x.shape
        return pads, out_hw

    def _taps(self):
        return [(a, b) for a in range(self.pool[0]) for b in range(self.pool[1])]

    def _padded_shape(self):
        pt, pb, pl, pr = self.pads
        n, h, w, c = self.x_shape
        return (n, h + pt + pb, w + pl + pr, c)

    def _grad_buffer(self, xp, g):
        return xp.zeros(self._padded_shape(), dtype=g.dtype)


class MaxPool2DOp(_Pool):
    """Max over each window; backward to the (first) arg-max of each window.

    2x2 windows with stride 2 (the common case, ``_forward_2x2``): a two-level
    max (rows, then the winning row's columns) whose three comparisons are
    kept as bool masks, computed while ``x`` is still in cache; backward only
    multiplies the gradient by them. Both run split over the intra-op threads
    (``kerasette.parallel``). On a device the case is one kernel each way
    (``kernels`` ``max_pool_2x2`` / ``max_pool_2x2_grad``, arg-max kept as uint8); other
    windows use ``max_pool`` / ``max_pool_grad``. On the CPU with numba installed
    (``kerasette.cpu_kernels``) the 2x2 case is likewise one compiled loop each way, with the
    same semantics, each intra-op thread pooling its own samples.

    Other windows: ``ph*pw - 1`` in-place ``maximum``s over the window slices;
    backward recovers the arg-max tap by tap as ``x_tap == y`` and not already
    taken by an earlier tap. Either way each window sends its gradient to
    exactly one position, the first maximum in row-major order (as Keras/TF).
    For tiling windows (stride == pool) each input position belongs to one
    window and the gradient is written in place without a zero-filled buffer.
    """

    def forward(self, x):
        xp = xpof(x)
        pads, out_hw = self._setup(x)
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        xpad = _padded(xp, x, pads, fill)
        if self.pool == self.strides == (2, 2) and xp is np and cpu_kernels.usable(xpad):
            y, arg = _max_pool_2x2_compiled(xpad)          # one compiled pass (numba)
            if self.needs_grad:
                self.save(arg, xpad.shape)
            return y
        s = [_tap_slice(a, b, out_hw, self.strides) for a, b in self._taps()]
        if self.pool == self.strides == (2, 2) and xp is np:
            return self._forward_2x2(xpad, out_hw, s)
        if self.pool == self.strides == (2, 2) and kernels.on_device(xp) and x.dtype.kind == "f":
            y, arg = kernels.run("max_pool_2x2", xp, xpad)     # one kernel: the max and its tap
            if self.needs_grad:
                self.save(arg, xpad.shape)
            return y
        if kernels.on_device(xp) and x.dtype.kind == "f":      # any window: one kernel each way
            y, arg = kernels.run("max_pool", xp, xpad, self.pool, self.strides)
            if self.needs_grad:
                self.save(arg, xpad.shape)
                self.general_kernel = True
            return y
        if len(s) == 1:
            best = xpad[s[0]].copy()
        else:
            best = xp.maximum(xpad[s[0]], xpad[s[1]])
            for sl in s[2:]:
                xp.maximum(best, xpad[sl], out=best)
        if self.needs_grad:
            self.save(xpad, best)
        return best

    def backward(self, g):
        if len(self.saved) == 3:
            return self._backward_2x2(g)
        if getattr(self, "general_kernel", False):               # the any-window kernel's arg-max taps
            arg, pad_shape = self.saved
            dxp = kernels.run("max_pool_grad", xpof(g), g, arg, pad_shape, self.pool, self.strides)
            return _unpad(dxp, self.pads, self.x_shape)
        if isinstance(self.saved[1], tuple):                     # the kernel's arg-max taps
            arg, pad_shape = self.saved
            xp = xpof(g)
            if xp is np and cpu_kernels.usable(g):
                return _unpad(_max_pool_2x2_grad_compiled(g, arg, pad_shape), self.pads, self.x_shape)
            return _unpad(kernels.run("max_pool_2x2_grad", xp, g, arg, pad_shape), self.pads, self.x_shape)
        xpad, y = self.saved
        xp = xpof(g)
        (ph, pw), (sh, sw) = self.pool, self.strides
        ho, wo = self.out_hw
        tiling = (ph, pw) == (sh, sw) and xp is np
        if tiling:
            dxp = xp.empty(xpad.shape, dtype=g.dtype)
            dxp[:, ho * sh:] = 0                   # rows / columns no window covers
            dxp[:, :, wo * sw:] = 0
        else:
            dxp = self._grad_buffer(xp, g)
        taps = self._taps()
        taken = None
        for t, (a, b) in enumerate(taps):
            sl = _tap_slice(a, b, self.out_hw, self.strides)
            eq = xpad[sl] == y
            if taken is None:
                hit = taken = eq
            else:
                hit = xp.greater(eq, taken)         # equal to the max and no earlier tap was
                if t < len(taps) - 1:
                    taken = taken | eq
            if tiling:
                xp.multiply(g, hit, out=dxp[sl])
            else:
                dxp[sl] += g * hit
        return _unpad(dxp, self.pads, self.x_shape)

    def _forward_2x2(self, xpad, out_hw, s):
        """2x2 / stride 2, the common case: a two-level max, split over threads.

        The arg-max is recorded here, as three output-sized bool masks, while x
        is still in cache from the layer that made it; backward then never
        reads x (by then back in main memory).
        """
        n = xpad.shape[0]
        y = np.empty((n,) + tuple(out_hw) + (xpad.shape[3],), dtype=xpad.dtype)
        masks = [np.empty(y.shape, dtype=bool) for _ in range(3)] if self.needs_grad else None

        def part(a, z):
            xs = [xpad[a:z][sl] for sl in s]
            top, bottom = np.maximum(xs[0], xs[1]), np.maximum(xs[2], xs[3])
            if masks is not None:
                np.greater_equal(top, bottom, out=masks[0][a:z])      # ties go to the top row
                np.greater_equal(xs[0], xs[1], out=masks[1][a:z])     # and to the left column
                np.greater_equal(xs[2], xs[3], out=masks[2][a:z])
            np.maximum(top, bottom, out=y[a:z])

        parallel.run(part, parallel.ranges(n, xp=np))
        if masks is not None:
            self.save(*masks)
        return y

    def _backward_2x2(self, g):
        """Top row or bottom row, then left or right within it, from the forward's
        masks; 6 passes, each input position written once."""
        top_won, left_top, left_bottom = self.saved
        ho, wo = self.out_hw
        dxp = np.empty(self._padded_shape(), dtype=g.dtype)
        s = [_tap_slice(a, b, self.out_hw, self.strides) for a, b in self._taps()]

        def part(a, z):
            d = dxp[a:z]
            d[:, 2 * ho:] = 0                     # rows / columns no window covers
            d[:, :, 2 * wo:] = 0
            g_top = g[a:z] * top_won[a:z]
            g_bottom = np.subtract(g[a:z], g_top)
            for half, left_won, (left, right) in ((g_top, left_top[a:z], (s[0], s[1])),
                                                  (g_bottom, left_bottom[a:z], (s[2], s[3]))):
                np.multiply(half, left_won, out=d[left])
                np.subtract(half, d[left], out=d[right])

        parallel.run(part, parallel.ranges(g.shape[0], xp=np))
        return _unpad(dxp, self.pads, self.x_shape)


def _max_pool_2x2_compiled(xpad):
    """``(y, arg)`` of the 2x2 / stride-2 max pool on the CPU by the compiled loop, each
    intra-op thread pooling its own samples (``arg``: the winning tap, uint8)."""
    n, h, w, c = xpad.shape
    y = np.empty((n, h // 2, w // 2, c), dtype=xpad.dtype)
    arg = np.empty(y.shape, dtype=np.uint8)
    parallel.run(lambda a, z: cpu_kernels.max_pool_2x2(xpad[a:z], y[a:z], arg[a:z]),
                 parallel.ranges(n, xp=np))
    return y, arg


def _max_pool_2x2_grad_compiled(g, arg, pad_shape):
    """The padded input's gradient from ``_max_pool_2x2_compiled``'s taps, split as it was
    (``g`` C-contiguous: the caller checked ``cpu_kernels.usable(g)``)."""
    dx = np.empty(tuple(pad_shape), dtype=g.dtype)
    parallel.run(lambda a, z: cpu_kernels.max_pool_2x2_grad(g[a:z], arg[a:z], dx[a:z]),
                 parallel.ranges(g.shape[0], xp=np))
    return dx


class AvgPool2DOp(_Pool):
    """Mean over each window's real (unpadded) positions, as Keras/TF."""

    def forward(self, x):
        xp = xpof(x)
        pads, out_hw = self._setup(x)
        xpad = _padded(xp, x, pads, 0)
        taps = self._taps()
        acc = xpad[_tap_slice(0, 0, out_hw, self.strides)].astype(x.dtype, copy=True)
        for a, b in taps[1:]:
            acc += xpad[_tap_slice(a, b, out_hw, self.strides)]
        self.scale = self._scale(xp, x.dtype)
        acc *= self.scale
        return acc

    def _scale(self, xp, dtype):
        """``1 / count`` of real positions per output: a scalar, or ``(Ho, Wo, 1)``."""
        pt, pb, pl, pr = self.pads
        if not (pt or pb or pl or pr):
            return 1.0 / (self.pool[0] * self.pool[1])
        counts = []
        for axis, (before, size) in enumerate(((pt, self.x_shape[1]), (pl, self.x_shape[2]))):
            start = xp.arange(self.out_hw[axis]) * self.strides[axis] - before
            stop = start + self.pool[axis]
            counts.append(xp.minimum(stop, size) - xp.maximum(start, 0))
        cnt = counts[0][:, None] * counts[1][None, :]
        return (1.0 / cnt).astype(dtype)[:, :, None]

    def backward(self, g):
        xp = xpof(g)
        gs = g * self.scale
        dxp = self._grad_buffer(xp, g)
        for a, b in self._taps():
            dxp[_tap_slice(a, b, self.out_hw, self.strides)] += gs
        return _unpad(dxp, self.pads, self.x_shape)


def _args(x, pool_size, strides, padding, where):
    pool = normalize_tuple(pool_size, 2, "pool_size", where=where)
    strides = pool if strides is None else normalize_tuple(strides, 2, "strides", where=where)
    padding = normalize_padding(padding, where=where)
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) != 4:
        raise ValueError(f"{where}: expected input of rank 4 (batch, height, width, channels), "
                         f"got shape {shape}")
    if padding == "valid" and (shape[1] < pool[0] or shape[2] < pool[1]):
        raise ValueError(f"{where}: pool_size {pool} is larger than the input (shape {shape}) "
                         f"with padding='valid'")
    return pool, strides, padding


def max_pool2d(x, pool_size, strides=None, padding="valid"):
    """2-D max pooling, channels_last: ``(N, H, W, C) -> (N, Ho, Wo, C)``.

    ``strides`` defaults to ``pool_size``; ``padding`` is ``"valid"`` or ``"same"``.
    """
    pool, strides, padding = _args(x, pool_size, strides, padding, "max_pool2d")
    return MaxPool2DOp(pool_size=pool, strides=strides, padding=padding)(x)


def avg_pool2d(x, pool_size, strides=None, padding="valid"):
    """2-D average pooling, channels_last; ``"same"`` padding averages real positions only."""
    pool, strides, padding = _args(x, pool_size, strides, padding, "avg_pool2d")
    return AvgPool2DOp(pool_size=pool, strides=strides, padding=padding)(x)
