"""Normalization layers (Keras 3): BatchNormalization, LayerNormalization,
GroupNormalization, UnitNormalization and RMSNormalization.

The last three are composed from differentiable ops (``kerasette.ops``): their
gradients are those of the ops, with no primitive of their own.
"""
import numbers

import numpy as np

from .. import constraints, initializers, ops, regularizers
from ..autograd.function import no_grad
from .core import refuse_unsupported, shape_str
from .layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
           "RMSNormalization"]


class BatchNormalization(Layer):
    """Normalises each channel with the batch's statistics in training, moving ones at inference.

    Input ``(batch, ..., C)`` with channels on ``axis`` -> output of the same
    shape. Weights ``gamma``, ``beta`` (trainable, ``(C,)``) then
    ``moving_mean``, ``moving_variance`` (non-trainable, ``(C,)``), as Keras.
    A training call updates ``moving = moving * momentum + batch * (1 - momentum)``
    (biased batch variance). A frozen layer (``trainable=False``) always runs
    in inference mode, as in Keras.

    Args:
        axis (int): the channel axis (default -1, the last); one axis only.
        momentum (float): weight of the old value in the moving averages (default 0.99).
        epsilon (float): added to the variance before the square root (default 1e-3).
        center (bool): learn the offset ``beta`` (default True).
        scale (bool): learn the scale ``gamma`` (default True).
        beta_initializer (str | Initializer): default ``"zeros"``.
        gamma_initializer (str | Initializer): default ``"ones"``.
        moving_mean_initializer (str | Initializer): default ``"zeros"``.
        moving_variance_initializer (str | Initializer): default ``"ones"``.
        beta_regularizer (None): not implemented; must be None.
        gamma_regularizer (None): not implemented; must be None.
        beta_constraint (None): not implemented; must be None.
        gamma_constraint (None): not implemented; must be None.
        renorm (bool): False; True (Keras's batch renormalization) is not implemented and
            refused.
        renorm_clipping (dict | None): the renorm correction's clipping; like Keras, read only
            with ``renorm=True`` (kept, unused, otherwise).
        renorm_momentum (float): the renorm statistics' momentum; as ``renorm_clipping``.
        synchronized (bool): False; True (statistics across devices) is refused, as Keras
            does outside TensorFlow.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, ..., C)``.
        training (bool | None): use the batch's statistics and update the moving ones when
            True (``fit`` passes True); the moving ones otherwise.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> bn = keras.layers.BatchNormalization()
        >>> bn(np.ones((4, 3)), training=True).shape
        (4, 3)
        >>> len(bn.weights), len(bn.trainable_weights)
        (4, 2)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError(f"BatchNormalization '{self.name}': one channel axis is "
                                          f"supported, got axis={axis!r}")
            axis = axis[0]
        if synchronized:
            raise ValueError(f"BatchNormalization '{self.name}': synchronized=True is only supported "
                             f"with the TensorFlow backend")
        if renorm:
            raise NotImplementedError(f"BatchNormalization '{self.name}': renorm=True (batch renormalization) "
                                      f"is not supported by kerasette yet; pass renorm=False")
        # recent Keras 3 (3.15 here) writes these into every config; without renorm they change nothing (as in Keras)
        self.renorm, self.renorm_clipping, self.renorm_momentum = False, renorm_clipping, float(renorm_momentum)
        refuse_unsupported(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                   beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = False
        self.supports_masking = True
        self.gamma = self.beta = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if not -len(input_shape) <= self.axis < len(input_shape) or len(input_shape) < 2:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is out of range "
                             f"for input of shape {shape_str(input_shape)}")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f"BatchNormalization '{self.name}': the channel axis {self.axis} must "
                             f"be known, got input shape {shape_str(input_shape)}")
        shape = (channels,)
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta")
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self._rank = len(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        self._check_input(inputs.shape)
        if training and self.trainable:
            y, mean, var = ops.batch_norm(inputs, gamma=self.gamma, beta=self.beta, epsilon=self.epsilon,
                                          axis=self.axis, return_stats=True)
            m = self.momentum
            with no_grad():
                self.moving_mean.assign(self.moving_mean.value * m + mean.value * (1.0 - m))
                self.moving_variance.assign(self.moving_variance.value * m + var.value * (1.0 - m))
            return y
        return ops.batch_norm(inputs, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                              epsilon=self.epsilon, axis=self.axis)

    def _check_symbolic_input(self, inputs):
        self._check_input(inputs.shape)

    def _check_input(self, shape):
        c = self.moving_mean.shape[0]
        if len(shape) != self._rank or shape[self.axis] != c:
            raise ValueError(f"BatchNormalization '{self.name}': expected input of rank {self._rank} "
                             f"with {c} channels on axis {self.axis}, got shape {shape_str(shape)}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None, "synchronized": False}


class LayerNormalization(Layer):
    """Normalises each sample over its last axis, then scales by ``gamma`` and shifts by ``beta``.

    Input ``(batch, ..., C)`` -> output of the same shape; weights ``gamma``
    then ``beta``, ``(C,)``, as Keras. Only the last axis is supported.

    Args:
        axis (int): the axis to normalise over; the last one (default -1) only.
        epsilon (float): added to the variance before the square root (default 1e-3).
        center (bool): learn the offset ``beta`` (default True).
        scale (bool): learn the scale ``gamma`` (default True).
        rms_scaling (bool): False; True (RMS normalisation) is not implemented.
        beta_initializer (str | Initializer): default ``"zeros"``.
        gamma_initializer (str | Initializer): default ``"ones"``.
        beta_regularizer (None): not implemented; must be None.
        gamma_regularizer (None): not implemented; must be None.
        beta_constraint (None): not implemented; must be None.
        gamma_constraint (None): not implemented; must be None.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> ln = keras.layers.LayerNormalization()
        >>> ln(np.arange(6.0).reshape(2, 3)).shape
        (2, 3)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            raise NotImplementedError(f"LayerNormalization '{self.name}': rms_scaling=True is not "
                                      f"supported by kerasette")
        refuse_unsupported(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                   beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError(f"LayerNormalization '{self.name}': only the last axis is "
                                          f"supported, got axis={axis!r}")
            axis = axis[0]
        self.axis = int(axis)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.supports_masking = True
        self.gamma = self.beta = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if self.axis not in (-1, len(input_shape) - 1):
            raise NotImplementedError(f"LayerNormalization '{self.name}': only the last axis is "
                                      f"supported, got axis={self.axis} for input of shape "
                                      f"{shape_str(input_shape)}")
        channels = input_shape[-1] if input_shape else None
        if channels is None:
            raise ValueError(f"LayerNormalization '{self.name}': the last axis must be known, "
                             f"got input shape {shape_str(input_shape)}")
        if self.scale:
            self.gamma = self.add_weight(shape=(channels,), initializer=self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=(channels,), initializer=self.beta_initializer, name="beta")
        self._channels = channels
        self.built = True

    def call(self, inputs):
        self._check_input(inputs.shape)
        return ops.layer_norm(inputs, self.gamma, self.beta, epsilon=self.epsilon)

    def _check_symbolic_input(self, inputs):
        self._check_input(inputs.shape)

    def _check_input(self, shape):
        if not shape or shape[-1] != self._channels:
            raise ValueError(f"LayerNormalization '{self.name}': expected input with last axis "
                             f"{self._channels}, got shape {shape_str(shape)}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": False,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _axes_arg(layer, axis):
    """``axis`` as Keras keeps it: an int, or a list of ints; anything else is a ValueError."""
    if _is_int(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(_is_int(a) for a in axis):
        return [int(a) for a in axis]
    raise ValueError(f"{_where(layer)}: axis must be an int or a non-empty list of ints, got {axis!r}")


def _positive_axes(layer, axis, shape):
    """The axes of ``axis`` (int or list) as sorted non-negative ints for a ``shape``; a
    ValueError naming the layer when one is out of range, repeated, or the batch axis."""
    rank = len(shape)
    axes = [axis] if _is_int(axis) else list(axis)
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"{_where(layer)}: axis {a} is out of range for input of shape {shape_str(shape)}")
    out = sorted(a % rank for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{_where(layer)}: axis {axis!r} names an axis twice")
    return out


def _epsilon(layer, value, name="epsilon"):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{_where(layer)}: {name} must be a number >= 0, got {value!r}")
    return float(value)


class GroupNormalization(Layer):
    """Normalises each sample over groups of channels: the channels on ``axis`` are split into
    ``groups`` consecutive groups, and each group is normalised over its channels and every
    other non-batch axis, then scaled by ``gamma`` and shifted by ``beta`` (per channel).

    ``groups=1`` is layer normalisation over all non-batch axes; ``groups=-1`` (one group per
    channel) is instance normalisation. Input ``(batch, ..., C)`` (channels on ``axis``) ->
    output of the same shape. Weights ``gamma`` then ``beta``, ``(C,)``, as Keras. Masks pass
    through unchanged.

    Args:
        groups (int): the number of groups (default 32): a divisor of the channel count, or -1
            for one group per channel (the built layer then stores the channel count, as Keras).
        axis (int): the channel axis (default -1).
        epsilon (float): added to the variance before the square root (default 1e-3).
        center (bool): learn the offset ``beta`` (default True).
        scale (bool): learn the scale ``gamma`` (default True).
        beta_initializer (str | Initializer): default ``"zeros"``.
        gamma_initializer (str | Initializer): default ``"ones"``.
        beta_regularizer (str | Regularizer | None): penalty on ``beta`` added to the loss.
        gamma_regularizer (str | Regularizer | None): penalty on ``gamma`` added to the loss.
        beta_constraint (str | Constraint | None): projection of ``beta`` after each step.
        gamma_constraint (str | Constraint | None): projection of ``gamma`` after each step.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> gn = keras.layers.GroupNormalization(groups=2)
        >>> y = gn(np.arange(24.0).reshape(2, 3, 4)).numpy()
        >>> y.shape, [w.name for w in gn.weights]
        ((2, 3, 4), ['gamma', 'beta'])
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(groups) or (groups <= 0 and groups != -1):
            raise ValueError(f"{_where(self)}: groups must be a positive integer (or -1 for one group per "
                             f"channel), got {groups!r}")
        if not _is_int(axis):
            raise ValueError(f"{_where(self)}: axis must be an int (one channel axis), got {axis!r}")
        self.groups, self.axis = int(groups), int(axis)
        self.epsilon = _epsilon(self, epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        if rank < 2 or not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"{_where(self)}: axis {self.axis} is not a non-batch axis of input shape "
                             f"{shape_str(input_shape)}")
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"{_where(self)}: the channel axis {self.axis} must be known, got input shape "
                             f"{shape_str(input_shape)}")
        groups = dim if self.groups == -1 else self.groups
        if dim < groups or dim % groups:
            raise ValueError(f"{_where(self)}: groups={groups} must divide the {dim} channels on axis "
                             f"{self.axis} (input shape {shape_str(input_shape)})")
        self.groups = groups
        if self.scale:
            self.gamma = self.add_weight(shape=(dim,), initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape=(dim,), initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self._rank, self._channels = rank, dim
        self.built = True

    def _check(self, shape):
        if len(shape) != self._rank or shape[self.axis] != self._channels:
            raise ValueError(f"{_where(self)}: expected input of rank {self._rank} with {self._channels} "
                             f"channels on axis {self.axis}, got shape {shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        self._check(inputs.shape)
        axis = self.axis % self._rank
        x = inputs if axis == self._rank - 1 else ops.moveaxis(inputs, axis, -1)
        moved = tuple(x.shape)
        g = ops.reshape(x, moved[:-1] + (self.groups, self._channels // self.groups))
        reduce = tuple(range(1, len(moved) - 1)) + (len(moved),)      # all but the batch and the group
        mean = ops.mean(g, axis=reduce, keepdims=True)
        centered = ops.subtract(g, mean)
        var = ops.mean(ops.square(centered), axis=reduce, keepdims=True)
        y = ops.reshape(ops.divide(centered, ops.sqrt(ops.add(var, self.epsilon))), moved)
        if self.gamma is not None:
            y = ops.multiply(y, self.gamma)
        if self.beta is not None:
            y = ops.add(y, self.beta)
        return y if axis == self._rank - 1 else ops.moveaxis(y, -1, axis)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along ``axis``: ``x / max(||x||, 1e-12)`` (Keras's
    ``x * min(rsqrt(sum(x**2)), 1e12)``), so an all-zero slice stays zero.

    Output shape = input shape; no weights; masks pass through.

    Args:
        axis (int | list[int]): the axis or axes the norm is taken over (default -1).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.UnitNormalization()(np.array([[3.0, 4.0], [0.0, 0.0]])).numpy().tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """

    _EPSILON = 1e-12

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_arg(self, axis)
        self.supports_masking = True
        self.built = True

    def _check_symbolic_input(self, inputs):
        _positive_axes(self, self.axis, tuple(inputs.shape))

    def call(self, inputs):
        axes = tuple(_positive_axes(self, self.axis, tuple(inputs.shape)))
        square_sum = ops.sum(ops.square(inputs), axis=axes, keepdims=True)
        # 1 / max(sqrt(s), eps) = 1 / sqrt(max(s, eps**2)): no infinite gradient at zero
        return ops.divide(inputs, ops.sqrt(ops.maximum(square_sum, self._EPSILON ** 2)))

    def compute_output_shape(self, input_shape):
        _positive_axes(self, self.axis, tuple(input_shape))
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class RMSNormalization(Layer):
    """Root-mean-square normalisation: ``x / sqrt(mean(x**2, axis) + epsilon) * scale``, with a
    learned ``scale`` over the normalised axes (no centering, no offset).

    Output shape = input shape. Weight ``scale``, of the sizes of the normalised axes,
    initialised to ones (Keras's name and shape). The axes must be the last ones of the input
    (``-1``, or e.g. ``[-2, -1]``): Keras broadcasts ``scale`` against the trailing axes, so
    others are refused. Once built, ``axis`` is kept as a sorted list, as Keras keeps it.

    Args:
        axis (int | list[int]): the trailing axis or axes to normalise over (default -1).
        epsilon (float): added to the mean square (default 1e-6).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> rms = keras.layers.RMSNormalization()
        >>> rms(np.array([[3.0, 4.0]])).shape, rms.scale.shape
        ((1, 2), (2,))
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_arg(self, axis)
        self.epsilon = _epsilon(self, epsilon)
        self.scale = None

    def _axes(self, shape):
        axes = _positive_axes(self, self.axis, shape)
        if axes != list(range(len(shape) - len(axes), len(shape))) or axes[0] == 0:
            raise ValueError(f"{_where(self)}: axis {self.axis!r} must be the last non-batch axes of the input, "
                             f"got input shape {shape_str(shape)}")
        return axes

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        axes = self._axes(input_shape)
        shape = tuple(input_shape[a] for a in axes)
        if any(n is None for n in shape):
            raise ValueError(f"{_where(self)}: the normalised axes must be known, got input shape "
                             f"{shape_str(input_shape)}")
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self.scale = self.add_weight(shape=shape, initializer="ones", name="scale")
        self.built = True

    def _check(self, shape):
        axes = self._axes(tuple(shape))
        if tuple(shape[a] for a in axes) != tuple(self.scale.shape):
            raise ValueError(f"{_where(self)}: expected input whose axes {self.axis} have sizes "
                             f"{tuple(self.scale.shape)}, got shape {shape_str(tuple(shape))}")
        return axes

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs):
        axes = tuple(self._check(inputs.shape))
        mean_square = ops.mean(ops.square(inputs), axis=axes, keepdims=True)
        return ops.multiply(ops.divide(inputs, ops.sqrt(ops.add(mean_square, self.epsilon))), self.scale)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
