"""The Keras 3 ``.weights.h5`` layout: writing it, and loading it safely.

Keras 3 stores a model's state as a tree of HDF5 groups that mirrors the
object tree, found by walking attributes (``keras/src/saving/saving_lib.py``):

- every saveable object (model, layer, optimizer) at path ``p`` owns a group
  ``p/vars`` whose attribute ``name`` is the object's name and whose datasets
  ``0``, ``1``, ... are its own variables: trainable, then non-trainable.
  The root model's group is the top-level ``vars``.
- a Sequential or Functional model first lists its layers under ``layers``;
  each entry of a list / tuple / dict is pathed by the snake_case of its CLASS
  name, ``_1``, ``_2``, ... for repeats (``layers/dense``, ``layers/dense_1``),
  never by the layer's own (auto-generated, non-reproducible) name.
- then every other attribute is visited in sorted order (public names before
  ``_private`` ones), a layer held in attribute ``cell`` landing at ``p/cell``,
  a list of layers at ``p/<attr>/<class>[_N]``, nested lists at ``container[_N]``.
  An object reached twice is saved only the first time.
- the model's optimizer sits at ``optimizer/vars``: ``0`` the iteration count,
  ``1`` the learning rate (absent for schedules), then the slot arrays, built
  group by group in Keras's order (Adam: momentum and velocity interleaved per
  weight, then ``velocity_hat`` when ``amsgrad``; RMSprop: all velocities, then
  momentums, then average gradients; each optimizer's ``_keras_slot_groups`` says how),
  then any state shared by all weights (Nadam's momentum-schedule product).

Loading checks everything before assigning anything: a mismatch raises one
``WeightsMismatchError`` listing each offending layer with the expected and
found shapes, and the model keeps its weights. The file is not trusted: each
dataset's type and shape are checked before a byte of it is read, and only
datasets whose shape is the shape of the variable they are for are read, so
a file never makes loading allocate more than the model's own size
(``formats.check_dataset``).
"""
import warnings

import numpy as np

from .. import backend
from ..layers.layer import Layer
from ..naming import to_snake_case
from ..optimizers import Optimizer
from .errors import WeightsFileError, WeightsMismatchError, one_line, report_problems
from .formats import (CONFIG_LIMIT, StoredArray, get_object, is_group, link_kind, read_attr,
                      stored_value)

__all__ = ["write_weights", "load_keras3_weights", "walk", "keras_layer_order",
           "keras_trainable_order", "optimizer_arrays", "plan_optimizer", "weights_budget"]


def write_weights(h5, model, include_optimizer=True):
    """Write ``model``'s state into the open h5py file / group ``h5``."""
    for entry in walk(model):
        if entry.is_optimizer and not include_optimizer:
            continue
        group = h5.create_group(_vars_path(entry.path))
        if entry.name is not None:
            group.attrs["name"] = entry.name
        arrays = (optimizer_arrays(entry.obj, keras_trainable_order(model)) if entry.is_optimizer
                  else entry.arrays())
        for i, array in enumerate(arrays):
            group.create_dataset(str(i), data=array)


def load_keras3_weights(h5, model, skip_mismatch=False, by_name=False, source="file",
                        load_optimizer=True):
    """Load a Keras 3 layout from the open h5py file ``h5`` into ``model``.

    Every shape is checked first (from the file's metadata), then the arrays
    that fit are read; only then are the weights assigned. ``by_name=True``
    matches the model's layers with the file's by the ``name`` attribute of
    their ``vars`` groups instead of by position.
    Returns the number of variables assigned.
    """
    problems, assignments = [], []
    if by_name:
        pairs = _pairs_by_name(h5, model, source)
    else:
        pairs = [(e, e.path) for e in walk(model) if not e.is_optimizer]
    seen_groups = set()
    for entry, path in pairs:
        expected = entry.variables()
        group_path = _vars_path(path)
        arrays = _read_group(h5, group_path, source)
        if arrays is None:
            if expected:
                problems.append(_describe(entry, path, expected, None))
            continue
        seen_groups.add(group_path)
        if not expected and arrays and isinstance(entry.obj, Layer) and not entry.obj.built:
            problems.append(f"layer '{entry.name}' ({type(entry.obj).__name__}) at '{path}' is not "
                            f"built yet, so it has no weights to receive the file's "
                            f"{len(arrays)} arrays; call the model on data (or build it) first")
            continue
        if [tuple(a.shape) for a in arrays] != [tuple(v.shape) for v in expected]:
            problems.append(_describe(entry, path, expected, arrays))
            continue
        assignments.extend(zip(expected, arrays))
    if not by_name:
        for group_path, n in _data_groups(h5):
            if group_path not in seen_groups and not _ignorable(group_path):
                problems.append(f"the file holds {n} array(s) at '{group_path}' "
                                f"(layer '{_group_name(h5, group_path)}') for which the model "
                                f"has no layer")
    report_problems(problems, source, model, skip_mismatch)
    assignments = [(var, stored_value(stored)) for var, stored in assignments]
    opt_apply = None
    optimizer = getattr(model, "optimizer", None)
    if load_optimizer and not by_name and isinstance(optimizer, Optimizer):
        arrays = _read_group(h5, "optimizer/vars", source)
        if arrays is not None:
            opt_apply = plan_optimizer(optimizer, model, arrays, source)
    for var, array in assignments:
        var.assign(array)
    if opt_apply is not None:
        opt_apply()
    return len(assignments)


class Entry:
    """One saveable object met on the walk: its path and how to get its arrays."""

    def __init__(self, path, obj):
        self.path, self.obj = path, obj
        self.is_optimizer = isinstance(obj, Optimizer)
        name = getattr(obj, "name", None)
        self.name = name if isinstance(name, str) else None

    def variables(self):
        """A layer's own variables in Keras's order (trainable, then not)."""
        if self.is_optimizer:
            return []
        obj = self.obj
        return list(obj._trainable_variables) + list(obj._non_trainable_variables) + obj._attr_variables()

    def arrays(self):
        """A layer's arrays (optimizers: see ``optimizer_arrays``)."""
        return [backend.to_numpy(v.value) for v in self.variables()]


def walk(root, path=""):
    """Every saveable object under ``root`` with its Keras 3 path, in Keras's order."""
    entries, visited = [], set()
    _visit(root, path, entries, visited)
    return entries


def keras_layer_order(model):
    """``model.layers`` in the order Keras 3 lists them.

    Sequential: the stack. Functional: Keras sorts the graph's layers by depth
    counted from the outputs (deepest first, so inputs come first), ties broken
    by the order a depth-first walk from the outputs first meets them.
    Subclassed models: the layers in attribute order.
    """
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if isinstance(model, Sequential):
        return list(model._stack)
    if isinstance(model, Functional):
        return _functional_order(model)
    return list(model._sublayers())


def keras_trainable_order(model):
    """The model's trainable weights in Keras's ``model.trainable_variables`` order,
    which is the order of the optimizer's slots in Keras files: layer by layer in
    ``keras_layer_order``."""
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    out, seen = [], set()

    def add(layer):
        if isinstance(layer, (Sequential, Functional)):
            if not layer.trainable:
                return
            for v in layer._trainable_variables:
                if v.requires_grad and id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
            for sub in keras_layer_order(layer):
                add(sub)
            return
        for v in layer.trainable_weights:
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    add(model)
    return out


def optimizer_arrays(opt, order=None):
    """The optimizer's state as Keras 3 saves it: iteration, learning rate, slots
    (the slots of the weights in ``order``, Keras's weight order; default: the
    order the optimizer was built with)."""
    out = [np.array(int(opt.iterations), dtype=np.int64)]
    if not callable(opt._learning_rate):
        out.append(np.array(opt.learning_rate, dtype=np.float32))
    if opt.built:
        index = _slot_index(opt, order)
        for group in _slot_groups(opt):
            for i in index:
                for name in group:
                    out.append(backend.to_numpy(opt.slots[name][i]))
        out.extend(np.asarray(backend.to_numpy(a)) for a in opt._extra_state())
    return out


def _slot_index(opt, order):
    """Slot positions of the optimizer's weights, Keras order first, then any others."""
    if order is None:
        return list(range(len(opt._vars)))
    index = [opt._index[id(v)] for v in order if id(v) in opt._index]
    taken = set(index)
    return index + [i for i in range(len(opt._vars)) if i not in taken]


def plan_optimizer(opt, model, arrays, source="file"):
    """Check the file's optimizer arrays against ``opt``; return a function that
    loads them, or None (with a warning, as Keras does) when they do not fit.

    ``arrays`` are NumPy arrays or ``StoredArray``s (checked datasets, not read
    yet); these are read only once all their shapes fit."""
    variables = keras_trainable_order(model)
    if opt.built:
        known = {id(v) for v in variables}
        variables = [v for v in variables if id(v) in opt._index]
        variables += [v for v in opt._vars if id(v) not in known]
    groups = _slot_groups(opt)
    n_slots = sum(len(g) for g in groups) * len(variables)
    n_extra = opt._extra_state_count
    header = len(arrays) - n_slots - n_extra
    problem = None
    if len(arrays) in (1, 2) and n_slots and all(len(a.shape) == 0 for a in arrays):
        arrays = [stored_value(a) for a in arrays]
        problem = _header_problem(arrays)
        if problem is None:
            return _header_only(opt, arrays)     # saved before its first step: no slots yet
        header = None
    if problem is not None:
        pass
    elif header not in (1, 2):
        problem = (f"it has {len(arrays)} arrays where optimizer '{opt.name}' "
                   f"({type(opt).__name__}, {len(variables)} weights) expects {n_slots + n_extra + 2}")
    else:
        expected, k = [], header
        for group in groups:
            for v in variables:
                for name in group:
                    expected.append((name, v))
        for (name, v), a in zip(expected, arrays[k:]):
            want = opt._slot_shape(name, v.shape)
            if tuple(a.shape) != want:
                problem = (f"slot '{name}' of weight '{getattr(v, 'path', v.name)}' has shape "
                           f"{tuple(a.shape)} in the file, {want} in the model")
                break
        if problem is None and any(len(a.shape) != 0 for a in arrays[k + n_slots:]):
            problem = f"its {n_extra} array(s) after the slots are not scalars"
        if problem is None and (len(arrays[0].shape) != 0
                                or (header == 2 and len(arrays[1].shape) != 0)):
            problem = "its iteration count / learning rate are not scalars"
        if problem is None:
            arrays = [stored_value(a) for a in arrays]
            problem = _header_problem(arrays[:header])
    if problem is not None:
        warnings.warn(f"Skipping the optimizer state in {source}: {problem}. The model's weights "
                      f"were loaded; the optimizer starts afresh.", stacklevel=4)
        return None

    def apply():
        if not opt.built:
            opt.build(list(model.trainable_weights))
        opt.iterations = int(arrays[0])
        if header == 2 and not callable(opt._learning_rate):
            # the file keeps float32; keep our more precise value when it is the same one
            if np.float32(opt.learning_rate) != np.float32(arrays[1]):
                opt.learning_rate = float(arrays[1])
        it = iter(arrays[header:header + n_slots])
        for group in groups:
            for v in variables:
                for name in group:
                    slot = opt.slots[name][opt._index[id(v)]]
                    slot[...] = backend.to_device(next(it), backend.get_array_module(slot))
        if n_extra:
            opt._restore_extra_state([np.asarray(a) for a in arrays[header + n_slots:]])
    return apply


def _header_problem(header):
    """Why the iteration count / learning rate read from a file cannot be used, or None."""
    it = header[0]
    if not np.isfinite(it) or it < 0 or it != np.floor(it) or it >= 2**62:
        return f"its iteration count {one_line(it, 50)} is not a count"
    if len(header) == 2 and not np.isfinite(header[1]):
        return f"its learning rate {one_line(header[1], 50)} is not a finite number"
    return None


def _header_only(opt, arrays):
    def apply():
        opt.iterations = int(arrays[0])
        if len(arrays) == 2 and not callable(opt._learning_rate):
            if np.float32(opt.learning_rate) != np.float32(arrays[1]):
                opt.learning_rate = float(arrays[1])
    return apply


def weights_budget(model):
    """The most bytes a weights file for ``model`` can sensibly hold: every variable
    in float64 (twice kerasette's float32), the optimizer's slots likewise, plus room
    for HDF5's own bookkeeping. A ``model.weights.h5`` member larger than this is
    refused before it is read."""
    variables = {id(v): v for e in walk(model) if not e.is_optimizer for v in e.variables()}
    elements = sum(int(np.prod(v.shape, dtype=np.int64)) for v in variables.values())
    optimizer = getattr(model, "optimizer", None)     # a file may hold Adam's state (3 slots)
    slots = max(3, len(getattr(optimizer, "slot_names", ()) or ()))
    entries = len(variables) * (1 + slots) + len(walk(model)) + 16
    return 8 * elements * (1 + slots) + 8 * 2**10 * entries + 2**20


# -- the walk ------------------------------------------------------------------------

def _visit(obj, path, entries, visited):
    if id(obj) in visited:
        return
    visited.add(id(obj))
    entries.append(Entry(path, obj))
    for attr, child in _children(obj):
        sub = _join(path, attr)
        if _is_saveable(child):
            _visit(child, sub, entries, visited)
        elif isinstance(child, (list, tuple, dict)):
            _visit_container(child, sub, entries, visited, set())


def _visit_container(container, path, entries, visited, seen_containers):
    if id(container) in seen_containers:
        return
    seen_containers.add(id(container))
    used = {}
    items = list(container.values()) if isinstance(container, dict) else list(container)
    for item in items:
        if _is_saveable(item):
            name = _unique(to_snake_case(type(item).__name__), used)
            _visit(item, _join(path, name), entries, visited)
        elif isinstance(item, (list, tuple, dict)):
            name = _unique("container", used)
            _visit_container(item, _join(path, name), entries, visited, seen_containers)


def _children(obj):
    """(attribute, value) pairs Keras would visit, in its order."""
    if isinstance(obj, Optimizer):
        return
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if isinstance(obj, (Sequential, Functional)):
        yield "layers", keras_layer_order(obj)
    skip = _skipset(obj)
    for attr in sorted(dir(obj), key=_name_key):
        if attr.startswith("__") or attr in skip:
            continue
        try:
            value = getattr(obj, attr)
        except Exception:          # a property that cannot be computed now
            continue
        yield attr, value


_SKIP_CACHE = {}


def _skipset(obj):
    """Attributes of kerasette's own base classes, which Keras does not walk (its
    skip set is everything a bare Keras ``Layer`` has)."""
    from ..models.functional import Functional
    from ..models.model import Model
    from ..models.sequential import Sequential
    kind = (Sequential if isinstance(obj, Sequential) else Functional if isinstance(obj, Functional)
            else Model if isinstance(obj, Model) else Layer)
    if kind not in _SKIP_CACHE:
        skip = set(dir(Layer)) | set(Layer.__new__(Layer).__dict__)
        skip |= {"name", "dtype", "_batch_input_shape", "_trainable", "_call_params", "output_dtype"}
        if kind is not Layer:
            skip.discard("layers")           # Keras walks Model.layers of subclassed models
            skip |= {"stop_training", "history", "_compiled", "_loss_tracker", "_last_output_losses",
                     "metrics", "inputs", "outputs", "_inputs_struct", "_outputs_struct"}
        if kind is Sequential:
            skip |= {"_stack", "_input_layer"}
        if kind is Functional:
            skip |= {"_nodes", "_graph_layers"}
        _SKIP_CACHE[kind] = frozenset(skip)
    return _SKIP_CACHE[kind]


def _is_saveable(x):
    return isinstance(x, (Layer, Optimizer))


def _name_key(name):
    return "~" + name if name.startswith("_") else name


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _join(path, name):
    return f"{path}/{name}" if path else name


def _vars_path(path):
    return f"{path}/vars" if path else "vars"


def _functional_order(model):
    """Keras's ``Functional.layers`` order, which ``Functional`` itself keeps (see
    ``models.functional._layer_order``, after ``keras/src/ops/function.py``)."""
    return list(model._graph_layers)


def _slot_groups(opt):
    """How Keras builds the optimizer's slots: lists created one after another,
    names within a list interleaved per weight (``Optimizer._keras_slot_groups``)."""
    return [tuple(g) for g in opt._keras_slot_groups()]


# -- reading -----------------------------------------------------------------------

def _read_group(h5, group_path, source):
    """The datasets ``0..n-1`` of a ``vars`` group, checked but not read yet; None if absent."""
    group = get_object(h5, group_path, source)
    if group is None:
        return None
    if not is_group(group):
        raise WeightsFileError(f"{source}: '{group_path}' should be a group of datasets, found a "
                               f"{type(group).__name__}")
    try:
        keys = [_text_name(k) for k in group.keys()]
    except Exception as e:                # h5py errors on truncated / corrupt data
        raise WeightsFileError(f"{source} is corrupt: cannot list '{group_path}' "
                               f"({one_line(e)})") from e
    if sorted(keys, key=_index_key) != [str(i) for i in range(len(keys))]:
        raise WeightsFileError(f"{source}: group '{group_path}' should hold datasets named "
                               f"0..{len(keys) - 1}, found {one_line(sorted(keys), 200)}")
    out = []
    for i in range(len(keys)):
        where = f"{group_path}/{i}"
        ds = get_object(group, str(i), source)
        out.append(StoredArray(ds, where, source))
    return out


def _index_key(k):
    return (0, int(k)) if k.isdigit() else (1, k)


def _data_groups(h5):
    """(path, count) of every ``vars`` group holding datasets, optimizer excluded."""
    out = []

    def visit(name, obj):
        name = _text_name(name)
        if (name == "vars" or name.endswith("/vars")) and is_group(obj):
            n = sum(1 for k in obj.keys() if link_kind(obj, k) != "hard" or not is_group(obj[k]))
            if n:
                out.append((name, n))
    try:
        h5.visititems(visit)
    except Exception as e:
        raise WeightsFileError(f"weights file is corrupt: cannot list its groups "
                               f"({one_line(e)})") from e
    return [(p, n) for p, n in out if not p.startswith("optimizer/")]


def _text_name(name):
    """h5py gives a path that is not UTF-8 as bytes: show its bad bytes escaped."""
    return name.decode("utf-8", "backslashreplace") if isinstance(name, bytes) else name


def _ignorable(group_path):
    """State Keras saves that kerasette has no counterpart for: RNG seeds, and the running
    totals of compiled metrics that tf_keras 2 writes under a top-level ``metrics``."""
    return (any("seed_generator" in part for part in group_path.split("/"))
            or group_path.split("/", 1)[0] == "metrics")


def _group_name(h5, group_path):
    try:
        name = read_attr(h5[group_path], "name", "file", default="?")
    except Exception:
        return "?"
    return one_line(name.decode("utf-8", "replace") if isinstance(name, bytes) else name, 100)


def _describe(entry, path, expected, arrays):
    what = f"{type(entry.obj).__name__} '{entry.name}'"
    exp = [tuple(v.shape) for v in expected]
    if arrays is None:
        found = f"nothing (no '{_vars_path(path)}' group in the file)"
    else:
        found = f"{len(arrays)} array(s) with shapes {[tuple(a.shape) for a in arrays]}"
    return f"{what} at '{path}': expected {len(exp)} weight(s) with shapes {exp}, found {found}"


def _pairs_by_name(h5, model, source):
    """Match the model's layers to file groups by the ``name`` attribute."""
    by_name, budget = {}, [CONFIG_LIMIT]

    def visit(name, obj):
        name = _text_name(name)
        if (name == "vars" or name.endswith("/vars")) and "name" in obj.attrs:
            if name.startswith("optimizer/"):
                return
            n = read_attr(obj, "name", source)
            n = n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n)
            budget[0] -= len(n)
            if budget[0] < 0:
                raise WeightsFileError(f"{source}: its layer names take more than the "
                                       f"{CONFIG_LIMIT} bytes allowed for them")
            parent = name[:-len("/vars")] if name != "vars" else ""
            prev = by_name.get(n)
            if prev is None or prev.count("/") > parent.count("/"):
                by_name[n] = parent
    try:
        h5.visititems(visit)
    except WeightsFileError:
        raise
    except Exception as e:
        raise WeightsFileError(f"{source} is corrupt: cannot list its groups ({one_line(e)})") from e
    pairs, matched = [], 0
    for layer in keras_layer_order(model):
        base = by_name.get(layer.name)
        if base is None:
            continue
        matched += 1
        pairs.extend((e, e.path) for e in walk(layer, base) if not e.is_optimizer)
    if not matched:
        raise WeightsMismatchError(
            f"load_weights(by_name=True): no layer of model '{model.name}' "
            f"({[l.name for l in keras_layer_order(model)]}) has a namesake in {source} "
            f"(it holds {one_line(sorted(by_name)[:20], 300)})")
    return pairs
