"""Batch sources for the training loop: data that comes in batches rather than as arrays.

``fit`` / ``evaluate`` / ``predict`` keep their array path (``data.Dataset``) for NumPy
arrays and lists / dicts of them. Anything else that yields batches goes through a
``BatchSource`` here:

- a ``keras.utils.PyDataset`` (batches by index; ``workers`` threads or processes prepare
  them ahead, in order, in a bounded queue),
- any other object with ``__len__`` and ``__getitem__`` returning batches (a Keras 2
  ``Sequence``),
- a Python generator or iterator (consumed across epochs: each epoch takes
  ``steps_per_epoch`` batches, or runs until the generator is exhausted),
- any re-iterable object such as a PyTorch ``DataLoader`` (iterated afresh each epoch;
  ``len()`` gives the steps when it has one). kerasette never imports torch: a batch's
  tensors are read through ``.detach().cpu().numpy()`` / ``__array__``.

Each batch is ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a list is read as a tuple,
a dict or a bare array as ``x`` alone), converted and moved to the device as the array path
does it.
"""
import warnings

import numpy as np

from .. import backend
from ..utils.py_dataset import PyDataset, ordered_batches
from .data import _host_array, _to_device

__all__ = ["BatchSource", "is_batch_source", "closing"]


def is_batch_source(x):
    """True when ``x`` yields batches (PyDataset, generator, iterator, DataLoader, Sequence)
    rather than being arrays (NumPy / CuPy arrays, Tensors, lists / tuples / dicts of them)."""
    if x is None or isinstance(x, (list, tuple, dict, str, bytes, int, float, complex, np.generic)):
        return False
    if isinstance(x, PyDataset):
        return True
    if backend.is_array(x) or hasattr(x, "value") or hasattr(x, "__array__") or hasattr(x, "shape"):
        return False                       # arrays, Tensors, torch tensors, DataFrames
    return (hasattr(x, "__next__") or hasattr(x, "__iter__")
            or (hasattr(x, "__getitem__") and hasattr(x, "__len__")))


class BatchSource:
    """One of the batch-yielding inputs above, read pass by pass.

    Args:
        data: the PyDataset, generator, iterator or iterable.
        where (str): ``"x"`` or ``"validation_data"`` (for messages).
        class_weight (dict | None): ``{class id: weight}`` turned into each batch's
            ``sample_weight`` (``fit`` only).
    """

    def __init__(self, data, where="x", class_weight=None):
        from ..utils.sequences import ArrayDataset
        if isinstance(data, ArrayDataset):
            raise ValueError(f"{where}: this ArrayDataset holds single samples; batch it first, "
                             f"e.g. dataset.batch(32)")
        self.data = data
        self.where = where
        self.class_weight = class_weight
        self.x_check = None          # called with each batch's x before it is converted (Model sets it)
        self.ran_out = False
        self._passes = 0
        if isinstance(data, PyDataset) or (hasattr(data, "__getitem__") and hasattr(data, "__len__")
                                           and not hasattr(data, "__next__")):
            self.kind = "indexed"
        elif hasattr(data, "__next__"):
            self.kind = "iterator"
        else:
            self.kind = "iterable"
        if isinstance(data, PyDataset):
            self.workers, self.use_multiprocessing, self.max_queue_size = data._settings()
        else:
            self.workers, self.use_multiprocessing, self.max_queue_size = 1, False, 10

    @property
    def num_batches(self):
        """Batches in one pass, or None when unknown (generators, endless datasets)."""
        if self.kind == "indexed":
            n = self.data.num_batches if isinstance(self.data, PyDataset) else len(self.data)
            return None if n is None else int(n)
        if self.kind == "iterable" and hasattr(self.data, "__len__"):
            try:
                return int(len(self.data))
            except TypeError:
                return None
        return None

    def steps(self, steps=None):
        """Steps of one pass: ``steps`` when given, else the source's own count (None: until
        it is exhausted)."""
        return steps if steps is not None else self.num_batches

    def batches(self, batch_size=None, shuffle=False, rng=None, device=None, steps=None, epoch=False):
        """A generator of at most ``steps`` device batches of one pass (``batch_size`` is the source's
        own). ``shuffle`` reorders an indexed source's batches; ``epoch`` runs the dataset's
        ``on_epoch_begin`` / ``on_epoch_end`` around the pass. Sets ``ran_out`` when the data
        ended before ``steps`` batches (or gave none at all)."""
        del batch_size
        steps = self.steps(steps)
        indices = self._indices(shuffle, rng, steps) if self.kind == "indexed" else None
        return self._pass(indices, device, steps, epoch)

    def _pass(self, indices, device, steps, epoch):
        first_pass = self._passes == 0
        self._passes += 1
        self.ran_out = False
        if epoch and hasattr(self.data, "on_epoch_begin"):
            self.data.on_epoch_begin()
        raw = self._raw_batches(indices, steps)
        count = 0
        try:
            for batch in raw:
                yield self._standardize(batch, device)
                count += 1
                if steps is not None and count >= steps:
                    break
        finally:
            close = getattr(raw, "close", None)
            if close is not None:
                close()                    # shuts a worker pool down
            if epoch and hasattr(self.data, "on_epoch_end"):
                self.data.on_epoch_end()
        if count == 0 and first_pass:
            raise ValueError(f"{self.where}: the {type(self.data).__name__} yielded no batch; it must "
                             f"yield at least one batch (x,), (x, y) or (x, y, sample_weight)")
        if count == 0 or (steps is not None and count < steps):
            self.ran_out = True

    def _indices(self, shuffle, rng, steps):
        """An indexed source's batch indices for one pass, the shuffled order drawn now (in the
        caller's thread: a prefetch worker running the pass draws nothing)."""
        n = self.num_batches
        if n is None:
            import itertools
            return itertools.count() if steps is None else range(steps)
        indices = np.arange(n)
        if shuffle:
            indices = (rng or backend.random_generator()).permutation(n)
        if steps is not None:
            indices = indices[:steps]
        return [int(i) for i in indices]

    def _raw_batches(self, indices, steps):
        if self.kind == "iterator":
            return _limited(self.data, steps)
        if self.kind == "iterable":
            return _limited(iter(self.data), steps)
        if self.workers > 1 or (self.workers > 0 and self.use_multiprocessing):
            return ordered_batches(self.data, indices, self.workers, self.use_multiprocessing,
                                   self.max_queue_size)
        return (self.data[i] for i in indices)

    def _standardize(self, batch, device):
        """``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` on ``device``."""
        if isinstance(batch, list):
            batch = tuple(batch)
        elif not isinstance(batch, tuple):
            batch = (batch,)
        if not 1 <= len(batch) <= 3:
            raise ValueError(f"{self.where}: each batch from the {type(self.data).__name__} must be a "
                             f"tuple (x,), (x, y) or (x, y, sample_weight), got a tuple of {len(batch)} "
                             f"items")
        if self.class_weight is not None and len(batch) >= 2 and batch[1] is not None:
            if len(batch) == 3 and batch[2] is not None:
                raise ValueError("fit: you cannot pass class_weight and batches with sample_weight "
                                 "at the same time")
            from .model import _class_weights_to_sample_weights
            batch = (batch[0], batch[1], _class_weights_to_sample_weights(
                self.class_weight, _leaf_to_host(batch[1], "y")))
        if self.x_check is not None:
            self.x_check(batch[0])
        names = ("x", "y", "sample_weight")
        return tuple(_convert(part, f"{self.where} batch {names[i]}" if self.where != "x" else f"batch {names[i]}",
                              i == 0, device) for i, part in enumerate(batch))


def _limited(iterator, steps):
    """Take at most ``steps`` items (all when None) without reading one more."""
    if steps is None:
        for item in iterator:            # not ``yield from``: closing this must not close theirs
            yield item
        return
    for _ in range(steps):
        try:
            yield next(iterator)
        except StopIteration:
            return


def _leaf_to_host(a, name):
    if a is None or backend.is_array(a) or hasattr(a, "value"):
        return a
    if hasattr(a, "detach") and hasattr(a, "cpu") and hasattr(a, "numpy"):
        return a.detach().cpu().numpy()      # a torch tensor, without importing torch
    return _host_array(a, name)


def _convert(part, name, is_x, device):
    if part is None:
        return None
    if isinstance(part, (list, tuple)):
        out = [_convert(p, f"{name}[{i}]", is_x, device) for i, p in enumerate(part)]
        return tuple(out) if isinstance(part, tuple) else out
    if isinstance(part, dict):
        return {k: _convert(v, f"{name}[{k!r}]", is_x, device) for k, v in part.items()}
    a = _leaf_to_host(part, name)
    a = getattr(a, "value", a)
    if not backend.is_array(a):
        a = _host_array(a, name)
    elif isinstance(a, np.ndarray):
        a = _host_array(a, name)
    return _to_device(a, is_x, device)


class closing:
    """Close a batch generator when the loop over it ends, however it ends (its ``finally``
    shuts down a worker pool); does nothing for objects without ``close``.

    Args:
        batches: the iterator the loop reads.
    """

    def __init__(self, batches):
        self.batches = batches

    def __enter__(self):
        return self.batches

    def __exit__(self, *exc):
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()
        return False


def ran_out_warning(where="fit"):
    warnings.warn(f"{where}: your input ran out of data; interrupting training. Make sure that your "
                  f"dataset or generator can generate at least `steps_per_epoch * epochs` batches",
                  stacklevel=4)
