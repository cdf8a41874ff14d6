"""3-D convolution and 3-D max / average pooling (channels_last), each one graph node.

``conv3d(x, kernel)``: x ``(N, D, H, W, C)``, kernel ``(kd, kh, kw, C // groups, F)`` as
Keras stores it, output ``(N, Do, Ho, Wo, F)``. The forward pass copies a strided window
view of the (padded) input, ``(N, Do, Ho, Wo, kd, kh, kw, C)``, into im2col columns
grouped as ``(groups, N*Do*Ho*Wo, kd*kh*kw*C/groups)`` and multiplies them with the
kernel in one batched GEMM (a single GEMM when ``groups == 1``). Backward: the kernel
gradient is one GEMM on the saved columns; the input gradient one GEMM into column
gradients, then one strided add per kernel tap into the padded input gradient
(``kd*kh*kw`` adds: no loop over samples or positions).

Pooling loops over the ``pd*ph*pw`` window positions: position ``(a, b, e)`` of every
output window is one strided slice of the (padded) input. Max pooling's backward routes
each output's gradient to the first window position (row-major) holding the maximum, as
Keras/TF on ties; padded positions never win a max and are not counted in an average.

Padding follows Keras/TF: ``"valid"`` uses no padding; ``"same"`` gives
``ceil(size / stride)`` outputs per axis and puts the odd extra pad after (back, bottom,
right).
"""
import itertools

from .. import backend
from ..autograd.function import Function
from .conv import _shape, normalize_padding, normalize_tuple, same_pads

__all__ = ["conv3d", "max_pool3d", "avg_pool3d", "Conv3DOp", "MaxPool3DOp", "AvgPool3DOp",
           "conv3d_output_shape"]

xpof = backend.get_array_module


# ---- geometry ------------------------------------------------------------------------------

def _geometry(spatial, window, strides, dilation, padding):
    """``(pads, out)`` of a window op over ``spatial`` sizes: ``pads`` one ``(before, after)``
    pair per axis (Keras's ``"same"`` or none), ``out`` the output sizes."""
    if padding == "same":
        pads = tuple(same_pads(n, k, s, d) for n, k, s, d in zip(spatial, window, strides, dilation))
    else:
        pads = ((0, 0),) * len(spatial)
    out = tuple((n + a + b - (k - 1) * d - 1) // s + 1
                for n, (a, b), k, s, d in zip(spatial, pads, window, strides, dilation))
    return pads, out


def _padded(xp, x, pads, fill):
    """``x (N, *spatial, C)`` with ``pads`` around its spatial axes filled with ``fill``."""
    if not any(a or b for a, b in pads):
        return x
    shape = (x.shape[0],) + tuple(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads)) + (x.shape[-1],)
    out = xp.full(shape, fill, dtype=x.dtype) if fill else xp.zeros(shape, dtype=x.dtype)
    out[_inner(pads, x.shape)] = x
    return out


def _inner(pads, x_shape):
    """Index of the unpadded input inside the padded one."""
    return ((slice(None),) + tuple(slice(a, a + n) for (a, _), n in zip(pads, x_shape[1:-1]))
            + (slice(None),))


def _unpad(dxp, pads, x_shape):
    return dxp[_inner(pads, x_shape)] if any(a or b for a, b in pads) else dxp


def _tap(offsets, out, strides):
    """Index of the input positions that window position ``offsets`` reads, for all outputs."""
    return ((slice(None),) + tuple(slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offsets, out, strides))
            + (slice(None),))


def _taps(window, dilation=None):
    dilation = dilation or (1,) * len(window)
    return [tuple(i * d for i, d in zip(idx, dilation)) for idx in itertools.product(*map(range, window))]


def _windows(xp, x, out, window, strides, dilation, groups):
    """A view ``(N, *out, *window, groups, C // groups)`` of ``x (N, *spatial, C)``: every
    (dilated, strided) window, channels split into groups; no copy."""
    s = x.strides
    n, c = x.shape[0], x.shape[-1]
    sp = s[1:-1]
    shape = (n,) + tuple(out) + tuple(window) + (groups, c // groups)
    st = ((s[0],) + tuple(a * b for a, b in zip(sp, strides)) + tuple(a * b for a, b in zip(sp, dilation))
          + (s[-1] * (c // groups), s[-1]))
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=st)


def conv3d_output_shape(x_shape, kernel_shape, strides, padding, dilation_rate):
    """``(N, Do, Ho, Wo, F)`` of ``conv3d`` on ``x_shape`` with a kernel of ``kernel_shape``."""
    _, out = _geometry(x_shape[1:4], kernel_shape[:3], strides, dilation_rate, padding)
    return (x_shape[0],) + out + (kernel_shape[-1],)


# ---- convolution ---------------------------------------------------------------------------

class Conv3DOp(Function):
    """``conv3d(x, w) + b`` as one node (see the module docstring).

    Inputs ``x (N, D, H, W, C)``, ``w (kd, kh, kw, C // groups, F)`` and optionally
    ``b (F,)``. Keeps the im2col columns (for the kernel gradient) and the kernel (for the
    input gradient).
    """

    def __init__(self, strides=(1, 1, 1), padding="valid", dilation_rate=(1, 1, 1), groups=1):
        self.strides, self.padding, self.dilation, self.groups = strides, padding, dilation_rate, groups

    def forward(self, x, w, b=None):
        xp = xpof(x, w)
        n, c = x.shape[0], x.shape[-1]
        window, f, g = tuple(w.shape[:3]), w.shape[-1], self.groups
        pads, out = _geometry(x.shape[1:4], window, self.strides, self.dilation, self.padding)
        xpad = _padded(xp, x, pads, 0)
        m = n * out[0] * out[1] * out[2]
        k = window[0] * window[1] * window[2] * (c // g)
        win = _windows(xp, xpad, out, window, self.strides, self.dilation, g)
        # (groups, N, *out, *window, C/g) in one copy: the im2col columns of every group
        cols = xp.ascontiguousarray(xp.moveaxis(win, 7, 0)).reshape(g, m, k)
        wg = self._grouped_kernel(w)                                  # (groups, k, F/g)
        y = xp.matmul(cols, wg)                                       # (groups, M, F/g)
        y = xp.moveaxis(y, 0, 1).reshape((n,) + out + (f,))
        if b is not None:
            y = y + b
        if self.needs_grad:
            self.save(cols if self.needs_grad[1] else None, w)
            self.geom = (x.shape, xpad.shape, pads, out)
            self.has_bias = b is not None
        return y

    def _grouped_kernel(self, w):
        """``(kd, kh, kw, C/g, F)`` -> ``(g, kd*kh*kw*C/g, F/g)``: output channel ``o`` belongs
        to group ``o // (F/g)``, as Keras / PyTorch order them."""
        g = self.groups
        f = w.shape[-1]
        return xpof(w).moveaxis(w.reshape(-1, g, f // g), 1, 0)

    def backward(self, gy):
        cols, w = self.saved
        xp = xpof(gy)
        x_shape, pad_shape, pads, out = self.geom
        g, f = self.groups, w.shape[-1]
        window, cg = tuple(w.shape[:3]), w.shape[3]
        n = x_shape[0]
        m = n * out[0] * out[1] * out[2]
        g2 = xp.moveaxis(gy.reshape(m, g, f // g), 1, 0)              # (groups, M, F/g)
        gx = gw = gb = None
        if self.needs_grad[0]:
            dcols = xp.matmul(g2, xp.swapaxes(self._grouped_kernel(w), 1, 2))      # (groups, M, k)
            dcols = dcols.reshape((g, n) + out + (-1, cg))                           # taps flattened
            dxp = xp.zeros(pad_shape, dtype=gy.dtype)
            for t, offsets in enumerate(_taps(window, self.dilation)):
                part = xp.moveaxis(dcols[..., t, :], 0, -2).reshape((n,) + out + (g * cg,))
                dxp[_tap(offsets, out, self.strides)] += part
            gx = _unpad(dxp, pads, x_shape)
        if self.needs_grad[1]:
            gwg = xp.matmul(xp.swapaxes(cols, 1, 2), g2)                # (groups, k, F/g)
            gw = xp.moveaxis(gwg, 0, 1).reshape(w.shape)
        if self.has_bias and self.needs_grad[2]:
            gb = gy.reshape(m, f).sum(axis=0)
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def conv3d(x, kernel, strides=1, padding="valid", dilation_rate=1, bias=None, groups=1):
    """3-D convolution, channels_last, as one graph node.

    Args:
        x: ``(N, D, H, W, C)``.
        kernel: ``(kd, kh, kw, C // groups, F)``.
        strides (int | tuple[int, int, int]): step of the window along depth, height, width.
        padding (str): ``"valid"`` or ``"same"`` (Keras's rule: the extra pad goes after).
        dilation_rate (int | tuple[int, int, int]): spacing between the kernel's taps.
        bias: optional ``(F,)`` added in-node.
        groups (int): channel groups; ``C`` and ``F`` must be multiples of it (default 1).

    Returns:
        ``(N, Do, Ho, Wo, F)``.

    Examples:
        >>> import numpy as np
        >>> from kerasette.ops.conv3d import conv3d
        >>> conv3d(np.ones((1, 4, 5, 6, 2)), np.ones((3, 3, 3, 2, 4)), padding="same").shape
        (1, 4, 5, 6, 4)
    """
    where = "conv3d"
    strides = normalize_tuple(strides, 3, "strides", where=where)
    dilation = normalize_tuple(dilation_rate, 3, "dilation_rate", where=where)
    padding = normalize_padding(padding, where=where)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"{where}: groups must be a positive integer, got {groups!r}")
    xs, ks = _shape(x), _shape(kernel)
    if len(xs) != 5:
        raise ValueError(f"{where}: expected input of rank 5 (batch, depth, height, width, channels), "
                         f"got shape {xs}")
    if len(ks) != 5:
        raise ValueError(f"{where}: expected a kernel of rank 5 (kd, kh, kw, in_channels // groups, filters), "
                         f"got shape {ks}")
    if xs[4] != ks[3] * groups:
        raise ValueError(f"{where}: input has {xs[4]} channels (shape {xs}) but the kernel expects "
                         f"{ks[3] * groups} ({ks[3]} per group x groups={groups}; kernel shape {ks})")
    if ks[4] % groups:
        raise ValueError(f"{where}: the kernel's {ks[4]} filters are not a multiple of groups={groups} "
                         f"(kernel shape {ks})")
    if padding == "valid":
        for axis, name in enumerate(("depth", "height", "width")):
            eff = (ks[axis] - 1) * dilation[axis] + 1
            if xs[1 + axis] < eff:
                raise ValueError(f"{where}: the kernel {ks[:3]} (dilated extent {eff}) is larger than the "
                                 f"input {name} {xs[1 + axis]} (input shape {xs}) with padding='valid'")
    op = Conv3DOp(strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
    return op(x, kernel) if bias is None else op(x, kernel, bias)


# ---- pooling -------------------------------------------------------------------------------

class _Pool3D(Function):
    def __init__(self, pool_size=(2, 2, 2), strides=(2, 2, 2), padding="valid"):
        self.pool, self.strides, self.padding = pool_size, strides, padding

    def _setup(self, x):
        self.pads, self.out = _geometry(x.shape[1:4], self.pool, self.strides, (1, 1, 1), self.padding)
        self.x_shape = x.shape
        return [_tap(t, self.out, self.strides) for t in _taps(self.pool)]


class MaxPool3DOp(_Pool3D):
    """Max over each window; backward to the first (row-major) arg-max of each window.

    Forward: ``pd*ph*pw - 1`` in-place ``maximum``s over the window-position slices.
    Backward recovers the winning position tap by tap as ``x_tap == y`` and not taken by
    an earlier tap, so every window sends its gradient to exactly one input position.
    """

    def forward(self, x):
        xp = xpof(x)
        slices = self._setup(x)
        fill = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
        xpad = _padded(xp, x, self.pads, fill)
        best = xpad[slices[0]].copy()
        for sl in slices[1:]:
            xp.maximum(best, xpad[sl], out=best)
        if self.needs_grad:
            self.save(xpad, best)
        return best

    def backward(self, g):
        xpad, y = self.saved
        xp = xpof(g)
        dxp = xp.zeros(xpad.shape, dtype=g.dtype)
        taken = None
        for sl in (_tap(t, self.out, self.strides) for t in _taps(self.pool)):
            eq = xpad[sl] == y
            hit = eq if taken is None else xp.greater(eq, taken)    # equal to the max, no earlier tap was
            taken = eq if taken is None else taken | eq
            dxp[sl] += g * hit
        return _unpad(dxp, self.pads, self.x_shape)


class AvgPool3DOp(_Pool3D):
    """Mean over each window's real (unpadded) positions, as Keras/TF."""

    def forward(self, x):
        xp = xpof(x)
        slices = self._setup(x)
        xpad = _padded(xp, x, self.pads, 0)
        acc = xpad[slices[0]].astype(x.dtype, copy=True)
        for sl in slices[1:]:
            acc += xpad[sl]
        self.scale = self._scale(xp, x.dtype)
        acc *= self.scale
        return acc

    def _scale(self, xp, dtype):
        """``1 / count`` of real positions per output: a scalar, or ``(Do, Ho, Wo, 1)``."""
        if not any(a or b for a, b in self.pads):
            return 1.0 / (self.pool[0] * self.pool[1] * self.pool[2])
        cnt = None
        for axis in range(3):
            start = xp.arange(self.out[axis]) * self.strides[axis] - self.pads[axis][0]
            count = xp.minimum(start + self.pool[axis], self.x_shape[1 + axis]) - xp.maximum(start, 0)
            shape = [1, 1, 1]
            shape[axis] = -1
            cnt = count.reshape(shape) if cnt is None else cnt * count.reshape(shape)
        return (1.0 / cnt).astype(dtype)[..., None]

    def backward(self, g):
        xp = xpof(g)
        gs = g * self.scale
        pad_shape = ((g.shape[0],) + tuple(n + a + b for n, (a, b) in zip(self.x_shape[1:4], self.pads))
                     + (g.shape[-1],))
        dxp = xp.zeros(pad_shape, dtype=g.dtype)
        for t in _taps(self.pool):
            dxp[_tap(t, self.out, self.strides)] += gs
        return _unpad(dxp, self.pads, self.x_shape)


def _pool_args(x, pool_size, strides, padding, where):
    pool = normalize_tuple(pool_size, 3, "pool_size", where=where)
    strides = pool if strides is None else normalize_tuple(strides, 3, "strides", where=where)
    padding = normalize_padding(padding, where=where)
    shape = _shape(x)
    if len(shape) != 5:
        raise ValueError(f"{where}: expected input of rank 5 (batch, depth, height, width, channels), "
                         f"got shape {shape}")
    if padding == "valid" and any(n < p for n, p in zip(shape[1:4], pool)):
        raise ValueError(f"{where}: pool_size {pool} is larger than the input (shape {shape}) "
                         f"with padding='valid'")
    return pool, strides, padding


def max_pool3d(x, pool_size, strides=None, padding="valid"):
    """3-D max pooling, channels_last: ``(N, D, H, W, C) -> (N, Do, Ho, Wo, C)``.

    Args:
        x: ``(N, D, H, W, C)``.
        pool_size (int | tuple[int, int, int]): window depth, height and width.
        strides (int | tuple[int, int, int] | None): step of the window; None means ``pool_size``.
        padding (str): ``"valid"`` or ``"same"`` (padded positions never win).

    Examples:
        >>> import numpy as np
        >>> from kerasette.ops.conv3d import max_pool3d
        >>> max_pool3d(np.ones((1, 4, 5, 6, 2)), 2).shape
        (1, 2, 2, 3, 2)
    """
    pool, strides, padding = _pool_args(x, pool_size, strides, padding, "max_pool3d")
    return MaxPool3DOp(pool_size=pool, strides=strides, padding=padding)(x)


def avg_pool3d(x, pool_size, strides=None, padding="valid"):
    """3-D average pooling, channels_last: ``(N, D, H, W, C) -> (N, Do, Ho, Wo, C)``.

    Args:
        x: ``(N, D, H, W, C)``.
        pool_size (int | tuple[int, int, int]): window depth, height and width.
        strides (int | tuple[int, int, int] | None): step of the window; None means ``pool_size``.
        padding (str): ``"valid"`` or ``"same"`` (only real positions are averaged, as Keras/TF).

    Examples:
        >>> import numpy as np
        >>> from kerasette.ops.conv3d import avg_pool3d
        >>> avg_pool3d(np.ones((1, 4, 5, 6, 2)), 3, strides=2, padding="same").shape
        (1, 2, 3, 3, 2)
    """
    pool, strides, padding = _pool_args(x, pool_size, strides, padding, "avg_pool3d")
    return AvgPool3DOp(pool_size=pool, strides=strides, padding=padding)(x)
