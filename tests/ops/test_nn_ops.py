"""Neural-network ops (kerasette/ops/nn.py): activations, softmax, the fused
cross-entropies and the fused dense node. float64 gradchecks plus NumPy
forward references; labels are constants captured by closure."""
import importlib

import numpy as np
import pytest

from kerasette import ops
from kerasette.backend import to_device  # constants go where gradcheck puts the inputs
from kerasette.autograd import Tensor, backward, gradcheck

nn_mod = importlib.import_module("kerasette.ops.nn")

R = np.random.default_rng(3)


def rand(*shape, scale=2.0):
    return R.uniform(-scale, scale, size=shape)


def away(*shape, points=(0.0,), margin=0.2, scale=2.0):
    x = R.uniform(-scale, scale, size=shape)
    for p in points:
        close = np.abs(x - p) < margin
        x[close] = p + np.where(x[close] >= p, margin, -margin) * 1.5
    return x


# ---- NumPy references -----------------------------------------------------
def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    return np.log(np_softmax(x, axis))


def np_gelu_erf(x):
    import math
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805

SPARSE = np.array([2, 0, 1, 2])
SPARSE_3D = np.array([[0, 3], [1, 1], [3, 2]])
ONEHOT = np.eye(3)[[1, 0, 2, 2]]
SOFT = np.abs(R.normal(size=(4, 3)))          # unnormalised soft labels: sum != 1
BIN = R.uniform(size=(4, 3))


def np_sparse_xent(logits, labels):
    lp = np_log_softmax(logits)
    return -np.take_along_axis(lp, labels[..., None], axis=-1)[..., 0]


def np_dense(x, w, b=None, act=None):
    y = x @ w + (0 if b is None else b)
    return {None: lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "sigmoid": np_sigmoid}[act](y)


def dense_case(act, x_shape, bias):
    x = rand(*x_shape, scale=1.0)
    w = rand(x_shape[-1], 5, scale=1.0)
    inputs = [x, w] + ([rand(5, scale=0.5)] if bias else [])
    if act == "relu":   # keep pre-activations away from the kink
        z = np_dense(*inputs)
        assert np.abs(z).min() > 1e-3
    name = f"dense_{act}_{len(x_shape)}d_{'bias' if bias else 'nobias'}"
    fn = (lambda x, w, b: ops.dense(x, w, b, activation=act)) if bias else \
         (lambda x, w: ops.dense(x, w, activation=act))
    ref = (lambda x, w, b: np_dense(x, w, b, act)) if bias else (lambda x, w: np_dense(x, w, None, act))
    return (name, "dense", fn, inputs, ref)


DROP_X = rand(4, 5)


def np_dropout(x, rate, seed):
    keep = np.random.default_rng(seed).random(x.shape, dtype=np.float32) >= rate
    return x * keep * (1.0 / (1.0 - rate))


# (case id, op name, fn on Tensors, inputs, NumPy reference)
CASES = [
    ("relu", "relu", ops.relu, [away(3, 4)], lambda x: np.maximum(x, 0)),
    ("sigmoid", "sigmoid", ops.sigmoid, [rand(3, 4, scale=5)], np_sigmoid),
    ("tanh", "tanh", ops.tanh, [rand(3, 4)], np.tanh),
    ("softmax_last", "softmax", ops.softmax, [rand(3, 4)], np_softmax),
    ("softmax_axis0", "softmax", lambda x: ops.softmax(x, axis=0), [rand(3, 4)], lambda x: np_softmax(x, 0)),
    ("softmax_axis1_3d", "softmax", lambda x: ops.softmax(x, axis=1), [rand(2, 3, 4)], lambda x: np_softmax(x, 1)),
    ("log_softmax_last", "log_softmax", ops.log_softmax, [rand(3, 4)], np_log_softmax),
    ("log_softmax_axis0", "log_softmax", lambda x: ops.log_softmax(x, axis=0), [rand(3, 4)],
     lambda x: np_log_softmax(x, 0)),
    ("log_softmax_axis1_3d", "log_softmax", lambda x: ops.log_softmax(x, axis=1), [rand(2, 3, 4)],
     lambda x: np_log_softmax(x, 1)),
    ("elu", "elu", ops.elu, [away(3, 4)], lambda x: np.where(x > 0, x, np.expm1(x))),
    ("elu_alpha", "elu", lambda x: ops.elu(x, alpha=0.5), [away(3, 4)], lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    ("selu", "selu", ops.selu, [away(3, 4)], lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x))),
    ("softplus", "softplus", ops.softplus, [rand(3, 4, scale=5)], lambda x: np.log1p(np.exp(x))),
    ("softsign", "softsign", ops.softsign, [away(3, 4)], lambda x: x / (1 + np.abs(x))),
    ("leaky_relu", "leaky_relu", ops.leaky_relu, [away(3, 4)], lambda x: np.where(x > 0, x, 0.2 * x)),
    ("leaky_relu_slope", "leaky_relu", lambda x: ops.leaky_relu(x, negative_slope=0.1), [away(3, 4)],
     lambda x: np.where(x > 0, x, 0.1 * x)),
    ("silu", "silu", ops.silu, [rand(3, 4, scale=4)], lambda x: x * np_sigmoid(x)),
    ("gelu", "gelu", ops.gelu, [rand(3, 4, scale=3)], np_gelu_tanh),
    ("gelu_exact", "gelu", lambda x: ops.gelu(x, approximate=False), [rand(3, 4, scale=3)], np_gelu_erf),
    ("hard_sigmoid", "hard_sigmoid", ops.hard_sigmoid, [away(3, 4, points=(-3.0, 3.0), scale=4)],
     lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("relu6", "relu6", ops.relu6, [away(3, 4, points=(0.0, 6.0), scale=8)], lambda x: np.clip(x, 0, 6)),
    ("xent_sparse", "softmax_cross_entropy", lambda z: ops.softmax_cross_entropy(z, to_device(SPARSE)), [rand(4, 3)],
     lambda z: np_sparse_xent(z, SPARSE)),
    ("xent_sparse_3d", "softmax_cross_entropy", lambda z: ops.softmax_cross_entropy(z, to_device(SPARSE_3D)),
     [rand(3, 2, 4)], lambda z: np_sparse_xent(z, SPARSE_3D)),
    ("xent_onehot", "softmax_cross_entropy", lambda z: ops.softmax_cross_entropy(z, to_device(ONEHOT)), [rand(4, 3)],
     lambda z: -(ONEHOT * np_log_softmax(z)).sum(-1)),
    ("xent_soft", "softmax_cross_entropy", lambda z: ops.softmax_cross_entropy(z, to_device(SOFT)), [rand(4, 3)],
     lambda z: -(SOFT * np_log_softmax(z)).sum(-1)),
    ("xent_large_logits", "softmax_cross_entropy", lambda z: ops.softmax_cross_entropy(z * 100.0, to_device(SPARSE)),
     [rand(4, 3)], lambda z: np_sparse_xent(z * 100.0, SPARSE)),
    ("sigmoid_xent", "sigmoid_cross_entropy", lambda z: ops.sigmoid_cross_entropy(z, to_device(BIN)), [rand(4, 3, scale=4)],
     lambda z: -(BIN * np.log(np_sigmoid(z)) + (1 - BIN) * np.log(1 - np_sigmoid(z)))),
    dense_case(None, (4, 3), True),
    dense_case(None, (4, 3), False),
    dense_case("relu", (4, 3), True),
    dense_case("tanh", (4, 3), True),
    dense_case("sigmoid", (4, 3), True),
    dense_case(None, (2, 3, 4), True),
    dense_case("relu", (2, 3, 4), False),
    dense_case("tanh", (2, 3, 4), False),
    dense_case("sigmoid", (2, 3, 4), True),
    ("dropout_seeded", "dropout", lambda x: ops.dropout(x, 0.5, seed=5), [DROP_X], lambda x: np_dropout(x, 0.5, 5)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(case):
    _, _, fn, inputs, ref = case
    out = fn(*[Tensor(to_device(a)) for a in inputs])
    expected = ref(*inputs)
    assert out.shape == expected.shape
    # exact GELU evaluates erf by a polynomial with |error| < 1.5e-7 (float32-grade), the rest is exact
    tol = dict(rtol=0, atol=2e-7) if case[0] == "gelu_exact" else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), expected, **tol)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    _, _, fn, inputs, _ = case
    assert gradcheck(fn, [a.copy() for a in inputs])


def test_every_nn_op_is_covered():
    public = set(nn_mod.__all__)
    covered = {c[1] for c in CASES} | {"one_hot"}     # one_hot: not differentiable, tested below
    assert public - covered == set(), f"ops without a gradcheck row: {sorted(public - covered)}"


def test_one_hot():
    out = ops.one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.float32)[[[0, 2], [1, 1]]])
    assert not out.requires_grad


def test_softmax_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    s = ops.softmax(Tensor(z)).numpy()
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s, [[1.0, 0.0, 0.0]], atol=1e-6)
    ls = ops.log_softmax(Tensor(z)).numpy()
    np.testing.assert_allclose(ls, [[0.0, -1000.0, -2000.0]], rtol=1e-6)


def test_sigmoid_no_overflow_for_extreme_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    y = ops.sigmoid(Tensor(x)).numpy()
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [0.0, np_sigmoid(-50.0), 0.5, 1.0, 1.0], atol=1e-7)


def test_fused_xent_gradient_is_softmax_minus_onehot():
    z = rand(4, 3)
    t = Tensor(z, requires_grad=True)
    backward(ops.softmax_cross_entropy(t, SPARSE), np.ones(4))
    np.testing.assert_allclose(t.grad, np_softmax(z) - np.eye(3)[SPARSE], atol=1e-12)
    t2 = Tensor(z, requires_grad=True)
    backward(ops.softmax_cross_entropy(t2, ONEHOT), np.ones(4))
    np.testing.assert_allclose(t2.grad, np_softmax(z) - ONEHOT, atol=1e-12)


def test_sigmoid_xent_stable_at_extreme_logits():
    z = np.array([[-200.0, 200.0]], dtype=np.float32)
    out = ops.sigmoid_cross_entropy(Tensor(z), np.array([[1.0, 0.0]], np.float32)).numpy()
    np.testing.assert_allclose(out, [[200.0, 200.0]], rtol=1e-6)


def test_dense_first_layer_skips_input_gradient():
    x = Tensor(rand(4, 3))                     # data: no grad wanted
    w = Tensor(rand(3, 2), requires_grad=True)
    b = Tensor(rand(2), requires_grad=True)
    out = ops.dense(x, w, b, activation="tanh")
    backward(ops.sum(out))
    assert x.grad is None and w.grad.shape == (3, 2) and b.grad.shape == (2,)


def test_dense_rejects_unknown_fused_activation():
    with pytest.raises(ValueError, match="softmax"):
        ops.dense(Tensor(rand(2, 3)), Tensor(rand(3, 2)), None, activation="softmax")


def test_dropout_zero_fraction_and_scale():
    x = np.ones((200, 50), np.float32)
    out = ops.dropout(Tensor(x), 0.3).numpy()
    zero_frac = (out == 0).mean()
    assert abs(zero_frac - 0.3) < 0.02
    np.testing.assert_allclose(out[out != 0], 1.0 / 0.7, rtol=1e-6)
