"""Fused CPU loops, compiled by numba when it is installed (``pip install "kerasette[fast]"``).

A chain of NumPy calls makes one pass over memory per call: Adam's update of one weight is
twelve passes over the weight, its gradient, two moments and a scratch array, each read from
memory again once the arrays outgrow the cache (a 784x512 kernel is 1.6 MB apiece). Written
as one loop, compiled by numba to vector instructions, the same update reads each array once:
for the MNIST MLP's 670 K weights, 0.3 ms on one core against 1.5 ms for the NumPy chain.

The kernels:

- ``adam_step``: Adam's update of one weight (slice), one pass; its NumPy reference is
  ``Adam._step``, the code that runs without numba.
- ``max_pool_2x2`` / ``max_pool_2x2_grad``: the 2x2 / stride-2 max pool and its gradient, one
  pass each (the device kernels' semantics: the winning tap kept as a byte).
- ``col2im``: a convolution's input gradient from its column gradient ``g @ kernel.T``, one pass
  (the device kernel's semantics); with its GEMM in cache-sized blocks of samples it replaces the
  per-tap GEMMs and strided adds in ``Conv2DOp.backward``: MNIST's second layer, 5.6 -> 4.4 ms.
- ``dropout_mask``: dropout's scaled keep-mask drawn from ``kerasette.random``'s counter-based
  stream, in one pass (10 against ~150 us for a 128x512 mask drawn and compared in NumPy).
- ``step(name, ...)`` with ``name`` one of ``rnn_step``, ``rnn_step_grad``, ``lstm_step``,
  ``lstm_step_grad``, ``gru_step``, ``gru_step_grad``: one recurrent time step after its GEMM,
  forward or backward, with the arguments and results of the device kernels of the same names
  (``ops.kernels``, whose NumPy references they are tested against): SimpleRNN, LSTM and GRU
  then run the same fused per-step code on the CPU as on a GPU. float32 only (their tanh and
  sigmoid are float32-accurate, see ``kerasette.numba_loops``).

``tests/test_cpu_kernels.py`` compares each with its reference. Nothing here imports numba or
compiles until the first call that can use a kernel. Compiling takes about 1 - 3 s a loop (10 s
for all of them, once per machine); the compiled code is cached on disk (numba's
``cache=True``), so a later process loads it instead (about 1 s for numba and every loop).

Use: ``usable(*arrays)`` / ``steps_usable(dtype)`` say whether the kernels can run (numba
importable, turned on, NumPy arrays of a dtype they serve); then call the kernel. Turn them
off with ``KERASETTE_CPU_KERNELS=0`` or ``keras.config.set_cpu_kernels(False)``.
"""
import threading

import numpy as np

from . import context

__all__ = ["available", "warm_up", "usable", "steps_usable", "adam_step", "max_pool_2x2",
           "max_pool_2x2_grad", "col2im", "dropout_mask", "step", "tanh"]

_lock = threading.Lock()
_loaded = []            # [the numba_loops module, or None without numba], filled once


def available():
    """Whether numba can be imported here (the kernels' compiler).

    Examples:
        >>> from kerasette import cpu_kernels
        >>> cpu_kernels.available() in (True, False)
        True
    """
    return _loops() is not None


def warm_up():
    """Load numba and every loop (float32) now rather than on the first step that uses one:
    the first training step or ``predict`` of a process then takes no load time (numba and
    LLVM: ~1 s and ~125 MB resident here, once per process, the compiled code read from numba's
    disk cache; ~10 s the first time on a machine, when it compiles). Returns ``available()``.

    Examples:
        >>> from kerasette import cpu_kernels
        >>> cpu_kernels.warm_up() == cpu_kernels.available()
        True
    """
    loops = _loops()
    if loops is None:
        return False
    f = np.float32
    v = np.ones(4, f)
    loops.adam_step(v.copy(), v, v.copy(), v.copy(), f(1e-3), f(0.1), f(1e-3), f(1e-7))
    loops.tanh_into(v, v.copy())
    x, y, arg = np.zeros((1, 2, 2, 4), f), np.zeros((1, 1, 1, 4), f), np.zeros((1, 1, 1, 4), np.uint8)
    loops.max_pool_2x2(x, y, arg)
    loops.max_pool_2x2_grad(y, arg, x)
    loops.col2im(np.zeros((1, 4), f), x, 1, 1, 1, 1, 1, 1, 1, 1)
    loops.dropout_mask(v.copy(), 1, f(0.5), f(2), False)
    s, keep = np.zeros((1, 4), f), np.ones(1, dtype=bool)
    loops.rnn_step_tanh(s.copy(), s, s, keep, False)
    loops.rnn_step_grad(s.copy(), s, s, keep, False, s.copy())
    g4, g3 = np.zeros((1, 16), f), np.zeros((1, 12), f)
    loops.lstm_step(g4.copy(), g4, s, s, keep, False, s.copy(), s.copy(), s.copy())
    loops.lstm_step_grad(g4, s, s, s, s, s.copy(), keep, False, g4.copy(), s.copy())
    loops.gru_step(g3.copy(), g3, np.zeros(12, f), s, keep, False, s.copy(), s.copy())
    loops.gru_step_grad(g3.copy(), s, s, s, s, keep, False, g3.copy(), s.copy())
    return True


def usable(*arrays):
    """True when the compiled kernels are on and can run on ``arrays``: NumPy arrays of one
    float dtype (float32 or float64), C-contiguous.

    Args:
        *arrays (numpy.ndarray): the arrays a kernel would read and write.

    Examples:
        >>> from kerasette import cpu_kernels
        >>> cpu_kernels.usable(np.ones(3, "float32"), np.ones(3, "float64"))
        False
    """
    if not context.current().cpu_kernels:
        return False
    first = arrays[0]
    if type(first) is not np.ndarray or first.dtype not in _FLOATS:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != first.dtype or not a.flags.c_contiguous:
            return False
    return available()


def steps_usable(dtype):
    """True when the recurrent ``step`` kernels are on and serve ``dtype`` (float32 only:
    their tanh and sigmoid are float32-accurate; float64 runs NumPy's).

    Args:
        dtype (numpy.dtype): the recurrence's float dtype.

    Examples:
        >>> from kerasette import cpu_kernels
        >>> cpu_kernels.steps_usable(np.dtype("float64"))
        False
    """
    return context.current().cpu_kernels and dtype == np.float32 and available()


def adam_step(w, g, m, v, alpha, beta_1, beta_2, epsilon):
    """Adam's update of one weight, in place, in one pass (1-D float arrays of one size):
    ``m += (1 - beta_1) (g - m)``, ``v += (1 - beta_2) (g^2 - v)``,
    ``w -= alpha m / (sqrt(v) + epsilon)``. Releases the GIL: threads may update slices.

    Args:
        w (numpy.ndarray): the weight, updated in place.
        g (numpy.ndarray): its gradient.
        m (numpy.ndarray): the first moment, updated in place.
        v (numpy.ndarray): the second moment, updated in place.
        alpha (float): the step size with both bias corrections folded in.
        beta_1 (float): the first moment's decay.
        beta_2 (float): the second moment's decay.
        epsilon (float): added to ``sqrt(v)``.
    """
    t = w.dtype.type
    _loops().adam_step(w, g, m, v, t(alpha), t(1 - beta_1), t(1 - beta_2), t(epsilon))


def max_pool_2x2(x, y, arg):
    """2x2 / stride-2 max pooling in one pass (``ops.kernels``' ``max_pool_2x2``). Releases the
    GIL: threads may pool slices of samples.

    Args:
        x (numpy.ndarray): ``(n, H, W, C)``, C-contiguous.
        y (numpy.ndarray): ``(n, H // 2, W // 2, C)``, written: each window's maximum.
        arg (numpy.ndarray): uint8 of ``y``'s shape, written: the winning tap 0..3 (row-major;
            the first maximum wins a tie).
    """
    _loops().max_pool_2x2(x, y, arg)


def max_pool_2x2_grad(g, arg, dx):
    """The gradient of ``max_pool_2x2`` (``ops.kernels``' ``max_pool_2x2_grad``).

    Args:
        g (numpy.ndarray): ``(n, H // 2, W // 2, C)``, the pooled output's gradient.
        arg (numpy.ndarray): the taps ``max_pool_2x2`` wrote.
        dx (numpy.ndarray): ``(n, H, W, C)``, written: each window's gradient at its winning
            tap, zeros everywhere else.
    """
    _loops().max_pool_2x2_grad(g, arg, dx)


def col2im(dcols, dx, out_hw, kernel_hw, strides=(1, 1), dilation=(1, 1)):
    """A convolution's input gradient from its column gradient, in one pass (``ops.kernels``'
    ``col2im``, writing into ``dx`` instead of returning a new array). Releases the GIL: threads
    may each do a slice of samples.

    Args:
        dcols (numpy.ndarray): ``(n*Ho*Wo, kh*kw*C)``, C-contiguous: ``g @ kernel.T``, one row
            per output pixel, taps row-major then channels (im2col's column order).
        dx (numpy.ndarray): ``(n, H, W, C)`` (the padded input's shape), C-contiguous, written
            whole: every pixel gets the sum over the taps that read it, zero where none did.
        out_hw (tuple): ``(Ho, Wo)``.
        kernel_hw (tuple): ``(kh, kw)``.
        strides (tuple): ``(sh, sw)``.
        dilation (tuple): ``(dh, dw)``.
    """
    (ho, wo), (kh, kw), (sh, sw), (dh, dw) = out_hw, kernel_hw, strides, dilation
    _loops().col2im(dcols, dx, ho, wo, kh, kw, sh, sw, dh, dw)


def dropout_mask(out, key, rate):
    """Fill ``out`` with dropout's mask: ``1 / (1 - rate)`` where the matching uniform draw of
    ``kerasette.random``'s counter-based generator keyed by ``key`` is ``>= rate``, else 0, the
    draws in ``out``'s C order (the same numbers as ``_HashGenerator(np, key).random``).
    Releases the GIL.

    Args:
        out (numpy.ndarray): float32 or float64, C-contiguous, written whole.
        key (int): the stream's key, ``0 <= key < 2 ** 64``.
        rate (float): the drop probability, in ``[0, 1)``.
    """
    t = out.dtype.type
    _loops().dropout_mask(out.reshape(-1), np.uint64(key), t(rate), t(1.0 / (1.0 - rate)),
                          out.dtype == np.float64)


def step(name, *args):
    """Run one recurrent step kernel on float32 NumPy arrays, with the arguments and results of
    ``ops.kernels.run(name, xp, *args)``.

    Args:
        name (str): ``"rnn_step"`` (activation tanh), ``"rnn_step_grad"``, ``"lstm_step"``,
            ``"lstm_step_grad"``, ``"gru_step"`` or ``"gru_step_grad"``.
        *args: the kernel's arrays, as ``ops.kernels`` documents them: those written in place
            C-contiguous, ``keep`` None or one bool per sample.
    """
    return _STEPS[name](_loops(), *args)


def tanh(x):
    """float32 ``tanh`` as the step kernels compute it (a new array; for tests and plots).

    Args:
        x (array-like): any shape, cast to float32.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    _loops().tanh_into(x.reshape(-1), out.reshape(-1))
    return out


# ---- the step kernels' argument handling ----------------------------------------------------

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NO_KEEP = np.ones(1, dtype=bool)


def _keep(keep):
    """``(flags, has_keep)``: one bool per sample as the loops read it."""
    if keep is None:
        return _NO_KEEP, False
    return np.ascontiguousarray(keep).reshape(-1).astype(bool, copy=False), True


def _c(a):
    return np.ascontiguousarray(a)


def _rnn_step(loops, h, rec, h_prev, keep, activation):
    if activation != "tanh":
        raise ValueError(f"cpu_kernels.step('rnn_step'): only activation 'tanh' is compiled, got {activation!r}")
    flags, has_keep = _keep(keep)
    loops.rnn_step_tanh(h, _c(rec), _c(h_prev), flags, has_keep)
    return h


def _rnn_step_grad(loops, d_pre, g_out, carry, keep, direct):
    flags, has_keep = _keep(keep)
    loops.rnn_step_grad(d_pre, _c(g_out), _c(carry), flags, has_keep, direct)
    return d_pre, direct


def _lstm_step(loops, gates, rec, c_prev, h_prev, keep, c, h, tc):
    flags, has_keep = _keep(keep)
    loops.lstm_step(gates, _c(rec), _c(c_prev), _c(h_prev), flags, has_keep, c, h, tc)
    return gates, c, h, tc


def _lstm_step_grad(loops, gates, tc, c_prev, g_out, carry_h, carry_c, keep, d_pre, h_skip):
    flags, has_keep = _keep(keep)
    loops.lstm_step_grad(_c(gates), _c(tc), _c(c_prev), _c(g_out), _c(carry_h), carry_c, flags, has_keep,
                         d_pre, h_skip)
    return d_pre, carry_c, h_skip


def _gru_step(loops, gates, rec, rbias, h_prev, keep, rh, h):
    flags, has_keep = _keep(keep)
    rbias = np.zeros(gates.shape[1], dtype=gates.dtype) if rbias is None else _c(rbias)
    loops.gru_step(gates, _c(rec), rbias, _c(h_prev), flags, has_keep, rh, h)
    return gates, rh, h


def _gru_step_grad(loops, gates, rh, h_prev, g_out, carry, keep, d_rec, direct):
    flags, has_keep = _keep(keep)
    loops.gru_step_grad(gates, _c(rh), _c(h_prev), _c(g_out), _c(carry), flags, has_keep, d_rec, direct)
    return gates, d_rec, direct


_STEPS = {"rnn_step": _rnn_step, "rnn_step_grad": _rnn_step_grad, "lstm_step": _lstm_step, "lstm_step_grad": _lstm_step_grad, "gru_step": _gru_step,
          "gru_step_grad": _gru_step_grad}


def _loops():
    """``kerasette.numba_loops`` (numba imported and the loops defined), or None without numba."""
    if not _loaded:
        with _lock:
            if not _loaded:
                try:
                    from . import numba_loops
                except ImportError:
                    numba_loops = None
                _loaded.append(numba_loops)
    return _loaded[0]
