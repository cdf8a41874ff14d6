"""Transposed convolution layers: Conv2DTranspose, Conv1DTranspose (channels_last).

Kernel ``(*kernel_size, filters, in_channels)`` and bias ``(filters,)``, as
Keras stores them, so Keras weight files load by order and by name. Each call
is one graph node (``kerasette.ops.conv_transpose``), bias and relu / tanh /
sigmoid fused.
"""
from ..ops.conv_transpose import conv2d_transpose, conv_transpose_output_length
from ._conv_family import ConvFamily, positive_int
from .core import kernel_bias_config, set_kernel_bias_options

__all__ = ["Conv2DTranspose", "Conv1DTranspose", "Convolution2DTranspose", "Convolution1DTranspose"]


class _ConvTranspose(ConvFamily):
    TRANSPOSED = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        filters = positive_int(self, filters, "filters")
        if output_padding is not None:
            output_padding = self._tuple(output_padding, "output_padding", allow_zero=True)
        strides = self._tuple(strides, "strides")
        if output_padding is not None and any(p >= s for p, s in zip(output_padding, strides)):
            raise ValueError(f"{self._where()}: output_padding must be smaller than strides on every axis, "
                             f"got output_padding={output_padding} with strides={strides}")
        self._set_common(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         activity_regularizer, strided_dilation=False)
        set_kernel_bias_options(self, kernel_initializer, bias_initializer, kernel_regularizer,
                                bias_regularizer, kernel_constraint, bias_constraint)
        self.filters, self.output_padding = filters, output_padding

    def _add_weights(self, in_channels):
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, in_channels),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _out_channels(self, in_channels):
        return self.filters

    def _out_length(self, axis, length):
        pad = None if self.output_padding is None else self.output_padding[axis]
        return conv_transpose_output_length(length, self.kernel_size[axis], self.strides[axis], self.padding,
                                            pad, self.dilation_rate[axis])

    def _conv(self, x, activation):
        out_pad = None if self.output_padding is None else self._as_2d(self.output_padding, fill=0)
        return conv2d_transpose(x, self._kernel_2d(self.kernel), strides=self._as_2d(self.strides),
                                padding=self.padding, output_padding=out_pad,
                                dilation_rate=self._as_2d(self.dilation_rate), bias=self.bias,
                                activation=activation)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._common_config(),
                "output_padding": self.output_padding, **kernel_bias_config(self)}


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution (sometimes called deconvolution): the input gradient of a
    ``Conv2D``, used to upsample (autoencoders, GAN generators, U-Nets).

    Input ``(batch, height, width, channels)`` -> output ``(batch, new_height, new_width,
    filters)``; along each axis (``k`` the dilated kernel extent, ``s`` the stride)
    ``new = size * s`` with ``"same"`` padding and ``(size - 1) * s + max(k, s)`` with
    ``"valid"``; with ``output_padding`` ``p``: ``(size - 1) * s + k + p`` (``"valid"``) or
    ``(size - 1) * s + k % 2 + p`` (``"same"``), as Keras. Kernel
    ``(kh, kw, filters, in_channels)`` and bias ``(filters,)`` as Keras stores them.

    Args:
        filters (int): number of output channels.
        kernel_size (int | tuple[int, int]): window height and width; an int for a square window.
        strides (int | tuple[int, int]): upsampling factor along height and width (default 1).
        padding (str): ``"valid"`` (default) or ``"same"``.
        output_padding (int | tuple[int, int] | None): extra rows / columns at the bottom /
            right, each smaller than its stride; None (default) lets the padding decide.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int, int]): spacing between the kernel's taps (default 1);
            strides and dilation cannot both exceed 1.
        activation (str | callable | None): applied to the output (default None: linear);
            relu / tanh / sigmoid run fused with the convolution.
        use_bias (bool): add a bias ``(filters,)`` (default True).
        kernel_initializer (str | Initializer): initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        kernel_regularizer (str | Regularizer | None): penalty on the kernel added to the loss.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (None): not implemented; anything but None is refused.
        kernel_constraint (str | Constraint | None): projection of the kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> up = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")
        >>> up(np.zeros((2, 7, 7, 8))).shape
        (2, 14, 14, 4)
        >>> up.kernel.shape
        (3, 3, 4, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution: ``(batch, steps, channels) -> (batch, new_steps, filters)``.

    ``new_steps`` follows Conv2DTranspose's rule on the one axis. Kernel
    ``(kernel_size, filters, in_channels)`` and bias ``(filters,)`` as Keras stores them.

    Args:
        filters (int): number of output channels.
        kernel_size (int | tuple[int]): window length.
        strides (int | tuple[int]): upsampling factor (default 1).
        padding (str): ``"valid"`` (default) or ``"same"``.
        output_padding (int | tuple[int] | None): extra steps at the end, smaller than the
            stride; None (default) lets the padding decide.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int]): spacing between the kernel's taps (default 1);
            strides and dilation cannot both exceed 1.
        activation (str | callable | None): applied to the output (default None: linear).
        use_bias (bool): add a bias ``(filters,)`` (default True).
        kernel_initializer (str | Initializer): initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        kernel_regularizer (str | Regularizer | None): penalty on the kernel added to the loss.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (None): not implemented; anything but None is refused.
        kernel_constraint (str | Constraint | None): projection of the kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Conv1DTranspose(3, 4, strides=2)(np.zeros((2, 5, 6))).shape
        (2, 12, 3)
    """

    RANK = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


Convolution2DTranspose = Conv2DTranspose
Convolution1DTranspose = Conv1DTranspose
