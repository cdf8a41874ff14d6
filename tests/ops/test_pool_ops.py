"""max_pool2d / avg_pool2d: gradchecks, a direct-loop reference, tie routing and PyTorch."""
import itertools

import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import Tensor, backward, gradcheck
from kerasette.ops.pool import avg_pool2d, max_pool2d


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def reference_pool(x, pool, strides, padding, kind):
    """Window by window; padded positions are skipped (never the max, not counted in the mean)."""
    n, h, w, c = x.shape
    (ph, pw), (sh, sw) = _pair(pool), _pair(strides)
    if padding == "same":
        ho, wo = -(-h // sh), -(-w // sw)
        top = max((ho - 1) * sh + ph - h, 0) // 2
        left = max((wo - 1) * sw + pw - w, 0) // 2
    else:
        ho, wo = (h - ph) // sh + 1, (w - pw) // sw + 1
        top = left = 0
    out = np.zeros((n, ho, wo, c))
    for i in range(ho):
        for j in range(wo):
            r0, c0 = i * sh - top, j * sw - left
            win = x[:, max(r0, 0):min(r0 + ph, h), max(c0, 0):min(c0 + pw, w), :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


CASES = [(2, None, "valid"), (2, None, "same"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "valid"),
         (2, 1, "same"), ((3, 2), (1, 2), "valid"), ((2, 3), (2, 1), "same"), (3, 3, "same")]
SIZES = [(6, 6), (7, 5)]
GRID = list(itertools.product(CASES, SIZES, ["max", "avg"]))


def _id(case):
    (pool, strides, padding), (h, w), kind = case
    return f"{kind}-p{pool}-s{strides}-{padding}-{h}x{w}"


def _op(kind):
    return max_pool2d if kind == "max" else avg_pool2d


@pytest.mark.parametrize("case", GRID, ids=[_id(c) for c in GRID])
def test_pool_forward_matches_direct_loops(case):
    (pool, strides, padding), (h, w), kind = case
    x = _rand(2, h, w, 3, seed=1)
    got = _op(kind)(x, pool, strides, padding).numpy()
    want = reference_pool(x, pool, strides if strides is not None else pool, padding, kind)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", GRID, ids=[_id(c) for c in GRID])
def test_pool_gradcheck(case):
    (pool, strides, padding), (h, w), kind = case
    x = _rand(2, h, w, 2, seed=2)     # continuous values: no ties, max is differentiable
    assert gradcheck(lambda t: _op(kind)(t, pool, strides, padding), [x])


@pytest.mark.parametrize("pool,strides", [(2, None), (3, 1), (3, 2)])
def test_max_pool_ties_route_to_exactly_one_position(pool, strides):
    x = Tensor(np.ones((1, 6, 6, 2)), requires_grad=True)
    out = max_pool2d(x, pool, strides)
    backward(out, np.ones(out.shape))
    # each window sends its whole gradient to one position: the first of the window
    assert x.grad.sum() == pytest.approx(out.numpy().size)
    s = pool if strides is None else strides
    want = np.zeros((6, 6))
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            want[i * s, j * s] += 1
    np.testing.assert_array_equal(x.grad[0, :, :, 0], want)
    np.testing.assert_array_equal(x.grad[0, :, :, 1], want)


def test_max_pool_gradient_goes_to_the_argmax():
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 0, 0] = 5.0       # window (0, 0): max at (1, 0)
    x[0, 3, 3, 0] = 2.0       # window (1, 1): max at (3, 3)
    t = Tensor(x, requires_grad=True)
    out = max_pool2d(t, 2)
    backward(out, np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 2, 2, 1))
    g = t.grad[0, :, :, 0]
    assert g[1, 0] == 1.0 and g[3, 3] == 4.0
    assert g[0, 2] == 2.0 and g[2, 0] == 3.0   # all-zero windows: the first position wins
    assert g.sum() == 10.0


def test_pool_dtype_and_ops_wrappers():
    x = _rand(2, 8, 8, 3).astype("float32")
    assert ops.max_pool(x, 2).dtype == np.float32 and ops.max_pool(x, 2).shape == (2, 4, 4, 3)
    assert ops.average_pool(x, 3, 2, "same").shape == (2, 4, 4, 3)
    assert ops.average_pool(x, 3, 2, "same").dtype == np.float32


@pytest.mark.parametrize("bad,match", [(dict(pool_size=0), "positive"), (dict(pool_size=2, padding="x"), "padding"),
                                       (dict(pool_size=5), "larger than the input"),
                                       (dict(pool_size=2, strides=(1, 0)), "positive")])
def test_pool_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        max_pool2d(np.zeros((1, 4, 4, 1)), **bad)
    with pytest.raises(ValueError, match="rank 4"):
        avg_pool2d(np.zeros((4, 4, 1)), 2)


def test_pool_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for (pool, strides), (h, w) in itertools.product([(2, None), (3, 2), ((3, 2), (1, 2)), (2, 1)],
                                                     [(8, 8), (9, 7)]):
        x = _rand(2, h, w, 3, seed=3)
        st = _pair(strides if strides is not None else pool)
        xt = torch.tensor(x, requires_grad=True)
        want = F.max_pool2d(xt.permute(0, 3, 1, 2), _pair(pool), st).permute(0, 2, 3, 1)
        want_avg = F.avg_pool2d(xt.permute(0, 3, 1, 2), _pair(pool), st).permute(0, 2, 3, 1)
        t = Tensor(x, requires_grad=True)
        got = max_pool2d(t, pool, strides)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(avg_pool2d(x, pool, strides).numpy(), want_avg.detach().numpy(),
                                   rtol=1e-12)
        probe = _rand(*got.shape, seed=4)
        backward(got, probe)
        want.backward(torch.tensor(probe))
        np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=1e-12)
