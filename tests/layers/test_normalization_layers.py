"""BatchNormalization and LayerNormalization: Keras 3 weights, training vs
inference, moving averages, configs, training in a model, saving."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.backend import to_device, to_numpy


def x_data(*shape, seed=0, loc=0.0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + loc).astype(np.float32)


# ---- BatchNormalization -----------------------------------------------------------
def test_bn_weights_names_order_and_flags():
    bn = layers.BatchNormalization()
    bn(x_data(4, 3))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert all(w.shape == (3,) for w in bn.weights)
    np.testing.assert_array_equal(bn.gamma.numpy(), 1)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), 1)
    assert bn.count_params() == 12


def test_bn_without_center_or_scale():
    bn = layers.BatchNormalization(center=False, scale=False)
    bn(x_data(4, 3))
    assert [w.name for w in bn.weights] == ["moving_mean", "moving_variance"]
    assert bn.gamma is None and bn.beta is None
    bn2 = layers.BatchNormalization(scale=False)
    bn2(x_data(4, 3))
    assert [w.name for w in bn2.weights] == ["beta", "moving_mean", "moving_variance"]


def test_bn_training_uses_batch_stats_and_updates_moving_averages():
    x = x_data(16, 2, 2, 3, loc=2.0, scale=3.0)
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    y = bn(x, training=True).numpy()
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.9 * 0 + 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 * 1 + 0.1 * var, rtol=1e-5)
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.81 * 0 + 0.19 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.81 + 0.19 * var, rtol=1e-5)


def test_bn_inference_uses_moving_stats_and_leaves_them():
    x = x_data(8, 3, loc=1.0)
    bn = layers.BatchNormalization(epsilon=0.01)
    bn(x)
    bn.set_weights([np.array([1.0, 2.0, 0.5], np.float32), np.array([0.0, 1.0, -1.0], np.float32),
                    np.array([0.5, -0.5, 1.0], np.float32), np.array([4.0, 1.0, 0.25], np.float32)])
    before = [w.copy() for w in bn.get_weights()]
    for training in (None, False):
        y = bn(x, training=training).numpy()
        ref = (x - [0.5, -0.5, 1.0]) / np.sqrt(np.array([4.0, 1.0, 0.25]) + 0.01) * [1, 2, 0.5] + [0, 1, -1]
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_frozen_bn_runs_in_inference_mode():
    x = x_data(8, 3, loc=3.0)
    bn = layers.BatchNormalization()
    bn(x)
    bn.trainable = False
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)


def test_bn_gradients_reach_gamma_beta_not_moving_stats():
    bn = layers.BatchNormalization()
    x = keras.ops.convert_to_tensor(x_data(8, 3))
    y = bn(x, training=True)
    from kerasette.autograd import backward
    backward(keras.ops.sum(keras.ops.square(y) * to_device(np.array([1.0, 2.0, 3.0], np.float32)) + y))
    assert bn.gamma.grad is not None and bn.beta.grad is not None
    np.testing.assert_allclose(to_numpy(bn.beta.grad), 8.0, rtol=1e-5)
    assert bn.moving_mean.grad is None and not bn.moving_mean.requires_grad


def test_bn_channels_first_axis():
    x = x_data(4, 3, 5, loc=1.0)
    bn = layers.BatchNormalization(axis=1)
    y = bn(x, training=True).numpy()
    assert bn.gamma.shape == (3,)
    mean, var = x.mean((0, 2), keepdims=True), x.var((0, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)


def test_bn_bad_input_raises_before_state_changes():
    bn = layers.BatchNormalization()
    bn(x_data(4, 3))
    with pytest.raises(ValueError, match=r"BatchNormalization .*3 channels.*\(4, 5\)"):
        bn(x_data(4, 5), training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)
    with pytest.raises(NotImplementedError, match="one channel axis"):
        layers.BatchNormalization(axis=[1, 2])
    with pytest.raises(NotImplementedError, match="gamma_regularizer"):
        layers.BatchNormalization(gamma_regularizer="l2")


def test_bn_config_round_trip_and_output_shape():
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-4, center=False, name="bn",
                                   gamma_initializer="zeros")
    config = bn.get_config()
    assert config["axis"] == -1 and config["momentum"] == 0.9 and config["epsilon"] == 1e-4
    again = layers.BatchNormalization.from_config(config)
    assert again.get_config() == config
    back = layers.deserialize(layers.serialize(bn))
    assert type(back) is layers.BatchNormalization and back.center is False
    assert bn.compute_output_shape((None, 5, 7)) == (None, 5, 7)


def test_bn_in_sequential_trains_and_loss_decreases():
    keras.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((256, 4)) * [1, 10, 0.1, 5] + [3, -20, 0, 7]).astype(np.float32)
    y = ((x[:, 0] - 3) + (x[:, 1] + 20) / 10 > 0).astype(np.float32)[:, None]
    model = keras.Sequential([keras.Input((4,)), layers.Dense(16), layers.BatchNormalization(),
                              layers.Activation("relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < losses[0] * 0.5
    bn = model.layers[1]
    assert np.abs(bn.moving_mean.numpy()).sum() > 0           # updated during fit
    assert [w.name for w in model.trainable_weights].count("gamma") == 1
    assert len(model.non_trainable_weights) == 2


def test_bn_save_and_load_weights_keeps_moving_stats(tmp_path):
    def make():
        return keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.BatchNormalization()])
    src = make()
    src(x_data(16, 3, loc=2.0), training=True)
    path = tmp_path / "bn.weights.h5"
    src.save_weights(path)
    dst = make()
    dst.load_weights(path)
    for a, b in zip(src.get_weights(), dst.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert np.abs(dst.layers[1].moving_mean.numpy()).sum() > 0
    x = x_data(5, 3, seed=4)
    np.testing.assert_allclose(src.predict(x, verbose=0), dst.predict(x, verbose=0), rtol=1e-6)


def test_bn_matches_torch_running_stats():
    torch = pytest.importorskip("torch")
    x = x_data(10, 3, loc=1.0, scale=2.0)
    bn = layers.BatchNormalization(momentum=0.9)
    y = bn(x, training=True).numpy()
    rm, rv = torch.zeros(3), torch.ones(3)
    ty = torch.nn.functional.batch_norm(torch.tensor(x), rm, rv, training=True, momentum=0.1, eps=1e-3)
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), rm.numpy(), rtol=1e-5, atol=1e-6)
    # torch keeps the unbiased variance; Keras (and kerasette) the biased one
    n = x.shape[0]
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + (rv.numpy() - 0.9) * (n - 1) / n, rtol=1e-5)


# ---- LayerNormalization -----------------------------------------------------------
def test_ln_forward_weights_and_config():
    x = x_data(2, 5, 4, loc=3.0, scale=2.0)
    ln = layers.LayerNormalization(epsilon=1e-3)
    y = ln(x).numpy()
    assert [w.name for w in ln.weights] == ["gamma", "beta"]
    assert all(w.trainable for w in ln.weights) and ln.gamma.shape == (4,)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ln(x, training=True).numpy(), y)            # no training mode
    config = ln.get_config()
    assert config["axis"] == -1 and config["epsilon"] == 1e-3 and config["center"] is True
    assert layers.LayerNormalization.from_config(config).get_config() == config
    assert ln.compute_output_shape((None, 5, 4)) == (None, 5, 4)


def test_ln_options_and_errors():
    ln = layers.LayerNormalization(center=False)
    ln(x_data(3, 4))
    assert [w.name for w in ln.weights] == ["gamma"]
    with pytest.raises(ValueError, match=r"LayerNormalization .*last axis 4.*\(3, 5\)"):
        ln(x_data(3, 5))
    with pytest.raises(NotImplementedError, match="last axis"):
        layers.LayerNormalization(axis=1)(x_data(3, 4, 2))
    with pytest.raises(NotImplementedError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)


def test_ln_matches_torch():
    torch = pytest.importorskip("torch")
    x = x_data(3, 6, loc=1.0)
    ln = layers.LayerNormalization(gamma_initializer="random_normal", beta_initializer="random_normal")
    y = ln(x).numpy()
    ty = torch.nn.functional.layer_norm(torch.tensor(x), (6,), torch.tensor(ln.gamma.numpy()),
                                        torch.tensor(ln.beta.numpy()), eps=1e-3)
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-4, atol=1e-5)


def test_normalization_layers_in_functional_model():
    inp = keras.Input((5, 4))
    out = layers.LayerNormalization()(layers.BatchNormalization()(inp))
    model = keras.Model(inp, out)
    assert model.output_shape == (None, 5, 4)
    assert model.predict(x_data(2, 5, 4), verbose=0).shape == (2, 5, 4)
