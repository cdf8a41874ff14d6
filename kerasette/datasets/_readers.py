"""Reading downloaded dataset files without trusting them.

Every file a loader reads came over the network, so none of them may run code or exhaust memory:

- pickles (the CIFAR batches, the object arrays inside the IMDB and Reuters ``.npz`` files) go
  through :class:`ArrayUnpickler`, which resolves only the three globals that rebuilding a NumPy
  array needs and refuses every other one (``os.system``, ``builtins.eval``, ...) before anything
  is called;
- ``.npz`` members are read with ``allow_pickle=False`` unless their header says they hold Python
  objects, and then only through :class:`ArrayUnpickler`;
- each file, archive member and array is capped in size before it is read.

``get_file`` lives in ``kerasette.utils``, which sits beside ``datasets`` in the layering, so
:func:`fetch` imports it when called rather than at module level.
"""
import gzip
import io
import json
import math
import os
import pickle
import struct
import zipfile

import numpy as np

# The largest file, archive member or decompressed stream a loader reads (the biggest real one,
# CIFAR-100's ``train`` batch, is about 155 MB).
MAX_BYTES = 1 << 30

# NumPy's array-rebuilding function, taken from ``ndarray.__reduce__`` so that it is found the
# same way on NumPy 1 (``numpy.core.multiarray``) and NumPy 2 (``numpy._core.multiarray``).
_RECONSTRUCT = np.zeros(0).__reduce__()[0]


class _NdarrayType:
    """Stands for ``numpy.ndarray`` inside a pickle: the class may only be the first argument of
    ``_reconstruct``, never called on its own (a direct call could allocate any amount)."""

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError("a pickle may rebuild numpy.ndarray only through _reconstruct, "
                                     "not call it")


class _CheckedArray(np.ndarray):
    """What ``_reconstruct`` builds while unpickling: its ``__setstate__`` (the pickle's BUILD step,
    which gives the array its real shape and data) checks the declared size against the stream
    before NumPy allocates it. :func:`plain` turns the results back into ``numpy.ndarray``."""

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError(f"{self._what}: a pickled array has a malformed state")
        shape, dtype, data = state[-4], state[-3], state[-1]
        dtype = np.dtype(dtype)
        count = math.prod(shape) if isinstance(shape, tuple) else -1
        need = count if dtype.hasobject else count * dtype.itemsize     # an object takes >= 1 byte
        if count < 0 or need > self._limit or (not dtype.hasobject and need != len(data)):
            raise pickle.UnpicklingError(f"{self._what}: a pickled array declares the shape {shape!r} "
                                         f"of {dtype}, which its {self._limit}-byte stream cannot hold")
        super().__setstate__(state)


def plain(obj):
    """``obj`` with each :class:`_CheckedArray` at its top (or in a dict's values) as ``ndarray``."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj.view(np.ndarray) if isinstance(obj, _CheckedArray) else obj


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays (numeric or of Python objects) and nothing else.

    A pickled array names three globals: ``numpy.core.multiarray._reconstruct`` (written as
    ``numpy._core.multiarray`` by NumPy 2), ``numpy.ndarray`` and ``numpy.dtype``. Lists, dicts,
    tuples, strings, bytes and numbers need no global. Any other global is refused with
    ``pickle.UnpicklingError`` as soon as the pickle names it, so it is never called. The arrays
    may not declare more data than the stream holds (a real pickle makes an empty array, then
    fills it from bytes or a list in the stream), so a small file cannot make NumPy allocate
    gigabytes. Use :meth:`load_plain`, which hands back plain ``numpy.ndarray`` objects.

    Args:
        file: a binary file object positioned at the pickle.
        what (str): the loader, for error messages.
        limit (int): the size of the stream in bytes (bounds the arrays it may allocate).
        encoding (str): how Python 2 ``str`` objects are decoded (``"bytes"`` keeps them as bytes,
            as the CIFAR batches need).
    """

    def __init__(self, file, what, limit, encoding="ASCII"):
        super().__init__(file, encoding=encoding)
        self._what, self._limit = what, int(limit)

    def load_plain(self):
        return plain(self.load())

    def find_class(self, module, name):
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return self._reconstruct
        if module == "numpy" and name == "ndarray":
            return _NdarrayType
        if module == "numpy" and name == "dtype":
            return np.dtype
        raise pickle.UnpicklingError(
            f"{self._what}: refusing to load `{module}.{name}` from a pickle: a dataset file only needs "
            f"numpy.ndarray, numpy.dtype and numpy.core.multiarray._reconstruct. The file is corrupted "
            f"or malicious; the global was not called")

    def _reconstruct(self, subtype, shape, dtype):
        if subtype is not _NdarrayType:
            raise pickle.UnpicklingError(f"{self._what}: a pickled array must be a plain numpy.ndarray")
        dims = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        if not all(isinstance(d, int) and d >= 0 for d in dims) or math.prod(dims) > self._limit:
            raise pickle.UnpicklingError(f"{self._what}: a pickled array declares the shape {shape!r}, "
                                         f"more than its {self._limit}-byte stream can hold")
        array = _RECONSTRUCT(_CheckedArray, dims, dtype)
        array._what, array._limit = self._what, self._limit
        return array


def fetch(fname, origin, file_hash, **kwargs):
    """``kerasette.utils.get_file`` (imported here: ``utils`` sits beside ``datasets``)."""
    from ..utils.file_utils import get_file
    return get_file(fname=fname, origin=origin, file_hash=file_hash, **kwargs)


def _check_size(size, path, what):
    if size > MAX_BYTES:
        raise ValueError(f"{what}: {path} holds {size} bytes, more than the {MAX_BYTES} a dataset file may")


def load_pickle(path, what, encoding="bytes"):
    """The object pickled in ``path``, through :class:`ArrayUnpickler`."""
    size = os.path.getsize(path)
    _check_size(size, path, what)
    with open(path, "rb") as f:
        return ArrayUnpickler(f, what, size, encoding=encoding).load_plain()


def _read_npy(stream, size, name, what):
    """One ``.npy`` member. A numeric array is read with pickling off. An object array (ragged
    sequences: ``np.load`` refuses it unless ``allow_pickle=True``, which would let the file run
    any code) is a pickle after the header: it goes through :class:`ArrayUnpickler` instead."""
    fmt = np.lib.format
    version = fmt.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(stream)
    elif version in ((2, 0), (3, 0)):
        # 3.0 differs from 2.0 only in the header's text encoding (UTF-8, for non-ASCII field
        # names); the layout up to the data is the same, so 2.0's reader finds the data start.
        shape, fortran, dtype = fmt.read_array_header_2_0(stream)
    else:
        raise ValueError(f"{what}: member {name!r} has the unknown .npy format version {version}")
    if not dtype.hasobject:
        stream.seek(0)
        return fmt.read_array(stream, allow_pickle=False)
    array = ArrayUnpickler(stream, what, size).load_plain()
    if not isinstance(array, np.ndarray) or array.dtype != object or array.shape != tuple(shape):
        raise ValueError(f"{what}: member {name!r} does not hold the object array of shape {shape} "
                         f"its header declares")
    return array


def load_npz(path, what):
    """``{name: array}`` for every ``.npy`` member of the ``.npz`` file ``path``; object arrays
    are unpickled by :class:`ArrayUnpickler`, never by plain ``pickle``."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            _check_size(info.file_size, f"{path}:{info.filename}", what)
            with archive.open(info) as member:       # reads stop at the declared (checked) size
                data = member.read()
            out[info.filename[:-len(".npy")]] = _read_npy(io.BytesIO(data), len(data), info.filename, what)
    return out


def npz_arrays(path, keys, what):
    """The arrays ``keys`` of ``path``, each checked to be present."""
    arrays = load_npz(path, what)
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(f"{what}: {path} lacks the arrays {missing} (it holds {sorted(arrays)})")
    return [arrays[k] for k in keys]


def read_idx_gz(path, ndim, what):
    """A gzipped IDX file of unsigned bytes (the MNIST format): a 4-byte magic number
    ``0x0000 08 <ndim>``, ``ndim`` big-endian uint32 sizes, then the data, which must fill them
    exactly."""
    with gzip.open(path, "rb") as f:
        head = f.read(4 + 4 * ndim)
        if len(head) != 4 + 4 * ndim or head[:3] != b"\x00\x00\x08" or head[3] != ndim:
            raise ValueError(f"{what}: {path} is not a gzipped IDX file of {ndim}-D unsigned bytes")
        dims = struct.unpack(f">{ndim}I", head[4:])
        count = math.prod(dims)
        _check_size(count, path, what)
        data = f.read(count + 1)
    if len(data) != count:
        raise ValueError(f"{what}: {path} declares {dims} but holds {len(data)} data bytes")
    return np.frombuffer(bytearray(data), np.uint8).reshape(dims)


def shuffle_split(x, y, test_split, seed, what):
    """Shuffle ``x`` and ``y`` together with ``np.random.RandomState(seed)`` and split off the last
    ``test_split`` share as the test set (the first ``int(n * (1 - test_split))`` rows train)."""
    if len(x) != len(y):
        raise ValueError(f"{what}: the file holds {len(x)} samples but {len(y)} targets")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def check_test_split(test_split, what, allow_one=False):
    ok = 0 <= test_split <= 1 if allow_one else 0 <= test_split < 1
    if not ok:
        raise ValueError(f"{what}: test_split must be in [0, 1{']' if allow_one else ')'}, got {test_split!r}")


def read_word_index(path, what):
    """The ``{word: index}`` JSON object in ``path``."""
    _check_size(os.path.getsize(path), path, what)
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict):
        raise ValueError(f"{what}: {path} does not hold a JSON object of word indices")
    return index


def load_cifar_batch(path, label_key, what):
    """``(images (n, 32, 32, 3) uint8, labels (n,) int64)`` from one pickled CIFAR batch.

    The batches were pickled by Python 2: a dict of byte-string keys (``b"data"``: a uint8 array
    ``(n, 3072)``, each row the red, green then blue 32x32 planes; ``b"labels"`` or
    ``b"fine_labels"`` / ``b"coarse_labels"``: a list of ints), read with ``encoding="bytes"``
    through :class:`ArrayUnpickler`.
    """
    batch = load_pickle(path, what, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"{what}: {path} is not a CIFAR batch (a pickled dict)")
    batch = {k.decode("utf-8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise ValueError(f"{what}: the CIFAR batch {path} lacks 'data' or {label_key!r}")
    data, labels = batch["data"], np.asarray(batch[label_key])
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3 * 32 * 32):
        raise ValueError(f"{what}: 'data' of {path} is not a uint8 array of 3072-byte rows")
    if labels.shape != (len(data),) or (labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0
                                                          or labels.max() > 255)):
        raise ValueError(f"{what}: {label_key!r} of {path} is not one label in 0..255 per image")
    images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels.astype(np.int64)
