"""safe_mode: Python bytecode in a model file or config is refused, before it is decoded,
unless the loading call passes safe_mode=False; functions known by name load either way.

The Keras-made files come from tests/fixtures/make_lambda_fixtures.py: their lambda
creates the file named by KERASETTE_LAMBDA_MARKER whenever it runs."""
import json
import os
import sys
import threading

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette import registry
from kerasette.registry import UnsafeDeserializationError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
KERAS_FILES = ["lambda.keras", "lambda.legacy.h5", "lambda.keras2.h5"]
SAME_PYTHON = str(np.load(os.path.join(FIXTURES, "lambda.npz"))["python"]) == \
    f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "ran"
    monkeypatch.setenv("KERASETTE_LAMBDA_MARKER", str(path))
    return path


@pytest.fixture
def no_unmarshal(monkeypatch):
    """Fail the test if the one function that decodes bytecode from a config is called."""
    def refuse(*args, **kwargs):
        raise AssertionError("bytecode was decoded while refusing")
    monkeypatch.setattr(registry, "load_function", refuse)


def lambda_model():
    x = keras.Input((3,), name="x")
    h = layers.Lambda(lambda t: t * 2.0 + 1.0, name="lam")(x)
    return keras.Model(x, layers.Dense(2, name="head")(h), name="with_lambda")


# -- files written by Keras 3 ---------------------------------------------------------------

@pytest.mark.parametrize("name", KERAS_FILES)
def test_keras_files_with_a_lambda_are_refused_and_nothing_runs(name, marker, no_unmarshal):
    with pytest.raises(ValueError) as err:
        keras.models.load_model(os.path.join(FIXTURES, name))
    msg = str(err.value)
    assert "Lambda layer 'lam'" in msg and "bytecode" in msg and "safe_mode=False" in msg
    assert "\n" not in msg
    assert isinstance(err.value, keras.saving.errors.SavingError)
    assert not marker.exists()


@pytest.mark.skipif(not SAME_PYTHON, reason="the fixtures' bytecode was written by another Python")
@pytest.mark.parametrize("name", KERAS_FILES)
def test_keras_files_with_a_lambda_load_with_safe_mode_false(name, marker):
    d = np.load(os.path.join(FIXTURES, "lambda.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, name), safe_mode=False)
    assert marker.exists()                       # the file's code did run, as asked
    np.testing.assert_allclose(model.predict(d["x"], verbose=0), d["y"], rtol=1e-5, atol=1e-6)


def test_keras_file_with_a_registered_function_needs_no_opt_in(marker):
    d = np.load(os.path.join(FIXTURES, "lambda.npz"))
    path = os.path.join(FIXTURES, "lambda_named.keras")
    with pytest.raises(ValueError, match="Could not locate function 'fixtures>double'.*custom_objects"):
        keras.models.load_model(path)

    def double(t):
        return t * 2.0
    for objects in ({"fixtures>double": double}, {"double": double}):
        model = keras.models.load_model(path, custom_objects=objects)
        np.testing.assert_allclose(model.predict(d["x"], verbose=0), d["y_named"], rtol=1e-5, atol=1e-6)
    with keras.saving.custom_object_scope({"fixtures>double": double}):
        keras.models.load_model(path)


# -- files and configs written by kerasette ---------------------------------------------------

@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_lambda_model_round_trip_needs_opt_in(tmp_path, suffix, no_unmarshal, monkeypatch):
    model = lambda_model()
    path = tmp_path / f"m{suffix}"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path)
    monkeypatch.undo()
    clone = keras.models.load_model(path, safe_mode=False)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_every_config_entry_point_honours_safe_mode(no_unmarshal, monkeypatch):
    model = lambda_model()
    js = model.to_json()
    config = model.get_config()
    lam = layers.serialize(model.get_layer("lam"))
    attempts = {
        "model_from_json": lambda **kw: keras.models.model_from_json(js, **kw),
        "model_from_config": lambda **kw: keras.models.model_from_config(json.loads(js), **kw),
        "Model.from_config": lambda **kw: keras.Model.from_config(config, **kw),
        "Functional.from_config": lambda **kw: keras.models.Functional.from_config(config, **kw),
        "Lambda.from_config": lambda **kw: layers.Lambda.from_config(lam["config"], **kw),
        "layers.deserialize": lambda **kw: layers.deserialize(lam, **kw),
        "deserialize_keras_object": lambda **kw: keras.saving.deserialize_keras_object(lam, **kw),
    }
    for name, attempt in attempts.items():
        with pytest.raises(UnsafeDeserializationError, match="safe_mode=False"):
            attempt()
    monkeypatch.undo()
    for name, attempt in attempts.items():
        assert attempt(safe_mode=False) is not None, name


def test_a_lambda_value_in_any_config_is_refused(no_unmarshal):
    with pytest.warns(UserWarning, match="safe_mode=False"):
        config = keras.saving.serialize_keras_object(lambda t: t + 1)
    assert config["class_name"] == "__lambda__"
    with pytest.raises(UnsafeDeserializationError, match="Python lambda"):
        keras.saving.deserialize_keras_object(config)
    with pytest.raises(UnsafeDeserializationError):
        keras.activations.get(config)


def test_a_lambda_value_loads_with_safe_mode_false():
    with pytest.warns(UserWarning):
        config = keras.saving.serialize_keras_object(lambda t, k=3: t + k)
    fn = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)), safe_mode=False)
    assert fn(1) == 4


def test_keras2_function_type_configs(no_unmarshal):
    code = "AAAA"                       # never decoded: refused first
    legacy = {"name": "lam", "trainable": True, "dtype": "float32", "function": [code, None, None],
              "function_type": "lambda", "module": "__main__", "output_shape": None,
              "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}
    with pytest.raises(UnsafeDeserializationError, match="Lambda layer 'lam'"):
        layers.Lambda.from_config(legacy)
    # output_shape given as bytecode is refused the same way
    shaped = {**legacy, "function": "triple", "function_type": "function", "output_shape": [code, None, None],
              "output_shape_type": "lambda"}
    with pytest.raises(UnsafeDeserializationError, match="output_shape of Lambda layer 'lam'"):
        layers.Lambda.from_config(shaped, custom_objects={"triple": lambda t: t * 3})


def test_keras2_named_function_resolves_by_name_and_never_imports():
    legacy = {"name": "lam", "function": "system", "function_type": "function", "module": "os",
              "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
              "arguments": {}}
    with pytest.raises(ValueError, match="Could not locate function 'system'"):
        layers.Lambda.from_config(legacy)

    def triple(t):
        return t * 3.0
    layer = layers.Lambda.from_config({**legacy, "function": "triple"}, custom_objects={"triple": triple})
    assert layer.function is triple
    # Keras 2's ndarray arguments
    layer = layers.Lambda.from_config({**legacy, "function": "triple",
                                       "arguments": {"k": {"type": "ndarray", "value": [1.0, 2.0]}}},
                                      custom_objects={"triple": lambda t, k: t * k})
    assert layer.arguments["k"].dtype == np.float32


def test_function_configs_never_import_the_module_they_name():
    for config in ({"module": "os", "class_name": "function", "config": "system", "registered_name": "function"},
                   {"module": "subprocess", "class_name": "Popen", "config": {}, "registered_name": None}):
        with pytest.raises(ValueError, match="Could not locate"):
            keras.saving.deserialize_keras_object(config)


def test_lambdas_built_in_code_and_registered_functions_work():
    layer = layers.Lambda(lambda t: ops.relu(t) * 2.0)
    np.testing.assert_allclose(layer(np.array([[-1.0, 2.0]], "float32")).numpy(), [[0.0, 4.0]])

    @keras.saving.register_keras_serializable(package="safe_mode_tests")
    def halve(t):
        return t * 0.5
    x = keras.Input((2,))
    model = keras.Model(x, layers.Lambda(halve)(x))
    clone = keras.models.model_from_json(model.to_json())      # safe mode on: a name, no bytecode
    np.testing.assert_allclose(clone.predict(np.ones((1, 2), "float32"), verbose=0), 0.5)


def test_safe_mode_is_per_thread(no_unmarshal):
    """An unsafe load in one thread does not open the door in another."""
    from kerasette.registry import SafeModeScope
    lam = layers.serialize(lambda_model().get_layer("lam"))
    errors = []

    def other():
        try:
            layers.deserialize(lam)
        except UnsafeDeserializationError as e:
            errors.append(e)
    with SafeModeScope(False):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1
    from kerasette import context
    assert context.current().safe_mode is None       # restored on the way out


@pytest.mark.parametrize("value", [None, 0, "", "no"])
def test_only_false_itself_turns_safe_mode_off(tmp_path, value, no_unmarshal):
    path = tmp_path / "m.keras"
    lambda_model().save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path, safe_mode=value)
