"""The fused LSTM / GRU ops: float64 gradchecks, a step-by-step NumPy loop, torch.nn.LSTM / GRU."""
import numpy as np
import pytest

from kerasette import ops
from kerasette.backend import to_device  # constants go where gradcheck puts the inputs
from kerasette.autograd import Tensor, gradcheck, no_grad

B, T, F, U = 3, 5, 4, 2


def sig(a):
    return 1 / (1 + np.exp(-a))


def lstm_loop(x, w, u, b, h0=None, c0=None, mask=None, go_backwards=False, rmask=None):
    """Keras 3 LSTM, one sample and one step at a time; returns (h sequence, final c)."""
    outs, cs = np.zeros((x.shape[0], x.shape[1], U)), np.zeros((x.shape[0], U))
    for n in range(x.shape[0]):
        h = np.zeros(U) if h0 is None else h0[n].copy()
        c = np.zeros(U) if c0 is None else c0[n].copy()
        order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
        for k, t in enumerate(order):
            hp = h if rmask is None else h * rmask[n]
            a = x[n, t] @ w + hp @ u + b
            i, f, g, o = sig(a[:U]), sig(a[U:2 * U]), np.tanh(a[2 * U:3 * U]), sig(a[3 * U:])
            if mask is None or mask[n, t]:
                c = f * c + i * g
                h = o * np.tanh(c)
            outs[n, k] = h
        cs[n] = c
    return outs, cs


def gru_loop(x, w, u, b, h0=None, mask=None, go_backwards=False, rmask=None):
    """Keras 3 GRU (reset_after=True), one sample and one step at a time."""
    outs = np.zeros((x.shape[0], x.shape[1], U))
    for n in range(x.shape[0]):
        h = np.zeros(U) if h0 is None else h0[n].copy()
        order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
        for k, t in enumerate(order):
            hp = h if rmask is None else h * rmask[n]
            mx, mr = x[n, t] @ w + b[0], hp @ u + b[1]
            z, r = sig(mx[:U] + mr[:U]), sig(mx[U:2 * U] + mr[U:2 * U])
            hh = np.tanh(mx[2 * U:] + r * mr[2 * U:])
            if mask is None or mask[n, t]:
                h = z * h + (1 - z) * hh
            outs[n, k] = h
    return outs


@pytest.fixture
def a():
    rng = np.random.default_rng(5)
    return dict(x=rng.standard_normal((B, T, F)), w4=rng.standard_normal((F, 4 * U)) * 0.6,
                u4=rng.standard_normal((U, 4 * U)) * 0.5, b4=rng.standard_normal(4 * U) * 0.3,
                w3=rng.standard_normal((F, 3 * U)) * 0.6, u3=rng.standard_normal((U, 3 * U)) * 0.5,
                b3=rng.standard_normal((2, 3 * U)) * 0.3, h0=rng.standard_normal((B, U)) * 0.5,
                c0=rng.standard_normal((B, U)) * 0.5,
                mask=np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 0], [0, 0, 1, 1, 1]], bool),
                rmask=(rng.random((B, U)) > 0.4) * 1.5)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_lstm_gradcheck_sequence_and_carry(a, go_backwards, masked):
    m, rm = (to_device(a["mask"]), to_device(a["rmask"])) if masked else (None, None)

    def fn(x, w, u, b, h0, c0):
        seq, c = ops.lstm(x, w, u, b, [h0, c0], m, go_backwards, rm)
        return ops.concatenate([seq[:, -1] * 0.7 + ops.sum(seq, axis=1), c * 1.3], axis=-1)
    assert gradcheck(fn, [a["x"], a["w4"], a["u4"], a["b4"], a["h0"], a["c0"]])


def test_lstm_gradcheck_carry_only_and_no_bias(a):
    assert gradcheck(lambda x, w, u, h0, c0: ops.lstm(x, w, u, None, [h0, c0], to_device(a["mask"]))[1],
                     [a["x"], a["w4"], a["u4"], a["h0"], a["c0"]])
    assert gradcheck(lambda x, w, u: ops.lstm(x, w, u)[0], [a["x"], a["w4"], a["u4"]])


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_gru_gradcheck(a, go_backwards, masked):
    m, rm = (to_device(a["mask"]), to_device(a["rmask"])) if masked else (None, None)
    assert gradcheck(lambda x, w, u, b, h0: ops.gru(x, w, u, b, [h0], m, go_backwards, rm),
                     [a["x"], a["w3"], a["u3"], a["b3"], a["h0"]])


def test_gru_gradcheck_no_bias(a):
    assert gradcheck(lambda x, w, u: ops.gru(x, w, u), [a["x"], a["w3"], a["u3"]])


@pytest.mark.parametrize("go_backwards", [False, True])
def test_values_match_step_by_step_loops(a, go_backwards):
    seq, c = ops.lstm(Tensor(a["x"]), a["w4"], a["u4"], a["b4"], [a["h0"], a["c0"]], a["mask"], go_backwards,
                      a["rmask"])
    want_seq, want_c = lstm_loop(a["x"], a["w4"], a["u4"], a["b4"], a["h0"], a["c0"], a["mask"], go_backwards,
                                 a["rmask"])
    np.testing.assert_allclose(seq.numpy(), want_seq, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.numpy(), want_c, rtol=1e-10, atol=1e-12)
    got = ops.gru(Tensor(a["x"]), a["w3"], a["u3"], a["b3"], [a["h0"]], a["mask"], go_backwards, a["rmask"])
    want = gru_loop(a["x"], a["w3"], a["u3"], a["b3"], a["h0"], a["mask"], go_backwards, a["rmask"])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


def test_float32_one_node_and_no_grad(a):
    x32 = a["x"].astype(np.float32)
    x = Tensor(x32, requires_grad=True)
    seq, c = ops.lstm(x, a["w4"].astype(np.float32), a["u4"].astype(np.float32))
    assert seq.dtype == np.float32 and seq.shape == (B, T, U) and c.shape == (B, U)
    assert seq.node is not None and seq.node.inputs[0] is x
    ops.sum(ops.add(ops.sum(seq), ops.sum(c))).backward()
    assert x.grad.shape == x.shape and x.grad.dtype == np.float32
    with no_grad():
        out = ops.gru(Tensor(x32), Tensor(a["w3"].astype(np.float32), requires_grad=True),
                      a["u3"].astype(np.float32))
    assert out.node is None and out.dtype == np.float32


def test_other_activations_are_refused(a):
    with pytest.raises(NotImplementedError, match="only activation='tanh'"):
        ops.lstm(Tensor(a["x"]), a["w4"], a["u4"], activation="relu")
    with pytest.raises(NotImplementedError, match="reset_after=True"):
        ops.gru(Tensor(a["x"]), a["w3"], a["u3"], reset_after=False)


def _torch_check(torch, ours, theirs):
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t.detach().numpy() if hasattr(t, "detach") else t, rtol=1e-9, atol=1e-11)


def test_lstm_matches_torch_values_and_gradients(a):
    torch = pytest.importorskip("torch")
    net = torch.nn.LSTM(F, U, batch_first=True, dtype=torch.float64)
    with torch.no_grad():                          # both use gate order i, f, g(c), o
        net.weight_ih_l0.copy_(torch.from_numpy(a["w4"].T))
        net.weight_hh_l0.copy_(torch.from_numpy(a["u4"].T))
        net.bias_ih_l0.copy_(torch.from_numpy(a["b4"]))
        net.bias_hh_l0.zero_()
    xt, h0t, c0t = (torch.from_numpy(a[k]).requires_grad_(True) for k in ("x", "h0", "c0"))
    yt, (_, ct) = net(xt, (h0t[None], c0t[None]))
    r = np.random.default_rng(1).standard_normal(yt.shape)
    rc = np.random.default_rng(2).standard_normal((B, U))
    ((yt * torch.from_numpy(r)).sum() + (ct[0] * torch.from_numpy(rc)).sum()).backward()

    x, w, u, b, h0, c0 = (Tensor(a[k], requires_grad=True) for k in ("x", "w4", "u4", "b4", "h0", "c0"))
    y, c = ops.lstm(x, w, u, b, [h0, c0])
    ops.add(ops.sum(y * r), ops.sum(c * rc)).backward()
    _torch_check(torch, [y.numpy(), c.numpy(), x.grad, h0.grad, c0.grad, w.grad, u.grad, b.grad],
                 [yt, ct[0], xt.grad, h0t.grad, c0t.grad, net.weight_ih_l0.grad.numpy().T,
                  net.weight_hh_l0.grad.numpy().T, net.bias_ih_l0.grad])


def _to_torch_gru_order(m):
    """Keras z, r, h blocks (last axis) -> torch r, z, n blocks (first axis of the transpose)."""
    z, r, h = np.split(m, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def test_gru_matches_torch_values_and_gradients(a):
    torch = pytest.importorskip("torch")
    net = torch.nn.GRU(F, U, batch_first=True, dtype=torch.float64)
    with torch.no_grad():                          # torch's n gate is reset-after, as Keras 3's default
        net.weight_ih_l0.copy_(torch.from_numpy(_to_torch_gru_order(a["w3"]).T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(_to_torch_gru_order(a["u3"]).T.copy()))
        net.bias_ih_l0.copy_(torch.from_numpy(_to_torch_gru_order(a["b3"][0])))
        net.bias_hh_l0.copy_(torch.from_numpy(_to_torch_gru_order(a["b3"][1])))
    xt, h0t = (torch.from_numpy(a[k]).requires_grad_(True) for k in ("x", "h0"))
    yt, _ = net(xt, h0t[None])
    r = np.random.default_rng(1).standard_normal(yt.shape)
    (yt * torch.from_numpy(r)).sum().backward()

    x, w, u, b, h0 = (Tensor(a[k], requires_grad=True) for k in ("x", "w3", "u3", "b3", "h0"))
    y = ops.gru(x, w, u, b, [h0])
    ops.sum(y * r).backward()
    back = _to_torch_gru_order                     # swapping the first two blocks is its own inverse
    gb = np.stack([back(net.bias_ih_l0.grad.numpy()), back(net.bias_hh_l0.grad.numpy())])
    _torch_check(torch, [y.numpy(), x.grad, h0.grad, w.grad, u.grad, b.grad],
                 [yt, xt.grad, h0t.grad, back(net.weight_ih_l0.grad.numpy().T),
                  back(net.weight_hh_l0.grad.numpy().T), gb])
