"""CuPy fast paths: a few fused elementwise kernels for the hottest GPU loops.

On the GPU every elementwise NumPy-style expression is one kernel launch and
one full pass over memory, so ``relu(x @ w + b)`` costs two extra passes and
Adam's ten in-place steps cost ten. The kernels here fuse them:

* ``bias_act(y, b, act)``: ``y = act(y + b)`` in place, ``y`` ``(n, units)``,
  ``b`` ``(units,)``; ``act`` one of None, "relu", "tanh", "sigmoid".
* ``act_grad(y, g, act)``: ``g * act'(.)`` written from the activation's
  output ``y`` (the Dense backward).
* ``adam_update(w, g, m, v, alpha, beta_1, beta_2, epsilon)``: Keras 3's Adam
  step on ``w``, ``m``, ``v`` in place, one pass.
* ``softmax_xent_grad(p, labels, g)``: ``(p - onehot(labels)) * g[:, None]``
  for sparse labels, one pass, no one-hot array.

They are used only when the array module is CuPy (``xp.__name__ == "cupy"``);
NumPy and every other module keep the generic code. CuPy is imported lazily,
inside the builders, so ``import kerasette`` never imports CuPy.
``benchmarks/gpu_check.py`` checks each kernel against the generic path.
"""
import functools

__all__ = ["is_cupy", "bias_act", "act_grad", "adam_update", "softmax_xent_grad"]

FUSED_ACTIVATIONS = (None, "relu", "tanh", "sigmoid")

_ACT_EXPR = {
    None: "y = y + b",
    "relu": "T s = y + b; y = s > (T)0 ? s : (T)0",
    "tanh": "y = tanh(y + b)",
    "sigmoid": "y = (T)1 / ((T)1 + exp(-(y + b)))",
}
_GRAD_EXPR = {
    "relu": "gx = y > (T)0 ? g : (T)0",
    "tanh": "gx = g * ((T)1 - y * y)",
    "sigmoid": "gx = g * y * ((T)1 - y)",
}


def is_cupy(xp):
    """True when ``xp`` is the real CuPy module (not NumPy, not the test stand-in)."""
    return getattr(xp, "__name__", "") == "cupy"


def bias_act(y, b, activation):
    """``y = activation(y + b)`` in place (``y`` C-contiguous ``(n, units)``); returns ``y``."""
    _bias_act_kernel(activation)(b, y)
    return y


def act_grad(y, g, activation):
    """The gradient through the activation, from its output ``y``: a new array."""
    return _act_grad_kernel(activation)(y, g)


def adam_update(w, g, m, v, alpha, beta_1, beta_2, epsilon):
    """One Adam step in place::

        m += (g - m) * (1 - beta_1);  v += (g*g - v) * (1 - beta_2)
        w -= alpha * m / (sqrt(v) + epsilon)
    """
    t = w.dtype.type
    _adam_kernel()(g, t(alpha), t(1 - beta_1), t(1 - beta_2), t(epsilon), w, m, v)


def softmax_xent_grad(p, labels, g):
    """``(p - onehot(labels)) * g[..., None]`` for probabilities ``p`` ``(..., C)``,
    integer ``labels`` ``(...)`` and upstream gradient ``g`` ``(...)``."""
    import cupy
    n_classes = p.shape[-1]
    g = g.astype(p.dtype, copy=False)
    return _xent_grad_kernel()(p, labels[..., None], g[..., None], cupy.int64(n_classes))


# ---- kernel builders (compiled once per process, on first use) --------------------

@functools.lru_cache(maxsize=None)
def _bias_act_kernel(activation):
    import cupy
    return cupy.ElementwiseKernel("T b", "T y", _ACT_EXPR[activation], f"kerasette_bias_{activation}")


@functools.lru_cache(maxsize=None)
def _act_grad_kernel(activation):
    import cupy
    return cupy.ElementwiseKernel("T y, T g", "T gx", _GRAD_EXPR[activation],
                                  f"kerasette_{activation}_grad")


@functools.lru_cache(maxsize=None)
def _adam_kernel():
    import cupy
    return cupy.ElementwiseKernel(
        "T g, T alpha, T one_minus_b1, T one_minus_b2, T eps", "T w, T m, T v",
        """
        m += (g - m) * one_minus_b1;
        v += (g * g - v) * one_minus_b2;
        w -= alpha * m / (sqrt(v) + eps);
        """,
        "kerasette_adam")


@functools.lru_cache(maxsize=None)
def _xent_grad_kernel():
    import cupy
    # i is the flat index into the broadcast (..., C) output, so i % C is the class
    return cupy.ElementwiseKernel(
        "T p, L label, T g, int64 n_classes", "T out",
        "out = (p - ((long long)(i % n_classes) == (long long)label ? (T)1 : (T)0)) * g",
        "kerasette_softmax_xent_grad")
