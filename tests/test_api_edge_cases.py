"""Inputs Keras takes that some entry points refused or miscomputed (found writing the API examples)."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers


def test_logcosh_of_integer_predictions_is_computed_in_float():
    y_true, y_pred = np.array([[0, 1], [0, 0]]), np.array([[1, 1], [0, 0]])
    m = keras.metrics.LogCoshError()
    m.update_state(y_true, y_pred)
    want = np.mean(np.log(np.cosh((y_pred - y_true).astype("float64"))).mean(-1))
    assert float(m.result()) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("make,args,want", [
    (keras.metrics.Mean, ([1.0, 3.0],), 2.0),
    (keras.metrics.BinaryAccuracy, ([1.0, 0.0], [0.9, 0.2]), 1.0),
    (keras.metrics.MeanSquaredError, ([[1.0, 0.0]], [[0.9, 0.2]]), 0.025),
    (keras.metrics.CategoricalAccuracy, ([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]]), 0.5),
])
def test_metrics_take_python_lists(make, args, want):
    m = make()
    m.update_state(*args)
    assert float(m.result()) == pytest.approx(want, rel=1e-6)


def test_masking_compute_mask_takes_an_array():
    mask = layers.Masking(0.0).compute_mask(np.array([[[0.0], [1.0]]]))
    np.testing.assert_array_equal(backend.to_numpy(mask), [[False, True]])


def test_to_device_takes_lists_and_tensors():
    np.testing.assert_array_equal(backend.to_device([[1, 2]], "cpu"), [[1, 2]])
    t = keras.ops.convert_to_tensor(np.ones(2, "float32"))
    assert backend.to_device(t, "cpu").dtype == np.float32
