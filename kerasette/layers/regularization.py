"""Regularization layers: SpatialDropout1D / 2D / 3D, GaussianNoise, GaussianDropout,
AlphaDropout (active only in training) and ActivityRegularization (adds a penalty
on its input to the loss).

Each random layer draws from its own ``keras.random.SeedGenerator(seed)``, as ``Dropout``
does: a new draw at every training step, the same draws for two layers made with the same
seed, and (``seed=None``) a seed taken from the generator ``set_random_seed`` seeds.
"""
import math
import numbers

import numpy as np

from .. import backend, ops, random
from .core import shape_str
from .layer import Layer
from .reshaping import standardize_data_format

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
           "AlphaDropout", "ActivityRegularization"]


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _rate(layer, rate, what="rate"):
    if (not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not np.isfinite(rate)
            or not 0 <= rate < 1):
        raise ValueError(f"{_where(layer)}: {what} must be a number in [0, 1), got {rate!r}")
    return float(rate)


def _seed(layer, seed):
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise ValueError(f"{_where(layer)}: seed must be an int or None, got {seed!r}")
    return None if seed is None else int(seed)


def _normal_like(inputs, mean, stddev, seed_generator):
    """Normal samples of the inputs' shape and dtype, on the inputs' device."""
    noise = random.normal(tuple(inputs.shape), mean=mean, stddev=stddev, dtype=str(inputs.dtype),
                          seed=seed_generator).value
    return backend.to_device(noise, backend.get_array_module(inputs.value))


class _SpatialDropout(Layer):
    _rank, _layout = None, None

    def __init__(self, rate, seed=None, **kwargs):
        noise_shape = kwargs.pop("noise_shape", None)      # in Keras 2 configs (always None there)
        super().__init__(**kwargs)
        if noise_shape is not None:
            raise ValueError(f"{_where(self)}: noise_shape is fixed by the layer (whole channels); "
                             f"pass None, got {noise_shape!r}")
        self.rate = _rate(self, rate)
        self.seed = _seed(self, seed)
        self.seed_generator = random.SeedGenerator(self.seed)
        self.supports_masking = True

    def _check(self, shape):
        if len(shape) != self._rank:
            raise ValueError(f"{_where(self)}: expected input of rank {self._rank} {self._layout}, got "
                             f"shape {shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check(inputs.shape)

    def call(self, inputs, training=None):
        self._check(inputs.shape)
        if training and self.rate > 0:
            return random.dropout(inputs, self.rate, noise_shape=self._noise_shape(), seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return input_shape

    def get_config(self):
        # Keras's keys only: its SpatialDropout takes no ``trainable`` (a Keras config with it
        # fails to load there); the layer has no weights, so nothing is lost
        config = {k: v for k, v in super().get_config().items() if k != "trainable"}
        return {**config, "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole feature channels: a dropped feature is zero at every time step
    (the others are scaled by ``1/(1-rate)``); the identity at inference.

    Input ``(batch, steps, features)``; output shape = input shape.

    Args:
        rate (float): fraction of the channels to drop, in ``[0, 1)``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed draw the same noise at each step; None draws the seed
            from the generator ``keras.utils.set_random_seed`` seeds.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: a tensor ``(batch, steps, features)``.
        training (bool | None): drop only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> out = keras.layers.SpatialDropout1D(0.5)(np.ones((2, 5, 8)), training=True).numpy()
        >>> bool((out == out[:, :1, :]).all())          # the same channels at every step
        True
    """
    _rank, _layout = 3, "(batch, steps, features)"

    def _noise_shape(self):
        return (None, 1, None)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps: a dropped channel is zero at every pixel (the
    others are scaled by ``1/(1-rate)``); the identity at inference.

    Input ``(batch, height, width, channels)`` (``(batch, channels, height, width)`` with
    ``channels_first``); output shape = input shape.

    Args:
        rate (float): fraction of the channels to drop, in ``[0, 1)``.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed draw the same noise at each step; None draws the seed
            from the generator ``keras.utils.set_random_seed`` seeds.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: a tensor of rank 4.
        training (bool | None): drop only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.SpatialDropout2D(0.5)(np.ones((2, 4, 4, 3)), training=True).shape
        (2, 4, 4, 3)
    """
    _rank, _layout = 4, "(batch, height, width, channels)"

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(self, data_format)

    def _noise_shape(self):
        return (None, None, 1, 1) if self.data_format == "channels_first" else (None, 1, 1, None)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """Dropout of whole 3-D feature maps: a dropped channel is zero at every voxel (the
    others are scaled by ``1/(1-rate)``); the identity at inference.

    Input ``(batch, depth, height, width, channels)`` (``(batch, channels, depth, height,
    width)`` with ``channels_first``); output shape = input shape.

    Args:
        rate (float): fraction of the channels to drop, in ``[0, 1)``.
        data_format (str | None): ``"channels_last"`` (default, also for None) or
            ``"channels_first"``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed draw the same noise at each step; None draws the seed
            from the generator ``keras.utils.set_random_seed`` seeds.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: a tensor of rank 5.
        training (bool | None): drop only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> out = keras.layers.SpatialDropout3D(0.5)(np.ones((2, 3, 3, 3, 8)), training=True).numpy()
        >>> bool((out == out[:, :1, :1, :1, :]).all())   # the same channels at every voxel
        True
    """
    _rank, _layout = 5, "(batch, depth, height, width, channels)"

    def _noise_shape(self):
        return (None, None, 1, 1, 1) if self.data_format == "channels_first" else (None, 1, 1, 1, None)


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of its inputs (for self-normalising
    networks with ``selu``): a dropped element is set to ``-selu_alpha * selu_scale`` instead
    of 0, then the result is mapped by the affine ``a * x + b`` that restores zero mean and
    unit variance (Keras's ``a`` and ``b``); the identity at inference.

    Output shape = input shape; masks pass through.

    Args:
        rate (float): the drop probability, in ``[0, 1)``.
        noise_shape (tuple | None): shape of the keep / drop mask, broadcast to the input
            (None entries take the input's size); None (default) draws one per element.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed draw the same noise at each step; None draws the seed
            from the generator ``keras.utils.set_random_seed`` seeds.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: any tensor.
        training (bool | None): drop only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> x = np.random.default_rng(0).standard_normal((400, 250))
        >>> y = keras.layers.AlphaDropout(0.2)(x, training=True).numpy()
        >>> bool(abs(y.mean()) < 0.05 and abs(y.std() - 1.0) < 0.05)    # mean 0 and variance 1 kept
        True
    """

    _ALPHA = 1.6732632423543772848170429916717
    _SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate)
        if noise_shape is not None:
            if not isinstance(noise_shape, (list, tuple)) or not all(
                    n is None or (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0)
                    for n in noise_shape):
                raise ValueError(f"{_where(self)}: noise_shape must be None or a tuple of positive ints and "
                                 f"Nones, got {noise_shape!r}")
            noise_shape = tuple(None if n is None else int(n) for n in noise_shape)
        self.noise_shape = noise_shape
        self.seed = _seed(self, seed)
        self.seed_generator = random.SeedGenerator(self.seed)
        self.supports_masking = True

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return tuple(shape)
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"{_where(self)}: noise_shape {self.noise_shape} needs one entry per axis of the "
                             f"input, got shape {shape_str(tuple(shape))}")
        return tuple(n if d is None else d for d, n in zip(self.noise_shape, shape))

    def _check_symbolic_input(self, inputs):
        if self.noise_shape is not None:
            self._mask_shape(inputs.shape)

    def call(self, inputs, training=None):
        shape = self._mask_shape(tuple(inputs.shape))
        if not (training and self.rate > 0):
            return inputs
        draw = random.uniform(shape, dtype=str(inputs.dtype), seed=self.seed_generator).value
        xp = backend.get_array_module(inputs.value)
        keep = (backend.to_device(draw, xp) >= self.rate).astype(inputs.dtype)
        alpha_p = -self._ALPHA * self._SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a * (x * keep + alpha_p * (1 - keep)) + b, the constants folded into one array
        return ops.add(ops.multiply(inputs, keep * a), (1 - keep) * (a * alpha_p) + b)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` during training
    (a regularizer against overfitting); the identity at inference.

    Output shape = input shape; masks pass through.

    Args:
        stddev (float): standard deviation of the noise, ``>= 0``. (Keras 3 also caps it at
            1; kerasette accepts larger values, which Keras 2 model files can hold.)
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed draw the same noise at each step; None draws the seed
            from the generator ``keras.utils.set_random_seed`` seeds.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: any tensor.
        training (bool | None): add noise only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GaussianNoise(0.1)(np.ones((1, 3))).value.tolist()    # inference
        [[1.0, 1.0, 1.0]]
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(stddev, numbers.Real) or isinstance(stddev, bool) or not np.isfinite(stddev)
                or stddev < 0):
            raise ValueError(f"{_where(self)}: stddev must be a number >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        self.seed = _seed(self, seed)
        self.seed_generator = random.SeedGenerator(self.seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.stddev > 0:
            return ops.add(inputs, _normal_like(inputs, 0.0, self.stddev, self.seed_generator))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))`` during training; the identity at inference.

    Output shape = input shape; masks pass through.

    Args:
        rate (float): drop probability of the equivalent ``Dropout``, in ``[0, 1)``.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed draw the same noise at each step; None draws the seed
            from the generator ``keras.utils.set_random_seed`` seeds.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: any tensor.
        training (bool | None): apply the noise only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GaussianDropout(0.2)(np.ones((2, 3)), training=True).shape
        (2, 3)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(self, rate)
        self.seed = _seed(self, seed)
        self.seed_generator = random.SeedGenerator(self.seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            return ops.multiply(inputs, _normal_like(inputs, 1.0, stddev, self.seed_generator))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds ``(l1 * sum(|x|) + l2 * sum(x**2)) / batch_size``
    to the loss (Keras 3 divides an activity penalty by the batch size).

    Output shape = input shape; masks pass through. The penalty is in ``layer.losses``
    after each call and joins the training loss in ``fit``.

    Args:
        l1 (float): L1 factor, ``>= 0`` (default 0.0).
        l2 (float): L2 factor, ``>= 0`` (default 0.0).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.ActivityRegularization(l1=0.5)
        >>> _ = layer(np.array([[1.0, -3.0], [2.0, 0.0]]))
        >>> float(layer.losses[0].numpy())              # 0.5 * 6 / 2
        1.5
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        for value, what in ((l1, "l1"), (l2, "l2")):
            if (not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value)
                    or value < 0):
                raise ValueError(f"{_where(self)}: {what} must be a number >= 0, got {value!r}")
        self.l1, self.l2 = float(l1), float(l2)
        self.supports_masking = True

    def call(self, inputs):
        if self.l1 or self.l2:
            self.add_loss(self.penalty(inputs))
        return inputs

    def penalty(self, x):
        """The loss term for an output ``x``: ``(l1 * sum|x| + l2 * sum x**2) / batch_size``.

        Args:
            x (Tensor): the layer's output, batch axis first.
        """
        total = None
        if self.l1:
            total = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            term = ops.multiply(ops.sum(ops.square(x)), self.l2)
            total = term if total is None else ops.add(total, term)
        batch = x.shape[0] if len(x.shape) else 1
        return ops.divide(total, float(batch)) if batch else total

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
