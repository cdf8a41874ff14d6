"""``metrics`` ignore sample weights and ``weighted_metrics`` use them, as in Keras 3."""
import numpy as np

import kerasette as keras

X = np.random.default_rng(0).random((8, 3)).astype("float32")
Y = np.array([0, 1] * 4)
W = np.array([1, 0] * 4, "float32")


def _model(**compile_kw):
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy", **compile_kw)
    return m


def _accuracy(model, weights=None):
    hit = (np.argmax(model.predict(X, verbose=0), -1) == Y).astype("float64")
    return float(hit.mean() if weights is None else (hit * weights).sum() / weights.sum())


def test_plain_metrics_ignore_sample_weight_and_weighted_ones_use_it():
    m = _model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    logs = m.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "weighted_accuracy"}
    assert logs["accuracy"] == np.float32(_accuracy(m))
    assert logs["weighted_accuracy"] == np.float32(_accuracy(m, W))
    unweighted = m.evaluate(X, Y, verbose=0, return_dict=True)        # no weights: both agree
    assert unweighted["weighted_accuracy"] == unweighted["accuracy"] == logs["accuracy"]


def test_a_weighted_metric_alone_keeps_its_name_and_fit_reports_it():
    m = _model(weighted_metrics=["accuracy"])
    hist = m.fit(X, Y, sample_weight=W, epochs=2, batch_size=4, verbose=0)
    assert set(hist.history) == {"loss", "accuracy"}
    assert m.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)["accuracy"] == \
        np.float32(_accuracy(m, W))


def test_weighted_metrics_survive_saving(tmp_path):
    m = _model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    m.fit(X, Y, sample_weight=W, epochs=1, verbose=0)
    m.save(str(tmp_path / "m.keras"))
    back = keras.models.load_model(str(tmp_path / "m.keras"))
    logs = back.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "weighted_accuracy"}
