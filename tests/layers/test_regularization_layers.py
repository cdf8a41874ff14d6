"""Regularization layers: SpatialDropout1D/2D, GaussianNoise, GaussianDropout,
ActivityRegularization. Identity at inference, the statistics of the noise in training,
gradchecks with the noise held fixed, configs and argument errors. (Keras's own files
with these layers: the cat_seq fixture, tested in test_reshaping_layers.py.)"""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck

rng = np.random.default_rng(2)


def _np(t):
    return keras.ops.convert_to_numpy(t)


ALL = [lambda: layers.SpatialDropout1D(0.4), lambda: layers.SpatialDropout2D(0.4),
       lambda: layers.GaussianNoise(0.3), lambda: layers.GaussianDropout(0.3),
       lambda: layers.ActivityRegularization(l1=0.1, l2=0.2)]
SHAPES = [(3, 5, 4), (2, 3, 3, 4), (3, 4), (3, 4), (3, 4)]


@pytest.mark.parametrize("make, shape", list(zip(ALL, SHAPES)))
def test_identity_at_inference(make, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    layer = make()
    np.testing.assert_array_equal(_np(layer(x)), x)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    assert layer.compute_output_shape(shape) == shape
    assert layer(keras.Input(shape[1:])).shape == (None,) + shape[1:]


def test_spatial_dropout_drops_whole_channels():
    out = _np(layers.SpatialDropout1D(0.5)(np.ones((4, 6, 32), np.float32), training=True))
    assert (out == out[:, :1, :]).all() and set(np.unique(out)) <= {0.0, 2.0}
    assert 0 < (out == 0).mean() < 1
    out = _np(layers.SpatialDropout2D(0.5)(np.ones((4, 3, 3, 16), np.float32), training=True))
    assert (out == out[:, :1, :1, :]).all() and set(np.unique(out)) <= {0.0, 2.0}
    first = _np(layers.SpatialDropout2D(0.5, data_format="channels_first")(np.ones((4, 16, 3, 3), np.float32),
                                                                          training=True))
    assert (first == first[:, :, :1, :1]).all()


def test_gaussian_noise_and_dropout_statistics():
    x = np.ones((200, 100), np.float32)
    noisy = _np(layers.GaussianNoise(0.5)(x, training=True))
    assert noisy.dtype == np.float32
    assert abs(noisy.mean() - 1.0) < 0.02 and abs(noisy.std() - 0.5) < 0.02
    mult = _np(layers.GaussianDropout(0.2)(x, training=True))
    assert abs(mult.mean() - 1.0) < 0.02 and abs(mult.std() - np.sqrt(0.2 / 0.8)) < 0.02


SEEDED = [lambda seed: layers.SpatialDropout1D(0.4, seed=seed, dtype="float64"),
          lambda seed: layers.SpatialDropout2D(0.4, seed=seed, dtype="float64"),
          lambda seed: layers.GaussianNoise(0.3, seed=seed, dtype="float64"),
          lambda seed: layers.GaussianDropout(0.3, seed=seed, dtype="float64")]


@pytest.mark.parametrize("make, shape", list(zip(SEEDED, SHAPES[:4])))
def test_gradients_with_the_noise_fixed(make, shape):
    """In training each layer is ``x * m`` or ``x + n`` for a noise drawn per call: a layer
    made with the same seed draws the same noise first, so the gradient checks."""
    assert gradcheck(lambda t: make(5)(t, training=True), [rng.standard_normal(shape)])


@pytest.mark.parametrize("make, shape", list(zip(SEEDED, SHAPES[:4])))
def test_seeds_as_keras(make, shape):
    """Same seed, same draws; a new draw at each call (the layer's SeedGenerator advances)."""
    x = np.ones(shape)
    a, b = make(7), make(7)
    first = _np(a(x, training=True))
    np.testing.assert_array_equal(first, _np(b(x, training=True)))
    assert not np.array_equal(first, _np(a(x, training=True)))
    assert not np.array_equal(first, _np(make(8)(x, training=True)))


def test_activity_regularization_adds_the_keras_penalty():
    x = rng.standard_normal((4, 3))
    layer = layers.ActivityRegularization(l1=0.1, l2=0.2, dtype="float64")
    out = layer(x)
    np.testing.assert_array_equal(_np(out), x)
    expected = (0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum()) / 4          # Keras 3: / batch size
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(_np(layer.losses[0])), expected, rtol=1e-12)
    assert gradcheck(lambda t: layer.penalty(t), [x])


def test_activity_regularization_joins_the_training_loss():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, kernel_initializer="ones"),
                              layers.ActivityRegularization(l2=1.0)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((2, 3), np.float32), np.zeros((2, 2), np.float32)
    plain = keras.Sequential([keras.Input((3,)), layers.Dense(2, kernel_initializer="ones")])
    plain.compile(optimizer="sgd", loss="mse")
    with_penalty = model.train_on_batch(x, y)
    without = plain.train_on_batch(x, y)
    with_penalty = with_penalty[0] if isinstance(with_penalty, list) else with_penalty
    without = without[0] if isinstance(without, list) else without
    assert float(with_penalty) == pytest.approx(float(without) + 9 * 2 * 2 / 2, rel=1e-5)   # sum 9*4 / 2


def test_noise_layers_train_in_a_model():
    model = keras.Sequential([keras.Input((6, 4)), layers.SpatialDropout1D(0.2), layers.GaussianNoise(0.1),
                              layers.Flatten(), layers.Dense(3), layers.GaussianDropout(0.2), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(rng.standard_normal((16, 6, 4)), rng.standard_normal((16, 1)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    x = rng.standard_normal((3, 6, 4))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("layer", [
    layers.SpatialDropout1D(0.3, seed=4), layers.SpatialDropout2D(0.3, data_format="channels_first"),
    layers.GaussianNoise(0.2, seed=1), layers.GaussianDropout(0.4), layers.ActivityRegularization(0.1, 0.3),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    same = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(same) is type(layer) and same.get_config() == config


def test_keras_spatial_dropout_config_loads():
    """Keras 3 writes SpatialDropout's config without ``trainable``."""
    layer = layers.SpatialDropout1D.from_config({"rate": 0.5, "seed": None, "name": "sd", "dtype": "float32"})
    assert layer.rate == 0.5 and layer.name == "sd"
    assert sorted(layer.get_config()) == ["dtype", "name", "rate", "seed"]   # and writes Keras's keys only
    keras2 = {"rate": 0.2, "noise_shape": None, "seed": None, "trainable": True, "name": "sd2", "dtype": "float32"}
    assert layers.SpatialDropout2D.from_config(keras2).rate == 0.2      # Keras 2 keeps Dropout's noise_shape
    with pytest.raises(ValueError, match="SpatialDropout1D .*noise_shape"):
        layers.SpatialDropout1D(0.2, noise_shape=(None, 1, 3))


@pytest.mark.parametrize("make, match", [
    (lambda: layers.SpatialDropout1D(1.0), "SpatialDropout1D .*rate must be a number in \\[0, 1\\), got 1.0"),
    (lambda: layers.SpatialDropout2D(-0.1), "SpatialDropout2D .*rate"),
    (lambda: layers.SpatialDropout2D(0.1, data_format="NCHW"), "SpatialDropout2D .*data_format"),
    (lambda: layers.SpatialDropout1D(0.1, seed="a"), "SpatialDropout1D .*seed must be an int"),
    (lambda: layers.GaussianNoise(-1.0), "GaussianNoise .*stddev must be a number >= 0, got -1.0"),
    (lambda: layers.GaussianDropout(1.5), "GaussianDropout .*rate must be a number in \\[0, 1\\)"),
    (lambda: layers.ActivityRegularization(l1=-0.1), "ActivityRegularization .*l1 must be a number >= 0"),
    (lambda: layers.ActivityRegularization(l2="x"), "ActivityRegularization .*l2"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_ranks_name_the_layer():
    with pytest.raises(ValueError, match="SpatialDropout1D .*rank 3 .*got shape \\(2, 3\\)"):
        layers.SpatialDropout1D(0.2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="SpatialDropout2D .*rank 4"):
        layers.SpatialDropout2D(0.2)(keras.Input((3, 4)))
