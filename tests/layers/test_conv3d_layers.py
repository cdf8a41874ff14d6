"""Conv3D, MaxPooling3D, AveragePooling3D, GlobalAveragePooling3D, GlobalMaxPooling3D,
UpSampling3D, ZeroPadding3D, Cropping3D: shapes, weights (Keras's shapes, names and order),
values, configs, argument errors, training and saving, and the Keras-made files
(tests/fixtures/make_conv3d_fixtures.py) predicting what Keras predicted."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck
from kerasette.layers.layer import reset_uids
from kerasette.ops.conv3d import avg_pool3d, conv3d, max_pool3d

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _np(t):
    return keras.ops.convert_to_numpy(t)


# -- shapes and weights ---------------------------------------------------------------------------

SHAPES = [
    # (class, kwargs, input shape, output shape, [(weight name, shape), ...])
    (layers.Conv3D, dict(filters=4, kernel_size=3), (2, 5, 6, 7, 3), (2, 3, 4, 5, 4),
     [("kernel", (3, 3, 3, 3, 4)), ("bias", (4,))]),
    (layers.Conv3D, dict(filters=4, kernel_size=(2, 3, 1), strides=2, padding="same"), (2, 5, 6, 7, 3),
     (2, 3, 3, 4, 4), [("kernel", (2, 3, 1, 3, 4)), ("bias", (4,))]),
    (layers.Conv3D, dict(filters=6, kernel_size=3, dilation_rate=(2, 1, 2), groups=3, use_bias=False),
     (1, 5, 6, 7, 3), (1, 1, 4, 3, 6), [("kernel", (3, 3, 3, 1, 6))]),
    (layers.MaxPooling3D, dict(), (2, 5, 6, 7, 3), (2, 2, 3, 3, 3), []),
    (layers.MaxPooling3D, dict(pool_size=(3, 2, 2), strides=1, padding="same"), (2, 5, 6, 7, 3),
     (2, 5, 6, 7, 3), []),
    (layers.AveragePooling3D, dict(pool_size=3, strides=2), (2, 5, 6, 7, 3), (2, 2, 2, 3, 3), []),
    (layers.AveragePooling3D, dict(pool_size=2, padding="same"), (2, 5, 6, 7, 3), (2, 3, 3, 4, 3), []),
    (layers.GlobalAveragePooling3D, dict(), (2, 5, 6, 7, 3), (2, 3), []),
    (layers.GlobalMaxPooling3D, dict(keepdims=True), (2, 5, 6, 7, 3), (2, 1, 1, 1, 3), []),
    (layers.GlobalAveragePooling3D, dict(keepdims=True, data_format="channels_first"), (2, 3, 5, 6, 7),
     (2, 3, 1, 1, 1), []),
    (layers.UpSampling3D, dict(size=(1, 2, 3)), (2, 2, 3, 4, 3), (2, 2, 6, 12, 3), []),
    (layers.UpSampling3D, dict(data_format="channels_first"), (2, 3, 2, 3, 4), (2, 3, 4, 6, 8), []),
    (layers.ZeroPadding3D, dict(), (2, 2, 3, 4, 3), (2, 4, 5, 6, 3), []),
    (layers.ZeroPadding3D, dict(padding=((1, 0), (0, 2), (3, 1))), (2, 2, 3, 4, 3), (2, 3, 5, 8, 3), []),
    (layers.ZeroPadding3D, dict(padding=(1, 2, 0), data_format="channels_first"), (2, 3, 2, 3, 4),
     (2, 3, 4, 7, 4), []),
    (layers.Cropping3D, dict(), (2, 4, 5, 6, 3), (2, 2, 3, 4, 3), []),
    (layers.Cropping3D, dict(cropping=(1, 0, 2), data_format="channels_first"), (2, 3, 4, 5, 7),
     (2, 3, 2, 5, 3), []),
]


@pytest.mark.parametrize("cls,kwargs,in_shape,out_shape,weights", SHAPES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(SHAPES)])
def test_shapes_weights_and_compute_output_shape(cls, kwargs, in_shape, out_shape, weights):
    layer = cls(**kwargs)
    y = layer(_rand(*in_shape))
    assert y.shape == out_shape and y.dtype == np.float32
    assert layer.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]
    assert [(w.name, w.shape) for w in layer.weights] == weights
    symbolic = cls(**kwargs)(keras.Input(in_shape[1:]))
    assert symbolic.shape == (None,) + out_shape[1:]


def test_layers_compute_what_the_ops_and_numpy_compute():
    x = _rand(2, 4, 5, 6, 4, seed=1)
    conv = layers.Conv3D(4, 3, strides=(1, 2, 1), padding="same", groups=2, activation="relu",
                         bias_initializer="ones")
    y = _np(conv(x))
    k, b = conv.get_weights()
    want = np.maximum(_np(conv3d(x, k, strides=(1, 2, 1), padding="same", groups=2)) + b, 0)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    soft = layers.Conv3D(2, 2, activation="softplus")
    y = _np(soft(x))
    k, b = soft.get_weights()
    np.testing.assert_allclose(y, np.logaddexp(_np(conv3d(x, k)) + b, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(layers.MaxPooling3D(2, 1, "same")(x)), _np(max_pool3d(x, 2, 1, "same")))
    np.testing.assert_allclose(_np(layers.AveragePooling3D(3)(x[:, :, :, :3])), _np(avg_pool3d(x[:, :, :, :3], 3)))
    np.testing.assert_allclose(_np(layers.GlobalAveragePooling3D()(x)), x.mean(axis=(1, 2, 3)), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(_np(layers.GlobalMaxPooling3D(data_format="channels_first")(x)),
                               x.max(axis=(2, 3, 4)))
    np.testing.assert_array_equal(_np(layers.UpSampling3D((2, 1, 3))(x)),
                                  np.repeat(np.repeat(x, 2, axis=1), 3, axis=3))
    np.testing.assert_array_equal(_np(layers.ZeroPadding3D(((1, 0), (0, 2), (3, 1)))(x)),
                                  np.pad(x, ((0, 0), (1, 0), (0, 2), (3, 1), (0, 0))))
    np.testing.assert_array_equal(_np(layers.Cropping3D(((1, 0), (0, 2), (1, 1)), data_format="channels_first")(x)),
                                  x[:, :, 1:, :4, 1:3])


@pytest.mark.parametrize("make", [
    lambda: layers.MaxPooling3D((2, 3, 2), strides=1, padding="same", dtype="float64"),
    lambda: layers.AveragePooling3D(2, padding="same", dtype="float64"),
    lambda: layers.GlobalAveragePooling3D(dtype="float64"),
    lambda: layers.GlobalMaxPooling3D(keepdims=True, dtype="float64"),
    lambda: layers.UpSampling3D((2, 1, 2), dtype="float64"),
    lambda: layers.ZeroPadding3D(((1, 0), (0, 2), (1, 1)), dtype="float64"),
    lambda: layers.Cropping3D(((1, 0), (0, 1), (1, 1)), dtype="float64"),
], ids=["max", "avg", "gap", "gmp", "up", "zpad", "crop"])
def test_gradients_of_the_weightless_layers(make):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5, 2))
    layer = make()
    assert gradcheck(lambda t: layer(t), [x])


def test_conv3d_trains_and_saves(tmp_path):
    keras.set_random_seed(1)
    x = _rand(16, 4, 5, 5, 2, seed=3)
    y = _rand(16, 3, seed=4)
    inputs = keras.Input((4, 5, 5, 2))
    h = layers.Conv3D(4, 3, padding="same", activation="relu")(inputs)
    h = layers.MaxPooling3D(2, padding="same")(h)
    h = layers.Conv3D(4, 2, groups=2, activation="tanh")(layers.ZeroPadding3D(1)(h))
    h = layers.UpSampling3D((1, 1, 2))(layers.Cropping3D(((0, 1), (0, 0), (1, 0)))(h))
    h = layers.AveragePooling3D(2, strides=1)(h)
    out = layers.Dense(3)(layers.GlobalAveragePooling3D()(h))
    model = keras.Model(inputs, out)
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, y, batch_size=4, epochs=5, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    pred = model.predict(x, verbose=0)
    for name in ("c3.keras", "c3.h5"):
        path = str(tmp_path / name)
        model.save(path)
        again = keras.models.load_model(path)
        np.testing.assert_allclose(again.predict(x, verbose=0), pred, rtol=1e-6, atol=1e-6)
        assert [w.name for w in again.weights] == [w.name for w in model.weights]


# -- configs ----------------------------------------------------------------------------------------

CONFIGS = [
    (layers.Conv3D, dict(filters=6, kernel_size=(3, 2, 1), strides=(2, 1, 1), padding="same", groups=3,
                         activation="tanh", use_bias=False, kernel_initializer="he_normal",
                         kernel_regularizer="l2", bias_constraint="non_neg", name="c")),
    (layers.Conv3D, dict(filters=2, kernel_size=3, dilation_rate=2)),
    (layers.MaxPooling3D, dict(pool_size=(3, 2, 1), strides=(1, 2, 1), padding="same")),
    (layers.AveragePooling3D, dict(pool_size=3)),
    (layers.GlobalAveragePooling3D, dict(keepdims=True)),
    (layers.GlobalMaxPooling3D, dict(data_format="channels_first")),
    (layers.UpSampling3D, dict(size=(1, 2, 3))),
    (layers.ZeroPadding3D, dict(padding=((1, 0), (2, 2), (0, 3)), data_format="channels_first")),
    (layers.Cropping3D, dict(cropping=((0, 1), (2, 0), (1, 1)))),
]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CONFIGS)])
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        if key in ("kernel_size", "strides", "dilation_rate", "pool_size", "size"):
            value = value if isinstance(value, tuple) else (value,) * 3
        if not key.endswith(("initializer", "regularizer", "constraint")):
            assert config[key] == value, key
    clone = cls.from_config(config)
    assert clone.get_config() == config
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is cls and again.get_config() == config


def test_keras_names_and_defaults():
    assert layers.Convolution3D is layers.Conv3D
    assert layers.MaxPool3D is layers.MaxPooling3D and layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D
    c = layers.Conv3D(2, 3).get_config()
    assert (c["strides"], c["padding"], c["dilation_rate"], c["groups"], c["data_format"], c["use_bias"]) == \
        ((1, 1, 1), "valid", (1, 1, 1), 1, "channels_last", True)
    assert c["kernel_initializer"]["class_name"] == "GlorotUniform" and c["activity_regularizer"] is None
    p = layers.MaxPooling3D().get_config()
    assert (p["pool_size"], p["strides"], p["padding"]) == ((2, 2, 2), (2, 2, 2), "valid")
    assert layers.GlobalMaxPooling3D().get_config()["keepdims"] is False
    assert layers.UpSampling3D().get_config()["size"] == (2, 2, 2)
    assert layers.ZeroPadding3D().get_config()["padding"] == ((1, 1), (1, 1), (1, 1))
    assert layers.ZeroPadding3D(2).get_config()["padding"] == ((2, 2), (2, 2), (2, 2))
    assert layers.Cropping3D((1, 2, 3)).get_config()["cropping"] == ((1, 1), (2, 2), (3, 3))
    reset_uids()
    names = [layers.Conv3D(2, 3).name, layers.MaxPooling3D().name, layers.AveragePooling3D(2).name,
             layers.GlobalAveragePooling3D().name, layers.GlobalMaxPooling3D().name, layers.UpSampling3D().name,
             layers.ZeroPadding3D().name, layers.Cropping3D().name]
    assert names == ["conv3d", "max_pooling3d", "average_pooling3d", "global_average_pooling3d",
                     "global_max_pooling3d", "up_sampling3d", "zero_padding3d", "cropping3d"]


def test_configs_match_real_keras(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "torch"))
    try:
        import keras as real
    except Exception as e:                              # not installed, or no usable backend
        pytest.skip(f"Keras 3 is not importable here: {e}")
    for cls, kwargs in CONFIGS + [(layers.ZeroPadding3D, {}), (layers.Cropping3D, dict(cropping=2)),
                                  (layers.MaxPooling3D, {})]:
        kwargs = {k: v for k, v in kwargs.items() if not k.endswith(("initializer", "regularizer", "constraint"))}
        ours = cls(**kwargs).get_config()
        theirs = getattr(real.layers, cls.__name__)(**kwargs).get_config()
        for key in ("name", "dtype"):
            ours.pop(key), theirs.pop(key)
        theirs = {k: v for k, v in theirs.items() if not k.endswith(("initializer", "regularizer", "constraint"))}
        ours = {k: v for k, v in ours.items() if not k.endswith(("initializer", "regularizer", "constraint"))}
        assert ours == theirs, cls.__name__


# -- bad arguments and inputs -------------------------------------------------------------------------

BAD = [
    (layers.Conv3D, dict(filters=0, kernel_size=3), "filters must be a positive integer, got 0"),
    (layers.Conv3D, dict(filters=2, kernel_size=(3, 3)), "kernel_size must be an int or a tuple of 3 ints"),
    (layers.Conv3D, dict(filters=2, kernel_size=(3, 0, 3)), "kernel_size must be positive"),
    (layers.Conv3D, dict(filters=2, kernel_size=3, strides=0), "strides must be positive"),
    (layers.Conv3D, dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "incompatible with dilation"),
    (layers.Conv3D, dict(filters=2, kernel_size=3, padding="causal"), "padding must be 'valid' or 'same'"),
    (layers.Conv3D, dict(filters=4, kernel_size=3, groups=0), "groups must be a positive integer, got 0"),
    (layers.Conv3D, dict(filters=4, kernel_size=3, groups=3), "filters must be a multiple of groups"),
    (layers.Conv3D, dict(filters=4, kernel_size=3, data_format="channels_first"),
     "data_format='channels_first' is not supported"),
    (layers.MaxPooling3D, dict(pool_size=(2, 2)), "pool_size must be an int or a tuple of 3 ints"),
    (layers.MaxPooling3D, dict(pool_size=2, strides=-1), "strides must be positive"),
    (layers.AveragePooling3D, dict(pool_size=2, padding="full"), "padding must be 'valid' or 'same'"),
    (layers.AveragePooling3D, dict(pool_size=2, data_format="channels_first"),
     "data_format='channels_first' is not supported"),
    (layers.GlobalAveragePooling3D, dict(data_format="nhwc"), "data_format must be"),
    (layers.UpSampling3D, dict(size=0), "size must be a positive int or a tuple of 3 positive ints"),
    (layers.UpSampling3D, dict(size=(2, 2)), "size must be a positive int or a tuple of 3"),
    (layers.ZeroPadding3D, dict(padding=-1), "padding must be a non-negative int"),
    (layers.ZeroPadding3D, dict(padding=((1, 1), (1, 1))), "padding must be a non-negative int"),
    (layers.Cropping3D, dict(cropping=((1, 0), (0, 2), 3)), "cropping must be a non-negative int"),
    (layers.Cropping3D, dict(cropping=(1, 2.5, 1)), "cropping must be"),
]


@pytest.mark.parametrize("cls,kwargs,match", BAD, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(BAD)])
def test_bad_arguments_are_one_line_errors_naming_the_layer(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as e:
        cls(**kwargs, name="bad")
    assert str(e.value).startswith(f"{cls.__name__} 'bad': ") and "\n" not in str(e.value)


def test_activity_regularizer_penalises_the_output():
    layer = layers.Conv3D(2, 3, activity_regularizer="l2", name="r")
    out = layer(np.ones((2, 4, 4, 4, 1), dtype="float32")).numpy()
    np.testing.assert_allclose(float(layer.losses[0].numpy()), 0.01 * (out ** 2).sum() / 2, rtol=1e-5)
    assert layer.get_config()["activity_regularizer"]["class_name"] == "L2"


def test_bad_input_shapes_leave_the_layer_unbuilt():
    layer = layers.Conv3D(4, 3, groups=2, name="c")
    with pytest.raises(ValueError, match=r"Conv3D 'c'.*rank 5.*channel axis is missing"):
        layer(np.zeros((2, 5, 5, 5), dtype="float32"))
    assert not layer.built and layer.weights == []
    with pytest.raises(ValueError, match=r"kernel_size \(3, 3, 3\).*larger than the input width 2"):
        layer(np.zeros((1, 5, 5, 2, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"input channels must be a multiple of groups=2"):
        layer(np.zeros((1, 5, 5, 5, 3), dtype="float32"))
    assert layer.weights == []
    layer(np.zeros((1, 5, 5, 5, 4), dtype="float32"))
    with pytest.raises(ValueError, match=r"expected input with 4 channels.*\(1, 5, 5, 5, 2\)"):
        layer(np.zeros((1, 5, 5, 5, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"MaxPooling3D 'm'.*larger than the input depth 1"):
        layers.MaxPooling3D(name="m")(keras.Input((1, 4, 4, 2)))
    with pytest.raises(ValueError, match=r"GlobalMaxPooling3D 'g': expected input of rank 5"):
        layers.GlobalMaxPooling3D(name="g")(keras.Input((4, 4, 2)))
    with pytest.raises(ValueError, match=r"Cropping3D 'k': cropping \(2, 2\) must remove fewer than the input "
                                         r"height 4"):
        layers.Cropping3D(((0, 0), (2, 2), (0, 0)), name="k")(keras.Input((4, 4, 5, 2)))
    with pytest.raises(ValueError, match=r"UpSampling3D 'u'.*\(batch, channels, depth, height, width\)"):
        layers.UpSampling3D(data_format="channels_first", name="u")(np.zeros((1, 2, 3, 4), dtype="float32"))


def test_unknown_spatial_sizes():
    inputs = keras.Input((None, None, None, 2))
    a, b = layers.Conv3D(3, 3, strides=2, padding="same"), layers.MaxPooling3D(2, padding="same")
    c, d, e = layers.UpSampling3D(), layers.ZeroPadding3D(1), layers.Cropping3D(1)
    out = e(d(c(b(a(inputs)))))
    assert out.shape == (None, None, None, None, 3)
    model = keras.Model(inputs, layers.GlobalMaxPooling3D()(out))
    assert model.predict(_rand(2, 5, 6, 7, 2), verbose=0).shape == (2, 3)


# -- Keras-made files ------------------------------------------------------------------------------

def _kerasette_conv3d():
    L = layers
    inputs = keras.Input((5, 6, 7, 2))
    a = L.Conv3D(4, 3, padding="same", activation="relu", name="c_same")(inputs)
    a = L.Conv3D(4, (2, 3, 2), strides=(1, 2, 2), name="c_strided")(a)
    a = L.Conv3D(4, 3, dilation_rate=(2, 1, 2), padding="same", groups=2, use_bias=False, activation="tanh",
                 name="c_dilated_grouped")(a)
    a = L.MaxPooling3D(2, strides=1, padding="same", name="max_same")(a)
    a = L.AveragePooling3D((2, 1, 2), name="avg_valid")(a)
    a = L.Conv3D(3, 1, activation="softplus", name="c_pointwise")(a)
    y = L.GlobalAveragePooling3D(name="gap")(a)
    b = L.ZeroPadding3D(((1, 0), (0, 1), (1, 1)), name="zpad")(inputs)
    b = L.Conv3D(3, 2, strides=2, padding="same", activation="sigmoid", name="c_down")(b)
    b = L.UpSampling3D((1, 2, 1), name="up")(b)
    b = L.Cropping3D(((0, 1), (1, 1), (0, 1)), name="crop")(b)
    z = L.GlobalMaxPooling3D(name="gmp")(b)
    c = L.AveragePooling3D(3, strides=1, padding="same", name="avg_same")(inputs)
    c = L.MaxPooling3D((2, 2, 3), name="max_valid")(c)
    w = L.GlobalAveragePooling3D(keepdims=True, name="gap_keep")(c)
    return keras.Model(inputs, [y, z, w], name="conv3d")


def _expected():
    data = np.load(os.path.join(FIXTURES, "conv3d.npz"))
    return data["x0"], [data["y"], data["y1"], data["y2"]]


def _check(pred, ys):
    assert len(pred) == len(ys)
    for p, y in zip(pred, ys):
        assert p.shape == y.shape
        np.testing.assert_allclose(p, y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ext", [".keras", ".legacy.h5"])
def test_keras_whole_model_files_predict_what_keras_predicted(ext):
    x, ys = _expected()
    model = keras.models.load_model(os.path.join(FIXTURES, "conv3d" + ext))
    _check(model.predict(x, verbose=0), ys)


@pytest.mark.parametrize("ext", [".weights.h5", ".legacy.h5"])
def test_keras_weights_load_into_the_kerasette_architecture(ext):
    x, ys = _expected()
    model = _kerasette_conv3d()
    model.load_weights(os.path.join(FIXTURES, "conv3d" + ext))
    _check(model.predict(x, verbose=0), ys)
    loaded = keras.models.load_model(os.path.join(FIXTURES, "conv3d.keras"))
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    for a, b in zip(loaded.layers, model.layers):
        if not isinstance(a, layers.InputLayer):
            assert a.get_config() == b.get_config()


def test_keras2_style_conv3d_config_loads():
    """tf.keras 2.x configs: lists for tuples, ``groups`` 1, Keras 2 names of the same options."""
    config = {"name": "conv3d_1", "trainable": True, "dtype": "float32", "filters": 2, "kernel_size": [2, 2, 2],
              "strides": [1, 1, 1], "padding": "valid", "data_format": "channels_last",
              "dilation_rate": [1, 1, 1], "groups": 1, "activation": "relu", "use_bias": True,
              "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
              "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
              "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None}
    layer = layers.Conv3D.from_config(config)
    assert layer.kernel_size == (2, 2, 2) and layer(_rand(1, 3, 3, 3, 2)).shape == (1, 2, 2, 2, 2)
    pool = layers.MaxPooling3D.from_config({"name": "p", "trainable": True, "pool_size": [2, 2, 2],
                                            "strides": [2, 2, 2], "padding": "valid",
                                            "data_format": "channels_last"})
    assert pool(_rand(1, 4, 4, 4, 1)).shape == (1, 2, 2, 2, 1)
