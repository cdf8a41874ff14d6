"""conv2d and pad: float64 gradchecks over a grid, a direct-loop reference and PyTorch."""
import itertools

import numpy as np
import pytest

from kerasette import ops
from kerasette.autograd import Tensor, backward, gradcheck
from kerasette.ops.conv import conv2d, same_pads


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def reference_conv(x, k, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """The definition, one output element at a time (slow but obvious)."""
    n, h, w, c = x.shape
    kh, kw, _, f = k.shape
    (sh, sw), (dh, dw) = strides, dilation
    if padding == "same":
        # Keras/TF: ceil(size / stride) outputs; the odd extra pad goes bottom/right
        eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
        ho, wo = -(-h // sh), -(-w // sw)
        th, tw = max((ho - 1) * sh + eh - h, 0), max((wo - 1) * sw + ew - w, 0)
        x = np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)))
    hp, wp = x.shape[1:3]
    ho = (hp - (kh - 1) * dh - 1) // sh + 1
    wo = (wp - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, ho, wo, f))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                for o in range(f):
                    total = 0.0
                    for a in range(kh):
                        for e in range(kw):
                            for ch in range(c):
                                total += x[b, i * sh + a * dh, j * sw + e * dw, ch] * k[a, e, ch, o]
                    out[b, i, j, o] = total
    return out


# (strides, padding, dilation) x (input height, width) x kernel (kh, kw)
SETTINGS = [(1, "valid", 1), (1, "same", 1), (2, "valid", 1), (2, "same", 1),
            (1, "valid", 2), (1, "same", 2), ((2, 1), "same", 1), (1, "valid", (2, 1))]
SIZES = [(5, 6), (6, 5)]       # odd and even heights / widths
KERNELS = [(3, 2), (2, 2), (1, 1)]
GRID = [(s, p, d, hw, k) for (s, p, d), hw, k in itertools.product(SETTINGS, SIZES, KERNELS)]


def _id(case):
    s, p, d, hw, k = case
    return f"s{s}-{p}-d{d}-{hw[0]}x{hw[1]}-k{k[0]}x{k[1]}"


@pytest.mark.parametrize("case", GRID, ids=[_id(c) for c in GRID])
def test_conv2d_forward_matches_direct_loops(case):
    s, p, d, (h, w), (kh, kw) = case
    x, k = _rand(2, h, w, 3, seed=1), _rand(kh, kw, 3, 2, seed=2)
    got = conv2d(x, k, strides=s, padding=p, dilation_rate=d).numpy()
    norm = lambda v: v if isinstance(v, tuple) else (v, v)    # noqa: E731
    want = reference_conv(x, k, norm(s), p, norm(d))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    if p == "same":
        assert got.shape[1:3] == (-(-h // norm(s)[0]), -(-w // norm(s)[1]))


@pytest.mark.parametrize("case", GRID, ids=[_id(c) for c in GRID])
def test_conv2d_gradcheck(case):
    s, p, d, (h, w), (kh, kw) = case
    x, k = _rand(2, h, w, 2, seed=3), _rand(kh, kw, 2, 3, seed=4)
    assert gradcheck(lambda a, b: conv2d(a, b, strides=s, padding=p, dilation_rate=d), [x, k])


@pytest.mark.parametrize("activation", [None, "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2)])
def test_conv2d_fused_bias_activation(activation, padding, strides):
    x, k, b = _rand(2, 5, 6, 2, seed=5), _rand(3, 2, 2, 3, seed=6), _rand(3, seed=7)
    got = conv2d(x, k, strides=strides, padding=padding, bias=b, activation=activation).numpy()
    plain = conv2d(x, k, strides=strides, padding=padding).numpy() + b
    act = {None: lambda v: v, "relu": lambda v: np.maximum(v, 0), "tanh": np.tanh,
           "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[activation]
    np.testing.assert_allclose(got, act(plain), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda a, kk, bb: conv2d(a, kk, strides=strides, padding=padding, bias=bb,
                                              activation=activation), [x, k, b])


def test_conv2d_kernel_grad_only_when_input_is_constant():
    """The first layer: no input gradient is computed or returned."""
    x = Tensor(_rand(2, 6, 6, 1))
    k = Tensor(_rand(3, 3, 1, 4), requires_grad=True)
    out = conv2d(x, k, padding="same")
    backward(out, np.ones(out.shape))
    assert x.grad is None and k.grad.shape == (3, 3, 1, 4)


def test_conv2d_float32_stays_float32():
    x, k = _rand(2, 7, 7, 3).astype("float32"), _rand(3, 3, 3, 4).astype("float32")
    assert conv2d(x, k).dtype == np.float32
    assert ops.conv(x, k, padding="same").shape == (2, 7, 7, 4)


def test_same_pads_rule_puts_the_extra_pad_after():
    assert same_pads(5, 2, 1) == (0, 1)
    assert same_pads(6, 3, 2) == (0, 1)
    assert same_pads(7, 3, 2) == (1, 1)
    assert same_pads(4, 1, 1) == (0, 0)


@pytest.mark.parametrize("bad,match", [
    (dict(x=(2, 5, 5), k=(3, 3, 1, 2)), "rank 4"),
    (dict(x=(2, 5, 5, 3), k=(3, 3, 2, 2)), "3 channels"),
    (dict(x=(2, 2, 5, 1), k=(3, 3, 1, 2)), "larger than the input height"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 1, 2), strides=0), "positive"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 1, 2), padding="full"), "padding"),
    (dict(x=(2, 5, 5, 1), k=(3, 3, 1, 2), strides=2, dilation_rate=2), "dilation"),
])
def test_conv2d_bad_arguments(bad, match):
    bad = dict(bad)
    x, k = np.zeros(bad.pop("x")), np.zeros(bad.pop("k"))
    with pytest.raises(ValueError, match=match):
        conv2d(x, k, **bad)


def test_conv2d_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for (s, p, d), (h, w), (kh, kw) in itertools.product(SETTINGS, [(7, 6), (8, 9)], [(3, 2), (3, 3)]):
        x, k = _rand(2, h, w, 3, seed=8), _rand(kh, kw, 3, 4, seed=9)
        st = s if isinstance(s, tuple) else (s, s)
        dl = d if isinstance(d, tuple) else (d, d)
        xt = torch.tensor(x).permute(0, 3, 1, 2)
        if p == "same":
            pt, pb = same_pads(h, kh, st[0], dl[0])
            pl, pr = same_pads(w, kw, st[1], dl[1])
            xt = F.pad(xt, (pl, pr, pt, pb))
        want = F.conv2d(xt, torch.tensor(k).permute(3, 2, 0, 1), stride=st, dilation=dl)
        got = conv2d(x, k, strides=s, padding=p, dilation_rate=d).numpy()
        np.testing.assert_allclose(got, want.permute(0, 2, 3, 1).numpy(), rtol=1e-10, atol=1e-10)


def test_pad_forward_and_gradient():
    x = _rand(2, 3, 4, 2)
    out = ops.pad(x, ((0, 0), (1, 2), (0, 1), (0, 0))).numpy()
    np.testing.assert_array_equal(out, np.pad(x, ((0, 0), (1, 2), (0, 1), (0, 0))))
    assert ops.pad(x, 1).shape == (4, 5, 6, 4)
    assert ops.pad(x, (1, 2)).shape == (5, 6, 7, 5)
    assert gradcheck(lambda t: ops.pad(t, ((0, 0), (1, 2), (2, 0), (0, 0))), [x])
    np.testing.assert_array_equal(ops.pad(x, 1, constant_values=3.0).numpy()[0, 0], 3.0)
    with pytest.raises(ValueError, match="pad_width"):
        ops.pad(x, ((1, 1), (1, 1)))
