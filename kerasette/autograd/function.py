"""Function: one differentiable op, forward and backward side by side.

An op is plain array code::

    class Square(Function):
        def forward(self, x):
            self.save(x)              # what backward needs, nothing more
            return x * x

        def backward(self, grad):
            (x,) = self.saved
            return 2 * x * grad       # one gradient per input

``Square.apply(t)`` (or ``Square()(t)``) unwraps Tensors to arrays, runs
``forward`` and, when gradients are recorded, returns a Tensor whose
``node`` is the Function instance so ``backward()`` can walk back through it.
``self.needs_grad[i]`` tells backward whether input ``i`` wants a gradient,
so an op can skip work (the first Dense layer never needs ``dx``).
"""
import contextlib

from .. import context
from .tensor import Tensor

__all__ = ["Function", "no_grad", "enable_grad", "is_grad_enabled"]

# set by kerasette.layers: turns an op applied to symbolic (functional-API) tensors into a layer call
_SYMBOLIC_HOOK = []


def is_grad_enabled():
    """True while ops record the graph (outside ``no_grad()``)."""
    return context.current().grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run the block without recording a graph (inference: predict, evaluate)."""
    ctx = context.current()
    prev, ctx.grad_enabled = ctx.grad_enabled, False
    try:
        yield
    finally:
        ctx.grad_enabled = prev


@contextlib.contextmanager
def enable_grad():
    """Record the graph inside the block even within ``no_grad()``."""
    ctx = context.current()
    prev, ctx.grad_enabled = ctx.grad_enabled, True
    try:
        yield
    finally:
        ctx.grad_enabled = prev


class Function:
    """Base class of every differentiable op; subclass and write
    ``forward(*arrays) -> array`` and ``backward(grad) -> grads``.

    ``backward`` returns one gradient per input of ``forward`` (a tuple, or a
    bare array for one input); ``None`` for inputs that get no gradient
    (integer labels, inputs with ``needs_grad[i] == False``).
    Non-array settings (axis, stride) go to ``__init__`` as keyword arguments.
    """

    saved = ()
    inputs = ()
    needs_grad = ()

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def save(self, *arrays):
        """Keep what backward needs; freed once backward has run."""
        self.saved = arrays

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Create the op with ``kwargs`` and call it on ``inputs``."""
        return cls(**kwargs)(*inputs)

    def __call__(self, *inputs):
        if _SYMBOLIC_HOOK and any(getattr(x, "_keras_symbolic", False) for x in inputs):
            return _SYMBOLIC_HOOK[0](self, inputs)      # functional-API placeholders
        arrays = [x.value if isinstance(x, Tensor) else x for x in inputs]
        record = context.current().grad_enabled and any(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        if record:
            self.needs_grad = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
        out = self.forward(*arrays)
        if not record:
            self.saved = ()
            return Tensor(out)
        self.inputs = inputs
        return Tensor(out, requires_grad=True, node=self)

    def release(self):
        """Free the saved arrays and the links to the inputs (after backward)."""
        self.saved = ()
        self.inputs = ()

    def __repr__(self):
        return f"<{type(self).__name__} op>"
