"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax. Values against formulas and
real Keras 3 (tests/fixtures/cat_eager.npz from make_catalogue_fixtures.py), gradchecks,
configs, masks and argument errors."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
rng = np.random.default_rng(1)


def _np(t):
    return keras.ops.convert_to_numpy(t)


def _away_from_kinks(shape, kinks, scale=3.0):
    """Random values at least 0.05 from each kink (finite differences need smooth points)."""
    x = rng.standard_normal(shape) * scale
    for k in kinks:
        close = np.abs(x - k) < 0.05
        x[close] += 0.1
    return x


def _relu_reference(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        y = np.minimum(y, max_value)
    return y - negative_slope * np.maximum(threshold - x, 0.0)


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 6.0}, {"negative_slope": 0.5}, {"threshold": 1.0},
                                    {"max_value": 2.0, "negative_slope": 0.3, "threshold": 0.5}])
def test_relu_formula_and_gradients(kwargs):
    x = _away_from_kinks((3, 7), [0.0, kwargs.get("threshold", 0.0), kwargs.get("max_value") or 0.0])
    layer = layers.ReLU(**kwargs)
    np.testing.assert_allclose(_np(layer(x)), _relu_reference(x, **kwargs), rtol=1e-6, atol=1e-6)
    assert gradcheck(lambda t: layers.ReLU(dtype="float64", **kwargs)(t), [x])


@pytest.mark.parametrize("case, make", [
    ("relu_all", lambda: layers.ReLU(max_value=2.0, negative_slope=0.3, threshold=0.5)),
    ("relu6_leaky", lambda: layers.ReLU(max_value=6.0, negative_slope=0.2)),
    ("relu_threshold", lambda: layers.ReLU(threshold=1.0)),
    ("leaky_default", lambda: layers.LeakyReLU()),
    ("elu", lambda: layers.ELU(alpha=0.5)),
    ("softmax_axes", lambda: layers.Softmax(axis=[1, 2])),
    ("softmax_mask", lambda: layers.Softmax()),
    ("softmax_row_mask", lambda: layers.Softmax()),
])
def test_matches_keras_eager(case, make):
    data = np.load(os.path.join(FIXTURES, "cat_eager.npz"))
    kwargs = {"mask": data[f"{case}_mask"]} if f"{case}_mask" in data else {}
    np.testing.assert_allclose(_np(make()(data[f"{case}_x"], **kwargs)), data[f"{case}_y"], atol=1e-5, rtol=0)


def test_leaky_relu_default_slope_is_keras3s_and_keras2_alpha_is_accepted():
    assert layers.LeakyReLU().negative_slope == 0.3
    assert layers.LeakyReLU(alpha=0.1).get_config()["negative_slope"] == 0.1
    x = _away_from_kinks((2, 5), [0.0])
    np.testing.assert_allclose(_np(layers.LeakyReLU(0.1)(x)), np.where(x > 0, x, 0.1 * x), rtol=1e-6)
    assert gradcheck(lambda t: layers.LeakyReLU(0.1, dtype="float64")(t), [x])


def test_elu_values_and_gradients():
    x = _away_from_kinks((2, 6), [0.0])
    np.testing.assert_allclose(_np(layers.ELU(0.7)(x)), np.where(x > 0, x, 0.7 * np.expm1(x)), rtol=1e-5, atol=1e-6)
    assert gradcheck(lambda t: layers.ELU(0.7, dtype="float64")(t), [x])


def test_prelu_weight_layout_values_and_gradients():
    x = _away_from_kinks((2, 4, 5, 3), [0.0])
    layer = layers.PReLU(alpha_initializer="random_normal", shared_axes=[1, 2], dtype="float64")
    y = _np(layer(x))
    alpha = layer.get_weights()[0]
    assert alpha.shape == (1, 1, 3) and [w.name for w in layer.weights] == ["alpha"]
    np.testing.assert_allclose(y, np.where(x > 0, x, alpha * x), rtol=1e-6)

    def f(xt, at):
        layer.alpha = at                # the same call path, differentiated in alpha too
        return layer(xt)
    assert gradcheck(f, [x, alpha.copy()])
    full = layers.PReLU()
    full(np.zeros((2, 3, 4)))
    assert full.weights[0].shape == (3, 4)


def test_prelu_trains_and_keeps_its_regularizer_and_constraint():
    layer = layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(4), layer, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.losses) == 1                   # the alpha penalty
    model.fit(rng.standard_normal((16, 4)), rng.standard_normal((16, 1)), epochs=1, verbose=0)
    assert (layer.get_weights()[0] >= 0).all()
    assert not np.allclose(layer.get_weights()[0], 1.0)


def test_softmax_mask_and_axes():
    x = rng.standard_normal((2, 3, 4))
    mask = np.array([[True, True, False, False]])
    y = _np(layers.Softmax()(x, mask=mask))
    e = np.exp(x[..., :2] - x[..., :2].max(-1, keepdims=True))
    np.testing.assert_allclose(y[..., :2], e / e.sum(-1, keepdims=True), rtol=1e-5)
    assert (y[..., 2:] == 0).all()
    y01 = _np(layers.Softmax()(x, mask=mask.astype("float32")))      # 0/1 floats as Keras: > 0.5
    np.testing.assert_allclose(y01, y)
    np.testing.assert_allclose(_np(layers.Softmax(axis=[1, 2])(x)).sum(axis=(1, 2)), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="Softmax .*mask must broadcast .*\\(2, 3\\)"):
        layers.Softmax()(x, mask=np.ones((2, 3), bool))
    layer = layers.Softmax(axis=1, dtype="float64")
    assert gradcheck(lambda t: layer(t, mask=np.array([[1.0], [1.0], [0.0]])), [x])


def test_softmax_carries_the_mask_of_its_input():
    ids = np.array([[3, 1, 0, 0]])
    emb = layers.Embedding(5, 1, mask_zero=True)
    scores = emb(ids)
    out = layers.Softmax(axis=1)(scores, mask=scores._keras_mask[..., None])
    assert out._keras_mask[..., 0].tolist() == [[True, True, False, False]]    # the mask given, passed on
    assert float(_np(out)[0, :2, 0].sum()) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("layer", [
    layers.ReLU(max_value=3.0, negative_slope=0.1, threshold=0.2), layers.LeakyReLU(0.25),
    layers.PReLU(shared_axes=[1], alpha_regularizer="l2", alpha_constraint="non_neg"),
    layers.ELU(0.4), layers.Softmax(axis=[1, 2]),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    same = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(same) is type(layer) and same.get_config() == config


@pytest.mark.parametrize("make, match", [
    (lambda: layers.ReLU(max_value=-1.0), "ReLU .*max_value must be a number >= 0.0 or None, got -1.0"),
    (lambda: layers.ReLU(negative_slope=-0.1), "ReLU .*negative_slope must be a number >= 0.0"),
    (lambda: layers.ReLU(threshold=None), "ReLU .*threshold"),
    (lambda: layers.LeakyReLU(negative_slope=-1), "LeakyReLU .*negative_slope"),
    (lambda: layers.LeakyReLU(negative_slope="x"), "LeakyReLU .*negative_slope"),
    (lambda: layers.ELU(alpha=float("nan")), "ELU .*alpha must be a finite number"),
    (lambda: layers.PReLU(shared_axes=[0]), "PReLU .*shared_axes must be input axes >= 1"),
    (lambda: layers.Softmax(axis="last"), "Softmax .*axis must be an int or a list of ints"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shapes_name_the_layer():
    layer = layers.PReLU()
    layer(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="PReLU .*\\(batch, 3, 4\\).*got shape \\(2, 3, 5\\)"):
        layer(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="PReLU .*shared_axes"):
        layers.PReLU(shared_axes=[3])(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="Softmax .*axis 3 is out of range"):
        layers.Softmax(axis=3)(keras.Input((3, 4)))
