"""gradcheck: compare an op's backward with central finite differences."""
import numpy as np

from .. import backend
from .engine import backward
from .tensor import Tensor

__all__ = ["gradcheck", "numerical_grad"]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, raise_exception=True):
    """Check the gradients of ``fn(*inputs)`` against finite differences in float64.

    ``fn`` maps Tensors to a Tensor of any shape; it is reduced with a fixed
    random projection ``sum(fn(x) * r)`` so every output element matters.
    ``inputs`` are arrays (float ones are differentiated; integer ones, such
    as labels, are passed through as constants). They are placed on the default
    device (``backend.device()``), so the same check runs on NumPy, CuPy or the
    stand-in; the finite differences are taken in float64 on the host.

    Returns True, or raises AssertionError naming the input and the worst
    element (returns False instead when ``raise_exception=False``).

    Args:
        fn (callable): ``fn(*tensors) -> Tensor``, built from differentiable ops.
        inputs (list[array]): one array per argument of ``fn``; float arrays are copied to
            float64 and checked, the others passed as constants.
        eps (float): the finite-difference step (default 1e-6).
        atol (float): absolute tolerance of the comparison (default 1e-5).
        rtol (float): relative tolerance (default 1e-4), as ``numpy.allclose``.
        seed (int): seed of the random projection ``r`` (default 0).
        raise_exception (bool): raise on a mismatch (default True) or return False.

    Raises:
        AssertionError: a gradient differs (with ``raise_exception``), or the output does
            not depend on any float input (always).

    Examples:
        >>> import numpy as np
        >>> from kerasette import ops
        >>> from kerasette.autograd import gradcheck
        >>> gradcheck(lambda x: ops.tanh(x), [np.random.randn(3, 4)])
        True
    """
    arrays = [np.asarray(a) for a in inputs]
    float_idx = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    # C-contiguous copies: numerical_grad nudges elements through a flat view
    arrays = [np.ascontiguousarray(a, dtype=np.float64) if i in float_idx else a for i, a in enumerate(arrays)]
    rng = np.random.default_rng(seed)
    probe = {}

    def scalar(*arrs):
        ts = [Tensor(backend.to_device(a), requires_grad=(i in float_idx)) for i, a in enumerate(arrs)]
        out = fn(*ts)
        if "r" not in probe:
            probe["r"] = rng.standard_normal(out.shape)
        r = probe["r"]
        return ts, out, float(np.sum(out.numpy() * r))

    ts, out, _ = scalar(*arrays)
    if not out.requires_grad:
        raise AssertionError("gradcheck: the output does not depend on any float input")
    backward(out, backend.to_device(probe["r"], backend.get_array_module(out)))
    for i in float_idx:
        grad = ts[i].grad
        analytic = backend.to_numpy(grad) if grad is not None else np.zeros_like(arrays[i])
        numeric = numerical_grad(lambda *a: scalar(*a)[2], arrays, i, eps)
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            k = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
            msg = (f"gradcheck: input {i} of shape {arrays[i].shape}: analytic and numeric "
                   f"gradients differ, worst at {k}: {analytic[k]} vs {numeric[k]}")
            if raise_exception:
                raise AssertionError(msg)
            return False
    return True


def numerical_grad(f, arrays, i, eps=1e-6):
    """Central differences of scalar ``f(*arrays)`` with respect to ``arrays[i]``.

    Each element of ``arrays[i]`` is nudged in place by ``+eps`` and ``-eps`` (and
    restored): ``(f(x + eps) - f(x - eps)) / (2 eps)``, two calls of ``f`` per element.

    Args:
        f (callable): ``f(*arrays) -> float``.
        arrays (list[array]): the arguments of ``f``.
        i (int): which argument to differentiate; ``arrays[i]`` must be a C-contiguous
            float array (it is modified during the call).
        eps (float): the step (default 1e-6).

    Returns:
        array: the gradient, of ``arrays[i]``'s shape and dtype.

    Raises:
        ValueError: ``arrays[i]`` is not C-contiguous.

    Examples:
        >>> from kerasette.autograd import numerical_grad
        >>> numerical_grad(lambda x: float((x ** 2).sum()), [np.array([1.0, 3.0])], 0).round(6)
        array([2., 6.])
    """
    x = arrays[i]
    if not x.flags.c_contiguous:
        raise ValueError("numerical_grad: the input must be C-contiguous (its flat view is nudged in place)")
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        up = f(*arrays)
        flat[k] = old - eps
        down = f(*arrays)
        flat[k] = old
        gflat[k] = (up - down) / (2 * eps)
    return g
