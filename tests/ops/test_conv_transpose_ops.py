"""conv2d_transpose, depthwise_conv2d and separable_conv2d: direct-loop references and
float64 gradchecks over stride / padding / dilation / output_padding grids."""
import itertools

import numpy as np
import pytest

from kerasette.autograd import Tensor, backward, gradcheck
from kerasette.ops.conv import conv2d, same_pads
from kerasette.ops.conv_transpose import conv2d_transpose, conv_transpose_output_length
from kerasette.ops.depthwise import depthwise_conv2d, separable_conv2d


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ---- references: the definitions, written independently of the ops ---------------------------

def keras_transpose_pads(i, k, s, padding, out_pad, d):
    """(left, right) padding of the stride-dilated input, as Keras defines conv_transpose
    (its JAX backend): output = correlation of the padded, dilated input with the flipped kernel."""
    k = (k - 1) * d + 1
    if padding == "valid":
        extra = max(k, s) - k if out_pad is None else out_pad
        return k - 1, k - 1 + extra
    total = s + k - 2 if out_pad is None else k + k % 2 - 2 + out_pad
    left = min(total // 2 + total % 2, k - 1)
    return left, total - left


def reference_transpose(x, w, strides, padding, out_pad, dilation):
    """Loops over every output element: dilate x by the stride, pad, correlate with flipped w."""
    n, h, wd, c = x.shape
    kh, kw, f, _ = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    up = np.zeros((n, (h - 1) * sh + 1, (wd - 1) * sw + 1, c))
    up[:, ::sh, ::sw] = x
    op = (None, None) if out_pad is None else out_pad
    (t, b), (l, r) = (keras_transpose_pads(h, kh, sh, padding, op[0], dh),
                      keras_transpose_pads(wd, kw, sw, padding, op[1], dw))
    up = np.pad(up, ((0, 0), (t, b), (l, r), (0, 0)))
    wf = w[::-1, ::-1]
    ho, wo = up.shape[1] - (kh - 1) * dh, up.shape[2] - (kw - 1) * dw
    out = np.zeros((n, ho, wo, f))
    for bb, i, j, o in itertools.product(range(n), range(ho), range(wo), range(f)):
        out[bb, i, j, o] = sum(up[bb, i + a * dh, j + e * dw, ch] * wf[a, e, o, ch]
                               for a in range(kh) for e in range(kw) for ch in range(c))
    return out


def reference_depthwise(x, w, strides, padding, dilation):
    n, h, wd, c = x.shape
    kh, kw, _, m = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    if padding == "same":
        (t, b), (l, r) = same_pads(h, kh, sh, dh), same_pads(wd, kw, sw, dw)
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    ho = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
    wo = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, ho, wo, c * m))
    for bb, i, j, ch, mm in itertools.product(range(n), range(ho), range(wo), range(c), range(m)):
        out[bb, i, j, ch * m + mm] = sum(x[bb, i * sh + a * dh, j * sw + e * dw, ch] * w[a, e, ch, mm]
                                         for a in range(kh) for e in range(kw))
    return out


# ---- conv2d_transpose -----------------------------------------------------------------------

# (strides, padding, output_padding, dilation)
T_SETTINGS = [(1, "valid", None, 1), (1, "same", None, 1), (2, "valid", None, 1), (2, "same", None, 1),
              (3, "same", None, 1), ((2, 3), "valid", (1, 2), 1), ((2, 2), "same", (1, 0), 1),
              (2, "same", 0, 1), (1, "valid", None, 2), (1, "same", None, (2, 1)), ((1, 2), "same", None, 1)]
T_KERNELS = [(3, 2), (2, 2), (1, 1), (4, 3)]
T_GRID = [(s, p, op, d, k) for (s, p, op, d), k in itertools.product(T_SETTINGS, T_KERNELS)]


def _tid(case):
    s, p, op, d, k = case
    return f"s{s}-{p}-op{op}-d{d}-k{k[0]}x{k[1]}"


@pytest.mark.parametrize("case", T_GRID, ids=[_tid(c) for c in T_GRID])
def test_conv2d_transpose_forward_matches_definition(case):
    s, p, op, d, (kh, kw) = case
    x, w = _rand(2, 4, 3, 3, seed=1), _rand(kh, kw, 2, 3, seed=2)
    got = conv2d_transpose(x, w, strides=s, padding=p, output_padding=op, dilation_rate=d).numpy()
    want = reference_transpose(x, w, _pair(s), p, None if op is None else _pair(op), _pair(d))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    ops_ = (None, None) if op is None else _pair(op)
    assert got.shape[1:3] == tuple(conv_transpose_output_length(n, k, st, p, o, dd) for n, k, st, o, dd in
                                   zip((4, 3), (kh, kw), _pair(s), ops_, _pair(d)))


GRAD_CASES = [c for c in T_GRID if c[4] in ((3, 2), (2, 2))]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_tid(c) for c in GRAD_CASES])
def test_conv2d_transpose_gradcheck_input_kernel_bias(case):
    s, p, op, d, (kh, kw) = case
    x, w, b = _rand(2, 3, 3, 2, seed=3), _rand(kh, kw, 3, 2, seed=4), _rand(3, seed=5)
    assert gradcheck(lambda a, k, bb: conv2d_transpose(a, k, strides=s, padding=p, output_padding=op,
                                                       dilation_rate=d, bias=bb), [x, w, b])


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
def test_conv2d_transpose_fused_bias_activation(activation):
    x, w, b = _rand(2, 3, 4, 2, seed=6), _rand(3, 3, 3, 2, seed=7), _rand(3, seed=8)
    got = conv2d_transpose(x, w, strides=2, padding="same", bias=b, activation=activation).numpy()
    plain = conv2d_transpose(x, w, strides=2, padding="same").numpy() + b
    act = {None: lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
           "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[activation]
    np.testing.assert_allclose(got, act(plain), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a, k, bb: conv2d_transpose(a, k, strides=2, padding="same", bias=bb,
                                                       activation=activation), [x, w, b])


def test_conv2d_transpose_is_the_input_gradient_of_conv2d():
    """<conv2d(z, w), x> == <z, conv2d_transpose(x, w)> for the full (valid) geometry."""
    z, w = _rand(2, 9, 8, 3, seed=9), _rand(3, 2, 3, 4, seed=10)
    y = conv2d(z, w, strides=2).numpy()
    x = _rand(*y.shape, seed=11)
    zt = conv2d_transpose(x, w, strides=2, output_padding=(0, 0)).numpy()
    assert zt.shape == z.shape
    np.testing.assert_allclose(np.sum(y * x), np.sum(z * zt), rtol=1e-10)


def test_conv2d_transpose_kernel_grad_only_when_input_is_constant():
    x = Tensor(_rand(2, 3, 3, 2))
    w = Tensor(_rand(3, 3, 4, 2), requires_grad=True)
    out = conv2d_transpose(x, w, strides=2, padding="same")
    backward(out, np.ones(out.shape))
    assert x.grad is None and w.grad.shape == (3, 3, 4, 2)


def test_conv2d_transpose_float32_stays_float32():
    x, w = _rand(2, 4, 4, 3).astype("float32"), _rand(3, 3, 5, 3).astype("float32")
    y = conv2d_transpose(x, w, strides=2, padding="same")
    assert y.dtype == np.float32 and y.shape == (2, 8, 8, 5)


@pytest.mark.parametrize("bad,match", [
    (dict(x=(2, 5, 5), k=(3, 3, 2, 1)), "rank 4"),
    (dict(x=(2, 5, 5, 3), k=(3, 3, 2, 2)), "3 channels"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 2, 1), strides=0), "positive"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 2, 1), padding="full"), "padding"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 2, 1), strides=2, dilation_rate=2), "dilation"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 2, 1), strides=2, output_padding=2), "output_padding must be smaller"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 2, 1), output_padding=-1), "non-negative"),
])
def test_conv2d_transpose_bad_arguments(bad, match):
    bad = dict(bad)
    x, k = np.zeros(bad.pop("x")), np.zeros(bad.pop("k"))
    with pytest.raises(ValueError, match=match) as e:
        conv2d_transpose(x, k, **bad)
    assert "\n" not in str(e.value) and str(e.value).startswith("conv2d_transpose")


# ---- depthwise / separable ------------------------------------------------------------------

# (strides, padding, dilation); strides and dilation may both exceed 1 here
D_SETTINGS = [(1, "valid", 1), (1, "same", 1), (2, "valid", 1), (2, "same", 1), ((2, 1), "same", 1),
              (1, "valid", 2), (1, "same", (2, 1)), (2, "same", 2)]
D_KERNELS = [((3, 2), 1), ((2, 2), 2), ((1, 1), 3)]
D_GRID = [(s, p, d, k, m) for (s, p, d), (k, m) in itertools.product(D_SETTINGS, D_KERNELS)]


def _did(case):
    s, p, d, k, m = case
    return f"s{s}-{p}-d{d}-k{k[0]}x{k[1]}-m{m}"


@pytest.mark.parametrize("case", D_GRID, ids=[_did(c) for c in D_GRID])
def test_depthwise_conv2d_forward_matches_definition(case):
    s, p, d, (kh, kw), m = case
    x, w = _rand(2, 6, 5, 3, seed=12), _rand(kh, kw, 3, m, seed=13)
    got = depthwise_conv2d(x, w, strides=s, padding=p, dilation_rate=d).numpy()
    want = reference_depthwise(x, w, _pair(s), p, _pair(d))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


DW_GRAD = [c for c in D_GRID if c[3] != (1, 1)]


@pytest.mark.parametrize("case", DW_GRAD, ids=[_did(c) for c in DW_GRAD])
def test_depthwise_conv2d_gradcheck_input_kernel_bias(case):
    s, p, d, (kh, kw), m = case
    x, w, b = _rand(2, 5, 5, 2, seed=14), _rand(kh, kw, 2, m, seed=15), _rand(2 * m, seed=16)
    assert gradcheck(lambda a, k, bb: depthwise_conv2d(a, k, strides=s, padding=p, dilation_rate=d, bias=bb),
                     [x, w, b])


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
def test_depthwise_conv2d_fused_bias_activation(activation):
    x, w, b = _rand(2, 5, 4, 2, seed=17), _rand(3, 3, 2, 2, seed=18), _rand(4, seed=19)
    got = depthwise_conv2d(x, w, padding="same", bias=b, activation=activation).numpy()
    plain = depthwise_conv2d(x, w, padding="same").numpy() + b
    act = {None: lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
           "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[activation]
    np.testing.assert_allclose(got, act(plain), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a, k, bb: depthwise_conv2d(a, k, padding="same", bias=bb, activation=activation),
                     [x, w, b])


def test_depthwise_with_one_channel_per_group_is_a_diagonal_conv2d():
    x, w = _rand(2, 6, 6, 3, seed=20), _rand(3, 3, 3, 1, seed=21)
    full = np.zeros((3, 3, 3, 3))
    for c in range(3):
        full[:, :, c, c] = w[:, :, c, 0]
    np.testing.assert_allclose(depthwise_conv2d(x, w, strides=2, padding="same").numpy(),
                               conv2d(x, full, strides=2, padding="same").numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("s,p,d", [(1, "valid", 1), (2, "same", 1), (1, "same", 2)])
def test_separable_conv2d_forward_and_gradcheck(s, p, d):
    x, dw, pw, b = _rand(2, 5, 6, 2, seed=22), _rand(3, 2, 2, 2, seed=23), _rand(1, 1, 4, 3, seed=24), _rand(3)
    got = separable_conv2d(x, dw, pw, strides=s, padding=p, dilation_rate=d, bias=b).numpy()
    mid = reference_depthwise(x, dw, _pair(s), p, _pair(d))
    np.testing.assert_allclose(got, mid @ pw[0, 0] + b, rtol=1e-10, atol=1e-10)
    assert gradcheck(lambda a, k1, k2, bb: separable_conv2d(a, k1, k2, strides=s, padding=p, dilation_rate=d,
                                                            bias=bb, activation="tanh"), [x, dw, pw, b])


def test_depthwise_float32_stays_float32_and_kernel_grad_only():
    x = Tensor(_rand(2, 6, 6, 3).astype("float32"))
    w = Tensor(_rand(3, 3, 3, 2).astype("float32"), requires_grad=True)
    out = depthwise_conv2d(x, w, padding="same")
    assert out.dtype == np.float32 and out.shape == (2, 6, 6, 6)
    backward(out, np.ones(out.shape, dtype="float32"))
    assert x.grad is None and w.grad.shape == (3, 3, 3, 2) and w.grad.dtype == np.float32


@pytest.mark.parametrize("fn,bad,match", [
    ("depthwise", dict(x=(2, 5, 5), k=(3, 3, 1, 1)), "rank 4"),
    ("depthwise", dict(x=(2, 5, 5, 3), k=(3, 3, 2, 1)), "3 channels"),
    ("depthwise", dict(x=(2, 2, 5, 1), k=(3, 3, 1, 1)), "larger than the input height"),
    ("depthwise", dict(x=(2, 5, 5, 1), k=(3, 3, 1, 1), strides=(1, 0)), "positive"),
    ("depthwise", dict(x=(2, 5, 5, 1), k=(3, 3, 1, 1), padding="causal"), "padding"),
    ("separable", dict(x=(2, 5, 5, 2), k=(3, 3, 2, 2), pk=(1, 1, 2, 3)), r"pointwise kernel must have shape \(1, 1, 4"),
])
def test_depthwise_and_separable_bad_arguments(fn, bad, match):
    bad = dict(bad)
    x, k = np.zeros(bad.pop("x")), np.zeros(bad.pop("k"))
    with pytest.raises(ValueError, match=match) as e:
        if fn == "separable":
            separable_conv2d(x, k, np.zeros(bad.pop("pk")), **bad)
        else:
            depthwise_conv2d(x, k, **bad)
    assert "\n" not in str(e.value)


# ---- the batch split over threads inside kerasette.parallel.region() ---------------------------

@pytest.fixture
def threads3():
    from kerasette import parallel
    before = parallel.num_threads()
    parallel.set_num_threads(3)
    yield parallel
    parallel.set_num_threads(before)


SPLIT_CASES = [
    ("transpose", lambda x, k, b: conv2d_transpose(x, k, strides=2, padding="same", bias=b, activation="relu"),
     (3, 3, 4, 2), (4,)),
    ("transpose_cropped", lambda x, k, b: conv2d_transpose(x, k, strides=(2, 3), output_padding=(1, 2), bias=b),
     (3, 2, 4, 2), (4,)),
    ("depthwise", lambda x, k, b: depthwise_conv2d(x, k, strides=2, padding="same", bias=b, activation="tanh"),
     (3, 3, 2, 2), (4,)),
]


@pytest.mark.parametrize("name,fn,kshape,bshape", SPLIT_CASES, ids=[c[0] for c in SPLIT_CASES])
def test_split_batch_matches_unsplit(threads3, name, fn, kshape, bshape):
    arrays = [_rand(7, 5, 4, 2, seed=30), _rand(*kshape, seed=31), _rand(bshape[-1], seed=32)]

    def run():
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        out = fn(*ts)
        backward(out, _rand(*out.shape, seed=33))
        return [out.numpy()] + [t.grad for t in ts]

    plain = run()
    with threads3.region():
        assert len(threads3.ranges(7)) == 3
        split = run()
    for a, b in zip(split, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
