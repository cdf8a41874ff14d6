"""Activations as layers: ReLU (max_value, negative_slope, threshold), LeakyReLU, PReLU
(a learned slope), ELU and Softmax (with a mask).

Composed from differentiable ops; output shape = input shape, masks pass through.
"""
import numbers

import numpy as np

from .. import activations, backend, constraints, initializers, ops, regularizers
from .core import shape_str
from .layer import Layer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _number(layer, value, what, minimum=None, allow_none=False):
    """A real number (>= ``minimum`` when given) as a float; None only when allowed."""
    if value is None and allow_none:
        return None
    if (not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value)
            or (minimum is not None and value < minimum)):
        need = f"a number >= {minimum}" if minimum is not None else "a finite number"
        raise ValueError(f"{_where(layer)}: {what} must be {need}{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit with Keras's options:
    ``max_value`` if ``x >= max_value``; ``x`` if ``threshold < x < max_value``;
    ``negative_slope * (x - threshold)`` otherwise.

    Output shape = input shape; masks pass through.

    Args:
        max_value (float | None): saturation value, ``>= 0``; None (default) means none.
        negative_slope (float): slope below the threshold, ``>= 0`` (default 0.0).
        threshold (float): values at or below it are damped, ``>= 0`` (default 0.0).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.ReLU(max_value=6.0, negative_slope=0.5)
        >>> layer(np.array([[-2.0, 1.0, 10.0]])).value.tolist()
        [[-1.0, 1.0, 6.0]]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(self, max_value, "max_value", 0.0, allow_none=True)
        self.negative_slope = _number(self, negative_slope, "negative_slope", 0.0)
        self.threshold = _number(self, threshold, "threshold", 0.0)
        self.supports_masking = True

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below.

    Output shape = input shape; masks pass through.

    Args:
        negative_slope (float): slope for negative inputs, ``>= 0`` (default 0.3, Keras 3's
            default for this layer; ``keras.activations.leaky_relu`` uses 0.2). Keras 2's
            ``alpha=`` is accepted as a synonym.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.LeakyReLU(0.5)(np.array([[-2.0, 3.0]])).value.tolist()
        [[-1.0, 3.0]]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:                   # Keras 2 name of the slope
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _number(self, negative_slope, "negative_slope", 0.0)
        self.supports_masking = True

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU with a learned slope: ``relu(x) - alpha * relu(-x)``.

    ``alpha`` has the input's shape without the batch axis, with size 1 on ``shared_axes``
    (Keras's weight layout: a ``Conv2D`` output ``(batch, h, w, c)`` with
    ``shared_axes=[1, 2]`` learns one slope per channel, ``alpha`` of shape ``(1, 1, c)``).

    Args:
        alpha_initializer (str | Initializer): initial slopes (default ``"Zeros"``: starts
            as a ReLU).
        alpha_regularizer (str | Regularizer | None): penalty on ``alpha`` added to the loss.
        alpha_constraint (str | Constraint | None): projection applied to ``alpha`` after each
            optimizer step.
        shared_axes (int | list[int] | None): input axes (counting the batch as 0) along which
            one slope is shared; None (default) learns one per element.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.PReLU(shared_axes=[1, 2])
        >>> layer(np.zeros((1, 4, 4, 3))).shape, layer.weights[0].shape
        ((1, 4, 4, 3), (1, 1, 3))
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is not None:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1
                       for a in axes):
                raise ValueError(f"{_where(self)}: shared_axes must be input axes >= 1 (the batch axis "
                                 f"0 is always shared), got {shared_axes!r}")
            shared_axes = [int(a) for a in axes]
        self.shared_axes = shared_axes
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        for a in self.shared_axes or []:
            if a >= ndim:
                raise ValueError(f"{_where(self)}: shared_axes {self.shared_axes} name an axis the input "
                                 f"does not have, got input shape {shape_str(tuple(input_shape))}")
        shape = [1 if (i in (self.shared_axes or [])) else d for i, d in enumerate(input_shape)][1:]
        if any(d is None for d in shape):
            raise ValueError(f"{_where(self)}: the input axes that are not shared must be known, got "
                             f"input shape {shape_str(tuple(input_shape))} with shared_axes "
                             f"{self.shared_axes}")
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def _check(self, shape):
        want = (None,) + self.alpha.shape
        ok = len(shape) == len(want) and all(a == 1 or d is None or a == d
                                             for d, a in zip(shape[1:], want[1:]))
        if not ok:
            raise ValueError(f"{_where(self)}: expected input of shape (batch, "
                             f"{', '.join('*' if a == 1 else str(a) for a in want[1:])}) for alpha of "
                             f"shape {self.alpha.shape}, got shape {shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        neg = ops.multiply(self.alpha, ops.relu(ops.negative(inputs)))
        return ops.subtract(ops.relu(inputs), neg)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    Output shape = input shape; masks pass through.

    Args:
        alpha (float): scale of the negative part (default 1.0).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.ELU()(np.array([[0.0, 2.0]])).value.tolist()
        [[0.0, 2.0]]
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(self, alpha, "alpha")
        self.supports_masking = True

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over ``axis``; with a mask, masked positions get probability 0 and the
    others share all of it (Keras's rule: masked logits become ``-1e9``).

    Output shape = input shape; the mask passes through.

    Args:
        axis (int | list[int]): the axis (or axes) that sums to 1 (default -1).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: the logits.
        mask (array | None): True (or 1) to keep, False (0) to mask; broadcastable to
            ``inputs`` and of no higher rank. Default: the mask the input carries, if any.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.Softmax()
        >>> layer(np.zeros((1, 4)), mask=np.array([[1, 1, 0, 0]])).value.tolist()
        [[0.5, 0.5, 0.0, 0.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            ok = len(axis) > 0 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis)
            axis = [int(a) for a in axis] if ok else axis
        else:
            ok = isinstance(axis, (int, np.integer)) and not isinstance(axis, bool)
            axis = int(axis) if ok else axis
        if not ok:
            raise ValueError(f"{_where(self)}: axis must be an int or a list of ints, got {axis!r}")
        self.axis = axis
        self.supports_masking = True

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"{_where(self)}: axis {self.axis} is out of range for input of rank {ndim}")
        return tuple(a % ndim for a in axes) if len(axes) > 1 else axes[0] % ndim

    def _check_symbolic_input(self, inputs):
        self._axes(len(inputs.shape))

    def call(self, inputs, mask=None):
        axis = self._axes(len(inputs.shape))
        if mask is None:
            return ops.softmax(inputs, axis=axis)
        keep = _bool_mask(self, mask, inputs)
        logits = ops.where(keep, inputs, -1e9)
        return ops.where(keep, ops.softmax(logits, axis=axis), 0.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _bool_mask(layer, mask, inputs):
    """The mask as a boolean array on the inputs' device, checked to broadcast to them."""
    m = getattr(mask, "value", mask)
    xp = backend.get_array_module(inputs.value)
    m = backend.to_device(m if backend.is_array(m) else np.asarray(m), xp)
    shape, want = tuple(m.shape), tuple(inputs.shape)
    if len(shape) > len(want) or any(a != 1 and a != b for a, b in zip(shape[::-1], want[::-1])):
        raise ValueError(f"{_where(layer)}: the mask must broadcast to the inputs (each axis 1 or equal, "
                         f"no more axes), got mask shape {shape_str(shape)} for inputs "
                         f"{shape_str(want)}")
    return m if m.dtype == bool else m > 0.5
