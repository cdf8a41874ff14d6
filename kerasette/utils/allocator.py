"""glibc's allocator while kerasette trains: freed blocks stay in the process for the next batch.

A training step allocates the same large arrays every batch (an LSTM's gate
activations: 7 MB at batch 128; a conv layer's output: 11 MB). glibc hands
freed memory back to the kernel once more than its trim threshold sits free
at the top of the heap; that threshold follows the largest block freed so
far (twice its size), which one batch's temporaries together exceed. The
next batch then gets fresh pages and pays a page fault and a zero-fill for
every 4 KiB it touches: measured on 12,800 MNIST samples here, 1,000 -
2,700 faults a batch for SimpleRNN, LSTM and the convnet, whose batches ran
15 - 50 % slower than with the memory kept (GRU too; the MLP's arrays are
small and fault little).

So ``fit``, ``evaluate`` and ``predict`` run their batches inside
``hold_freed_memory()``: glibc keeps every freed block (mmap and trim
thresholds of 1 GiB), and when the outermost such call returns, the
process gets the thresholds glibc's own adaptive policy reaches at most
(32 MiB mmap, 64 MiB trim) and, when more than 64 MiB sits free in the
heaps, ``malloc_trim(0)`` returns it to the kernel (less stays for the next
call, as glibc's adaptive policy would keep it). The process's memory
after ``fit`` is therefore what it would have been, and its peak during
``fit`` the same (the blocks kept are the ones the next batch uses
again). ``train_on_batch`` and ``test_on_batch`` loops get those steady
thresholds (``settle()``).

This is a process-wide allocator setting, applied only where glibc is the
allocator, and left alone when the user chose one: ``MALLOC_*_`` or
``GLIBC_TUNABLES=glibc.malloc...`` in the environment, or
``keep_freed_memory()``. ``set_enabled(False)`` or
``KERASETTE_HOLD_FREED_MEMORY=0`` turns it off. (glibc cannot go back to
its adaptive thresholds once a program sets one, hence the steady values.)
"""
import contextlib
import ctypes
import ctypes.util
import functools
import os
import threading

__all__ = ["keep_freed_memory", "hold_freed_memory", "settle", "set_enabled", "enabled", "holding"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_HOLD = 1 << 30                    # inside fit / evaluate / predict: keep every freed block
_STEADY_MMAP = 32 << 20            # glibc's adaptive mmap threshold at its largest ...
_STEADY_TRIM = 64 << 20            # ... and the trim threshold that goes with it

# one process, one allocator: this state is process-wide on purpose, behind a lock
_lock = threading.Lock()
_state = {"holders": 0, "settled": False, "user_chose": False,
          "enabled": os.environ.get("KERASETTE_HOLD_FREED_MEMORY", "1").strip() != "0"}


def keep_freed_memory(threshold=1 << 30):
    """Ask glibc to keep freed blocks up to ``threshold`` bytes for reuse, for good.

    The process's resident memory then stays at its high-water mark everywhere,
    not only inside ``fit``; kerasette's own policy (``hold_freed_memory``)
    steps aside after this call.

    Args:
        threshold (int): bytes: the mmap and trim thresholds (default 1 GiB).

    Returns:
        bool: True when the allocator accepted the setting, False otherwise
        (not glibc, e.g. macOS / Windows / musl).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 < threshold < 1 << 31:
        raise ValueError(f"keep_freed_memory: `threshold` must be a byte count in 1 .. 2**31 - 1, "
                         f"got {threshold!r}")
    libc = _glibc()
    if libc is None:
        return False
    with _lock:
        _state["user_chose"] = True
        return _set(libc, int(threshold), int(threshold))


@contextlib.contextmanager
def hold_freed_memory():
    """Run the block with glibc keeping every freed block; re-entrant and
    shared between threads (the outermost exit settles, and trims when much is free)."""
    libc = _glibc() if _state["enabled"] else None
    if libc is None:
        yield
        return
    with _lock:
        _state["holders"] += 1
        if _state["holders"] == 1 and _free_to_set():
            _set(libc, _HOLD, _HOLD)
    try:
        yield
    finally:
        with _lock:
            _state["holders"] -= 1
            if _state["holders"] == 0 and _free_to_set():
                _set(libc, _STEADY_MMAP, _STEADY_TRIM)
                _state["settled"] = True
                if _free_heap_bytes(libc) > _STEADY_TRIM:
                    _trim(libc)


def settle():
    """The steady thresholds (32 MiB mmap, 64 MiB trim), once: what a loop of
    ``train_on_batch`` calls gets, outside any ``fit``."""
    if _state["settled"] or not _state["enabled"]:
        return
    libc = _glibc()
    with _lock:
        if libc is not None and not _state["settled"] and _state["holders"] == 0 and _free_to_set():
            _set(libc, _STEADY_MMAP, _STEADY_TRIM)
        _state["settled"] = True


def set_enabled(flag):
    """Turn kerasette's allocator policy on or off for the process (on by default;
    ``KERASETTE_HOLD_FREED_MEMORY=0`` starts it off). Thresholds already set stay.

    Args:
        flag (bool): True to hold freed memory inside ``fit`` / ``evaluate`` / ``predict``.
    """
    if not isinstance(flag, bool):
        raise TypeError(f"allocator.set_enabled: `flag` must be True or False, got {flag!r}")
    _state["enabled"] = flag


def enabled():
    """Whether kerasette's allocator policy is on (see ``set_enabled``)."""
    return _state["enabled"]


def holding():
    """Whether some thread is inside ``hold_freed_memory()`` with the policy applied."""
    return _state["holders"] > 0 and _glibc() is not None and _free_to_set()


# ---------------------------------------------------------------- helpers

_USER_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


def _free_to_set():
    """False when the user chose the allocator's thresholds (environment or
    ``keep_freed_memory``): kerasette then leaves them alone."""
    if _state["user_chose"]:
        return False
    if any(name in os.environ for name in _USER_ENV):
        return False
    return "glibc.malloc." not in os.environ.get("GLIBC_TUNABLES", "")


@functools.lru_cache(maxsize=None)
def _glibc():
    """The C library when it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version            # glibc only (musl and macOS lack it)
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return libc


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _free_heap_bytes(libc):
    """Bytes free inside glibc's heaps (``mallinfo2().fordblks``; 0 before glibc 2.33, which
    lacks it: glibc then trims the heap top itself at the next ``free``)."""
    info = getattr(libc, "mallinfo2", None)
    if info is None:
        return 0
    info.restype = _MallInfo2
    return info().fordblks


def _trim(libc):
    """Give free heap pages back to the kernel. Only when much is free: a trim after every
    call makes the next one fault its working set in again (300 small ``fit`` calls:
    0.32 - 0.44 s with a trim each, 0.23 - 0.26 s without)."""
    libc.malloc_trim(0)


def _set(libc, mmap_threshold, trim_threshold):
    ok_mmap = libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    ok_trim = libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1
    return ok_mmap and ok_trim
