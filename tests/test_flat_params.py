"""Optimizer steps over one flat buffer of all weights on a device (``kerasette.flat_params``),
proven on the CuPy stand-in: the same numbers as the step weight by weight on NumPy, one fused
kernel launch per step, and the packing kept honest when weights are replaced."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, optimizers
from kerasette.flat_params import FlatParams
from kerasette.ops import kernels
from kerasette.testing import standin

OPTIMIZERS = {
    "adam": lambda: optimizers.Adam(0.01),
    "adamw": lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    "amsgrad": lambda: optimizers.Adam(0.01, amsgrad=True),
    "sgd": lambda: optimizers.SGD(0.05),
    "momentum": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.05),
    "clipped": lambda: optimizers.Adam(0.01, global_clipnorm=0.5, weight_decay=0.01),
}


def _variables(on_device, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(5, 4), (4,), (4, 3), (3,)]
    arrays = [rng.normal(size=s).astype("float32") for s in shapes]
    if on_device:
        arrays = [standin.asarray(a) for a in arrays]
    with backend.device_scope("cpu"):           # host arrays stay host (the default may be the stand-in)
        return [keras.Variable(a, name=f"w{i}") for i, a in enumerate(arrays)]


def _grads(step, on_device):
    rng = np.random.default_rng(100 + step)
    gs = [rng.normal(size=s).astype("float32") for s in [(5, 4), (4,), (4, 3), (3,)]]
    return [standin.asarray(g) for g in gs] if on_device else gs


def _host(a):
    return standin.to_host(a) if type(a) is standin.StandinArray else np.asarray(a)


def _run(name, on_device, steps=4):
    opt = OPTIMIZERS[name]()
    vs = _variables(on_device)
    for step in range(steps):
        opt.apply(_grads(step, on_device), vs)
    return opt, vs


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_flat_steps_match_the_per_weight_steps_on_numpy(name):
    ref_opt, ref = _run(name, on_device=False)
    opt, got = _run(name, on_device=True)
    assert ref_opt._flat is None                       # the CPU never packs
    assert isinstance(opt._flat, FlatParams)
    for a, b in zip(ref, got):
        np.testing.assert_allclose(_host(b.value), a.value, rtol=2e-6, atol=1e-7)
    assert len(ref_opt.variables) == len(opt.variables) > 0 or not ref_opt.slot_names
    for a, b in zip(ref_opt.variables, opt.variables):
        assert a.shape == b.shape
        np.testing.assert_allclose(_host(b), a, rtol=2e-6, atol=1e-7)


def test_the_weights_and_slots_are_views_of_the_flat_buffers():
    opt, vs = _run("adam", on_device=True, steps=1)
    flat = opt._flat
    np.testing.assert_array_equal(_host(flat.weights), np.concatenate([_host(v.value).ravel() for v in vs]))
    for name in ("momentum", "velocity"):
        np.testing.assert_array_equal(_host(flat.slots[name]),
                                      np.concatenate([_host(a).ravel() for a in opt.slots[name]]))
    flat.weights[0:1] = standin.asarray(np.array([42.0], "float32"))   # one buffer, seen through the view
    assert float(_host(vs[0].value)[0, 0]) == 42.0


def test_one_kernel_launch_per_step_instead_of_one_per_weight(monkeypatch):
    launched = []
    real = kernels.run
    monkeypatch.setattr(kernels, "run", lambda name, *a, **k: (launched.append(name), real(name, *a, **k))[1])
    for name, kernel in (("adamw", "adam_update"), ("momentum", "sgd_momentum_update")):
        opt = OPTIMIZERS[name]()
        vs = _variables(True)
        opt.apply(_grads(0, True), vs)
        launched.clear()
        opt.apply(_grads(1, True), vs)
        assert launched == [kernel]
        opt._flat, opt._repacks = None, optimizers._MAX_PACKS + 1   # the per-weight path, for contrast
        launched.clear()
        opt.apply(_grads(2, True), vs)
        assert launched == [kernel] * len(vs)


def test_in_place_writes_keep_the_packing_and_replaced_arrays_repack():
    opt, vs = _run("adam", on_device=True, steps=1)
    flat = opt._flat
    vs[1].assign(np.ones(4, "float32"))                 # in place: still packed
    opt.apply(_grads(1, True), vs)
    assert opt._flat is flat
    ref_opt, ref = _run("adam", on_device=False, steps=1)
    ref[1].assign(np.ones(4, "float32"))
    ref_opt.apply(_grads(1, False), ref)
    vs[2].value = standin.asarray(_host(vs[2].value) * 2)   # replaced (as Model.to does): repacked
    ref[2].value = ref[2].value * 2
    opt.apply(_grads(2, True), vs)
    ref_opt.apply(_grads(2, False), ref)
    assert opt._flat is not flat and opt._repacks == 2
    for a, b in zip(ref, vs):
        np.testing.assert_allclose(_host(b.value), a.value, rtol=2e-6, atol=1e-7)


def test_steps_that_cannot_be_flat_stay_per_weight():
    opt, vs = _run("adam", on_device=True, steps=1)
    grads = _grads(1, True)
    grads[1] = None                                      # a weight without a gradient: untouched
    before = _host(vs[1].value).copy()
    opt._flat = None
    opt.apply(grads, vs)
    assert opt._flat is None
    np.testing.assert_array_equal(_host(vs[1].value), before)
    opt.apply(_grads(2, True)[:2], vs[:2])               # a subset of the weights
    assert opt._flat is None

    class Custom(optimizers.SGD):
        def update(self, w, g, i, lr):
            w -= lr * g * 0.5
    custom, cvs = Custom(0.1), _variables(True)
    custom.apply(_grads(0, True), cvs)
    assert custom._flat is None


def test_a_gradient_of_the_wrong_shape_is_named():
    opt, vs = _run("adam", on_device=True, steps=1)
    grads = _grads(1, True)
    grads[2] = standin.asarray(np.ones((3, 4), "float32"))
    with pytest.raises(ValueError, match=r"optimizer: the gradient of variable 'w2' has shape \(3, 4\), "
                                         r"expected the variable's \(4, 3\)"):
        opt.apply(grads, vs)


def test_a_model_trains_packed_and_saves_its_state(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6)).astype("float32"), rng.integers(0, 3, 64)

    def build():
        keras.set_random_seed(1)
        m = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
        m.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
        return m

    ref = build()
    ref.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    with standin.on_device():
        model = build()
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        assert isinstance(model.optimizer._flat, FlatParams)
        model.to("cpu")
        assert model.optimizer._flat is None                  # the device buffers are let go
        model.to(standin.xp)
        path = str(tmp_path / "m.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(ref.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
