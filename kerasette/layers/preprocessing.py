"""Preprocessing inside models: Rescaling, Normalization (with ``adapt``), CenterCrop
and Resizing, with Keras 3's arithmetic (so a model that holds them predicts what
Keras predicts). Integer inputs (``uint8`` images) are cast to the layer's float dtype.
"""
import numbers

import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from .core import shape_str
from .layer import Layer
from .reshaping import check_interpolation, resize_images, standardize_data_format

__all__ = ["Rescaling", "Normalization", "CenterCrop", "Resizing"]


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _as_float(layer, inputs):
    """Inputs as the layer's float dtype (integer images are cast; floats already are)."""
    dtype = layer.dtype if "float" in str(layer.dtype) else backend.floatx()
    return inputs if str(inputs.dtype) == str(dtype) else ops.cast(inputs, dtype)


def _constant(value, like):
    """A host array or number as an array on ``like``'s device, in its dtype."""
    return backend.to_device(np.asarray(value), backend.get_array_module(like.value), dtype=like.dtype)


def _scale_value(layer, value, what):
    """A number, or a list / array of numbers (per-channel), checked finite."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or isinstance(value, (bool, str)) or not np.isfinite(arr).all() or arr.size == 0:
        raise ValueError(f"{_where(layer)}: {what} must be a number or a list of numbers, got {value!r}")
    return float(arr) if arr.ndim == 0 else arr.tolist()


class Rescaling(Layer):
    """``inputs * scale + offset``: e.g. ``Rescaling(1 / 255)`` maps ``[0, 255]`` to ``[0, 1]``,
    ``Rescaling(1 / 127.5, offset=-1)`` to ``[-1, 1]``.

    Output shape = input shape, in the layer's float dtype; masks pass through.

    Args:
        scale (float | list[float]): the factor; a list scales each channel (last axis).
        offset (float | list[float]): added after scaling (default 0.0).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Rescaling(1 / 127.5, offset=-1)(np.array([[0, 255]], "uint8")).value.tolist()
        [[-1.0, 1.0]]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _scale_value(self, scale, "scale")
        self.offset = _scale_value(self, offset, "offset")
        self.supports_masking = True

    def call(self, inputs):
        x = _as_float(self, inputs)
        return ops.add(ops.multiply(x, _constant(self.scale, x)), _constant(self.offset, x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """Standardizes features: ``(x - mean) / sqrt(variance)`` (``max(sqrt(var), 1e-7)``),
    with ``mean`` and ``variance`` given or learned from data by ``adapt``; ``invert=True``
    undoes it (``mean + x * sqrt(variance)``).

    One mean and variance per index of the ``axis`` axes (the last by default: one per
    feature); the other axes are reduced over by ``adapt``. Adapted statistics are the
    non-trainable weights ``mean``, ``variance`` and ``count``, as Keras saves them.

    Args:
        axis (int | tuple[int, ...] | None): the axes that keep their own statistics
            (default -1); None: a single mean and variance for everything.
        mean (float | array | None): fixed mean (with ``variance``), broadcast to the kept
            axes; None (default): learned by ``adapt`` (zeros until then).
        variance (float | array | None): fixed variance, the same shape as ``mean``.
        invert (bool): apply the inverse transformation (default False).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> layer(np.array([[1.0, 20.0]])).value.tolist()
        [[0.0, 0.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                                     for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(f"{_where(self)}: axis must be an int, a tuple of ints or None, got {axis!r}")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(f"{_where(self)}: give both mean and variance or neither, got mean={mean!r} "
                             f"and variance={variance!r}")
        if mean is not None:
            m, v = np.asarray(mean, dtype=np.float64), np.asarray(variance, dtype=np.float64)
            if m.shape != v.shape:
                raise ValueError(f"{_where(self)}: mean and variance must have the same shape, got "
                                 f"{m.shape} and {v.shape}")
            if m.ndim > len(self.axis):
                raise ValueError(f"{_where(self)}: mean must have at most {len(self.axis)} axes (one per "
                                 f"entry of axis={self.axis}), got shape {m.shape}")
            if (v < 0).any():
                raise ValueError(f"{_where(self)}: variance must be >= 0, got {variance!r}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._fixed = None

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"{_where(self)}: axis {self.axis} is out of range for input shape "
                             f"{shape_str(tuple(input_shape))}")
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(f"{_where(self)}: the axes in axis={self.axis} must have a known size, "
                                 f"got input shape {shape_str(tuple(input_shape))}")
        self._keep, self._ndim = keep, ndim
        self._reduce = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        stats_shape = tuple(input_shape[d] for d in keep)
        self._stats_shape = stats_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=stats_shape, initializer="zeros", name="mean",
                                              trainable=False)
            self.adapt_variance = self.add_weight(shape=stats_shape, initializer="ones", name="variance",
                                                  trainable=False)
            self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32", name="count",
                                         trainable=False)
        else:
            self._fixed = tuple(self._place(np.asarray(v, dtype=np.float64))
                                for v in (self.input_mean, self.input_variance))
        self.built = True

    def _place(self, value):
        """A given mean / variance aligned right-to-left with the kept axes and broadcast."""
        expanded = [1] * self._ndim
        for i in range(1, value.ndim + 1):
            expanded[self._keep[-i]] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(expanded), self._broadcast)
        except ValueError:
            raise ValueError(f"{_where(self)}: mean of shape {value.shape} does not fit the axes "
                             f"{self.axis} of sizes {self._stats_shape}") from None

    def _check(self, shape):
        if len(shape) != self._ndim or any(shape[d] is not None and shape[d] != self._broadcast[d]
                                           for d in self._keep):
            want = tuple(self._broadcast[d] if d in self._keep else None for d in range(self._ndim))
            raise ValueError(f"{_where(self)}: expected input of shape {shape_str(want)}, got shape "
                             f"{shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def adapt(self, data):
        """Compute the mean and variance of ``data`` over the reduced axes and store them.

        Builds the layer from the data's shape when it is not built yet. Only for a layer
        created without ``mean`` / ``variance``.

        Args:
            data (array | iterable): an array (or Tensor) of samples, or an iterable of
                batches (arrays, or ``(x, y)`` tuples whose ``x`` is used), combined exactly.

        Examples:
            >>> import kerasette as keras
            >>> norm = keras.layers.Normalization()
            >>> norm.adapt(np.array([[1.0], [3.0]]))
            >>> norm(np.array([[2.0], [3.0]])).numpy().round(4).tolist()
            [[0.0], [1.0]]
        """
        if self.input_mean is not None:
            raise ValueError(f"{_where(self)}: adapt() cannot change a mean and variance given to the "
                             f"constructor")
        if isinstance(data, Tensor):
            data = data.numpy()
        batches = [data] if (backend.is_array(data) or isinstance(data, np.ndarray)) else None
        if batches is None:
            if not hasattr(data, "__iter__"):
                raise TypeError(f"{_where(self)}: adapt() expects an array or an iterable of batches, got "
                                f"{type(data).__name__}")
            batches = data
        total_mean = total_var = None
        count = 0
        for batch in batches:
            batch = batch[0] if isinstance(batch, tuple) else batch
            batch = np.asarray(backend.to_numpy(getattr(batch, "value", batch)), dtype=np.float64)
            if not self.built:
                self.build(tuple(batch.shape))
            self._check(batch.shape)
            mean = batch.mean(axis=self._reduce)
            var = batch.var(axis=self._reduce)
            n = int(np.prod([batch.shape[d] for d in self._reduce])) if self._reduce else 1
            if total_mean is None:
                total_mean, total_var, count = mean, var, n
                continue
            count += n
            w = n / count
            new_mean = total_mean * (1 - w) + mean * w
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - w)
                         + (var + (mean - new_mean) ** 2) * w)
            total_mean = new_mean
        if total_mean is None:
            raise ValueError(f"{_where(self)}: adapt() received no data")
        self.adapt_mean.assign(np.asarray(total_mean).astype(self.adapt_mean.dtype))
        self.adapt_variance.assign(np.asarray(total_var).astype(self.adapt_variance.dtype))

    def _statistics(self, x):
        if self._fixed is not None:
            return _constant(self._fixed[0], x), _constant(self._fixed[1], x)
        mean = ops.cast(ops.reshape(self.adapt_mean, self._broadcast), x.dtype)
        var = ops.cast(ops.reshape(self.adapt_variance, self._broadcast), x.dtype)
        return mean, var

    def call(self, inputs):
        self._check(inputs.shape)
        x = _as_float(self, inputs)
        mean, var = self._statistics(x)
        std = ops.maximum(ops.sqrt(var), backend.epsilon())
        if self.invert:
            return ops.add(mean, ops.multiply(x, std))
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": None if self.input_mean is None else np.asarray(self.input_mean).tolist(),
                "variance": None if self.input_variance is None else np.asarray(self.input_variance).tolist()}


def _image_axes(layer, shape):
    """(height axis, width axis) of a rank-4 (or rank-3, unbatched) image input."""
    if len(shape) not in (3, 4):
        raise ValueError(f"{_where(layer)}: expected images of rank 4 (batch, height, width, channels) "
                         f"or 3 (one image), got shape {shape_str(tuple(shape))}")
    lead = len(shape) - 3
    return (lead + 1, lead + 2) if layer.data_format == "channels_first" else (lead, lead + 1)


def _positive(layer, value, what):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{_where(layer)}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _crop_box(height, width, target_height, target_width):
    """Keras's centred crop to the target aspect ratio: (top, left, crop_h, crop_w)."""
    crop_h = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_w = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def _slice_image(x, axes, top, left, h, w):
    key = [slice(None)] * len(x.shape)
    key[axes[0]], key[axes[1]] = slice(top, top + h), slice(left, left + w)
    return ops.get_item(x, tuple(key))


def _batched(layer, inputs, fn):
    """Run ``fn(x4, data_format)`` on a rank-4 batch (a rank-3 image gains a batch axis)."""
    if len(inputs.shape) == 3:
        return ops.squeeze(fn(ops.expand_dims(inputs, 0)), axis=0)
    return fn(inputs)


class Resizing(Layer):
    """Resizes images to ``height x width`` with Keras 3's half-pixel ``"bilinear"``
    (default) or ``"nearest"`` interpolation.

    Input ``(batch, height, width, channels)`` or one image ``(height, width, channels)``
    (``channels_first``: channels before height) -> the same with the new height and width.

    Args:
        height (int): output height.
        width (int): output width.
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``; Keras's
            ``"bicubic"``, ``"lanczos3"``, ``"lanczos5"`` and ``"area"`` are refused with
            NotImplementedError.
        crop_to_aspect_ratio (bool): first crop the largest centred window of the target
            aspect ratio, so the image is not distorted (default False).
        pad_to_aspect_ratio (bool): first pad (with ``fill_value``) to the target aspect
            ratio, keeping the image centred (default False); not with
            ``crop_to_aspect_ratio``.
        fill_mode (str): how padding is filled: only ``"constant"`` (default).
        fill_value (float): the padding value (default 0.0).
        antialias (bool): only False (default) is supported; True is refused.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Resizing(4, 6)(np.zeros((2, 8, 8, 3))).shape
        (2, 4, 6, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = _positive(self, height, "height")
        self.width = _positive(self, width, "width")
        self.interpolation = check_interpolation(self, interpolation)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{_where(self)}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio "
                             f"can be True")
        if fill_mode != "constant":
            raise ValueError(f"{_where(self)}: fill_mode must be 'constant', got {fill_mode!r}")
        if antialias:
            raise NotImplementedError(f"{_where(self)}: antialias=True is not supported by kerasette yet; "
                                      f"pass antialias=False")
        if not isinstance(fill_value, numbers.Real) or isinstance(fill_value, bool):
            raise ValueError(f"{_where(self)}: fill_value must be a number, got {fill_value!r}")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, float(fill_value), False
        self.data_format = standardize_data_format(self, data_format)

    def _check_symbolic_input(self, inputs):
        _image_axes(self, inputs.shape)

    def call(self, inputs):
        _image_axes(self, inputs.shape)
        x = _as_float(self, inputs)
        out = _batched(self, x, self._resize)
        if np.dtype(inputs.dtype).kind in "iu":         # Keras: integer images stay integer
            info = np.iinfo(np.dtype(inputs.dtype))
            v = out.value
            xp = backend.get_array_module(v)
            out = Tensor(xp.clip(xp.round(v), info.min, info.max).astype(inputs.dtype))
        return out

    def _resize(self, x):
        axes = _image_axes(self, x.shape)
        h, w = x.shape[axes[0]], x.shape[axes[1]]
        if self.crop_to_aspect_ratio:
            top, left, ch, cw = _crop_box(h, w, self.height, self.width)
            x = _slice_image(x, axes, top, left, ch, cw)
        elif self.pad_to_aspect_ratio:
            ph = max(h, int(float(w * self.height) / self.width))
            pw = max(w, int(float(h * self.width) / self.height))
            top, left = int(float(ph - h) / 2), int(float(pw - w) / 2)
            if top > 0 or left > 0:
                pads = [(0, 0)] * 4
                pads[axes[0]], pads[axes[1]] = (top, top), (left, left)
                x = ops.pad(x, tuple(pads))
                if self.fill_value:             # the padded border takes fill_value
                    inside = np.zeros(x.shape, dtype=bool)
                    key = [slice(None)] * 4
                    key[axes[0]], key[axes[1]] = slice(top, top + h), slice(left, left + w)
                    inside[tuple(key)] = True
                    inside = backend.to_device(inside, backend.get_array_module(x.value))
                    x = ops.where(inside, x, self.fill_value)
        return resize_images(x, self.height, self.width, self.interpolation, self.data_format)

    def compute_output_shape(self, input_shape):
        axes = _image_axes(self, input_shape)
        out = list(input_shape)
        out[axes[0]], out[axes[1]] = self.height, self.width
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height,
                "width": self.width, "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(Layer):
    """Crops the centre ``height x width`` of images; an image smaller than that on either
    side is instead cropped to the target aspect ratio and resized (bilinear), as Keras does.

    Input ``(batch, height, width, channels)`` or one image ``(height, width, channels)``
    -> the same with the new height and width, in the layer's float dtype.

    Args:
        height (int): output height.
        width (int): output width.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.CenterCrop(2, 2)(np.arange(16.0).reshape(1, 4, 4, 1)).value[0, :, :, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = _positive(self, height, "height")
        self.width = _positive(self, width, "width")
        self.data_format = standardize_data_format(self, data_format)

    def _check_symbolic_input(self, inputs):
        _image_axes(self, inputs.shape)

    def call(self, inputs):
        _image_axes(self, inputs.shape)
        return _batched(self, _as_float(self, inputs), self._crop)

    def _crop(self, x):
        axes = _image_axes(self, x.shape)
        h, w = x.shape[axes[0]], x.shape[axes[1]]
        if h >= self.height and w >= self.width:
            return _slice_image(x, axes, (h - self.height) // 2, (w - self.width) // 2, self.height, self.width)
        top, left, ch, cw = _crop_box(h, w, self.height, self.width)
        x = _slice_image(x, axes, top, left, ch, cw)
        return resize_images(x, self.height, self.width, "bilinear", self.data_format)

    def compute_output_shape(self, input_shape):
        axes = _image_axes(self, input_shape)
        out = list(input_shape)
        out[axes[0]], out[axes[1]] = self.height, self.width
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height,
                "width": self.width}
