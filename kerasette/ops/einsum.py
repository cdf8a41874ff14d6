"""Differentiable Einstein summation: the seed's tensor notation as one op.

``einsum("bi,ij->bj", x, w)`` is a Dense layer's matmul. Its backward is
again an einsum: the gradient of operand k is the einsum of the output
gradient with all *other* operands, producing operand k's indices — the
output's index string moves into operand k's place. Indices of operand k
that appear nowhere else (summed away in the forward) are broadcast back.
"""
from .. import backend
from ..autograd.function import Function

__all__ = ["einsum"]

xpof = backend.get_array_module


class Einsum(Function):
    def __init__(self, spec):
        self.spec = spec

    def forward(self, *xs):
        self.ins, self.out = _parse(self.spec, xs)
        self.save(*xs)
        return xpof(*xs).einsum(f"{','.join(self.ins)}->{self.out}", *xs, optimize=len(xs) > 2)

    def backward(self, g):
        xs = self.saved
        xp = xpof(g, *xs)
        grads = []
        for k, x in enumerate(xs):
            if not self.needs_grad[k]:
                grads.append(None)
                continue
            target = self.ins[k]
            others = [self.ins[j] for j in range(len(xs)) if j != k]
            operands = [g] + [xs[j] for j in range(len(xs)) if j != k]
            known = set(self.out).union(*others)
            # indices only operand k has were summed away: compute without them, then broadcast
            kept = "".join(c for c in dict.fromkeys(target) if c in known)
            gk = xp.einsum(f"{','.join([self.out] + others)}->{kept}", *operands,
                           optimize=len(operands) > 2)
            grads.append(_to_target(xp, gk, kept, target, x.shape))
        return tuple(grads)


def _to_target(xp, gk, kept, target, shape):
    """Lay ``gk`` (indices ``kept``) out as ``target`` (may repeat indices, i.e. diagonals)."""
    sizes = dict(zip(target, shape))
    full = gk
    letters = kept
    for c in dict.fromkeys(target):
        if c not in letters:
            full = xp.expand_dims(full, -1)
            letters += c
    unique = "".join(dict.fromkeys(target))
    full = xp.einsum(f"{letters}->{unique}", full)
    full = xp.broadcast_to(full, tuple(sizes[c] for c in unique))
    if len(unique) == len(target):
        return xp.ascontiguousarray(full)
    # repeated index in the operand (a diagonal, e.g. "ii->i"): write onto the diagonal
    out = xp.zeros(shape, dtype=gk.dtype)
    xp.einsum(f"{target}->{unique}", out)[...] = full  # einsum returns a writable diagonal view
    return out


def _parse(spec, xs):
    spec = spec.replace(" ", "")
    if "..." in spec:
        spec = _expand_ellipsis(spec, xs)
    if "->" in spec:
        lhs, out = spec.split("->")
    else:
        lhs = spec
        counts = {}
        for c in lhs.replace(",", ""):
            counts[c] = counts.get(c, 0) + 1
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    ins = lhs.split(",")
    if len(ins) != len(xs):
        raise ValueError(f"einsum: spec {spec!r} names {len(ins)} operands, got {len(xs)}")
    for s, x in zip(ins, xs):
        if len(s) != x.ndim:
            raise ValueError(f"einsum: operand {s!r} has {len(s)} indices but the array has shape {x.shape}")
    return ins, out


def _expand_ellipsis(spec, xs):
    """Replace ``...`` by explicit unused letters (broadcast dims must match in size)."""
    used = set(spec)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    lhs, _, out = spec.partition("->")
    ins = lhs.split(",")
    n_ell = max(x.ndim - (len(s) - 3) for s, x in zip(ins, xs) if "..." in s)
    ell = "".join(free[:n_ell])
    new_ins = []
    for s, x in zip(ins, xs):
        if "..." in s:
            k = x.ndim - (len(s) - 3)
            s = s.replace("...", ell[n_ell - k:])
        new_ins.append(s)
    if "->" in spec:
        out = out.replace("...", ell)
        return ",".join(new_ins) + "->" + out
    return ",".join(new_ins)


def einsum(subscripts, *operands):
    """Einstein summation over Tensors, e.g. ``einsum("btf,fu->btu", x, w)``.

    Differentiable in every float operand; the backward of each operand is
    itself an einsum.
    """
    return Einsum(subscripts)(*operands)
