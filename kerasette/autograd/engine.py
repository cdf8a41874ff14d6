"""backward(): the program read backwards.

Values flowed forward through Functions; here the nodes are visited in
reverse topological order and each input receives
``x.grad += dg/dx * z.grad`` (the seed's EDF rule). Gradients of a tensor
used twice are summed; a node with several results receives one gradient per
result (None for a result no gradient reached). Each node's saved arrays are
freed once used, unless ``retain_graph=True``; walking a freed node again is
an error, never a silent stop. Intermediate gradients are dropped as soon as
they have been passed on; only leaves that require grad (weights, or inputs
the user marked) keep their ``.grad``.

``on_grad_ready(callback)`` lets a caller act on each leaf as soon as its
gradient is final (its last consumer has run), while the rest of the backward
pass continues: data-parallel training starts a bucket's allreduce there.
"""
import contextlib

from .. import context
from .function import check_finite
from .tensor import Tensor

__all__ = ["backward", "grad", "on_grad_ready"]


def backward(loss, grad=None, retain_graph=False, create_graph=False):
    """Accumulate d(loss)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    Args:
        loss: the Tensor to differentiate (usually a scalar).
        grad: d(something)/d(loss), same shape as ``loss``; ones by default.
        retain_graph: keep the graph (saved arrays) so that a second backward
            through any part of it works; otherwise it is freed as it is walked.
        create_graph: refused: gradients are plain arrays, so higher-order
            derivatives are not available (raises rather than answer wrongly).

    Raises:
        RuntimeError: the graph (or a part shared with an earlier backward)
            was already freed; the message names the op.

    Examples:
        >>> import kerasette as keras
        >>> from kerasette import autograd
        >>> w = keras.Variable(np.array([1.0, 2.0]))
        >>> autograd.backward((w * w).sum())
        >>> w.grad.tolist()
        [2.0, 4.0]
    """
    if create_graph:
        raise NotImplementedError("backward: create_graph=True (higher-order gradients) is not supported: "
                                  "kerasette's gradients are plain arrays, not graph tensors")
    if not isinstance(loss, Tensor):
        raise TypeError(f"backward: expected a Tensor, got {type(loss).__name__}")
    if not loss.requires_grad:
        raise ValueError("backward: the tensor does not depend on anything that requires grad "
                         "(was it computed inside no_grad()?)")
    if grad is None:
        grad = _ones_like(loss.value)
    elif tuple(getattr(grad, "shape", ())) != loss.shape:
        raise ValueError(f"backward: grad has shape {tuple(getattr(grad, 'shape', ()))}, "
                         f"expected the loss's shape {loss.shape}")
    root = loss.node
    if root is None:                      # a leaf: d(loss)/d(loss)
        loss.grad = grad if loss.grad is None else loss.grad + grad
        return
    ctx = context.current()
    numerics, ready = ctx.check_numerics, ctx.grad_ready_hook
    order = _node_order(root)
    last_uses = _last_uses(order) if ready is not None else {}
    pending = {id(root): _slots(root)}
    pending[id(root)][loss.output_index] = grad
    for step, fn in enumerate(reversed(order)):
        grads = pending.pop(id(fn), None)
        if grads is not None and any(g is not None for g in grads):
            _propagate(fn, grads, pending, numerics)
        if not retain_graph:
            fn.release()
        for leaf in last_uses.get(step, ()):
            ready(leaf)


@contextlib.contextmanager
def on_grad_ready(callback):
    """Within the block, every ``backward`` on this thread calls ``callback(leaf)`` once per
    leaf that requires grad, as soon as no later node can add to ``leaf.grad`` (which may be
    None if no gradient reached it). Without a callback the walk costs nothing extra.

    Args:
        callback (callable): ``callback(leaf)``, called with each leaf Tensor in the order
            backprop finishes them (data-parallel training starts a bucket's allreduce here).

    Examples:
        >>> import kerasette as keras
        >>> from kerasette import autograd
        >>> w = keras.Variable(np.array([1.0, 2.0]), name="w")
        >>> with autograd.on_grad_ready(lambda leaf: print("ready", leaf.grad.tolist())):
        ...     autograd.backward((w * w).sum())
        ...
        ready [2.0, 4.0]
    """
    ctx = context.current()
    saved, ctx.grad_ready_hook = ctx.grad_ready_hook, callback
    try:
        yield
    finally:
        ctx.grad_ready_hook = saved


def grad(loss, variables, retain_graph=False):
    """Gradients of ``loss`` with respect to ``variables`` (a list of Tensors), as arrays.

    Existing ``.grad`` of those variables is cleared first (other leaves still accumulate
    into theirs, as ``backward`` does).

    Args:
        loss (Tensor): the value to differentiate, usually a scalar (the backward pass
            starts from ones of its shape).
        variables (list[Tensor]): the leaves wanted (weights, or inputs created with
            ``requires_grad=True``).
        retain_graph (bool): keep the graph for another backward (default False).

    Returns:
        list: one array per variable, in order; None for a variable ``loss`` does not
        depend on.

    Examples:
        >>> import kerasette as keras
        >>> from kerasette import autograd
        >>> w = keras.Variable(np.array([1.0, 2.0]))
        >>> autograd.grad((w * w).sum(), [w])
        [array([2., 4.])]
    """
    for v in variables:
        v.grad = None
    backward(loss, retain_graph=retain_graph)
    return [v.grad for v in variables]


def _propagate(fn, grads, pending, numerics):
    """Run ``fn.backward`` and hand each input its gradient (leaf: accumulate into ``.grad``)."""
    in_grads = fn.backward(*grads) if fn.n_outputs > 1 else fn.backward(grads[0])
    if not isinstance(in_grads, (tuple, list)):
        in_grads = (in_grads,)
    if len(in_grads) > len(fn.inputs):
        raise RuntimeError(f"{fn!r}.backward returned {len(in_grads)} gradients for "
                           f"{len(fn.inputs)} inputs")
    if numerics:
        check_finite(fn, in_grads, "backward produced")
    for x, gx, needed in zip(fn.inputs, in_grads, fn.needs_grad):
        if not needed or gx is None:
            continue
        node = x.node
        if node is None:                  # leaf: keep its gradient
            x.grad = gx if x.grad is None else x.grad + gx
            continue
        slots = pending.get(id(node))
        if slots is None:
            slots = pending[id(node)] = _slots(node)
        k = x.output_index
        slots[k] = gx if slots[k] is None else slots[k] + gx


def _last_uses(order):
    """{step of the walk: [leaves whose last consumer runs at that step]} (steps count
    over ``reversed(order)``, the order ``backward`` visits the nodes)."""
    last = {}
    for step, fn in enumerate(reversed(order)):
        for x, needed in zip(fn.inputs, fn.needs_grad):
            if needed and isinstance(x, Tensor) and x.node is None:
                last[id(x)] = (step, x)
    by_step = {}
    for step, leaf in last.values():
        by_step.setdefault(step, []).append(leaf)
    return by_step


def _slots(fn):
    return [None] * fn.n_outputs


def _ones_like(a):
    out = a.copy()
    out[...] = 1
    return out


def _node_order(root):
    """Nodes reachable from ``root`` through inputs that require grad, inputs'
    nodes before their users'; a node already freed by an earlier backward raises."""
    # depth-first post-order; a node is marked when it is expanded (not when
    # pushed), so one reached by several paths still comes after all its users
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        fn, done = stack.pop()
        if done:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        if fn.freed:
            raise RuntimeError(
                f"backward: the graph through {type(fn).__name__} was already freed by an earlier "
                f"backward; pass retain_graph=True to the first backward to backpropagate through "
                f"it again (or detach() the tensors reused from the earlier step)")
        seen.add(id(fn))
        stack.append((fn, True))
        for x in fn.inputs:
            if isinstance(x, Tensor) and x.requires_grad and x.node is not None and id(x.node) not in seen:
                stack.append((x.node, False))
    return order
