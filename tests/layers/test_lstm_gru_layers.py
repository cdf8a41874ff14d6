"""LSTM, GRU and their cells: layouts, gradients, Bidirectional, config, saving, Keras-made weights."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.autograd import gradcheck
from kerasette.layers import deserialize, serialize

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
B, T, F, U = 2, 4, 3, 3


@pytest.fixture
def x():
    return np.random.default_rng(3).standard_normal((B, T, F))


def _set(cell, k, r, b):
    cell.kernel, cell.recurrent_kernel, cell.bias = k, r, b


def _cells(layer):
    if hasattr(layer, "cell"):
        return [layer.cell]
    return [layer.forward_layer.cell, layer.backward_layer.cell]


def _gradcheck_layer(layer, x, out=lambda y: y, **call):
    layer.build((None, T, F))
    cells = _cells(layer)
    weights = [np.array(w.numpy(), np.float64, order="C")        # C order: gradcheck perturbs in place
               for c in cells for w in (c.kernel, c.recurrent_kernel, c.bias)]

    def fn(x, *ws):
        for c, trio in zip(cells, zip(*[iter(ws)] * 3)):
            _set(c, *trio)
        return out(layer(x, **call))
    assert gradcheck(fn, [x] + weights)


def test_keras_weight_names_shapes_and_forget_bias():
    lstm = layers.LSTM(5)
    assert lstm(np.ones((2, 7, 3), np.float32)).shape == (2, 5)
    assert isinstance(lstm.cell, layers.LSTMCell) and lstm.name == "lstm"
    assert [w.name for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in lstm.weights] == [(3, 20), (5, 20), (20,)]
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    assert layers.LSTM(2, unit_forget_bias=False)(np.ones((1, 2, 3))) is not None
    gru = layers.GRU(5)
    assert gru(np.ones((2, 7, 3), np.float32)).shape == (2, 5)
    assert isinstance(gru.cell, layers.GRUCell) and gru.name == "gru" and gru.reset_after
    assert [w.shape for w in gru.weights] == [(3, 15), (5, 15), (2, 15)]
    assert gru.count_params() == 45 + 75 + 30


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, True)])
def test_layer_gradcheck(x, cls, return_sequences, go_backwards):
    layer = getattr(layers, cls)(U, return_sequences=return_sequences, go_backwards=go_backwards,
                                 dtype="float64")
    _gradcheck_layer(layer, x)


def test_lstm_return_state_mask_and_initial_state_gradcheck(x):
    rng = np.random.default_rng(4)
    h0, c0 = rng.standard_normal((B, U)) * 0.5, rng.standard_normal((B, U)) * 0.5
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 0]], bool)
    layer = layers.LSTM(U, return_sequences=True, return_state=True, dtype="float64")
    layer.build((None, T, F))
    ws = [np.array(w.numpy(), np.float64, order="C") for w in layer.weights]

    def fn(x, h0, c0, k, r, b):
        _set(layer.cell, k, r, b)
        out, h, c = layer(x, initial_state=[h0, c0], mask=mask)
        return ops.concatenate([ops.sum(out, axis=1), h, c * 2.0], axis=-1)
    assert gradcheck(fn, [x, h0, c0] + ws)


def test_gru_mask_and_initial_state_gradcheck(x):
    h0 = np.random.default_rng(4).standard_normal((B, U)) * 0.5
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 0]], bool)
    layer = layers.GRU(U, return_state=True, go_backwards=True, dtype="float64")
    layer.build((None, T, F))
    ws = [np.array(w.numpy(), np.float64, order="C") for w in layer.weights]

    def fn(x, h0, k, r, b):
        _set(layer.cell, k, r, b)
        out, h = layer(x, initial_state=h0, mask=mask)
        return ops.concatenate([out, h * 3.0], axis=-1)
    assert gradcheck(fn, [x, h0] + ws)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_cell_step_matches_the_layer(x, cls):
    layer = getattr(layers, cls)(U, return_sequences=True, dtype="float64")
    seq = layer(x).numpy()
    cell = layer.cell
    states = cell.get_initial_state(B)
    states = [ops.cast(s, "float64") for s in states]
    for t in range(T):
        h, states = cell(x[:, t], states)
        np.testing.assert_allclose(h.numpy(), seq[:, t], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("inner", ["LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_shapes_and_gradients(x, inner, return_sequences):
    bi = layers.Bidirectional(getattr(layers, inner)(U, return_sequences=return_sequences, dtype="float64"))
    want = (B, T, 2 * U) if return_sequences else (B, 2 * U)
    assert bi(x).shape == want and bi.compute_output_shape((B, T, F)) == want
    _gradcheck_layer(bi, x)


@pytest.mark.parametrize("inner,n_states", [("LSTM", 2), ("GRU", 1)])
def test_bidirectional_return_state_lists_forward_then_backward_states(x, inner, n_states):
    bi = layers.Bidirectional(getattr(layers, inner)(U, return_state=True, dtype="float64"))
    out = bi(x)
    assert len(out) == 1 + 2 * n_states
    fwd = bi.forward_layer(x)
    bwd = bi.backward_layer(x)
    np.testing.assert_allclose(out[0].numpy(), np.concatenate([fwd[0].numpy(), bwd[0].numpy()], -1))
    for got, want in zip(out[1:], fwd[1:] + bwd[1:]):
        np.testing.assert_allclose(got.numpy(), want.numpy())
    assert [tuple(s) for s in bi.compute_output_shape((B, T, F))] == [(B, 2 * U)] + [(B, U)] * 2 * n_states


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_config_round_trip(x, cls):
    layer = getattr(layers, cls)(4, return_sequences=True, go_backwards=True, dropout=0.1, name="rec")
    config = serialize(layer)
    clone = deserialize(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()
    assert clone.go_backwards and clone.return_sequences and clone.dropout == 0.1
    assert layer.compute_output_shape((None, 6, 3)) == (None, 6, 4)
    states = getattr(layers, cls)(4, return_state=True).compute_output_shape((None, 6, 3))
    assert len(states) == (3 if cls == "LSTM" else 2)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_errors_name_the_layer(cls):
    layer = getattr(layers, cls)(3, name="rec")
    with pytest.raises(ValueError, match=f"{cls} 'rec'.*rank 3"):
        layer(np.ones((2, 5)))
    layer(np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=f"{cls} 'rec'.*initial_state must have shape"):
        layer(np.ones((2, 5, 4)), initial_state=[np.zeros((2, 7))] * (2 if cls == "LSTM" else 1))
    with pytest.raises(ValueError, match=f"{cls} 'rec'.*initial state"):
        layer(np.ones((2, 5, 4)), initial_state=[np.zeros((2, 3))] * 3)
    assert getattr(layers, cls)(3, activation="relu")(np.ones((2, 5, 4))).shape == (2, 3)   # composed path


def test_stateful_lstm_carries_h_and_c(x):
    layer = layers.LSTM(U, stateful=True, return_state=True, dtype="float64")
    out1, h1, c1 = layer(x)
    out2, _, _ = layer(x)
    fresh = layers.LSTM.from_config(layer.get_config())
    fresh.build((None, T, F))
    fresh.set_weights(layer.get_weights())
    want, _, _ = fresh(x, initial_state=[h1, c1])
    np.testing.assert_allclose(out2.numpy(), want.numpy())
    layer.reset_states()
    np.testing.assert_allclose(layer(x)[0].numpy(), out1.numpy())


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_learns_a_synthetic_sequence_task(cls):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((256, 8, 2)).astype("float32")
    ys = (xs[:, :, 0].sum(axis=1) > 0).astype("float32")[:, None]        # sign of the running sum
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8, 2)), getattr(layers, cls)(8),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(xs, ys, batch_size=32, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_save_and_load_weights_round_trip(tmp_path, x, cls):
    def build():
        return keras.Sequential([keras.Input((T, F)),
                                 layers.Bidirectional(getattr(layers, cls)(U, return_sequences=True)),
                                 getattr(layers, cls)(U), layers.Dense(2)])
    model = build()
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    clone = build()
    clone.load_weights(path)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    import h5py
    with h5py.File(path, "r") as f:
        name = cls.lower()
        assert f[f"layers/{name}/cell/vars/0"].shape == (2 * U, 4 * U if cls == "LSTM" else 3 * U)
        assert f[f"layers/{name}/cell/vars/2"].shape == ((4 * U,) if cls == "LSTM" else (2, 3 * U))


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_keras_made_weights_give_keras_predictions(name):
    path = os.path.join(FIXTURES, f"{name}.weights.h5")
    if not os.path.exists(path):
        pytest.skip("fixture not generated (tests/fixtures/make_keras_fixtures.py gated)")
    if name == "lstm":
        model = keras.Sequential([keras.Input((6, 3)), layers.LSTM(4, return_sequences=True), layers.LSTM(3),
                                  layers.Dense(2)])
    else:
        model = keras.Sequential([keras.Input((6, 3)), layers.Bidirectional(layers.GRU(4, return_sequences=True)),
                                  layers.GRU(3, go_backwards=True), layers.Dense(2)])
    model.load_weights(path)
    ref = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    np.testing.assert_allclose(model.predict(ref["x0"], verbose=0), ref["y"], rtol=1e-5, atol=1e-5)
