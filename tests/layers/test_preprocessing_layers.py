"""Preprocessing layers: Rescaling, Normalization (adapt), CenterCrop, Resizing. Values
against real Keras 3 (tests/fixtures/cat_eager.npz and the cat_image model files, from
make_catalogue_fixtures.py), gradchecks, configs and argument errors."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
rng = np.random.default_rng(3)


def _np(t):
    return keras.ops.convert_to_numpy(t)


@pytest.mark.parametrize("case, make", [
    ("resize_down", lambda: layers.Resizing(4, 5)),
    ("resize_up_nearest", lambda: layers.Resizing(11, 13, interpolation="nearest")),
    ("resize_crop", lambda: layers.Resizing(5, 4, crop_to_aspect_ratio=True)),
    ("resize_pad", lambda: layers.Resizing(5, 8, pad_to_aspect_ratio=True, fill_value=3.0)),
    ("center_small", lambda: layers.CenterCrop(4, 6)),
    ("center_large", lambda: layers.CenterCrop(10, 12)),
    ("rescale_channels", lambda: layers.Rescaling([0.5, 2.0, 1.0], offset=[1.0, 0.0, -1.0])),
])
def test_matches_keras_eager(case, make):
    data = np.load(os.path.join(FIXTURES, "cat_eager.npz"))
    y = data[f"{case}_y"]
    out = _np(make()(data[f"{case}_x"]))
    assert out.shape == y.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, y, rtol=1e-5, atol=1e-5 * np.abs(y).max())


def test_normalization_adapt_matches_keras():
    data = np.load(os.path.join(FIXTURES, "cat_eager.npz"))
    layer = layers.Normalization(axis=(1, 2))
    layer.adapt(data["norm_adapt_x"])
    np.testing.assert_allclose(_np(layer(data["norm_adapt_x"][:3])), data["norm_adapt_y"], atol=1e-5, rtol=0)
    assert [(w.name, w.shape, str(w.dtype)) for w in layer.weights] == [
        ("mean", (3, 4), "float32"), ("variance", (3, 4), "float32"), ("count", (), "int32")]
    assert layer.trainable_weights == []


@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_keras_model_file_predicts_as_keras(suffix, tmp_path):
    """Functional model with Rescaling, adapted Normalization, Cropping2D, UpSampling2D,
    Resizing, CenterCrop, SpatialDropout2D and PReLU, saved by Keras 3."""
    data = np.load(os.path.join(FIXTURES, "cat_image.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "cat_image" + suffix))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=0)
    model.save(tmp_path / ("again" + suffix))
    again = keras.models.load_model(tmp_path / ("again" + suffix))
    np.testing.assert_allclose(again.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=0)


def test_rescaling_casts_integer_images():
    out = layers.Rescaling(1 / 255)(np.array([[0, 51, 255]], np.uint8))
    assert str(out.dtype) == "float32"
    np.testing.assert_allclose(_np(out), [[0.0, 0.2, 1.0]], rtol=1e-6)
    x = rng.standard_normal((2, 3))
    assert gradcheck(lambda t: layers.Rescaling(2.0, offset=-1.0, dtype="float64")(t), [x])


def test_normalization_values_invert_and_fixed_statistics():
    x = rng.standard_normal((30, 4)) * [1.0, 2.0, 3.0, 4.0] + [0.0, 1.0, -1.0, 5.0]
    layer = layers.Normalization(dtype="float64")
    layer.adapt(x)
    out = _np(layer(x))
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.std(0), 1.0, rtol=1e-10)
    inverse = layers.Normalization(mean=x.mean(0), variance=x.var(0), invert=True, dtype="float64")
    np.testing.assert_allclose(_np(inverse(out)), x, rtol=1e-10)
    assert inverse.weights == []
    scalar = layers.Normalization(axis=None, mean=2.0, variance=4.0)
    np.testing.assert_allclose(_np(scalar(np.array([[4.0, 0.0]]))), [[1.0, -1.0]])
    assert gradcheck(lambda t: layer(t), [x[:3]])
    assert gradcheck(lambda t: inverse(t), [x[:3]])


def test_normalization_adapts_from_batches_exactly():
    x = rng.standard_normal((50, 3)) * 2
    whole = layers.Normalization()
    whole.adapt(x)
    batched = layers.Normalization()
    batched.adapt([x[:20], (x[20:35], None), x[35:]])
    for a, b in zip(whole.get_weights(), batched.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_normalization_in_a_model_saves_its_statistics(tmp_path):
    norm = layers.Normalization()
    x = rng.standard_normal((20, 3)).astype(np.float32) * 5 + 2
    norm.adapt(x)
    model = keras.Sequential([keras.Input((3,)), norm, layers.Dense(2)])
    before = model.predict(x, verbose=0)
    for name in ("m.keras", "m.h5"):
        model.save(tmp_path / name)
        again = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(again.predict(x, verbose=0), before, rtol=1e-6)


@pytest.mark.parametrize("make, x", [
    (lambda: layers.Resizing(3, 7, dtype="float64"), (2, 5, 4, 2)),
    (lambda: layers.Resizing(6, 3, interpolation="nearest", dtype="float64"), (2, 5, 4, 2)),
    (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, dtype="float64"), (1, 5, 3, 2)),
    (lambda: layers.Resizing(3, 6, pad_to_aspect_ratio=True, fill_value=1.0, dtype="float64"), (1, 4, 4, 2)),
    (lambda: layers.Resizing(3, 3, data_format="channels_first", dtype="float64"), (1, 2, 5, 4)),
    (lambda: layers.CenterCrop(3, 2, dtype="float64"), (2, 5, 4, 2)),
    (lambda: layers.CenterCrop(6, 6, dtype="float64"), (1, 5, 4, 2)),
])
def test_gradients(make, x):
    layer = make()
    assert gradcheck(lambda t: layer(t), [rng.standard_normal(x)])


def test_single_images_and_integer_inputs():
    img = rng.uniform(0, 255, size=(6, 8, 3))
    assert layers.Resizing(3, 4)(img).shape == (3, 4, 3)
    assert layers.CenterCrop(2, 2)(img).shape == (2, 2, 3)
    out = layers.Resizing(3, 4)(img.astype(np.uint8))
    assert str(out.dtype) == "uint8"                  # as Keras: integer images stay integer
    assert layers.Resizing(3, 4).compute_output_shape((None, 6, 8, 3)) == (None, 3, 4, 3)
    assert layers.CenterCrop(3, 4)(keras.Input((6, 8, 3))).shape == (None, 3, 4, 3)


@pytest.mark.parametrize("layer", [
    layers.Rescaling(1 / 255, offset=-0.5), layers.Rescaling([1.0, 2.0]),
    layers.Normalization(axis=(1, 2)), layers.Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0], invert=True),
    layers.CenterCrop(3, 4), layers.Resizing(5, 6, interpolation="nearest", pad_to_aspect_ratio=True),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    same = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(same) is type(layer) and same.get_config() == config


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Rescaling("x"), "Rescaling .*scale must be a number or a list of numbers"),
    (lambda: layers.Rescaling(1.0, offset=float("inf")), "Rescaling .*offset"),
    (lambda: layers.Normalization(axis="x"), "Normalization .*axis must be an int"),
    (lambda: layers.Normalization(mean=1.0), "Normalization .*both mean and variance"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0]), "Normalization .*same shape"),
    (lambda: layers.Normalization(mean=[[1.0]], variance=[[1.0]]), "Normalization .*at most 1 axes"),
    (lambda: layers.Normalization(mean=0.0, variance=-1.0), "Normalization .*variance must be >= 0"),
    (lambda: layers.CenterCrop(0, 3), "CenterCrop .*height must be a positive integer, got 0"),
    (lambda: layers.Resizing(3, 2.5), "Resizing .*width must be a positive integer"),
    (lambda: layers.Resizing(3, 3, interpolation="cubic"), "Resizing .*interpolation must be"),
    (lambda: layers.Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Resizing .*only one"),
    (lambda: layers.Resizing(3, 3, fill_mode="reflect"), "Resizing .*fill_mode must be 'constant'"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("kwargs, match", [({"interpolation": "bicubic"}, "interpolation='bicubic'"),
                                           ({"interpolation": "lanczos3"}, "lanczos3"),
                                           ({"antialias": True}, "antialias=True")])
def test_unimplemented_keras_options_are_refused(kwargs, match):
    with pytest.raises(NotImplementedError, match=f"Resizing .*{match}"):
        layers.Resizing(3, 3, **kwargs)


def test_bad_inputs_name_the_layer():
    norm = layers.Normalization()
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="Normalization .*\\(None, 3\\), got shape \\(2, 4\\)"):
        norm(np.ones((2, 4)))
    with pytest.raises(ValueError, match="Normalization .*adapt\\(\\) cannot change"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 2)))
    with pytest.raises(ValueError, match="Resizing .*rank 4 .*got shape \\(2, 3\\)"):
        layers.Resizing(2, 2)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="CenterCrop .*rank 4"):
        layers.CenterCrop(2, 2)(keras.Input((3,)))
