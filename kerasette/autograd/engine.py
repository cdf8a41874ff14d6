"""backward(): the program read backwards.

Values flowed forward through Functions; here the nodes are visited in
reverse topological order and each input receives
``x.grad += dg/dx * z.grad`` (the seed's EDF rule). Gradients of a tensor
used twice are summed. Each node's saved arrays are freed once used, and
intermediate gradients are dropped as soon as they have been passed on;
only leaves that require grad (weights, or inputs the user marked) keep
their ``.grad``.
"""
from .tensor import Tensor

__all__ = ["backward", "grad"]


def backward(loss, grad=None):
    """Accumulate d(loss)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    Args:
        loss: the Tensor to differentiate (usually a scalar).
        grad: d(something)/d(loss), same shape as ``loss``; ones by default.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"backward: expected a Tensor, got {type(loss).__name__}")
    if not loss.requires_grad:
        raise ValueError("backward: the tensor does not depend on anything that requires grad "
                         "(was it computed inside no_grad()?)")
    if grad is None:
        grad = _ones_like(loss.value)
    order = _topological_order(loss)
    loss.grad = grad if loss.node is None else None
    grads = {id(loss): grad}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        fn = t.node
        if g is None or fn is None:
            continue
        in_grads = fn.backward(g)
        if not isinstance(in_grads, (tuple, list)):
            in_grads = (in_grads,)
        for x, gx, needed in zip(fn.inputs, in_grads, fn.needs_grad):
            if not needed or gx is None:
                continue
            if x.node is None:            # leaf: keep its gradient
                x.grad = gx if x.grad is None else x.grad + gx
            else:
                prev = grads.get(id(x))
                grads[id(x)] = gx if prev is None else prev + gx
        fn.release()
        t.node = None


def grad(loss, variables):
    """Gradients of ``loss`` with respect to ``variables`` (a list of Tensors), as arrays.

    Existing ``.grad`` of those variables is cleared first.
    """
    for v in variables:
        v.grad = None
    backward(loss)
    return [v.grad for v in variables]


def _ones_like(a):
    out = a.copy()
    out[...] = 1
    return out


def _topological_order(root):
    """Tensors reachable from ``root`` through nodes, inputs before outputs."""
    # depth-first post-order; a tensor is marked when it is expanded (not when
    # pushed), so one reached by several paths still comes after all its users
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.node is not None:
            for x in t.node.inputs:
                if isinstance(x, Tensor) and x.requires_grad and id(x) not in seen:
                    stack.append((x, False))
    return order
