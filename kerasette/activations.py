"""Activation functions by name, as Keras's ``activation="relu"`` strings."""
from . import ops

__all__ = ["get", "deserialize", "serialize", "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu",
           "softplus", "softsign", "silu", "swish", "gelu", "leaky_relu", "relu6",
           "hard_sigmoid", "exponential", "log_softmax", "mish", "celu", "glu", "hard_shrink", "hard_silu",
           "hard_swish", "hard_tanh", "log_sigmoid", "soft_shrink", "sparse_plus", "sparse_sigmoid",
           "sparsemax", "squareplus", "tanh_shrink", "threshold"]


def linear(x):
    """Identity.

    Args:
        x (Tensor | array): any shape.

    Examples:
        >>> import kerasette as keras
        >>> keras.activations.linear(np.array([-1.0, 2.0])).tolist()
        [-1.0, 2.0]
    """
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``, or Keras's general form: ``x`` above ``threshold`` (else 0), capped at
    ``max_value``, with ``negative_slope * (x - threshold)`` below the threshold.

    Args:
        x (Tensor | array): any shape.
        negative_slope (float): slope below the threshold (default 0).
        max_value (float | None): the cap (default None: none).
        threshold (float): values at or below it are 0 (default 0).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.activations.relu(np.array([-2.0, 1.0, 8.0]), negative_slope=0.5, max_value=6.0).numpy().tolist()
        [-1.0, 1.0, 6.0]
    """
    if not negative_slope and max_value is None and not threshold:
        return ops.relu(x)
    if negative_slope and max_value is None and not threshold:
        return ops.leaky_relu(x, negative_slope)
    value = getattr(x, "value", x)
    y = ops.where(value > threshold, x, 0.0) if threshold else ops.relu(x)
    if max_value is not None:
        y = ops.clip(y, 0.0, max_value)
    if negative_slope:
        below = ops.relu(ops.subtract(threshold, x)) if threshold else ops.relu(ops.negative(x))
        y = ops.subtract(y, ops.multiply(below, negative_slope))
    return y


def mish(x):
    """``x * tanh(softplus(x))`` (Misra, 2019), as ``keras.activations.mish``.

    Args:
        x (Tensor | array): any shape.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.activations.mish(np.array([-1.0, 0.0, 1.0])).numpy().round(4).tolist()
        [-0.3034, 0.0, 0.8651]
    """
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


sigmoid = ops.sigmoid
tanh = ops.tanh
elu = ops.elu
selu = ops.selu
softplus = ops.softplus
softsign = ops.softsign
silu = swish = ops.silu
leaky_relu = ops.leaky_relu
relu6 = ops.relu6
hard_sigmoid = ops.hard_sigmoid
exponential = ops.exp
log_softmax = ops.log_softmax
celu = ops.celu
glu = ops.glu
hard_shrink = ops.hard_shrink
hard_silu = hard_swish = ops.hard_silu
hard_tanh = ops.hard_tanh
log_sigmoid = ops.log_sigmoid
soft_shrink = ops.soft_shrink
sparse_plus = ops.sparse_plus
sparse_sigmoid = ops.sparse_sigmoid
sparsemax = ops.sparsemax
squareplus = ops.squareplus
tanh_shrink = ops.tanh_shrink
threshold = ops.threshold


def gelu(x, approximate=False):
    """GELU, exact by default as ``keras.activations.gelu``.

    Args:
        x (Tensor | array): any shape.
        approximate (bool): the tanh approximation instead of the exact erf form (default False).

    Examples:
        >>> import kerasette as keras
        >>> keras.activations.gelu(np.array([-1.0, 0.0, 1.0])).value.round(4).tolist()
        [-0.1587, 0.0, 0.8413]
    """
    return ops.gelu(x, approximate=approximate)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` over ``axis`` (the last by default), computed stably.

    Args:
        x (Tensor | array): any shape.
        axis (int): the axis that sums to 1 (default -1).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.activations.softmax(np.zeros((1, 4))).value.tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """
    return ops.softmax(x, axis=axis)


_BY_NAME = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "silu": silu,
    "swish": swish, "gelu": gelu, "leaky_relu": leaky_relu, "relu6": relu6,
    "hard_sigmoid": hard_sigmoid, "exponential": exponential, "log_softmax": log_softmax,
    "mish": mish, "celu": celu, "glu": glu, "hard_shrink": hard_shrink, "hard_silu": hard_silu,
    "hard_swish": hard_swish, "hard_tanh": hard_tanh, "log_sigmoid": log_sigmoid,
    "soft_shrink": soft_shrink, "sparse_plus": sparse_plus, "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax, "squareplus": squareplus, "tanh_shrink": tanh_shrink, "threshold": threshold,
}


def get(identifier):
    """An activation function from a name, ``None`` (linear), a config or a callable.

    Names resolve through ``kerasette.registry``: the built-ins, then functions
    registered with ``@keras.saving.register_keras_serializable()``, passed in
    ``custom_objects`` of the loading call or in an active ``custom_object_scope``.

    Args:
        identifier (str | dict | object | None): a name, a config dict, an instance or a callable; None gives None.

    Examples:
        >>> import kerasette as keras
        >>> keras.activations.get("relu")(np.array([-1.0, 2.0])).value.tolist()
        [0.0, 2.0]
    """
    from . import registry
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]
        found = registry.lookup(identifier)
        if found is None or not callable(found):
            raise ValueError(f"Unknown activation: {identifier!r}; a custom one must be registered "
                             f"with @keras.saving.register_keras_serializable() or passed in "
                             f"custom_objects (built-in: {', '.join(sorted(_BY_NAME))})")
        return found
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        inner = identifier.get("config")
        if name == "function" and isinstance(inner, str):
            return get(inner)
        if name in _BY_NAME and not isinstance(inner, dict) or name in _BY_NAME and not inner:
            return _BY_NAME[name]
        if isinstance(inner, dict) and inner.get("name") in _BY_NAME and name not in ("__lambda__",):
            return _BY_NAME[inner["name"]]          # Keras 2's {"class_name": ..., "config": {"name": "relu"}}
        fn = registry.deserialize_keras_object(identifier, kinds=("activation",))
        if not callable(fn):
            raise ValueError(f"Could not interpret activation config: class {name!r} is not callable")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation: {identifier!r}")


def serialize(fn):
    """The name of a built-in activation; a custom function as Keras 3's
    ``{"class_name": "function", "config": "package>name"}`` (its registered name, else
    its ``__name__``); a callable object as its class config.

    Args:
        fn: the activation function to describe.

    Examples:
        >>> import kerasette as keras
        >>> keras.activations.serialize(keras.activations.relu)
        'relu'
    """
    from . import registry
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return registry.serialize_keras_object(fn, "activation")


def _name(fn):
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", None)


def fusable_name(fn):
    """The name of ``fn`` when the fused dense op can apply it in-node, else None."""
    name = _name(fn)
    return {"linear": None, "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}.get(name, False)


def deserialize(config, custom_objects=None):
    """The activation a ``serialize`` config describes (a view of ``kerasette.registry``: built-in,
    registered, passed in ``custom_objects`` or in an active ``custom_object_scope``).

    Args:
        config (dict): the dict ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> import kerasette as keras
        >>> keras.activations.deserialize("tanh").__name__
        'tanh'
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("activation",))
