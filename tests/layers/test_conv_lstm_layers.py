"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: weight layouts, shapes for every option, float64
gradients, masks, stateful use, config round trip, clear errors, the Keras-made files
(tests/fixtures/make_conv_lstm_fixtures.py) predicting what Keras predicted, and (when Keras 3
is importable) ConvLSTM3D's outputs against Keras's own with the same weights."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")

# what Keras 3.15 writes in a ConvLSTM2D config, in its order
KERAS_KEYS = ["name", "trainable", "dtype", "return_sequences", "return_state", "go_backwards", "stateful",
              "unroll", "zero_output_for_mask", "filters", "kernel_size", "strides", "padding", "data_format",
              "dilation_rate", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
              "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
              "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed"]


def _np(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _conv2d_ref(x, k, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """A plain NumPy 2-D convolution (Keras's 'same': the extra pad after)."""
    n, h, w, _ = x.shape
    kh, kw, _, f = k.shape
    eh, ew = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    if padding == "same":
        oh, ow = -(-h // strides[0]), -(-w // strides[1])
        ph = max((oh - 1) * strides[0] + eh - h, 0)
        pw = max((ow - 1) * strides[1] + ew - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    oh = (x.shape[1] - eh) // strides[0] + 1
    ow = (x.shape[2] - ew) // strides[1] + 1
    out = np.zeros((n, oh, ow, f))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * dilation[0]:i * dilation[0] + (oh - 1) * strides[0] + 1:strides[0],
                      j * dilation[1]:j * dilation[1] + (ow - 1) * strides[1] + 1:strides[1]]
            out += patch @ k[i, j]
    return out


def _reference(layer, x, h0=None, c0=None):
    """ConvLSTM2D written out in NumPy from the cell's weights (every step's h, and c)."""
    cell = layer.cell
    k, r = _np(cell.kernel).astype(np.float64), _np(cell.recurrent_kernel).astype(np.float64)
    b = _np(cell.bias) if cell.bias is not None else 0
    F = layer.filters
    h = c = None
    hs = []
    order = range(x.shape[1] - 1, -1, -1) if layer.go_backwards else range(x.shape[1])
    for t in order:
        a = _conv2d_ref(x[:, t], k, layer.strides, layer.padding, layer.dilation_rate) + b
        if h is None:
            h = np.zeros(a.shape[:-1] + (F,)) if h0 is None else h0
            c = np.zeros_like(h) if c0 is None else c0
        a = a + _conv2d_ref(h, r, padding="same")
        i, f, g, o = (a[..., q * F:(q + 1) * F] for q in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), c


# -- layouts and shapes ------------------------------------------------------------------------

def test_keras_weight_names_shapes_order_and_forget_bias():
    layer = layers.ConvLSTM2D(3, (2, 3))
    assert layer(np.ones((2, 4, 5, 6, 2), np.float32)).shape == (2, 4, 4, 3)
    assert layer.name == "conv_lstm2d" and layer.cell.name == "conv_lstm_cell"
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in layer.weights] == [(2, 3, 2, 12), (2, 3, 3, 12), (12,)]
    assert [w.path for w in layer.weights] == ["conv_lstm2d/conv_lstm_cell/kernel",
                                               "conv_lstm2d/conv_lstm_cell/recurrent_kernel",
                                               "conv_lstm2d/conv_lstm_cell/bias"]
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    one = layers.ConvLSTM1D(4, 3, use_bias=False)
    assert one(np.ones((2, 3, 7, 2), np.float32)).shape == (2, 5, 4)
    assert one.name == "conv_lstm1d"
    assert [w.shape for w in one.weights] == [(3, 2, 16), (3, 4, 16)]
    plain = layers.ConvLSTM2D(2, 1, unit_forget_bias=False, bias_initializer="ones")
    plain.build((None, 2, 3, 3, 1))
    np.testing.assert_array_equal(plain.cell.bias.numpy(), np.ones(8))
    assert layer.count_params() == 2 * 3 * 2 * 12 + 2 * 3 * 3 * 12 + 12


CASES = [
    (layers.ConvLSTM2D, dict(filters=3, kernel_size=3), (2, 4, 6, 7, 2), (2, 4, 5, 3)),
    (layers.ConvLSTM2D, dict(filters=3, kernel_size=3, padding="same", return_sequences=True),
     (2, 4, 6, 7, 2), (2, 4, 6, 7, 3)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=(2, 3), strides=(2, 1), go_backwards=True),
     (1, 3, 7, 7, 1), (1, 3, 5, 2)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=2, strides=2, padding="same", return_sequences=True),
     (1, 3, 7, 6, 1), (1, 3, 4, 3, 2)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=2, dilation_rate=(2, 1)), (2, 2, 6, 5, 3), (2, 4, 4, 2)),
    (layers.ConvLSTM1D, dict(filters=3, kernel_size=3), (2, 4, 9, 2), (2, 7, 3)),
    (layers.ConvLSTM1D, dict(filters=3, kernel_size=3, padding="same", strides=2, return_sequences=True),
     (2, 4, 9, 2), (2, 4, 5, 3)),
    (layers.ConvLSTM1D, dict(filters=1, kernel_size=2, dilation_rate=3), (1, 2, 9, 2), (1, 6, 1)),
]


@pytest.mark.parametrize("cls,kwargs,in_shape,out_shape", CASES)
def test_shapes_eager_symbolic_and_compute_output_shape(cls, kwargs, in_shape, out_shape):
    layer = cls(**kwargs)
    y = layer(np.random.default_rng(0).normal(size=in_shape).astype("float32"))
    assert y.shape == out_shape
    assert layer.compute_output_shape(in_shape) == out_shape
    sym = cls(**kwargs)(keras.Input(in_shape[1:]))
    assert tuple(sym.shape) == (None,) + out_shape[1:]
    states = cls(**kwargs, return_state=True)(np.zeros(in_shape, "float32"))
    state = out_shape if not kwargs.get("return_sequences") else out_shape[:1] + out_shape[2:]
    assert [s.shape for s in states] == [out_shape, state, state]
    assert cls(**kwargs, return_state=True).compute_output_shape(in_shape) == [out_shape, state, state]


@pytest.mark.parametrize("kwargs", [dict(), dict(padding="same", go_backwards=True),
                                    dict(strides=(2, 1), padding="same"), dict(dilation_rate=2)])
def test_forward_matches_a_numpy_reference(kwargs):
    rng = np.random.default_rng(5)
    layer = layers.ConvLSTM2D(2, 2, return_sequences=True, return_state=True, dtype="float64", **kwargs)
    x = rng.normal(size=(2, 3, 5, 6, 2))
    seq, h, c = layer(x)
    want_seq, want_c = _reference(layer, x)
    np.testing.assert_allclose(_np(seq), want_seq, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(h), want_seq[:, -1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(c), want_c, rtol=1e-10, atol=1e-12)


def test_initial_state_and_stateful_carry():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 4, 5, 5, 1))
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_state=True, dtype="float64")
    h0, c0 = rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(2, 5, 5, 2))
    out, h, c = layer(x, initial_state=[h0, c0])
    want_seq, want_c = _reference(layer, x, h0, c0)
    np.testing.assert_allclose(_np(out), want_seq[:, -1], atol=1e-12)
    np.testing.assert_allclose(_np(c), want_c, atol=1e-12)
    # stateful: two halves give what the whole sequence gives; reset_states starts over
    stateful = layers.ConvLSTM2D(2, 3, padding="same", stateful=True, dtype="float64")
    stateful.build(x.shape)
    stateful.set_weights(layer.get_weights())
    stateful(x[:, :2])
    np.testing.assert_allclose(_np(stateful(x[:, 2:])), _reference(layer, x)[0][:, -1], atol=1e-12)
    assert [s.shape for s in stateful.states] == [(2, 5, 5, 2)] * 2
    stateful.reset_states()
    assert stateful.states is None
    np.testing.assert_allclose(_np(stateful(x[:, 2:])), _reference(layer, x[:, 2:])[0][:, -1], atol=1e-12)
    stateful.reset_states([h0, c0])
    np.testing.assert_allclose(_np(stateful(x)), want_seq[:, -1], atol=1e-12)
    with pytest.raises(ValueError, match="stateful layer carries states"):
        stateful(x[:1])
    zeros = layer.get_initial_state(3)
    assert [z.shape for z in zeros] == [(3, 5, 5, 2)] * 2


def test_mask_keeps_the_states_and_the_outputs():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 4, 4, 4, 1))
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    layer = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True, return_state=True,
                              dtype="float64")
    seq, h, c = layer(x, mask=mask)
    for b in range(2):
        kept = x[b:b + 1, mask[b]]
        want_seq, want_c = _reference(layer, kept)
        np.testing.assert_allclose(_np(h)[b], want_seq[0, -1], atol=1e-12)
        np.testing.assert_allclose(_np(c)[b], want_c[0], atol=1e-12)
        # masked steps repeat the previous output (zeros before the first kept step)
        prev, j = np.zeros_like(want_seq[0, 0]), 0
        for t in range(4):
            if mask[b, t]:
                prev, j = want_seq[0, j], j + 1
            np.testing.assert_allclose(_np(seq)[b, t], prev, atol=1e-12)
    zeroed = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True, zero_output_for_mask=True,
                               dtype="float64")
    zeroed.build(x.shape)
    zeroed.set_weights(layer.get_weights())
    out = _np(zeroed(x, mask=mask))
    assert np.all(out[~mask] == 0)
    np.testing.assert_allclose(out[mask], _np(seq)[mask], atol=1e-12)
    # the output mask follows Keras: the time mask with return_sequences, else None
    assert layer.compute_mask(x, mask) is None
    assert np.array_equal(layers.ConvLSTM2D(2, 2, return_sequences=True).compute_mask(x, mask), mask)
    assert layers.ConvLSTM2D(2, 2).compute_mask(x, mask) is None


def test_dropout_in_training_only_and_seeded():
    x = np.random.default_rng(8).normal(size=(2, 3, 5, 5, 2)).astype("float32")
    layer = layers.ConvLSTM2D(2, 3, padding="same", dropout=0.5, recurrent_dropout=0.5, seed=3)
    infer = _np(layer(x))
    np.testing.assert_array_equal(_np(layer(x, training=False)), infer)
    trained = _np(layer(x, training=True))
    assert trained.shape == infer.shape and not np.allclose(trained, infer)
    twin = layers.ConvLSTM2D(2, 3, padding="same", dropout=0.5, recurrent_dropout=0.5, seed=3)
    twin.build(x.shape)
    twin.set_weights(layer.get_weights())
    np.testing.assert_array_equal(_np(twin(x, training=True)), trained)
    one = layers.ConvLSTM1D(2, 2, dropout=0.3, recurrent_dropout=0.2, seed=1, return_sequences=True)
    assert one(x[..., 0, :], training=True).shape == (2, 3, 4, 2)


# -- gradients ---------------------------------------------------------------------------------

def _gradcheck_layer(layer, x, out=lambda y: y, **call):
    layer.build(x.shape)
    cell = layer.cell
    names = [n for n in ("kernel", "recurrent_kernel", "bias") if getattr(cell, n) is not None]
    weights = [np.array(getattr(cell, n).numpy(), np.float64, order="C") for n in names]

    def fn(x, *ws):
        for n, w in zip(names, ws):
            setattr(cell, n, w)
        return out(layer(x, **call))
    assert gradcheck(fn, [x] + weights)


GRAD_CASES = [
    (layers.ConvLSTM2D, dict(kernel_size=2, padding="same", return_sequences=True, go_backwards=True),
     (2, 3, 4, 4, 2)),
    (layers.ConvLSTM2D, dict(kernel_size=(2, 3), strides=(2, 1)), (2, 2, 5, 4, 1)),
    (layers.ConvLSTM2D, dict(kernel_size=2, dilation_rate=2, use_bias=False, activation="softsign",
                             recurrent_activation="silu"), (1, 3, 5, 5, 2)),
    (layers.ConvLSTM1D, dict(kernel_size=3, padding="same", return_sequences=True, dilation_rate=2),
     (2, 3, 6, 2)),
    (layers.ConvLSTM1D, dict(kernel_size=2, strides=2, go_backwards=True), (2, 3, 7, 1)),
]


@pytest.mark.parametrize("cls,kwargs,shape", GRAD_CASES)
def test_gradcheck_through_input_and_weights(cls, kwargs, shape):
    layer = cls(2, dtype="float64", **kwargs)
    x = np.random.default_rng(9).normal(size=shape)
    _gradcheck_layer(layer, x)


@pytest.mark.parametrize("cls,spatial,state", [("ConvLSTM2D", (4, 4), (4, 4)), ("ConvLSTM3D", (2, 3, 2), (2, 3, 2))])
def test_gradcheck_with_mask_initial_state_and_return_state(cls, spatial, state):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 3) + spatial + (1,))
    h0, c0 = rng.normal(size=(2,) + state + (2,)) * 0.5, rng.normal(size=(2,) + state + (2,)) * 0.5
    mask = np.array([[1, 0, 1], [0, 1, 1]], bool)
    layer = getattr(layers, cls)(2, 2, padding="same", return_sequences=True, return_state=True, dtype="float64")
    layer.build(x.shape)
    ws = [np.array(w.numpy(), np.float64, order="C") for w in layer.weights]

    def fn(x, h0, c0, k, r, b):
        layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias = k, r, b
        seq, h, c = layer(x, initial_state=[h0, c0], mask=mask)
        return ops.concatenate([ops.sum(seq, axis=1), h, c * 2.0], axis=-1)
    assert gradcheck(fn, [x, h0, c0] + ws)


def test_trains_in_a_model_and_saves(tmp_path):
    keras.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 5, 5, 1)).astype("float32")
    y = x.mean(axis=(1, 2, 3))
    model = keras.Sequential([keras.Input((3, 5, 5, 1)), layers.ConvLSTM2D(3, 3, padding="same"),
                              layers.GlobalAveragePooling2D(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert not np.allclose(before[0], model.get_weights()[0])
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


# -- config ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,kwargs", [
    (layers.ConvLSTM2D, dict(filters=3, kernel_size=(2, 3), strides=(2, 1), padding="same",
                             return_sequences=True, return_state=True, go_backwards=True, dropout=0.25,
                             recurrent_dropout=0.1, seed=4, unit_forget_bias=False, use_bias=False,
                             activation="relu", recurrent_activation="hard_sigmoid", name="clstm")),
    (layers.ConvLSTM1D, dict(filters=2, kernel_size=3, dilation_rate=2, stateful=True,
                             zero_output_for_mask=True, unroll=True)),
])
def test_config_round_trip(cls, kwargs):
    layer = cls(**kwargs)
    config = layer.get_config()
    assert list(config) == KERAS_KEYS
    again = cls.from_config(config)
    assert again.get_config() == config
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is cls and restored.get_config() == config
    for key, value in kwargs.items():
        want = (value,) * layer.cell.rank if key in ("kernel_size", "strides", "dilation_rate") \
            and isinstance(value, int) else value
        assert config[key] == (tuple(want) if isinstance(want, list) else want), key


def test_defaults_match_keras():
    config = layers.ConvLSTM2D(4, 3).get_config()
    assert config["strides"] == (1, 1) and config["padding"] == "valid"
    assert config["data_format"] == "channels_last" and config["dilation_rate"] == (1, 1)
    assert config["activation"] == "tanh" and config["recurrent_activation"] == "sigmoid"
    assert config["unit_forget_bias"] is True and config["use_bias"] is True
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert config["bias_initializer"]["class_name"] == "Zeros"
    assert not any(config[k] for k in ("return_sequences", "return_state", "go_backwards", "stateful"))


# -- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(data_format="channels_first"), "channels_first' is not supported"),
    (dict(kernel_regularizer="no_such_regularizer"), "no_such_regularizer"),
    (dict(recurrent_constraint="no_such_constraint"), "no_such_constraint"),
    (dict(strides=2, dilation_rate=2), "strides .* dilation_rate"),
    (dict(padding="full"), "padding"),
    (dict(dropout=1.0), "dropout must be a float in"),
    (dict(recurrent_dropout=-0.1), "recurrent_dropout must be a float in"),
    (dict(kernel_size=(2, 2, 2)), "kernel_size"),
    (dict(activation="no_such_activation"), "no_such_activation"),
])
def test_bad_arguments_are_clear_errors(kwargs, match):
    kwargs = {"filters": 2, "kernel_size": 2, **kwargs}
    with pytest.raises((ValueError, NotImplementedError), match=match):
        layers.ConvLSTM2D(**kwargs)


def test_bad_filters_and_bad_inputs():
    for filters in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="filters must be a positive integer"):
            layers.ConvLSTM2D(filters, 2)
    layer = layers.ConvLSTM2D(2, 3, name="clstm")
    with pytest.raises(ValueError, match=r"ConvLSTM2D 'clstm': expected input of rank 5 .*channel axis"):
        layer(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match="larger than the input"):
        layer(np.zeros((2, 3, 2, 5, 1)))
    assert not layer.built
    layer(np.zeros((2, 3, 5, 5, 1)))
    with pytest.raises(ValueError, match="expected input with 1 channels"):
        layer(np.zeros((2, 3, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"initial_state must be \[h, c\], each of shape \(2, 3, 3, 2\)"):
        layer(np.zeros((2, 3, 5, 5, 1)), initial_state=[np.zeros((2, 5, 5, 2))] * 2)
    with pytest.raises(ValueError, match="expected 2 initial states"):
        layer(np.zeros((2, 3, 5, 5, 1)), initial_state=[np.zeros((2, 3, 3, 2))])
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(np.zeros((2, 3, 5, 5, 1)), mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="spatial sizes of the input must be known"):
        layers.ConvLSTM2D(2, 2)(keras.Input((3, None, 5, 1)))
    with pytest.raises(ValueError, match=r"ConvLSTM1D .*rank 4 \(batch, time, steps, channels\)"):
        layers.ConvLSTM1D(2, 2)(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="get_initial_state needs a built layer"):
        layers.ConvLSTM1D(2, 2).get_initial_state(2)


# -- Keras-made files --------------------------------------------------------------------------

def _kerasette_conv_lstm():
    """The fixture's architecture built in kerasette (same names)."""
    frames = keras.Input((4, 6, 7, 2), name="frames")
    a = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, dropout=0.1, recurrent_dropout=0.1,
                          name="clstm_same")(frames)
    b, h, c = layers.ConvLSTM2D(2, (2, 3), strides=(2, 1), go_backwards=True, return_state=True,
                                name="clstm_strided")(a)
    d = layers.ConvLSTM2D(2, 2, dilation_rate=2, use_bias=False, activation="relu",
                          recurrent_activation="hard_sigmoid", return_sequences=True,
                          name="clstm_dilated")(frames)
    series = keras.Input((5, 7, 2), name="series")
    e = layers.ConvLSTM1D(3, 3, padding="same", dilation_rate=2, return_sequences=True, unit_forget_bias=False,
                          name="clstm1d_same")(series)
    f = layers.ConvLSTM1D(2, 2, strides=2, go_backwards=True, name="clstm1d_back")(e)
    return keras.Model([frames, series], [b, h, c, d, e, f], name="conv_lstm")


def _check_predictions(model):
    data = np.load(os.path.join(FIXTURES, "conv_lstm.npz"))
    preds = model.predict([data["x0"], data["x1"]], verbose=0)
    assert len(preds) == 6
    for i, p in enumerate(preds):
        want = data["y" if i == 0 else f"y{i}"]
        assert p.shape == want.shape
        np.testing.assert_allclose(p, want, rtol=1e-5, atol=1e-5)
    masked = model.get_layer("clstm_same")(data["x0"], mask=data["mask"])
    np.testing.assert_allclose(_np(masked), data["y_masked"], rtol=1e-5, atol=1e-5)
    seq = model.get_layer("clstm1d_same")(data["x1"])
    back = model.get_layer("clstm1d_back")(seq, mask=data["mask1"])
    np.testing.assert_allclose(_np(back), data["y_masked_back"], rtol=1e-5, atol=1e-5)


def test_fixture_files_are_small():
    total = sum(os.path.getsize(os.path.join(FIXTURES, "conv_lstm" + ext))
                for ext in (".keras", ".legacy.h5", ".weights.h5", ".npz"))
    assert total < 150 * 1024


@pytest.mark.parametrize("ext", [".keras", ".legacy.h5"])
def test_keras_whole_model_files_predict_what_keras_predicted(ext):
    model = keras.models.load_model(os.path.join(FIXTURES, "conv_lstm" + ext))
    assert [type(l).__name__ for l in model.layers].count("ConvLSTM2D") == 3
    assert model.get_layer("clstm_strided").go_backwards and model.get_layer("clstm_dilated").dilation_rate == (2, 2)
    _check_predictions(model)


@pytest.mark.parametrize("ext", [".weights.h5", ".legacy.h5"])
def test_keras_weights_load_into_the_kerasette_architecture(ext):
    model = _kerasette_conv_lstm()
    model.load_weights(os.path.join(FIXTURES, "conv_lstm" + ext))
    _check_predictions(model)
    loaded = keras.models.load_model(os.path.join(FIXTURES, "conv_lstm.keras"))
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_weights_that_do_not_fit_leave_the_model_unchanged():
    model = _kerasette_conv_lstm()
    model.load_weights(os.path.join(FIXTURES, "conv_lstm.weights.h5"))
    other = keras.Model(model.inputs, model.outputs)
    before = [w.copy() for w in model.get_weights()]
    wrong = layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, name="clstm_same")
    wrong.build((None, 4, 6, 7, 2))
    with pytest.raises(ValueError):
        model.get_layer("clstm_same").set_weights(wrong.get_weights())
    for a, b in zip(before, other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# -- ConvLSTM3D --------------------------------------------------------------------------------

def _real_keras():
    """Keras 3 (torch backend) for cross-checks, or skip."""
    try:
        import keras as k3
    except Exception as exc:            # not installed, or no usable backend
        pytest.skip(f"Keras 3 not importable: {exc}")
    if not hasattr(k3.layers, "ConvLSTM3D"):
        pytest.skip("this Keras has no ConvLSTM3D")
    return k3


def test_conv_lstm3d_weights_shapes_and_names():
    layer = layers.ConvLSTM3D(3, (2, 3, 1))
    assert layer(np.ones((2, 4, 3, 5, 6, 2), np.float32)).shape == (2, 2, 3, 6, 3)
    assert layer.name == "conv_lstm3d" and layer.cell.name == "conv_lstm_cell"
    assert [w.path for w in layer.weights] == ["conv_lstm3d/conv_lstm_cell/kernel",
                                               "conv_lstm3d/conv_lstm_cell/recurrent_kernel",
                                               "conv_lstm3d/conv_lstm_cell/bias"]
    assert [w.shape for w in layer.weights] == [(2, 3, 1, 2, 12), (2, 3, 1, 3, 12), (12,)]
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    assert keras.layers.ConvLSTM3D is layers.ConvLSTM3D


CASES_3D = [
    (dict(filters=2, kernel_size=3), (2, 3, 5, 5, 5, 1), (2, 3, 3, 3, 2)),
    (dict(filters=3, kernel_size=2, padding="same", return_sequences=True), (2, 3, 4, 5, 3, 2),
     (2, 3, 4, 5, 3, 3)),
    (dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 2), go_backwards=True), (1, 2, 5, 5, 6, 1),
     (1, 2, 3, 3, 2)),
    (dict(filters=2, kernel_size=2, dilation_rate=(2, 1, 1), return_sequences=True), (1, 2, 5, 3, 3, 1),
     (1, 2, 3, 2, 2, 2)),
]


@pytest.mark.parametrize("kwargs,in_shape,out_shape", CASES_3D)
def test_conv_lstm3d_shapes_eager_symbolic_and_compute_output_shape(kwargs, in_shape, out_shape):
    layer = layers.ConvLSTM3D(**kwargs)
    assert layer(np.random.default_rng(0).normal(size=in_shape).astype("float32")).shape == out_shape
    assert layer.compute_output_shape(in_shape) == out_shape
    assert tuple(layers.ConvLSTM3D(**kwargs)(keras.Input(in_shape[1:])).shape) == (None,) + out_shape[1:]
    state = out_shape if not kwargs.get("return_sequences") else out_shape[:1] + out_shape[2:]
    outs = layers.ConvLSTM3D(**kwargs, return_state=True)(np.zeros(in_shape, "float32"))
    assert [o.shape for o in outs] == [out_shape, state, state]


@pytest.mark.parametrize("kwargs,shape", [
    (dict(kernel_size=2, padding="same", return_sequences=True, go_backwards=True), (2, 2, 3, 3, 2, 1)),
    (dict(kernel_size=(2, 1, 2), strides=(1, 2, 1), use_bias=False, activation="softsign"), (1, 3, 3, 3, 3, 2)),
    (dict(kernel_size=2, dilation_rate=(1, 2, 1), recurrent_activation="silu"), (2, 2, 2, 3, 2, 1)),
])
def test_conv_lstm3d_gradcheck_through_input_and_weights(kwargs, shape):
    layer = layers.ConvLSTM3D(2, dtype="float64", **kwargs)
    x = np.random.default_rng(11).normal(size=shape)
    _gradcheck_layer(layer, x)


def test_conv_lstm3d_config_round_trip_and_errors():
    kwargs = dict(filters=3, kernel_size=(2, 3, 1), strides=(2, 1, 1), padding="same", return_sequences=True,
                  go_backwards=True, dropout=0.25, recurrent_dropout=0.1, seed=4, unit_forget_bias=False,
                  activation="relu", name="c3")
    layer = layers.ConvLSTM3D(**kwargs)
    config = layer.get_config()
    assert list(config) == KERAS_KEYS
    assert config["kernel_size"] == (2, 3, 1) and config["strides"] == (2, 1, 1)
    assert config["dilation_rate"] == (1, 1, 1)
    assert layers.ConvLSTM3D.from_config(config).get_config() == config
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is layers.ConvLSTM3D and restored.get_config() == config
    with pytest.raises(ValueError, match="ConvLSTM3D 'c3x': data_format='channels_first' is not supported"):
        layers.ConvLSTM3D(2, 2, data_format="channels_first", name="c3x")
    with pytest.raises(ValueError, match="ConvLSTM3D .*kernel_size"):
        layers.ConvLSTM3D(2, (2, 2))
    with pytest.raises(ValueError, match="ConvLSTM3D .*strides .* dilation_rate"):
        layers.ConvLSTM3D(2, 2, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"ConvLSTM3D .*rank 6 \(batch, time, depth, rows, cols, channels\)"):
        layers.ConvLSTM3D(2, 2)(np.zeros((2, 3, 4, 4, 1)))
    with pytest.raises(ValueError, match="ConvLSTM3D .*larger than the input"):
        layers.ConvLSTM3D(2, 3)(np.zeros((1, 2, 2, 4, 4, 1)))


def test_conv_lstm3d_stateful_halves_give_the_whole_sequence():
    x = np.random.default_rng(13).normal(size=(2, 4, 3, 3, 3, 1))
    whole = layers.ConvLSTM3D(2, 2, padding="same", dtype="float64")
    want = _np(whole(x))
    stateful = layers.ConvLSTM3D(2, 2, padding="same", stateful=True, dtype="float64")
    stateful.build(x.shape)
    stateful.set_weights(whole.get_weights())
    stateful(x[:, :2])
    np.testing.assert_allclose(_np(stateful(x[:, 2:])), want, atol=1e-12)
    stateful.reset_states()
    np.testing.assert_allclose(_np(stateful(x)), want, atol=1e-12)


KERAS_3D = [
    dict(filters=2, kernel_size=3),
    dict(filters=3, kernel_size=2, padding="same", return_sequences=True, go_backwards=True),
    dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 2), return_state=True, unit_forget_bias=False,
         bias_initializer="random_normal"),
    dict(filters=2, kernel_size=2, dilation_rate=(2, 1, 1), return_sequences=True, use_bias=False,
         activation="relu", recurrent_activation="hard_sigmoid"),
]


@pytest.mark.parametrize("kwargs", KERAS_3D)
def test_conv_lstm3d_matches_keras(kwargs):
    k3 = _real_keras()
    x = np.random.default_rng(14).normal(size=(2, 3, 5, 4, 5, 2)).astype("float32")
    ref = k3.layers.ConvLSTM3D(**kwargs)
    want = ref(x)
    ours = layers.ConvLSTM3D(**kwargs)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    ours.set_weights(ref.get_weights())
    got = ours(x)
    want = want if isinstance(want, (list, tuple)) else [want]
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = k3.ops.convert_to_numpy(w)
        assert g.shape == w.shape
        np.testing.assert_allclose(_np(g), w, rtol=1e-5, atol=1e-5)
    config = {k: v for k, v in ref.get_config().items() if k not in ("name", "dtype")}
    mine = {k: v for k, v in ours.get_config().items() if k not in ("name", "dtype")}
    assert list(mine) == list(config)
    for key in config:
        if not key.endswith("initializer"):
            assert mine[key] == config[key], key


def test_conv_lstm3d_mask_matches_keras():
    k3 = _real_keras()
    x = np.random.default_rng(15).normal(size=(2, 4, 3, 3, 3, 1)).astype("float32")
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    ref = k3.layers.ConvLSTM3D(2, 2, padding="same", return_sequences=True)
    want = k3.ops.convert_to_numpy(ref(x, mask=mask))
    ours = layers.ConvLSTM3D(2, 2, padding="same", return_sequences=True)
    ours.build(x.shape)
    ours.set_weights(ref.get_weights())
    np.testing.assert_allclose(_np(ours(x, mask=mask)), want, rtol=1e-5, atol=1e-5)


# -- Bidirectional over convolutional LSTMs ----------------------------------------------------

def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _bi_pair(k3, cls_name, kwargs, bi_kwargs, x):
    """A Keras Bidirectional(ConvLSTM) and the kerasette one holding its weights."""
    ref = k3.layers.Bidirectional(getattr(k3.layers, cls_name)(**kwargs), **bi_kwargs)
    ref(x)
    ours = layers.Bidirectional(getattr(layers, cls_name)(**kwargs), **bi_kwargs)
    ours.build(x.shape)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in ref.get_weights()]
    ours.set_weights(ref.get_weights())
    return ref, ours


def _assert_outputs_match(k3, got, want):
    got, want = _as_list(got), _as_list(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = k3.ops.convert_to_numpy(w)
        assert g.shape == w.shape
        np.testing.assert_allclose(_np(g), w, rtol=1e-5, atol=1e-5)


BI_CASES = [
    ("ConvLSTM2D", dict(filters=2, kernel_size=3, return_sequences=True), dict(merge_mode="concat")),
    ("ConvLSTM2D", dict(filters=2, kernel_size=2, padding="same", return_sequences=True), dict(merge_mode="sum")),
    ("ConvLSTM2D", dict(filters=2, kernel_size=(2, 3), strides=(2, 1)), dict(merge_mode="mul")),
    ("ConvLSTM2D", dict(filters=3, kernel_size=2, return_state=True, return_sequences=True),
     dict(merge_mode="ave")),
    ("ConvLSTM2D", dict(filters=2, kernel_size=2, return_state=True), dict(merge_mode=None)),
    ("ConvLSTM1D", dict(filters=3, kernel_size=3, padding="same", return_sequences=True), dict()),
    ("ConvLSTM1D", dict(filters=2, kernel_size=2, dilation_rate=2, return_state=True), dict(merge_mode="sum")),
    ("ConvLSTM3D", dict(filters=2, kernel_size=2, return_sequences=True), dict()),
    ("ConvLSTM3D", dict(filters=2, kernel_size=(1, 2, 2), padding="same", return_state=True),
     dict(merge_mode=None)),
]
BI_SHAPES = {"ConvLSTM1D": (2, 3, 6, 2), "ConvLSTM2D": (2, 3, 5, 4, 2), "ConvLSTM3D": (2, 3, 3, 4, 3, 1)}


@pytest.mark.parametrize("cls_name,kwargs,bi_kwargs", BI_CASES)
def test_bidirectional_conv_lstm_matches_keras(cls_name, kwargs, bi_kwargs):
    k3 = _real_keras()
    x = np.random.default_rng(16).normal(size=BI_SHAPES[cls_name]).astype("float32")
    ref, ours = _bi_pair(k3, cls_name, kwargs, bi_kwargs, x)
    want = ref(x)
    _assert_outputs_match(k3, ours(x), want)
    # symbolic use and compute_output_shape give Keras's shapes
    want_shapes = [tuple(k3.ops.shape(w)) for w in _as_list(want)]
    shapes = ours.compute_output_shape(x.shape)
    shapes = [shapes] if isinstance(shapes, tuple) else shapes
    assert [tuple(s) for s in shapes] == want_shapes
    sym = layers.Bidirectional(getattr(layers, cls_name)(**kwargs), **bi_kwargs)(keras.Input(x.shape[1:]))
    assert [tuple(s.shape) for s in _as_list(sym)] == [(None,) + s[1:] for s in want_shapes]


def test_bidirectional_conv_lstm_mask_and_initial_state_match_keras():
    k3 = _real_keras()
    rng = np.random.default_rng(17)
    x = rng.normal(size=(2, 4, 4, 4, 1)).astype("float32")
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    ref, ours = _bi_pair(k3, "ConvLSTM2D", dict(filters=2, kernel_size=2, padding="same", return_sequences=True),
                         {}, x)
    _assert_outputs_match(k3, ours(x, mask=mask), ref(x, mask=mask))
    np.testing.assert_array_equal(ours.compute_mask(x, mask), mask)
    states = [rng.normal(size=(2, 4, 4, 2)).astype("float32") for _ in range(4)]
    _assert_outputs_match(k3, ours(x, initial_state=states), ref(x, initial_state=states))


def test_keras_bidirectional_conv_lstm_files_load(tmp_path):
    k3 = _real_keras()
    x = np.random.default_rng(18).normal(size=(2, 3, 5, 4, 2)).astype("float32")
    inp = k3.Input((3, 5, 4, 2))
    h = k3.layers.Bidirectional(k3.layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True),
                                merge_mode="sum", name="bi")(inp)
    out = k3.layers.Dense(1)(k3.layers.Flatten()(h))
    ref = k3.Model(inp, out)
    want = k3.ops.convert_to_numpy(ref(x))
    ref.save(str(tmp_path / "bi.keras"))
    ref.save_weights(str(tmp_path / "bi.weights.h5"))
    loaded = keras.models.load_model(str(tmp_path / "bi.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    inp = keras.Input((3, 5, 4, 2))
    h = layers.Bidirectional(layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True), merge_mode="sum",
                             name="bi")(inp)
    model = keras.Model(inp, layers.Dense(1)(layers.Flatten()(h)))
    model.load_weights(str(tmp_path / "bi.weights.h5"))
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    for a, b in zip(model.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls,kwargs,merge_mode,shape", [
    (layers.ConvLSTM2D, dict(kernel_size=2, padding="same", return_sequences=True), "concat", (2, 3, 3, 3, 1)),
    (layers.ConvLSTM1D, dict(kernel_size=2, return_state=True), "mul", (2, 3, 4, 2)),
    (layers.ConvLSTM3D, dict(kernel_size=2, return_sequences=True), "ave", (1, 2, 3, 2, 3, 1)),
])
def test_bidirectional_conv_lstm_gradcheck(cls, kwargs, merge_mode, shape):
    bi = layers.Bidirectional(cls(2, dtype="float64", **kwargs), merge_mode=merge_mode)
    x = np.random.default_rng(19).normal(size=shape)
    bi.build(x.shape)
    cells = [bi.forward_layer.cell, bi.backward_layer.cell]
    names = ("kernel", "recurrent_kernel", "bias")
    weights = [np.array(getattr(c, n).numpy(), np.float64, order="C") for c in cells for n in names]

    def fn(x, *ws):
        for i, w in enumerate(ws):
            setattr(cells[i // 3], names[i % 3], w)
        y = bi(x)
        if isinstance(y, list):             # [output, h_f, c_f, h_b, c_b]
            return ops.concatenate([y[0]] + [s * (i + 2.0) for i, s in enumerate(y[1:])], axis=-1)
        return y
    assert gradcheck(fn, [x] + weights)


def test_bidirectional_conv_lstm_config_save_and_errors(tmp_path):
    bi = layers.Bidirectional(layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True, go_backwards=False),
                              merge_mode="sum", name="bi")
    x = np.random.default_rng(20).normal(size=(4, 3, 4, 4, 1)).astype("float32")
    config = bi.get_config()
    assert config["layer"]["class_name"] == "ConvLSTM2D"
    assert config["layer"]["config"]["zero_output_for_mask"] is True
    assert config["backward_layer"]["config"]["go_backwards"] is True
    again = keras.layers.deserialize(keras.layers.serialize(bi))
    assert again.get_config() == config
    model = keras.Sequential([keras.Input((3, 4, 4, 1)), bi, layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x.sum(axis=(1, 2, 3)), epochs=1, batch_size=2, verbose=0)
    path = str(tmp_path / "bi.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"Bidirectional 'bi2': expected input of rank 5 \(batch, time, rows, "
                                         r"cols, channels\) for the wrapped ConvLSTM2D, got shape \(2, 3, 4\)"):
        layers.Bidirectional(layers.ConvLSTM2D(2, 2), name="bi2")(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"Bidirectional 'bi3': expected input of rank 6 .*ConvLSTM3D"):
        layers.Bidirectional(layers.ConvLSTM3D(2, 2), name="bi3")(keras.Input((3, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"Bidirectional 'bi4': expected input of rank 3 \(batch, time, "
                                         r"features\) for the wrapped SimpleRNN"):
        layers.Bidirectional(layers.SimpleRNN(2), name="bi4")(np.zeros((2, 3, 4, 1)))
