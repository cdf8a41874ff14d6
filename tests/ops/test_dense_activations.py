"""The fused Dense node for every elementwise Keras activation (issue 19).

For each activation the fused node ``ops.dense(x, w, b, act)`` must equal the plain node
followed by ``keras.activations.<act>`` (forward and every gradient, float32 and float64,
unsplit and split over threads), pass a float64 finite-difference check, and the Dense
layer must pick it for the built-in functions only. The kernel references
(``bias_act`` / ``act_grad``) are checked against formulas written here independently.
Under ``KERASETTE_TEST_DEVICE=standin`` the same tests run the device path (the kernels'
references on the stand-in)."""
import functools
import math

import numpy as np
import pytest

import kerasette as keras
from kerasette import activations, backend, layers, ops, parallel
from kerasette.autograd import Tensor, backward, gradcheck
from kerasette.ops import kernels, nn

RNG = np.random.default_rng(19)
# every fused activation the Dense layer reaches through keras.activations (mish: op level only,
# kerasette.activations has no mish)
LAYER_ACTS = ["relu", "tanh", "sigmoid", "elu", "selu", "softplus", "softsign", "relu6", "leaky_relu",
              "hard_sigmoid", "exponential", "silu", "gelu"]
OP_ACTS = LAYER_ACTS + ["mish"]
SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
_erf = np.vectorize(math.erf, otypes=[float])


def _softplus(s):
    return np.logaddexp(s, 0)


def _sig(s):
    return 1 / (1 + np.exp(-s))


# independent float64 formulas: act(s) and act'(s), from the pre-activation s
FORMULAS = {
    "relu": (lambda s: np.maximum(s, 0), lambda s: (s > 0) * 1.0),
    "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
    "sigmoid": (_sig, lambda s: _sig(s) * (1 - _sig(s))),
    "elu": (lambda s: np.where(s > 0, s, np.exp(s) - 1), lambda s: np.where(s > 0, 1, np.exp(s))),
    "selu": (lambda s: SELU_S * np.where(s > 0, s, SELU_A * (np.exp(s) - 1)),
             lambda s: SELU_S * np.where(s > 0, 1, SELU_A * np.exp(s))),
    "softplus": (_softplus, _sig),
    "softsign": (lambda s: s / (1 + np.abs(s)), lambda s: 1 / (1 + np.abs(s)) ** 2),
    "relu6": (lambda s: np.clip(s, 0, 6), lambda s: ((s > 0) & (s < 6)) * 1.0),
    "leaky_relu": (lambda s: np.where(s > 0, s, 0.2 * s), lambda s: np.where(s > 0, 1, 0.2)),
    "hard_sigmoid": (lambda s: np.clip((s + 3) / 6, 0, 1), lambda s: ((s > -3) & (s < 3)) / 6),  # Keras 3
    "exponential": (np.exp, np.exp),
    "silu": (lambda s: s * _sig(s), lambda s: _sig(s) * (1 + s * (1 - _sig(s)))),
    "gelu": (lambda s: s * 0.5 * (1 + _erf(s / np.sqrt(2))),                              # the erf form
             lambda s: 0.5 * (1 + _erf(s / np.sqrt(2))) + s * np.exp(-s * s / 2) / np.sqrt(2 * np.pi)),
    "mish": (lambda s: s * np.tanh(_softplus(s)),
             lambda s: np.tanh(_softplus(s)) + s * (1 - np.tanh(_softplus(s)) ** 2) * _sig(s)),
}
KINKS = {"relu": (0,), "relu6": (0, 6), "leaky_relu": (0,), "hard_sigmoid": (-3, 3), "elu": (0,), "selu": (0,)}


def _unfused(act, y):
    """The separate op after a plain Dense node: keras.activations.<act> (mish: its formula in ops)."""
    if act == "mish":
        return ops.multiply(y, ops.tanh(ops.softplus(y)))
    return activations.get(act)(y)


def _pre(shape_x, units, act, scale=3.0, dtype="float64", seed=0, kinks=True):
    """x, w, b whose pre-activations stay 1e-3 away from ``act``'s kinks and reach beyond them."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        x = rng.standard_normal(shape_x)
        w = rng.standard_normal((shape_x[-1], units)) * scale / np.sqrt(shape_x[-1])
        b = rng.standard_normal(units)
        s = x @ w + b
        if not kinks or all(np.abs(s - k).min() > 1e-3 for k in KINKS.get(act, ())):
            return x.astype(dtype), w.astype(dtype), b.astype(dtype)
    raise AssertionError(f"no inputs away from the kinks of {act}")


def test_the_tables_cover_the_kernel_activations():
    assert set(FORMULAS) == set(kernels.FUSED_ACTIVATIONS) - {None}
    assert set(OP_ACTS) == set(FORMULAS)
    assert set(kernels.FUSED_FROM_PRE) == {"silu", "gelu", "mish"}


# ---- the kernel references ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", OP_ACTS)
def test_bias_act_reference_matches_the_formula(act, dtype):
    y, g = ((RNG.standard_normal((6, 5)) * 3).astype(dtype) for _ in range(2))
    b = RNG.standard_normal(5).astype(dtype)
    s = (y + b).astype("float64")                                  # the sum rounded as the kernel's
    f, df = FORMULAS[act]
    # kerasette's erf (Abramowitz & Stegun 7.1.26) is within 1.5e-7 of the exact one
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == "float32" else dict(rtol=1e-9, atol=1e-6 if act == "gelu" else 1e-12)
    pre = np.empty((6, 5), dtype)
    out = kernels.run("bias_act", np, y.copy(), b, act, pre=pre)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, f(s), **tol)
    np.testing.assert_array_equal(pre, s)
    v = s if act in kernels.FUSED_FROM_PRE else f(s)              # what the node keeps
    gx = kernels.run("act_grad", np, v.astype(dtype), g, act)
    assert gx.dtype == dtype
    np.testing.assert_allclose(gx, g * df(s), **tol)


def test_bias_act_without_a_bias_and_linear():
    y = RNG.standard_normal((3, 4))
    np.testing.assert_array_equal(kernels.run("bias_act", np, y.copy(), None, None), y)
    np.testing.assert_allclose(kernels.run("bias_act", np, y.copy(), None, "elu"), FORMULAS["elu"][0](y))


def test_kernel_arguments_are_refused_with_one_line():
    y, b = np.ones((2, 3)), np.ones(3)
    with pytest.raises(ValueError, match=r"^kernel bias_act: activation must be one of .*got 'softmax'$"):
        kernels.run("bias_act", np, y, b, "softmax")
    with pytest.raises(ValueError, match=r"^kernel bias_act: expected y \(n, units\) and b \(units,\), got "
                                         r"\(2, 3\) and \(4,\)$"):
        kernels.run("bias_act", np, y, np.ones(4), "relu")
    with pytest.raises(ValueError, match=r"^kernel bias_act: pre must have y's shape \(2, 3\), got \(3, 2\)$"):
        kernels.run("bias_act", np, y, b, "gelu", pre=np.ones((3, 2)))
    with pytest.raises(TypeError, match="^kernel bias_act: expected float32 or float64 arrays of one dtype"):
        kernels.run("bias_act", np, y, b, "gelu", pre=np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"^kernel act_grad: the saved values and g must have one shape"):
        kernels.run("act_grad", np, y, np.ones((3, 2)), "silu")
    with pytest.raises(ValueError, match="^kernel act_grad: activation must be one of"):
        kernels.run("act_grad", np, y, y, None)


def test_the_cuda_switch_has_one_case_per_activation_code():
    """The code numbers in the CUDA source are the registry's (a case added to one and not
    the other would run the wrong activation on the GPU only)."""
    src = kernels.KERNELS["bias_act"].source
    fwd, grad = src.split("ks_act_grad_f32")[0], src.split("ks_act_grad_f32")[1].split("ks_act_f64")[0]
    for code in range(1, len(kernels.FUSED_ACTIVATIONS)):
        assert f"case {code}:" in fwd and f"case {code}:" in grad
    assert f"case {len(kernels.FUSED_ACTIVATIONS)}:" not in src
    assert kernels.KERNELS["act_grad"].source.count("__global__") == 2      # one entry per dtype


# ---- the fused node equals the activation after the plain node ----------------------------------

def _run(act, fused, arrays, split=False):
    ts = [Tensor(backend.to_device(a), requires_grad=True) for a in arrays]
    with parallel.region(enabled=split):
        y = ops.dense(*ts, activation=act) if fused else _unfused(act, ops.dense(*ts))
        r = backend.to_device(np.linspace(-1, 1, int(np.prod(y.shape))).reshape(y.shape).astype(arrays[0].dtype))
        backward(ops.sum(ops.multiply(y, r)))
    return [backend.to_numpy(y.value)] + [backend.to_numpy(t.grad) for t in ts]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", OP_ACTS)
def test_fused_equals_the_activation_after_the_plain_node(act, dtype):
    arrays = _pre((7, 2, 6), 5, act, dtype=dtype)                   # rank 3: the node reshapes
    fused, plain = _run(act, True, arrays), _run(act, False, arrays)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    for got, want in zip(fused, plain):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("shape", [((256, 128), 160), ((2048, 64), 40)], ids=["cols", "rows"])
@pytest.mark.parametrize("act", ["elu", "softsign", "leaky_relu", "gelu", "silu", "mish"])
def test_fused_equals_unfused_when_split_over_threads(act, shape):
    (m, k), n = shape
    assert m * k * n >= nn.DENSE_SPLIT_MIN_MACS                    # big enough to split
    arrays = _pre((m, k), n, act, dtype="float32", kinks=False)     # both sides take the same masks
    fused, plain = _run(act, True, arrays, split=True), _run(act, False, arrays, split=True)
    for got, want in zip(fused, plain):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=5e-4 * np.abs(want).max())


@pytest.mark.parametrize("act", OP_ACTS)
def test_fused_node_gradcheck(act):
    x, w, b = _pre((4, 3), 5, act)
    assert gradcheck(lambda xt, wt, bt: ops.dense(xt, wt, bt, act), [x, w, b])
    assert gradcheck(lambda xt, wt: ops.dense(xt, wt, None, act), [x, w])


@pytest.mark.parametrize("act", LAYER_ACTS)
def test_dense_layer_gradcheck_float64(act):
    x, w, b = _pre((4, 3), 5, act)
    layer = layers.Dense(5, activation=act, dtype="float64")
    layer.build((None, 3))
    layer.set_weights([w, b])
    assert layer._fused == act
    assert gradcheck(lambda xt: layer(xt), [x])
    np.testing.assert_allclose(backend.to_numpy(layer(backend.to_device(x)).value),
                               FORMULAS[act][0](x @ w + b), rtol=1e-9, atol=3e-7)


def test_the_node_keeps_the_output_or_the_pre_activation():
    x, w, b = (Tensor(backend.to_device(a), requires_grad=True) for a in _pre((4, 3), 5, "gelu"))
    for act in ("elu", "gelu"):
        y = ops.dense(x, w, b, act)
        kept = y.node.saved[2]
        z = backend.to_numpy(ops.dense(x, w, b).value)
        if act in kernels.FUSED_FROM_PRE:
            np.testing.assert_allclose(backend.to_numpy(kept), z, rtol=1e-12)   # z, besides the output
        else:
            assert kept is y.value                                  # only the output itself


# ---- the layer's choice ---------------------------------------------------------------------

@pytest.mark.parametrize("given,fused", [
    (None, None), ("linear", None), ("relu", "relu"), ("swish", "silu"), ("silu", "silu"), ("gelu", "gelu"),
    ("leaky_relu", "leaky_relu"), ("hard_sigmoid", "hard_sigmoid"), ("exponential", "exponential"),
    (activations.selu, "selu"), (keras.ops.relu, "relu"),
    ({"class_name": "function", "config": "softplus"}, "softplus"),
    ("softmax", False), ("log_softmax", False),
    (keras.ops.gelu, False),                                        # the tanh form by default: not fused
    (functools.partial(activations.gelu, approximate=True), False),
    (functools.partial(activations.leaky_relu, negative_slope=0.1), False),
])
def test_dense_layer_fuses_exactly_the_builtin_functions(given, fused):
    layer = layers.Dense(3, activation=given)
    assert layer._fused == fused
    x = RNG.standard_normal((2, 4)).astype("float32")
    y = layer(backend.to_device(x))
    want = activations.get(given)(ops.dense(backend.to_device(x), layer.kernel.value, layer.bias.value))
    np.testing.assert_allclose(backend.to_numpy(y.value), backend.to_numpy(want.value), rtol=1e-5, atol=1e-6)
    assert (type(y.node).__name__ == "Dense") == (fused is not False)


def test_a_users_function_named_like_a_builtin_stays_unfused():
    def relu(x):                                                    # not keras.activations.relu
        return ops.multiply(x, 2.0)

    layer = layers.Dense(3, activation=relu, kernel_initializer="ones", bias_initializer="zeros")
    assert layer._fused is False
    y = layer(backend.to_device(np.full((1, 2), -1.0, "float32")))
    np.testing.assert_allclose(backend.to_numpy(y.value), [[-4.0, -4.0, -4.0]])
