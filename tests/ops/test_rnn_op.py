"""The fused SimpleRNN op: float64 gradchecks and values against a step-by-step NumPy loop."""
import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import Tensor, gradcheck, no_grad
from kerasette.backend import to_device  # constants go where gradcheck puts the inputs
from kerasette.ops.rnn import simple_rnn

B, T, F, U = 3, 5, 4, 3

_ACT = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "linear": lambda a: a,
        "sigmoid": lambda a: 1 / (1 + np.exp(-a))}


def reference(x, w, u, b=None, h0=None, mask=None, activation="tanh", go_backwards=False, rmask=None):
    """Keras semantics written as the plainest loop: one sample row at a time."""
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    out = np.zeros((batch, steps, w.shape[1]))
    for i in range(batch):
        h = np.zeros(w.shape[1]) if h0 is None else np.array(h0[i], np.float64)
        order = list(range(steps))[::-1] if go_backwards else list(range(steps))
        for k, t in enumerate(order):
            hp = h if rmask is None else h * rmask[i]
            a = x[i, t] @ w + hp @ u + (0 if b is None else b)
            if mask is None or mask[i, t]:
                h = _ACT[activation](a)
            out[i, k] = h
    return out


@pytest.fixture
def arrays():
    rng = np.random.default_rng(7)
    return dict(x=rng.standard_normal((B, T, F)), w=rng.standard_normal((F, U)) * 0.6,
                u=rng.standard_normal((U, U)) * 0.5, b=rng.standard_normal(U) * 0.2,
                h0=rng.standard_normal((B, U)) * 0.5,
                mask=np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 0], [0, 0, 1, 1, 1]], bool),
                rmask=(rng.random((B, U)) > 0.4) * 1.5)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradcheck_plain(arrays, activation, go_backwards):
    a = arrays
    assert gradcheck(lambda x, w, u, b: simple_rnn(x, w, u, b, activation=activation,
                                                   go_backwards=go_backwards),
                     [a["x"], a["w"], a["u"], a["b"]])


@pytest.mark.parametrize("go_backwards", [False, True])
def test_gradcheck_mask_initial_state_and_recurrent_dropout(arrays, go_backwards):
    a = arrays
    fn = lambda x, w, u, b, h0: simple_rnn(x, w, u, b, h0, mask=to_device(a["mask"]),  # noqa: E731
                                           go_backwards=go_backwards,
                                           recurrent_dropout_mask=to_device(a["rmask"]))
    assert gradcheck(fn, [a["x"], a["w"], a["u"], a["b"], a["h0"]])


def test_gradcheck_without_bias_with_initial_state(arrays):
    a = arrays
    assert gradcheck(lambda x, w, u, h0: simple_rnn(x, w, u, None, h0), [a["x"], a["w"], a["u"], a["h0"]])


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_values_match_a_step_by_step_loop(arrays, activation, go_backwards):
    a = arrays
    got = simple_rnn(Tensor(a["x"]), a["w"], a["u"], a["b"], a["h0"], a["mask"], activation, go_backwards,
                     a["rmask"]).numpy()
    want = reference(a["x"], a["w"], a["u"], a["b"], a["h0"], a["mask"], activation, go_backwards, a["rmask"])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_float32_in_float32_out(arrays):
    a = {k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in arrays.items()}
    out = simple_rnn(Tensor(a["x"]), a["w"], a["u"], a["b"])
    assert out.dtype == np.float32 and out.shape == (B, T, U)
    np.testing.assert_allclose(out.numpy(), reference(a["x"], a["w"], a["u"], a["b"]), rtol=1e-5, atol=1e-5)


def test_one_graph_node_per_call(arrays):
    a = arrays
    x = Tensor(a["x"], requires_grad=True)
    w = Tensor(a["w"], requires_grad=True)
    out = simple_rnn(x, w, a["u"], a["b"])
    assert out.node is not None and out.node.inputs[0] is x and out.node.inputs[1] is w
    ops.sum(out).backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


def test_no_grad_keeps_nothing(arrays):
    a = arrays
    with no_grad():
        out = simple_rnn(Tensor(a["x"]), Tensor(a["w"], requires_grad=True), a["u"])
    assert out.node is None and not out.requires_grad


def test_unknown_activation_is_refused(arrays):
    a = arrays
    with pytest.raises(ValueError, match="activation must be one of"):
        simple_rnn(Tensor(a["x"]), a["w"], a["u"], activation="softsign")


def test_matches_torch_rnn_values_and_gradients(arrays):
    torch = pytest.importorskip("torch")
    a = arrays
    rnn = torch.nn.RNN(F, U, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(a["w"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(a["u"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(a["b"]))
        rnn.bias_hh_l0.zero_()
    xt = torch.from_numpy(a["x"]).requires_grad_(True)
    h0t = torch.from_numpy(a["h0"]).requires_grad_(True)
    yt, _ = rnn(xt, h0t[None])
    r = np.random.default_rng(0).standard_normal(yt.shape)
    (yt * torch.from_numpy(r)).sum().backward()

    x, w, u, b, h0 = (Tensor(a[k], requires_grad=True) for k in ("x", "w", "u", "b", "h0"))
    y = simple_rnn(x, w, u, b, h0)
    ops.sum(ops.multiply(y, r)).backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h0.grad, h0t.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w.grad, rnn.weight_ih_l0.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(u.grad, rnn.weight_hh_l0.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad, rnn.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
