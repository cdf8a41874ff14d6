"""The 3-D layers over ``(batch, depth, height, width, channels)`` volumes: Conv3D, the 3-D
max / average / global poolings, UpSampling3D, ZeroPadding3D and Cropping3D.

Conv3D and the windowed poolings are one graph node each (``kerasette.ops.conv3d``) and
work channels_last only (``data_format="channels_first"`` is refused by name). The global
poolings and the reshaping layers only move or reduce axes, so they also take
``"channels_first"`` ``(batch, channels, depth, height, width)`` as Keras does.
"""
import numpy as np

from .. import ops
from ..ops.conv import conv_output_length, normalize_padding, normalize_tuple
from ..ops.conv3d import avg_pool3d, conv3d, max_pool3d
from .conv import _Conv, check_data_format
from .core import shape_str
from .layer import Layer
from .pooling import WindowPooling
from .reshaping import standardize_data_format

__all__ = ["Conv3D", "Convolution3D", "MaxPooling3D", "AveragePooling3D", "GlobalAveragePooling3D",
           "GlobalMaxPooling3D", "UpSampling3D", "ZeroPadding3D", "Cropping3D", "MaxPool3D", "AvgPool3D",
           "GlobalAvgPool3D", "GlobalMaxPool3D"]

_AXES = ("depth", "height", "width")


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _check_rank5(layer, shape, data_format="channels_last"):
    shape = tuple(shape)
    if len(shape) != 5:
        what = ("(batch, depth, height, width, channels)" if data_format == "channels_last"
                else "(batch, channels, depth, height, width)")
        hint = (": the channel axis is missing; add one (e.g. x[..., None])"
                if len(shape) == 4 and data_format == "channels_last" else "")
        raise ValueError(f"{_where(layer)}: expected input of rank 5 {what}, got shape "
                         f"{shape_str(shape)}{hint}")


def _spatial(data_format):
    return (2, 3, 4) if data_format == "channels_first" else (1, 2, 3)


# -- convolution ------------------------------------------------------------------------------

class Conv3D(_Conv):
    """3-D convolution over ``(batch, depth, height, width, channels)`` volumes.

    ``activation(conv3d(inputs, kernel) + bias)``; the convolution and the bias are one
    graph node (im2col view and one GEMM). Kernel shape ``(kd, kh, kw, in_channels //
    groups, filters)`` and bias shape ``(filters,)``, exactly as Keras stores them.

    Input ``(batch, depth, height, width, channels)`` -> output ``(batch, new_depth,
    new_height, new_width, filters)``, where ``new = ceil(size / stride)`` with ``"same"``
    padding and ``floor((size - dilation * (k - 1) - 1) / stride) + 1`` with ``"valid"``.

    Args:
        filters (int): number of output channels.
        kernel_size (int | tuple[int, int, int]): window depth, height and width; an int
            for a cubic window.
        strides (int | tuple[int, int, int]): step of the window (default ``(1, 1, 1)``).
        padding (str): ``"valid"`` (default) or ``"same"`` (the extra pad goes after, as Keras).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int, int, int]): spacing between the kernel's taps
            (default 1); strides and dilation cannot both exceed 1.
        groups (int): channel groups (default 1): input channels and ``filters`` must be
            multiples of it; group ``i`` of the outputs sees group ``i`` of the inputs only.
        activation (str | callable | None): applied to the output (default None: linear).
        use_bias (bool): add a bias ``(filters,)`` (default True).
        **kwargs: ``kernel_initializer`` (default ``"glorot_uniform"``), ``bias_initializer``
            (``"zeros"``), ``kernel_regularizer``, ``bias_regularizer``, ``kernel_constraint``,
            ``bias_constraint`` as for ``Dense``; ``name``, ``trainable``, ``dtype`` as for
            every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> conv = keras.layers.Conv3D(4, 3, padding="same", activation="relu")
        >>> conv(np.zeros((2, 6, 8, 8, 1))).shape
        (2, 6, 8, 8, 4)
    """

    RANK = 3
    _splits_batch = False           # conv3d runs on the whole batch (BLAS keeps its threads)

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=1, activation=activation, use_bias=use_bias,
                         **kwargs)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(f"{_where(self)}: groups must be a positive integer, got {groups!r}")
        if self.filters % groups:
            raise ValueError(f"{_where(self)}: filters must be a multiple of groups, got filters="
                             f"{self.filters} and groups={groups}")
        self.groups = int(groups)

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        _check_rank5(self, shape)
        c = shape[-1]
        if c is None:
            raise ValueError(f"{_where(self)}: the channel axis (last) of the input must be known, got "
                             f"shape {shape_str(shape)}")
        if c % self.groups:
            raise ValueError(f"{_where(self)}: input channels must be a multiple of groups={self.groups}, "
                             f"got shape {shape_str(shape)}")
        kernel = getattr(self, "kernel", None)
        if kernel is not None and c != kernel.shape[3] * self.groups:
            raise ValueError(f"{_where(self)}: expected input with {kernel.shape[3] * self.groups} channels "
                             f"(last axis), got shape {shape_str(shape)}")
        if self.padding == "valid":
            for axis, name in enumerate(_AXES):
                size = shape[1 + axis]
                eff = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
                if size is not None and size < eff:
                    raise ValueError(f"{_where(self)}: kernel_size {self.kernel_size} (dilated extent {eff}) "
                                     f"is larger than the input {name} {size} (input shape "
                                     f"{shape_str(shape)}) with padding='valid'")

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        self._add_conv_weights(int(input_shape[-1]) // self.groups)

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return ((input_shape[0],)
                + tuple(conv_output_length(input_shape[1 + a], self.kernel_size[a], self.padding,
                                           self.strides[a], self.dilation_rate[a]) for a in range(3))
                + (self.filters,))

    def call(self, inputs):
        self._check_input_shape(inputs.shape)
        y = conv3d(inputs, self.kernel, strides=self.strides, padding=self.padding,
                   dilation_rate=self.dilation_rate, bias=self.bias, groups=self.groups)
        return y if self._fused is None else self.activation(y)


# -- windowed pooling -------------------------------------------------------------------------

class _Pooling3D(WindowPooling):
    AXES = _AXES

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, 3, "pool_size", where=_where(self))
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, 3, "strides", where=_where(self)))
        self.padding = normalize_padding(padding, where=_where(self))
        self.data_format = check_data_format(self, data_format)

    def _check_rank(self, shape):
        _check_rank5(self, shape)


class MaxPooling3D(_Pooling3D):
    """Max over ``pool_size`` windows moved by ``strides`` (default: ``pool_size``).

    Input ``(batch, depth, height, width, channels)`` -> output ``(batch, new_depth,
    new_height, new_width, channels)`` with ``new = floor((size - pool) / stride) + 1``
    (``"valid"``) or ``ceil(size / stride)`` (``"same"``).

    Args:
        pool_size (int | tuple[int, int, int]): window depth, height and width (default
            ``(2, 2, 2)``); an int for a cubic window.
        strides (int | tuple[int, int, int] | None): step of the window; None (default) means
            ``pool_size``.
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.MaxPooling3D(2)(np.zeros((1, 4, 6, 7, 3))).shape
        (1, 2, 3, 3, 3)
    """
    _op = staticmethod(max_pool3d)


class AveragePooling3D(_Pooling3D):
    """Mean over ``pool_size`` windows; with ``"same"`` padding only real positions count.

    Input ``(batch, depth, height, width, channels)`` -> output ``(batch, new_depth,
    new_height, new_width, channels)`` with ``new = floor((size - pool) / stride) + 1``
    (``"valid"``) or ``ceil(size / stride)`` (``"same"``).

    Args:
        pool_size (int | tuple[int, int, int]): window depth, height and width (default
            ``(2, 2, 2)``); an int for a cubic window.
        strides (int | tuple[int, int, int] | None): step of the window; None (default) means
            ``pool_size``.
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AveragePooling3D(2, padding="same")(np.zeros((1, 3, 5, 5, 2))).shape
        (1, 2, 3, 3, 2)
    """
    _op = staticmethod(avg_pool3d)


# -- global pooling ---------------------------------------------------------------------------

class _GlobalPooling3D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.keepdims = bool(keepdims)

    def _check_symbolic_input(self, inputs):
        _check_rank5(self, inputs.shape, self.data_format)

    def compute_output_shape(self, input_shape):
        _check_rank5(self, input_shape, self.data_format)
        c = input_shape[1] if self.data_format == "channels_first" else input_shape[4]
        if not self.keepdims:
            return (input_shape[0], c)
        return (input_shape[0], c, 1, 1, 1) if self.data_format == "channels_first" else (input_shape[0], 1, 1, 1, c)

    def call(self, inputs):
        _check_rank5(self, inputs.shape, self.data_format)
        return type(self)._reduce(inputs, axis=_spatial(self.data_format), keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling3D(_GlobalPooling3D):
    """Mean over depth, height and width: ``(N, D, H, W, C) -> (N, C)``.

    With ``keepdims`` the pooled axes stay as size 1: ``(N, 1, 1, 1, C)``
    (``(N, C, 1, 1, 1)`` with ``channels_first``).

    Args:
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        keepdims (bool): keep the pooled axes as size 1 (default False).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GlobalAveragePooling3D()(np.ones((2, 3, 4, 5, 6))).shape
        (2, 6)
    """
    _reduce = staticmethod(ops.mean)


class GlobalMaxPooling3D(_GlobalPooling3D):
    """Max over depth, height and width: ``(N, D, H, W, C) -> (N, C)``.

    With ``keepdims`` the pooled axes stay as size 1: ``(N, 1, 1, 1, C)``
    (``(N, C, 1, 1, 1)`` with ``channels_first``).

    Args:
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        keepdims (bool): keep the pooled axes as size 1 (default False).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GlobalMaxPooling3D(keepdims=True)(np.ones((2, 3, 4, 5, 6))).shape
        (2, 1, 1, 1, 6)
    """
    _reduce = staticmethod(ops.max)


# -- reshaping --------------------------------------------------------------------------------

def _int_triple(layer, value, what, allow_zero):
    """An int or three ints as a tuple of three non-negative (or positive) ints."""
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * 3
    ok = len(vals) == 3 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and (v >= 0 if allow_zero else v > 0) for v in vals)
    if not ok:
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{_where(layer)}: {what} must be a {need} int or a tuple of 3 {need} ints, "
                         f"got {value!r}")
    return tuple(int(v) for v in vals)


def _three_pairs(layer, value, what):
    """``int`` | ``(d, h, w)`` | ``((front, back), (top, bottom), (left, right))`` as three pairs."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(value) or (isinstance(value, (list, tuple)) and len(value) == 3 and all(map(is_int, value))):
        return tuple((v, v) for v in _int_triple(layer, value, what, allow_zero=True))
    if isinstance(value, (list, tuple)) and len(value) == 3:
        pairs = []
        for pair in value:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(is_int(v) and v >= 0 for v in pair)):
                break
            pairs.append((int(pair[0]), int(pair[1])))
        else:
            return tuple(pairs)
    raise ValueError(f"{_where(layer)}: {what} must be a non-negative int, a tuple of 3 ints or 3 pairs "
                     f"((front, back), (top, bottom), (left, right)), got {value!r}")


class _Reshaping3D(Layer):
    def _check(self, shape):
        _check_rank5(self, shape, self.data_format)

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = list(input_shape)
        for a, axis in enumerate(_spatial(self.data_format)):
            out[axis] = None if out[axis] is None else self._new_size(a, out[axis])
        return tuple(out)


class UpSampling3D(_Reshaping3D):
    """Repeats each voxel ``size`` times along depth, height and width (nearest neighbour).

    Input ``(batch, depth, height, width, channels)`` (``(batch, channels, depth, height,
    width)`` with ``channels_first``) -> ``depth * size[0]``, ``height * size[1]``,
    ``width * size[2]``.

    Args:
        size (int | tuple[int, int, int]): factors for depth, height and width (default
            ``(2, 2, 2)``).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.UpSampling3D((1, 2, 3))(np.zeros((1, 2, 3, 4, 5))).shape
        (1, 2, 6, 12, 5)
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = _int_triple(self, size, "size", allow_zero=False)
        self.data_format = standardize_data_format(self, data_format)

    def _new_size(self, a, n):
        return n * self.size[a]

    def call(self, inputs):
        self._check(inputs.shape)
        y = inputs
        for axis, factor in zip(_spatial(self.data_format), self.size):
            if factor > 1:
                y = ops.repeat(y, factor, axis=axis)
        return y

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class ZeroPadding3D(_Reshaping3D):
    """Zeros added around volumes along depth, height and width.

    Input ``(batch, depth, height, width, channels)`` (``(batch, channels, depth, height,
    width)`` with ``channels_first``) -> each spatial size plus its two pads.

    Args:
        padding (int | tuple): an int (the same on all six sides), ``(d, h, w)`` (symmetric
            per axis) or ``((front, back), (top, bottom), (left, right))``; default
            ``((1, 1), (1, 1), (1, 1))``.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.ZeroPadding3D(((1, 0), (2, 2), (0, 1)))(np.ones((1, 2, 3, 4, 5))).shape
        (1, 3, 7, 5, 5)
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _three_pairs(self, padding, "padding")
        self.data_format = standardize_data_format(self, data_format)

    def _new_size(self, a, n):
        return n + sum(self.padding[a])

    def call(self, inputs):
        self._check(inputs.shape)
        pads = [(0, 0)] * 5
        for axis, pair in zip(_spatial(self.data_format), self.padding):
            pads[axis] = pair
        return ops.pad(inputs, tuple(pads))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping3D(_Reshaping3D):
    """Removes voxels at the borders of volumes along depth, height and width.

    Input ``(batch, depth, height, width, channels)`` (``(batch, channels, depth, height,
    width)`` with ``channels_first``) -> each spatial size minus its two crops.

    Args:
        cropping (int | tuple): an int (the same on all six sides), ``(d, h, w)`` (symmetric
            per axis) or ``((front, back), (top, bottom), (left, right))``; default
            ``((1, 1), (1, 1), (1, 1))``.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Cropping3D(((1, 0), (2, 2), (0, 1)))(np.ones((1, 4, 6, 5, 3))).shape
        (1, 3, 2, 4, 3)
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _three_pairs(self, cropping, "cropping")
        self.data_format = standardize_data_format(self, data_format)

    def _new_size(self, a, n):
        return n - sum(self.cropping[a])

    def _check(self, shape):
        super()._check(shape)
        for axis, crop, name in zip(_spatial(self.data_format), self.cropping, _AXES):
            if shape[axis] is not None and sum(crop) >= shape[axis]:
                raise ValueError(f"{_where(self)}: cropping {crop} must remove fewer than the input {name} "
                                 f"{shape[axis]}, got input shape {shape_str(tuple(shape))}")

    def call(self, inputs):
        self._check(inputs.shape)
        key = [slice(None)] * 5
        for axis, (a, b) in zip(_spatial(self.data_format), self.cropping):
            key[axis] = slice(a, inputs.shape[axis] - b)
        return ops.get_item(inputs, tuple(key))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


Convolution3D = Conv3D
MaxPool3D = MaxPooling3D
AvgPool3D = AveragePooling3D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool3D = GlobalMaxPooling3D
