"""Conv2D, the pooling layers and ZeroPadding2D: shapes, configs, errors, training."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.ops.conv import conv2d


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# -- Conv2D -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,in_shape,out_shape", [
    (dict(filters=4, kernel_size=3), (2, 9, 8, 3), (2, 7, 6, 4)),
    (dict(filters=4, kernel_size=3, padding="same"), (2, 9, 8, 3), (2, 9, 8, 4)),
    (dict(filters=2, kernel_size=(3, 2), strides=2), (2, 9, 8, 1), (2, 4, 4, 2)),
    (dict(filters=2, kernel_size=3, strides=(2, 3), padding="same"), (2, 9, 8, 1), (2, 5, 3, 2)),
    (dict(filters=5, kernel_size=3, dilation_rate=2), (1, 9, 8, 2), (1, 5, 4, 5)),
    (dict(filters=5, kernel_size=1), (3, 4, 4, 2), (3, 4, 4, 5)),
])
def test_conv2d_shapes_weights_and_compute_output_shape(kwargs, in_shape, out_shape):
    layer = layers.Conv2D(**kwargs)
    y = layer(_rand(*in_shape))
    assert y.shape == out_shape
    assert layer.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]
    kh, kw = layer.kernel_size
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert layer.kernel.shape == (kh, kw, in_shape[-1], kwargs["filters"])
    assert layer.bias.shape == (kwargs["filters"],)


def test_conv2d_computes_activation_of_conv_plus_bias():
    x = _rand(2, 6, 6, 3, seed=1)
    layer = layers.Conv2D(4, 3, padding="same", activation="relu", bias_initializer="ones")
    y = layer(x).numpy()
    k, b = layer.get_weights()
    want = np.maximum(conv2d(x, k, padding="same").numpy() + b, 0)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    # a non-fusable activation goes through the generic path
    soft = layers.Conv2D(4, 3, activation="softplus", use_bias=False)
    out = soft(x).numpy()
    assert len(soft.weights) == 1
    np.testing.assert_allclose(out, np.logaddexp(conv2d(x, soft.get_weights()[0]).numpy(), 0),
                               rtol=1e-5, atol=1e-6)


def test_conv2d_symbolic_and_summary():
    inputs = keras.Input((28, 28, 1))
    h = layers.Conv2D(8, 3, activation="relu")(inputs)
    assert h.shape == (None, 26, 26, 8)
    h = layers.MaxPooling2D()(h)
    assert h.shape == (None, 13, 13, 8)
    out = layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, out)
    assert model.output_shape == (None, 8)
    assert model.predict(_rand(3, 28, 28, 1), verbose=0).shape == (3, 8)


def test_conv2d_config_round_trip():
    layer = layers.Conv2D(6, (3, 2), strides=(2, 1), padding="same", activation="tanh", use_bias=False,
                          kernel_initializer="he_normal", name="c")
    config = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
                "activation", "use_bias", "kernel_initializer", "bias_initializer"):
        assert key in config
    clone = layers.Conv2D.from_config(config)
    assert clone.get_config() == config
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is layers.Conv2D and again.get_config() == config
    assert layers.Convolution2D is layers.Conv2D


def test_conv2d_rank3_input_says_channel_axis_missing():
    with pytest.raises(ValueError, match="channel axis is missing"):
        layers.Conv2D(4, 3)(np.zeros((2, 28, 28), dtype="float32"))
    with pytest.raises(ValueError, match="channel axis is missing"):
        layers.Conv2D(4, 3)(keras.Input((28, 28)))


def test_conv2d_kernel_larger_than_valid_input():
    with pytest.raises(ValueError, match=r"conv2d.*kernel_size \(5, 5\).*larger than the input height 3"):
        layers.Conv2D(2, 5, name="conv2d")(np.zeros((1, 3, 8, 1), dtype="float32"))
    # "same" padding is fine
    assert layers.Conv2D(2, 5, padding="same")(np.zeros((1, 3, 8, 1), dtype="float32")).shape == (1, 3, 8, 2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(filters=0, kernel_size=3), "filters must be a positive integer"),
    (dict(filters=-2, kernel_size=3), "filters must be a positive integer"),
    (dict(filters=2.5, kernel_size=3), "filters must be a positive integer"),
    (dict(filters=2, kernel_size=0), "kernel_size"),
    (dict(filters=2, kernel_size=3, strides=0), "strides must be positive"),
    (dict(filters=2, kernel_size=3, strides=(1, -1)), "strides must be positive"),
    (dict(filters=2, kernel_size=3, padding="causal"), "padding"),
    (dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "dilation"),
    (dict(filters=2, kernel_size=3, data_format="channels_first"), "channels_last"),
])
def test_conv2d_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Conv2D(**kwargs, name="bad")
    try:
        layers.Conv2D(**kwargs, name="bad")
    except ValueError as e:
        assert "Conv2D 'bad'" in str(e)


def test_conv2d_unsupported_groups():
    with pytest.raises(NotImplementedError, match="groups"):
        layers.Conv2D(2, 3, groups=2)


def test_conv2d_wrong_channel_count_for_built_layer():
    layer = layers.Conv2D(4, 3, name="c1")
    layer(np.zeros((1, 8, 8, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"Conv2D 'c1'.*3 channels.*\(1, 8, 8, 2\)"):
        layer(np.zeros((1, 8, 8, 2), dtype="float32"))


# -- pooling / padding -------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [layers.MaxPooling2D, layers.AveragePooling2D])
@pytest.mark.parametrize("kwargs,in_shape,out_shape", [
    (dict(), (2, 8, 7, 3), (2, 4, 3, 3)),
    (dict(pool_size=3, strides=2), (2, 8, 7, 3), (2, 3, 3, 3)),
    (dict(pool_size=3, strides=2, padding="same"), (2, 8, 7, 3), (2, 4, 4, 3)),
    (dict(pool_size=(2, 1), strides=1), (2, 5, 5, 1), (2, 4, 5, 1)),
])
def test_pooling_layers_shapes_and_config(cls, kwargs, in_shape, out_shape):
    layer = cls(**kwargs)
    assert layer(_rand(*in_shape)).shape == out_shape
    assert layer.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert type(layers.deserialize(layers.serialize(layer))) is cls


def test_pooling_values_and_aliases():
    x = _rand(2, 4, 4, 3)
    np.testing.assert_allclose(layers.MaxPooling2D()(x).numpy(), x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
    np.testing.assert_allclose(layers.AveragePooling2D()(x).numpy(),
                               x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4)), rtol=1e-6)
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool2D is layers.AveragePooling2D


def test_pooling_errors():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'p'.*larger than the input"):
        layers.MaxPooling2D(3, name="p")(np.zeros((1, 2, 2, 1), dtype="float32"))
    with pytest.raises(ValueError, match="channel axis is missing"):
        layers.MaxPooling2D()(np.zeros((1, 4, 4), dtype="float32"))
    with pytest.raises(ValueError, match="positive"):
        layers.AveragePooling2D(pool_size=0)
    with pytest.raises(ValueError, match="channels_last"):
        layers.MaxPooling2D(data_format="channels_first")


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(keepdims):
    x = _rand(2, 5, 4, 3)
    avg = layers.GlobalAveragePooling2D(keepdims=keepdims)
    mx = layers.GlobalMaxPooling2D(keepdims=keepdims)
    np.testing.assert_allclose(avg(x).numpy(), x.mean(axis=(1, 2), keepdims=keepdims), rtol=1e-6)
    np.testing.assert_allclose(mx(x).numpy(), x.max(axis=(1, 2), keepdims=keepdims))
    want = (None, 1, 1, 3) if keepdims else (None, 3)
    assert avg.compute_output_shape((None, 5, 4, 3)) == want == mx.compute_output_shape((None, 5, 4, 3))
    assert layers.GlobalAveragePooling2D.from_config(avg.get_config()).keepdims is keepdims


@pytest.mark.parametrize("padding,want", [(1, ((1, 1), (1, 1))), ((2, 1), ((2, 2), (1, 1))),
                                          (((1, 0), (0, 2)), ((1, 0), (0, 2)))])
def test_zero_padding2d(padding, want):
    x = _rand(2, 3, 4, 2)
    layer = layers.ZeroPadding2D(padding)
    y = layer(x).numpy()
    np.testing.assert_array_equal(y, np.pad(x, ((0, 0),) + want + ((0, 0),)))
    assert layer.compute_output_shape((None, 3, 4, 2)) == (None,) + y.shape[1:]
    assert layers.ZeroPadding2D.from_config(layer.get_config()).padding == want
    with pytest.raises(ValueError, match="padding"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        layers.ZeroPadding2D(-1)


# -- training ----------------------------------------------------------------------------------

def _bars(n, seed=0):
    """8x8 images holding one horizontal (class 0) or vertical (class 1) bar, plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    pos = rng.integers(0, 8, n)
    for i in range(n):
        if y[i] == 0:
            x[i, pos[i], :, 0] += 1
        else:
            x[i, :, pos[i], 0] += 1
    return x, y


def test_small_cnn_learns_bars():
    x, y = _bars(256)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.ZeroPadding2D(1),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.GlobalMaxPooling2D(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.2 * losses[0]
    xt, yt = _bars(128, seed=1)
    assert model.evaluate(xt, yt, verbose=0)[1] > 0.9
