"""The lowercase metric functions of ``keras.metrics`` (``binary_accuracy``, ``hinge``, ...):
per-sample values like Keras's, usable in ``compile(metrics=[...])`` as functions and by name
through the registry; checked against hard-coded values and, when Keras 3 is installed,
against Keras on random inputs."""
import inspect
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import losses, metrics, registry

# every function dir(keras.metrics) lists in Keras 3.15 (besides get / serialize / deserialize)
KERAS_FUNCTIONS = [
    "binary_accuracy", "binary_crossentropy", "binary_focal_crossentropy", "categorical_accuracy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge",
    "concordance_correlation", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "pearson_correlation", "poisson", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy"]


def _np(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


# -- presence, identity, registry -------------------------------------------------------------

@pytest.mark.parametrize("name", KERAS_FUNCTIONS)
def test_present_and_public(name):
    fn = getattr(metrics, name)
    assert inspect.isfunction(fn) and name in metrics.__all__
    assert registry.builtin(name, ("metric",)) is fn
    doc = inspect.getdoc(fn)
    assert "Args:" in doc and "Examples:" in doc


def test_loss_functions_are_the_same_objects():
    # as in Keras: keras.metrics.mean_squared_error is keras.losses.mean_squared_error
    for name in ("mean_squared_error", "mean_absolute_error", "binary_crossentropy",
                 "categorical_crossentropy", "sparse_categorical_crossentropy", "huber",
                 "binary_focal_crossentropy", "categorical_focal_crossentropy"):
        assert getattr(metrics, name) is getattr(losses, name)
    assert metrics.mse is metrics.mean_squared_error and metrics.mae is metrics.mean_absolute_error
    assert metrics.mape is metrics.mean_absolute_percentage_error
    assert metrics.msle is metrics.mean_squared_logarithmic_error


def test_names_resolve():
    # a class's snake_case name gives the class (Keras's get); a function-only name the function
    assert type(metrics.get("binary_accuracy")).__name__ == "BinaryAccuracy"
    assert type(metrics.get("hinge")).__name__ == "Hinge"
    for name in ("log_cosh", "huber", "binary_focal_crossentropy", "categorical_focal_crossentropy"):
        m = metrics.get(name)
        assert isinstance(m, metrics.Metric) and m.name == name
    with pytest.raises(ValueError, match="Unknown metric: 'no_such_metric'"):
        metrics.get("no_such_metric")


@pytest.mark.parametrize("name", ["binary_accuracy", "hinge", "log_cosh", "pearson_correlation"])
def test_serialize_round_trip(name):
    fn = getattr(metrics, name)
    config = registry.serialize_keras_object(fn)
    assert config["config"] == name
    assert registry.deserialize_keras_object(config) is fn
    assert metrics.deserialize(metrics.serialize(fn)) is fn


# -- hard-coded values (no Keras needed) ------------------------------------------------------

def test_hard_coded_values():
    yt = np.array([[0.0, 1.0], [1.0, 0.0]], "float32")
    yp = np.array([[0.6, 0.4], [0.7, 0.2]], "float32")
    np.testing.assert_allclose(_np(metrics.binary_accuracy(yt, yp)), [[0, 0], [1, 1]])
    np.testing.assert_allclose(_np(metrics.binary_accuracy(yt, yp, threshold=0.3)), [[0, 1], [1, 1]])
    np.testing.assert_allclose(_np(metrics.categorical_accuracy(yt, yp)), [0, 1])
    np.testing.assert_allclose(_np(metrics.sparse_categorical_accuracy([1, 0], yp)), [0, 1])
    np.testing.assert_allclose(_np(metrics.sparse_categorical_accuracy([[1], [0]], yp)), [0, 1])
    np.testing.assert_allclose(_np(metrics.top_k_categorical_accuracy(yt, yp, k=2)), [1, 1])
    np.testing.assert_allclose(_np(metrics.sparse_top_k_categorical_accuracy([1, 1], yp, k=1)), [0, 0])
    np.testing.assert_allclose(_np(metrics.mean_squared_error(yt, yp)), [0.36, 0.065], rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.mean_absolute_error(yt, yp)), [0.6, 0.25], rtol=1e-5)
    # hinge: 0/1 labels become -1/1: [[max(1+.6,0), max(1-.4,0)], [1-.7, 1+.2]]
    np.testing.assert_allclose(_np(metrics.hinge(yt, yp)), [1.1, 0.75], rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.squared_hinge(yt, yp)), [(1.6**2 + 0.6**2) / 2, (0.3**2 + 1.2**2) / 2],
                               rtol=1e-5)
    # categorical hinge: max(neg - pos + 1, 0)
    np.testing.assert_allclose(_np(metrics.categorical_hinge(yt, yp)), [1.2, 0.5], rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.poisson([[2.0]], [[1.0]])), [1.0 - 2.0 * np.log(1.0 + 1e-7)],
                               rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.log_cosh([[0.0]], [[1.0]])), [np.log(np.cosh(1.0))], rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 5.0]])), [37.5],
                               rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.mean_squared_logarithmic_error([[np.e - 1]], [[0.0]])), [1.0],
                               rtol=1e-4)
    np.testing.assert_allclose(_np(metrics.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])),
                               [0.5 * np.log(2) + 0.5 * np.log(2 / 3)], rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.huber([[0.0, 0.0]], [[0.5, 3.0]], delta=1.0)), [1.3125], rtol=1e-6)
    np.testing.assert_allclose(_np(metrics.pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0]])), [1.0],
                               rtol=1e-5)
    np.testing.assert_allclose(_np(metrics.binary_crossentropy([[1.0]], [[0.5]])), [np.log(2)], rtol=1e-5)
    # gamma=0 and no balancing: the focal loss is the cross-entropy
    np.testing.assert_allclose(_np(metrics.binary_focal_crossentropy([[1.0, 0.0]], [[0.8, 0.3]], gamma=0.0)),
                               [-(np.log(0.8) + np.log(0.7)) / 2], rtol=1e-5)
    np.testing.assert_allclose(
        _np(metrics.categorical_focal_crossentropy([[0.0, 1.0]], [[0.5, 0.5]], gamma=0.0, alpha=1.0)),
        [np.log(2)], rtol=1e-5)


def test_returns_per_sample_tensors_of_the_batch():
    rng = np.random.default_rng(0)
    yt = rng.random((5, 3, 4)).astype("float32")
    yp = rng.random((5, 3, 4)).astype("float32")
    for name in ("mean_squared_error", "hinge", "log_cosh", "poisson", "kl_divergence",
                 "mean_absolute_percentage_error", "pearson_correlation", "categorical_hinge"):
        out = getattr(metrics, name)(yt, yp)
        assert isinstance(out, keras.Tensor) and tuple(out.shape) == (5, 3), name


def test_refused_arguments_name_themselves():
    with pytest.raises(NotImplementedError, match="axis=0"):
        metrics.binary_crossentropy([[1.0]], [[0.5]], axis=0)
    with pytest.raises(NotImplementedError, match="axis"):
        metrics.categorical_crossentropy([[1.0, 0.0]], [[0.5, 0.5]], axis=0)
    with pytest.raises(NotImplementedError, match="ignore_class"):
        metrics.sparse_categorical_crossentropy([0], [[0.5, 0.5]], ignore_class=1)


def test_focal_crossentropy_is_differentiable():
    from kerasette.autograd.tensor import Tensor
    for fn in (losses.binary_focal_crossentropy, losses.categorical_focal_crossentropy):
        p = Tensor(np.array([[0.2, 0.8], [0.6, 0.4]]), requires_grad=True)
        loss = keras.ops.mean(fn(np.array([[0.0, 1.0], [1.0, 0.0]]), p))
        loss.backward()
        assert p.grad is not None and np.all(np.isfinite(np.asarray(p.grad)))


# -- compile ----------------------------------------------------------------------------------

def test_compile_takes_names_and_functions():
    rng = np.random.default_rng(1)
    x = rng.random((32, 3)).astype("float32")
    y = (rng.random((32, 1)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=["binary_accuracy", metrics.binary_accuracy, metrics.hinge, "log_cosh",
                           metrics.binary_focal_crossentropy])
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # a repeated name is numbered, as Keras's logs do
    assert sorted(history.history) == sorted(["loss", "binary_accuracy", "binary_accuracy_1", "hinge",
                                              "log_cosh", "binary_focal_crossentropy"])
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert logs["binary_accuracy"] == pytest.approx(logs["binary_accuracy_1"])
    assert logs["binary_accuracy"] == pytest.approx(float(_np(metrics.binary_accuracy(y, pred)).mean()))
    assert logs["hinge"] == pytest.approx(float(_np(metrics.hinge(y, pred)).mean()), rel=1e-5)
    assert logs["log_cosh"] == pytest.approx(float(_np(metrics.log_cosh(y, pred)).mean()), rel=1e-5)


# -- against Keras 3 --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def k3():
    return pytest.importorskip("keras", reason="Keras 3 cross-check")


def _cases():
    rng = np.random.default_rng(42)
    n, c = 8, 5
    probs = rng.random((n, c)).astype("float32")
    soft = probs / probs.sum(-1, keepdims=True)
    onehot = np.eye(c, dtype="float32")[rng.integers(0, c, n)]
    ids = rng.integers(0, c, n)
    bin_t = (rng.random((n, 3)) > 0.5).astype("float32")
    bin_p = rng.random((n, 3)).astype("float32")
    logits = rng.normal(size=(n, c)).astype("float32")
    reg_t, reg_p = rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 4)).astype("float32")
    pos_t, pos_p = rng.random((n, 4)).astype("float32") * 3, rng.random((n, 4)).astype("float32") * 3
    seq_t = np.eye(c, dtype="float32")[rng.integers(0, c, (n, 3))]
    seq_p = rng.random((n, 3, c)).astype("float32")
    sign_t = np.where(rng.random((n, 4)) > 0.5, 1.0, -1.0).astype("float32")
    sorted_ids = np.argsort(-probs, axis=-1)
    return [
        ("binary_accuracy", bin_t, bin_p, {}),
        ("binary_accuracy", bin_t, bin_p, {"threshold": 0.3}),
        ("binary_accuracy", bin_t[:, 0], bin_p[:, :1], {}),
        ("categorical_accuracy", onehot, probs, {}),
        ("categorical_accuracy", seq_t, seq_p, {}),
        ("sparse_categorical_accuracy", ids, probs, {}),
        ("sparse_categorical_accuracy", ids[:, None], probs, {}),
        ("top_k_categorical_accuracy", onehot, probs, {"k": 2}),
        ("top_k_categorical_accuracy", onehot, probs, {}),
        ("sparse_top_k_categorical_accuracy", ids, probs, {"k": 2}),
        ("sparse_top_k_categorical_accuracy", ids, sorted_ids, {"k": 2, "from_sorted_ids": True}),
        ("mean_squared_error", reg_t, reg_p, {}),
        ("mean_absolute_error", reg_t, reg_p, {}),
        ("mean_absolute_percentage_error", reg_t, reg_p, {}),
        ("mean_squared_logarithmic_error", pos_t, pos_p, {}),
        ("log_cosh", reg_t, reg_p, {}),
        ("huber", reg_t, reg_p, {"delta": 0.5}),
        ("poisson", pos_t, pos_p, {}),
        ("hinge", sign_t, reg_p, {}),
        ("hinge", bin_t, bin_p, {}),
        ("squared_hinge", sign_t, reg_p, {}),
        ("squared_hinge", bin_t, bin_p, {}),
        ("categorical_hinge", onehot, probs, {}),
        ("kl_divergence", soft, probs / probs.sum(-1, keepdims=True)[::-1], {}),
        ("binary_crossentropy", bin_t, bin_p, {}),
        ("binary_crossentropy", bin_t, logits[:, :3], {"from_logits": True}),
        ("binary_crossentropy", bin_t, bin_p, {"label_smoothing": 0.2}),
        ("categorical_crossentropy", onehot, soft, {}),
        ("categorical_crossentropy", onehot, logits, {"from_logits": True}),
        ("categorical_crossentropy", onehot, soft, {"label_smoothing": 0.1}),
        ("sparse_categorical_crossentropy", ids, soft, {}),
        ("sparse_categorical_crossentropy", ids, logits, {"from_logits": True}),
        ("binary_focal_crossentropy", bin_t, bin_p, {}),
        ("binary_focal_crossentropy", bin_t, logits[:, :3], {"from_logits": True, "gamma": 1.5,
                                                             "apply_class_balancing": True, "alpha": 0.4}),
        ("binary_focal_crossentropy", bin_t, bin_p, {"label_smoothing": 0.1}),
        ("categorical_focal_crossentropy", onehot, soft, {}),
        ("categorical_focal_crossentropy", onehot, logits, {"from_logits": True, "alpha": 0.5, "gamma": 1.0,
                                                           "label_smoothing": 0.1}),
        ("pearson_correlation", reg_t, reg_p, {}),
        ("pearson_correlation", reg_t, reg_p, {"axis": 0}),
        ("concordance_correlation", reg_t, reg_p, {}),
        ("concordance_correlation", reg_t, reg_p, {"axis": 0}),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(k3, case):
    name, y_true, y_pred, kwargs = CASES[case]
    want = k3.ops.convert_to_numpy(getattr(k3.metrics, name)(y_true, y_pred, **kwargs))
    got = _np(getattr(metrics, name)(y_true, y_pred, **kwargs))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_function_list_matches_keras(k3):
    keras_fns = sorted(n for n in dir(k3.metrics) if not n.startswith("_")
                       and inspect.isfunction(getattr(k3.metrics, n))
                       and n not in ("get", "serialize", "deserialize"))
    assert keras_fns == sorted(KERAS_FUNCTIONS)
    for name in keras_fns:      # the same parameters, in the same order
        assert (list(inspect.signature(getattr(metrics, name)).parameters)
                == list(inspect.signature(getattr(k3.metrics, name)).parameters)), name


def test_compile_logs_match_keras(k3):
    rng = np.random.default_rng(3)
    x = rng.random((16, 3)).astype("float32")
    y = (rng.random((16, 1)) > 0.5).astype("float32")
    logs = {}
    for lib in (keras, k3):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy",
                      metrics=["binary_accuracy", lib.metrics.binary_accuracy, lib.metrics.hinge])
        logs[lib] = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs[keras]) == sorted(logs[k3])


def test_compiled_metric_functions_survive_save_and_load(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.random((16, 3)).astype("float32")
    y = (rng.random((16, 1)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[metrics.binary_accuracy, metrics.hinge, "log_cosh"])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    clone = keras.models.load_model(tmp_path / "m.keras")
    a = model.evaluate(x, y, verbose=0, return_dict=True)
    b = clone.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(a) == sorted(b) == sorted(["loss", "binary_accuracy", "hinge", "log_cosh"])
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-6)
