"""The Keras 3 metric catalogue (issue 15, item 5): each metric against a NumPy formula written
here, with sample weights and streamed over batches of different sizes; reset_state; the config
round trip; the string names compile() takes; the same numbers as Keras 3 when it is installed;
update_state without a device-to-host read (on the CuPy stand-in)."""
import os
os.environ.setdefault("KERAS_BACKEND", "torch")

import re

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend
from kerasette import metrics as km

# Keras's torch backend reads its own Variables through __array__ (NumPy 2 notes it); not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

EPS = 1e-7
SIZES = (16, 7, 12)          # three batches of different sizes


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def make_data(kind, n, rng):
    """(y_true, y_pred) of one batch of ``n`` samples."""
    if kind == "binary":
        return rng.integers(0, 2, (n, 1)).astype("float32"), rng.uniform(0, 1, (n, 1)).astype("float32")
    if kind == "multilabel":
        return rng.integers(0, 2, (n, 4)).astype("float32"), rng.uniform(0, 1, (n, 4)).astype("float32")
    if kind == "logits":
        return rng.integers(0, 2, (n, 3)).astype("float32"), rng.normal(0, 2, (n, 3)).astype("float32")
    if kind == "onehot":
        return (np.eye(5, dtype="float32")[rng.integers(0, 5, n)],
                _softmax(rng.normal(0, 2, (n, 5))).astype("float32"))
    if kind == "sparse":
        return rng.integers(0, 5, (n,)).astype("int64"), _softmax(rng.normal(0, 2, (n, 5))).astype("float32")
    if kind == "regress":
        return rng.uniform(0.1, 3, (n, 3)).astype("float32"), rng.uniform(0.1, 3, (n, 3)).astype("float32")
    if kind == "signed":
        return rng.normal(0, 1, (n, 3)).astype("float32"), rng.normal(0, 1, (n, 3)).astype("float32")
    if kind == "hinge":
        return rng.integers(0, 2, (n, 3)).astype("float32"), rng.normal(0, 1, (n, 3)).astype("float32")
    if kind == "classes":        # class ids, e.g. segmentation maps (n, 6)
        return rng.integers(0, 4, (n, 6)).astype("int64"), rng.integers(0, 4, (n, 6)).astype("int64")
    raise ValueError(kind)


def batches(kind, seed=0, weighted=True):
    rng = np.random.default_rng(seed)
    out = []
    for n in SIZES:
        yt, yp = make_data(kind, n, rng)
        shape = yt.shape if kind == "classes" else (n,)      # IoU: weights per pixel too
        sw = rng.uniform(0, 2, shape).astype("float32") if weighted else None
        out.append((yt, yp, sw))
    return out


def joined(bs):
    yt = np.concatenate([b[0] for b in bs])
    yp = np.concatenate([b[1] for b in bs])
    sw = np.concatenate([b[2] for b in bs]) if bs[0][2] is not None else np.ones(len(yt), "float32")
    return yt.astype("float64"), yp.astype("float64"), sw.astype("float64")


# -- NumPy formulas ----------------------------------------------------------------------------

def wmean(v, sw):
    return float((v * sw).sum() / sw.sum())


def counts(t, p, sw, thresholds):
    """(tp, fp, tn, fn) at each threshold, each entry weighted by its sample's weight."""
    w = np.broadcast_to(sw.reshape((-1,) + (1,) * (t.ndim - 1)), t.shape).ravel()
    t, p = t.ravel() != 0, p.ravel()
    out = []
    for th in thresholds:
        pos = p > th
        out.append([(w * (t & pos)).sum(), (w * (~t & pos)).sum(), (w * (~t & ~pos)).sum(),
                    (w * (t & ~pos)).sum()])
    return np.array(out).T


def ratio(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))


def top_k_mask(p, k):
    kth = np.sort(p, -1)[..., -k][..., None]
    return np.where(p >= kth, p, -1e10)


def roc_auc(t, p, sw, n):
    th = np.array([-EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + EPS])
    tp, fp, tn, fn = counts(t, p, sw, th)
    tpr, fpr = ratio(tp, tp + fn), ratio(fp, fp + tn)
    return float(((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2).sum())


def at_constraint(t, p, sw, want, constrained, dependent, n=200):
    th = [0.0] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0]
    tp, fp, tn, fn = counts(t, p, sw, th)
    rates = {"sens": ratio(tp, tp + fn), "spec": ratio(tn, tn + fp), "prec": ratio(tp, tp + fp)}
    ok = rates[constrained] >= want
    return float(max(np.where(ok, rates[dependent], 0).max(), 0))


def fbeta(t, p, sw, beta, average, threshold=None):
    pred = (p > threshold) if threshold is not None else (p >= p.max(-1, keepdims=True))
    pred = pred.astype(float)
    w = sw[:, None]
    axis = None if average == "micro" else 0
    tp, fp = (w * pred * t).sum(axis), (w * pred * (1 - t)).sum(axis)
    fn, support = (w * (1 - pred) * t).sum(axis), (w * t).sum(axis)
    prec, rec = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f = (1 + beta ** 2) * prec * rec / (beta ** 2 * prec + rec + EPS)
    if average == "weighted":
        return float((f * support / (support.sum() + EPS)).sum())
    return f if average is None else float(np.mean(f))


def r2(t, p, sw):
    w = sw[:, None]
    mean = (w * t).sum(0) / w.sum()
    score = 1 - (w * (t - p) ** 2).sum(0) / (w * (t - mean) ** 2).sum(0)
    return float(score.mean())


def iou(t, p, sw, num_classes, targets):
    cm = np.zeros((num_classes, num_classes))
    sw = sw if sw.ndim == t.ndim else sw.reshape((-1,) + (1,) * (t.ndim - 1))
    np.add.at(cm, (t.ravel().astype(int), p.ravel().astype(int)), np.broadcast_to(sw, t.shape).ravel())
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    vals = [inter[c] / union[c] for c in targets if union[c] > 0]
    return float(np.mean(vals))


def bce(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)


def hinge_t(t):
    return 2 * t - 1


# name: (kerasette factory, Keras factory, data kind, NumPy formula on the joined weighted data)
CASES = {
    "sum": (lambda m: m.Sum(), lambda k: k.metrics.Sum(), "regress",
            lambda t, p, sw: float((p * sw[:, None]).sum())),
    "sparse_top_k": (lambda m: m.SparseTopKCategoricalAccuracy(k=2),
                     lambda k: k.metrics.SparseTopKCategoricalAccuracy(k=2), "sparse",
                     lambda t, p, sw: wmean((np.take_along_axis(p, t[:, None].astype(int), -1)[:, 0]
                                             >= np.sort(p, -1)[:, -2]).astype(float), sw)),
    "mape": (lambda m: m.MeanAbsolutePercentageError(), lambda k: k.metrics.MeanAbsolutePercentageError(),
             "regress", lambda t, p, sw: wmean(100 * (np.abs(t - p) / np.abs(t)).mean(-1), sw)),
    "msle": (lambda m: m.MeanSquaredLogarithmicError(), lambda k: k.metrics.MeanSquaredLogarithmicError(),
             "regress", lambda t, p, sw: wmean(((np.log1p(p) - np.log1p(t)) ** 2).mean(-1), sw)),
    "rmse": (lambda m: m.RootMeanSquaredError(), lambda k: k.metrics.RootMeanSquaredError(), "signed",
             lambda t, p, sw: float(np.sqrt(wmean(((p - t) ** 2).mean(-1), sw)))),
    "logcosh": (lambda m: m.LogCoshError(), lambda k: k.metrics.LogCoshError(), "signed",
                lambda t, p, sw: wmean(np.log(np.cosh(p - t)).mean(-1), sw)),
    "cosine": (lambda m: m.CosineSimilarity(), lambda k: k.metrics.CosineSimilarity(), "signed",
               lambda t, p, sw: wmean((t * p).sum(-1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1),
                                      sw)),
    "r2": (lambda m: m.R2Score(), lambda k: k.metrics.R2Score(), "signed", r2),
    "r2_variance_weighted": (lambda m: m.R2Score(class_aggregation="variance_weighted_average", num_regressors=2),
                             lambda k: k.metrics.R2Score(class_aggregation="variance_weighted_average",
                                                         num_regressors=2), "signed", None),
    "pearson": (lambda m: m.PearsonCorrelation(), lambda k: k.metrics.PearsonCorrelation(), "regress",
                lambda t, p, sw: wmean(np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(t, p)]), sw)),
    "concordance": (lambda m: m.ConcordanceCorrelation(), lambda k: k.metrics.ConcordanceCorrelation(),
                    "regress", None),
    "bce": (lambda m: m.BinaryCrossentropy(), lambda k: k.metrics.BinaryCrossentropy(), "multilabel",
            lambda t, p, sw: wmean(bce(t, p), sw)),
    "bce_logits": (lambda m: m.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
                   lambda k: k.metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), "logits",
                   lambda t, p, sw: wmean(bce(t * 0.9 + 0.05, 1 / (1 + np.exp(-p))), sw)),
    "cce": (lambda m: m.CategoricalCrossentropy(), lambda k: k.metrics.CategoricalCrossentropy(), "onehot",
            lambda t, p, sw: wmean(-(t * np.log(p)).sum(-1), sw)),
    "cce_logits": (lambda m: m.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
                   lambda k: k.metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
                   "onehot", lambda t, p, sw: wmean(-((t * 0.8 + 0.04) * np.log(_softmax(p))).sum(-1), sw)),
    "scce": (lambda m: m.SparseCategoricalCrossentropy(), lambda k: k.metrics.SparseCategoricalCrossentropy(),
             "sparse", lambda t, p, sw: wmean(-np.log(np.take_along_axis(p, t[:, None].astype(int), -1)[:, 0]),
                                              sw)),
    "scce_ignore": (lambda m: m.SparseCategoricalCrossentropy(ignore_class=2),
                    lambda k: k.metrics.SparseCategoricalCrossentropy(ignore_class=2), "sparse",
                    lambda t, p, sw: wmean(-np.log(np.take_along_axis(p, t[:, None].astype(int), -1)[:, 0]),
                                           sw * (t != 2))),
    "kld": (lambda m: m.KLDivergence(), lambda k: k.metrics.KLDivergence(), "onehot",
            lambda t, p, sw: wmean((np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / p)).sum(-1), sw)),
    "poisson": (lambda m: m.Poisson(), lambda k: k.metrics.Poisson(), "regress",
                lambda t, p, sw: wmean((p - t * np.log(p + EPS)).mean(-1), sw)),
    "hinge": (lambda m: m.Hinge(), lambda k: k.metrics.Hinge(), "hinge",
              lambda t, p, sw: wmean(np.maximum(1 - hinge_t(t) * p, 0).mean(-1), sw)),
    "squared_hinge": (lambda m: m.SquaredHinge(), lambda k: k.metrics.SquaredHinge(), "hinge",
                      lambda t, p, sw: wmean((np.maximum(1 - hinge_t(t) * p, 0) ** 2).mean(-1), sw)),
    "categorical_hinge": (lambda m: m.CategoricalHinge(), lambda k: k.metrics.CategoricalHinge(), "onehot",
                          lambda t, p, sw: wmean(np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
                                                 sw)),
    "true_positives": (lambda m: m.TruePositives(thresholds=[0.3, 0.5, 0.7]),
                       lambda k: k.metrics.TruePositives(thresholds=[0.3, 0.5, 0.7]), "multilabel",
                       lambda t, p, sw: counts(t, p, sw, [0.3, 0.5, 0.7])[0]),
    "false_positives": (lambda m: m.FalsePositives(), lambda k: k.metrics.FalsePositives(), "multilabel",
                        lambda t, p, sw: float(counts(t, p, sw, [0.5])[1][0])),
    "true_negatives": (lambda m: m.TrueNegatives(0.4), lambda k: k.metrics.TrueNegatives(0.4), "binary",
                       lambda t, p, sw: float(counts(t, p, sw, [0.4])[2][0])),
    "false_negatives": (lambda m: m.FalseNegatives([0.2, 0.6]), lambda k: k.metrics.FalseNegatives([0.2, 0.6]),
                        "multilabel", lambda t, p, sw: counts(t, p, sw, [0.2, 0.6])[3]),
    "precision": (lambda m: m.Precision(), lambda k: k.metrics.Precision(), "multilabel",
                  lambda t, p, sw: float(ratio(*(lambda c: (c[0], c[0] + c[1]))(counts(t, p, sw, [0.5])))[0])),
    "precision_thresholds": (lambda m: m.Precision(thresholds=[0.25, 0.75]),
                             lambda k: k.metrics.Precision(thresholds=[0.25, 0.75]), "binary",
                             lambda t, p, sw: ratio(*(lambda c: (c[0], c[0] + c[1]))(counts(t, p, sw, [.25, .75])))),
    "precision_top_k": (lambda m: m.Precision(top_k=2), lambda k: k.metrics.Precision(top_k=2), "multilabel",
                        lambda t, p, sw: float(ratio(*(lambda c: (c[0], c[0] + c[1]))(
                            counts(t, top_k_mask(p, 2), sw, [-1e10])))[0])),
    "recall": (lambda m: m.Recall(), lambda k: k.metrics.Recall(), "multilabel",
               lambda t, p, sw: float(ratio(*(lambda c: (c[0], c[0] + c[3]))(counts(t, p, sw, [0.5])))[0])),
    "recall_class_id": (lambda m: m.Recall(class_id=2, thresholds=0.3),
                        lambda k: k.metrics.Recall(class_id=2, thresholds=0.3), "multilabel",
                        lambda t, p, sw: float(ratio(*(lambda c: (c[0], c[0] + c[3]))(
                            counts(t[:, 2:3], p[:, 2:3], sw, [0.3])))[0])),
    "recall_top_k_class": (lambda m: m.Recall(top_k=2, class_id=1),
                           lambda k: k.metrics.Recall(top_k=2, class_id=1), "multilabel",
                           lambda t, p, sw: float(ratio(*(lambda c: (c[0], c[0] + c[3]))(
                               counts(t[:, 1:2], top_k_mask(p, 2)[:, 1:2], sw, [-1e10])))[0])),
    "auc": (lambda m: m.AUC(), lambda k: k.metrics.AUC(), "multilabel",
            lambda t, p, sw: roc_auc(t, p, sw, 200)),
    "auc_logits": (lambda m: m.AUC(num_thresholds=50, from_logits=True),
                   lambda k: k.metrics.AUC(num_thresholds=50, from_logits=True), "logits",
                   lambda t, p, sw: roc_auc(t, 1 / (1 + np.exp(-p)), sw, 50)),
    "auc_pr": (lambda m: m.AUC(curve="PR"), lambda k: k.metrics.AUC(curve="PR"), "multilabel", None),
    "auc_pr_minoring": (lambda m: m.AUC(curve="PR", summation_method="minoring"),
                        lambda k: k.metrics.AUC(curve="PR", summation_method="minoring"), "multilabel", None),
    "auc_roc_majoring": (lambda m: m.AUC(summation_method="majoring", thresholds=[0.2, 0.4, 0.7]),
                         lambda k: k.metrics.AUC(summation_method="majoring", thresholds=[0.2, 0.4, 0.7]),
                         "multilabel", None),
    "auc_multi_label": (lambda m: m.AUC(multi_label=True, label_weights=[1, 2, 0.5, 1]),
                        lambda k: k.metrics.AUC(multi_label=True, label_weights=[1, 2, 0.5, 1]), "multilabel",
                        lambda t, p, sw: float(np.dot([roc_auc(t[:, j], p[:, j], sw, 200) for j in range(4)],
                                                      [1, 2, 0.5, 1]) / 4.5)),
    "auc_label_weights": (lambda m: m.AUC(label_weights=[1, 2, 0.5, 1], num_thresholds=20),
                          lambda k: k.metrics.AUC(label_weights=[1, 2, 0.5, 1], num_thresholds=20),
                          "multilabel", None),
    "auc_prgain": (lambda m: m.AUC(curve="PRGAIN", num_thresholds=30),
                   lambda k: k.metrics.AUC(curve="PRGAIN", num_thresholds=30), "multilabel", None),
    "sensitivity_at_specificity": (lambda m: m.SensitivityAtSpecificity(0.6),
                                   lambda k: k.metrics.SensitivityAtSpecificity(0.6), "multilabel",
                                   lambda t, p, sw: at_constraint(t, p, sw, 0.6, "spec", "sens")),
    "specificity_at_sensitivity": (lambda m: m.SpecificityAtSensitivity(0.7, num_thresholds=50),
                                   lambda k: k.metrics.SpecificityAtSensitivity(0.7, num_thresholds=50),
                                   "multilabel", lambda t, p, sw: at_constraint(t, p, sw, 0.7, "sens", "spec", 50)),
    "precision_at_recall": (lambda m: m.PrecisionAtRecall(0.5), lambda k: k.metrics.PrecisionAtRecall(0.5),
                            "multilabel", lambda t, p, sw: at_constraint(t, p, sw, 0.5, "sens", "prec")),
    "recall_at_precision": (lambda m: m.RecallAtPrecision(0.55, class_id=1),
                            lambda k: k.metrics.RecallAtPrecision(0.55, class_id=1), "multilabel",
                            lambda t, p, sw: at_constraint(t[:, 1], p[:, 1], sw, 0.55, "prec", "sens")),
    "f1_none": (lambda m: m.F1Score(), lambda k: k.metrics.F1Score(), "onehot",
                lambda t, p, sw: fbeta(t, p, sw, 1.0, None)),
    "f1_micro": (lambda m: m.F1Score(average="micro", threshold=0.3),
                 lambda k: k.metrics.F1Score(average="micro", threshold=0.3), "multilabel",
                 lambda t, p, sw: fbeta(t, p, sw, 1.0, "micro", 0.3)),
    "fbeta_macro": (lambda m: m.FBetaScore(average="macro", beta=2.0, threshold=0.5),
                    lambda k: k.metrics.FBetaScore(average="macro", beta=2.0, threshold=0.5), "multilabel",
                    lambda t, p, sw: fbeta(t, p, sw, 2.0, "macro", 0.5)),
    "fbeta_weighted": (lambda m: m.FBetaScore(average="weighted", beta=0.5),
                       lambda k: k.metrics.FBetaScore(average="weighted", beta=0.5), "onehot",
                       lambda t, p, sw: fbeta(t, p, sw, 0.5, "weighted")),
    "iou": (lambda m: m.IoU(num_classes=4, target_class_ids=[0, 2]),
            lambda k: k.metrics.IoU(num_classes=4, target_class_ids=[0, 2], dtype="float32"), "classes",
            lambda t, p, sw: iou(t, p, sw, 4, [0, 2])),
    "mean_iou": (lambda m: m.MeanIoU(num_classes=4), lambda k: k.metrics.MeanIoU(num_classes=4, dtype="float32"),
                 "classes", lambda t, p, sw: iou(t, p, sw, 4, range(4))),
    "mean_iou_ignore": (lambda m: m.MeanIoU(num_classes=4, ignore_class=1),
                        lambda k: k.metrics.MeanIoU(num_classes=4, ignore_class=1, dtype="float32"), "classes",
                        None),
    "binary_iou": (lambda m: m.BinaryIoU(target_class_ids=[1], threshold=0.4),
                   lambda k: k.metrics.BinaryIoU(target_class_ids=[1], threshold=0.4, dtype="float32"),
                   "binary", lambda t, p, sw: iou(t, p >= 0.4, sw, 2, [1])),
    "one_hot_iou": (lambda m: m.OneHotIoU(num_classes=5, target_class_ids=[1, 3]),
                    lambda k: k.metrics.OneHotIoU(num_classes=5, target_class_ids=[1, 3], dtype="float32"),
                    "onehot", lambda t, p, sw: iou(t.argmax(-1)[:, None], p.argmax(-1)[:, None], sw, 5, [1, 3])),
    "one_hot_mean_iou": (lambda m: m.OneHotMeanIoU(num_classes=5),
                         lambda k: k.metrics.OneHotMeanIoU(num_classes=5, dtype="float32"), "onehot",
                         lambda t, p, sw: iou(t.argmax(-1)[:, None], p.argmax(-1)[:, None], sw, 5, range(5))),
}
WITH_FORMULA = [k for k, v in CASES.items() if v[3] is not None]


def run(metric, bs):
    for yt, yp, sw in bs:
        if isinstance(metric, km.Sum):
            metric.update_state(yp, sample_weight=sw)
        else:
            metric.update_state(yt, yp, sample_weight=sw)
    return metric.result()


def close(got, want, tol=1e-5):
    np.testing.assert_allclose(np.asarray(got, dtype="float64"), np.asarray(want, dtype="float64"),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("case", WITH_FORMULA)
def test_against_numpy_formula_weighted_and_streamed(case):
    make, _, kind, formula = CASES[case]
    bs = batches(kind, seed=1)
    m = make(km)
    got = run(m, bs)
    close(got, formula(*joined(bs)), tol=2e-5)
    m.reset_state()
    after_reset = run(m, bs[:1])                 # reset, then one batch: that batch's value alone
    close(after_reset, formula(*joined(bs[:1])), tol=2e-5)
    # unweighted: every sample weighs 1 (an ignored class then counts 0 in the mean, as Keras)
    if case not in ("sum", "scce_ignore"):
        m2 = make(km)
        bu = batches(kind, seed=2, weighted=False)
        close(run(m2, bu), formula(*joined(bu)), tol=2e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_state_is_float32_variables_and_config_round_trips(case):
    make = CASES[case][0]
    m = make(km)
    run(m, batches(CASES[case][2], seed=3))
    assert m.variables and all(v.dtype == np.float32 and not v.trainable for v in m.variables)
    config = m.get_config()
    again = type(m).from_config(config)
    assert again.get_config() == config and again.name == m.name
    ser = km.serialize(m)
    assert ser["class_name"] == type(m).__name__ and ser["module"] == "keras.metrics"
    back = km.deserialize(ser)
    assert type(back) is type(m) and back.get_config() == config


def test_auc_approaches_the_exact_rank_statistic():
    rng = np.random.default_rng(5)
    t = rng.integers(0, 2, 400)
    p = np.clip(rng.normal(0.4 + 0.2 * t, 0.2), 0, 1)
    m = km.AUC(num_thresholds=2000)
    m.update_state(t, p)
    pos, neg = p[t == 1], p[t == 0]
    exact = ((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean())
    assert abs(m.result() - exact) < 2e-3


def test_mean_metric_wrapper_with_a_function_and_sum():
    from kerasette import ops

    def abs_err(y_true, y_pred, scale=1.0):
        return ops.abs(y_true - y_pred) * scale

    m = km.MeanMetricWrapper(abs_err, name="abs_err", scale=2.0)
    m.update_state(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.5, 2.0], [3.0, 5.0]]),
                   sample_weight=np.array([1.0, 3.0]))
    assert m.name == "abs_err"
    close(m.result(), (1 * 0.5 + 3 * 1.0) / 4)         # per-sample means 0.5, 1.0 (scaled by 2)
    keras.saving.get_custom_objects()["abs_err"] = abs_err
    try:
        config = m.get_config()
        assert config["scale"] == 2.0
        again = km.MeanMetricWrapper.from_config(config)
        assert again._fn is abs_err and again._fn_kwargs == {"scale": 2.0}
    finally:
        keras.saving.get_custom_objects().pop("abs_err")
    s = km.Sum()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert s.result() == 4.0
    s.update_state(np.ones((2, 3)), sample_weight=2.0)
    assert s.result() == 16.0
    s.reset_state()
    assert s.result() == 0.0


def test_iou_takes_one_weight_per_sample_of_a_map():
    """Keras wants weights of the labels' shape; one per sample is broadcast over the map here."""
    bs = batches("classes", seed=9)
    per_sample = [(t, p, w[:, 0]) for t, p, w in bs]
    m = km.MeanIoU(num_classes=4)
    got = run(m, per_sample)
    full = [(t, p, np.broadcast_to(w[:, None], t.shape)) for t, p, w in per_sample]
    close(got, run(km.MeanIoU(num_classes=4), full))
    close(got, iou(*joined(full), 4, range(4)))


def test_argument_checks_and_multi_threshold_results():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        km.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="curve"):
        km.AUC(curve="XYZ")
    with pytest.raises(ValueError, match="num_labels"):
        km.AUC(num_labels=3)
    with pytest.raises(ValueError, match="beta"):
        km.FBetaScore(beta=1)
    with pytest.raises(ValueError, match="out of range"):
        km.IoU(num_classes=2, target_class_ids=[2])
    with pytest.raises(ValueError, match="2D"):
        km.R2Score().update_state(np.ones(3), np.ones(3))
    p = km.Precision(thresholds=[0.3, 0.6])
    p.update_state([0, 1, 1, 1], [0.4, 0.5, 0.7, 0.2])
    assert isinstance(p.result(), np.ndarray) and p.result().shape == (2,)
    close(p.result(), [2 / 3, 1.0])


def test_names_compile_resolves_as_keras():
    for name, cls in [("auc", km.AUC), ("AUC", km.AUC), ("precision", km.Precision), ("recall", km.Recall),
                      ("mape", km.MeanAbsolutePercentageError), ("MSLE", km.MeanSquaredLogarithmicError),
                      ("bce", km.BinaryCrossentropy), ("binary_crossentropy", km.BinaryCrossentropy),
                      ("root_mean_squared_error", km.RootMeanSquaredError), ("logcosh", None),
                      ("log_cosh_error", km.LogCoshError), ("r2_score", km.R2Score), ("f1_score", km.F1Score),
                      ("kl_divergence", km.KLDivergence), ("true_positives", km.TruePositives),
                      ("sparse_top_k_categorical_accuracy", km.SparseTopKCategoricalAccuracy),
                      ("sum", km.Sum), ("Poisson", km.Poisson)]:
        if cls is None:
            with pytest.raises(ValueError, match="Unknown metric"):
                km.get(name)
            continue
        m = km.get(name)
        assert type(m) is cls and m.name == name


def test_fit_reports_the_new_metrics_in_history():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, :1] + 0.3 * rng.normal(size=(96, 1)) > 0).astype("float32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["auc", "precision", keras.metrics.Recall(name="rec"), "bce",
                           keras.metrics.F1Score(average="micro", threshold=0.5),
                           keras.metrics.TruePositives(), keras.metrics.PrecisionAtRecall(0.5)])
    hist = model.fit(x, y, batch_size=32, epochs=2, validation_split=0.25, verbose=0)
    for key in ("auc", "precision", "rec", "bce", "f1_score", "true_positives", "precision_at_recall"):
        assert len(hist.history[key]) == 2 and len(hist.history["val_" + key]) == 2
        assert all(np.isfinite(v) for v in hist.history[key])
    assert hist.history["auc"][-1] > hist.history["auc"][0]         # it learns
    # evaluate's AUC equals the metric computed directly from the predictions
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    direct = km.AUC()
    direct.update_state(y, model.predict(x, verbose=0))
    close(logs["auc"], direct.result())
    assert logs["true_positives"] == float(((model.predict(x, verbose=0) > 0.5) & (y == 1)).sum())


def test_per_class_results_reach_history_and_evaluate_as_arrays():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 48)]
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=[keras.metrics.F1Score(), keras.metrics.OneHotMeanIoU(3), "categorical_hinge"])
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert [v.shape for v in hist.history["f1_score"]] == [(3,), (3,)]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    want = km.F1Score()
    want.update_state(y, model.predict(x, verbose=0))
    close(logs["f1_score"], want.result())
    assert isinstance(logs["one_hot_mean_io_u"], float) and "categorical_hinge" in logs


def test_update_state_runs_on_the_device_without_host_reads(monkeypatch):
    """On the CuPy stand-in every array op stays behind the device wall; a host read in
    update_state (``float()``, ``bool()``, ``.get()``) would count here."""
    from kerasette.testing import standin
    reads = []
    for meth in ("get", "__float__", "__bool__", "__int__"):
        orig = getattr(standin.StandinArray, meth)
        monkeypatch.setattr(standin.StandinArray, meth,
                            lambda self, *a, _o=orig, _m=meth, **k: (reads.append(_m), _o(self, *a, **k))[1])
    for case in sorted(CASES):
        make, _, kind, _ = CASES[case]
        bs = batches(kind, seed=4)
        want = run(make(km), bs)
        with backend.device_scope(standin.xp):
            m = make(km)
            dev = [tuple(None if a is None else standin.xp.asarray(a) for a in b) for b in bs]
            reads.clear()
            for yt, yp, sw in dev:
                if isinstance(m, km.Sum):
                    m.update_state(yp, sample_weight=sw)
                else:
                    m.update_state(yt, yp, sample_weight=sw)
            assert reads == [], f"{case}: update_state read the device: {reads}"
            assert all(isinstance(v.value, standin.StandinArray) for v in m.variables), case
            close(m.result(), want)


# -- against Keras 3 -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_keras():
    return pytest.importorskip("keras")


def keras_run(metric, bs, k):
    for yt, yp, sw in bs:
        if isinstance(metric, k.metrics.Sum):
            metric.update_state(yp, sample_weight=sw)
        else:
            metric.update_state(yt, yp, sample_weight=sw)
    return k.ops.convert_to_numpy(metric.result())


@pytest.mark.parametrize("weighted", [True, False], ids=["weighted", "unweighted"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_as_keras(case, weighted, real_keras):
    make, make_keras, kind, _ = CASES[case]
    bs = batches(kind, seed=7, weighted=weighted)
    ours, theirs = make(km), make_keras(real_keras)
    close(run(ours, bs), keras_run(theirs, bs, real_keras))
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)        # Keras numbers repeated names
    assert getattr(ours, "_direction", None) == getattr(theirs, "_direction", None)   # for mode="auto"
    ours.reset_state()
    theirs.reset_state()
    close(run(ours, bs[1:2]), keras_run(theirs, bs[1:2], real_keras))


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_matches_keras(case, real_keras):
    make, make_keras, _, _ = CASES[case]
    ours, theirs = make(km).get_config(), make_keras(real_keras).get_config()
    theirs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in theirs.items()}
    if "label_weights" in theirs and theirs["label_weights"] is not None:
        theirs["label_weights"] = real_keras.ops.convert_to_numpy(theirs["label_weights"]).tolist()
    if case.endswith("iou"):               # Keras's IoU state is int unless told: compared as float32 here
        theirs["dtype"] = "float32"
    theirs["name"] = re.sub(r"_\d+$", "", theirs["name"])
    ours = {k: (list(v) if isinstance(v, tuple) else v) for k, v in ours.items()}
    if case == "cosine":                   # Keras's config leaves out axis (from_config then loses it)
        assert ours.pop("axis") == -1
    assert ours == theirs


def test_every_keras_metric_name_resolves(real_keras):
    from keras.src.metrics import ALL_OBJECTS_DICT
    missing = sorted(n for n in ALL_OBJECTS_DICT if n not in km._BY_NAME)
    assert set(missing) <= {"Metric", "metric"}, missing      # the abstract base, by name
    for name, cls in ALL_OBJECTS_DICT.items():
        if name in km._BY_NAME:
            assert km._BY_NAME[name].__name__ == cls.__name__, name
