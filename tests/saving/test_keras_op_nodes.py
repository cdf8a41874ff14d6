"""Ops applied to symbolic tensors in a functional model (``x + y``, ``ops.relu(x)``, ``x[:, :3]``)
save as Keras 3 writes them (``module: keras.src.ops.*``, the op's class, its settings, the call's
arguments), so that real Keras loads a kerasette-made ``.keras`` file; ops Keras would not write the
same way stay kerasette's own ``_OpLayer`` entries. kerasette reads both back."""
import importlib.util
import json
import os
import zipfile

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

MAPPED = ["Add", "Relu", "Multiply", "Tanh", "Mean", "Subtract", "GetItem", "Concatenate", "Square", "Sum",
          "Sigmoid", "Divide", "Exp", "Sqrt"]


def _model():
    keras.utils.set_random_seed(0)
    i, j = keras.Input((5, 4), name="seq"), keras.Input((4,), name="vec")
    a = layers.Dense(4, name="d")(i)
    h = ops.mean(ops.relu(a + a) * 2.0, axis=1)
    c = ops.concatenate([ops.tanh(j) - 1.0, h[:, :3]], axis=-1)
    s = ops.sum(ops.square(c), axis=-1, keepdims=True) * ops.sigmoid(c)
    out = ops.sqrt(ops.exp(s / 4.0))
    return keras.Model([i, j], out)


def _data():
    rng = np.random.default_rng(1)
    return [rng.random((3, 5, 4), dtype=np.float32), rng.random((3, 4), dtype=np.float32)]


def _saved_layers(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))["config"]["layers"]


def test_ops_save_as_keras_op_nodes_and_load_back(tmp_path):
    model, x = _model(), _data()
    want = model.predict(x, verbose=0)
    path = str(tmp_path / "ops.keras")
    model.save(path)
    entries = [e for e in _saved_layers(path) if e["class_name"] not in ("InputLayer", "Dense")]
    assert sorted({e["class_name"] for e in entries}) == sorted(MAPPED)
    for e in entries:
        assert e["module"] in ("keras.src.ops.numpy", "keras.src.ops.nn") and e["config"]["name"] == e["name"]
    by_name = {e["name"]: e for e in entries}
    assert by_name["mean"]["config"] == {"name": "mean", "axis": 1, "keepdims": False}
    assert by_name["multiply"]["inbound_nodes"][0]["args"][1] == 2.0          # the constant, in place
    key = by_name["get_item"]["inbound_nodes"][0]["args"][1]
    assert key == [{"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}},
                   {"class_name": "__slice__", "config": {"start": None, "stop": 3, "step": None}}]
    assert len(by_name["concatenate"]["inbound_nodes"][0]["args"][0]) == 2    # one list of tensors
    back = keras.saving.load_model(path)
    np.testing.assert_array_equal(back.predict(x, verbose=0), want)
    path2 = str(tmp_path / "again.keras")
    back.save(path2)                                  # read as Keras's nodes, written the same way
    assert _saved_layers(path2) == _saved_layers(path)


def test_legacy_h5_round_trip(tmp_path):
    model, x = _model(), _data()
    path = str(tmp_path / "ops.h5")
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)


def test_ops_keras_would_not_write_the_same_way_stay_kerasette_nodes(tmp_path):
    i = keras.Input((4, 3))
    a = i[..., 0]                                     # Ellipsis: not a key Keras writes as we would
    b = ops.log(ops.abs(i[:, 1]) + 1.0)               # Log, Abs: Keras's nodes, from its op signatures
    c = i[:, 2] * np.float32(3.0)                     # a NumPy scalar constant
    model = keras.Model(i, ops.concatenate([a, b, c], axis=-1))
    path = str(tmp_path / "mixed.keras")
    model.save(path)
    kinds = {e["name"]: (e["class_name"], e.get("module")) for e in _saved_layers(path)}
    assert kinds["log"] == ("Log", "keras.src.ops.numpy") and kinds["add"] == ("Add", "keras.src.ops.numpy")
    assert kinds["get_item"] == ("_OpLayer", "keras.layers")          # the Ellipsis key
    assert kinds["multiply"] == ("_OpLayer", "keras.layers")          # the NumPy scalar
    x = np.random.default_rng(2).random((2, 4, 3), dtype=np.float32)
    np.testing.assert_array_equal(keras.saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


@needs_keras
def test_real_keras_loads_the_file_and_predicts_the_same(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, not torch")
    model, x = _model(), _data()
    path = str(tmp_path / "for_keras.keras")
    model.save(path)
    loaded = real.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert sorted({type(op).__name__ for op in loaded.operations} & set(MAPPED)) == sorted(MAPPED)


FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")


def test_a_keras_made_file_with_op_nodes_saves_again_as_keras_wrote_it(tmp_path):
    """NotEqual / Any (Masking's mask in Keras 3.15) have no graph form here: they run as function
    nodes and save back as the Keras nodes they were read from."""
    data = np.load(os.path.join(FIXTURES, "functional_ops.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "functional_ops.keras"))
    path = str(tmp_path / "again.keras")
    model.save(path)
    original = {e["name"]: e for e in _saved_layers(os.path.join(FIXTURES, "functional_ops.keras"))}
    saved = {e["name"]: e for e in _saved_layers(path)}
    for name, e in original.items():
        if e.get("module", "").startswith("keras.src.ops."):
            assert saved[name]["module"] == e["module"] and saved[name]["class_name"] == e["class_name"]
            assert saved[name]["config"] == e["config"], name
    back = keras.models.load_model(path)
    np.testing.assert_allclose(back.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-6)
    if HAVE_KERAS:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras as real
        if real.backend.backend() == "torch":
            loaded = real.saving.load_model(path)
            np.testing.assert_allclose(np.asarray(loaded.predict(data["x"], verbose=0)), data["y"],
                                       rtol=1e-5, atol=1e-6)


def _function_node_model():
    a, b = keras.Input((4, 6), name="a"), keras.Input((4, 6), name="b")
    e = ops.expand_dims(ops.cumsum(a, axis=1), 1)                 # (None, 1, 4, 6)
    w = ops.where(a > 0.0, a, b)
    hot = ops.one_hot(ops.argmax(w, axis=-1), 6)                  # int ids -> float one-hot
    out = ops.squeeze(e, axis=1) + hot + ops.logsumexp(b, axis=-1, keepdims=True)
    return keras.Model([a, b], out)


def test_ops_run_as_function_nodes_save_as_keras_nodes_and_load_back(tmp_path):
    model, x = _function_node_model(), [np.random.default_rng(3).normal(size=(3, 4, 6)).astype("float32")
                                        for _ in range(2)]
    path = str(tmp_path / "fn.keras")
    model.save(path)
    kinds = {e["class_name"]: e for e in _saved_layers(path) if e.get("module", "").startswith("keras.src.ops.")}
    assert {"ExpandDims", "Cumsum", "Where", "Greater", "OneHot", "Argmax", "Squeeze", "Logsumexp"} <= set(kinds)
    assert kinds["ExpandDims"]["config"]["axis"] == 1 and kinds["OneHot"]["config"]["num_classes"] == 6
    back = keras.saving.load_model(path)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    if HAVE_KERAS:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras as real
        if real.backend.backend() == "torch":
            loaded = real.saving.load_model(path)
            np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), model.predict(x, verbose=0),
                                       rtol=1e-5, atol=1e-5)
