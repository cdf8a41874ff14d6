"""Embedding ids checked once on the host, not once per call on the device.

An ``Embedding`` checks that its ids lie in ``[0, input_dim)`` (an id out of range
would wrap around silently in CuPy's gather). On a GPU that check reads one boolean
back per call: the host waits for the device every step. When the ids come straight
from the data (the layer's every call in the model takes a model input as it is),
``fit`` / ``evaluate`` / ``predict`` check them on the host instead, before the data
crosses to the device (arrays: once for all samples; batch sources: each batch as it
is read), and the layer skips its own check while a step runs on those batches.

Models whose steps are overridden, subclassed models and layers shared with other
graphs keep the per-call check: there the ids may not be the data's.
"""
from .. import context
from ..layers.embedding import Embedding
from ..layers.symbolic import KerasTensor, flatten_structure

__all__ = ["embedding_inputs", "check_x", "trusting"]


def embedding_inputs(model, step):
    """``[(input position, Embedding)]`` for the Embedding layers that read a model input as it
    is in every call, for a model whose ``step`` (``"train_step"`` / ``"test_step"`` /
    ``"predict_step"``) is the built-in one; ``[]`` otherwise."""
    from .model import Model
    if getattr(type(model), step) is not getattr(Model, step):
        return []
    stack = model.__dict__.get("_stack")
    if stack is not None:                                     # Sequential
        first = stack[0] if stack else None
        return [(0, first)] if isinstance(first, Embedding) and len(first._inbound_nodes) <= 1 else []
    nodes = model.__dict__.get("_nodes")
    inputs = model.__dict__.get("inputs") if nodes is not None else None
    if not inputs:
        return []
    position = {id(t): i for i, t in enumerate(inputs)}
    mine = {id(n) for n in nodes}
    found = []
    for node in nodes:
        layer = node.layer
        if not isinstance(layer, Embedding) or any(p == layer for _, p in found):
            continue
        calls = layer._inbound_nodes
        reads = [_sole_input(n, position) for n in calls]
        if all(id(n) in mine for n in calls) and len(set(reads)) == 1 and reads[0] is not None:
            found.append((reads[0], layer))
    return found


def check_x(model, pairs, x, where, to_host=None):
    """Check the ids ``x`` feeds to the layers of ``pairs`` (``embedding_inputs``); returns the
    ``id()`` of the layers checked (a frozenset for ``trusting``). ``x`` is the data's ``x``
    (an array, a list / tuple in input order, or a dict by input name); ``to_host`` turns a
    leaf into an array first (batch sources: torch tensors, lists)."""
    if not pairs:
        return frozenset()
    arrays = _in_input_order(model, x)
    if arrays is None:
        return frozenset()
    for i, layer in pairs:
        a = arrays[i] if to_host is None else to_host(arrays[i], "x")
        layer.check_ids(layer.ids_array(a), where=f"{where}: x")
    return frozenset(id(layer) for _, layer in pairs)


class trusting:
    """Within the block, the layers in ``checked`` (``id()``s) skip their per-call id check
    (a class, not ``contextlib.contextmanager``: it runs every step)."""

    __slots__ = ("checked", "before")

    def __init__(self, checked):
        self.checked = checked

    def __enter__(self):
        ctx = context.current()
        self.before = ctx.checked_embeddings
        ctx.checked_embeddings = self.checked

    def __exit__(self, *exc):
        context.current().checked_embeddings = self.before
        return False


def _sole_input(node, position):
    """The model-input position a node reads, when its only symbolic argument is one model input."""
    tensors = [t for t in flatten_structure((node.args, node.kwargs)) if isinstance(t, KerasTensor)]
    if len(tensors) != 1 or node.args[:1] != (tensors[0],):
        return None
    return position.get(id(tensors[0]))


def _in_input_order(model, x):
    """The leaves of ``x`` aligned with the model's inputs, or None when that is not plain."""
    inputs = getattr(model, "inputs", None) or [None]
    if isinstance(x, dict):
        struct = model.__dict__.get("_inputs_struct")
        names = list(struct) if isinstance(struct, dict) else [
            getattr(getattr(t, "node", None), "layer", None) and t.node.layer.name for t in inputs]
        if set(names) != set(x):
            return None
        leaves = [x[k] for k in names]
    elif isinstance(x, (list, tuple)):
        leaves = list(x)
    else:
        leaves = [x]
    if len(leaves) != len(inputs) or any(isinstance(a, (list, tuple, dict)) for a in leaves):
        return None
    return leaves

