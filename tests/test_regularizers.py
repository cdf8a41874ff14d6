"""Weight regularizers: values, the penalty in the loss and its gradient, configs."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, regularizers


def test_penalty_values():
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert float(regularizers.L1(0.1)(w).numpy()) == pytest.approx(0.35)
    assert float(regularizers.L2(0.1)(w).numpy()) == pytest.approx(0.525)
    assert float(regularizers.L1L2(0.1, 0.1)(w).numpy()) == pytest.approx(0.875)
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    with pytest.raises(ValueError, match="Unknown regularizer"):
        regularizers.get("l3")


def _model(reg):
    keras.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, kernel_regularizer=reg, bias_regularizer=reg),
                              layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def test_penalty_joins_the_loss_and_its_gradient():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.standard_normal((8, 1))
    plain, reg = _model(None), _model(regularizers.L2(0.05))
    k, b = reg.layers[0].get_weights()
    assert len(reg.losses) == 2 and plain.losses == []
    penalty = 0.05 * (np.sum(k ** 2) + np.sum(b ** 2))
    assert reg.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0) + penalty, rel=1e-5)
    plain.train_on_batch(x, y)
    reg.train_on_batch(x, y)
    # SGD: the regularised kernel moves by an extra lr * 2 * l2 * k
    np.testing.assert_allclose(reg.layers[0].get_weights()[0],
                               plain.layers[0].get_weights()[0] - 0.1 * 2 * 0.05 * k, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("layer", [
    layers.Dense(2, kernel_regularizer=regularizers.L1(0.2)),
    layers.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer=regularizers.L1L2(0.1, 0.2)),
    layers.Conv1D(2, 3, kernel_regularizer=regularizers.L2(0.3)),
    layers.Embedding(5, 2, embeddings_regularizer=regularizers.L1(0.4)),
    layers.EinsumDense("ab,bc->ac", output_shape=(3,), bias_axes="c", kernel_regularizer="l1"),
])
def test_regularizers_survive_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    cfg, cfg2 = layer.get_config(), clone.get_config()
    for key in ("kernel_regularizer", "bias_regularizer", "embeddings_regularizer"):
        assert cfg.get(key) == cfg2.get(key)


def test_activity_regularizer_penalises_the_output():
    layer = layers.Dense(2, activity_regularizer="l2", kernel_initializer="ones")
    out = layer(np.ones((4, 3), "float32")).numpy()
    np.testing.assert_allclose(float(layer.losses[0].numpy()), 0.01 * (out ** 2).sum() / 4, rtol=1e-6)


def test_add_loss_joins_the_loss_once_per_forward_pass():
    class Penalised(layers.Layer):
        def call(self, x):
            self.add_loss(keras.ops.multiply(keras.ops.mean(keras.ops.square(x)), 0.5))
            return x

    inp = keras.Input((3,))
    model = keras.Model(inp, layers.Dense(1)(Penalised()(inp)))
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3), dtype="float32"), np.zeros((4, 1), dtype="float32")
    base = float(np.mean(model.predict(x) ** 2))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(base + 0.5, rel=1e-5)
    model(x)
    model(x)
    assert len(model.losses) == 1            # cleared at each outermost call, not accumulated


def test_add_loss_terms_of_a_branch_skipped_in_the_last_pass_are_dropped():
    class Penalised(layers.Layer):
        def call(self, x):
            self.add_loss(keras.ops.sum(x))
            return x

    class Branchy(keras.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = Penalised(), Penalised()

        def call(self, x, use_b=False):
            return self.b(x) if use_b else self.a(x)

    model = Branchy()
    model(np.ones((1, 2), "float32"), use_b=True)
    assert [float(t.numpy()) for t in model.losses] == [2.0]
    model(np.full((1, 2), 3.0, "float32"))             # only `a` runs now: b's old term is cleared
    assert [float(t.numpy()) for t in model.losses] == [6.0]
    assert model.b.losses == []


def test_a_frozen_layer_adds_no_weight_penalty():
    """As Keras 3: ``model.losses`` holds the penalties of trainable weights only."""
    frozen = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1), kernel_initializer="ones")
    model = keras.Sequential([keras.Input((3,)), frozen,
                              keras.layers.Dense(1, kernel_regularizer="l1", kernel_initializer="ones")])
    np.testing.assert_allclose([float(l.numpy()) for l in model.losses], [0.6, 0.02], rtol=1e-6)
    frozen.trainable = False
    np.testing.assert_allclose([float(l.numpy()) for l in model.losses], [0.02], rtol=1e-6)
    model.compile("sgd", "mse")
    x, y = np.zeros((2, 3), "float32"), np.zeros((2, 1), "float32")
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), 0.02, rtol=1e-5)


def test_orthogonal_regularizer():
    reg = regularizers.get("orthogonal_regularizer")
    assert isinstance(reg, regularizers.OrthogonalRegularizer) and reg.get_config() == {"factor": 0.01, "mode": "rows"}
    w = np.random.default_rng(0).normal(size=(5, 3))
    for mode, axis in (("rows", 1), ("columns", 0)):
        unit = w / np.linalg.norm(w, axis=axis, keepdims=True)
        gram = unit @ unit.T if mode == "rows" else unit.T @ unit
        n = gram.shape[0]
        want = 0.3 * 0.5 * np.abs(gram - np.diag(np.diag(gram))).sum() / (n * (n - 1) / 2)
        np.testing.assert_allclose(float(regularizers.OrthogonalRegularizer(0.3, mode)(w).numpy()), want, rtol=1e-6)
    again = regularizers.deserialize(regularizers.serialize(regularizers.OrthogonalRegularizer(0.2, "columns")))
    assert again.get_config() == {"factor": 0.2, "mode": "columns"}
    with pytest.raises(ValueError, match="factor must be a finite number >= 0, got -1"):
        regularizers.OrthogonalRegularizer(-1)
    with pytest.raises(ValueError, match='mode must be "rows" or "columns"'):
        regularizers.OrthogonalRegularizer(mode="diag")
    with pytest.raises(ValueError, match=r"must have rank 2, got shape \(3,\)"):
        regularizers.OrthogonalRegularizer()(np.ones(3))
    layer = layers.Dense(4, kernel_regularizer="orthogonal_regularizer")
    layer.build((None, 3))
    assert float(layer.losses[0].numpy()) >= 0.0


def test_orthogonal_regularizer_gradient():
    w = keras.Variable(np.random.default_rng(1).normal(size=(4, 3)))
    assert keras.gradcheck(lambda t: regularizers.OrthogonalRegularizer(0.5, "columns")(t), [w])


def test_orthogonal_regularizer_equals_keras():
    import importlib.util
    import os
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
        pytest.skip("real Keras 3 (with torch) is not installed")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    w = np.random.default_rng(2).normal(size=(6, 4)).astype("float32")
    for mode in ("rows", "columns"):
        want = real.ops.convert_to_numpy(real.regularizers.OrthogonalRegularizer(0.3, mode)(real.ops.convert_to_tensor(w)))
        got = regularizers.OrthogonalRegularizer(0.3, mode)(w).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5)
