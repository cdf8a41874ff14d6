"""Layer autocast (Keras 3): float tensors given to a call are cast to the layer's float dtype,
differentiably and keeping their mask; ints stay; a model leaves it to its layers."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers
from kerasette.autograd.engine import backward
from kerasette.autograd.tensor import Tensor

os.environ.setdefault("KERAS_BACKEND", "torch")        # the reference Keras runs on torch here


def _t(a, **kwargs):
    """A Tensor on the default device (the stand-in in the device pass of the tests)."""
    return Tensor(backend.to_device(np.asarray(a)), **kwargs)


def _mixed():
    return keras.Sequential([keras.Input((4,)), layers.Dense(3, name="f32"),
                             layers.Dense(2, dtype="float64", name="f64")])


def test_a_float64_layer_in_a_float32_model_trains():
    keras.utils.set_random_seed(0)
    model = _mixed()
    assert model.outputs[0].dtype == "float64"
    x, y = np.random.default_rng(0).standard_normal((16, 4)).astype("float32"), np.ones((16, 2))
    assert model.predict(x, verbose=0).dtype == np.float64
    before = [w.numpy().copy() for w in model.weights]
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    after = model.weights
    assert [w.dtype for w in after] == [np.float32, np.float32, np.float64, np.float64]
    for b, a in zip(before, after):
        assert not np.allclose(b, a.numpy()), "every layer trains: the gradient crosses the casts"


def test_tensors_are_cast_to_the_layers_float_dtype():
    d32 = layers.Dense(2)
    assert d32(_t(np.ones((2, 4)))).dtype == np.float32
    d64 = layers.Dense(2, dtype="float64")
    assert d64(_t(np.ones((2, 4), "float32"))).dtype == np.float64

    class Two(layers.Layer):
        def call(self, a, b=None):
            return a + b

    assert Two()(_t(np.ones(2)), _t(np.ones(2))).dtype == np.float32       # positional
    assert Two()(_t(np.ones(2)), b=_t(np.ones(2))).dtype == np.float32     # keyword

    class Same(layers.Layer):
        def call(self, a):
            return a

    assert Same()(_t(np.arange(3))).dtype == np.arange(3).dtype                  # ints stay


def test_autocast_false_passes_tensors_as_they_are():
    layer = layers.Dense(2, autocast=False)
    with pytest.raises(TypeError, match="op Dense: got float64 and float32"):
        layer(_t(np.ones((1, 3))))
    with pytest.raises(TypeError, match="autocast"):
        layers.Dense(2, autocast="no")


def test_the_gradient_comes_back_in_the_inputs_dtype():
    layer = layers.Dense(2, dtype="float64", use_bias=False)
    x = _t(np.ones((3, 4), "float32"), requires_grad=True)
    backward(keras.ops.sum(layer(x)))
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(backend.to_numpy(x.grad), np.broadcast_to(layer.kernel.numpy().sum(1), (3, 4)), rtol=1e-6)


def test_the_mask_survives_the_cast():
    seen = {}

    class Reads(layers.Layer):
        def call(self, a, mask=None):
            seen["mask"], seen["dtype"] = mask, a.dtype
            return a

    x = _t(np.ones((2, 3, 1), "float32"))
    x._keras_mask = _t(np.array([[True, True, False], [True, False, False]]))
    Reads(dtype="float64")(x)
    assert seen["dtype"] == np.float64
    np.testing.assert_array_equal(backend.to_numpy(seen["mask"].value), [[True, True, False], [True, False, False]])


def test_a_model_leaves_the_cast_to_its_layers():
    """A float32 (default) model of float64 layers computes float64 inputs in float64 throughout."""
    inp = keras.Input((4,), dtype="float64")
    out = layers.Dense(2, dtype="float64")(layers.Dense(3, dtype="float64", activation="tanh")(inp))
    model = keras.Model(inp, out)
    x = np.random.default_rng(1).standard_normal((5, 4))
    k1, b1, k2, b2 = (w.numpy() for w in model.weights)
    want = np.tanh(x @ k1 + b1) @ k2 + b2
    got = model(_t(x)).numpy()
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_dtypes_match_real_keras():
    real = pytest.importorskip("keras", exc_type=ImportError)
    torch = pytest.importorskip("torch")
    cases = [("float32", "float64"), ("float64", "float32"), ("float32", "float32")]
    for layer_dtype, input_dtype in cases:
        theirs = real.layers.Dense(2, dtype=layer_dtype)(torch.ones((2, 4), dtype=getattr(torch, input_dtype)))
        ours = layers.Dense(2, dtype=layer_dtype)(_t(np.ones((2, 4), input_dtype)))
        assert str(theirs.dtype).replace("torch.", "") == str(ours.dtype), (layer_dtype, input_dtype)
    model = real.Sequential([real.Input((4,)), real.layers.Dense(3), real.layers.Dense(2, dtype="float64")])
    assert model.predict(np.ones((2, 4), "float32"), verbose=0).dtype == _mixed().predict(
        np.ones((2, 4), "float32"), verbose=0).dtype
