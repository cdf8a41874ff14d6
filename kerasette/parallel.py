"""Intra-op parallelism on the CPU: one op's batch split over a few threads.

NumPy runs every elementwise pass (bias, relu, masks, im2col copies, pooling)
on one core, while its BLAS (OpenBLAS) runs each GEMM on all cores and then
keeps its worker threads spinning for a while (~0.1 s) waiting for the next
GEMM, so any other thread that wants a core must fight them. On a 2-core
machine the elementwise half of a convnet step thus uses half the machine.

Inside ``region()`` (entered by ``fit`` / ``evaluate`` / ``predict`` for a
model holding a convolution, pooling or recurrent layer) the BLAS is set to
one thread and the ops that know how split their batch axis
into ``num_threads()`` contiguous row ranges, each run by its own thread
(``run``): NumPy releases the GIL inside ufunc loops and BLAS calls, so the
ranges proceed in parallel, GEMMs included. On leaving the region the BLAS
gets its own thread count back, so NumPy code outside kerasette is unchanged.
A model of Dense layers alone keeps the BLAS's threads: its GEMMs run faster
that way than split (a hand-off to a waiting Python thread costs ~50 us).

Only NumPy arrays are split (CuPy ops run on the GPU). It is on by default
when the BLAS thread count can be controlled (OpenBLAS / MKL found in the
process); ``KERASETTE_NUM_THREADS`` or ``set_num_threads`` choose the count,
and 1 turns it off.
"""
import contextlib
import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["num_threads", "set_num_threads", "region", "active", "ranges", "run", "summed",
           "matmul", "matmul_tn"]

_MAX_DEFAULT_THREADS = 8
_state = {"threads": None, "executor": None, "blas": False, "active": False}
_local = threading.local()       # marks worker threads: nested run() calls go serial


def num_threads():
    """Threads an op's batch is split over inside ``region()`` (1: no splitting)."""
    if _state["threads"] is None:
        _state["threads"] = _default_threads()
    return _state["threads"]


def set_num_threads(n):
    """Set the intra-op thread count (1 turns the splitting off). Not inside ``region()``."""
    if _state["active"]:
        raise RuntimeError("parallel.set_num_threads: cannot change the thread count inside region()")
    n = int(n)
    if n < 1:
        raise ValueError(f"parallel.set_num_threads: expected a positive thread count, got {n}")
    _state["threads"] = n
    if _state["executor"] is not None:
        _state["executor"].shutdown(wait=True)
        _state["executor"] = None


def active():
    """True inside ``region()`` with more than one thread: ops should split."""
    return _state["active"]


@contextlib.contextmanager
def region(enabled=True):
    """Run the block with split ops and a one-thread BLAS (re-entrant; a no-op when
    ``enabled`` is false or there is one thread)."""
    if not enabled or _state["active"] or num_threads() == 1:
        yield
        return
    blas = _blas_controls()
    previous = blas[0]() if blas else None
    if blas:
        blas[1](1)
    _state["active"] = True
    try:
        yield
    finally:
        _state["active"] = False
        if blas:
            blas[1](previous)


def ranges(n, min_rows=1, xp=None):
    """``[(start, stop), ...]``: ``range(n)`` cut into ``num_threads()`` contiguous
    parts, fewer when a part would be under ``min_rows``; one part outside the
    region, in a worker thread, or when ``xp`` (the ops' array module) is not NumPy."""
    split = _state["active"] and not getattr(_local, "worker", False)
    if xp is not None and xp.__name__ != "numpy":
        split = False
    parts = max(1, min(num_threads() if split else 1, n // max(min_rows, 1)))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


def summed(results):
    """The sum of the parts' partial results (kernel gradients summed over samples)."""
    total = results[0]
    for r in results[1:]:
        total = total + r
    return total


def run(fn, parts):
    """Call ``fn(start, stop)`` for each of ``parts`` (from ``ranges``), in parallel.

    The calling thread runs the first part itself; the call returns when all
    are done and re-raises the first error. Returns the results in order.
    """
    if len(parts) == 1:
        return [fn(*parts[0])]
    executor = _executor()
    futures = [executor.submit(_as_worker, fn, a, b) for a, b in parts[1:]]
    error, first = None, None
    try:
        first = fn(*parts[0])
    except BaseException as e:       # wait for the other parts before re-raising
        error = e
    results = [first]
    for f in futures:
        try:
            results.append(f.result())
        except BaseException as e:
            error = error or e
    if error is not None:
        raise error
    return results


def matmul(a, b, xp=None):
    """``a @ b`` for 2-D ``a``, its rows split over the threads (NumPy, in the region)."""
    xp = xp or _numpy()
    out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a.dtype, b.dtype))
    run(lambda r0, r1: xp.matmul(a[r0:r1], b, out=out[r0:r1]), ranges(a.shape[0], min_rows=64, xp=xp))
    return out


def matmul_tn(a, b, xp=None):
    """``a.T @ b`` for 2-D ``a``, ``b`` with the same rows: partial products of row
    ranges, one per thread, summed (NumPy, in the region)."""
    xp = xp or _numpy()
    return summed(run(lambda r0, r1: a[r0:r1].T @ b[r0:r1], ranges(a.shape[0], min_rows=64, xp=xp)))


# ---- helpers ----------------------------------------------------------------------------------

def _numpy():
    import numpy
    return numpy


def _as_worker(fn, a, b):
    _local.worker = True
    return fn(a, b)


def _forget_threads_after_fork():
    # a forked child has none of the parent's worker threads: start a fresh pool on demand
    _state["executor"] = None
    _state["active"] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads_after_fork)


def _executor():
    if _state["executor"] is None:
        _state["executor"] = ThreadPoolExecutor(max_workers=num_threads() - 1,
                                                thread_name_prefix="kerasette-op")
    return _state["executor"]


def _default_threads():
    env = os.environ.get("KERASETTE_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"KERASETTE_NUM_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"KERASETTE_NUM_THREADS must be a positive integer, got {env!r}")
        return n
    if _blas_controls() is None:
        return 1           # cannot quiet the BLAS's own threads: splitting would fight them
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, _MAX_DEFAULT_THREADS))


def _blas_controls():
    """``(get_threads, set_threads)`` of the BLAS NumPy loaded, or None if not found."""
    if _state["blas"] is False:
        _state["blas"] = _find_blas()
    return _state["blas"]


_BLAS_SYMBOLS = (   # (get, set) pairs: NumPy's bundled scipy-openblas, plain OpenBLAS, MKL
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("MKL_Get_Max_Threads", "MKL_Set_Num_Threads"),
)


def _find_blas():
    import numpy  # noqa: F401  (loads the BLAS so that its library is mapped)

    candidates = [p for p in _loaded_libraries()
                  if "blas" in os.path.basename(p).lower() or "mkl" in os.path.basename(p).lower()]
    # NumPy's own BLAS first (its wheels bundle it next to the package), then any other
    candidates.sort(key=lambda p: "numpy" not in p and "scipy_openblas" not in p)
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _BLAS_SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, put = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                return get, put
    return None


def _loaded_libraries():
    """Paths of the shared libraries mapped into this process (Linux; else none)."""
    try:
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    paths = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 6 and ".so" in parts[-1] and parts[-1] not in paths:
            paths.append(parts[-1])
    return paths
