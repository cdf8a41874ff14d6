"""One registry for named objects, and the Keras 3 config format built on it.

Every name a config can hold (an activation ``"relu"``, a loss, a metric, an
optimizer, a learning-rate schedule, an initializer, a regularizer, a
constraint, a layer or a model) resolves here, in one order:

1. the ``custom_objects`` passed to the loading call;
2. an active ``custom_object_scope`` (kept in the per-thread execution context);
3. objects registered with ``@register_keras_serializable`` (``"package>name"``);
4. kerasette's built-ins of the kind asked for.

Modules' ``get`` / ``serialize`` functions (``activations.get("my_act")``,
``optimizers.serialize``) are thin views of it.

``serialize_keras_object`` / ``deserialize_keras_object`` speak Keras 3's
dict format (``{"module", "class_name", "config", "registered_name"}``, plus
``__numpy__``, ``__slice__``, ``__lambda__``, ... for values). Resolution never
imports a module named in a file: a name is found among registered and passed
objects and kerasette's own classes, or it is an error.

``safe_mode``: Python bytecode in a config (a ``Lambda`` layer's lambda, a
``__lambda__`` value, a Keras 2 ``function_type: "lambda"``) is refused unless
the loading call passed ``safe_mode=False``. The mode of the deserialization
in progress lives in the execution context (``context.current().safe_mode``),
so that a nested ``from_config`` sees it, per thread.
"""
import contextlib
import inspect
import threading
import types
import warnings

from . import context

__all__ = ["register_keras_serializable", "get_custom_objects", "get_registered_name",
           "get_registered_object", "CustomObjectScope", "custom_object_scope", "SafeModeScope",
           "in_safe_mode", "serialize_keras_object", "deserialize_keras_object", "lookup",
           "builtin", "unsafe_code_error", "UnsafeDeserializationError", "UnsaveableError"]

# read-mostly registries: written by the decorator (behind the lock), read everywhere
GLOBAL_CUSTOM_OBJECTS = {}      # "package>name" -> class or function
GLOBAL_CUSTOM_NAMES = {}        # class or function -> "package>name"
_LOCK = threading.Lock()


class UnsafeDeserializationError(ValueError):
    """A config asks to run Python bytecode and ``safe_mode`` is on."""


class UnsaveableError(TypeError):
    """An object in a config that cannot be saved (raised at save time, naming it)."""

    def __init__(self, obj, where, why):
        self.obj, self.where, self.why = obj, where, why
        super().__init__(self._text())

    def _text(self):
        text = repr(self.obj)
        text = text if len(text) <= 80 else text[:77] + "..."
        return (f"Cannot save {type(self.obj).__name__} {text}{_at(self.where)}: {self.why}. Only "
                f"layers, Keras objects with get_config(), named functions and plain values can "
                f"be saved.")

    def inside(self, owner):
        """The same error, located under ``owner`` (the object whose config holds it)."""
        return UnsaveableError(self.obj, _join(owner, self.where) if self.where else owner, self.why)


# -- registration --------------------------------------------------------------------------

def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function loadable from configs as ``"package>name"``.

    ``name`` defaults to the object's ``__name__``. A class must have ``get_config``.
    Saving then writes the object under that key, and loading finds it without
    ``custom_objects``.

    Args:
        package (str): the key's prefix (default ``"Custom"``), without ``">"``.
        name (str | None): the key's name part; None (default) takes ``obj.__name__``.

    Returns:
        callable: the decorator; it registers and returns the object unchanged.

    Raises:
        ValueError: ``package`` is not a string or holds ``">"``; (when decorating) a
            class without ``get_config``.
        TypeError: (when decorating) neither a class nor a callable.

    Examples:
        >>> import kerasette as keras
        >>> @keras.saving.register_keras_serializable(package="Docs")
        ... def double(x):
        ...     return x * 2
        >>> keras.saving.get_registered_name(double)
        'Docs>double'
        >>> keras.saving.get_custom_objects().pop("Docs>double") is double   # unregister
        True
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>', "
                         f"got {package!r}")

    def decorator(obj):
        key = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: cannot register class {obj.__name__} "
                             f"as '{key}': it has no get_config() method")
        if not inspect.isclass(obj) and not callable(obj):
            raise TypeError(f"register_keras_serializable: expected a class or a function, got "
                            f"{type(obj).__name__}")
        with _LOCK:
            GLOBAL_CUSTOM_OBJECTS[key] = obj
            GLOBAL_CUSTOM_NAMES[obj] = key
        return obj
    return decorator


def get_custom_objects():
    """The live dict of registered objects (``{"package>name": obj}``); objects of a
    ``custom_object_scope`` are not in it. Adding to it makes a name resolvable.

    Examples:
        >>> import kerasette as keras
        >>> objects = keras.saving.get_custom_objects()
        >>> objects["docs>twice"] = lambda x: 2 * x
        >>> keras.saving.get_registered_object("docs>twice")(3)
        6
        >>> del objects["docs>twice"]
    """
    return GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj):
    """The name ``obj`` is registered under (``"package>name"``), else its ``__name__``.

    Args:
        obj (type | callable): a class or function (unregistered objects need ``__name__``).

    Examples:
        >>> import kerasette as keras
        >>> keras.saving.get_registered_name(len)
        'len'
    """
    try:
        key = GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:               # an unhashable object
        key = None
    return key if key is not None else obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The class or function registered under ``name``: from an active
    ``custom_object_scope``, ``register_keras_serializable``, ``custom_objects`` or
    ``module_objects``, in that order (as Keras); None if none has it.

    Args:
        name (str): the exact key: ``"package>name"`` for registered objects, the plain
            name in a scope or in the dicts.
        custom_objects (dict | None): ``{name: object}`` searched after the registry.
        module_objects (dict | None): ``{name: object}`` searched last.

    Examples:
        >>> import kerasette as keras
        >>> keras.saving.get_registered_object("twice", custom_objects={"twice": abs}) is abs
        True
        >>> keras.saving.get_registered_object("no_such_name") is None
        True
    """
    scope = context.current().custom_objects
    if name in scope:
        return scope[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}): ...`` makes the names
    resolvable by every deserialization in the block (on this thread).

    Scopes nest: an inner scope adds to (and overrides) the names of the outer ones,
    which come back when the block ends.

    Args:
        custom_objects (dict | None): ``{name: class or function}``; None adds nothing.
        *more (dict): further dicts, merged in order (later ones win).

    Raises:
        TypeError: an argument is not a dict (or None).

    Examples:
        >>> import kerasette as keras
        >>> def my_act(x):
        ...     return x
        >>> with keras.saving.custom_object_scope({"my_act": my_act}):
        ...     keras.activations.get("my_act") is my_act
        True
    """

    def __init__(self, custom_objects=None, *more):
        merged = {}
        for d in (custom_objects, *more):
            if d is None:
                continue
            if not isinstance(d, dict):
                raise TypeError(f"custom_object_scope: expected a dict of {{name: object}}, got "
                                f"{type(d).__name__}")
            merged.update(d)
        self.custom_objects = merged
        self._backup = None

    def __enter__(self):
        ctx = context.current()
        self._backup = ctx.custom_objects
        ctx.custom_objects = {**ctx.custom_objects, **self.custom_objects}
        return self

    def __exit__(self, *exc):
        context.current().custom_objects = self._backup


custom_object_scope = CustomObjectScope


class SafeModeScope:
    """Within the block, the deserialization in progress has this ``safe_mode``
    (None keeps the enclosing one)."""

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode
        self._backup = None

    def __enter__(self):
        ctx = context.current()
        self._backup = getattr(ctx, "safe_mode", None)
        if self.safe_mode is not None:
            ctx.safe_mode = self.safe_mode is not False      # only False itself opens the door
        return self

    def __exit__(self, *exc):
        context.current().safe_mode = self._backup


def in_safe_mode():
    """The ``safe_mode`` of the deserialization in progress (None outside one)."""
    return getattr(context.current(), "safe_mode", None)


def effective_safe_mode(safe_mode=None):
    """The mode that decides: an enclosing loading call's, else ``safe_mode``, else True
    (unset means safe: a direct ``from_config`` never runs bytecode by default)."""
    scope = in_safe_mode()
    if scope is not None:
        return scope
    return safe_mode is not False


def unsafe_code_error(what):
    """The error for bytecode met while ``safe_mode`` is on (nothing has been decoded)."""
    return UnsafeDeserializationError(
        f"Refusing to load {what}: it is Python bytecode, and running code from a file can do "
        f"anything (arbitrary code execution). If you trust the source of this file, pass "
        f"safe_mode=False to the loading function.")


# -- built-in objects, by kind ---------------------------------------------------------------

# kind -> (kerasette module holding the built-ins, the Keras module name written in configs)
_KINDS = {
    "activation": ("activations", "keras.activations"),
    "loss": ("losses", "keras.losses"),
    "metric": ("metrics", "keras.metrics"),
    "optimizer": ("optimizers", "keras.optimizers"),
    "schedule": ("schedules", "keras.optimizers.schedules"),
    "initializer": ("initializers", "keras.initializers"),
    "regularizer": ("regularizers", "keras.regularizers"),
    "constraint": ("constraints", "keras.constraints"),
    "layer": ("layers", "keras.layers"),
    "model": ("models", "keras"),
}
# the order a name of unknown kind is looked for (classes first, then functions)
_SEARCH = ("layer", "model", "optimizer", "schedule", "loss", "metric", "initializer", "regularizer",
           "constraint", "activation")


def _module(kind):
    import importlib
    return importlib.import_module(f"kerasette.{_KINDS[kind][0]}")


# public helpers of those modules that are not objects a config may name
_NOT_OBJECTS = {"get", "serialize", "deserialize", "resolve", "align_label_rank", "fusable_name",
                "schedules", "Input", "model_from_json", "model_from_config", "load_model",
                "clone_model", "check_rank", "shape_str"}


def _public(mod, name):
    names = getattr(mod, "__all__", None)
    if name in _NOT_OBJECTS or names is None or name not in names:
        return None
    return getattr(mod, name, None)


def builtin(name, kinds=None, want=None):
    """kerasette's own object called ``name`` among ``kinds`` (all kinds by default):
    ``want="class"`` or ``"function"`` to restrict. None if there is none."""
    if not isinstance(name, str) or not name or name.startswith("_") and name != "_OpLayer":
        return None
    for kind in (kinds or _SEARCH):
        mod = _module(kind)
        obj = _public(mod, name)
        if obj is None and kind == "layer" and name == "_OpLayer":
            from .layers.merge import _OpLayer
            obj = _OpLayer
        if obj is None and kind == "model" and name == "Functional":
            from .models.functional import Functional
            obj = Functional
        if obj is None or isinstance(obj, types.ModuleType):
            continue
        is_class = inspect.isclass(obj)
        if want == "class" and not is_class or want == "function" and (is_class or not callable(obj)):
            continue
        return obj
    return None


def _builtin_kind(obj):
    """(kind, Keras module) of a built-in class or function, else (None, None)."""
    cls = obj if inspect.isclass(obj) or isinstance(obj, types.FunctionType) else type(obj)
    name = getattr(cls, "__name__", None)
    for kind in _SEARCH:
        if builtin(name, (kind,)) is cls:
            return kind, _KINDS[kind][1]
    return None, None


def _kinds_of_module(module):
    """The kinds a Keras module name in a config stands for (``"keras.metrics"`` -> metrics
    first), so that a name two modules share (``MeanSquaredError``) resolves to the right one."""
    for kind, (_, keras_module) in _KINDS.items():
        if module == keras_module:
            return (kind,) + tuple(k for k in _SEARCH if k != kind)
    return None


def lookup(name, custom_objects=None):
    """A custom object called ``name``: passed, scoped or registered (also a registered
    ``"package>name"`` whose name part is ``name``). None if none."""
    if not isinstance(name, str):
        return None
    found = get_registered_object(name, custom_objects)
    if found is not None:
        return found
    passed = (custom_objects or {}, context.current().custom_objects)
    if ">" not in name:                 # a registered "package>name" by its name part
        suffix = f">{name}"
        for pool in passed + (GLOBAL_CUSTOM_OBJECTS,):
            for key, obj in list(pool.items()):
                if isinstance(key, str) and key.endswith(suffix):
                    return obj
    else:                               # "package>name" passed in custom_objects as "name"
        short = name.rsplit(">", 1)[1]
        for pool in passed:
            if short in pool:
                return pool[short]
    return None


def resolve(name, kinds=None, custom_objects=None, want=None):
    """``lookup`` first, then the built-ins of ``kinds``."""
    found = lookup(name, custom_objects)
    if found is not None:
        return found
    return builtin(name, kinds, want)


# -- the config format -----------------------------------------------------------------------

_PLAIN = (str, int, float, bool)


def serialize_keras_object(obj, where=None):
    """``obj`` as JSON-able Keras 3 config data (dicts, lists, strings, numbers).

    Layers, optimizers, losses, ... become ``{"module", "class_name", "config",
    "registered_name"}``; functions ``{"class_name": "function", "config": name}``;
    NumPy arrays ``__numpy__`` dicts. An object that cannot be described raises a
    ``TypeError`` naming it (and ``where``, the config key it sits under): at save
    time, not at load time.

    Args:
        obj (object): the value to describe: None, str/int/float/bool, lists, tuples
            (written as lists), dicts with string keys, objects with ``get_config``, named
            functions, NumPy / CuPy arrays and Tensors of numbers, NumPy scalars and dtypes,
            bytes (UTF-8), slices, ``...``. A Python lambda is written as bytecode, with a
            warning (loading it needs ``safe_mode=False``).
        where (str | None): the config path ``obj`` sits under, for the error message
            (default None: the top level).

    Raises:
        TypeError: (``UnsaveableError``) an object that cannot be described.

    Examples:
        >>> import kerasette as keras
        >>> keras.saving.serialize_keras_object(keras.layers.Dense(2))["class_name"]
        'Dense'
        >>> keras.saving.serialize_keras_object(np.float32(0.5))
        0.5
    """
    import numpy as np
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x, where) for x in obj]
    if isinstance(obj, dict):
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise _unsaveable(obj, where, f"its keys {bad[:3]} are not strings")
        return {k: serialize_keras_object(v, _join(where, k)) for k, v in obj.items()}
    if isinstance(obj, bytes):
        try:
            return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
        except UnicodeDecodeError:
            raise _unsaveable(obj, where, "bytes that are not UTF-8") from None
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {k: serialize_keras_object(getattr(obj, k), where)
                                                      for k in ("start", "stop", "step")}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.dtype):
        return obj.name
    from .autograd.tensor import Tensor
    from . import backend
    if isinstance(obj, Tensor) or backend.is_array(obj):
        arr = backend.to_numpy(obj.value if isinstance(obj, Tensor) else obj)
        if arr.dtype.kind not in "biuf":
            raise _unsaveable(obj, where, f"an array of dtype {arr.dtype}")
        return {"class_name": "__numpy__", "config": {"value": arr.tolist(), "dtype": arr.dtype.name}}
    if getattr(obj, "_keras_symbolic", False):
        raise _unsaveable(obj, where, "a symbolic tensor outside a model's graph")
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        warnings.warn(f"Saving a Python lambda{_at(where)} as bytecode: loading it back needs "
                      f"safe_mode=False. Use a named function registered with "
                      f"@keras.saving.register_keras_serializable() instead.", stacklevel=3)
        return {"class_name": "__lambda__", "config": {"value": list(dump_function(obj))}}
    if inspect.isclass(obj):
        raise _unsaveable(obj, where, "a class (pass an instance)")
    if hasattr(obj, "get_config"):
        return _serialize_instance(obj, where)
    if callable(obj) and hasattr(obj, "__name__"):
        return _serialize_function(obj, where)
    raise _unsaveable(obj, where, "it has no get_config() and is not a named function")


def _serialize_function(fn, where):
    key = GLOBAL_CUSTOM_NAMES.get(fn) if _hashable(fn) else None
    name = key or fn.__name__
    if key is None:
        kind, _ = _builtin_kind(fn)
        if kind is None and not isinstance(fn, (types.FunctionType, types.BuiltinFunctionType,
                                                types.MethodType)):
            raise _unsaveable(fn, where, "a callable object without get_config()")
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def _serialize_instance(obj, where):
    cls = type(obj)
    label = _join(where, getattr(obj, "name", None) or cls.__name__)
    try:
        config = obj.get_config()
    except NotImplementedError as e:
        raise _unsaveable(obj, where, f"its get_config() is not implemented ({e})") from None
    except UnsaveableError as e:            # raised inside get_config: say whose config it is
        raise (e if e.where and e.where.startswith(label) else e.inside(label)) from None
    if not isinstance(config, dict):
        raise _unsaveable(obj, where, f"its get_config() returned {type(config).__name__}, not a dict")
    config = {k: serialize_keras_object(v, _join(label, k)) for k, v in config.items()}
    key = GLOBAL_CUSTOM_NAMES.get(cls)
    kind, module = (None, None) if key else _builtin_kind(obj)
    out = {"module": module or cls.__module__, "class_name": cls.__name__, "config": config,
           "registered_name": key}
    shapes = getattr(obj, "_build_shapes", None)
    if shapes is not None and cls.__name__ != "InputLayer" and hasattr(obj, "build"):
        out["build_config"] = {"input_shape": _jsonable_shape(shapes)}
    return out


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, kinds=None, **kwargs):
    """The object a ``serialize_keras_object`` config describes.

    Args:
        config: the config data (a dict, list, or plain value).
        custom_objects: ``{name: class_or_function}`` for objects not registered.
        safe_mode: False to allow Python bytecode in the config (``__lambda__``);
            an enclosing loading call's mode takes precedence, as in Keras.
        kinds: restrict built-in names to these kinds (``("activation",)``).

    Examples:
        >>> import kerasette as keras
        >>> reg = keras.saving.deserialize_keras_object({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5}})
        >>> type(reg).__name__, reg.get_config()
        ('L2', {'l2': 0.5})
    """
    module_objects = kwargs.pop("module_objects", None)
    kwargs.pop("printable_module_name", None)
    if kwargs:
        raise TypeError(f"deserialize_keras_object: unexpected keyword argument(s) {sorted(kwargs)}")
    safe = effective_safe_mode(safe_mode)
    custom = dict(module_objects or {})
    custom.update(custom_objects or {})
    with SafeModeScope(safe), CustomObjectScope(custom):
        if isinstance(config, str):         # a function saved by name (legacy formats)
            found = lookup(config, custom)
            return found if found is not None else config
        return _deserialize(config, custom, kinds)


def _deserialize(config, custom, kinds):
    if config is None or isinstance(config, (str, int, float, bool)):
        return config
    if isinstance(config, (list, tuple)):
        return [_deserialize(x, custom, kinds) for x in config]
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object: cannot read config of type {type(config).__name__}")
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v, custom, kinds) for k, v in config.items()}
    name = config["class_name"]
    inner = config["config"] if config["config"] is not None else {}
    special = _SPECIAL.get(name)
    if special is not None:
        return special(inner, custom, kinds)
    if not isinstance(name, str):
        raise TypeError(f"deserialize_keras_object: 'class_name' must be a string, got {name!r}")
    if name == "function":
        return resolve_function(inner, custom, kinds)
    if not isinstance(inner, dict):
        raise TypeError(f"deserialize_keras_object: the config of '{name}' must be a dict, got "
                        f"{type(inner).__name__}")
    module = config.get("module")
    if isinstance(module, str) and module.startswith("keras.src.ops.") and lookup(name, custom) is None:
        from .layers.merge import _KerasOp          # an op node of a Keras 3 functional model
        return _KerasOp(name, inner, module)
    cls = resolve_class(config, custom, kinds)
    if isinstance(cls, types.FunctionType):
        return cls
    return instantiate(cls, config, custom)


def resolve_function(name, custom=None, kinds=None):
    """The function a ``{"class_name": "function", "config": name}`` config names."""
    if not isinstance(name, str):
        raise TypeError(f"deserialize_keras_object: a function's config must be its name, got "
                        f"{type(name).__name__}")
    fn = resolve(name, kinds or ("activation", "loss", "metric"), custom, want="function")
    if fn is None:
        raise ValueError(f"Could not locate function '{name}'. Make sure custom functions are "
                         f"decorated with `@keras.saving.register_keras_serializable()` or passed "
                         f"in `custom_objects`.")
    return fn


def resolve_class(config, custom=None, kinds=None):
    """The class (or registered function) a ``{"class_name", "registered_name", ...}`` config names."""
    name = config["class_name"]
    registered = config.get("registered_name")
    cls = None
    if isinstance(registered, str) and registered not in ("function", name):
        cls = lookup(registered, custom)
    if cls is None:
        cls = lookup(name, custom)
    if cls is None:
        cls = builtin(name, kinds or _kinds_of_module(config.get("module")), want="class")
    if cls is None:
        raise UnknownClassError(name)
    return cls


class UnknownClassError(ValueError):
    """A config names a class that is neither built in nor registered; ``where`` lists the
    layers it sits in, innermost first (filled in by the models rebuilding their layers)."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name
        self.where = []

    def __str__(self):
        where = "".join(f", in {w}" for w in self.where)
        return (f"Could not locate class '{self.name}'{where}. Make sure custom classes are decorated "
                f"with `@keras.saving.register_keras_serializable()` or passed in `custom_objects`.")


def instantiate(cls, config, custom=None):
    """``cls.from_config(config["config"])`` (passing ``custom_objects`` where the method
    takes it), then its ``build_config``."""
    inner = config.get("config") or {}
    if not hasattr(cls, "from_config"):
        raise TypeError(f"Cannot rebuild '{config.get('class_name')}': {cls!r} has no from_config()")
    from .layers.layer import Layer
    if isinstance(cls, type) and issubclass(cls, Layer):
        inner = revive_layer_config(cls, inner, custom)
    params = _parameters(cls.from_config)
    if "custom_objects" in params:
        obj = cls.from_config(inner, custom_objects=custom or None)
    else:
        obj = cls.from_config(inner)
    build = config.get("build_config")
    if isinstance(build, dict) and build.get("input_shape") is not None and not getattr(obj, "built", True):
        shape = _tupled_shape(build["input_shape"])
        obj._build_shapes = shape
        obj.build(shape)
        obj.built = True
    return obj


def revive_layer_config(cls, inner, custom):
    """For a layer class that keeps the base ``from_config``: nested layers (serialized
    by ``get_config``) and values (``__numpy__``, ...) back as objects, as a custom layer's
    own ``from_config`` would do with ``deserialize_keras_object``."""
    from .layers.layer import Layer
    if getattr(cls.from_config, "__func__", None) is not Layer.from_config.__func__:
        return inner
    out = dict(inner)
    for key, value in inner.items():
        if isinstance(value, dict) and value.get("class_name") in _SPECIAL and "config" in value \
                and value["class_name"] != "__lambda__":
            out[key] = _deserialize(value, custom, None)
        elif _is_layer_config(value, custom):
            out[key] = _deserialize(value, custom, ("layer", "model"))
        elif isinstance(value, list) and value and all(_is_layer_config(v, custom) for v in value):
            out[key] = [_deserialize(v, custom, ("layer", "model")) for v in value]
    return out


def _is_layer_config(value, custom):
    from .layers.layer import Layer
    if not (isinstance(value, dict) and isinstance(value.get("class_name"), str)
            and isinstance(value.get("config"), dict) and "module" in value):
        return False
    try:
        cls = resolve_class(value, custom, ("layer", "model"))
    except ValueError:
        return False
    return isinstance(cls, type) and issubclass(cls, Layer)


# -- special values ---------------------------------------------------------------------------

def _numpy(inner, custom, kinds):
    import numpy as np
    if not isinstance(inner, dict) or "value" not in inner:
        raise TypeError("deserialize_keras_object: a __numpy__ config needs 'value' and 'dtype'")
    dtype = np.dtype(str(inner.get("dtype", "float32")))
    if dtype.kind not in "biuf":
        raise TypeError(f"deserialize_keras_object: refusing __numpy__ of dtype {dtype}")
    return np.asarray(inner["value"], dtype=dtype)


def _lambda(inner, custom, kinds):
    if in_safe_mode() is not False:
        raise unsafe_code_error("a Python lambda (a '__lambda__' config value)")
    value = inner.get("value") if isinstance(inner, dict) else None
    if not isinstance(value, (list, tuple)) or not value:
        raise TypeError("deserialize_keras_object: a __lambda__ config needs 'value': [code, defaults, closure]")
    return load_function(*(list(value) + [None, None])[:3])


_SPECIAL = {
    "__numpy__": _numpy,
    "__tensor__": _numpy,
    "__bytes__": lambda inner, c, k: str(inner["value"]).encode("utf-8"),
    "__ellipsis__": lambda inner, c, k: Ellipsis,
    "__slice__": lambda inner, c, k: slice(*(_deserialize(inner.get(x), c, k)
                                            for x in ("start", "stop", "step"))),
    "__lambda__": _lambda,
    "__tuple__": lambda inner, c, k: tuple(_deserialize(inner.get("value") or [], c, k)),
}


# -- Python functions as bytecode (only with safe_mode=False) --------------------------------

def dump_function(fn):
    """``(code, defaults, closure)`` of a Python function, as Keras's ``func_dump``:
    base64 of the marshalled code object, default values, closure cell values."""
    import base64
    import marshal
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
    closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
    return code, fn.__defaults__, closure


def load_function(code, defaults=None, closure=None):
    """A Python function from ``dump_function``'s triple. Runs file data as code: call it
    only after checking ``in_safe_mode() is False``."""
    import base64
    import binascii
    import marshal
    import numpy as np
    from . import ops
    import kerasette
    if in_safe_mode() is not False:       # a second lock on the door
        raise unsafe_code_error("a Python function")
    if not isinstance(code, str):
        raise TypeError(f"cannot load a function: its code must be a base64 string, got "
                        f"{type(code).__name__}")
    try:
        raw = base64.b64decode(code.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError(f"cannot load a function: its code is not base64 ({e})") from None
    try:
        code_obj = marshal.loads(raw)
    except (EOFError, ValueError, TypeError) as e:
        raise ValueError(f"cannot load a function: its bytecode does not load in this Python "
                         f"({e}); it was probably written by another Python version") from None
    if not isinstance(code_obj, types.CodeType):
        raise ValueError(f"cannot load a function: the marshalled data is a "
                         f"{type(code_obj).__name__}, not code")
    if isinstance(defaults, list):
        defaults = tuple(defaults)
    cells = None
    if closure is not None:
        cells = tuple(types.CellType(v) for v in closure)
    if len(code_obj.co_freevars) != len(cells or ()):
        raise ValueError(f"cannot load a function: its code needs {len(code_obj.co_freevars)} "
                         f"closure value(s), the config gives {len(cells or ())}")
    globs = {"__builtins__": __builtins__, "np": np, "ops": ops, "keras": kerasette}
    return types.FunctionType(code_obj, globs, code_obj.co_name, defaults, cells)


# -- helpers -----------------------------------------------------------------------------------

def _parameters(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _hashable(obj):
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _join(where, key):
    return f"{where}.{key}" if where else str(key)


def _at(where):
    return f" (at '{where}')" if where else ""


def _unsaveable(obj, where, why):
    return UnsaveableError(obj, where, why)


def _jsonable_shape(s):
    if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
        return list(s)
    if isinstance(s, dict):
        return {k: _jsonable_shape(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return [_jsonable_shape(x) for x in s]
    return s


def _tupled_shape(s):
    if isinstance(s, list) and all(d is None or isinstance(d, int) for d in s):
        return tuple(s)
    if isinstance(s, dict):
        return {k: _tupled_shape(v) for k, v in s.items()}
    if isinstance(s, (list, tuple)):
        return [_tupled_shape(x) for x in s]
    return s


@contextlib.contextmanager
def loading(custom_objects=None, safe_mode=True, weight_budget=None):
    """The scope of one loading call: its ``custom_objects`` and ``safe_mode`` are seen by
    every ``from_config`` / ``get`` inside it (on this thread). ``weight_budget`` (bytes, or
    None for no bound) is the most that the layers built inside may allocate for weights
    (``Layer.add_weight`` refuses more, before allocating)."""
    ctx = context.current()
    saved = ctx.weight_budget
    if weight_budget is not None:
        ctx.weight_budget = [int(weight_budget)]
    try:
        with CustomObjectScope(custom_objects or {}), SafeModeScope(safe_mode is not False):
            yield
    finally:
        ctx.weight_budget = saved
