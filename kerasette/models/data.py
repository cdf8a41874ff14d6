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
        self.where = where
        prefix = "validation_data: " if where == "validation_data" else ""
        for part, name in ((x, "x"), (y, "y"), (sample_weight, "sample_weight")):
            _refuse_number_lists(part, prefix + name)
        leaves = [a for a in flatten_structure(self.structure) if a is not None]
        self.names = [prefix + n for n in _leaf_names(self.structure)]
        self.arrays = [_host_array(a, n) for a, n in zip(leaves, self.names)]
        self._mask = [a is not None for a in flatten_structure(self.structure)]
        n_x = len([a for a in flatten_structure(x) if a is not None])
        self._is_x = [i < n_x for i in range(len(self.arrays))]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) > 1:
            raise ValueError(f"Data cardinality is ambiguous: {where}/y/sample_weight have different "
                             f"numbers of samples: {_describe(self.structure)}")
        self.n = lengths.pop() if lengths else 0
        self._device = None            # the array module holding the arrays (keep_on_device)

    def __len__(self):
        return self.n

    def x_arrays(self):
        """The host (or device) arrays of ``x``, in input order."""
        return [a for a, is_x in zip(self.arrays, self._is_x) if is_x]

    def x_structure(self):
        """``x`` as given (one array, a list or a dict), its leaves the converted arrays."""
        it = iter(self.x_arrays())
        x = self.structure[0]
        return _unflatten(x, iter([None if a is None else next(it) for a in flatten_structure(x)]))

    def check_finite(self, where):
        """Raise if a float array holds NaN or inf (read in chunks, so memory stays small)."""
        for a, name in zip(self.arrays, self.names):
            if a.dtype.kind not in "fc" or a.size == 0:
                continue
            xp = backend.get_array_module(a)
            step = max(1, (1 << 22) // max(1, a[0].size))
            for start in range(0, len(a), step):
                chunk = a[start:start + step]
                if bool(xp.isfinite(chunk).all()):
                    continue
                bad = backend.to_numpy(~xp.isfinite(chunk))
                count = int(backend.to_numpy(~xp.isfinite(a)).sum())
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                first = (first[0] + start,) + first[1:]
                value = backend.to_numpy(a[first])
                raise ValueError(f"{where}: {name} holds {count} NaN/inf value(s), the first {value} at "
                                 f"index {first}; clean the data (e.g. np.nan_to_num or drop those "
                                 f"samples), or pass check_finite=False to train anyway")

    def keep_on_device(self, device, share=0.25):
        """Move every array to ``device`` (an array module) once, cast as batches would be,
        when they fit in ``share`` of its free memory; batches are then gathered there and
        nothing crosses the host link per step. Returns whether they moved (the CPU, an
        unknown free size or too little room: no)."""
        if self._device is not None:
            return True
        free = backend.free_device_memory(device) if device is not None else None
        if free is None:
            return False
        need = sum(a.size * np.dtype(_batch_dtype(a, is_x)).itemsize for a, is_x in zip(self.arrays, self._is_x))
        if need > share * free:
            return False
        self.arrays = [_to_device(a, is_x, device) for a, is_x in zip(self.arrays, self._is_x)]
        self._device = device
        return True

    def split(self, fraction):
        """Keep the first ``1 - fraction`` here; return the last ``fraction`` as a new Dataset."""
        k = int(self.n * (1 - fraction))
        if k <= 0 or k >= self.n:
            raise ValueError(f"validation_split={fraction} leaves no training or no validation samples "
                             f"out of {self.n}")
        tail = Dataset.__new__(Dataset)
        tail.structure, tail._mask, tail._is_x, tail._device = self.structure, self._mask, self._is_x, self._device
        tail.arrays = [a[k:] for a in self.arrays]
        tail.n = self.n - k
        self.arrays = [a[:k] for a in self.arrays]
        self.n = k
        return tail

    def batches(self, batch_size, shuffle=False, rng=None, device=None):
        """Yield ``(x, y, sample_weight)`` batches with arrays on ``device`` (an array
        module or device name; the default device when None). The shuffled order is drawn
        here, in the caller's thread, so a prefetch worker running the generator draws nothing."""
        order = (rng or backend.random_generator()).permutation(self.n) if shuffle else None
        return self._batches(batch_size, order, device)

    def _batches(self, batch_size, order, device):
        for start in range(0, self.n, batch_size):
            if order is None:
                idx = slice(start, start + batch_size)
            else:
                idx = np.sort(order[start:start + batch_size])
                if self._device is not None:       # the arrays are on the device: so is the index
                    idx = self._device.asarray(idx)
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


def _host_array(a, name="x"):
    if backend.is_array(a) and not isinstance(a, np.ndarray):
        return a                      # already on the device: slice there
    raw = getattr(a, "value", a)
    try:
        a = np.asarray(raw)
    except ValueError as e:           # ragged nested sequences (NumPy >= 1.24)
        raise ValueError(f"{name}: cannot be made into one array ({e}); sequences of different "
                         f"lengths must be padded to one length first") from None
    if a.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, got the scalar {a!r}; "
                         f"pass an array of samples, shape (n_samples, ...)")
    if a.dtype.kind in "USO":
        sample = a.reshape(-1)[0] if a.size else None
        sample = sample.item() if isinstance(sample, np.generic) else sample
        if a.dtype.kind != "O" or isinstance(sample, (str, bytes)):
            fix = ("map the labels to integers first, e.g. classes, y = np.unique(y, return_inverse=True)"
                   if name.split(": ")[-1].startswith(("y", "sample_weight"))
                   else "turn the text into numbers first (e.g. a vocabulary lookup)")
            raise ValueError(f"{name}: holds strings (dtype {a.dtype}, e.g. {sample!r}) but models "
                             f"compute on numbers; {fix}")
        raise ValueError(f"{name}: holds Python objects (dtype object, e.g. {type(sample).__name__}); "
                         f"pass a numeric array, e.g. np.asarray({name}, dtype='float32'); sequences "
                         f"of different lengths must be padded first")
    return a


def _refuse_number_lists(part, name):
    """A Python list of numbers (or of lists of numbers) given as ``x`` / ``y``: Keras refuses
    it; kerasette reads lists as one array per input/output, so say what to do instead."""
    if not isinstance(part, (list, tuple)) or not part:
        return
    first = part[0]
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    if isinstance(first, (int, float, bool, np.number)):
        kind = "nested Python list" if isinstance(part[0], (list, tuple)) else "Python list"
        raise ValueError(f"{name}: got a {kind} of numbers ({len(part)} items); lists and tuples are "
                         f"read as one array per model input or output, so convert it to one array "
                         f"first: np.asarray({name.split(': ')[-1]})")


def _leaf_names(structure):
    """``x``, ``x[0]``, ``x['image']``, ``y``, ... for each non-None leaf, in flatten order."""
    out = []

    def walk(s, name):
        if isinstance(s, (list, tuple)):
            for i, item in enumerate(s):
                walk(item, f"{name}[{i}]")
        elif isinstance(s, dict):
            for k, v in s.items():
                walk(v, f"{name}[{k!r}]")
        elif s is not None:
            out.append(name)

    x, y, sw = structure
    for part, name in ((x, "x"), (y, "y"), (sw, "sample_weight")):
        walk(part, name)
    return out


def _to_device(a, is_x, device=None):
    """``a`` on ``device`` in its batch dtype; a widening cast (uint8 images to float32) of
    host data bound for an accelerator happens there, so 4x fewer bytes cross the link."""
    dtype = _batch_dtype(a, is_x)
    if dtype == a.dtype:
        return backend.to_device(a, device)
    if dtype.itemsize > a.dtype.itemsize and isinstance(a, np.ndarray) and backend.xp(device) is not np:
        return backend.to_device(a, device).astype(dtype)
    return backend.to_device(a.astype(dtype), device)


def _batch_dtype(a, is_x):
    """The dtype a batch of ``a`` is given to the model in: float64 data and uint8 / int8
    inputs (images) become floatx; the rest as they are."""
    if a.dtype == np.float64 or (is_x and a.dtype.kind in "ui" and a.dtype.itemsize == 1):
        return np.dtype(backend.floatx())
    return a.dtype


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
