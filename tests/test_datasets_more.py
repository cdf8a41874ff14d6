"""The downloaded datasets (fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing,
california_housing) on small files written here in the real formats and served from a
``file://`` folder (nothing is fetched from the network), checked against Keras's own loaders on
the same files where Keras is installed, and against tampered files."""
import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile
import zipfile

import numpy as np
import pytest

import kerasette as keras
from kerasette.datasets import (_readers, boston_housing, california_housing, cifar10, cifar100,
                                fashion_mnist, imdb, reuters)

os.environ.setdefault("KERAS_BACKEND", "torch")        # the reference Keras runs on torch here


# --- writing the files -------------------------------------------------------------------------

class _Py2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR batches: protocol 2, every byte string (and
    ASCII text, Python 2's ``str``) as (SHORT_)BINSTRING, NumPy's module as ``numpy.core``."""
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("ascii")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str

    def save_global(self, obj, name=None):
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)


def py2_pickle(obj):
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


class Hostile:
    """Unpickling this runs ``touch <marker>`` (pickled as the global ``posix.system``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private cache root (``$KERAS_HOME``) and a folder to serve files from."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    (tmp_path / "origin").mkdir()
    return tmp_path


def serve(monkeypatch, module, path, origin="ORIGIN", file_hash="FILE_HASH", algorithm=sha256):
    """Point ``module``'s origin constant at ``path`` and its hash constant at the file's hash."""
    monkeypatch.setattr(module, origin, path.as_uri())
    monkeypatch.setattr(module, file_hash, algorithm(path))


def ragged(rng, n, vocab=40, longest=12, empty=False):
    """``n`` word-index lists of different lengths (the fourth empty with ``empty``: Keras's
    loaders fail on an empty one when ``start_char`` is None)."""
    seqs = np.empty(n, dtype=object)
    for i in range(n):
        seqs[i] = [int(w) for w in rng.integers(1, vocab, 0 if empty and i == 3 else rng.integers(1, longest))]
    return seqs


def write_idx_gz(path, array):
    head = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + array.astype(np.uint8).tobytes())


def fashion_files(folder, n_train=7, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
              "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28))}
    for name, a in arrays.items():
        write_idx_gz(folder / name, a)
    return arrays


def cifar_tar(path, inner, batches):
    """A ``.tar.gz`` holding ``inner/<name>`` for each ``name: bytes`` of ``batches``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in batches.items():
            info = tarfile.TarInfo(f"{inner}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def cifar_batch(rng, n, label_keys, classes):
    batch = {b"batch_label": b"synthetic batch", b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    for key, k in zip(label_keys, classes):
        batch[key] = [int(v) for v in rng.integers(0, k, n)]
    return batch


def cifar10_files(folder, sizes=(3, 2, 4, 1, 2, 5), seed=0):
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {n: cifar_batch(rng, s, [b"labels"], [10]) for n, s in zip(names, sizes)}
    path = folder / "cifar-10-python.tar.gz"
    cifar_tar(path, "cifar-10-batches-py", {n: py2_pickle(b) for n, b in batches.items()})
    return path, batches


def cifar100_files(folder, seed=0):
    rng = np.random.default_rng(seed)
    batches = {n: cifar_batch(rng, s, [b"fine_labels", b"coarse_labels"], [100, 20])
               for n, s in (("train", 6), ("test", 4))}
    path = folder / "cifar-100-python.tar.gz"
    cifar_tar(path, "cifar-100-python", {n: py2_pickle(b) for n, b in batches.items()})
    return path, batches


def imdb_file(folder, seed=0, empty=False):
    rng = np.random.default_rng(seed)
    arrays = {"x_train": ragged(rng, 9, empty=empty), "y_train": rng.integers(0, 2, 9),
              "x_test": ragged(rng, 7), "y_test": rng.integers(0, 2, 7)}
    path = folder / "imdb.npz"
    np.savez(path, **arrays)
    return path, arrays


def reuters_file(folder, n=13, seed=1):
    rng = np.random.default_rng(seed)
    arrays = {"x": ragged(rng, n), "y": rng.integers(0, 46, n)}
    path = folder / "reuters.npz"
    np.savez(path, **arrays)
    return path, arrays


def housing_file(folder, name, n, features, seed=2):
    rng = np.random.default_rng(seed)
    arrays = {"x": rng.standard_normal((n, features)), "y": rng.uniform(10, 50, n)}
    path = folder / name
    np.savez(path, **arrays)
    return path, arrays


def hostile_npz(path, marker, good):
    """An ``.npz`` like ``good`` whose ``x_train`` object array is a pickle calling ``os.system``."""
    with zipfile.ZipFile(path, "w") as z:
        for key, value in good.items():
            buf = io.BytesIO()
            if key == "x_train":
                np.lib.format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False,
                                                           "shape": (1,)})
                buf.write(pickle.dumps(Hostile(marker), protocol=3))
            else:
                np.lib.format.write_array(buf, value, allow_pickle=True)
            z.writestr(f"{key}.npy", buf.getvalue())


# --- Keras 3 on the same files ----------------------------------------------------------------

@pytest.fixture
def real(tmp_path, monkeypatch):
    """``real(name)``: Keras 3's ``keras.src.datasets.<name>`` module, its ``get_file`` fetching
    from this test's folder into a private cache (skipped without Keras)."""
    pytest.importorskip("keras", reason="Keras 3 cross-check", exc_type=ImportError)
    import importlib

    from keras.src.utils import file_utils
    served, cache = tmp_path / "origin", tmp_path / "keras_home"
    cache.mkdir()             # Keras falls back to the shared /tmp/.keras when cache_dir is missing

    def module(name):
        mod = importlib.import_module(f"keras.src.datasets.{name}")

        def get_file(fname=None, origin=None, **kwargs):
            local = served / os.path.basename(origin)
            kwargs.update(file_hash=None, cache_dir=str(cache))
            return file_utils.get_file(fname, origin=local.as_uri(), **kwargs)
        monkeypatch.setattr(mod, "get_file", get_file)
        return mod
    return module


def assert_same(ours, theirs):
    """Two ``(x_train, y_train), (x_test, y_test)`` results hold the same values."""
    for a, b in zip(ours, theirs):
        for u, v in zip(a, b):
            if u.dtype == object:              # ragged sequences: compare sequence by sequence
                assert len(u) == len(v)
                assert [list(s) for s in u] == [list(s) for s in v]
            else:
                assert u.shape == v.shape and u.dtype == v.dtype
                np.testing.assert_array_equal(u, v)


# --- the public names --------------------------------------------------------------------------

def test_modules_are_reachable_as_in_keras():
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing",
                 "california_housing"):
        assert name in keras.datasets.__all__ and hasattr(getattr(keras.datasets, name), "load_data")
    assert callable(keras.datasets.imdb.get_word_index) and callable(keras.datasets.reuters.get_word_index)


def test_origins_and_hashes_are_keras_own():
    pytest.importorskip("keras", reason="Keras 3 cross-check", exc_type=ImportError)
    import inspect
    import importlib
    for ours, constants in ((imdb, ("FILE_HASH", "WORD_INDEX_HASH")), (reuters, ("FILE_HASH", "WORD_INDEX_HASH")),
                            (cifar10, ("FILE_HASH", "DIRNAME")), (cifar100, ("FILE_HASH", "DIRNAME")),
                            (boston_housing, ("FILE_HASH",)), (california_housing, ("FILE_HASH",))):
        name = ours.__name__.rsplit(".", 1)[1]
        source = inspect.getsource(importlib.import_module(f"keras.src.datasets.{name}"))
        for c in constants:
            assert f'"{getattr(ours, c)}"' in source, (name, c)
        for c in ("ORIGIN", "WORD_INDEX_ORIGIN"):
            if hasattr(ours, c):
                folder, _, file = getattr(ours, c).rpartition("/")
                assert folder in source and file in source, (name, c)
    source = inspect.getsource(importlib.import_module("keras.src.datasets.fashion_mnist"))
    assert fashion_mnist.ORIGIN_FOLDER in source and all(f in source for f in fashion_mnist.FILES)
    assert len(reuters.get_label_names()) == 46
    assert reuters.get_label_names() == importlib.import_module("keras.src.datasets.reuters").get_label_names()


# --- fashion_mnist -----------------------------------------------------------------------------

def test_fashion_mnist(home, monkeypatch):
    arrays = fashion_files(home / "origin")
    monkeypatch.setattr(fashion_mnist, "ORIGIN_FOLDER", (home / "origin").as_uri() + "/")
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28)
    assert y_train.shape == (7,) and y_test.shape == (3,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert x_train.flags.writeable
    cached = home / "home" / "datasets" / "fashion-mnist"
    assert sorted(os.listdir(cached)) == sorted(fashion_mnist.FILES)


def test_fashion_mnist_matches_keras(home, monkeypatch, real):
    fashion_files(home / "origin", seed=3)
    monkeypatch.setattr(fashion_mnist, "ORIGIN_FOLDER", (home / "origin").as_uri() + "/")
    assert_same(fashion_mnist.load_data(), real("fashion_mnist").load_data())


@pytest.mark.parametrize("damage", ["truncated", "trailing", "magic", "counts"])
def test_fashion_mnist_refuses_a_broken_file(home, monkeypatch, damage):
    folder = home / "origin"
    fashion_files(folder)
    images = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    if damage == "truncated":
        raw = raw[:-5]
    elif damage == "trailing":
        raw = raw + b"\x00"
    elif damage == "magic":
        raw = b"\x00\x00\x08\x01" + raw[4:]
    else:
        write_idx_gz(folder / "train-labels-idx1-ubyte.gz", np.zeros(6))
    images.write_bytes(gzip.compress(raw))
    monkeypatch.setattr(fashion_mnist, "ORIGIN_FOLDER", folder.as_uri() + "/")
    with pytest.raises(ValueError, match="fashion_mnist.load_data"):
        fashion_mnist.load_data()


# --- cifar10 / cifar100 ------------------------------------------------------------------------

def test_cifar10(home, monkeypatch):
    path, batches = cifar10_files(home / "origin")
    serve(monkeypatch, cifar10, path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    assert x_train.shape == (12, 32, 32, 3) and x_test.shape == (5, 32, 32, 3)
    assert y_train.shape == (12, 1) and y_test.shape == (5, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    data = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    labels = sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    # each row is the red, then green, then blue 32x32 plane, row by row
    for i, r, c, ch in [(0, 0, 0, 0), (4, 7, 31, 1), (11, 31, 5, 2)]:
        assert x_train[i, r, c, ch] == data[i, ch * 1024 + r * 32 + c]
    np.testing.assert_array_equal(y_train[:, 0], labels)
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch"][b"labels"])
    cache = home / "home" / "datasets"
    assert (cache / "cifar-10-batches-py-target_archive").is_file()
    assert (cache / "cifar-10-batches-py-target" / "cifar-10-batches-py" / "test_batch").is_file()


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100(home, monkeypatch, label_mode):
    path, batches = cifar100_files(home / "origin")
    serve(monkeypatch, cifar100, path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar100.load_data(label_mode=label_mode)
    assert x_train.shape == (6, 32, 32, 3) and x_test.shape == (4, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (6, 1) and y_test.shape == (4, 1) and y_train.dtype == np.int64
    np.testing.assert_array_equal(y_test[:, 0], batches["test"][f"{label_mode}_labels".encode()])
    np.testing.assert_array_equal(x_test.transpose(0, 3, 1, 2).reshape(4, -1), batches["test"][b"data"])
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_matches_keras(home, monkeypatch, real, label_mode):
    path, _ = cifar100_files(home / "origin", seed=5)
    serve(monkeypatch, cifar100, path)
    assert_same(cifar100.load_data(label_mode), real("cifar100").load_data(label_mode))


def test_cifar_batch_reads_as_keras_does(tmp_path, real):
    """Keras's cifar10 needs full 10,000-image batches; its batch reader is compared instead."""
    rng = np.random.default_rng(4)
    batch = cifar_batch(rng, 5, [b"labels"], [10])
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle(batch))
    from keras.src.datasets.cifar import load_batch
    data, labels = load_batch(str(path))
    x, y = _readers.load_cifar_batch(str(path), "labels", "test")
    np.testing.assert_array_equal(x, data.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y, labels)


def test_cifar_hostile_batch_is_refused_without_running(home, monkeypatch):
    marker = home / "pwned"
    rng = np.random.default_rng(0)
    good = py2_pickle(cifar_batch(rng, 2, [b"labels"], [10]))
    evil = cifar_batch(rng, 2, [b"labels"], [10])
    evil[b"data"] = Hostile(marker)
    path = home / "origin" / "cifar-10-python.tar.gz"
    cifar_tar(path, "cifar-10-batches-py", {**{f"data_batch_{i}": good for i in range(1, 6)},
                                            "data_batch_3": py2_pickle(evil), "test_batch": good})
    serve(monkeypatch, cifar10, path)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load `posix\.system`"):
        cifar10.load_data()
    assert not marker.exists()


def test_cifar_batch_in_the_wrong_layout(tmp_path):
    path = tmp_path / "batch"
    path.write_bytes(py2_pickle({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match="3072"):
        _readers.load_cifar_batch(str(path), "labels", "test")
    path.write_bytes(py2_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}))
    with pytest.raises(ValueError, match="one label"):
        _readers.load_cifar_batch(str(path), "labels", "test")
    path.write_bytes(py2_pickle([1, 2]))
    with pytest.raises(ValueError, match="not a CIFAR batch"):
        _readers.load_cifar_batch(str(path), "labels", "test")


# --- the restricted unpickler ------------------------------------------------------------------

def _unpickle(data, encoding="ASCII"):
    return _readers.ArrayUnpickler(io.BytesIO(data), "test", len(data), encoding=encoding).load_plain()


def test_unpickler_rebuilds_arrays_of_numbers_and_of_lists():
    seqs = ragged(np.random.default_rng(0), 5)
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    writers = [lambda obj, p=p: pickle.dumps(obj, protocol=p) for p in (3, 4)] + [py2_pickle]
    # np.save pickles with protocol 3, the CIFAR batches are Python 2's protocol 2; Python 3's
    # protocol 2 (`_codecs.encode`) and 5 (`_frombuffer`) name globals no dataset file needs
    for dumps in writers:
        encoding = "bytes" if dumps is py2_pickle else "ASCII"      # as the CIFAR and npz readers
        back = _unpickle(dumps(seqs), encoding)
        assert type(back) is np.ndarray and back.dtype == object
        assert [list(s) for s in back] == [list(s) for s in seqs]
        np.testing.assert_array_equal(_unpickle(dumps(a), encoding), a)


@pytest.mark.parametrize("payload", [
    lambda m: pickle.dumps(Hostile(m), protocol=2),
    lambda m: pickle.dumps(Hostile(m), protocol=5),
    lambda m: b"cbuiltins\neval\n(X\x0b\x00\x00\x00print('x')\x00tR.",
    lambda m: b"cnumpy\nfrombuffer\n(C\x01\x00tR.",
])
def test_unpickler_refuses_other_globals(tmp_path, payload):
    marker = tmp_path / "pwned"
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        _unpickle(payload(marker))
    assert not marker.exists()


class _Inflated:
    """Pickles as an array whose state declares ``shape`` but carries ``data``."""

    def __init__(self, shape, dtype, data):
        self.state = (1, shape, np.dtype(dtype), False, data)

    def __reduce__(self):
        return np.zeros(0).__reduce__()[0], (np.ndarray, (0,), b"b"), self.state


def test_unpickler_refuses_arrays_larger_than_their_stream():
    for shape, dtype, data in [((10 ** 10,), object, []), ((10 ** 6,), "f8", b""), ((3,), "f8", b"\0" * 8)]:
        with pytest.raises(pickle.UnpicklingError, match="cannot hold"):
            _unpickle(pickle.dumps(_Inflated(shape, dtype, data), protocol=3))
    back = _unpickle(pickle.dumps(_Inflated((2,), "u1", b"\x01\x02"), protocol=3))
    assert type(back) is np.ndarray and back.tolist() == [1, 2]


def test_unpickler_refuses_calling_ndarray_or_huge_arrays():
    with pytest.raises(pickle.UnpicklingError):                 # numpy.ndarray((10**6,)) called directly
        _unpickle(b"\x80\x02cnumpy\nndarray\nJ@B\x0f\x00\x85\x85R.")
    huge = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ\x00\xe1\xf5\x05\x85C\x01b\x87R."
    with pytest.raises(pickle.UnpicklingError, match="more than"):
        _unpickle(huge)


# --- imdb --------------------------------------------------------------------------------------

def _keras_order(n_train, n_test, seed):
    rng = np.random.RandomState(seed)
    a, b = np.arange(n_train), np.arange(n_test)
    rng.shuffle(a)
    rng.shuffle(b)
    return a, b


def test_imdb_defaults(home, monkeypatch):
    path, arrays = imdb_file(home / "origin")
    serve(monkeypatch, imdb, path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data()
    assert x_train.shape == (9,) and x_test.shape == (7,) and x_train.dtype == object
    assert y_train.dtype == arrays["y_train"].dtype and y_test.shape == (7,)
    a, b = _keras_order(9, 7, 113)                   # one generator: training order, then test order
    np.testing.assert_array_equal(y_train, arrays["y_train"][a])
    np.testing.assert_array_equal(y_test, arrays["y_test"][b])
    top = max(max(s) for s in list(arrays["x_train"]) + list(arrays["x_test"]) if s) + 3
    for got, want in zip(x_test, arrays["x_test"][b]):
        assert isinstance(got, list) and got[0] == 1
        assert got[1:] == [w + 3 if w + 3 < top else 2 for w in want]
    assert (home / "home" / "datasets" / "imdb.npz").is_file()


def test_imdb_options(home, monkeypatch):
    path, arrays = imdb_file(home / "origin", empty=True)
    serve(monkeypatch, imdb, path)
    (x_train, _), (x_test, _) = imdb.load_data(num_words=20, skip_top=5, oov_char=0, seed=7)
    assert all(w == 0 or 5 <= w < 20 for s in list(x_train) + list(x_test) for w in s)
    (x_train, _), _ = imdb.load_data(num_words=20, oov_char=None, start_char=None, index_from=0)
    assert all(1 <= w < 20 for s in x_train for w in s)
    assert [] in list(x_train)                       # an empty review stays, as an empty list
    (x_train, _), _ = imdb.load_data(start_char=None)
    assert sorted(len(s) for s in x_train) == sorted(len(s) for s in arrays["x_train"])
    (x_train, y_train), (x_test, y_test) = imdb.load_data(maxlen=8)
    assert all(len(s) < 8 for s in list(x_train) + list(x_test)) and len(y_train) == len(x_train)
    assert len(x_train) < 9
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(maxlen=1)
    with pytest.raises(TypeError, match="nb_words"):
        imdb.load_data(nb_words=100)
    with pytest.raises(ValueError, match="num_words"):
        imdb.load_data(num_words=2.5)


@pytest.mark.parametrize("kwargs", [
    {}, {"seed": 3}, {"num_words": 25}, {"num_words": 25, "skip_top": 6}, {"maxlen": 9},
    {"start_char": None}, {"start_char": None, "index_from": 0}, {"oov_char": None, "num_words": 30},
    {"index_from": 5, "start_char": 4, "oov_char": 3, "num_words": 33, "skip_top": 2, "maxlen": 10},
])
def test_imdb_matches_keras(home, monkeypatch, real, kwargs):
    path, _ = imdb_file(home / "origin", seed=11)
    serve(monkeypatch, imdb, path)
    assert_same(imdb.load_data(**kwargs), real("imdb").load_data(**kwargs))


def test_imdb_hostile_npz_is_refused_without_running(home, monkeypatch):
    marker = home / "pwned"
    _, arrays = imdb_file(home / "origin")
    path = home / "origin" / "evil.npz"
    hostile_npz(path, marker, arrays)
    serve(monkeypatch, imdb, path)
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        imdb.load_data(path="evil.npz")
    assert not marker.exists()


def test_imdb_hash_mismatch_is_refused(home, monkeypatch):
    path, _ = imdb_file(home / "origin")
    monkeypatch.setattr(imdb, "ORIGIN", path.as_uri())
    monkeypatch.setattr(imdb, "FILE_HASH", "0" * 64)
    with pytest.raises(ValueError, match="hash"):
        imdb.load_data()
    assert not (home / "home" / "datasets" / "imdb.npz").exists()


@pytest.mark.parametrize("module, name", [(imdb, "imdb_word_index.json"), (reuters, "reuters_word_index.json")])
def test_word_index(home, monkeypatch, module, name):
    path = home / "origin" / name
    path.write_text(json.dumps({"the": 1, "and": 2, "film": 17}))
    serve(monkeypatch, module, path, "WORD_INDEX_ORIGIN", "WORD_INDEX_HASH", algorithm=md5)
    assert module.get_word_index() == {"the": 1, "and": 2, "film": 17}
    assert (home / "home" / "datasets" / name).is_file()
    monkeypatch.setattr(module, "WORD_INDEX_HASH", "0" * 32)
    with pytest.raises(ValueError, match="hash"):
        module.get_word_index(path="other.json")


def test_word_index_matches_keras(home, monkeypatch, real):
    path = home / "origin" / "imdb_word_index.json"
    path.write_text(json.dumps({"a": 3, "b": 1}))
    serve(monkeypatch, imdb, path, "WORD_INDEX_ORIGIN", "WORD_INDEX_HASH", algorithm=md5)
    assert imdb.get_word_index() == real("imdb").get_word_index()


# --- reuters -----------------------------------------------------------------------------------

def test_reuters_defaults(home, monkeypatch):
    path, arrays = reuters_file(home / "origin")
    serve(monkeypatch, reuters, path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.reuters.load_data()
    assert len(x_train) == int(13 * 0.8) == 10 and len(x_test) == 3 and x_train.dtype == object
    order = np.arange(13)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), arrays["y"][order])
    assert y_train.dtype == arrays["y"].dtype
    (x_train, _), (x_test, _) = reuters.load_data(test_split=0)
    assert len(x_train) == 13 and len(x_test) == 0
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)


@pytest.mark.parametrize("kwargs", [
    {}, {"seed": 5, "test_split": 0.5}, {"num_words": 25, "skip_top": 4}, {"maxlen": 9},
    {"start_char": None, "index_from": 0}, {"oov_char": None, "num_words": 30}, {"test_split": 0},
    {"index_from": 2, "start_char": 9, "oov_char": 7, "num_words": 31, "skip_top": 1, "maxlen": 11},
])
def test_reuters_matches_keras(home, monkeypatch, real, kwargs):
    path, _ = reuters_file(home / "origin", seed=12)
    serve(monkeypatch, reuters, path)
    assert_same(reuters.load_data(**kwargs), real("reuters").load_data(**kwargs))


# --- boston_housing / california_housing -------------------------------------------------------

def test_boston_housing(home, monkeypatch):
    path, arrays = housing_file(home / "origin", "boston_housing.npz", 506, 13)
    serve(monkeypatch, boston_housing, path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.boston_housing.load_data()
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13) and y_train.shape == (404,)
    order = np.arange(506)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), arrays["x"][order])
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), arrays["y"][order])
    (x_train, _), (x_test, _) = boston_housing.load_data(test_split=0.5, seed=1)
    assert len(x_train) == len(x_test) == 253
    for bad in (1, -0.1):
        with pytest.raises(ValueError, match="test_split"):
            boston_housing.load_data(test_split=bad)


@pytest.mark.parametrize("kwargs", [{}, {"test_split": 0.3, "seed": 9}, {"test_split": 0}])
def test_boston_housing_matches_keras(home, monkeypatch, real, kwargs):
    path, _ = housing_file(home / "origin", "boston_housing.npz", 50, 13)
    serve(monkeypatch, boston_housing, path)
    assert_same(boston_housing.load_data(**kwargs), real("boston_housing").load_data(**kwargs))


def test_california_housing(home, monkeypatch):
    path, arrays = housing_file(home / "origin", "california_housing.npz", 700, 8)
    serve(monkeypatch, california_housing, path)
    (x_train, y_train), (x_test, y_test) = keras.datasets.california_housing.load_data()
    assert x_train.shape == (560, 8) and x_test.shape == (140, 8) and y_test.shape == (140,)
    (x_train, y_train), (x_test, y_test) = california_housing.load_data(version="small")
    assert x_train.shape == (480, 8) and x_test.shape == (120, 8)
    order = np.arange(600)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), arrays["y"][:600][order])
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")
    with pytest.raises(ValueError, match="test_split"):
        california_housing.load_data(test_split=1.0)


@pytest.mark.parametrize("kwargs", [{}, {"version": "small", "seed": 4}, {"test_split": 0.1}])
def test_california_housing_matches_keras(home, monkeypatch, real, kwargs):
    path, _ = housing_file(home / "origin", "california_housing.npz", 650, 8)
    serve(monkeypatch, california_housing, path)
    assert_same(california_housing.load_data(**kwargs), real("california_housing").load_data(**kwargs))


def test_housing_file_without_pickles_only(home, monkeypatch):
    """The numeric ``.npz`` files are read with pickling off: an object array is refused."""
    path = home / "origin" / "boston_housing.npz"
    np.savez(path, x=ragged(np.random.default_rng(0), 4), y=np.zeros(4))
    serve(monkeypatch, boston_housing, path)
    with pytest.raises(ValueError, match="allow_pickle"):
        boston_housing.load_data()
