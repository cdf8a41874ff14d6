"""Image augmentation layers (RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomShear,
RandomCrop, RandomContrast, RandomBrightness, RandomGrayscale, RandomInvert, RandomSharpness) and
``ops.image.affine_transform``: the identity at inference, the sampler and the layers against real
Keras 3 on the same transforms (factor pairs that force one value), statistics over a batch,
seeds, gradients, configs, .keras files, argument errors and a short fit."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.autograd import gradcheck

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

rng = np.random.default_rng(5)


def _np(t):
    return keras.ops.convert_to_numpy(t)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, these references were made on torch")
    return real


def _real_np(real, t):
    return np.asarray(real.ops.convert_to_numpy(t))


IMAGES = rng.uniform(0, 255, (4, 7, 9, 3)).astype(np.float32)

ALL = {
    "RandomFlip": lambda **kw: layers.RandomFlip(**kw),
    "RandomRotation": lambda **kw: layers.RandomRotation(0.2, **kw),
    "RandomZoom": lambda **kw: layers.RandomZoom(0.3, (-0.2, 0.1), **kw),
    "RandomTranslation": lambda **kw: layers.RandomTranslation(0.2, (0.1, -0.3), **kw),
    "RandomShear": lambda **kw: layers.RandomShear(0.3, 0.2, **kw),
    "RandomCrop": lambda **kw: layers.RandomCrop(5, 6, **kw),
    "RandomContrast": lambda **kw: layers.RandomContrast(0.4, **kw),
    "RandomBrightness": lambda **kw: layers.RandomBrightness(0.3, **kw),
    "RandomGrayscale": lambda **kw: layers.RandomGrayscale(0.5, **kw),
    "RandomInvert": lambda **kw: layers.RandomInvert(**kw),
    "RandomSharpness": lambda **kw: layers.RandomSharpness(0.8, **kw),
}


def test_every_augmentation_layer_is_public():
    assert set(ALL) <= set(layers.__all__)


# -- inference and training -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(set(ALL) - {"RandomCrop"}))
def test_identity_at_inference_and_change_in_training(name):
    layer = ALL[name]()
    np.testing.assert_array_equal(_np(layer(IMAGES, training=False)), IMAGES)
    out = _np(layer(IMAGES, training=True))
    assert out.shape == IMAGES.shape and out.dtype == np.float32
    assert not np.allclose(out, IMAGES)
    # a model: predict and evaluate are the identity, the layer changes the batch in fit
    model = keras.Sequential([keras.Input((7, 9, 3)), ALL[name]()])
    np.testing.assert_array_equal(model.predict(IMAGES, verbose=0), IMAGES)
    assert model(keras.Input((7, 9, 3))).shape == (None, 7, 9, 3)


def test_a_direct_call_augments_as_in_keras():
    """Keras 3's augmentation layers default to ``training=True`` in a direct call."""
    out = _np(layers.RandomBrightness((0.1, 0.1))(IMAGES))
    np.testing.assert_allclose(out, np.clip(IMAGES + 25.5, 0, 255), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(ALL))
def test_unbatched_and_channels_first(name):
    layer = ALL[name](seed=3)
    out = _np(layer(IMAGES[0], training=True))
    want = (5, 6, 3) if name == "RandomCrop" else IMAGES.shape[1:]
    assert out.shape == want
    first = ALL[name](seed=3, data_format="channels_first")
    x = IMAGES.transpose(0, 3, 1, 2)
    out_first = _np(first(x, training=True)).transpose(0, 2, 3, 1)
    same = ALL[name](seed=3)
    np.testing.assert_allclose(out_first, _np(same(IMAGES, training=True)), rtol=1e-5, atol=1e-3)


def test_integer_images_become_floats():
    x = IMAGES.astype(np.uint8)
    for name, make in ALL.items():
        out = make()(x, training=True)
        assert str(out.dtype) == "float32", name
        assert str(make()(x, training=False).dtype) == "float32", name


# -- the sampler against Keras ---------------------------------------------------------------

def _transforms(n, h, w, seed=0):
    r = np.random.default_rng(seed)
    angle, scale = r.uniform(-np.pi, np.pi, n), r.uniform(0.7, 1.4, n)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    a0, a1, b0, b1 = scale * np.cos(angle), -scale * np.sin(angle), scale * np.sin(angle), scale * np.cos(angle)
    a2 = cx - cx * a0 - cy * a1 + r.uniform(-2, 2, n)
    b2 = cy - cx * b0 - cy * b1 + r.uniform(-2, 2, n)
    return np.stack([a0, a1, a2, b0, b1, b2, 0 * a0, 0 * a0], axis=1).astype(np.float32)


def test_affine_transform_shifts_and_fills():
    image = np.arange(12.0, dtype=np.float32).reshape(1, 3, 4, 1)
    right = [1, 0, -1, 0, 1, 0, 0, 0]              # output column x reads x - 1
    out = _np(ops.image.affine_transform(image, right, "nearest", "constant", fill_value=-1.0))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[-1, 0, 1, 2], [-1, 4, 5, 6], [-1, 8, 9, 10]])
    wrap = _np(ops.image.affine_transform(image, right, "nearest", "wrap"))[0, :, :, 0]
    np.testing.assert_array_equal(wrap[:, 0], [3, 7, 11])
    half = [1, 0, 0.5, 0, 1, 0, 0, 0]              # half a column to the right: the bilinear mean
    out = _np(ops.image.affine_transform(image, half, "bilinear", "nearest"))[0, :, :, 0]
    np.testing.assert_allclose(out[0], [0.5, 1.5, 2.5, 3.0])


@needs_keras
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_transform_equals_keras(interpolation, fill_mode):
    real = _keras()
    x = rng.standard_normal((3, 7, 9, 2)).astype(np.float32)
    t = _transforms(3, 7, 9)
    for data_format in ("channels_last", "channels_first"):
        xi = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
        want = _real_np(real, real.ops.image.affine_transform(xi, t, interpolation, fill_mode, 0.5, data_format))
        got = _np(ops.image.affine_transform(xi, t, interpolation, fill_mode, 0.5, data_format))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    one = _np(ops.image.affine_transform(x[0], t[0], interpolation, fill_mode))
    np.testing.assert_allclose(one, _real_np(real, real.ops.image.affine_transform(x[0], t[0], interpolation,
                                                                                    fill_mode)), atol=1e-5)


@needs_keras
def test_affine_transform_of_integer_images_and_grayscale_equal_keras():
    real = _keras()
    x = rng.integers(0, 256, (2, 6, 5, 3)).astype(np.uint8)
    t = _transforms(2, 6, 5, seed=1)
    got = _np(ops.image.affine_transform(x, t))
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, _real_np(real, real.ops.image.affine_transform(x, t)))
    xf = x.astype(np.float32)
    np.testing.assert_allclose(_np(ops.image.rgb_to_grayscale(xf)),
                               _real_np(real, real.ops.image.rgb_to_grayscale(xf)), atol=1e-4)


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_transform_gradcheck(fill_mode):
    x = rng.standard_normal((2, 5, 6, 2))
    t = _transforms(2, 5, 6, seed=2).astype(np.float64)
    assert gradcheck(lambda v: ops.image.affine_transform(v, t, fill_mode=fill_mode, fill_value=0.3),
                     [keras.Variable(x)])
    assert gradcheck(lambda v: ops.image.affine_transform(v, t, "nearest", fill_mode), [keras.Variable(x)])


def test_affine_transform_refuses_bad_arguments():
    x = np.zeros((1, 3, 3, 1), np.float32)
    with pytest.raises(ValueError, match="fill_mode"):
        ops.image.affine_transform(x, np.zeros(8), fill_mode="edge")
    with pytest.raises(ValueError, match="interpolation"):
        ops.image.affine_transform(x, np.zeros(8), interpolation="cubic")
    with pytest.raises(ValueError, match="transform"):
        ops.image.affine_transform(x, np.zeros(6))
    with pytest.raises(ValueError, match="rank"):
        ops.image.affine_transform(np.zeros((3, 3)), np.zeros(8))


# -- the layers against Keras on forced parameters -------------------------------------------

FORCED = [  # (kerasette / Keras constructor arguments), each forcing one transform
    ("RandomRotation", dict(factor=(0.1, 0.1))),
    ("RandomRotation", dict(factor=(-0.3, -0.3), fill_mode="constant", fill_value=7.0)),
    ("RandomRotation", dict(factor=(0.05, 0.05), fill_mode="wrap", data_format="channels_first")),
    ("RandomZoom", dict(height_factor=(0.3, 0.3))),
    ("RandomZoom", dict(height_factor=(-0.4, -0.4), width_factor=(0.2, 0.2), fill_mode="nearest")),
    ("RandomTranslation", dict(height_factor=(0.2, 0.2), width_factor=(-0.25, -0.25))),
    ("RandomTranslation", dict(height_factor=(-0.1, -0.1), width_factor=(0.3, 0.3), fill_mode="constant")),
    ("RandomContrast", dict(factor=(-0.3, 0.3))),
    ("RandomContrast", dict(factor=(-0.5, 0.5), value_range=(0, 100), data_format="channels_first")),
    ("RandomBrightness", dict(factor=(0.2, 0.2))),
    ("RandomBrightness", dict(factor=(-0.4, -0.4), value_range=(0, 255))),
    ("RandomGrayscale", dict(factor=1.0)),
    ("RandomGrayscale", dict(factor=1.0, data_format="channels_first")),
    ("RandomInvert", dict(factor=(1.0, 1.0))),
    ("RandomSharpness", dict(factor=(0.2, 0.2))),
    ("RandomSharpness", dict(factor=(0.9, 0.9), data_format="channels_first")),
]


@needs_keras
@pytest.mark.parametrize("name, kwargs", FORCED)
def test_forced_transform_equals_keras(name, kwargs):
    real = _keras()
    x = IMAGES if kwargs.get("data_format") != "channels_first" else IMAGES.transpose(0, 3, 1, 2)
    want = _real_np(real, getattr(real.layers, name)(**kwargs)(x, training=True))
    got = _np(getattr(layers, name)(**kwargs)(x, training=True))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-3)     # pixel values up to 255
    single = _np(getattr(layers, name)(**kwargs)(x[1], training=True))
    np.testing.assert_allclose(single, want[1], rtol=1e-5, atol=2e-3)


@needs_keras
def test_flip_and_shear_equal_one_of_keras_outcomes():
    """Flips and shear signs are drawn per image: each image is one of Keras's outcomes."""
    real = _keras()
    flips = {mode: _np(layers.RandomFlip(mode)(IMAGES)) for mode in ("horizontal", "vertical",
                                                                    "horizontal_and_vertical")}
    for mode, out in flips.items():
        options = [IMAGES, _real_np(real, real.ops.flip(IMAGES, axis=2) if mode == "horizontal" else
                                    real.ops.flip(IMAGES, axis=1) if mode == "vertical" else
                                    real.ops.flip(real.ops.flip(IMAGES, axis=1), axis=2))]
        for i in range(len(IMAGES)):
            assert any(np.array_equal(out[i], o[i]) for o in options), (mode, i)
    out = _np(layers.RandomShear((0.2, 0.2), (0.1, 0.1))(IMAGES))
    for i in range(len(IMAGES)):
        candidates = [_real_np(real, real.ops.image.affine_transform(
            IMAGES[i], np.array([1, s * 0.2, 0, s * 0.1, 1, 0, 0, 0], np.float32), "bilinear", "reflect"))
            for s in (1, -1)]
        assert any(np.allclose(out[i], c, atol=2e-3) for c in candidates), i


@needs_keras
@pytest.mark.parametrize("height, width, training", [(5, 4, False), (9, 6, False), (9, 6, True), (7, 4, True)])
def test_random_crop_centre_crop_is_keras_documented_one(height, width, training):
    """At inference, and in training for an image not larger than the target on both sides,
    Keras documents (and computes the output shape for) the largest centred window of the
    target aspect ratio, resized: what ``Resizing(crop_to_aspect_ratio=True)`` computes in Keras.
    (Keras 3.15 on torch returns the uncropped image at inference, and in training slices a
    target-sized window from the corner of that box; kerasette keeps the documented rule.)"""
    real = _keras()
    got = _np(layers.RandomCrop(height, width)(IMAGES, training=training))
    want = _real_np(real, real.layers.Resizing(height, width, crop_to_aspect_ratio=True)(IMAGES))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-3)


def test_random_crop_in_training_takes_one_window_of_the_batch():
    x = np.arange(2 * 8 * 10, dtype=np.float32).reshape(2, 8, 10, 1)
    layer = layers.RandomCrop(3, 4, seed=0)
    windows = set()
    for _ in range(30):
        out = _np(layer(x, training=True))
        assert out.shape == (2, 3, 4, 1)
        top, left = divmod(int(out[0, 0, 0, 0]), 10)
        np.testing.assert_array_equal(out[0], x[0, top:top + 3, left:left + 4])
        np.testing.assert_array_equal(out[1], x[1, top:top + 3, left:left + 4])   # the same window
        windows.add((top, left))
    assert len(windows) > 5 and all(0 <= t <= 5 and 0 <= l <= 6 for t, l in windows)


# -- statistics, seeds -----------------------------------------------------------------------

def test_flip_statistics():
    x = np.tile(np.arange(4.0, dtype=np.float32).reshape(1, 1, 4, 1), (400, 2, 1, 1))
    out = _np(layers.RandomFlip("horizontal")(x))
    flipped = out[:, 0, 0, 0] == 3.0
    assert ((out[:, 0, 0, 0] == 0.0) | flipped).all()
    assert 0.4 < flipped.mean() < 0.6
    both = _np(layers.RandomFlip()(np.arange(4.0, dtype=np.float32).reshape(1, 2, 2, 1).repeat(200, 0)))
    corners = both[:, 0, 0, 0]
    assert set(np.unique(corners)) == {0.0, 3.0}         # flipped both ways or not at all, as Keras 3


def test_per_image_parameters_in_their_ranges():
    rot = layers.RandomRotation((-0.1, 0.05))
    t = rot._transforms(2000, 8, 8)
    degrees = np.rad2deg(np.arctan2(t[:, 3], t[:, 0]))
    assert degrees.min() >= -36.0 and degrees.max() <= 18.0 and degrees.std() > 10
    zoom = layers.RandomZoom((-0.2, 0.3), width_factor=(0.1, 0.1))._transforms(2000, 8, 8)
    assert zoom[:, 4].min() >= 0.8 and zoom[:, 4].max() <= 1.3 and np.allclose(zoom[:, 0], 1.1)
    assert len(np.unique(zoom[:, 4])) == 2000            # one zoom per image
    shift = layers.RandomTranslation(0.25, 0.0)._transforms(2000, 8, 12)
    assert np.abs(shift[:, 5]).max() <= 2.0 and abs(shift[:, 5].mean()) < 0.1 and (shift[:, 2] == 0).all()
    shear = layers.RandomShear(0.3, 0.0)._transforms(2000, 8, 8)
    assert np.abs(shear[:, 1]).max() <= 0.3 and 0.4 < (shear[:, 1] > 0).mean() < 0.6
    invert = _np(layers.RandomInvert()(np.zeros((2000, 1, 1, 1), np.float32)))
    assert 0.45 < (invert == 255).mean() < 0.55                 # p ~ U(0, 1): half of the images
    gray = _np(layers.RandomGrayscale(0.25)(np.tile(np.array([255.0, 0, 0], np.float32), (2000, 1, 1, 1))))
    assert 0.2 < (gray[:, 0, 0, 1] > 0).mean() < 0.3


@pytest.mark.parametrize("name", sorted(ALL))
def test_seeds_reproduce_and_steps_differ(name):
    a, b = ALL[name](seed=11), ALL[name](seed=11)
    first = _np(a(IMAGES, training=True))
    np.testing.assert_array_equal(first, _np(b(IMAGES, training=True)))
    assert not np.array_equal(first, _np(a(IMAGES, training=True)))      # the next step draws anew
    # seed=None: the global generator, restarted by set_random_seed
    keras.utils.set_random_seed(5)
    c = _np(ALL[name]()(IMAGES, training=True))
    keras.utils.set_random_seed(5)
    np.testing.assert_array_equal(c, _np(ALL[name]()(IMAGES, training=True)))


def test_each_image_gets_its_own_transform():
    x = np.repeat(IMAGES[:1], 6, axis=0)
    for name in ("RandomRotation", "RandomZoom", "RandomTranslation", "RandomShear", "RandomContrast",
                 "RandomBrightness", "RandomSharpness"):
        out = _np(ALL[name](seed=1)(x, training=True))
        assert len({out[i].tobytes() for i in range(6)}) == 6, name


# -- gradients -------------------------------------------------------------------------------

FIXED_FOR_GRADS = [lambda: layers.RandomRotation((0.1, 0.1), dtype="float64"),
                   lambda: layers.RandomZoom((0.2, 0.2), (-0.1, -0.1), fill_mode="constant", dtype="float64"),
                   lambda: layers.RandomTranslation((0.1, 0.1), (0.2, 0.2), fill_mode="wrap", dtype="float64"),
                   lambda: layers.RandomContrast((-0.4, 0.4), value_range=(-10, 10), dtype="float64"),
                   lambda: layers.RandomBrightness((0.1, 0.1), value_range=(-10, 10), dtype="float64"),
                   lambda: layers.RandomSharpness((0.3, 0.3), value_range=(-10, 10), dtype="float64"),
                   lambda: layers.RandomGrayscale(1.0, dtype="float64"),
                   lambda: layers.RandomInvert((1.0, 1.0), dtype="float64"),
                   lambda: layers.RandomCrop(7, 5, dtype="float64")]


@pytest.mark.parametrize("make", FIXED_FOR_GRADS)
def test_gradients_reach_the_inputs(make):
    layer = make()
    x = rng.standard_normal((2, 6, 7, 3))
    assert gradcheck(lambda v: layer(v, training=True), [keras.Variable(x)])


def test_flip_passes_the_gradient_back_flipped():
    x = keras.Variable(rng.standard_normal((8, 3, 4, 2)).astype(np.float32))
    w = rng.standard_normal((8, 3, 4, 2)).astype(np.float32)
    out = layers.RandomFlip("horizontal", seed=2)(x, training=True)
    ops.sum(ops.multiply(out, ops.convert_to_tensor(w))).backward()
    flipped = np.isclose(_np(out), _np(x)[:, :, ::-1]).all(axis=(1, 2, 3))
    want = np.where(flipped[:, None, None, None], w[:, :, ::-1], w)
    np.testing.assert_allclose(_np(x.grad), want)


# -- configs, files, errors, fit -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ALL))
def test_config_round_trip(name):
    layer = ALL[name](seed=4, data_format="channels_first", name="aug")
    config = layer.get_config()
    assert config["seed"] == 4 and config["data_format"] == "channels_first"
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == config
    x = IMAGES.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(_np(clone(x, training=True)), _np(layer(x, training=True)))


@needs_keras
@pytest.mark.parametrize("name", sorted(ALL))
def test_keras_configs_load(name):
    """A Keras-made config builds the same layer (the keys and their meanings agree)."""
    real = _keras()
    made = {"RandomFlip": lambda: real.layers.RandomFlip("vertical", seed=3),
            "RandomRotation": lambda: real.layers.RandomRotation(0.2, fill_mode="constant", seed=3),
            "RandomZoom": lambda: real.layers.RandomZoom((-0.2, 0.3), 0.1, interpolation="nearest"),
            "RandomTranslation": lambda: real.layers.RandomTranslation(0.1, (0.1, -0.2), fill_value=2.0),
            "RandomShear": lambda: real.layers.RandomShear(0.2, (0.1, 0.3)),   # saved as (-0.2, 0.2)
            "RandomCrop": lambda: real.layers.RandomCrop(5, 6, seed=2),
            "RandomContrast": lambda: real.layers.RandomContrast(0.3, value_range=(0, 1)),
            "RandomBrightness": lambda: real.layers.RandomBrightness((-0.3, 0.1), value_range=(1, 0)),
            "RandomGrayscale": lambda: real.layers.RandomGrayscale(0.3),
            "RandomInvert": lambda: real.layers.RandomInvert(0.7, value_range=(0, 1)),
            "RandomSharpness": lambda: real.layers.RandomSharpness(0.4)}[name]()
    config = real.saving.serialize_keras_object(made)
    ours = keras.saving.deserialize_keras_object(config)
    theirs = made.get_config()
    mine = ours.get_config()
    for key, value in theirs.items():
        if key in ("dtype", "name", "trainable"):
            continue
        want = list(value) if isinstance(value, tuple) else value
        assert mine[key] == pytest.approx(want) if isinstance(want, list) else mine[key] == want, key


@needs_keras
def test_a_keras_made_model_file_loads_and_predicts_as_keras(tmp_path):
    """Every augmentation layer in a .keras file saved by Keras 3 (which cannot load that file
    back itself: it refuses the (-0.2, 0.2) it saved for RandomShear(0.2))."""
    real = _keras()
    kl = real.layers
    model = real.Sequential([real.Input((8, 8, 3)), kl.RandomFlip(seed=1), kl.RandomRotation(0.1),
                             kl.RandomZoom(0.1, 0.2), kl.RandomTranslation(0.1, 0.1), kl.RandomShear(0.2, 0.1),
                             kl.RandomCrop(8, 8), kl.RandomContrast(0.2), kl.RandomBrightness(0.1),
                             kl.RandomGrayscale(), kl.RandomInvert(), kl.RandomSharpness(0.2),
                             kl.Conv2D(2, 3), kl.GlobalAveragePooling2D(), kl.Dense(2)])
    path = tmp_path / "keras_aug.keras"
    model.save(path)
    x = rng.uniform(0, 1, (4, 8, 8, 3)).astype(np.float32)
    want = _real_np(real, model.predict(x, verbose=0))   # (RandomCrop at the input's size: Keras 3.15
    # skips it at inference, kerasette crops the whole image: the same numbers)
    ours = keras.models.load_model(path)
    assert [type(l).__name__ for l in ours.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)


def _augmented_model():
    x = keras.Input((8, 8, 3))
    h = layers.RandomFlip("horizontal")(x)
    h = layers.RandomRotation(0.1, fill_mode="constant")(h)
    h = layers.RandomZoom(0.1)(h)
    h = layers.RandomTranslation(0.1, 0.1)(h)
    h = layers.RandomShear(0.1)(h)
    h = layers.RandomContrast(0.2, value_range=(0, 1))(h)
    h = layers.RandomBrightness(0.1, value_range=(0, 1))(h)
    h = layers.RandomGrayscale(0.2)(h)
    h = layers.RandomInvert(0.1, value_range=(0, 1))(h)
    h = layers.RandomSharpness(0.3, value_range=(0, 1))(h)
    h = layers.RandomCrop(6, 6)(h)
    h = layers.Conv2D(4, 3, activation="relu")(h)
    return keras.Model(x, layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling2D()(h)))


def test_save_and_load_a_model_holding_them(tmp_path):
    model = _augmented_model()
    x = rng.uniform(0, 1, (5, 8, 8, 3)).astype(np.float32)
    path = tmp_path / "aug.keras"
    model.save(path)
    clone = keras.models.load_model(path)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    for a, b in zip(model.layers, clone.layers):
        assert a.get_config() == b.get_config()


def test_short_fit_with_augmentation_in_front():
    keras.utils.set_random_seed(0)
    x = rng.uniform(0, 1, (32, 8, 8, 3)).astype(np.float32)
    y = (x[:, :, :, 0].mean(axis=(1, 2)) > 0.5).astype("int32")
    model = _augmented_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert np.isfinite(model.evaluate(x, y, verbose=0)).all()


BAD = [
    (lambda: layers.RandomRotation(1.5), "RandomRotation", "factor"),
    (lambda: layers.RandomRotation((0.1, 0.2, 0.3)), "RandomRotation", "factor"),
    (lambda: layers.RandomRotation("big"), "RandomRotation", "factor"),
    (lambda: layers.RandomRotation(0.1, fill_mode="edge"), "RandomRotation", "fill_mode"),
    (lambda: layers.RandomRotation(0.1, interpolation="cubic"), "RandomRotation", "interpolation"),
    (lambda: layers.RandomRotation(0.1, fill_value="x"), "RandomRotation", "fill_value"),
    (lambda: layers.RandomZoom(-1.0), "RandomZoom", "height_factor"),
    (lambda: layers.RandomZoom(0.1, width_factor=(0.2, 1.5)), "RandomZoom", "width_factor"),
    (lambda: layers.RandomTranslation(1.2, 0.1), "RandomTranslation", "height_factor"),
    (lambda: layers.RandomTranslation(0.1, None), "RandomTranslation", "width_factor"),
    (lambda: layers.RandomShear(x_factor=(-1.5, 0.2)), "RandomShear", "x_factor"),
    (lambda: layers.RandomShear(x_factor=-0.1), "RandomShear", "x_factor"),
    (lambda: layers.RandomShear(y_factor=1.1), "RandomShear", "y_factor"),
    (lambda: layers.RandomCrop(0, 3), "RandomCrop", "height"),
    (lambda: layers.RandomCrop(3, 2.5), "RandomCrop", "width"),
    (lambda: layers.RandomContrast(1.5), "RandomContrast", "factor"),
    (lambda: layers.RandomContrast(0.2, value_range=(0, "a")), "RandomContrast", "value_range"),
    (lambda: layers.RandomBrightness(-1.2), "RandomBrightness", "factor"),
    (lambda: layers.RandomBrightness(0.2, value_range=255), "RandomBrightness", "value_range"),
    (lambda: layers.RandomGrayscale(1.2), "RandomGrayscale", "factor"),
    (lambda: layers.RandomInvert(-0.5), "RandomInvert", "factor"),
    (lambda: layers.RandomSharpness(2.0), "RandomSharpness", "factor"),
    (lambda: layers.RandomFlip("diagonal"), "RandomFlip", "mode"),
    (lambda: layers.RandomFlip(seed=1.5), "RandomFlip", "seed"),
    (lambda: layers.RandomFlip(data_format="nhwc"), "RandomFlip", "data_format"),
]


@pytest.mark.parametrize("make, layer, argument", BAD)
def test_bad_arguments_are_refused_in_one_line(make, layer, argument):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert layer in message and argument in message and "\n" not in message


def test_unsupported_inputs_and_options_are_refused():
    with pytest.raises(NotImplementedError, match="bicubic"):
        layers.RandomZoom(0.1, interpolation="bicubic")
    with pytest.raises(NotImplementedError, match="bounding_box_format"):
        layers.RandomFlip(bounding_box_format="xyxy")
    with pytest.raises(ValueError, match="rank 4"):
        layers.RandomFlip()(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="rank 4"):
        layers.RandomRotation(0.1)(keras.Input((4,)))
    with pytest.raises(ValueError, match="channels"):
        layers.RandomGrayscale(1.0)(np.zeros((1, 2, 2, 4), np.float32), training=True)
