"""SimpleRNN, SimpleRNNCell and Bidirectional: gradients, values, Keras compatibility, errors."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.autograd import Tensor, gradcheck
from kerasette.layers import deserialize, serialize

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
B, T, F, U = 2, 4, 3, 3


def step_loop(x, kernel, rkernel, bias, h0=None, mask=None, go_backwards=False, zero_masked=False):
    """Independent reference: Keras's RNN semantics one sample and one step at a time.

    Returns (outputs in processing order (batch, time, units), final states (batch, units)).
    """
    outs, finals = [], []
    for i in range(x.shape[0]):
        h = np.zeros(kernel.shape[1]) if h0 is None else np.array(h0[i], np.float64)
        prev_out = np.zeros(kernel.shape[1])
        order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
        row = []
        for t in order:
            if mask is None or mask[i, t]:
                h = np.tanh(x[i, t] @ kernel + h @ rkernel + bias)
                prev_out = h
                row.append(h)
            else:
                row.append(np.zeros_like(h) if zero_masked else prev_out)
        outs.append(row)
        finals.append(h)
    return np.array(outs), np.array(finals)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return dict(x=rng.standard_normal((B, T, F)), h0=rng.standard_normal((B, U)) * 0.5,
                mask=np.array([[1, 1, 0, 1], [0, 1, 1, 0]], bool))


def _with_weights(layer, *tensors):
    """Point the layer's cell(s) at the given tensors (for gradchecks of the weights)."""
    cells = [layer.cell] if hasattr(layer, "cell") else [layer.forward_layer.cell, layer.backward_layer.cell]
    for c, (k, r, b) in zip(cells, zip(*[iter(tensors)] * 3)):
        c.kernel, c.recurrent_kernel, c.bias = k, r, b


def _weights64(layer):
    return [w.numpy().astype(np.float64) for w in layer.weights]


# ---- SimpleRNN -----------------------------------------------------------------

def test_weights_live_on_the_cell_with_keras_names_shapes_and_order():
    layer = layers.SimpleRNN(5)
    out = layer(np.ones((2, 7, 3), np.float32))
    assert out.shape == (2, 5)
    assert isinstance(layer.cell, layers.SimpleRNNCell)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in layer.weights] == [(3, 5), (5, 5), (5,)]
    assert [id(w) for w in layer.weights] == [id(w) for w in layer.cell.weights]
    rk = layer.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(rk @ rk.T, np.eye(5), atol=1e-5)          # orthogonal init
    assert layer.name == "simple_rnn" and layer.count_params() == 3 * 5 + 25 + 5


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_simple_rnn_gradcheck(data, return_sequences, go_backwards):
    layer = layers.SimpleRNN(U, return_sequences=return_sequences, go_backwards=go_backwards, dtype="float64")
    layer.build((None, T, F))

    def fn(x, k, r, b):
        _with_weights(layer, k, r, b)
        return layer(x)
    assert gradcheck(fn, [data["x"]] + _weights64(layer))


@pytest.mark.parametrize("return_sequences", [False, True])
def test_simple_rnn_gradcheck_mask_initial_state_return_state(data, return_sequences):
    layer = layers.SimpleRNN(U, return_sequences=return_sequences, return_state=True, dtype="float64")
    layer.build((None, T, F))

    def fn(x, h0, k, r, b):
        _with_weights(layer, k, r, b)
        out, state = layer(x, initial_state=h0, mask=data["mask"])
        return ops.concatenate([ops.reshape(out, (B, -1)), state], axis=1)
    assert gradcheck(fn, [data["x"], data["h0"]] + _weights64(layer))


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_simple_rnn_values_match_step_loop(data, go_backwards, with_state):
    layer = layers.SimpleRNN(U, return_sequences=True, return_state=True, go_backwards=go_backwards,
                             dtype="float64")
    h0 = data["h0"] if with_state else None
    seq, state = layer(data["x"], initial_state=h0, mask=data["mask"])
    k, r, b = _weights64(layer)
    want_seq, want_state = step_loop(data["x"], k, r, b, h0, data["mask"], go_backwards)
    np.testing.assert_allclose(seq.numpy(), want_seq, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state.numpy(), want_state, rtol=1e-10, atol=1e-12)
    last = layers.SimpleRNN.from_config({**layer.get_config(), "return_sequences": False,
                                         "return_state": False})
    last.build((None, T, F))
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last(data["x"], initial_state=h0, mask=data["mask"]).numpy(),
                               want_seq[:, -1], rtol=1e-10, atol=1e-12)


def test_go_backwards_returns_the_reversed_sequence(data):
    fwd = layers.SimpleRNN(U, return_sequences=True, dtype="float64")
    bwd = layers.SimpleRNN(U, return_sequences=True, go_backwards=True, dtype="float64")
    fwd.build((None, T, F))
    bwd.build((None, T, F))
    bwd.set_weights(fwd.get_weights())
    x = data["x"]
    np.testing.assert_allclose(bwd(x).numpy(), fwd(x[:, ::-1].copy()).numpy(), rtol=1e-12)


def test_non_fused_activation_falls_back_to_a_graph_of_ops(data):
    layer = layers.SimpleRNN(U, activation="softsign", return_sequences=True, dtype="float64")
    layer.build((None, T, F))
    k, r, b = _weights64(layer)
    out = layer(data["x"], mask=data["mask"]).numpy()
    h = np.zeros((B, U))
    for t in range(T):
        a = data["x"][:, t] @ k + h @ r + b
        h = np.where(data["mask"][:, t, None], a / (1 + np.abs(a)), h)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-10, atol=1e-12)

    def fn(x, k, r, b):
        _with_weights(layer, k, r, b)
        return layer(x, mask=data["mask"])
    assert gradcheck(fn, [data["x"], k, r, b])
    # inputs only: each state feeds the next step and the output stack (a graph with shared nodes)
    plain = layers.SimpleRNN(U, activation="softsign", dtype="float64")
    plain.build((None, T, F))
    assert gradcheck(lambda x: plain(x), [data["x"]])


def test_masking_layer_feeds_simple_rnn():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    x[0, 4:] = 0            # post-padded
    x[1, :2] = 0            # pre-padded
    model = keras.Sequential([keras.Input((6, 2)), layers.Masking(0.0), layers.SimpleRNN(4)])
    got = model.predict(x, verbose=0)
    rnn = model.layers[-1]
    trimmed = [x[0:1, :4], x[1:2, 2:], x[2:3]]
    for i, xi in enumerate(trimmed):
        np.testing.assert_allclose(got[i], rnn(xi).numpy()[0], rtol=1e-5, atol=1e-6)


def test_mask_propagates_through_stacked_layers():
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
    x[0, 3:] = 0
    model = keras.Sequential([keras.Input((5, 3)), layers.Masking(), layers.SimpleRNN(4, return_sequences=True),
                              layers.SimpleRNN(2)])
    got = model.predict(x, verbose=0)
    short = model.layers[-1](model.layers[-2](x[:1, :3]))
    np.testing.assert_allclose(got[0], short.numpy()[0], rtol=1e-5, atol=1e-6)


def test_initial_state_in_a_functional_model(data):
    x_in, h_in = keras.Input((T, F)), keras.Input((U,))
    rnn = layers.SimpleRNN(U, return_state=True)
    out, state = rnn(x_in, initial_state=h_in)
    model = keras.Model([x_in, h_in], [out, state])
    x, h0 = data["x"].astype(np.float32), data["h0"].astype(np.float32)
    got_out, got_state = model.predict([x, h0], verbose=0)
    k, r, b = _weights64(rnn)
    _, want = step_loop(x, k, r, b, h0)
    np.testing.assert_allclose(got_out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, want, rtol=1e-5, atol=1e-6)


def test_stateful_carries_the_state_between_calls(data):
    layer = layers.SimpleRNN(U, stateful=True, dtype="float64")
    whole = layers.SimpleRNN(U, dtype="float64")
    layer.build((B, T, F))
    whole.build((B, 2 * T, F))
    whole.set_weights(layer.get_weights())
    x2 = np.concatenate([data["x"], data["x"][:, ::-1]], axis=1)
    layer(x2[:, :T].copy())
    second = layer(x2[:, T:].copy()).numpy()
    np.testing.assert_allclose(second, whole(x2).numpy(), rtol=1e-10)
    layer.reset_states()
    np.testing.assert_allclose(layer(x2[:, :T].copy()).numpy(),
                               whole(x2[:, :T].copy()).numpy(), rtol=1e-10)


def test_dropout_only_in_training_and_fixed_over_time():
    x = np.ones((4, 6, 5), np.float32)
    layer = layers.SimpleRNN(3, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    a = layer(x, training=False).numpy()
    np.testing.assert_array_equal(a, layer(x).numpy())
    b = layer(x, training=True).numpy()
    assert not np.allclose(a, b)
    # input dropout with a zero recurrent kernel: each step sees the same dropped input
    layer2 = layers.SimpleRNN(3, dropout=0.5, recurrent_initializer="zeros", return_sequences=True)
    out = layer2(x, training=True).numpy()
    np.testing.assert_allclose(out, np.repeat(out[:, :1], 6, axis=1), rtol=1e-6)


def test_simple_rnn_cell_matches_one_step_of_the_layer(data):
    layer = layers.SimpleRNN(U, return_sequences=True, dtype="float64")
    seq = layer(data["x"]).numpy()
    out, states = layer.cell(data["x"][:, 1], [seq[:, 0]])
    np.testing.assert_allclose(out.numpy(), seq[:, 1], rtol=1e-12)
    assert isinstance(states, list) and states[0] is out
    cfg = layers.SimpleRNNCell(7, dropout=0.25).get_config()
    assert cfg["units"] == 7 and cfg["dropout"] == 0.25
    assert layers.SimpleRNNCell.from_config(cfg).get_config() == cfg


def test_matches_torch_rnn(data):
    torch = pytest.importorskip("torch")
    layer = layers.SimpleRNN(U, return_sequences=True, return_state=True, dtype="float64")
    layer.build((None, T, F))
    k, r, b = _weights64(layer)
    ref = torch.nn.RNN(F, U, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(k.T))
        ref.weight_hh_l0.copy_(torch.from_numpy(r.T))
        ref.bias_ih_l0.copy_(torch.from_numpy(b))
        ref.bias_hh_l0.zero_()
        seq_t, h_t = ref(torch.from_numpy(data["x"]), torch.from_numpy(data["h0"])[None])
    seq, state = layer(data["x"], initial_state=[data["h0"]])
    np.testing.assert_allclose(seq.numpy(), seq_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state.numpy(), h_t[0].numpy(), rtol=1e-10, atol=1e-12)


def test_keras_trained_weights_give_keras_predictions():
    h5py = pytest.importorskip("h5py")
    for name in ("rnn", "birnn"):
        path = os.path.join(FIXTURES, f"{name}.weights.h5")
        if not os.path.exists(path):
            pytest.skip("Keras fixtures missing")
        rnn = layers.SimpleRNN(4) if name == "rnn" else layers.Bidirectional(layers.SimpleRNN(4))
        model = keras.Sequential([keras.Input((5, 3)), rnn, layers.Dense(2)])
        with h5py.File(path, "r") as f:
            if name == "rnn":
                ws = [f[f"layers/simple_rnn/cell/vars/{i}"][()] for i in range(3)]
            else:
                ws = [f[f"layers/bidirectional/{side}/cell/vars/{i}"][()]
                      for side in ("forward_layer", "backward_layer") for i in range(3)]
            ws += [f[f"layers/dense/vars/{i}"][()] for i in range(2)]
        model.set_weights(ws)
        ref = np.load(os.path.join(FIXTURES, f"{name}.npz"))
        np.testing.assert_allclose(model.predict(ref["x0"], verbose=0), ref["y"], rtol=1e-5, atol=1e-6)


def test_simple_rnn_config_round_trip():
    layer = layers.SimpleRNN(6, activation="relu", use_bias=False, return_sequences=True, return_state=True,
                             go_backwards=True, dropout=0.1, recurrent_dropout=0.2, name="rnn_a")
    cfg = layer.get_config()
    for key, value in dict(units=6, activation="relu", use_bias=False, return_sequences=True,
                           return_state=True, go_backwards=True, stateful=False, unroll=False,
                           dropout=0.1, recurrent_dropout=0.2, zero_output_for_mask=False).items():
        assert cfg[key] == value, key
    assert "cell" not in cfg
    again = deserialize(serialize(layer))
    assert type(again) is layers.SimpleRNN and again.get_config() == cfg
    assert again(np.ones((1, 3, 2)))[0].shape == (1, 3, 6)
    assert [w.name for w in again.weights] == ["kernel", "recurrent_kernel"]


def test_symbolic_shapes():
    x = keras.Input((7, 3))
    assert layers.SimpleRNN(4)(x).shape == (None, 4)
    assert layers.SimpleRNN(4, return_sequences=True)(x).shape == (None, 7, 4)
    out, state = layers.SimpleRNN(4, return_state=True)(x)
    assert out.shape == (None, 4) and state.shape == (None, 4)
    assert layers.Bidirectional(layers.SimpleRNN(4, return_sequences=True))(x).shape == (None, 7, 8)
    outs = layers.Bidirectional(layers.SimpleRNN(4, return_state=True), merge_mode=None)(x)
    assert [t.shape for t in outs] == [(None, 4)] * 4


# ---- Bidirectional -------------------------------------------------------------

@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_gradcheck(data, merge_mode, return_sequences):
    bi = layers.Bidirectional(layers.SimpleRNN(U, return_sequences=return_sequences, dtype="float64"),
                              merge_mode=merge_mode, dtype="float64")
    bi.build((None, T, F))

    def fn(x, *ws):
        _with_weights(bi, *ws)
        out = bi(x)
        return ops.concatenate(out, axis=-1) if merge_mode is None else out
    assert gradcheck(fn, [data["x"]] + _weights64(bi))


def test_bidirectional_gradcheck_with_mask_initial_state_and_states(data):
    bi = layers.Bidirectional(layers.SimpleRNN(U, return_sequences=True, return_state=True, dtype="float64"),
                              dtype="float64")
    bi.build((None, T, F))
    h0b = data["h0"][::-1].copy()

    def fn(x, h0f, h0b, *ws):
        _with_weights(bi, *ws)
        out, hf, hb = bi(x, initial_state=[h0f, h0b], mask=data["mask"])
        return ops.concatenate([ops.reshape(out, (B, -1)), hf, hb], axis=1)
    assert gradcheck(fn, [data["x"], data["h0"], h0b] + _weights64(bi))


def test_deep_bidirectional_stack_gradcheck(data):
    """The first layer's output feeds both directions of the second: its gradient is a sum."""
    bi1 = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True, dtype="float64"), dtype="float64")
    bi2 = layers.Bidirectional(layers.SimpleRNN(2, dtype="float64"), merge_mode="sum", dtype="float64")
    bi1.build((None, T, F))
    bi2.build((None, T, 4))

    def fn(x, *ws):
        _with_weights(bi1, *ws[:6])
        _with_weights(bi2, *ws[6:])
        return bi2(bi1(x))
    assert gradcheck(fn, [data["x"]] + _weights64(bi1) + _weights64(bi2))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_values(data, merge_mode):
    bi = layers.Bidirectional(layers.SimpleRNN(U, return_sequences=True, return_state=True, dtype="float64"),
                              merge_mode=merge_mode, dtype="float64")
    result = bi(data["x"], mask=data["mask"])
    kf, rf, bf, kb, rb, bb = _weights64(bi)
    fwd, hf = step_loop(data["x"], kf, rf, bf, mask=data["mask"], zero_masked=True)
    bwd, hb = step_loop(data["x"], kb, rb, bb, mask=data["mask"], go_backwards=True, zero_masked=True)
    bwd = bwd[:, ::-1]                                  # back into time order
    want = {"concat": np.concatenate([fwd, bwd], -1), "sum": fwd + bwd, "mul": fwd * bwd,
            "ave": (fwd + bwd) / 2, None: None}[merge_mode]
    if merge_mode is None:
        assert len(result) == 4
        np.testing.assert_allclose(result[0].numpy(), fwd, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(result[1].numpy(), bwd, rtol=1e-10, atol=1e-12)
    else:
        assert len(result) == 3
        np.testing.assert_allclose(result[0].numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result[-2].numpy(), hf, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result[-1].numpy(), hb, rtol=1e-10, atol=1e-12)


def test_bidirectional_matches_torch(data):
    torch = pytest.importorskip("torch")
    bi = layers.Bidirectional(layers.SimpleRNN(U, return_sequences=True, dtype="float64"), dtype="float64")
    bi.build((None, T, F))
    kf, rf, bf, kb, rb, bb = _weights64(bi)
    ref = torch.nn.RNN(F, U, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for suffix, (k, r, b) in (("", (kf, rf, bf)), ("_reverse", (kb, rb, bb))):
            getattr(ref, "weight_ih_l0" + suffix).copy_(torch.from_numpy(k.T))
            getattr(ref, "weight_hh_l0" + suffix).copy_(torch.from_numpy(r.T))
            getattr(ref, "bias_ih_l0" + suffix).copy_(torch.from_numpy(b))
            getattr(ref, "bias_hh_l0" + suffix).zero_()
        want, _ = ref(torch.from_numpy(data["x"]))
    np.testing.assert_allclose(bi(data["x"]).numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_bidirectional_structure_names_and_config():
    rnn = layers.SimpleRNN(4, return_sequences=True, name="enc")
    bi = layers.Bidirectional(rnn, merge_mode="sum")
    assert bi.forward_layer.name == "forward_enc" and bi.backward_layer.name == "backward_enc"
    assert bi.forward_layer is not rnn and not bi.forward_layer.go_backwards and bi.backward_layer.go_backwards
    assert bi.backward_layer.units == 4 and bi.return_sequences
    bi(np.ones((2, 3, 5), np.float32))
    assert [w.shape for w in bi.weights] == [(5, 4), (4, 4), (4,)] * 2
    assert not rnn.built                                # the wrapped layer itself is only a template
    cfg = bi.get_config()
    assert cfg["merge_mode"] == "sum" and cfg["layer"]["class_name"] == "SimpleRNN"
    again = deserialize(serialize(bi))
    assert again.forward_layer.name == "forward_enc" and again.backward_layer.name == "backward_enc"
    assert again.backward_layer.go_backwards and again.merge_mode == "sum"
    again.set_weights(bi.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 3, 5)).astype(np.float32)
    np.testing.assert_allclose(again(x).numpy(), bi(x).numpy(), rtol=1e-6)


def test_bidirectional_custom_backward_layer_and_weights_argument():
    fwd = layers.SimpleRNN(3, return_sequences=True)
    bwd = layers.SimpleRNN(3, activation="relu", return_sequences=True, go_backwards=True)
    bi = layers.Bidirectional(fwd, backward_layer=bwd)
    assert bi.backward_layer is bwd
    bi(np.ones((1, 2, 2), np.float32))
    ws = [np.full(w.shape, 0.1 * (i + 1), np.float32) for i, w in enumerate(bi.weights)]
    bi2 = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True), weights=ws)
    bi2(np.ones((1, 2, 2), np.float32))
    for w, v in zip(bi2.get_weights(), ws):
        np.testing.assert_array_equal(w, v)


def test_bidirectional_trains_in_a_model():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 2)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)              # depends on the first step only
    model = keras.Sequential([keras.Input((6, 2)), layers.Bidirectional(layers.SimpleRNN(8)),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert hist.history["loss"][-1] < 0.6 * hist.history["loss"][0]


# ---- errors --------------------------------------------------------------------

def test_two_dimensional_input_is_refused():
    layer = layers.SimpleRNN(4)
    with pytest.raises(ValueError, match=r"SimpleRNN 'simple_rnn'.*rank 3.*\(2, 5\)"):
        layer(np.ones((2, 5), np.float32))
    assert not layer.built and layer.weights == []
    with pytest.raises(ValueError, match=r"SimpleRNN 'simple_rnn'.*\(None, 5\)"):
        layer(keras.Input((5,)))


def test_wrong_feature_count_after_build():
    layer = layers.SimpleRNN(4)
    layer(np.ones((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"expected input with 5 features.*\(2, 3, 6\)"):
        layer(np.ones((2, 3, 6), np.float32))


def test_wrong_initial_state_shape():
    layer = layers.SimpleRNN(4)
    with pytest.raises(ValueError, match=r"SimpleRNN 'simple_rnn': initial_state must have shape "
                                         r"\(2, 4\), got \(2, 3\)"):
        layer(np.ones((2, 3, 5), np.float32), initial_state=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="expected 1 initial state"):
        layer(np.ones((2, 3, 5), np.float32), initial_state=[np.zeros((2, 4))] * 2)


def test_wrong_mask_shape():
    layer = layers.SimpleRNN(4)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(2, 4\)"):
        layer(np.ones((2, 3, 5), np.float32), mask=np.ones((2, 4), bool))


def test_bidirectional_around_a_non_recurrent_layer():
    with pytest.raises(ValueError, match=r"Bidirectional.*recurrent.*Dense 'dense'"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError, match="recurrent keras layer"):
        layers.Bidirectional("lstm")


def test_bidirectional_unknown_merge_mode():
    with pytest.raises(ValueError, match=r"unknown merge_mode 'max'"):
        layers.Bidirectional(layers.SimpleRNN(3), merge_mode="max")


def test_bidirectional_mismatched_backward_layer():
    with pytest.raises(ValueError, match="different go_backwards"):
        layers.Bidirectional(layers.SimpleRNN(3), backward_layer=layers.SimpleRNN(3))
    with pytest.raises(ValueError, match="same return_sequences"):
        layers.Bidirectional(layers.SimpleRNN(3),
                             backward_layer=layers.SimpleRNN(3, go_backwards=True, return_sequences=True))


def test_bidirectional_odd_initial_state_count():
    bi = layers.Bidirectional(layers.SimpleRNN(3))
    with pytest.raises(ValueError, match=r"Bidirectional 'bidirectional'.*even number.*got 1"):
        bi(np.ones((2, 4, 2), np.float32), initial_state=[np.zeros((2, 3))])


def test_bad_units_and_rates():
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.SimpleRNN(0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        layers.SimpleRNN(3, dropout=1.5)
