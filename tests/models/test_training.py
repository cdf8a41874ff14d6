"""Sequential + the training loop: compile / fit / evaluate / predict, losses,
metrics, optimizers (Keras 3 formulas), callbacks, verbosity and bad input."""
import math

import numpy as np
import pytest

import kerasette as keras
from kerasette.layers.symbolic import flatten_structure, map_structure
from kerasette import layers, losses, metrics, ops, optimizers
from kerasette.autograd import Tensor, Variable, gradcheck, is_grad_enabled

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], np.float32)


def regression_data(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = np.array([[1.5], [-2.0], [0.5]], np.float32)[:d]
    return x, x @ w + 0.3


def blobs(n=60, classes=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.standard_normal((classes, d)) * 3
    x = (centers[y] + rng.standard_normal((n, d)) * 0.3).astype(np.float32)
    return x, y


def mlp(d_in=4, classes=3, hidden=8, out_act="softmax"):
    return keras.Sequential([keras.Input((d_in,)), layers.Dense(hidden, activation="relu"),
                             layers.Dense(classes, activation=out_act)])


def weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# ---- Sequential and compile ----------------------------------------------------------
def test_sequential_add_and_list_forms_agree():
    m1 = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    m2 = keras.Sequential()
    m2.add(keras.Input((3,)))
    m2.add(layers.Dense(4, activation="relu"))
    m2.add(layers.Dense(2))
    assert [type(l).__name__ for l in m2.layers] == ["Dense", "Dense"]
    m2.set_weights(m1.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(m1.predict(x, verbose=0), m2.predict(x, verbose=0))
    assert m2.output_shape == (None, 2)
    with pytest.raises(TypeError):
        m2.add("dense")


def test_sequential_without_input_builds_on_first_call():
    m = keras.Sequential([layers.Dense(4), layers.Dense(1)])
    assert m.weights == []
    out = m(np.ones((2, 3), np.float32))
    assert out.shape == (2, 1)
    assert m.layers[0].kernel.shape == (3, 4)


@pytest.mark.parametrize("opt,loss", [
    ("sgd", "mse"), ("adam", "mean_squared_error"), ("rmsprop", "mae"),
    (optimizers.Adam(learning_rate=0.01), losses.MeanSquaredError()),
    (optimizers.SGD(0.05, momentum=0.9), losses.mean_squared_error),
])
def test_compile_with_strings_and_objects(opt, loss):
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=opt, loss=loss, metrics=["mae"])
    assert isinstance(m.optimizer, optimizers.Optimizer)
    x, y = regression_data(16)
    before = m.get_weights()
    logs = m.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "mae"}
    assert not weights_equal(before, m.get_weights())


def test_compile_optimizer_string_resolves_defaults():
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile("adam", "mse")
    assert type(m.optimizer) is optimizers.Adam and m.optimizer.learning_rate == pytest.approx(0.001)
    m.compile("sgd", "mse")
    assert type(m.optimizer) is optimizers.SGD and m.optimizer.learning_rate == pytest.approx(0.01)


# ---- fit reaches near-zero loss -----------------------------------------------------------
def test_fit_linear_regression_to_near_zero_loss():
    x, y = regression_data(64)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    h = m.fit(x, y, batch_size=16, epochs=40, verbose=0)
    assert h.history["loss"][-1] < 1e-6
    np.testing.assert_allclose(m.layers[0].kernel.numpy().ravel(), [1.5, -2.0, 0.5], atol=1e-3)
    np.testing.assert_allclose(m.layers[0].bias.numpy(), [0.3], atol=1e-3)
    assert m.evaluate(x, y, verbose=0) < 1e-6


def test_fit_xor_with_adam():
    m = keras.Sequential([keras.Input((2,)), layers.Dense(8, activation="tanh"),
                          layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    h = m.fit(XOR_X, XOR_Y, batch_size=4, epochs=300, verbose=0)
    assert h.history["loss"][-1] < 0.01
    assert h.history["accuracy"][-1] == 1.0
    np.testing.assert_array_equal(m.predict(XOR_X, verbose=0) > 0.5, XOR_Y > 0.5)


def test_fit_multiclass_sparse_and_history_contents():
    x, y = blobs(60)
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, batch_size=16, epochs=4, validation_split=0.25, verbose=0)
    assert isinstance(h, keras.callbacks.History) and m.history is h
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in h.history.values())
    assert h.epoch == [0, 1, 2, 3]
    assert all(isinstance(v, float) for v in h.history["loss"])
    assert h.history["loss"][-1] < h.history["loss"][0]


# ---- validation ------------------------------------------------------------------------------
def test_validation_split_takes_the_last_fraction():
    x, y = blobs(40)
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    val = m.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(val["loss"], rel=1e-6)
    assert h.history["val_accuracy"][-1] == pytest.approx(val["accuracy"], rel=1e-6)
    # training saw only the first 30 samples: same as fitting on them alone
    keras.set_random_seed(1)
    a = mlp()
    a.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    a.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    keras.set_random_seed(1)
    b = mlp()
    b.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    b.fit(x[:30], y[:30], batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert weights_equal(a.get_weights(), b.get_weights())


def test_validation_data():
    x, y = blobs(40)
    xv, yv = blobs(12, seed=5)
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, batch_size=8, epochs=2, validation_data=(xv, yv), verbose=0)
    val = m.evaluate(xv, yv, verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(val["loss"], rel=1e-6)
    assert h.history["val_accuracy"][-1] == pytest.approx(val["accuracy"], rel=1e-6)


def test_validation_split_out_of_range():
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = blobs(10)
    with pytest.raises(ValueError):
        m.fit(x, y, validation_split=1.5, verbose=0)


# ---- shuffle / initial_epoch ---------------------------------------------------------------
def _fresh_regressor(seed=3):
    keras.set_random_seed(seed)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    return m


def test_shuffle_false_follows_data_order_and_shuffle_true_differs():
    x, y = regression_data(24)
    a = _fresh_regressor()
    a.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    manual = _fresh_regressor()
    for _ in range(2):
        for s in range(0, 24, 4):
            manual.train_on_batch(x[s:s + 4], y[s:s + 4])
    for u, v in zip(a.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)
    b = _fresh_regressor()
    b.fit(x, y, batch_size=4, epochs=2, shuffle=True, verbose=0)
    assert not weights_equal(a.get_weights(), b.get_weights())


def test_initial_epoch():
    x, y = regression_data(16)
    m = _fresh_regressor()
    h = m.fit(x, y, batch_size=8, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]
    assert len(h.history["loss"]) == 2
    assert m.optimizer.iterations == 4


# ---- evaluate / predict / on_batch ------------------------------------------------------------
class _GradSpy(layers.Layer):
    """Identity layer that records whether a graph was being recorded when called."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def call(self, x):
        self.seen.append(is_grad_enabled())
        return x


def test_predict_is_batched_numpy_and_records_no_graph():
    spy = _GradSpy()
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3), spy])
    x = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    spy.seen.clear()
    out = m.predict(x, batch_size=3, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (10, 3) and out.dtype == np.float32
    assert spy.seen == [False] * 4                    # ceil(10 / 3) batches, none recorded
    np.testing.assert_allclose(out, x @ m.layers[0].kernel.numpy() + m.layers[0].bias.numpy(),
                               rtol=1e-5, atol=1e-6)
    assert all(w.grad is None for w in m.weights)


@pytest.mark.parametrize("outputs", ["one", "list", "dict"])
def test_predict_of_one_batch_takes_the_short_path_with_the_same_results(outputs):
    """verbose=0, no callbacks, one batch: no loop machinery, the same arrays (fresh copies)."""
    inp = keras.Input((4,))
    a, b = layers.Dense(3)(inp), layers.Identity()(inp)
    out = {"one": b, "list": [a, b], "dict": {"a": a, "b": b}}[outputs]
    model = keras.Model(inp, out)
    spy = _GradSpy()
    model = keras.Model(inp, map_structure(spy, out)) if outputs == "one" else model
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    hooks = []

    class Hooks(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            hooks.append(batch)
    short = model.predict(x, verbose=0)
    loop = model.predict(x, verbose=0, callbacks=[Hooks()])
    assert hooks == [0]
    flat_short, flat_loop = flatten_structure(short), flatten_structure(loop)
    assert type(short) is type(loop) and len(flat_short) == len(flat_loop)
    for s_, l_ in zip(flat_short, flat_loop):
        assert type(s_) is np.ndarray and s_.dtype == l_.dtype
        np.testing.assert_array_equal(s_, l_)
    ident = flat_short[-1] if outputs != "dict" else short["b"]
    np.testing.assert_array_equal(ident, x)
    assert not np.shares_memory(ident, x)           # a copy, as the batched path's concatenate
    if outputs == "one":
        assert spy.seen[-2:] == [False, False]      # neither records a graph


def test_evaluate_records_no_graph_and_matches_numpy():
    spy = _GradSpy()
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1), spy])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = regression_data(10)
    spy.seen.clear()
    before = m.get_weights()
    loss, mae = m.evaluate(x, y, batch_size=4, verbose=0)
    assert spy.seen == [False] * 3
    pred = x @ before[0] + before[1]
    assert loss == pytest.approx(float(np.mean((pred - y) ** 2)), rel=1e-5)
    assert mae == pytest.approx(float(np.mean(np.abs(pred - y))), rel=1e-5)
    assert weights_equal(before, m.get_weights())
    d = m.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d) == {"loss", "mae"}


def test_evaluate_loss_does_not_depend_on_batch_size():
    # batch losses are weighted by batch size: a short last batch must not count as a full one
    x, y = blobs(10)
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    full = m.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    for bs in (3, 4, 7):
        part = m.evaluate(x, y, batch_size=bs, verbose=0, return_dict=True)
        assert part["loss"] == pytest.approx(full["loss"], rel=1e-5)
        assert part["accuracy"] == pytest.approx(full["accuracy"], rel=1e-6)


def test_train_and_test_on_batch():
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    x, y = regression_data(8)
    w0 = m.get_weights()
    pred = x @ w0[0] + w0[1]
    expected_loss = float(np.mean((pred - y) ** 2))
    assert m.test_on_batch(x, y) == pytest.approx(expected_loss, rel=1e-5)
    assert weights_equal(w0, m.get_weights())
    loss = m.train_on_batch(x, y)
    assert isinstance(loss, float) and loss == pytest.approx(expected_loss, rel=1e-5)
    # one SGD step with the batch-mean gradient of the mse
    g = 2 * (pred - y) / len(x)
    np.testing.assert_allclose(m.get_weights()[0], w0[0] - 0.1 * x.T @ g, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.get_weights()[1], w0[1] - 0.1 * g.sum(0), rtol=1e-5, atol=1e-6)
    assert m.test_on_batch(x, y) < expected_loss


def test_train_on_batch_with_metrics_returns_list():
    m = mlp()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = blobs(12)
    out = m.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2 and 0 <= out[1] <= 1


def test_summary_lists_layers_and_param_counts(capsys):
    m = keras.Sequential([keras.Input((784,)), layers.Dense(32, activation="relu"), layers.Dense(10)],
                         name="mnist_mlp")
    m.summary()
    text = capsys.readouterr().out
    assert "mnist_mlp" in text
    assert "dense (Dense)" in text and "dense_1 (Dense)" in text
    assert "25,120" in text and "330" in text
    assert "(None, 32)" in text and "(None, 10)" in text
    assert "Total params: 25,450" in text
    lines = []
    m.summary(print_fn=lines.append)
    assert lines and "25,450" in lines[0]


# ---- losses vs NumPy ----------------------------------------------------------------------
def _np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


EPS = 1e-7
RL = np.random.default_rng(9)
P_BIN = RL.uniform(0.05, 0.95, (6, 3))
Y_BIN = (RL.uniform(size=(6, 3)) > 0.5).astype(np.float64)
LOGITS = RL.standard_normal((6, 4)) * 2
Y_SPARSE = RL.integers(0, 4, 6)
Y_ONEHOT = np.eye(4)[Y_SPARSE]
REG_T, REG_P = RL.standard_normal((6, 3)), RL.standard_normal((6, 3))

LOSS_CASES = [
    ("mse", "mse", REG_T, REG_P, np.mean((REG_P - REG_T) ** 2)),
    ("mae", "mae", REG_T, REG_P, np.mean(np.abs(REG_P - REG_T))),
    ("bce", "binary_crossentropy", Y_BIN, P_BIN,
     -np.mean(Y_BIN * np.log(P_BIN) + (1 - Y_BIN) * np.log(1 - P_BIN))),
    ("bce_logits", losses.BinaryCrossentropy(from_logits=True), Y_BIN, LOGITS[:, :3],
     -np.mean(Y_BIN * np.log(_np_sigmoid(LOGITS[:, :3])) + (1 - Y_BIN) * np.log(1 - _np_sigmoid(LOGITS[:, :3])))),
    ("cce", "categorical_crossentropy", Y_ONEHOT, _np_softmax(LOGITS),
     -np.mean(np.sum(Y_ONEHOT * np.log(_np_softmax(LOGITS)), -1))),
    ("cce_logits", losses.CategoricalCrossentropy(from_logits=True), Y_ONEHOT, LOGITS,
     -np.mean(np.sum(Y_ONEHOT * np.log(_np_softmax(LOGITS)), -1))),
    ("scce", "sparse_categorical_crossentropy", Y_SPARSE, _np_softmax(LOGITS),
     -np.mean(np.log(_np_softmax(LOGITS))[np.arange(6), Y_SPARSE])),
    ("scce_column_labels", "sparse_categorical_crossentropy", Y_SPARSE[:, None], _np_softmax(LOGITS),
     -np.mean(np.log(_np_softmax(LOGITS))[np.arange(6), Y_SPARSE])),
    ("scce_logits", losses.SparseCategoricalCrossentropy(from_logits=True), Y_SPARSE, LOGITS,
     -np.mean(np.log(_np_softmax(LOGITS))[np.arange(6), Y_SPARSE])),
]


@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_losses_match_numpy(case):
    _, loss, y_true, y_pred, expected = case
    fn = losses.get(loss)
    out = fn(y_true, Tensor(y_pred))
    assert out.shape == ()
    assert float(out.numpy()) == pytest.approx(float(expected), rel=1e-6)


def test_bce_clips_probabilities_like_keras():
    out = losses.get("binary_crossentropy")(np.array([[1.0, 0.0]]), Tensor(np.array([[0.0, 1.0]])))
    assert float(out.numpy()) == pytest.approx(-np.log(EPS), rel=1e-4)


@pytest.mark.parametrize("loss,labels", [
    ("categorical_crossentropy", Y_ONEHOT), ("sparse_categorical_crossentropy", Y_SPARSE),
])
def test_crossentropy_after_softmax_uses_correct_gradient(loss, labels):
    # the fused shortcut through the softmax node must equal the true gradient
    fn = losses.get(loss)
    assert gradcheck(lambda z: fn(labels, ops.softmax(z)), [LOGITS.copy()])
    z = Tensor(LOGITS.copy())
    np.testing.assert_allclose(float(fn(labels, ops.softmax(z)).numpy()),
                               -np.mean(np.log(_np_softmax(LOGITS))[np.arange(6), Y_SPARSE]), rtol=1e-6)


@pytest.mark.parametrize("case", [c for c in LOSS_CASES if c[0] in ("mse", "mae", "bce", "bce_logits",
                                                                    "cce_logits", "scce_logits")],
                         ids=lambda c: c[0])
def test_loss_gradcheck(case):
    _, loss, y_true, y_pred, _ = case
    fn = losses.get(loss)
    assert gradcheck(lambda p: fn(y_true, p), [y_pred.copy()])


def test_unknown_loss_and_functional_forms():
    with pytest.raises(ValueError, match="nope"):
        losses.get("nope")
    per_sample = losses.mean_squared_error(REG_T, Tensor(REG_P))
    np.testing.assert_allclose(per_sample.numpy(), np.mean((REG_P - REG_T) ** 2, -1), rtol=1e-6)


# ---- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("loss,out_units,cls", [
    ("binary_crossentropy", 1, metrics.BinaryAccuracy),
    ("categorical_crossentropy", 3, metrics.CategoricalAccuracy),
    ("sparse_categorical_crossentropy", 3, metrics.SparseCategoricalAccuracy),
])
def test_accuracy_resolves_by_loss(loss, out_units, cls):
    x, y = blobs(20)
    if loss == "binary_crossentropy":
        y = (y > 0).astype(np.float32)[:, None]
        act = "sigmoid"
    elif loss == "categorical_crossentropy":
        y = keras.utils.to_categorical(y, 3)
        act = "softmax"
    else:
        act = "softmax"
    m = mlp(classes=out_units, out_act=act)
    m.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    res = m.evaluate(x, y, verbose=0, return_dict=True)
    acc = [mm for mm in m.metrics if mm.name == "accuracy"]
    assert len(acc) == 1 and type(acc[0]) is cls
    p = m.predict(x, verbose=0)
    if loss == "binary_crossentropy":
        expected = np.mean((p > 0.5) == (y > 0.5))
    elif loss == "categorical_crossentropy":
        expected = np.mean(p.argmax(-1) == y.argmax(-1))
    else:
        expected = np.mean(p.argmax(-1) == y)
    assert res["accuracy"] == pytest.approx(expected, abs=1e-7)


def test_metric_objects_running_mean():
    m = metrics.get("mse")
    m.update_state(np.array([[0.0, 0.0]]), np.array([[1.0, 3.0]]))
    m.update_state(np.array([[0.0, 0.0]]), np.array([[0.0, 2.0]]))
    assert m.result() == pytest.approx((5.0 + 2.0) / 2)
    m.reset_state()
    m.update_state(np.array([[1.0]]), np.array([[-1.0]]))
    assert m.result() == pytest.approx(4.0)
    a = metrics.get("mae")
    a.update_state(np.array([[1.0, 2.0]]), np.array([[2.0, 0.0]]))
    assert a.result() == pytest.approx(1.5)
    s = metrics.SparseCategoricalAccuracy()
    s.update_state(np.array([0, 2, 1]), np.array([[0.9, 0.1, 0], [0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]))
    assert s.result() == pytest.approx(2 / 3)


def test_mse_mae_metrics_in_fit():
    x, y = regression_data(16)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mse", "mae"])
    res = m.evaluate(x, y, verbose=0, return_dict=True)
    p = m.predict(x, verbose=0)
    assert res["mse"] == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-5)
    assert res["mae"] == pytest.approx(float(np.mean(np.abs(p - y))), rel=1e-5)
    assert res["loss"] == pytest.approx(res["mse"], rel=1e-6)


# ---- optimizers: Keras 3 formulas, two steps each ------------------------------------------------
W0 = np.array([[0.5, -1.0], [2.0, 0.25]])
GRADS = [np.array([[0.1, -0.2], [0.3, 0.05]]), np.array([[-0.4, 0.1], [0.2, -0.3]])]


def _run_opt(opt):
    v = Variable(W0.astype(np.float32), name="w")
    for g in GRADS:
        opt.apply([g.astype(np.float32)], [v])
    return v.numpy()


def _ref_sgd(lr, momentum=0.0, nesterov=False):
    w, m = W0.copy(), np.zeros_like(W0)
    for g in GRADS:
        if not momentum:
            w = w - lr * g
            continue
        m = momentum * m - lr * g
        w = w + momentum * m - lr * g if nesterov else w + m
    return w


def _ref_adam(lr, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    for t, g in enumerate(GRADS, start=1):
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = w - alpha * m / (np.sqrt(v) + eps)
    return w


def _ref_rmsprop(lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w, v, m, a = W0.copy(), np.zeros_like(W0), np.zeros_like(W0), np.zeros_like(W0)
    for g in GRADS:
        v = rho * v + (1 - rho) * g * g
        denom = v + eps
        if centered:
            a = rho * a + (1 - rho) * g
            denom = v - a * a + eps
        inc = lr * g / np.sqrt(denom)
        if momentum:
            m = momentum * m + inc
            inc = m
        w = w - inc
    return w


@pytest.mark.parametrize("opt,ref", [
    (lambda: optimizers.SGD(0.1), lambda: _ref_sgd(0.1)),
    (lambda: optimizers.SGD(0.1, momentum=0.9), lambda: _ref_sgd(0.1, 0.9)),
    (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True), lambda: _ref_sgd(0.1, 0.9, True)),
    (lambda: optimizers.Adam(0.01), lambda: _ref_adam(0.01)),
    (lambda: optimizers.Adam(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-3), lambda: _ref_adam(0.05, 0.8, 0.99, 1e-3)),
    (lambda: optimizers.RMSprop(0.01), lambda: _ref_rmsprop(0.01)),
    (lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.5), lambda: _ref_rmsprop(0.01, 0.8, 0.5)),
    (lambda: optimizers.RMSprop(0.01, centered=True), lambda: _ref_rmsprop(0.01, centered=True)),
], ids=["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adam_custom", "rmsprop", "rmsprop_momentum",
        "rmsprop_centered"])
def test_optimizer_steps_match_keras3_formulas(opt, ref):
    np.testing.assert_allclose(_run_opt(opt()), ref(), rtol=1e-5, atol=1e-6)


def test_optimizer_state_is_per_weight_and_skips_none():
    opt = optimizers.Adam(0.1)
    a = Variable(np.zeros(2, np.float32), name="a")
    b = Variable(np.zeros(3, np.float32), name="b")
    opt.apply([np.ones(2, np.float32), None], [a, b])
    np.testing.assert_array_equal(b.numpy(), np.zeros(3))
    assert not np.allclose(a.numpy(), 0)
    assert [s.shape for s in opt.slots["momentum"]] == [(2,), (3,)]
    assert opt.iterations == 1


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="nope"):
        optimizers.get("nope")
    with pytest.raises(TypeError):
        optimizers.get(42)


def _torch_trajectory(torch, make_opt, w_init, b_init, x, y, steps):
    lin = torch.nn.Linear(w_init.shape[0], w_init.shape[1]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w_init.T, dtype=torch.float64))
        lin.bias.copy_(torch.tensor(b_init, dtype=torch.float64))
    opt = make_opt(lin.parameters())
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((torch.tanh(lin(xt)) - yt) ** 2).mean()
        loss.backward()
        opt.step()
    return lin.weight.detach().numpy().T, lin.bias.detach().numpy()


@pytest.mark.parametrize("name", ["sgd_momentum", "sgd_nesterov", "adam"])
def test_optimizer_trajectories_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 3))
    y = rng.standard_normal((16, 2)) * 0.5
    m = keras.Sequential([keras.Input((3,)), layers.Dense(2, activation="tanh")])
    w_init, b_init = m.get_weights()
    if name == "adam":
        # Keras puts epsilon outside the bias correction, PyTorch inside: make it negligible
        ours = optimizers.Adam(0.05, epsilon=1e-12)
        theirs = lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-12)  # noqa: E731
    else:
        nesterov = name == "sgd_nesterov"
        ours = optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov)
        theirs = lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=nesterov)  # noqa: E731
    m.compile(optimizer=ours, loss="mse")
    for _ in range(25):
        m.train_on_batch(x.astype(np.float32), y.astype(np.float32))
    w_t, b_t = _torch_trajectory(torch, theirs, w_init, b_init, x, y, 25)
    w, b = m.get_weights()
    np.testing.assert_allclose(w, w_t, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(b, b_t, rtol=1e-3, atol=1e-4)
    assert not np.allclose(w, w_init, atol=1e-2)       # it actually moved


# ---- callbacks and verbosity -----------------------------------------------------------------------
def test_early_stopping_stops_after_patience_and_restores_best():
    x, y = regression_data(16)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(0.0), loss="mse")          # lr 0: the loss never improves
    es = keras.callbacks.EarlyStopping(monitor="loss", patience=2)
    h = m.fit(x, y, batch_size=8, epochs=20, callbacks=[es], verbose=0)
    assert len(h.history["loss"]) == 3
    assert es.stopped_epoch == 2


def test_early_stopping_restore_best_weights():
    x, y = regression_data(16)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    snaps = []
    rec = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snaps.append(m.get_weights()))
    # monitor a val_loss that gets worse after epoch 0 (validation targets are anti-correlated)
    es = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = m.fit(x, y, batch_size=8, epochs=20, validation_data=(x, -y), callbacks=[rec, es], verbose=0)
    best = int(np.argmin(h.history["val_loss"]))
    assert len(h.history["loss"]) < 20
    assert weights_equal(m.get_weights(), snaps[best])


def test_learning_rate_scheduler():
    x, y = regression_data(16)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    seen = []
    cb = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    spy = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs=None: seen.append(m.optimizer.learning_rate))
    h = m.fit(x, y, batch_size=16, epochs=3, callbacks=[cb, spy], verbose=0)
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert m.optimizer.learning_rate == pytest.approx(0.025)


def test_terminate_on_nan(capsys):
    x, y = regression_data(16)
    x = x.copy()
    x[0, 0] = np.nan
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    batches = []
    spy = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs=None: batches.append(b))
    h = m.fit(x, y, batch_size=4, epochs=5, shuffle=False, callbacks=[keras.callbacks.TerminateOnNaN(), spy],
              verbose=0, check_finite=False)          # the input check would stop before the first step
    assert batches == [0]
    assert len(h.history["loss"]) == 1 and math.isnan(h.history["loss"][0])


def test_verbose_levels(capfd):
    x, y = regression_data(16)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    m.fit(x, y, batch_size=4, epochs=3, verbose=0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    m.fit(x, y, batch_size=4, epochs=3, verbose=2)
    out, err = capfd.readouterr()
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 3
    for i, l in enumerate(lines):
        assert l.startswith(f"Epoch {i + 1}/3") and "loss:" in l and "mae:" in l
    m.fit(x, y, batch_size=4, epochs=2, verbose=1)
    out, err = capfd.readouterr()
    bar = out + err
    assert "Epoch 1/2" in bar and "Epoch 2/2" in bar and "loss" in bar and "4/4" in bar


# ---- bad input: clear errors before any weight changes ------------------------------------------
def _assert_unchanged(m, before):
    assert weights_equal(before, m.get_weights())
    assert m.optimizer is None or m.optimizer.iterations == 0


def test_fit_before_compile():
    m = mlp()
    before = m.get_weights()
    x, y = blobs(8)
    for call in (lambda: m.fit(x, y, verbose=0), lambda: m.evaluate(x, y, verbose=0),
                 lambda: m.train_on_batch(x, y), lambda: m.test_on_batch(x, y)):
        with pytest.raises(ValueError, match="compile"):
            call()
    _assert_unchanged(m, before)


@pytest.mark.parametrize("kwargs,word", [
    (dict(optimizer="nope", loss="mse"), "nope"),
    (dict(optimizer="adam", loss="nope"), "nope"),
])
def test_unknown_names_at_compile(kwargs, word):
    m = mlp()
    with pytest.raises(ValueError, match=word):
        m.compile(**kwargs)


def test_unknown_metric_raises_before_training():
    m = mlp()
    before = m.get_weights()
    x, y = blobs(8)
    with pytest.raises(ValueError, match="nope"):       # at compile or, at the latest, before a step
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["nope"])
        m.fit(x, y, verbose=0)
    _assert_unchanged(m, before)


def test_unknown_activation():
    with pytest.raises(ValueError, match="relux"):
        layers.Dense(3, activation="relux")


def _compiled(loss, classes=3, act="softmax"):
    m = mlp(classes=classes, out_act=act)
    m.compile(optimizer="adam", loss=loss)
    return m, m.get_weights()


@pytest.mark.parametrize("what", ["x_y_lengths", "sparse_out_of_range", "sparse_negative",
                                  "sparse_non_integer", "onehot_wrong_classes", "onehot_given_ints",
                                  "wrong_feature_size", "bce_wrong_shape"])
def test_bad_input_raises_before_weight_changes(what):
    x, y = blobs(12)
    if what == "x_y_lengths":
        m, before = _compiled("sparse_categorical_crossentropy")
        args, match = (x, y[:10]), "10|12"
    elif what == "sparse_out_of_range":
        m, before = _compiled("sparse_categorical_crossentropy")
        yb = y.copy()
        yb[-1] = 3
        args, match = (x, yb), r"\[0, 3\)"
    elif what == "sparse_negative":
        m, before = _compiled("sparse_categorical_crossentropy")
        yb = y.copy()
        yb[0] = -1
        args, match = (x, yb), "-1"
    elif what == "sparse_non_integer":
        m, before = _compiled("sparse_categorical_crossentropy")
        args, match = (x, y + 0.5), "integer"
    elif what == "onehot_wrong_classes":
        m, before = _compiled("categorical_crossentropy")
        args, match = (x, np.eye(4)[y]), r"\(12, 4\)"
    elif what == "onehot_given_ints":
        m, before = _compiled("categorical_crossentropy")
        args, match = (x, y), "sparse_categorical_crossentropy|to_categorical"
    elif what == "wrong_feature_size":
        m, before = _compiled("sparse_categorical_crossentropy")
        args, match = (np.ones((12, 5), np.float32), y), r"\(None, 4\)"
    else:
        m, before = _compiled("binary_crossentropy", classes=1, act="sigmoid")
        args, match = (x, np.ones((12, 3), np.float32)), r"\(12, 3\)"
    for call in (lambda: m.fit(*args, batch_size=4, verbose=0), lambda: m.train_on_batch(*args),
                 lambda: m.evaluate(*args, verbose=0)):
        with pytest.raises(ValueError, match=match):
            call()
        _assert_unchanged(m, before)


def test_bad_batch_size():
    m, before = _compiled("sparse_categorical_crossentropy")
    x, y = blobs(8)
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(x, y, batch_size=0, verbose=0)
    _assert_unchanged(m, before)


def test_labels_without_trailing_axis_match_single_unit_outputs():
    """y of shape (n,) against outputs (n, 1): Keras adds the axis (no (n, n) broadcast)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    for loss, metric in (("mse", "mae"), ("binary_crossentropy", "accuracy")):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile("sgd", loss, metrics=[metric])
        flat = model.evaluate(x, y, verbose=0)
        column = model.evaluate(x, y[:, None], verbose=0)
        np.testing.assert_allclose(flat, column, rtol=1e-6)
        p = model.predict(x)[:, 0]
        if loss == "mse":
            assert flat[0] == pytest.approx(float(np.mean((p - y) ** 2)), rel=1e-5)
        else:
            assert flat[1] == pytest.approx(float(np.mean((p > 0.5) == (y > 0.5))))


def test_class_weight_equals_the_matching_sample_weight():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3)).astype("float32")
    y = rng.integers(0, 3, 24)
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    results = []
    for kwargs in ({"class_weight": weights},
                   {"sample_weight": np.array([weights[int(c)] for c in y], dtype="float32")}):
        keras.set_random_seed(7)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, **kwargs)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match=r"no entry for class\(es\) \[2\]"):
        model.fit(x, y, class_weight={0: 1.0, 1: 1.0}, verbose=0)


def test_steps_per_epoch_limits_the_batches():
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((40, 2)), np.ones(40), batch_size=4, steps_per_epoch=3, epochs=2, verbose=0,
              callbacks=[cb])
    assert seen == [0, 1, 2, 0, 1, 2]


def test_weight_decay_is_decoupled_for_every_optimizer():
    w = keras.Variable(np.array([2.0], dtype="float32"))
    opt = keras.optimizers.SGD(0.1, weight_decay=0.5)
    opt.apply([np.array([1.0], dtype="float32")], [w])
    # decay first (2 - 0.1 * 0.5 * 2 = 1.9), then the SGD step (1.9 - 0.1 * 1 = 1.8), as Keras 3
    np.testing.assert_allclose(w.numpy(), [1.8], rtol=1e-6)


def test_optimizer_refuses_arguments_it_would_ignore():
    with pytest.raises(ValueError, match="learning_rate"):
        keras.optimizers.Adam(lr=0.1)
    with pytest.raises(ValueError, match="not recognized"):
        keras.optimizers.SGD(0.1, momentun=0.9)
    with pytest.raises(NotImplementedError, match="use_ema"):
        keras.optimizers.Adam(use_ema=True)
    keras.optimizers.Adam(use_ema=False)
