"""The Keras 3 loss catalogue (issue: the losses beyond MSE / MAE / cross-entropies / Huber):
each class and function against Keras 3 (with and without sample weights, every reduction),
float64 finite-difference gradients, configs, names, save / load of compiled models, and the
refused arguments."""
import inspect
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import losses, metrics
from kerasette.autograd import gradcheck

REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None]


@pytest.fixture(scope="module")
def k3():
    pytest.importorskip("torch", reason="Keras 3 cross-check (torch backend)")
    return pytest.importorskip("keras", reason="Keras 3 cross-check")


def _inputs():
    rng = np.random.default_rng(7)
    n, c = 6, 4
    probs = rng.uniform(0.05, 0.95, (n, c)).astype("float32")
    soft = probs / probs.sum(-1, keepdims=True)
    onehot = np.eye(c, dtype="float32")[rng.integers(0, c, n)]
    bin_t = (rng.random((n, c)) > 0.5).astype("float32")
    sign_t = 2 * bin_t - 1
    reg_t, reg_p = rng.normal(size=(n, c)).astype("float32"), rng.normal(size=(n, c)).astype("float32")
    pos_t, pos_p = rng.uniform(0.1, 3, (n, c)).astype("float32"), rng.uniform(0.1, 3, (n, c)).astype("float32")
    masks = (rng.random((n, 3, 3, 1)) > 0.5).astype("float32")
    mask_p = rng.uniform(0.05, 0.95, (n, 3, 3, 1)).astype("float32")
    ids = np.array([0, 1, 0, 2, 1, 3])
    emb = rng.normal(size=(n, 5)).astype("float32")
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    seq = np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0], [1, 1, 2], [3, 0, 0], [2, 1, 0]])
    logits = rng.normal(size=(n, 7, 4)).astype("float32")
    return dict(probs=probs, soft=soft, onehot=onehot, bin_t=bin_t, sign_t=sign_t, reg_t=reg_t,
                reg_p=reg_p, pos_t=pos_t, pos_p=pos_p, masks=masks, mask_p=mask_p, ids=ids, emb=emb,
                seq=seq, logits=logits)


D = _inputs()
SW = np.array([1.0, 0.5, 2.0, 0.0, 1.5, 1.0], "float32")

# (class, function, y_true, y_pred, class kwargs, function kwargs)
CASES = [
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy", "bin_t", "probs", {}, {}),
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy", "bin_t", "reg_p",
     dict(apply_class_balancing=True, alpha=0.4, gamma=1.5, from_logits=True, label_smoothing=0.1),
     dict(apply_class_balancing=True, alpha=0.4, gamma=1.5, from_logits=True, label_smoothing=0.1)),
    ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy", "onehot", "soft", {}, {}),
    ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy", "onehot", "reg_p",
     dict(alpha=[0.1, 0.2, 0.3, 0.4], gamma=1.0, from_logits=True, label_smoothing=0.2),
     dict(alpha=[0.1, 0.2, 0.3, 0.4], gamma=1.0, from_logits=True, label_smoothing=0.2)),
    ("Hinge", "hinge", "sign_t", "reg_p", {}, {}),
    ("Hinge", "hinge", "bin_t", "reg_p", {}, {}),
    ("SquaredHinge", "squared_hinge", "bin_t", "reg_p", {}, {}),
    ("CategoricalHinge", "categorical_hinge", "onehot", "reg_p", {}, {}),
    ("KLDivergence", "kl_divergence", "soft", "probs", {}, {}),
    ("LogCosh", "log_cosh", "reg_t", "reg_p", {}, {}),
    ("MeanAbsolutePercentageError", "mean_absolute_percentage_error", "reg_t", "reg_p", {}, {}),
    ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "pos_t", "pos_p", {}, {}),
    ("Poisson", "poisson", "pos_t", "pos_p", {}, {}),
    ("CosineSimilarity", "cosine_similarity", "reg_t", "reg_p", {}, {}),
    ("CosineSimilarity", "cosine_similarity", "reg_t", "reg_p", dict(axis=0), dict(axis=0)),
    ("Dice", "dice", "masks", "mask_p", {}, {}),
    ("Dice", "dice", "masks", "mask_p", dict(axis=(1, 2, 3)), dict(axis=(1, 2, 3))),
    ("Tversky", "tversky", "masks", "mask_p", {}, {}),
    ("Tversky", "tversky", "masks", "mask_p", dict(alpha=0.3, beta=0.7, axis=(1, 2, 3)),
     dict(alpha=0.3, beta=0.7, axis=(1, 2, 3))),
    ("Circle", "circle", "ids", "emb", {}, {}),
    ("Circle", "circle", "ids", "emb", dict(gamma=10.0, margin=0.25, remove_diagonal=False),
     dict(gamma=10.0, margin=0.25, remove_diagonal=False)),
    ("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy", "ids", "soft", {},
     dict(q=0.5)),
    ("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy", "ids", "soft",
     dict(q=0.2), dict(q=0.2)),
    ("CTC", "ctc", "seq", "logits", {}, {}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]
NEW_CLASSES = sorted({c[0] for c in CASES})
NEW_FUNCTIONS = sorted({c[1] for c in CASES})


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _k(k3, x):
    return np.asarray(k3.ops.convert_to_numpy(x))


# -- against Keras 3 --------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS, ids=[str(r) for r in REDUCTIONS])
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_class_matches_keras(k3, case, reduction, weighted):
    cls, _, t, p, kwargs, _ = CASES[case]
    if weighted and kwargs.get("axis") == 0:
        pytest.skip("values along the batch axis: one per feature, no sample to weigh")
    sw = SW if weighted else None
    want = _k(k3, getattr(k3.losses, cls)(reduction=reduction, **kwargs)(D[t], D[p], sample_weight=sw))
    got = _np(getattr(losses, cls)(reduction=reduction, **kwargs)(D[t], D[p], sample_weight=sw))
    assert got.shape == want.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_function_matches_keras(k3, case):
    _, fn, t, p, _, kwargs = CASES[case]
    # (Keras's categorical_generalized_cross_entropy needs a backend tensor, not a NumPy array)
    want = _k(k3, getattr(k3.losses, fn)(D[t], k3.ops.convert_to_tensor(D[p]), **kwargs))
    got = _np(getattr(losses, fn)(D[t], D[p], **kwargs))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_circle_with_reference_embeddings_matches_keras(k3):
    ref_ids, ref = D["ids"][::-1].copy(), D["emb"][::-1].copy()
    kwargs = dict(ref_labels=ref_ids, ref_embeddings=ref, gamma=20, margin=0.3)
    want = _k(k3, k3.losses.circle(D["ids"], D["emb"], **kwargs))
    np.testing.assert_allclose(_np(losses.circle(D["ids"], D["emb"], **kwargs)), want, rtol=2e-5, atol=2e-5)


def test_signatures_match_keras(k3):
    for name in NEW_CLASSES + NEW_FUNCTIONS:
        ours = inspect.signature(getattr(losses, name)).parameters
        theirs = inspect.signature(getattr(k3.losses, name)).parameters
        assert list(ours) == list(theirs), name
        for arg in theirs:
            assert ours[arg].default == theirs[arg].default, (name, arg)


def test_every_keras_loss_exists(k3):
    keras_names = sorted(n for n in dir(k3.losses) if not n.startswith("_")
                         and n not in ("get", "serialize", "deserialize", "LossFunctionWrapper"))
    missing = [n for n in keras_names if not hasattr(losses, n) or n not in losses.__all__]
    assert missing == []


def test_names_resolve_as_keras_get(k3):
    from keras.src.losses import ALL_OBJECTS_DICT
    for name, obj in ALL_OBJECTS_DICT.items():
        if name in ("Loss", "LossFunctionWrapper"):
            continue
        loss = losses.get(name)
        assert isinstance(loss, losses.Loss), name
        assert obj.__name__ in (type(loss).__name__, loss.name), name
    for name in ("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy", "logcosh"):
        with pytest.raises(ValueError):
            k3.losses.get(name)
        with pytest.raises(ValueError, match=f"Unknown loss: '{name}'"):
            losses.get(name)


# -- without Keras ----------------------------------------------------------------------------

def test_hard_coded_values():
    assert float(losses.Hinge()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]).numpy()) == pytest.approx(1.3)
    assert float(losses.MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 5.0]]).numpy()) == pytest.approx(37.5)
    np.testing.assert_allclose(_np(losses.log_cosh([[0.0]], [[1.0]])), [np.log(np.cosh(1.0))], rtol=1e-6)
    np.testing.assert_allclose(_np(losses.cosine_similarity([[0.0, 2.0], [1.0, 1.0], [0.0, 0.0]],
                                                            [[3.0, 0.0], [2.0, 2.0], [1.0, 0.0]])),
                               [0.0, -1.0, 0.0], atol=1e-6)
    # alpha = beta = 0.5: Tversky is Dice (up to where epsilon sits)
    t, p = D["masks"], D["mask_p"]
    assert float(losses.tversky(t, p).numpy()) == pytest.approx(float(losses.dice(t, p).numpy()), rel=1e-5)
    # gamma = 0, alpha = 1: the focal loss is the cross-entropy
    np.testing.assert_allclose(_np(losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0, reduction=None)(
        D["onehot"], D["soft"])), _np(losses.categorical_crossentropy(D["onehot"], D["soft"])), rtol=1e-5)
    # CTC: 3 frames of uniform logits over 3 classes, label [1, 2]: 5 paths of probability 1/27
    assert float(losses.CTC()(np.array([[1, 2]]), np.zeros((1, 3, 3), "float32")).numpy()) \
        == pytest.approx(np.log(27 / 5), rel=1e-5)


def test_float32_by_default_and_integer_predictions():
    for cls, _, t, p, kwargs, _ in CASES:
        out = getattr(losses, cls)(**kwargs)(D[t], D[p])
        assert out.dtype == np.float32, cls
    assert losses.Poisson()([[0, 1]], [[1, 2]]).dtype == np.float32


def test_circle_averages_over_its_nonzero_values():
    per = _np(losses.Circle(reduction="none")(D["ids"], D["emb"]))
    kept = per > 0
    assert not kept.all()      # ids 2 and 3 have no positive pair: their loss is 0
    assert float(losses.Circle()(D["ids"], D["emb"]).numpy()) == pytest.approx(per[kept].mean(), rel=1e-6)
    assert float(losses.Circle(reduction="sum")(D["ids"], D["emb"]).numpy()) == pytest.approx(per.sum(), rel=1e-6)


def _grad_case(case):
    cls, _, t, p, kwargs, _ = CASES[case]
    if kwargs.get("axis") == 0:
        pytest.skip("values along the batch axis (checked by the plain reductions of the other case)")
    y_true = D[t].astype("float64") if D[t].dtype.kind == "f" else D[t]
    y_pred = D[p].astype("float64")
    if cls == "CTC":
        y_pred = y_pred[:3, :4]
        y_true = y_true[:3]
    return getattr(losses, cls), kwargs, y_true, y_pred


@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_gradients_match_finite_differences(case):
    cls, kwargs, y_true, y_pred = _grad_case(case)
    for reduction in ("none", "sum_over_batch_size"):
        loss = cls(reduction=reduction, **kwargs)
        assert gradcheck(lambda p: loss(y_true, p), [y_pred], rtol=1e-4, atol=1e-6)
    weighted = cls(reduction="sum", **kwargs)
    assert gradcheck(lambda p: weighted(y_true, p, sample_weight=SW[:len(y_pred)].astype("float64")),
                     [y_pred], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", NEW_CLASSES)
def test_config_round_trip(name):
    cls = getattr(losses, name)
    kwargs = next((c[4] for c in CASES if c[0] == name and c[4]), {})     # its non-default case
    loss = cls(reduction="sum", name="custom_name", **kwargs)
    config = loss.get_config()
    assert config["name"] == "custom_name" and config["reduction"] == "sum"
    assert set(config) - {"name", "reduction"} == set(inspect.signature(cls).parameters) - {
        "name", "reduction", "dtype"}
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    back = losses.deserialize(losses.serialize(loss))
    assert type(back) is cls and back.get_config() == config
    if name != "CategoricalGeneralizedCrossEntropy":         # not a name Keras's get takes
        assert cls().name == losses.get(name).name == getattr(losses, name)().name


@pytest.mark.parametrize("name", NEW_FUNCTIONS)
def test_functions_are_documented_and_resolve(name):
    fn = getattr(losses, name)
    assert name in losses.__all__ and "Args:" in fn.__doc__ and "Examples:" in fn.__doc__
    if name != "categorical_generalized_cross_entropy":     # q has no default
        assert type(losses.get(fn)).__name__ == type(losses.get(name)).__name__


def test_metric_functions_are_the_loss_functions():
    # as in Keras: keras.metrics.hinge is keras.losses.hinge (one formula)
    for name in ("hinge", "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "log_cosh",
                 "mean_absolute_percentage_error", "mean_squared_logarithmic_error"):
        assert getattr(metrics, name) is getattr(losses, name)
    assert losses.kld is losses.KLD is losses.kl_divergence and losses.logcosh is losses.log_cosh
    assert losses.mape is losses.mean_absolute_percentage_error and losses.msle is losses.mean_squared_logarithmic_error


# -- compile by name, save and load -----------------------------------------------------------

def _model_and_data(loss_name):
    """A compiled-model fixture fitting each loss: its inputs, targets and output layer."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 4)).astype("float32")
    name = loss_name.lower()
    keras.set_random_seed(0)
    if "ctc" in name:
        x3 = rng.normal(size=(12, 6, 4)).astype("float32")
        y = rng.integers(1, 4, size=(12, 2))
        model = keras.Sequential([keras.Input((6, 4)), keras.layers.Dense(4)])
        return model, x3, y
    if "circle" in name:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5), keras.layers.UnitNormalization()])
        return model, x, np.array([0, 1, 2] * 4)
    if "generalized" in name:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        return model, x, rng.integers(0, 3, size=12)
    if any(k in name for k in ("focal", "kl", "dice", "tversky", "hinge")):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        return model, x, np.eye(3, dtype="float32")[rng.integers(0, 3, 12)]
    if any(k in name for k in ("poisson", "logarithmic", "msle")):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softplus")])
        return model, x, rng.uniform(0.1, 2, (12, 3)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    return model, x, rng.normal(size=(12, 3)).astype("float32")


SAVED = (NEW_CLASSES + [f for f in NEW_FUNCTIONS if f != "categorical_generalized_cross_entropy"]
         + ["kld", "mape", "msle", "KLD", "MAPE", "MSLE", "bce"])


@pytest.mark.parametrize("how", ["object", "name"])
@pytest.mark.parametrize("loss_name", SAVED)
def test_compiled_model_saves_and_loads(loss_name, how, tmp_path):
    if how == "object" and not hasattr(losses, loss_name):
        pytest.skip("a name only")
    if how == "name" and loss_name == "CategoricalGeneralizedCrossEntropy":
        pytest.skip("not a name keras.losses.get takes (test_names_resolve_as_keras_get)")
    spec = getattr(losses, loss_name) if how == "object" else loss_name
    if how == "object" and inspect.isclass(spec):
        spec = spec()
    model, x, y = _model_and_data(loss_name)
    model.compile(optimizer="adam", loss=spec)
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    clone = keras.models.load_model(tmp_path / "m.keras")
    a, b = model.evaluate(x, y, verbose=0), clone.evaluate(x, y, verbose=0)
    assert np.isfinite(a) and a == pytest.approx(b, rel=1e-6)
    # and training continues the same way
    model.train_on_batch(x, y)
    clone.train_on_batch(x, y)
    for w1, w2 in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", ["binary_focal_crossentropy", "categorical_focal_crossentropy"])
def test_focal_functions_save_and_load(fn, tmp_path):
    model, x, y = _model_and_data(fn)
    model.compile(optimizer="adam", loss=getattr(keras.losses, fn), metrics=[getattr(keras.metrics, fn)])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    clone = keras.models.load_model(tmp_path / "m.keras")
    a = model.evaluate(x, y, verbose=0, return_dict=True)
    b = clone.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-6), k


def test_keras_written_function_config_loads():
    # Keras 3 writes a loss function as {"class_name": "function", "config": name}
    spec = {"module": "builtins", "class_name": "function", "config": "binary_focal_crossentropy",
            "registered_name": "function"}
    assert type(losses.get(spec)).__name__ == "BinaryFocalCrossentropy"
    assert losses.deserialize(spec) is losses.binary_focal_crossentropy


# -- refused arguments ------------------------------------------------------------------------

@pytest.mark.parametrize("make,pattern", [
    (lambda: losses.Tversky(alpha=-0.1), r"^Tversky: alpha must be a number >= 0, got -0.1$"),
    (lambda: losses.Tversky(beta="big"), r"^Tversky: beta must be a number >= 0, got 'big'$"),
    (lambda: losses.tversky([[1.0]], [[0.5]], alpha=-1), r"^Tversky: alpha must be"),
    (lambda: losses.Tversky(axis=1.5), r"^Tversky: axis must be None, an int or a tuple of ints, got 1.5$"),
    (lambda: losses.Dice(axis="all"), r"^Dice: axis must be None"),
    (lambda: losses.CosineSimilarity(axis=None), r"^CosineSimilarity: axis must be an int, got None$"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=1.5), r"^BinaryFocalCrossentropy: alpha must be a number >= 0 and <= 1"),
    (lambda: losses.BinaryFocalCrossentropy(gamma="2"), r"^BinaryFocalCrossentropy: gamma must be a number, got '2'$"),
    (lambda: losses.CategoricalFocalCrossentropy(label_smoothing=2.0),
     r"^CategoricalFocalCrossentropy: label_smoothing must be a number >= 0 and <= 1, got 2.0$"),
    (lambda: losses.CategoricalGeneralizedCrossEntropy(q=1.0),
     r"^CategoricalGeneralizedCrossEntropy: q must be a number > 0 and < 1, got 1.0$"),
    (lambda: losses.categorical_generalized_cross_entropy([0], [[0.5, 0.5]], q=0),
     r"^CategoricalGeneralizedCrossEntropy: q must be"),
    (lambda: losses.Circle(gamma=0), r"^Circle: gamma must be a number > 0, got 0$"),
    (lambda: losses.Hinge(reduction="avg"), r"^Hinge: reduction must be one of"),
    (lambda: losses.CTC()(np.array([1, 2]), np.zeros((1, 3, 3))), r"^CTC: y_true must hold integer labels"),
    (lambda: losses.CTC()(np.array([[1, 2]]), np.zeros((3, 3))), r"^CTC: y_pred must hold logits"),
])
def test_bad_arguments_are_refused_in_one_line(make, pattern):
    with pytest.raises(ValueError, match=pattern) as info:
        make()
    assert "\n" not in str(info.value)


# -- on the GPU code path (the CuPy stand-in) ---------------------------------------------------

@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_on_the_device_code_path(case):
    from kerasette import backend
    from kerasette.autograd.tensor import Tensor
    from kerasette.testing import standin
    cls, _, t, p, kwargs, _ = CASES[case]
    sw = None if kwargs.get("axis") == 0 else SW

    def run():
        y_pred = Tensor(backend.to_device(D[p]), requires_grad=True)
        loss = getattr(losses, cls)(**kwargs)(D[t], y_pred, sample_weight=sw)
        loss.backward()
        return backend.to_numpy(loss.value), backend.to_numpy(y_pred.grad)

    want = run()
    with standin.on_device() as xp:
        assert type(backend.to_device(D[p])) is not np.ndarray and xp is standin.xp
        got = run()
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
