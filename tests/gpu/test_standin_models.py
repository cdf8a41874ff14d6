"""Whole models on the CuPy stand-in: the same training as on NumPy, number for number.

Each test trains a model twice from the same seed, once on NumPy and once
with the stand-in as the default device (weights created there, batches moved
there once each), and compares losses, metrics, weights and predictions. The
stand-in draws its random numbers from kerasette's seeded generator, so even
dropout masks agree.
"""
import contextlib

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers, optimizers
from kerasette.testing import standin
from kerasette.testing.standin import StandinArray

TOL = dict(rtol=1e-5, atol=1e-6)


def _device(on_standin):
    return standin.on_device() if on_standin else contextlib.nullcontext()


def _train(build, x, y, on_standin, compile_kw, fit_kw=None, seed=3):
    keras.set_random_seed(seed)
    with _device(on_standin):
        model = build()
        compile_kw = dict(compile_kw)
        if callable(compile_kw["optimizer"]):          # a factory: a fresh optimizer per run
            compile_kw["optimizer"] = compile_kw["optimizer"]()
        model.compile(**compile_kw)
        hist = model.fit(x, y, verbose=0, **(fit_kw or {"batch_size": 16, "epochs": 2}))
        if on_standin:
            _assert_on_device(model)
        pred = model.predict(x, batch_size=32, verbose=0)
        score = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    return {"model": model, "history": hist.history, "weights": model.get_weights(),
            "pred": pred, "score": score}


def _assert_on_device(model):
    assert model.weights
    for w in model.weights:
        assert type(w.value) is StandinArray, f"{w.path} is {type(w.value).__name__}"
    for name, arrays in (model.optimizer.slots if model.optimizer else {}).items():
        for a in arrays:
            assert type(a) is StandinArray, f"optimizer slot {name} is {type(a).__name__}"


def _assert_same(ref, got):
    assert ref["history"].keys() == got["history"].keys()
    for k in ref["history"]:
        np.testing.assert_allclose(got["history"][k], ref["history"][k], **TOL, err_msg=k)
    assert len(ref["weights"]) == len(got["weights"])
    for a, b in zip(ref["weights"], got["weights"]):
        np.testing.assert_allclose(b, a, **TOL)
    preds = got["pred"] if isinstance(got["pred"], list) else [got["pred"]]
    for p in preds:
        assert type(p) is np.ndarray, "predict must return NumPy"
    refs = ref["pred"] if isinstance(ref["pred"], list) else [ref["pred"]]
    for p, r in zip(preds, refs):
        np.testing.assert_allclose(p, r, **TOL)
    assert ref["score"].keys() == got["score"].keys()
    for k in ref["score"]:
        assert got["score"][k] == pytest.approx(ref["score"][k], rel=1e-5, abs=1e-6)


def _compare(build, x, y, compile_kw, fit_kw=None):
    ref = _train(build, x, y, False, compile_kw, fit_kw)
    got = _train(build, x, y, True, compile_kw, fit_kw)
    _assert_same(ref, got)
    # training changed something, so the comparison is not of two untouched inits
    keras.set_random_seed(3)
    init = build().get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(init, ref["weights"]))
    return ref, got


def _data(n=96, features=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    y = (x[:, :classes] + 0.3 * rng.standard_normal((n, classes))).argmax(-1)
    return x, y


def _mlp(features=12, classes=4, final="softmax"):
    return lambda: keras.Sequential([
        keras.Input((features,)), layers.Dense(16, activation="relu"), layers.Dropout(0.25),
        layers.Dense(16, activation="tanh"), layers.Dense(classes, activation=final)])


def test_mlp_fit_matches_numpy():
    x, y = _data()
    ref, got = _compare(_mlp(), x, y, dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                                           metrics=["accuracy"]),
                        dict(batch_size=16, epochs=6, validation_split=0.25))
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(got["history"])
    # 6 epochs of 5 steps: 2 were too few to see the loss fall through dropout's noise
    assert got["history"]["loss"][-1] < got["history"]["loss"][0]


@pytest.mark.parametrize("opt", [
    lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: optimizers.Adagrad(0.05), lambda: optimizers.AdamW(0.01),
    lambda: optimizers.Adam(0.01, amsgrad=True, clipnorm=1.0),
    lambda: optimizers.Adam(0.01, global_clipnorm=0.5),
    lambda: optimizers.Adam(0.01, clipvalue=0.1),
], ids=["sgd_nesterov", "rmsprop_centered", "adagrad", "adamw", "adam_amsgrad_clip", "adam_globalclip",
        "adam_clipvalue"])
def test_optimizers_match_numpy(opt):
    x, y = _data(n=48)
    _compare(_mlp(), x, y, dict(optimizer=opt, loss="sparse_categorical_crossentropy"),
             dict(batch_size=16, epochs=1))


@pytest.mark.parametrize("loss,final,metrics", [
    ("mse", None, ["mae", "mse"]), ("huber", None, ["mean_absolute_error"]),
    ("binary_crossentropy", "sigmoid", ["accuracy"]),
    ("categorical_crossentropy", "softmax", ["accuracy", "top_k_categorical_accuracy"]),
    (keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), None,
     ["categorical_accuracy"]),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), None, ["sparse_categorical_accuracy"]),
], ids=["mse", "huber", "bce", "cce", "cce_logits", "scce_logits"])
def test_losses_and_metrics_match_numpy(loss, final, metrics):
    x, labels = _data(n=48)
    y = labels if "sparse" in str(type(loss)).lower() else np.eye(4, dtype="float32")[labels]
    _compare(_mlp(final=final), x, y, dict(optimizer="sgd", loss=loss, metrics=metrics),
             dict(batch_size=16, epochs=1))


def test_sample_weight_and_validation_data_match_numpy():
    x, y = _data(n=64)
    sw = np.linspace(0.2, 2.0, len(x)).astype("float32")
    _compare(_mlp(), x, y, dict(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                                metrics=["accuracy"]),
             dict(batch_size=16, epochs=1, sample_weight=sw, validation_data=(x[:16], y[:16])))


def test_functional_multi_input_model_matches_numpy():
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((40, 6)).astype("float32"), rng.standard_normal((40, 3, 5)).astype("float32")
    y = rng.standard_normal((40, 2)).astype("float32")

    def build():
        a, b = keras.Input((6,), name="a"), keras.Input((3, 5), name="b")
        hb = layers.EinsumDense("btf,fu->bu", output_shape=(6,), bias_axes="u")(b)
        h = layers.Concatenate()([layers.Dense(6, activation="relu")(a), hb])
        h = layers.Add()([h, layers.Dense(12)(h)])
        return keras.Model([a, b], layers.Dense(2)(h))
    _compare(build, [xa, xb], y, dict(optimizer="adam", loss="mse"), dict(batch_size=8, epochs=1))


def test_cnn_fit_matches_numpy():
    pytest.importorskip("kerasette.layers.conv")
    pytest.importorskip("kerasette.layers.pooling")
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 255, (24, 10, 10, 1)).astype("uint8")   # uint8 images, cast once per batch
    y = rng.integers(0, 3, 24)

    def build():
        return keras.Sequential([
            keras.Input((10, 10, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(6, 3, padding="same", activation="relu"), layers.AveragePooling2D(2),
            layers.Flatten(), layers.Dropout(0.5), layers.Dense(3, activation="softmax")])
    _compare(build, x, y, dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                               metrics=["accuracy"]), dict(batch_size=8, epochs=1))


def test_rnn_fit_matches_numpy():
    rec = pytest.importorskip("kerasette.layers.recurrent")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((24, 5, 4)).astype("float32")
    y = rng.integers(0, 3, 24)

    def build():
        return keras.Sequential([
            keras.Input((5, 4)), rec.Bidirectional(rec.SimpleRNN(6, return_sequences=True)),
            rec.SimpleRNN(5), layers.Dense(3, activation="softmax")])
    _compare(build, x, y, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
             dict(batch_size=8, epochs=1))


def test_model_to_moves_weights_and_optimizer_state():
    x, y = _data(n=48)
    compile_kw = dict(optimizer="adam", loss="sparse_categorical_crossentropy")
    ref = _train(_mlp(), x, y, False, compile_kw, dict(batch_size=16, epochs=1, shuffle=False))
    got = _train(_mlp(), x, y, True, compile_kw, dict(batch_size=16, epochs=1, shuffle=False))
    model = got["model"]
    assert model.to("cpu") is model
    for w in model.weights:
        assert type(w.value) is np.ndarray
    slots = [a for arrays in model.optimizer.slots.values() for a in arrays]
    assert slots and all(type(a) is np.ndarray for a in slots)
    # training continues on the CPU exactly where the device run stopped
    for m in (model, ref["model"]):
        keras.set_random_seed(11)                       # the same dropout draws for both
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ref["model"].get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, **TOL)
    model.to(standin.xp)
    _assert_on_device(model)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref["model"].predict(x, verbose=0), **TOL)


def test_set_and_get_weights_cross_the_wall():
    with standin.on_device():
        model = _mlp()()
        arrays = [np.full(w.shape, 0.01 * i, dtype="float32") for i, w in enumerate(model.weights)]
        model.set_weights(arrays)
        _assert_on_device(model) if model.optimizer else None
        assert all(type(w.value) is StandinArray for w in model.weights)
        got = model.get_weights()
    assert all(type(g) is np.ndarray for g in got)
    for a, g in zip(arrays, got):
        np.testing.assert_array_equal(a, g)


def test_checkpoint_saved_from_the_device_loads_on_either_device(tmp_path):
    saving = pytest.importorskip("kerasette.saving")
    if not hasattr(saving, "save_weights"):
        pytest.skip("kerasette.saving has no save_weights yet")
    x, y = _data(n=32)
    got = _train(_mlp(), x, y, True, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                 dict(batch_size=16, epochs=1))
    path = str(tmp_path / "m.weights.h5")
    got["model"].save_weights(path)
    on_cpu = _mlp()()
    on_cpu.load_weights(path)
    for a, b in zip(got["weights"], on_cpu.get_weights()):
        np.testing.assert_array_equal(a, b)
    with standin.on_device():
        on_dev = _mlp()()
        on_dev.load_weights(path)
    assert all(type(w.value) is StandinArray for w in on_dev.weights)
    np.testing.assert_allclose(on_dev.predict(x, verbose=0), got["pred"], **TOL)
    if hasattr(saving, "save_model") and hasattr(saving, "load_model"):
        full = str(tmp_path / "m.keras")
        got["model"].save(full)
        back = saving.load_model(full)
        np.testing.assert_allclose(back.predict(x, verbose=0), got["pred"], **TOL)


def test_backend_device_round_trip():
    before = backend.device()                 # "cpu", or the stand-in under KERASETTE_TEST_DEVICE
    with standin.on_device() as xp:
        assert xp is standin.xp and backend.device() is xp
        t = keras.ops.convert_to_tensor(np.ones((2, 2), "float32"))
        assert type(t.value) is StandinArray
    assert backend.device() == before
    with pytest.raises(ValueError):
        backend.set_device("tpu")


def test_host_data_goes_where_the_weights_are():
    """A model moved to the CPU while the default device is the GPU: host batches follow the
    weights, not the default device."""
    x, y = _data(n=32)
    with standin.on_device():
        model = _mlp()()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.to("cpu")
        out = model(x)
        assert type(out.value) is np.ndarray
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        assert all(type(w.value) is np.ndarray for w in model.weights)
        np.testing.assert_allclose(model.predict(x, verbose=0), model(x).numpy(), rtol=1e-6)
