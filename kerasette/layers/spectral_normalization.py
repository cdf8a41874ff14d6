"""SpectralNormalization (Keras 3): a wrapper that keeps the spectral norm of a layer's kernel
near 1 by power iteration, as Keras 3 does it.

In training, each call first rescales the wrapped layer's kernel in place, ``kernel /
sigma``, with ``sigma`` the largest singular value of the kernel (as a ``(-1, units)``
matrix) estimated by ``power_iterations`` steps from the stored vector ``u``, which is
updated too; then the wrapped layer runs as it is. So the gradient is the wrapped layer's,
at the rescaled kernel (``sigma`` is not differentiated: it was applied by assignment), and
inference runs the wrapped layer on its current kernel.
"""
from .. import backend, initializers, ops
from ..autograd.tensor import Variable
from .layer import Layer

__all__ = ["SpectralNormalization"]


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _unit(xp, x):
    """``x`` over its L2 norm (all elements), Keras's ``x * min(rsqrt(sum(x**2)), 1 / epsilon)``."""
    inverse = 1.0 / xp.sqrt(xp.sum(x * x))
    return x * xp.minimum(inverse, 1.0 / backend.epsilon()).astype(x.dtype)


class SpectralNormalization(Layer):
    """Spectral normalization of a wrapped layer's kernel (Miyato et al., 2018), for the
    Lipschitz constraint of GAN discriminators.

    Wraps a layer with a ``kernel`` weight (``Dense``, ``Conv2D``, ...) or an ``embeddings`` one
    (``Embedding``). Each training call rescales that weight in place to ``kernel / sigma``
    (``sigma`` estimated by power iteration with the vector ``u``, updated too), then runs the
    layer; an all-zero kernel is left alone. Inference calls leave the weights as they are.

    Weights, in Keras 3's order and file layout: the kernel (the wrapper holds it, as Keras's
    does), ``vector_u`` (non-trainable, ``(1, units)``, drawn from a truncated normal of
    stddev 0.02), then the wrapped layer's others (its bias). Output shape = the wrapped layer's.

    Args:
        layer (Layer): the layer to normalize; it must have a ``kernel`` or ``embeddings``
            weight once built.
        power_iterations (int): power-iteration steps per training call (>= 1, default 1).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: the wrapped layer's input.
        training (bool): update ``u`` and rescale the kernel first (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> sn = keras.layers.SpectralNormalization(keras.layers.Dense(3))
        >>> sn(np.ones((2, 4)), training=True).shape
        (2, 3)
        >>> [w.name for w in sn.weights]
        ['kernel', 'vector_u', 'bias']
        >>> for _ in range(30):                 # u converges: the largest singular value -> 1
        ...     _ = sn(np.ones((2, 4)), training=True)
        >>> round(float(np.linalg.svd(sn.layer.kernel.numpy(), compute_uv=False)[0]), 3)
        1.0
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"SpectralNormalization: layer must be a keras Layer instance, got "
                             f"{type(layer).__name__} {layer!r}")
        super().__init__(**kwargs)
        if (not isinstance(power_iterations, int) or isinstance(power_iterations, bool)
                or power_iterations < 1):
            raise ValueError(f"{_where(self)}: power_iterations must be an integer >= 1, got "
                             f"{power_iterations!r}")
        self.layer = layer
        self.power_iterations = int(power_iterations)
        self.kernel = self.vector_u = None

    def build(self, input_shape):
        if not self.layer.built:
            self.layer._build_shapes = input_shape
            self.layer.build(input_shape)
            self.layer.built = True
        kernel = getattr(self.layer, "kernel", None)
        if not isinstance(kernel, Variable):
            kernel = getattr(self.layer, "embeddings", None)
        if not isinstance(kernel, Variable):
            raise ValueError(f"{_where(self)}: the wrapped layer '{self.layer.name}' ({type(self.layer).__name__}) "
                             f"has no 'kernel' nor 'embeddings' weight to normalize")
        self.kernel = kernel
        # Keras tracks the kernel as the wrapper's own weight too: it comes first in `weights`
        # and in the wrapper's group of a weights file
        own = self._trainable_variables if getattr(kernel, "_trainable", True) else self._non_trainable_variables
        own.append(kernel)
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]), name="vector_u", trainable=False,
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        dtype=str(kernel.dtype))
        self.built = True

    def _check_symbolic_input(self, inputs):
        self.layer._check_symbolic_input(inputs)

    def call(self, inputs, training=False):
        if training:
            self._normalize_kernel()
        out = self.layer(inputs)
        if inputs.dtype.kind == "f" and out.dtype.kind == "f" and out.dtype != inputs.dtype:
            out = ops.cast(out, inputs.dtype)
        return out

    def _normalize_kernel(self):
        """One training step's update: ``u`` from ``power_iterations`` steps, kernel / sigma."""
        w = self.kernel.value
        xp = backend.get_array_module(w)
        matrix = w.reshape(-1, w.shape[-1])
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = _unit(xp, u @ matrix.T)
            u = _unit(xp, v @ matrix)
        sigma = (v @ matrix) @ u.T                    # (1, 1): the largest singular value
        zero = xp.all(w == 0)                         # Keras leaves an all-zero kernel (and u) alone
        sigma = xp.where(zero, xp.ones_like(sigma), sigma)
        self.vector_u.assign(xp.where(zero, self.vector_u.value, u))
        self.kernel.assign(w / sigma)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        from .serialization import serialize
        return {**super().get_config(), "layer": serialize(self.layer), "power_iterations": self.power_iterations}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild from ``get_config()`` (the wrapped layer from its own config).

        Args:
            config (dict): as ``get_config`` gives it.
            custom_objects (dict | None): classes and functions the wrapped layer's config
                names that are not registered.
        """
        from .serialization import deserialize
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name", backend.floatx())
        config["layer"] = deserialize(config["layer"], custom_objects)
        return cls(**config)
