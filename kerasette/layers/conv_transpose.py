"""Transposed convolution layers: Conv2DTranspose, Conv1DTranspose, Conv3DTranspose
(channels_last).

Kernel ``(*kernel_size, filters, in_channels)`` and bias ``(filters,)``, as
Keras stores them, so Keras weight files load by order and by name. The 1-D and
2-D layers are one graph node per call (``kerasette.ops.conv_transpose``), bias
and relu / tanh / sigmoid fused. Conv3DTranspose is composed from differentiable
ops: zeros inserted between the input's voxels (``strides``), a constant pad,
then ``conv3d`` with the flipped kernel.
"""
from .. import ops
from ..ops.conv3d import conv3d
from ..ops.conv_transpose import conv2d_transpose, conv_transpose_crops, conv_transpose_output_length
from ._conv_family import ConvFamily, positive_int
from .core import kernel_bias_config, set_kernel_bias_options, shape_str

__all__ = ["Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose", "Convolution2DTranspose",
           "Convolution1DTranspose", "Convolution3DTranspose"]


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
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
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
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
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


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution: ``(batch, depth, height, width, channels) -> (batch,
    new_depth, new_height, new_width, filters)``, the input gradient of a ``Conv3D`` (volume
    decoders, 3-D U-Nets).

    Each new size follows Conv2DTranspose's rule on its axis (``k`` the dilated kernel
    extent, ``s`` the stride): ``size * s`` with ``"same"`` padding and ``(size - 1) * s +
    max(k, s)`` with ``"valid"``; with ``output_padding`` ``p``: ``(size - 1) * s + k + p``
    (``"valid"``) or ``(size - 1) * s + k % 2 + p`` (``"same"``), as Keras. Kernel
    ``(kd, kh, kw, filters, in_channels)`` and bias ``(filters,)`` as Keras stores them.
    Computed as ``conv3d`` over the input with ``s - 1`` zeros inserted between voxels,
    padded, and the flipped kernel (differentiable ops only).

    Args:
        filters (int): number of output channels.
        kernel_size (int | tuple[int, int, int]): window depth, height and width; an int
            for a cubic window.
        strides (int | tuple[int, int, int]): upsampling factor per axis (default 1).
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        output_padding (int | tuple[int, int, int] | None): extra planes at the end of each
            axis, each smaller than its stride; None (default) lets the padding decide.
        dilation_rate (int | tuple[int, int, int]): spacing between the kernel's taps
            (default 1); strides and dilation cannot both exceed 1.
        activation (str | callable | None): applied to the output (default None: linear).
        use_bias (bool): add a bias ``(filters,)`` (default True).
        kernel_initializer (str | Initializer): initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        kernel_regularizer (str | Regularizer | None): penalty on the kernel added to the loss.
        bias_regularizer (str | Regularizer | None): penalty on the bias.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        kernel_constraint (str | Constraint | None): projection of the kernel after each step.
        bias_constraint (str | Constraint | None): projection of the bias after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> up = keras.layers.Conv3DTranspose(4, 3, strides=2, padding="same")
        >>> up(np.zeros((1, 3, 4, 5, 2))).shape
        (1, 6, 8, 10, 4)
        >>> up.kernel.shape
        (3, 3, 3, 4, 2)
    """

    RANK = 3
    _splits_batch = False           # conv3d runs on the whole batch (BLAS keeps its threads)

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 5:
            hint = ": the channel axis is missing; add one (e.g. x[..., None])" if len(shape) == 4 else ""
            raise ValueError(f"{self._where()}: expected input of rank 5 (batch, depth, height, width, "
                             f"channels), got shape {shape_str(shape)}{hint}")
        if shape[-1] is None:
            raise ValueError(f"{self._where()}: the channel axis (last) of the input must be known, got "
                             f"shape {shape_str(shape)}")
        built = getattr(self, "_in_channels", None)
        if built is not None and shape[-1] != built:
            raise ValueError(f"{self._where()}: expected input with {built} channels (last axis), got "
                             f"shape {shape_str(shape)}")

    def call(self, inputs):
        self._check_input_shape(inputs.shape)
        x = inputs
        strides = self.strides
        if max(strides) > 1:
            # s - 1 zeros after every voxel: (n, d, 1, h, 1, w, 1, c) padded to (n, d, sd, h, sh, w, sw, c)
            n, d, h, w, c = x.shape
            x = ops.reshape(x, (n, d, 1, h, 1, w, 1, c))
            x = ops.pad(x, ((0, 0), (0, 0), (0, strides[0] - 1), (0, 0), (0, strides[1] - 1), (0, 0),
                            (0, strides[2] - 1), (0, 0)))
            x = ops.reshape(x, (n, d * strides[0], h * strides[1], w * strides[2], c))
        pads, crop = [(0, 0)], [slice(None)]
        for axis in range(3):
            length, s = inputs.shape[1 + axis], strides[axis]
            eff = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
            pad = None if self.output_padding is None else self.output_padding[axis]
            left, right = conv_transpose_crops(length, self.kernel_size[axis], s, self.padding, pad,
                                               self.dilation_rate[axis])
            after = eff - 1 - right - (s - 1)          # the zero-insertion left s - 1 at the end
            pads.append((eff - 1 - left, max(after, 0)))
            crop.append(slice(None, after) if after < 0 else slice(None))
        x = ops.pad(x, pads + [(0, 0)])
        if any(c != slice(None) for c in crop):
            x = ops.get_item(x, tuple(crop))
        kernel = ops.transpose(ops.flip(self.kernel, (0, 1, 2)), (0, 1, 2, 4, 3))
        y = conv3d(x, kernel, dilation_rate=self.dilation_rate, bias=self.bias)
        return self.activation(y)


Convolution2DTranspose = Conv2DTranspose
Convolution1DTranspose = Conv1DTranspose
Convolution3DTranspose = Conv3DTranspose
