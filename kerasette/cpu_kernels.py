"""Fused CPU loops, compiled by numba when it is installed (``pip install "kerasette[fast]"``).

A chain of NumPy calls makes one pass over memory per call: Adam's update of one weight is
twelve passes over the weight, its gradient, two moments and a scratch array, each read from
memory again once the arrays outgrow the cache (a 784x512 kernel is 1.6 MB apiece). Written
as one loop, compiled by numba to vector instructions, the same update reads each array once:
for the MNIST MLP's 670 K weights, 0.3 ms on one core against 1.5 ms for the NumPy chain.

Each kernel's plain NumPy reference is the code its caller runs without numba or with these
kernels turned off (Adam's: ``Adam._step``); ``tests/test_cpu_kernels.py`` compares the two.
Nothing here is imported or compiled until the first call that can use it; the compiled code
is cached on disk (numba's ``cache=True``), so later processes load it in milliseconds.

Use: ``usable(*arrays)`` says whether the kernels can take these arrays (numba importable,
turned on, NumPy arrays of one float dtype, contiguous); then call the kernel. Turn them off
with ``KERASETTE_CPU_KERNELS=0`` or ``keras.config.set_cpu_kernels(False)``.
"""
import threading

import numpy as np

from . import context

__all__ = ["available", "usable", "adam_step"]

_lock = threading.Lock()
_compiled = {}          # name -> the numba dispatcher, built once per process


def available():
    """Whether numba can be imported here (the kernels' compiler).

    Examples:
        >>> from kerasette import cpu_kernels
        >>> cpu_kernels.available() in (True, False)
        True
    """
    return _kernel("adam_step") is not None


def usable(*arrays):
    """True when the compiled kernels are on and can run on ``arrays``: NumPy arrays of one
    float dtype (float32 or float64), C-contiguous."""
    if not context.current().cpu_kernels:
        return False
    first = arrays[0]
    if type(first) is not np.ndarray or first.dtype not in _FLOATS:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != first.dtype or not a.flags.c_contiguous:
            return False
    return available()


def adam_step(w, g, m, v, alpha, beta_1, beta_2, epsilon):
    """Adam's update of one weight, in place, in one pass (1-D float arrays of one size):
    ``m += (1 - beta_1) (g - m)``, ``v += (1 - beta_2) (g^2 - v)``,
    ``w -= alpha m / (sqrt(v) + epsilon)``. Releases the GIL: threads may update slices."""
    t = w.dtype.type
    _kernel("adam_step")(w, g, m, v, t(alpha), t(1 - beta_1), t(1 - beta_2), t(epsilon))


# ---- building the kernels ---------------------------------------------------------------------

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _kernel(name):
    """The compiled kernel ``name``, or None without numba (looked up once)."""
    try:
        return _compiled[name]
    except KeyError:
        pass
    with _lock:
        if name not in _compiled:
            _compiled.update(_build())
        return _compiled[name]


def _build():
    try:
        import numba
    except ImportError:
        return {"adam_step": None}
    # error_model="numpy": a division by zero gives inf as NumPy's does, with no branch in
    # the loop (numba's default checks every division and so cannot vectorise it);
    # fastmath "contract" only: fused multiply-adds, NaN and inf kept as NumPy has them; nogil: threads run slices at once
    jit = numba.njit(nogil=True, fastmath={"contract"}, error_model="numpy", cache=True)

    @jit
    def adam_step_loop(w, g, m, v, alpha, c1, c2, eps):
        for i in range(w.shape[0]):
            gi = g[i]
            mi = m[i] + (gi - m[i]) * c1
            vi = v[i] + (gi * gi - v[i]) * c2
            m[i] = mi
            v[i] = vi
            w[i] -= alpha * mi / (np.sqrt(vi) + eps)

    return {"adam_step": adam_step_loop}
