"""The fused CPU loops numba compiles (``kerasette.cpu_kernels``) against the NumPy code that
runs without them: the same numbers, step after step, in float32 and float64, for whole
weights and the slices the intra-op threads update; and the switch that turns them off."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import config, cpu_kernels, optimizers, parallel

numba_missing = pytest.mark.skipif(not cpu_kernels.available(),
                                   reason="numba not installed (pip install 'kerasette[fast]')")


@pytest.fixture
def kernels_on():
    was = config.cpu_kernels()
    config.set_cpu_kernels(True)
    yield
    config.set_cpu_kernels(was)


def _train(opt, on, dtype, steps=5, shapes=((40, 30), (30,), (70000,))):
    """Weights after ``steps`` steps of ``opt`` on fixed gradients, kernels ``on`` or off."""
    rng = np.random.default_rng(0)
    ws = [keras.Variable(rng.normal(size=s).astype(dtype), name=f"w{i}") for i, s in enumerate(shapes)]
    was = config.cpu_kernels()
    config.set_cpu_kernels(on)
    try:
        for step in range(steps):
            grng = np.random.default_rng(10 + step)
            opt.apply_gradients([(grng.normal(size=s).astype(dtype), w) for s, w in zip(shapes, ws)])
    finally:
        config.set_cpu_kernels(was)
    return [w.numpy() for w in ws], opt


@numba_missing
@pytest.mark.parametrize("dtype,tol", [("float32", 2e-6), ("float64", 1e-13)])
@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.01),
                                  lambda: optimizers.AdamW(0.01, weight_decay=0.1),
                                  lambda: optimizers.Adam(0.01, clipnorm=0.5)],
                         ids=["adam", "adamw", "clipnorm"])
def test_adam_kernel_matches_the_numpy_step(make, dtype, tol):
    fused, opt_f = _train(make(), True, dtype)
    plain, opt_p = _train(make(), False, dtype)
    for a, b in zip(fused, plain):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    for name in ("momentum", "velocity"):
        for a, b in zip(opt_f.slots[name], opt_p.slots[name]):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@numba_missing
def test_adam_kernel_on_thread_slices_matches(kernels_on):
    """Inside parallel.region() a large weight is updated in one slice per thread."""
    with parallel.region(True):
        fused, _ = _train(optimizers.Adam(0.01), True, "float32", shapes=((300, 400),))
    plain, _ = _train(optimizers.Adam(0.01), False, "float32", shapes=((300, 400),))
    np.testing.assert_allclose(fused[0], plain[0], rtol=2e-6, atol=2e-6)


@numba_missing
def test_adam_kernel_runs_when_on_and_not_when_off(monkeypatch):
    calls = []
    real = cpu_kernels.adam_step
    monkeypatch.setattr(cpu_kernels, "adam_step", lambda *a: (calls.append(1), real(*a)))
    _train(optimizers.Adam(0.01), True, "float32", steps=1)
    assert calls, "the compiled Adam step did not run with the kernels on"
    calls.clear()
    _train(optimizers.Adam(0.01), False, "float32", steps=1)
    assert not calls


def test_amsgrad_and_mixed_dtypes_take_the_numpy_path(kernels_on, monkeypatch):
    monkeypatch.setattr(cpu_kernels, "adam_step", lambda *a: pytest.fail("kernel used"))
    _train(optimizers.Adam(0.01, amsgrad=True), True, "float32", steps=2)
    w = np.ones(8, "float32")
    assert not cpu_kernels.usable(w, np.ones(8, "float64"))
    assert not cpu_kernels.usable(w, np.ones((4, 4), "float32").T)     # not contiguous
    assert not cpu_kernels.usable(np.ones(8, "int32"), np.ones(8, "int32"))


def test_usable_follows_the_switch(kernels_on):
    w = np.ones(8, "float32")
    assert cpu_kernels.usable(w, w) == cpu_kernels.available()
    config.set_cpu_kernels(False)
    assert not cpu_kernels.usable(w, w)


def test_set_cpu_kernels_refuses_a_non_bool():
    with pytest.raises(TypeError, match="set_cpu_kernels: on must be True or False, got 1"):
        config.set_cpu_kernels(1)


@numba_missing
def test_a_model_trains_the_same_with_and_without_kernels():
    def fit(on):
        keras.utils.set_random_seed(3)
        rng = np.random.default_rng(3)
        x = rng.normal(size=(256, 20)).astype("float32")
        y = (x[:, 0] > 0).astype("int64")
        model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        was = config.cpu_kernels()
        config.set_cpu_kernels(on)
        try:
            loss = model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False).history["loss"]
        finally:
            config.set_cpu_kernels(was)
        return loss, model.get_weights()

    (la, wa), (lb, wb) = fit(True), fit(False)
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    for a, b in zip(wa, wb):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
