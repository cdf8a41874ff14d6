"""Loss rules shared by the classes and the functional forms: label ranks aligned as Keras does,
reductions checked, ``mean_with_sample_weight``."""
import os

import numpy as np
import pytest

from kerasette import losses

PRED = np.array([[0.2], [0.7], [0.4]], np.float32)
TRUE = np.array([0.0, 1.0, 1.0], np.float32)


@pytest.mark.parametrize("fn,cls", [(losses.mean_squared_error, losses.MeanSquaredError),
                                    (losses.mean_absolute_error, losses.MeanAbsoluteError),
                                    (losses.binary_crossentropy, losses.BinaryCrossentropy)])
def test_functional_forms_align_label_ranks_like_the_classes(fn, cls):
    per_sample = fn(TRUE, PRED).numpy()
    assert per_sample.shape == (3,)                       # not a (3, 3) broadcast
    np.testing.assert_allclose(per_sample, cls(reduction="none")(TRUE[:, None], PRED).numpy(), rtol=1e-6)


def test_unknown_reductions_are_refused():
    with pytest.raises(ValueError, match=r"MeanSquaredError: reduction must be one of .*got 'mean_over_batch'"):
        losses.MeanSquaredError(reduction="mean_over_batch")


def test_reductions_match_keras_rules():
    y, p, w = np.zeros((4, 2), np.float32), np.ones((4, 2), np.float32) * [[1], [2], [3], [4]], \
        np.array([1.0, 0.0, 2.0, 1.0], np.float32)
    per = (p ** 2).mean(-1) * w                           # [1, 0, 18, 16]
    got = {r: float(losses.MeanSquaredError(reduction=r)(y, p, sample_weight=w).numpy())
           for r in ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight")}
    assert got["sum"] == pytest.approx(per.sum())
    assert got["mean"] == got["sum_over_batch_size"] == pytest.approx(per.mean())
    assert got["mean_with_sample_weight"] == pytest.approx(per.sum() / w.sum())
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return
    for r, value in got.items():
        want = float(keras.ops.convert_to_numpy(keras.losses.MeanSquaredError(reduction=r)(y, p, sample_weight=w)))
        assert value == pytest.approx(want, rel=1e-6), r
    want = keras.ops.convert_to_numpy(keras.losses.mean_squared_error(TRUE, PRED))
    np.testing.assert_allclose(losses.mean_squared_error(TRUE, PRED).numpy(), want, rtol=1e-6)
