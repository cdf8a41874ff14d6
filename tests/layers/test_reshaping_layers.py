"""Reshaping layers: Cropping1D/2D, UpSampling1D/2D, ZeroPadding1D, Permute, RepeatVector,
Identity. Values against NumPy, gradchecks, configs, argument errors, and real Keras 3
(tests/fixtures/cat_*.npz and the cat_seq model files, from make_catalogue_fixtures.py)."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
rng = np.random.default_rng(0)
SEQ = rng.standard_normal((2, 6, 3))
IMG = rng.standard_normal((2, 5, 4, 3))


def _np(t):
    return keras.ops.convert_to_numpy(t)


@pytest.mark.parametrize("layer, x, expected", [
    (lambda: layers.Cropping1D((1, 2)), SEQ, SEQ[:, 1:4]),
    (lambda: layers.Cropping1D(2), SEQ, SEQ[:, 2:4]),
    (lambda: layers.Cropping2D(((1, 0), (2, 1))), IMG, IMG[:, 1:, 2:3]),
    (lambda: layers.Cropping2D(1), IMG, IMG[:, 1:4, 1:3]),
    (lambda: layers.Cropping2D((1, 0), data_format="channels_first"), IMG, IMG[:, :, 1:3, :]),
    (lambda: layers.UpSampling1D(3), SEQ, np.repeat(SEQ, 3, axis=1)),
    (lambda: layers.UpSampling2D((2, 3)), IMG, np.repeat(np.repeat(IMG, 2, 1), 3, 2)),
    (lambda: layers.UpSampling2D(2, data_format="channels_first"), IMG, np.repeat(np.repeat(IMG, 2, 2), 2, 3)),
    (lambda: layers.ZeroPadding1D((1, 2)), SEQ, np.pad(SEQ, ((0, 0), (1, 2), (0, 0)))),
    (lambda: layers.ZeroPadding1D(1, data_format="channels_first"), SEQ, np.pad(SEQ, ((0, 0), (0, 0), (1, 1)))),
    (lambda: layers.Permute((2, 1)), SEQ, SEQ.transpose(0, 2, 1)),
    (lambda: layers.Permute((3, 1, 2)), IMG, IMG.transpose(0, 3, 1, 2)),
    (lambda: layers.RepeatVector(4), SEQ[:, 0], np.repeat(SEQ[:, :1], 4, axis=1)),
    (lambda: layers.Identity(), SEQ, SEQ),
])
def test_values_and_output_shapes(layer, x, expected):
    layer = layer()
    out = _np(layer(x.astype(np.float32)))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert out.dtype == np.float32
    assert layer.compute_output_shape(x.shape) == expected.shape
    sym = layer(keras.Input(x.shape[1:]))
    assert sym.shape == (None,) + expected.shape[1:]


@pytest.mark.parametrize("make, x", [
    (lambda: layers.Cropping1D((2, 1), dtype="float64"), SEQ),
    (lambda: layers.Cropping2D(((1, 1), (0, 2)), dtype="float64"), IMG),
    (lambda: layers.UpSampling1D(2, dtype="float64"), SEQ),
    (lambda: layers.UpSampling2D((2, 1), dtype="float64"), IMG),
    (lambda: layers.UpSampling2D((2, 3), interpolation="bilinear", dtype="float64"), IMG),
    (lambda: layers.UpSampling2D(2, interpolation="bilinear", data_format="channels_first", dtype="float64"), IMG),
    (lambda: layers.ZeroPadding1D((2, 1), dtype="float64"), SEQ),
    (lambda: layers.Permute((3, 1, 2), dtype="float64"), IMG),
    (lambda: layers.RepeatVector(3, dtype="float64"), SEQ[:, 0]),
])
def test_gradients(make, x):
    layer = make()
    assert gradcheck(lambda t: layer(t), [x])


def test_bilinear_is_keras_half_pixel_interpolation():
    """A hand-worked case: 2 -> 4 along one axis, half-pixel centres, clamped ends."""
    x = np.array([0.0, 1.0], np.float32).reshape(1, 2, 1, 1)
    out = _np(layers.UpSampling2D((2, 1), interpolation="bilinear")(x))[0, :, 0, 0]
    np.testing.assert_allclose(out, [0.0, 0.25, 0.75, 1.0])


@pytest.mark.parametrize("case", ["up2d_bilinear", "up2d_bilinear_cf", "crop2d_cf"])
def test_matches_keras_eager(case):
    data = np.load(os.path.join(FIXTURES, "cat_eager.npz"))
    layer = {"up2d_bilinear": lambda: layers.UpSampling2D((3, 2), interpolation="bilinear"),
             "up2d_bilinear_cf": lambda: layers.UpSampling2D(2, interpolation="bilinear",
                                                             data_format="channels_first"),
             "crop2d_cf": lambda: layers.Cropping2D(((1, 2), (0, 1)), data_format="channels_first")}[case]()
    x, y = data[f"{case}_x"], data[f"{case}_y"]
    np.testing.assert_allclose(_np(layer(x)), y, rtol=1e-5, atol=1e-5 * np.abs(y).max())


@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_keras_model_file_predicts_as_keras(suffix, tmp_path):
    """Sequential of reshaping, activation and regularization layers saved by Keras 3."""
    data = np.load(os.path.join(FIXTURES, "cat_seq.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "cat_seq" + suffix))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=0)
    model.save(tmp_path / ("again" + suffix))               # and kerasette's own files round-trip
    again = keras.models.load_model(tmp_path / ("again" + suffix))
    np.testing.assert_allclose(again.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=0)
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("layer", [
    layers.Cropping1D((1, 2)), layers.Cropping2D(((1, 0), (2, 1)), data_format="channels_first"),
    layers.UpSampling1D(3), layers.UpSampling2D((2, 3), interpolation="bilinear"),
    layers.ZeroPadding1D((0, 2)), layers.Permute((2, 1)), layers.RepeatVector(5), layers.Identity(),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    same = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(same) is type(layer) and same.get_config() == config


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Cropping1D(-1), "Cropping1D .*cropping must be a non-negative int"),
    (lambda: layers.Cropping1D((1, 2, 3)), "Cropping1D .*cropping"),
    (lambda: layers.Cropping2D("a"), "Cropping2D .*cropping must be an int, a pair"),
    (lambda: layers.Cropping2D(((1, 2), (1, -1))), "Cropping2D .*cropping"),
    (lambda: layers.Cropping2D(1, data_format="nhwc"), "Cropping2D .*data_format"),
    (lambda: layers.UpSampling1D(0), "UpSampling1D .*size must be a positive integer, got 0"),
    (lambda: layers.UpSampling1D(1.5), "UpSampling1D .*size"),
    (lambda: layers.UpSampling2D((2, 0)), "UpSampling2D .*size must be a positive int"),
    (lambda: layers.UpSampling2D(interpolation="cubic"), "UpSampling2D .*interpolation must be"),
    (lambda: layers.ZeroPadding1D(-2), "ZeroPadding1D .*padding"),
    (lambda: layers.Permute((1, 3)), "Permute .*dims must be a permutation of 1..2"),
    (lambda: layers.Permute((0, 1)), "Permute .*dims"),
    (lambda: layers.RepeatVector(0), "RepeatVector .*n must be a positive integer, got 0"),
    (lambda: layers.RepeatVector("3"), "RepeatVector .*n must be"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_keras_only_interpolations_are_refused_by_name():
    with pytest.raises(NotImplementedError, match="UpSampling2D .*interpolation='bicubic'"):
        layers.UpSampling2D(interpolation="bicubic")


@pytest.mark.parametrize("layer, shape, match", [
    (layers.Cropping1D((3, 3)), (2, 6, 3), "Cropping1D .*fewer steps .*\\(2, 6, 3\\)"),
    (layers.Cropping1D(), (2, 6), "Cropping1D .*rank 3"),
    (layers.Cropping2D(((2, 3), (0, 0))), (1, 5, 4, 3), "Cropping2D .*height"),
    (layers.UpSampling2D(), (2, 6, 3), "UpSampling2D .*rank 4"),
    (layers.Permute((2, 1)), (2, 3, 4, 5), "Permute .*rank 3"),
    (layers.RepeatVector(2), (2, 3, 4), "RepeatVector .*rank 2"),
])
def test_bad_input_shapes_name_the_layer(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer(np.zeros(shape))
    with pytest.raises(ValueError, match=match.split(" ")[0]):
        layer(keras.Input(shape[1:]))


def test_functional_model_trains_and_identity_keeps_the_mask():
    ids = keras.Input((5,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(ids)
    h = layers.Identity()(h)
    h = layers.ZeroPadding1D((1, 1))(h)
    h = layers.Cropping1D((1, 1))(h)
    out = layers.Dense(1)(layers.Flatten()(layers.UpSampling1D(2)(h)))
    model = keras.Model(ids, out)
    model.compile(optimizer="adam", loss="mse")
    x = rng.integers(0, 10, size=(8, 5))
    history = model.fit(x, rng.standard_normal((8, 1)), epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    emb = layers.Embedding(10, 4, mask_zero=True)
    masked = layers.Identity()(emb(np.array([[1, 0, 2]])))
    assert masked._keras_mask.tolist() == [[True, False, True]]


def _keras2_form(config):
    """A Keras 3 layer config as tf.keras 2 wrote it: plain dtype strings, no ``module`` /
    ``registered_name``, LeakyReLU's ``alpha``, Dropout's ``noise_shape`` on SpatialDropout."""
    if isinstance(config, list):
        return [_keras2_form(c) for c in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") == "DTypePolicy":
        return config["config"]["name"]
    out = {k: _keras2_form(v) for k, v in config.items() if k not in ("module", "registered_name")}
    inner = out.get("config")
    if isinstance(inner, dict):
        if out.get("class_name") == "LeakyReLU":
            inner["alpha"] = inner.pop("negative_slope")
        if out.get("class_name", "").startswith("SpatialDropout"):
            inner["noise_shape"] = None
        if out.get("class_name") == "InputLayer":
            inner["batch_input_shape"] = inner.pop("batch_shape")
    return out


def test_keras2_spellings_of_the_same_model_load(tmp_path):
    """The cat_seq legacy file with its config rewritten in tf.keras 2 spellings."""
    import json
    import shutil

    import h5py
    path = tmp_path / "keras2.h5"
    shutil.copy(os.path.join(FIXTURES, "cat_seq.legacy.h5"), path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        f.attrs["model_config"] = json.dumps(_keras2_form(config))
        f.attrs["keras_version"] = "2.15.0"
    data = np.load(os.path.join(FIXTURES, "cat_seq.npz"))
    model = keras.models.load_model(path)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=0)
