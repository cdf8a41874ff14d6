"""The common mistakes of a new user get one clear line (the argument, the expected, the
actual and the fix) before anything changes: no weight moves, no optimizer step."""
import os
import subprocess
import sys

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers


def mlp(n_in=3, n_out=2):
    m = keras.Sequential([keras.Input((n_in,)), layers.Dense(n_out, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def convnet():
    m = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                          layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m


def one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


def unchanged(m, before):
    after = m.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert m.optimizer.iterations == 0


X = np.random.default_rng(0).random((8, 3)).astype("float32")
Y = np.array([0, 1] * 4)


# ---- keras.Input ---------------------------------------------------------------------------------
def test_input_with_an_int_shape():
    # Keras 3 refuses it too ("Cannot convert '784' to a shape"); say what to write instead
    with pytest.raises(ValueError) as e:
        keras.Input(784)
    assert one_line(e) == ("Input: `shape` must be a tuple of dimensions, got the number 784; for "
                           "vectors of 784 features write `keras.Input(shape=(784,))`")


@pytest.mark.parametrize("shape, match", [
    ("784", "got the string '784'"),
    ((784.0,), r"must hold non-negative ints or None, got \(784.0,\)"),
    ((28, -1), r"must hold non-negative ints or None, got \(28, -1\)"),
    (object(), "must be a tuple of dimensions such as"),
])
def test_input_with_other_bad_shapes(shape, match):
    with pytest.raises(ValueError, match=match):
        keras.Input(shape)


def test_input_accepts_tuples_lists_and_none():
    assert keras.Input((784,)).shape == (None, 784)
    assert keras.Input([None, 3]).shape == (None, None, 3)
    assert keras.Input(shape=(np.int64(4),)).shape == (None, 4)


# ---- the data -------------------------------------------------------------------------------------
def test_nested_python_lists_as_x():
    m = mlp()
    before = m.get_weights()
    with pytest.raises(ValueError) as e:
        m.fit(X.tolist(), Y, verbose=0)
    assert one_line(e).startswith("x: got a nested Python list of numbers (8 items); lists and tuples are read "
                                  "as one array per model input or output")
    assert one_line(e).endswith("convert it to one array first: np.asarray(x)")
    unchanged(m, before)


def test_python_list_of_labels():
    m = mlp()
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"^y: got a Python list of numbers \(8 items\).*np.asarray\(y\)$"):
        m.fit(X, Y.tolist(), verbose=0)
    unchanged(m, before)


def test_string_labels():
    m = mlp()
    before = m.get_weights()
    with pytest.raises(ValueError) as e:
        m.fit(X, np.array(["cat", "dog"] * 4), verbose=0)
    assert one_line(e) == ("y: holds strings (dtype <U3, e.g. 'cat') but models compute on numbers; map the "
                           "labels to integers first, e.g. classes, y = np.unique(y, return_inverse=True)")
    unchanged(m, before)


def test_string_inputs():
    m = mlp()
    with pytest.raises(ValueError, match=r"^x: holds strings \(dtype <U1, e.g. 'a'\).*text into numbers"):
        m.predict(np.array([["a", "b", "c"]]), verbose=0)


def test_ragged_sequences():
    m = mlp()
    ragged = np.empty(8, dtype=object)
    ragged[:] = [np.zeros(3 - i % 2) for i in range(8)]
    with pytest.raises(ValueError) as e:
        m.fit(ragged, Y, verbose=0)
    assert one_line(e) == ("x: holds Python objects (dtype object, e.g. ndarray); pass a numeric array, e.g. "
                           "np.asarray(x, dtype='float32'); sequences of different lengths must be padded first")
    with pytest.raises(ValueError, match=r"^validation_data: y: got a nested Python list of numbers \(2 items\)"):
        m.fit(X, Y, validation_data=(X[:2], [[0, 1], [1]]), verbose=0)
    assert m.optimizer.iterations == 0


def test_predict_one_sample_without_its_batch_axis():
    m = mlp()
    x = X[0]
    with pytest.raises(ValueError) as e:
        m.predict(x)
    assert one_line(e) == ("predict: x has shape (3,), which is one sample of the model 'sequential' input "
                           "(None, 3) without its batch axis; pass a batch: x[None] or np.expand_dims(x, 0) "
                           "(shape (1, 3))".replace("'sequential'", f"'{m.name}'"))
    assert m.predict(x[None], verbose=0).shape == (1, 2)


def test_images_without_the_channel_axis():
    m = convnet()
    before = m.get_weights()
    x = np.zeros((4, 8, 8), "float32")
    with pytest.raises(ValueError) as e:
        m.fit(x, np.zeros(4, int), verbose=0)
    assert one_line(e).endswith("the channel axis is missing; add it: x[..., None] or np.expand_dims(x, -1) "
                                "(shape (4, 8, 8, 1))")
    unchanged(m, before)
    with pytest.raises(ValueError, match=r"without its batch and channel axes; pass x\[None, \.\.\., None\]"):
        m.predict(x[0])


def test_nan_in_the_inputs_stops_before_any_step():
    m = mlp()
    before = m.get_weights()
    x = X.copy()
    x[5, 2] = np.nan
    x[6, 0] = np.inf
    with pytest.raises(ValueError) as e:
        m.fit(x, Y, verbose=0)
    assert one_line(e) == ("fit: x holds 2 NaN/inf value(s), the first nan at index (5, 2); clean the data "
                           "(e.g. np.nan_to_num or drop those samples), or pass check_finite=False to train anyway")
    unchanged(m, before)
    with pytest.raises(ValueError, match=r"^train_on_batch: x holds 2 NaN/inf"):
        m.train_on_batch(x, Y)
    unchanged(m, before)
    m.fit(x, Y, verbose=0, check_finite=False)         # off: trains (into NaN, as asked)
    assert m.optimizer.iterations > 0


def test_nan_in_targets_and_sample_weights():
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    y = np.ones((8, 1), "float32")
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"^fit: y holds 1 NaN/inf value\(s\), the first nan at index \(3, 0\)"):
        m.fit(X, y, verbose=0)
    sw = np.ones(8, "float32")
    sw[7] = np.inf
    with pytest.raises(ValueError, match=r"^fit: sample_weight holds 1 NaN/inf value\(s\), the first inf at index \(7,\)"):
        m.fit(X, np.ones((8, 1)), sample_weight=sw, verbose=0)
    assert m.optimizer.iterations == 0


def test_nan_check_names_the_input_of_a_multi_input_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = layers.Dense(1)(layers.Concatenate()([a, b]))
    m = keras.Model([a, b], out)
    m.compile(optimizer="sgd", loss="mse")
    xb = np.ones((8, 2), "float32")
    xb[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"^fit: x\[1\] holds 1 NaN/inf value\(s\), the first nan at index \(1, 1\)"):
        m.fit([X, xb], np.ones((8, 1)), verbose=0)


# ---- fit's arguments ---------------------------------------------------------------------------
def test_validation_data_that_is_not_a_pair():
    m = mlp()
    with pytest.raises(ValueError) as e:
        m.fit(X, Y, validation_data=X, verbose=0)
    assert one_line(e) == ("fit: `validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), "
                           "got an array of shape (8, 3); to hold out part of x instead, pass validation_split=0.2")
    assert m.optimizer.iterations == 0
    # a list of two is what users mean by a pair (Keras 2 silently misread it): accepted
    h = m.fit(X, Y, validation_data=[X, Y], verbose=0)
    assert "val_loss" in h.history


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 2.5}, "fit: `epochs` must be an integer >= 0, got 2.5; e.g. epochs=2"),
    ({"epochs": "3"}, "fit: `epochs` must be an integer >= 0, got '3'"),
    ({"initial_epoch": -1}, "fit: `initial_epoch` must be an integer >= 0, got -1"),
    ({"validation_freq": 0}, "fit: `validation_freq` must be an integer >= 1, got 0"),
    ({"validation_steps": 0}, "fit: `validation_steps` must be a positive integer or None, got 0"),
    ({"steps_per_epoch": 1.5}, "fit: `steps_per_epoch` must be a positive integer or None, got 1.5"),
    ({"verbose": "yes"}, "fit: verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or \"auto\", got 'yes'"),
])
def test_bad_fit_arguments(kwargs, message):
    m = mlp()
    before = m.get_weights()
    with pytest.raises(ValueError) as e:
        m.fit(X, Y, **kwargs)
    assert one_line(e) == message
    unchanged(m, before)


def test_bad_steps_for_predict():
    with pytest.raises(ValueError, match=r"^steps must be a positive integer or None, got 0$"):
        mlp().predict(X, steps=0)


# ---- files and the environment ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.npz", "m.h5", "weights"])
def test_save_weights_with_a_wrong_suffix(tmp_path, name):
    # Keras 3: "The filename must end in `.weights.h5`"
    m = mlp()
    path = tmp_path / name
    with pytest.raises(ValueError) as e:
        m.save_weights(path)
    stem = os.path.splitext(name)[0]
    assert one_line(e) == (f"save_weights: the filename must end in `.weights.h5` (an HDF5 file in the Keras 3 "
                           f"layout), got '{path}'; use e.g. '{stem}.weights.h5'")
    assert not path.exists() and os.listdir(tmp_path) == []


def test_unknown_device_in_the_environment():
    code = ("import numpy as np, kerasette as keras\n"
            "try:\n"
            "    keras.layers.Dense(2)(np.ones((1, 3), 'float32'))\n"
            "except ValueError as e:\n"
            "    print('ERROR', e)\n")
    env = dict(os.environ, KERASETTE_DEVICE="gpux")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr               # import itself works
    assert out.stdout.strip() == ("ERROR KERASETTE_DEVICE='gpux' is not a device: expected 'cpu' or 'gpu' "
                                  "('cuda' and 'gpu:0' also work); fix or unset the environment variable")


def test_device_names_from_the_environment_are_normalised(monkeypatch):
    from kerasette import context
    for raw, dev in (("", "cpu"), ("CPU", "cpu"), ("cuda", "gpu"), ("gpu:0", "gpu"), ("gpux", "gpux")):
        monkeypatch.setenv("KERASETTE_DEVICE", raw)
        assert context._env_device() == dev


def test_validation_steps_limits_the_validation_pass():
    m = mlp()
    seen = []
    orig = m.test_step
    m.test_step = lambda batch: (seen.append(len(batch[0])), orig(batch))[1]
    m.fit(X, Y, batch_size=2, validation_data=(X, Y), validation_steps=3, verbose=0)
    assert seen == [2, 2, 2]


def test_input_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match=r"^Input: sparse=True is not supported by kerasette; feed dense arrays"):
        keras.Input((3,), sparse=True)
    with pytest.raises(ValueError, match=r"^Input: `tensor` is not supported by kerasette"):
        keras.Input((3,), tensor=np.zeros((1, 3)))
