"""``activity_regularizer`` on Dense, Conv, EinsumDense and Embedding (they refused it): the
penalty of the layer's output, divided by the batch size, joins ``model.losses`` and the loss,
as in Keras 3."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 6, 6, 2)).astype("float32")
Y = RNG.normal(size=(5, 1)).astype("float32")


def build(k):
    return k.Sequential([k.Input((6, 6, 2)), k.layers.Conv2D(3, 3, activity_regularizer=k.regularizers.L2(0.01)),
                         k.layers.Flatten(), k.layers.Dense(4, activity_regularizer="l1"),
                         k.layers.EinsumDense("ab,bc->ac", 2, activity_regularizer="l2"), k.layers.Dense(1)])


def test_penalties_of_the_outputs_per_sample():
    model = build(keras)
    conv, _, dense, einsum, _ = model.layers
    model(X)
    losses = [float(l.numpy()) for l in model.losses]
    h1 = conv(X).numpy()
    h2 = dense(h1.reshape(5, -1)).numpy()
    h3 = einsum(h2).numpy()
    np.testing.assert_allclose(losses, [0.01 * (h1 ** 2).sum() / 5, 0.01 * np.abs(h2).sum() / 5,
                                        0.01 * (h3 ** 2).sum() / 5], rtol=1e-5)
    model.compile("sgd", "mse")
    pred = model.predict(X, verbose=0)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), ((pred - Y) ** 2).mean() + sum(losses), rtol=1e-5)


def test_config_round_trip_and_embedding():
    layer = keras.layers.Embedding(5, 3, activity_regularizer="l2")
    again = keras.layers.Embedding.from_config(layer.get_config())
    assert again.get_config()["activity_regularizer"]["class_name"] == "L2"
    out = again(np.array([[1, 2, 0]]))
    np.testing.assert_allclose(float(again.losses[0].numpy()), 0.01 * (out.numpy() ** 2).sum(), rtol=1e-5)
    assert "activity_regularizer" not in keras.layers.Dense(2).get_config()    # as Keras: only when set
    assert keras.layers.Dense(2, activity_regularizer="l1").get_config()["activity_regularizer"]["class_name"] == "L1"
    assert keras.layers.Conv2D(2, 3).get_config()["activity_regularizer"] is None


@needs_keras
def test_equal_to_keras_losses_loss_and_one_step():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    theirs, ours = build(real), build(keras)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    theirs(X), ours(X)
    np.testing.assert_allclose([float(real.ops.convert_to_numpy(l)) for l in theirs.losses],
                               [float(l.numpy()) for l in ours.losses], rtol=1e-5)
    for model in (theirs, ours):
        model.compile("sgd", "mse")
    np.testing.assert_allclose(ours.evaluate(X, Y, verbose=0), theirs.evaluate(X, Y, verbose=0), rtol=1e-5)
    for model in (theirs, ours):
        model.fit(X, Y, batch_size=5, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-4, atol=1e-6)
    assert real.layers.Dense.from_config(ours.layers[2].get_config()).activity_regularizer is not None
