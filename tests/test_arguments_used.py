"""Every public parameter is used or refused (issue 15): a parameter that the function's own
body never reads is either part of a protocol (a callback hook's ``logs``, ``compute_mask``'s
``inputs``), or listed in ``IGNORED`` below with the reason it may be ignored. A new parameter
that is neither fails here, so an argument cannot be accepted and silently dropped.

The check reads each function's source (``ast``): a parameter counts as used when its name
appears in the body (passed on, stored, compared or refused)."""
import ast
import importlib
import importlib.util
import inspect
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# methods whose signature a protocol fixes: an override may ignore some of its parameters
PROTOCOL_METHODS = {"build", "call", "compute_mask", "compute_output_shape", "get_initial_state", "validate",
                    "compute_loss", "compute_metrics"}
PROTOCOL_PREFIXES = ("on_",)                         # Callback hooks: (epoch | batch, logs)
# classes standing in for a richer one with the same methods (one process: nothing to send)
PROTOCOL_CLASSES = {"kerasette.distribute.SingleProcess"}

IGNORED = {
    "kerasette.callbacks.BackupAndRestore": {"double_checkpoint": "the single backup is written atomically, "
                                                                  "so a second copy adds no safety"},
    "kerasette.applications.efficientnet.preprocess_input": {
        "data_format": "Keras's pass-through takes it and ignores it too (the model preprocesses)"},
    "kerasette.distribute.MPICommunicator.arrive": {"what": "the name is used by the timeout error, not here"},
    "kerasette.distribute.MPICommunicator.missing": {"what": "as arrive"},
    "kerasette.layers.Embedding": {"input_length": "Keras 2's; Keras 3 ignores it too"},
    "kerasette.layers.MultiHeadAttention": {
        "query_shape": "tf.keras 2 configs hold it; shapes come from the inputs",
        "value_shape": "as query_shape", "key_shape": "as query_shape"},
    "kerasette.losses.Loss": {"dtype": "Keras 3's loss dtype; the loss is computed in y_pred's dtype, "
                                       "as Keras 3 on torch returns it"},
    "kerasette.Loss": {"dtype": "as kerasette.losses.Loss (the same class)"},
    "kerasette.losses.MeanSquaredError": {"dtype": "as Loss"},
    "kerasette.losses.MeanAbsoluteError": {"dtype": "as Loss"},
    "kerasette.models.Functional.call": {"mask": "masks travel on the input tensors"},
    "kerasette.random.SeedGenerator.next": {"ordered": "draws are always ordered"},
    "kerasette.Input": {"optional": "an optional input is fed like any other (None is refused at call)"},
    "kerasette.Model": {"args": "(inputs, outputs) are taken by Model.__new__, which makes the model "
                                "functional; a subclass's own super().__init__() passes none"},
    "kerasette.Model.compile": {
        "run_eagerly": "kerasette always runs eagerly: True and False give the same results",
        "steps_per_execution": "one step per call; the results are the same",
        "jit_compile": "nothing is compiled; the results are the same",
        "auto_scale_loss": "no mixed precision, so there is no loss scale"},
}


def _entries():
    spec = importlib.util.spec_from_file_location("api_args", HERE / "docs" / "test_api_args.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.public_entries())


def _resolve(name):
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise LookupError(name)


def unused_parameters(fn):
    """Parameters of ``fn`` its body never names (None when the source cannot be read)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(fn)))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    a = tree.args
    params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs] + \
        [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    nodes = [n for stmt in tree.body for n in ast.walk(stmt)]
    if any(isinstance(n, ast.Call) and getattr(n.func, "id", "") in ("locals", "vars") for n in nodes):
        return []
    names = {n.id for n in nodes if isinstance(n, ast.Name)}
    stub = all(isinstance(s, (ast.Expr, ast.Raise, ast.Pass)) for s in tree.body)
    return [] if stub else [p for p in params if p not in ("self", "cls") and not p.startswith("_")
                            and p not in names]


def _is_protocol(name):
    owner, _, method = name.rpartition(".")
    return method in PROTOCOL_METHODS or method.startswith(PROTOCOL_PREFIXES) or owner in PROTOCOL_CLASSES


def test_every_public_parameter_is_used_refused_or_listed():
    problems = {}
    for name in _entries():
        if _is_protocol(name):
            continue
        obj = _resolve(name)
        fn = obj.__init__ if inspect.isclass(obj) else obj
        if not (callable(fn) and inspect.isfunction(inspect.unwrap(fn))):
            continue                                 # builtins, slot wrappers: no source
        unused = unused_parameters(fn) or []
        unexplained = [p for p in unused if p not in IGNORED.get(name, {})]
        if unexplained:
            problems[name] = unexplained
    assert not problems, ("parameters accepted but never read (use them, refuse them, or list them in "
                          f"IGNORED with a reason): {problems}")


def test_the_ignored_list_is_current():
    stale = {}
    for name, params in IGNORED.items():
        obj = _resolve(name)
        unused = set(unused_parameters(obj.__init__ if inspect.isclass(obj) else obj) or [])
        gone = sorted(set(params) - unused)
        if gone:
            stale[name] = gone
    assert not stale, f"used now (remove from IGNORED): {stale}"
    assert all(reason.strip() for params in IGNORED.values() for reason in params.values())


def test_the_check_sees_an_ignored_argument():
    def sloppy(a, b=1, *, verbose=False):
        return a + b
    assert unused_parameters(sloppy) == ["verbose"]


def test_input_layer_refuses_sparse_and_ragged():
    from kerasette import layers
    for flag in ("sparse", "ragged"):
        with pytest.raises(ValueError, match=f"InputLayer: {flag}=True is not supported"):
            layers.InputLayer(shape=(3,), **{flag: True})
