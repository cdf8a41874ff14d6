"""kerasette.applications: each builder against real Keras 3 (layer names in Keras's order, weight
shapes, parameter counts, predictions with Keras's weights loaded from Keras's own files), the
arguments and their errors, preprocess_input / decode_predictions, and utils.get_file (offline,
through file:// URLs)."""
import hashlib
import importlib.util
import io
import json
import os
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

import kerasette as keras
from kerasette import applications as apps
from kerasette.applications import _common, imagenet_utils, mobilenet, mobilenet_v2
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
    """Give every batch norm statistic, scale and bias non-trivial values, so that the forward pass
    exercises them (Keras initialises them to 0 / 1)."""
    rng = np.random.RandomState(seed)
    for w in real_model.weights:
        shape = tuple(w.shape)
        if w.name in ("gamma", "moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif w.name in ("beta", "moving_mean", "bias"):
            w.assign(rng.normal(0.0, 0.1, shape).astype("float32"))


def _structure(model, real=False):
    order = model.layers if real else keras_layer_order(model)
    return ([l.name for l in order],
            [(l.name, [tuple(w.shape) for w in l.weights]) for l in order if l.weights])


def _images(shape, n=2, seed=1):
    return np.random.RandomState(seed).uniform(-1, 1, (n,) + shape).astype("float32")


def _max_dev(a, b):
    return float(np.abs(np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")).max())


# ------------------------------------------------------------------------ against real Keras

CASES = [
    ("VGG16", dict(include_top=False, input_shape=(32, 32, 3), pooling="max")),
    ("VGG19", dict(include_top=True, input_shape=(32, 32, 3), classes=10, classifier_activation=None)),
    ("ResNet50", dict(include_top=False, input_shape=(32, 32, 3))),
    ("ResNet50V2", dict(include_top=True, input_shape=(32, 32, 3), classes=7, classifier_activation=None)),
    ("MobileNet", dict(include_top=True, input_shape=(32, 32, 3), classes=10, alpha=0.5, depth_multiplier=2,
                       classifier_activation=None)),
    ("MobileNetV2", dict(include_top=True, input_shape=(32, 32, 3), classes=10, alpha=0.35,
                         classifier_activation=None)),
    # odd sides: the asymmetric padding of correct_pad
    ("MobileNetV2", dict(include_top=False, input_shape=(33, 35, 3), alpha=1.4, pooling="avg")),
]


@needs_keras
@pytest.mark.parametrize("family, kwargs", CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_matches_keras(family, kwargs, tmp_path):
    real = _keras()
    ref = getattr(real.applications, family)(weights=None, **kwargs)
    _randomize(ref)
    path = str(tmp_path / "ref.weights.h5")
    ref.save_weights(path)

    model = getattr(apps, family)(weights=path, **kwargs)
    assert model.name == ref.name
    assert _structure(model) == _structure(ref, real=True)
    assert model.count_params() == ref.count_params()
    assert model.output_shape == tuple(ref.output_shape)

    x = _images(kwargs["input_shape"])
    want = real.ops.convert_to_numpy(ref(x, training=False))
    got = model.predict(x, verbose=0)
    scale = max(1.0, float(np.abs(want).max()))
    assert _max_dev(got, want) <= TOL * scale, (family, _max_dev(got, want), scale)


@needs_keras
@pytest.mark.parametrize("family", ["ResNet50", "ResNet50V2"])
def test_layers_attribute_and_get_weights_order_match_keras(family):
    """Functional.layers, weights and get_weights() in Keras's order (layers sorted by depth: the
    projection shortcut _0_conv after _1_conv), so Keras's get_weights() list sets kerasette's."""
    real = _keras()
    ref = getattr(real.applications, family)(weights=None, include_top=False, input_shape=(32, 32, 3))
    _randomize(ref)
    model = getattr(apps, family)(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert [l.name for l in model.layers] == [l.name for l in ref.layers]
    assert [w.path for w in model.weights] == [w.path for w in ref.weights]
    want = ref.get_weights()
    assert [w.shape for w in model.get_weights()] == [w.shape for w in want]
    model.set_weights(want)
    x = _images((32, 32, 3))
    expected = real.ops.convert_to_numpy(ref(x, training=False))
    got = model.predict(x, verbose=0)
    assert _max_dev(got, expected) <= TOL * max(1.0, float(np.abs(expected).max()))


def _write_legacy_h5(real_model, path):
    """A Keras 2 layout weights file, as Keras's published ImageNet files are."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, real_model)


@needs_keras
def test_imagenet_weights_fetched_and_loaded(tmp_path, monkeypatch):
    """weights="imagenet" end to end, offline: the published file name is served from a file://
    folder, fetched into $KERAS_HOME/models and loaded (Keras 2 layout), with the classifier."""
    real = _keras()
    ref = real.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3),
                                        classifier_activation=None)
    _randomize(ref, seed=3)
    served = tmp_path / "served"
    served.mkdir()
    _write_legacy_h5(ref, served / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5")
    monkeypatch.setattr(mobilenet_v2, "_URL", served.as_uri() + "/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))

    model = apps.MobileNetV2(weights="imagenet", alpha=0.35, input_shape=(96, 96, 3), classifier_activation=None)
    assert (tmp_path / "home" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96.h5").exists()
    x = _images((96, 96, 3), n=1)
    want = real.ops.convert_to_numpy(ref(x, training=False))
    got = model.predict(x, verbose=0)
    assert _max_dev(got, want) <= TOL * max(1.0, float(np.abs(want).max()))


@needs_keras
def test_mobilenet_imagenet_no_top_file_name(tmp_path, monkeypatch):
    real = _keras()
    ref = real.applications.MobileNet(weights=None, alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    _randomize(ref, seed=4)
    served = tmp_path / "served"
    served.mkdir()
    _write_legacy_h5(ref, served / "mobilenet_2_5_128_tf_no_top.h5")
    monkeypatch.setattr(mobilenet, "_URL", served.as_uri() + "/")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    model = apps.MobileNet(weights="imagenet", alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    x = _images((128, 128, 3), n=1)
    want = real.ops.convert_to_numpy(ref(x, training=False))
    assert _max_dev(model.predict(x, verbose=0), want) <= TOL * max(1.0, float(np.abs(want).max()))


# ------------------------------------------------------------------------ the published files

class _Fetched(Exception):
    pass


KAPPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@pytest.mark.parametrize("build, fname, url, file_hash", [
    (lambda: apps.VGG16(include_top=False, input_shape=(32, 32, 3)),
     "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
    (lambda: apps.VGG19(include_top=False, input_shape=(32, 32, 3)),
     "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6"),
    (lambda: apps.ResNet50(include_top=False, input_shape=(32, 32, 3)),
     "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626"),
    (lambda: apps.ResNet50V2(include_top=False, input_shape=(32, 32, 3)),
     "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KAPPS + "resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5", "fac2f116257151a9d068a22e544a4917"),
    (lambda: apps.MobileNet(alpha=0.75, input_shape=(160, 160, 3)),
     "mobilenet_7_5_160_tf.h5", KAPPS + "mobilenet/mobilenet_7_5_160_tf.h5", None),
    (lambda: apps.MobileNetV2(alpha=1.4, include_top=False, input_shape=(96, 96, 3)),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_96_no_top.h5",
     KAPPS + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_96_no_top.h5", None),
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


def test_mobilenet_odd_shape_loads_224_weights_with_a_warning(monkeypatch):
    seen = {}

    def fake_get_file(fname=None, origin=None, cache_subdir="datasets", file_hash=None):
        seen.update(fname=fname, origin=origin, subdir=cache_subdir, file_hash=file_hash)
        raise _Fetched

    monkeypatch.setattr(_common, "get_file", fake_get_file)
    with pytest.warns(UserWarning, match="224x224"), pytest.raises(_Fetched):
        apps.MobileNetV2(include_top=False, input_shape=(64, 48, 3))
    assert seen["fname"] == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


# ------------------------------------------------------------------------ shapes and arguments

@pytest.mark.parametrize("build, channels", [
    (lambda **kw: apps.VGG16(weights=None, input_shape=(32, 32, 3), **kw), 512),
    (lambda **kw: apps.ResNet50(weights=None, input_shape=(32, 32, 3), **kw), 2048),
    (lambda **kw: apps.MobileNet(weights=None, alpha=0.25, input_shape=(32, 32, 3), **kw), 256),
    (lambda **kw: apps.MobileNetV2(weights=None, alpha=0.35, input_shape=(32, 32, 3), **kw), 1280),
])
def test_heads(build, channels):
    assert build(include_top=False).output_shape == (None, 1, 1, channels)
    assert build(include_top=False, pooling="avg").output_shape == (None, channels)
    pooled = build(include_top=False, pooling="max")
    assert pooled.output_shape == (None, channels)
    assert type(pooled.layers[-1]).__name__ == "GlobalMaxPooling2D"
    if channels == 512:
        return              # VGG's top (two 4096-unit dense layers) is checked against Keras above
    top = build(include_top=True, classes=5)
    assert top.output_shape == (None, 5)
    probs = top.predict(_images((32, 32, 3), n=2), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)     # softmax by default
    logits = build(include_top=True, classes=5, classifier_activation=None)
    assert logits.layers[-1].get_config()["activation"] in ("linear", None)


def test_default_input_shapes():
    assert apps.MobileNetV2(weights=None, alpha=0.35).input_shape == (None, 224, 224, 3)
    assert apps.MobileNetV2(weights=None, include_top=False).input_shape == (None, None, None, 3)
    m = apps.MobileNet(weights=None, alpha=0.25, include_top=False)
    assert m.name == "mobilenet_0.25_None"
    assert m.predict(_images((40, 56, 3), n=1), verbose=0).shape == (1, 1, 1, 256)
    assert apps.MobileNet(weights=None, alpha=0.25, input_shape=(128, 128, 3)).name == "mobilenet_0.25_128"


def test_resnet_deep_counts():
    # Keras's published totals (keras.io/api/applications): ResNet101 44.7M, ResNet152 60.4M
    assert apps.ResNet101(weights=None).count_params() == 44707176
    assert apps.ResNet152(weights=None).count_params() == 60419944


def test_input_tensor_builds_on_a_graph():
    inp = keras.Input((40, 40, 3))
    x = keras.layers.Rescaling(1.0 / 255)(inp)
    base = apps.MobileNetV2(weights=None, alpha=0.35, include_top=False, input_tensor=x, pooling="avg")
    assert base.inputs[0] is inp
    assert base.output_shape == (None, 1280)
    out = base.predict(np.full((1, 40, 40, 3), 128.0, "float32"), verbose=0)
    assert out.shape == (1, 1280) and np.isfinite(out).all()
    # the usual transfer-learning wiring: the base as a layer of a bigger model
    head = keras.layers.Dense(3)(base.output)
    assert keras.Model(inp, head).output_shape == (None, 3)


def test_weights_from_a_path_roundtrip(tmp_path):
    a = apps.MobileNet(weights=None, alpha=0.25, input_shape=(32, 32, 3), classes=4)
    path = str(tmp_path / "m.weights.h5")
    a.save_weights(path)
    b = apps.MobileNet(weights=path, alpha=0.25, input_shape=(32, 32, 3), classes=4)
    x = _images((32, 32, 3))
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))


def _one_line_error(exc_info, *fragments):
    msg = str(exc_info.value)
    assert "\n" not in msg, msg
    for f in fragments:
        assert f in msg, msg


@pytest.mark.parametrize("call, fragments", [
    (lambda: apps.VGG16(weights="no/such/file.h5"), ("VGG16", "weights", "no/such/file.h5")),
    (lambda: apps.ResNet50(weights="imagenet", classes=10), ("ResNet50", "classes must be 1000", "classes=10")),
    (lambda: apps.MobileNet(weights="imagenet", include_top=True, classes=7), ("MobileNet", "classes=7")),
    (lambda: apps.VGG19(weights=None, include_top=False, pooling="sum"), ("VGG19", "pooling", "'sum'")),
    (lambda: apps.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3)), ("at least 32x32",)),
    (lambda: apps.ResNet50(weights=None, include_top=False, input_shape=(32, 32)), ("three integers",)),
    (lambda: apps.ResNet50(weights="imagenet", input_shape=(64, 64, 3)), ("(224, 224, 3)",)),
    (lambda: apps.VGG16(weights="imagenet", include_top=False, input_shape=(64, 64, 1)), ("3 input channels",)),
    (lambda: apps.MobileNetV2(weights=None, include_top=True, input_shape=(None, None, 3)), ("static",)),
    (lambda: apps.MobileNetV2(weights="imagenet", input_shape=(96, 96, 3), classifier_activation="relu"),
     ("classifier_activation", "'relu'")),
    (lambda: apps.MobileNet(weights="imagenet", include_top=False, alpha=0.3), ("alpha", "0.3")),
    (lambda: apps.MobileNet(weights="imagenet", include_top=False, depth_multiplier=2), ("depth_multiplier=2",)),
    (lambda: apps.MobileNetV2(weights="imagenet", include_top=False, alpha=0.6), ("alpha=0.6",)),
    (lambda: apps.ResNet50(weights=None, include_top=False, input_tensor=np.zeros((1, 32, 32, 3))),
     ("input_tensor", "symbolic", "ndarray")),
    (lambda: apps.VGG16(weights=None, include_top=False, input_tensor=keras.Input((32, 32, 3)),
                        input_shape=(64, 64, 3)), ("does not match", "(64, 64, 3)")),
    (lambda: apps.ResNet50(weights=None, include_top=False, input_tensor=keras.Input((32, 3))),
     ("batch of images",)),
])
def test_bad_arguments(call, fragments, monkeypatch):
    monkeypatch.setattr(_common, "get_file", lambda *a, **k: pytest.fail("nothing may be fetched"))
    with pytest.raises(ValueError) as e:
        call()
    _one_line_error(e, *fragments)


def test_warns_about_unusual_channel_counts():
    with pytest.warns(UserWarning, match="1 or 3 input channels"):
        apps.MobileNet(weights=None, alpha=0.25, include_top=False, input_shape=(32, 32, 4))


# ------------------------------------------------------------------------ preprocess_input

RGB = np.random.RandomState(0).randint(0, 256, (2, 4, 5, 3)).astype("uint8")


def test_preprocess_modes_follow_the_formulas():
    x = RGB.astype("float32")
    tf = (x / 127.5 - 1.0)
    bgr = x[..., ::-1]
    caffe = bgr - np.array([103.939, 116.779, 123.68])
    torch = (x / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    for fn, want in [(apps.mobilenet.preprocess_input, tf), (apps.mobilenet_v2.preprocess_input, tf),
                     (apps.resnet_v2.preprocess_input, tf), (apps.vgg16.preprocess_input, caffe),
                     (apps.vgg19.preprocess_input, caffe), (apps.resnet50.preprocess_input, caffe),
                     (apps.resnet.preprocess_input, caffe)]:
        got = fn(RGB)
        assert got.dtype == np.float32 and got.shape == RGB.shape
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(RGB, mode="torch"), torch, rtol=1e-5, atol=1e-5)


def test_preprocess_channels_first_and_no_side_effects():
    x = RGB.astype("float64")
    before = x.copy()
    cf = np.moveaxis(x, -1, 1)
    got = imagenet_utils.preprocess_input(cf, data_format="channels_first", mode="caffe")
    want = imagenet_utils.preprocess_input(x, mode="caffe")
    np.testing.assert_allclose(np.moveaxis(got, 1, -1), want, rtol=1e-12)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(x, before)                 # the input is left as it was
    one = imagenet_utils.preprocess_input(cf[0], data_format="channels_first", mode="torch")
    np.testing.assert_allclose(np.moveaxis(one, 0, -1),
                               imagenet_utils.preprocess_input(x[0], mode="torch"), rtol=1e-12)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_tensors_and_symbolic_inputs(mode):
    x = RGB.astype("float32")
    want = imagenet_utils.preprocess_input(x, mode=mode)
    got = imagenet_utils.preprocess_input(keras.ops.convert_to_tensor(x), mode=mode)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), want, rtol=1e-5, atol=1e-4)
    inp = keras.Input((4, 5, 3))
    model = keras.Model(inp, imagenet_utils.preprocess_input(inp, mode=mode))
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-4)


@needs_keras
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_matches_keras(mode):
    real = _keras()
    want = real.applications.imagenet_utils.preprocess_input(RGB.astype("float32"), mode=mode)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(RGB, mode=mode), want, rtol=1e-6, atol=1e-4)


def test_preprocess_bad_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        imagenet_utils.preprocess_input(RGB, mode="keras")
    with pytest.raises(ValueError, match="data_format must be"):
        imagenet_utils.preprocess_input(RGB, data_format="NHWC")


# ------------------------------------------------------------------------ decode_predictions

def test_decode_predictions_reads_the_shipped_class_index(monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_class_index", {})
    with open(imagenet_utils.CLASS_INDEX_PATH, "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == imagenet_utils.CLASS_INDEX_HASH
    preds = np.zeros((2, 1000), "float32")
    preds[0, [5, 17, 999]] = [0.2, 0.5, 0.3]
    preds[1, 42] = 1.0
    out = apps.resnet50.decode_predictions(preds, top=3)
    assert [r[:2] for r in out[0]] == [("n01580077", "jay"), ("n15075141", "toilet_tissue"),
                                       ("n01496331", "electric_ray")]
    np.testing.assert_allclose([r[2] for r in out[0]], [0.5, 0.3, 0.2])
    assert out[1][0][:2] == ("n01687978", "agama") and len(out[1]) == 3
    assert len(apps.mobilenet_v2.decode_predictions(keras.ops.convert_to_tensor(preds))[0]) == 5


def test_decode_predictions_refuses_a_damaged_class_index(tmp_path, monkeypatch):
    bad = tmp_path / "imagenet_class_index.json"
    bad.write_text(json.dumps({str(i): ["n0", "x"] for i in range(1000)}))
    monkeypatch.setattr(imagenet_utils, "_class_index", {})
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", str(bad))
    with pytest.raises(ValueError, match="is damaged: md5 .*expected c2c37ea5"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))


@needs_keras
def test_decode_predictions_matches_keras(tmp_path):
    real = _keras()
    from keras.src.backend import config as real_config
    cache = tmp_path / "keras_home"
    (cache / "models").mkdir(parents=True)
    shutil.copy(imagenet_utils.CLASS_INDEX_PATH, cache / "models")  # Keras finds it and checks its md5
    preds = np.random.default_rng(3).random((3, 1000)).astype("float32")
    old = real_config._KERAS_DIR
    real_config._KERAS_DIR = str(cache)
    try:
        from keras.src.applications import imagenet_utils as real_utils
        real_utils.CLASS_INDEX = None
        want = real.applications.imagenet_utils.decode_predictions(preds, top=7)
    finally:
        real_config._KERAS_DIR = old
    got = imagenet_utils.decode_predictions(preds, top=7)
    assert [[r[:2] for r in row] for row in got] == [[tuple(r[:2]) for r in row] for row in want]
    np.testing.assert_allclose([[r[2] for r in row] for row in got], [[r[2] for r in row] for row in want])


def test_decode_predictions_bad_shape():
    with pytest.raises(ValueError, match=r"\(samples, 1000\); got shape \(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


# ------------------------------------------------------------------------ utils.get_file

def _source(tmp_path, data=b"kerasette weights\n", name="w.bin"):
    src = tmp_path / "src" / name
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(data)
    return src


def _leftovers(folder):
    return [p for p in os.listdir(folder) if p.startswith(".")]


def test_get_file_downloads_and_checks_hashes(tmp_path):
    src = _source(tmp_path)
    cache = str(tmp_path / "cache")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    path = keras.utils.get_file("w.bin", src.as_uri(), file_hash=sha, cache_dir=cache, cache_subdir="models")
    assert path == os.path.join(cache, "models", "w.bin")
    assert open(path, "rb").read() == src.read_bytes()
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    assert keras.utils.get_file("w.bin", src.as_uri(), md5_hash=md5, cache_dir=cache, cache_subdir="models") == path
    assert keras.utils.get_file(origin=src.as_uri(), file_hash=md5, hash_algorithm="md5", cache_dir=cache) \
        == os.path.join(cache, "datasets", "w.bin")
    assert _leftovers(os.path.join(cache, "models")) == []


def test_get_file_hash_mismatch_leaves_nothing(tmp_path):
    src = _source(tmp_path)
    cache = tmp_path / "cache"
    with pytest.raises(ValueError) as e:
        keras.utils.get_file("w.bin", src.as_uri(), file_hash="0" * 64, cache_dir=str(cache))
    _one_line_error(e, "sha256", "0" * 64, "corrupted")
    assert os.listdir(cache / "datasets") == []


def test_get_file_uses_the_cache_and_refetches_a_bad_copy(tmp_path):
    src = _source(tmp_path, b"version 1")
    cache = str(tmp_path / "cache")
    path = keras.utils.get_file("w.bin", src.as_uri(), cache_dir=cache)
    src.write_bytes(b"version 2")
    assert open(keras.utils.get_file("w.bin", src.as_uri(), cache_dir=cache), "rb").read() == b"version 1"
    good = hashlib.sha256(b"version 2").hexdigest()      # the cached copy no longer matches: fetched again
    assert open(keras.utils.get_file("w.bin", src.as_uri(), file_hash=good, cache_dir=cache), "rb").read() \
        == b"version 2"
    src.write_bytes(b"version 3")
    keras.utils.get_file("w.bin", src.as_uri(), cache_dir=cache, force_download=True)
    assert open(path, "rb").read() == b"version 3"
    # a failed re-download keeps the cached copy as it was
    with pytest.raises(ValueError):
        keras.utils.get_file("w.bin", src.as_uri(), file_hash=good, cache_dir=cache, force_download=True)
    assert open(path, "rb").read() == b"version 3"
    assert _leftovers(os.path.dirname(path)) == []


def test_get_file_keras_home_and_errors(tmp_path, monkeypatch):
    src = _source(tmp_path)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    assert keras.utils.get_file("w.bin", src.as_uri()) == str(tmp_path / "home" / "datasets" / "w.bin")
    with pytest.raises(ValueError, match="origin"):
        keras.utils.get_file("w.bin")
    with pytest.raises(ValueError, match="bare file name"):
        keras.utils.get_file(os.path.join("sub", "w.bin"), src.as_uri())
    with pytest.raises(ValueError, match="hash_algorithm"):
        keras.utils.get_file("w.bin", src.as_uri(), file_hash="ab", hash_algorithm="sha1")
    with pytest.raises(OSError, match="URL fetch failure") as e:
        keras.utils.get_file("gone.bin", (tmp_path / "nope.bin").as_uri())
    _one_line_error(e)
    assert _leftovers(tmp_path / "home" / "datasets") == []
    assert not (tmp_path / "home" / "datasets" / "gone.bin").exists()


def _tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_get_file_extracts_archives(tmp_path):
    cache = str(tmp_path / "cache")
    tgz = _source(tmp_path, _tar_bytes({"data/a.txt": b"A"}), "pack.tar.gz")
    out = keras.utils.get_file("pack.tar.gz", tgz.as_uri(), extract=True, cache_dir=cache)
    assert out == os.path.join(cache, "datasets", "pack_extracted")
    assert open(os.path.join(out, "data", "a.txt")).read() == "A"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("b.txt", "B")
    zp = _source(tmp_path, buf.getvalue(), "z.zip")
    out = keras.utils.get_file("zipped", zp.as_uri(), extract=True, cache_dir=cache)
    assert out == os.path.join(cache, "datasets", "zipped")
    assert open(os.path.join(out, "b.txt")).read() == "B"
    out = keras.utils.get_file("t2", tgz.as_uri(), untar=True, cache_dir=cache)
    assert os.path.exists(os.path.join(out, "data", "a.txt"))


def test_get_file_refuses_archive_escapes(tmp_path):
    evil = _source(tmp_path, _tar_bytes({"../escape.txt": b"x"}), "evil.tar.gz")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="outside its folder"):
        keras.utils.get_file("evil.tar.gz", evil.as_uri(), extract=True, cache_dir=str(cache))
    assert not (cache / "escape.txt").exists() and not (cache / "datasets" / "evil_extracted").exists()
    with pytest.raises(ValueError, match="archive_format"):
        keras.utils.get_file("evil.tar.gz", evil.as_uri(), extract=True, archive_format="rar",
                             cache_dir=str(cache))
