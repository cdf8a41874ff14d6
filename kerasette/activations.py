"""Activation functions by name, as Keras's ``activation="relu"`` strings."""
from . import ops

__all__ = ["get", "serialize", "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu",
           "softplus", "softsign", "silu", "swish", "gelu", "leaky_relu", "relu6",
           "hard_sigmoid", "exponential", "log_softmax"]


def linear(x):
    """Identity."""
    return x


relu = ops.relu
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


def gelu(x, approximate=False):
    """GELU, exact by default as ``keras.activations.gelu``."""
    return ops.gelu(x, approximate=approximate)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` over ``axis`` (the last by default), computed stably."""
    return ops.softmax(x, axis=axis)


_BY_NAME = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "silu": silu,
    "swish": swish, "gelu": gelu, "leaky_relu": leaky_relu, "relu6": relu6,
    "hard_sigmoid": hard_sigmoid, "exponential": exponential, "log_softmax": log_softmax,
}


def get(identifier):
    """An activation function from a name, ``None`` (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown activation: {identifier!r}. Known: {sorted(_BY_NAME)}")
        return _BY_NAME[identifier]
    if isinstance(identifier, dict):
        return get(identifier.get("config", {}).get("name", identifier.get("class_name")))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation: {identifier!r}")


def serialize(fn):
    """The name of a built-in activation (or the callable's ``__name__``)."""
    for name, f in _BY_NAME.items():
        if f is fn:
            return name
    return getattr(fn, "__name__", str(fn))


def fusable_name(fn):
    """The name of ``fn`` when the fused dense op can apply it in-node, else None."""
    name = serialize(fn)
    return {"linear": None, "relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid"}.get(name, False)
