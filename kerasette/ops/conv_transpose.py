"""Transposed 2-D convolution (channels_last), one graph node.

``conv2d_transpose(x, kernel)``: x ``(N, H, W, C)``, kernel ``(kh, kw, F, C)``
as Keras stores it (output channels before input channels), output
``(N, Ho, Wo, F)``. It is the input gradient of a ``conv2d`` whose kernel is
``kernel`` (``F`` in, ``C`` out): every input pixel scatters ``x[n, h, w] @
kernel[i, j].T`` to output position ``(h*sh + i*dh, w*sw + j*dw)`` of the
*full* output, ``(H-1)*sh + (kh-1)*dh + 1`` rows, which is then cropped (or
extended with zeros on the right) to Keras's size for ``padding`` and
``output_padding`` (the same window as Keras's JAX and PyTorch backends).

Forward reuses the machinery of :mod:`kerasette.ops.conv`'s backward: on the
CPU one GEMM per kernel tap added into the tap's strided slice of the output;
on a device one GEMM into the ``(N*H*W, kh*kw*F)`` columns and the ``col2im``
gather kernel. Backward is a convolution: one im2col copy of the (uncropped)
output gradient, ``(N*H*W, kh*kw*F)``, then two GEMMs: ``dx = cols @ K`` and
``dkernel = cols.T @ x``; the bias gradient is a sum of ``g``. Bias and relu /
tanh / sigmoid are fused into the node.

Output length along an axis (``k`` the dilated kernel extent, ``s`` the stride)::

    padding="valid": (i - 1) * s + k + output_padding   (output_padding None: max(k, s) - k)
    padding="same":  i * s                              (output_padding None)
                     (i - 1) * s + k % 2 + output_padding
"""
from .. import backend, parallel
from ..autograd.function import Function
from . import kernels
from .nn import _ACT_BWD, _ACT_FWD
from .conv import _gemm_tn, _tap_slice, check_conv_args, normalize_tuple
from .depthwise import window_view

__all__ = ["conv2d_transpose", "ConvTranspose2DOp", "conv_transpose_crops", "conv_transpose_output_length"]

xpof = backend.get_array_module



def conv_transpose_crops(length, kernel, stride, padding, output_padding=None, dilation=1):
    """``(crop_left, crop_right)`` of the full transposed output ``(length-1)*stride + k``
    along one axis (Keras's rule); a negative ``crop_right`` means zeros appended."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(eff, stride) - eff if output_padding is None else output_padding
        left, right = eff - 1, eff - 1 + extra
    else:
        total = stride + eff - 2 if output_padding is None else eff + eff % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, eff - 1)
        right = total - left
    return eff - 1 - left, eff - 1 - right


def conv_transpose_output_length(length, kernel, stride, padding, output_padding=None, dilation=1):
    """Output length along one axis (``None`` stays ``None``), Keras's rule."""
    if length is None:
        return None
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(eff, stride) - eff if output_padding is None else output_padding
        return (length - 1) * stride + eff + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + eff % 2 + output_padding


class ConvTranspose2DOp(Function):
    """``act(conv2d_transpose(x, w) + b)`` as one node (see the module docstring).

    Inputs ``x (N, H, W, C)``, ``w (kh, kw, F, C)`` and optionally ``b (F,)``.
    """

    def __init__(self, strides=(1, 1), padding="valid", output_padding=None, dilation_rate=(1, 1),
                 activation=None):
        fwd = _ACT_FWD
        if activation not in fwd:
            raise ValueError(f"conv2d_transpose: fused activation must be one of {list(fwd)}, "
                             f"got {activation!r}")
        self.strides, self.padding, self.dilation = strides, padding, dilation_rate
        self.output_padding = output_padding or (None, None)
        self.activation = activation

    def _geometry(self, in_hw, kernel_hw):
        """Per axis: (full buffer length, crop_left, output length)."""
        geo = []
        for ax in range(2):
            i, k, s, d = in_hw[ax], kernel_hw[ax], self.strides[ax], self.dilation[ax]
            cl, cr = conv_transpose_crops(i, k, s, self.padding, self.output_padding[ax], d)
            full = (i - 1) * s + (k - 1) * d + 1
            out = full - cl - cr
            geo.append((max(full, cl + out), cl, out))
        return geo

    def forward(self, x, w, b=None):
        xp = xpof(x, w)
        n, h, wd, c = x.shape
        kh, kw, f, _ = w.shape
        (bh, ch, ho), (bw, cw, wo) = self._geometry((h, wd), (kh, kw))
        hw = h * wd
        x2 = x.reshape(n * hw, c)
        dtype = xp.result_type(x.dtype, w.dtype)
        device = kernels.on_device(xp)
        cropped = (bh, bw) != (ho, wo)
        # the device's col2im writes every element; the CPU's per-tap adds need zeros
        full = None if device else xp.zeros((n, bh, bw, f), dtype=dtype)
        y = xp.empty((n, ho, wo, f), dtype=dtype) if cropped or device else full
        wt = w.transpose(0, 1, 3, 2)                            # (kh, kw, C, F)
        act = _ACT_FWD[self.activation]

        def part(a, z):                           # samples a:z, one thread's share
            xs = x2[a * hw:z * hw]
            if device:
                # one GEMM into the columns, then one gather kernel (no per-tap adds)
                cols = xs @ w.reshape(kh * kw * f, c).T
                fp = kernels.run("col2im", xp, cols, (z - a, bh, bw, f), (kh, kw), (h, wd), self.strides,
                                 self.dilation)
            else:
                fp = full[a:z]
                for i in range(kh):
                    for j in range(kw):
                        tap = _tap_slice(i * self.dilation[0], j * self.dilation[1], (h, wd), self.strides)
                        fp[tap] += (xs @ wt[i, j]).reshape(z - a, h, wd, f)
            yp = y[a:z]
            if cropped or device:
                yp[...] = fp[:, ch:ch + ho, cw:cw + wo]
            if b is not None:
                yp += b
            if act is not None:
                act(xp, yp)

        parallel.run(part, parallel.ranges(n, xp=xp))
        if self.needs_grad:
            self.save(x2 if self.needs_grad[1] else None, w, y if self.activation else None)
            self.geom = (x.shape, (bh, bw), (ch, cw))
            self.has_bias = b is not None
        return y

    def backward(self, g):
        x2, w, y = self.saved
        xp = xpof(g)
        kh, kw, f, c = w.shape
        (n, h, wd, _), (bh, bw), (ch, cw) = self.geom
        ho, wo = g.shape[1:3]
        hw, k = h * wd, kh * kw * f
        act_bwd = _ACT_BWD.get(self.activation)
        want_gx, want_gw = bool(self.needs_grad[0]), bool(self.needs_grad[1])
        want_gb = self.has_bias and bool(self.needs_grad[2])
        gx = xp.empty((n * hw, c), dtype=g.dtype) if want_gx else None
        wmat = w.reshape(k, c)

        def part(a, z):                           # samples a:z, one thread's share
            gp = g[a:z]
            if act_bwd is not None:
                gp = act_bwd(xp, y[a:z], gp)
            gbp = gp.reshape(-1, f).sum(axis=0) if want_gb else None
            gwp = None
            if want_gx or want_gw:
                if (bh, bw) != (ho, wo):
                    gfull = xp.zeros((z - a, bh, bw, f), dtype=g.dtype)
                    gfull[:, ch:ch + ho, cw:cw + wo] = gp
                else:
                    gfull = gp
                win = window_view(xp, gfull, (h, wd), (kh, kw), self.strides, self.dilation)
                cols = xp.ascontiguousarray(win).reshape((z - a) * hw, k)
                if want_gx:
                    xp.matmul(cols, wmat, out=gx[a * hw:z * hw])
                if want_gw:
                    gwp = _gemm_tn(xp, cols, x2[a * hw:z * hw])
            return gwp, gbp

        results = parallel.run(part, parallel.ranges(n, xp=xp))
        gw = parallel.summed([r[0] for r in results]).reshape(w.shape) if want_gw else None
        gb = parallel.summed([r[1] for r in results]) if want_gb else None
        gx = gx.reshape(n, h, wd, c) if want_gx else None
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def conv2d_transpose(x, kernel, strides=1, padding="valid", output_padding=None, dilation_rate=1, bias=None,
                     activation=None):
    """Transposed 2-D convolution, channels_last, as one graph node.

    Args:
        x: ``(N, H, W, C)``.
        kernel: ``(kh, kw, F, C)`` (Keras's ``Conv2DTranspose`` layout).
        strides, dilation_rate: an int or a pair ``(rows, cols)``; not both above 1.
        padding: ``"valid"`` or ``"same"``.
        output_padding: None, an int or a pair, each smaller than its stride: rows /
            columns added at the bottom / right (see the module docstring).
        bias: optional ``(F,)`` added in-node.
        activation: optional fused activation: None, "relu", "tanh" or "sigmoid".

    Returns:
        ``(N, Ho, Wo, F)``.

    Examples:
        >>> import numpy as np
        >>> from kerasette.ops.conv_transpose import conv2d_transpose
        >>> conv2d_transpose(np.ones((1, 4, 4, 2)), np.ones((3, 3, 5, 2)), strides=2, padding="same").shape
        (1, 8, 8, 5)
    """
    where = "conv2d_transpose"
    strides, padding, dilation = check_conv_args(where, x, kernel, strides, padding, dilation_rate,
                                                 "filters, in_channels", in_axis=3, fits=False)
    if output_padding is not None:
        output_padding = normalize_tuple(output_padding, 2, "output_padding", allow_zero=True, where=where)
        for ax in range(2):
            if output_padding[ax] >= strides[ax]:
                raise ValueError(f"{where}: output_padding must be smaller than strides on every axis, got "
                                 f"output_padding={output_padding} with strides={strides}")
    op = ConvTranspose2DOp(strides=strides, padding=padding, output_padding=output_padding,
                           dilation_rate=dilation, activation=activation)
    return op(x, kernel) if bias is None else op(x, kernel, bias)
