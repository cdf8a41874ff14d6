"""Normalization layers: BatchNormalization and LayerNormalization (Keras 3)."""
from .. import initializers, ops
from ..autograd.function import no_grad
from .core import refuse_unsupported, shape_str
from .layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]


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
                 beta_constraint=None, gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError(f"BatchNormalization '{self.name}': one channel axis is "
                                          f"supported, got axis={axis!r}")
            axis = axis[0]
        if synchronized:
            raise ValueError(f"BatchNormalization '{self.name}': synchronized=True is only supported "
                             f"with the TensorFlow backend")
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
