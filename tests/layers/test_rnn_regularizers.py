"""Regularizers and constraints on the recurrent layers (SimpleRNN, LSTM, GRU, their cells under
RNN, Bidirectional, ConvLSTM1D/2D/3D): ``model.losses`` and the training loss against real
Keras 3 on the same weights and data, the weights after one SGD step, the constraints holding
after a step, the fused recurrence still in use, configs (Keras's layout, both ways) and a
Keras-made ``.keras`` file (``tests/fixtures/make_rnn_regularizer_fixtures.py``)."""
import importlib.util
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers
from kerasette.layers import deserialize, serialize

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
B = 4
PENALTY_KEYS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "recurrent_constraint", "bias_constraint")


def _keras():
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, these references are made on torch")
    real.utils.clear_session()
    return real


def _np(t):
    return np.asarray(backend.to_numpy(getattr(t, "value", t)), dtype="float64")


def _penalties(k, activity=True):
    """Every weight penalty and (idempotent) constraint, built from library ``k`` (kerasette or
    Keras: the same code makes both sides)."""
    r, c = k.regularizers, k.constraints
    out = dict(kernel_regularizer=r.L2(0.02), recurrent_regularizer=r.L1(0.01),
               bias_regularizer=r.L1L2(l1=0.01, l2=0.03), kernel_constraint=c.MaxNorm(0.5),
               recurrent_constraint=c.UnitNorm(), bias_constraint=c.NonNeg())
    if activity:
        out["activity_regularizer"] = r.L2(0.01)
    return out


def _other_penalties(k, activity=True):
    r, c = k.regularizers, k.constraints
    out = dict(kernel_regularizer="l1", recurrent_regularizer=r.L2(0.05), bias_regularizer="l2",
               kernel_constraint=c.NonNeg(), recurrent_constraint=c.MaxNorm(0.7, axis=1),
               bias_constraint=c.MinMaxNorm(0.1, 0.4, rate=1.0, axis=0))
    if activity:
        out["activity_regularizer"] = r.L1(0.003)
    return out


# (id, input shape without the batch, layer builder taking the library). Keras 3's SimpleRNN takes
# an activity_regularizer but drops it (tested below), so its cases here have none.
CASES = [
    ("simple_rnn", (5, 3), lambda k: k.layers.SimpleRNN(3, **_penalties(k, False))),
    ("simple_rnn_seq_state", (5, 3), lambda k: k.layers.SimpleRNN(3, return_sequences=True, return_state=True,
                                                                  **_other_penalties(k, False))),
    ("lstm", (5, 3), lambda k: k.layers.LSTM(3, **_penalties(k))),
    ("lstm_state", (5, 3), lambda k: k.layers.LSTM(3, return_state=True, go_backwards=True,
                                                   **_other_penalties(k))),
    ("gru", (5, 3), lambda k: k.layers.GRU(3, return_sequences=True, **_penalties(k))),
    ("gru_reset_before", (5, 3), lambda k: k.layers.GRU(3, reset_after=False, **_other_penalties(k))),
    ("lstm_relu_composed", (5, 3), lambda k: k.layers.LSTM(3, activation="relu", **_penalties(k))),
    ("rnn_simple_cell", (5, 3), lambda k: k.layers.RNN(k.layers.SimpleRNNCell(3, **_penalties(k, False)),
                                                       activity_regularizer=k.regularizers.L2(0.02))),
    ("rnn_lstm_cell", (5, 3), lambda k: k.layers.RNN(k.layers.LSTMCell(3, **_other_penalties(k, False)),
                                                     go_backwards=True)),
    ("rnn_gru_cell", (5, 3), lambda k: k.layers.RNN(k.layers.GRUCell(3, **_penalties(k, False)))),
    ("bidirectional_lstm", (5, 3), lambda k: k.layers.Bidirectional(k.layers.LSTM(2, **_penalties(k)))),
    ("conv_lstm1d", (3, 6, 2), lambda k: k.layers.ConvLSTM1D(2, 3, padding="same", **_penalties(k))),
    ("conv_lstm2d", (3, 5, 5, 2), lambda k: k.layers.ConvLSTM2D(2, 2, return_sequences=True,
                                                                **_other_penalties(k))),
    ("conv_lstm3d", (2, 3, 3, 3, 1), lambda k: k.layers.ConvLSTM3D(2, 2, padding="same", return_state=True,
                                                                   **_penalties(k))),
]
IDS = [c[0] for c in CASES]


def _model(k, shape, build):
    inp = k.Input(shape)
    out = build(k)(inp)
    if isinstance(out, (list, tuple)):            # return_state: output and states
        out = k.layers.Concatenate()([k.layers.Flatten()(o) for o in out])
    elif len(out.shape) > 2:
        out = k.layers.Flatten()(out)
    return k.Model(inp, k.layers.Dense(2, name="head")(out))


def _data(shape, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(B,) + shape).astype("float32"), rng.normal(size=(B, 2)).astype("float32")


def _random_weights(model, seed=11):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.6, 0.6, np.shape(w)).astype("float32") for w in model.get_weights()])


def _check_constraints_hold(model):
    found = 0
    for v in model.weights:
        c = getattr(v, "constraint", None)
        if c is None:
            continue
        found += 1
        w = backend.to_numpy(v.value)
        np.testing.assert_allclose(backend.to_numpy(c(w)), w, rtol=1e-5, atol=1e-6, err_msg=v.path)
    return found


def _same(a, b):
    """Config entries equal, floats to float32 precision (Keras keeps a regularizer's factor as a
    float32 and writes it back as ``0.009999999776482582`` for 0.01)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-6)
    return a == b


def _compile(k, model):
    model.compile(optimizer=k.optimizers.SGD(0.1), loss="mse")


# -- against real Keras 3 ------------------------------------------------------------------------

@needs_keras
@pytest.mark.parametrize("shape, build", [c[1:] for c in CASES], ids=IDS)
def test_losses_loss_and_one_sgd_step_equal_keras(shape, build):
    real = _keras()
    theirs = _model(real, shape, build)
    _random_weights(theirs)
    ours = _model(keras, shape, build)
    ours.set_weights(theirs.get_weights())
    x, y = _data(shape)
    np.testing.assert_allclose(_np(ours(x)), real.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-5)
    want = [float(real.ops.convert_to_numpy(v)) for v in theirs.losses]
    got = [float(_np(v)) for v in ours.losses]
    assert len(got) == len(want)
    if isinstance(ours.layers[1], layers.Bidirectional):
        # Keras's walk over a model's layers meets the backward layer first here (alone, the
        # forward one): the same terms, listed in the other order
        got, want = sorted(got), sorted(want)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)       # in Keras's order
    _compile(real, theirs)
    _compile(keras, ours)
    h_theirs = theirs.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    h_ours = ours.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(_np(a), b, rtol=1e-5, atol=1e-5)
    assert _check_constraints_hold(ours) >= 3


@needs_keras
@pytest.mark.parametrize("shape, build", [c[1:] for c in CASES], ids=IDS)
def test_config_entries_equal_keras_and_load_both_ways(shape, build):
    real = _keras()
    theirs, ours = build(real), build(keras)
    if isinstance(ours, layers.Bidirectional):
        theirs, ours = theirs.forward_layer, ours.forward_layer
    t_conf, o_conf = theirs.get_config(), ours.get_config()
    if isinstance(ours, layers.RNN):
        assert o_conf.get("activity_regularizer") == t_conf.get("activity_regularizer")
        t_conf, o_conf = t_conf["cell"]["config"], o_conf["cell"]["config"]
        keys = PENALTY_KEYS[:3] + PENALTY_KEYS[4:]
    else:
        keys = PENALTY_KEYS
    for key in keys:
        assert _same(o_conf[key], t_conf[key]), key
    # Keras's config makes our layer, ours makes Keras's, with the same entries
    again = type(ours).from_config(theirs.get_config()).get_config()
    back = type(theirs).from_config(ours.get_config()).get_config()
    if isinstance(ours, layers.RNN):
        again, back = again["cell"]["config"], back["cell"]["config"]
    for key in keys:
        assert _same(again[key], t_conf[key]) and _same(back[key], t_conf[key]), key


@needs_keras
def test_a_cells_own_activity_regularizer_equals_keras():
    """Keras's Layer argument on a cell: a penalty on each tensor a call returns (the output and
    the states), divided by the batch size."""
    real = _keras()
    x = np.random.default_rng(1).normal(size=(B, 3)).astype("float32")
    for name, n_states in (("SimpleRNNCell", 1), ("LSTMCell", 2), ("GRUCell", 1)):
        make = lambda k: getattr(k.layers, name)(2, kernel_regularizer="l2",  # noqa: E731
                                                  activity_regularizer=k.regularizers.L1(0.1))
        theirs, ours = make(real), make(keras)
        theirs.build((None, 3))
        _random_weights(theirs)
        ours.build((None, 3))
        ours.set_weights(theirs.get_weights())
        states = [np.random.default_rng(2).normal(size=(B, 2)).astype("float32")] * n_states
        out, _ = ours(x, states)
        ref, _ = theirs(x, states)
        np.testing.assert_allclose(_np(out), real.ops.convert_to_numpy(ref), rtol=1e-5, atol=1e-6)
        want = [float(real.ops.convert_to_numpy(v)) for v in theirs.losses]
        got = [float(_np(v)) for v in ours.losses]
        assert len(got) == len(want) == 2 + n_states, name
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7, err_msg=name)


def test_a_cells_activity_regularizer_under_rnn_is_taken_at_each_step(monkeypatch):
    """RNN over a cell with its own activity_regularizer calls the cell step by step (not the
    fused node), each step adding the penalties of its output and states. (Keras on torch also
    adds them once more for the step it runs first to learn the output's shape.)"""
    from kerasette.layers import lstm_gru
    steps = []
    fused = lstm_gru.lstm
    monkeypatch.setattr(lstm_gru, "lstm", lambda x, *a, **k: steps.append(x.shape[1]) or fused(x, *a, **k))
    cell = layers.LSTMCell(2, activity_regularizer=keras.regularizers.L2(0.5))
    rnn = layers.RNN(cell, return_sequences=True)
    x = np.random.default_rng(6).normal(size=(B, 4, 3)).astype("float32")
    seq = _np(rnn(x))
    assert steps == [1, 1, 1, 1]                               # the cell's call at each step
    terms = [float(_np(v)) for v in rnn.losses]
    assert len(terms) == 4 * 3                                 # h, then [h, c], at each of 4 steps
    np.testing.assert_allclose(terms[0::3], [0.5 * np.sum(seq[:, t] ** 2) / B for t in range(4)], rtol=1e-5)


# -- without Keras -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, build", [c[1:] for c in CASES], ids=IDS)
def test_constraints_hold_after_a_step_and_penalties_join_the_loss(shape, build):
    model = _model(keras, shape, build)
    _random_weights(model)
    x, y = _data(shape)
    plain = float(np.mean((_np(model(x)) - y) ** 2))
    terms = [float(_np(v)) for v in model.losses]
    assert terms and all(t > 0 for t in terms)
    _compile(keras, model)
    loss = model.fit(x, y, batch_size=B, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    np.testing.assert_allclose(loss, plain + sum(terms), rtol=1e-5)
    assert _check_constraints_hold(model) >= 3


def test_penalties_are_the_regularizers_of_the_weights_and_of_the_output():
    layer = layers.LSTM(3, return_state=True, **_penalties(keras))
    x = np.random.default_rng(0).normal(size=(B, 5, 2)).astype("float32")
    out = layer(x)
    kernel, rec, bias = (_np(w) for w in layer.weights)
    want = [0.01 * np.sum(_np(o) ** 2) / B for o in out]               # output, h, c
    want += [0.02 * np.sum(kernel ** 2), 0.01 * np.sum(np.abs(rec)),
             0.01 * np.sum(np.abs(bias)) + 0.03 * np.sum(bias ** 2)]
    np.testing.assert_allclose([float(_np(v)) for v in layer.losses], want, rtol=1e-5)
    layer(x)                                                           # a new call: not accumulated
    assert len(layer.losses) == 6
    assert layer.kernel_regularizer is layer.cell.kernel_regularizer
    assert type(layer.recurrent_constraint).__name__ == "UnitNorm"


def test_the_fused_recurrence_stays_in_use(monkeypatch):
    """Penalties and constraints act on the weights: SimpleRNN / LSTM / GRU (and RNN over their
    cells) still run their one-node recurrence, in the forward pass and in fit."""
    from kerasette.layers import lstm_gru, recurrent
    calls = []

    def counting(name, fn):
        def run(*args, **kwargs):
            calls.append(name)
            return fn(*args, **kwargs)
        return run
    monkeypatch.setattr(recurrent, "simple_rnn", counting("simple_rnn", recurrent.simple_rnn))
    monkeypatch.setattr(lstm_gru, "lstm", counting("lstm", lstm_gru.lstm))
    monkeypatch.setattr(lstm_gru, "gru", counting("gru", lstm_gru.gru))
    for name, want in (("simple_rnn", "simple_rnn"), ("lstm", "lstm"), ("gru", "gru"),
                       ("rnn_simple_cell", "simple_rnn"), ("rnn_lstm_cell", "lstm"), ("rnn_gru_cell", "gru")):
        shape, build = CASES[IDS.index(name)][1:]
        model = _model(keras, shape, build)
        x, y = _data(shape)
        _compile(keras, model)
        calls.clear()
        model.fit(x, y, batch_size=B, epochs=1, verbose=0)
        assert calls == [want], (name, calls)


@pytest.mark.parametrize("shape, build", [c[1:] for c in CASES], ids=IDS)
def test_config_round_trip(shape, build):
    layer = build(keras)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    copy = deserialize(serialize(layer))
    assert copy.get_config() == config
    inner = layer.forward_layer if isinstance(layer, layers.Bidirectional) else layer
    conf = inner.get_config()
    if isinstance(inner, layers.RNN):
        conf = conf["cell"]["config"]
    for key in ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                "recurrent_constraint", "bias_constraint"):
        assert conf[key]["module"] in ("keras.regularizers", "keras.constraints"), key
    # the clone's weights carry the same penalties and constraints
    model = _model(keras, shape, lambda k: type(layer).from_config(config))
    assert len([v for v in model.weights if getattr(v, "constraint", None) is not None]) >= 3


def test_defaults_write_none_and_bad_names_are_clear_errors():
    config = layers.GRU(2).get_config()
    assert all(config[k] is None for k in PENALTY_KEYS)
    assert "activity_regularizer" not in layers.GRUCell(2).get_config()     # Keras writes it when set
    with pytest.raises(ValueError, match="no_such_regularizer"):
        layers.SimpleRNN(2, recurrent_regularizer="no_such_regularizer")
    with pytest.raises(ValueError, match="no_such_constraint"):
        layers.LSTMCell(2, bias_constraint="no_such_constraint")


def test_keras_file_with_regularized_lstm_and_gru_loads_and_predicts():
    model = keras.models.load_model(str(FIXTURES / "rnn_regularizers.keras"))
    data = np.load(FIXTURES / "rnn_regularizers.npz")
    y = model(data["x"])
    np.testing.assert_allclose(_np(y), data["y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose([float(_np(v)) for v in model.losses], data["losses"], rtol=1e-5, atol=1e-7)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    loss = model.compute_loss(data["x"], data["target"], model(data["x"]))
    np.testing.assert_allclose(float(_np(loss)), float(data["loss"]), rtol=1e-5)
    lstm, gru = model.get_layer("lstm_reg"), model.get_layer("gru_reg")
    assert type(lstm.recurrent_constraint).__name__ == "UnitNorm"
    assert gru.kernel_constraint.get_config() == {"min_value": 0.2, "max_value": 0.9, "rate": 0.5, "axis": 0}
    assert gru.activity_regularizer.get_config() == pytest.approx({"l1": 0.002})
    # a step keeps the (idempotent) constraints of the LSTM and the non-negative GRU bias
    model.fit(data["x"], data["target"], batch_size=3, epochs=1, verbose=0)
    for v in lstm.weights:
        w = backend.to_numpy(v.value)
        np.testing.assert_allclose(backend.to_numpy(v.constraint(w)), w, rtol=1e-5, atol=1e-6)
    assert backend.to_numpy(gru.cell.bias.value).min() >= 0


def test_simple_rnn_applies_its_activity_regularizer():
    """Keras 3 (3.15) takes SimpleRNN's activity_regularizer and drops it (it never reaches its
    Layer, and its config writes None); kerasette applies it, as LSTM and GRU do: each returned
    tensor's penalty over the batch size."""
    layer = layers.SimpleRNN(3, return_sequences=True, return_state=True,
                             activity_regularizer=keras.regularizers.L1(0.1))
    seq, h = layer(np.random.default_rng(2).normal(size=(B, 5, 2)).astype("float32"))
    want = [0.1 * np.sum(np.abs(_np(seq))) / B, 0.1 * np.sum(np.abs(_np(h))) / B]
    np.testing.assert_allclose([float(_np(v)) for v in layer.losses], want, rtol=1e-5)
    assert layer.get_config()["activity_regularizer"]["config"] == {"l1": 0.1}


@needs_keras
def test_simple_rnn_activity_regularizer_against_keras():
    """Where Keras applies it (a later version), its terms equal ours; where it drops it (3.15),
    every other term does."""
    real = _keras()
    make = lambda k: k.layers.SimpleRNN(3, activity_regularizer=k.regularizers.L2(0.1),  # noqa: E731
                                        **_penalties(k, False))
    theirs, ours = make(real), make(keras)
    theirs.build((None, 5, 2))
    _random_weights(theirs)
    ours.build((None, 5, 2))
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(4).normal(size=(B, 5, 2)).astype("float32")
    theirs(x), ours(x)
    want = [float(real.ops.convert_to_numpy(v)) for v in theirs.losses]
    got = [float(_np(v)) for v in ours.losses]
    assert len(want) in (len(got) - 1, len(got))
    np.testing.assert_allclose(got[len(got) - len(want):], want, rtol=1e-5, atol=1e-7)
