"""PolynomialDecay and CosineDecayRestarts: Keras 3's values step by step, their configs, and
their round trip inside an optimizer's config and a ``.keras`` file."""
import importlib.util
import math
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette.optimizers import schedules

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

CASES = {
    "poly": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10)),
    "poly_power": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=7, end_learning_rate=0.01,
                                           power=0.5)),
    "poly_cycle": ("PolynomialDecay", dict(initial_learning_rate=0.2, decay_steps=6, end_learning_rate=0.02,
                                           power=2.0, cycle=True)),
    "restarts": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10)),
    "restarts_mul": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=2.0,
                                                 m_mul=0.5, alpha=0.1)),
    "restarts_t15": ("CosineDecayRestarts", dict(initial_learning_rate=0.05, first_decay_steps=7, t_mul=1.5,
                                                 m_mul=0.9, alpha=0.2)),
    "restarts_t1": ("CosineDecayRestarts", dict(initial_learning_rate=0.05, first_decay_steps=4, t_mul=1.0,
                                                m_mul=0.7)),
    "restarts_t3": ("CosineDecayRestarts", dict(initial_learning_rate=1.0, first_decay_steps=3, t_mul=3.0)),
}
STEPS = list(range(0, 40)) + [62, 63, 70, 90, 150, 189, 210, 310, 1000, 12345]


def _real_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, not torch")
    return real


@needs_keras
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_equal_keras(case):
    real = _real_keras()
    name, kw = CASES[case]
    ours = getattr(schedules, name)(**kw)
    theirs = getattr(real.optimizers.schedules, name)(**kw)
    got = np.array([ours(s) for s in STEPS])
    want = np.array([float(real.ops.convert_to_numpy(theirs(s))) for s in STEPS])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()


def test_polynomial_values():
    lr = schedules.PolynomialDecay(1.0, 4, end_learning_rate=0.0, power=2.0)
    assert [lr(s) for s in (0, 2, 4, 8)] == [1.0, 0.25, 0.0, 0.0]
    cyc = schedules.PolynomialDecay(1.0, 4, end_learning_rate=0.0, cycle=True)
    assert cyc(0) == 1.0 and cyc(4) == 0.0 and cyc(6) == pytest.approx(0.25)   # 1 - 6/8


def test_restart_values():
    lr = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5)
    assert lr(0) == 1.0 and lr(5) == pytest.approx(0.5)
    assert lr(10) == pytest.approx(0.5) and lr(30) == pytest.approx(0.25) and lr(70) == pytest.approx(0.125)
    assert lr(20) == pytest.approx(0.25)            # halfway through the second (20-step) period
    flat = schedules.CosineDecayRestarts(1.0, 4, t_mul=1.0)
    assert [flat(s) for s in (0, 4, 8)] == [1.0, 1.0, 1.0] and flat(2) == pytest.approx(0.5)
    # every restart, however the logarithm rounds, starts a period at its full rate
    for t_mul in (2.0, 3.0, 10.0):
        lr = schedules.CosineDecayRestarts(1.0, 1, t_mul=t_mul)
        for i in range(1, 8):
            assert lr(int((1 - t_mul ** i) / (1 - t_mul))) == pytest.approx(1.0)
    assert math.isnan(schedules.CosineDecayRestarts(1.0, 1, t_mul=0.5)(5))


@pytest.mark.parametrize("name,key,value", [("PolynomialDecay", "decay_steps", 0),
                                            ("CosineDecayRestarts", "first_decay_steps", -1),
                                            ("CosineDecayRestarts", "t_mul", 0.0)])
def test_bad_arguments(name, key, value):
    kw = {"initial_learning_rate": 0.1, "decay_steps" if name == "PolynomialDecay" else "first_decay_steps": 5}
    with pytest.raises(ValueError, match=f"^{name}: {key} must be > 0"):
        getattr(schedules, name)(**{**kw, key: value})


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip(case):
    name, kw = CASES[case]
    lr = getattr(schedules, name)(**kw)
    again = type(lr).from_config(lr.get_config())
    assert again.get_config() == lr.get_config()
    cfg = schedules.serialize(lr)
    assert cfg["class_name"] == name and cfg["module"] == "keras.optimizers.schedules"
    back = schedules.deserialize(cfg)
    assert type(back) is type(lr) and [back(s) for s in STEPS] == [lr(s) for s in STEPS]
    assert keras.optimizers.schedules is schedules and hasattr(keras.optimizers.schedules, name)


@pytest.mark.parametrize("case", ["poly_cycle", "restarts_mul"])
def test_inside_an_optimizer_config_and_a_keras_file(case, tmp_path):
    name, kw = CASES[case]
    opt = keras.optimizers.Nadam(getattr(schedules, name)(**kw))
    cfg = keras.optimizers.serialize(opt)
    assert cfg["config"]["learning_rate"]["class_name"] == name
    clone = keras.optimizers.deserialize(cfg)
    assert type(clone._learning_rate) is getattr(schedules, name)
    assert clone._learning_rate.get_config() == opt._learning_rate.get_config()

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(getattr(schedules, name)(**kw)), loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    for _ in range(3):
        model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer._learning_rate) is getattr(schedules, name)
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate


@needs_keras
def test_keras_writes_the_same_optimizer_config():
    real = _real_keras()
    for name, kw in CASES.values():
        theirs = real.optimizers.serialize(real.optimizers.SGD(getattr(real.optimizers.schedules, name)(**kw)))
        ours = keras.optimizers.serialize(keras.optimizers.SGD(getattr(schedules, name)(**kw)))
        assert ours["config"]["learning_rate"] == theirs["config"]["learning_rate"]
        back = keras.optimizers.deserialize(theirs)
        assert type(back._learning_rate).__name__ == name
