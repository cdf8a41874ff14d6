"""ops.einsum: forward against np.einsum and a float64 gradcheck for every
operand, over the spec shapes a user writes (one table row per spec)."""
import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import Tensor, gradcheck

R = np.random.default_rng(5)


def rand(*shape):
    return R.uniform(-1.5, 1.5, size=shape)


# (case id, spec, operand shapes)
CASES = [
    ("matmul", "ij,jk->ik", [(3, 4), (4, 2)]),
    ("dense_3d", "btf,fu->btu", [(2, 3, 4), (4, 5)]),
    ("batch_matmul", "bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("diagonal", "ii->i", [(4, 4)]),
    ("trace", "ii->", [(4, 4)]),
    ("diag_times_vector", "ii,i->i", [(3, 3), (3,)]),
    ("outer", "i,j->ij", [(3,), (4,)]),
    ("dot", "i,i->", [(5,), (5,)]),
    ("sum_all", "ij->", [(3, 4)]),
    ("sum_rows", "ij->j", [(3, 4)]),
    ("transpose", "ij->ji", [(3, 4)]),
    ("hadamard", "ij,ij->ij", [(3, 4), (3, 4)]),
    ("index_only_in_one_operand", "ij,k->jk", [(3, 4), (2,)]),
    ("ellipsis_batch", "...ij,jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ellipsis_two_axes", "...ij,...jk->...ik", [(2, 2, 3, 4), (2, 2, 4, 3)]),
    ("ellipsis_sum_out", "...i->...", [(2, 3, 4)]),
    ("three_operands", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("three_bilinear", "bi,ij,bj->b", [(3, 4), (4, 5), (3, 5)]),
    ("implicit_matmul", "ij,jk", [(3, 4), (4, 2)]),
    ("implicit_transpose", "ba", [(3, 4)]),
    ("implicit_trace", "ii", [(3, 3)]),
    ("implicit_ellipsis", "...ij,jk", [(2, 3, 4), (4, 2)]),
    ("spaces", "ij, jk -> ik", [(3, 4), (4, 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(case):
    _, spec, shapes = case
    xs = [rand(*s) for s in shapes]
    out = ops.einsum(spec, *[Tensor(x) for x in xs])
    expected = np.einsum(spec.replace(" ", ""), *xs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    _, spec, shapes = case
    xs = [rand(*s) for s in shapes]
    assert gradcheck(lambda *ts: ops.einsum(spec, *ts), xs)


def test_gradient_only_for_operands_that_need_it():
    x = Tensor(rand(3, 4))
    w = Tensor(rand(4, 2), requires_grad=True)
    ops.einsum("ij,jk->ik", x, w).backward(np.ones((3, 2)))
    assert x.grad is None
    np.testing.assert_allclose(w.grad, x.value.T @ np.ones((3, 2)))


def test_einsum_shape_errors():
    with pytest.raises(ValueError):
        ops.einsum("ij,jk->ik", Tensor(rand(3, 4)))                    # one operand missing
    with pytest.raises(ValueError):
        ops.einsum("ijk,jk->ik", Tensor(rand(3, 4)), Tensor(rand(4, 2)))  # rank mismatch
