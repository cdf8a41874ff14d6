"""Configs written by Keras 2 (tf.keras / tf_keras ``model.save("x.h5")``), read as Keras 3's.

A Keras 2 whole-model file differs from Keras 3's in a few spellings that the layers
themselves cannot see, so they are rewritten here before the model is rebuilt:

- a functional model's ``inbound_nodes`` are lists of calls, each a structure of
  ``[layer name, node index, tensor index, call kwargs]`` references (a constant input is
  ``["_CONSTANT_VALUE", -1, value]``); Keras 3 writes ``{"args": [...], "kwargs": {...}}``
  with ``__keras_tensor__`` references. Each call becomes that form.
- the node indices count only the calls inside the model whose config it is, except that a
  nested model built on an ``Input`` keeps its own first node (the one linking its inputs
  to its outputs) in the count: its first call from outside is node 1, not 0. Those
  indices are shifted down by one, so every layer's calls count from 0 as in Keras 3.
- ``"hard_sigmoid"`` named as an activation: Keras 2's is ``clip(0.2 * x + 0.5, 0, 1)``,
  Keras 3's (and kerasette's) ``relu6(x + 3) / 6``; a Keras 2 file gets Keras 2's, registered
  as ``"keras2>hard_sigmoid"`` (so a model saved again by kerasette keeps it).
- the ``metrics`` of ``training_config``: one list per output, ``[[...]]`` for a model
  with one output, where Keras 3 has the list itself.
- the optimizer of ``training_config``: tf.keras 2.11+ names its optimizers
  ``"Custom>Adam"`` and writes options Keras 3 does not have (``is_legacy_optimizer``,
  ``jit_compile``); the built-in name is used, those options dropped when off. The older
  optimizers write ``lr`` (Keras 2.0-2.2) and ``decay`` (until 2.10): the rate is read as
  ``learning_rate``, a decay as ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``.

Keras 2.0-2.2's ``SimpleRNN`` also writes ``implementation`` (a computation mode that does
not change results), dropped here; a Keras 2.0 GRU config without ``reset_after`` is read as
``reset_after=False``, the only GRU Keras 2.0 had. Layer-level spellings (``batch_input_shape``, ``time_major: false``, ...) are accepted by
the layers' constructors and ``from_config``.
"""
from .. import ops
from ..registry import register_keras_serializable
from .errors import ModelConfigError, one_line
from .keras_zip import rewrite_configs

__all__ = ["is_keras2_config", "from_keras2", "keras2_training_config", "hard_sigmoid"]

_MODEL_CLASSES = {"Functional", "Model", "Sequential"}
_CONSTANT = "_CONSTANT_VALUE"
# optimizer options of tf.keras 2.11+ with no Keras 3 counterpart, dropped with these values
_OPTIMIZER_KERAS2_ONLY = {"is_legacy_optimizer": (False,), "jit_compile": (False, True)}


@register_keras_serializable(package="keras2", name="hard_sigmoid")
def hard_sigmoid(x):
    """Keras 2's ``hard_sigmoid``: ``clip(0.2 * x + 0.5, 0, 1)``."""
    return ops.clip(x * 0.2 + 0.5, 0.0, 1.0)


_ACTIVATION_KEYS = ("activation", "recurrent_activation")


def is_keras2_config(config):
    """True when some functional model in ``config`` lists its calls in Keras 2's form."""
    if isinstance(config, list):
        return any(is_keras2_config(c) for c in config)
    if not isinstance(config, dict):
        return False
    nodes = config.get("inbound_nodes")
    if isinstance(nodes, list) and any(isinstance(n, list) for n in nodes):
        return True
    inner = config.get("config")
    return isinstance(inner, dict) and is_keras2_config(inner.get("layers"))


def from_keras2(config, source="the file"):
    """``config`` (a ``{"class_name", "config"}`` model config written by Keras 2) with every
    functional model in it, nested ones included, in Keras 3's node format, and Keras 2's
    ``hard_sigmoid`` where an activation names it (see the module docstring)."""
    return _nodes(rewrite_configs(config, _keras2_spellings), source)


def _keras2_spellings(class_name, inner):
    """One object's config in Keras 3's words: Keras 2's ``hard_sigmoid`` where an activation
    names it; Keras 2.0-2.2's ``implementation`` (0, 1 or 2: how the step is computed, not
    what) dropped from ``SimpleRNN``, which Keras 3 refuses there (LSTM and GRU keep it, as
    Keras 3 does); a GRU config from before Keras 2.1.3 has no ``reset_after``: its GRU was the
    ``reset_after=False`` form, not Keras 3's default."""
    inner = {k: ("keras2>hard_sigmoid" if k in _ACTIVATION_KEYS and v == "hard_sigmoid" else v)
             for k, v in inner.items()}
    if class_name in ("SimpleRNN", "SimpleRNNCell") and inner.get("implementation") in (0, 1, 2):
        del inner["implementation"]
    if class_name in ("GRU", "GRUCell") and "reset_after" not in inner:
        inner["reset_after"] = False
    return inner


def _nodes(config, source):
    if not isinstance(config, dict):
        return config
    inner = config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        return config
    entries = [_nodes(e, source) for e in inner["layers"]]
    inner = {**inner, "layers": entries}
    if any(isinstance(e, dict) and "inbound_nodes" in e for e in entries):
        shift = {e.get("name"): 1 for e in entries if isinstance(e, dict) and _keeps_first_node(e)}
        model = inner.get("name", "?")
        inner["layers"] = [_convert_entry(e, shift, model, source) for e in entries]
        for key in ("input_layers", "output_layers"):
            if key in inner:
                inner[key] = _shift_refs(inner[key], shift, model, source)
    return {**config, "config": inner}


def keras2_training_config(training):
    """``training_config`` with a Keras 2 optimizer config read as Keras 3's: tf.keras 2.11+
    names (``"Custom>Adam"``) as the built-in optimizer, and the spellings of the older
    optimizers (``lr``, ``decay``, ``epsilon: null``) as the same rule in Keras 3's words."""
    from .. import registry
    from ..optimizers import Optimizer
    if not isinstance(training, dict):
        return training
    for key in ("metrics", "weighted_metrics"):      # Keras 2: one list per output, [[...]]
        value = training.get(key)
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
            training = {**training, key: value[0]}
    opt = training.get("optimizer_config")
    if not isinstance(opt, dict) or not isinstance(opt.get("class_name"), str):
        return training
    name = opt["class_name"]
    inner = opt.get("config") if isinstance(opt.get("config"), dict) else {}
    if name.startswith("Custom>") and registry.lookup(name) is None:
        plain = name[len("Custom>"):]
        cls = registry.builtin(plain, kinds=("optimizer",), want="class")
        if isinstance(cls, type) and issubclass(cls, Optimizer):
            inner = {k: v for k, v in inner.items()
                     if not (k in _OPTIMIZER_KERAS2_ONLY and v in _OPTIMIZER_KERAS2_ONLY[k])}
            opt = {k: v for k, v in opt.items() if k != "registered_name"}
            opt["class_name"] = plain
    opt = {**opt, "config": _legacy_optimizer_options(inner)}
    return {**training, "optimizer_config": opt}


def _legacy_optimizer_options(inner):
    """Keras 2's optimizer options in Keras 3's words. Keras 2.0-2.2 call the rate ``lr``;
    every Keras 2 optimizer before 2.11 takes ``decay``, the rate at step t being
    ``lr / (1 + decay * t)`` (Keras 3's ``InverseTimeDecay`` with ``decay_steps=1``); Keras
    2.2's ``epsilon: null`` means its fuzz factor 1e-7; Keras 2's Nadam ``schedule_decay`` is
    Keras 3's fixed 0.004 (another value is refused)."""
    inner = dict(inner)
    if "lr" in inner and "learning_rate" not in inner:
        inner["learning_rate"] = inner.pop("lr")
    decay = inner.pop("decay", 0.0)
    if decay:
        rate = inner.get("learning_rate", 0.001)
        if isinstance(rate, dict) or isinstance(decay, bool) or not isinstance(decay, (int, float)):
            raise ModelConfigError(f"optimizer: Keras 2's `decay={decay!r}` cannot be combined "
                                   f"with a learning rate of {rate!r}")
        inner["learning_rate"] = {"module": "keras.optimizers.schedules",
                                  "class_name": "InverseTimeDecay", "registered_name": None,
                                  "config": {"initial_learning_rate": rate, "decay_steps": 1,
                                             "decay_rate": decay, "staircase": False}}
    if "epsilon" in inner and inner["epsilon"] is None:
        inner["epsilon"] = 1e-7
    if "schedule_decay" in inner:           # Keras 2's Nadam; Keras 3's fixes it at 0.004
        schedule = inner.pop("schedule_decay")
        if schedule != 0.004:
            raise ModelConfigError(f"optimizer: Keras 2's Nadam `schedule_decay={schedule!r}` has no "
                                   f"Keras 3 equivalent (Keras 3's Nadam uses 0.004); load the model "
                                   f"with compile=False and compile it again")
    return inner


# -- helpers ---------------------------------------------------------------------------

def _keeps_first_node(entry):
    """A nested model built on an input: Keras 2 counts its own first node. That is a model
    whose first layer is an ``InputLayer`` (tf.keras) or, in a ``Sequential``, a first layer
    given its input shape (standalone Keras 2.0-2.2, whose Sequential configs hold no
    ``InputLayer``; 2.0-2.1 write them as a bare list of layers)."""
    if entry.get("class_name") not in _MODEL_CLASSES:
        return False
    inner = entry.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else inner
    if not isinstance(layers, list) or not layers or not isinstance(layers[0], dict):
        return False
    first = layers[0]
    if first.get("class_name") == "InputLayer":
        return True
    config = first.get("config")
    return (entry.get("class_name") == "Sequential" and isinstance(config, dict)
            and config.get("batch_input_shape") is not None)


def _convert_entry(entry, shift, model, source):
    if not isinstance(entry, dict) or not isinstance(entry.get("inbound_nodes"), list):
        return entry
    nodes = [_convert_node(n, shift, model, entry.get("name"), source) if isinstance(n, list) else n
             for n in entry["inbound_nodes"]]
    return {**entry, "inbound_nodes": nodes}


def _is_ref(x):
    return (isinstance(x, list) and len(x) in (3, 4) and isinstance(x[0], str)
            and isinstance(x[1], int) and not isinstance(x[1], bool) and isinstance(x[2], int)
            and (len(x) == 3 or isinstance(x[3], dict)))


def _is_constant(x):
    return isinstance(x, list) and len(x) in (3, 4) and x[0] == _CONSTANT and x[1] == -1


def _convert_node(node, shift, model, layer, source):
    """One Keras 2 call (a structure of references) as ``{"args", "kwargs"}``."""
    found = {}

    def walk(x):
        if _is_constant(x):
            if len(x) == 4:
                found["kwargs"] = x[3]
            return x[2]
        if _is_ref(x):
            if len(x) == 4:
                found["kwargs"] = x[3]
            return _tensor(x, shift, model, layer, source)
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return x

    first = walk(node)
    kwargs = found.get("kwargs") or {}
    kwargs = {k: _kwarg(v, shift, model, layer, source) for k, v in kwargs.items()}
    if isinstance(first, list) and len(first) == 1:
        first = first[0]
    return {"args": [first], "kwargs": kwargs}


def _kwarg(value, shift, model, layer, source):
    """A call kwarg: Keras 2 writes a tensor there as ``[layer, node, tensor]``."""
    if _is_ref(value) and len(value) == 3:
        return _tensor(value, shift, model, layer, source)
    if isinstance(value, list):
        return [_kwarg(v, shift, model, layer, source) for v in value]
    if isinstance(value, dict):
        return {k: _kwarg(v, shift, model, layer, source) for k, v in value.items()}
    return value


def _tensor(ref, shift, model, layer, source):
    name, node, index = _shifted(ref, shift, model, source, layer)
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, index]}}


def _shifted(ref, shift, model, source, layer=None):
    name, node, index = ref[0], ref[1], ref[2]
    node -= shift.get(name, 0)
    if node < 0:
        user = f"layer '{one_line(layer, 80)}'" if layer is not None else "its inputs/outputs"
        raise ModelConfigError(f"{source}: model '{one_line(model, 80)}': {user} uses node "
                               f"{ref[1]} of nested model '{one_line(name, 80)}', its internal node "
                               f"(Keras 2 numbers that model's calls from 1)")
    return [name, node, index]


def _shift_refs(refs, shift, model, source):
    if _is_ref(refs):
        return _shifted(refs, shift, model, source) + list(refs[3:])
    if isinstance(refs, list):
        return [_shift_refs(r, shift, model, source) for r in refs]
    if isinstance(refs, dict):
        return {k: _shift_refs(v, shift, model, source) for k, v in refs.items()}
    return refs
