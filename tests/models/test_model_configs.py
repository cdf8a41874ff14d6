"""get_config / from_config / to_json round trips for layers and all model kinds."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers


def seq():
    return keras.Sequential([keras.Input((6,)), layers.Dense(5, activation="relu"), layers.Dropout(0.3),
                             layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("layer", [
    layers.Dense(3, activation="tanh", use_bias=False), layers.Activation("relu"), layers.Dropout(0.2),
    layers.Flatten(), layers.Reshape((2, -1)), layers.Masking(0.0), layers.Concatenate(axis=1),
    layers.EinsumDense("ab,bc->ac", output_shape=(4,), bias_axes="c"),
])
def test_layer_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() | {"name": clone.name}


def test_sequential_json_round_trip_same_predictions():
    model = seq()
    x = np.random.default_rng(0).standard_normal((4, 6))
    clone = keras.models.model_from_json(model.to_json())
    assert isinstance(clone, keras.Sequential)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x), clone.predict(x))


def test_custom_objects_required_for_unknown_class():
    class Doubler(layers.Layer):
        def call(self, x):
            return x * 2.0

    x = keras.Input((2,))
    model = keras.Model(x, Doubler()(x))
    js = model.to_json()
    with pytest.raises(ValueError, match="Doubler.*custom_objects"):
        keras.models.model_from_json(js)
    clone = keras.models.model_from_json(js, custom_objects={"Doubler": Doubler})
    np.testing.assert_allclose(clone.predict(np.ones((1, 2))), 2.0)


def test_registered_custom_class():
    @keras.saving.register_keras_serializable(package="tests")
    class Tripler(layers.Layer):
        def call(self, x):
            return x * 3.0

    model = keras.Sequential([keras.Input((2,)), Tripler()])
    clone = keras.models.model_from_json(model.to_json())
    np.testing.assert_allclose(clone.predict(np.ones((1, 2))), 3.0)
