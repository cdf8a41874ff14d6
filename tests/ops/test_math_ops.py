"""Elementwise arithmetic, matmul and reductions (kerasette/ops/math.py).

Every op gets a float64 central-difference gradcheck and a forward check
against NumPy. One row of ``CASES`` per case: adding an op is one line.
Inputs keep away from kinks (abs at 0, clip bounds, max/min ties) except in
the dedicated tie tests.
"""
import importlib

import numpy as np
import pytest

from kerasette import ops
from kerasette.backend import to_device  # constants go where gradcheck puts the inputs
from kerasette.autograd import Tensor, backward, gradcheck

math_mod = importlib.import_module("kerasette.ops.math")

R = np.random.default_rng(7)


def rand(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, size=shape)


def pos(*shape):
    return R.uniform(0.5, 2.0, size=shape)


def away(*shape, points=(0.0,), margin=0.2, lo=-2.0, hi=2.0):
    """Uniform values at least ``margin`` away from every kink in ``points``."""
    x = R.uniform(lo, hi, size=shape)
    for p in points:
        close = np.abs(x - p) < margin
        x[close] = p + np.where(x[close] >= p, margin, -margin) * 1.5
    return x


def distinct(*shape):
    """Values with no ties (a shuffled arange plus small noise)."""
    n = int(np.prod(shape))
    return (R.permutation(n) + R.uniform(-0.2, 0.2, n)).reshape(shape) / n


COND = R.uniform(size=(3, 4)) > 0.5

# (case id, op name, fn on Tensors, input arrays, NumPy reference on arrays)
CASES = [
    ("add_same", "add", lambda a, b: ops.add(a, b), [rand(3, 4), rand(3, 4)], np.add),
    ("add_row_bcast", "add", lambda a, b: ops.add(a, b), [rand(3, 4), rand(4)], np.add),
    ("add_outer_bcast", "add", lambda a, b: ops.add(a, b), [rand(3, 1), rand(1, 4)], np.add),
    ("add_0d", "add", lambda a, b: ops.add(a, b), [rand(3, 4), np.array(0.7)], np.add),
    ("add_py_scalar", "add", lambda a: ops.add(a, 2.5), [rand(3, 4)], lambda a: a + 2.5),
    ("radd_py_scalar", "add", lambda a: 2.5 + a, [rand(3, 4)], lambda a: 2.5 + a),
    ("subtract_row_bcast", "subtract", lambda a, b: ops.subtract(a, b), [rand(3, 4), rand(4)], np.subtract),
    ("subtract_outer", "subtract", lambda a, b: ops.subtract(a, b), [rand(3, 1), rand(1, 4)], np.subtract),
    ("rsub_scalar", "subtract", lambda a: 1.5 - a, [rand(3, 4)], lambda a: 1.5 - a),
    ("multiply_row_bcast", "multiply", lambda a, b: ops.multiply(a, b), [rand(3, 4), rand(4)], np.multiply),
    ("multiply_outer", "multiply", lambda a, b: ops.multiply(a, b), [rand(3, 1), rand(1, 4)], np.multiply),
    ("multiply_3d_bcast", "multiply", lambda a, b: ops.multiply(a, b), [rand(2, 1, 4), rand(3, 1)], np.multiply),
    ("multiply_scalar", "multiply", lambda a: ops.multiply(3.0, a), [rand(3, 4)], lambda a: 3.0 * a),
    ("multiply_same_tensor", "multiply", lambda a: ops.multiply(a, a), [rand(3, 4)], lambda a: a * a),
    ("divide_row_bcast", "divide", lambda a, b: ops.divide(a, b), [rand(3, 4), pos(4)], np.divide),
    ("divide_outer", "divide", lambda a, b: ops.divide(a, b), [rand(3, 1), pos(1, 4)], np.divide),
    ("rdivide_scalar", "divide", lambda a: 2.0 / a, [pos(3, 4)], lambda a: 2.0 / a),
    ("power_both", "power", lambda a, b: ops.power(a, b), [pos(3, 4), rand(4)], np.power),
    ("power_scalar_exp", "power", lambda a: ops.power(a, 3.0), [rand(3, 4)], lambda a: a ** 3.0),
    ("power_outer", "power", lambda a, b: ops.power(a, b), [pos(3, 1), rand(1, 4)], np.power),
    ("negative", "negative", lambda a: ops.negative(a), [rand(3, 4)], np.negative),
    ("abs", "abs", lambda a: ops.abs(a), [away(3, 4)], np.abs),
    ("square", "square", lambda a: ops.square(a), [rand(3, 4)], np.square),
    ("exp", "exp", lambda a: ops.exp(a), [rand(3, 4)], np.exp),
    ("log", "log", lambda a: ops.log(a), [pos(3, 4)], np.log),
    ("sqrt", "sqrt", lambda a: ops.sqrt(a), [pos(3, 4)], np.sqrt),
    ("maximum", "maximum", lambda a, b: ops.maximum(a, b), [distinct(3, 4), distinct(3, 4) + 0.01], np.maximum),
    ("maximum_bcast", "maximum", lambda a, b: ops.maximum(a, b), [distinct(3, 4), np.array([0.1, 0.3, 0.55, 0.77])],
     np.maximum),
    ("maximum_scalar", "maximum", lambda a: ops.maximum(a, 0.0), [away(3, 4)], lambda a: np.maximum(a, 0.0)),
    ("minimum", "minimum", lambda a, b: ops.minimum(a, b), [distinct(3, 4), distinct(3, 4) + 0.01], np.minimum),
    ("minimum_outer", "minimum", lambda a, b: ops.minimum(a, b), [distinct(3, 1), distinct(1, 4) + 0.013],
     np.minimum),
    ("clip", "clip", lambda a: ops.clip(a, -1.0, 1.0), [away(3, 4, points=(-1.0, 1.0))],
     lambda a: np.clip(a, -1.0, 1.0)),
    ("where", "where", lambda a, b: ops.where(to_device(COND), a, b), [rand(3, 4), rand(3, 4)],
     lambda a, b: np.where(COND, a, b)),
    ("where_bcast", "where", lambda a, b: ops.where(to_device(COND), a, b), [rand(4), rand(3, 1)],
     lambda a, b: np.where(COND, a, b)),
    ("matmul_2d", "matmul", lambda a, b: ops.matmul(a, b), [rand(3, 4), rand(4, 5)], np.matmul),
    ("matmul_batched", "matmul", lambda a, b: ops.matmul(a, b), [rand(2, 3, 4), rand(2, 4, 5)], np.matmul),
    ("matmul_3d_by_2d", "matmul", lambda a, b: ops.matmul(a, b), [rand(2, 3, 4), rand(4, 5)], np.matmul),
    ("matmul_2d_by_3d", "matmul", lambda a, b: ops.matmul(a, b), [rand(3, 4), rand(2, 4, 5)], np.matmul),
    ("matmul_bcast_batch", "matmul", lambda a, b: ops.matmul(a, b), [rand(2, 1, 3, 4), rand(1, 3, 4, 2)],
     np.matmul),
    ("matmul_operator", "matmul", lambda a, b: a @ b, [rand(3, 4), rand(4, 2)], np.matmul),
    ("sum_all", "sum", lambda a: ops.sum(a), [rand(2, 3, 4)], np.sum),
    ("sum_axis0", "sum", lambda a: ops.sum(a, axis=0), [rand(2, 3, 4)], lambda a: a.sum(axis=0)),
    ("sum_axis_neg", "sum", lambda a: ops.sum(a, axis=-1), [rand(2, 3, 4)], lambda a: a.sum(axis=-1)),
    ("sum_tuple", "sum", lambda a: ops.sum(a, axis=(0, 2)), [rand(2, 3, 4)], lambda a: a.sum(axis=(0, 2))),
    ("sum_keepdims", "sum", lambda a: ops.sum(a, axis=1, keepdims=True), [rand(2, 3, 4)],
     lambda a: a.sum(axis=1, keepdims=True)),
    ("sum_tuple_keepdims", "sum", lambda a: ops.sum(a, axis=(0, -1), keepdims=True), [rand(2, 3, 4)],
     lambda a: a.sum(axis=(0, -1), keepdims=True)),
    ("sum_all_keepdims", "sum", lambda a: ops.sum(a, keepdims=True), [rand(2, 3)],
     lambda a: a.sum(keepdims=True)),
    ("mean_all", "mean", lambda a: ops.mean(a), [rand(2, 3, 4)], np.mean),
    ("mean_axis", "mean", lambda a: ops.mean(a, axis=1), [rand(2, 3, 4)], lambda a: a.mean(axis=1)),
    ("mean_tuple", "mean", lambda a: ops.mean(a, axis=(1, 2)), [rand(2, 3, 4)], lambda a: a.mean(axis=(1, 2))),
    ("mean_keepdims", "mean", lambda a: ops.mean(a, axis=-1, keepdims=True), [rand(2, 3, 4)],
     lambda a: a.mean(axis=-1, keepdims=True)),
    ("max_all", "max", lambda a: ops.max(a), [distinct(2, 3, 4)], np.max),
    ("max_axis", "max", lambda a: ops.max(a, axis=1), [distinct(2, 3, 4)], lambda a: a.max(axis=1)),
    ("max_tuple", "max", lambda a: ops.max(a, axis=(0, 2)), [distinct(2, 3, 4)], lambda a: a.max(axis=(0, 2))),
    ("max_keepdims", "max", lambda a: ops.max(a, axis=-1, keepdims=True), [distinct(2, 3, 4)],
     lambda a: a.max(axis=-1, keepdims=True)),
    ("max_tuple_keepdims", "max", lambda a: ops.max(a, axis=(2, 0), keepdims=True), [distinct(2, 3, 4)],
     lambda a: a.max(axis=(0, 2), keepdims=True)),
    ("min_all", "min", lambda a: ops.min(a), [distinct(2, 3, 4)], np.min),
    ("min_axis", "min", lambda a: ops.min(a, axis=0), [distinct(2, 3, 4)], lambda a: a.min(axis=0)),
    ("min_tuple_keepdims", "min", lambda a: ops.min(a, axis=(1, 2), keepdims=True), [distinct(2, 3, 4)],
     lambda a: a.min(axis=(1, 2), keepdims=True)),
    ("var_all", "var", lambda a: ops.var(a), [rand(3, 4)], np.var),
    ("var_axis", "var", lambda a: ops.var(a, axis=0), [rand(3, 4)], lambda a: a.var(axis=0)),
    ("var_keepdims", "var", lambda a: ops.var(a, axis=-1, keepdims=True), [rand(3, 4)],
     lambda a: a.var(axis=-1, keepdims=True)),
    ("std_all", "std", lambda a: ops.std(a), [rand(3, 4)], np.std),
    ("std_axis", "std", lambda a: ops.std(a, axis=1), [rand(3, 4)], lambda a: a.std(axis=1)),
    ("cast_f64", "cast", lambda a: ops.cast(a, "float64") * 2.0, [rand(3, 4)], lambda a: a * 2.0),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(case):
    _, _, fn, inputs, ref = case
    out = fn(*[Tensor(to_device(a)) for a in inputs])
    assert isinstance(out, Tensor)
    expected = ref(*inputs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    _, _, fn, inputs, _ = case
    assert gradcheck(fn, [a.copy() for a in inputs])


def test_every_math_op_is_in_the_table():
    public = set(math_mod.__all__) - {"unbroadcast"}
    covered = {c[1] for c in CASES}
    assert public - covered == set(), f"ops without a gradcheck row: {sorted(public - covered)}"


def _grad_of(fn, x):
    t = Tensor(x, requires_grad=True)
    out = fn(t)
    backward(out, np.ones(out.shape))
    return t.grad


@pytest.mark.parametrize("op,axis,keepdims", [
    (ops.max, None, False), (ops.max, 1, False), (ops.max, (0, 1), True),
    (ops.min, None, False), (ops.min, 0, True), (ops.min, -1, False),
])
def test_max_min_ties_send_gradient_to_one_position(op, axis, keepdims):
    x = np.array([[1.0, 3.0, 3.0], [3.0, 3.0, 0.0], [-1.0, -1.0, -1.0]])
    if op is ops.min:
        x = -x
    g = _grad_of(lambda t: op(t, axis=axis, keepdims=keepdims), x)
    out = op(Tensor(x), axis=axis, keepdims=keepdims).numpy()
    n_slots = np.size(out)
    assert g.shape == x.shape
    # exactly one position per reduced slot receives the whole gradient
    assert set(np.unique(g)) <= {0.0, 1.0}
    assert g.sum() == n_slots
    # and the position it picks holds the extreme value
    picked = x[g == 1.0]
    extreme = np.max(x, axis=axis) if op is ops.max else np.min(x, axis=axis)
    assert sorted(picked.tolist()) == sorted(np.ravel(extreme).tolist())


def test_maximum_tie_sends_gradient_to_first_argument_only():
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 5.0, 3.0]), requires_grad=True)
    backward(ops.maximum(a, b), np.ones(3))
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 0.0])
    # the two gradients always sum to the upstream gradient: nothing double-counted
    np.testing.assert_array_equal(a.grad + b.grad, np.ones(3))


def test_broadcast_gradients_are_reduced_to_input_shapes():
    a = Tensor(rand(3, 1), requires_grad=True)
    b = Tensor(rand(4), requires_grad=True)
    c = Tensor(np.array(2.0), requires_grad=True)
    out = ops.multiply(ops.add(a, b), c)
    backward(out, np.ones((3, 4)))
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,) and np.shape(c.grad) == ()
    np.testing.assert_allclose(a.grad, np.full((3, 1), 8.0))
    np.testing.assert_allclose(b.grad, np.full(4, 6.0))
    np.testing.assert_allclose(c.grad, (a.value + b.value).sum())


def test_cast_changes_dtype_and_casts_gradient_back():
    x = Tensor(rand(2, 3).astype(np.float32), requires_grad=True)
    y = ops.cast(x, "float64")
    assert y.dtype == np.float64
    backward(ops.sum(y))
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.ones((2, 3), np.float32))


def test_float32_stays_float32():
    a = Tensor(rand(3, 4).astype(np.float32))
    b = Tensor(rand(4).astype(np.float32))
    for out in (ops.add(a, b), ops.multiply(a, b), ops.mean(a, axis=0), ops.exp(a), ops.matmul(a, ops.transpose(a))):
        assert out.dtype == np.float32


def test_integer_mean_does_not_crash():
    out = ops.mean(Tensor(np.arange(6).reshape(2, 3)), axis=1)
    np.testing.assert_allclose(out.numpy(), [1.0, 4.0])
