"""Gradient clipping as Keras 3 does it: one of clipnorm / clipvalue / global_clipnorm, the
values of each, computed on the gradients' device (no host sync)."""
import os

import numpy as np
import pytest

from kerasette import optimizers
from kerasette.autograd import Variable

GRADS = [np.array([[3.0, -4.0], [0.5, 0.25]], np.float32), np.array([0.1, -0.2], np.float32)]


def applied(opt):
    """The (clipped) gradients an SGD(1.0) step applies: w0 - w1 with w0 = 0."""
    vs = [Variable(np.zeros_like(g)) for g in GRADS]
    opt.apply([g.copy() for g in GRADS], vs)
    return [-v.numpy() for v in vs]


def test_clipnorm_scales_each_gradient_to_its_own_norm():
    got = applied(optimizers.SGD(1.0, clipnorm=1.0))
    n0 = np.sqrt((GRADS[0].astype(np.float64) ** 2).sum())
    np.testing.assert_allclose(got[0], GRADS[0] / n0, rtol=1e-6)
    np.testing.assert_allclose(got[1], GRADS[1], rtol=1e-6)          # norm 0.22 < 1: unchanged
    assert all(g.dtype == np.float32 for g in got)


def test_global_clipnorm_scales_all_gradients_together():
    got = applied(optimizers.SGD(1.0, global_clipnorm=2.0))
    total = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in GRADS))
    for a, g in zip(got, GRADS):
        np.testing.assert_allclose(a, g * 2.0 / total, rtol=1e-6)
    np.testing.assert_allclose(applied(optimizers.SGD(1.0, global_clipnorm=100.0))[0], GRADS[0], rtol=1e-7)


def test_clipvalue_clips_each_entry():
    got = applied(optimizers.SGD(1.0, clipvalue=0.3))
    for a, g in zip(got, GRADS):
        np.testing.assert_allclose(a, np.clip(g, -0.3, 0.3), rtol=1e-7)


@pytest.mark.parametrize("kwargs", [dict(clipnorm=1.0, clipvalue=0.5), dict(clipnorm=1.0, global_clipnorm=1.0),
                                    dict(clipvalue=1.0, global_clipnorm=1.0)])
def test_only_one_clipping_argument(kwargs):
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.Adam(**kwargs)


@pytest.mark.parametrize("bad", [-1.0, "1", True, float("nan")])
def test_clipping_values_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match=r"Adam: clipnorm must be a positive number or None, got"):
        optimizers.Adam(clipnorm=bad)


def test_zero_clips_nothing_as_in_keras():
    assert applied(optimizers.SGD(1.0, clipnorm=0))[0].tolist() == GRADS[0].tolist()
    with pytest.raises(ValueError, match="only one of"):
        optimizers.Adam(clipnorm=0, clipvalue=0.5)                # Keras counts 0 as given too


def test_clipping_on_the_standin_reads_nothing_back_to_the_host(monkeypatch):
    from kerasette.testing import standin
    synced = []
    for name in ("get", "__float__", "__bool__", "__int__"):
        orig = getattr(standin.StandinArray, name)
        monkeypatch.setattr(standin.StandinArray, name,
                            lambda self, *a, _o=orig, _n=name, **k: (synced.append(_n), _o(self, *a, **k))[1])
    for kwargs in (dict(clipnorm=1.0), dict(global_clipnorm=2.0)):
        vs = [Variable(standin.asarray(np.zeros_like(g))) for g in GRADS]
        optimizers.SGD(1.0, **kwargs).apply([standin.asarray(g) for g in GRADS], vs)
    assert synced == []


def test_matches_keras_when_installed():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    for kwargs in (dict(clipnorm=1.0), dict(global_clipnorm=2.0), dict(clipvalue=0.3)):
        vs = [keras.Variable(np.zeros_like(g)) for g in GRADS]
        keras.optimizers.SGD(1.0, **kwargs).apply([keras.ops.convert_to_tensor(g) for g in GRADS], vs)
        want = [-keras.ops.convert_to_numpy(v) for v in vs]
        for a, b in zip(applied(optimizers.SGD(1.0, **kwargs)), want):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
