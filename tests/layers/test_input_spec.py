"""``layer.input_spec`` (``keras.layers.InputSpec``) is checked on every call, eager and
symbolic, before the layer builds, with Keras 3's rules and wording."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")


def spec_layer(k, **spec):
    class Checked(k.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = k.layers.InputSpec(**spec)
            self.builds = 0

        def build(self, input_shape):
            self.builds += 1

        def call(self, x):
            return x

    return Checked(name="checked")


CASES = [   # spec, accepted shape, refused shape, message
    ({"ndim": 3}, (2, 4, 5), (2, 5), "expected ndim=3, found ndim=2. Full shape received: (2, 5)"),
    ({"min_ndim": 3}, (2, 4, 5, 1), (2, 5), "expected min_ndim=3, found ndim=2. Full shape received: (2, 5)"),
    ({"max_ndim": 2}, (2, 5), (2, 4, 5), "expected max_ndim=2, found ndim=3"),
    ({"axes": {-1: 5}}, (2, 3, 5), (2, 3, 4),
     "expected axis -1 of input shape to have value 5, but received input with shape (2, 3, 4)"),
    ({"shape": (None, 5)}, (7, 5), (7, 6), "expected shape=(None, 5), found shape=(7, 6)"),
]


@pytest.mark.parametrize("spec, good, bad, message", CASES)
def test_eager_and_symbolic_calls_are_checked_before_build(spec, good, bad, message):
    layer = spec_layer(keras, **spec)
    with pytest.raises(ValueError) as e:
        layer(np.zeros(bad, "float32"))
    assert str(e.value) == f'Input 0 of layer "checked" is incompatible with the layer: {message}'
    assert layer.builds == 0 and not layer.built
    with pytest.raises(ValueError, match="is incompatible with the layer"):
        layer(keras.Input(bad[1:], batch_size=bad[0]))
    assert layer(np.ones(good, "float32")).shape == good
    with pytest.raises(ValueError, match="is incompatible"):       # built: still checked
        layer(keras.ops.convert_to_tensor(np.zeros(bad, "float32")))


def test_dtype_and_several_inputs():
    layer = spec_layer(keras, dtype="int32")
    with pytest.raises(ValueError, match="expected dtype=int32, found dtype=float32"):
        layer(keras.Input((3,), dtype="float32"))

    class Pair(keras.layers.Layer):
        def __init__(self):
            super().__init__(name="pair")
            self.input_spec = [keras.layers.InputSpec(ndim=2), keras.layers.InputSpec(ndim=3)]

        def call(self, inputs):
            return inputs[0]

    Pair()([np.zeros((1, 2), "float32"), np.zeros((1, 2, 3), "float32")])
    with pytest.raises(ValueError, match='Input 1 of layer "pair" is incompatible'):
        Pair()([np.zeros((1, 2), "float32"), np.zeros((1, 2), "float32")])
    with pytest.raises(ValueError, match='Layer "pair" expects 2 input\\(s\\), but it received 1'):
        Pair()(np.zeros((1, 2), "float32"))


def test_bad_specs_and_config():
    with pytest.raises(ValueError, match="InputSpec: ndim must be a non-negative integer"):
        keras.layers.InputSpec(ndim=-1)
    with pytest.raises(ValueError, match=r"InputSpec: axes \{3: 2\} do not fit in an input of rank 2"):
        keras.layers.InputSpec(ndim=2, axes={3: 2})
    spec = keras.layers.InputSpec(min_ndim=2, axes={-1: 4})
    again = keras.layers.InputSpec.from_config(spec.get_config())
    assert again.get_config() == spec.get_config() and keras.InputSpec is keras.layers.InputSpec


@needs_keras
@pytest.mark.parametrize("spec, good, bad, message", CASES[:4])
def test_keras_refuses_the_same_inputs_with_the_same_words(spec, good, bad, message):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    with pytest.raises(ValueError) as e:
        spec_layer(real, **spec)(np.zeros(bad, "float32"))
    assert message in str(e.value)
    spec_layer(real, **spec)(np.ones(good, "float32"))
