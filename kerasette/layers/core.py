"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Lambda, Masking."""
import numpy as np

from .. import activations, constraints, initializers, ops, random, regularizers
from .layer import Layer

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Lambda", "Masking",
           "check_rank", "shape_str", "refuse_unsupported", "set_kernel_bias_options", "kernel_bias_config"]


# keras.activations functions the fused dense op applies in-node, by identity (None: linear);
# the op's own forms equal them (tests/ops/test_dense_activations.py). Any other callable, a
# user's function named "relu" or a partial of gelu included, runs after the node.
_DENSE_FUSED = {"linear": None, "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "elu": "elu",
                "selu": "selu", "softplus": "softplus", "softsign": "softsign", "relu6": "relu6",
                "leaky_relu": "leaky_relu", "hard_sigmoid": "hard_sigmoid", "exponential": "exponential",
                "silu": "silu", "swish": "silu", "gelu": "gelu", "mish": "mish"}


def _dense_fused_activation(fn):
    """The fused dense op's name for the built-in activation ``fn`` (None: linear), else False."""
    for name, fused in _DENSE_FUSED.items():
        if fn is getattr(activations, name):
            return fused
    return "relu" if fn is ops.relu else False       # keras.ops.relu: activations.relu's plain case


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis, as one graph node.

    Input ``(batch, ..., in)`` -> output ``(batch, ..., units)``; kernel
    ``(in, units)`` and bias ``(units,)`` as Keras stores them.

    Args:
        units (int): size of the output's last axis; a positive integer.
        activation (str | callable | None): applied to the output, by name (``"relu"``,
            ``"softmax"``, ...) or as a function; ``None`` (default) leaves it linear.
            The built-in elementwise activations (relu, tanh, sigmoid, elu, selu, softplus,
            softsign, relu6, leaky_relu, hard_sigmoid, exponential, silu / swish, gelu) run
            fused with the matmul; softmax and your own functions run after it.
        use_bias (bool): add a bias vector ``(units,)`` (default True).
        kernel_initializer (str | Initializer): initializer of the ``(in, units)`` kernel
            (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): initializer of the bias (default ``"zeros"``).
        kernel_regularizer (str | Regularizer | None): penalty on the kernel added to the
            loss (e.g. ``keras.regularizers.L2(1e-4)``); default None.
        bias_regularizer (str | Regularizer | None): penalty on the bias; default None.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        kernel_constraint (str | Constraint | None): projection applied to the kernel after
            each optimizer step (e.g. ``keras.constraints.MaxNorm(3)``); default None.
        bias_constraint (str | Constraint | None): the same for the bias; default None.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.Dense(3, activation="relu")
        >>> layer(np.ones((2, 4))).shape
        (2, 3)
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        set_kernel_bias_options(self, kernel_initializer, bias_initializer, kernel_regularizer,
                                bias_regularizer, kernel_constraint, bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self._fused = _dense_fused_activation(self.activation)
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
        # Keras writes activity_regularizer (after dtype) only when it is set
        extra = ({"activity_regularizer": regularizers.serialize(self.activity_regularizer)}
                 if self.activity_regularizer is not None else {})
        return {**super().get_config(), **extra, "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **kernel_bias_config(self)}


class Activation(Layer):
    """Applies an activation function: ``Activation("relu")``. Output shape = input shape.

    Args:
        activation (str | callable): by name (``"relu"``, ``"softmax"``, ...) or a function
            of one tensor.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Activation("relu")(np.array([[-1.0, 2.0]])).value.tolist()
        [[0.0, 2.0]]
    """

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
    the identity at inference.

    Output shape = input shape.

    Args:
        rate (float): fraction of the inputs to drop, in ``[0, 1)``.
        noise_shape (tuple | None): shape of the keep/drop mask, broadcast to the input;
            e.g. ``(batch, 1, features)`` drops the same features at every time step.
            Default None: one draw per element.
        seed (int | None): seed of the layer's ``keras.random.SeedGenerator``: two layers
            made with the same seed drop the same elements at each step; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: any tensor.
        training (bool | None): drop only when True (``fit`` passes True).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> drop = keras.layers.Dropout(0.5)
        >>> drop(np.ones((2, 4))).value.tolist()                  # inference: the identity
        [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
        >>> sorted(set(drop(np.ones((2, 4)), training=True).value.ravel().tolist()) - {0.0, 2.0})
        []
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        # a seed: the layer's own generator (same seed, same masks); None: the global one,
        # which set_random_seed restarts (a model and its reloaded clone draw alike)
        self.seed_generator = random.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            return random.dropout(inputs, self.rate, noise_shape=self.noise_shape, seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Flatten(Layer):
    """``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    Args:
        data_format (str | None): accepted and kept in the config for Keras compatibility;
            the axes are flattened in the input's own (channels-last) order.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Flatten()(np.zeros((2, 7, 7, 32))).shape
        (2, 1568)
    """

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
    """Reshape the non-batch axes to ``target_shape`` (one ``-1`` allowed).

    Input ``(batch, ...)`` -> output ``(batch, *target_shape)``; the number of values per
    sample must not change.

    Args:
        target_shape (tuple): the new shape without the batch axis; one entry may be -1.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.Reshape((4, -1))(np.zeros((2, 12))).shape
        (2, 4, 3)
    """

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
    """Wraps a stateless function of Tensors as a layer: ``Lambda(lambda x: x * 2)``.

    Args:
        function: ``fn(inputs, **arguments)``.
        output_shape: the output shape (without the batch axis, or with it), or a
            function ``input_shape -> output_shape``; inferred by running ``function``
            on zeros when None.
        mask: a function ``(inputs, mask) -> mask``, or a fixed mask, for the output.
        arguments: extra keyword arguments for ``function``.

    Saving: a named function is saved by name (register it with
    ``@keras.saving.register_keras_serializable()`` or pass it in ``custom_objects``
    when loading); a Python ``lambda`` is saved as bytecode, which loading refuses
    unless ``safe_mode=False`` (running code from a file can do anything).

    Call arguments:
        inputs: what ``function`` receives first (a Tensor, or a list of them).
        mask: the incoming mask; passed on only when ``function`` has a ``mask`` parameter.
        training (bool | None): the training mode; passed on only when ``function`` has a
            ``training`` parameter.

    Examples:
        >>> import kerasette as keras
        >>> keras.layers.Lambda(lambda x: x * 2)(np.array([[1.0, 2.0]])).value.tolist()
        [[2.0, 4.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': function must be callable, got "
                            f"{type(function).__name__}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda '{self.name}': arguments must be a dict of keyword arguments, "
                            f"got {type(arguments).__name__}")
        self.function = function
        self.arguments = arguments or {}
        self.mask = mask
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        params = _parameters(self.function)
        if "mask" in params:            # as Keras: passed only to a function that takes them
            kwargs["mask"] = mask
        if "training" in params:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is not None:
            shape = self._output_shape(input_shape) if callable(self._output_shape) else self._output_shape
            return (input_shape[0],) + tuple(shape) if len(shape) < len(input_shape) else tuple(shape)
        return super().compute_output_shape(input_shape)

    def get_config(self):
        from ..registry import serialize_keras_object
        config = {**super().get_config(), "function": self._function_config(self.function, "function")}
        if self._output_shape is not None:
            config["output_shape"] = (self._function_config(self._output_shape, "output_shape")
                                      if callable(self._output_shape) else list(self._output_shape))
        if self.mask is not None:
            config["mask"] = (self._function_config(self.mask, "mask") if callable(self.mask)
                              else serialize_keras_object(self.mask, f"{self.name}.mask"))
        config["arguments"] = serialize_keras_object(self.arguments, f"{self.name}.arguments")
        return config

    def _function_config(self, fn, what):
        import types
        from ..registry import dump_function, serialize_keras_object
        where = f"{self.name}.{what}"
        if isinstance(fn, types.FunctionType) and fn.__name__ == "<lambda>":
            code, defaults, closure = dump_function(fn)
            return {"class_name": "__lambda__",
                    "config": {"code": code, "defaults": serialize_keras_object(defaults, where),
                               "closure": serialize_keras_object(closure, where)}}
        return serialize_keras_object(fn, where)

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild from ``get_config()`` (Keras 3's, or Keras 2's ``function_type`` form).

        A function stored as bytecode is refused (before it is decoded) unless
        ``safe_mode=False`` here or in the loading call in progress."""
        from .. import registry
        config = dict(config)
        name = config.get("name", "lambda")
        legacy = {k: config.pop(k, None) for k in ("module", "function_type", "output_shape_type",
                                                  "output_shape_module")}
        safe = registry.effective_safe_mode(safe_mode)
        with registry.SafeModeScope(safe), registry.CustomObjectScope(custom_objects or {}):
            config["function"] = _lambda_function(config.get("function"), legacy["function_type"],
                                                  f"the function of Lambda layer '{name}'", custom_objects)
            shape = config.get("output_shape")
            if shape is not None and (legacy["output_shape_type"] in ("lambda", "function")
                                      or isinstance(shape, dict)):
                config["output_shape"] = _lambda_function(shape, legacy["output_shape_type"],
                                                          f"the output_shape of Lambda layer '{name}'",
                                                          custom_objects)
            elif isinstance(shape, list):
                config["output_shape"] = tuple(shape)
            mask = config.get("mask")
            if isinstance(mask, dict) and mask.get("class_name") in ("__lambda__", "function"):
                config["mask"] = _lambda_function(mask, None, f"the mask of Lambda layer '{name}'",
                                                  custom_objects)
            elif mask is not None:
                config["mask"] = registry.deserialize_keras_object(mask, custom_objects)
            config["arguments"] = _lambda_arguments(config.get("arguments"), custom_objects)
        return super().from_config(config)


def _lambda_function(spec, function_type, what, custom_objects):
    """The callable a Lambda config names: a registered / passed function, or (only with
    safe_mode off) a function rebuilt from bytecode. Keras 2 configs store bytecode as a
    ``[code, defaults, closure]`` list with ``function_type: "lambda"``."""
    from .. import registry
    bytecode = None
    if function_type == "lambda" or isinstance(spec, (list, tuple)):
        bytecode = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    elif isinstance(spec, dict) and spec.get("class_name") == "__lambda__":
        inner = spec.get("config")
        inner = inner if isinstance(inner, dict) else {}
        bytecode = inner.get("value") or [inner.get("code"), inner.get("defaults"), inner.get("closure")]
    if bytecode is not None:
        if registry.in_safe_mode() is not False:
            raise registry.unsafe_code_error(what)
        code, defaults, closure = (list(bytecode) + [None, None])[:3]
        return registry.load_function(code, registry.deserialize_keras_object(defaults, custom_objects),
                                      registry.deserialize_keras_object(closure, custom_objects))
    if isinstance(spec, str):
        return registry.resolve_function(spec, custom_objects)
    if isinstance(spec, dict) and "class_name" in spec:
        fn = registry.deserialize_keras_object(spec, custom_objects)
        if not callable(fn):
            raise ValueError(f"Cannot rebuild {what}: {spec.get('class_name')!r} is not callable")
        return fn
    raise ValueError(f"Cannot rebuild {what}: expected a function name or config, got "
                     f"{type(spec).__name__}")


def _lambda_arguments(arguments, custom_objects):
    """Lambda ``arguments`` from a config, with Keras 2's ``{"type": "ndarray"}`` values."""
    from .. import registry
    if arguments is None:
        return None
    if not isinstance(arguments, dict):
        raise ValueError(f"Lambda: arguments must be a dict, got {type(arguments).__name__}")
    out = {}
    for key, value in arguments.items():
        if isinstance(value, dict) and value.get("type") == "ndarray" and "value" in value:
            out[key] = np.asarray(value["value"], dtype=_ndarray_dtype(value["value"]))
        else:
            out[key] = registry.deserialize_keras_object(value, custom_objects)
    return out


def _parameters(fn):
    import inspect
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _ndarray_dtype(value):
    """float32 for float data (Keras's default), the natural dtype otherwise."""
    arr = np.asarray(value)
    return np.float32 if arr.dtype.kind == "f" else arr.dtype


class Masking(Layer):
    """Marks time steps whose features all equal ``mask_value`` as padding.

    Input ``(batch, time, features)``; downstream recurrent layers skip masked steps.
    The output is the input with masked steps zeroed, carrying a ``(batch, time)`` mask.

    Args:
        mask_value (float): the padding value (default 0.0).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras
        >>> x = np.array([[[1.0], [0.0], [2.0]]])
        >>> keras.layers.Masking(mask_value=0.0).compute_mask(keras.ops.convert_to_tensor(x)).tolist()
        [[True, False, True]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        v = getattr(inputs, "value", inputs)
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
