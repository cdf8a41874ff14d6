"""Depthwise and separable convolution layers (channels_last, Keras's weight layout).

DepthwiseConv2D / DepthwiseConv1D: ``kernel (*kernel_size, in_channels, depth_multiplier)``
and ``bias (in_channels * depth_multiplier,)``. SeparableConv2D / SeparableConv1D:
``depthwise_kernel (*kernel_size, in_channels, depth_multiplier)``, ``pointwise_kernel
(*ones, in_channels * depth_multiplier, filters)`` and ``bias (filters,)``, in that order.
A depthwise call is one graph node (``kerasette.ops.depthwise``); a separable call two
(depthwise, then a 1x1 convolution with the bias and the activation fused).
"""
from .. import constraints, initializers, regularizers
from ..ops.conv import conv_output_length
from ..ops.depthwise import depthwise_conv2d, separable_conv2d
from ._conv_family import ConvFamily, positive_int

__all__ = ["DepthwiseConv2D", "DepthwiseConv1D", "SeparableConv2D", "SeparableConv1D",
           "SeparableConvolution2D", "SeparableConvolution1D"]


def _options(layer, **named):
    """Resolve ``<what>_initializer`` / ``_regularizer`` / ``_constraint`` arguments onto ``layer``."""
    for key, value in named.items():
        kind = key.rsplit("_", 1)[1]
        module = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}[kind]
        setattr(layer, key, module.get(value))


def _options_config(layer, *keys):
    out = {}
    for key in keys:
        kind = key.rsplit("_", 1)[1]
        module = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}[kind]
        out[key] = module.serialize(getattr(layer, key))
    return out


class _DepthwiseConv(ConvFamily):

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        depth_multiplier = positive_int(self, depth_multiplier, "depth_multiplier")
        self._set_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer)
        _options(self, depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                 depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                 depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)
        self.depth_multiplier = depth_multiplier

    def _add_weights(self, in_channels):
        self.kernel = self.add_weight(shape=self.kernel_size + (in_channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, name="kernel",
                                      regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        self.bias = (self.add_weight(shape=(in_channels * self.depth_multiplier,),
                                     initializer=self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _out_channels(self, in_channels):
        return in_channels * self.depth_multiplier

    def _out_length(self, axis, length):
        return conv_output_length(length, self.kernel_size[axis], self.padding, self.strides[axis],
                                  self.dilation_rate[axis])

    def _conv(self, x, activation):
        return depthwise_conv2d(x, self._kernel_2d(self.kernel), strides=self._as_2d(self.strides),
                                padding=self.padding, dilation_rate=self._as_2d(self.dilation_rate),
                                bias=self.bias, activation=activation)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, **self._common_config(),
                **_options_config(self, "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                                  "bias_regularizer", "depthwise_constraint", "bias_constraint")}


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own
    ``depth_multiplier`` filters (MobileNet's spatial step).

    Input ``(batch, height, width, channels)`` -> output ``(batch, new_height, new_width,
    channels * depth_multiplier)``; output channel ``c * depth_multiplier + m`` comes from
    input channel ``c``. Kernel ``(kh, kw, channels, depth_multiplier)`` (named ``kernel``,
    as in Keras 3) and bias ``(channels * depth_multiplier,)``.

    Args:
        kernel_size (int | tuple[int, int]): window size ``(kh, kw)``; an int for a square window.
        strides (int | tuple[int, int]): step of the window (default 1).
        padding (str): ``"valid"`` (default) or ``"same"`` (``new = ceil(size / stride)``, the
            extra pad at the end, as Keras).
        depth_multiplier (int): output channels per input channel (default 1).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int, int]): spacing between the kernel's taps (default 1).
        activation (str | callable | None): applied to the output (default None: linear);
            relu / tanh / sigmoid run fused with the convolution.
        use_bias (bool): add a bias ``(channels * depth_multiplier,)`` (default True).
        depthwise_initializer (str | Initializer): initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        depthwise_regularizer (str | Regularizer | None): penalty on the kernel added to the loss.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        depthwise_constraint (str | Constraint | None): projection of the kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
        >>> layer(np.zeros((2, 8, 8, 3))).shape
        (2, 8, 8, 6)
        >>> layer.kernel.shape
        (3, 3, 3, 2)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: ``(batch, steps, channels) -> (batch, new_steps,
    channels * depth_multiplier)``, each channel filtered on its own.

    Kernel ``(kernel_size, channels, depth_multiplier)`` and bias
    ``(channels * depth_multiplier,)`` as Keras stores them.

    Args:
        kernel_size (int | tuple[int]): window size (an int).
        strides (int | tuple[int]): step of the window (default 1).
        padding (str): ``"valid"`` (default) or ``"same"`` (``new = ceil(size / stride)``, the
            extra pad at the end, as Keras).
        depth_multiplier (int): output channels per input channel (default 1).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int]): spacing between the kernel's taps (default 1).
        activation (str | callable | None): applied to the output (default None: linear);
            relu / tanh / sigmoid run fused with the convolution.
        use_bias (bool): add a bias ``(channels * depth_multiplier,)`` (default True).
        depthwise_initializer (str | Initializer): initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        depthwise_regularizer (str | Regularizer | None): penalty on the kernel added to the loss.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        depthwise_constraint (str | Constraint | None): projection of the kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.DepthwiseConv1D(3, depth_multiplier=2)(np.zeros((2, 10, 4))).shape
        (2, 8, 8)
    """

    RANK = 1

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)


# written by Keras 2's separable convolutions (from their base class), never used by them
_KERAS2_UNUSED = ("kernel_initializer", "kernel_regularizer", "kernel_constraint")


class _SeparableConv(ConvFamily):

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        filters = positive_int(self, filters, "filters")
        depth_multiplier = positive_int(self, depth_multiplier, "depth_multiplier")
        self._set_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer)
        _options(self, depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
                 bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                 pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
                 depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                 bias_constraint=bias_constraint)
        self.filters, self.depth_multiplier = filters, depth_multiplier

    def _add_weights(self, in_channels):
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (in_channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            name="depthwise_kernel", regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.RANK + (in_channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, name="pointwise_kernel",
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self.bias = (self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _out_channels(self, in_channels):
        return self.filters

    def _out_length(self, axis, length):
        return conv_output_length(length, self.kernel_size[axis], self.padding, self.strides[axis],
                                  self.dilation_rate[axis])

    def _conv(self, x, activation):
        return separable_conv2d(x, self._kernel_2d(self.depthwise_kernel), self._kernel_2d(self.pointwise_kernel),
                                strides=self._as_2d(self.strides), padding=self.padding,
                                dilation_rate=self._as_2d(self.dilation_rate), bias=self.bias,
                                activation=activation)

    @classmethod
    def from_config(cls, config):
        """Rebuild from ``get_config()``. Keras 2 configs also list ``kernel_initializer``,
        ``kernel_regularizer`` and ``kernel_constraint``, which Keras 2's separable layers
        never used (their kernels are the depthwise and pointwise ones); they are dropped."""
        config = {k: v for k, v in config.items() if k not in _KERAS2_UNUSED}
        return super().from_config(config)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                **self._common_config(),
                **_options_config(self, "depthwise_initializer", "pointwise_initializer", "bias_initializer",
                                  "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                                  "depthwise_constraint", "pointwise_constraint", "bias_constraint")}


class SeparableConv2D(_SeparableConv):
    """Depthwise separable 2-D convolution: a depthwise convolution (each channel on its own,
    ``depth_multiplier`` filters each) followed by a 1x1 convolution mixing the channels
    (Xception's building block).

    Input ``(batch, height, width, channels)`` -> output ``(batch, new_height, new_width,
    filters)``. Weights, in Keras's order: ``depthwise_kernel (kh, kw, channels,
    depth_multiplier)``, ``pointwise_kernel (1, 1, channels * depth_multiplier, filters)``,
    ``bias (filters,)``.

    Args:
        filters (int): number of output channels (of the pointwise step).
        kernel_size (int | tuple[int, int]): window size of the depthwise step ``(kh, kw)``; an int for a square window.
        strides (int | tuple[int, int]): step of the window (default 1).
        padding (str): ``"valid"`` (default) or ``"same"`` (``new = ceil(size / stride)``, the
            extra pad at the end, as Keras).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int, int]): spacing between the kernel's taps (default 1).
        depth_multiplier (int): depthwise output channels per input channel (default 1).
        activation (str | callable | None): applied to the output (default None: linear);
            relu / tanh / sigmoid run fused with the pointwise convolution.
        use_bias (bool): add a bias ``(filters,)`` after the pointwise step (default True).
        depthwise_initializer (str | Initializer): initializer of the depthwise kernel
            (default ``"glorot_uniform"``).
        pointwise_initializer (str | Initializer): initializer of the pointwise kernel
            (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        depthwise_regularizer (str | Regularizer | None): penalty on the depthwise kernel.
        pointwise_regularizer (str | Regularizer | None): penalty on the pointwise kernel.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        depthwise_constraint (str | Constraint | None): projection of the depthwise kernel after each step.
        pointwise_constraint (str | Constraint | None): projection of the pointwise kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu")
        >>> layer(np.zeros((2, 8, 8, 3))).shape
        (2, 8, 8, 8)
        >>> print(", ".join(w.name for w in layer.weights))
        depthwise_kernel, pointwise_kernel, bias
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class SeparableConv1D(_SeparableConv):
    """Depthwise separable 1-D convolution: ``(batch, steps, channels) -> (batch, new_steps,
    filters)``, a depthwise then a pointwise (size-1) convolution.

    Weights, in Keras's order: ``depthwise_kernel (kernel_size, channels, depth_multiplier)``,
    ``pointwise_kernel (1, channels * depth_multiplier, filters)``, ``bias (filters,)``.

    Args:
        filters (int): number of output channels (of the pointwise step).
        kernel_size (int | tuple[int]): window size of the depthwise step (an int).
        strides (int | tuple[int]): step of the window (default 1).
        padding (str): ``"valid"`` (default) or ``"same"`` (``new = ceil(size / stride)``, the
            extra pad at the end, as Keras).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int]): spacing between the kernel's taps (default 1).
        depth_multiplier (int): depthwise output channels per input channel (default 1).
        activation (str | callable | None): applied to the output (default None: linear);
            relu / tanh / sigmoid run fused with the pointwise convolution.
        use_bias (bool): add a bias ``(filters,)`` after the pointwise step (default True).
        depthwise_initializer (str | Initializer): initializer of the depthwise kernel
            (default ``"glorot_uniform"``).
        pointwise_initializer (str | Initializer): initializer of the pointwise kernel
            (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        depthwise_regularizer (str | Regularizer | None): penalty on the depthwise kernel.
        pointwise_regularizer (str | Regularizer | None): penalty on the pointwise kernel.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        depthwise_constraint (str | Constraint | None): projection of the depthwise kernel after each step.
        pointwise_constraint (str | Constraint | None): projection of the pointwise kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.SeparableConv1D(5, 3, padding="same")(np.zeros((2, 10, 4))).shape
        (2, 10, 5)
    """

    RANK = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, depth_multiplier=depth_multiplier, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)


SeparableConvolution2D = SeparableConv2D
SeparableConvolution1D = SeparableConv1D
