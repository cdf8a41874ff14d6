"""Shape ops: reshape, transpose, concatenate, stack, slicing, expand/squeeze.

Their backward moves the gradient back to where each element came from.
"""
from .. import backend
from ..autograd.function import Function

__all__ = ["reshape", "transpose", "concatenate", "stack", "get_item", "expand_dims",
           "squeeze", "flatten", "split", "unstack", "repeat", "tile", "flip", "swapaxes",
           "moveaxis", "broadcast_to"]

xpof = backend.get_array_module


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        self.perm = tuple(self.axes) if self.axes is not None else tuple(reversed(range(x.ndim)))
        return x.transpose(self.perm)

    def backward(self, g):
        inverse = [0] * len(self.perm)
        for i, p in enumerate(self.perm):
            inverse[p] = i
        return g.transpose(inverse)


class Concatenate(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return xpof(*xs).concatenate(xs, axis=self.axis)

    def backward(self, g):
        out, start = [], 0
        for n in self.sizes:
            idx = [slice(None)] * g.ndim
            idx[self.axis] = slice(start, start + n)
            out.append(g[tuple(idx)])
            start += n
        return tuple(out)


class Stack(Function):
    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.n = len(xs)
        return xpof(*xs).stack(xs, axis=self.axis)

    def backward(self, g):
        xp = xpof(g)
        return tuple(xp.take(g, i, axis=self.axis) for i in range(self.n))


class GetItem(Function):
    """``x[key]`` for basic and advanced indexing; gradients of repeated
    indices are summed (scatter-add)."""

    def __init__(self, key):
        self.key = key

    def forward(self, x):
        self.in_shape, self.dtype = x.shape, x.dtype
        return x[self.key]

    def backward(self, g):
        xp = xpof(g)
        out = xp.zeros(self.in_shape, dtype=g.dtype)
        if _is_basic(self.key):
            out[self.key] = g
        else:
            xp.add.at(out, self.key, g)
        return out


def _is_basic(key):
    key = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, slice)) or k is None or k is Ellipsis for k in key)


class Repeat(Function):
    def __init__(self, repeats, axis):
        self.repeats, self.axis = repeats, axis

    def forward(self, x):
        self.in_shape = x.shape
        return xpof(x).repeat(x, self.repeats, axis=self.axis)

    def backward(self, g):
        ax = self.axis % len(self.in_shape)
        shape = list(self.in_shape)
        shape.insert(ax + 1, self.repeats)
        return g.reshape(shape).sum(axis=ax + 1)


class Flip(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xpof(x).flip(x, axis=self.axis)

    def backward(self, g):
        return xpof(g).flip(g, axis=self.axis)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        return xpof(x).broadcast_to(x, self.shape)

    def backward(self, g):
        from .math import unbroadcast
        return unbroadcast(g, self.in_shape)


# ---- public functions ----------------------------------------------------

def reshape(x, new_shape):
    """Reshape (one ``-1`` allowed); the gradient is reshaped back."""
    return Reshape(new_shape)(x)


def transpose(x, axes=None):
    """Permute axes (reverse them when ``axes`` is None)."""
    return Transpose(axes)(x)


def swapaxes(x, axis1, axis2):
    """Exchange two axes (a transpose)."""
    perm = list(range(_ndim(x)))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    """Move axis ``source`` to position ``destination``, keeping the others in order."""
    n = _ndim(x)
    perm = [i for i in range(n) if i != source % n]
    perm.insert(destination % n, source % n)
    return transpose(x, perm)


def concatenate(xs, axis=0):
    """Join tensors along an existing axis."""
    return Concatenate(axis)(*xs)


def stack(xs, axis=0):
    """Join tensors along a new axis."""
    return Stack(axis)(*xs)


def get_item(x, key):
    """``x[key]``; ``key`` may hold slices, ints, ``None``, ``...`` or index arrays."""
    if isinstance(key, tuple):
        key = tuple(getattr(k, "value", k) for k in key)
    else:
        key = getattr(key, "value", key)
    return GetItem(key)(x)


def expand_dims(x, axis):
    """Insert an axis of length 1 at ``axis``: ``(2, 3)`` with ``axis=1`` -> ``(2, 1, 3)``.

    Examples:
        >>> from kerasette import ops
        >>> ops.expand_dims(np.zeros((2, 3)), 1).shape
        (2, 1, 3)
    """
    shape = list(_shape(x))
    shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, 1)
    return reshape(x, shape)


def squeeze(x, axis=None):
    """Remove axes of length 1 (all of them, or those in ``axis``)."""
    shape = _shape(x)
    if axis is None:
        new = [n for n in shape if n != 1]
    else:
        axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
        new = [n for i, n in enumerate(shape) if i not in axes]
    return reshape(x, new)


def flatten(x):
    """``(batch, ...) -> (batch, prod(...))``."""
    shape = _shape(x)
    return reshape(x, (shape[0], -1))


def split(x, indices_or_sections, axis=0):
    """Split into pieces along ``axis`` (sections count or split indices)."""
    n = _shape(x)[axis]
    if isinstance(indices_or_sections, int):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} cannot be split into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0] + list(indices_or_sections) + [n]
    ax = axis % _ndim(x)
    pre = (slice(None),) * ax
    return [get_item(x, pre + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def unstack(x, axis=0):
    """Split along ``axis`` into a list of tensors without that axis."""
    ax = axis % _ndim(x)
    return [get_item(x, (slice(None),) * ax + (i,)) for i in range(_shape(x)[ax])]


def repeat(x, repeats, axis):
    """Repeat each element ``repeats`` times along ``axis`` (``numpy.repeat``)."""
    return Repeat(repeats, axis)(x)


def tile(x, repeats):
    """Tile ``x`` ``repeats`` times per axis (``numpy.tile`` rules for missing or extra axes)."""
    repeats = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    nd = _ndim(x)
    if len(repeats) < nd:           # NumPy/Keras: missing leading repeats are 1
        repeats = (1,) * (nd - len(repeats)) + repeats
    elif len(repeats) > nd:         # ... and extra repeats add leading axes
        x = reshape(x, (1,) * (len(repeats) - nd) + _shape(x))
    for ax, r in enumerate(repeats):
        if r != 1:
            x = concatenate([x] * r, axis=ax)
    return x


def flip(x, axis):
    """Reverse the order of elements along ``axis``."""
    return Flip(axis)(x)


def broadcast_to(x, shape):
    """Broadcast to ``shape``; the gradient is summed back over the broadcast axes."""
    return BroadcastTo(shape)(x)


def _shape(x):
    return tuple(x.shape)


def _ndim(x):
    return len(x.shape)
