"""kerasette.ops: differentiable primitives under ``keras.ops`` names.

Every function takes Tensors (or arrays / scalars, treated as constants) and
returns a Tensor; the graph is recorded unless inside ``no_grad()``. A custom
layer written with ``from keras import ops`` runs with ``from kerasette import ops``.
"""
from .. import backend as _backend
from ..autograd.tensor import Tensor, as_tensor
from ..autograd.function import Function
from .math import (add, subtract, multiply, divide, power, negative, abs, square, exp, log,
                   sqrt, maximum, minimum, clip, where, matmul, sum, mean, max, min, var, std, cast)
from .shape import (reshape, transpose, concatenate, stack, get_item, expand_dims, squeeze,
                    flatten, split, unstack, repeat, tile, flip, swapaxes, moveaxis, broadcast_to)
from .nn import (relu, sigmoid, tanh, softmax, log_softmax, elu, selu, softplus, softsign,
                 leaky_relu, silu, gelu, hard_sigmoid, relu6, softmax_cross_entropy,
                 sigmoid_cross_entropy, dense, dropout, one_hot)
from .einsum import einsum

swish = silu
true_divide = divide
dot = matmul


def convert_to_tensor(x, dtype=None):
    """Arrays, lists and scalars as a constant Tensor on the default device."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else cast(x, dtype)
    if not _backend.is_array(x):
        import numpy as _np
        arr = _np.asarray(x)
        if dtype is None and arr.dtype == _np.float64:
            dtype = _backend.floatx()
        x = _backend.to_device(arr, dtype=dtype)
    elif _backend.get_array_module(x) is not _backend.xp() and type(x).__module__ == "numpy":
        x = _backend.to_device(x, dtype=dtype)     # host array, device default: move it
    return as_tensor(x, dtype)


def convert_to_numpy(x):
    """A NumPy array of a Tensor or array from any device."""
    return _backend.to_numpy(x)


def shape(x):
    """The shape of a Tensor or array, as a tuple of ints."""
    return tuple(x.shape)


def _creator(name):
    def make(shape, dtype=None):
        mod = _backend.xp()
        return Tensor(getattr(mod, name)(shape, dtype=dtype or _backend.floatx()))
    make.__name__ = name
    make.__doc__ = f"A constant Tensor of {name} on the default device."
    return make


zeros = _creator("zeros")
ones = _creator("ones")


def zeros_like(x, dtype=None):
    """A constant Tensor of zeros with ``x``'s shape, on ``x``'s device."""
    return Tensor(_backend.get_array_module(x).zeros_like(getattr(x, "value", x), dtype=dtype))


def ones_like(x, dtype=None):
    """A constant Tensor of ones with ``x``'s shape, on ``x``'s device."""
    return Tensor(_backend.get_array_module(x).ones_like(getattr(x, "value", x), dtype=dtype))


def argmax(x, axis=-1):
    """Index of the max along ``axis`` (not differentiable)."""
    v = getattr(x, "value", x)
    return Tensor(v.argmax(axis=axis))


def argmin(x, axis=-1):
    """Index of the min along ``axis`` (not differentiable)."""
    v = getattr(x, "value", x)
    return Tensor(v.argmin(axis=axis))


def stop_gradient(x):
    """The same value with no gradient flowing back."""
    return Tensor(getattr(x, "value", x))


# load the submodule now: importing ``ops.conv`` later would rebind the name ``conv``
# in this package to the module, hiding the function below
from . import conv as _conv_module  # noqa: E402,F401


def conv(inputs, kernel, strides=1, padding="valid", dilation_rate=1, data_format=None):
    """2-D convolution, channels_last: ``(N, H, W, C) * (kh, kw, C, F) -> (N, Ho, Wo, F)``."""
    from .conv import conv2d
    return conv2d(inputs, kernel, strides=strides, padding=padding, dilation_rate=dilation_rate)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """2-D max pooling, channels_last."""
    from .pool import max_pool2d
    return max_pool2d(inputs, pool_size, strides=strides, padding=padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """2-D average pooling, channels_last."""
    from .pool import avg_pool2d
    return avg_pool2d(inputs, pool_size, strides=strides, padding=padding)
from .conv import pad  # noqa: E402  (constant padding, differentiable)
from .rnn import simple_rnn  # noqa: E402  (the SimpleRNN recurrence as one node)
from .embedding import embedding_lookup, take  # noqa: E402  (row lookup, scatter-add backward)
from .normalization import batch_norm, layer_norm, batch_normalization, layer_normalization  # noqa: E402
from .lstm_gru import lstm, gru  # noqa: E402  (the LSTM / GRU recurrences as one node each)
# the rest of the keras.ops names (NumPy namespace, activations / losses as ops, attention,
# FFTs, control flow); nn_api's ``take`` (any axis, axis=None flattens) replaces embedding's
from .numpy_api import *  # noqa: E402,F401,F403
from .nn_api import *  # noqa: E402,F401,F403
from . import image  # noqa: E402,F401  (keras.ops.image: affine_transform, rgb_to_grayscale)


# ---- ops on functional-API placeholders ---------------------------------------------------------
# An op built from graph nodes (``Function``s) records itself when given KerasTensors; many others
# (comparisons, ``expand_dims``, ``cos``, ``argmax``, ...) compute with their inputs' values or
# shapes and cannot. Every public function below is wrapped so that, given KerasTensors, it goes to
# the hook kerasette.layers sets (``layers.symbolic.symbolic_op_call``): the op's own symbolic
# form when it has one, else one graph node that runs the op on the real tensors.
_SYMBOLIC_FALLBACK = []
_PLAIN = {"convert_to_tensor", "convert_to_numpy", "zeros", "ones"}


def _any_symbolic(args, kwargs):
    """Whether a KerasTensor is among the arguments or one level inside a list / tuple of them.
    (Plain loops, and the common argument types skipped by type: ~0.2 us a call. This module's
    ``any`` is the op.)"""
    for a in args:
        if type(a) not in _NOT_SYMBOLIC and _symbolic_arg(a):
            return True
    if kwargs:
        for a in kwargs.values():
            if type(a) not in _NOT_SYMBOLIC and _symbolic_arg(a):
                return True
    return False


def _symbolic_arg(a):
    if getattr(a, "_keras_symbolic", False):
        return True
    if type(a) in (list, tuple):
        for b in a:
            if getattr(b, "_keras_symbolic", False):
                return True
    return False


def _not_symbolic_types():
    import numpy
    return frozenset({Tensor, numpy.ndarray, float, int, bool, str, type(None)})


_NOT_SYMBOLIC = _not_symbolic_types()


def _symbolic_aware(fn):
    import functools

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _SYMBOLIC_FALLBACK and _any_symbolic(args, kwargs):
            return _SYMBOLIC_FALLBACK[0](fn, args, kwargs)
        return fn(*args, **kwargs)
    return op


def _wrap_public_functions(namespace):
    import types
    for name, obj in list(namespace.items()):
        if (not name.startswith("_") and name not in _PLAIN and type(obj) is types.FunctionType
                and obj.__module__.startswith("kerasette.ops")):
            namespace[name] = _symbolic_aware(obj)


_wrap_public_functions(globals())
