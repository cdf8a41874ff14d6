"""The custom-kernel registry: every kernel's CUDA source compiles with NVRTC (no GPU
needed), every reference matches an independent NumPy formula, and on a device module
(the stand-in) the ops really dispatch through the registry with the same results as
the CPU code."""
import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import Tensor, backward
from kerasette.ops import kernels
from kerasette.ops.conv import Conv2DOp
from kerasette.optimizers import SGD, Adam, AdamW
from kerasette.testing import standin

RNG = np.random.default_rng(0)
COVERED = {"bias_act", "act_grad", "adam_update", "sgd_momentum_update", "softmax_xent_grad", "max_pool_2x2", "max_pool_2x2_grad",
           "max_pool", "max_pool_grad",
           "col2im", "lstm_step", "lstm_step_grad", "gru_step", "gru_step_grad",
           "rnn_step", "rnn_step_grad"}


def test_every_kernel_has_a_test_row():
    assert set(kernels.KERNELS) == COVERED


# ---- CUDA sources ---------------------------------------------------------------------------

def _nvrtc_or_skip():
    try:
        from cupy_backends.cuda.libs import nvrtc
        nvrtc.getVersion()
    except Exception as e:  # noqa: BLE001 - not installed, or the NVRTC library is missing
        pytest.skip(f"CuPy's NVRTC is not available here ({e}); CI installs cupy-cuda12x and "
                    "nvidia-cuda-nvrtc-cu12")


@pytest.mark.parametrize("arch", ["80", "90"])
@pytest.mark.parametrize("name", sorted(COVERED))
def test_cuda_source_compiles_with_nvrtc(name, arch):
    _nvrtc_or_skip()
    kernel = kernels.KERNELS[name]
    ptx = kernels.compile_ptx(kernel, arch)
    assert f".target sm_{arch}".encode() in ptx
    # one entry point per dtype (and per activation where there are several)
    assert ptx.count(b".entry") == kernel.source.count("__global__")


def test_a_compile_error_is_reported_with_the_log():
    _nvrtc_or_skip()
    bad = kernels.Kernel("broken_for_test", 'extern "C" __global__ void f(float* y) { y[0] = undefined_name; }',
                         None, None)
    try:
        with pytest.raises(RuntimeError, match="(?s)kernel broken_for_test: NVRTC failed.*undefined_name"):
            kernels.compile_ptx(bad)
    finally:
        del kernels.KERNELS["broken_for_test"]


# ---- references against NumPy formulas --------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", [None, "relu", "tanh", "sigmoid"])
def test_bias_act_and_its_gradient(act, dtype):
    y, b, g = (RNG.standard_normal(s).astype(dtype) for s in ((5, 4), (4,), (5, 4)))
    s = y + b
    want = {None: s, "relu": np.maximum(s, 0), "tanh": np.tanh(s), "sigmoid": 1 / (1 + np.exp(-s))}[act]
    out = kernels.run("bias_act", np, y.copy(), b, act)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    if act is not None:
        deriv = {"relu": (s > 0) * 1.0, "tanh": 1 - want ** 2, "sigmoid": want * (1 - want)}[act]
        np.testing.assert_allclose(kernels.run("act_grad", np, want, g, act), g * deriv, rtol=1e-6)


def test_kernels_refuse_mixed_dtypes_as_cuda_would():
    y, g = np.ones((2, 3), "float32"), np.ones((2, 3))
    with pytest.raises(TypeError, match="kernel act_grad: expected float32 or float64 arrays of one dtype, "
                                        "got float32, float64"):
        kernels.run("act_grad", np, y, g, "relu")
    with pytest.raises(ValueError, match="kernel bias_act: activation must be one of"):
        kernels.run("bias_act", np, y, np.ones(3, "float32"), "softmax")


def test_adam_update_matches_the_formula():
    w, g, m, v = (RNG.standard_normal(7) for _ in range(4))
    v = np.abs(v)
    w0, m0, v0 = w.copy(), m.copy(), v.copy()
    kernels.run("adam_update", np, w, g, m, v, 0.01, 0.9, 0.999, 1e-7)
    m1 = 0.9 * m0 + 0.1 * g
    v1 = 0.999 * v0 + 0.001 * g * g
    np.testing.assert_allclose(m, m1)
    np.testing.assert_allclose(v, v1)
    np.testing.assert_allclose(w, w0 - 0.01 * m1 / (np.sqrt(v1) + 1e-7))


def test_adam_update_folds_adamw_decay_into_its_pass():
    w, g, m, v = (RNG.standard_normal(7) for _ in range(4))
    v = np.abs(v)
    w0, m0, v0 = w.copy(), m.copy(), v.copy()
    kernels.run("adam_update", np, w, g, m, v, 0.01, 0.9, 0.999, 1e-7, 0.05)
    m1, v1 = 0.9 * m0 + 0.1 * g, 0.999 * v0 + 0.001 * g * g
    np.testing.assert_allclose(w, w0 * 0.95 - 0.01 * m1 / (np.sqrt(v1) + 1e-7))


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_update_matches_the_formula(nesterov):
    w, g, m = (RNG.standard_normal(7) for _ in range(3))
    w0, m0 = w.copy(), m.copy()
    kernels.run("sgd_momentum_update", np, w, g, m, 0.1, 0.9, nesterov)
    m1 = 0.9 * m0 - 0.1 * g
    np.testing.assert_allclose(m, m1)
    np.testing.assert_allclose(w, w0 + (0.9 * m1 - 0.1 * g if nesterov else m1))
    with pytest.raises(ValueError, match="sgd_momentum_update: w, g, m must have one shape"):
        kernels.run("sgd_momentum_update", np, w, g[:3], m, 0.1, 0.9, nesterov)


def test_softmax_xent_grad_matches_onehot_formula():
    p = RNG.random((3, 2, 5))
    labels, g = RNG.integers(0, 5, (3, 2)), RNG.standard_normal((3, 2))
    want = (p - np.eye(5)[labels]) * g[..., None]
    np.testing.assert_allclose(kernels.run("softmax_xent_grad", np, p, labels, g), want)


def test_max_pool_2x2_takes_the_first_maximum_and_routes_the_gradient_there():
    x = RNG.integers(0, 3, (2, 5, 4, 3)).astype("float64")        # many ties; an odd height
    y, arg = kernels.run("max_pool_2x2", np, x)
    windows = x[:, :4].reshape(2, 2, 2, 2, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 2, 3, 4)
    np.testing.assert_array_equal(y, windows.max(-1))
    np.testing.assert_array_equal(arg, windows.argmax(-1))        # argmax: the first maximum
    g = RNG.standard_normal(y.shape)
    dx = kernels.run("max_pool_2x2_grad", np, g, arg, x.shape)
    assert dx.shape == x.shape and not dx[:, 4:].any()             # the uncovered last row
    np.testing.assert_allclose(dx.sum(), g.sum())
    picked = dx[:, :4].reshape(2, 2, 2, 2, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 2, 3, 4)
    np.testing.assert_allclose(np.take_along_axis(picked, arg[..., None].astype(int), -1)[..., 0], g)


@pytest.mark.parametrize("strides,dilation", [((1, 1), (1, 1)), ((2, 1), (1, 1)), ((1, 2), (2, 1))])
def test_col2im_is_the_adjoint_of_im2col(strides, dilation):
    """<im2col(x), d> == <x, col2im(d)> for random x and d: col2im is im2col's transpose."""
    n, h, w, c, kh, kw = 2, 7, 6, 3, 3, 2
    (sh, sw), (dh, dw) = strides, dilation
    ho, wo = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1
    x = RNG.standard_normal((n, h, w, c))
    cols = np.stack([x[:, i * dh:i * dh + (ho - 1) * sh + 1:sh, j * dw:j * dw + (wo - 1) * sw + 1:sw, :]
                     for i in range(kh) for j in range(kw)], axis=3).reshape(n * ho * wo, kh * kw * c)
    d = RNG.standard_normal(cols.shape)
    dx = kernels.run("col2im", np, d, x.shape, (kh, kw), (ho, wo), strides, dilation)
    np.testing.assert_allclose(np.sum(cols * d), np.sum(x * dx))


# ---- ops on a device module go through the registry -------------------------------------------

@pytest.fixture
def calls(monkeypatch):
    """Names of the kernels the ops ran (through ``kernels.run``)."""
    seen = []
    real = kernels.run

    def spy(name, xp, *args, **kwargs):
        seen.append(name)
        return real(name, xp, *args, **kwargs)

    monkeypatch.setattr(kernels, "run", spy)
    return seen


def _both(fn, *arrays):
    """``fn`` on NumPy Tensors and on stand-in Tensors; values and gradients as NumPy."""
    out = []
    for dev in (False, True):
        ts = [Tensor(standin.asarray(a) if dev else a, requires_grad=True) for a in arrays]
        y = fn(*ts)
        backward(ops.sum(y * 1.5))
        out.append([standin.to_host(y.value) if dev else y.value] +
                   [standin.to_host(t.grad) if dev else t.grad for t in ts])
    return out


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("act", [a for a in kernels.FUSED_ACTIVATIONS if a is not None])
def test_dense_on_device_uses_bias_act_and_act_grad(calls, act, bias):
    x, w, b = (RNG.standard_normal(s) for s in ((6, 4), (4, 3), (3,)))
    cpu, dev = _both(lambda *t: ops.dense(*t, activation=act), x, w, *([b] if bias else []))
    assert calls == ["bias_act", "act_grad"]                  # one launch each way, nothing else
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a, rtol=1e-9, atol=1e-6 if act == "gelu" else 1e-12)


def test_softmax_xent_on_device_uses_its_kernel(calls):
    logits, labels = RNG.standard_normal((5, 4)), RNG.integers(0, 4, 5)
    cpu, dev = [], []
    for out, dev_flag in ((cpu, False), (dev, True)):
        z = Tensor(standin.asarray(logits) if dev_flag else logits, requires_grad=True)
        lab = standin.asarray(labels) if dev_flag else labels
        backward(ops.sum(ops.softmax_cross_entropy(z, lab)))
        out.append(standin.to_host(z.grad) if dev_flag else z.grad)
    assert "softmax_xent_grad" in calls
    np.testing.assert_allclose(dev[0], cpu[0], rtol=1e-10)


@pytest.mark.parametrize("pool,strides", [((3, 3), (2, 2)), ((3, 2), (1, 1)), ((2, 2), (1, 2)), ((1, 1), (1, 1))])
def test_max_pool_any_window_takes_the_first_maximum_and_adds_overlapping_gradients(pool, strides):
    x = RNG.integers(0, 3, (2, 7, 6, 3)).astype("float64")           # many ties
    y, arg = kernels.run("max_pool", np, x, pool, strides)
    (ph, pw), (sh, sw) = pool, strides
    ho, wo = (7 - ph) // sh + 1, (6 - pw) // sw + 1
    assert y.shape == (2, ho, wo, 3) and arg.dtype == np.int32
    g = RNG.standard_normal(y.shape)
    want = np.zeros_like(x)
    for i in range(ho):                                               # a plain loop, window by window
        for j in range(wo):
            win = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw].reshape(2, ph * pw, 3)
            np.testing.assert_array_equal(y[:, i, j], win.max(1))
            np.testing.assert_array_equal(arg[:, i, j], win.argmax(1))     # the first maximum
            for n in range(2):
                for c in range(3):
                    a, b = divmod(int(win[n, :, c].argmax()), pw)
                    want[n, i * sh + a, j * sw + b, c] += g[n, i, j, c]
    np.testing.assert_allclose(kernels.run("max_pool_grad", np, g, arg, x.shape, pool, strides), want)


@pytest.mark.parametrize("pool,strides,padding", [(3, 2, "valid"), (3, 2, "same"), (3, 1, "same"), (2, 1, "valid")])
def test_max_pool_any_window_on_device_uses_its_kernels(calls, pool, strides, padding):
    x = RNG.integers(0, 4, (2, 7, 6, 3)).astype("float64")          # ties, odd sizes
    cpu, dev = _both(lambda t: ops.max_pool(t, pool, strides, padding=padding), x)
    assert {"max_pool", "max_pool_grad"} <= set(calls)
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_max_pool_2x2_on_device_uses_its_kernels(calls, padding):
    x = RNG.integers(0, 4, (2, 5, 6, 3)).astype("float64")          # ties, an odd size
    cpu, dev = _both(lambda t: ops.max_pool(t, 2, 2, padding=padding), x)
    assert {"max_pool_2x2", "max_pool_2x2_grad"} <= set(calls)
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a)


@pytest.mark.parametrize("strides,padding,dilation", [((1, 1), "valid", (1, 1)), ((2, 2), "same", (1, 1)),
                                                       ((1, 1), "same", (2, 2))])
def test_conv_input_gradient_on_device_uses_col2im(calls, strides, padding, dilation):
    x, w, b = (RNG.standard_normal(s) for s in ((2, 7, 6, 3), (3, 3, 3, 4), (4,)))
    cpu, dev = _both(lambda *t: Conv2DOp(strides, padding, dilation)(*t), x, w, b)
    assert "col2im" in calls
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_on_device_runs_one_kernel_per_step(calls, masked, go_backwards):
    B, T, F, U = 3, 5, 4, 6
    x, w, u, b, h0, c0 = (RNG.standard_normal(s) * 0.5 for s in ((B, T, F), (F, 4 * U), (U, 4 * U), (4 * U,),
                                                                 (B, U), (B, U)))
    mask = np.array([[1, 1, 0, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], bool) if masked else None

    def fn(*t):
        m = None if mask is None else (standin.asarray(mask) if type(t[0].value) is standin.StandinArray else mask)
        seq, c = ops.lstm(t[0], t[1], t[2], t[3], [t[4], t[5]], m, go_backwards)
        return ops.concatenate([ops.reshape(seq, (B, -1)), c], axis=1)
    cpu, dev = _both(fn, x, w, u, b, h0, c0)
    assert calls.count("lstm_step") == T and calls.count("lstm_step_grad") == T
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_gru_on_device_runs_one_kernel_per_step(calls, masked, bias):
    B, T, F, U = 3, 5, 4, 6
    x, w, u, b, h0 = (RNG.standard_normal(s) * 0.5 for s in ((B, T, F), (F, 3 * U), (U, 3 * U), (2, 3 * U),
                                                             (B, U)))
    mask = np.array([[1, 1, 0, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], bool) if masked else None

    def fn(x, w, u, h0, *b):
        m = None if mask is None else (standin.asarray(mask) if type(x.value) is standin.StandinArray else mask)
        return ops.gru(x, w, u, b[0] if b else None, [h0], m)
    cpu, dev = _both(fn, x, w, u, h0, *([b] if bias else []))
    assert calls.count("gru_step") == T and calls.count("gru_step_grad") == T
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
def test_simple_rnn_on_device_runs_one_kernel_per_step(calls, masked, activation):
    from kerasette.ops.rnn import simple_rnn
    B, T, F, U = 3, 5, 4, 6
    x, w, u, b, h0 = (RNG.standard_normal(s) * 0.5 for s in ((B, T, F), (F, U), (U, U), (U,), (B, U)))
    mask = np.array([[1, 1, 0, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]], bool) if masked else None

    def fn(*t):
        m = None if mask is None else (standin.asarray(mask) if type(t[0].value) is standin.StandinArray else mask)
        return simple_rnn(*t, mask=m, activation=activation)
    cpu, dev = _both(fn, x, w, u, b, h0)
    assert calls.count("rnn_step") == T and calls.count("rnn_step_grad") == T
    for a, d in zip(cpu, dev):
        np.testing.assert_allclose(d, a, rtol=1e-10, atol=1e-12)


def test_lstm_step_kernels_check_their_arguments():
    g, s = np.zeros((2, 8), "float32"), np.zeros((2, 2), "float32")
    with pytest.raises(TypeError, match="lstm_step: expected float32 or float64 arrays of one dtype"):
        kernels.run("lstm_step", np, g, g, s.astype("float64"), s, None, s, s, s)
    with pytest.raises(ValueError, match=r"lstm_step: expected gates \(batch, 4\*units\)"):
        kernels.run("lstm_step", np, g[:, :6], g[:, :6], s, s, None, s, s, s)
    with pytest.raises(ValueError, match="keep must hold one flag per sample"):
        kernels.run("lstm_step_grad", np, g, s, s, s, s, s, np.ones(3, bool), g, s)
    with pytest.raises(ValueError, match=r"lstm_step_grad: d_pre must have the gates' shape \(2, 8\)"):
        kernels.run("lstm_step_grad", np, g, s, s, s, s, s, None, g[:, :4], s)


OPTIMIZERS_ON_DEVICE = {
    "adam": (lambda: Adam(learning_rate=0.01), "adam_update"),
    "adamw, decay in the same kernel": (lambda: AdamW(learning_rate=0.01, weight_decay=0.1), "adam_update"),
    "sgd momentum": (lambda: SGD(learning_rate=0.05, momentum=0.9), "sgd_momentum_update"),
    "sgd nesterov": (lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True), "sgd_momentum_update"),
}


@pytest.mark.parametrize("case", sorted(OPTIMIZERS_ON_DEVICE))
def test_optimizer_on_device_uses_its_kernel(calls, case):
    make, kernel = OPTIMIZERS_ON_DEVICE[case]
    w0, g0 = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    results = []
    for dev in (False, True):
        opt = make()
        w = Tensor(standin.asarray(w0) if dev else w0.copy(), requires_grad=True)
        for _ in range(3):
            opt.apply([standin.asarray(g0) if dev else g0], [w])
        results.append(standin.to_host(w.value) if dev else w.value)
    assert kernel in calls
    assert not np.allclose(results[0], w0)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10)
