"""2-D convolution (channels_last) and constant padding, each one graph node.

``conv2d(x, kernel)``: x ``(N, H, W, C)``, kernel ``(kh, kw, C, F)`` as Keras
stores it, output ``(N, Ho, Wo, F)``. The forward pass is an *im2col* copy of
a strided view of the (padded) input, ``(N*Ho*Wo, kh*kw*C)``, followed by one
GEMM with the kernel reshaped to ``(kh*kw*C, F)``; bias and relu / tanh /
sigmoid can be fused into the node. Backward: ``dkernel = cols.T @ g`` (one
GEMM on the saved columns) and, for the input, one GEMM per kernel tap
``g @ kernel[i, j].T`` added into the matching strided slice of the padded
input (``kh*kw`` adds: no ``np.add.at``, no loop over pixels or samples); with numba
(``kerasette.cpu_kernels``), one GEMM ``g @ kernel.T`` into a column gradient and one compiled
col2im pass instead, per block of samples whose column gradient stays in cache (1 MB): the
device path's form, and faster (MNIST's second layer, batch 128, AVX-512 OpenBLAS: its backward
5.6 -> 4.4 ms; the per-tap GEMMs have an inner dimension of only ``F``).
The column buffers come from a small pool, reused batch after batch. With a
bias, the columns carry a last column of ones and the kernel matrix a last row
holding the bias, so the forward GEMM adds the bias and the kernel-gradient
GEMM returns the bias gradient as its last row (no separate passes).
Inside ``kerasette.parallel.region()`` (``fit``, ``evaluate``, ``predict``)
forward and backward split the batch over the intra-op threads: each thread
copies, multiplies and scatters its own samples, and the kernel gradients'
partial sums are added at the end.

The alternative named in the design notes, a sum over the ``kh*kw`` taps of
shifted-slice matmuls (``x[:, i:i+Ho, j:j+Wo, :] @ w[i, j]``, no im2col
buffer) was measured on the MNIST convnet's shapes (2-core AMD EPYC, OpenBLAS,
float32, batch 128)::

    layer                     im2col + 1 GEMM   kh*kw shifted-slice GEMMs
    28x28x1  -> 26x26x32      6.2 ms            43.8 ms (51.8 with contiguous slices)
    13x13x32 -> 11x11x64      5.7 ms             8.1 ms ( 6.4 with contiguous slices)

A single large GEMM wins (the per-tap GEMMs have a tiny inner dimension ``C``,
and NumPy's ``matmul`` on non-contiguous 4-D slices loops over small
matrices), so the im2col form is what this module uses.

Padding follows Keras/TF: ``"valid"`` uses no padding; ``"same"`` gives
``ceil(H / stride)`` outputs and puts the odd extra pad row/column at the
bottom/right.
"""
import threading

import numpy as np

from .. import backend, cpu_kernels, parallel
from ..autograd.function import Function
from . import kernels
from .nn import _ACT_BWD, _ACT_FWD

__all__ = ["conv2d", "pad", "Conv2DOp", "Pad", "normalize_tuple", "normalize_padding",
           "same_pads", "conv_output_length"]

xpof = backend.get_array_module


# ---- argument helpers (shared with pooling and the layers) ----------------------------------

def normalize_tuple(value, n, name, allow_zero=False, where="conv2d"):
    """An int or a sequence of ``n`` ints as a tuple of ``n`` positive ints."""
    if isinstance(value, (list, tuple)):
        vals = tuple(value)
    else:
        vals = (value,) * n
    if len(vals) != n:
        raise ValueError(f"{where}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    out = []
    for v in vals:
        try:
            iv = int(v)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
        if iv != v or iv < 0 or (iv == 0 and not allow_zero):
            need = "non-negative" if allow_zero else "positive"
            raise ValueError(f"{where}: {name} must be {need} integers, got {value!r}")
        out.append(iv)
    return tuple(out)


def normalize_padding(padding, where="conv2d"):
    """``"valid"`` or ``"same"`` (case-insensitive)."""
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def conv_output_length(length, window, padding, stride, dilation=1):
    """Output length along one axis (``None`` stays ``None``), Keras's rule."""
    if length is None:
        return None
    eff = (window - 1) * dilation + 1
    if padding == "same":
        return -(-length // stride)
    return max((length - eff) // stride + 1, 0) if length >= eff else 0


def same_pads(length, window, stride, dilation=1):
    """``(before, after)`` padding of Keras/TF's ``"same"``: the extra one goes after."""
    eff = (window - 1) * dilation + 1
    out = -(-length // stride)
    total = max((out - 1) * stride + eff - length, 0)
    return total // 2, total - total // 2


def padded_input(xp, x, window, strides, dilation, padding):
    """The geometry of a 2-D window op on ``x (N, H, W, C)``: ``(pads, xpad, (Ho, Wo))`` with
    ``pads = (top, bottom, left, right)`` (Keras's ``"same"`` or none) and ``xpad`` a new
    uninitialised array of the padded shape when there is padding (callers fill it, e.g. per
    thread with ``_pad_into``), else ``x`` itself."""
    n, h, wd, c = x.shape
    (kh, kw), (sh, sw), (dh, dw) = window, strides, dilation
    if padding == "same":
        pads = same_pads(h, kh, sh, dh) + same_pads(wd, kw, sw, dw)
    else:
        pads = (0, 0, 0, 0)
    pt, pb, pl, pr = pads
    xpad = xp.empty((n, h + pt + pb, wd + pl + pr, c), dtype=x.dtype) if any(pads) else x
    hp, wp = xpad.shape[1:3]
    return pads, xpad, ((hp - (kh - 1) * dh - 1) // sh + 1, (wp - (kw - 1) * dw - 1) // sw + 1)


def _strided_windows(xp, x, out_hw, window, strides, dilation):
    """A view ``(N, Ho, Wo, kh, kw, C)`` of ``x`` ``(N, Hp, Wp, C)``: every window, no copy."""
    sN, sH, sW, sC = x.strides
    n, _, _, c = x.shape
    shape = (n, out_hw[0], out_hw[1], window[0], window[1], c)
    strides = (sN, sH * strides[0], sW * strides[1], sH * dilation[0], sW * dilation[1], sC)
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def _tap_slice(i, j, out_hw, strides, offset=(0, 0)):
    """Index of the input positions that kernel tap ``(i, j)`` reads, for all outputs."""
    h0, w0 = offset[0] + i, offset[1] + j
    return (slice(None), slice(h0, h0 + (out_hw[0] - 1) * strides[0] + 1, strides[0]),
            slice(w0, w0 + (out_hw[1] - 1) * strides[1] + 1, strides[1]), slice(None))


class _BufferPool:
    """Reusable scratch arrays (the im2col columns) keyed by shape and dtype.

    A training step needs the same large column buffers every batch; taking
    them from here instead of allocating them avoids fresh pages (page faults)
    each step. A buffer is lent from ``get`` until ``put`` (the op's
    ``release`` after backward); at most ``per_key`` idle buffers per shape.
    """

    def __init__(self, per_key=2):
        self.free = {}
        self.per_key = per_key
        self.lock = threading.Lock()        # ops on several threads (or models) share the pool

    def get(self, xp, shape, dtype, fill_last_column=None):
        """A lent ``shape`` buffer; ``fill_last_column``: the value a fresh
        buffer's last column is set to (kept by every user of that shape)."""
        with self.lock:
            stack = self.free.get((xp.__name__, shape, np.dtype(dtype).char))
            if stack:
                return stack.pop()
        buf = xp.empty(shape, dtype=dtype)
        if fill_last_column is not None:
            buf[..., -1] = fill_last_column
        return buf

    def put(self, buf):
        key = (xpof(buf).__name__, tuple(buf.shape), buf.dtype.char)
        with self.lock:
            stack = self.free.setdefault(key, [])
            if len(stack) < self.per_key:
                stack.append(buf)

    def clear(self):
        with self.lock:
            self.free.clear()


_POOL = _BufferPool()
_ONES_POOL = _BufferPool()      # im2col columns with a last column of ones (bias folded in)


# ---- the convolution node ------------------------------------------------------------------


class Conv2DOp(Function):
    """``act(conv2d(x, w) + b)`` as one node (see the module docstring).

    Inputs ``x (N, H, W, C)``, ``w (kh, kw, C, F)`` and optionally ``b (F,)``;
    ``activation`` one of None, "relu", "tanh", "sigmoid" (fused in-node, like
    the fused dense op).
    """

    def __init__(self, strides=(1, 1), padding="valid", dilation_rate=(1, 1), activation=None):
        fwd = _ACT_FWD
        if activation not in fwd:
            raise ValueError(f"conv2d: fused activation must be one of {list(fwd)}, got {activation!r}")
        self.strides = strides
        self.padding = padding
        self.dilation = dilation_rate
        self.activation = activation

    def forward(self, x, w, b=None):
        xp = xpof(x, w)
        n, h, wd, c = x.shape
        kh, kw, _, f = w.shape
        (sh, sw), (dh, dw) = self.strides, self.dilation
        # the padded input is filled by each thread for its own samples (in part below)
        (pt, pb, pl, pr), xpad, (ho, wo) = padded_input(xp, x, (kh, kw), self.strides, self.dilation,
                                                        self.padding)
        padded = xpad is not x
        m, k, hw = n * ho * wo, kh * kw * c, ho * wo
        pooled = windows = None
        if kh == kw == 1 and sh == sw == 1 and xpad.flags.c_contiguous:
            cols = xpad.reshape(m, k)
        else:
            # with a bias, the columns get a last column of ones and the kernel a last
            # row holding the bias: the GEMM adds the bias (no pass over the output)
            # and backward's kernel-gradient GEMM yields the bias gradient as its last row
            extra = 0 if b is None else 1
            pool = _ONES_POOL if extra else _POOL
            pooled = pool.get(xp, (m, k + extra), x.dtype, fill_last_column=1 if extra else None)
            windows = pooled.reshape(n, ho, wo, k + extra)[..., :k].reshape(n, ho, wo, kh, kw, c)
            cols = pooled
        wmat = w.reshape(k, f)
        if cols.shape[1] > k:
            wmat = xp.concatenate([wmat, b.reshape(1, f)], axis=0)
        y = xp.empty((m, f), dtype=xp.result_type(cols.dtype, wmat.dtype))
        add_bias = b is not None and cols.shape[1] == k
        act = _ACT_FWD[self.activation]

        def part(a, z):                           # samples a:z, one thread's share
            if padded:
                _pad_into(x[a:z], xpad[a:z], (pt, pb, pl, pr))
            if windows is not None:
                self._im2col(xp, xpad[a:z], windows[a:z], (ho, wo))
            ys = y[a * hw:z * hw]
            xp.matmul(cols[a * hw:z * hw], wmat, out=ys)
            if add_bias:
                ys += b
            if act is not None:
                act(xp, ys)

        parallel.run(part, parallel.ranges(n, xp=xp))
        keep_cols = bool(self.needs_grad) and (self.needs_grad[1] or (cols.shape[1] > k and self.needs_grad[2]))
        if pooled is not None:
            if keep_cols:
                self._pooled = (pool, pooled)    # back to the pool in release(), after backward
            else:
                pool.put(pooled)
        if self.needs_grad:
            # the columns are all the kernel gradient needs; the kernel all dx needs
            self.save(cols if keep_cols else None, w, y if self.activation else None)
            self.geom = (x.shape, xpad.shape, (pt, pl), (ho, wo))
            self.has_bias = b is not None
        return y.reshape(n, ho, wo, f)

    def _im2col(self, xp, xpad, windows, out_hw):
        """Copy every kernel window of ``xpad`` into ``windows (N, Ho, Wo, kh, kw, C)``."""
        kh, kw, c = windows.shape[3:]
        (sh, sw), (dh, dw) = self.strides, self.dilation
        if c < 4:
            # few channels (the first layer): one strided copy per tap beats the
            # 6-D window copy, whose innermost run is only c elements (0.4 vs 1.3 ms
            # for MNIST's 28x28x1, batch 128)
            for i in range(kh):
                for j in range(kw):
                    windows[:, :, :, i, j, :] = xpad[_tap_slice(i * dh, j * dw, out_hw, (sh, sw))]
        else:
            windows[...] = _strided_windows(xp, xpad, out_hw, (kh, kw), (sh, sw), (dh, dw))

    def backward(self, g):
        cols, w, y = self.saved
        xp = xpof(g)
        kh, kw, c, f = w.shape
        x_shape, pad_shape, (pt, pl), (ho, wo) = self.geom
        hw, k = ho * wo, kh * kw * c
        g2 = g.reshape(-1, f)
        scratch = None
        if self.activation == "relu" and xp is np:
            # the masked gradient only lives inside this method: a pooled buffer
            scratch = _POOL.get(xp, g2.shape, g2.dtype)
        want_dx = bool(self.needs_grad[0])
        # on the CPU with numba: dx as GEMMs into a column gradient and compiled col2im passes
        # (_input_grad_compiled), else per-tap GEMMs
        wmat_t = None
        if want_dx and xp is np and kh * kw > 1 and g2.dtype == w.dtype:
            wmat_t = np.ascontiguousarray(w.reshape(k, f).T)
            wmat_t = wmat_t if cpu_kernels.usable(wmat_t) else None
        # the col2im kernels write every element; the CPU's per-tap adds need zeros
        dxp = None
        if want_dx:
            dxp = (xp.empty if kernels.on_device(xp) or wmat_t is not None else xp.zeros)(pad_shape, dtype=g2.dtype)
        want_gb = self.has_bias and self.needs_grad[2] and (cols is None or cols.shape[1] == k)
        act_bwd = _ACT_BWD.get(self.activation)

        def part(a, z):                           # samples a:z, one thread's share
            rows = slice(a * hw, z * hw)
            gp = g2[rows]
            if scratch is not None:
                gp = np.multiply(gp, y[rows] > 0, out=scratch[rows])
            elif act_bwd is not None:
                gp = act_bwd(xp, y[rows], gp)
            if want_dx and kernels.on_device(xp):
                # one GEMM into the column gradient, then one gather kernel (no per-tap adds)
                dcols = gp @ w.reshape(k, f).T
                dxp[a:z] = kernels.run("col2im", xp, dcols, (z - a,) + tuple(pad_shape[1:]), (kh, kw),
                                       (ho, wo), self.strides, self.dilation)
            elif wmat_t is not None:
                _input_grad_compiled(gp, wmat_t, dxp[a:z], (ho, wo), (kh, kw), self.strides, self.dilation)
            elif want_dx:
                self._add_input_grad(xp, gp, w, dxp[a:z], (ho, wo))
            gwb = _gemm_tn(xp, cols[rows], gp) if cols is not None else None
            # a GEMV with ones: several times faster than gp.sum(axis=0) on a tall array
            gbp = xp.ones(gp.shape[0], dtype=gp.dtype) @ gp if want_gb else None
            return gwb, gbp

        results = parallel.run(part, parallel.ranges(x_shape[0], xp=xp))
        gw = gb = None
        if cols is not None:
            gwb = parallel.summed([r[0] for r in results])  # (k, F), or (k + 1, F) with the bias row
            gw = gwb[:k].reshape(w.shape) if self.needs_grad[1] else None
            if cols.shape[1] > k and self.has_bias and self.needs_grad[2]:
                gb = gwb[k]
        if want_gb:
            gb = parallel.summed([r[1] for r in results])
        gx = None
        if want_dx:
            gx = dxp
            if tuple(pad_shape) != tuple(x_shape):
                gx = dxp[:, pt:pt + x_shape[1], pl:pl + x_shape[2], :]
        if scratch is not None:
            _POOL.put(scratch)
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    def release(self):
        super().release()
        lent = self.__dict__.pop("_pooled", None)
        if lent is not None:
            lent[0].put(lent[1])

    def _add_input_grad(self, xp, g2, w, dxp, out_hw):
        """Add ``dx`` of the samples in ``g2`` into their padded-input slice ``dxp``:
        per kernel tap, one GEMM ``g @ w[i, j].T`` added into the tap's strided slice.

        Measured against ``dcols = g @ w.T`` followed by a col2im scatter of
        the ``(N*Ho*Wo, kh*kw*C)`` columns (MNIST's second layer: 5.5 ms vs
        8.7 ms): the per-tap products are contiguous and no ``dcols`` buffer
        is needed.
        """
        kh, kw, c, f = w.shape
        n = dxp.shape[0]
        ho, wo = out_hw
        wt = w.transpose(0, 1, 3, 2)                  # (kh, kw, F, C)
        dh, dw = self.dilation
        for i in range(kh):
            for j in range(kw):
                dxp[_tap_slice(i * dh, j * dw, out_hw, self.strides)] += (g2 @ wt[i, j]).reshape(n, ho, wo, c)


def _input_grad_compiled(g2, wmat_t, dxp, out_hw, kernel_hw, strides, dilation, chunk_bytes=1 << 20):
    """``dx`` of the samples in ``g2 (n*Ho*Wo, F)`` into their padded-input slice ``dxp``: per
    block of samples, one GEMM ``g @ kernel.T`` into a column gradient of at most ``chunk_bytes``
    (it stays in cache, and no ``(n*Ho*Wo, kh*kw*C)`` buffer is held) and one compiled col2im."""
    hw, k = out_hw[0] * out_hw[1], wmat_t.shape[1]
    step = max(1, chunk_bytes // (hw * k * g2.itemsize))
    dcols = _POOL.get(np, (min(step, dxp.shape[0]) * hw, k), g2.dtype)
    for s0 in range(0, dxp.shape[0], step):
        s1 = min(s0 + step, dxp.shape[0])
        block = dcols[:(s1 - s0) * hw]
        np.matmul(g2[s0 * hw:s1 * hw], wmat_t, out=block)
        cpu_kernels.col2im(block, dxp[s0:s1], out_hw, kernel_hw, strides, dilation)
    _POOL.put(dcols)


def _pad_into(x, xpad, pads):
    """Copy ``x (N, H, W, C)`` into the middle of ``xpad`` and zero its border strips."""
    pt, pb, pl, pr = pads
    hp, wp = xpad.shape[1:3]
    xpad[:, :pt] = 0
    xpad[:, hp - pb:] = 0
    xpad[:, :, :pl] = 0
    xpad[:, :, wp - pr:] = 0
    xpad[:, pt:hp - pb, pl:wp - pr] = x


def _gemm_tn(xp, a, b, rows=4096):
    """``a.T @ b`` for tall ``a (M, K)``, ``b (M, F)``.

    With a small output (the first layer's ``9 x 32`` kernel gradient over
    86,528 rows) one BLAS call streams both operands from memory and splits
    poorly over threads; summing products of row blocks that stay in cache is
    ~1.7x faster there (0.65 vs 1.1 ms, MNIST conv1, batch 128). Large outputs
    go to BLAS in one call.
    """
    m = a.shape[0]
    if a.shape[1] * b.shape[1] > 64 * 64 or m < 4 * rows or xp is not np:
        return a.T @ b
    out = a[:rows].T @ b[:rows]
    for r0 in range(rows, m, rows):
        out += a[r0:r0 + rows].T @ b[r0:r0 + rows]
    return out


def conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1, bias=None, activation=None):
    """2-D convolution, channels_last, as one graph node.

    Args:
        x: ``(N, H, W, C)``.
        kernel: ``(kh, kw, C, F)``.
        strides, dilation_rate: an int or a pair ``(rows, cols)``.
        padding: ``"valid"`` or ``"same"`` (Keras's rule: extra pad bottom/right).
        bias: optional ``(F,)`` added in-node.
        activation: optional fused activation: None, "relu", "tanh" or "sigmoid".

    Returns:
        ``(N, Ho, Wo, F)``.

    Examples:
        >>> import numpy as np
        >>> from kerasette import ops
        >>> ops.conv(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), padding="same").shape
        (1, 5, 5, 4)
    """
    strides, padding, dilation = check_conv_args("conv2d", x, kernel, strides, padding, dilation_rate,
                                                 "in_channels, filters", in_axis=2)
    op = Conv2DOp(strides=strides, padding=padding, dilation_rate=dilation, activation=activation)
    if bias is None:
        return op(x, kernel)
    return op(x, kernel, bias)


def check_conv_args(where, x, kernel, strides, padding, dilation_rate, kernel_layout, in_axis,
                    strided_dilation=False, fits=True):
    """``(strides, padding, dilation)`` of a 2-D convolution-like op, normalised, after the
    checks its ops share: an input ``(N, H, W, C)``; a rank-4 kernel ``(kh, kw, <kernel_layout>)``
    whose axis ``in_axis`` holds the input channels; strides and dilation both above 1
    refused unless ``strided_dilation``; with ``fits``, a ``'valid'`` kernel larger than the
    input refused. Each error names ``where``."""
    strides = normalize_tuple(strides, 2, "strides", where=where)
    dilation = normalize_tuple(dilation_rate, 2, "dilation_rate", where=where)
    padding = normalize_padding(padding, where=where)
    xs, ks = _shape(x), _shape(kernel)
    if len(xs) != 4:
        raise ValueError(f"{where}: expected input of rank 4 (batch, height, width, channels), got shape {xs}")
    if len(ks) != 4:
        raise ValueError(f"{where}: expected a kernel of rank 4 (kh, kw, {kernel_layout}), got shape {ks}")
    if xs[3] != ks[in_axis]:
        last = ", last axis" if in_axis == 3 else ""
        raise ValueError(f"{where}: input has {xs[3]} channels (shape {xs}) but the kernel expects "
                         f"{ks[in_axis]} (kernel shape {ks}{last})")
    if not strided_dilation and max(strides) > 1 and max(dilation) > 1:
        raise ValueError(f"{where}: strides {strides} > 1 together with dilation_rate {dilation} > 1 "
                         f"is not supported (as in Keras)")
    if fits and padding == "valid":
        for axis, name in ((0, "height"), (1, "width")):
            eff = (ks[axis] - 1) * dilation[axis] + 1
            if xs[1 + axis] < eff:
                raise ValueError(f"{where}: the kernel {ks[:2]} (dilated extent {eff}) is larger than the "
                                 f"input {name} {xs[1 + axis]} (input shape {xs}) with padding='valid'")
    return strides, padding, dilation


def _shape(a):
    return tuple(getattr(a, "shape", ()))


# ---- constant padding ----------------------------------------------------------------------

class Pad(Function):
    """Constant padding; the gradient is the central slice of the incoming one."""

    def __init__(self, pad_width, constant_values=0):
        self.pad_width = pad_width
        self.value = constant_values

    def forward(self, x):
        xp = xpof(x)
        shape = tuple(d + a + b for d, (a, b) in zip(x.shape, self.pad_width))
        out = xp.full(shape, self.value, dtype=x.dtype) if self.value else xp.zeros(shape, dtype=x.dtype)
        out[self._index(x.shape)] = x
        self.x_shape = x.shape
        return out

    def _index(self, shape):
        return tuple(slice(a, a + d) for d, (a, _) in zip(shape, self.pad_width))

    def backward(self, g):
        return g[self._index(self.x_shape)]


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad ``x`` with a constant (``keras.ops.pad``): ``pad_width`` is one
    ``(before, after)`` pair per axis, a single pair for all axes, or an int."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, got {mode!r}")
    ndim = len(_shape(x))
    if isinstance(pad_width, int):
        pw = ((pad_width, pad_width),) * ndim
    else:
        pw = tuple(tuple(p) if isinstance(p, (list, tuple)) else (p, p) for p in pad_width)
        if len(pw) == 1:
            pw = pw * ndim
        elif len(pw) == 2 and all(isinstance(p, int) for p in pad_width):
            pw = (tuple(pad_width),) * ndim
    if len(pw) != ndim or any(len(p) != 2 or min(p) < 0 for p in pw):
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit an input of rank {ndim}")
    return Pad(pad_width=tuple((int(a), int(b)) for a, b in pw), constant_values=constant_values or 0)(x)
