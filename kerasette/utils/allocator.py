"""Keep freed memory in the process (glibc): large NumPy temporaries stop costing page faults.

A training step allocates the same large arrays every batch (conv outputs,
their gradients: ~11 MB each for MNIST's first conv layer at batch 128).
glibc hands such blocks back to the kernel when they are freed (``munmap``,
or trimming the heap top), so the next batch gets fresh pages and pays a
page fault plus zero-filling for every 4 KiB touched. On the MNIST convnet
this roughly doubles the epoch time (2-core EPYC: ~75 ms -> ~39 ms per batch
with the setting below; see ``benchmarks/bench_cnn.py --keep-freed-memory``).

``keep_freed_memory()`` raises glibc's mmap and trim thresholds so freed
blocks stay in the heap for reuse: the process's resident memory then stays
at its high-water mark instead of shrinking between batches. It is opt-in
(a process-wide allocator policy) and a no-op where glibc is absent. The
same effect without code: ``MALLOC_MMAP_THRESHOLD_=1073741824
MALLOC_TRIM_THRESHOLD_=1073741824`` in the environment.
"""
import ctypes
import ctypes.util

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(threshold=1 << 30):
    """Ask glibc to keep freed blocks up to ``threshold`` bytes for reuse.

    Returns True when the allocator accepted the setting, False otherwise
    (not glibc, e.g. macOS / Windows / musl).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok_mmap = mallopt(_M_MMAP_THRESHOLD, int(threshold)) == 1
    ok_trim = mallopt(_M_TRIM_THRESHOLD, int(threshold)) == 1
    return ok_mmap and ok_trim
