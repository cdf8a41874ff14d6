"""Merge layers, Lambda and EinsumDense."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck, Tensor

rng = np.random.default_rng(0)
A, B = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))


@pytest.mark.parametrize("layer, expected", [
    (layers.Add(), A + B), (layers.Subtract(), A - B), (layers.Multiply(), A * B),
    (layers.Average(), (A + B) / 2), (layers.Maximum(), np.maximum(A, B)),
    (layers.Minimum(), np.minimum(A, B)), (layers.Concatenate(), np.concatenate([A, B], -1)),
    (layers.Dot(axes=1), (A * B).sum(1, keepdims=True)),
])
def test_merge_values(layer, expected):
    np.testing.assert_allclose(layer([A, B]).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("fn", [layers.add, layers.subtract, layers.multiply, layers.average,
                                layers.maximum, layers.minimum, layers.concatenate])
def test_functional_forms_and_gradients(fn):
    def f(a, b):
        return fn([a, b], dtype="float64")
    assert gradcheck(f, [A + 0.01, B])


def test_merge_shape_errors():
    with pytest.raises(ValueError, match="Concatenate"):
        layers.concatenate([keras.Input((3, 2)), keras.Input((4, 5))])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()([keras.Input((3,))])


def test_dot_normalized_is_cosine():
    out = layers.Dot(axes=-1, normalize=True)([A, B]).numpy()[:, 0]
    cos = (A * B).sum(1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1)
    np.testing.assert_allclose(out, cos, rtol=1e-5)


def test_einsum_dense_matches_formula_and_gradchecks():
    layer = layers.EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d", activation="tanh")
    x = rng.standard_normal((2, 5, 3))
    y = layer(x).numpy()
    k, b = layer.get_weights()
    assert k.shape == (3, 4) and b.shape == (4,)
    np.testing.assert_allclose(y, np.tanh(x @ k + b), rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 5, 3)) == (None, 5, 4)

    def f(xt, kt, bt):
        return keras.ops.tanh(keras.ops.einsum("abc,cd->abd", xt, kt) + bt)
    assert gradcheck(f, [x, k.astype(np.float64), b.astype(np.float64)])


def test_einsum_dense_multi_axis_bias_and_config():
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(5, 2, 4), bias_axes="de")
    x = keras.Input((5, 3))
    assert layer(x).shape == (None, 5, 2, 4)
    assert [w.shape for w in layer.weights] == [(3, 2, 4), (2, 4)]
    clone = layers.EinsumDense.from_config(layer.get_config())
    assert clone.get_config()["equation"] == "abc,cde->abde"
    with pytest.raises(ValueError, match="EinsumDense"):
        layers.EinsumDense("ab,bc->ac", output_shape=(2, 3))(np.ones((2, 3)))


def test_lambda_config_round_trip():
    layer = layers.Lambda(lambda t: t * 3.0)
    with pytest.raises(ValueError, match="safe_mode=False"):      # bytecode: refused by default
        layers.Lambda.from_config(layer.get_config())
    clone = layers.Lambda.from_config(layer.get_config(), safe_mode=False)
    np.testing.assert_allclose(clone(np.ones((1, 2))).numpy(), 3.0)
