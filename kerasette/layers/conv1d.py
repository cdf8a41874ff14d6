"""1-D convolution and pooling over ``(batch, steps, features)`` (channels_last).

Each reuses the 2-D op on a ``(batch, 1, steps, features)`` view: one conv /
pool node plus cheap reshapes. Weights keep Keras's 1-D layout: Conv1D's
kernel is ``(kernel_size, in_features, filters)``.
"""
from .. import ops
from ..ops.conv import conv2d, conv_output_length, normalize_padding, normalize_tuple
from ..ops.pool import avg_pool2d, max_pool2d
from .conv import _Conv, check_data_format
from .core import shape_str
from .layer import Layer
from .pooling import WindowPooling

__all__ = ["Conv1D", "Convolution1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D", "GlobalMaxPool1D"]


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _check_rank3(layer, shape):
    shape = tuple(shape)
    if len(shape) != 3:
        extra = (": the feature axis is missing; add one (e.g. x[..., None])" if len(shape) == 2 else "")
        raise ValueError(f"{_where(layer)}: expected input of rank 3 (batch, steps, features), got shape "
                         f"{shape_str(shape)}{extra}")


def _one(layer, value, name):
    return normalize_tuple(value, 1, name, where=_where(layer))


def _to_2d(x):
    """``(N, W, C)`` -> ``(N, 1, W, C)``."""
    return ops.expand_dims(x, 1)


def _from_2d(y):
    """``(N, 1, Wo, F)`` -> ``(N, Wo, F)``."""
    return ops.squeeze(y, 1)


class Conv1D(_Conv):
    """1-D convolution: ``(batch, steps, in) -> (batch, new_steps, filters)``.

    ``activation(conv(inputs, kernel) + bias)``, bias and relu / tanh / sigmoid
    fused into the convolution node. Kernel ``(kernel_size, in, filters)`` and
    bias ``(filters,)`` as Keras stores them.

    Args:
        filters (int): number of output features.
        kernel_size (int | tuple[int]): window length, an int (or a 1-tuple).
        strides (int | tuple[int]): step of the window (default 1).
        padding (str): ``"valid"`` (default), ``"same"`` (extra pad at the end) or
            ``"causal"`` (all padding on the left: output ``t`` sees inputs ``<= t`` only).
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        dilation_rate (int | tuple[int]): spacing between the kernel's taps (default 1).
        groups (int): must be 1.
        activation (str | callable | None): applied to the output (default None: linear).
        use_bias (bool): add a bias ``(filters,)`` (default True).
        **kwargs: initializers, regularizers and constraints of the kernel and bias as for
            ``Dense``; ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Conv1D(8, 3, padding="causal")(np.zeros((2, 10, 4))).shape
        (2, 10, 8)
    """

    RANK = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation,
                         use_bias=use_bias, **kwargs)

    def _padding(self, padding):
        p = padding.lower() if isinstance(padding, str) else padding
        return "causal" if p == "causal" else super()._padding(padding)

    def _extent(self):
        return (self.kernel_size[0] - 1) * self.dilation_rate[0] + 1

    def _check_input_shape(self, shape):
        shape = tuple(shape)
        _check_rank3(self, shape)
        if shape[-1] is None:
            raise ValueError(f"{_where(self)}: the feature axis (last) of the input must be known, got "
                             f"shape {shape_str(shape)}")
        if getattr(self, "kernel", None) is not None and shape[-1] != self.kernel.shape[1]:
            raise ValueError(f"{_where(self)}: expected input with {self.kernel.shape[1]} features (last "
                             f"axis), got shape {shape_str(shape)}")
        if self.padding == "valid" and shape[1] is not None and shape[1] < self._extent():
            raise ValueError(f"{_where(self)}: kernel_size {self.kernel_size} (dilated extent "
                             f"{self._extent()}) is larger than the input length {shape[1]} (input shape "
                             f"{shape_str(shape)}) with padding='valid'")

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        n, w, _ = input_shape
        if self.padding == "causal":
            w = None if w is None else w + self._extent() - 1
        pad = "same" if self.padding == "same" else "valid"
        return (n, conv_output_length(w, self.kernel_size[0], pad, self.strides[0], self.dilation_rate[0]),
                self.filters)

    def call(self, inputs):
        self._check_input_shape(inputs.shape)
        x = _to_2d(inputs)
        padding = self.padding
        if padding == "causal":
            x = ops.pad(x, ((0, 0), (0, 0), (self._extent() - 1, 0), (0, 0)))
            padding = "valid"
        kernel = ops.expand_dims(self.kernel, 0)               # (1, k, in, filters)
        kw = dict(strides=(1, self.strides[0]), padding=padding, dilation_rate=(1, self.dilation_rate[0]),
                  bias=self.bias)
        if self._fused is not False:
            return _from_2d(conv2d(x, kernel, activation=self._fused, **kw))
        return self.activation(_from_2d(conv2d(x, kernel, **kw)))


class _Pooling1D(WindowPooling):
    AXES = ("length",)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _one(self, pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _one(self, strides, "strides")
        self.padding = normalize_padding(padding, where=_where(self))
        self.data_format = check_data_format(self, data_format)

    def _check_rank(self, shape):
        _check_rank3(self, shape)

    def call(self, inputs):
        self._check(inputs.shape)
        y = type(self)._op(_to_2d(inputs), (1, self.pool_size[0]), (1, self.strides[0]), self.padding)
        return _from_2d(y)


class MaxPooling1D(_Pooling1D):
    """Max over windows of ``pool_size`` steps moved by ``strides`` (default ``pool_size``):
    ``(batch, steps, features) -> (batch, new_steps, features)``.

    Args:
        pool_size (int): window length in steps (default 2).
        strides (int | None): step of the window; None (default) means ``pool_size``.
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.MaxPooling1D(2)(np.zeros((1, 9, 3))).shape
        (1, 4, 3)
    """
    _op = staticmethod(max_pool2d)


class AveragePooling1D(_Pooling1D):
    """Mean over windows of ``pool_size`` steps; with ``"same"`` padding only real steps count.

    ``(batch, steps, features) -> (batch, new_steps, features)``.

    Args:
        pool_size (int): window length in steps (default 2).
        strides (int | None): step of the window; None (default) means ``pool_size``.
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AveragePooling1D(3, strides=1)(np.zeros((1, 9, 3))).shape
        (1, 7, 3)
    """
    _op = staticmethod(avg_pool2d)


class _GlobalPooling1D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(self, data_format)
        self.keepdims = bool(keepdims)

    def _check_symbolic_input(self, inputs):
        _check_rank3(self, inputs.shape)

    def compute_output_shape(self, input_shape):
        _check_rank3(self, input_shape)
        n, _, c = input_shape
        return (n, 1, c) if self.keepdims else (n, c)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over steps: ``(N, T, C) -> (N, C)`` (``(N, 1, C)`` with keepdims).

    With a ``(N, T)`` mask (``Embedding(mask_zero=True)``) only unmasked steps are averaged, as Keras.

    Args:
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        keepdims (bool): keep the time axis as size 1 (default False).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, steps, features)``.
        mask: ``(batch, steps)`` bool, or from the previous layer.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.GlobalAveragePooling1D()(np.ones((2, 5, 3))).shape
        (2, 3)
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        _check_rank3(self, inputs.shape)
        if mask is None:
            return ops.mean(inputs, axis=1, keepdims=self.keepdims)
        m = getattr(mask, "value", mask)
        w = m.astype(inputs.dtype)[..., None]                   # (N, T, 1) constant
        total = ops.sum(ops.multiply(inputs, w), axis=1, keepdims=self.keepdims)
        count = w.sum(axis=1, keepdims=self.keepdims)
        return ops.divide(total, count)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Max over steps: ``(N, T, C) -> (N, C)`` (``(N, 1, C)`` with keepdims).

    Args:
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported.
        keepdims (bool): keep the time axis as size 1 (default False).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GlobalMaxPooling1D()(np.zeros((2, 9, 3))).shape
        (2, 3)
    """

    def call(self, inputs):
        _check_rank3(self, inputs.shape)
        return ops.max(inputs, axis=1, keepdims=self.keepdims)


Convolution1D = Conv1D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
