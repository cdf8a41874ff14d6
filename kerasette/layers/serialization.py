"""Layer configs as JSON-able dicts, in Keras 3's format, and back.

``serialize(layer)`` gives ``{"module", "class_name", "config", "registered_name",
"build_config"}``; ``deserialize(d, custom_objects)`` finds the class among the
built-in layers and models, ``custom_objects`` and classes registered with
``register_keras_serializable``.
"""
__all__ = ["serialize", "deserialize", "register_keras_serializable", "get_registered_object",
           "custom_object_scope"]

from .. import context

_REGISTRY = {}


def register_keras_serializable(package="Custom", name=None):
    """Class decorator: make a custom layer/model loadable from configs by name."""
    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        _REGISTRY[key] = cls
        _REGISTRY[name or cls.__name__] = cls
        cls._registered_name = key
        return cls
    return decorate


class custom_object_scope:
    """``with custom_object_scope({"MyLayer": MyLayer}): ...`` makes the names resolvable."""

    def __init__(self, objects):
        self.objects = objects

    def __enter__(self):
        ctx = context.current()
        self._previous = ctx.custom_objects
        ctx.custom_objects = {**ctx.custom_objects, **(self.objects or {})}
        return self

    def __exit__(self, *exc):
        context.current().custom_objects = self._previous


def get_registered_object(name, custom_objects=None):
    """The class registered under ``name``: from ``custom_objects``, an active
    ``custom_object_scope``, ``register_keras_serializable`` or the built-ins (else None)."""
    custom_objects = {**context.current().custom_objects, **(custom_objects or {})}
    if name in custom_objects:
        return custom_objects[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    return _builtin(name)


def serialize(obj):
    """A layer or model as ``{"module", "class_name", "config", ...}``."""
    cls = type(obj)
    registered = getattr(cls, "_registered_name", None)
    out = {"module": "keras.layers" if _builtin(cls.__name__) is cls else cls.__module__,
           "class_name": cls.__name__, "config": obj.get_config(), "registered_name": registered}
    if cls.__name__ in ("Sequential", "Functional", "Model"):
        out["module"] = "keras" if _builtin(cls.__name__) is cls else cls.__module__
    shapes = getattr(obj, "_build_shapes", None)
    if shapes is not None and cls.__name__ != "InputLayer":
        out["build_config"] = {"input_shape": _jsonable(shapes)}
    return out


def deserialize(config, custom_objects=None):
    """Rebuild a layer or model from ``serialize``'s dict."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    cls = None
    if config.get("registered_name"):
        cls = get_registered_object(config["registered_name"], custom_objects)
    cls = cls or get_registered_object(name, custom_objects)
    if cls is None:
        raise ValueError(f"Could not locate class '{name}'. Make sure custom classes are passed in "
                         f"`custom_objects` or decorated with `@register_keras_serializable()`.")
    inner = config.get("config", {})
    try:
        obj = cls.from_config(inner, custom_objects=custom_objects)
    except TypeError as e:
        if "custom_objects" not in str(e):
            raise
        with custom_object_scope(custom_objects or {}):
            obj = cls.from_config(inner)
    build = config.get("build_config")
    if build and not obj.built and build.get("input_shape") is not None:
        _build_from_config(obj, build["input_shape"])
    return obj


def _build_from_config(layer, shape):
    shape = _tupled(shape)
    layer._build_shapes = shape
    layer.build(shape)
    layer.built = True


def _tupled(s):
    if isinstance(s, list) and all(d is None or isinstance(d, int) for d in s):
        return tuple(s)
    if isinstance(s, dict):
        return {k: _tupled(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return [_tupled(x) for x in s]
    return s


def _jsonable(s):
    if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
        return list(s)
    if isinstance(s, dict):
        return {k: _jsonable(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return [_jsonable(x) for x in s]
    return s


def _builtin(name):
    from .. import layers, models
    for mod in (layers, models):
        obj = getattr(mod, name, None)
        if isinstance(obj, type):
            return obj
    return None
