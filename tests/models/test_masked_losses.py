"""The predictions' mask (``_keras_mask``, e.g. after ``Embedding(mask_zero=True)``) weighs the
loss and the metrics as in Keras 3: padded time steps count for nothing, the averaging losses
divide by the number of steps kept, the metrics average over the steps kept."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

X = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [1, 1, 1, 1, 1]], "int32")
KEPT = X != 0
Y = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")


def build(k):
    return k.Sequential([k.Input((5,), dtype="int32"), k.layers.Embedding(10, 4, mask_zero=True),
                         k.layers.SimpleRNN(3, return_sequences=True), k.layers.Dense(2)])


def test_the_loss_and_metrics_average_over_the_kept_steps_only():
    model = build(keras)
    model.compile("sgd", "mse", metrics=["mae"])
    pred = model.predict(X, verbose=0)
    loss, mae = model.evaluate(X, Y, verbose=0)
    np.testing.assert_allclose(loss, ((pred - Y) ** 2).mean(-1)[KEPT].mean(), rtol=1e-5)
    np.testing.assert_allclose(mae, np.abs(pred - Y).mean(-1)[KEPT].mean(), rtol=1e-5)


def test_padded_steps_get_no_gradient():
    """Targets at padded steps change nothing: two fits differing only there end equal."""
    y_other = Y.copy()
    y_other[~KEPT] = 100.0
    finals = []
    for y in (Y, y_other):
        keras.utils.set_random_seed(3)
        model = build(keras)
        model.compile("sgd", "mse")
        model.fit(X, y, epochs=2, batch_size=3, verbose=0, shuffle=False)
        finals.append(model.get_weights())
    for a, b in zip(*finals):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_model_without_a_mask_is_unchanged():
    model = keras.Sequential([keras.Input((5, 2)), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=["mae"])
    x = np.random.default_rng(1).normal(size=(3, 5, 2)).astype("float32")
    pred = model.predict(x, verbose=0)
    loss, mae = model.evaluate(x, Y, verbose=0)
    np.testing.assert_allclose(loss, ((pred - Y) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(mae, np.abs(pred - Y).mean(), rtol=1e-5)


@needs_keras
def test_equal_to_keras_with_and_without_temporal_sample_weights():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip("the reference runs Keras on torch")
    theirs, ours = build(real), build(keras)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    sw = np.random.default_rng(1).uniform(0.5, 2.0, (3, 5)).astype("float32")
    for model in (theirs, ours):
        model.compile("sgd", "mse", metrics=["mae", "accuracy"])
    want = theirs.evaluate(X, Y, verbose=0, return_dict=True)
    got = ours.evaluate(X, Y, verbose=0, return_dict=True)
    for key in ("loss", "mae", "accuracy"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5)
    for model in (theirs, ours):
        model.compile("sgd", "mse", weighted_metrics=["mae"])
    want = theirs.evaluate(X, Y, sample_weight=sw, verbose=0, return_dict=True)
    got = ours.evaluate(X, Y, sample_weight=sw, verbose=0, return_dict=True)
    np.testing.assert_allclose(got["loss"], want["loss"], rtol=1e-5)
    np.testing.assert_allclose(got["mae"], want["mae"], rtol=1e-5)
