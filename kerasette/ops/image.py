"""keras.ops.image: ``affine_transform`` (the sampler behind the random rotation, zoom,
translation and shear layers) and ``rgb_to_grayscale``.

``affine_transform`` maps every output pixel ``(x, y)`` (column, row) to a point of the input,
``x' = (a0 x + a1 y + a2) / k``, ``y' = (b0 x + b1 y + b2) / k`` with ``k = c0 x + c1 y + 1``,
one 8-number transform ``[a0, a1, a2, b0, b1, b2, c0, c1]`` per image, and reads the input
there: the nearest pixel (rounded half to even) or the bilinear mix of the four around it.
Points outside the image are filled as ``fill_mode`` says, with the index rules of Keras 3's
``map_coordinates`` (``"reflect"``: ``d c b a | a b c d | d c b a``; ``"mirror"``:
``d c b | a b c d | c b a``; ``"wrap"``: ``a b c d | a b c d``; ``"nearest"``: the edge pixel;
``"constant"``: ``fill_value``, mixed in with the bilinear weights).

The whole batch is one gather: the source indices and weights of every output pixel are
computed as arrays (``(N, H, W)`` each), the image is read with one ``take`` per bilinear
corner, and the gradient is scattered back with one ``bincount`` (as the embedding lookup's).
No gradient flows to the transform.
"""
import numpy as np

from .. import backend
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .embedding import scatter_add_rows

__all__ = ["affine_transform", "rgb_to_grayscale", "AffineTransform"]

INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_GRAY = (0.2989, 0.587, 0.114)


def _mirror(xp, index, size):
    """``d c b | a b c d | c b a``: a triangular wave of half-period ``size - 1``."""
    if size == 1:
        return xp.zeros_like(index)
    s = size - 1
    return xp.abs((index + s) % (2 * s) - s)


def _fix_index(xp, index, size, fill_mode):
    """Integer positions outside ``[0, size)`` brought inside by ``fill_mode``'s rule."""
    if fill_mode in ("constant", "nearest"):
        return xp.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "mirror":
        return _mirror(xp, index, size)
    return (_mirror(xp, 2 * index + 1, 2 * size + 1) - 1) // 2          # reflect


def _nodes(xp, coord, interpolation):
    """``[(integer index, weight or None), ...]`` of one axis: one node (nearest) or two."""
    if interpolation == "nearest":
        return [(xp.round(coord).astype(xp.int64), None)]
    low = xp.floor(coord)
    frac = coord - low
    low = low.astype(xp.int64)
    return [(low, 1 - frac), (low + 1, frac)]


def _source_points(xp, transform, n, h, w, interpolation, fill_mode):
    """``[(flat row index (N*H*W,), weight (N, H, W) | None, valid (N, H, W) | None), ...]``:
    where each output pixel reads the ``(N*H*W, C)`` image rows, one entry per corner."""
    dtype = transform.dtype
    rows = xp.arange(h, dtype=dtype)[None, :, None]
    cols = xp.arange(w, dtype=dtype)[None, None, :]
    a0, a1, a2, b0, b1, b2, c0, c1 = (transform[:, i][:, None, None] for i in range(8))
    k = c0 * cols + c1 * rows + 1
    src_x = (a0 * cols + a1 * rows + a2) / k
    src_y = (b0 * cols + b1 * rows + b2) / k
    base = (xp.arange(n, dtype=xp.int64) * (h * w))[:, None, None]
    points = []
    for iy, wy in _nodes(xp, src_y, interpolation):
        vy = (iy >= 0) & (iy < h) if fill_mode == "constant" else None
        fy = _fix_index(xp, iy, h, fill_mode)
        for ix, wx in _nodes(xp, src_x, interpolation):
            vx = (ix >= 0) & (ix < w) if fill_mode == "constant" else None
            fx = _fix_index(xp, ix, w, fill_mode)
            weight = None if wy is None else wy * wx
            valid = None if vy is None else vy & vx
            points.append(((base + fy * w + fx).reshape(-1), weight, valid))
    return points


class AffineTransform(Function):
    """``affine_transform`` on a ``(N, H, W, C)`` float batch and an ``(N, 8)`` transform of
    the same dtype; the gradient goes to the images only."""

    def __init__(self, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
        self.interpolation, self.fill_mode, self.fill_value = interpolation, fill_mode, fill_value

    def forward(self, images, transform):
        xp = backend.get_array_module(images)
        n, h, w, c = images.shape
        self.shape = images.shape
        self.points = _source_points(xp, transform, n, h, w, self.interpolation, self.fill_mode)
        rows = images.reshape(n * h * w, c)
        fill = images.dtype.type(self.fill_value)
        out = None
        for flat, weight, valid in self.points:
            part = xp.take(rows, flat, axis=0).reshape(n, h, w, c)
            if valid is not None:
                part = xp.where(valid[..., None], part, fill)
            if weight is not None:
                part = part * weight[..., None]
            out = part if out is None else out + part
        return out.astype(images.dtype, copy=False)

    def backward(self, grad):
        if not self.needs_grad[0]:
            return None, None
        xp = backend.get_array_module(grad)
        n, h, w, c = self.shape
        ids, parts = [], []
        for flat, weight, valid in self.points:
            part = grad
            if weight is not None:
                part = part * weight[..., None].astype(grad.dtype, copy=False)
            if valid is not None:
                part = part * valid[..., None]
            ids.append(flat)
            parts.append(part.reshape(-1, c))
        dx = scatter_add_rows(xp, xp.concatenate(ids), xp.concatenate(parts), n * h * w)
        return dx.reshape(self.shape).astype(grad.dtype, copy=False), None


def _standard_format(data_format, where):
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: data_format must be 'channels_last' or 'channels_first' (or None), got "
                         f"{data_format!r}")
    return data_format


def _as_tensor(x):
    from . import convert_to_tensor
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Each image resampled at the points its affine (or projective) transform maps the
    output pixels to, as Keras 3's ``keras.ops.image.affine_transform``.

    Output pixel ``(x, y)`` (column, row) reads the input at
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``. Differentiable
    in ``images``; integer images are computed in float32 and rounded back to their dtype.

    Args:
        images (Tensor | array): ``(N, H, W, C)`` or one image ``(H, W, C)``
            (``channels_first``: channels before height).
        transform (Tensor | array): ``(N, 8)`` rows ``[a0, a1, a2, b0, b1, b2, c0, c1]``, or one
            row ``(8,)`` used for every image.
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode (str): points outside the image: ``"constant"`` (default), ``"nearest"``,
            ``"wrap"``, ``"mirror"`` or ``"reflect"``.
        fill_value (float): the value outside the image with ``fill_mode="constant"``
            (default 0).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.

    Examples:
        >>> from kerasette import ops
        >>> image = np.arange(9.0).reshape(1, 3, 3, 1)
        >>> shift = [1, 0, 1, 0, 1, 0, 0, 0]            # read one column to the right
        >>> ops.image.affine_transform(image, shift).numpy()[0, :, :, 0].tolist()
        [[1.0, 2.0, 0.0], [4.0, 5.0, 0.0], [7.0, 8.0, 0.0]]
    """
    where = "affine_transform"
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{where}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    if isinstance(fill_value, bool) or not np.isscalar(fill_value) or not np.isreal(fill_value):
        raise ValueError(f"{where}: fill_value must be a number, got {fill_value!r}")
    data_format = _standard_format(data_format, where)
    x = _as_tensor(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: images must have rank 4 (batch) or 3 (one image), got shape {tuple(x.shape)}")
    xp = backend.get_array_module(x.value)
    in_dtype = np.dtype(x.dtype)
    compute = in_dtype if in_dtype.kind == "f" else np.dtype("float32")
    t = getattr(transform, "value", transform)
    t = backend.to_device(t if backend.is_array(t) else np.asarray(t, dtype=np.float64), xp, dtype=compute)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"{where}: transform must have shape (8,) or (batch, 8), got {tuple(t.shape)}")
    from .math import cast
    from .shape import expand_dims, squeeze, transpose
    single = x.ndim == 3
    if single:
        x = expand_dims(x, 0)
    if t.ndim == 1:
        t = t[None, :]
    if t.shape[0] != x.shape[0]:
        if t.shape[0] != 1:
            raise ValueError(f"{where}: {t.shape[0]} transforms for {x.shape[0]} images")
        t = xp.broadcast_to(t, (x.shape[0], 8))
    if in_dtype != compute:
        x = cast(x, compute)
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 1))
    out = AffineTransform(interpolation, fill_mode, float(fill_value))(x, Tensor(xp.ascontiguousarray(t)))
    if data_format == "channels_first":
        out = transpose(out, (0, 3, 1, 2))
    if single:
        out = squeeze(out, axis=0)
    if in_dtype != compute:
        v = out.value
        if in_dtype.kind in "iu":
            info = np.iinfo(in_dtype)
            v = xp.clip(xp.round(v), info.min, info.max)
        out = Tensor(v.astype(in_dtype))
    return out


def rgb_to_grayscale(images, data_format=None):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` as one channel (Keras 3's weights); a
    one-channel image is returned as it is. Differentiable for float images.

    Args:
        images (Tensor | array): ``(N, H, W, 3)`` or one image ``(H, W, 3)`` (``channels_first``:
            channels before height); 1 channel is also accepted.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.

    Examples:
        >>> from kerasette import ops
        >>> ops.image.rgb_to_grayscale(np.ones((1, 2, 2, 3), "float32")).shape
        (1, 2, 2, 1)
    """
    where = "rgb_to_grayscale"
    data_format = _standard_format(data_format, where)
    x = _as_tensor(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: images must have rank 4 (batch) or 3 (one image), got shape {tuple(x.shape)}")
    axis = x.ndim - 3 if data_format == "channels_first" else x.ndim - 1
    if x.shape[axis] == 1:
        return x
    if x.shape[axis] != 3:
        raise ValueError(f"{where}: expected 3 channels (RGB) or 1, got shape {tuple(x.shape)}")
    from .math import cast, multiply, sum as _sum
    in_dtype = np.dtype(x.dtype)
    xf = x if in_dtype.kind == "f" else cast(x, "float32")
    shape = [1] * x.ndim
    shape[axis] = 3
    xp = backend.get_array_module(xf.value)
    weights = backend.to_device(np.asarray(_GRAY).reshape(shape), xp, dtype=xf.dtype)
    out = _sum(multiply(xf, weights), axis=axis, keepdims=True)
    return out if in_dtype.kind == "f" else cast(out, in_dtype)
