"""Weight constraints: projections, applied after each optimizer step, configs."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import constraints, layers

W = np.array([[3.0, 0.1], [4.0, -0.2]], dtype="float32")      # column norms 5 and ~0.224


def test_projections():
    np.testing.assert_allclose(constraints.MaxNorm(2.0)(W), [[1.2, 0.1], [1.6, -0.2]], rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(constraints.UnitNorm()(W), axis=0), [1.0, 1.0], rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.array([[3.0, 0.1], [4.0, 0.0]], dtype="float32"))
    mm = constraints.MinMaxNorm(min_value=1.0, max_value=2.0)(W)
    np.testing.assert_allclose(np.linalg.norm(mm, axis=0), [2.0, 1.0], rtol=1e-5)
    with pytest.raises(ValueError, match="Unknown constraint"):
        constraints.get("positive")


def test_constraint_is_applied_after_each_step():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, kernel_constraint=constraints.MaxNorm(0.5),
                                                              bias_constraint="non_neg")])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    x = np.random.default_rng(0).standard_normal((16, 3)).astype("float32")
    model.fit(x, np.full((16, 4), 5.0), epochs=3, batch_size=4, verbose=0)
    kernel, bias = model.layers[0].get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-5)
    assert np.all(bias >= 0)


@pytest.mark.parametrize("layer", [
    layers.Dense(2, kernel_constraint="unit_norm"),
    layers.Conv2D(2, 3, kernel_constraint=constraints.MaxNorm(3.0, axis=[0, 1, 2])),
    layers.Embedding(5, 2, embeddings_constraint="non_neg"),
    layers.EinsumDense("ab,bc->ac", output_shape=(3,), bias_axes="c", bias_constraint="non_neg"),
])
def test_constraints_survive_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    for key in ("kernel_constraint", "bias_constraint", "embeddings_constraint"):
        assert layer.get_config().get(key) == clone.get_config().get(key)
