"""LSTM / GRU with any activations and GRU(reset_after=False): the composed path (the cell's step
made of ordinary ops, run over time by rnn_generic.run_steps) against real Keras 3, against the
fused path, by finite differences, and through configs and Bidirectional."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers, ops
from kerasette.autograd import gradcheck
from kerasette.layers import deserialize, serialize

B, T, F, U = 3, 5, 4, 3
MASK = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 0, 1], [1, 1, 1, 1, 0]], bool)
TOL = dict(rtol=1e-5, atol=1e-5)


def _keras():
    try:
        import keras as real
    except Exception:               # not installed, or no usable backend
        return None
    return real


def _np(t):
    return backend.to_numpy(getattr(t, "value", t))


@pytest.fixture
def x():
    return np.random.default_rng(7).standard_normal((B, T, F)).astype("float32")


def _keras2_hard_sigmoid_for_keras(real):
    return lambda v: real.ops.clip(0.2 * v + 0.5, 0.0, 1.0)


# (case id, class, kerasette kwargs, real Keras kwargs or None (same), call kwargs)
CASES = [
    ("lstm_hard_sigmoid_mask_seq", "LSTM", dict(recurrent_activation="hard_sigmoid", return_sequences=True),
     None, dict(mask=True)),
    ("lstm_relu_backwards_state", "LSTM", dict(activation="relu", go_backwards=True, return_state=True),
     None, {}),
    ("lstm_keras2_hard_sigmoid", "LSTM", dict(recurrent_activation="keras2>hard_sigmoid", return_sequences=True,
                                              go_backwards=True), "keras2_hard_sigmoid", dict(mask=True)),
    ("gru_before_mask_seq_state", "GRU", dict(reset_after=False, return_sequences=True, return_state=True),
     None, dict(mask=True)),
    ("gru_before_no_bias_backwards", "GRU", dict(reset_after=False, use_bias=False, go_backwards=True,
                                                 return_sequences=True), None, {}),
    ("gru_before_hard_sigmoid", "GRU", dict(reset_after=False, recurrent_activation="hard_sigmoid"), None,
     dict(mask=True)),
    ("gru_after_relu_hard_sigmoid", "GRU", dict(activation="relu", recurrent_activation="hard_sigmoid",
                                                return_state=True), None, {}),
]


def _pair(real, cls, kwargs, keras_kwargs):
    kk = dict(kwargs)
    if keras_kwargs == "keras2_hard_sigmoid":
        kk["recurrent_activation"] = _keras2_hard_sigmoid_for_keras(real)
    theirs = getattr(real.layers, cls)(U, **kk)
    theirs.build((None, T, F))
    rng = np.random.default_rng(11)
    theirs.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in theirs.get_weights()])
    ours = getattr(layers, cls)(U, **kwargs)
    ours.build((None, T, F))
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _outputs(y):
    return [_np(t) for t in y] if isinstance(y, (list, tuple)) else [_np(y)]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_outputs_equal_keras_3(x, case):
    real = _keras()
    if real is None:
        pytest.skip("Keras 3 is not importable")
    _, cls, kwargs, keras_kwargs, call = case
    theirs, ours = _pair(real, cls, kwargs, keras_kwargs)
    assert not ours.cell._fusable()
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.get_weights()]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    kw = {"mask": MASK} if call.get("mask") else {}
    want = [real.ops.convert_to_numpy(t) for t in
            (theirs(x, **kw) if kwargs.get("return_state") else [theirs(x, **kw)])]
    got = _outputs(ours(x, **kw))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **TOL)


def test_bidirectional_gru_reset_before_equals_keras_3(x):
    real = _keras()
    if real is None:
        pytest.skip("Keras 3 is not importable")
    theirs = real.layers.Bidirectional(real.layers.GRU(U, reset_after=False, return_sequences=True))
    theirs.build((None, T, F))
    rng = np.random.default_rng(5)
    theirs.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in theirs.get_weights()])
    ours = layers.Bidirectional(layers.GRU(U, reset_after=False, return_sequences=True))
    ours.build((None, T, F))
    ours.set_weights(theirs.get_weights())
    for kw in ({}, {"mask": MASK}):
        want = real.ops.convert_to_numpy(theirs(x, **kw))
        np.testing.assert_allclose(_np(ours(x, **kw)), want, **TOL)


def test_a_users_callable_equals_keras_3(x):
    real = _keras()
    if real is None:
        pytest.skip("Keras 3 is not importable")
    theirs = real.layers.LSTM(U, activation=lambda v: real.ops.tanh(v) * 0.5 + 0.1 * v,
                              recurrent_activation=lambda v: real.ops.sigmoid(2.0 * v), return_sequences=True)
    theirs.build((None, T, F))
    rng = np.random.default_rng(2)
    theirs.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in theirs.get_weights()])
    ours = layers.LSTM(U, activation=lambda v: ops.tanh(v) * 0.5 + 0.1 * v,
                       recurrent_activation=lambda v: ops.sigmoid(2.0 * v), return_sequences=True)
    ours.build((None, T, F))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(_np(ours(x, mask=MASK)), real.ops.convert_to_numpy(theirs(x, mask=MASK)), **TOL)


# -- the composed path behaves as the fused one -------------------------------------------------

def _tanh(v):                       # tanh, but not the built-in: runs the composed path
    return ops.tanh(v)


def _sigmoid(v):
    return ops.sigmoid(v)


def _twins(cls, **kwargs):
    fused = getattr(layers, cls)(U, dtype="float64", seed=3, **kwargs)
    composed = getattr(layers, cls)(U, activation=_tanh, recurrent_activation=_sigmoid, dtype="float64",
                                    seed=3, **kwargs)
    fused.build((None, T, F))
    composed.build((None, T, F))
    composed.set_weights([np.random.default_rng(i).uniform(-0.5, 0.5, w.shape) for i, w in
                          enumerate(fused.get_weights())])
    fused.set_weights(composed.get_weights())
    assert fused.cell._fusable() and not composed.cell._fusable()
    return fused, composed


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("settings", [
    dict(return_sequences=True, return_state=True),
    dict(return_sequences=True, go_backwards=True, zero_output_for_mask=True),
    dict(return_state=True, go_backwards=True),
])
@pytest.mark.parametrize("initial", [False, True])
def test_composed_equals_fused_with_masks_and_initial_state(x, cls, settings, initial):
    fused, composed = _twins(cls, **settings)
    kw = {"mask": MASK}
    if initial:
        rng = np.random.default_rng(9)
        kw["initial_state"] = [rng.standard_normal((B, U)) for _ in range(2 if cls == "LSTM" else 1)]
    x = x.astype("float64")
    for got, want in zip(_outputs(composed(x, **kw)), _outputs(fused(x, **kw))):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_composed_equals_fused_with_dropout_and_stateful(x, cls):
    x = x.astype("float64")
    fused, composed = _twins(cls, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)
    keras.set_random_seed(1)
    want = _np(fused(x, training=True))
    keras.set_random_seed(1)
    got = _np(composed(x, training=True))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert not np.allclose(got, _np(composed(x)))                 # dropout did something
    fused, composed = _twins(cls, stateful=True, return_state=True)
    for _ in range(2):
        for got, want in zip(_outputs(composed(x)), _outputs(fused(x))):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for a, b in zip(composed.states, fused.states):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)
    composed.reset_states()
    assert composed.states is None


@pytest.mark.parametrize("cell_kwargs", [dict(reset_after=False), dict(reset_after=False, use_bias=False),
                                         dict(recurrent_activation="hard_sigmoid")], ids=str)
def test_gru_cell_step_and_rnn_cell_equal_the_layer(x, cell_kwargs):
    x = x.astype("float64")
    layer = layers.GRU(U, return_sequences=True, dtype="float64", **cell_kwargs)
    seq = _np(layer(x, mask=MASK))
    states = [ops.zeros((B, U), dtype="float64")]
    for t in range(T):
        h, new = layer.cell(x[:, t], states)
        states = [ops.where(backend.to_device(MASK[:, t, None]), new[0], states[0])]
        if MASK[0, t]:
            np.testing.assert_allclose(_np(h)[0], seq[0, t], rtol=1e-10, atol=1e-12)
    rnn = layers.RNN(layers.GRUCell(U, dtype="float64", **cell_kwargs), return_sequences=True, dtype="float64")
    rnn.build((None, T, F))
    rnn.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(rnn(x, mask=MASK)), seq, rtol=1e-10, atol=1e-12)


def test_lstm_cell_step_equals_the_layer(x):
    x = x.astype("float64")
    layer = layers.LSTM(U, activation="softsign", recurrent_activation="hard_sigmoid", return_sequences=True,
                        dtype="float64")
    seq = _np(layer(x))
    states = [ops.zeros((B, U), dtype="float64")] * 2
    for t in range(T):
        h, states = layer.cell(x[:, t], states)
        np.testing.assert_allclose(_np(h), seq[:, t], rtol=1e-10, atol=1e-12)


# -- gradients ------------------------------------------------------------------------------------

def _set(cell, k, r, b=None):
    cell.kernel, cell.recurrent_kernel, cell.bias = k, r, b


GRAD_CASES = [
    ("LSTM", dict(activation="softsign", recurrent_activation="hard_sigmoid", return_sequences=True)),
    ("LSTM", dict(recurrent_activation="keras2>hard_sigmoid", go_backwards=True, return_state=True)),
    ("GRU", dict(reset_after=False, return_sequences=True, return_state=True)),
    ("GRU", dict(reset_after=False, use_bias=False, go_backwards=True)),
    ("GRU", dict(reset_after=False, recurrent_activation="hard_sigmoid", return_sequences=True)),
    ("GRU", dict(activation="softsign", return_state=True)),
]


@pytest.mark.parametrize("cls,kwargs", GRAD_CASES, ids=[f"{c}-{sorted(k.items())}" for c, k in GRAD_CASES])
def test_gradcheck_mask_and_initial_state(cls, kwargs):
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((2, 4, F))
    n = 2 if cls == "LSTM" else 1
    h0 = [rng.standard_normal((2, U)) * 0.5 for _ in range(n)]
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 0]], bool)
    layer = getattr(layers, cls)(U, dtype="float64", **kwargs)
    layer.build((None, 4, F))
    assert not layer.cell._fusable()
    ws = [np.array(rng.uniform(-0.5, 0.5, w.shape), np.float64, order="C") for w in layer.get_weights()]

    def fn(x, *rest):
        states, weights = list(rest[:n]), rest[n:]
        _set(layer.cell, *weights)
        out = layer(x, initial_state=states, mask=mask)
        out = out if isinstance(out, list) else [out]
        parts = [ops.sum(o, axis=1) if len(o.shape) == 3 else o for o in out]
        return ops.concatenate([p * float(i + 1) for i, p in enumerate(parts)], axis=-1)
    assert gradcheck(fn, [xs] + h0 + ws)


def test_bidirectional_gru_reset_before_gradcheck():
    rng = np.random.default_rng(6)
    xs = rng.standard_normal((2, 4, F))
    bi = layers.Bidirectional(layers.GRU(U, reset_after=False, return_sequences=True, dtype="float64"))
    bi.build((None, 4, F))
    cells = [bi.forward_layer.cell, bi.backward_layer.cell]
    ws = [np.array(rng.uniform(-0.5, 0.5, w.shape), np.float64, order="C") for w in bi.get_weights()]

    def fn(x, *w):
        _set(cells[0], *w[:3])
        _set(cells[1], *w[3:])
        return bi(x)
    assert gradcheck(fn, [xs] + ws)


# -- configs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,kwargs", [
    ("LSTM", dict(activation="relu", recurrent_activation="hard_sigmoid")),
    ("LSTM", dict(recurrent_activation="keras2>hard_sigmoid")),
    ("GRU", dict(reset_after=False, recurrent_activation="hard_sigmoid", use_bias=False)),
    ("GRU", dict(reset_after=False, activation="softsign")),
])
def test_config_round_trip(x, cls, kwargs):
    layer = getattr(layers, cls)(U, return_sequences=True, name="rec", **kwargs)
    config = layer.get_config()
    for key, value in kwargs.items():
        if key.endswith("activation"):          # a name, or Keras 3's dict for a registered function
            assert keras.activations.get(config[key]) is keras.activations.get(value)
        else:
            assert config[key] == value
    clone = deserialize(serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == config
    y = layer(x)
    clone.build((None, T, F))
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(clone(x)), _np(y), rtol=1e-6, atol=1e-6)
    cell = layer.cell
    cell_clone = type(cell).from_config(cell.get_config())
    assert cell_clone.get_config() == cell.get_config()
    real = _keras()
    if real is not None:
        kk = {k: v for k, v in kwargs.items() if v != "keras2>hard_sigmoid"}
        assert set(getattr(real.layers, cls)(U, **kk).get_config()) <= set(config)


def test_gru_reset_before_weights_and_model_save_round_trip(tmp_path, x):
    model = keras.Sequential([keras.Input((T, F)), layers.GRU(U, reset_after=False, name="g"),
                              layers.Dense(2)])
    gru = model.get_layer("g")
    assert not gru.reset_after and not gru.cell.reset_after
    assert [w.shape for w in gru.weights] == [(F, 3 * U), (U, 3 * U), (3 * U,)]
    assert gru.count_params() == F * 3 * U + U * 3 * U + 3 * U
    want = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert again.get_layer("g").get_config()["reset_after"] is False
    np.testing.assert_allclose(again.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)


def test_trains(x):
    model = keras.Sequential([keras.Input((T, F)),
                              layers.GRU(4, reset_after=False, recurrent_activation="hard_sigmoid"),
                              layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    y = np.sum(x, axis=(1, 2))[:, None] * 0.1
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=30, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
