"""The transposed, depthwise and separable convolutions on the CuPy stand-in.

Forward and backward must keep every array on the device, use only names CuPy has,
and give NumPy's values and gradients (the device path of conv2d_transpose runs the
``col2im`` kernel's reference, the CPU path its per-tap GEMMs: both are compared).
"""
import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers
from kerasette.autograd import Tensor, backward
from kerasette.ops.conv_transpose import conv2d_transpose
from kerasette.ops.depthwise import depthwise_conv2d, separable_conv2d
from kerasette.testing import standin
from kerasette.testing.standin import StandinArray

TOL = dict(rtol=1e-5, atol=1e-5)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def _run(fn, arrays, on_standin):
    to_dev = standin.asarray if on_standin else np.array
    tensors = [Tensor(to_dev(a), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    if on_standin:
        assert type(out.value) is StandinArray, f"output left the device: {type(out.value).__name__}"
    probe = np.random.default_rng(5).standard_normal(out.shape).astype(out.dtype)
    backward(out, to_dev(probe))
    grads = []
    for t in tensors:
        if on_standin:
            assert type(t.grad) is StandinArray, f"gradient left the device: {type(t.grad).__name__}"
        grads.append(backend.to_numpy(t.grad))
    return out.numpy(), grads


CASES = [
    ("transpose_same_s2", lambda x, k, b: conv2d_transpose(x, k, strides=2, padding="same", bias=b,
                                                           activation="relu"),
     [_rand(2, 4, 3, 3, seed=1), _rand(3, 3, 4, 3, seed=2), _rand(4, seed=3)]),
    ("transpose_valid_outpad", lambda x, k: conv2d_transpose(x, k, strides=(2, 3), output_padding=(1, 2)),
     [_rand(2, 4, 3, 3, seed=4), _rand(2, 3, 4, 3, seed=5)]),
    ("transpose_dilated", lambda x, k, b: conv2d_transpose(x, k, padding="same", dilation_rate=2, bias=b,
                                                           activation="tanh"),
     [_rand(2, 5, 4, 2, seed=6), _rand(3, 3, 3, 2, seed=7), _rand(3, seed=8)]),
    ("depthwise_same", lambda x, k, b: depthwise_conv2d(x, k, padding="same", bias=b, activation="sigmoid"),
     [_rand(2, 6, 5, 3, seed=9), _rand(3, 3, 3, 2, seed=10), _rand(6, seed=11)]),
    ("depthwise_strided_dilated", lambda x, k: depthwise_conv2d(x, k, strides=2, dilation_rate=2, padding="same"),
     [_rand(2, 7, 6, 3, seed=12), _rand(3, 2, 3, 1, seed=13)]),
    ("separable", lambda x, k1, k2, b: separable_conv2d(x, k1, k2, strides=2, padding="same", bias=b,
                                                        activation="relu"),
     [_rand(2, 6, 5, 3, seed=14), _rand(3, 3, 3, 2, seed=15), _rand(1, 1, 6, 4, seed=16), _rand(4, seed=17)]),
]


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_op_forward_backward_match_numpy(name, fn, arrays):
    ref_out, ref_grads = _run(fn, arrays, False)
    out, grads = _run(fn, arrays, True)
    assert out.shape == ref_out.shape and out.dtype == ref_out.dtype == np.float32
    np.testing.assert_allclose(out, ref_out, **TOL)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, **TOL)


def _model():
    inputs = keras.Input((6, 6, 2))
    x = layers.SeparableConv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)(x)
    x = layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="tanh")(x)
    y = layers.Conv1DTranspose(2, 2, strides=2)(layers.Reshape((36, 3))(x))
    y = layers.SeparableConv1D(2, 3, padding="same")(layers.DepthwiseConv1D(3)(y))
    return keras.Model(inputs, layers.Flatten()(y))


def test_model_trains_the_same_on_the_standin():
    x, y = _rand(8, 6, 6, 2, seed=20), _rand(8, 140, seed=21)
    results = []
    for on_standin in (False, True):
        keras.set_random_seed(4)
        ctx = standin.on_device() if on_standin else _null()
        with ctx:
            model = _model()
            model.compile(optimizer="adam", loss="mse")
            hist = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
            results.append((hist.history["loss"], model.predict(x, verbose=0)))
    np.testing.assert_allclose(results[0][0], results[1][0], **TOL)
    np.testing.assert_allclose(results[0][1], results[1][1], **TOL)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
