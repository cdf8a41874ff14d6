"""Intra-op parallelism on the CPU: one op's batch split over a few threads.

NumPy runs every elementwise pass (bias, relu, masks, im2col copies, pooling)
on one core, while its BLAS (OpenBLAS) runs each GEMM on all cores and then
keeps its worker threads spinning for a while (~0.1 s) waiting for the next
GEMM, so any other thread that wants a core must fight them. On a 2-core
machine the elementwise half of a convnet step thus uses half the machine.

Inside ``region()`` (entered by ``fit`` / ``evaluate`` / ``predict`` for a
model holding a convolution, pooling or recurrent layer) every BLAS and
OpenMP pool loaded in the process is limited to one thread through
``threadpoolctl`` (OpenBLAS, MKL, BLIS, FlexiBLAS, Accelerate's OpenMP...,
on Linux, macOS and Windows), and the ops that know how split their batch
axis into ``num_threads()`` contiguous row ranges, each run by its own thread
(``run``): NumPy releases the GIL inside ufunc loops and BLAS calls, so the
ranges proceed in parallel, GEMMs included. On leaving the region the pools
get their own thread counts back, so NumPy code outside kerasette is unchanged.
A model of Dense layers alone keeps the BLAS's threads: its GEMMs run faster
that way than split (a hand-off to a waiting Python thread costs ~50 us).

One thread owns the region at a time (a lock): while a thread trains inside
it, another thread's ``predict`` runs its ops unsplit rather than oversubscribe
the cores (the BLAS limit is process-wide, so it runs one-threaded GEMMs too).
Only NumPy arrays are split (CuPy ops run on the GPU). ``KERASETTE_NUM_THREADS``
or ``set_num_threads`` choose the count, and 1 turns it off; when splitting is
off for a reason other than the user's choice, one log line says why.
"""
import contextlib
import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["num_threads", "set_num_threads", "region", "active", "ranges", "run", "summed",
           "matmul", "matmul_tn", "blas_threads"]

_MAX_DEFAULT_THREADS = 8
# process-wide, read-mostly: the thread count, the worker pool, the region's owner (a thread id)
_state = {"threads": None, "executor": None, "owner": None, "controller": None, "modules": -1}
_region_lock = threading.Lock()  # held by the owner of the region for as long as it is inside
_setup_lock = threading.Lock()   # guards creating the executor and the threadpoolctl controller
_logged = set()                  # reasons already logged (one line each)
log = logging.getLogger("kerasette.parallel")


def num_threads():
    """Threads an op's batch is split over inside ``region()`` (1: no splitting).

    Examples:
        >>> from kerasette import parallel
        >>> parallel.num_threads() >= 1
        True
    """
    if _state["threads"] is None:
        _state["threads"] = _default_threads()
    return _state["threads"]


def set_num_threads(n):
    """Set the intra-op thread count (1 turns the splitting off). Not inside ``region()``.

    The default is ``KERASETTE_NUM_THREADS`` when set, else the usable cores (at most 8).
    A running worker pool is shut down and made again at the new size on demand.

    Args:
        n (int): threads an op's batch is split over; a positive integer.

    Raises:
        RuntimeError: called inside ``region()``.
        ValueError: ``n`` is below 1.

    Examples:
        >>> from kerasette import parallel
        >>> before = parallel.num_threads()
        >>> parallel.set_num_threads(2); parallel.num_threads()
        2
        >>> parallel.set_num_threads(before)
    """
    if _state["owner"] is not None:
        raise RuntimeError("parallel.set_num_threads: cannot change the thread count inside region()")
    n = int(n)
    if n < 1:
        raise ValueError(f"parallel.set_num_threads: expected a positive thread count, got {n}")
    _state["threads"] = n
    if _state["executor"] is not None:
        _state["executor"].shutdown(wait=True)
        _state["executor"] = None


def active():
    """True in the thread that owns ``region()`` (with more than one thread): its ops split.

    Examples:
        >>> from kerasette import parallel
        >>> parallel.active()
        False
    """
    return _state["owner"] == threading.get_ident()


@contextlib.contextmanager
def region(enabled=True):
    """Run the block with split ops and one-thread BLAS / OpenMP pools.

    Re-entrant; a no-op when ``enabled`` is false, when there is one thread, or
    when another thread owns the region (this thread's ops then run unsplit).

    Args:
        enabled (bool): enter the region (default True); False runs the block unchanged,
            so callers can write ``with region(model_has_convolutions):``.

    Examples:
        >>> from kerasette import parallel
        >>> with parallel.region():
        ...     print(parallel.matmul(np.eye(2), np.ones((2, 3))).shape)
        ...
        (2, 3)
    """
    if not enabled or active() or num_threads() == 1:
        yield
        return
    if not _region_lock.acquire(blocking=False):
        _log_once("busy", "intra-op splitting is off in thread %s while thread %s owns the region: "
                  "its ops run unsplit", threading.get_ident(), _state["owner"])
        yield
        return
    try:
        with _controller().limit(limits=1):
            _state["owner"] = threading.get_ident()
            try:
                yield
            finally:
                _state["owner"] = None
    finally:
        _region_lock.release()


def blas_threads():
    """``{library path: thread count}`` of every BLAS / OpenMP pool loaded, as
    ``threadpoolctl`` reads it from the libraries themselves.

    Examples:
        >>> from kerasette import parallel
        >>> isinstance(parallel.blas_threads(), dict)
        True
    """
    import threadpoolctl
    return {info["filepath"]: info["num_threads"] for info in threadpoolctl.threadpool_info()}


def ranges(n, min_rows=1, xp=None):
    """``[(start, stop), ...]``: ``range(n)`` cut into ``num_threads()`` contiguous
    parts, fewer when a part would be under ``min_rows``; one part outside the
    region, in a worker thread, or when ``xp`` (the ops' array module) is not NumPy.

    Args:
        n (int): the number of rows (usually the batch size).
        min_rows (int): the fewest rows worth a part of their own (default 1).
        xp (module | None): the array module of the data; a module other than NumPy
            (CuPy) gives one part. None (default) is taken as NumPy.

    Examples:
        >>> from kerasette import parallel
        >>> parallel.ranges(10)            # outside region(): one part
        [(0, 10)]
    """
    split = _state["owner"] == threading.get_ident()
    if xp is not None and xp.__name__ != "numpy":
        split = False
    parts = max(1, min(num_threads() if split else 1, n // max(min_rows, 1)))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


def summed(results):
    """The sum of the parts' partial results (kernel gradients summed over samples).

    Args:
        results (list): what ``run`` returned, at least one value; summed with ``+`` in order.

    Examples:
        >>> from kerasette import parallel
        >>> parallel.summed([np.ones(2), np.ones(2), np.ones(2)]).tolist()
        [3.0, 3.0]
    """
    total = results[0]
    for r in results[1:]:
        total = total + r
    return total


def run(fn, parts):
    """Call ``fn(start, stop)`` for each of ``parts`` (from ``ranges``), in parallel.

    The calling thread runs the first part itself; the call returns when all
    are done and re-raises the first error. Returns the results in order.

    Args:
        fn (callable): ``fn(start, stop)``, working on rows ``start:stop``; it must release
            the GIL (NumPy ufuncs and BLAS calls do) for the parts to overlap.
        parts (list[tuple[int, int]]): the row ranges, as ``ranges`` gives; one part runs
            in the calling thread alone. Several parts need ``num_threads() > 1`` (``ranges``
            never gives more than one otherwise).

    Examples:
        >>> from kerasette import parallel
        >>> parallel.run(lambda a, z: z - a, parallel.ranges(10))    # outside region(): one part
        [10]
    """
    if len(parts) == 1 or num_threads() < 2:     # one thread: the parts run in turn, here
        return [fn(a, b) for a, b in parts]
    executor = _executor()
    futures = [executor.submit(fn, a, b) for a, b in parts[1:]]
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
    """``a @ b`` for 2-D ``a``, its rows split over the threads (NumPy, in the region).

    Args:
        a (array): ``(m, k)``; split into row ranges of at least 64 rows.
        b (array): ``(k, n)``.
        xp (module | None): the array module (default NumPy); not NumPy: one plain matmul.

    Returns:
        array: ``(m, n)`` in the result dtype of ``a`` and ``b``.

    Examples:
        >>> from kerasette import parallel
        >>> parallel.matmul(np.eye(2), np.arange(6.0).reshape(2, 3)).tolist()
        [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    xp = xp or _numpy()
    out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a.dtype, b.dtype))
    run(lambda r0, r1: xp.matmul(a[r0:r1], b, out=out[r0:r1]), ranges(a.shape[0], min_rows=64, xp=xp))
    return out


def matmul_tn(a, b, xp=None):
    """``a.T @ b`` for 2-D ``a``, ``b`` with the same rows: partial products of row
    ranges, one per thread, summed (NumPy, in the region).

    Args:
        a (array): ``(m, k)``.
        b (array): ``(m, n)``, the same rows as ``a``.
        xp (module | None): the array module (default NumPy); not NumPy: one product.

    Returns:
        array: ``(k, n)``.

    Examples:
        >>> from kerasette import parallel
        >>> parallel.matmul_tn(np.ones((4, 2)), np.ones((4, 3))).tolist()
        [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]
    """
    xp = xp or _numpy()
    return summed(run(lambda r0, r1: a[r0:r1].T @ b[r0:r1], ranges(a.shape[0], min_rows=64, xp=xp)))


# ---- helpers ----------------------------------------------------------------------------------

def _numpy():
    import numpy
    return numpy


def _forget_threads_after_fork():
    # a forked child has none of the parent's worker threads: start a fresh pool on demand
    global _region_lock, _setup_lock
    _state["executor"] = None
    _state["owner"] = None
    _region_lock = threading.Lock()
    _setup_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads_after_fork)


def _executor():
    with _setup_lock:
        if _state["executor"] is None:
            _state["executor"] = ThreadPoolExecutor(max_workers=num_threads() - 1,
                                                    thread_name_prefix="kerasette-op")
        return _state["executor"]


def _controller():
    """A ``threadpoolctl.ThreadpoolController`` over every pool loaded; made again when
    modules were imported since (a new import may have loaded another BLAS)."""
    import threadpoolctl
    with _setup_lock:
        if _state["controller"] is None or _state["modules"] != len(sys.modules):
            _state["controller"] = threadpoolctl.ThreadpoolController()
            _state["modules"] = len(sys.modules)
        return _state["controller"]


def _log_once(reason, message, *args):
    if reason not in _logged:
        _logged.add(reason)
        log.info(message, *args)


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
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores == 1:
        _log_once("cores", "intra-op splitting is off: this process may use one core")
    return max(1, min(cores, _MAX_DEFAULT_THREADS))
