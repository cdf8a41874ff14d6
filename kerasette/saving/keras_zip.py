"""Whole models in the Keras 3 ``.keras`` zip format.

A ``.keras`` file is a zip archive (stored, not compressed) of three members:

- ``metadata.json``: ``{"keras_version", "date_saved"}`` (the Keras format
  version this layout follows) plus ``kerasette_version``;
- ``config.json``: the model's ``serialize`` dict (``module``, ``class_name``,
  ``config``, ``registered_name``, ``build_config``) plus ``compile_config``
  (optimizer, loss, metrics, ... as passed to ``compile``), so a loaded model
  is compiled again and can continue training;
- ``model.weights.h5``: the Keras 3 weights layout (``h5_weights``), optimizer
  state included, so ``fit`` continues from the same iteration and moments.

Writing builds the archive in a temporary file next to the target and
renames it into place. Reading checks the archive before building anything.
Files written by Keras 3 for models made of layers kerasette has load too.
"""
import datetime
import io
import json
import zipfile

from .. import losses as losses_mod, metrics as metrics_mod, optimizers
from ..layers.serialization import deserialize, serialize
from ..registry import loading
from .atomic import atomic_write
from .errors import ModelConfigError, SavingError, WeightsFileError, one_line
from .formats import CONFIG_LIMIT, build_budget, load_json, member_bytes, open_h5, open_zip, read_member
from .h5_weights import load_keras3_weights, weights_budget, write_weights

__all__ = ["save_keras_zip", "load_keras_zip", "compile_config", "compile_from_config",
           "weights_bytes_from_zip", "strip_keras_only"]

KERAS_FORMAT_VERSION = "3.15.1"
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"


def save_keras_zip(model, path, include_optimizer=True):
    """Write ``model`` (architecture, compile settings, weights, optimizer state) to ``path``."""
    from .. import __version__
    config = _as_keras_writes(serialize(model))
    config["compile_config"] = compile_config(model)
    config_json = json.dumps(config, default=_json_default)
    metadata = json.dumps({"keras_version": KERAS_FORMAT_VERSION, "kerasette_version": __version__,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = _weights_bytes(model, include_optimizer)
    with atomic_write(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(METADATA, metadata)
            z.writestr(CONFIG, config_json)
            z.writestr(WEIGHTS, weights)


def load_keras_zip(path, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild, compile and fill a model from a ``.keras`` archive.

    The config is read first (at most ``formats.CONFIG_LIMIT`` bytes), the model
    built from it (its layers may not allocate more weights than the weights member can
    hold: ``formats.build_budget``), and only then the weights member, which may not be
    larger than that model's weights can be (``h5_weights.weights_budget``)."""
    with open_zip(path) as z:
        raw_config = read_member(z, CONFIG, path, limit=CONFIG_LIMIT)
        config = load_json(raw_config, CONFIG, f"'{path}'")
        if not isinstance(config, dict) or "class_name" not in config:
            raise WeightsFileError(f"'{path}': {CONFIG} does not describe a model (no 'class_name')")
        if WEIGHTS not in z.namelist():
            raise WeightsFileError(f"'{path}' is not a Keras model archive: it has no '{WEIGHTS}' "
                                   f"(members: {one_line(z.namelist(), 200)})")
        try:
            with loading(custom_objects, safe_mode, weight_budget=build_budget(member_bytes(z, WEIGHTS))):
                arch = strip_keras_only({k: v for k, v in config.items() if k != "compile_config"})
                model = deserialize(arch, custom_objects)
                if compile and config.get("compile_config"):
                    compile_from_config(model, config["compile_config"], custom_objects)
        except SavingError:
            raise
        except Exception as e:            # an unknown class, a bad argument, a config too deep
            raise ModelConfigError(f"'{path}': cannot rebuild the model from {CONFIG}: "
                                   f"{type(e).__name__}: {one_line(e)}") from e
        weights = read_member(z, WEIGHTS, path, limit=weights_budget(model))
    with open_h5(weights, name=f"'{path}' ({WEIGHTS})") as h5:
        load_keras3_weights(h5, model, source=f"'{path}'", load_optimizer=compile)
    return model


def weights_bytes_from_zip(path, model):
    """The ``model.weights.h5`` member of a ``.keras`` archive (for ``load_weights``), refused
    when it is larger than ``model``'s weights can be."""
    with open_zip(path) as z:
        return read_member(z, WEIGHTS, path, limit=weights_budget(model))


def compile_config(model):
    """What ``compile`` was given, as JSON-able Keras 3 ``compile_config`` (None if not compiled)."""
    spec = getattr(model, "_compiled", None)
    if spec is None or getattr(model, "optimizer", None) is None:
        return None
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": _ser(spec.get("loss"), "loss"),
            "loss_weights": spec.get("loss_weights"),
            "metrics": _ser(spec.get("metrics"), "metric"),
            "weighted_metrics": _ser(spec.get("weighted_metrics"), "metric"),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def compile_from_config(model, config, custom_objects=None):
    """``model.compile(...)`` from a ``compile_config`` (Keras's or ours)."""
    from ..registry import CustomObjectScope
    with CustomObjectScope(custom_objects or {}):
        _compile_from_config(model, config, custom_objects)


def _compile_from_config(model, config, custom_objects):
    opt = config.get("optimizer")
    if isinstance(opt, dict):
        opt = _optimizer_from_config(opt, custom_objects)
    model.compile(optimizer=opt if opt is not None else "rmsprop",
                  loss=_des(config.get("loss"), "loss", custom_objects),
                  loss_weights=config.get("loss_weights"),
                  metrics=_des(config.get("metrics"), "metric", custom_objects),
                  weighted_metrics=_des(config.get("weighted_metrics"), "metric", custom_objects))


def strip_keras_only(config):
    """Drop constructor arguments newer Keras versions write with their "off" value
    (``quantization_config: null``, ``optional: false``, LoRA settings, the
    ``input_axes``/``output_axes`` of initializers) which
    kerasette's layers do not take. Any other value is kept, so a feature that
    is actually used still fails loudly in the layer's constructor."""
    return rewrite_configs(config, lambda class_name, inner: {
        k: v for k, v in inner.items() if not (k in _KERAS_ONLY and v in (None, False))})


def rewrite_configs(config, fn):
    """``config`` with every object's ``{"class_name", "config": {...}}`` inner dict replaced by
    ``fn(class_name, inner)``, at any depth (layers, their initializers, nested models)."""
    if isinstance(config, list):
        return [rewrite_configs(v, fn) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: rewrite_configs(v, fn) for k, v in config.items()}
    inner = out.get("config")
    if "class_name" in out and isinstance(inner, dict):
        out["config"] = fn(out["class_name"], inner)
    return out


def _as_keras_writes(config):
    """Keras 3 finds a Functional model's class under ``keras.src.models.functional``
    (registered name ``Functional``), not under ``keras``; write it that way so that
    Keras itself can load kerasette's ``.keras`` files."""
    if isinstance(config, list):
        return [_as_keras_writes(v) for v in config]
    if not isinstance(config, dict):
        return config
    out = {k: _as_keras_writes(v) for k, v in config.items()}
    if out.get("class_name") == "Functional" and out.get("module") == "keras":
        out["module"], out["registered_name"] = "keras.src.models.functional", "Functional"
    return out


_KERAS_ONLY = {"quantization_config", "optional", "lora_rank", "lora_alpha", "ragged", "input_axes",
               "output_axes"}


# -- helpers ----------------------------------------------------------------------------

def _weights_bytes(model, include_optimizer):
    import h5py
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_weights(f, model, include_optimizer=include_optimizer)
    return buf.getvalue()


def _ser(spec, kind):
    """Loss / metric specs as JSON: names stay names, functions become their registered
    names, objects their class configs; what cannot be saved fails here, naming it."""
    from .. import registry
    if spec is None or isinstance(spec, (str, int, float, bool)):
        return spec
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _ser(v, kind) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_ser(v, kind) for v in spec]
    if isinstance(spec, dict):
        return spec
    if hasattr(spec, "get_config") and not isinstance(spec, type):
        return registry.serialize_keras_object(spec, kind)
    name = getattr(spec, "__name__", None)
    if name is None or isinstance(spec, type):
        raise TypeError(f"Cannot save the {kind} {spec!r} in the compile settings: give a name, a "
                        f"function or a Loss/Metric instance")
    if name == "<lambda>":
        return registry.serialize_keras_object(spec, kind)
    return registry.get_registered_name(spec)


def _des(spec, kind, custom_objects):
    if spec is None:
        return None
    from .. import registry
    if isinstance(spec, str):
        obj = registry.lookup(spec, custom_objects)
        if isinstance(obj, type):
            return obj()
        return obj if obj is not None else spec
    if isinstance(spec, list):
        return [_des(v, kind, custom_objects) for v in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _des(v, kind, custom_objects) for k, v in spec.items()}
    if spec.get("class_name") in ("function", "__lambda__"):
        return registry.deserialize_keras_object(spec, custom_objects)
    name = spec.get("registered_name") or spec["class_name"]
    cls = registry.lookup(name, custom_objects) or registry.lookup(spec["class_name"], custom_objects)
    if cls is None:
        cls = getattr(losses_mod if kind == "loss" else metrics_mod, spec["class_name"], None)
    if cls is None:
        raise ValueError(f"Cannot rebuild the {kind} '{spec['class_name']}' from compile_config: pass it "
                         f"in custom_objects or register it with @register_keras_serializable()")
    config = dict(spec.get("config") or {})
    if kind == "metric":
        config = {k: v for k, v in config.items() if k in ("name",) or k in _init_args(cls)}
    else:
        config = {k: v for k, v in config.items() if k in _init_args(cls)}
    return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)


def _optimizer_from_config(spec, custom_objects):
    from .. import registry
    name = spec.get("registered_name") or spec.get("class_name")
    cls = registry.lookup(name, custom_objects) if isinstance(name, str) else None
    if isinstance(cls, type) and issubclass(cls, optimizers.Optimizer):
        return cls.from_config(spec.get("config", {}))
    return optimizers.get(spec)


def _init_args(cls):
    import inspect
    names = set()
    for c in cls.__mro__:
        if "__init__" in c.__dict__:
            try:
                names |= set(inspect.signature(c.__init__).parameters)
            except (TypeError, ValueError):
                pass
    return names


def _json_default(obj):
    import numpy as np
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable: {obj!r}")
