"""Names a Keras 3 script takes from the top of ``keras`` (``keras.Loss``, ``keras.Metric``,
``keras.version()``, ...) and the dtype properties custom layers read."""
import numpy as np

import kerasette as keras


def test_base_classes_at_the_top_are_the_modules_ones():
    assert keras.Loss is keras.losses.Loss and keras.Metric is keras.metrics.Metric
    assert keras.Optimizer is keras.optimizers.Optimizer
    assert keras.Initializer is keras.initializers.Initializer
    assert keras.Regularizer is keras.regularizers.Regularizer
    assert isinstance(keras.Input((2,)), keras.KerasTensor)
    assert keras.version() == keras.__version__


def test_a_loss_subclassed_from_keras_loss_trains():
    class HalfSquare(keras.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) / 2

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile("sgd", HalfSquare())
    np.testing.assert_allclose(model.evaluate(np.ones((4, 3)), np.full((4, 1), 2.0), verbose=0), 2.0, rtol=1e-6)


def test_layer_dtype_properties():
    layer = keras.layers.Dense(2, dtype="float64")
    assert (layer.compute_dtype, layer.variable_dtype, layer.input_dtype) == ("float64",) * 3
    assert keras.layers.Dense(2).compute_dtype == "float32"


def test_initializers_by_their_lowercase_keras_names():
    init = keras.initializers
    pairs = {"zeros": init.Zeros, "ones": init.Ones, "constant": init.Constant, "he_normal": init.HeNormal,
             "he_uniform": init.HeUniform, "glorot_normal": init.GlorotNormal,
             "glorot_uniform": init.GlorotUniform, "lecun_normal": init.LecunNormal,
             "lecun_uniform": init.LecunUniform, "random_normal": init.RandomNormal,
             "random_uniform": init.RandomUniform, "truncated_normal": init.TruncatedNormal,
             "variance_scaling": init.VarianceScaling, "orthogonal": init.Orthogonal,
             "OrthogonalInitializer": init.Orthogonal, "identity": init.Identity,
             "IdentityInitializer": init.Identity}
    for name, cls in pairs.items():
        assert getattr(init, name) is cls, name
    layer = keras.layers.Dense(3, kernel_initializer=init.he_normal(seed=1))
    layer.build((None, 4))
    assert layer.kernel.shape == (4, 3) and layer.get_config()["kernel_initializer"]["class_name"] == "HeNormal"
