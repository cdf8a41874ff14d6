"""Layer configs as JSON-able dicts, in Keras 3's format, and back.

``serialize(layer)`` gives ``{"module", "class_name", "config", "registered_name",
"build_config"}`` (nested layers and Keras objects inside the config serialized
too); ``deserialize(d, custom_objects)`` finds the class among the built-in
layers and models, ``custom_objects``, an active ``custom_object_scope`` and
classes registered with ``register_keras_serializable``. Both are views of
``kerasette.registry``, the one registry of named objects.
"""
from .. import registry
from ..registry import (CustomObjectScope, custom_object_scope, get_registered_object,
                        register_keras_serializable)

__all__ = ["serialize", "deserialize", "register_keras_serializable", "get_registered_object",
           "custom_object_scope", "CustomObjectScope"]


def serialize(obj):
    """A layer or model as ``{"module", "class_name", "config", ...}``; an object that
    cannot be saved raises a ``TypeError`` naming it.

    Args:
        obj (Layer | Model): the object to describe (any value ``serialize_keras_object``
            accepts works too).

    Examples:
        >>> import kerasette as keras
        >>> config = keras.layers.serialize(keras.layers.Dense(2))
        >>> config["class_name"], config["module"]
        ('Dense', 'keras.layers')
    """
    return registry.serialize_keras_object(obj)


def deserialize(config, custom_objects=None, safe_mode=None):
    """Rebuild a layer or model from ``serialize``'s dict.

    ``safe_mode``: None follows the loading call in progress (safe when there is none);
    False allows Python bytecode (a ``Lambda``'s lambda) in the config.

    Args:
        config (dict): ``{"class_name", "config", ...}`` as ``serialize`` gives.
        custom_objects (dict | None): ``{name: class or function}`` for custom layers and
            functions that are not registered (default None).
        safe_mode (bool | None): see above (default None).

    Raises:
        ValueError: ``config`` is not such a dict.

    Examples:
        >>> import kerasette as keras
        >>> layer = keras.layers.deserialize(keras.layers.serialize(keras.layers.Dense(2)))
        >>> type(layer).__name__, layer.units
        ('Dense', 2)
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', got "
                         f"{_short(config)}")
    if config["class_name"] == "Sequential" and isinstance(config.get("config"), list):
        # Keras 2.0-2.1 write a Sequential's config as the bare list of its layers (Keras 3 reads it)
        config = {**config, "config": {"name": config.get("name"), "layers": config["config"]}}
    if not isinstance(config.get("config", {}), dict):
        raise ValueError(f"deserialize: the 'config' of '{config['class_name']}' must be a dict, got "
                         f"{type(config['config']).__name__}")
    config = {**config, "config": config.get("config") or {}}
    return registry.deserialize_keras_object(config, custom_objects, safe_mode=safe_mode,
                                             kinds=("layer", "model"))


def deserialize_member(entry, index, owner, custom_objects=None):
    """``deserialize`` for entry ``index`` of model ``owner``'s layer list; a class that
    cannot be found is reported with where it sits (layer number and name, model)."""
    try:
        return deserialize(entry, custom_objects)
    except registry.UnknownClassError as e:
        name = entry.get("name") or entry.get("config", {}).get("name")
        e.where.append(f"layer {index} ('{name}') of model '{owner}'")
        raise


def _short(value):
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
