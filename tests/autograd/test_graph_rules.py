"""The core's guard rails: nodes with several results, graph lifetime, checks at the
op boundary (devices, dtypes) and the numerics debug mode."""
import os
import subprocess
import sys

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers, ops
from kerasette.autograd import Function, Tensor, backward, gradcheck
from kerasette.testing import standin


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- graph lifetime -------------------------------------------------------------------------

def test_second_backward_through_a_shared_subgraph_raises_naming_the_op():
    w = leaf(2.0)
    y = w * 3
    backward(ops.sum(y))
    with pytest.raises(RuntimeError, match="graph through Multiply was already freed.*retain_graph=True"):
        backward(ops.sum(y * y))
    assert w.grad == 3                      # the failed walk added nothing


def test_retain_graph_keeps_it_for_a_second_backward():
    w = leaf(2.0)
    y = w * 3
    backward(ops.sum(y), retain_graph=True)
    backward(ops.sum(y * y))
    assert w.grad == 3 + 2 * 9 * 2           # d(3w)/dw + d(9w^2)/dw at w = 2: 39
    with pytest.raises(RuntimeError, match="already freed"):
        backward(ops.sum(y))                # the second walk did not retain it


def test_higher_order_gradients_are_refused():
    w = leaf([1.0, 2.0])
    with pytest.raises(NotImplementedError, match="create_graph=True.*not supported"):
        ops.sum(w * w).backward(create_graph=True)
    assert w.grad is None


def test_detached_reuse_is_fine():
    w = leaf(2.0)
    y = w * 3
    backward(ops.sum(y))
    backward(ops.sum(y.detach() * w))       # y as a constant: d(6w)/dw = 6
    assert w.grad == 3 + 6


# ---- nodes with several results -------------------------------------------------------------

class SplitScale(Function):
    """Two results from one node: (a * x[:n], b * x[n:]) with a, b fixed."""

    def forward(self, x):
        n = x.shape[-1] // 2
        return 2.0 * x[..., :n], -3.0 * x[..., n:]

    def backward(self, g_left, g_right):
        xp = backend.get_array_module(g_left if g_left is not None else g_right)
        n = g_left.shape[-1] if g_left is not None else g_right.shape[-1]
        shape = (g_left if g_left is not None else g_right).shape[:-1] + (2 * n,)
        gx = xp.zeros(shape)
        if g_left is not None:
            gx[..., :n] = 2.0 * g_left
        if g_right is not None:
            gx[..., n:] = -3.0 * g_right
        return gx


def test_a_function_with_several_results_gets_one_gradient_per_result():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert gradcheck(lambda t: ops.concatenate(list(SplitScale()(t)), axis=-1) * 1.5, [x])
    assert gradcheck(lambda t: SplitScale()(t)[1], [x])          # one result unused: None flows


def test_results_share_one_node_and_know_their_index():
    left, right = SplitScale()(leaf(np.ones((2, 4))))
    assert left.node is right.node and (left.output_index, right.output_index) == (0, 1)
    backward(ops.sum(left) + ops.sum(right) * 2)
    assert left.node.freed


def test_lstm_final_cell_state_is_a_result_of_the_lstm_node():
    rng = np.random.default_rng(1)
    x, w, u, b = (rng.standard_normal(s) * 0.5 for s in ((2, 3, 4), (4, 12), (3, 12), (12,)))
    seq, c = ops.lstm(*(Tensor(a, requires_grad=True) for a in (x, w, u, b)))
    assert seq.node is c.node and c.output_index == 1
    assert gradcheck(lambda *t: ops.lstm(*t)[1], [x, w, u, b])                 # only c used
    assert gradcheck(lambda *t: ops.concatenate([ops.reshape(r, (-1,)) for r in ops.lstm(*t)], axis=0),
                     [x, w, u, b])


# ---- checks at the op boundary --------------------------------------------------------------

def test_arrays_from_two_devices_are_refused_naming_the_op_and_devices():
    dev = Tensor(standin.asarray(np.ones((2, 2))))
    with pytest.raises(ValueError, match=r"op MatMul: inputs live on two devices .*StandinArray.* cpu \(NumPy\)"):
        ops.matmul(dev, np.ones((2, 2)))


def test_silent_float_promotion_is_refused_naming_the_op_dtypes_and_fix():
    layer = layers.Dense(2, autocast=False)
    layer.build((None, 3))
    x = Tensor(backend.to_device(np.ones((1, 3))))              # float64 into a float32 layer
    with pytest.raises(TypeError, match=r"op Dense: got float64 and float32 inputs.*cast one first"):
        layer(x)
    with pytest.raises(TypeError, match=r"op MatMul: got float64 and float32"):
        ops.matmul(x, layer.kernel)                             # ops never cast
    assert layer(np.ones((1, 3))).dtype == np.float32           # NumPy data is cast to the layer's dtype
    assert ops.add(Tensor(np.ones(2, "float32")), 2.5).dtype == np.float32   # scalars are weak
    assert ops.cast(Tensor(np.ones(2)), "float32").dtype == np.float32


# ---- numerics debug mode ---------------------------------------------------------------------

@pytest.fixture
def numerics():
    keras.config.enable_check_numerics()
    yield
    keras.config.disable_check_numerics()


def test_check_numerics_names_the_first_op_producing_nan(numerics):
    x = Tensor(np.array([1.0, -1.0]))
    y = ops.exp(x)                                              # fine
    with pytest.raises(FloatingPointError, match="check_numerics: op Log produced NaN or inf"):
        ops.log(ops.negative(y) + 1.5)
    assert keras.config.is_check_numerics_enabled()


def test_check_numerics_checks_gradients_too(numerics):
    x = leaf([0.0, 1.0])
    y = ops.sqrt(x)                                             # finite, but d sqrt / dx at 0 is inf
    with pytest.raises(FloatingPointError, match="op Sqrt backward produced NaN or inf"):
        backward(ops.sum(y))


def test_check_numerics_is_off_by_default_and_from_the_environment():
    assert not keras.config.is_check_numerics_enabled()
    with np.errstate(all="ignore"):
        assert np.isnan(ops.log(Tensor(np.array([-1.0]))).numpy()).all()
    code = ("import numpy as np, kerasette as k\n"
            "np.seterr(all='ignore')\n"
            "try:\n    k.ops.log(k.Tensor(np.array([-1.0])))\nexcept FloatingPointError as e:\n    print(e)\n")
    env = {**os.environ, "KERASETTE_CHECK_NUMERICS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "op Log produced NaN or inf" in out.stdout, out.stderr


def test_an_op_meant_to_mix_precisions_says_so():
    class ScaleBy(Function):
        mixes_dtypes = True                 # float32 data scaled by a float64 factor, on purpose

        def forward(self, x, s):
            return (x * s).astype(x.dtype)

        def backward(self, g):
            return None

    out = ScaleBy()(Tensor(np.ones(2, "float32")), np.full(2, 2.0))
    assert out.dtype == np.float32 and out.numpy().tolist() == [2.0, 2.0]


# ---- on_grad_ready: each leaf once, as soon as its gradient is final ----------------------------

def test_on_grad_ready_sees_each_leaf_once_with_its_final_gradient():
    from kerasette.autograd import on_grad_ready
    rng = np.random.default_rng(3)
    w1, w2, w3 = (Tensor(rng.standard_normal((4, 4)), requires_grad=True) for _ in range(3))
    x = Tensor(rng.standard_normal((2, 4)))
    unused = Tensor(np.ones(3), requires_grad=True)

    def loss():
        h = ops.tanh(ops.matmul(x, w1))
        h = ops.matmul(h, w2) + ops.matmul(h, w1)               # w1 used twice: early and late
        return ops.sum(ops.square(ops.matmul(h, w3)))

    seen = []
    with on_grad_ready(lambda leaf: seen.append((leaf, leaf.grad.copy()))):
        backward(loss())
    assert [id(t) for t, _ in seen] == [id(w3), id(w2), id(w1)]   # backprop order; x needs none
    for leaf, at_ready in seen:
        np.testing.assert_array_equal(at_ready, leaf.grad)        # nothing added afterwards
    assert unused.grad is None
    for t in (w1, w2, w3):
        t.grad = None
    backward(loss())                                              # outside the block: no calls
    assert len(seen) == 3


def test_on_grad_ready_is_per_thread_and_restored():
    import threading
    from kerasette import context
    from kerasette.autograd import on_grad_ready
    w = Tensor(np.ones(3), requires_grad=True)
    other = []
    with on_grad_ready(other.append):
        t = threading.Thread(target=lambda: backward(ops.sum(w * 2.0)))
        t.start()
        t.join()
    assert other == [] and context.current().grad_ready_hook is None
