"""keras.utils.unpack_x_y_sample_weight / pack_x_y_sample_weight / is_keras_tensor /
get_source_inputs, as Keras 3's (the first two are what a custom train_step starts with)."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import utils

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")

DATA = ["x", ("x",), ["x", "y"], ("x", "y"), ("x", "y", "w"), ("x", None, "w")]


def test_unpack_and_pack():
    assert [utils.unpack_x_y_sample_weight(d) for d in DATA] == [
        ("x", None, None), ("x", None, None), ("x", "y", None), ("x", "y", None), ("x", "y", "w"),
        ("x", None, "w")]
    for bad in ((), ("a", "b", "c", "d")):
        with pytest.raises(ValueError, match="expected x, \\(x,\\), \\(x, y\\) or \\(x, y, sample_weight\\)"):
            utils.unpack_x_y_sample_weight(bad)
    assert utils.pack_x_y_sample_weight("x") == "x"
    assert utils.pack_x_y_sample_weight(("a", "b")) == (("a", "b"),)
    assert utils.pack_x_y_sample_weight("x", "y") == ("x", "y")
    assert utils.pack_x_y_sample_weight("x", "y", "w") == ("x", "y", "w")


def test_a_custom_train_step_with_sample_weights():
    class Weighted(keras.Model):
        def train_step(self, data):
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            self.seen.append(sample_weight is not None)
            return super().train_step(data)

    inp = keras.Input((2,))
    model = Weighted(inp, keras.layers.Dense(1)(inp))
    model.seen = []
    model.compile("sgd", "mse")
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    model.fit(x, y, batch_size=4, verbose=0)
    model.fit(x, y, sample_weight=np.ones(4, "float32"), batch_size=4, verbose=0)
    assert model.seen == [False, True]


def test_source_inputs():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Dense(3)(a)
    out = keras.layers.Add()([keras.layers.Dense(3)(b), h, keras.layers.Dense(3)(h)])
    assert [t.name for t in utils.get_source_inputs(out)] == ["b", "a"]
    assert utils.get_source_inputs(a) == [a] and utils.get_source_inputs("x") == "x"
    assert utils.is_keras_tensor(out) and not utils.is_keras_tensor(np.zeros(2))


@needs_keras
def test_as_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    for d in DATA:
        assert utils.unpack_x_y_sample_weight(d) == real.utils.unpack_x_y_sample_weight(d)
    for args in (("x",), (("a", "b"),), ("x", "y"), ("x", "y", "w"), ("x", None, "w")):
        assert utils.pack_x_y_sample_weight(*args) == real.utils.pack_x_y_sample_weight(*args)
    a, b = real.Input((2,), name="a"), real.Input((3,), name="b")
    h = real.layers.Dense(3)(a)
    out = real.layers.Add()([real.layers.Dense(3)(b), h, real.layers.Dense(3)(h)])
    assert [t.name for t in real.utils.get_source_inputs(out)] == ["b", "a"]
