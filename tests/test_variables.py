"""The Variable API as keras.Variable has it, and Layer.add_variable (issue 15, item 3)."""
import os
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, ops


def test_variable_from_value_keeps_dtype_and_copies():
    src = np.ones(2)                                   # float64 array: kept (as Keras)
    v = keras.Variable(src)
    assert v.dtype == "float64" and v.shape == (2,) and v.ndim == 1
    src[0] = 5.0
    assert backend.to_numpy(v.value)[0] == 1.0         # the variable owns its array
    assert keras.Variable([1.0, 2.0]).dtype == backend.floatx()     # Python floats: floatx
    assert v.name == "variable" and v.path == "variable" and v.trainable


def test_variable_from_initializer_needs_shape():
    v = keras.Variable("zeros", shape=(2, 3), dtype="float64", name="w", trainable=False)
    assert v.shape == (2, 3) and v.dtype == "float64" and v.name == "w" and not v.trainable
    assert not v.requires_grad
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        keras.Variable("zeros")
    ones = keras.Variable(keras.initializers.Ones(), shape=(3,))
    np.testing.assert_array_equal(ones.numpy(), np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        keras.Variable(np.ones(2), shape=(3,))
    with pytest.raises(TypeError, match="unexpected"):
        keras.Variable(np.ones(2), frobnicate=1)


def test_assign_add_sub_in_place():
    v = keras.Variable(np.zeros(3, np.float32))
    arr = v.value
    assert v.assign([1, 2, 3]) is v                    # ints into a float variable: cast
    v.assign_add(np.ones(3))                           # float64 into float32: same kind, cast
    v.assign_sub(0.5)                                  # scalars broadcast
    v.assign_add(ops.convert_to_tensor(np.array([1.0, 1.0, 1.0], np.float32)))
    assert v.value is arr and v.dtype == np.float32
    np.testing.assert_allclose(v.numpy(), [2.5, 3.5, 4.5])
    assert isinstance(v.numpy(), np.ndarray)


def test_assign_errors_are_one_line_and_leave_the_value():
    v = keras.Variable(np.zeros((2, 3), np.float32), name="kernel")
    for bad, err in [(lambda: v.assign(np.ones((3, 2))), ValueError),
                     (lambda: v.assign(np.ones(3)), ValueError),
                     (lambda: v.assign_add(np.ones((4, 3))), ValueError),
                     (lambda: v.assign_sub(np.ones((2, 3, 1))), ValueError)]:
        with pytest.raises(err, match="kernel") as info:
            bad()
        assert "\n" not in str(info.value)
    i = keras.Variable(np.zeros(2, np.int32), trainable=False)
    with pytest.raises(TypeError, match="float64 value to a int32"):
        i.assign(np.array([0.5, 1.5]))
    i.assign_add(np.array([1, 2], np.int64))
    np.testing.assert_array_equal(i.numpy(), [1, 2])
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3)))


def test_integer_variables_get_no_gradient():
    v = keras.Variable(np.arange(3), trainable=True)
    assert v.trainable and not v.requires_grad
    v.trainable = False
    assert not v.trainable


def test_variable_acts_as_a_tensor():
    v = keras.Variable(np.array([1.0, 2.0], np.float32))
    np.testing.assert_allclose((v + 1).numpy(), [2, 3])
    np.testing.assert_allclose(ops.sum(v * v).numpy(), 5.0)
    np.testing.assert_allclose(np.asarray(v), [1, 2])
    assert float(v[1]) == 2.0
    assert "path=variable" in repr(v)


def test_variable_gradients_and_trainable_toggle():
    v = keras.Variable(np.array([1.0, 2.0], np.float32), name="w")
    loss = ops.sum(v * v)
    loss.backward()
    np.testing.assert_allclose(backend.to_numpy(v.grad), [2, 4])
    v.trainable = False
    assert not v.requires_grad


def test_layer_add_variable_keras3_signature():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_variable((input_shape[-1],), "ones", name="scale")
            self.steps = self.add_variable((), "zeros", dtype="int32", trainable=False, name="steps")

        def call(self, x):
            self.steps.assign_add(1)
            return x * self.w

    layer = Scale(name="scale_layer")
    out = layer(np.ones((2, 3), np.float32))
    np.testing.assert_allclose(backend.to_numpy(out.value), np.ones((2, 3)))
    assert layer.w.path == "scale_layer/scale" and layer.w.name == "scale"
    assert [w.name for w in layer.trainable_weights] == ["scale"]
    assert [w.name for w in layer.non_trainable_weights] == ["steps"]
    assert int(layer.steps.numpy()) == 1


def test_add_weight_keras3_keywords_and_refusal():
    layer = keras.layers.Layer()
    w = layer.add_weight(shape=(2,), initializer="zeros", aggregation="mean", autocast=False,
                         regularizer="l2", name="w")
    assert w.aggregation == "mean" and w.autocast is False and w.regularizer is not None
    n = layer.add_weight(shape=(2,), dtype="int32", trainable=False, name="n")   # int: zeros
    np.testing.assert_array_equal(n.numpy(), [0, 0])
    with pytest.raises(TypeError, match="frob"):
        layer.add_weight(shape=(2,), frob=1)


def test_keras_reference_behaviour_when_installed():
    keras3 = pytest.importorskip("keras", reason="Keras 3 cross-check")
    if not hasattr(keras3, "Variable"):
        pytest.skip("not Keras 3")
    ref = keras3.Variable(np.zeros(3, np.float32))
    mine = keras.Variable(np.zeros(3, np.float32))
    for v in (ref, mine):
        v.assign(np.arange(3, dtype=np.float32))
        v.assign_add(np.ones(3, np.float32))
        v.assign_sub(np.full(3, 0.5, np.float32))
    np.testing.assert_allclose(np.asarray(ref.numpy()), mine.numpy())
    with pytest.raises(ValueError):
        ref.assign(np.ones(4, np.float32))
    with pytest.raises(ValueError):
        mine.assign(np.ones(4, np.float32))
