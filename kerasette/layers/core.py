"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Lambda, Masking."""
import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from .layer import Layer

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Lambda", "Masking",
           "check_rank", "shape_str", "refuse_unsupported", "set_kernel_bias_options", "kernel_bias_config"]


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis, as one graph node.

    Input ``(batch, ..., in)`` -> output ``(batch, ..., units)``; kernel
    ``(in, units)`` and bias ``(units,)`` as Keras stores them.

    Example:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.Dense(3, activation="relu")
        >>> layer(np.ones((2, 4))).shape
        (2, 3)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        refuse_unsupported(self, activity_regularizer=activity_regularizer)
        set_kernel_bias_options(self, kernel_initializer, bias_initializer, kernel_regularizer,
                                bias_regularizer, kernel_constraint, bias_constraint)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self._fused = activations.fusable_name(self.activation)
        self.supports_masking = True

    def build(self, input_shape):
        in_dim = input_shape[-1] if input_shape else None
        if in_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known, "
                             f"got input shape {shape_str(input_shape)}")
        self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight(shape=(self.units,), initializer=self.bias_initializer, name="bias",
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        self._check_features(inputs.shape)
        if self._fused is not False:
            return ops.dense(inputs, self.kernel, self.bias, self._fused)
        return self.activation(ops.dense(inputs, self.kernel, self.bias))

    def _check_symbolic_input(self, inputs):
        self._check_features(inputs.shape)

    def _check_features(self, shape):
        if len(shape) < 2:
            raise ValueError(f"Dense '{self.name}': expected input of rank >= 2 (batch, ..., features), "
                             f"got shape {shape_str(shape)}")
        if shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Dense '{self.name}': expected input with last axis {self.kernel.shape[0]}, "
                             f"got shape {shape_str(shape)}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **kernel_bias_config(self)}


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of inputs during training (scaled by ``1/(1-rate)``);
    the identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            return ops.dropout(inputs, self.rate, noise_shape=self.noise_shape)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Flatten(Layer):
    """``(batch, d1, d2, ...) -> (batch, d1*d2*...)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], n)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape the non-batch axes to ``target_shape`` (one ``-1`` allowed)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def _resolve(self, shape):
        total = int(np.prod(shape[1:])) if all(d is not None for d in shape[1:]) else None
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if -1 in self.target_shape:
            if total is None:
                return tuple(None if d == -1 else d for d in self.target_shape)
            if total % known:
                raise ValueError(f"Reshape '{self.name}': cannot reshape input {shape_str(shape)} "
                                 f"to {self.target_shape}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if total is not None and total != known:
            raise ValueError(f"Reshape '{self.name}': input {shape_str(shape)} has {total} values per "
                             f"sample, target shape {self.target_shape} needs {known}")
        return self.target_shape

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Lambda(Layer):
    """Wraps a stateless function of Tensors as a layer: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self._output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is not None:
            shape = self._output_shape(input_shape) if callable(self._output_shape) else self._output_shape
            return (input_shape[0],) + tuple(shape) if len(shape) < len(input_shape) else tuple(shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        import base64
        import marshal
        code = base64.b64encode(marshal.dumps(self.function.__code__)).decode("ascii")
        return {**super().get_config(), "function": {"class_name": "__lambda__", "config": {"code": code}},
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, safe_mode=True):
        import base64
        import marshal
        import types
        config = dict(config)
        fn = config.pop("function")
        if isinstance(fn, dict) and fn.get("class_name") == "__lambda__":
            code = marshal.loads(base64.b64decode(fn["config"]["code"]))
            fn = types.FunctionType(code, {"ops": ops, "np": np})
        return cls(fn, **config)


class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding.

    Input ``(batch, time, features)``; downstream recurrent layers skip masked steps.
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        v = inputs.value
        return (v != self.mask_value).any(axis=-1)

    def call(self, inputs):
        keep = self.compute_mask(inputs)
        return ops.multiply(inputs, keep[..., None].astype(inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


def shape_str(shape):
    """A shape as Keras prints it: ``(None, 28, 28)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def refuse_unsupported(layer, **settings):
    """Raise NotImplementedError naming every Keras option given a value kerasette does not
    implement (regularizers, constraints, LoRA): refused, never silently ignored."""
    given = sorted(k for k, v in settings.items() if v is not None)
    if given:
        raise NotImplementedError(f"{type(layer).__name__} '{layer.name}': {', '.join(given)} "
                                  f"not supported by kerasette yet; pass None")


def set_kernel_bias_options(layer, kernel_initializer, bias_initializer, kernel_regularizer,
                            bias_regularizer, kernel_constraint, bias_constraint):
    """The kernel / bias initializers, regularizers and constraints of a layer with a
    kernel and a bias (Dense, Conv1D / Conv2D, EinsumDense), resolved from Keras arguments."""
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)
    layer.kernel_regularizer = regularizers.get(kernel_regularizer)
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.kernel_constraint = constraints.get(kernel_constraint)
    layer.bias_constraint = constraints.get(bias_constraint)


def kernel_bias_config(layer):
    """The ``get_config`` entries that ``set_kernel_bias_options`` set, in Keras's order."""
    return {"kernel_initializer": initializers.serialize(layer.kernel_initializer),
            "bias_initializer": initializers.serialize(layer.bias_initializer),
            "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
            "kernel_constraint": constraints.serialize(layer.kernel_constraint),
            "bias_constraint": constraints.serialize(layer.bias_constraint)}


def check_rank(layer, shape, rank, what):
    """Raise a ValueError naming ``layer`` unless ``shape`` has ``rank`` axes."""
    if len(shape) != rank:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': expected input of rank {rank} "
                         f"{what}, got shape {shape_str(shape)}")
