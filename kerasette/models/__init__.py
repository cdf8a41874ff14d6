"""Models: Model (functional and subclassed), Sequential, and loading them."""
from .model import Model
from .functional import Functional
from .sequential import Sequential

__all__ = ["Model", "Functional", "Sequential", "model_from_json", "model_from_config",
           "load_model", "clone_model"]


def model_from_config(config, custom_objects=None):
    """A model (or layer) from ``{"class_name", "config"}`` as ``get_config`` / ``to_json`` give."""
    from ..layers.serialization import deserialize
    return deserialize(config, custom_objects)


def model_from_json(json_string, custom_objects=None):
    """A model from ``model.to_json()``: the architecture, with new weights."""
    import json
    return model_from_config(json.loads(json_string), custom_objects)


def clone_model(model, custom_objects=None):
    """A new model with the same architecture and freshly initialised weights."""
    from ..layers.serialization import serialize
    return model_from_config(serialize(model), custom_objects)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a whole model saved with ``model.save("x.keras")`` (or by Keras 3)."""
    from ..saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile)
