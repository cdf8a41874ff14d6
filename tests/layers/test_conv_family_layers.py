"""Conv2DTranspose, Conv1DTranspose, DepthwiseConv2D/1D, SeparableConv2D/1D: shapes, weights
(Keras's shapes, names and order), configs, argument errors, saving, and Keras-made files
(tests/fixtures/make_conv_family_fixtures.py) predicting what Keras predicted."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.ops.conv import conv2d
from kerasette.ops.conv_transpose import conv2d_transpose
from kerasette.ops.depthwise import depthwise_conv2d

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# -- shapes and weights ---------------------------------------------------------------------------

SHAPES = [
    # (class, kwargs, input shape, output shape, [(weight name, shape), ...])
    (layers.Conv2DTranspose, dict(filters=4, kernel_size=3), (2, 5, 6, 3), (2, 7, 8, 4),
     [("kernel", (3, 3, 4, 3)), ("bias", (4,))]),
    (layers.Conv2DTranspose, dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 5, 6, 3),
     (2, 10, 12, 4), [("kernel", (3, 3, 4, 3)), ("bias", (4,))]),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=(2, 3), strides=(3, 2), output_padding=(2, 1),
                                  use_bias=False), (1, 4, 4, 1), (1, 13, 10, 2), [("kernel", (2, 3, 2, 1))]),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=1, strides=3), (1, 4, 4, 2), (1, 12, 12, 2),
     [("kernel", (1, 1, 2, 2)), ("bias", (2,))]),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=4, strides=2), (2, 5, 6), (2, 12, 3),
     [("kernel", (4, 3, 6)), ("bias", (3,))]),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same", output_padding=1),
     (2, 5, 6), (2, 10, 3), [("kernel", (3, 3, 6)), ("bias", (3,))]),
    (layers.DepthwiseConv2D, dict(kernel_size=3), (2, 9, 8, 3), (2, 7, 6, 3),
     [("kernel", (3, 3, 3, 1)), ("bias", (3,))]),
    (layers.DepthwiseConv2D, dict(kernel_size=(3, 2), strides=2, padding="same", depth_multiplier=2),
     (2, 9, 8, 3), (2, 5, 4, 6), [("kernel", (3, 2, 3, 2)), ("bias", (6,))]),
    (layers.DepthwiseConv2D, dict(kernel_size=3, dilation_rate=2, use_bias=False), (1, 9, 8, 2),
     (1, 5, 4, 2), [("kernel", (3, 3, 2, 1))]),
    (layers.DepthwiseConv1D, dict(kernel_size=3, depth_multiplier=3), (2, 10, 4), (2, 8, 12),
     [("kernel", (3, 4, 3)), ("bias", (12,))]),
    (layers.SeparableConv2D, dict(filters=5, kernel_size=3), (2, 9, 8, 3), (2, 7, 6, 5),
     [("depthwise_kernel", (3, 3, 3, 1)), ("pointwise_kernel", (1, 1, 3, 5)), ("bias", (5,))]),
    (layers.SeparableConv2D, dict(filters=5, kernel_size=3, strides=2, padding="same", depth_multiplier=2,
                                  use_bias=False), (2, 9, 8, 3), (2, 5, 4, 5),
     [("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 5))]),
    (layers.SeparableConv1D, dict(filters=4, kernel_size=3, padding="same", dilation_rate=2), (2, 10, 3),
     (2, 10, 4), [("depthwise_kernel", (3, 3, 1)), ("pointwise_kernel", (1, 3, 4)), ("bias", (4,))]),
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


def test_layers_compute_what_the_ops_compute():
    x = _rand(2, 6, 5, 3, seed=1)
    up = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", bias_initializer="ones")
    y = up(x).numpy()
    k, b = up.get_weights()
    want = np.maximum(conv2d_transpose(x, k, strides=2, padding="same").numpy() + b, 0)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)

    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, activation="softplus", bias_initializer="ones")
    y = dw(x).numpy()                                     # softplus: the unfused path
    k, b = dw.get_weights()
    np.testing.assert_allclose(y, np.logaddexp(depthwise_conv2d(x, k).numpy() + b, 0), rtol=1e-5, atol=1e-6)

    sep = layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, bias_initializer="ones")
    y = sep(x).numpy()
    dk, pk, b = sep.get_weights()
    mid = depthwise_conv2d(x, dk, padding="same").numpy()
    np.testing.assert_allclose(y, conv2d(mid, pk).numpy() + b, rtol=1e-5, atol=1e-5)

    x1 = _rand(2, 7, 3, seed=2)
    for layer in (layers.Conv1DTranspose(2, 3, strides=2), layers.DepthwiseConv1D(3, depth_multiplier=2),
                  layers.SeparableConv1D(2, 3)):
        y1 = layer(x1).numpy()
        twod = {layers.Conv1DTranspose: layers.Conv2DTranspose(2, (1, 3), strides=(1, 2)),
                layers.DepthwiseConv1D: layers.DepthwiseConv2D((1, 3), depth_multiplier=2),
                layers.SeparableConv1D: layers.SeparableConv2D(2, (1, 3))}[type(layer)]
        twod.build((None, 1, 7, 3))
        twod.set_weights([w.reshape((1,) + w.shape) if w.ndim > 1 else w for w in layer.get_weights()])
        np.testing.assert_allclose(y1, twod(x1[:, None]).numpy()[:, 0], rtol=1e-5, atol=1e-6)


# -- configs ----------------------------------------------------------------------------------------

CONFIGS = [
    (layers.Conv2DTranspose, dict(filters=6, kernel_size=(3, 2), strides=(2, 1), padding="same",
                                  output_padding=(1, 0), activation="tanh", use_bias=False,
                                  kernel_initializer="he_normal", kernel_regularizer="l2", name="t")),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=3, dilation_rate=2, kernel_constraint="non_neg")),
    (layers.DepthwiseConv2D, dict(kernel_size=3, strides=2, depth_multiplier=3, padding="same",
                                  activation="relu", depthwise_initializer="he_uniform",
                                  depthwise_regularizer="l1", bias_constraint="non_neg")),
    (layers.DepthwiseConv1D, dict(kernel_size=5, dilation_rate=2)),
    (layers.SeparableConv2D, dict(filters=4, kernel_size=3, depth_multiplier=2, pointwise_initializer="ones",
                                  pointwise_regularizer="l2", pointwise_constraint="max_norm")),
    (layers.SeparableConv1D, dict(filters=4, kernel_size=2, strides=2, activation="sigmoid")),
]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[c[0].__name__ for c in CONFIGS])
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        if key in ("kernel_size", "strides", "dilation_rate", "output_padding"):
            value = value if isinstance(value, tuple) else (value,) * cls.RANK
        if not key.endswith(("initializer", "regularizer", "constraint")):
            assert config[key] == value, key
    clone = cls.from_config(config)
    assert clone.get_config() == config
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is cls and again.get_config() == config


def test_keras_names_and_defaults():
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.Convolution1DTranspose is layers.Conv1DTranspose
    assert layers.SeparableConvolution2D is layers.SeparableConv2D
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    c = layers.Conv2DTranspose(2, 3).get_config()
    assert (c["strides"], c["padding"], c["output_padding"], c["dilation_rate"], c["data_format"]) == \
        ((1, 1), "valid", None, (1, 1), "channels_last")
    d = layers.DepthwiseConv2D(3).get_config()
    assert d["depth_multiplier"] == 1 and d["depthwise_initializer"]["class_name"] == "GlorotUniform"
    s = layers.SeparableConv1D(2, 3).get_config()
    assert s["depth_multiplier"] == 1 and s["pointwise_initializer"]["class_name"] == "GlorotUniform"


def test_regularizers_and_constraints_apply():
    dw = layers.DepthwiseConv2D(3, depthwise_regularizer=keras.regularizers.L2(0.5), bias_regularizer="l1")
    dw(_rand(1, 5, 5, 2))
    assert len(dw.losses) == 2
    np.testing.assert_allclose(float(dw.losses[0].numpy()), 0.5 * float(np.sum(dw.kernel.numpy() ** 2)),
                               rtol=1e-5)
    sep = layers.SeparableConv2D(2, 3, pointwise_constraint="non_neg", depthwise_regularizer="l2",
                                 pointwise_regularizer="l2")
    assert sep.pointwise_constraint is not None
    sep(_rand(1, 5, 5, 2))
    assert len(sep.losses) == 2
    up = layers.Conv2DTranspose(2, 3, kernel_regularizer="l2")
    up(_rand(1, 3, 3, 2))
    assert len(up.losses) == 1


# -- bad arguments and inputs -------------------------------------------------------------------------

BAD = [
    (layers.Conv2DTranspose, dict(filters=0, kernel_size=3), "filters must be a positive integer, got 0"),
    (layers.Conv2DTranspose, dict(filters=2.5, kernel_size=3), "filters must be a positive integer"),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=(3, 0)), "kernel_size must be positive"),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=0), "strides must be positive"),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, output_padding=2),
     r"output_padding must be smaller than strides.*output_padding=\(2, 2\) with strides=\(2, 2\)"),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, output_padding=1), "output_padding must be smaller"),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "dilation"),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, padding="causal"), "padding must be"),
    (layers.Conv1DTranspose, dict(filters=2, kernel_size=(3, 3)), "kernel_size must be an int or a tuple of 1"),
    (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=0), "depth_multiplier must be a positive"),
    (layers.DepthwiseConv2D, dict(kernel_size=3, strides=(1, -1)), "strides must be positive"),
    (layers.DepthwiseConv1D, dict(kernel_size=3, padding="causal"), "padding must be"),
    (layers.SeparableConv2D, dict(filters=-1, kernel_size=3), "filters must be a positive integer, got -1"),
    (layers.SeparableConv2D, dict(filters=2, kernel_size=3, depth_multiplier=1.5), "depth_multiplier"),
    (layers.SeparableConv1D, dict(filters=2, kernel_size=3, dilation_rate=0), "dilation_rate must be positive"),
]


@pytest.mark.parametrize("cls,kwargs,match", BAD, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(BAD)])
def test_bad_arguments_are_one_line_errors_naming_the_layer(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as e:
        cls(**kwargs, name="bad")
    assert str(e.value).startswith(f"{cls.__name__} 'bad': ") and "\n" not in str(e.value)


@pytest.mark.parametrize("cls,args", [(layers.Conv2DTranspose, (2, 3)), (layers.DepthwiseConv2D, (3,)),
                                      (layers.SeparableConv1D, (2, 3))])
def test_channels_first_is_refused_and_activity_regularizer_used(cls, args):
    with pytest.raises(ValueError, match=r"data_format='channels_first' is not supported") as e:
        cls(*args, data_format="channels_first", name="cf")
    assert str(e.value).startswith(f"{cls.__name__} 'cf'") and "\n" not in str(e.value)
    layer = cls(*args, activity_regularizer="l1")
    x = np.ones((2, 5, 2) if cls is layers.SeparableConv1D else (2, 5, 5, 2), dtype="float32")
    out = layer(x).numpy()
    np.testing.assert_allclose(float(layer.losses[0].numpy()), 0.01 * np.abs(out).sum() / 2, rtol=1e-5)


def test_bad_input_shapes_leave_the_layer_unbuilt():
    layer = layers.SeparableConv2D(2, 3, name="s")
    with pytest.raises(ValueError, match=r"SeparableConv2D 's'.*rank 4.*channel axis is missing"):
        layer(np.zeros((2, 8, 8), dtype="float32"))
    assert not layer.built and layer.weights == []
    with pytest.raises(ValueError, match=r"kernel_size \(3, 3\).*larger than the input height 2"):
        layer(np.zeros((1, 2, 8, 1), dtype="float32"))
    assert layer.weights == []
    layer(np.zeros((1, 5, 5, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"expected input with 3 channels.*\(1, 5, 5, 2\)"):
        layer(np.zeros((1, 5, 5, 2), dtype="float32"))
    with pytest.raises(ValueError, match=r"Conv1DTranspose 't'.*rank 3 \(batch, steps, channels\)"):
        layers.Conv1DTranspose(2, 3, name="t")(keras.Input((4, 4, 2)))
    with pytest.raises(ValueError, match="DepthwiseConv1D 'd'.*larger than the input length 2"):
        layers.DepthwiseConv1D(3, name="d")(keras.Input((2, 4)))
    # a transposed convolution has no minimum input size
    assert layers.Conv2DTranspose(2, 5)(np.zeros((1, 1, 1, 2), dtype="float32")).shape == (1, 5, 5, 2)


# -- training and saving ---------------------------------------------------------------------------

def _autoencoder():
    inputs = keras.Input((8, 8, 2))
    x = layers.SeparableConv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, activation="relu")(x)
    x = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(x)
    return keras.Model(inputs, x)


def test_an_autoencoder_trains_and_saves(tmp_path):
    keras.set_random_seed(1)
    x = _rand(32, 8, 8, 2, seed=3)
    model = _autoencoder()
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(x, x, batch_size=8, epochs=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    pred = model.predict(x, verbose=0)
    for name in ("ae.keras", "ae.h5"):
        path = str(tmp_path / name)
        model.save(path)
        again = keras.models.load_model(path)
        np.testing.assert_allclose(again.predict(x, verbose=0), pred, rtol=1e-6, atol=1e-6)
        assert [w.name for w in again.weights] == [w.name for w in model.weights]


# -- Keras-made files ------------------------------------------------------------------------------

def _kerasette_builders():
    L = layers

    def conv_transpose():
        return keras.Sequential([
            keras.Input((5, 4, 3)),
            L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", name="up_same"),
            L.Conv2DTranspose(3, (2, 3), strides=(2, 1), output_padding=(1, 0), name="up_valid_outpad"),
            L.Conv2DTranspose(2, 3, dilation_rate=2, padding="same", use_bias=False, activation="tanh",
                              name="dilated"),
            L.Conv2DTranspose(2, 3, strides=3, padding="same", output_padding=1, activation="softplus",
                              name="same_outpad")], name="conv_transpose")

    def depthwise():
        return keras.Sequential([
            keras.Input((9, 8, 3)),
            L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu", name="dw_same"),
            L.DepthwiseConv2D((3, 2), strides=2, name="dw_strided"),
            L.DepthwiseConv2D(3, dilation_rate=2, padding="same", use_bias=False, activation="sigmoid",
                              name="dw_dilated"),
            L.DepthwiseConv2D(2, strides=(2, 1), padding="same", depth_multiplier=3, activation="elu",
                              name="dw_same_strided")], name="depthwise")

    def separable():
        return keras.Sequential([
            keras.Input((9, 8, 3)),
            L.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, activation="relu", name="sep_same"),
            L.SeparableConv2D(4, (3, 2), strides=2, name="sep_strided"),
            L.SeparableConv2D(3, 3, dilation_rate=2, padding="same", use_bias=False, activation="tanh",
                              name="sep_dilated"),
            L.GlobalAveragePooling2D(),
            L.Dense(2, name="head")], name="separable")

    def conv1d_family():
        inputs = keras.Input((10, 3))
        x = L.Conv1DTranspose(4, 3, strides=2, padding="same", name="up1d")(inputs)
        x = L.DepthwiseConv1D(3, depth_multiplier=2, strides=2, activation="tanh", name="dw1d")(x)
        x = L.SeparableConv1D(5, 3, padding="same", dilation_rate=2, depth_multiplier=2, name="sep1d")(x)
        y = L.Conv1DTranspose(2, 2, strides=3, output_padding=1, activation="sigmoid", name="up1d_outpad")(x)
        z = L.DepthwiseConv1D(2, padding="same", dilation_rate=3, use_bias=False, name="dw1d_dilated")(x)
        z = L.SeparableConv1D(2, 3, strides=2, padding="same", use_bias=False, name="sep1d_strided")(z)
        return keras.Model(inputs, [y, z], name="conv1d_family")

    return {"conv_transpose": conv_transpose, "depthwise": depthwise, "separable": separable,
            "conv1d_family": conv1d_family}


BUILDERS = _kerasette_builders()


def _expected(name):
    data = np.load(os.path.join(FIXTURES, name + ".npz"))
    ys = [data["y"]] + [data[f"y{i}"] for i in range(1, 4) if f"y{i}" in data.files]
    return data["x0"], ys


def _check(pred, ys):
    pred = pred if isinstance(pred, list) else [pred]
    assert len(pred) == len(ys)
    for p, y in zip(pred, ys):
        assert p.shape == y.shape
        np.testing.assert_allclose(p, y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ext", [".keras", ".legacy.h5"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_whole_model_files_predict_what_keras_predicted(name, ext):
    x, ys = _expected(name)
    model = keras.models.load_model(os.path.join(FIXTURES, name + ext))
    _check(model.predict(x, verbose=0), ys)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_weights_load_into_the_kerasette_architecture(name):
    x, ys = _expected(name)
    model = BUILDERS[name]()
    model.load_weights(os.path.join(FIXTURES, name + ".weights.h5"))
    _check(model.predict(x, verbose=0), ys)
    # by order from the legacy file too, and the loaded layer configs match kerasette's own
    other = BUILDERS[name]()
    other.load_weights(os.path.join(FIXTURES, name + ".legacy.h5"))
    _check(other.predict(x, verbose=0), ys)
    loaded = keras.models.load_model(os.path.join(FIXTURES, name + ".keras"))
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    for a, b in zip(loaded.layers, model.layers):
        if not isinstance(a, layers.InputLayer):
            assert a.get_config() == b.get_config()


def test_keras2_configs_with_groups_1_load_and_other_groups_are_refused():
    """tf.keras 2.x wrote ``"groups": 1`` into DepthwiseConv2D / Conv2DTranspose configs
    (Keras 3 itself refuses the key); kerasette takes 1 and refuses anything else."""
    config = {"name": "block1a_dwconv", "trainable": True, "dtype": "float32", "kernel_size": [3, 3],
              "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
              "groups": 1, "activation": "linear", "use_bias": False,
              "bias_initializer": {"class_name": "Zeros", "config": {}}, "bias_regularizer": None,
              "activity_regularizer": None, "bias_constraint": None, "depth_multiplier": 1,
              "depthwise_initializer": {"class_name": "VarianceScaling",
                                        "config": {"scale": 2.0, "mode": "fan_out",
                                                   "distribution": "truncated_normal", "seed": None}},
              "depthwise_regularizer": None, "depthwise_constraint": None}
    layer = layers.DepthwiseConv2D.from_config(config)
    assert layer.kernel_size == (3, 3) and layer.padding == "same" and not layer.use_bias
    assert layer(_rand(1, 4, 4, 2)).shape == (1, 4, 4, 2)
    up = layers.Conv2DTranspose.from_config({"name": "up", "filters": 2, "kernel_size": [2, 2], "strides": [2, 2],
                                             "padding": "valid", "groups": 1, "output_padding": None})
    assert up(_rand(1, 3, 3, 2)).shape == (1, 6, 6, 2)
    with pytest.raises(ValueError, match=r"SeparableConv2D 'g': groups=4 is not supported") as e:
        layers.SeparableConv2D(2, 3, groups=4, name="g")
    assert "\n" not in str(e.value)


def test_unknown_spatial_sizes_and_keras_auto_names():
    inputs = keras.Input((None, None, 3))
    a = layers.Conv2DTranspose(4, 3, strides=2, padding="same")
    b = layers.DepthwiseConv2D(3)
    c = layers.SeparableConv2D(2, 3, strides=2)
    out = c(b(a(inputs)))
    assert out.shape == (None, None, None, 2)
    model = keras.Model(inputs, out)
    assert model.predict(_rand(2, 5, 6, 3), verbose=0).shape == (2, 3, 4, 2)
    assert [a.name, b.name, c.name] == ["conv2d_transpose", "depthwise_conv2d", "separable_conv2d"]
    seq = keras.Input((None, 3))
    d, e, f = layers.Conv1DTranspose(3, 2, strides=2), layers.DepthwiseConv1D(2), layers.SeparableConv1D(2, 3)
    assert f(e(d(seq))).shape == (None, None, 2)
    assert [d.name, e.name, f.name] == ["conv1d_transpose", "depthwise_conv1d", "separable_conv1d"]
