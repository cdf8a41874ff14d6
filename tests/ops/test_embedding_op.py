"""The embedding lookup op (``ops.embedding_lookup`` / ``ops.take``): forward, scatter-add backward."""
import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import Tensor, backward, gradcheck
from kerasette.ops.embedding import scatter_add_rows

RNG = np.random.default_rng(0)
TABLE = RNG.standard_normal((7, 5))
IDS = np.array([[0, 3, 3, 6], [3, 1, 0, 0]])          # repeated ids


def test_forward_matches_numpy_indexing():
    out = ops.embedding_lookup(TABLE.astype("float32"), IDS)
    assert out.shape == (2, 4, 5) and out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), TABLE.astype("float32")[IDS])
    np.testing.assert_array_equal(ops.take(TABLE, IDS[0], axis=0).numpy(), TABLE[IDS[0]])


def test_gradcheck_with_repeated_ids():
    assert gradcheck(lambda t: ops.embedding_lookup(t, IDS), [TABLE])
    assert gradcheck(lambda t: ops.take(t, IDS[:, :2], axis=0) * 3.0, [TABLE])


def test_backward_is_scatter_add_and_ids_get_no_gradient():
    table = Tensor(TABLE.astype("float32"), requires_grad=True)
    ids = Tensor(IDS)
    out = ops.embedding_lookup(table, ids)
    g = RNG.standard_normal(out.shape).astype("float32")
    backward(out, g)
    ref = np.zeros_like(TABLE, dtype="float32")
    np.add.at(ref, IDS, g)
    np.testing.assert_allclose(table.grad, ref, rtol=1e-6, atol=1e-6)
    assert table.grad.dtype == np.float32
    assert ids.grad is None
    assert not ref[[2, 4, 5]].any()                         # unused rows stay zero


def test_scatter_add_rows_matches_add_at_on_a_larger_case():
    ids = RNG.integers(0, 50, 2000)
    g = RNG.standard_normal((2000, 8))
    ref = np.zeros((50, 8))
    np.add.at(ref, ids, g)
    np.testing.assert_allclose(scatter_add_rows(np, ids, g, 50), ref, rtol=1e-12, atol=1e-12)
    assert scatter_add_rows(np, ids[:0], g[:0], 50).shape == (50, 8)


def test_errors():
    with pytest.raises(ValueError, match=r"\[0, 7\).*\[1, 7\]"):
        ops.embedding_lookup(TABLE, np.array([1, 7]))
    with pytest.raises(ValueError, match=r"\[-1, 2\]"):
        ops.embedding_lookup(TABLE, np.array([-1, 2]))
    with pytest.raises(TypeError, match="integers"):
        ops.embedding_lookup(TABLE, np.array([0.5]))
    with pytest.raises(ValueError, match="along axis 1"):       # other axes are checked too
        ops.take(TABLE, IDS, axis=1)
    np.testing.assert_array_equal(ops.take(TABLE, IDS).numpy(), np.take(TABLE, IDS))   # axis=None


def test_matches_torch_embedding():
    torch = pytest.importorskip("torch")
    t = torch.tensor(TABLE, requires_grad=True)
    out = torch.nn.functional.embedding(torch.tensor(IDS), t)
    g = RNG.standard_normal(tuple(out.shape))
    out.backward(torch.tensor(g))
    table = Tensor(TABLE, requires_grad=True)
    mine = ops.embedding_lookup(table, IDS)
    backward(mine, g)
    np.testing.assert_allclose(mine.numpy(), out.detach().numpy())
    np.testing.assert_allclose(table.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)
