"""Recognising and opening saved files, with clear errors instead of h5py tracebacks.

Formats are recognised by their first bytes, not their names: ``PK\\x03\\x04``
is a ``.keras`` zip, ``\\x89HDF\\r\\n\\x1a\\n`` an HDF5 file (Keras 3 weights,
or the legacy Keras 2 layout). Anything else, an empty or missing file, or a
file h5py / zipfile cannot parse raises a ``WeightsFileError`` that says which
file and what was expected.
"""
import contextlib
import io
import os
import zipfile

from .errors import WeightsFileError

__all__ = ["WeightsFileNotFoundError", "sniff", "open_h5", "open_zip", "read_member", "ZIP", "HDF5"]

ZIP, HDF5 = "zip", "hdf5"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


class WeightsFileNotFoundError(WeightsFileError, FileNotFoundError):
    """The file to load does not exist."""


def sniff(path):
    """``"zip"`` or ``"hdf5"`` for a readable file; a clear error otherwise."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise WeightsFileNotFoundError(f"No such file: '{path}'")
    if os.path.isdir(path):
        raise WeightsFileError(f"'{path}' is a directory, not a weights / model file "
                               f"(TensorFlow SavedModel folders are not supported)")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise WeightsFileError(f"Cannot read '{path}': {e}") from e
    if not head:
        raise WeightsFileError(f"'{path}' is empty (0 bytes): not a weights / model file")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ZIP
    if head == _HDF5_MAGIC:
        return HDF5
    raise WeightsFileError(f"'{path}' is neither an HDF5 file (.weights.h5 / .h5) nor a .keras zip "
                           f"archive (it starts with bytes {head[:8]!r})")


@contextlib.contextmanager
def open_h5(source, name=None):
    """Open a path or bytes as a read-only h5py File."""
    import h5py
    label = name or f"'{source}'"
    try:
        f = h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
    except Exception as e:
        raise WeightsFileError(f"{label} is not a readable HDF5 file (truncated or corrupt?): {e}") from e
    try:
        yield f
    finally:
        with contextlib.suppress(Exception):
            f.close()


@contextlib.contextmanager
def open_zip(path):
    """Open a ``.keras`` archive read-only."""
    try:
        z = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise WeightsFileError(f"'{path}' is not a readable .keras zip archive (truncated or "
                               f"corrupt?): {e}") from e
    try:
        yield z
    finally:
        z.close()


def read_member(z, member, path):
    """The bytes of one archive member; CRC and truncation errors made clear."""
    if member not in z.namelist():
        raise WeightsFileError(f"'{path}' is not a Keras model archive: it has no '{member}' "
                               f"(members: {z.namelist()})")
    try:
        return z.read(member)
    except Exception as e:
        raise WeightsFileError(f"'{path}': member '{member}' is corrupt or truncated: {e}") from e
