"""RNN(cell), StackedRNNCells and TimeDistributed: equal to the fused layers with the same
weights, masks as Keras, gradients, configs, errors, and Keras-made files
(tests/fixtures/rnn_cells.* and attention_eager.npz, from make_attention_rnn_fixtures.py)."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
B, T, F = 3, 5, 4
MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [0, 0, 1, 1, 0]], bool)


class MinimalRNNCell(layers.Layer):
    """A user's own cell (the one of Keras's RNN documentation)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class TwoStateCell(layers.Layer):
    """A cell with two states of different sizes, an output_size and a training flag."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state_size = [3, 2]
        self.output_size = 2

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1] + 3, 3), name="w")
        self.v = self.add_weight(shape=(3, 2), name="v")

    def call(self, inputs, states, training=None):
        a = ops.tanh(ops.matmul(ops.concatenate([inputs, states[0]], axis=-1), self.w))
        b = ops.sigmoid(ops.matmul(a, self.v)) * states[1] + 0.5 * ops.matmul(a, self.v)
        return b * 2.0, [a, b]


@pytest.fixture
def x():
    return np.random.default_rng(3).standard_normal((B, T, F)).astype("float32")


# -- the built-in cells inside RNN equal the fused layers ------------------------------------

@pytest.mark.parametrize("cls,cell", [("LSTM", "LSTMCell"), ("GRU", "GRUCell"), ("SimpleRNN", "SimpleRNNCell")])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("loop", [False, True])
def test_rnn_over_builtin_cells_equals_the_fused_layer(x, cls, cell, go_backwards, loop):
    """A built-in cell runs as its fused layer's one node; a subclass of it (``loop``) runs
    step by step through its ``call``: the same values either way."""
    fused = getattr(layers, cls)(4, return_sequences=True, return_state=True, go_backwards=go_backwards)
    cell_cls = getattr(layers, cell)
    if loop:
        cell_cls = type("My" + cell, (cell_cls,), {})
    generic = layers.RNN(cell_cls(4), return_sequences=True, return_state=True, go_backwards=go_backwards)
    assert (generic._fused_layer() is None) == loop
    fused(x)
    generic(x)
    assert [w.shape for w in generic.weights] == [w.shape for w in fused.weights]
    assert [w.name for w in generic.weights] == [w.name for w in fused.weights]
    generic.set_weights(fused.get_weights())
    init = [np.random.default_rng(1).standard_normal((B, 4)).astype("float32") for _ in fused.state_size]
    for kwargs in ({}, {"mask": MASK}, {"mask": MASK, "initial_state": init}):
        a, b = fused(x, **kwargs), generic(x, **kwargs)
        assert len(a) == len(b)
        for u, v in zip(a, b):
            np.testing.assert_allclose(v.numpy(), u.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,cell", [("LSTM", "LSTMCell"), ("GRU", "GRUCell"), ("SimpleRNN", "SimpleRNNCell")])
def test_builtin_cell_dropout_masks_are_drawn_per_sequence_as_the_fused_layer(x, cls, cell):
    fused = getattr(layers, cls)(4, dropout=0.3, recurrent_dropout=0.4, seed=7, return_sequences=True)
    generic = layers.RNN(getattr(layers, cell)(4, dropout=0.3, recurrent_dropout=0.4, seed=7),
                         return_sequences=True)
    fused(x)
    generic(x)
    generic.set_weights(fused.get_weights())
    np.testing.assert_allclose(generic(x, training=True).numpy(), fused(x, training=True).numpy(),
                               rtol=1e-5, atol=1e-6)
    assert not np.allclose(generic(x, training=True).numpy(), generic(x).numpy())


def test_rnn_lstm_cell_last_output_and_weight_paths(x):
    lstm = layers.LSTM(5)
    rnn = layers.RNN(layers.LSTMCell(5), name="rnn")
    lstm(x)
    rnn(x)
    rnn.set_weights(lstm.get_weights())
    np.testing.assert_allclose(rnn(x).numpy(), lstm(x).numpy(), rtol=1e-5, atol=1e-6)
    assert [w.path for w in rnn.weights] == ["rnn/lstm_cell/kernel", "rnn/lstm_cell/recurrent_kernel",
                                             "rnn/lstm_cell/bias"]


# -- masks, states, stacking -------------------------------------------------------------------

def test_masked_steps_carry_states_and_outputs(x):
    rnn = layers.RNN(MinimalRNNCell(3), return_sequences=True, return_state=True)
    seq, h = rnn(x, mask=MASK)
    seq = seq.numpy()
    np.testing.assert_allclose(seq[0, 3], seq[0, 2])          # carried through
    np.testing.assert_allclose(seq[2, :2], 0.0)               # nothing seen yet: zeros
    np.testing.assert_allclose(h.numpy()[2], seq[2, 3])       # the last unmasked step's state
    zero = layers.RNN(rnn.cell, return_sequences=True, zero_output_for_mask=True)
    out = zero(x, mask=MASK).numpy()
    np.testing.assert_allclose(out[0, 3:], 0.0)
    np.testing.assert_allclose(out[1, 2:], seq[1, 2:], rtol=1e-6)


def test_two_state_cell_output_size_and_training_flag(x):
    rnn = layers.RNN(TwoStateCell(), return_state=True, return_sequences=True)
    out, a, b = rnn(x, training=True)
    assert out.shape == (B, T, 2) and a.shape == (B, 3) and b.shape == (B, 2)
    assert rnn.compute_output_shape((None, T, F)) == [(None, T, 2), (None, 3), (None, 2)]
    assert rnn.state_size == [3, 2]
    np.testing.assert_allclose(out.numpy()[:, -1], 2.0 * b.numpy(), rtol=1e-6)


def test_stacked_cells(x):
    stacked = layers.StackedRNNCells([layers.LSTMCell(3), layers.GRUCell(2), MinimalRNNCell(4)])
    assert stacked.state_size == [[3, 3], 2, 4] and stacked.output_size == 4
    rnn = layers.RNN(stacked, return_state=True)
    out, *states = rnn(x)
    assert out.shape == (B, 4) and [s.shape for s in states] == [(B, 3), (B, 3), (B, 2), (B, 4)]
    # the same as three RNN layers one after the other, with the same weights
    chain = [layers.RNN(layers.LSTMCell(3), return_sequences=True),
             layers.RNN(layers.GRUCell(2), return_sequences=True), layers.RNN(MinimalRNNCell(4))]
    y = x
    for layer, cell in zip(chain, stacked.cells):
        layer(y)
        layer.set_weights(cell.get_weights())
        y = layer(y)
    np.testing.assert_allclose(out.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)
    # a list of cells is stacked for you
    assert isinstance(layers.RNN([layers.GRUCell(2), layers.GRUCell(2)]).cell, layers.StackedRNNCells)


def test_stateful_carries_and_resets(x):
    rnn = layers.RNN(MinimalRNNCell(3), stateful=True)
    full = layers.RNN(rnn.cell)
    first = rnn(x[:, :2])
    second = rnn(x[:, 2:])
    np.testing.assert_allclose(second.numpy(), full(x).numpy(), rtol=1e-5, atol=1e-6)
    assert first.shape == (B, 3) and rnn.states[0].shape == (B, 3)
    rnn.reset_states()
    np.testing.assert_allclose(rnn(x).numpy(), full(x).numpy(), rtol=1e-6)


def test_unroll_is_accepted(x):
    a = layers.RNN(MinimalRNNCell(3), unroll=True)
    a(x)
    assert a.get_config()["unroll"] is True


def test_bidirectional_over_rnn_cell(x):
    bi = layers.Bidirectional(layers.RNN(layers.GRUCell(3), return_sequences=True))
    fused = layers.Bidirectional(layers.GRU(3, return_sequences=True))
    bi(x)
    fused(x)
    bi.set_weights(fused.get_weights())
    np.testing.assert_allclose(bi(x, mask=MASK).numpy(), fused(x, mask=MASK).numpy(), rtol=1e-5, atol=1e-6)


def test_bidirectional_over_a_users_unregistered_cell(x):
    bi = layers.Bidirectional(layers.RNN(MinimalRNNCell(3), return_sequences=True), merge_mode="sum")
    y = bi(x)
    assert y.shape == (B, T, 3)
    assert isinstance(bi.backward_layer.cell, MinimalRNNCell) and bi.backward_layer.go_backwards
    fwd = bi.forward_layer(x).numpy()
    bwd = bi.backward_layer(x).numpy()[:, ::-1]
    np.testing.assert_allclose(y.numpy(), fwd + bwd, rtol=1e-5, atol=1e-6)


# -- TimeDistributed -----------------------------------------------------------------------------

def test_time_distributed_applies_the_layer_to_every_step(x):
    td = layers.TimeDistributed(layers.Dense(6))
    y = td(x)
    assert y.shape == (B, T, 6) and td.weights == td.layer.weights
    for t in range(T):
        np.testing.assert_allclose(y.numpy()[:, t], td.layer(x[:, t]).numpy(), rtol=1e-6)
    assert td.compute_output_shape((None, T, F)) == (None, T, 6)
    conv = layers.TimeDistributed(layers.Conv2D(2, 3))
    assert conv(np.ones((2, 3, 5, 5, 1), "float32")).shape == (2, 3, 3, 3, 2)
    assert conv.compute_output_shape((None, 3, 5, 5, 1)) == (None, 3, 3, 3, 2)


def test_time_distributed_passes_the_mask(x):
    td = layers.TimeDistributed(layers.Dense(3))
    y = td(x, mask=MASK)
    np.testing.assert_array_equal(np.asarray(keras.backend.to_numpy(y._keras_mask)), MASK)
    inp = keras.Input((T, F))
    h = layers.TimeDistributed(layers.Dense(3))(layers.Masking(0.0)(inp))
    out = layers.RNN(MinimalRNNCell(2), return_sequences=True)(h)
    model = keras.Model(inp, out)
    xm = x.copy()
    xm[0, 3:] = 0.0
    seq = model.predict(xm, verbose=0)
    np.testing.assert_allclose(seq[0, 3], seq[0, 2])          # the mask reached the RNN


# -- gradients --------------------------------------------------------------------------------

def test_rnn_custom_cell_gradcheck():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((2, 4, 3))
    h0 = rng.standard_normal((2, 3)) * 0.5
    mask = np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool)
    rnn = layers.RNN(MinimalRNNCell(3, dtype="float64"), return_sequences=True, return_state=True,
                     dtype="float64")
    rnn.build((None, 4, 3))
    ws = [np.array(w.numpy(), np.float64, order="C") for w in rnn.weights]

    def fn(x, h0, k, r):
        rnn.cell.kernel, rnn.cell.recurrent_kernel = k, r
        seq, h = rnn(x, initial_state=[h0], mask=mask)
        return ops.concatenate([ops.sum(seq, axis=1), h * 2.0], axis=-1)
    assert gradcheck(fn, [xs, h0] + ws)


def test_rnn_stacked_builtin_cells_gradcheck():
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((2, 3, 3))
    rnn = layers.RNN([layers.LSTMCell(2, dtype="float64"), layers.SimpleRNNCell(2, dtype="float64")],
                     go_backwards=True, dtype="float64")
    rnn.build((None, 3, 3))
    cells = rnn.cell.cells
    ws = [np.array(w.numpy(), np.float64, order="C") for w in rnn.weights]

    def fn(x, *w):
        for cell, trio in zip(cells, (w[:3], w[3:])):
            cell.kernel, cell.recurrent_kernel, cell.bias = trio
        return rnn(x, mask=np.array([[1, 1, 0], [0, 1, 1]], bool))
    assert gradcheck(fn, [xs] + ws)


def test_time_distributed_gradcheck():
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((2, 3, 4))
    td = layers.TimeDistributed(layers.Dense(2, activation="tanh", dtype="float64"), dtype="float64")
    td.build((None, 3, 4))
    ws = [np.array(w.numpy(), np.float64, order="C") for w in td.weights]

    def fn(x, k, b):
        td.layer.kernel, td.layer.bias = k, b
        return td(x)
    assert gradcheck(fn, [xs] + ws)


# -- configs, models, saving --------------------------------------------------------------------

def test_configs_round_trip(x):
    rnn = layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], return_sequences=True, go_backwards=True,
                     zero_output_for_mask=True, name="stack_rnn")
    config = rnn.get_config()
    assert config["cell"]["class_name"] == "StackedRNNCells"
    assert [c["class_name"] for c in config["cell"]["config"]["cells"]] == ["LSTMCell", "GRUCell"]
    clone = layers.deserialize(layers.serialize(rnn))
    assert clone.get_config() == config
    rnn(x)
    clone(x)
    clone.set_weights(rnn.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), rnn(x).numpy(), rtol=1e-6)
    td = layers.TimeDistributed(layers.Dense(3, activation="relu"), name="td")
    config = td.get_config()
    assert config["layer"]["class_name"] == "Dense"
    assert layers.TimeDistributed.from_config(config).get_config() == config
    custom = layers.RNN(MinimalRNNCell(2))
    again = layers.deserialize(layers.serialize(custom), custom_objects={"MinimalRNNCell": MinimalRNNCell})
    assert isinstance(again.cell, MinimalRNNCell) and again.cell.units == 2


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_sequential_with_custom_cell_saves_and_loads(x, tmp_path, suffix):
    model = keras.Sequential([keras.Input((T, F)), layers.TimeDistributed(layers.Dense(3)),
                              layers.RNN(MinimalRNNCell(3), return_sequences=True),
                              layers.RNN(layers.StackedRNNCells([layers.GRUCell(2), layers.LSTMCell(2)])),
                              layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, np.ones((B, 1), "float32"), epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    clone = keras.models.load_model(path, custom_objects={"MinimalRNNCell": MinimalRNNCell})
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


# -- bad arguments ------------------------------------------------------------------------------

def test_bad_arguments_fail_with_one_line(x):
    cases = [
        (lambda: layers.RNN(layers.Dense(3)), "RNN: `cell` must have a `call` method and a `state_size`"),
        (lambda: layers.RNN("lstm"), "`cell` must have"),
        (lambda: layers.RNN(layers.LSTMCell(2), return_sequences="yes"), "return_sequences must be True or False"),
        (lambda: layers.StackedRNNCells([]), "non-empty list of cells"),
        (lambda: layers.StackedRNNCells([layers.LSTMCell(2), 3]), "cells[1]"),
        (lambda: layers.TimeDistributed("dense"), "TimeDistributed: `layer` must be a keras Layer"),
        (lambda: layers.TimeDistributed(layers.Dense(2))(np.ones((2, 3))), "rank 3 or more"),
        (lambda: layers.RNN(layers.GRUCell(2))(np.ones((2, 3))), "rank 3 or more"),
        (lambda: layers.RNN(layers.GRUCell(2))(x, initial_state=[np.zeros((B, 3))]), "initial_state must have"),
        (lambda: layers.RNN(layers.LSTMCell(2))(x, initial_state=[np.zeros((B, 2))]), "expected 2 initial state"),
    ]
    for make, text in cases:
        with pytest.raises(ValueError) as err:
            make()
        assert text in str(err.value) and "\n" not in str(err.value)

    class NoSize(layers.Layer):
        state_size = 0

        def call(self, x, states):
            return x, states
    with pytest.raises(ValueError, match="state_size must be a positive int"):
        layers.RNN(NoSize())


# -- Keras-made files ---------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_keras_made_rnn_cells_model_loads_and_predicts(suffix):
    data = np.load(os.path.join(FIXTURES, "rnn_cells.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "rnn_cells" + suffix),
                                    custom_objects={"MinimalRNNCell": MinimalRNNCell})
    assert isinstance(model.get_layer("rnn_stacked").cell, layers.StackedRNNCells)
    assert isinstance(model.get_layer("rnn_custom").cell, MinimalRNNCell)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_keras_made_masked_sequential_loads_and_predicts(suffix):
    data = np.load(os.path.join(FIXTURES, "rnn_masked.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "rnn_masked" + suffix),
                                    custom_objects={"MinimalRNNCell": MinimalRNNCell})
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-5)
    unmasked = keras.Sequential([keras.Input((6, 3))] + [layer for layer in model.layers[1:]])
    assert not np.allclose(unmasked.predict(data["x"], verbose=0), data["y"], atol=1e-3)   # masks mattered


@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_keras_made_functional_model_with_masking_loads_and_predicts(tmp_path, suffix):
    """Keras 3.15 passes Masking's mask on through NotEqual / Any op nodes: they run, and the
    model predicts as Keras (from a legacy .h5 too, whose config names the ops without their
    module). Read from a .keras file they save again as the Keras nodes they were, and the file
    loads and predicts the same; read from a legacy .h5 (no module to write back) saving is
    refused with one line."""
    data = np.load(os.path.join(FIXTURES, "rnn_functional_masked.npz"))
    custom = {"MinimalRNNCell": MinimalRNNCell}
    model = keras.models.load_model(os.path.join(FIXTURES, "rnn_functional_masked" + suffix), custom_objects=custom)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-5)
    again = tmp_path / "again.keras"
    if suffix == ".keras":
        model.save(again)
        entries = {e["name"]: e for e in model.get_config()["layers"]}
        assert {e["class_name"] for e in entries.values() if e.get("module", "").startswith("keras.src.ops.")} \
            >= {"NotEqual", "Any"}
        back = keras.models.load_model(again, custom_objects=custom)
        np.testing.assert_allclose(back.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-5)
        return
    with pytest.raises(TypeError, match="Keras op 'NotEqual' of a loaded file") as err:
        model.save(again)
    assert "\n" not in str(err.value) and not again.exists()


EAGER = {
    "rnn_lstm_mask": lambda: layers.RNN(layers.LSTMCell(5), return_sequences=True, return_state=True),
    "rnn_stacked_back": lambda: layers.RNN([layers.GRUCell(3), layers.SimpleRNNCell(2)], go_backwards=True,
                                           return_sequences=True),
    "rnn_zero_out": lambda: layers.RNN(layers.SimpleRNNCell(3), return_sequences=True, zero_output_for_mask=True),
    "rnn_custom_last": lambda: layers.RNN(MinimalRNNCell(4)),
    "td_dense_mask": lambda: layers.TimeDistributed(layers.Dense(3)),
    "bi_rnn_mask": lambda: layers.Bidirectional(layers.RNN(layers.LSTMCell(2), return_sequences=True)),
}


@pytest.mark.parametrize("case", sorted(EAGER))
def test_masked_layers_match_keras(case):
    data = np.load(os.path.join(FIXTURES, "attention_eager.npz"))
    layer = EAGER[case]()
    xs, mask = data[f"{case}_x0"], data[f"{case}_mask"]
    layer(xs)
    layer.set_weights([data[f"{case}_w{i}"] for i in range(len(layer.weights))])
    result = layer(xs, mask=mask)
    out = result[0] if isinstance(result, list) else result
    np.testing.assert_allclose(out.numpy(), data[f"{case}_y"], rtol=1e-5, atol=1e-5)
    for i in range(3):
        if f"{case}_state{i}" in data.files:
            np.testing.assert_allclose(result[1 + i].numpy(), data[f"{case}_state{i}"], rtol=1e-5, atol=1e-5)
