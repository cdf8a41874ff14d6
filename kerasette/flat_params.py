"""All of an optimizer's weights, and each of its slots, in one flat buffer.

On a GPU an optimizer step weight by weight is one kernel launch per weight (a
ResNet-50: 161 launches of a few microseconds each, most on small biases and
batch-norm scales). Packed, the step is one gather of the gradients and one
launch of the fused update over every weight.

``FlatParams(variables, slots)`` copies each weight into its slice of one
buffer and makes the variable's ``value`` a view of that slice (likewise each
slot array); everything that writes weights in place (``assign``,
``set_weights``, loading a file) keeps writing into the buffer. Code that
replaces a variable's array (``Model.to``) breaks the packing, which
``intact`` notices before the next step.
"""
from . import backend

__all__ = ["FlatParams"]


class FlatParams:
    """The packed weights and slots.

    Args:
        variables (list): the ``Variable`` s, in the optimizer's order; their ``value`` become
            views of ``weights``.
        slots (dict): ``{slot name: [array per variable]}``; the arrays are replaced, in the
            lists, by views of ``self.slots[name]``.

    Attributes:
        weights (array): every weight, flattened and concatenated ``(total,)``.
        slots (dict): ``{slot name: (total,) array}`` in the same layout.
    """

    def __init__(self, variables, slots):
        first = variables[0].value
        xp, dtype = backend.get_array_module(first), first.dtype
        self.variables = list(variables)
        bounds, start = [], 0
        for v in self.variables:
            bounds.append((start, start + v.value.size))
            start += v.value.size
        self.weights = _packed(xp, dtype, start, [v.value for v in self.variables], bounds)
        for v, view in zip(self.variables, _views(self.weights, self.variables, bounds)):
            v.value = view
        self.views = [v.value for v in self.variables]
        self.slots = {}
        self.slot_views = {}
        for name, arrays in slots.items():
            buf = self.slots[name] = _packed(xp, dtype, start, arrays, bounds)
            arrays[:] = _views(buf, self.variables, bounds)
            self.slot_views[name] = list(arrays)

    @staticmethod
    def fits(variables):
        """Whether ``variables`` can be packed: at least two, distinct, one floating dtype, one
        array module."""
        if len(variables) < 2 or len({id(v) for v in variables}) != len(variables):
            return False
        first = variables[0].value
        mod = type(first)
        return first.dtype.kind == "f" and all(
            type(v.value) is mod and v.value.dtype == first.dtype for v in variables)

    def intact(self, variables, slots):
        """Whether ``variables`` and ``slots`` are still the packed ones (nothing replaced an
        array since)."""
        if len(variables) != len(self.variables) or slots.keys() != self.slots.keys():
            return False
        if any(v is not u or v.value is not view for v, u, view in zip(variables, self.variables, self.views)):
            return False
        return all(a is b for name, arrays in slots.items() for a, b in zip(arrays, self.slot_views[name]))

    def gather(self, grads):
        """The gradients as one ``(total,)`` array on the weights' device and dtype."""
        xp, dtype = backend.get_array_module(self.weights), self.weights.dtype
        flat = []
        for g, v in zip(grads, self.variables):
            g = getattr(g, "value", g)
            if g.shape != v.value.shape:
                raise ValueError(f"optimizer: the gradient of variable '{getattr(v, 'path', None) or v.name}' "
                                 f"has shape {tuple(g.shape)}, expected the variable's {tuple(v.value.shape)}")
            if backend.get_array_module(g) is not xp:
                g = backend.to_device(g, xp)      # host gradients for device weights
            flat.append(g.reshape(-1))
        out = xp.concatenate(flat)
        return out if out.dtype == dtype else out.astype(dtype)


def _packed(xp, dtype, total, arrays, bounds):
    buf = xp.empty(total, dtype=dtype)
    for a, (start, stop) in zip(arrays, bounds):
        buf[start:stop] = a.reshape(-1)
    return buf


def _views(buf, variables, bounds):
    return [buf[start:stop].reshape(v.value.shape) for v, (start, stop) in zip(variables, bounds)]

