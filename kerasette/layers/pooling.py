"""Pooling layers (MaxPooling2D, AveragePooling2D, the global ones) and ZeroPadding2D, all
channels_last ``(batch, height, width, channels)``; and the adaptive poolings
(AdaptiveAveragePooling1D / 2D / 3D, AdaptiveMaxPooling1D / 2D / 3D), which pool to a fixed
output size and also take ``channels_first`` (only the axes they pool over move)."""
from .. import ops
from ..ops.conv import conv_output_length, normalize_padding, normalize_tuple
from ..ops.nn_api import adaptive_average_pool, adaptive_max_pool
from ..ops.pool import avg_pool2d, max_pool2d
from .conv import check_data_format
from .core import shape_str
from .layer import Layer
from .reshaping import standardize_data_format

__all__ = ["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
           "ZeroPadding2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
           "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]


def _check_rank4(layer, shape):
    if len(shape) != 4:
        extra = (": the channel axis is missing; add one (e.g. x[..., None])" if len(shape) == 3 else "")
        raise ValueError(f"{type(layer).__name__} '{layer.name}': expected input of rank 4 "
                         f"(batch, height, width, channels), got shape {shape_str(tuple(shape))}{extra}")


class WindowPooling(Layer):
    """What the 1-, 2- and 3-D max / average pooling layers share: the check that a window fits
    the input under ``padding="valid"``, the output shape, the call and the config. A subclass sets
    ``AXES`` (the spatial axes' names, in order), ``_op`` and ``_check_rank(shape)``."""

    AXES = ()
    _op = None

    def _check_rank(self, shape):
        raise NotImplementedError

    def _check(self, shape):
        self._check_rank(shape)
        if self.padding == "valid":
            for axis, name in enumerate(self.AXES):
                size = shape[1 + axis]
                if size is not None and size < self.pool_size[axis]:
                    raise ValueError(f"{type(self).__name__} '{self.name}': pool_size {self.pool_size} is "
                                     f"larger than the input {name} {size} (input shape "
                                     f"{shape_str(tuple(shape))}) with padding='valid'")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        return type(self)._op(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return ((input_shape[0],)
                + tuple(conv_output_length(input_shape[1 + a], self.pool_size[a], self.padding, self.strides[a])
                        for a in range(len(self.AXES)))
                + (input_shape[-1],))

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class _Pooling2D(WindowPooling):
    _splits_batch = True        # its ops split their batch over kerasette.parallel threads
    AXES = ("height", "width")

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", where=where)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, 2, "strides",
                                                                               where=where)
        self.padding = normalize_padding(padding, where=where)
        self.data_format = check_data_format(self, data_format)

    def _check_rank(self, shape):
        _check_rank4(self, shape)


class MaxPooling2D(_Pooling2D):
    """Max over ``pool_size`` windows moved by ``strides`` (default: ``pool_size``).

    Input ``(batch, height, width, channels)`` -> output ``(batch, new_height, new_width,
    channels)`` with ``new = floor((size - pool) / stride) + 1`` (``"valid"``) or
    ``ceil(size / stride)`` (``"same"``).

    Args:
        pool_size (int | tuple[int, int]): window height and width (default ``(2, 2)``);
            an int for a square window.
        strides (int | tuple[int, int] | None): step of the window; None (default) means
            ``pool_size`` (windows that do not overlap).
        padding (str): ``"valid"`` (default: windows inside the input only) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.MaxPooling2D(2)(np.zeros((1, 28, 28, 3))).shape
        (1, 14, 14, 3)
    """
    _op = staticmethod(max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Mean over ``pool_size`` windows; with ``"same"`` padding only real positions count.

    Input ``(batch, height, width, channels)`` -> output ``(batch, new_height, new_width,
    channels)`` with ``new = floor((size - pool) / stride) + 1`` (``"valid"``) or
    ``ceil(size / stride)`` (``"same"``).

    Args:
        pool_size (int | tuple[int, int]): window height and width (default ``(2, 2)``);
            an int for a square window.
        strides (int | tuple[int, int] | None): step of the window; None (default) means
            ``pool_size`` (windows that do not overlap).
        padding (str): ``"valid"`` (default: windows inside the input only) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AveragePooling2D(2, padding="same")(np.zeros((1, 5, 5, 3))).shape
        (1, 3, 3, 3)
    """
    _op = staticmethod(avg_pool2d)


class _GlobalPooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)
        self.keepdims = bool(keepdims)

    def _check_symbolic_input(self, inputs):
        _check_rank4(self, inputs.shape)

    def compute_output_shape(self, input_shape):
        _check_rank4(self, input_shape)
        n, _, _, c = input_shape
        return (n, 1, 1, c) if self.keepdims else (n, c)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean over height and width: ``(N, H, W, C) -> (N, C)`` (``(N, 1, 1, C)`` with keepdims).

    Args:
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        keepdims (bool): keep the pooled axes as size 1: output ``(batch, 1, 1, channels)``
            (default False: ``(batch, channels)``).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GlobalAveragePooling2D()(np.ones((2, 7, 7, 16))).shape
        (2, 16)
    """

    def call(self, inputs):
        _check_rank4(self, inputs.shape)
        return ops.mean(inputs, axis=(1, 2), keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Max over height and width: ``(N, H, W, C) -> (N, C)`` (``(N, 1, 1, C)`` with keepdims).

    Args:
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        keepdims (bool): keep the pooled axes as size 1: output ``(batch, 1, 1, channels)``
            (default False: ``(batch, channels)``).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GlobalMaxPooling2D(keepdims=True)(np.ones((2, 7, 7, 16))).shape
        (2, 1, 1, 16)
    """

    def call(self, inputs):
        _check_rank4(self, inputs.shape)
        return ops.max(inputs, axis=(1, 2), keepdims=self.keepdims)


class ZeroPadding2D(Layer):
    """Zero rows/columns around the image.

    Input ``(batch, height, width, channels)`` -> output ``(batch, top + height + bottom,
    left + width + right, channels)``.

    Args:
        padding (int | tuple): an int (the same on all four sides), ``(sym_h, sym_w)``
            (rows above and below, columns left and right) or ``((top, bottom), (left, right))``;
            default ``(1, 1)``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.ZeroPadding2D(((1, 0), (2, 2)))(np.ones((1, 4, 4, 3))).shape
        (1, 5, 8, 3)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = f"ZeroPadding2D '{self.name}'"
        self.data_format = check_data_format(self, data_format)
        if isinstance(padding, int):
            pads = ((padding, padding), (padding, padding))
        elif isinstance(padding, (list, tuple)) and len(padding) == 2:
            pads = tuple(normalize_tuple(p, 2, "padding", allow_zero=True, where=where) for p in padding)
        else:
            raise ValueError(f"{where}: padding must be an int, a pair of ints or a pair of pairs, "
                             f"got {padding!r}")
        for p in pads:
            normalize_tuple(p, 2, "padding", allow_zero=True, where=where)
        self.padding = pads

    def call(self, inputs):
        _check_rank4(self, inputs.shape)
        (t, b), (l, r) = self.padding
        return ops.pad(inputs, ((0, 0), (t, b), (l, r), (0, 0)))

    def _check_symbolic_input(self, inputs):
        _check_rank4(self, inputs.shape)

    def compute_output_shape(self, input_shape):
        _check_rank4(self, input_shape)
        n, h, w, c = input_shape
        (t, b), (l, r) = self.padding
        return (n, None if h is None else h + t + b, None if w is None else w + l + r, c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D


# -- adaptive pooling ---------------------------------------------------------------------------

class _AdaptivePooling(Layer):
    """Pools each spatial axis of length ``L`` into ``n`` bins, bin ``i`` spanning positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n)`` (exclusive), Keras 3's (and PyTorch's) rule.
    A subclass sets ``RANK`` (the number of spatial axes), ``AXES`` (their names) and ``_op``."""

    RANK, AXES = 0, ()
    _op = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        sizes = (output_size,) * self.RANK if not isinstance(output_size, (list, tuple)) else tuple(output_size)
        if len(sizes) != self.RANK or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                               for n in sizes):
            raise ValueError(f"{where}: output_size must be a positive int or a tuple of {self.RANK} positive "
                             f"ints ({', '.join(self.AXES)}), got {output_size!r}")
        self.output_size = sizes
        self.data_format = standardize_data_format(self, data_format)

    def _spatial(self, shape):
        return tuple(shape[2:]) if self.data_format == "channels_first" else tuple(shape[1:-1])

    def _check(self, shape):
        shape = tuple(shape)
        if len(shape) != self.RANK + 2:
            layout = ("(batch, channels, " + ", ".join(self.AXES) + ")" if self.data_format == "channels_first"
                      else "(batch, " + ", ".join(self.AXES) + ", channels)")
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input of rank {self.RANK + 2} "
                             f"{layout}, got shape {shape_str(shape)}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        return type(self)._op(inputs, self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        if self.data_format == "channels_first":
            return (input_shape[0], input_shape[1]) + self.output_size
        return (input_shape[0],) + self.output_size + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Average pooling to a fixed output size, whatever the input's size: each output
    position is the mean of one bin of input positions per axis.

    Along an axis of length ``L`` pooled to ``n``, output ``i`` takes the mean of input positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n) - 1`` (Keras 3's rule, PyTorch's bins): for
    ``L`` a multiple of ``n`` that is ``AveragePooling1D`` with ``pool_size = strides = L // n``; otherwise
    the bins differ in size by one and may overlap. ``n`` may exceed ``L`` (positions repeat).

    Input ``(batch, steps, channels)`` (``(batch, channels, steps)`` with
    ``channels_first``) -> output with the spatial axes of sizes ``output_size``.

    Args:
        output_size (int | tuple[int]): the output's length.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdaptiveAveragePooling1D(3)(np.zeros((2, 10, 4))).shape
        (2, 3, 4)
    """

    RANK, AXES = 1, ("steps",)
    _op = staticmethod(adaptive_average_pool)


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Average pooling to a fixed output size, whatever the input's size: each output
    position is the mean of one bin of input positions per axis.

    Along an axis of length ``L`` pooled to ``n``, output ``i`` takes the mean of input positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n) - 1`` (Keras 3's rule, PyTorch's bins): for
    ``L`` a multiple of ``n`` that is ``AveragePooling2D`` with ``pool_size = strides = L // n``; otherwise
    the bins differ in size by one and may overlap. ``n`` may exceed ``L`` (positions repeat).

    Input ``(batch, height, width, channels)`` (``(batch, channels, height, width)`` with
    ``channels_first``) -> output with the spatial axes of sizes ``output_size``.

    Args:
        output_size (int | tuple[int, int]): the output's height and width; an int for both.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdaptiveAveragePooling2D((2, 3))(np.zeros((2, 7, 9, 4))).shape
        (2, 2, 3, 4)
    """

    RANK, AXES = 2, ("height", "width")
    _op = staticmethod(adaptive_average_pool)


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Average pooling to a fixed output size, whatever the input's size: each output
    position is the mean of one bin of input positions per axis.

    Along an axis of length ``L`` pooled to ``n``, output ``i`` takes the mean of input positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n) - 1`` (Keras 3's rule, PyTorch's bins): for
    ``L`` a multiple of ``n`` that is ``AveragePooling3D`` with ``pool_size = strides = L // n``; otherwise
    the bins differ in size by one and may overlap. ``n`` may exceed ``L`` (positions repeat).

    Input ``(batch, depth, height, width, channels)`` (``(batch, channels, depth, height, width)`` with
    ``channels_first``) -> output with the spatial axes of sizes ``output_size``.

    Args:
        output_size (int | tuple[int, int, int]): the output's depth, height and width; an int for all three.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdaptiveAveragePooling3D(2)(np.zeros((1, 5, 6, 7, 3))).shape
        (1, 2, 2, 2, 3)
    """

    RANK, AXES = 3, ("depth", "height", "width")
    _op = staticmethod(adaptive_average_pool)


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max pooling to a fixed output size, whatever the input's size: each output
    position is the max of one bin of input positions per axis.

    Along an axis of length ``L`` pooled to ``n``, output ``i`` takes the max of input positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n) - 1`` (Keras 3's rule, PyTorch's bins): for
    ``L`` a multiple of ``n`` that is ``MaxPooling1D`` with ``pool_size = strides = L // n``; otherwise
    the bins differ in size by one and may overlap. ``n`` may exceed ``L`` (positions repeat).

    Input ``(batch, steps, channels)`` (``(batch, channels, steps)`` with
    ``channels_first``) -> output with the spatial axes of sizes ``output_size``.

    Args:
        output_size (int | tuple[int]): the output's length.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdaptiveMaxPooling1D(3)(np.zeros((2, 10, 4))).shape
        (2, 3, 4)
    """

    RANK, AXES = 1, ("steps",)
    _op = staticmethod(adaptive_max_pool)


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max pooling to a fixed output size, whatever the input's size: each output
    position is the max of one bin of input positions per axis.

    Along an axis of length ``L`` pooled to ``n``, output ``i`` takes the max of input positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n) - 1`` (Keras 3's rule, PyTorch's bins): for
    ``L`` a multiple of ``n`` that is ``MaxPooling2D`` with ``pool_size = strides = L // n``; otherwise
    the bins differ in size by one and may overlap. ``n`` may exceed ``L`` (positions repeat).

    Input ``(batch, height, width, channels)`` (``(batch, channels, height, width)`` with
    ``channels_first``) -> output with the spatial axes of sizes ``output_size``.

    Args:
        output_size (int | tuple[int, int]): the output's height and width; an int for both.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdaptiveMaxPooling2D((2, 3))(np.zeros((2, 7, 9, 4))).shape
        (2, 2, 3, 4)
    """

    RANK, AXES = 2, ("height", "width")
    _op = staticmethod(adaptive_max_pool)


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max pooling to a fixed output size, whatever the input's size: each output
    position is the max of one bin of input positions per axis.

    Along an axis of length ``L`` pooled to ``n``, output ``i`` takes the max of input positions
    ``floor(i * L / n)`` to ``ceil((i + 1) * L / n) - 1`` (Keras 3's rule, PyTorch's bins): for
    ``L`` a multiple of ``n`` that is ``MaxPooling3D`` with ``pool_size = strides = L // n``; otherwise
    the bins differ in size by one and may overlap. ``n`` may exceed ``L`` (positions repeat).

    Input ``(batch, depth, height, width, channels)`` (``(batch, channels, depth, height, width)`` with
    ``channels_first``) -> output with the spatial axes of sizes ``output_size``.

    Args:
        output_size (int | tuple[int, int, int]): the output's depth, height and width; an int for all three.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdaptiveMaxPooling3D(2)(np.zeros((1, 5, 6, 7, 3))).shape
        (1, 2, 2, 2, 3)
    """

    RANK, AXES = 3, ("depth", "height", "width")
    _op = staticmethod(adaptive_max_pool)
