"""Reshaping layers: Cropping1D / Cropping2D, UpSampling1D / UpSampling2D, ZeroPadding1D,
Permute, RepeatVector and Identity.

Each is composed from differentiable ops (slicing, ``repeat``, ``pad``, ``transpose``,
``matmul``), so gradients come from those ops' backward. Bilinear up-sampling (and the
``Resizing`` layer) multiply by an interpolation matrix per spatial axis, built on the host
with Keras 3's half-pixel rule and moved to the input's device.
"""
import numpy as np

from .. import backend, ops
from .core import shape_str
from .layer import Layer

__all__ = ["Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "Permute",
           "RepeatVector", "Identity", "resize_images", "standardize_data_format"]


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def standardize_data_format(layer, data_format):
    """``None`` -> ``"channels_last"``; ``"channels_first"`` / ``"channels_last"`` kept;
    anything else is a ValueError naming ``layer``."""
    if data_format is None:
        return "channels_last"
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{_where(layer)}: data_format must be 'channels_last' or 'channels_first' "
                         f"(or None), got {data_format!r}")
    return value


def _int_pair(layer, value, what, allow_zero=True):
    """An int or a pair of ints as a pair of non-negative (or positive) ints."""
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    ok = len(vals) == 2 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and (v >= 0 if allow_zero else v > 0) for v in vals)
    if not ok:
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{_where(layer)}: {what} must be a {need} int or a pair of {need} ints, "
                         f"got {value!r}")
    return tuple(int(v) for v in vals)


def _positive_int(layer, value, what):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{_where(layer)}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _check_rank(layer, shape, rank, what):
    if len(shape) != rank:
        raise ValueError(f"{_where(layer)}: expected input of rank {rank} {what}, got shape "
                         f"{shape_str(tuple(shape))}")


def _spatial_axes(data_format):
    return (2, 3) if data_format == "channels_first" else (1, 2)


# -- cropping -------------------------------------------------------------------------------

class Cropping1D(Layer):
    """Removes steps from the start and end of the time axis.

    Input ``(batch, steps, features)`` -> output ``(batch, steps - start - end, features)``.

    Args:
        cropping (int | tuple[int, int]): steps removed at the start and at the end; an int
            removes that many at both ends (default ``(1, 1)``).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Cropping1D((1, 2))(np.zeros((2, 6, 3))).shape
        (2, 3, 3)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_pair(self, cropping, "cropping")

    def _check(self, shape):
        _check_rank(self, shape, 3, "(batch, steps, features)")
        if shape[1] is not None and sum(self.cropping) >= shape[1]:
            raise ValueError(f"{_where(self)}: cropping {self.cropping} must remove fewer steps than "
                             f"the input has, got input shape {shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        a, b = self.cropping
        return ops.get_item(inputs, (slice(None), slice(a, inputs.shape[1] - b), slice(None)))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        n = input_shape[1]
        return (input_shape[0], None if n is None else n - sum(self.cropping), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


def _pairs(layer, value, what):
    """``int`` | ``(sym_h, sym_w)`` | ``((top, bottom), (left, right))`` as a pair of pairs."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = _int_pair(layer, value, what)
        return (pair, pair)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(_int_pair(layer, v, what) for v in value)
    raise ValueError(f"{_where(layer)}: {what} must be an int, a pair of ints or a pair of pairs "
                     f"((top, bottom), (left, right)), got {value!r}")


class Cropping2D(Layer):
    """Removes rows and columns at the borders of images.

    Input ``(batch, height, width, channels)`` (``(batch, channels, height, width)`` with
    ``channels_first``) -> output with ``height - top - bottom`` rows and
    ``width - left - right`` columns.

    Args:
        cropping (int | tuple): an int (the same on all four sides), ``(sym_h, sym_w)``
            (rows removed above and below, columns left and right) or
            ``((top, bottom), (left, right))``; default ``((0, 0), (0, 0))``.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Cropping2D(((1, 0), (2, 2)))(np.zeros((1, 8, 8, 3))).shape
        (1, 7, 4, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(self, cropping, "cropping")
        self.data_format = standardize_data_format(self, data_format)

    def _check(self, shape):
        _check_rank(self, shape, 4, "(batch, height, width, channels)" if self.data_format == "channels_last"
                    else "(batch, channels, height, width)")
        for axis, crop, name in zip(_spatial_axes(self.data_format), self.cropping, ("height", "width")):
            if shape[axis] is not None and sum(crop) >= shape[axis]:
                raise ValueError(f"{_where(self)}: cropping {crop} must remove fewer rows than the input "
                                 f"{name} has, got input shape {shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        key = [slice(None)] * 4
        for axis, (a, b) in zip(_spatial_axes(self.data_format), self.cropping):
            key[axis] = slice(a, inputs.shape[axis] - b)
        return ops.get_item(inputs, tuple(key))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = list(input_shape)
        for axis, crop in zip(_spatial_axes(self.data_format), self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - sum(crop)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


# -- up-sampling ---------------------------------------------------------------------------

class UpSampling1D(Layer):
    """Repeats each time step ``size`` times.

    Input ``(batch, steps, features)`` -> output ``(batch, steps * size, features)``.

    Args:
        size (int): how many times each step is repeated (default 2).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.UpSampling1D(3)(np.arange(2.0).reshape(1, 2, 1)).value[0, :, 0].tolist()
        [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _positive_int(self, size, "size")

    def _check_symbolic_input(self, inputs):
        _check_rank(self, inputs.shape, 3, "(batch, steps, features)")

    def call(self, inputs):
        _check_rank(self, inputs.shape, 3, "(batch, steps, features)")
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 3, "(batch, steps, features)")
        n = input_shape[1]
        return (input_shape[0], None if n is None else n * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


_INTERPOLATIONS = ("nearest", "bilinear")
_KERAS_ONLY = ("bicubic", "lanczos3", "lanczos5", "area")


def check_interpolation(layer, interpolation):
    """``"nearest"`` or ``"bilinear"`` (lower-cased); Keras's other modes are refused by name."""
    value = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if value in _KERAS_ONLY:
        raise NotImplementedError(f"{_where(layer)}: interpolation={interpolation!r} is not supported "
                                  f"by kerasette yet; use 'nearest' or 'bilinear'")
    if value not in _INTERPOLATIONS:
        raise ValueError(f"{_where(layer)}: interpolation must be 'nearest' or 'bilinear', got "
                         f"{interpolation!r}")
    return value


def _interpolation_matrix(in_size, out_size, interpolation):
    """``(out_size, in_size)`` float64 weights: row ``o`` mixes the input positions that
    output position ``o`` reads, with the half-pixel rule of Keras 3 (``nearest``:
    ``floor((o + 0.5) * in / out)``; ``bilinear``: source ``(o + 0.5) * in / out - 0.5``
    clamped to the image, no antialiasing)."""
    scale = in_size / out_size
    rows = np.arange(out_size)
    m = np.zeros((out_size, in_size))
    if interpolation == "nearest":
        src = np.minimum(np.floor((rows + 0.5) * scale).astype(np.int64), in_size - 1)
        m[rows, src] = 1.0
        return m
    src = np.maximum((rows + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


def resize_images(x, height, width, interpolation="bilinear", data_format="channels_last"):
    """Resize a batch of images ``(N, H, W, C)`` (or ``(N, C, H, W)``) to ``height x width``.

    ``nearest`` and ``bilinear`` (half-pixel centres, no antialiasing: Keras 3's
    ``ops.image.resize``). Each spatial axis is one GEMM with a constant interpolation
    matrix (the axis moved first), so the gradient flows back to ``x`` through ``matmul``.

    Args:
        x (Tensor): the images, rank 4.
        height (int): output height.
        width (int): output width.
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        data_format (str): ``"channels_last"`` (default) or ``"channels_first"``.
    """
    if np.dtype(x.dtype).kind != "f":
        x = ops.cast(x, backend.floatx())
    for axis, size in zip(_spatial_axes(data_format), (height, width)):
        if x.shape[axis] != size:                   # the same size: both rules are the identity
            x = _interpolate_axis(x, axis, _interpolation_matrix(x.shape[axis], size, interpolation))
    return x


def _interpolate_axis(x, axis, matrix):
    """``matrix (out, in)`` applied along ``axis`` of ``x``: one GEMM on ``x`` with that axis first."""
    xp = backend.get_array_module(x.value)
    m = backend.to_device(matrix, xp, dtype=x.dtype)
    perm = (axis,) + tuple(i for i in range(len(x.shape)) if i != axis)
    moved = ops.transpose(x, perm)
    rest = tuple(moved.shape[1:])
    y = ops.matmul(m, ops.reshape(moved, (moved.shape[0], -1)))
    y = ops.reshape(y, (matrix.shape[0],) + rest)
    return ops.transpose(y, tuple(int(i) for i in np.argsort(perm)))


class UpSampling2D(Layer):
    """Enlarges images by ``size``: each pixel repeated (``"nearest"``) or interpolated
    (``"bilinear"``, the same numbers as Keras 3).

    Input ``(batch, height, width, channels)`` (``(batch, channels, height, width)`` with
    ``channels_first``) -> ``height * size[0]`` rows and ``width * size[1]`` columns.

    Args:
        size (int | tuple[int, int]): factors for rows and columns (default ``(2, 2)``).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        interpolation (str): ``"nearest"`` (default) or ``"bilinear"``; Keras's
            ``"bicubic"`` and ``"lanczos"`` modes are refused with NotImplementedError.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.UpSampling2D(2, interpolation="bilinear")(np.zeros((1, 3, 4, 2))).shape
        (1, 6, 8, 2)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _int_pair(self, size, "size", allow_zero=False)
        self.data_format = standardize_data_format(self, data_format)
        self.interpolation = check_interpolation(self, interpolation)

    def _check(self, shape):
        _check_rank(self, shape, 4, "(batch, height, width, channels)" if self.data_format == "channels_last"
                    else "(batch, channels, height, width)")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        h_axis, w_axis = _spatial_axes(self.data_format)
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, self.size[0], axis=h_axis), self.size[1], axis=w_axis)
        return resize_images(inputs, inputs.shape[h_axis] * self.size[0], inputs.shape[w_axis] * self.size[1],
                             "bilinear", self.data_format)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = list(input_shape)
        for axis, f in zip(_spatial_axes(self.data_format), self.size):
            out[axis] = None if out[axis] is None else out[axis] * f
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


# -- padding, permuting, repeating --------------------------------------------------------

class ZeroPadding1D(Layer):
    """Zeros added at the start and end of the time axis.

    Input ``(batch, steps, features)`` (``(batch, features, steps)`` with ``channels_first``)
    -> ``steps + start + end`` steps.

    Args:
        padding (int | tuple[int, int]): zeros added at the start and at the end; an int adds
            that many at both ends (default 1).
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.ZeroPadding1D((1, 2))(np.ones((2, 3, 4))).shape
        (2, 6, 4)
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _int_pair(self, padding, "padding")
        self.data_format = standardize_data_format(self, data_format)

    def _axis(self):
        return 2 if self.data_format == "channels_first" else 1

    def _check_symbolic_input(self, inputs):
        _check_rank(self, inputs.shape, 3, "(batch, steps, features)")

    def call(self, inputs):
        _check_rank(self, inputs.shape, 3, "(batch, steps, features)")
        pads = [(0, 0)] * 3
        pads[self._axis()] = self.padding
        return ops.pad(inputs, tuple(pads))

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 3, "(batch, steps, features)")
        out = list(input_shape)
        axis = self._axis()
        out[axis] = None if out[axis] is None else out[axis] + sum(self.padding)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Permute(Layer):
    """Reorders the non-batch axes: ``Permute((2, 1))`` swaps the two axes after the batch.

    Input ``(batch, d1, ..., dn)`` -> output ``(batch, d[dims[0]], ..., d[dims[n-1]])``.

    Args:
        dims (tuple[int, ...]): a permutation of ``1 .. n`` (axes count from 1: the batch
            axis never moves).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Permute((2, 1))(np.zeros((4, 10, 64))).shape
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise ValueError(f"{_where(self)}: dims must be a permutation of 1..n, got {dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{_where(self)}: dims must be a permutation of 1..{len(dims)} (the batch "
                             f"axis 0 never moves), got {dims!r}")
        self.dims = dims

    def _check(self, shape):
        _check_rank(self, shape, len(self.dims) + 1, f"(batch + {len(self.dims)} axes for dims {self.dims})")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a vector ``n`` times along a new time axis.

    Input ``(batch, features)`` -> output ``(batch, n, features)``.

    Args:
        n (int): number of repetitions, a positive integer.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.RepeatVector(3)(np.zeros((2, 5))).shape
        (2, 3, 5)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _positive_int(self, n, "n")

    def _check_symbolic_input(self, inputs):
        _check_rank(self, inputs.shape, 2, "(batch, features)")

    def call(self, inputs):
        _check_rank(self, inputs.shape, 2, "(batch, features)")
        b, f = inputs.shape
        return ops.broadcast_to(ops.reshape(inputs, (b, 1, f)), (b, self.n, f))

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 2, "(batch, features)")
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Identity(Layer):
    """Returns its input unchanged (a placeholder); passes masks through.

    Args:
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Identity()(np.ones((1, 2))).value.tolist()
        [[1.0, 1.0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
