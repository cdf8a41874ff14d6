"""The Keras 3 Metric life cycle: add_variable, update_state / result / reset_state, a custom
metric in compile(metrics=[...]) with fit / evaluate (issue 15, item 3)."""
import os
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, ops


class BinaryTruePositives(keras.metrics.Metric):
    """Written as in the Keras guide: state made after super().__init__()."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "bool")
        y_pred = ops.cast(ops.greater(y_pred, 0.5), "bool")
        values = ops.logical_and(ops.equal(y_true, True), ops.equal(y_pred, True))
        values = ops.cast(values, self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            sample_weight = ops.broadcast_to(ops.reshape(sample_weight, (-1, 1)), values.shape)
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives


class SumAndCount(keras.metrics.Metric):
    """Relies on the default reset_state (zeros every variable)."""

    def __init__(self, name="sum_and_count", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_weight(name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.abs(ops.subtract(y_true, y_pred))))
        self.count.assign_add(float(np.prod(y_pred.shape)))

    def result(self):
        return ops.divide(self.total, ops.maximum(self.count, 1.0))


def test_base_constructor_does_not_call_reset_state():
    calls = []

    class Tracking(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="tracking")          # reset_state here would crash: no state yet
            self.acc = self.add_variable((2,), "zeros", name="acc")

        def reset_state(self):
            calls.append("reset")
            self.acc.assign(np.zeros(2, np.float32))

        def update_state(self, x):
            self.acc.assign_add(x)

        def result(self):
            return self.acc

    m = Tracking()
    assert calls == []
    m.update_state(np.array([1.0, 2.0], np.float32))
    np.testing.assert_allclose(backend.to_numpy(m.result().value), [1, 2])
    m.reset_state()
    assert calls == ["reset"]


def test_add_variable_makes_non_trainable_state():
    m = BinaryTruePositives()
    assert m.dtype == "float32" and m.name == "binary_true_positives"
    [v] = m.variables
    assert isinstance(v, keras.Variable) and not v.trainable and v.shape == () and v.aggregation == "sum"
    assert v.path == "binary_true_positives/true_positives"
    assert m.get_config() == {"name": "binary_true_positives", "dtype": "float32"}
    m64 = SumAndCount(dtype="float64")
    assert all(v.dtype == np.float64 for v in m64.variables) and len(m64.variables) == 2


def test_update_result_reset_and_call():
    m = BinaryTruePositives()
    m.update_state(np.array([[0], [1], [1], [1]]), np.array([[0.9], [0.8], [0.1], [0.7]], np.float32))
    assert float(m.result()) == 2.0
    m.update_state(np.array([[1], [1]]), np.array([[0.9], [0.9]], np.float32),
                   sample_weight=ops.convert_to_tensor(np.array([0.5, 2.0], np.float32)))
    assert float(m.result()) == 4.5
    assert float(m(np.array([[1]]), np.array([[1.0]], np.float32))) == 5.5      # __call__
    m.reset_state()
    assert float(m.result()) == 0.0
    s = SumAndCount()
    s.update_state(np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32))
    assert float(s.result()) == 1.0
    s.reset_state()                                    # the default: zeros every variable
    assert float(s.count.numpy()) == 0.0 and float(s.total.numpy()) == 0.0


def test_unimplemented_methods_say_so():
    class Empty(keras.metrics.Metric):
        pass

    with pytest.raises(NotImplementedError, match="Empty"):
        Empty().update_state(1, 2)
    with pytest.raises(NotImplementedError, match="Empty"):
        Empty().result()


def test_built_in_metrics_keep_their_argument_order_and_state():
    acc = keras.metrics.BinaryAccuracy("acc")
    assert acc.name == "acc"
    acc.update_state(np.array([1, 0]), np.array([0.9, 0.8]))
    assert acc.result() == 0.5
    mean = keras.metrics.Mean("m")
    mean.update_state(np.array([1.0, 3.0]))
    assert mean.result() == 2.0
    mean.reset_state()
    assert mean.result() == 0.0
    assert keras.metrics.Mean().get_config() == {"name": "mean", "dtype": "float32"}


def test_nested_metrics_are_tracked_and_reset():
    class Wrapper(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="wrapper")
            self.inner = BinaryTruePositives()
            self.mean = keras.metrics.Mean()

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.inner.update_state(y_true, y_pred)
            self.mean.update_state(backend.to_numpy(getattr(y_pred, "value", y_pred)))

        def result(self):
            return float(self.inner.result()) + self.mean.result()

    w = Wrapper()
    assert w.variables == w.inner.variables
    w.update_state(np.array([[1]]), np.array([[1.0]], np.float32))
    assert w.result() == 2.0
    w.reset_state()
    assert w.result() == 0.0


def test_custom_metric_in_compile_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=[BinaryTruePositives(), SumAndCount()])
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y))
    for key in ("binary_true_positives", "sum_and_count", "val_binary_true_positives"):
        assert len(hist.history[key]) == 2 and all(isinstance(v, float) for v in hist.history[key])
    result = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    expected_tp = float(((pred > 0.5) & (y > 0.5)).sum())
    assert result["binary_true_positives"] == expected_tp          # reset at the start, summed over batches
    np.testing.assert_allclose(result["sum_and_count"], np.abs(y - pred).mean(), rtol=1e-5)


def test_matches_keras_on_the_same_updates_when_installed():
    k3 = pytest.importorskip("keras", reason="Keras 3 cross-check")
    if not hasattr(k3, "Variable"):
        pytest.skip("not Keras 3")
    from keras import ops as kops

    class Ref(k3.metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = kops.logical_and(kops.equal(kops.cast(y_true, "bool"), True),
                                      kops.equal(kops.cast(kops.greater(y_pred, 0.5), "bool"), True))
            self.true_positives.assign_add(kops.sum(kops.cast(values, self.dtype)))

        def result(self):
            return self.true_positives

    ref, mine = Ref(), BinaryTruePositives()
    rng = np.random.default_rng(1)
    for _ in range(3):
        yt = (rng.random((8, 1)) > 0.5).astype(np.float32)
        yp = rng.random((8, 1)).astype(np.float32)
        ref.update_state(yt, yp)
        mine.update_state(yt, yp)
    assert float(np.asarray(ref.result().numpy())) == float(mine.result())
    assert ref.get_config() == mine.get_config()
    ref.reset_state()
    mine.reset_state()
    assert float(np.asarray(ref.result().numpy())) == float(mine.result()) == 0.0
