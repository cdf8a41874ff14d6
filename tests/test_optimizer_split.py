"""Large optimizer steps split over the intra-op threads give the plain rule's numbers."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import optimizers, parallel


def _adam_reference(w, g, steps, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(1, steps + 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return w


@pytest.mark.parametrize("threshold", [1, 1 << 60])     # split over the threads / not
def test_a_large_adam_step_matches_the_rule(monkeypatch, threshold):
    monkeypatch.setattr(optimizers, "_SPLIT_MIN_ELEMENTS", threshold)
    rng = np.random.default_rng(0)
    shapes = [(300, 400), (400,), (7,)]
    ws = [rng.standard_normal(s) for s in shapes]
    gs = [rng.standard_normal(s) for s in shapes]
    vs = [keras.Variable(w.copy(), dtype="float64") for w in ws]
    opt = keras.optimizers.Adam()
    for _ in range(3):
        opt.apply(gs, vs)
    for v, w, g in zip(vs, ws, gs):
        np.testing.assert_allclose(v.numpy(), _adam_reference(w, g, 3), rtol=1e-12, atol=1e-12)
    assert not parallel.active()                       # the region ends with the step


def test_split_and_unsplit_steps_agree_exactly(monkeypatch):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((512, 512)).astype(np.float32)
    g = rng.standard_normal((512, 512)).astype(np.float32)
    out = []
    for threshold in (1, 1 << 60):
        monkeypatch.setattr(optimizers, "_SPLIT_MIN_ELEMENTS", threshold)
        v = keras.Variable(w.copy())
        keras.optimizers.Adam().apply([g], [v])
        out.append(v.numpy())
    np.testing.assert_array_equal(out[0], out[1])
