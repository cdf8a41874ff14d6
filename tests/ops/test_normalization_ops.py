"""Normalization ops (kerasette/ops/normalization.py): the fused batch-norm and
layer-norm nodes. float64 gradchecks on 2-D and 4-D inputs, NumPy forward
references, and a cross-check against PyTorch when it is installed."""
import importlib

import numpy as np
import pytest

from kerasette import ops
from kerasette.backend import to_device  # inputs go to the default device (the stand-in pass)
from kerasette.autograd import Tensor, backward, gradcheck

norm_mod = importlib.import_module("kerasette.ops.normalization")

R = np.random.default_rng(11)
EPS = 1e-3


def rand(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, size=shape)


X2, X4 = rand(6, 3) * 1.5 + 0.5, rand(2, 3, 2, 3)
G, B = rand(3, lo=0.5, hi=1.5), rand(3)
M, V = rand(3), rand(3, lo=0.5, hi=2.0)
X4_AX1 = rand(3, 4, 2, 2)
G4, B4 = rand(4, lo=0.5, hi=1.5), rand(4)


# ---- NumPy references -----------------------------------------------------
def np_bn(x, mean, var, gamma=None, beta=None, eps=EPS, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    return y if beta is None else y + beta.reshape(shape)


def np_bn_batch(x, gamma=None, beta=None, eps=EPS, axis=-1):
    red = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    return np_bn(x, x.mean(red), x.var(red), gamma, beta, eps, axis)


def np_ln(x, gamma=None, beta=None, eps=EPS):
    y = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    if gamma is not None:
        y = y * gamma
    return y if beta is None else y + beta


# (case id, op name, fn on Tensors, inputs, NumPy reference)
CASES = [
    ("bn_batch_2d", "batch_norm", lambda x, g, b: ops.batch_norm(x, gamma=g, beta=b), [X2, G, B],
     np_bn_batch),
    ("bn_batch_4d", "batch_norm", lambda x, g, b: ops.batch_norm(x, gamma=g, beta=b), [X4, G, B],
     np_bn_batch),
    ("bn_batch_plain_4d", "batch_norm", lambda x: ops.batch_norm(x), [X4], lambda x: np_bn_batch(x)),
    ("bn_batch_axis1_4d", "batch_norm", lambda x, g, b: ops.batch_norm(x, gamma=g, beta=b, axis=1),
     [X4_AX1, G4, B4], lambda x, g, b: np_bn_batch(x, g, b, axis=1)),
    ("bn_given_2d", "batch_norm", lambda x, m, v, g, b: ops.batch_norm(x, m, v, g, b), [X2, M, V, G, B],
     np_bn),
    ("bn_given_4d", "batch_norm", lambda x, m, v, g, b: ops.batch_norm(x, m, v, g, b), [X4, M, V, G, B],
     np_bn),
    ("bn_keras_form", "batch_normalization",
     lambda x, m, v, g, b: ops.batch_normalization(x, m, v, axis=-1, offset=b, scale=g, epsilon=0.01),
     [X4, M, V, G, B], lambda x, m, v, g, b: np_bn(x, m, v, g, b, eps=0.01)),
    ("ln_2d", "layer_norm", lambda x, g, b: ops.layer_norm(x, g, b), [X2, G, B], np_ln),
    ("ln_4d", "layer_norm", lambda x, g, b: ops.layer_norm(x, g, b), [X4, G, B], np_ln),
    ("ln_plain_4d", "layer_norm", lambda x: ops.layer_norm(x), [X4], lambda x: np_ln(x)),
    ("ln_beta_only", "layer_norm", lambda x, b: ops.layer_norm(x, beta=b), [X2, B],
     lambda x, b: np_ln(x, None, b)),
    ("ln_keras_form", "layer_normalization",
     lambda x, g, b: ops.layer_normalization(x, g, b, epsilon=0.01), [X4, G, B],
     lambda x, g, b: np_ln(x, g, b, eps=0.01)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(case):
    _, _, fn, inputs, ref = case
    out = fn(*[Tensor(to_device(a)) for a in inputs])
    expected = ref(*inputs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    _, _, fn, inputs, _ = case
    assert gradcheck(fn, [a.copy() for a in inputs])


def test_every_normalization_op_is_covered():
    public = set(norm_mod.__all__)
    covered = {c[1] for c in CASES}
    assert public - covered == set(), f"ops without a gradcheck row: {sorted(public - covered)}"


def test_float32_in_float32_out():
    x = Tensor(X4.astype(np.float32), requires_grad=True)
    g = Tensor(G.astype(np.float32), requires_grad=True)
    y, mean, var = ops.batch_norm(x, gamma=g, return_stats=True)
    assert y.dtype == np.float32 and mean.dtype == np.float32 and var.dtype == np.float32
    assert mean.requires_grad and mean.node is y.node and mean.shape == (3,)   # results of one node
    np.testing.assert_allclose(mean.numpy(), X4.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.numpy(), X4.var((0, 1, 2)), rtol=1e-5)
    backward(y, np.ones(y.shape, np.float32))
    assert x.grad.dtype == np.float32 and g.grad.dtype == np.float32
    assert ops.layer_norm(Tensor(X2.astype(np.float32))).dtype == np.float32


def test_batch_statistics_gradient_sums_to_zero_per_channel():
    # the output is invariant to shifting a channel, so dx sums to zero over the batch
    x = Tensor(X4, requires_grad=True)
    y = ops.batch_norm(x, gamma=Tensor(G))
    backward(y, rand(*X4.shape))
    np.testing.assert_allclose(x.grad.sum((0, 1, 2)), 0, atol=1e-10)


def test_given_stats_with_return_stats_and_bad_arguments():
    y, m, v = ops.batch_norm(Tensor(X2), Tensor(M), Tensor(V), return_stats=True)
    np.testing.assert_array_equal(m.numpy(), M)
    np.testing.assert_array_equal(v.numpy(), V)
    with pytest.raises(ValueError, match="both mean and variance"):
        ops.batch_norm(Tensor(X2), Tensor(M))
    with pytest.raises(NotImplementedError, match="last axis"):
        ops.layer_normalization(Tensor(X4), axis=1)


def test_layer_normalization_default_epsilon_matches_keras_example():
    out = ops.layer_normalization(Tensor(np.arange(5, dtype=np.float32)))
    np.testing.assert_allclose(out.numpy(), [-1.4142135, -0.70710677, 0.0, 0.7071067, 1.4142135], rtol=1e-5)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x4 = X4.astype(np.float32)
    g, b = G.astype(np.float32), B.astype(np.float32)
    tx = torch.tensor(x4).permute(0, 3, 1, 2).contiguous().requires_grad_(True)   # NCHW for torch
    tg, tb = torch.tensor(g, requires_grad=True), torch.tensor(b, requires_grad=True)
    ty = F.batch_norm(tx, None, None, tg, tb, training=True, eps=EPS)
    probe = R.standard_normal(x4.shape).astype(np.float32)
    ty.backward(torch.tensor(probe).permute(0, 3, 1, 2))
    kx, kg, kb = (Tensor(a, requires_grad=True) for a in (x4, g, b))
    ky = ops.batch_norm(kx, gamma=kg, beta=kb, epsilon=EPS)
    backward(ky, probe)
    np.testing.assert_allclose(ky.numpy(), ty.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(kx.grad, tx.grad.permute(0, 2, 3, 1).numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(kg.grad, tg.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(kb.grad, tb.grad.numpy(), rtol=1e-4, atol=1e-4)

    tx = torch.tensor(x4, requires_grad=True)
    tg, tb = torch.tensor(g, requires_grad=True), torch.tensor(b, requires_grad=True)
    ty = F.layer_norm(tx, (3,), tg, tb, eps=EPS)
    ty.backward(torch.tensor(probe))
    kx, kg, kb = (Tensor(a, requires_grad=True) for a in (x4, g, b))
    ky = ops.layer_norm(kx, kg, kb, epsilon=EPS)
    backward(ky, probe)
    np.testing.assert_allclose(ky.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for mine, theirs in ((kx, tx), (kg, tg), (kb, tb)):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_batch_statistics_are_differentiable_results_of_the_same_node():
    """The op's three results (y, batch mean, batch variance) each carry their gradient back to x."""
    def fn(x, g):
        y, mean, var = ops.batch_norm(x, gamma=g, return_stats=True)
        return ops.concatenate([ops.reshape(y, (-1,)), mean * 3.0, var * 2.0], axis=0)

    assert gradcheck(fn, [X4.copy(), G.copy()])

    def stats_only(x):                                  # y receives no gradient at all
        _, mean, var = ops.batch_norm(x, return_stats=True)
        return mean + var

    assert gradcheck(stats_only, [X4.copy()])
