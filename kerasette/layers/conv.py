"""Convolution layers: Conv2D (channels_last, Keras's weight layout)."""
import numpy as np

from .. import activations, regularizers
from ..ops.conv import conv2d, conv_output_length, normalize_padding, normalize_tuple
from .core import kernel_bias_config, set_kernel_bias_options, shape_str
from .layer import Layer

__all__ = ["Conv2D", "Convolution2D", "check_data_format"]


def check_data_format(layer, data_format):
    """``None`` or ``"channels_last"``; anything else is a clear error naming ``layer``."""
    if data_format in (None, "channels_last"):
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError(f"{type(layer).__name__} '{layer.name}': data_format='channels_first' is not "
                         f"supported; kerasette works channels_last (batch, height, width, channels). "
                         f"Transpose the data instead.")
    raise ValueError(f"{type(layer).__name__} '{layer.name}': data_format must be 'channels_last' "
                     f"(or None), got {data_format!r}")


def _layer_args(layer, value, n, what, allow_zero=False):
    """``normalize_tuple`` with errors that name the layer."""
    return normalize_tuple(value, n, what, allow_zero=allow_zero,
                           where=f"{type(layer).__name__} '{layer.name}'")


class _Conv(Layer):
    """What Conv1D and Conv2D share: argument checks, weights settings and config.

    ``RANK`` is the number of spatial axes; ``_padding(padding)`` may accept
    more than ``"valid"`` / ``"same"`` (Conv1D's ``"causal"``).
    """

    _splits_batch = True        # its ops split their batch over kerasette.parallel threads

    RANK = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{where}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _layer_args(self, kernel_size, self.RANK, "kernel_size")
        self.strides = _layer_args(self, strides, self.RANK, "strides")
        self.dilation_rate = _layer_args(self, dilation_rate, self.RANK, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{where}: strides {self.strides} > 1 are incompatible with "
                             f"dilation_rate {self.dilation_rate} > 1")
        self.padding = self._padding(padding)
        self.data_format = check_data_format(self, data_format)
        if groups != 1:
            raise NotImplementedError(f"{where}: groups={groups!r} is not supported (only groups=1)")
        self.groups = 1
        set_kernel_bias_options(self, kernel_initializer, bias_initializer, kernel_regularizer,
                                bias_regularizer, kernel_constraint, bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._fused = activations.fusable_name(self.activation)

    def _padding(self, padding):
        return normalize_padding(padding, where=f"{type(self).__name__} '{self.name}'")

    def _check_input_shape(self, shape):
        """Raise a ValueError naming the layer unless ``shape`` fits (rank, channels, size)."""
        raise NotImplementedError

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        self._add_conv_weights(int(input_shape[-1]))

    def _check_symbolic_input(self, inputs):
        self._check_input_shape(inputs.shape)

    def _add_conv_weights(self, in_channels):
        """``kernel (*kernel_size, in_channels, filters)`` and ``bias (filters,)``."""
        self.kernel = self.add_weight(shape=self.kernel_size + (in_channels, self.filters),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **kernel_bias_config(self),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}


class Conv2D(_Conv):
    """2-D convolution over ``(batch, height, width, channels)`` inputs.

    ``activation(conv2d(inputs, kernel) + bias)`` as one graph node (bias and
    the activation are fused into the convolution op for relu / tanh /
    sigmoid). Kernel shape ``(kh, kw, in_channels, filters)`` and bias shape
    ``(filters,)``, exactly as Keras stores them, so Keras weights load as is.

    Input ``(batch, height, width, channels)`` -> output ``(batch, new_height, new_width,
    filters)``, where ``new = ceil(size / stride)`` with ``"same"`` padding and
    ``floor((size - dilation * (k - 1) - 1) / stride) + 1`` with ``"valid"``.

    Args:
        filters (int): number of output channels.
        kernel_size (int | tuple[int, int]): window height and width ``(kh, kw)``; an int
            for a square window.
        strides (int | tuple[int, int]): step of the window along height and width
            (default ``(1, 1)``).
        padding (str): ``"valid"`` (default, no padding) or ``"same"`` (zero padding so that
            ``new = ceil(size / stride)``; the extra row/column goes at the bottom/right, as Keras).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int, int]): spacing between the kernel's taps (default 1);
            strides and dilation cannot both exceed 1.
        groups (int): must be 1 (grouped convolution is not implemented).
        activation (str | callable | None): applied to the output (default None: linear);
            relu / tanh / sigmoid run fused with the convolution.
        use_bias (bool): add a bias ``(filters,)`` (default True).
        **kwargs: ``kernel_initializer`` (default ``"glorot_uniform"``), ``bias_initializer``
            (``"zeros"``), ``kernel_regularizer``, ``bias_regularizer``, ``activity_regularizer``,
            ``kernel_constraint``, ``bias_constraint`` as for ``Dense``; ``name``, ``trainable``, ``dtype`` as for
            every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> conv = keras.layers.Conv2D(8, 3, padding="same", activation="relu")
        >>> conv(np.zeros((2, 28, 28, 1))).shape
        (2, 28, 28, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation,
                         use_bias=use_bias, **kwargs)

    # -- shapes ---------------------------------------------------------------------------
    def _check_input_shape(self, shape):
        where = f"Conv2D '{self.name}'"
        shape = tuple(shape)
        if len(shape) == 3:
            raise ValueError(f"{where}: expected input of rank 4 (batch, height, width, channels), got "
                             f"shape {shape_str(shape)} of rank 3: the channel axis is missing; add one "
                             f"(e.g. x[..., None] or Input(shape=(height, width, 1)))")
        if len(shape) != 4:
            raise ValueError(f"{where}: expected input of rank 4 (batch, height, width, channels), got "
                             f"shape {shape_str(shape)}")
        if shape[-1] is None:
            raise ValueError(f"{where}: the channel axis (last) of the input must be known, got shape "
                             f"{shape_str(shape)}")
        if self.built and getattr(self, "kernel", None) is not None and shape[-1] != self.kernel.shape[2]:
            raise ValueError(f"{where}: expected input with {self.kernel.shape[2]} channels (last axis), "
                             f"got shape {shape_str(shape)}")
        if self.padding == "valid":
            for axis, name in ((0, "height"), (1, "width")):
                size = shape[1 + axis]
                eff = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
                if size is not None and size < eff:
                    raise ValueError(f"{where}: kernel_size {self.kernel_size} (dilated extent {eff}) is "
                                     f"larger than the input {name} {size} (input shape "
                                     f"{shape_str(shape)}) with padding='valid'")

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        n, h, w, _ = input_shape
        return (n, conv_output_length(h, self.kernel_size[0], self.padding, self.strides[0],
                                      self.dilation_rate[0]),
                conv_output_length(w, self.kernel_size[1], self.padding, self.strides[1],
                                   self.dilation_rate[1]),
                self.filters)

    # -- compute --------------------------------------------------------------------------
    def call(self, inputs):
        self._check_input_shape(inputs.shape)
        kw = dict(strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate,
                  bias=self.bias)
        if self._fused is not False:
            return conv2d(inputs, self.kernel, activation=self._fused, **kw)
        return self.activation(conv2d(inputs, self.kernel, **kw))


Convolution2D = Conv2D
