"""The Keras saving API (keras.saving.*, keras.models.clone_model) with Keras 3's semantics,
and "what cannot be saved fails at save time, naming it"."""
import json
import threading

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.registry import GLOBAL_CUSTOM_NAMES, GLOBAL_CUSTOM_OBJECTS

API = ["register_keras_serializable", "get_custom_objects", "get_registered_name",
       "get_registered_object", "serialize_keras_object", "deserialize_keras_object",
       "custom_object_scope", "CustomObjectScope", "load_model", "save_model", "load_weights",
       "save_weights"]


@pytest.fixture
def registry_snapshot():
    """Registrations made by a test are forgotten after it."""
    objects, names = dict(GLOBAL_CUSTOM_OBJECTS), dict(GLOBAL_CUSTOM_NAMES)
    yield
    GLOBAL_CUSTOM_OBJECTS.clear()
    GLOBAL_CUSTOM_OBJECTS.update(objects)
    GLOBAL_CUSTOM_NAMES.clear()
    GLOBAL_CUSTOM_NAMES.update(names)


def test_the_api_is_there():
    missing = [n for n in API if not hasattr(keras.saving, n)]
    assert missing == []
    assert keras.saving.custom_object_scope is keras.saving.CustomObjectScope
    assert callable(keras.models.clone_model)


def test_registration_names(registry_snapshot):
    @keras.saving.register_keras_serializable(package="api_tests")
    class Scale(layers.Layer):
        pass

    @keras.saving.register_keras_serializable("api_tests", name="sq")
    def square(x):
        return x * x

    assert keras.saving.get_registered_name(Scale) == "api_tests>Scale"
    assert keras.saving.get_registered_name(square) == "api_tests>sq"
    assert keras.saving.get_registered_object("api_tests>Scale") is Scale
    assert keras.saving.get_registered_object("api_tests>sq") is square
    assert keras.saving.get_custom_objects()["api_tests>sq"] is square

    def other(x):
        return x
    assert keras.saving.get_registered_name(other) == "other"        # not registered: its name
    assert keras.saving.get_registered_object("other") is None
    assert keras.saving.get_registered_object("other", custom_objects={"other": other}) is other
    # the live dict: adding to it makes a name resolvable
    keras.saving.get_custom_objects()["api_tests>other"] = other
    assert keras.activations.get("api_tests>other") is other


def test_registering_a_class_without_get_config_is_refused():
    class NoConfig:
        pass
    with pytest.raises(ValueError, match="NoConfig.*get_config"):
        keras.saving.register_keras_serializable("api_tests")(NoConfig)


def test_custom_object_scope_nests_restores_and_is_per_thread():
    def f(x):
        return x

    def g(x):
        return x
    seen = []
    with keras.saving.custom_object_scope({"f": f}):
        with keras.saving.CustomObjectScope({"g": g}):
            assert keras.saving.get_registered_object("f") is f
            assert keras.saving.get_registered_object("g") is g
            t = threading.Thread(target=lambda: seen.append(keras.saving.get_registered_object("f")))
            t.start()
            t.join()
        assert keras.saving.get_registered_object("g") is None
        assert keras.activations.get("f") is f
    assert keras.saving.get_registered_object("f") is None
    assert seen == [None]                    # another thread does not see this thread's scope


@pytest.mark.parametrize("make", [
    lambda: keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.01, 100, warmup_target=0.02,
                                                                         warmup_steps=5)),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: keras.losses.Huber(delta=0.5),
    lambda: keras.metrics.TopKCategoricalAccuracy(k=3),
    lambda: keras.metrics.BinaryAccuracy(threshold=0.2),
    lambda: keras.initializers.RandomNormal(stddev=0.3, seed=4),
    lambda: keras.regularizers.L1L2(l1=0.01, l2=0.02),
    lambda: keras.constraints.MaxNorm(2.0),
    lambda: keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
    lambda: layers.Dense(3, activation="relu", kernel_regularizer="l2"),
], ids=["adam+cosine", "sgd", "huber", "topk", "binacc", "init", "reg", "constraint", "piecewise", "dense"])
def test_serialize_deserialize_keras_object_round_trip(make):
    obj = make()
    config = keras.saving.serialize_keras_object(obj)
    assert config["module"].startswith("keras") and config["class_name"] == type(obj).__name__
    back = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert type(back) is type(obj)
    assert keras.saving.serialize_keras_object(back) == config
    plain = (int, float, str, bool, type(None))
    settings = {k: v for k, v in vars(obj).items() if isinstance(v, plain) and not k.startswith("_")}
    assert settings == {k: v for k, v in vars(back).items() if k in settings}    # nothing lost


@pytest.mark.parametrize("module", ["activations", "losses", "metrics", "optimizers", "initializers",
                                    "regularizers", "constraints", "schedules"])
def test_module_views_of_the_registry(module):
    mod = getattr(keras.optimizers, module) if module == "schedules" else getattr(keras, module)
    deserialize = getattr(mod, "deserialize", getattr(mod, "get", None))
    assert callable(mod.serialize) and callable(deserialize)
    for name in mod.__all__:
        cls = getattr(mod, name)
        if not isinstance(cls, type) or name in ("Loss", "Metric", "Optimizer", "Initializer",
                                                 "Regularizer", "Constraint", "LearningRateSchedule"):
            continue
        try:
            obj = cls()
        except TypeError:
            continue                      # needs arguments: covered above and by the matrix
        back = deserialize(json.loads(json.dumps(mod.serialize(obj))))
        assert type(back) is cls, name


def test_a_name_two_modules_share_resolves_by_module():
    for obj in (keras.metrics.MeanSquaredError(), keras.losses.MeanSquaredError()):
        back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
        assert type(back) is type(obj)


def test_values_round_trip():
    value = {"a": np.arange(6, dtype="int32").reshape(2, 3), "s": slice(1, None, 2), "e": Ellipsis,
             "b": b"bytes", "n": [1, 2.5, None, "x"]}
    back = keras.saving.deserialize_keras_object(json.loads(json.dumps(
        keras.saving.serialize_keras_object(value))))
    np.testing.assert_array_equal(back["a"], value["a"])
    assert back["a"].dtype == np.int32
    assert back["s"] == value["s"] and back["e"] is Ellipsis and back["b"] == b"bytes"
    assert back["n"] == [1, 2.5, None, "x"]


def test_functions_save_by_name():
    assert keras.activations.serialize(keras.activations.relu) == "relu"

    def my_act(x):
        return x
    config = keras.saving.serialize_keras_object(my_act)
    assert config == {"module": "builtins", "class_name": "function", "config": "my_act",
                      "registered_name": "function"}
    with pytest.raises(ValueError, match="Could not locate function 'my_act'"):
        keras.saving.deserialize_keras_object(config)
    assert keras.saving.deserialize_keras_object(config, custom_objects={"my_act": my_act}) is my_act
    assert keras.saving.deserialize_keras_object("my_act", custom_objects={"my_act": my_act}) is my_act


# -- what cannot be saved fails at save time, naming it -------------------------------------

class Opaque:
    def __repr__(self):
        return "<Opaque thing>"


class Holder(layers.Layer):
    def __init__(self, thing=None, **kwargs):
        super().__init__(**kwargs)
        self.thing = thing

    def call(self, x):
        return x

    def get_config(self):
        return {**super().get_config(), "thing": self.thing}


@pytest.mark.parametrize("kind", [".keras", ".h5", "json"])
def test_unsaveable_config_fails_at_save_naming_it(tmp_path, kind):
    x = keras.Input((2,))
    model = keras.Model(x, Holder(Opaque(), name="holder")(x))
    path = tmp_path / f"m{kind}"
    with pytest.raises(TypeError, match=r"Cannot save Opaque <Opaque thing> \(at '\w+\.holder\.thing'\)"):
        model.to_json() if kind == "json" else model.save(path)
    assert not path.exists()


def test_op_constants_save_and_bare_functions_fail_at_save(tmp_path):
    x = keras.Input((2,))
    y = ops.add(x, np.ones((2,), "float32"))             # an array constant saves
    model = keras.Model(x, y)
    model.save(tmp_path / "ok.keras")
    clone = keras.models.load_model(tmp_path / "ok.keras")
    np.testing.assert_allclose(clone.predict(np.zeros((1, 2), "float32"), verbose=0), [[1.0, 1.0]])
    from kerasette.layers.merge import _op_layer           # an op layer around a bare function
    model = keras.Model(x, _op_layer(lambda t: t * 2.0, "twice")(x))
    with pytest.raises(TypeError, match="Cannot save layer 'twice'.*Lambda layer"):
        model.save(tmp_path / "bad.keras")
    assert not (tmp_path / "bad.keras").exists()


def test_unnamed_callable_fails_at_save(tmp_path):
    class Act:                       # a callable object without get_config
        def __call__(self, x):
            return x
    model = keras.Sequential([keras.Input((2,)), layers.Dense(2, activation=Act(), name="d")])
    with pytest.raises(TypeError, match=r"Cannot save Act .*'\w+\.d\.activation'.*no get_config"):
        model.save(tmp_path / "m.keras")


def test_unknown_function_fails_at_load_with_the_fix(tmp_path):
    def local_act(x):
        return ops.relu(x)
    model = keras.Sequential([keras.Input((2,)), layers.Dense(2, activation=local_act)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unknown activation: 'local_act'.*custom_objects"):
        keras.models.load_model(tmp_path / "m.keras")
    keras.models.load_model(tmp_path / "m.keras", custom_objects={"local_act": local_act})


# -- clone_model ------------------------------------------------------------------------------

def _functional():
    a = keras.Input((4,), name="a")
    h = layers.Dense(5, activation="relu", name="h")(a)
    h = ops.relu(h) + 1.0
    out = layers.Dense(2, name="out")(layers.Concatenate(name="cat")([h, a]))
    return keras.Model(a, out, name="f")


def test_clone_model_new_weights_same_architecture():
    model = _functional()
    clone = keras.models.clone_model(model)
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in model.layers]
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert not any(a is b for a, b in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_clone_model_clone_function_and_call_function():
    model = _functional()
    seen, calls = [], []

    def clone_function(layer):
        seen.append(layer.name)
        config = layer.get_config()
        if isinstance(layer, layers.Dense):
            config["name"] = layer.name + "_c"
        return layer.__class__.from_config(config)

    def call_function(layer, *args, **kwargs):
        calls.append(layer.name)
        return layer(*args, **kwargs)
    clone = keras.models.clone_model(model, clone_function=clone_function, call_function=call_function)
    assert "h" in seen and "out" in seen and "a" not in seen          # inputs are never passed
    assert {"h_c", "out_c"} <= {l.name for l in clone.layers}
    assert "out_c" in calls
    new_input = keras.Input((4,), name="fresh")
    clone = keras.models.clone_model(model, input_tensors=new_input)
    assert clone.inputs[0] is new_input


def test_clone_sequential_with_custom_activation_and_lambda():
    def local_act(x):
        return ops.tanh(x)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation=local_act),
                              layers.Lambda(lambda t: t * 2.0), layers.Dense(1)])
    clone = keras.models.clone_model(model)          # no registration needed for a clone
    assert clone.layers[0].activation is local_act
    clone.set_weights(model.get_weights())
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="call_function"):
        keras.models.clone_model(model, call_function=lambda layer, *a, **k: layer(*a, **k))


def test_clone_subclassed_model_refuses_clone_function():
    class Net(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)
    with pytest.raises(ValueError, match="subclassed"):
        keras.models.clone_model(Net(), clone_function=lambda l: l)


def test_save_model_refuses_an_unzipped_folder(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(NotImplementedError, match="zipped=False"):
        keras.saving.save_model(model, str(tmp_path / "m.keras"), zipped=False)
    assert not (tmp_path / "m.keras").exists()
    keras.saving.save_model(model, str(tmp_path / "m.keras"), zipped=True)
    assert (tmp_path / "m.keras").exists()
