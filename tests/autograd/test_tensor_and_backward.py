"""The autograd core: backward order, accumulation, no_grad, freeing, gradcheck itself."""
import gc
import weakref

import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import (Function, Tensor, Variable, backward, enable_grad, grad, gradcheck,
                                is_grad_enabled, no_grad)


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


class Probe(Function):
    """Identity that records every gradient its backward receives."""

    def __init__(self, log):
        self.log = log

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        self.log.append(g.copy())
        return g


class Square(Function):
    def forward(self, x):
        self.save(x)
        return x * x

    def backward(self, g):
        (x,) = self.saved
        return 2 * x * g


class WrongSquare(Square):
    """Deliberately wrong: forgets the factor 2."""

    def backward(self, g):
        (x,) = self.saved
        return x * g


class WrongBroadcastAdd(Function):
    """Deliberately wrong: sends the full gradient of a broadcast add to b, not summed."""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g[0]


# ---- accumulation and order -------------------------------------------------
def test_shared_input_gradients_are_summed():
    x = leaf([1.0, 2.0, -3.0])
    y = x * x + x                       # dy/dx = 2x + 1
    backward(y, np.ones(3))
    np.testing.assert_allclose(x.grad, 2 * x.value + 1)


def test_same_tensor_both_operands():
    x = leaf([1.5, -2.0])
    backward(ops.multiply(x, x), np.ones(2))
    np.testing.assert_allclose(x.grad, 2 * x.value)


def test_node_backward_runs_once_with_fully_accumulated_gradient():
    # a feeds two consumers; its node must wait until both have contributed
    log = []
    x = leaf([1.0, 2.0])
    a = Probe(log)(x)
    b = a * 2.0
    c = a * 3.0
    d = b + c
    backward(d, np.ones(2))
    assert len(log) == 1
    np.testing.assert_allclose(log[0], [5.0, 5.0])
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_reverse_topological_order_with_paths_of_different_length():
    # diamond with one long branch: a -> (exp(exp(a)), a) -> sum
    log = []
    x = leaf([0.3, -0.2])
    a = Probe(log)(x)
    long_path = ops.exp(ops.exp(ops.tanh(a)))
    y = long_path + a * 4.0
    backward(y, np.ones(2))
    assert len(log) == 1
    t = np.tanh(x.value)
    expected = np.exp(np.exp(t)) * np.exp(t) * (1 - t * t) + 4.0
    np.testing.assert_allclose(log[0], expected)
    np.testing.assert_allclose(x.grad, expected)


def test_diamond_graph():
    x = leaf([0.5, 1.0, -1.5])
    a = ops.tanh(x)
    b = a * a
    c = ops.exp(a)
    y = ops.sum(b * c)
    backward(y)
    t = np.tanh(x.value)
    da = 1 - t * t
    expected = (2 * t * np.exp(t) + t * t * np.exp(t)) * da
    np.testing.assert_allclose(x.grad, expected)


def test_scalar_loss_defaults_to_unit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    ops.mean(x * x).backward()
    np.testing.assert_allclose(x.grad, 2 * x.value / 4)


def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf([1.0, -2.0])
    backward(ops.sum(x * 3.0))
    backward(ops.sum(x * x))
    np.testing.assert_allclose(x.grad, 3.0 + 2 * x.value)


def test_grad_helper_clears_old_grads():
    x = leaf([1.0, 2.0])
    x.grad = np.array([100.0, 100.0])
    (g,) = grad(ops.sum(x * x), [x])
    np.testing.assert_allclose(g, [2.0, 4.0])


def test_intermediate_grads_are_not_kept_and_constants_get_none():
    x = leaf([1.0, 2.0])
    c = Tensor(np.array([3.0, 4.0]))
    h = x * c
    backward(ops.sum(h * h))
    assert h.grad is None
    assert c.grad is None
    np.testing.assert_allclose(x.grad, 2 * x.value * c.value ** 2)


def test_needs_grad_flags():
    seen = {}

    class Spy(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, g):
            seen["needs"] = self.needs_grad
            return None, g

    a = Tensor(np.ones(2))
    b = leaf([1.0, 2.0])
    backward(Spy()(a, b), np.ones(2))
    assert seen["needs"] == (False, True)
    assert a.grad is None and b.grad is not None


# ---- no_grad ----------------------------------------------------------------
def test_no_grad_builds_no_graph():
    x = leaf([1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = ops.exp(x * x) + 1.0
    assert is_grad_enabled()
    assert y.node is None and not y.requires_grad
    with pytest.raises(ValueError):
        backward(ops.sum(y))


def test_no_grad_saves_nothing():
    x = leaf([1.0, 2.0])
    op = Square()
    with no_grad():
        op(x)
    assert op.saved == () and op.inputs == ()


def test_enable_grad_inside_no_grad_and_restore_after_exception():
    x = leaf([1.0])
    with no_grad():
        with enable_grad():
            y = x * 2.0
        assert not is_grad_enabled()
    assert y.requires_grad and y.node is not None
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("boom")
    assert is_grad_enabled()


def test_constants_only_build_no_graph():
    y = ops.exp(Tensor(np.ones(3)))
    assert y.node is None and not y.requires_grad


# ---- freeing ------------------------------------------------------------------
def test_saved_arrays_are_released_after_backward():
    x = leaf(np.random.default_rng(0).standard_normal((4, 3)))
    h1 = x * 2.0
    h2 = ops.tanh(h1)
    h3 = ops.exp(h2)
    out = ops.sum(h3 * h1)
    nodes = [t.node for t in (h1, h2, h3, out)]
    assert all(n is not None for n in nodes)
    saved_tanh = weakref.ref(h2.node.saved[1])          # tanh keeps its output
    backward(out)
    for t, n in zip((h1, h2, h3, out), nodes):
        assert t.node is n and n.freed                  # marked freed (a second walk raises)
        assert n.saved == () and n.inputs == ()         # saved arrays and inputs dropped
    del h2
    gc.collect()
    assert saved_tanh() is None                         # nothing else kept the array alive


def test_second_backward_through_freed_graph_raises_and_adds_nothing():
    x = leaf([1.0, 2.0])
    y = ops.sum(x * x)
    backward(y)
    first = x.grad.copy()
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        backward(y)      # the graph was released: an error, never a silent partial gradient
    np.testing.assert_allclose(x.grad, first)


# ---- gradcheck itself -------------------------------------------------------------
def test_gradcheck_accepts_a_correct_custom_op():
    assert gradcheck(lambda t: Square()(t), [np.random.default_rng(1).standard_normal((3, 2))])


def test_gradcheck_catches_a_wrong_derivative():
    x = np.random.default_rng(1).standard_normal((3, 2))
    with pytest.raises(AssertionError, match="input 0"):
        gradcheck(lambda t: WrongSquare()(t), [x])
    assert gradcheck(lambda t: WrongSquare()(t), [x], raise_exception=False) is False


def test_gradcheck_catches_a_wrong_second_input_gradient():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))

    class FixedShape(WrongBroadcastAdd):
        pass

    with pytest.raises(AssertionError, match="input 1"):
        gradcheck(lambda x, y: FixedShape()(x, y), [a, b])


def test_gradcheck_passes_integer_inputs_as_constants():
    labels = np.array([0, 2, 1])
    logits = np.random.default_rng(3).standard_normal((3, 3))
    assert gradcheck(lambda z, l: ops.softmax_cross_entropy(z, l), [logits, labels])


def test_gradcheck_rejects_output_independent_of_inputs():
    with pytest.raises(AssertionError):
        gradcheck(lambda t: Tensor(np.ones(3)), [np.ones(3)])


# ---- Tensor / Variable basics -----------------------------------------------------
def test_tensor_operators_match_ops():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 5.0])
    np.testing.assert_allclose((a - b).numpy(), [-2.0, -3.0])
    np.testing.assert_allclose((a / b).numpy(), [1 / 3, 2 / 5])
    np.testing.assert_allclose((-a).numpy(), [-1.0, -2.0])
    np.testing.assert_allclose((a ** 2).numpy(), [1.0, 4.0])
    np.testing.assert_allclose((2.0 ** a).numpy(), [2.0, 4.0])
    assert (a < b).numpy().all() and not (a == b).numpy().any()
    np.testing.assert_allclose(np.asarray(a), [1.0, 2.0])


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = (x * 3.0).detach()
    assert y.node is None and not y.requires_grad


def test_variable_assign_checks_shape_and_keeps_identity():
    v = Variable(np.zeros((2, 3), np.float32), name="kernel")
    arr = v.value
    v.assign(np.ones((2, 3)))
    assert v.value is arr and v.value.dtype == np.float32
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3)))
    with pytest.raises(ValueError, match="kernel"):
        v.assign(np.ones((3, 2)))
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3)))


def test_variable_trainable_flag_controls_requires_grad():
    v = Variable(np.ones(2), trainable=False)
    assert not v.requires_grad
    v.trainable = True
    assert v.requires_grad


def test_backward_rejects_non_tensor():
    with pytest.raises(TypeError):
        backward(np.ones(3))
