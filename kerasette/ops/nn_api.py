"""The rest of ``keras.ops``: activations and losses as ops, attention, normalisation
helpers, FFTs, ``take`` along any axis, and the control-flow functions (``cond``, ``scan``,
``while_loop``, ``custom_gradient``, ...), which run eagerly here (define-by-run: a Python
loop is recorded step by step, so gradients flow through it).
"""
import builtins
import importlib as _importlib

import numpy as np

from .. import backend
from ..autograd.function import Function, no_grad
from ..autograd.tensor import Tensor
from .numpy_api import _arr, _const, _float_t, _on, _raw, _t, take_along_axis

# loaded first, so the package attribute ``conv_transpose`` (the submodule, set when it
# loads) is then rebound to the op function below by ``ops/__init__``'s star import
_importlib.import_module(".conv_transpose", __package__)
m = _importlib.import_module(".math", __package__)
s = _importlib.import_module(".shape", __package__)
nn = _importlib.import_module(".nn", __package__)

xpof = backend.get_array_module

__all__ = [
    "log_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink",
    "sparse_plus", "squareplus", "celu", "glu", "sparse_sigmoid", "threshold", "sparsemax",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "depth_to_space", "space_to_depth", "dot_product_attention", "extract_sequences", "in_top_k",
    "multi_hot", "normalize", "psnr", "rms_normalization", "fft", "fft2", "ifft2", "rfft", "irfft",
    "take", "cond", "switch", "fori_loop", "while_loop", "scan", "map", "vectorized_map", "vectorize",
    "associative_scan", "custom_gradient", "conv_transpose", "depthwise_conv", "separable_conv", "cdist",
    "corrcoef", "segment_sum", "segment_max", "segment_min", "segment_prod", "view_as_complex",
    "view_as_real", "stft", "istft", "unfold", "fold", "adaptive_average_pool", "adaptive_max_pool",
    "rearrange", "ctc_loss", "ctc_decode", "jvp",
]


# ---- activations as ops ---------------------------------------------------------------

def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, computed stably.

    Args:
        x (Tensor | array): the input.
    """
    return m.negative(nn.softplus(m.negative(_float_t(x))))


def hard_silu(x):
    """``x * relu6(x + 3) / 6`` (hard swish).

    Args:
        x (Tensor | array): the input.
    """
    t = _float_t(x)
    return m.multiply(t, m.divide(nn.relu6(m.add(t, 3.0)), 6.0))


hard_swish = hard_silu


def hard_tanh(x):
    """``clip(x, -1, 1)``.

    Args:
        x (Tensor | array): the input.
    """
    return m.clip(_float_t(x), -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0.

    Args:
        x (Tensor | array): the input.
        threshold (float): the cut-off (default 0.5).
    """
    t = _float_t(x)
    return m.where(xpof(t.value).abs(t.value) > threshold, t, 0.0)


def soft_shrink(x, threshold=0.5):
    """``x`` moved towards 0 by ``threshold`` (0 within it).

    Args:
        x (Tensor | array): the input.
        threshold (float): the shrinkage (default 0.5).
    """
    t = _float_t(x)
    v = t.value
    return m.where(v > threshold, m.subtract(t, threshold), m.where(v < -threshold, m.add(t, threshold), 0.0))


def tanh_shrink(x):
    """``x - tanh(x)``.

    Args:
        x (Tensor | array): the input.
    """
    t = _float_t(x)
    return m.subtract(t, nn.tanh(t))


def sparse_plus(x):
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` between (a smooth ReLU).

    Args:
        x (Tensor | array): the input.
    """
    t = _float_t(x)
    v = t.value
    mid = m.divide(m.square(m.add(t, 1.0)), 4.0)
    return m.where(v <= -1, 0.0, m.where(v >= 1, t, mid))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2`` (a smooth ReLU).

    Args:
        x (Tensor | array): the input.
        b (float): the smoothness (default 4).
    """
    t = _float_t(x)
    return m.divide(m.add(t, m.sqrt(m.add(m.square(t), float(b)))), 2.0)


def celu(x, alpha=1.0):
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``.

    Args:
        x (Tensor | array): the input.
        alpha (float): the scale of the negative part (default 1).
    """
    t = _float_t(x)
    neg = m.multiply(m.subtract(m.exp(m.divide(m.minimum(t, 0.0), alpha)), 1.0), alpha)
    return m.add(m.maximum(t, 0.0), neg)


def glu(x, axis=-1):
    """Gated linear unit: the halves ``a, b`` of ``axis`` give ``a * sigmoid(b)``.

    Args:
        x (Tensor | array): the input (``axis`` of even size).
        axis (int): the split axis (default -1).
    """
    t = _float_t(x)
    if t.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} must have an even size, got shape {t.shape}")
    a, b = s.split(t, 2, axis=axis)
    return m.multiply(a, nn.sigmoid(b))


def sparse_sigmoid(x):
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between.

    Args:
        x (Tensor | array): the input.
    """
    return m.clip(m.divide(m.add(_float_t(x), 1.0), 2.0), 0.0, 1.0)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``.

    Args:
        x (Tensor | array): the input.
        threshold (float): the cut-off.
        default_value (float): the value at or below it.
    """
    t = _float_t(x)
    return m.where(t.value > threshold, t, float(default_value))


class _Sparsemax(Function):
    """Euclidean projection onto the simplex along the last axis (Martins & Astudillo, 2016)."""

    def forward(self, x):
        xp = xpof(x)
        z = -xp.sort(-x, axis=-1)
        k = xp.arange(1, x.shape[-1] + 1, dtype=x.dtype)
        cums = xp.cumsum(z, axis=-1)
        support = 1 + k * z > cums
        kz = support.sum(axis=-1, keepdims=True)
        tau = (xp.take_along_axis(cums, kz - 1, axis=-1) - 1) / kz.astype(x.dtype)
        y = xp.maximum(x - tau, 0)
        self.save(y > 0)
        return y

    def backward(self, g):
        (on,) = self.saved
        n = on.sum(axis=-1, keepdims=True)
        mean = (g * on).sum(axis=-1, keepdims=True) / n
        return (g - mean) * on


def sparsemax(x, axis=-1):
    """Sparsemax: like softmax, but exact zeros for low scores (differentiable).

    Args:
        x (Tensor | array): the scores.
        axis (int): the axis (default -1).
    """
    t = _float_t(x)
    if axis in (-1, t.ndim - 1):
        return _Sparsemax()(t)
    return s.moveaxis(_Sparsemax()(s.moveaxis(t, axis, -1)), -1, axis)


# ---- losses as ops (per-sample, no reduction) ------------------------------------------

def _probs_log(output, from_logits, axis):
    if from_logits:
        return nn.log_softmax(output, axis=axis)
    eps = backend.epsilon()
    p = m.divide(output, m.sum(output, axis=axis, keepdims=True))
    return m.log(m.clip(p, eps, 1 - eps))


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy.

    Args:
        target (Tensor | array): 0/1 (or soft) targets.
        output (Tensor | array): probabilities, or logits with ``from_logits=True``.
        from_logits (bool): ``output`` holds logits.
    """
    out = _float_t(output)
    tgt = _float_t(target)
    if tgt.dtype != out.dtype:
        tgt = Tensor(tgt.value.astype(out.dtype))
    if from_logits:    # max(z, 0) - z t + log(1 + exp(-|z|))
        return m.add(m.subtract(m.maximum(out, 0.0), m.multiply(out, tgt)), nn.softplus(m.negative(m.abs(out))))
    eps = backend.epsilon()
    p = m.clip(out, eps, 1 - eps)
    return m.negative(m.add(m.multiply(tgt, m.log(p)),
                            m.multiply(m.subtract(1.0, tgt), m.log(m.subtract(1.0, p)))))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy of one-hot (or soft) targets, summed over ``axis``.

    Args:
        target (Tensor | array): one-hot targets.
        output (Tensor | array): probabilities (renormalised), or logits with ``from_logits``.
        from_logits (bool): ``output`` holds logits.
        axis (int): the class axis (default -1).
    """
    out = _float_t(output)
    tgt = _float_t(target)
    if tgt.dtype != out.dtype:
        tgt = Tensor(tgt.value.astype(out.dtype))
    return m.negative(m.sum(m.multiply(tgt, _probs_log(out, from_logits, axis)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy of integer class targets.

    Args:
        target (Tensor | array): integer class ids, ``output``'s shape without ``axis``.
        output (Tensor | array): probabilities, or logits with ``from_logits``.
        from_logits (bool): ``output`` holds logits.
        axis (int): the class axis (default -1).
    """
    out = _float_t(output)
    logp = _probs_log(out, from_logits, axis)
    ids = _on(_t(target), out).astype("int64")
    if ids.ndim == out.ndim and ids.shape[axis] == 1:
        ids = xpof(ids).squeeze(ids, axis)
    ax = axis % out.ndim
    picked = take_along_axis(logp, xpof(ids).expand_dims(ids, ax), axis=ax)
    return m.negative(s.squeeze(picked, ax))


# ---- layout, attention, normalisation ----------------------------------------------------

def depth_to_space(x, block_size, data_format="channels_last"):
    """Move channel blocks into ``block_size x block_size`` spatial tiles (4-D inputs).

    Args:
        x (Tensor | array): ``(N, H, W, C)`` (or ``(N, C, H, W)``), ``C`` divisible by ``block_size**2``.
        block_size (int): the tile size.
        data_format (str): ``"channels_last"`` or ``"channels_first"``.
    """
    t = _t(x)
    b = int(block_size)
    if data_format == "channels_first":
        t = s.transpose(t, (0, 2, 3, 1))
    n, h, w, c = t.shape
    t = s.reshape(t, (n, h, w, b, b, c // (b * b)))
    t = s.reshape(s.transpose(t, (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, c // (b * b)))
    return s.transpose(t, (0, 3, 1, 2)) if data_format == "channels_first" else t


def space_to_depth(x, block_size, data_format="channels_last"):
    """Move ``block_size x block_size`` spatial tiles into channels (4-D inputs).

    Args:
        x (Tensor | array): ``(N, H, W, C)`` (or ``(N, C, H, W)``), ``H`` and ``W`` divisible by ``block_size``.
        block_size (int): the tile size.
        data_format (str): ``"channels_last"`` or ``"channels_first"``.
    """
    t = _t(x)
    b = int(block_size)
    if data_format == "channels_first":
        t = s.transpose(t, (0, 2, 3, 1))
    n, h, w, c = t.shape
    t = s.reshape(t, (n, h // b, b, w // b, b, c))
    t = s.reshape(s.transpose(t, (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, c * b * b))
    return s.transpose(t, (0, 3, 1, 2)) if data_format == "channels_first" else t


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention on ``(batch, time, heads, head_dim)`` inputs.

    Args:
        query (Tensor | array): ``(B, T, N, H)``.
        key (Tensor | array): ``(B, S, K, H)``, ``N`` a multiple of ``K`` (grouped heads).
        value (Tensor | array): ``(B, S, K, H)``.
        bias (Tensor | array | None): added to the logits, broadcast to ``(B, N, T, S)``.
        mask (Tensor | array | None): boolean, broadcast to ``(B, N, T, S)``; False positions
            get no attention.
        scale (float | None): the logits' scale (default ``1 / sqrt(H)``).
        is_causal (bool): each query position sees the key positions up to its own.
        flash_attention (bool | None): must be None or False (no fused kernel here).
        attn_logits_soft_cap (float | None): ``cap * tanh(logits / cap)`` before the softmax.
    """
    from .einsum import einsum
    if flash_attention:
        raise ValueError("dot_product_attention: flash_attention=True is not supported here")
    q, k, v = _float_t(query), _float_t(key), _float_t(value)
    heads, kv_heads = q.shape[2], k.shape[2]
    if heads != kv_heads:
        if heads % kv_heads:
            raise ValueError(f"dot_product_attention: {heads} query heads are not a multiple of {kv_heads}")
        k = s.repeat(k, heads // kv_heads, axis=2)
        v = s.repeat(v, heads // kv_heads, axis=2)
    scale = 1.0 / float(np.sqrt(q.shape[-1])) if scale is None else float(scale)
    logits = m.multiply(einsum("btnh,bsnh->bnts", q, k), scale)
    if bias is not None:
        logits = m.add(logits, _float_t(bias))
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        logits = m.multiply(nn.tanh(m.divide(logits, cap)), cap)
    xp = xpof(logits.value)
    keep = None
    if mask is not None:
        keep = _on(_t(mask), logits).astype(bool)
    if is_causal:
        t_len, s_len = logits.shape[-2], logits.shape[-1]
        causal = xp.tril(xp.ones((t_len, s_len), dtype=bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:
        big = float(np.finfo(logits.dtype).min) / 2
        logits = m.where(xp.broadcast_to(keep, logits.shape), logits, big)
    weights = nn.softmax(logits, axis=-1)
    return einsum("bnts,bsnh->btnh", weights, v)


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` every ``sequence_stride`` along the last axis:
    ``(..., n) -> (..., frames, sequence_length)`` (differentiable).

    Args:
        x (Tensor | array): the signal.
        sequence_length (int): the frame length.
        sequence_stride (int): the hop between frame starts.
    """
    t = _t(x)
    n = t.shape[-1]
    frames = 1 + (n - sequence_length) // sequence_stride
    idx = (np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)[None, :])
    return s.get_item(t, (Ellipsis, backend.to_device(idx, xpof(t.value))))


def in_top_k(targets, predictions, k):
    """True where the target class is among the ``k`` highest predictions (no gradient).

    Args:
        targets (Tensor | array): ``(batch,)`` integer class ids.
        predictions (Tensor | array): ``(batch, classes)`` scores.
        k (int): how many of the highest count.
    """
    p = _raw(_t(predictions))
    ids = _on(_t(targets), p).astype("int64")
    xp = xpof(p)
    score = xp.take_along_axis(p, ids[:, None], axis=-1)
    return _const((p > score).sum(axis=-1) < k)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Integer ids ``(batch, ids)`` as multi-hot rows ``(batch, num_classes)`` (no gradient).

    Args:
        inputs (Tensor | array): integer ids; each row's ids turn on those classes.
        num_classes (int): how many classes.
        axis (int): where the class axis goes (default -1).
        dtype (str | None): default floatx.
        sparse (bool): must be False (no sparse tensors here).
        **kwargs: ``num_tokens``, Keras's former name of ``num_classes``.
    """
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword argument(s) {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: num_classes is required")
    if sparse:
        raise ValueError("multi_hot: sparse=True is not supported (kerasette has no sparse tensors)")
    v = _raw(_t(inputs)).astype("int64")
    xp = xpof(v)
    if v.ndim == 0:
        v = v[None]
    hot = (v[..., None] == xp.arange(num_classes)).any(axis=-2).astype(dtype or backend.floatx())
    return _const(xp.moveaxis(hot, -1, axis) if axis not in (-1, hot.ndim - 1) else hot)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``).

    Args:
        x (Tensor | array): the input.
        axis (int): the axis (default -1).
        order (int): the norm (default 2).
        epsilon (float | None): the smallest norm divided by (default ``backend.epsilon()``).
    """
    from .numpy_api import norm
    t = _float_t(x)
    eps = backend.epsilon() if epsilon is None else epsilon
    return m.divide(t, m.maximum(norm(t, ord=order, axis=axis, keepdims=True), eps))


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB: ``20 log10(max_val) - 10 log10(mse)``.

    Args:
        x1 (Tensor | array): the first image(s).
        x2 (Tensor | array): the second, of the same shape.
        max_val (float): the largest possible pixel value.
    """
    a, b = _float_t(x1), _float_t(x2)
    if a.shape != b.shape:
        raise ValueError(f"psnr: the inputs must have one shape, got {a.shape} and {b.shape}")
    mse = m.mean(m.square(m.subtract(a, b)))
    return m.add(m.multiply(m.log(mse), -10.0 / float(np.log(10.0))), 20 * float(np.log10(max_val)))


def rms_normalization(x, scale=1, axis=-1, epsilon=None):
    """``x / sqrt(mean(x**2, axis) + epsilon) * scale``.

    Args:
        x (Tensor | array): the input.
        scale (float | Tensor): the gain (broadcast along ``axis``).
        axis (int | tuple): the axes normalised over (default -1).
        epsilon (float | None): added to the mean square (default ``backend.epsilon()``).
    """
    t = _float_t(x)
    eps = backend.epsilon() if epsilon is None else epsilon
    rms = m.sqrt(m.add(m.mean(m.square(t), axis=axis, keepdims=True), eps))
    out = m.divide(t, rms)
    if isinstance(scale, (int, float)) and scale == 1:
        return out
    return m.multiply(out, scale if isinstance(scale, (int, float)) else _float_t(scale))


# ---- FFTs (``(real, imag)`` pairs, as Keras; no gradient) ----------------------------------

def _complex(x, where):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{where}: expected a (real, imag) pair of tensors")
    re, im = _raw(_float_t(x[0])), _raw(_float_t(x[1]))
    if re.shape != im.shape:
        raise ValueError(f"{where}: real and imaginary parts differ in shape: {re.shape} vs {im.shape}")
    return re + 1j * im, re.dtype


def _pair_out(c, dtype):
    return _const(c.real.astype(dtype)), _const(c.imag.astype(dtype))


def fft(x):
    """The FFT along the last axis of a ``(real, imag)`` pair, as a pair.

    Args:
        x (tuple): ``(real, imag)`` Tensors of one shape.
    """
    c, dt = _complex(x, "fft")
    return _pair_out(xpof(c).fft.fft(c, axis=-1), dt)


def fft2(x):
    """The 2-D FFT over the last two axes of a ``(real, imag)`` pair, as a pair.

    Args:
        x (tuple): ``(real, imag)`` Tensors of one shape.
    """
    c, dt = _complex(x, "fft2")
    return _pair_out(xpof(c).fft.fft2(c, axes=(-2, -1)), dt)


def ifft2(x):
    """The inverse 2-D FFT over the last two axes of a ``(real, imag)`` pair, as a pair.

    Args:
        x (tuple): ``(real, imag)`` Tensors of one shape.
    """
    c, dt = _complex(x, "ifft2")
    return _pair_out(xpof(c).fft.ifft2(c, axes=(-2, -1)), dt)


def rfft(x, fft_length=None):
    """The FFT of a real signal along the last axis, as ``(real, imag)``.

    Args:
        x (Tensor | array): the real signal.
        fft_length (int | None): pad or cut the signal to this length first.
    """
    v = _raw(_float_t(x))
    return _pair_out(xpof(v).fft.rfft(v, n=fft_length, axis=-1), v.dtype)


def irfft(x, fft_length=None):
    """The real signal of a ``(real, imag)`` half spectrum (the inverse of ``rfft``).

    Args:
        x (tuple): ``(real, imag)`` Tensors.
        fft_length (int | None): the signal's length (default ``2 * (n - 1)``).
    """
    c, dt = _complex(x, "irfft")
    return _const(xpof(c).fft.irfft(c, n=fft_length, axis=-1).astype(dt))


# ---- take along any axis --------------------------------------------------------------

def take(x, indices, axis=None):
    """Elements (or slices) of ``x`` at integer ``indices`` along ``axis``; None flattens
    ``x`` first. Negative indices count from the end. Differentiable in ``x`` (repeated
    indices add up).

    Args:
        x (Tensor | array): the source.
        indices (Tensor | array | int | list): the integer indices (any shape).
        axis (int | None): the axis (default: the flattened input).

    Examples:
        >>> import numpy as np
        >>> from kerasette import ops
        >>> ops.take(np.arange(6).reshape(2, 3), [4, 0]).numpy().tolist()
        [4, 0]
    """
    from .embedding import embedding_lookup
    t = _t(x)
    idx = _raw(indices)
    idx = _arr(idx) if not backend.is_array(idx) else idx
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got dtype {idx.dtype}")
    if axis is None:
        t, axis = s.reshape(t, (-1,)), 0
    if t.ndim == 0:
        raise ValueError("take: x must have at least one axis")
    axis %= t.ndim
    n = t.shape[axis]
    xp = xpof(t.value)
    if xpof(idx) is not xp:
        idx = backend.to_device(backend.to_numpy(idx), xp)
    idx = xp.where(idx < 0, idx + n, idx)
    if axis == 0 and t.dtype.kind == "f":
        return embedding_lookup(t, idx)         # the fused row lookup (checks the range)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise ValueError(f"take: indices must be in [-{n}, {n}) along axis {axis} of shape {t.shape}")
    return s.get_item(t, (builtins.slice(None),) * axis + (idx,))


# ---- control flow (eager: Python runs the loop, the tape records each step) ------------------

def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()``.

    Args:
        pred (bool | Tensor): a scalar condition.
        true_fn (callable): called with no arguments when ``pred`` holds.
        false_fn (callable): called otherwise.
    """
    return true_fn() if bool(_raw(pred)) else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)``, the index clamped to the valid range.

    Args:
        index (int | Tensor): the branch number.
        branches (list): callables.
        *operands: passed to the branch.
    """
    i = builtins.min(builtins.max(int(_raw(index)), 0), len(branches) - 1)
    return branches[i](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns ``val``.

    Args:
        lower (int): the first index.
        upper (int): the end (excluded).
        body_fun (callable): ``(i, val) -> val``.
        init_val: the initial value (any structure).
    """
    val = init_val
    for i in range(int(_raw(lower)), int(_raw(upper))):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: A002 - keras.ops names
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds.

    Args:
        cond (callable): ``(*loop_vars) -> bool``.
        body (callable): ``(*loop_vars) -> loop_vars`` of the same structure.
        loop_vars (Tensor | tuple | list): the state (a single value is passed as one argument).
        maximum_iterations (int | None): stop after this many rounds at most.
    """
    single = not isinstance(loop_vars, (tuple, list))
    state = (loop_vars,) if single else tuple(loop_vars)
    done = 0
    while bool(_raw(cond(*state))):
        if maximum_iterations is not None and done >= maximum_iterations:
            break
        out = body(*state)
        state = (out,) if single else tuple(out)
        done += 1
    if single:
        return state[0]
    return list(state) if isinstance(loop_vars, list) else state


def _leading(xs, i):
    if isinstance(xs, (tuple, list)):
        return type(xs)(_leading(x, i) for x in xs)
    if isinstance(xs, dict):
        return {k: _leading(v, i) for k, v in xs.items()}
    return s.get_item(_t(xs), i)


def _length(xs):
    if isinstance(xs, (tuple, list)):
        return _length(xs[0])
    if isinstance(xs, dict):
        return _length(next(iter(xs.values())))
    return _t(xs).shape[0]


def _stack_outputs(outs):
    first = outs[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_stack_outputs([o[i] for o in outs]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack_outputs([o[k] for o in outs]) for k in first}
    if first is None:
        return None
    return s.stack([_t(o) for o in outs], axis=0)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns
    ``(final carry, stacked ys)``.

    Args:
        f (callable): ``(carry, x) -> (carry, y)``.
        init: the initial carry (any structure).
        xs (Tensor | tuple | list | dict | None): scanned along the leading axis (None: ``length`` steps with ``x=None``).
        length (int | None): the number of steps when ``xs`` is None.
        reverse (bool): scan from the end (the ys keep the input order).
        unroll (int | bool): accepted for Keras compatibility (the loop is eager).
    """
    n = _length(xs) if xs is not None else int(length)
    carry, ys = init, []
    steps = range(n - 1, -1, -1) if reverse else range(n)
    for i in steps:
        carry, y = f(carry, None if xs is None else _leading(xs, i))
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (_stack_outputs(ys) if ys else None)


def map(f, xs):  # noqa: A001 - keras.ops name
    """``f`` applied to each slice of ``xs`` along the leading axis, results stacked.

    Args:
        f (callable): the function of one slice.
        xs (Tensor | tuple | list | dict): the inputs.
    """
    return _stack_outputs([f(_leading(xs, i)) for i in range(_length(xs))])


def vectorized_map(function, elements):
    """``map(function, elements)`` (Keras may fuse it; here it runs slice by slice).

    Args:
        function (callable): the function of one slice.
        elements (Tensor | tuple | list | dict): the inputs.
    """
    return map(function, elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """A function mapping ``pyfunc`` over the leading axes of its array arguments, as
    ``numpy.vectorize``: without ``signature``, elementwise; with one such as
    ``"(m),(m)->()"``, over the axes left of each argument's core dimensions.

    Args:
        pyfunc (callable): the function of core-sized arguments.
        excluded (set | None): positions or names of arguments passed through unchanged.
        signature (str | None): the generalised-ufunc signature.
    """
    excluded = set(excluded or ())
    if signature is not None:
        ins = signature.split("->")[0].strip()
        cores = [len([d for d in part.strip("() ").split(",") if d.strip()]) for part in
                 ins.replace(" ", "").split("),(")]
    else:
        cores = None

    def wrapped(*args, **kwargs):
        idx = [i for i in range(len(args)) if i not in excluded]
        ts = {i: _t(args[i]) for i in idx}
        core = {i: (cores[k] if cores else 0) for k, i in enumerate(idx)}
        loop = {i: ts[i].ndim - core[i] for i in idx}
        depth = builtins.max(loop.values()) if loop else 0
        if depth == 0:
            return pyfunc(*args, **kwargs)
        shapes = [ts[i].shape[:loop[i]] for i in idx]
        batch = np.broadcast_shapes(*[(1,) * (depth - len(sh)) + tuple(sh) for sh in shapes])

        def call(prefix):
            a = list(args)
            for i in idx:
                t = ts[i]
                lead = loop[i]
                key = tuple(0 if t.shape[j - (depth - lead)] == 1 else prefix[j]
                            for j in range(depth - lead, depth))
                a[i] = s.get_item(t, key) if key else t
            return pyfunc(*a, **kwargs)

        def build(prefix):
            if len(prefix) == depth:
                return call(prefix)
            return _stack_outputs([build(prefix + (k,)) for k in range(batch[len(prefix)])])

        return build(())

    return wrapped


def associative_scan(f, elems, reverse=False, axis=0):
    """Running ``f``-combination along ``axis``: ``out[i] = f(out[i-1], elems[i])`` (``f``
    associative, e.g. ``ops.add`` gives ``cumsum``).

    Args:
        f (callable): an associative ``(a, b) -> c`` on slices.
        elems (Tensor | tuple | list): the inputs (a structure scans its leaves together).
        reverse (bool): combine from the end.
        axis (int): the axis (default 0).
    """
    def moved(x):
        return s.moveaxis(_t(x), axis, 0) if axis != 0 else _t(x)

    xs = type(elems)(moved(e) for e in elems) if isinstance(elems, (tuple, list)) else moved(elems)
    n = _length(xs)
    order = range(n - 1, -1, -1) if reverse else range(n)
    outs, acc = [], None
    for i in order:
        cur = _leading(xs, i)
        acc = cur if acc is None else f(acc, cur)
        outs.append(acc)
    if reverse:
        outs.reverse()
    out = _stack_outputs(outs)
    if axis == 0:
        return out
    if isinstance(out, (tuple, list)):
        return type(out)(s.moveaxis(o, 0, axis) for o in out)
    return s.moveaxis(out, 0, axis)


class _CustomGradient(Function):
    """A node whose backward is the user's ``grad_fn``."""

    def __init__(self, grad_fn, n_inputs):
        self.grad_fn, self.n_inputs = grad_fn, n_inputs

    def forward(self, y, *inputs):
        return y

    def backward(self, g):
        with no_grad():
            grads = self.grad_fn(Tensor(g))
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != self.n_inputs:
            raise ValueError(f"custom_gradient: the gradient function returned {len(grads)} gradient(s) "
                             f"for {self.n_inputs} input(s)")
        return (None,) + tuple(None if gr is None else _raw(_t(gr)) for gr in grads)


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; ``grad_fn(upstream)`` returns the
    gradient of each Tensor argument, which replaces the gradient autograd would compute.

    Args:
        f (callable): ``(*args) -> (output, grad_fn)``.

    Examples:
        >>> from kerasette import ops
        >>> @ops.custom_gradient
        ... def clipped_identity(x):
        ...     def grad(upstream):
        ...         return ops.clip(upstream, -1.0, 1.0)
        ...     return x, grad
    """
    def wrapped(*args):
        tensors = [a for a in args if isinstance(a, Tensor)]
        with no_grad():
            consts = [Tensor(a.value) if isinstance(a, Tensor) else a for a in args]
            y, grad_fn = f(*consts)
        return _CustomGradient(grad_fn, len(tensors))(_t(y).value, *tensors)

    wrapped.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapped.__doc__ = f.__doc__
    return wrapped


# ---- convolutions of the 2-D family (channels_last kernels of kerasette.ops.conv_transpose / depthwise) ----

def _nhwc(t, data_format, where):
    if t.ndim != 4:
        raise ValueError(f"{where}: only 2-D convolutions (rank-4 inputs) are supported here, got shape {t.shape}")
    if data_format == "channels_first":
        return s.transpose(t, (0, 2, 3, 1))
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{where}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return t


def _back(t, data_format):
    return s.transpose(t, (0, 3, 1, 2)) if data_format == "channels_first" else t


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed 2-D convolution (Keras's output size), kernel ``(kh, kw, filters, in_channels)``.

    Args:
        inputs (Tensor | array): ``(N, H, W, C)`` (``(N, C, H, W)`` with channels_first).
        kernel (Tensor | array): ``(kh, kw, F, C)``.
        strides (int | tuple): the strides.
        padding (str): ``"valid"`` or ``"same"``.
        output_padding (int | tuple | None): extra rows / columns at the bottom / right.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate (int | tuple): the dilation.
    """
    from .conv_transpose import conv2d_transpose
    x = _nhwc(_t(inputs), data_format, "conv_transpose")
    return _back(conv2d_transpose(x, _t(kernel), strides=strides, padding=padding, output_padding=output_padding,
                                  dilation_rate=dilation_rate), data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise 2-D convolution, kernel ``(kh, kw, C, multiplier)``.

    Args:
        inputs (Tensor | array): ``(N, H, W, C)`` (``(N, C, H, W)`` with channels_first).
        kernel (Tensor | array): ``(kh, kw, C, M)``.
        strides (int | tuple): the strides.
        padding (str): ``"valid"`` or ``"same"``.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate (int | tuple): the dilation.
    """
    from .depthwise import depthwise_conv2d
    x = _nhwc(_t(inputs), data_format, "depthwise_conv")
    return _back(depthwise_conv2d(x, _t(kernel), strides=strides, padding=padding, dilation_rate=dilation_rate),
                 data_format)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise then pointwise (1x1) 2-D convolution.

    Args:
        inputs (Tensor | array): ``(N, H, W, C)`` (``(N, C, H, W)`` with channels_first).
        depthwise_kernel (Tensor | array): ``(kh, kw, C, M)``.
        pointwise_kernel (Tensor | array): ``(1, 1, C*M, F)``.
        strides (int | tuple): the strides.
        padding (str): ``"valid"`` or ``"same"``.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.
        dilation_rate (int | tuple): the dilation.
    """
    from .depthwise import separable_conv2d
    x = _nhwc(_t(inputs), data_format, "separable_conv")
    return _back(separable_conv2d(x, _t(depthwise_kernel), _t(pointwise_kernel), strides=strides, padding=padding,
                                  dilation_rate=dilation_rate), data_format)


# ---- distances, correlation, segments, complex views ------------------------------------

def cdist(x, y):
    """Euclidean distances between the rows of ``x`` ``(..., n, d)`` and ``y`` ``(..., m, d)``:
    ``(..., n, m)``.

    Args:
        x (Tensor | array): the first points.
        y (Tensor | array): the second points.
    """
    a, b = _float_t(x), _float_t(y)
    d = m.subtract(s.expand_dims(a, -2), s.expand_dims(b, -3))
    return m.sqrt(m.sum(m.square(d), axis=-1))


def corrcoef(x):
    """Pearson correlation coefficients between the rows of ``x`` (variables in rows).

    Args:
        x (Tensor | array): ``(variables, observations)``.
    """
    t = _float_t(x)
    if t.ndim == 1:
        t = s.reshape(t, (1, -1))
    c = m.subtract(t, m.mean(t, axis=1, keepdims=True))
    cov = m.matmul(c, s.transpose(c))
    from .numpy_api import diagonal
    sd = m.sqrt(diagonal(cov))
    return m.divide(m.divide(cov, s.reshape(sd, (-1, 1))), s.reshape(sd, (1, -1)))


def _segments(data, segment_ids, num_segments, where):
    t = _t(data)
    ids = _on(_t(segment_ids), t).astype("int64")
    if ids.ndim != 1 or ids.shape[0] != t.shape[0]:
        raise ValueError(f"{where}: segment_ids must be 1-D with one id per row of data ({t.shape[0]}), "
                         f"got shape {tuple(ids.shape)}")
    n = int(num_segments) if num_segments is not None else (int(ids.max()) + 1 if ids.size else 0)
    return t, ids, n


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - keras.ops name
    """Sums of the rows of ``data`` sharing a segment id (differentiable in ``data``).

    Args:
        data (Tensor | array): ``(n, ...)``.
        segment_ids (Tensor | array): ``(n,)`` integer ids in ``[0, num_segments)``.
        num_segments (int | None): how many segments (default ``max(ids) + 1``).
        sorted (bool): the ids are sorted (a hint; not needed here).
    """
    from .numpy_api import _ScatterAdd
    t, ids, n = _segments(data, segment_ids, num_segments, "segment_sum")
    return _ScatterAdd((ids,), (n,) + t.shape[1:])(t)


def _segment_reduce(data, segment_ids, num_segments, fill, reduce, where):
    t, ids, n = _segments(data, segment_ids, num_segments, where)
    xp = xpof(t.value)
    hit = (xp.arange(n)[:, None] == ids[None, :]).reshape((n, t.shape[0]) + (1,) * (t.ndim - 1))
    filled = m.where(hit, s.expand_dims(t, 0), fill)
    return reduce(filled, axis=1)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - keras.ops name
    """Maxima of the rows of ``data`` sharing a segment id (-inf for an empty segment).

    Args:
        data (Tensor | array): ``(n, ...)``.
        segment_ids (Tensor | array): ``(n,)`` integer ids in ``[0, num_segments)``.
        num_segments (int | None): how many segments (default ``max(ids) + 1``).
        sorted (bool): the ids are sorted (a hint; not needed here).
    """
    return _segment_reduce(_float_t(data), segment_ids, num_segments, -np.inf, m.max, "segment_max")


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - keras.ops name
    """Minima of the rows of ``data`` sharing a segment id (inf for an empty segment).

    Args:
        data (Tensor | array): ``(n, ...)``.
        segment_ids (Tensor | array): ``(n,)`` integer ids in ``[0, num_segments)``.
        num_segments (int | None): how many segments (default ``max(ids) + 1``).
        sorted (bool): the ids are sorted (a hint; not needed here).
    """
    return _segment_reduce(_float_t(data), segment_ids, num_segments, np.inf, m.min, "segment_min")


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - keras.ops name
    """Products of the rows of ``data`` sharing a segment id (1 for an empty segment).

    Args:
        data (Tensor | array): ``(n, ...)``.
        segment_ids (Tensor | array): ``(n,)`` integer ids in ``[0, num_segments)``.
        num_segments (int | None): how many segments (default ``max(ids) + 1``).
        sorted (bool): the ids are sorted (a hint; not needed here).
    """
    from .numpy_api import prod
    return _segment_reduce(_float_t(data), segment_ids, num_segments, 1.0, prod, "segment_prod")


def view_as_complex(x):
    """``(..., 2)`` real pairs as complex numbers ``(...)`` (no gradient).

    Args:
        x (Tensor | array): real and imaginary parts on the last axis.
    """
    v = _raw(_float_t(x))
    if v.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis must have size 2, got shape {tuple(v.shape)}")
    return _const(v[..., 0] + 1j * v[..., 1])


def view_as_real(x):
    """Complex numbers ``(...)`` as real pairs ``(..., 2)`` (no gradient).

    Args:
        x (Tensor | array): complex values.
    """
    v = _raw(_t(x))
    xp = xpof(v)
    return _const(xp.stack([v.real, v.imag], axis=-1))


# ---- short-time Fourier transform (PyTorch's framing, as Keras's torch backend) -------------

def _stft_window(window, sequence_length, fft_length, dtype, mod, where):
    if window is None:
        win = np.ones(sequence_length)
    elif isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"{where}: window must be 'hann', 'hamming', an array or None, got {window!r}")
        k = np.arange(sequence_length)
        a0 = 0.5 if window == "hann" else 0.54
        win = a0 - (1 - a0) * np.cos(2 * np.pi * k / sequence_length)        # periodic
    else:
        win = np.asarray(backend.to_numpy(_raw(window)), dtype="float64")
        if win.shape != (sequence_length,):
            raise ValueError(f"{where}: window must have shape ({sequence_length},), got {win.shape}")
    left = (fft_length - sequence_length) // 2
    win = np.pad(win, (left, fft_length - sequence_length - left))
    return backend.to_device(win.astype(dtype), mod)


def _reflect_pad_last(t, p):
    n = t.shape[-1]
    if p >= n:
        raise ValueError(f"stft: center=True pads {p} samples by reflection, which needs more than {p} samples")
    idx = np.concatenate([np.arange(p, 0, -1), np.arange(n), np.arange(n - 2, n - 2 - p, -1)])
    return s.get_item(t, (Ellipsis, backend.to_device(idx, xpof(t.value))))


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis: ``(real, imag)``, each
    ``(..., frames, fft_length // 2 + 1)`` (no gradient).

    Args:
        x (Tensor | array): float signals ``(..., samples)``.
        sequence_length (int): the window length.
        sequence_stride (int): the hop between frames.
        fft_length (int): the FFT size (at least ``sequence_length``; the window is centred in it).
        window (str | array | None): ``"hann"`` (periodic, default), ``"hamming"``, an array of
            ``sequence_length`` values, or None (rectangular).
        center (bool): pad ``fft_length // 2`` samples by reflection at both ends first.
    """
    t = _float_t(x)
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be >= sequence_length ({sequence_length})")
    if center:
        t = _reflect_pad_last(t, fft_length // 2)
    frames = _raw(extract_sequences(t, fft_length, sequence_stride))
    xp = xpof(frames)
    win = _stft_window(window, sequence_length, fft_length, frames.dtype, xp, "stft")
    spec = xp.fft.rfft(frames * win, axis=-1)
    return _const(spec.real.astype(frames.dtype)), _const(spec.imag.astype(frames.dtype))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """The inverse of ``stft``: overlap-add of the windowed inverse FFTs, divided by the summed
    squared window (no gradient).

    Args:
        x (tuple): ``(real, imag)``, each ``(..., frames, fft_length // 2 + 1)``.
        sequence_length (int): the window length.
        sequence_stride (int): the hop between frames.
        fft_length (int): the FFT size.
        length (int | None): the output length (cut or zero-padded; default: all samples).
        window (str | array | None): as for ``stft``.
        center (bool): ``stft`` padded the signal (the padding is removed).
    """
    c, dt = _complex(x, "istft")
    xp = xpof(c)
    frames = xp.fft.irfft(c, n=fft_length, axis=-1).astype(dt)
    n_frames = frames.shape[-2]
    lead = frames.shape[:-2]
    total = fft_length + sequence_stride * (n_frames - 1)
    pos = (np.arange(n_frames)[:, None] * sequence_stride + np.arange(fft_length)[None, :]).reshape(-1)
    exact = sequence_length == fft_length and center and window is not None
    if window is not None:
        win = backend.to_numpy(_stft_window(window, sequence_length, fft_length, "float64", np, "istft"))
        if exact:       # PyTorch's istft: divide by the squared window summed where the frames overlap
            wsq = np.zeros(total)
            np.add.at(wsq, pos, np.tile(win ** 2, n_frames))
            denom = np.where(wsq > 1e-11, wsq, 1.0)
        else:           # Keras's other branch (TF's inverse_stft_window_fn): the steady-state overlap
            overlaps = -(-fft_length // sequence_stride)
            sq = np.pad(win ** 2, (0, overlaps * sequence_stride - fft_length)).reshape(overlaps, sequence_stride)
            win = win / np.tile(sq.sum(axis=0), overlaps)[:fft_length]
        frames = frames * backend.to_device(win.astype(dt), xp)
    flat = frames.reshape((-1, n_frames, fft_length))
    out = xp.zeros((flat.shape[0], total), dtype=dt)
    for i in range(n_frames):           # overlap-add, a frame at a time
        out[:, i * sequence_stride:i * sequence_stride + fft_length] += flat[:, i]
    if window is not None and exact:
        out = out / backend.to_device(denom.astype(dt), xp)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = total - fft_length // 2 if center else total
    out = out[:, start:end]
    if exact and length is not None and out.shape[-1] < length:     # PyTorch pads a short result
        out = xp.concatenate([out, xp.zeros((out.shape[0], length - out.shape[-1]), dtype=dt)], axis=-1)
    return _const(out.reshape(lead + (out.shape[-1],)))


# ---- torch-style unfold / fold (im2col / col2im on NCHW) --------------------------------------

def _pair_arg(v, where, name):
    v = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(v) != 2:
        raise ValueError(f"{where}: {name} must be an int or a pair, got {v!r}")
    return int(v[0]), int(v[1])


def _fold_index(hp, wp, kernel, dilation, stride, where):
    (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"{where}: the kernel does not fit the (padded) input {hp}x{wp}")
    rows = (np.arange(kh)[:, None, None, None] * dh + np.arange(oh)[None, None, :, None] * sh)
    cols = (np.arange(kw)[None, :, None, None] * dw + np.arange(ow)[None, None, None, :] * sw)
    rows, cols = np.broadcast_arrays(rows, cols)
    return rows, cols, oh, ow


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of a batch of images ``(N, C, H, W)`` as columns
    ``(N, C * kh * kw, L)`` (PyTorch's ``unfold``; differentiable).

    Args:
        x (Tensor | array): ``(N, C, H, W)``.
        kernel_size (int | tuple): the block size.
        dilation (int | tuple): the spacing of a block's taps.
        padding (int | tuple): zeros added on both sides of each spatial axis.
        stride (int | tuple): the step between blocks.
    """
    from .conv import pad
    t = _t(x)
    if t.ndim != 4:
        raise ValueError(f"unfold: expected a 4-D input (N, C, H, W), got shape {t.shape}")
    kernel = _pair_arg(kernel_size, "unfold", "kernel_size")
    ph, pw = _pair_arg(padding, "unfold", "padding")
    if ph or pw:
        t = pad(t, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    rows, cols, oh, ow = _fold_index(t.shape[2], t.shape[3], kernel, _pair_arg(dilation, "unfold", "dilation"),
                                     _pair_arg(stride, "unfold", "stride"), "unfold")
    xp = xpof(t.value)
    blocks = s.get_item(t, (builtins.slice(None), builtins.slice(None),
                            backend.to_device(rows, xp), backend.to_device(cols, xp)))   # (N, C, kh, kw, oh, ow)
    n, c = t.shape[:2]
    return s.reshape(blocks, (n, c * kernel[0] * kernel[1], oh * ow))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns of sliding blocks ``(N, C * kh * kw, L)`` summed back into images
    ``(N, C, H, W)`` (PyTorch's ``fold``, the adjoint of ``unfold``; differentiable).

    Args:
        x (Tensor | array): ``(N, C * kh * kw, L)``.
        output_size (int | tuple): ``(H, W)`` of the result.
        kernel_size (int | tuple): the block size.
        dilation (int | tuple): the spacing of a block's taps.
        padding (int | tuple): the padding ``unfold`` added (removed here).
        stride (int | tuple): the step between blocks.
    """
    from .numpy_api import _ScatterAdd
    t = _t(x)
    h, w = _pair_arg(output_size, "fold", "output_size")
    kh, kw = _pair_arg(kernel_size, "fold", "kernel_size")
    ph, pw = _pair_arg(padding, "fold", "padding")
    hp, wp = h + 2 * ph, w + 2 * pw
    rows, cols, oh, ow = _fold_index(hp, wp, (kh, kw), _pair_arg(dilation, "fold", "dilation"),
                                     _pair_arg(stride, "fold", "stride"), "fold")
    if t.ndim != 3 or t.shape[1] % (kh * kw) or t.shape[2] != oh * ow:
        raise ValueError(f"fold: expected (N, C * {kh * kw}, {oh * ow}) columns, got shape {t.shape}")
    n, c = t.shape[0], t.shape[1] // (kh * kw)
    vals = s.transpose(s.reshape(t, (n, c, kh, kw, oh, ow)), (2, 3, 4, 5, 0, 1))
    xp = xpof(t.value)
    index = (backend.to_device(rows, xp), backend.to_device(cols, xp))
    img = s.transpose(_ScatterAdd(index, (hp, wp, n, c))(vals), (2, 3, 0, 1))
    return s.get_item(img, (builtins.slice(None), builtins.slice(None), builtins.slice(ph, ph + h),
                            builtins.slice(pw, pw + w)))


# ---- adaptive pooling (PyTorch's bins: floor(i L / n) to ceil((i + 1) L / n)) -----------------

def adaptive_bins(length, size):
    """The ``size`` bins ``[start, end)`` of adaptive pooling over ``length`` positions:
    ``start = floor(i * length / size)``, ``end = ceil((i + 1) * length / size)`` (PyTorch's rule,
    which Keras 3 follows on every backend); bins may overlap by one position.

    Args:
        length (int): the input's size along the axis.
        size (int): the output's size along the axis.

    Examples:
        >>> from kerasette.ops.nn_api import adaptive_bins
        >>> adaptive_bins(5, 3)
        [(0, 2), (1, 4), (3, 5)]
    """
    return [(i * length // size, -(-(i + 1) * length // size)) for i in range(int(size))]


def _adaptive_pool(inputs, output_size, data_format, reduce, where):
    t = _t(inputs)
    spatial = t.ndim - 2
    if spatial not in (1, 2, 3):
        raise ValueError(f"{where}: expected a 3-D, 4-D or 5-D input, got shape {t.shape}")
    sizes = (output_size,) * spatial if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != spatial or not all(isinstance(n, (int, np.integer)) and n > 0 for n in sizes):
        raise ValueError(f"{where}: output_size needs {spatial} positive ints for shape {t.shape}, "
                         f"got {output_size!r}")
    first = data_format == "channels_first"
    if not first and data_format not in (None, "channels_last"):
        raise ValueError(f"{where}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    axes = list(range(2, t.ndim)) if first else list(range(1, t.ndim - 1))
    xp = xpof(t.value)
    # a bin of the output is a box: its mean (max) is the mean (max) over one axis at a time,
    # so the axes are pooled in turn, each with a few whole-array ops (no loop over the bins)
    for ax, n in zip(axes, sizes):
        bins = adaptive_bins(t.shape[ax], n)
        if reduce == "mean":            # a matmul with the (length, n) matrix of 1 / bin size
            weights = np.zeros((t.shape[ax], int(n)), dtype=t.dtype)
            for i, (a, b) in enumerate(bins):
                weights[a:b, i] = 1.0 / (b - a)
            moved = s.moveaxis(t, ax, -1)
            t = s.moveaxis(m.matmul(moved, _const(backend.to_device(weights, xp))), -1, ax)
        else:                           # gather (n, widest bin) positions, then max over the bin
            width = builtins.max(b - a for a, b in bins)
            index = np.array([[builtins.min(a + j, b - 1) for j in range(width)] for a, b in bins])
            gathered = s.get_item(t, (builtins.slice(None),) * ax + (backend.to_device(index, xp),))
            t = m.max(gathered, axis=ax + 1)        # a repeated position gets its gradient once
    return t


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed output size (PyTorch's bins); 1-D, 2-D or 3-D, differentiable.

    Args:
        inputs (Tensor | array): ``(N, *spatial, C)`` (or ``(N, C, *spatial)`` with channels_first).
        output_size (int | tuple): the output's spatial size.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.
    """
    return _adaptive_pool(inputs, output_size, data_format, "mean", "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed output size (PyTorch's bins); 1-D, 2-D or 3-D, differentiable.

    Args:
        inputs (Tensor | array): ``(N, *spatial, C)`` (or ``(N, C, *spatial)`` with channels_first).
        output_size (int | tuple): the output's spatial size.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.
    """
    return _adaptive_pool(inputs, output_size, data_format, "max", "adaptive_max_pool")


# ---- einops-style rearrange ----------------------------------------------------------------

def _parse_side(text, where):
    groups, cur = [], None
    for tok in text.replace("(", " ( ").replace(")", " ) ").split():
        if tok == "(":
            if cur is not None:
                raise ValueError(f"{where}: nested parentheses in {text!r}")
            cur = []
        elif tok == ")":
            if cur is None:
                raise ValueError(f"{where}: unbalanced ')' in {text!r}")
            groups.append(cur)
            cur = None
        elif tok.isidentifier():
            if cur is not None:
                cur.append(tok)
            else:
                groups.append([tok])
        else:
            raise ValueError(f"{where}: axis names must be identifiers, got {tok!r} in {text!r} "
                             f"('...' and anonymous axes are not supported, as in Keras)")
    if cur is not None:
        raise ValueError(f"{where}: unbalanced '(' in {text!r}")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, split and merge axes by an einops pattern, e.g. ``"b (h w) c -> b h w c"``
    with ``h=4`` (differentiable: a reshape, a transpose and a reshape).

    Args:
        tensor (Tensor | array): the input.
        pattern (str): ``"left -> right"``; names are axes, parentheses group axes merged into one.
        **axes_lengths: sizes of axes that a split cannot infer (one unknown per group).
    """
    t = _t(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern needs one '->', got {pattern!r}")
    left_s, right_s = pattern.split("->")
    left, right = _parse_side(left_s, "rearrange"), _parse_side(right_s, "rearrange")
    names_l = [n for g in left for n in g]
    names_r = [n for g in right for n in g]
    if len(set(names_l)) != len(names_l) or len(set(names_r)) != len(names_r):
        raise ValueError(f"rearrange: an axis name repeats in {pattern!r}")
    if set(names_l) != set(names_r):
        raise ValueError(f"rearrange: both sides must name the same axes, got {sorted(set(names_l) ^ set(names_r))} "
                         f"on one side only")
    if len(left) != t.ndim:
        raise ValueError(f"rearrange: the left side has {len(left)} axes, the input has shape {t.shape}")
    sizes = {k: int(v) for k, v in axes_lengths.items()}
    for group, n in zip(left, t.shape):
        unknown = [a for a in group if a not in sizes]
        known = int(np.prod([sizes[a] for a in group if a in sizes])) if len(unknown) < len(group) else 1
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in a group of size {n}; pass them")
        if unknown:
            if n % known:
                raise ValueError(f"rearrange: axis of size {n} does not split by {known}")
            sizes[unknown[0]] = n // known
        elif known != n:
            raise ValueError(f"rearrange: the group {group} has size {known}, the axis has {n}")
    flat = s.reshape(t, tuple(sizes[a] for a in names_l))
    moved = s.transpose(flat, tuple(names_l.index(a) for a in names_r))
    return s.reshape(moved, tuple(int(np.prod([sizes[a] for a in g])) for g in right))


# ---- CTC loss (the forward recursion in log space, one step per time frame) -------------------

_CTC_NEG = -1e30        # log(0) stand-in: finite, so unreachable paths get zero (not NaN) gradients


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss per sample (differentiable in ``output``): the
    negative log-probability of all alignments of ``target`` to the frames of ``output``.

    Args:
        target (Tensor | array): ``(batch, max_label_length)`` integer labels (padding ignored).
        output (Tensor | array): ``(batch, max_time, classes)`` logits (log-softmax is applied).
        target_length (Tensor | array): ``(batch,)`` label lengths.
        output_length (Tensor | array): ``(batch,)`` frame counts.
        mask_index (int): the blank class (default 0).

    An impossible alignment (a label longer than the frames allow) gives a loss near 1e30 instead
    of PyTorch's inf.
    """
    logits = _float_t(output)
    logp = nn.log_softmax(logits, axis=-1)
    xp = xpof(logp.value)
    labels = _on(_t(target), logp).astype("int64")
    tl = _on(_t(target_length), logp).astype("int64").reshape(-1)
    ol = _on(_t(output_length), logp).astype("int64").reshape(-1)
    batch, steps = logp.shape[0], logp.shape[1]
    width = 2 * labels.shape[1] + 1
    ext = xp.full((batch, width), mask_index, dtype="int64")
    ext[:, 1::2] = labels
    pos = xp.arange(width)[None, :]
    prev2 = xp.concatenate([xp.full((batch, 2), -1, dtype="int64"), ext[:, :-2]], axis=1)
    skip = (ext != mask_index) & (ext != prev2) & (pos >= 2)
    start = (pos == 0) | ((pos == 1) & (tl[:, None] > 0))
    neg = float(_CTC_NEG)

    def emit(t):
        return take_along_axis(s.get_item(logp, (builtins.slice(None), t)), ext, axis=1)

    alpha = m.where(start, emit(0), neg)
    for t in range(1, steps):       # Python per time step, vectorised over batch and positions
        a1 = s.concatenate([m.add(m.multiply(s.get_item(alpha, (builtins.slice(None), builtins.slice(0, 1))), 0.0),
                                  neg), s.get_item(alpha, (builtins.slice(None), builtins.slice(None, -1)))], axis=1)
        a2 = s.concatenate([m.add(m.multiply(s.get_item(alpha, (builtins.slice(None), builtins.slice(0, 2))), 0.0),
                                  neg), s.get_item(alpha, (builtins.slice(None), builtins.slice(None, -2)))], axis=1)
        a2 = m.where(skip, a2, neg)
        stacked = s.stack([alpha, a1, a2], axis=0)
        top = m.max(stacked, axis=0)
        top_c = Tensor(top.value)            # the shift of the log-sum-exp, held constant
        lse = m.add(m.log(m.sum(m.exp(m.subtract(stacked, top_c)), axis=0)), top_c)
        new = m.add(lse, emit(t))
        alpha = m.where((t < ol)[:, None], new, alpha)
    last = 2 * tl
    end1 = take_along_axis(alpha, last[:, None], axis=1)
    end2 = take_along_axis(alpha, xp.maximum(last - 1, 0)[:, None], axis=1)
    end2 = m.where((tl > 0)[:, None], end2, neg)
    both = s.concatenate([end1, end2], axis=1)
    top = Tensor(m.max(both, axis=1, keepdims=True).value)
    ll = m.add(m.log(m.sum(m.exp(m.subtract(both, top)), axis=1)), s.reshape(top, (-1,)))
    return m.negative(ll)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Decode CTC outputs, as ``keras.ops.ctc_decode``: ``(decoded, scores)``, no gradient.

    ``"greedy"``: the best class per frame, repeats merged, blanks dropped; ``decoded`` is
    ``(1, batch, max_time)`` and ``scores`` ``(batch, 1)`` the negated sum of the best
    per-frame values. ``"beam_search"``: a prefix beam search over ``log_softmax(inputs)``
    keeping the ``beam_width`` most probable label sequences (each summed over all its
    alignments); ``decoded`` is ``(top_paths, batch, max_time)``, best first, and ``scores``
    ``(batch, top_paths)`` their log-probabilities. Paths are padded with -1.

    Args:
        inputs (Tensor | array): ``(batch, max_time, classes)`` log-probabilities (or logits).
        sequence_lengths (Tensor | array): ``(batch,)`` frame counts.
        strategy (str): ``"greedy"`` (default) or ``"beam_search"``.
        beam_width (int): how many prefixes the beam search keeps (default 100; beam search only).
        top_paths (int): how many paths the beam search returns, at most ``beam_width``
            (default 1; greedy returns one).
        merge_repeated (bool): greedy only: merge a class repeated in consecutive frames
            (default True; the beam search always merges, as Keras's).
        mask_index (int | None): the blank class (default 0); None means the last class.

    Examples:
        >>> from kerasette import ops
        >>> logp = np.log(np.array([[[0.1, 0.6, 0.3], [0.2, 0.5, 0.3], [0.7, 0.2, 0.1]]]))
        >>> decoded, scores = ops.ctc_decode(logp, np.array([3]))
        >>> decoded.numpy().tolist()
        [[[1, -1, -1]]]
        >>> decoded, scores = ops.ctc_decode(logp, np.array([3]), strategy="beam_search", beam_width=4, top_paths=2)
        >>> decoded.numpy().tolist()
        [[[1, -1, -1]], [[1, 2, -1]]]
        >>> scores.numpy().round(4).tolist()
        [[-0.9188, -1.6555]]
    """
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', got {strategy!r}")
    v = _raw(_float_t(inputs))
    if v.ndim != 3:
        raise ValueError(f"ctc_decode: inputs must be (batch, max_time, classes), got shape {v.shape}")
    xp = xpof(v)
    lengths = _on(_t(sequence_lengths), v).astype("int64").reshape(-1)
    if lengths.shape[0] != v.shape[0]:
        raise ValueError(f"ctc_decode: sequence_lengths must have one entry per batch row ({v.shape[0]}), "
                         f"got {lengths.shape[0]}")
    if mask_index is None:
        mask_index = v.shape[-1] - 1
    if isinstance(mask_index, bool) or not hasattr(mask_index, "__index__") \
            or not 0 <= int(mask_index) < v.shape[-1]:
        raise ValueError(f"ctc_decode: mask_index must be a class index in [0, {v.shape[-1]}) or None, "
                         f"got {mask_index!r}")
    if strategy == "beam_search":
        for arg, value in (("beam_width", beam_width), ("top_paths", top_paths)):
            if isinstance(value, bool) or not hasattr(value, "__index__") or value < 1:
                raise ValueError(f"ctc_decode: {arg} must be a positive integer, got {value!r}")
        if top_paths > beam_width:
            raise ValueError(f"ctc_decode: top_paths must be at most beam_width ({beam_width}), "
                             f"got {top_paths}")
        paths, scores = _ctc_beam_search(v, lengths, int(beam_width), int(mask_index))
        return (_const(xp.moveaxis(paths[:, :top_paths], 1, 0).astype("int32")),
                _const(scores[:, :top_paths]))
    batch, steps = v.shape[0], v.shape[1]
    idx = v.argmax(axis=-1).astype("int32")
    best = v.max(axis=-1)
    past = xp.arange(steps)[None, :] >= lengths[:, None]
    idx = xp.where(past, mask_index, idx)
    best = xp.where(past, 0, best)
    if merge_repeated:
        repeat = xp.concatenate([xp.zeros((batch, 1), dtype=bool), idx[:, 1:] == idx[:, :-1]], axis=1)
        idx = xp.where(repeat, mask_index, idx)
    blank = idx == mask_index
    idx = xp.where(blank, -1, idx)
    order = xp.argsort(xp.where(blank, steps, xp.arange(steps)[None, :]), axis=-1, kind="stable")
    idx = xp.take_along_axis(idx, order, axis=-1)
    return _const(idx[None].astype("int32")), _const(-best.sum(axis=1, keepdims=True))


def _ctc_beam_search(v, lengths, width, blank):
    """Prefix beam search, every batch row at once (Python per frame only).

    Each kept prefix has two log-scores: ``pb`` (its alignments ending in a blank) and ``pnb``
    (ending in its last label). Per frame, a prefix stays (a blank; or its last label again,
    from ``pnb``) or grows by a label ``c`` (from ``pb`` when ``c`` repeats the last label,
    else from both); a grown prefix equal to one already kept joins it. The ``width`` best
    prefixes by ``logaddexp(pb, pnb)`` go on. Prefixes are told apart by a 64-bit rolling
    hash, each hash match checked label by label.

    Returns ``(paths, scores)``: ``(batch, width, max_time)`` labels padded with -1, best
    first, and their ``(batch, width)`` log-probabilities (-inf for unused beams).
    """
    xp = xpof(v)
    batch, steps, classes = v.shape
    z = v - v.max(axis=-1, keepdims=True)
    logp = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
    neg = -np.inf
    rows = xp.arange(batch)[:, None]
    labels = xp.arange(classes)
    pos = xp.arange(steps)
    mult = np.uint64(1000003)
    codes = (labels + 1).astype("uint64")
    # the beams: labels, length, last label, hash of the prefix and of its parent, scores
    paths = xp.full((batch, width, steps), -1, dtype="int64")
    length = xp.zeros((batch, width), dtype="int64")
    last = xp.full((batch, width), -1, dtype="int64")
    h = xp.zeros((batch, width), dtype="uint64")
    parent_h = xp.zeros((batch, width), dtype="uint64")
    pb = xp.full((batch, width), neg, dtype=logp.dtype)
    pb[:, 0] = 0                       # the empty prefix; the other beams are unused
    pnb = xp.full((batch, width), neg, dtype=logp.dtype)
    for t in range(steps):
        lp = logp[:, t]
        total = xp.logaddexp(pb, pnb)
        # stay: a blank after anything, or the last label once more after itself
        stay_pb = total + lp[:, blank][:, None]
        stay_pnb = xp.where(length > 0, pnb + xp.take_along_axis(lp, xp.maximum(last, 0), axis=1), neg)
        # grow by c: after a blank only when c repeats the last label
        grow = xp.where(labels[None, None, :] == last[:, :, None], pb[:, :, None], total[:, :, None])
        grow = xp.where(labels[None, None, :] == blank, neg, grow + lp[:, None, :])
        # a beam j whose parent k is kept: k grown by j's last label is j itself
        live = xp.isfinite(total)
        parent = ((parent_h[:, :, None] == h[:, None, :]) & (length[:, :, None] == length[:, None, :] + 1)
                  & live[:, :, None] & live[:, None, :])
        b_i, j_i, k_i = xp.nonzero(parent)
        if b_i.size:                   # check each hash match label by label
            cut = xp.where(pos[None, :] == (length[b_i, j_i] - 1)[:, None], -1, paths[b_i, j_i])
            same = (cut == paths[b_i, k_i]).all(axis=-1)
            parent[b_i, j_i, k_i] = same
        has = parent.any(axis=-1)
        k_of = parent.argmax(axis=-1)
        c_of = xp.maximum(last, 0)
        joined = grow[rows, k_of, c_of]
        stay_pnb = xp.where(has, xp.logaddexp(stay_pnb, xp.where(has, joined, neg)), stay_pnb)
        b_h, j_h = xp.nonzero(has)
        grow[b_h, k_of[b_h, j_h], c_of[b_h, j_h]] = neg
        # keep the best `width` of the kept prefixes and their growths
        cand = xp.concatenate([xp.logaddexp(stay_pb, stay_pnb), grow.reshape(batch, -1)], axis=1)
        top = xp.argsort(-cand, axis=1, kind="stable")[:, :width]
        grown = top >= width
        src = xp.where(grown, (top - width) // classes, top)
        c = xp.where(grown, (top - width) % classes, 0)
        n_paths = paths[rows, src]
        n_len = length[rows, src]
        n_paths = xp.where(grown[:, :, None] & (pos[None, None, :] == n_len[:, :, None]), c[:, :, None], n_paths)
        src_h = h[rows, src]
        n_h = xp.where(grown, src_h * mult + codes[c], src_h)
        n_parent = xp.where(grown, src_h, parent_h[rows, src])
        n_last = xp.where(grown, c, last[rows, src])
        n_pb = xp.where(grown, neg, stay_pb[rows, src])
        n_pnb = xp.where(grown, cand[rows, top], stay_pnb[rows, src])
        n_len = n_len + grown
        on = (t < lengths)[:, None]    # rows past their length keep their beams
        paths = xp.where(on[:, :, None], n_paths, paths)
        length, last = xp.where(on, n_len, length), xp.where(on, n_last, last)
        h, parent_h = xp.where(on, n_h, h), xp.where(on, n_parent, parent_h)
        pb, pnb = xp.where(on, n_pb, pb), xp.where(on, n_pnb, pnb)
    scores = xp.logaddexp(pb, pnb)
    order = xp.argsort(-scores, axis=1, kind="stable")
    return paths[rows, order], scores[rows, order]


def jvp(fun, primals, tangents, has_aux=False):
    """The Jacobian-vector product ``J(primals) @ tangents`` of ``fun``: ``(outputs, jvp)``
    (``(outputs, jvp, aux)`` with ``has_aux``).

    The tape runs in reverse only, so each output element takes one backward pass (exact, with
    a cost that grows with the output's size): fine for the small functions ``jvp`` is used on.

    Args:
        fun (callable): a function of Tensors returning a Tensor or a tuple / list of Tensors
            (``(output, aux)`` with ``has_aux``).
        primals (tuple | list): the point: one array or Tensor per argument of ``fun``.
        tangents (tuple | list): the direction: one array per primal, of its shape.
        has_aux (bool): ``fun`` returns ``(output, aux)``; ``aux`` is passed through.
    """
    from ..autograd.engine import backward
    from ..autograd.function import enable_grad
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists (one entry per argument of fun)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    xs = [Tensor(_raw(_float_t(p)).copy(), requires_grad=True) for p in primals]
    ts = [_on(_float_t(t), x) for t, x in zip(tangents, xs)]
    for x, t in zip(xs, ts):
        if tuple(t.shape) != x.shape:
            raise ValueError(f"jvp: a tangent of shape {tuple(t.shape)} for a primal of shape {x.shape}")
    with enable_grad():
        result = fun(*xs)
    aux = None
    if has_aux:
        result, aux = result
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    products = []
    for o in outs:
        o = _t(o)
        xp = xpof(o.value)
        flat = xp.zeros(o.size, dtype=o.dtype)
        if o.requires_grad:
            for i in range(o.size):     # one reverse pass per output element
                for x in xs:
                    x.grad = None
                cot = xp.zeros(o.size, dtype=o.dtype)
                cot[i] = 1
                backward(o, cot.reshape(o.shape), retain_graph=True)
                flat[i] = builtins.sum(float((x.grad * t).sum()) for x, t in zip(xs, ts) if x.grad is not None)
        products.append(_const(flat.reshape(o.shape)))
    detached = [_const(_t(o).value) for o in outs]
    if isinstance(result, (tuple, list)):
        out_v, jvp_v = type(result)(detached), type(result)(products)
    else:
        out_v, jvp_v = detached[0], products[0]
    return (out_v, jvp_v, aux) if has_aux else (out_v, jvp_v)
