"""Files nobody should trust: truncated, bit-flipped, oversized, lying or malicious weights
files, ``.keras`` archives and legacy ``.h5`` models.

Every case ends in a ``kerasette.saving.errors.SavingError`` with a one-line message (a
shape mismatch: a summary line, then one line per layer), nothing from the file runs,
loading allocates no more than the model's own size (checked with ``tracemalloc``, which
sees NumPy's buffers), and the model being loaded into keeps its weights and optimizer state.
The last tests mutate real saved files at random (seeded, bounded in time) and hold every
outcome to the same rules."""
import io
import os
import random
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib

import h5py
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, registry
from kerasette.saving.errors import (ModelConfigError, SavingError, WeightsFileError,
                                     WeightsMismatchError)

MB = 2**20
PEAK_LIMIT = 8 * MB        # the model here is ~100 floats; any real read of a declared shape is GBs


def mlp():
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


class Saved:
    """One trained model saved in every format, and the bytes of each file."""

    def __init__(self, folder):
        rng = np.random.default_rng(0)
        self.model = mlp()
        self.model.fit(rng.normal(size=(16, 6)).astype("float32"),
                       rng.normal(size=(16, 3)).astype("float32"), epochs=1, verbose=0)
        self.weights = str(folder / "good.weights.h5")
        self.keras = str(folder / "good.keras")
        self.legacy = str(folder / "good.h5")
        self.model.save_weights(self.weights)
        self.model.save(self.keras)
        self.model.save(self.legacy)
        with zipfile.ZipFile(self.keras) as z:
            self.members = {n: z.read(n) for n in z.namelist()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    keras.backend.clear_session()        # module scope: made before the per-test reset of auto names
    return Saved(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def target():
    """A compiled, trained model of the same architecture, with other weights, that the
    hostile files are loaded into."""
    model = mlp()
    model.fit(np.ones((4, 6), "float32"), np.zeros((4, 3), "float32"), epochs=1, verbose=0)
    return model


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch):
    """Record any attempt to decode bytecode or start a process while a file is loaded."""
    calls = []

    def record(name):
        def refuse(*args, **kwargs):
            calls.append(name)
            raise RuntimeError(f"{name} called while loading a file")
        return refuse
    monkeypatch.setattr(registry, "load_function", record("registry.load_function"))
    monkeypatch.setattr(os, "system", record("os.system"))
    monkeypatch.setattr(subprocess, "Popen", record("subprocess.Popen"))
    yield
    assert not calls, f"loading ran code: {calls}"


def state(model):
    """The model's weights and its optimizer's iteration count and slots, copied."""
    opt = model.optimizer
    slots = [np.array(a) for name in sorted(opt.slots) for a in opt.slots[name]] if opt.built else []
    return [np.array(w) for w in model.get_weights()], int(opt.iterations), slots


def same_state(a, b):
    (wa, ia, sa), (wb, ib, sb) = a, b
    return (ia == ib and len(wa) == len(wb) and len(sa) == len(sb)   # bytes: NaN equals NaN
            and all(x.shape == y.shape and x.tobytes() == y.tobytes() for x, y in zip(wa + sa, wb + sb)))


def refused(load, model=None, error=SavingError, match=None):
    """Run ``load``; check it raises ``error`` (a SavingError) with a clean message, allocates
    little, and leaves ``model`` as it was. Returns the error."""
    before = state(model) if model is not None else None
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(SavingError) as info:
                load()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    err = info.value
    assert isinstance(err, error), f"{type(err).__name__} is not a {error.__name__}: {err}"
    assert type(err).__module__.startswith("kerasette.")
    msg = str(err)
    head, *rest = msg.split("\n")
    assert head.strip() and len(head) < 1500, msg
    if isinstance(err, WeightsMismatchError):
        assert all(line.startswith("  - ") for line in rest), msg
    else:
        assert not rest, f"a {type(err).__name__} message of {len(rest) + 1} lines: {msg}"
    if match is not None:
        assert match in msg, msg
    assert peak < PEAK_LIMIT, f"loading allocated {peak / MB:.1f} MB before refusing: {msg}"
    if model is not None:
        assert same_state(before, state(model)), "the model changed although loading failed"
    return err


def edited(saved, tmp_path, edit, source="weights", name=None):
    """A copy of a saved HDF5 file, changed by ``edit(h5py.File)``."""
    path = tmp_path / (name or ("edited.weights.h5" if source == "weights" else "edited.h5"))
    path.write_bytes(open(getattr(saved, source), "rb").read())
    with h5py.File(path, "r+") as f:
        edit(f)
    return str(path)


def replace(f, where, **dataset):
    del f[where]
    f.create_dataset(where, **dataset)


def keras_file(tmp_path, members, name="edited.keras"):
    """A .keras archive holding ``members`` ({name: bytes}), written by zipfile."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for member, data in members.items():
            z.writestr(member, data)
    return str(path)


def raw_zip(tmp_path, entries, name="raw.keras"):
    """A zip written by hand, so that headers can lie: ``entries`` are dicts with ``name``
    (bytes), ``payload`` (the stored bytes), and optionally ``method``, ``size`` (the declared
    uncompressed size), ``crc`` and ``flags``."""
    out, central = bytearray(), bytearray()
    for e in entries:
        name_b, payload = e["name"], e["payload"]
        method, size = e.get("method", 0), e.get("size", len(payload))
        crc, flags = e.get("crc", zlib.crc32(payload)), e.get("flags", 0)
        offset = len(out)
        out += struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc,
                           len(payload), size, len(name_b), 0) + name_b + payload
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21,
                               crc, len(payload), size, len(name_b), 0, 0, 0, 0, 0, offset) + name_b
    eocd = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                       len(out), 0)
    path = tmp_path / name
    path.write_bytes(bytes(out + central + eocd))
    return str(path)


def deflated_zeros(n):
    """A raw deflate stream of ``n`` zero bytes (~1000x smaller), and its CRC."""
    c, block, out, crc = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(MB), [], 0
    for _ in range(n // MB):
        out.append(c.compress(block))
        crc = zlib.crc32(block, crc)
    out.append(c.flush())
    return b"".join(out), crc


def load_weights(model, path, **kw):
    return lambda: model.load_weights(path, **kw)


def load_model(path, **kw):
    return lambda: keras.models.load_model(path, **kw)


# -- .weights.h5: declared sizes are checked before anything is read --------------------------

def test_a_small_file_declaring_16_gb_allocates_nothing(saved, target, tmp_path):
    path = edited(saved, tmp_path, lambda f: replace(f, "layers/dense/vars/0", shape=(2**32,),
                                                     dtype="float32"))
    assert os.path.getsize(path) < 64 * 2**10           # it only declares its 16 GB
    err = refused(load_weights(target, path), target, WeightsMismatchError)
    assert "(4294967296,)" in str(err) and "(6, 8)" in str(err) and "Dense 'dense" in str(err)


def test_a_chunked_dataset_of_2_to_the_40_elements_is_never_read(saved, target, tmp_path):
    path = edited(saved, tmp_path, lambda f: replace(f, "layers/dense_1/vars/1", shape=(2**20, 2**20),
                                                     dtype="float32", chunks=(1, 1024),
                                                     compression="gzip"))
    err = refused(load_weights(target, path), target, WeightsMismatchError)
    assert "(1048576, 1048576)" in str(err)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        tracemalloc.start()
        try:
            target.load_weights(path, skip_mismatch=True)    # the layer is skipped, not read
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < PEAK_LIMIT


def test_huge_optimizer_slots_are_skipped_unread(saved, target, tmp_path):
    path = edited(saved, tmp_path, lambda f: replace(f, "optimizer/vars/3", shape=(2**36,),
                                                     dtype="float32"))
    opt_before = state(target)[1:]
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match=r"Skipping the optimizer state.*\(68719476736,\)"):
            target.load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT
    assert same_state(([],) + opt_before, ([],) + state(target)[1:])   # the optimizer kept its state
    assert all(np.array_equal(a, b) for a, b in zip(saved.model.get_weights(), target.get_weights()))


@pytest.mark.parametrize("value", [np.nan, -1.0, 2.5, np.inf])
def test_an_iteration_count_that_is_not_a_count_is_skipped(saved, target, tmp_path, value):
    path = edited(saved, tmp_path, lambda f: replace(f, "optimizer/vars/0", data=np.float64(value)))
    before = int(target.optimizer.iterations)
    with pytest.warns(UserWarning, match="iteration count"):
        target.load_weights(path)
    assert int(target.optimizer.iterations) == before


DTYPES = {
    "fixed strings": dict(data=np.full((6, 8), b"abc", dtype="S3")),
    "vlen strings": dict(shape=(6, 8), dtype=h5py.string_dtype()),
    "vlen floats": dict(shape=(6, 8), dtype=h5py.vlen_dtype("float32")),
    "compound": dict(shape=(6, 8), dtype=np.dtype([("a", "f4"), ("b", "i4")])),
    "complex": dict(shape=(6, 8), dtype="complex64"),
    "enum": dict(shape=(6, 8), dtype=h5py.enum_dtype({"A": 0, "B": 1}, basetype="i1")),
    "bool": dict(shape=(6, 8), dtype=bool),
    "opaque": dict(shape=(6, 8), dtype="V8"),
    "object references": dict(shape=(6, 8), dtype=h5py.ref_dtype),
    "array elements": dict(shape=(6, 8), dtype=np.dtype(("f4", (2,)))),
    "null dataspace": dict(data=h5py.Empty("f4")),
}


@pytest.mark.parametrize("kind", list(DTYPES))
def test_non_numeric_datasets_are_refused_even_with_the_right_shape(saved, target, tmp_path, kind):
    path = edited(saved, tmp_path, lambda f: replace(f, "layers/dense/vars/0", **DTYPES[kind]))
    refused(load_weights(target, path), target, WeightsFileError, match="layers/dense/vars/0")


def test_external_storage_is_refused(saved, target, tmp_path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(48, dtype="float32").tobytes())
    path = edited(saved, tmp_path, lambda f: replace(f, "layers/dense/vars/0", shape=(6, 8),
                                                     dtype="float32",
                                                     external=[(str(secret), 0, 48 * 4)]))
    refused(load_weights(target, path), target, WeightsFileError, match="external file")


def test_virtual_datasets_are_refused(saved, target, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.ones((6, 8), "float32")

    def edit(f):
        layout = h5py.VirtualLayout(shape=(6, 8), dtype="float32")
        layout[:] = h5py.VirtualSource(str(other), "x", shape=(6, 8))
        del f["layers/dense/vars/0"]
        f.create_virtual_dataset("layers/dense/vars/0", layout)
    path = edited(saved, tmp_path, edit)
    refused(load_weights(target, path), target, WeightsFileError, match="virtual")


def test_links_are_not_followed(saved, target, tmp_path):
    other = tmp_path / "other.weights.h5"
    saved.model.save_weights(other)             # a file whose data would fit

    def soft_dataset(f):
        del f["layers/dense_1/vars/1"]
        f["layers/dense_1/vars/1"] = h5py.SoftLink("/layers/dense_1/vars/1_elsewhere")
        f["layers/dense_1/vars/1_elsewhere"] = np.ones(3, "float32")

    def soft_group(f):
        f.move("layers/dense", "layers/moved")
        f["layers/dense"] = h5py.SoftLink("/layers/moved")

    def external_group(f):
        del f["layers/dense/vars"]
        f["layers/dense/vars"] = h5py.ExternalLink(str(other), "/layers/dense/vars")

    def external_optimizer(f):
        del f["optimizer"]
        f["optimizer"] = h5py.ExternalLink(str(other), "/optimizer")

    for edit, error in [(soft_group, "soft link"), (external_group, "external link"),
                        (external_optimizer, "external link")]:
        path = edited(saved, tmp_path, edit, name=f"{edit.__name__}.weights.h5")
        refused(load_weights(target, path), target, match=error)
    path = edited(saved, tmp_path, soft_dataset, name="soft_dataset.weights.h5")
    refused(load_weights(target, path), target)


def test_unknown_filters_and_oversized_chunks_are_refused(saved, target, tmp_path):
    path = edited(saved, tmp_path, lambda f: replace(f, "layers/dense/vars/0", shape=(6, 8),
                                                     dtype="float32", chunks=(6, 8),
                                                     compression=32001, allow_unknown_filter=True))
    refused(load_weights(target, path), target, WeightsFileError, match="filter 32001")
    path = edited(saved, tmp_path, lambda f: replace(f, "layers/dense/vars/0", shape=(6, 8),
                                                     dtype="float32", maxshape=(None, None),
                                                     chunks=(4096, 4096)), name="chunks.weights.h5")
    refused(load_weights(target, path), target, WeightsFileError, match="chunks of shape (4096, 4096)")


def test_standard_storage_variants_still_load(saved, target, tmp_path):
    """Checked, not refused: gzip + shuffle + fletcher32 chunks, float64 and big-endian data."""
    w = saved.model.layers[0].get_weights()

    def edit(f):
        replace(f, "layers/dense/vars/0", data=w[0].astype(">f8"), chunks=(3, 4), compression="gzip",
                shuffle=True, fletcher32=True)
        replace(f, "layers/dense/vars/1", data=w[1].astype("float64"))
    target.load_weights(edited(saved, tmp_path, edit))
    assert all(np.array_equal(a, b) for a, b in zip(saved.model.get_weights(), target.get_weights()))


STRUCTURES = {
    "dataset where a group belongs": (lambda f: (f.__delitem__("layers/dense/vars"),
                                                 f.create_dataset("layers/dense/vars", data=[1.0])),
                                      WeightsFileError),
    "group where a dataset belongs": (lambda f: (f.__delitem__("layers/dense/vars/1"),
                                                 f.create_group("layers/dense/vars/1")),
                                      WeightsFileError),
    "datasets not numbered 0..n-1": (lambda f: f.move("layers/dense/vars/1", "layers/dense/vars/x"),
                                     WeightsFileError),
    "a gap in the numbering": (lambda f: f.move("layers/dense/vars/1", "layers/dense/vars/2"),
                               WeightsFileError),
    "a missing layer": (lambda f: f.__delitem__("layers/dense_1"), WeightsMismatchError),
    "an extra layer": (lambda f: f.copy("layers/dense", "layers/dense_7"), WeightsMismatchError),
    "an extra weight": (lambda f: f.create_dataset("layers/dense/vars/2", data=[1.0]),
                        WeightsMismatchError),
    "groups nested 400 deep": (lambda f: f.create_dataset("layers/" + "/".join(["g"] * 400) + "/vars/0",
                                                          data=[1.0]),
                               WeightsMismatchError),
    "a name that is not UTF-8": (lambda f: f["layers"].create_group(b"\xff\xfe\x80").create_group(
        "vars").create_dataset("0", data=[1.0]), WeightsMismatchError),
    "a legacy marker on a Keras 3 file": (lambda f: f.attrs.__setitem__("layer_names", [b"dense"]),
                                          SavingError),
    "a numeric legacy layer list": (lambda f: f.attrs.__setitem__("layer_names", np.arange(5)),
                                    SavingError),
}


@pytest.mark.parametrize("kind", list(STRUCTURES))
def test_wrong_structures_are_refused(saved, target, tmp_path, kind):
    edit, error = STRUCTURES[kind]
    refused(load_weights(target, edited(saved, tmp_path, edit)), target, error)


def test_name_attributes_for_by_name_loading(saved, target, tmp_path):
    path = edited(saved, tmp_path, lambda f: f["layers/dense/vars"].attrs.__setitem__("name", "x" * MB))
    refused(load_weights(target, path, by_name=True), target, WeightsFileError, match="attribute 'name'")
    path = edited(saved, tmp_path, lambda f: f["layers/dense/vars"].attrs.__setitem__(
        "name", "x" * (9 * MB)), name="huge_name.weights.h5")
    refused(load_weights(target, path, by_name=True), target, WeightsFileError, match="global heap")
    path = edited(saved, tmp_path, lambda f: [g.attrs.__setitem__("name", np.bytes_(b"\xff\xfe"))
                                              for g in (f["layers/dense/vars"], f["layers/dense_1/vars"])],
                  name="latin.weights.h5")
    refused(load_weights(target, path, by_name=True), target, WeightsMismatchError, match="namesake")


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.8, 0.99])
def test_truncated_weights_files(saved, target, tmp_path, fraction):
    data = open(saved.weights, "rb").read()
    path = tmp_path / "cut.weights.h5"
    path.write_bytes(data[:int(len(data) * fraction)])
    refused(load_weights(target, str(path)), target, WeightsFileError, match=str(path))


def test_a_global_heap_that_would_hang_libhdf5_is_refused(saved, target, tmp_path):
    """Names are variable-length strings kept in a global heap; libhdf5 walks a heap's objects
    by their declared sizes and loops forever on some corrupt ones. The walk is checked first."""
    data = bytearray(open(saved.legacy, "rb").read())
    heap = data.find(b"GCOL")
    assert heap > 0
    first = heap + 16                       # the first object: index, refs, reserved, size
    data[first + 8:first + 16] = (2**64 - 16).to_bytes(8, "little")
    path = tmp_path / "heap.h5"
    path.write_bytes(bytes(data))
    refused(load_weights(target, str(path)), target, WeightsFileError, match="global heap")
    refused(load_model(str(path)), None, WeightsFileError, match="global heap")


def find_all(data, signature):
    out, at = [], data.find(signature)
    while at >= 0:
        out.append(at)
        at = data.find(signature, at + 4)
    return out


def test_a_local_heap_free_list_that_loops_is_refused(saved, target, tmp_path):
    """libhdf5 follows a group's local-heap free list without remembering where it has been
    (it loops forever, allocating). The list is walked first."""
    data = bytearray(open(saved.weights, "rb").read())
    for heap in find_all(data, b"HEAP"):
        head = int.from_bytes(data[heap + 16:heap + 24], "little")
        address = int.from_bytes(data[heap + 24:heap + 32], "little")
        if head != 1:                     # a free block: make it its own successor
            data[address + head:address + head + 8] = head.to_bytes(8, "little")
            break
    else:
        pytest.fail("no local heap with a free block in the saved file")
    path = tmp_path / "loop.weights.h5"
    path.write_bytes(bytes(data))
    refused(load_weights(target, str(path)), target, WeightsFileError, match="free list that loops")


def test_a_group_b_tree_that_points_back_up_is_refused(saved, target, tmp_path):
    data = bytearray(open(saved.weights, "rb").read())
    node = next(at for at in find_all(data, b"TREE") if data[at + 6] >= 1)
    data[node + 5] = 1                                        # level 1 ...
    data[node + 8 + 16 + 8:node + 8 + 16 + 16] = node.to_bytes(8, "little")   # ... its own child
    path = tmp_path / "tree.weights.h5"
    path.write_bytes(bytes(data))
    refused(load_weights(target, str(path)), target, WeightsFileError, match="B-tree node")


def test_names_that_all_point_at_one_large_value_are_refused_unread(saved, target, tmp_path):
    """200 layer names whose heap references are rewritten to share one 4 MB value: libhdf5
    would expand them all (800 MB) at once. The count times the file's largest value is
    checked before the attribute is read."""
    path = tmp_path / "shared.h5"
    path.write_bytes(open(saved.legacy, "rb").read())
    with h5py.File(path, "r+") as f:
        f.attrs["padding"] = "B" * (4 * MB)
        f["model_weights"].attrs["layer_names"] = [f"n{i:03d}" for i in range(200)]
    data = bytearray(path.read_bytes())
    heaps = find_all(data, b"GCOL")
    big = next(i for i in heaps if int.from_bytes(data[i + 8:i + 16], "little") > 4 * MB)
    index = data[big + 16:big + 18] + b"\0\0"
    patched = 0
    for collection in (i for i in heaps if i != big):
        at = data.find(collection.to_bytes(8, "little"))
        while at >= 0:
            if int.from_bytes(data[at - 4:at], "little") == 4:      # a reference to a 4-byte name
                data[at - 4:at + 12] = (4 * MB).to_bytes(4, "little") + big.to_bytes(8, "little") + index
                patched += 1
            at = data.find(collection.to_bytes(8, "little"), at + 1)
    assert patched == 200
    path.write_bytes(bytes(data))
    refused(load_weights(target, str(path)), target, WeightsFileError, match="variable-length strings")
    refused(load_model(str(path)), None, WeightsFileError, match="variable-length strings")


# -- .keras archives --------------------------------------------------------------------------

def test_truncated_and_damaged_archives(saved, target, tmp_path):
    data = open(saved.keras, "rb").read()
    for i, cut in enumerate([10, 100, len(data) // 2, len(data) - 30]):
        path = tmp_path / f"cut{i}.keras"
        path.write_bytes(data[:cut])
        refused(load_model(str(path)), None, WeightsFileError)
        refused(load_weights(target, str(path)), target, WeightsFileError)
    flipped = bytearray(data)
    start = data.find(b"config.json") + 200     # inside config.json's stored bytes: a CRC error
    flipped[start] ^= 0x20
    (tmp_path / "flip.keras").write_bytes(bytes(flipped))
    refused(load_model(str(tmp_path / "flip.keras")), None, WeightsFileError, match="corrupt")


def test_wrong_missing_and_duplicate_members(saved, target, tmp_path):
    m = saved.members
    cases = {
        "no config": ({k: v for k, v in m.items() if k != "config.json"}, "config.json"),
        "no weights": ({k: v for k, v in m.items() if k != "model.weights.h5"}, "model.weights.h5"),
        "weights not HDF5": ({**m, "model.weights.h5": b"hello"}, "not a readable HDF5"),
        "empty weights": ({**m, "model.weights.h5": b""}, "not a readable HDF5"),
    }
    for i, (members, match) in enumerate(cases.values()):
        path = keras_file(tmp_path, members, f"case{i}.keras")
        refused(load_model(path), None, WeightsFileError, match=match)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                # zipfile warns about the duplicate
        path = tmp_path / "dup.keras"
        with zipfile.ZipFile(path, "w") as z:
            for name, data in m.items():
                z.writestr(name, data)
            z.writestr("config.json", b'{"class_name": "Sequential", "config": {}}')
    refused(load_model(str(path)), None, WeightsFileError, match="more than once")
    refused(load_weights(target, str(path)), target, WeightsFileError, match="more than once")


def test_zip_bombs_and_lying_headers(saved, target, tmp_path):
    bomb, crc = deflated_zeros(64 * MB)
    assert len(bomb) < 100 * 2**10
    other = [{"name": n.encode(), "payload": d} for n, d in saved.members.items() if n != "config.json"]
    honest = raw_zip(tmp_path, other + [{"name": b"config.json", "payload": bomb, "method": 8,
                                         "size": 64 * MB, "crc": crc}], "honest.keras")
    refused(load_model(honest), None, WeightsFileError, match="declares 67108864 bytes")
    lying = raw_zip(tmp_path, other + [{"name": b"config.json", "payload": bomb, "method": 8,
                                        "size": 1000, "crc": crc}], "lying.keras")
    refused(load_model(lying), None, WeightsFileError, match="config.json")
    config = saved.members["config.json"]
    for size in (64 * MB, 2**32 - 1):
        weights_bomb = raw_zip(tmp_path, [{"name": b"config.json", "payload": config},
                                          {"name": b"model.weights.h5", "payload": bomb, "method": 8,
                                           "size": size, "crc": crc}], f"wbomb{size}.keras")
        refused(load_model(weights_bomb), None, WeightsFileError, match="model.weights.h5")
        refused(load_weights(target, weights_bomb), target, WeightsFileError, match="allowed")
    under = raw_zip(tmp_path, [{"name": b"config.json", "payload": config},
                               {"name": b"model.weights.h5", "payload": bomb, "method": 8,
                                "size": 200_000, "crc": 0}], "under.keras")
    refused(load_model(under), None, WeightsFileError, match="model.weights.h5")


def test_unusual_zip_members(saved, tmp_path):
    config = saved.members["config.json"]
    weights = saved.members["model.weights.h5"]
    cases = {
        "bzip2": ([{"name": b"config.json", "payload": config, "method": 12},
                   {"name": b"model.weights.h5", "payload": weights}], "compression method 12"),
        "encrypted": ([{"name": b"config.json", "payload": config, "flags": 1},
                       {"name": b"model.weights.h5", "payload": weights}], "encrypted"),
        "a member name that is not UTF-8": ([{"name": b"config\xff.json", "payload": config,
                                              "flags": 0x800},
                                             {"name": b"model.weights.h5", "payload": weights}], None),
        "a latin-1 name instead of config.json": ([{"name": b"conf\xefg.json", "payload": config},
                                                   {"name": b"model.weights.h5", "payload": weights}],
                                                  "config.json"),
    }
    for i, (entries, match) in enumerate(cases.values()):
        refused(load_model(raw_zip(tmp_path, entries, f"odd{i}.keras")), None, WeightsFileError,
                match=match)
    # members nobody asked for, with hostile names, are ignored (nothing is extracted)
    path = keras_file(tmp_path, {**saved.members, "../../escaped.txt": b"x", "/abs.txt": b"y"})
    keras.models.load_model(path)
    assert not (tmp_path.parent.parent / "escaped.txt").exists()


def nested(depth):
    inner = {"class_name": "Dense", "config": {"units": 1}}
    for _ in range(depth):
        inner = {"x": inner}
    return inner


CONFIGS = {
    "not JSON": (b"{not json", WeightsFileError, "not valid JSON"),
    "not UTF-8": (b'{"class_name": "\xff\xfe"}', WeightsFileError, "not valid JSON"),
    "a JSON list": (b"[1, 2, 3]", WeightsFileError, "class_name"),
    "nested 100000 deep": (b"[" * 100_000 + b"]" * 100_000, WeightsFileError, "JSON"),
    "nested 500 deep, valid": (repr(nested(500)).replace("'", '"').encode(), WeightsFileError,
                               "nested more than"),
    "9 MB long": (b'{"class_name": "Sequential", "pad": "' + b"x" * (9 * MB) + b'"}',
                  WeightsFileError, "allowed"),
    "an unknown class": ({"class_name": "Sequentialish"}, ModelConfigError, "Sequentialish"),
    "an unknown module and class": ({"module": "os", "class_name": "system",
                                     "config": {"command": "touch /tmp/pwned"}},
                                    ModelConfigError, "system"),
    "a dunder class name": ({"module": "keras.layers", "class_name": "__class__", "config": {}},
                            ModelConfigError, None),
    "an importable module": ({"module": "antigravity", "class_name": "Fly", "config": {}},
                             ModelConfigError, None),
}


def layer_config(saved, **changes):
    """The saved config with the first Dense layer's config updated."""
    import json
    config = json.loads(saved.members["config.json"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Dense":
            layer["config"].update(changes)
            break
    return config


LAYER_CHANGES = {
    "an unknown argument": {"no_such_argument": 1},
    "negative units": {"units": -3},
    "units as text": {"units": "many"},
    "units as a list": {"units": [8]},
    "an unknown activation": {"activation": "os.system"},
    "an unknown initializer": {"kernel_initializer": {"class_name": "Nope", "config": {}}},
}


@pytest.mark.parametrize("kind", list(CONFIGS) + list(LAYER_CHANGES) + ["absurd build shape",
                                                                          "layers not a list",
                                                                          "bad compile config"])
def test_hostile_configs(saved, tmp_path, kind):
    import json
    if kind in CONFIGS:
        config, error, match = CONFIGS[kind]
    elif kind in LAYER_CHANGES:
        config, error, match = layer_config(saved, **LAYER_CHANGES[kind]), ModelConfigError, None
    else:
        config, error, match = json.loads(saved.members["config.json"]), ModelConfigError, None
        if kind == "absurd build shape":
            config["build_config"] = {"input_shape": [[[[None]]], "x", -5]}
            config["config"]["layers"][0]["config"]["batch_shape"] = [None, -7]
        elif kind == "layers not a list":
            config["config"]["layers"] = {"a": 1}
        else:
            config["compile_config"] = {"optimizer": {"class_name": "Adam", "config": {"beta_1": "x"}},
                                        "loss": {"class_name": "NoSuchLoss", "config": {}}}
    raw = config if isinstance(config, bytes) else json.dumps(config).encode()
    before = set(sys.modules)
    path = keras_file(tmp_path, {**saved.members, "config.json": raw})
    refused(load_model(path), None, error, match=match)
    assert not os.path.exists("/tmp/pwned")
    assert {"antigravity", "this"}.isdisjoint(set(sys.modules) - before)


def test_model_config_and_weights_must_agree(saved, tmp_path):
    """A valid config whose weights member holds another model's, or a 16 GB declared dataset."""
    import json
    config = json.loads(saved.members["config.json"])
    config["config"]["layers"][-1]["config"]["units"] = 4
    path = keras_file(tmp_path, {**saved.members, "config.json": json.dumps(config).encode()})
    refused(load_model(path), None, WeightsMismatchError, match="(8, 4)")
    buf = io.BytesIO(saved.members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        replace(f, "layers/dense/vars/0", shape=(2**32,), dtype="float32")
    path = keras_file(tmp_path, {**saved.members, "model.weights.h5": buf.getvalue()}, "huge.keras")
    refused(load_model(path), None, WeightsMismatchError, match="(4294967296,)")


# -- legacy .h5 model files -------------------------------------------------------------------

LEGACY = {
    "model_config not JSON": (lambda f: f.attrs.__setitem__("model_config", "{oops"), WeightsFileError),
    "model_config a number": (lambda f: f.attrs.__setitem__("model_config", np.arange(3)),
                              WeightsFileError),
    "model_config 9 MB": (lambda f: f.attrs.__setitem__("model_config", "x" * (9 * MB)), WeightsFileError),
    "model_config nested 5000 deep": (lambda f: f.attrs.__setitem__(
        "model_config", "[" * 5000 + "]" * 5000), WeightsFileError),
    "model_config an unknown class": (lambda f: f.attrs.__setitem__(
        "model_config", '{"class_name": "Nope", "config": {}}'), ModelConfigError),
    "training_config a list": (lambda f: f.attrs.__setitem__("training_config", "[1, 2]"),
                               ModelConfigError),
    "layer_names naming a missing layer": (lambda f: f["model_weights"].attrs.__setitem__(
        "layer_names", [b"dense", b"ghost", b"dense_1"]), WeightsFileError),
    "layer_names listing a layer twice": (lambda f: f["model_weights"].attrs.__setitem__(
        "layer_names", [b"dense", b"dense", b"dense_1"]), WeightsFileError),
    "weight_names 100 KB long": (lambda f: f["model_weights/dense"].attrs.__setitem__(
        "weight_names", ["w" * 100_000]), WeightsFileError),
    "layer_names not UTF-8": (lambda f: f["model_weights"].attrs.__setitem__(
        "layer_names", [b"\xff\xfe", b"dense_1"]), WeightsFileError),
    "a weight declared 2**40 elements": (lambda f: replace(
        f, kernel(f), shape=(2**20, 2**20), dtype="float32", chunks=(1, 4096)), WeightsMismatchError),
    "a weight of strings": (lambda f: replace(f, kernel(f), shape=(6, 8), dtype=h5py.string_dtype()),
                            WeightsFileError),
    "a weight behind an external link": (lambda f: (
        f.__delitem__(kernel(f)), f.__setitem__(kernel(f), h5py.ExternalLink("/etc/passwd", "/x"))),
                                         WeightsFileError),
}


def kernel(f):
    """The path of the first Dense layer's kernel in a legacy file (listed in weight_names)."""
    name = f["model_weights/dense"].attrs["weight_names"][0]
    return "model_weights/dense/" + (name.decode() if isinstance(name, bytes) else name)


@pytest.mark.parametrize("units", [2**20, 2**28])
def test_a_config_asking_for_more_weights_than_the_file_holds_allocates_nothing(saved, tmp_path, units):
    """Dense(units=2**28) in a 2 KB file's config would build a 4 GiB kernel before a weight is
    read: the layers may not allocate more than the weights member (or file) can hold."""
    import json
    config = layer_config(saved, units=units)
    path = keras_file(tmp_path, {**saved.members, "config.json": json.dumps(config).encode()})
    err = refused(load_model(path), None, ModelConfigError, match="more than the file's weights can hold")
    assert "Layer 'dense'" in str(err) and "weight 'kernel'" in str(err)

    def grow(f):
        cfg = json.loads(f.attrs["model_config"])
        for layer in cfg["config"]["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] = units
                break
        f.attrs["model_config"] = json.dumps(cfg)
    refused(load_model(edited(saved, tmp_path, grow, source="legacy")), None, ModelConfigError,
            match="more than the file's weights can hold")


def test_the_weight_budget_ends_with_the_load(saved, tmp_path):
    """The budget binds only the model being rebuilt: later models build freely, on every thread."""
    from kerasette import context
    for path in (saved.keras, saved.legacy):
        keras.models.load_model(path)
        assert context.current().weight_budget is None
    big = layers.Dense(2**11)
    big.build((None, 2**11))                                  # 16 MiB, far over the files' budget
    assert big.kernel.shape == (2**11, 2**11)


@pytest.mark.parametrize("kind", list(LEGACY))
def test_hostile_legacy_model_files(saved, tmp_path, kind):
    with h5py.File(saved.legacy, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"].attrs["layer_names"]]
        assert names[:2] == ["dense", "dense_1"] and kernel(f) in f
    edit, error = LEGACY[kind]
    path = edited(saved, tmp_path, edit, source="legacy")
    refused(load_model(path), None, error)


def test_legacy_optimizer_slots_are_checked_before_reading(saved, tmp_path):
    with h5py.File(saved.legacy, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["optimizer_weights"].attrs["weight_names"]]
    path = edited(saved, tmp_path, lambda f: replace(f["optimizer_weights"], names[3], shape=(2**36,),
                                                     dtype="float32"), source="legacy")
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="Skipping the optimizer state"):
            model = keras.models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT and int(model.optimizer.iterations) == 0


# -- fuzzing: mutations of real saved files ---------------------------------------------------

def mutate(data, rng):
    data = bytearray(data)
    op = rng.randrange(6)
    p = rng.randrange(len(data))
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            q = rng.randrange(len(data))
            data[q] ^= 1 << rng.randrange(8)
    elif op == 1:
        k = rng.randint(1, 16)
        data[p:p + k] = bytes(rng.randrange(256) for _ in range(k))
    elif op == 2:
        del data[p:]
    elif op == 3:
        data[p:p + rng.randint(1, 64)] = b"\xff" * 64
    elif op == 4:
        del data[p:p + rng.randint(1, 256)]
    else:
        k = rng.randint(1, 256)
        data[p:p] = data[p:p + k]
    return bytes(data or b"\x00")


FUZZ = ["weights.h5", "legacy.h5 (load_weights)", "legacy.h5 (load_model)", ".keras archive",
        ".keras weights member", ".keras config member"]


@pytest.mark.parametrize("kind", FUZZ)
def test_fuzzed_files_load_or_fail_cleanly(saved, target, tmp_path, kind):
    seed = FUZZ.index(kind) + 2026
    rng = random.Random(seed)
    source = {"weights": saved.weights, "legacy": saved.legacy}.get(kind.split(".")[0])
    path = tmp_path / ("fuzz.keras" if kind.startswith(".keras") else "fuzz.h5")
    good = state(target)
    deadline, outcomes, n = time.monotonic() + 1.5, {"loaded": 0, "refused": 0}, 0
    while n < 400 and time.monotonic() < deadline:
        n += 1
        if kind == ".keras weights member":
            member = saved.members["model.weights.h5"]
            path.write_bytes(open(keras_file(tmp_path, {**saved.members, "model.weights.h5":
                                                        mutate(member, rng)}), "rb").read())
        elif kind == ".keras config member":
            member = saved.members["config.json"]
            path.write_bytes(open(keras_file(tmp_path, {**saved.members, "config.json":
                                                        mutate(member, rng)}), "rb").read())
        else:
            path.write_bytes(mutate(open(source or saved.keras, "rb").read(), rng))
        before = state(target)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if "load_model" in kind or ".keras" in kind and n % 2:
                    keras.models.load_model(str(path))
                else:
                    target.load_weights(str(path))
            outcomes["loaded"] += 1
        except SavingError as e:
            outcomes["refused"] += 1
            assert "\n" not in str(e) or isinstance(e, WeightsMismatchError), f"seed {seed} #{n}: {e}"
            assert same_state(before, state(target)), f"seed {seed} #{n}: the model changed ({e})"
        except Exception as e:        # noqa: BLE001 - the point of the test
            pytest.fail(f"seed {seed} mutation #{n}: {type(e).__name__} escaped: {e}")
        if outcomes["loaded"] and not same_state(good, state(target)):
            good = state(target)     # a harmless mutation loaded the saved weights: fine
    assert outcomes["refused"] > n // 4, outcomes      # the mutations did damage
