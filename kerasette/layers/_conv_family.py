"""What the transposed, depthwise and separable convolution layers share.

Arguments are checked in ``__init__`` (one-line errors naming the layer, the
argument, what was expected and what was given) before any weight exists;
input shapes are checked before ``build`` creates weights. The 1-D layers run
the 2-D op on a ``(batch, 1, steps, channels)`` view, their kernels keeping
Keras's 1-D layout.
"""
import numpy as np

from .. import activations, ops, regularizers
from ..ops.conv import normalize_padding, normalize_tuple
from .conv import check_data_format
from .core import shape_str
from .layer import Layer

__all__ = ["ConvFamily", "positive_int"]

# Keras 2 (tf.keras 2.x) wrote ``"groups": 1`` into the configs of these layers; Keras 3 has
# no such argument (and refuses the key). Accepted here as 1 only, from ``**kwargs``.
_LEGACY_GROUPS = "groups"


def positive_int(layer, value, name):
    """``value`` as an int, or a ValueError naming the layer and ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {name} must be a positive integer, "
                         f"got {value!r}")
    return int(value)


class ConvFamily(Layer):
    """Base of the layers here: ``RANK`` spatial axes (1 or 2), channels_last.

    Subclasses set ``TRANSPOSED`` (no minimum input size), implement
    ``_out_channels(in_channels)``, ``_out_length(axis, length)``, ``_add_weights(in_channels)``
    and ``_conv(x, activation)`` on the 2-D view.
    """

    _splits_batch = True        # its ops split their batch over kerasette.parallel threads

    RANK = 2
    TRANSPOSED = False

    def __init__(self, **kwargs):
        groups = kwargs.pop(_LEGACY_GROUPS, 1)
        super().__init__(**kwargs)
        if groups != 1 or isinstance(groups, bool):
            raise ValueError(f"{self._where()}: groups={groups!r} is not supported (a Keras 2 config key; "
                             f"only groups=1, the default)")

    def _where(self):
        return f"{type(self).__name__} '{self.name}'"

    def _tuple(self, value, name, allow_zero=False):
        return normalize_tuple(value, self.RANK, name, allow_zero=allow_zero, where=self._where())

    def _set_common(self, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                    activity_regularizer, strided_dilation=True):
        """Check and store what every layer here takes (nothing is stored on an error)."""
        kernel_size = self._tuple(kernel_size, "kernel_size")
        strides = self._tuple(strides, "strides")
        dilation = self._tuple(dilation_rate, "dilation_rate")
        if not strided_dilation and max(strides) > 1 and max(dilation) > 1:
            raise ValueError(f"{self._where()}: strides {strides} > 1 are incompatible with "
                             f"dilation_rate {dilation} > 1 (as in Keras)")
        padding = normalize_padding(padding, where=self._where())
        data_format = check_data_format(self, data_format)
        activity_regularizer = regularizers.get(activity_regularizer)
        activation = activations.get(activation)
        self.kernel_size, self.strides, self.dilation_rate = kernel_size, strides, dilation
        self.padding, self.data_format = padding, data_format
        self.activation, self.use_bias = activation, bool(use_bias)
        self.activity_regularizer = activity_regularizer
        self._fused = activations.fusable_name(activation)

    def _as_2d(self, values, fill=1):
        """A per-axis tuple for the 2-D op: ``(fill, v)`` for the 1-D layers."""
        return tuple(values) if self.RANK == 2 else (fill,) + tuple(values)

    # -- shapes ---------------------------------------------------------------------------
    def _check_input_shape(self, shape):
        shape = tuple(shape)
        rank = self.RANK + 2
        axes = "(batch, height, width, channels)" if self.RANK == 2 else "(batch, steps, channels)"
        if len(shape) != rank:
            hint = (": the channel axis is missing; add one (e.g. x[..., None])" if len(shape) == rank - 1
                    else "")
            raise ValueError(f"{self._where()}: expected input of rank {rank} {axes}, got shape "
                             f"{shape_str(shape)}{hint}")
        if shape[-1] is None:
            raise ValueError(f"{self._where()}: the channel axis (last) of the input must be known, got "
                             f"shape {shape_str(shape)}")
        built = getattr(self, "_in_channels", None)
        if built is not None and shape[-1] != built:
            raise ValueError(f"{self._where()}: expected input with {built} channels (last axis), got "
                             f"shape {shape_str(shape)}")
        if not self.TRANSPOSED and self.padding == "valid":
            names = ("height", "width") if self.RANK == 2 else ("length",)
            for axis, name in enumerate(names):
                size = shape[1 + axis]
                eff = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
                if size is not None and size < eff:
                    raise ValueError(f"{self._where()}: kernel_size {self.kernel_size} (dilated extent "
                                     f"{eff}) is larger than the input {name} {size} (input shape "
                                     f"{shape_str(shape)}) with padding='valid'")

    def _check_symbolic_input(self, inputs):
        self._check_input_shape(inputs.shape)

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        in_channels = int(input_shape[-1])
        self._add_weights(in_channels)
        self._in_channels = in_channels
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        spatial = tuple(self._out_length(axis, input_shape[1 + axis]) for axis in range(self.RANK))
        return (input_shape[0],) + spatial + (self._out_channels(int(input_shape[-1])),)

    # -- compute --------------------------------------------------------------------------
    def _kernel_2d(self, kernel):
        return kernel if self.RANK == 2 else ops.expand_dims(kernel, 0)

    def call(self, inputs):
        self._check_input_shape(inputs.shape)
        x = inputs if self.RANK == 2 else ops.expand_dims(inputs, 1)
        fused = self._fused
        y = self._conv(x, None if fused is False else fused)
        if self.RANK == 1:
            y = ops.squeeze(y, 1)
        return y if fused is not False else self.activation(y)

    def _common_config(self):
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}
