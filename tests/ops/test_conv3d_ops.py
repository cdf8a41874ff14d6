"""conv3d, max_pool3d and avg_pool3d: float64 gradchecks over a grid, direct-loop references,
tie routing, argument errors and PyTorch (optional cross-check)."""
import itertools

import numpy as np
import pytest

from kerasette import backend
from kerasette.autograd import Tensor, backward, gradcheck
from kerasette.ops.conv import same_pads
from kerasette.ops.conv3d import avg_pool3d, conv3d, conv3d_output_shape, max_pool3d


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _triple(v):
    return tuple(v) if isinstance(v, tuple) else (v, v, v)


def _np(t):
    return backend.to_numpy(t.value if isinstance(t, Tensor) else t)


def reference_conv3d(x, k, strides=1, padding="valid", dilation=1, groups=1):
    """The definition, one output position at a time (slow but obvious)."""
    strides, dilation = _triple(strides), _triple(dilation)
    n, c = x.shape[0], x.shape[-1]
    window, cg, f = k.shape[:3], k.shape[3], k.shape[4]
    if padding == "same":
        pads = [same_pads(x.shape[1 + a], window[a], strides[a], dilation[a]) for a in range(3)]
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out = [(x.shape[1 + a] - (window[a] - 1) * dilation[a] - 1) // strides[a] + 1 for a in range(3)]
    fg = f // groups
    y = np.zeros((n, *out, f))
    for i, j, l in itertools.product(*map(range, out)):
        for g in range(groups):
            for a, b, e in itertools.product(*map(range, window)):
                v = x[:, i * strides[0] + a * dilation[0], j * strides[1] + b * dilation[1],
                      l * strides[2] + e * dilation[2], g * cg:(g + 1) * cg]
                y[:, i, j, l, g * fg:(g + 1) * fg] += v @ k[a, b, e, :, g * fg:(g + 1) * fg]
    assert c == cg * groups
    return y


def reference_pool3d(x, pool, strides, padding, kind):
    """Window by window; padded positions are skipped (never the max, not counted in the mean)."""
    pool = _triple(pool)
    strides = pool if strides is None else _triple(strides)
    size = x.shape[1:4]
    if padding == "same":
        out = [-(-size[a] // strides[a]) for a in range(3)]
        before = [max((out[a] - 1) * strides[a] + pool[a] - size[a], 0) // 2 for a in range(3)]
    else:
        out = [(size[a] - pool[a]) // strides[a] + 1 for a in range(3)]
        before = [0, 0, 0]
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for idx in itertools.product(*map(range, out)):
        lo = [idx[a] * strides[a] - before[a] for a in range(3)]
        win = x[:, max(lo[0], 0):min(lo[0] + pool[0], size[0]), max(lo[1], 0):min(lo[1] + pool[1], size[1]),
                max(lo[2], 0):min(lo[2] + pool[2], size[2]), :]
        y[(slice(None),) + idx] = win.max(axis=(1, 2, 3)) if kind == "max" else win.mean(axis=(1, 2, 3))
    return y


# (strides, padding, dilation, groups) x input (D, H, W) x kernel (kd, kh, kw)
SETTINGS = [(1, "valid", 1, 1), (1, "same", 1, 1), (2, "valid", 1, 1), (2, "same", 1, 1),
            (1, "valid", 2, 1), (1, "same", (2, 1, 2), 1), ((1, 2, 3), "same", 1, 1), (1, "valid", 1, 2),
            (2, "same", 1, 2), (2, "same", 2, 1)]
SIZES = [(4, 5, 6), (5, 6, 5)]
KERNELS = [(2, 3, 2), (1, 1, 1)]
GRID = [(s, p, d, g, size, k) for (s, p, d, g), size, k in itertools.product(SETTINGS, SIZES, KERNELS)]


def _id(case):
    s, p, d, g, size, k = case
    return f"s{s}-{p}-d{d}-g{g}-{'x'.join(map(str, size))}-k{''.join(map(str, k))}"


@pytest.mark.parametrize("case", GRID, ids=[_id(c) for c in GRID])
def test_conv3d_forward_matches_direct_loops(case):
    s, p, d, g, size, kernel = case
    x, k = _rand(2, *size, 4, seed=1), _rand(*kernel, 4 // g, 6, seed=2)
    got = conv3d(x, k, strides=s, padding=p, dilation_rate=d, groups=g)
    want = reference_conv3d(x, k, s, p, d, g)
    assert got.shape == want.shape == conv3d_output_shape(x.shape, k.shape, _triple(s), p, _triple(d))
    np.testing.assert_allclose(_np(got), want, rtol=1e-10, atol=1e-10)
    if p == "same":
        assert got.shape[1:4] == tuple(-(-n // st) for n, st in zip(size, _triple(s)))


@pytest.mark.parametrize("case", [c for c in GRID if c[5] != (1, 1, 1) or c[0] != 1],
                         ids=[_id(c) for c in GRID if c[5] != (1, 1, 1) or c[0] != 1])
def test_conv3d_gradcheck(case):
    s, p, d, g, size, kernel = case
    x, k = _rand(2, *size, 2, seed=3), _rand(*kernel, 2 // g, 2, seed=4)
    assert gradcheck(lambda a, b: conv3d(a, b, strides=s, padding=p, dilation_rate=d, groups=g), [x, k])


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2)])
def test_conv3d_bias_forward_and_gradcheck(padding, strides):
    x, k, b = _rand(2, 4, 3, 5, 2, seed=5), _rand(2, 2, 3, 2, 3, seed=6), _rand(3, seed=7)
    got = _np(conv3d(x, k, strides=strides, padding=padding, bias=b))
    want = reference_conv3d(x, k, strides, padding) + b
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a, kk, bb: conv3d(a, kk, strides=strides, padding=padding, bias=bb), [x, k, b])


def test_conv3d_kernel_grad_only_when_input_is_constant():
    x = Tensor(_rand(2, 4, 4, 4, 1))
    k = Tensor(_rand(3, 3, 3, 1, 2), requires_grad=True)
    out = conv3d(x, k, padding="same")
    backward(out, np.ones(out.shape))
    assert x.grad is None and k.grad.shape == (3, 3, 3, 1, 2)


def test_conv3d_float32_stays_float32():
    x, k = _rand(2, 5, 5, 5, 3).astype("float32"), _rand(3, 3, 3, 3, 4).astype("float32")
    y = conv3d(x, k, padding="same", bias=np.zeros(4, dtype="float32"))
    assert y.dtype == np.float32 and y.shape == (2, 5, 5, 5, 4)


@pytest.mark.parametrize("bad,match", [
    (dict(x=(2, 5, 5, 3), k=(3, 3, 3, 3, 2)), r"rank 5 \(batch, depth, height, width, channels\)"),
    (dict(x=(2, 5, 5, 5, 3), k=(3, 3, 3, 2)), "a kernel of rank 5"),
    (dict(x=(2, 5, 5, 5, 3), k=(3, 3, 3, 2, 2)), "input has 3 channels"),
    (dict(x=(2, 5, 2, 5, 1), k=(3, 3, 3, 1, 2)), "larger than the input height 2"),
    (dict(x=(2, 5, 5, 5, 1), k=(3, 3, 3, 1, 2), strides=(1, 0, 1)), "strides must be positive"),
    (dict(x=(2, 5, 5, 5, 1), k=(3, 3, 3, 1, 2), padding="causal"), "padding must be 'valid' or 'same'"),
    (dict(x=(2, 5, 5, 5, 1), k=(3, 3, 3, 1, 2), dilation_rate=(1, 1)), "dilation_rate must be an int or"),
    (dict(x=(2, 5, 5, 5, 4), k=(3, 3, 3, 2, 3), groups=2), "3 filters are not a multiple of groups=2"),
    (dict(x=(2, 5, 5, 5, 4), k=(3, 3, 3, 2, 4), groups=0), "groups must be a positive integer"),
])
def test_conv3d_bad_arguments(bad, match):
    bad = dict(bad)
    x, k = np.zeros(bad.pop("x")), np.zeros(bad.pop("k"))
    with pytest.raises(ValueError, match=match) as e:
        conv3d(x, k, **bad)
    assert str(e.value).startswith("conv3d: ") and "\n" not in str(e.value)


# -- pooling --------------------------------------------------------------------------------------

POOLS = [(2, None, "valid"), (2, None, "same"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "valid"),
         (2, 1, "same"), ((3, 2, 1), (1, 2, 1), "valid"), ((2, 3, 2), (2, 1, 3), "same")]
POOL_SIZES = [(4, 5, 6), (5, 3, 4)]
POOL_GRID = list(itertools.product(POOLS, POOL_SIZES, ["max", "avg"]))


def _pid(case):
    (pool, strides, padding), size, kind = case
    return f"{kind}-p{pool}-s{strides}-{padding}-{'x'.join(map(str, size))}"


def _pool(kind):
    return max_pool3d if kind == "max" else avg_pool3d


@pytest.mark.parametrize("case", POOL_GRID, ids=[_pid(c) for c in POOL_GRID])
def test_pool3d_forward_matches_direct_loops(case):
    (pool, strides, padding), size, kind = case
    x = _rand(2, *size, 3, seed=1)
    got = _np(_pool(kind)(x, pool, strides, padding))
    np.testing.assert_allclose(got, reference_pool3d(x, pool, strides, padding, kind), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", POOL_GRID, ids=[_pid(c) for c in POOL_GRID])
def test_pool3d_gradcheck(case):
    (pool, strides, padding), size, kind = case
    x = _rand(2, *size, 2, seed=2)     # continuous values: no ties, max is differentiable
    assert gradcheck(lambda t: _pool(kind)(t, pool, strides, padding), [x])


@pytest.mark.parametrize("pool,strides", [(2, None), (3, 1), (2, 1)])
def test_max_pool3d_ties_route_to_exactly_one_position(pool, strides):
    x = Tensor(np.ones((1, 4, 4, 4, 2)), requires_grad=True)
    out = max_pool3d(x, pool, strides)
    backward(out, np.ones(out.shape))
    grad = _np(x.grad)
    assert grad.sum() == pytest.approx(out.shape[1] * out.shape[2] * out.shape[3] * 2)
    s = _triple(pool if strides is None else strides)
    want = np.zeros((4, 4, 4))
    for i, j, l in itertools.product(*map(range, out.shape[1:4])):
        want[i * s[0], j * s[1], l * s[2]] += 1           # the first position of each window
    np.testing.assert_array_equal(grad[0, ..., 0], want)


def test_pool3d_float32_and_integer_inputs():
    x = _rand(2, 4, 4, 4, 3).astype("float32")
    assert max_pool3d(x, 2).dtype == np.float32 and avg_pool3d(x, 2, padding="same").dtype == np.float32
    xi = np.arange(2 * 4 * 4 * 4, dtype="int32").reshape(2, 4, 4, 4, 1) - 100
    np.testing.assert_array_equal(_np(max_pool3d(xi, 3, 2, "same")), reference_pool3d(xi, 3, 2, "same", "max"))


@pytest.mark.parametrize("op", [max_pool3d, avg_pool3d])
@pytest.mark.parametrize("bad,match", [
    (dict(x=(2, 4, 4, 3), pool_size=2), "rank 5"),
    (dict(x=(2, 4, 1, 4, 3), pool_size=2), r"pool_size \(2, 2, 2\) is larger than the input"),
    (dict(x=(2, 4, 4, 4, 3), pool_size=(2, 2)), "pool_size must be an int or a tuple of 3 ints"),
    (dict(x=(2, 4, 4, 4, 3), pool_size=2, strides=0), "strides must be positive"),
    (dict(x=(2, 4, 4, 4, 3), pool_size=2, padding="full"), "padding must be"),
])
def test_pool3d_bad_arguments(op, bad, match):
    bad = dict(bad)
    x = np.zeros(bad.pop("x"))
    with pytest.raises(ValueError, match=match) as e:
        op(x, **bad)
    assert str(e.value).startswith(f"{op.__name__}: ") and "\n" not in str(e.value)


# -- PyTorch, where installed (an independent implementation) -------------------------------------

def test_conv3d_and_pools_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for (s, p, d, g), kernel in itertools.product(SETTINGS, [(3, 2, 3), (2, 2, 2)]):
        size = (6, 7, 5)
        x, k = _rand(2, *size, 4, seed=8), _rand(*kernel, 4 // g, 6, seed=9)
        st, dl = _triple(s), _triple(d)
        xt = torch.tensor(x).permute(0, 4, 1, 2, 3)
        if p == "same":
            pads = [same_pads(size[a], kernel[a], st[a], dl[a]) for a in range(3)]
            xt = F.pad(xt, pads[2] + pads[1] + pads[0])
        want = F.conv3d(xt, torch.tensor(k).permute(4, 3, 0, 1, 2), stride=st, dilation=dl, groups=g)
        got = _np(conv3d(x, k, strides=s, padding=p, dilation_rate=d, groups=g))
        np.testing.assert_allclose(got, want.permute(0, 2, 3, 4, 1).numpy(), rtol=1e-10, atol=1e-10)
    x = _rand(2, 6, 7, 5, 3, seed=10)
    xt = torch.tensor(x).permute(0, 4, 1, 2, 3)
    for pool, strides in [((2, 2, 2), (2, 2, 2)), ((3, 2, 2), (1, 2, 1))]:
        for ours, theirs in ((max_pool3d, F.max_pool3d), (avg_pool3d, F.avg_pool3d)):
            want = theirs(xt, pool, strides).permute(0, 2, 3, 4, 1).numpy()
            np.testing.assert_allclose(_np(ours(x, pool, strides)), want, rtol=1e-10, atol=1e-12)
