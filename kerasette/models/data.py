"""Turning user data (arrays, lists, dicts) into device batches for the training loop."""
import numpy as np

from .. import backend
from ..layers.symbolic import flatten_structure

__all__ = ["Dataset", "pack", "unpack_data"]


class Dataset:
    """Arrays of equal length in a nested structure; yields batches on the device.

    Each batch is gathered on the host, cast once (uint8 / float64 -> floatx for
    float-valued inputs) and moved to the device once.
    """

    def __init__(self, x, y=None, sample_weight=None, where="x"):
        self.structure = (x, y, sample_weight)
        leaves = [a for a in flatten_structure(self.structure) if a is not None]
        self.arrays = [_host_array(a) for a in leaves]
        self._mask = [a is not None for a in flatten_structure(self.structure)]
        n_x = len([a for a in flatten_structure(x) if a is not None])
        self._is_x = [i < n_x for i in range(len(self.arrays))]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) > 1:
            raise ValueError(f"Data cardinality is ambiguous: {where}/y/sample_weight have different "
                             f"numbers of samples: {_describe(self.structure)}")
        self.n = lengths.pop() if lengths else 0

    def __len__(self):
        return self.n

    def split(self, fraction):
        """Keep the first ``1 - fraction`` here; return the last ``fraction`` as a new Dataset."""
        k = int(self.n * (1 - fraction))
        if k <= 0 or k >= self.n:
            raise ValueError(f"validation_split={fraction} leaves no training or no validation samples "
                             f"out of {self.n}")
        tail = Dataset.__new__(Dataset)
        tail.structure, tail._mask, tail._is_x = self.structure, self._mask, self._is_x
        tail.arrays = [a[k:] for a in self.arrays]
        tail.n = self.n - k
        self.arrays = [a[:k] for a in self.arrays]
        self.n = k
        return tail

    def batches(self, batch_size, shuffle=False, rng=None, device=None):
        """Yield ``(x, y, sample_weight)`` batches with arrays on ``device`` (an array
        module or device name; the default device when None)."""
        order = None
        if shuffle:
            order = (rng or backend.random_generator()).permutation(self.n)
        for start in range(0, self.n, batch_size):
            if order is None:
                idx = slice(start, start + batch_size)
            else:
                idx = np.sort(order[start:start + batch_size])
            yield self._rebuild([_to_device(a[idx], is_x, device) for a, is_x in zip(self.arrays, self._is_x)])

    def _rebuild(self, arrays):
        """The batch as ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``, as Keras passes it
        to ``train_step``."""
        it = iter(arrays)
        flat = [next(it) if present else None for present in self._mask]
        batch = _unflatten(self.structure, iter(flat))
        while len(batch) > 1 and batch[-1] is None:
            batch = batch[:-1]
        return batch


def unpack_data(data):
    """``(x, y, sample_weight)`` from a tuple of 1, 2 or 3 items (Keras's convention)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
    return data, None, None


pack = tuple


def _host_array(a):
    if backend.is_array(a) and not isinstance(a, np.ndarray):
        return a                      # already on the device: slice there
    a = np.asarray(getattr(a, "value", a))
    if a.ndim == 0:
        raise ValueError(f"Expected arrays with a batch axis, got a scalar {a!r}")
    return a


def _to_device(a, is_x, device=None):
    if a.dtype == np.float64 or (is_x and a.dtype.kind in "ui" and a.dtype.itemsize == 1):
        a = a.astype(backend.floatx())
    return backend.to_device(a, device)


def _unflatten(structure, it):
    if isinstance(structure, (list, tuple)):
        out = [_unflatten(s, it) for s in structure]
        return tuple(out) if isinstance(structure, tuple) else out
    if isinstance(structure, dict):
        return {k: _unflatten(v, it) for k, v in structure.items()}
    return next(it)


def _describe(structure):
    x, y, sw = structure
    shapes = lambda s: [getattr(a, "shape", None) for a in flatten_structure(s) if a is not None]  # noqa: E731
    return f"x sizes {shapes(x)}, y sizes {shapes(y)}, sample_weight sizes {shapes(sw)}"
