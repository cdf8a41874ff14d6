"""Whole-model ``.h5`` files written by real Keras 2 (tf_keras 2.21: ``tfk_*``; the Keras 2.15 of
TensorFlow 2.15: ``k215_*``; made by tests/fixtures/make_tf_keras_fixtures.py) load in kerasette and predict what Keras 2 predicted;
``model.save_weights`` files of Keras 2 load into the same architectures built in kerasette.
TensorFlow is never imported here."""
import json
import os
import sys

import h5py
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.saving.errors import SavingError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
WRITERS = ["tfk_", "k215_"]             # tf_keras 2.21, keras 2.15
LOADABLE = [w + n for w in WRITERS for n in ("mlp", "cnn", "rnn", "seq_conv", "functional", "gru_v1")]
ALL = LOADABLE + [w + "lambda" for w in WRITERS]
TOL = dict(rtol=1e-5, atol=1e-5)


def path(name, suffix=".keras2.h5"):
    return os.path.join(FIXTURES, name + suffix)


def data(name):
    d = np.load(path(name, ".keras2.npz"))
    xs = [d[k] for k in sorted(k for k in d.files if k[0] == "x")]
    ys = [d[k] for k in sorted(k for k in d.files if k[0] == "y")]
    return (xs[0] if len(xs) == 1 else xs), ys, d


def predict_all(model, x):
    out = model.predict(x, verbose=0)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def assert_predicts(model, name):
    x, ys, _ = data(name)
    got = predict_all(model, x)
    assert len(got) == len(ys)
    for g, y in zip(got, ys):
        assert np.abs(y).max() > 1e-3                # something to compare against
        np.testing.assert_allclose(np.asarray(g, dtype="float32"), y, **TOL)


def file_config(name):
    with h5py.File(path(name), "r") as f:
        return json.loads(f.attrs["model_config"])


@pytest.mark.parametrize("name", ALL)
def test_fixtures_were_written_by_keras_2(name):
    with h5py.File(path(name), "r") as f:
        version = f.attrs["keras_version"]
        assert (version.decode() if isinstance(version, bytes) else str(version)).startswith("2.")
        assert "model_weights" in f and "model_config" in f.attrs
    assert str(data(name)[2]["keras_version"]).startswith("2.")


@pytest.mark.parametrize("name", LOADABLE)
def test_keras2_model_file_loads_whole_and_predicts_as_keras(name):
    model = keras.models.load_model(path(name))
    assert_predicts(model, name)


@pytest.mark.parametrize("name", LOADABLE)
def test_loaded_layers_are_the_files_layers(name):
    """Each layer the config lists comes back with its class and name, in order (a Sequential
    lists its InputLayer, which kerasette, as Keras, keeps out of ``model.layers``)."""
    config = file_config(name)
    model = keras.models.load_model(path(name))
    assert type(model).__name__ == config["class_name"]
    listed = [(e["class_name"], e["config"]["name"]) for e in config["config"]["layers"]]
    if config["class_name"] == "Sequential":
        listed = [e for e in listed if e[0] != "InputLayer"]
    assert [(type(l).__name__, l.name) for l in model.layers] == listed
    for entry, layer in zip([e for e in config["config"]["layers"]
                             if config["class_name"] != "Sequential" or e["class_name"] != "InputLayer"],
                            model.layers):
        if entry["class_name"] in ("Sequential", "Functional"):      # nested models: their layers too
            inner = [(e["class_name"], e["config"]["name"]) for e in entry["config"]["layers"]
                     if entry["class_name"] != "Sequential" or e["class_name"] != "InputLayer"]
            assert [(type(l).__name__, l.name) for l in layer.layers] == inner


@pytest.mark.parametrize("w", WRITERS)
def test_functional_file_keeps_shared_and_nested_calls(w):
    model = keras.models.load_model(path(w + "functional"))
    assert len(model.inputs) == 2 and len(model.outputs) == 2
    assert len(model.get_layer("shared")._inbound_nodes) >= 2          # applied twice
    assert len(model.get_layer("nested_seq")._inbound_nodes) >= 2      # a nested model called twice


@pytest.mark.parametrize("w", WRITERS)
def test_compiled_keras2_files_compile_in_kerasette(w):
    """tf.keras 2.11+ names its optimizers "Custom>Adam": read as the built-in one."""
    mlp = keras.models.load_model(path(w + "mlp"))
    assert isinstance(mlp.optimizer, keras.optimizers.Adam)
    assert mlp.optimizer.learning_rate == pytest.approx(1e-3)
    functional = keras.models.load_model(path(w + "functional"))
    assert isinstance(functional.optimizer, keras.optimizers.SGD)
    assert functional.optimizer.momentum == pytest.approx(0.9)
    x, ys, _ = data(w + "mlp")
    mlp.fit(x, np.array([0, 1, 2, 3, 0, 1]), epochs=1, verbose=0)       # trains from there


@pytest.mark.parametrize("w", WRITERS)
def test_keras2_hard_sigmoid_is_keras_2s(tmp_path, w):
    """Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1), not Keras 3's relu6(x + 3) / 6; a
    model saved again by kerasette keeps Keras 2's."""
    model = keras.models.load_model(path(w + "mlp"))
    fn = model.get_layer("d9").activation
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], dtype="float32")
    np.testing.assert_allclose(np.asarray(fn(x)), [0.0, 0.3, 0.5, 0.7, 1.0], rtol=1e-6, atol=1e-6)
    model.save(tmp_path / "again.keras")
    assert_predicts(keras.models.load_model(tmp_path / "again.keras"), w + "mlp")


def test_keras3_hard_sigmoid_is_unchanged():
    x = np.array([-1.0, 1.0], dtype="float32")
    np.testing.assert_allclose(np.asarray(keras.activations.get("hard_sigmoid")(x)), [1 / 3, 2 / 3],
                               rtol=1e-6)


@pytest.mark.parametrize("w", WRITERS)
def test_gru_reset_after_false_loads_and_predicts(w):
    """Keras 2's GRU(reset_after=False): bias (3*units,), the reset gate before the recurrent
    matmul of the candidate (the composed path)."""
    model = keras.models.load_model(path(w + "gru_v1"))
    gru = model.get_layer("gru_v1")
    assert gru.reset_after is False and gru.cell.bias.shape == (3 * gru.units,)
    assert_predicts(model, w + "gru_v1")


# -- Lambda -------------------------------------------------------------------------------------

@pytest.mark.parametrize("w", WRITERS)
def test_keras2_lambda_is_refused_under_safe_mode(w):
    with pytest.raises(ValueError) as err:
        keras.models.load_model(path(w + "lambda"))
    msg = str(err.value)
    assert isinstance(err.value, SavingError)
    assert "Lambda layer 'lam'" in msg and "bytecode" in msg and "safe_mode=False" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("w", WRITERS)
def test_keras2_lambda_loads_with_safe_mode_false(w):
    if str(data(w + "lambda")[2]["python"]) != f"{sys.version_info[0]}.{sys.version_info[1]}":
        pytest.skip("the fixture's bytecode was marshalled by another Python version")
    assert_predicts(keras.models.load_model(path(w + "lambda"), safe_mode=False), w + "lambda")


# -- save_weights files of Keras 2, into models built here --------------------------------------

def build_mlp():
    acts = ["relu", "tanh", "sigmoid", "elu", "selu", "softplus", "softsign", "swish", "gelu",
            keras.saving.get_registered_object("keras2>hard_sigmoid"), "linear"]
    stack = [keras.Input((10,))]
    for i, act in enumerate(acts):
        stack.append(layers.Dense(12, activation=act, name=f"d{i}"))
        if i == 3:
            stack.append(layers.Dropout(0.3))
        if i == 5:
            stack.append(layers.BatchNormalization())
    stack += [layers.Dense(6, activation="exponential"), layers.Dense(4, activation="softmax")]
    return keras.Sequential(stack)


def build_cnn():
    return keras.Sequential([
        keras.Input((10, 10, 3)),
        layers.ZeroPadding2D(1),
        layers.Conv2D(6, 3),
        layers.LeakyReLU(negative_slope=0.1),
        layers.SeparableConv2D(6, 3, padding="same", depth_multiplier=2),
        layers.ReLU(max_value=2.0, negative_slope=0.05),
        layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        layers.PReLU(shared_axes=[1, 2]),
        layers.MaxPooling2D(2),
        layers.Cropping2D(((1, 0), (0, 1))),
        layers.UpSampling2D(2),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
        layers.ELU(alpha=0.5),
        layers.AveragePooling2D(2),
        layers.BatchNormalization(),
        layers.Conv2D(5, 3, strides=2, activation="tanh"),
        layers.GlobalAveragePooling2D(keepdims=True),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


@pytest.mark.parametrize("suffix", [".keras2.weights.h5", ".keras2.legacy_weights.h5"])
@pytest.mark.parametrize("name,build", [(w + n, b) for w in WRITERS for n, b in (("mlp", build_mlp), ("cnn", build_cnn))])
def test_keras2_weights_file_loads_into_the_same_architecture(name, build, suffix):
    """``.weights.h5``: tf_keras's Keras-3-like layout (its compiled metrics' totals under
    ``metrics`` are not weights); ``.legacy_weights.h5``: the Keras 2 HDF5 layout."""
    model = build()
    x, ys, _ = data(name)
    before = model.predict(x, verbose=0)
    model.load_weights(path(name, suffix))
    assert np.abs(before - ys[0]).max() > 1e-3           # the load changed something
    assert_predicts(model, name)
