"""kerasette.applications, the third set: InceptionV3, MobileNetV3Small and MobileNetV3Large against
real Keras 3 (layer names and weights in Keras's order, weight shapes, parameter counts, predictions
with Keras's weights set from get_weights(), loaded from Keras's own .weights.h5 / Keras 2 .h5 files
and from a whole Keras-written .keras file), their heads and arguments, preprocess_input, and the
published weight files they fetch."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import applications as apps
from kerasette.applications import _common, inception_v3, mobilenet_v3

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
    """Give every batch norm statistic, scale and bias non-trivial values, so that the forward pass
    exercises them (Keras initialises them to 0 / 1)."""
    rng = np.random.RandomState(seed)
    for w in real_model.weights:
        shape = tuple(w.shape)
        if w.name in ("gamma", "moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif w.name in ("beta", "moving_mean", "bias"):
            w.assign(rng.normal(0.0, 0.1, shape).astype("float32"))


def _structure(model):
    return ([l.name for l in model.layers],
            [(l.name, [tuple(w.shape) for w in l.weights]) for l in model.layers if l.weights],
            [w.path for w in model.weights])


def _images(shape, n=2, seed=1, low=-1.0, high=1.0):
    return np.random.RandomState(seed).uniform(low, high, (n,) + shape).astype("float32")


def _max_dev(a, b):
    return float(np.abs(np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")).max())


def _write_legacy_h5(real_model, path):
    """A Keras 2 layout weights file, as Keras's published ImageNet files are."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, real_model)


# ------------------------------------------------------------------------ against real Keras

CASES = [
    ("InceptionV3", dict(include_top=True, input_shape=(75, 75, 3), classes=7, classifier_activation=None)),
    ("MobileNetV3Small", dict(include_top=True, input_shape=(32, 32, 3), classes=10, classifier_activation=None)),
    # odd sides (the asymmetric paddings of correct_pad); alpha > 1 widens conv_2 too
    ("MobileNetV3Large", dict(include_top=True, input_shape=(35, 33, 3), alpha=1.25, classes=5,
                              classifier_activation=None)),
    ("MobileNetV3Small", dict(include_top=False, input_shape=(32, 32, 3), minimalistic=True, alpha=0.75,
                              include_preprocessing=False, pooling="avg")),
    ("MobileNetV3Large", dict(include_top=True, input_shape=(32, 32, 3), minimalistic=True, dropout_rate=0.0,
                              classes=3)),
]


@needs_keras
@pytest.mark.parametrize("family, kwargs", CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_matches_keras(family, kwargs, tmp_path):
    real = _keras()
    ref = getattr(real.applications, family)(weights=None, **kwargs)
    _randomize(ref)
    low, high = (0.0, 255.0) if kwargs.get("include_preprocessing", family != "InceptionV3") else (-1.0, 1.0)
    x = _images(kwargs["input_shape"], low=low, high=high)
    want = real.ops.convert_to_numpy(ref(x, training=False))
    scale = max(1.0, float(np.abs(want).max()))

    # 1. Keras's get_weights() list, in Keras's order
    keras.backend.clear_session()             # the unnamed layers take the session's auto names, as in Keras
    model = getattr(apps, family)(weights=None, **kwargs)
    assert model.name == ref.name
    assert _structure(model) == _structure(ref)
    assert model.count_params() == ref.count_params()
    assert model.output_shape == tuple(ref.output_shape)
    assert [w.shape for w in model.get_weights()] == [tuple(w.shape) for w in ref.get_weights()]
    model.set_weights(ref.get_weights())
    got = model.predict(x, verbose=0)
    assert _max_dev(got, want) <= TOL * scale, (family, _max_dev(got, want), scale)

    # 2. a Keras 3 .weights.h5 and a Keras 2 .h5 (the layout of the published ImageNet files), loaded
    # through the builder's weights argument, whatever the auto names are in this session
    ref.save_weights(str(tmp_path / "ref.weights.h5"))
    _write_legacy_h5(ref, str(tmp_path / "ref.h5"))
    for path in (tmp_path / "ref.weights.h5", tmp_path / "ref.h5"):
        again = getattr(apps, family)(weights=str(path), **kwargs)
        np.testing.assert_allclose(again.predict(x, verbose=0), got, rtol=0, atol=1e-6 * scale)

    # 3. the whole model, as Keras saves it (the hard sigmoid's ops on symbolic tensors included)
    ref.save(str(tmp_path / "ref.keras"))
    keras.backend.clear_session()
    loaded = keras.models.load_model(str(tmp_path / "ref.keras"))
    assert _structure(loaded) == _structure(ref)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), got, rtol=0, atol=1e-6 * scale)


@needs_keras
def test_unnamed_layers_take_keras_auto_names():
    """The auto names Keras gives (InceptionV3's conv2d_93, MobileNetV3's re_lu / activation and the
    hard sigmoid's re_lu between two ops) come out the same, and the ops are not layers."""
    real = _keras()
    ref = real.applications.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3))
    keras.backend.clear_session()
    model = apps.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3))
    names = [l.name for l in model.layers]
    assert names == [l.name for l in ref.layers]
    assert names[:5] == ["input_layer", "rescaling", "conv", "conv_bn", "activation"]
    assert names[names.index("expanded_conv_squeeze_excite_conv_1") + 1] == "re_lu_1"
    assert "add" not in names and "multiply" not in names
    keras.backend.clear_session()
    inception = apps.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    assert [l.name for l in inception.layers][-4:] == ["mixed9_1", "concatenate_1", "activation_93", "mixed10"]
    assert sum(type(l).__name__ == "Conv2D" for l in inception.layers) == 94


@needs_keras
def test_imagenet_weights_fetched_and_loaded(tmp_path, monkeypatch):
    """weights="imagenet" end to end, offline: Keras's no-top file name served from a file:// folder,
    fetched into $KERAS_HOME/models and loaded in Keras 2 order; a side other than 224 warns."""
    real = _keras()
    ref = real.applications.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3),
                                             pooling="avg")
    _randomize(ref, seed=3)
    served = tmp_path / "served"
    served.mkdir()
    file_name = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    _write_legacy_h5(ref, served / file_name)
    monkeypatch.setattr(mobilenet_v3, "_URL", served.as_uri() + "/")
    monkeypatch.setattr(mobilenet_v3, "WEIGHTS_HASHES", {"small_224_1.0_float": (None, None)})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    keras.backend.clear_session()
    with pytest.warns(UserWarning, match="224x224"):
        model = apps.MobileNetV3Small(weights="imagenet", include_top=False, input_shape=(32, 32, 3), pooling="avg")
    assert (tmp_path / "home" / "models" / file_name).exists()
    x = _images((32, 32, 3), n=1, low=0.0, high=255.0)
    want = real.ops.convert_to_numpy(ref(x, training=False))
    assert _max_dev(model.predict(x, verbose=0), want) <= TOL * max(1.0, float(np.abs(want).max()))


# ------------------------------------------------------------------------ the published files

class _Fetched(Exception):
    pass


KAPPS = "https://storage.googleapis.com/tensorflow/keras-applications/"
V3 = KAPPS + "mobilenet_v3/"


@pytest.mark.parametrize("build, fname, url, file_hash", [
    (lambda: apps.InceptionV3(), "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
     KAPPS + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "9a0d58056eeedaa3f26cb7ebd46da564"),
    (lambda: apps.InceptionV3(include_top=False, input_shape=(75, 75, 3)),
     "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "bcbd6486424b2319ff4ef7d526e38f63"),
    (lambda: apps.MobileNetV3Small(input_shape=(224, 224, 3)), "weights_mobilenet_v3_small_224_1.0_float.h5",
     V3 + "weights_mobilenet_v3_small_224_1.0_float.h5", "8768d4c2e7dee89b9d02b2d03d65d862"),
    (lambda: apps.MobileNetV3Small(alpha=0.75, include_top=False, input_shape=(224, 224, 3)),
     "weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5",
     V3 + "weights_mobilenet_v3_small_224_0.75_float_no_top_v2.h5", "ebdb5cc8e0b497cd13a7c275d475c819"),
    (lambda: apps.MobileNetV3Large(minimalistic=True, input_shape=(224, 224, 3)),
     "weights_mobilenet_v3_large_minimalistic_224_1.0_float.h5",
     V3 + "weights_mobilenet_v3_large_minimalistic_224_1.0_float.h5", "675e7b876c45c57e9e63e6d90a36599c"),
    # alpha given as the integer 1 names the same file as 1.0
    (lambda: apps.MobileNetV3Large(alpha=1, include_top=False, input_shape=(224, 224, 3)),
     "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
     V3 + "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5", "07fb09a5933dd0c8eaafa16978110389"),
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
    import keras.src.applications.inception_v3 as ki
    import keras.src.applications.mobilenet_v3 as km
    assert ki.WEIGHTS_PATH == inception_v3._URL + "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
    assert ki.WEIGHTS_PATH_NO_TOP == inception_v3._URL + "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert km.WEIGHTS_HASHES == mobilenet_v3.WEIGHTS_HASHES
    assert km.BASE_WEIGHT_PATH == mobilenet_v3._URL


# ------------------------------------------------------------------------ shapes and arguments

@pytest.mark.parametrize("build, side, feature_side, channels", [
    (apps.InceptionV3, 75, 1, 2048),
    (apps.MobileNetV3Small, 32, 1, 576),
    (apps.MobileNetV3Large, 32, 1, 960),
])
def test_heads(build, side, feature_side, channels):
    shape = (side, side, 3)
    assert build(weights=None, include_top=False, input_shape=shape).output_shape == \
        (None, feature_side, feature_side, channels)
    avg = build(weights=None, include_top=False, input_shape=shape, pooling="avg")
    assert avg.output_shape == (None, channels)
    assert type(avg.layers[-1]).__name__ == "GlobalAveragePooling2D"
    pooled = build(weights=None, include_top=False, input_shape=shape, pooling="max")
    assert pooled.output_shape == (None, channels)
    assert type(pooled.layers[-1]).__name__ == "GlobalMaxPooling2D"
    if build is not apps.InceptionV3:
        assert (avg.layers[-1].name, pooled.layers[-1].name) == ("avg_pool", "max_pool")
    top = build(weights=None, include_top=True, input_shape=shape, classes=5)
    assert top.output_shape == (None, 5)
    probs = top.predict(_images(shape, n=2, low=0.0, high=255.0), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)     # softmax by default
    logits = build(weights=None, include_top=True, input_shape=shape, classes=5, classifier_activation=None)
    assert logits.layers[-1].get_config()["activation"] in ("linear", None)


def test_default_input_shapes_names_and_dropout():
    inception = apps.InceptionV3(weights=None)
    assert inception.input_shape == (None, 299, 299, 3) and inception.name == "inception_v3"
    assert apps.InceptionV3(weights=None, include_top=False).input_shape == (None, None, None, 3)
    small = apps.MobileNetV3Small(weights=None)               # any size, even with the top
    assert small.input_shape == (None, None, None, 3) and small.name == "MobileNetV3Small"
    assert small.predict(_images((40, 56, 3), n=1, low=0.0, high=255.0), verbose=0).shape == (1, 1000)
    drops = [l for l in small.layers if type(l).__name__ == "Dropout"]
    assert len(drops) == 1 and drops[0].rate == 0.2
    large = apps.MobileNetV3Large(weights=None, dropout_rate=0.0, include_preprocessing=False, name="lg")
    assert large.name == "lg"
    assert not [l for l in large.layers if type(l).__name__ in ("Dropout", "Rescaling")]
    rescaling = apps.MobileNetV3Small(weights=None, input_shape=(32, 32, 3)).layers[1]
    assert type(rescaling).__name__ == "Rescaling"
    assert rescaling.get_config()["scale"] == pytest.approx(1 / 127.5) and rescaling.get_config()["offset"] == -1.0


# count_params() of Keras 3.15's builders with the top (1000 classes); they do not depend on the input side
KERAS_COUNTS = [(apps.InceptionV3, {}, 23851784), (apps.MobileNetV3Small, {}, 2554968),
                (apps.MobileNetV3Large, {}, 5507432), (apps.MobileNetV3Small, dict(minimalistic=True), 2056848),
                (apps.MobileNetV3Large, dict(minimalistic=True), 3948688),
                (apps.MobileNetV3Small, dict(alpha=0.75), 2051552), (apps.MobileNetV3Large, dict(alpha=0.75), 4012616),
                (apps.MobileNetV3Large, dict(alpha=1.5), 11364760)]


def test_counts_match_keras():
    for build, kwargs, want in KERAS_COUNTS:
        side = 75 if build is apps.InceptionV3 else 32
        assert build(weights=None, input_shape=(side, side, 3), **kwargs).count_params() == want, (build, kwargs)


def test_input_tensor_builds_on_a_graph():
    inp = keras.Input((48, 40, 3))
    base = apps.MobileNetV3Large(weights=None, include_top=False, input_tensor=inp, pooling="avg")
    assert base.inputs[0] is inp and base.output_shape == (None, 960)
    inp = keras.Input((76, 76, 3))
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(inp)
    base = apps.InceptionV3(weights=None, include_top=False, input_tensor=x, pooling="max")
    assert base.inputs[0] is inp and base.output_shape == (None, 2048)
    head = keras.layers.Dense(3)(base.output)
    assert keras.Model(inp, head).output_shape == (None, 3)


def _one_line_error(exc_info, *fragments):
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for f in fragments:
        assert f in msg, msg


@pytest.mark.parametrize("call, fragments", [
    (lambda: apps.InceptionV3(weights=None, include_top=False, input_shape=(74, 74, 3)), ("at least 75x75",)),
    (lambda: apps.InceptionV3(weights="imagenet", input_shape=(224, 224, 3)), ("(299, 299, 3)",)),
    (lambda: apps.InceptionV3(weights="imagenet", classes=10), ("InceptionV3", "classes must be 1000")),
    (lambda: apps.InceptionV3(weights="no/such/file.h5"), ("InceptionV3", "no/such/file.h5")),
    (lambda: apps.InceptionV3(weights=None, include_top=False, pooling="sum"), ("InceptionV3", "'sum'")),
    (lambda: apps.InceptionV3(weights=None, include_top=True, input_shape=(None, None, 3)), ("static",)),
    (lambda: apps.InceptionV3(weights="imagenet", classifier_activation="relu"), ("classifier_activation",)),
    (lambda: apps.InceptionV3(weights=None, include_top=False, input_tensor=keras.Input((80, 80, 3)),
                              input_shape=(90, 90, 3)), ("does not match",)),
    (lambda: apps.MobileNetV3Small(weights=None, input_shape=(31, 64, 3)), ("MobileNetV3Small", "at least 32x32")),
    (lambda: apps.MobileNetV3Large(weights=None, input_tensor=keras.Input((16, 40, 3))), ("at least 32x32",)),
    (lambda: apps.MobileNetV3Small(weights=None, input_shape=(32, 32)), ("three integers",)),
    (lambda: apps.MobileNetV3Large(weights="imagenet", classes=10), ("MobileNetV3Large", "classes must be 1000")),
    (lambda: apps.MobileNetV3Small(weights="imagenet", alpha=0.5), ("alpha=0.5",)),
    (lambda: apps.MobileNetV3Large(weights="imagenet", alpha=0.75, minimalistic=True), ("minimalistic=True",)),
    (lambda: apps.MobileNetV3Small(weights="no/such/file.h5"), ("MobileNetV3Small", "no/such/file.h5")),
    (lambda: apps.MobileNetV3Large(weights=None, include_top=False, pooling="sum"), ("'sum'",)),
    (lambda: apps.MobileNetV3Small(weights="imagenet", input_shape=(224, 224, 3), classifier_activation="relu"),
     ("classifier_activation", "'relu'")),
    (lambda: apps.MobileNetV3Small(weights=None, dropout_rate=1.0), ("dropout_rate=1.0",)),
    (lambda: apps.MobileNetV3Large(weights=None, include_top=False, input_tensor=np.zeros((1, 32, 32, 3))),
     ("input_tensor", "symbolic")),
    (lambda: apps.MobileNetV3Small(weights=None, input_tensor=keras.Input((32, 32, 3)), input_shape=(40, 40, 3)),
     ("does not match",)),
])
def test_bad_arguments(call, fragments, monkeypatch):
    monkeypatch.setattr(_common, "get_file", lambda *a, **k: pytest.fail("nothing may be fetched"))
    with pytest.raises(ValueError) as e:
        call()
    _one_line_error(e, *fragments)


def test_dropout_rate_is_only_read_with_the_top():
    # as in Keras, the classifier's dropout does not exist without the top
    assert apps.MobileNetV3Small(weights=None, include_top=False, dropout_rate=1.0).output_shape[-1] == 576


def test_batch_normalization_takes_keras_renorm_arguments():
    """Keras 3.15 writes renorm, renorm_clipping and renorm_momentum into every BatchNormalization
    config (so a Keras-written .keras file of these models holds them): off, they are taken; on,
    refused."""
    bn = keras.layers.BatchNormalization(renorm=False, renorm_clipping=None, renorm_momentum=0.9)
    assert bn(np.ones((2, 3), "float32")).shape == (2, 3)
    with pytest.raises(NotImplementedError, match="renorm=True"):
        keras.layers.BatchNormalization(renorm=True)


# ------------------------------------------------------------------------ preprocess_input

RGB = np.random.RandomState(0).randint(0, 256, (2, 4, 5, 3)).astype("uint8")


def test_preprocess_and_decode():
    x = RGB.astype("float32")
    np.testing.assert_allclose(inception_v3.preprocess_input(RGB), x / 127.5 - 1.0, rtol=1e-6, atol=1e-6)
    assert mobilenet_v3.preprocess_input(x) is x
    preds = np.zeros((1, 1000), "float32")
    preds[0, 42] = 1.0
    for mod in (inception_v3, mobilenet_v3):
        assert mod.decode_predictions(preds, top=1)[0][0][:2] == ("n01687978", "agama")
        assert mod.decode_predictions.__module__ == mod.__name__


@needs_keras
def test_preprocess_matches_keras():
    real = _keras()
    x = RGB.astype("float32")
    for mine, theirs in [(inception_v3, real.applications.inception_v3),
                         (mobilenet_v3, real.applications.mobilenet_v3)]:
        np.testing.assert_allclose(mine.preprocess_input(x.copy()), theirs.preprocess_input(x.copy()),
                                   rtol=1e-6, atol=1e-5)


def test_modules_export_what_keras_does():
    assert set(inception_v3.__all__) == {"InceptionV3", "preprocess_input", "decode_predictions"}
    assert set(mobilenet_v3.__all__) == {"MobileNetV3Small", "MobileNetV3Large", "preprocess_input",
                                         "decode_predictions"}
    for mod in (inception_v3, mobilenet_v3):
        for n in mod.__all__:
            assert getattr(apps, n, getattr(mod, n)) is getattr(mod, n)
    assert apps.inception_v3 is inception_v3 and apps.mobilenet_v3 is mobilenet_v3
