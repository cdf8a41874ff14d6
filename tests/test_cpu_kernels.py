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


# ---- the recurrent step kernels -------------------------------------------------------------

def _step_args(name, n, units, keep, rng):
    """Arguments for step kernel ``name`` as lstm_gru passes them (float32, keep (n, 1))."""
    f = lambda *shape, lo=-2.0, hi=2.0: rng.uniform(lo, hi, shape).astype("float32")  # noqa: E731
    states = lambda: f(n, units)  # noqa: E731
    if name == "rnn_step":
        return [f(n, units), f(n, units), states(), keep, "tanh"]
    if name == "rnn_step_grad":
        return [f(n, units), states(), states(), keep, states()]
    if name == "lstm_step":
        return [f(n, 4 * units), f(n, 4 * units), states(), states(), keep, states(), states(), states()]
    if name == "lstm_step_grad":
        gates = np.concatenate([f(n, units, lo=0, hi=1), f(n, units, lo=0, hi=1), f(n, units, lo=-1, hi=1),
                                f(n, units, lo=0, hi=1)], axis=1)
        return [gates, f(n, units, lo=-1, hi=1), states(), states(), states(), states(), keep,
                f(n, 4 * units), states()]
    if name == "gru_step":
        return [f(n, 3 * units), f(n, 3 * units), f(3 * units), states(), keep, states(), states()]
    gates = np.concatenate([f(n, units, lo=0, hi=1), f(n, units, lo=0, hi=1), f(n, units, lo=-1, hi=1)], axis=1)
    return [gates, states(), states(), states(), states(), keep, f(n, 3 * units), states()]


@numba_missing
@pytest.mark.parametrize("name", ["rnn_step", "rnn_step_grad", "lstm_step", "lstm_step_grad", "gru_step",
                                  "gru_step_grad"])
@pytest.mark.parametrize("masked", [False, True])
def test_step_kernels_match_the_device_kernels_reference(name, masked):
    from kerasette.ops import kernels
    rng = np.random.default_rng(1)
    n, units = 6, 13                   # 13: the vector loops' remainder runs too
    keep = np.array([True, False, True, True, False, True])[:, None] if masked else None
    args = _step_args(name, n, units, keep, rng)
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    kernels.KERNELS[name].reference(np, *expected)
    cpu_kernels.step(name, *args)
    for i, (got, want) in enumerate(zip(args, expected)):
        if isinstance(got, np.ndarray) and got.dtype == np.float32:
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6, err_msg=f"{name} argument {i}")


@numba_missing
def test_rnn_step_compiles_tanh_only():
    args = _step_args("rnn_step", 2, 3, None, np.random.default_rng(0))
    args[-1] = "relu"
    with pytest.raises(ValueError, match="only activation 'tanh' is compiled, got 'relu'"):
        cpu_kernels.step("rnn_step", *args)


@numba_missing
def test_gru_step_without_recurrent_bias():
    from kerasette.ops import kernels
    rng = np.random.default_rng(2)
    args = _step_args("gru_step", 4, 9, None, rng)
    args[2] = None
    expected = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    kernels.KERNELS["gru_step"].reference(np, *expected)
    cpu_kernels.step("gru_step", *args)
    for got, want in zip(args, expected):
        if isinstance(got, np.ndarray):
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


@numba_missing
def test_tanh_is_float32_accurate_and_keeps_nan():
    z = np.linspace(-12, 12, 400001).astype("float32")
    got = cpu_kernels.tanh(z).astype("float64")
    assert np.abs(got - np.tanh(z.astype("float64"))).max() < 4e-7
    np.testing.assert_array_equal(got, -cpu_kernels.tanh(-z))                       # odd
    special = cpu_kernels.tanh(np.array([np.nan, np.inf, -np.inf, 0.0, 30.0, -8.0], "float32"))
    assert np.isnan(special[0])
    np.testing.assert_array_equal(special[1:], [1.0, -1.0, 0.0, 1.0, -1.0])


@numba_missing
def test_fit_tanh_script_gives_the_coefficients_in_use():
    import importlib.util
    import pathlib
    from kerasette import numba_loops
    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "fit_tanh.py"
    if not path.exists():
        pytest.skip("benchmarks/ not in this checkout")
    spec = importlib.util.spec_from_file_location("fit_tanh", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    p, q, worst = module.fit(float(numba_loops._TANH_CLAMP))
    assert worst < 1e-8
    in_use_p = [numba_loops._P0, numba_loops._P1, numba_loops._P2, numba_loops._P3, numba_loops._P4,
                numba_loops._P5, numba_loops._P6]
    in_use_q = [numba_loops._Q0, numba_loops._Q1, numba_loops._Q2, numba_loops._Q3]
    np.testing.assert_allclose(np.float32(p), in_use_p, rtol=1e-6)
    np.testing.assert_allclose(np.float32(q), in_use_q, rtol=1e-6)


@numba_missing
@pytest.mark.parametrize("layer", ["rnn", "lstm", "gru"])
def test_recurrent_layers_train_the_same_with_and_without_kernels(layer, monkeypatch):
    """Forward and backward of a masked, reversed, sequence-returning layer; the kernel runs."""
    calls = []
    real = cpu_kernels.step
    monkeypatch.setattr(cpu_kernels, "step", lambda name, *a: (calls.append(name), real(name, *a))[1])

    def run(on):
        keras.utils.set_random_seed(5)
        rng = np.random.default_rng(5)
        x = rng.normal(size=(16, 9, 6)).astype("float32")
        x[3, 6:] = 0                                            # padded steps, masked out
        x[7, 2:] = 0
        y = rng.normal(size=(16, 9, 8)).astype("float32")
        rnn = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[layer]
        model = keras.Sequential([keras.Input((9, 6)), keras.layers.Masking(0.0),
                                  rnn(8, return_sequences=True, go_backwards=True)])
        model.compile(optimizer="adam", loss="mse")
        was = config.cpu_kernels()
        config.set_cpu_kernels(on)
        try:
            loss = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False).history["loss"]
            out = model.predict(x, verbose=0)
        finally:
            config.set_cpu_kernels(was)
        return loss, out, model.get_weights()

    (la, oa, wa) = run(True)
    assert f"{layer}_step" in calls and f"{layer}_step_grad" in calls
    calls.clear()
    (lb, ob, wb) = run(False)
    assert not calls
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    np.testing.assert_allclose(oa, ob, rtol=1e-4, atol=1e-5)
    for a, b in zip(wa, wb):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ---- 2x2 max pooling ---------------------------------------------------------------------------

@numba_missing
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 6, 8, 5), (2, 7, 5, 33)])      # odd sizes: a row / column left out
def test_max_pool_kernels_match_the_device_kernels_reference(shape, dtype):
    from kerasette.ops import kernels
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape).astype(dtype)
    x[0, 0, 1] = x[0, 0, 0]                        # ties: the first tap wins
    x[1, 1, 0, 0] = x[1, 0, 0, 0] = np.nan         # NaN wins over numbers, as np.maximum
    n, h, w, c = shape
    y = np.empty((n, h // 2, w // 2, c), dtype)
    arg = np.empty(y.shape, np.uint8)
    cpu_kernels.max_pool_2x2(x, y, arg)
    want_y, want_arg = kernels.KERNELS["max_pool_2x2"].reference(np, x)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(arg[~np.isnan(y)], want_arg[~np.isnan(y)])
    g = rng.normal(size=y.shape).astype(dtype)
    dx = np.full(shape, 7.0, dtype)                # every element must be written
    cpu_kernels.max_pool_2x2_grad(g, arg, dx)
    np.testing.assert_array_equal(dx, kernels.KERNELS["max_pool_2x2_grad"].reference(np, g, arg, shape))


@numba_missing
def test_max_pool_layer_uses_the_kernel_and_matches_the_numpy_path(monkeypatch):
    calls = []
    real = cpu_kernels.max_pool_2x2_grad
    monkeypatch.setattr(cpu_kernels, "max_pool_2x2_grad", lambda *a: (calls.append(1), real(*a)))
    from kerasette.autograd import Tensor, backward
    from kerasette.ops.pool import MaxPool2DOp
    x = np.random.default_rng(6).normal(size=(4, 9, 10, 3)).astype("float32")

    def run(on):
        was = config.cpu_kernels()
        config.set_cpu_kernels(on)
        try:
            t = Tensor(x, requires_grad=True)
            y = MaxPool2DOp(pool_size=(2, 2), strides=(2, 2), padding="same")(t)
            backward((y * y).sum())
            return y.numpy(), t.grad
        finally:
            config.set_cpu_kernels(was)

    (ya, ga), (yb, gb) = run(True), run(False)
    assert calls
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(ga, gb)


def test_warm_up_loads_every_loop_or_reports_none():
    assert cpu_kernels.warm_up() == cpu_kernels.available()


# ---- col2im (the convolution's input gradient) ---------------------------------------------------

@numba_missing
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x_shape,kernel_hw,strides,dilation", [
    ((3, 9, 8, 5), (3, 3), (1, 1), (1, 1)),
    ((2, 11, 10, 4), (3, 2), (2, 3), (1, 1)),        # strided: rows / columns no tap reads stay 0
    ((2, 12, 12, 3), (3, 3), (1, 1), (2, 3)),        # dilated
    ((1, 5, 5, 33), (5, 5), (1, 1), (1, 1)),
])
def test_col2im_kernel_matches_the_device_kernels_reference(x_shape, kernel_hw, strides, dilation, dtype):
    from kerasette.ops import kernels
    n, h, w, c = x_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, strides, dilation
    out_hw = ((h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1)
    dcols = np.random.default_rng(8).normal(size=(n * out_hw[0] * out_hw[1], kh * kw * c)).astype(dtype)
    dx = np.full(x_shape, 7.0, dtype)                # every element must be written
    cpu_kernels.col2im(dcols, dx, out_hw, kernel_hw, strides, dilation)
    want = kernels.KERNELS["col2im"].reference(np, dcols, x_shape, kernel_hw, out_hw, strides, dilation)
    np.testing.assert_allclose(dx, want, rtol=1e-6 if dtype == "float32" else 1e-13, atol=1e-6)


@numba_missing
@pytest.mark.parametrize("padding,strides,dilation", [("same", 1, 1), ("valid", 2, 1), ("same", 1, 2)])
def test_conv_input_gradient_uses_the_kernel_and_matches_the_per_tap_path(monkeypatch, padding, strides, dilation):
    calls = []
    real = cpu_kernels.col2im
    monkeypatch.setattr(cpu_kernels, "col2im", lambda *a: (calls.append(1), real(*a)))
    from kerasette.autograd import Tensor, backward
    from kerasette.ops.conv import Conv2DOp
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 11, 10, 6)).astype("float32")
    k = rng.normal(size=(3, 3, 6, 7)).astype("float32")
    b = rng.normal(size=(7,)).astype("float32")

    def run(on):
        was = config.cpu_kernels()
        config.set_cpu_kernels(on)
        try:
            ts = [Tensor(a, requires_grad=True) for a in (x, k, b)]
            with parallel.region(True):
                y = Conv2DOp(strides=(strides,) * 2, padding=padding, dilation_rate=(dilation,) * 2,
                             activation="relu")(*ts)
                backward((y * y).sum())
            return [y.numpy()] + [t.grad for t in ts]
        finally:
            config.set_cpu_kernels(was)

    with_kernel, per_tap = run(True), run(False)
    assert calls
    for a, b_ in zip(with_kernel, per_tap):
        np.testing.assert_allclose(a, b_, rtol=1e-5, atol=1e-4)


# ---- dropout's mask -------------------------------------------------------------------------------

@numba_missing
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.9])
def test_dropout_mask_kernel_draws_the_hash_generators_numbers(dtype, rate):
    from kerasette.random import _HashGenerator
    key = 0x5DEECE66D1234567
    out = np.full((37, 129), 3.0, dtype)
    cpu_kernels.dropout_mask(out, key, rate)
    draw = _HashGenerator(np, key).random((37, 129), dtype=dtype)
    want = (draw >= rate).astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - rate))
    np.testing.assert_array_equal(out, want)
    assert abs((out == 0).mean() - rate) < 0.02


@numba_missing
def test_dropout_draws_the_same_mask_with_and_without_kernels(kernels_on):
    from kerasette import random
    x = np.ones((64, 300), "float32")
    a = np.asarray(random.dropout(x, 0.3, seed=7))
    config.set_cpu_kernels(False)
    b = np.asarray(random.dropout(x, 0.3, seed=7))
    np.testing.assert_array_equal(a, b)
    assert sorted(set(a.ravel().tolist())) == [0.0, np.float32(1 / 0.7)]


@numba_missing
@pytest.mark.parametrize("chunk_bytes", [1, 3000, 1 << 20])        # one sample a block, a few, all
def test_conv_input_gradient_in_blocks_of_samples_matches_the_per_tap_sum(chunk_bytes):
    from kerasette.ops.conv import Conv2DOp, _input_grad_compiled
    rng = np.random.default_rng(10)
    n, (ho, wo), (kh, kw), c, f = 7, (5, 4), (3, 3), 3, 4
    g2 = rng.normal(size=(n * ho * wo, f)).astype("float32")
    w = rng.normal(size=(kh, kw, c, f)).astype("float32")
    got = np.full((n, ho + kh - 1, wo + kw - 1, c), 5.0, "float32")
    _input_grad_compiled(g2, np.ascontiguousarray(w.reshape(-1, f).T), got, (ho, wo), (kh, kw), (1, 1), (1, 1),
                         chunk_bytes=chunk_bytes)
    want = np.zeros_like(got)
    Conv2DOp()._add_input_grad(np, g2, w, want, (ho, wo))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
