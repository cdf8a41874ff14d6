"""Core layers: Dense, Flatten, Activation, Dropout, Reshape, Input/InputLayer,
and the Layer contract they share (names, weights, config, trainable)."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import Tensor, backward
from kerasette.backend import to_numpy


def x_data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- Dense ------------------------------------------------------------------------
def test_dense_kernel_shape_names_and_output():
    d = layers.Dense(3)
    x = x_data(5, 4)
    y = d(x)
    assert d.built
    assert [w.name for w in d.weights] == ["kernel", "bias"]
    assert d.kernel.shape == (4, 3) and d.bias.shape == (3,)
    assert d.kernel.path == "dense/kernel"
    assert y.shape == (5, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), x @ d.kernel.numpy() + d.bias.numpy(), rtol=1e-5, atol=1e-6)


def test_dense_applies_to_last_axis_of_nd_input():
    d = layers.Dense(2, activation="tanh")
    x = x_data(2, 3, 5, 4)
    y = d(x)
    assert y.shape == (2, 3, 5, 2)
    ref = np.tanh(x @ d.kernel.numpy() + d.bias.numpy())
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert d.compute_output_shape((None, 3, 5, 4)) == (None, 3, 5, 2)


def test_dense_without_bias():
    d = layers.Dense(3, use_bias=False)
    d(x_data(2, 4))
    assert [w.name for w in d.weights] == ["kernel"]
    assert d.bias is None
    assert d.count_params() == 12


@pytest.mark.parametrize("act,ref", [
    ("relu", lambda z: np.maximum(z, 0)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", np.tanh),
    ("linear", lambda z: z),
    (None, lambda z: z),
    ("softmax", lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)),
    ("elu", lambda z: np.where(z > 0, z, np.expm1(z))),
])
def test_dense_activation_strings(act, ref):
    d = layers.Dense(4, activation=act, bias_initializer="random_normal")
    x = x_data(3, 5)
    y = d(x).numpy()
    z = x @ d.kernel.numpy() + d.bias.numpy()
    np.testing.assert_allclose(y, ref(z), rtol=1e-5, atol=1e-6)


def test_dense_initializers():
    d = layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros")
    d.build((None, 4))
    np.testing.assert_array_equal(d.kernel.numpy(), np.ones((4, 3)))
    np.testing.assert_array_equal(d.bias.numpy(), np.zeros(3))
    d2 = layers.Dense(200, kernel_initializer="he_normal")
    d2.build((None, 300))
    assert abs(d2.kernel.numpy().std() - np.sqrt(2 / 300)) < 0.1 * np.sqrt(2 / 300)
    d3 = layers.Dense(200)          # glorot_uniform by default
    d3.build((None, 300))
    limit = np.sqrt(6 / (300 + 200))
    k = d3.kernel.numpy()
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit
    d4 = layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=1))
    d4.build((None, 2000))
    assert abs(d4.kernel.numpy().std() - 0.5) < 0.03


def test_dense_config_round_trip_gives_identical_outputs():
    d = layers.Dense(3, activation="sigmoid", use_bias=True, kernel_initializer="he_normal", name="my_dense")
    x = x_data(4, 6)
    y = d(x).numpy()
    cfg = d.get_config()
    assert cfg["units"] == 3 and cfg["activation"] == "sigmoid" and cfg["use_bias"] is True
    assert cfg["name"] == "my_dense"
    d2 = layers.Dense.from_config(cfg)
    assert d2.name == "my_dense" and d2.units == 3
    d2.build((None, 6))
    d2.set_weights(d.get_weights())
    np.testing.assert_array_equal(d2(x).numpy(), y)
    assert d2.get_config() == cfg


def test_dense_rejects_bad_units_and_activation():
    with pytest.raises(ValueError):
        layers.Dense(0)
    with pytest.raises(ValueError, match="nope"):
        layers.Dense(3, activation="nope")


def test_dense_wrong_feature_size_names_layer_and_shapes():
    d = layers.Dense(3, name="head")
    d(x_data(2, 4))
    before = d.get_weights()
    with pytest.raises(ValueError) as e:
        d(x_data(2, 5))
    msg = str(e.value)
    assert "head" in msg and "4" in msg and "(2, 5)" in msg
    with pytest.raises(ValueError, match="head"):
        d(x_data(4))                               # rank 1
    for a, b in zip(before, d.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_dense_symbolic_wrong_feature_size():
    d = layers.Dense(3, name="fc")
    d(keras.Input((4,)))
    with pytest.raises(ValueError, match="fc"):
        d(keras.Input((5,)))


def test_dense_gradients_flow_to_kernel_and_bias():
    d = layers.Dense(2, activation="relu", kernel_initializer="ones", bias_initializer="ones")
    x = np.abs(x_data(3, 4))
    loss = keras.ops.sum(d(x))
    backward(loss)
    np.testing.assert_allclose(to_numpy(d.kernel.grad), np.repeat(x.sum(0)[:, None], 2, axis=1), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(d.bias.grad), [3.0, 3.0])


# ---- names, weights, trainable ------------------------------------------------------------
def test_auto_names():
    a, b, c = layers.Dense(1), layers.Dense(1), layers.Flatten()
    assert (a.name, b.name, c.name) == ("dense", "dense_1", "flatten")
    assert layers.Dropout(0.1).name == "dropout"
    assert layers.Dense(1, name="custom").name == "custom"
    assert layers.Dense(1).name == "dense_2"


def test_weight_lists_and_trainable_freezing():
    d = layers.Dense(2)
    d.build((None, 3))
    assert d.weights == d.trainable_weights and d.non_trainable_weights == []
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    loss = keras.ops.sum(d(x_data(2, 3)))
    assert not loss.requires_grad                     # frozen: no graph to the weights
    d.trainable = True
    assert len(d.trainable_weights) == 2
    assert d(x_data(2, 3)).requires_grad


def test_trainable_false_in_constructor():
    d = layers.Dense(2, trainable=False)
    d.build((None, 3))
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    assert d.get_config()["trainable"] is False


def test_add_weight_non_trainable_and_attribute_tracking():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = [layers.Dense(2), layers.Dense(3)]

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(1,), initializer="ones", name="scale")
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

        def call(self, x):
            return self.inner[1](self.inner[0](x)) * self.scale

    b = Block()
    assert b.name == "block"
    y = b(x_data(4, 5))
    assert y.shape == (4, 3)
    names = [w.name for w in b.weights]
    assert names == ["scale", "count", "kernel", "bias", "kernel", "bias"]
    assert [w.name for w in b.non_trainable_weights] == ["count"]
    assert len(b.trainable_weights) == 5
    assert b.count_params() == 1 + 1 + 5 * 2 + 2 + 2 * 3 + 3


def test_get_set_weights_and_shape_errors():
    d = layers.Dense(3)
    d.build((None, 2))
    new = [np.full((2, 3), 0.5, np.float32), np.arange(3, dtype=np.float32)]
    d.set_weights(new)
    for a, b in zip(d.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    got = d.get_weights()
    got[0][...] = 99                     # a copy: editing it leaves the layer alone
    assert d.kernel.numpy().max() == 0.5
    with pytest.raises(ValueError, match="dense"):
        d.set_weights([np.ones((2, 3))])                       # wrong count
    with pytest.raises(ValueError) as e:
        d.set_weights([np.ones((2, 3)), np.ones((4,))])         # wrong bias shape
    assert "(3,)" in str(e.value) and "(4,)" in str(e.value)
    with pytest.raises(ValueError):
        d.set_weights([np.ones((3, 2)), np.ones((3,))])         # transposed kernel
    # nothing was assigned by the failed calls
    np.testing.assert_array_equal(d.kernel.numpy(), new[0])
    np.testing.assert_array_equal(d.bias.numpy(), new[1])


# ---- Flatten, Activation, Reshape, Dropout ----------------------------------------------
def test_flatten():
    f = layers.Flatten()
    x = x_data(2, 3, 4)
    y = f(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.numpy(), x.reshape(2, 12))
    assert f.compute_output_shape((None, 3, 4)) == (None, 12)


def test_activation_layer():
    a = layers.Activation("relu")
    x = x_data(3, 4)
    np.testing.assert_array_equal(a(x).numpy(), np.maximum(x, 0))
    assert layers.Activation.from_config(a.get_config())(x).numpy().tolist() == np.maximum(x, 0).tolist()
    with pytest.raises(ValueError):
        layers.Activation("not_an_activation")


def test_reshape_with_minus_one():
    r = layers.Reshape((-1, 2))
    x = x_data(3, 4, 2)
    y = r(x)
    assert y.shape == (3, 4, 2)
    r2 = layers.Reshape((2, 4))
    np.testing.assert_array_equal(r2(x.reshape(3, 8)).numpy(), x.reshape(3, 2, 4))
    assert r2.compute_output_shape((None, 8)) == (None, 2, 4)
    assert layers.Reshape((-1, 3)).compute_output_shape((None, 4, 3)) == (None, 4, 3)
    with pytest.raises(ValueError, match="reshape"):
        layers.Reshape((5,))(x_data(2, 8))
    assert layers.Reshape.from_config(r.get_config()).target_shape == (-1, 2)


def test_dropout_identity_at_inference():
    d = layers.Dropout(0.5)
    x = x_data(10, 10)
    np.testing.assert_array_equal(d(x).numpy(), x)
    np.testing.assert_array_equal(d(x, training=False).numpy(), x)


def test_dropout_in_training_zeroes_rate_and_scales():
    d = layers.Dropout(0.25)
    x = np.ones((400, 50), np.float32)
    y = d(x, training=True).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.03          # expectation preserved


def test_dropout_rate_validation():
    with pytest.raises(ValueError):
        layers.Dropout(1.0)
    with pytest.raises(ValueError):
        layers.Dropout(-0.1)


# ---- Input / InputLayer ---------------------------------------------------------------------
def test_input_gives_symbolic_tensor_with_batch_axis():
    x = keras.Input(shape=(28, 28))
    assert x.shape == (None, 28, 28)
    y = layers.Flatten()(x)
    assert y.shape == (None, 784)
    z = layers.Dense(10)(y)
    assert z.shape == (None, 10)
    xb = keras.Input(batch_shape=(8, 3))
    assert xb.shape == (8, 3)


def test_input_layer_config_and_sequential_first_layer():
    il = layers.InputLayer(shape=(3,))
    assert il.batch_shape == (None, 3)
    assert il.get_config()["batch_shape"] == [None, 3]
    m = keras.Sequential([layers.InputLayer(shape=(3,)), layers.Dense(2)])
    assert m.layers[0].kernel.shape == (3, 2)
    with pytest.raises(ValueError):
        layers.InputLayer()


def test_input_shape_kwarg_on_first_layer():
    m = keras.Sequential([layers.Dense(4, input_shape=(6,)), layers.Dense(1)])
    assert m.built and m.layers[0].kernel.shape == (6, 4)
    assert m.output_shape == (None, 1)


def test_unexpected_keyword_raises_type_error():
    with pytest.raises(TypeError):
        layers.Dense(3, units_typo=4)


def test_dropout_noise_shape_shares_the_mask_over_broadcast_axes():
    layer = keras.layers.Dropout(0.5, noise_shape=(None, 1, 6))
    out = layer(np.ones((4, 5, 6), dtype="float32"), training=True).numpy()
    # the same features are dropped at every time step of a sample
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1
    with pytest.raises(ValueError, match="noise_shape"):
        keras.layers.Dropout(0.5, noise_shape=(1, 6))(np.ones((4, 5, 6)), training=True)
