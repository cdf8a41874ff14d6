"""More of the Keras 3 layer catalogue: GroupNormalization, UnitNormalization, RMSNormalization,
SpatialDropout3D, AlphaDropout, Conv3DTranspose and the adaptive poolings (1-D / 2-D / 3-D,
average and max).

Float64 finite-difference gradients of each layer's output w.r.t. its input and its weights;
outputs against real Keras 3 on the same weights (skipped without keras / torch); weight names,
shapes and order as Keras; configs (round trip, Keras's keys); argument and shape errors; the
dropout layers' noise; and the Keras-made files of tests/fixtures/make_catalogue_more_fixtures.py
(``cat_more.*``) predicting what Keras predicted, then kerasette's own save / load round trip."""
import importlib.util
import json
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def _np(t):
    return keras.ops.convert_to_numpy(t)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if not hasattr(real, "ops") or real.backend.backend() != "torch":
        pytest.skip("needs Keras 3 on the torch backend")
    return real


# (id, class name, kwargs, input shape, names of the weights in Keras's order)
CASES = [
    ("gn_groups2", "GroupNormalization", dict(groups=2), (2, 5, 6), ["gamma", "beta"]),
    ("gn_instance_axis1", "GroupNormalization", dict(groups=-1, axis=1, center=False), (2, 4, 3, 5), ["gamma"]),
    ("gn_one_group", "GroupNormalization", dict(groups=1, scale=False, epsilon=0.1), (2, 3, 3, 4), ["beta"]),
    ("gn_axis_m2", "GroupNormalization", dict(groups=3, axis=-2), (2, 6, 2), ["gamma", "beta"]),
    ("unit_last", "UnitNormalization", dict(), (3, 5), []),
    ("unit_axes", "UnitNormalization", dict(axis=[1, 2]), (2, 3, 4, 2), []),
    ("rms_last", "RMSNormalization", dict(), (3, 6), ["scale"]),
    ("rms_two_axes", "RMSNormalization", dict(axis=[-2, -1], epsilon=1e-3), (2, 3, 4), ["scale"]),
    ("deconv3d_valid", "Conv3DTranspose", dict(filters=3, kernel_size=2), (2, 3, 3, 3, 2), ["kernel", "bias"]),
    ("deconv3d_strided_same", "Conv3DTranspose",
     dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 2), padding="same"), (1, 3, 4, 3, 2),
     ["kernel", "bias"]),
    ("deconv3d_output_padding", "Conv3DTranspose",
     dict(filters=2, kernel_size=3, strides=2, output_padding=1, activation="tanh"), (1, 2, 3, 2, 2),
     ["kernel", "bias"]),
    ("deconv3d_same_output_padding", "Conv3DTranspose",
     dict(filters=2, kernel_size=3, strides=(2, 2, 3), padding="same", output_padding=(1, 0, 2)),
     (1, 2, 2, 2, 2), ["kernel", "bias"]),
    ("deconv3d_dilated", "Conv3DTranspose",
     dict(filters=2, kernel_size=2, dilation_rate=(2, 1, 2), padding="same", use_bias=False), (1, 3, 3, 4, 1),
     ["kernel"]),
    ("aap1d", "AdaptiveAveragePooling1D", dict(output_size=3), (2, 10, 3), []),
    ("aap1d_upsample", "AdaptiveAveragePooling1D", dict(output_size=7), (2, 4, 3), []),
    ("amp1d_cf", "AdaptiveMaxPooling1D", dict(output_size=4, data_format="channels_first"), (2, 3, 9), []),
    ("aap2d", "AdaptiveAveragePooling2D", dict(output_size=(3, 2)), (2, 7, 5, 2), []),
    ("amp2d", "AdaptiveMaxPooling2D", dict(output_size=3), (2, 5, 8, 2), []),
    ("aap3d_cf", "AdaptiveAveragePooling3D", dict(output_size=(2, 3, 2), data_format="channels_first"),
     (1, 2, 5, 6, 4), []),
    ("amp3d", "AdaptiveMaxPooling3D", dict(output_size=2), (1, 5, 3, 4, 2), []),
]
IDS = [c[0] for c in CASES]


def _random_weights(layer, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=w.shape) * 0.5 + (1.0 if w.name in ("gamma", "scale") else 0.0)
            for w in layer.weights]


# -- weights, shapes, gradients -------------------------------------------------------------------

@pytest.mark.parametrize("case, cls, kwargs, shape, names", CASES, ids=IDS)
def test_weights_and_output_shape(case, cls, kwargs, shape, names):
    layer = getattr(layers, cls)(**kwargs)
    out = layer(_rand(*shape).astype("float32"))
    assert [w.name for w in layer.weights] == names
    assert out.dtype == np.float32
    assert tuple(out.shape) == layer.compute_output_shape(shape)
    symbolic = getattr(layers, cls)(**kwargs)(keras.Input(shape[1:]))
    assert tuple(symbolic.shape) == (None,) + tuple(out.shape[1:])


@pytest.mark.parametrize("case, cls, kwargs, shape, names", CASES, ids=IDS)
def test_gradients_of_input_and_weights(case, cls, kwargs, shape, names):
    """Float64 finite differences against backprop, w.r.t. the input and every weight."""
    layer = getattr(layers, cls)(dtype="float64", **kwargs)
    layer.build(shape)
    values = _random_weights(layer)

    def fn(x, *weights):
        for name, w in zip(names, weights):
            setattr(layer, name, w)
        return layer(x)
    assert gradcheck(fn, [_rand(*shape, seed=2)] + values)


@needs_keras
@pytest.mark.parametrize("case, cls, kwargs, shape, names", CASES, ids=IDS)
def test_matches_real_keras(case, cls, kwargs, shape, names):
    """Keras builds the layer, its weights (random) go into kerasette's: the same outputs, the
    same weight names, shapes and order, and a config with Keras's keys that Keras can load."""
    real = _keras()
    ref = getattr(real.layers, cls)(**kwargs)
    x = _rand(*shape, seed=3).astype("float32")
    ref.build(shape)
    ref.set_weights([w.astype("float32") for w in _random_weights(ref, seed=4)])
    expected = real.ops.convert_to_numpy(ref(x))
    layer = getattr(layers, cls)(**kwargs)
    layer.build(shape)
    assert [(w.name, tuple(w.shape)) for w in layer.weights] == [(w.name, tuple(w.shape)) for w in ref.weights]
    layer.set_weights(ref.get_weights())
    np.testing.assert_allclose(_np(layer(x)), expected, rtol=1e-5, atol=1e-5)
    ours, theirs = layer.get_config(), ref.get_config()
    assert set(ours) == set(theirs)
    for key in set(ours) - {"dtype", "name"}:
        if key.endswith("_initializer"):       # Keras 3.15's initializers carry more (None) options
            assert ours[key]["class_name"] == theirs[key]["class_name"], key
            continue
        assert json.loads(json.dumps(ours[key])) == json.loads(json.dumps(theirs[key])), key
    again = getattr(real.layers, cls).from_config(json.loads(json.dumps(ours)))   # Keras reads ours
    assert again.get_config()["name"] == layer.name


@pytest.mark.parametrize("case, cls, kwargs, shape, names", CASES, ids=IDS)
def test_config_round_trip(case, cls, kwargs, shape, names):
    layer = getattr(layers, cls)(**kwargs)
    layer(_rand(*shape).astype("float32"))
    config = json.loads(json.dumps(layer.get_config()))
    clone = getattr(layers, cls).from_config(config)
    clone.build(shape)
    assert clone.get_config() == layer.get_config()
    clone.set_weights(layer.get_weights())
    x = _rand(*shape, seed=5).astype("float32")
    np.testing.assert_array_equal(_np(clone(x)), _np(layer(x)))
    assert layers.deserialize(layers.serialize(layer)).get_config() == layer.get_config()


def test_aliases_and_keras_bin_rule():
    assert layers.Convolution3DTranspose is layers.Conv3DTranspose
    x = np.arange(5.0).reshape(1, 5, 1)
    # bins of 5 -> 3: [0, 2), [1, 4), [3, 5): they overlap
    np.testing.assert_allclose(_np(layers.AdaptiveAveragePooling1D(3)(x))[0, :, 0], [0.5, 2.0, 3.5])
    np.testing.assert_allclose(_np(layers.AdaptiveMaxPooling1D(3)(x))[0, :, 0], [1.0, 3.0, 4.0])
    np.testing.assert_allclose(_np(layers.AdaptiveMaxPooling1D(7)(x))[0, :, 0], [0, 1, 2, 2, 3, 4, 4])
    img = _rand(2, 6, 8, 3).astype("float32")          # divisible sizes: the plain poolings
    np.testing.assert_allclose(_np(layers.AdaptiveAveragePooling2D((3, 2))(img)),
                               _np(layers.AveragePooling2D((2, 4))(img)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(_np(layers.AdaptiveMaxPooling2D((3, 2))(img)),
                                  _np(layers.MaxPooling2D((2, 4))(img)))


def test_normalizations_against_numpy():
    x = _rand(2, 3, 6)
    gn = layers.GroupNormalization(groups=3, dtype="float64")
    g = x.reshape(2, 3, 3, 2)
    ref = (g - g.mean(axis=(1, 3), keepdims=True)) / np.sqrt(g.var(axis=(1, 3), keepdims=True) + 1e-3)
    np.testing.assert_allclose(_np(gn(x)), ref.reshape(x.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(layers.UnitNormalization(dtype="float64")(x)),
                               x / np.linalg.norm(x, axis=-1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(_np(layers.UnitNormalization()(np.zeros((2, 3)))), np.zeros((2, 3)))
    assert gradcheck(lambda t: layers.UnitNormalization(dtype="float64")(t), [np.zeros((1, 3)) + 1e-3])
    np.testing.assert_allclose(_np(layers.RMSNormalization(dtype="float64")(x)),
                               x / np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + 1e-6), rtol=1e-12)


def test_groups_minus_one_is_stored_as_the_channel_count():
    layer = layers.GroupNormalization(groups=-1)
    assert layer.get_config()["groups"] == -1
    layer(np.ones((2, 3, 5), np.float32))
    assert layer.get_config()["groups"] == 5                 # as Keras after build


def test_rms_axis_becomes_a_sorted_list_when_built():
    layer = layers.RMSNormalization(axis=-1)
    layer(np.ones((2, 3), np.float32))
    assert layer.axis == [-1] and layer.get_config()["axis"] == [-1]


def test_masks_pass_through_the_normalizations():
    x = np.ones((2, 4, 6), np.float32)
    x[:, 2:] = 0
    inputs = keras.Input((4, 6))
    masked = layers.Masking()(inputs)
    for layer in (layers.GroupNormalization(groups=2), layers.UnitNormalization(), layers.AlphaDropout(0.3),
                  layers.SpatialDropout1D(0.2)):
        assert layer(masked)._keras_mask is not None
        out = layer(layers.Masking()(x))
        np.testing.assert_array_equal(_np(out._keras_mask), [[True, True, False, False]] * 2)


# -- the dropout layers ---------------------------------------------------------------------------

def test_dropout_layers_are_the_identity_at_inference():
    vol = _rand(2, 3, 3, 3, 4).astype("float32")
    for layer in (layers.SpatialDropout3D(0.5), layers.AlphaDropout(0.5)):
        np.testing.assert_array_equal(_np(layer(vol)), vol)
        np.testing.assert_array_equal(_np(layer(vol, training=False)), vol)
        assert layer(keras.Input((3, 3, 3, 4))).shape == (None, 3, 3, 3, 4)


def test_spatial_dropout3d_drops_whole_channels():
    out = _np(layers.SpatialDropout3D(0.5)(np.ones((4, 2, 3, 3, 16), np.float32), training=True))
    assert (out == out[:, :1, :1, :1, :]).all() and set(np.unique(out)) <= {0.0, 2.0}
    assert 0 < (out == 0).mean() < 1
    first = _np(layers.SpatialDropout3D(0.5, data_format="channels_first")(np.ones((4, 16, 2, 3, 3), np.float32),
                                                                          training=True))
    assert (first == first[:, :, :1, :1, :1]).all() and 0 < (first == 0).mean() < 1


def test_alpha_dropout_keeps_mean_and_variance():
    x = np.random.default_rng(0).standard_normal((300, 400)).astype("float32")
    y = _np(layers.AlphaDropout(0.3)(x, training=True))
    assert y.dtype == np.float32
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.3) * (1 + 0.3 * alpha_p ** 2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * 0.3, atol=1e-6)
    assert abs(dropped.mean() - 0.3) < 0.01                     # dropped elements share one value
    np.testing.assert_allclose(y[~dropped], (a * x - a * alpha_p * 0.3)[~dropped], rtol=1e-5, atol=1e-5)
    shared = _np(layers.AlphaDropout(0.5, noise_shape=(None, 1))(np.ones((8, 6), np.float32), training=True))
    assert (shared == shared[:, :1]).all()


SEEDED = [(lambda seed: layers.SpatialDropout3D(0.4, seed=seed, dtype="float64"), (2, 2, 3, 2, 4)),
          (lambda seed: layers.AlphaDropout(0.4, seed=seed, dtype="float64"), (3, 5)),
          (lambda seed: layers.AlphaDropout(0.4, noise_shape=(None, 1, None), seed=seed, dtype="float64"),
           (3, 2, 4))]


@pytest.mark.parametrize("make, shape", SEEDED)
def test_dropout_gradients_with_the_noise_fixed(make, shape):
    """A layer made with the same seed draws the same noise first, so the gradient checks."""
    assert gradcheck(lambda t: make(5)(t, training=True), [_rand(*shape)])


@pytest.mark.parametrize("make, shape", SEEDED)
def test_dropout_seeds(make, shape):
    x = np.ones(shape)
    a, b = make(7), make(7)
    first = _np(a(x, training=True))
    np.testing.assert_array_equal(first, _np(b(x, training=True)))
    assert not np.array_equal(first, _np(a(x, training=True)))


@pytest.mark.parametrize("layer", [layers.SpatialDropout3D(0.3, seed=4, data_format="channels_first"),
                                   layers.AlphaDropout(0.2, noise_shape=(None, 1), seed=3)])
def test_dropout_config_round_trip(layer):
    config = json.loads(json.dumps(layer.get_config()))
    assert type(layer).from_config(config).get_config() == layer.get_config()


@needs_keras
def test_dropout_configs_have_keras_keys():
    real = _keras()
    for cls, kwargs in (("SpatialDropout3D", dict(rate=0.3, seed=2)), ("AlphaDropout", dict(rate=0.2))):
        ours = getattr(layers, cls)(**kwargs).get_config()
        assert set(ours) == set(getattr(real.layers, cls)(**kwargs).get_config())


# -- errors ---------------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    (lambda: layers.GroupNormalization(groups=0), "GroupNormalization .*groups"),
    (lambda: layers.GroupNormalization(groups=2.5), "GroupNormalization .*groups"),
    (lambda: layers.GroupNormalization(axis=[1, 2]), "GroupNormalization .*axis"),
    (lambda: layers.GroupNormalization(epsilon=-1), "GroupNormalization .*epsilon"),
    (lambda: layers.UnitNormalization(axis="last"), "UnitNormalization .*axis"),
    (lambda: layers.RMSNormalization(axis=1.5), "RMSNormalization .*axis"),
    (lambda: layers.RMSNormalization(epsilon="small"), "RMSNormalization .*epsilon"),
    (lambda: layers.SpatialDropout3D(1.0), "SpatialDropout3D .*rate"),
    (lambda: layers.SpatialDropout3D(0.1, data_format="channels_middle"), "SpatialDropout3D .*data_format"),
    (lambda: layers.AlphaDropout(-0.1), "AlphaDropout .*rate"),
    (lambda: layers.AlphaDropout(0.1, noise_shape=5), "AlphaDropout .*noise_shape"),
    (lambda: layers.AlphaDropout(0.1, seed="x"), "AlphaDropout .*seed"),
    (lambda: layers.Conv3DTranspose(0, 3), "Conv3DTranspose .*filters"),
    (lambda: layers.Conv3DTranspose(2, (3, 3)), "Conv3DTranspose .*kernel_size"),
    (lambda: layers.Conv3DTranspose(2, 3, strides=2, output_padding=2), "Conv3DTranspose .*output_padding"),
    (lambda: layers.Conv3DTranspose(2, 3, strides=2, dilation_rate=2), "Conv3DTranspose .*dilation_rate"),
    (lambda: layers.Conv3DTranspose(2, 3, padding="full"), "Conv3DTranspose .*padding"),
    (lambda: layers.Conv3DTranspose(2, 3, data_format="channels_first"), "Conv3DTranspose .*channels_first"),
    (lambda: layers.AdaptiveAveragePooling2D((2, 2, 2)), "AdaptiveAveragePooling2D .*output_size"),
    (lambda: layers.AdaptiveMaxPooling1D(0), "AdaptiveMaxPooling1D .*output_size"),
    (lambda: layers.AdaptiveMaxPooling3D(2, data_format="nchw"), "AdaptiveMaxPooling3D .*data_format"),
]


@pytest.mark.parametrize("make, match", BAD_ARGUMENTS)
def test_bad_arguments_are_one_line_value_errors(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


BAD_SHAPES = [
    (lambda: layers.GroupNormalization(groups=4), (2, 3, 6), "GroupNormalization .*groups=4"),
    (lambda: layers.GroupNormalization(axis=3), (2, 3, 6), "GroupNormalization .*axis 3"),
    (lambda: layers.UnitNormalization(axis=2), (2, 3), "UnitNormalization .*axis 2"),
    (lambda: layers.RMSNormalization(axis=1), (2, 3, 4), "RMSNormalization .*last"),
    (lambda: layers.SpatialDropout3D(0.2), (2, 3, 4, 5), "SpatialDropout3D .*rank 5"),
    (lambda: layers.AlphaDropout(0.2, noise_shape=(None, 1)), (2, 3, 4), "AlphaDropout .*noise_shape"),
    (lambda: layers.Conv3DTranspose(2, 2), (2, 3, 4, 5), "Conv3DTranspose .*rank 5"),
    (lambda: layers.AdaptiveMaxPooling2D(2), (2, 3, 4), "AdaptiveMaxPooling2D .*rank 4"),
]


@pytest.mark.parametrize("make, shape, match", BAD_SHAPES)
def test_bad_input_shapes_name_the_layer(make, shape, match):
    with pytest.raises(ValueError, match=match):
        make()(np.ones(shape, np.float32), training=True)
    with pytest.raises(ValueError, match=match):
        make()(keras.Input(shape[1:]))


def test_a_built_layer_refuses_other_channels():
    for layer, good, bad in ((layers.GroupNormalization(groups=2), (2, 3, 4), (2, 3, 6)),
                             (layers.RMSNormalization(), (2, 4), (2, 5)),
                             (layers.Conv3DTranspose(2, 2), (1, 2, 2, 2, 3), (1, 2, 2, 2, 4))):
        layer(np.ones(good, np.float32))
        with pytest.raises(ValueError, match=type(layer).__name__):
            layer(np.ones(bad, np.float32))


# -- models, files --------------------------------------------------------------------------------

def cat_more(k=keras):
    """The fixture's model (make_catalogue_more_fixtures.py), built with kerasette."""
    L = k.layers
    x = k.Input((6, 6, 4), name="img")
    h = L.GroupNormalization(groups=2, name="gn")(x)
    h = L.RMSNormalization(axis=[-2, -1], name="rms")(h)
    h = L.AlphaDropout(0.2, name="adrop")(h)
    u = L.UnitNormalization(axis=[1, 2], name="unit")(h)
    a2 = L.AdaptiveAveragePooling2D((4, 3), name="aap2")(u)
    m2 = L.AdaptiveMaxPooling2D(4, data_format="channels_first", name="amp2")(u)
    v = L.Reshape((3, 6, 4, 2), name="to_vol")(h)
    v = L.Conv3DTranspose(3, (2, 3, 2), strides=(2, 1, 2), output_padding=(1, 0, 1), activation="tanh",
                          name="deconv")(v)
    v = L.GroupNormalization(groups=-1, axis=-1, epsilon=0.01, name="inorm")(v)
    v = L.SpatialDropout3D(0.3, name="sdrop3d")(v)
    w = L.Conv3DTranspose(2, 2, strides=2, padding="same", use_bias=False, name="deconv_same")(v)
    a3 = L.AdaptiveAveragePooling3D((2, 3, 2), name="aap3")(w)
    m3 = L.AdaptiveMaxPooling3D(2, name="amp3")(v)
    s = L.Reshape((36, 4), name="to_seq")(h)
    a1 = L.AdaptiveAveragePooling1D(5, name="aap1")(s)
    m1 = L.AdaptiveMaxPooling1D(7, data_format="channels_first", name="amp1")(s)
    flat = [L.Flatten(name=f"flat_{i}")(t) for i, t in enumerate([a2, m2, a3, m3, a1, m1])]
    out = L.Dense(3, name="head")(L.Concatenate(name="cat")(flat))
    return k.Model(x, out, name="cat_more")


def test_keras_model_file_predicts_as_keras(tmp_path):
    data = np.load(os.path.join(FIXTURES, "cat_more.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "cat_more.keras"))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=1e-5)
    for ext in (".keras", ".h5"):                         # and kerasette's own files round-trip
        model.save(tmp_path / ("again" + ext))
        again = keras.models.load_model(tmp_path / ("again" + ext))
        np.testing.assert_allclose(again.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=1e-5)
        assert [type(l).__name__ for l in again.layers] == [type(l).__name__ for l in model.layers]
        assert again.get_config() == model.get_config()


def test_keras_weights_file_loads_into_the_same_architecture(tmp_path):
    data = np.load(os.path.join(FIXTURES, "cat_more.npz"))
    model = cat_more()
    model.load_weights(os.path.join(FIXTURES, "cat_more.weights.h5"))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], atol=1e-5, rtol=1e-5)
    model.save_weights(tmp_path / "again.weights.h5")
    clone = cat_more()
    clone.load_weights(tmp_path / "again.weights.h5")
    np.testing.assert_array_equal(clone.predict(data["x"], verbose=0), model.predict(data["x"], verbose=0))


def test_the_model_trains():
    keras.set_random_seed(3)
    model = cat_more()
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 6, 6, 4)).astype("float32"), rng.normal(size=(8, 3)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
