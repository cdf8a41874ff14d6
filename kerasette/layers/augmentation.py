"""Image augmentation layers with Keras 3's names, arguments, factor conventions and configs:
RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomShear, RandomCrop,
RandomContrast, RandomBrightness, RandomGrayscale, RandomInvert, RandomSharpness.

As in Keras 3, a layer transforms its input when the call is in training (``fit``; also a
direct call ``layer(images)``, whose ``training`` defaults to True) and is the identity at
inference (``predict``, ``evaluate``, ``training=False``) — except RandomCrop, which always
returns the target size. Integer images (``uint8``) are cast to the layer's float dtype.

Each image of a batch gets its own transform (RandomCrop: one window per batch, as Keras),
drawn on the host from the layer's ``keras.random.SeedGenerator(seed)`` (``seed=None``: from the
global generator that ``keras.utils.set_random_seed`` restarts, so a model and its reloaded
clone draw alike), so the same seed gives the same transforms on every device. The geometric
layers build one ``(N, 8)`` array of transforms and sample the whole batch with one
``ops.image.affine_transform``; every layer passes gradients to its input.
"""
import math
import numbers

import numpy as np

from .. import backend, ops, random
from ..autograd.tensor import Tensor
from ..ops import image as image_ops
from .core import shape_str
from .layer import Layer
from .preprocessing import _crop_box, _slice_image
from .reshaping import check_interpolation, resize_images, standardize_data_format

__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomShear", "RandomCrop",
           "RandomContrast", "RandomBrightness", "RandomGrayscale", "RandomInvert", "RandomSharpness"]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _number(layer, value, what):
    if not _is_number(value):
        raise ValueError(f"{_where(layer)}: {what} must be a number, got {value!r}")
    return float(value)


def _pair(layer, value, what, shape="a number or a pair (lower, upper)"):
    """A 2-list / tuple of finite numbers, or None when ``value`` is a single number."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise ValueError(f"{_where(layer)}: {what} must be {shape}, got {value!r}")
        return [float(v) for v in value]
    if not _is_number(value):
        raise ValueError(f"{_where(layer)}: {what} must be {shape}, got {value!r}")
    return None


def _bounded_factor(layer, factor, bounds, what="factor"):
    """Keras's rule for ``factor`` in ``bounds``: a number ``f`` (``|f|`` used) gives
    ``(max(-|f|, low), |f|)``; a pair is sorted and must reach into the bounds."""
    low, high = bounds
    msg = f"{_where(layer)}: {what} must be a number in [{low}, {high}] or a pair (lower, upper), got {factor!r}"
    pair = _pair(layer, factor, what)
    if pair is not None:
        if pair[0] > high or pair[1] < low:
            raise ValueError(msg)
        return tuple(sorted(pair))
    if not low <= factor <= high:
        raise ValueError(msg)
    f = abs(float(factor))
    return (max(-f, low), f)


def _symmetric_factor(layer, factor, what, low, high, low_open=False, pair_low=None):
    """``(-|f|, |f|)`` from a number, a sorted pair from a pair; each value in the range
    (``pair_low``: a lower bound of its own for the values of a pair)."""
    pair = _pair(layer, factor, what)
    lowest = low if pair is None or pair_low is None else pair_low

    def inside(v):
        return (lowest < v if low_open else lowest <= v) and v <= high
    bracket = "(" if low_open else "["
    kind = "a number" if pair is None else "a pair (lower, upper) of numbers"
    msg = f"{_where(layer)}: {what} must be {kind} in {bracket}{lowest}, {high}], got {factor!r}"
    values = pair if pair is not None else [factor]
    if not all(inside(v) for v in values):
        raise ValueError(msg)
    if pair is not None:
        return tuple(sorted(pair))
    f = abs(float(factor))
    return (-f, f)


def _value_range(layer, value_range, sort):
    if (not isinstance(value_range, (list, tuple)) or len(value_range) != 2
            or not all(_is_number(v) for v in value_range)):
        raise ValueError(f"{_where(layer)}: value_range must be a pair of numbers (low, high), got {value_range!r}")
    values = [int(v) if isinstance(v, (int, np.integer)) else float(v) for v in value_range]
    return sorted(values) if sort else list(values)


def _fill_mode(layer, fill_mode):
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"{_where(layer)}: fill_mode must be one of {_FILL_MODES}, got {fill_mode!r}")
    return fill_mode


def _seed(layer, seed):
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise ValueError(f"{_where(layer)}: seed must be an int or None, got {seed!r}")
    return None if seed is None else int(seed)


class _RandomImageLayer(Layer):
    """The shared frame: arguments, rank checks, the training switch, host draws, configs."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        box_format = kwargs.pop("bounding_box_format", None)
        super().__init__(**kwargs)
        if box_format is not None:
            raise NotImplementedError(f"{_where(self)}: bounding boxes are not supported by kerasette yet; "
                                      f"pass bounding_box_format=None, got {box_format!r}")
        self.seed = _seed(self, seed)
        self.seed_generator = random.SeedGenerator(self.seed) if self.seed is not None else None
        self.data_format = standardize_data_format(self, data_format)

    # -- shapes ------------------------------------------------------------------------------
    def _axes(self, shape):
        """(height axis, width axis, channel axis) of a rank-4 or rank-3 input."""
        if len(shape) not in (3, 4):
            raise ValueError(f"{_where(self)}: expected images of rank 4 (batch, height, width, channels) or 3 "
                             f"(one image), got shape {shape_str(tuple(shape))}")
        lead = len(shape) - 3
        if self.data_format == "channels_first":
            return lead + 1, lead + 2, lead
        return lead, lead + 1, lead + 2

    def _check_symbolic_input(self, inputs):
        self._axes(inputs.shape)

    def compute_output_shape(self, input_shape):
        self._axes(input_shape)
        return tuple(input_shape)

    # -- calling -----------------------------------------------------------------------------
    def call(self, inputs, training=True):
        if isinstance(inputs, dict):
            raise NotImplementedError(f"{_where(self)}: dict inputs (images with bounding boxes, labels or "
                                      f"segmentation masks) are not supported by kerasette yet; pass the images")
        self._axes(inputs.shape)
        x = inputs
        if np.dtype(x.dtype).kind != "f" or str(x.dtype) != str(self._float_dtype()):
            x = ops.cast(x, self._float_dtype())
        if training is not None and not training:
            return self._inference(x)
        single = len(x.shape) == 3
        out = self._augment(ops.expand_dims(x, 0) if single else x)
        return ops.squeeze(out, axis=0) if single else out

    def _float_dtype(self):
        return self.dtype if "float" in str(self.dtype) else backend.floatx()

    def _inference(self, x):
        return x

    def _augment(self, x):
        raise NotImplementedError

    # -- helpers on a rank-4 batch ------------------------------------------------------------
    def _hw(self, x):
        h_axis, w_axis = (2, 3) if self.data_format == "channels_first" else (1, 2)
        return x.shape[h_axis], x.shape[w_axis]

    def _uniform(self, shape, low=0.0, high=1.0):
        """Host float64 draws in ``[low, high)`` from the layer's generator (one per image)."""
        with backend.device_scope("cpu"):
            draw = random.uniform(shape, dtype="float32", seed=self.seed_generator).numpy()
        return low + draw.astype(np.float64) * (high - low)

    def _per_image(self, x, values):
        """Host values ``(N,)`` as a ``(N, 1, 1, 1)`` array on ``x``'s device, in its dtype."""
        v = np.asarray(values).reshape(-1, 1, 1, 1)
        return backend.to_device(v, backend.get_array_module(x.value), dtype=x.dtype)

    def _mask(self, x, values):
        return backend.to_device(np.asarray(values, bool).reshape(-1, 1, 1, 1), backend.get_array_module(x.value))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


class _AffineLayer(_RandomImageLayer):
    """Layers that sample the image through per-image affine transforms."""

    def __init__(self, fill_mode, interpolation, fill_value, seed, data_format, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = _fill_mode(self, fill_mode)
        self.interpolation = check_interpolation(self, interpolation)
        self.fill_value = _number(self, fill_value, "fill_value")

    def _augment(self, x):
        h, w = self._hw(x)
        transforms = self._transforms(x.shape[0], h, w)
        return image_ops.affine_transform(x, transforms, interpolation=self.interpolation, fill_mode=self.fill_mode,
                                          fill_value=self.fill_value, data_format=self.data_format)

    def _transforms(self, n, h, w):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


def _rows(*columns):
    """``(N, 8)`` float64 transform rows from 8 columns (arrays of length N or numbers)."""
    n = max(np.size(c) for c in columns)
    return np.stack([np.broadcast_to(np.asarray(c, np.float64).reshape(-1), (n,)) for c in columns], axis=1)


class RandomFlip(_RandomImageLayer):
    """Flips images left-right and / or top-bottom during training; the identity at inference.

    Each image is flipped with probability 1/2 (one draw per image, as Keras 3: with
    ``"horizontal_and_vertical"`` an image is flipped both ways or not at all). Input
    ``(batch, height, width, channels)`` or one image ``(height, width, channels)``; output of
    the same shape, in the layer's float dtype.

    Args:
        mode (str): ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
            ``"horizontal_and_vertical"`` (default).
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator`` (two layers made
            with the same seed flip alike); None draws from the global generator, which
            ``keras.utils.set_random_seed`` restarts.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): flip only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
        >>> keras.layers.RandomFlip("horizontal")(x, training=False).numpy().ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"{_where(self)}: mode must be one of {self._MODES}, got {mode!r}")
        self.mode = mode

    def _augment(self, x):
        flips = self._mask(x, self._uniform((x.shape[0],)) <= 0.5)
        h_axis, w_axis = (2, 3) if self.data_format == "channels_first" else (1, 2)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x = ops.where(flips, ops.flip(x, axis=w_axis), x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            x = ops.where(flips, ops.flip(x, axis=h_axis), x)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle about its centre during training; the identity
    at inference.

    The angle is drawn uniformly from ``[lower * 360, upper * 360]`` degrees (positive:
    counter-clockwise); pixels from outside the image are filled by ``fill_mode``. Output
    shape = input shape, in the layer's float dtype.

    Args:
        factor (float | tuple[float, float]): fraction of a full turn: a number ``f`` in
            ``[-1, 1]`` gives ``(-|f|, |f|)``, a pair ``(lower, upper)`` is used as it is
            (sorted). E.g. ``0.1``: angles in ``[-36, 36]`` degrees.
        fill_mode (str): ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        fill_value (float): the value outside the image with ``fill_mode="constant"`` (default 0).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): rotate only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RandomRotation(0.1)(np.zeros((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed, data_format, **kwargs)
        self.factor = _bounded_factor(self, factor, (-1.0, 1.0))

    def _transforms(self, n, h, w):
        angle = np.deg2rad(self._uniform((n,), self.factor[0] * 360.0, self.factor[1] * 360.0))
        return _rotation_transforms(angle, h, w)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


def _rotation_transforms(angle, height, width):
    """``(N, 8)`` transforms that rotate ``height x width`` images by ``angle`` radians about
    their centre ``((width - 1) / 2, (height - 1) / 2)``, as Keras 3's RandomRotation builds them.

    Args:
        angle (array): ``(N,)`` angles in radians.
        height (int): the image height.
        width (int): the image width.
    """
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    cos, sin = np.cos(angle), np.sin(angle)
    return _rows(cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0.0, 0.0)


class RandomZoom(_AffineLayer):
    """Zooms each image in or out by a random factor about its centre during training; the
    identity at inference.

    The height is scaled by ``1 + u``, ``u`` drawn from ``[lower, upper]`` of
    ``height_factor``: a positive ``u`` zooms out (the image shrinks, the border is filled by
    ``fill_mode``), a negative one zooms in. Output shape = input shape.

    Args:
        height_factor (float | tuple[float, float]): a number ``f`` in ``(-1, 1]`` gives
            ``(-|f|, |f|)``; a pair ``(lower, upper)`` (each in ``(-1, 1]``) is used as it is.
        width_factor (float | tuple[float, float] | None): the same for the width; None
            (default) zooms the width by the height's factor (the aspect ratio is kept).
        fill_mode (str): ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        fill_value (float): the value outside the image with ``fill_mode="constant"`` (default 0).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): zoom only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RandomZoom((-0.2, 0.2))(np.zeros((2, 8, 8, 3)), training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed, data_format, **kwargs)
        self._height = _symmetric_factor(self, height_factor, "height_factor", -1.0, 1.0, low_open=True)
        self._width = (None if width_factor is None
                       else _symmetric_factor(self, width_factor, "width_factor", -1.0, 1.0, low_open=True))
        self.height_factor = list(height_factor) if isinstance(height_factor, tuple) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, tuple) else width_factor

    def _transforms(self, n, h, w):
        zh = self._uniform((n,), 1.0 + self._height[0], 1.0 + self._height[1])
        zw = zh if self._width is None else self._uniform((n,), 1.0 + self._width[0], 1.0 + self._width[1])
        return _rows(zw, 0.0, (w - 1) / 2.0 * (1.0 - zw), 0.0, zh, (h - 1) / 2.0 * (1.0 - zh), 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """Shifts each image by a random fraction of its height and width during training; the
    identity at inference.

    The shift is ``u * height`` rows and ``v * width`` columns, ``u`` and ``v`` drawn from the
    factors' ranges (positive: down / right); the uncovered part is filled by ``fill_mode``.
    Output shape = input shape.

    Args:
        height_factor (float | tuple[float, float]): a number ``f`` in ``[-1, 1]`` gives
            ``(-|f|, |f|)``; a pair ``(lower, upper)`` (each in ``[-1, 1]``) is used as it is.
        width_factor (float | tuple[float, float]): the same for the horizontal shift.
        fill_mode (str): ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        fill_value (float): the value outside the image with ``fill_mode="constant"`` (default 0).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): shift only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> shift = keras.layers.RandomTranslation(0.0, (0.25, 0.25), fill_mode="constant")
        >>> shift(np.arange(1.0, 5.0).reshape(1, 1, 4, 1)).numpy().ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed, data_format, **kwargs)
        self._height = _symmetric_factor(self, height_factor, "height_factor", -1.0, 1.0)
        self._width = _symmetric_factor(self, width_factor, "width_factor", -1.0, 1.0)
        self.height_factor = list(height_factor) if isinstance(height_factor, tuple) else height_factor
        self.width_factor = list(width_factor) if isinstance(width_factor, tuple) else width_factor

    def _transforms(self, n, h, w):
        dy = self._uniform((n,), *self._height) * h
        dx = self._uniform((n,), *self._width) * w
        return _rows(1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomShear(_AffineLayer):
    """Shears each image by random factors along x and y during training; the identity at
    inference.

    Output pixel ``(x, y)`` reads the input at ``(x + sx * y, y + sy * x)`` (a shear about the
    top-left corner, as Keras 3), ``sx`` and ``sy`` drawn from the factors' ranges and both
    negated for a random half of the images. Output shape = input shape.

    Args:
        x_factor (float | tuple[float, float]): a number ``f`` in ``[0, 1]`` gives ``(-f, f)``;
            a pair ``(lower, upper)`` is used as it is (default 0.0). Keras 3 takes pairs in
            ``[0, 1]`` only; kerasette also takes ``[-1, 1]``, as Keras saves ``f`` as ``(-f, f)``.
        y_factor (float | tuple[float, float]): the same along y (default 0.0).
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        fill_mode (str): ``"reflect"`` (default), ``"wrap"``, ``"constant"`` or ``"nearest"``.
        fill_value (float): the value outside the image with ``fill_mode="constant"`` (default 0).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): shear only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RandomShear(x_factor=0.2)(np.zeros((2, 8, 8, 3))).shape
        (2, 8, 8, 3)
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode, interpolation, fill_value, seed, data_format, **kwargs)
        # a pair may reach down to -1: Keras 3 saves ``0.2`` as the pair (-0.2, 0.2), which its
        # own check (pairs in [0, 1]) then refuses; kerasette loads such files
        self._x = _symmetric_factor(self, x_factor, "x_factor", 0.0, 1.0, pair_low=-1.0)
        self._y = _symmetric_factor(self, y_factor, "y_factor", 0.0, 1.0, pair_low=-1.0)
        # kept as given, so the config round trip gives the same layer
        self.x_factor = list(x_factor) if isinstance(x_factor, tuple) else x_factor
        self.y_factor = list(y_factor) if isinstance(y_factor, tuple) else y_factor

    def _transforms(self, n, h, w):
        sign = np.where(self._uniform((n,)) > 0.5, -1.0, 1.0)
        sy = self._uniform((n,), *self._y) * sign
        sx = self._uniform((n,), *self._x) * sign
        return _rows(1.0, sx, 0.0, sy, 1.0, 0.0, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


class RandomCrop(_RandomImageLayer):
    """Crops a random ``height x width`` window during training (one window for the whole
    batch, as Keras 3); at inference, and in training when the image is not larger than the
    target on both sides, crops the largest centred window of the target aspect ratio and
    resizes it (bilinear) to ``height x width``.

    The output is ``height x width`` in both modes, as Keras documents and its
    ``compute_output_shape`` says (Keras 3.15 on torch returns the uncropped image at
    inference; kerasette keeps the documented behaviour, which the layers after it rely on).

    Args:
        height (int): the output height.
        width (int): the output width.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): a random window in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RandomCrop(4, 4)(np.zeros((2, 8, 8, 3))).shape
        (2, 4, 4, 3)
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        for value, what in ((height, "height"), (width, "width")):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{_where(self)}: {what} must be a positive integer, got {value!r}")
        self.height, self.width = int(height), int(width)

    def _slice(self, x, top, left, h, w):
        return _slice_image(x, (2, 3) if self.data_format == "channels_first" else (1, 2), top, left, h, w)

    def _centre(self, x):
        h, w = self._hw(x)
        top, left, ch, cw = _crop_box(h, w, self.height, self.width)
        x = self._slice(x, top, left, ch, cw)
        return resize_images(x, self.height, self.width, "bilinear", self.data_format)

    def _augment(self, x):
        h, w = self._hw(x)
        if h > self.height and w > self.width:
            top = int(self._uniform((), 0.0, float(h - self.height + 1)))
            left = int(self._uniform((), 0.0, float(w - self.width + 1)))
            return self._slice(x, min(top, h - self.height), min(left, w - self.width), self.height, self.width)
        return self._centre(x)

    def _inference(self, x):
        single = len(x.shape) == 3
        out = self._centre(ops.expand_dims(x, 0) if single else x)
        return ops.squeeze(out, axis=0) if single else out

    def compute_output_shape(self, input_shape):
        h_axis, w_axis, _ = self._axes(input_shape)
        out = list(input_shape)
        out[h_axis], out[w_axis] = self.height, self.width
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomContrast(_RandomImageLayer):
    """Scales each image's contrast by a random factor during training; the identity at
    inference.

    Per image and channel, ``(x - mean) * c + mean`` (mean over height and width) with ``c``
    drawn from ``[1 - lower, 1 + upper]``, then clipped to ``value_range``.

    Args:
        factor (float | tuple[float, float]): ``(lower, upper)``; a number ``f`` in ``[0, 1]``
            gives ``(0, f)``, so ``c`` in ``[1, 1 + f]``, as Keras 3 reads it (pass ``(f, f)`` for
            ``[1 - f, 1 + f]``).
        value_range (tuple[float, float]): the range of the pixel values, the output is clipped
            to it (default ``(0, 255)``).
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): change the contrast only in training (``fit`` passes True,
            ``predict`` False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> double = keras.layers.RandomContrast((-1.0, 1.0))          # c = 2 exactly
        >>> double(np.array([[[[1.0], [3.0]]]])).numpy().ravel().tolist()
        [0.0, 4.0]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _bounded_factor(self, factor, (0.0, 1.0))
        self.value_range = _value_range(self, value_range, sort=False)

    def _augment(self, x):
        c = self._uniform((x.shape[0],), 1.0 - self.factor[0], 1.0 + self.factor[1])
        axes = (2, 3) if self.data_format == "channels_first" else (1, 2)
        mean = ops.mean(x, axis=axes, keepdims=True)
        out = ops.add(ops.multiply(ops.subtract(x, mean), self._per_image(x, c)), mean)
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomBrightness(_RandomImageLayer):
    """Adds a random brightness offset to each image during training; the identity at
    inference.

    The offset is ``u * (high - low)`` of ``value_range``, ``u`` drawn from the factor's
    range; the result is clipped to ``value_range``.

    Args:
        factor (float | tuple[float, float]): a number ``f`` in ``[-1, 1]`` gives
            ``(-|f|, |f|)``; a pair ``(lower, upper)`` is used as it is (sorted).
        value_range (tuple[float, float]): the range of the pixel values (default ``(0, 255)``);
            stored sorted.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): change the brightness only in training (``fit`` passes True,
            ``predict`` False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> brighter = keras.layers.RandomBrightness((0.5, 0.5), value_range=(0, 1))
        >>> brighter(np.array([[[[0.2], [0.7]]]])).numpy().ravel().tolist()
        [0.699999988079071, 1.0]
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _bounded_factor(self, factor, (-1.0, 1.0))
        self.value_range = _value_range(self, value_range, sort=True)

    def _augment(self, x):
        low, high = self.value_range
        delta = self._uniform((x.shape[0],), *self.factor) * (high - low)
        return ops.clip(ops.add(x, self._per_image(x, delta)), low, high)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomGrayscale(_RandomImageLayer):
    """Turns each image to grayscale with probability ``factor`` during training (the luma
    ``0.2989 R + 0.587 G + 0.114 B`` in all three channels); the identity at inference.

    Input with 3 channels (RGB) or 1 (left as it is); output shape = input shape.

    Args:
        factor (float): the probability of converting an image, in ``[0, 1]`` (default 0.5).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): convert only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> gray = keras.layers.RandomGrayscale(1.0)(np.array([[[[1.0, 0.0, 0.0]]]]))
        >>> [round(float(v), 4) for v in gray.numpy().ravel()]
        [0.2989, 0.2989, 0.2989]
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not _is_number(factor) or not 0 <= factor <= 1:
            raise ValueError(f"{_where(self)}: factor must be a number in [0, 1], got {factor!r}")
        self.factor = float(factor)

    def _augment(self, x):
        apply = self._mask(x, self._uniform((x.shape[0],)) < self.factor)
        gray = image_ops.rgb_to_grayscale(x, data_format=self.data_format)
        return ops.where(apply, ops.broadcast_to(gray, tuple(x.shape)), x)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomInvert(_RandomImageLayer):
    """Inverts each image (``value_range[1] - x``, Keras 3's formula) with a random
    probability during training; the identity at inference.

    Per image, a probability ``p`` is drawn from the factor's range and the image is inverted
    when a second uniform draw falls below it (``factor=1.0``: ``p`` uniform in ``[0, 1]``, so
    half of the images on average).

    Args:
        factor (float | tuple[float, float]): a number ``f`` in ``[0, 1]`` gives ``(0, f)``; a
            pair ``(lower, upper)`` is used as it is (default 1.0).
        value_range (tuple[float, float]): the range of the pixel values (default ``(0, 255)``).
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): invert only in training (``fit`` passes True, ``predict``
            False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RandomInvert()(np.full((1, 1, 2, 1), 10.0), training=False).numpy().ravel().tolist()
        [10.0, 10.0]
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _bounded_factor(self, factor, (0.0, 1.0))
        self.value_range = _value_range(self, value_range, sort=False)

    def _augment(self, x):
        n = x.shape[0]
        probability = self._uniform((n,), *self.factor)
        apply = self._mask(x, self._uniform((n,)) < probability)
        return ops.where(apply, ops.subtract(self.value_range[1], x), x)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomSharpness(_RandomImageLayer):
    """Sharpens or blurs each image by a random amount during training; the identity at
    inference.

    With ``s = 2 u``, ``u`` drawn from the factor's range, the output is
    ``x + (1 - s) * (blur(x) - x)`` clipped to ``value_range``, where ``blur`` is Keras's 3x3
    smoothing kernel (``1/13`` around, ``5/13`` at the centre, zero padding): ``s < 1`` blurs,
    ``s > 1`` sharpens.

    Args:
        factor (float | tuple[float, float]): a number ``f`` in ``[0, 1]`` gives ``(0, f)``; a
            pair ``(lower, upper)`` is used as it is.
        value_range (tuple[float, float]): the range of the pixel values (default ``(0, 255)``);
            stored sorted.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: images of rank 4 or 3.
        training (bool | None): change the sharpness only in training (``fit`` passes True,
            ``predict`` False); a direct call defaults to True, as in Keras 3.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RandomSharpness(0.5)(np.zeros((2, 8, 8, 3))).shape
        (2, 8, 8, 3)
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _bounded_factor(self, factor, (0.0, 1.0))
        self.value_range = _value_range(self, value_range, sort=True)

    def _augment(self, x):
        s = self._uniform((x.shape[0],), *self.factor) * 2.0
        channels = x.shape[1] if self.data_format == "channels_first" else x.shape[3]
        kernel = np.full((3, 3), 1.0 / 13.0)
        kernel[1, 1] = 5.0 / 13.0
        kernel = np.tile(kernel[:, :, None, None], (1, 1, channels, 1))
        kernel = backend.to_device(kernel, backend.get_array_module(x.value), dtype=x.dtype)
        blurred = ops.depthwise_conv(x, Tensor(kernel), strides=1, padding="same", data_format=self.data_format)
        out = ops.add(x, ops.multiply(ops.subtract(blurred, x), self._per_image(x, 1.0 - s)))
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
