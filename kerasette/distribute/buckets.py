"""Gradient buckets: many weight-sized arrays packed into a few contiguous float32 buffers.

One allreduce per weight would pay the network's latency once per weight
(a ResNet has hundreds); one giant buffer could not start before the last
gradient is ready. The middle road, as in PyTorch DDP and Horovod: weights
are taken in reverse order (the order backprop finishes them) and cut into
buckets of at most ``bucket_bytes``; each bucket is one message.

The last bucket ends with one float per weight that is 1 where the rank has
a gradient for it: after the sum, a weight that no rank has a gradient for
stays ``None`` (the optimizer skips it, as in a one-process run).
"""
import numpy as np

__all__ = ["Buckets", "pack_layout"]


def pack_layout(sizes, bucket_bytes, itemsize=4):
    """Cut weights (their element counts, in the order given) into buckets of at most
    ``bucket_bytes`` (a weight larger than that gets a bucket of its own).

    Returns ``[(bucket index, offset) for each weight]`` and the bucket lengths.
    """
    if not (isinstance(bucket_bytes, (int, float)) and bucket_bytes > 0):
        raise ValueError(f"bucket_bytes must be a positive number, got {bucket_bytes!r}")
    cap = max(1, int(bucket_bytes // itemsize))
    places, lengths = [], []
    for n in sizes:
        if not lengths or (lengths[-1] and lengths[-1] + n > cap):
            lengths.append(0)
        places.append((len(lengths) - 1, lengths[-1]))
        lengths[-1] += n
    return places, lengths


class Buckets:
    """Contiguous float32 buffers for the gradients of ``variables`` (allocated once).

    Args:
        variables: the weights (Tensors with ``.value``), in the optimizer's order.
        bucket_bytes: the largest bucket (a weight larger than that gets its own).
        xp: the array module of the weights (numpy or cupy).
    """

    def __init__(self, variables, bucket_bytes, xp=np):
        self.shapes = [tuple(v.value.shape) for v in variables]
        self.dtypes = [v.value.dtype for v in variables]
        sizes = [int(np.prod(s)) for s in self.shapes]
        order = list(range(len(sizes)))[::-1]            # reverse: the order backprop completes them
        places, lengths = pack_layout([sizes[i] for i in order], bucket_bytes)
        self.places = [None] * len(sizes)
        for i, p in zip(order, places):
            self.places[i] = p
        self.sizes = sizes
        lengths = lengths or [0]
        self.flag_offset = lengths[-1]
        lengths[-1] += len(sizes)                         # + one presence flag per weight
        self.buffers = [xp.zeros(n, dtype=np.float32) for n in lengths]

    @property
    def nbytes(self):
        """Bytes of one rank's contribution (what each allreduce carries per step)."""
        return sum(int(b.nbytes) for b in self.buffers)

    def key(self):
        return tuple(self.shapes), tuple(str(d) for d in self.dtypes)

    def pack(self, grads, scale):
        """Write ``scale * grad`` of each weight into its place (zeros where grad is None)."""
        for i, g in enumerate(grads):
            self.pack_one(i, g, scale)

    def pack_one(self, i, g, scale):
        """Write ``scale * g`` into weight ``i``'s place and set its presence flag."""
        flags = self.buffers[-1][self.flag_offset:]
        b, off = self.places[i]
        dst = self.buffers[b][off:off + self.sizes[i]]
        if g is None:
            dst[...] = 0
            flags[i] = 0
            return
        g = getattr(g, "value", g)
        if tuple(g.shape) != self.shapes[i]:
            raise ValueError(f"gradient {i} has shape {tuple(g.shape)}, expected the weight's "
                             f"shape {self.shapes[i]}")
        dst[...] = g.reshape(-1)
        if scale != 1.0:
            dst *= scale
        flags[i] = 1

    def weights_per_bucket(self):
        """How many weights each bucket holds (the last also holds every presence flag)."""
        counts = [0] * len(self.buffers)
        for b, _ in self.places:
            counts[b] += 1
        return counts

    def unpack(self):
        """The summed gradients: views into the buckets in each weight's shape and dtype,
        None where no rank had a gradient."""
        flags = self.buffers[-1][self.flag_offset:]
        present = flags > 0
        present = present.get() if hasattr(present, "get") else present
        out = []
        for i, (shape, dtype) in enumerate(zip(self.shapes, self.dtypes)):
            if not present[i]:
                out.append(None)
                continue
            b, off = self.places[i]
            g = self.buffers[b][off:off + self.sizes[i]].reshape(shape)
            out.append(g if g.dtype == dtype else g.astype(dtype))
        return out
