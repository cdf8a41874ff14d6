"""``keras.activations``: every Keras 3 name, Keras's signatures and defaults, Keras's numbers
(checked against real Keras when it is installed), float64 gradients, and the layer forms."""
import inspect
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import activations
from kerasette.autograd import Tensor
from kerasette.autograd.gradcheck import gradcheck

os.environ.setdefault("KERAS_BACKEND", "torch")        # the reference Keras runs on torch here

# Keras 3.15's keras.activations (without get / serialize / deserialize)
KERAS_NAMES = ["celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
               "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
               "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
               "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
               "threshold"]
ARGS = {"threshold": (0.3, -1.0)}            # the required arguments Keras's signature has
X = np.array([[-3.0, -1.2, -0.4, 0.0, 0.3, 0.9, 2.5, 7.0]], dtype="float32")


def _value(t):
    return np.asarray(getattr(t, "value", t))


def test_every_keras_activation_is_here_by_name():
    missing = [n for n in KERAS_NAMES if not callable(getattr(activations, n, None))]
    assert missing == []
    for n in KERAS_NAMES:
        assert activations.get(n) is getattr(activations, n)
        assert activations.deserialize(activations.serialize(getattr(activations, n))) is getattr(activations, n)


def test_the_same_names_as_the_installed_keras():
    real = pytest.importorskip("keras", exc_type=ImportError)
    names = sorted(n for n in dir(real.activations) if not n.startswith("_")
                   and n not in ("get", "serialize", "deserialize"))
    assert names == sorted(KERAS_NAMES)
    for n in names:
        mine = inspect.signature(getattr(activations, n)).parameters
        theirs = inspect.signature(getattr(real.activations, n)).parameters
        assert list(mine) == list(theirs), n
        assert [p.default for p in mine.values()] == [p.default for p in theirs.values()], n


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_numbers_equal_keras(name):
    real = pytest.importorskip("keras", exc_type=ImportError)
    args = ARGS.get(name, ())
    mine = _value(getattr(activations, name)(X, *args))
    theirs = real.ops.convert_to_numpy(getattr(real.activations, name)(X, *args))
    np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [dict(negative_slope=0.5), dict(max_value=6.0), dict(threshold=0.5),
                                    dict(negative_slope=0.1, max_value=2.0, threshold=0.2)])
def test_general_relu_matches_its_formula_and_the_layer(kwargs):
    slope, top, thr = kwargs.get("negative_slope", 0.0), kwargs.get("max_value"), kwargs.get("threshold", 0.0)
    x = X.astype("float64")
    want = np.where(x > thr, x, 0.0)
    if top is not None:
        want = np.minimum(want, top)
    want = want - slope * np.maximum(thr - x, 0.0)
    np.testing.assert_allclose(_value(activations.relu(x, **kwargs)), want, rtol=1e-12)
    layer = keras.layers.ReLU(**kwargs)
    np.testing.assert_allclose(_value(layer(X)), want, rtol=1e-6)


@pytest.mark.parametrize("name", ["mish", "celu", "hard_tanh", "log_sigmoid", "squareplus", "tanh_shrink",
                                  "relu"])
def test_float64_gradients(name):
    rng = np.random.default_rng(0)
    x = Tensor(rng.uniform(-2, 2, (3, 4)) + 0.05, requires_grad=True)    # off the kinks
    fn = getattr(activations, name)
    assert gradcheck(lambda t: fn(t), [x])
    if name == "relu":
        assert gradcheck(lambda t: activations.relu(t, negative_slope=0.3, max_value=1.5, threshold=0.2), [x])


def test_a_dense_layer_takes_the_new_names():
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    for name in ("mish", "hard_swish", "celu", "log_sigmoid"):
        layer = keras.layers.Dense(5, activation=name)
        out = _value(layer(x))
        plain = _value(getattr(activations, name)(x @ layer.kernel.numpy() + layer.bias.numpy()))
        np.testing.assert_allclose(out, plain, rtol=1e-5, atol=1e-6)
        assert keras.layers.Dense.from_config(layer.get_config()).activation is getattr(activations, name)
