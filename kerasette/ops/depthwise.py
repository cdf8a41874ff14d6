"""Depthwise and separable 2-D convolution (channels_last), each a coarse graph node.

``depthwise_conv2d(x, kernel)``: x ``(N, H, W, C)``, kernel ``(kh, kw, C, M)``
as Keras stores it (``M`` the depth multiplier), output ``(N, Ho, Wo, C*M)``
with output channel ``c*M + m`` the input channel ``c`` filtered by
``kernel[..., c, m]`` (Keras's and TensorFlow's order).

Every channel is convolved on its own, so there is no large GEMM to build: the
forward pass is one einsum over a strided *window view* of the padded input,
``(N, Ho, Wo, kh, kw, C)`` (no im2col copy), with the kernel:
``nhwijc,ijcm->nhwcm``. Backward is two more einsums over window views:

* the kernel gradient, ``nhwijc,nhwcm->ijcm`` over the same input windows;
* the input gradient, a stride-1 correlation of the output gradient, spread
  back to input resolution (zeros between the strided positions) and padded by
  the dilated kernel extent, with the kernel flipped: ``nhwijcm,ijcm->nhwc``.

Measured against a loop over the ``kh*kw`` kernel taps (one broadcast
multiply-add of the whole batch per tap) on a MobileNet block (batch 32,
56x56x128, 3x3, float32, 2-core EPYC): 39 ms vs 134 ms forward, 25 vs 49 ms
for the kernel gradient (PyTorch's grouped conv2d on one thread: 68 ms).

``separable_conv2d`` is the composition Keras defines: a depthwise convolution
(no bias) followed by a 1x1 ``conv2d`` (one GEMM, bias and activation fused).

Padding follows Keras/TF as in :mod:`kerasette.ops.conv` (``"same"``: extra
pad bottom/right). Strides and dilation may both exceed 1 here.
"""
from .. import backend, parallel
from ..autograd.function import Function
from .nn import _ACT_BWD, _ACT_FWD
from .conv import _pad_into, _shape, check_conv_args, conv2d, padded_input

__all__ = ["depthwise_conv2d", "separable_conv2d", "DepthwiseConv2DOp", "window_view"]

xpof = backend.get_array_module



def window_view(xp, x, count, window, strides=(1, 1), dilation=(1, 1), start=(0, 0)):
    """A read-only view ``(N, Ho, Wo, kh, kw, *rest)`` of ``x (N, H, W, *rest)``: for
    output ``(h, w)`` and tap ``(i, j)`` the element ``x[n, start_h + h*sh + i*dh, ...]``.
    No copy; the caller makes sure every index is in range."""
    s = x.strides
    shape = (x.shape[0], count[0], count[1], window[0], window[1]) + tuple(x.shape[3:])
    strides = (s[0], s[1] * strides[0], s[2] * strides[1], s[1] * dilation[0], s[2] * dilation[1]) + tuple(s[3:])
    base = x[:, start[0]:, start[1]:] if start != (0, 0) else x
    return xp.lib.stride_tricks.as_strided(base, shape=shape, strides=strides)


class DepthwiseConv2DOp(Function):
    """``act(depthwise_conv2d(x, w) + b)`` as one node (see the module docstring).

    Inputs ``x (N, H, W, C)``, ``w (kh, kw, C, M)`` and optionally ``b (C*M,)``;
    ``activation`` one of None, "relu", "tanh", "sigmoid".
    """

    def __init__(self, strides=(1, 1), padding="valid", dilation_rate=(1, 1), activation=None):
        fwd = _ACT_FWD
        if activation not in fwd:
            raise ValueError(f"depthwise_conv2d: fused activation must be one of {list(fwd)}, "
                             f"got {activation!r}")
        self.strides, self.padding, self.dilation, self.activation = strides, padding, dilation_rate, activation

    def forward(self, x, w, b=None):
        xp = xpof(x, w)
        n, h, wd, c = x.shape
        kh, kw, _, m = w.shape
        (pt, pb, pl, pr), xpad, (ho, wo) = padded_input(xp, x, (kh, kw), self.strides, self.dilation,
                                                        self.padding)
        padded = xpad is not x
        act = _ACT_FWD[self.activation]

        def part(a, z, out=None):                 # samples a:z, one thread's share
            if padded:
                _pad_into(x[a:z], xpad[a:z], (pt, pb, pl, pr))
            win = window_view(xp, xpad[a:z], (ho, wo), (kh, kw), self.strides, self.dilation)
            yp = _einsum(xp, "nhwijc,ijcm->nhwcm", win, w, out).reshape(z - a, ho, wo, c * m)
            if b is not None:
                yp += b
            if act is not None:
                act(xp, yp)
            return yp

        y = _split(xp, part, n, (n, ho, wo, c, m), xp.result_type(x.dtype, w.dtype))
        y = y.reshape(n, ho, wo, c * m)
        if self.needs_grad:
            self.save(xpad if self.needs_grad[1] else None, w, y if self.activation else None)
            self.geom = (x.shape, (pt, pl), (ho, wo))
            self.has_bias = b is not None
        return y

    def backward(self, g):
        xpad, w, y = self.saved
        xp = xpof(g)
        kh, kw, c, m = w.shape
        (n, h, wd, _), (pt, pl), (ho, wo) = self.geom
        (sh, sw), (dh, dw) = self.strides, self.dilation
        eh, ew = (kh - 1) * dh, (kw - 1) * dw
        act_bwd = _ACT_BWD.get(self.activation)
        want_gx, want_gw = bool(self.needs_grad[0]), bool(self.needs_grad[1])
        want_gb = self.has_bias and bool(self.needs_grad[2])
        wflip = w[::-1, ::-1]
        partials = []

        def part(a, z, out=None):                 # samples a:z, one thread's share
            gp = g[a:z]
            if act_bwd is not None:
                gp = act_bwd(xp, y[a:z], gp)
            gm = gp.reshape(z - a, ho, wo, c, m)
            gwp = gbp = gxp = None
            if want_gx:
                # g spread to input resolution (zeros between strided positions), padded by the
                # dilated kernel extent, correlated with the flipped kernel
                up = xp.zeros((z - a, pt + h + eh, pl + wd + ew, c, m), dtype=g.dtype)
                up[:, eh:eh + (ho - 1) * sh + 1:sh, ew:ew + (wo - 1) * sw + 1:sw] = gm
                win = window_view(xp, up, (h, wd), (kh, kw), (1, 1), self.dilation, start=(pt, pl))
                gxp = _einsum(xp, "nhwijcm,ijcm->nhwc", win, wflip, out)
            if want_gw:
                win = window_view(xp, xpad[a:z], (ho, wo), (kh, kw), self.strides, self.dilation)
                gwp = xp.einsum("nhwijc,nhwcm->ijcm", win, gm)
            if want_gb:
                gbp = gp.reshape(-1, c * m).sum(axis=0)
            partials.append((a, gwp, gbp))
            return gxp

        gx = _split(xp, part, n, (n, h, wd, c) if want_gx else None, g.dtype)
        partials.sort(key=lambda r: r[0])
        gw = parallel.summed([r[1] for r in partials]) if want_gw else None
        gb = parallel.summed([r[2] for r in partials]) if want_gb else None
        return (gx, gw, gb) if self.has_bias else (gx, gw)


def _einsum(xp, spec, a, b, out=None):
    """``xp.einsum`` into ``out`` (a thread's slice of a shared result) when given."""
    if out is None:
        return xp.einsum(spec, a, b)
    xp.einsum(spec, a, b, out=out)
    return out


def _split(xp, part, n, shape, dtype):
    """Run ``part(a, z, out)`` over the batch: one call (its result returned) outside
    ``kerasette.parallel.region()`` or on a device; else one call per thread, each
    writing its samples of a shared ``shape`` result (``shape`` None: no result)."""
    ranges = parallel.ranges(n, xp=xp)
    if len(ranges) == 1:
        return part(0, n)
    out = xp.empty(shape, dtype=dtype) if shape is not None else None
    parallel.run(lambda a, z: part(a, z, None if out is None else out[a:z]), ranges)
    return out


def depthwise_conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1, bias=None, activation=None):
    """Depthwise 2-D convolution, channels_last, as one graph node.

    Args:
        x: ``(N, H, W, C)``.
        kernel: ``(kh, kw, C, M)``, ``M`` the depth multiplier.
        strides, dilation_rate: an int or a pair ``(rows, cols)``.
        padding: ``"valid"`` or ``"same"`` (Keras's rule: extra pad bottom/right).
        bias: optional ``(C*M,)`` added in-node.
        activation: optional fused activation: None, "relu", "tanh" or "sigmoid".

    Returns:
        ``(N, Ho, Wo, C*M)``; output channel ``c*M + m`` is input channel ``c``
        filtered by ``kernel[:, :, c, m]``.

    Examples:
        >>> import numpy as np
        >>> from kerasette.ops.depthwise import depthwise_conv2d
        >>> depthwise_conv2d(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 3)), padding="same").shape
        (1, 5, 5, 6)
    """
    strides, padding, dilation = check_conv_args("depthwise_conv2d", x, kernel, strides, padding, dilation_rate,
                                                 "in_channels, depth_multiplier", in_axis=2,
                                                 strided_dilation=True)
    op = DepthwiseConv2DOp(strides=strides, padding=padding, dilation_rate=dilation, activation=activation)
    return op(x, kernel) if bias is None else op(x, kernel, bias)


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", dilation_rate=1,
                     bias=None, activation=None):
    """Depthwise convolution followed by a 1x1 (pointwise) convolution: two graph nodes.

    Args:
        x: ``(N, H, W, C)``.
        depthwise_kernel: ``(kh, kw, C, M)``.
        pointwise_kernel: ``(1, 1, C*M, F)``.
        strides, dilation_rate, padding: of the depthwise step, as ``depthwise_conv2d``.
        bias: optional ``(F,)``, added in the pointwise node.
        activation: optional fused activation of the pointwise node: None, "relu", "tanh", "sigmoid".

    Returns:
        ``(N, Ho, Wo, F)``.

    Examples:
        >>> import numpy as np
        >>> from kerasette.ops.depthwise import separable_conv2d
        >>> separable_conv2d(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 2)), np.ones((1, 1, 4, 7))).shape
        (1, 3, 3, 7)
    """
    ps = _shape(pointwise_kernel)
    ds = _shape(depthwise_kernel)
    if len(ps) != 4 or ps[:2] != (1, 1) or (len(ds) == 4 and ps[2] != ds[2] * ds[3]):
        want = f"(1, 1, {ds[2] * ds[3]}, filters)" if len(ds) == 4 else "(1, 1, C*M, filters)"
        raise ValueError(f"separable_conv2d: the pointwise kernel must have shape {want}, got {ps}")
    mid = depthwise_conv2d(x, depthwise_kernel, strides=strides, padding=padding, dilation_rate=dilation_rate)
    return conv2d(mid, pointwise_kernel, bias=bias, activation=activation)
