"""Embedding, Conv1D and the 1-D pooling layers: values, gradients, masks, configs, errors, training."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck
from kerasette.backend import to_numpy


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _conv1d_ref(x, k, b, stride=1, dilation=1, padding="valid"):
    """Direct loops: x (N, W, C), k (K, C, F) -> (N, Wo, F)."""
    kk = k.shape[0]
    ext = (kk - 1) * dilation + 1
    w = x.shape[1]
    if padding == "causal":
        x = np.pad(x, ((0, 0), (ext - 1, 0), (0, 0)))
    elif padding == "same":
        out = -(-w // stride)
        total = max((out - 1) * stride + ext - w, 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    wo = (x.shape[1] - ext) // stride + 1
    y = np.zeros((x.shape[0], wo, k.shape[2]))
    for t in range(wo):
        for j in range(kk):
            y[:, t] += x[:, t * stride + j * dilation] @ k[j]
    return y + (0 if b is None else b)


def _pool_ref(x, p, s, fn):
    wo = (x.shape[1] - p) // s + 1
    return np.stack([fn(x[:, t * s:t * s + p], axis=1) for t in range(wo)], axis=1)


# -- Embedding ---------------------------------------------------------------------------------

def test_embedding_forward_weights_and_shapes():
    emb = layers.Embedding(10, 4)
    ids = np.array([[1, 2, 9], [0, 0, 3]])
    out = emb(ids)
    assert out.shape == (2, 3, 4) and out.dtype == np.float32
    assert [w.name for w in emb.weights] == ["embeddings"] and emb.embeddings.shape == (10, 4)
    table = emb.get_weights()[0]
    assert np.abs(table).max() <= 0.05                           # Keras's "uniform": U(-0.05, 0.05)
    np.testing.assert_array_equal(out.numpy(), table[ids])
    assert emb.compute_output_shape((None, 3)) == (None, 3, 4)
    assert emb(ids.astype("float32")).shape == (2, 3, 4)          # float ids are cast, as Keras


def test_embedding_gradient_flows_to_the_table_only():
    emb = layers.Embedding(6, 3, dtype="float64")
    emb.build(None)
    ids = np.array([[0, 5, 5], [2, 0, 5]])

    def fn(table):
        emb.embeddings = table
        return emb.call(ids)
    assert gradcheck(fn, [_rand(6, 3)])


def test_embedding_mask_zero_feeds_simple_rnn():
    ids = np.array([[3, 1, 2, 0, 0], [4, 0, 0, 0, 0]])
    emb = layers.Embedding(5, 4, mask_zero=True)
    out = emb(ids)
    np.testing.assert_array_equal(to_numpy(out._keras_mask), ids != 0)
    np.testing.assert_array_equal(to_numpy(emb.compute_mask(ids)), ids != 0)
    assert layers.Embedding(5, 4).compute_mask(ids) is None
    rnn = layers.SimpleRNN(3)
    masked = rnn(out).numpy()
    trimmed = [rnn(out.numpy()[i:i + 1, :n]).numpy()[0] for i, n in enumerate((3, 1))]
    np.testing.assert_allclose(masked, np.stack(trimmed), rtol=1e-5, atol=1e-6)
    # masked average pooling counts only the real steps
    avg = layers.GlobalAveragePooling1D()(out).numpy()
    np.testing.assert_allclose(avg[0], out.numpy()[0, :3].mean(0), rtol=1e-6)
    np.testing.assert_allclose(avg[1], out.numpy()[1, 0], rtol=1e-6)


def test_embedding_config_round_trip_and_errors():
    emb = layers.Embedding(12, 5, mask_zero=True, name="words")
    clone = layers.deserialize(layers.serialize(emb))
    assert type(clone) is layers.Embedding
    assert (clone.input_dim, clone.output_dim, clone.mask_zero, clone.name) == (12, 5, True, "words")
    assert emb.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"
    bad = layers.Embedding(4, 2, name="emb_bad")
    with pytest.raises(ValueError, match=r"emb_bad.*\[0, 4\).*\[1, 4\]"):
        bad(np.array([[1, 4]]))
    assert not bad.built and bad.weights == []                    # nothing changed
    with pytest.raises(ValueError, match=r"\[-2, 1\]"):
        bad(np.array([[-2, 1]]))
    with pytest.raises(ValueError, match="input_dim must be a positive integer"):
        layers.Embedding(0, 3)
    w = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(layers.Embedding(4, 2, weights=[w]).get_weights()[0], w)


def test_embedding_symbolic_int_input():
    inp = keras.Input((6,), dtype="int32")
    out = layers.Embedding(9, 3)(inp)
    assert out.shape == (None, 6, 3)
    model = keras.Model(inp, out)
    assert model.predict(np.array([[1, 2, 3, 4, 5, 8]]), verbose=0).shape == (1, 6, 3)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    emb = layers.Embedding(7, 3)
    ids = np.array([[0, 6, 6, 2]])
    out = emb(ids).numpy()
    ref = torch.nn.functional.embedding(torch.tensor(ids), torch.tensor(emb.get_weights()[0]))
    np.testing.assert_allclose(out, ref.numpy())


# -- Conv1D ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(), dict(padding="same"), dict(padding="same", strides=2),
                                    dict(strides=3), dict(dilation_rate=2), dict(padding="causal"),
                                    dict(padding="causal", dilation_rate=2), dict(use_bias=False)],
                         ids=["valid", "same", "same_strided", "strided", "dilated", "causal",
                              "causal_dilated", "nobias"])
def test_conv1d_matches_direct_loops_and_output_shape(kwargs):
    layer = layers.Conv1D(4, 3, **kwargs)
    x = _rand(2, 11, 3, seed=1).astype("float32")
    y = layer(x)
    k, *b = layer.get_weights()
    assert k.shape == (3, 3, 4)
    ref = _conv1d_ref(x.astype("float64"), k.astype("float64"), b[0] if b else None,
                      layer.strides[0], layer.dilation_rate[0], layer.padding)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape((None, 11, 3)) == (None,) + ref.shape[1:]


@pytest.mark.parametrize("kwargs", [dict(padding="same", activation="tanh"), dict(strides=2),
                                    dict(padding="causal", dilation_rate=2, activation="relu")],
                         ids=["same_tanh", "strided", "causal_dilated_relu"])
def test_conv1d_gradcheck_inputs_and_weights(kwargs):
    layer = layers.Conv1D(3, 3, dtype="float64", **kwargs)
    layer.build((None, 7, 2))

    def fn(x, k, b):
        layer.kernel, layer.bias = k, b
        return layer.call(x)
    # relu: keep pre-activations away from the kink
    assert gradcheck(fn, [_rand(2, 7, 2, seed=2), _rand(3, 2, 3, seed=3), _rand(3, seed=4) + 3.0])


def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch")
    layer = layers.Conv1D(5, 4, dilation_rate=2, activation="relu")
    x = _rand(3, 12, 2, seed=5).astype("float32")
    y = layer(x).numpy()
    k, b = layer.get_weights()
    ref = torch.relu(torch.nn.functional.conv1d(torch.tensor(x).permute(0, 2, 1),
                                                torch.tensor(k).permute(2, 1, 0), torch.tensor(b),
                                                dilation=2)).permute(0, 2, 1).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_conv1d_config_and_errors():
    layer = layers.Conv1D(6, 5, strides=2, padding="causal", activation="relu", name="c1")
    config = layer.get_config()
    assert config["kernel_size"] == (5,) and config["strides"] == (2,) and config["padding"] == "causal"
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is layers.Conv1D and clone.get_config() == config
    with pytest.raises(ValueError, match=r"Conv1D 'c1'.*rank 3.*\(2, 10\)"):
        layer(np.zeros((2, 10)))
    assert not layer.built
    with pytest.raises(ValueError, match=r"rank 3.*\(1, 4, 4, 2\)"):
        layers.Conv1D(2, 3)(np.zeros((1, 4, 4, 2)))
    with pytest.raises(ValueError, match="larger than the input length 2"):
        layers.Conv1D(2, 3)(np.zeros((1, 2, 1)))
    with pytest.raises(ValueError, match="padding must be"):
        layers.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        layers.Conv1D(0, 3)
    built = layers.Conv1D(2, 3)
    built(np.zeros((1, 5, 4)))
    with pytest.raises(ValueError, match=r"expected input with 4 features"):
        built(np.zeros((1, 5, 3)))


# -- pooling -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,fn", [(layers.MaxPooling1D, np.max), (layers.AveragePooling1D, np.mean)])
@pytest.mark.parametrize("pool,strides", [(2, None), (3, 1), (3, 2)])
def test_pooling1d_matches_reference_and_gradcheck(cls, fn, pool, strides):
    layer = cls(pool, strides)
    x = _rand(2, 9, 3, seed=6)
    y = layer(x.astype("float32")).numpy()
    ref = _pool_ref(x, pool, strides or pool, fn)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 9, 3)) == (None,) + ref.shape[1:]
    assert gradcheck(lambda t: layer.call(t), [x])


def test_pooling1d_same_padding_config_and_errors():
    layer = layers.MaxPooling1D(3, 2, padding="same", name="mp")
    assert layer(np.zeros((1, 7, 2))).shape == (1, 4, 2)
    assert layer.compute_output_shape((None, 7, 2)) == (None, 4, 2)
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is layers.MaxPooling1D and clone.get_config() == layer.get_config()
    assert layers.AveragePooling1D(padding="same")(np.ones((1, 5, 1))).numpy().ravel().tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match=r"MaxPooling1D 'mp'.*rank 3.*\(3, 7\)"):
        layer(np.zeros((3, 7)))
    with pytest.raises(ValueError, match="larger than the input length 1"):
        layers.AveragePooling1D(2)(np.zeros((1, 1, 3)))


@pytest.mark.parametrize("cls,fn", [(layers.GlobalAveragePooling1D, np.mean),
                                    (layers.GlobalMaxPooling1D, np.max)])
def test_global_pooling1d(cls, fn):
    x = _rand(3, 5, 4, seed=7)
    np.testing.assert_allclose(cls()(x.astype("float32")).numpy(), fn(x, axis=1), rtol=1e-5, atol=1e-6)
    keep = cls(keepdims=True, name="g")
    assert keep(x).shape == (3, 1, 4) and keep.compute_output_shape((None, 5, 4)) == (None, 1, 4)
    assert cls().compute_output_shape((None, 5, 4)) == (None, 4)
    assert type(layers.deserialize(layers.serialize(keep))) is cls and cls.from_config(keep.get_config()).keepdims
    assert gradcheck(lambda t: cls().call(t), [x])
    with pytest.raises(ValueError, match=r"'g'.*rank 3.*\(3, 4\)"):
        keep(np.zeros((3, 4)))


# -- a text-like model -------------------------------------------------------------------------

def _text_task(n=256, steps=16, vocab=30, seed=0):
    """Label 1 when token 7 appears anywhere in the sequence."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, (n, steps))
    x[x == 7] = 8
    y = rng.integers(0, 2, n)
    pos = rng.integers(0, steps, n)
    x[y == 1, pos[y == 1]] = 7
    return x, y


def _text_model():
    return keras.Sequential([
        keras.Input((16,), dtype="int32"),
        layers.Embedding(30, 8),
        layers.Conv1D(16, 3, padding="same", activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ])


def test_text_model_learns_and_weights_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = _text_task()
    model = _text_model()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.3 * losses[0], losses
    assert hist.history["accuracy"][-1] > 0.9
    path = str(tmp_path / "text.weights.h5")
    model.save_weights(path)
    other = _text_model()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(other.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0))
    assert [w.shape for w in other.get_weights()][:3] == [(30, 8), (3, 8, 16), (16,)]
