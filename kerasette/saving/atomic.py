"""Atomic file writes: nothing a user saved is ever half-written.

``atomic_write(path)`` hands out a temporary path in the same folder; when the
``with`` block finishes without an error the temporary file is flushed to disk
and renamed over ``path`` with ``os.replace`` (atomic on POSIX and Windows when
both are on the same file system, which the shared folder guarantees). If the
block raises, or the process dies inside it, ``path`` still holds its previous
contents and at most a stray ``.<name>.tmp-*`` file is left behind.
"""
import contextlib
import os
import tempfile

from .errors import WeightsFileError

__all__ = ["atomic_write", "check_overwrite"]


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise WeightsFileError(f"Cannot save to '{path}': folder '{folder}' does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-", dir=folder)
    os.close(fd)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def check_overwrite(path, overwrite):
    """Refuse to replace an existing file when ``overwrite=False``."""
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' already exists; pass overwrite=True to replace it")


def _fsync(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder):
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
