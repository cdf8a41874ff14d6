"""The legacy Keras 2 HDF5 layout (``model.save("x.h5")``, tf.keras ``save_weights``).

Layout (``keras/src/legacy/saving/legacy_h5_format.py``)::

    /                       attrs: layer_names = [names of all layers, in model order],
                                   backend, keras_version
    /<layer name>           attrs: weight_names = ["dense/kernel:0", "dense/bias:0"]
    /<layer name>/<weight name>   one dataset per weight, found by that relative path

A whole-model file has the same tree under ``/model_weights``, the
architecture as JSON in the root attribute ``model_config``, the compile
settings in ``training_config`` and the optimizer state under
``/optimizer_weights``.

Each layer's weights are listed as ``trainable_weights + non_trainable_weights``
(a Bidirectional layer's: forward then backward). Layers without weights are
named in ``layer_names`` but skipped when matching. Matching is by position
among the layers that have weights, or by layer name with ``by_name=True``.
"""
import json
import os

import numpy as np

from .errors import (ModelConfigError, SavingError, WeightsFileError, WeightsMismatchError,
                     one_line, report_problems, warn_user)
from .formats import CONFIG_LIMIT, StoredArray, build_budget, get_object, link_kind, load_json, read_attr, stored_value
from ..layers.merge import _LEGACY_OP_MODULE
from .h5_weights import keras_layer_order, plan_optimizer

__all__ = ["is_legacy", "load_legacy_weights", "legacy_weights_group", "legacy_model_config",
           "legacy_optimizer_arrays"]


def is_legacy(h5):
    """True for a Keras 2 layout file (weights-only or whole-model)."""
    return "layer_names" in h5.attrs or (link_kind(h5, "model_weights") is not None
                                         and link_kind(h5, "layers") is None)


def legacy_weights_group(h5):
    """The group holding ``layer_names``: the root, or ``model_weights`` of a model file."""
    if "layer_names" in h5.attrs:
        return h5
    group = get_object(h5, "model_weights", _source(h5))
    if group is not None and "layer_names" in group.attrs:
        return group
    raise WeightsFileError("legacy HDF5 file without a 'layer_names' attribute: not a Keras weights file")


def load_legacy_weights(group, model, skip_mismatch=False, by_name=False, source="file"):
    """Load the Keras 2 layout in ``group`` into ``model``; returns the number of
    variables assigned. Every shape is checked before anything is read or assigned."""
    saved = _read_layers(group, source)
    layers = [l for l in keras_layer_order(model) if _legacy_weights(l)]
    problems, assignments = [], []
    if by_name:
        index = {name: arrays for name, arrays in saved}
        matched = [l for l in layers if l.name in index]
        if not matched:
            raise WeightsMismatchError(
                f"load_weights(by_name=True): no layer of model '{model.name}' with weights "
                f"({[l.name for l in layers]}) has a namesake in {source} "
                f"(it holds {[n for n, _ in saved]})")
        pairs = [(l, l.name, index[l.name]) for l in matched]
    else:
        saved = [(n, a) for n, a in saved if a]
        if len(saved) != len(layers):
            raise WeightsMismatchError(
                f"Cannot load {source} into model '{model.name}': the file has weights for "
                f"{len(saved)} layer(s) {[n for n, _ in saved]}, the model has {len(layers)} "
                f"layer(s) with weights {[l.name for l in layers]}. Build the same architecture, "
                f"or pass by_name=True to match layers by name. The model was not changed.")
        pairs = [(l, name, arrays) for l, (name, arrays) in zip(layers, saved)]
    for layer, name, arrays in pairs:
        expected = _legacy_weights(layer)
        exp_shapes = [tuple(v.shape) for v in expected]
        got_shapes = [tuple(a.shape) for a in arrays]
        if exp_shapes != got_shapes:
            problems.append(f"{type(layer).__name__} '{layer.name}' (file layer '{name}'): expected "
                            f"{len(exp_shapes)} weight(s) with shapes {exp_shapes}, found "
                            f"{len(got_shapes)} with shapes {got_shapes}")
            continue
        assignments.extend(zip(expected, arrays))
    report_problems(problems, source, model, skip_mismatch)
    assignments = [(var, stored_value(a)) for var, a in assignments]
    for var, array in assignments:
        var.assign(array)
    return len(assignments)


def legacy_model_config(h5):
    """The ``model_config`` JSON of a whole-model legacy file, as a dict (or None)."""
    raw = read_attr(h5, "model_config", _source(h5), limit=CONFIG_LIMIT)
    if raw is None:
        return None
    return _json(raw, "model_config", _source(h5))


def legacy_training_config(h5):
    raw = read_attr(h5, "training_config", _source(h5), limit=CONFIG_LIMIT)
    return None if raw is None else _json(raw, "training_config", _source(h5))


def legacy_optimizer_arrays(h5, source="file"):
    """The optimizer state of a Keras 3-written legacy model file, in Keras 3 order
    (iteration, learning rate, slots), or None. Keras 2 files order their slots
    differently, so they are not used. The datasets are checked, not read
    (``StoredArray``s)."""
    version = _text(read_attr(h5, "keras_version", source, default=""))
    if link_kind(h5, "optimizer_weights") is None:
        return None
    if not version.startswith("3."):
        warn_user(f"{source} was written by Keras {one_line(version or '?', 40)}, whose optimizer "
                  f"state is ordered differently: the model's weights were loaded, the optimizer "
                  f"starts afresh (as in Keras 3)")
        return None
    group = get_object(h5, "optimizer_weights", source)
    names = _names(read_attr(group, "weight_names", source, limit=CONFIG_LIMIT, default=[]))
    out = []
    for n in names:
        ds = get_object(group, n, source)
        if ds is None:
            raise WeightsFileError(f"{source} is corrupt: optimizer weight '{one_line(n, 100)}' is "
                                   f"listed but missing")
        out.append(StoredArray(ds, f"optimizer_weights/{n}", source))
    return out


def load_legacy_optimizer(h5, model, source):
    arrays = legacy_optimizer_arrays(h5, source)
    if arrays and getattr(model, "optimizer", None) is not None:
        apply = plan_optimizer(model.optimizer, model, arrays, source)
        if apply is not None:
            apply()


# -- helpers ---------------------------------------------------------------------------

def _legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _read_layers(group, source):
    """[(layer name, [StoredArray])] in file order: every dataset checked (type, shape),
    none read yet."""
    try:
        names = _names(read_attr(group, "layer_names", source, limit=CONFIG_LIMIT))
        if len(set(names)) != len(names):
            seen, twice = set(), set()
            for n in names:
                (twice if n in seen else seen).add(n)
            twice = sorted(twice)[:5]
            raise WeightsFileError(f"{source} is corrupt: 'layer_names' lists layer(s) "
                                   f"{one_line(twice, 200)} more than once")
        out, budget = [], CONFIG_LIMIT          # bytes of weight names, all layers together
        for name in names:
            g = get_object(group, name, source)
            if g is None:
                raise WeightsFileError(f"{source} is corrupt: layer '{one_line(name, 100)}' is "
                                       f"listed in 'layer_names' but has no group")
            weight_names = _names(read_attr(g, "weight_names", source, default=[]))
            budget -= sum(len(w) for w in weight_names)
            if budget < 0:
                raise WeightsFileError(f"{source}: its weight names take more than the "
                                       f"{CONFIG_LIMIT} bytes allowed for them")
            arrays = []
            for w in weight_names:
                ds = get_object(g, w, source)
                if ds is None:
                    raise WeightsFileError(f"{source} is corrupt: weight '{one_line(w, 100)}' of "
                                           f"layer '{one_line(name, 100)}' is listed but missing")
                arrays.append(StoredArray(ds, f"{name}/{w}", source))
            out.append((name, arrays))
        return out
    except WeightsFileError:
        raise
    except Exception as e:
        raise WeightsFileError(f"{source} is corrupt or truncated: {one_line(e)}") from e


def _names(value):
    if isinstance(value, (bytes, str)):
        return [_text(value)] if value else []
    return [_text(v) for v in np.asarray(value).ravel().tolist()]


def _text(v):
    if not isinstance(v, bytes):
        return str(v)
    try:
        return v.decode("utf8")
    except UnicodeDecodeError as e:
        raise WeightsFileError(f"the file holds a name that is not UTF-8 text: "
                               f"{one_line(repr(v), 100)}") from e


def _json(raw, what, source="the file"):
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw.item()
    if not isinstance(raw, (bytes, str)):
        raise WeightsFileError(f"{source}: its '{what}' attribute is not text")
    return load_json(raw, f"its '{what}' attribute", source)


def _mark_op_nodes(config):
    """The op nodes of Keras 3 functional models (``x + y``, ``ops.relu``, Masking's ``NotEqual`` /
    ``Any``) marked as ops again: a legacy ``.h5`` drops the ``module`` that tells them from layers.
    An entry is an op node when its class is no custom object, its config has no ``trainable``
    (every layer's has; op classes share names with layers: ``Add``, ``Multiply``), its inbound
    nodes are Keras 3's ``{"args", "kwargs"}`` and ``kerasette.ops`` has the function of its name."""
    from .. import ops
    from ..naming import to_snake_case
    from ..registry import lookup
    if isinstance(config, list):
        return [_mark_op_nodes(c) for c in config]
    if not isinstance(config, dict):
        return config
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if isinstance(layers, list):
        config = {**config, "config": {**inner, "layers": [_mark_op_nodes(e) for e in layers]}}
    name, nodes = config.get("class_name"), config.get("inbound_nodes")
    if (isinstance(name, str) and "module" not in config and isinstance(inner, dict)
            and "trainable" not in inner and isinstance(nodes, list) and nodes
            and all(isinstance(n, dict) and "args" in n for n in nodes)
            and lookup(name) is None and _is_op_function(getattr(ops, to_snake_case(name), None))):
        config = {**config, "module": _LEGACY_OP_MODULE}   # what registry reads as an op
    return config


def _is_op_function(fn):
    return callable(fn) and not isinstance(fn, type) and not fn.__name__.startswith("_")


def _source(h5):
    try:
        return f"'{h5.file.filename}'"
    except Exception:
        return "the file"


# -- whole-model legacy files ------------------------------------------------------------

def load_legacy_model(path, custom_objects=None, compile=True, safe_mode=True):
    """A model from a legacy whole-model ``.h5`` (``model_config`` + ``model_weights``)."""
    from ..layers.serialization import deserialize
    from ..registry import loading
    from .formats import open_h5
    from .keras2 import from_keras2, is_keras2_config, keras2_training_config
    from .keras_zip import compile_from_config, strip_keras_only
    source = f"'{path}'"
    with open_h5(path, name=source) as h5:
        config = legacy_model_config(h5)
        if config is None:
            raise WeightsFileError(f"{source} holds weights only (no 'model_config'): build the model "
                                   f"in code and call model.load_weights({source}) instead")
        config = strip_keras_only(config)
        version = _text(read_attr(h5, "keras_version", source, default=""))
        if version.startswith("2.") or is_keras2_config(config):     # written by (tf.)keras 2
            config = from_keras2(config, source)
        try:
            with loading(custom_objects, safe_mode, weight_budget=_file_budget(path)):
                model = deserialize(_mark_op_nodes(config), custom_objects)
        except SavingError:
            raise
        except Exception as e:            # an unknown class, a bad argument, a config too deep
            raise ModelConfigError(f"{source}: cannot rebuild the model from its 'model_config': "
                                   f"{type(e).__name__}: {one_line(e)}") from e
        load_legacy_weights(legacy_weights_group(h5), model, source=source)
        training = keras2_training_config(legacy_training_config(h5)) if compile else None
        if training:
            opt = training.get("optimizer_config") if isinstance(training, dict) else None
            try:
                with loading(custom_objects, safe_mode):
                    compile_from_config(model, {**training, "optimizer": opt}, custom_objects)
            except SavingError:
                raise
            except Exception as e:
                raise ModelConfigError(f"{source}: cannot compile the model from its "
                                       f"'training_config': {type(e).__name__}: {one_line(e)}") from e
            load_legacy_optimizer(h5, model, source)
    return model


def _file_budget(path):
    """The weights a model rebuilt from the file at ``path`` may allocate (None: a file object
    of unknown size, no bound)."""
    try:
        return build_budget(os.path.getsize(path))
    except (TypeError, OSError):
        return None


def save_legacy_model(model, path, include_optimizer=True):
    """Write the legacy whole-model HDF5 file Keras 3 writes for ``model.save("x.h5")``."""
    import h5py
    from ..layers.serialization import serialize
    from .atomic import atomic_write
    from .h5_weights import keras_trainable_order, optimizer_arrays
    from .keras_zip import KERAS_FORMAT_VERSION, compile_config
    config = serialize(model)
    training = compile_config(model)
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["backend"] = "numpy"
            f.attrs["keras_version"] = KERAS_FORMAT_VERSION
            f.attrs["model_config"] = json.dumps({"class_name": config["class_name"],
                                                  "config": config["config"]})
            if training:
                opt = training.pop("optimizer")
                training["optimizer_config"] = {"class_name": opt["class_name"], "config": opt["config"]}
                f.attrs["training_config"] = json.dumps(training)
            write_legacy_weights(f.create_group("model_weights"), model)
            opt = getattr(model, "optimizer", None)
            if include_optimizer and opt is not None and opt.built:
                group = f.create_group("optimizer_weights")
                arrays = optimizer_arrays(opt, keras_trainable_order(model))
                names = [f"{opt.name}/{i}" for i in range(len(arrays))]
                for name, array in zip(names, arrays):
                    group.create_dataset(name, data=array)
                group.attrs["weight_names"] = names


def write_legacy_weights(group, model):
    """The Keras 2 weights layout (``layer_names``, per-layer ``weight_names``) into ``group``."""
    layers = keras_layer_order(model)
    group.attrs["backend"] = "numpy"
    group.attrs["layer_names"] = [l.name for l in layers]
    for layer in layers:
        g = group.create_group(layer.name)
        names, used = [], set()
        for w in _legacy_weights(layer):
            name = getattr(w, "path", None) or f"{layer.name}/{w.name}"
            base, k = name, 1
            while name in used:
                name, k = f"{base}_{k}", k + 1
            used.add(name)
            names.append(name)
            g.create_dataset(name, data=np.asarray(w.numpy()))
        g.attrs["weight_names"] = names
