"""kerasette.applications, the second set: Xception, DenseNet121/169/201 and EfficientNetB0-B7 against
real Keras 3 (layer names in Keras's order, weight shapes, parameter counts, predictions with Keras's
weights loaded from Keras's own files), their heads and arguments, preprocess_input, and the
published weight files they fetch."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import applications as apps
from kerasette.applications import _common, densenet, efficientnet, xception
from kerasette.saving.h5_weights import keras_layer_order

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")

TOL = 1e-4
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, these references were made on torch")
    real.utils.clear_session()
    return real


def _randomize(real_model, seed=0):
    """Give every batch norm statistic, scale and bias (and the normalization layer's mean and
    variance) non-trivial values, so that the forward pass exercises them (Keras initialises them
    to 0 / 1)."""
    rng = np.random.RandomState(seed)
    for w in real_model.weights:
        shape = tuple(w.shape)
        if w.name in ("gamma", "moving_variance", "variance"):
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif w.name in ("beta", "moving_mean", "bias", "mean"):
            w.assign(rng.normal(0.0, 0.1, shape).astype("float32"))


def _structure(model, real=False):
    order = model.layers if real else keras_layer_order(model)
    return ([l.name for l in order],
            [(l.name, [tuple(w.shape) for w in l.weights]) for l in order if l.weights])


def _images(shape, n=2, seed=1, low=-1.0, high=1.0):
    return np.random.RandomState(seed).uniform(low, high, (n,) + shape).astype("float32")


def _max_dev(a, b):
    return float(np.abs(np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")).max())


# ------------------------------------------------------------------------ against real Keras

CASES = [
    ("Xception", dict(include_top=True, input_shape=(71, 71, 3), classes=6, classifier_activation=None)),
    ("DenseNet121", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
    # odd sides: the asymmetric paddings of correct_pad before each stride-2 depthwise convolution
    ("EfficientNetB0", dict(include_top=False, input_shape=(35, 33, 3))),
]


@needs_keras
@pytest.mark.parametrize("family, kwargs", CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_matches_keras(family, kwargs, tmp_path):
    real = _keras()
    ref = getattr(real.applications, family)(weights=None, **kwargs)
    _randomize(ref)
    path = str(tmp_path / "ref.weights.h5")
    ref.save_weights(path)

    keras.backend.clear_session()             # the unnamed layers take the session's auto names, as in Keras
    model = getattr(apps, family)(weights=path, **kwargs)
    assert model.name == ref.name
    assert _structure(model) == _structure(ref, real=True)
    assert [l.name for l in model.layers] == [l.name for l in ref.layers]
    assert [w.shape for w in model.get_weights()] == [tuple(w.shape) for w in ref.get_weights()]
    assert model.count_params() == ref.count_params()
    assert model.output_shape == tuple(ref.output_shape)

    # EfficientNet takes [0, 255] pixels (it rescales them itself)
    x = _images(kwargs["input_shape"], low=0.0, high=255.0) if family.startswith("Efficient") \
        else _images(kwargs["input_shape"])
    want = real.ops.convert_to_numpy(ref(x, training=False))
    got = model.predict(x, verbose=0)
    scale = max(1.0, float(np.abs(want).max()))
    assert _max_dev(got, want) <= TOL * scale, (family, _max_dev(got, want), scale)

    # a Keras 2 file (the layout of the published ImageNet weights) loads by layer order, whatever the
    # auto names of the unnamed layers are in this session (here shifted: conv2d_4, add_12, ...)
    legacy = str(tmp_path / "ref.h5")
    _write_legacy_h5(ref, legacy)
    again = getattr(apps, family)(weights=legacy, **kwargs)
    np.testing.assert_array_equal(again.predict(x, verbose=0), got)


def _write_legacy_h5(real_model, path):
    """A Keras 2 layout weights file, as Keras's published ImageNet files are."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, real_model)


@needs_keras
def test_efficientnet_imagenet_weights_fetched_and_loaded(tmp_path, monkeypatch):
    """weights="imagenet" end to end, offline: Keras's no-top file name served from a file://
    folder, loaded in Keras 2 order (the normalization layer's mean and variance included), with
    the extra per-channel ``Rescaling(1 / sqrt(std))`` that Keras adds for the ImageNet weights."""
    real = _keras()
    ref = real.applications.EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3),
                                           pooling="max")
    _randomize(ref, seed=3)
    served = tmp_path / "served"
    served.mkdir()
    _write_legacy_h5(ref, served / "efficientnetb0_notop.h5")
    # Keras's ImageNet model divides by sqrt(variance) then by sqrt(std): the same as the random-init
    # model with variance * std (saves building the reference twice)
    norm = ref.get_layer("normalization")
    norm.adapt_variance.assign(real.ops.convert_to_numpy(norm.adapt_variance) * np.array([0.229, 0.224, 0.225],
                                                                                           "float32"))
    norm.finalize_state()

    monkeypatch.setattr(efficientnet, "_URL", served.as_uri() + "/")
    monkeypatch.setattr(efficientnet, "WEIGHTS_HASHES", {"b0": (None, None)})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    keras.backend.clear_session()
    model = apps.EfficientNetB0(weights="imagenet", include_top=False, input_shape=(32, 32, 3), pooling="max")
    assert (tmp_path / "home" / "models" / "efficientnetb0_notop.h5").exists()
    assert [l.name for l in model.layers[1:4]] == ["rescaling", "normalization", "rescaling_1"]
    x = _images((32, 32, 3), n=1, low=0.0, high=255.0)
    want = real.ops.convert_to_numpy(ref(x, training=False))
    got = model.predict(x, verbose=0)
    assert _max_dev(got, want) <= TOL * max(1.0, float(np.abs(want).max()))


# ------------------------------------------------------------------------ the published files

class _Fetched(Exception):
    pass


KAPPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@pytest.mark.parametrize("build, fname, url, file_hash", [
    (lambda: apps.Xception(), "xception_weights_tf_dim_ordering_tf_kernels.h5",
     KAPPS + "xception/xception_weights_tf_dim_ordering_tf_kernels.h5", "0a58e3b7378bc2990ea3b43d5981f1f6"),
    (lambda: apps.Xception(include_top=False, input_shape=(71, 71, 3)),
     "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "b0042744bf5b25fce3cb969f33bebb97"),
    (lambda: apps.DenseNet121(include_top=False, input_shape=(32, 32, 3)),
     "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5", "30ee3e1110167f948a6b9946edeeb738"),
    (lambda: apps.DenseNet169(), "densenet169_weights_tf_dim_ordering_tf_kernels.h5",
     KAPPS + "densenet/densenet169_weights_tf_dim_ordering_tf_kernels.h5", "d699b8f76981ab1b30698df4c175e90b"),
    (lambda: apps.DenseNet201(include_top=False, input_shape=(32, 32, 3)),
     "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "densenet/densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5", "c13680b51ded0fb44dff2d8f86ac8bb1"),
    (lambda: apps.EfficientNetB0(include_top=False, input_shape=(32, 32, 3)), "efficientnetb0_notop.h5",
     "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5", "50bc09e76180e00e4465e1a485ddc09d"),
    (lambda: apps.EfficientNetB3(include_top=False, input_shape=(32, 32, 3)), "efficientnetb3_notop.h5",
     "https://storage.googleapis.com/keras-applications/efficientnetb3_notop.h5", "af6d107764bb5b1abb91932881670226"),
    (lambda: apps.EfficientNetB0(), "efficientnetb0.h5",
     "https://storage.googleapis.com/keras-applications/efficientnetb0.h5", "902e53a9f72be733fc0bcb005b3ebbac"),
])
def test_imagenet_fetches_keras_published_file(monkeypatch, build, fname, url, file_hash):
    seen = {}

    def fake_get_file(fname=None, origin=None, cache_subdir="datasets", file_hash=None):
        seen.update(fname=fname, origin=origin, cache_subdir=cache_subdir, file_hash=file_hash)
        raise _Fetched

    monkeypatch.setattr(_common, "get_file", fake_get_file)
    with pytest.raises(_Fetched):
        build()
    assert seen == dict(fname=fname, origin=url, cache_subdir="models", file_hash=file_hash)


@needs_keras
def test_weight_tables_match_keras():
    _keras()
    import keras.src.applications.densenet as kd
    import keras.src.applications.efficientnet as ke
    import keras.src.applications.xception as kx
    assert kx.WEIGHTS_PATH == xception._URL + "xception_weights_tf_dim_ordering_tf_kernels.h5"
    assert ke.WEIGHTS_HASHES == efficientnet.WEIGHTS_HASHES
    assert ke.BASE_WEIGHTS_PATH == efficientnet._URL
    assert kd.BASE_WEIGHTS_PATH == densenet._URL


# ------------------------------------------------------------------------ shapes and arguments

@pytest.mark.parametrize("build, side, feature_side, channels", [
    (apps.Xception, 71, 3, 2048),
    (apps.DenseNet121, 32, 1, 1024),
    (apps.EfficientNetB0, 32, 1, 1280),
])
def test_heads(build, side, feature_side, channels):
    shape = (side, side, 3)
    assert build(weights=None, include_top=False, input_shape=shape).output_shape == \
        (None, feature_side, feature_side, channels)
    assert build(weights=None, include_top=False, input_shape=shape, pooling="avg").output_shape == (None, channels)
    pooled = build(weights=None, include_top=False, input_shape=shape, pooling="max")
    assert pooled.output_shape == (None, channels)
    assert type(pooled.layers[-1]).__name__ == "GlobalMaxPooling2D"
    top = build(weights=None, include_top=True, input_shape=shape, classes=5)
    assert top.output_shape == (None, 5)
    probs = top.predict(_images(shape, n=2, low=0.0, high=255.0), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)     # softmax by default
    logits = build(weights=None, include_top=True, input_shape=shape, classes=5, classifier_activation=None)
    assert logits.layers[-1].get_config()["activation"] in ("linear", None)


def test_default_input_shapes_and_names():
    for build, side, name in [(apps.Xception, 299, "xception"), (apps.DenseNet169, 224, "densenet169"),
                              (apps.EfficientNetB2, 260, "efficientnetb2")]:
        with_top = build(weights=None)
        assert with_top.input_shape == (None, side, side, 3) and with_top.name == name
        assert build(weights=None, include_top=False).input_shape == (None, None, None, 3)


# count_params() of Keras 3.15's builders with the top (1000 classes); they do not depend on the input side
KERAS_COUNTS = {"EfficientNetB0": 5330571, "EfficientNetB1": 7856239, "EfficientNetB2": 9177569,
                "EfficientNetB3": 12320535, "EfficientNetB4": 19466823, "EfficientNetB5": 30562527,
                "EfficientNetB6": 43265143, "EfficientNetB7": 66658687, "DenseNet169": 14307880,
                "DenseNet201": 20242984}


def test_counts_match_keras():
    """The width / depth scaling of B1-B7 (filters and repeats rounded as Keras rounds them) and the
    deeper DenseNets, without building them in Keras."""
    for family, want in KERAS_COUNTS.items():
        keras.backend.clear_session()
        assert getattr(apps, family)(weights=None, input_shape=(32, 32, 3)).count_params() == want, family


def test_efficientnet_dropouts_and_preprocess():
    model = apps.EfficientNetB0(weights=None, input_shape=(32, 32, 3))
    drops = [l for l in model.layers if type(l).__name__ == "Dropout"]
    assert drops[-1].name == "top_dropout" and drops[-1].rate == 0.2
    block_drops = {l.name: l for l in drops[:-1]}
    assert "block1a_drop" not in block_drops and list(block_drops)[0] == "block2b_drop"
    assert block_drops["block2b_drop"].rate == pytest.approx(0.2 * 2 / 16)
    assert tuple(block_drops["block2b_drop"].noise_shape) == (None, 1, 1, 1)
    x = _images((32, 32, 3), n=1, low=0.0, high=255.0)
    assert efficientnet.preprocess_input(x) is x
    # drop-connect: in training, a block's residual branch is dropped (or kept, scaled) per whole sample
    drop = block_drops["block2b_drop"]
    y = keras.ops.convert_to_numpy(drop(np.ones((2000, 1, 2, 3), "float32"), training=True))
    per_sample = y.reshape(2000, -1)       # rate 0.025: all 2000 kept has probability 1e-22
    assert (per_sample == per_sample[:, :1]).all()
    kept = per_sample[:, 0] != 0
    assert 0 < kept.sum() < 2000 and np.allclose(per_sample[kept], 1 / (1 - drop.rate), rtol=1e-6)
    out = model(x, training=True)
    assert np.isfinite(keras.ops.convert_to_numpy(out)).all()


def test_input_tensor_builds_on_a_graph():
    inp = keras.Input((72, 72, 3))
    base = apps.Xception(weights=None, include_top=False, input_tensor=inp, pooling="avg")
    assert base.inputs[0] is inp and base.output_shape == (None, 2048)


def _one_line_error(exc_info, *fragments):
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for f in fragments:
        assert f in msg, msg


@pytest.mark.parametrize("call, fragments", [
    (lambda: apps.Xception(weights=None, include_top=False, input_shape=(70, 70, 3)), ("at least 71x71",)),
    (lambda: apps.Xception(weights="imagenet", input_shape=(224, 224, 3)), ("(299, 299, 3)",)),
    (lambda: apps.DenseNet121(weights="imagenet", classes=10), ("DenseNet121", "classes must be 1000")),
    (lambda: apps.DenseNet169(weights="no/such/file.h5"), ("DenseNet169", "no/such/file.h5")),
    (lambda: apps.DenseNet201(weights=None, include_top=False, pooling="sum"), ("DenseNet201", "'sum'")),
    (lambda: apps.EfficientNetB0(weights=None, include_top=False, input_shape=(31, 31, 3)), ("at least 32x32",)),
    (lambda: apps.EfficientNetB1(weights="imagenet", input_shape=(224, 224, 3)), ("(240, 240, 3)",)),
    (lambda: apps.EfficientNetB0(weights="imagenet", classifier_activation="relu"), ("classifier_activation",)),
    (lambda: apps.EfficientNetB4(weights=None, include_top=True, input_shape=(None, None, 3)), ("static",)),
    (lambda: apps.Xception(weights=None, include_top=False, input_tensor=keras.Input((80, 80, 3)),
                           input_shape=(90, 90, 3)), ("does not match",)),
])
def test_bad_arguments(call, fragments, monkeypatch):
    monkeypatch.setattr(_common, "get_file", lambda *a, **k: pytest.fail("nothing may be fetched"))
    with pytest.raises(ValueError) as e:
        call()
    _one_line_error(e, *fragments)


# ------------------------------------------------------------------------ preprocess_input

RGB = np.random.RandomState(0).randint(0, 256, (2, 4, 5, 3)).astype("uint8")


def test_preprocess_modes():
    x = RGB.astype("float32")
    np.testing.assert_allclose(xception.preprocess_input(RGB), x / 127.5 - 1.0, rtol=1e-6, atol=1e-6)
    torch = (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(densenet.preprocess_input(RGB), torch, rtol=1e-5, atol=1e-5)


@needs_keras
def test_preprocess_matches_keras():
    real = _keras()
    x = RGB.astype("float32")
    for mine, theirs in [(xception, real.applications.xception), (densenet, real.applications.densenet),
                         (efficientnet, real.applications.efficientnet)]:
        np.testing.assert_allclose(mine.preprocess_input(x.copy()), theirs.preprocess_input(x.copy()),
                                   rtol=1e-6, atol=1e-5)


def test_modules_export_what_keras_does():
    assert set(xception.__all__) == {"Xception", "preprocess_input", "decode_predictions"}
    assert set(densenet.__all__) == {"DenseNet121", "DenseNet169", "DenseNet201", "preprocess_input",
                                     "decode_predictions"}
    assert {f"EfficientNetB{i}" for i in range(8)} <= set(efficientnet.__all__)
    for mod in (xception, densenet, efficientnet):
        assert mod.decode_predictions.__module__ == mod.__name__
        for n in mod.__all__:
            assert getattr(apps, n, getattr(mod, n)) is getattr(mod, n)
