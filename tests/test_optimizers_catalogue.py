"""The Keras 3 optimizers beyond SGD / Adam / RMSprop / Adagrad: Adamax, Nadam, Adadelta, Ftrl,
Lion, Lamb, Adafactor. Each gives real Keras 3's weights step for step (with weight decay, a
schedule, gradient clipping), keeps its state in Keras's slot order so that a ``.keras`` file of
either library restores it, round-trips its config, compiles by name, trains, and refuses bad
arguments with one line naming itself and the argument before anything changes."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, optimizers
from kerasette.flat_params import FlatParams
from kerasette.optimizers import schedules
from kerasette.testing import standin

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

NAMES = ["Adamax", "Nadam", "Adadelta", "Ftrl", "Lion", "Lamb", "Adafactor"]

# per optimizer: arguments that move the weights visibly in a few steps, and ones that exercise
# every option of its rule
ARGS = {
    "Adamax": [dict(learning_rate=0.05), dict(learning_rate=0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3)],
    "Nadam": [dict(learning_rate=0.05), dict(learning_rate=0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-4)],
    "Adadelta": [dict(learning_rate=1.0), dict(learning_rate=0.5, rho=0.8, epsilon=1e-4)],
    "Ftrl": [dict(learning_rate=0.1),
             dict(learning_rate=0.1, learning_rate_power=-0.7, initial_accumulator_value=0.5,
                  l1_regularization_strength=0.05, l2_regularization_strength=0.1,
                  l2_shrinkage_regularization_strength=0.02, beta=0.3)],
    "Lion": [dict(learning_rate=0.01), dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9)],
    "Lamb": [dict(learning_rate=0.05), dict(learning_rate=0.05, beta_1=0.7, beta_2=0.9, epsilon=1e-4)],
    "Adafactor": [dict(learning_rate=0.05),
                  dict(learning_rate=0.5, beta_2_decay=-0.5, epsilon_1=1e-20, epsilon_2=1e-2,
                       clip_threshold=0.5, relative_step=False)],
}
SHAPES = [(4, 3), (3,), (2, 3, 4), ()]


def _schedule(lib):
    return lib.optimizers.schedules.PolynomialDecay(0.08, 4, end_learning_rate=0.01, power=2.0)


VARIANTS = {
    "plain": lambda lib: {},
    "weight_decay": lambda lib: {"weight_decay": 0.1},
    "schedule": lambda lib: {"learning_rate": _schedule(lib)},
    "schedule_decay_clip": lambda lib: {"learning_rate": lib.optimizers.schedules.CosineDecayRestarts(
        0.05, 2, t_mul=2.0, m_mul=0.8, alpha=0.1), "weight_decay": 0.05, "global_clipnorm": 1.5},
    "clipnorm": lambda lib: {"clipnorm": 0.7},
}


def _real_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, not torch")
    return real


def _weights_and_grads(steps=5, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=s).astype("float32") for s in SHAPES]
    gs = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(steps)]
    return ws, gs


def _host(a):
    return backend.to_numpy(getattr(a, "value", a))


def _run_kerasette(opt, ws, gs):
    with backend.device_scope("cpu"):
        vs = [keras.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(ws)]
    for g in gs:
        opt.apply([gi.copy() for gi in g], vs)
    return [_host(v) for v in vs]


def _run_keras(real, opt, ws, gs):
    vs = [real.Variable(w.copy(), name=f"w{i}") for i, w in enumerate(ws)]
    for g in gs:
        opt.apply_gradients([(real.ops.convert_to_tensor(gi), v) for gi, v in zip(g, vs)])
    return [real.ops.convert_to_numpy(v) for v in vs]


@needs_keras
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("args", [0, 1])
@pytest.mark.parametrize("name", NAMES)
def test_steps_equal_keras(name, args, variant):
    real = _real_keras()
    ws, gs = _weights_and_grads()
    kw = dict(ARGS[name][args])
    ours = _run_kerasette(getattr(keras.optimizers, name)(**{**kw, **VARIANTS[variant](keras)}), ws, gs)
    theirs = _run_keras(real, getattr(real.optimizers, name)(**{**kw, **VARIANTS[variant](real)}), ws, gs)
    for w0, a, b in zip(ws, ours, theirs, strict=True):
        assert not np.array_equal(a, w0)                   # the steps moved it
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("name", NAMES)
def test_slots_equal_keras_in_order(name):
    """``variables`` lists the slots in Keras 3's ``optimizer.variables`` order (less its
    iteration and learning rate), with the same values."""
    real = _real_keras()
    ws, gs = _weights_and_grads(steps=3)
    opt = getattr(keras.optimizers, name)(**ARGS[name][1])
    ref = getattr(real.optimizers, name)(**ARGS[name][1])
    _run_kerasette(opt, ws, gs)
    _run_keras(real, ref, ws, gs)
    theirs = [real.ops.convert_to_numpy(v) for v in ref.variables[2:]]
    from kerasette.saving.h5_weights import optimizer_arrays
    ours = optimizer_arrays(opt)[2:]
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    # the slot names are Keras's variable-name suffixes (``w0_momentum``), in file order
    order = [n for group in opt._keras_slot_groups() for _ in ws for n in group]
    for ours_name, v in zip(order, ref.variables[2:]):
        if name == "Adafactor" and ours_name in ("r", "c"):
            continue                                # Keras names these by the weight alone
        assert v.name.endswith("_" + ours_name), (v.name, ours_name)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.astype(a.dtype), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_flat_buffers_give_the_per_weight_numbers(name):
    """On a device (the CuPy stand-in) the elementwise rules run once over the packed buffers;
    Lamb and Adafactor (per-weight norms, factored slots) stay weight by weight."""
    ws, gs = _weights_and_grads(steps=4)
    ref = _run_kerasette(getattr(optimizers, name)(**ARGS[name][1], weight_decay=0.05), ws, gs)
    opt = getattr(optimizers, name)(**ARGS[name][1], weight_decay=0.05)
    with backend.device_scope("cpu"):
        vs = [keras.Variable(standin.asarray(w.copy()), name=f"w{i}") for i, w in enumerate(ws)]
    for g in gs:
        opt.apply([standin.asarray(gi) for gi in g], vs)
    assert isinstance(opt._flat, FlatParams) == opt.elementwise
    assert opt.elementwise == (name not in ("Lamb", "Adafactor"))
    for a, v in zip(ref, vs):
        np.testing.assert_allclose(standin.to_host(v.value), a, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    cls = getattr(keras.optimizers, name)
    for kw in ARGS[name] + [dict(learning_rate=_schedule(keras), weight_decay=0.01, clipvalue=0.5)]:
        opt = cls(**kw)
        config = opt.get_config()
        again = cls.from_config(config)
        assert again.get_config() == config
        for key, value in kw.items():
            if key != "learning_rate":
                assert config[key] == value
        cfg = keras.optimizers.serialize(opt)
        assert cfg["class_name"] == name
        clone = keras.optimizers.deserialize(cfg)
        assert type(clone) is cls and clone.get_config() == config


@needs_keras
@pytest.mark.parametrize("name", NAMES)
def test_keras_config_loads_and_defaults_agree(name):
    """Real Keras's config (``use_ema`` and friends at their off values) builds ours, and both
    libraries have the same defaults."""
    real = _real_keras()
    theirs = getattr(real.optimizers, name)().get_config()
    ours = getattr(keras.optimizers, name)().get_config()
    for key, value in ours.items():
        if key not in ("name", "learning_rate"):
            assert theirs[key] == value, key
    assert theirs["learning_rate"] == pytest.approx(ours["learning_rate"])
    opt = getattr(keras.optimizers, name).from_config(theirs)
    assert opt.get_config()["name"] == theirs["name"]


@pytest.mark.parametrize("name", NAMES)
def test_compile_by_name(name):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=name.lower(), loss="mse")
    assert type(model.optimizer) is getattr(keras.optimizers, name)
    assert model.optimizer.name == name.lower()
    assert type(keras.optimizers.get(name)) is getattr(keras.optimizers, name)
    assert type(keras.optimizers.get({"class_name": name, "config": {}})) is getattr(keras.optimizers, name)


@pytest.mark.parametrize("name", NAMES)
def test_fit_decreases_the_loss(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 2)) + 0.3).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(2)])
    model.compile(optimizer=getattr(keras.optimizers, name)(**ARGS[name][0]), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert after < 0.9 * before, (before, after)


def _small_model(lib):
    return lib.Sequential([lib.Input((5, 4)), lib.layers.Conv1D(3, 2), lib.layers.Flatten(),
                           lib.layers.Dense(2)])


def _batch(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(8, 5, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")


@pytest.mark.parametrize("schedule", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_keras_file_restores_the_optimizer_state(name, schedule, tmp_path):
    lr = _schedule(keras) if schedule else ARGS[name][1]["learning_rate"]
    model = _small_model(keras)
    model.compile(optimizer=getattr(keras.optimizers, name)(**{**ARGS[name][1], "learning_rate": lr}),
                  loss="mse")
    for step in range(3):
        model.train_on_batch(*_batch(step))
    path = tmp_path / "m.keras"
    model.save(path)
    clone = keras.models.load_model(path)
    assert type(clone.optimizer) is type(model.optimizer)
    assert clone.optimizer.iterations == 3
    for a, b in zip(model.optimizer.variables, clone.optimizer.variables, strict=True):
        np.testing.assert_array_equal(_host(a), _host(b))
    model.train_on_batch(*_batch(10))
    clone.train_on_batch(*_batch(10))
    for a, b in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@needs_keras
@pytest.mark.parametrize("name", NAMES)
def test_a_keras_written_file_restores_the_state(name, tmp_path):
    """A model trained and saved by real Keras 3 loads with its optimizer state: the next step
    here gives the weights Keras's next step gives."""
    real = _real_keras()
    real.utils.set_random_seed(0)
    theirs = _small_model(real)
    theirs.compile(optimizer=getattr(real.optimizers, name)(**ARGS[name][1]), loss="mse")
    for step in range(3):
        theirs.train_on_batch(*_batch(step))
    path = tmp_path / "keras.keras"
    theirs.save(path)
    ours = keras.models.load_model(path)
    assert type(ours.optimizer).__name__ == name and ours.optimizer.iterations == 3
    theirs.train_on_batch(*_batch(10))
    ours.train_on_batch(*_batch(10))
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


BAD = [
    ("Adamax", "beta_1", 1.0), ("Adamax", "beta_2", -0.1), ("Adamax", "epsilon", -1e-7),
    ("Nadam", "beta_1", 1.5), ("Nadam", "beta_2", 1.0), ("Nadam", "epsilon", "small"),
    ("Adadelta", "rho", 1.2), ("Adadelta", "epsilon", -1.0),
    ("Ftrl", "learning_rate_power", 0.5), ("Ftrl", "initial_accumulator_value", -0.1),
    ("Ftrl", "l1_regularization_strength", -1.0), ("Ftrl", "l2_regularization_strength", -1.0),
    ("Ftrl", "l2_shrinkage_regularization_strength", -1.0), ("Ftrl", "beta", -0.5),
    ("Lion", "beta_1", 0.0), ("Lion", "beta_2", 1.1),
    ("Lamb", "beta_1", -0.1), ("Lamb", "beta_2", 1.0), ("Lamb", "epsilon", float("nan")),
    ("Adafactor", "beta_2_decay", 0.5), ("Adafactor", "epsilon_1", -1.0), ("Adafactor", "epsilon_2", -1.0),
    ("Adafactor", "clip_threshold", 0.0), ("Adafactor", "relative_step", "yes"),
    ("Nadam", "clipnorm", -1.0), ("Lion", "beta_1", True),
]


@pytest.mark.parametrize("name,key,value", BAD)
def test_bad_arguments_are_refused_in_one_line(name, key, value):
    with pytest.raises(ValueError) as info:
        getattr(keras.optimizers, name)(**{key: value})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: ") and key in message


@pytest.mark.parametrize("name", NAMES)
def test_unknown_and_unsupported_arguments_are_refused(name):
    cls = getattr(keras.optimizers, name)
    with pytest.raises(ValueError, match=f"^{name}: .*lr"):
        cls(lr=0.1)
    with pytest.raises(ValueError, match=f"^{name}: .*momentum_typo"):
        cls(momentum_typo=0.1)
    with pytest.raises(NotImplementedError, match="use_ema"):
        cls(use_ema=True)


@pytest.mark.parametrize("name", NAMES)
def test_a_bad_gradient_changes_nothing(name):
    opt = getattr(keras.optimizers, name)(**ARGS[name][0])
    ws, gs = _weights_and_grads(steps=1)
    with backend.device_scope("cpu"):
        vs = [keras.Variable(w.copy()) for w in ws]
    opt.apply(gs[0], vs)
    state = [_host(a).copy() for a in opt.variables]
    bad = list(gs[0])
    bad[2] = np.ones((3, 4), dtype="float32")          # (2, 3, 4) expected
    with pytest.raises(ValueError) as info:
        opt.apply(bad, vs)
    assert str(info.value).startswith(f"{name} optimizer: ") and "grads[2]" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=f"^{name} optimizer: got 3 gradients"):
        opt.apply(gs[0][:3], vs)
    assert opt.iterations == 1
    for a, b in zip(state, opt.variables):
        np.testing.assert_array_equal(a, _host(b))
    opt.apply(gs[0], vs)
    assert opt.iterations == 2


def test_nadam_keeps_keras_momentum_schedule_product():
    opt = keras.optimizers.Nadam()
    with backend.device_scope("cpu"):
        v = keras.Variable(np.ones(3, dtype="float32"))
    for _ in range(3):
        opt.apply([np.ones(3, dtype="float32")], [v])
    expected = np.prod([0.9 * (1 - 0.5 * 0.96 ** t) for t in (1, 2, 3)])
    assert _host(opt.variables[-1]) == pytest.approx(expected, rel=1e-6)
    assert len(opt.variables) == 3


def test_adafactor_factors_weights_of_rank_two_and_more():
    opt = keras.optimizers.Adafactor()
    ws, gs = _weights_and_grads(steps=1)
    with backend.device_scope("cpu"):
        vs = [keras.Variable(w) for w in ws]
    opt.apply(gs[0], vs)
    assert [tuple(r.shape) for r in opt.slots["r"]] == [(4,), (), (2, 3), ()]
    assert [tuple(c.shape) for c in opt.slots["c"]] == [(3,), (), (2, 4), ()]
    assert [tuple(v.shape) for v in opt.slots["velocity"]] == SHAPES


def test_ftrl_and_adagrad_start_new_weights_at_the_initial_accumulator():
    for opt, slot in ((keras.optimizers.Ftrl(initial_accumulator_value=0.3), "accumulator"),
                      (keras.optimizers.Adagrad(initial_accumulator_value=0.3), "accumulator")):
        with backend.device_scope("cpu"):
            a, b = keras.Variable(np.ones(2, "float32")), keras.Variable(np.ones(3, "float32"))
        opt.apply([np.zeros(2, "float32")], [a])
        opt.apply([np.zeros(2, "float32"), np.zeros(3, "float32")], [a, b])   # b joins later
        np.testing.assert_allclose(_host(opt.slots[slot][1]), 0.3)
