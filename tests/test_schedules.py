"""Learning-rate schedules and how optimizers call them."""
import math

import numpy as np
import pytest

import kerasette as keras
from kerasette.optimizers import schedules


def test_schedule_values():
    assert schedules.ExponentialDecay(1.0, 4, 0.5)(2) == pytest.approx(0.5 ** 0.5)
    assert schedules.ExponentialDecay(1.0, 4, 0.5, staircase=True)(7) == pytest.approx(0.5)
    assert schedules.InverseTimeDecay(1.0, 2, 1.0)(4) == pytest.approx(1 / 3)
    pc = schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [pc(s) for s in (0, 2, 3, 5, 6)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    cd = schedules.CosineDecay(1.0, 10, alpha=0.1)
    assert cd(0) == pytest.approx(1.0) and cd(10) == pytest.approx(0.1) and cd(20) == pytest.approx(0.1)
    assert cd(5) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    with pytest.raises(ValueError, match="boundaries"):
        schedules.PiecewiseConstantDecay([1], [1.0])


def test_sgd_with_a_schedule_uses_the_zero_based_step():
    w = keras.Variable(np.array([1.0], dtype="float32"))
    opt = keras.optimizers.SGD(schedules.PiecewiseConstantDecay([0], [1.0, 0.1]))
    for _ in range(3):
        opt.apply([np.array([1.0], dtype="float32")], [w])
    # steps 0, 1, 2 use lr 1.0, 0.1, 0.1
    np.testing.assert_allclose(w.numpy(), [1.0 - 1.0 - 0.1 - 0.1], rtol=1e-6)
