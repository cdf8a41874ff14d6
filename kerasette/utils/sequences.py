"""Data utilities of ``keras.utils``: pad_sequences, timeseries_dataset_from_array, split_dataset.

The datasets returned here are plain Python objects that ``fit`` / ``evaluate`` / ``predict``
take directly (``PyDataset`` subclasses of batches cut with one fancy index each), not
``tf.data`` pipelines.
"""
import random

import numpy as np

from .. import backend
from .py_dataset import PyDataset

__all__ = ["pad_sequences", "timeseries_dataset_from_array", "split_dataset", "ArrayDataset"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) a list of sequences to one length: a ``(num_samples, maxlen, ...)`` array.

    Sequences longer than ``maxlen`` are truncated (their start with ``truncating="pre"``, their
    end with ``"post"``); shorter ones are filled with ``value`` before (``padding="pre"``) or
    after (``"post"``) their items. Empty sequences become all ``value``.

    Args:
        sequences (list): sequences (lists or arrays) of items; every item has the same shape
            (scalars, or arrays for sequences of vectors).
        maxlen (int | None): the output length (default: the longest sequence's length).
        dtype (str | type): the output dtype (default ``"int32"``; ``object`` or ``str`` for
            text items).
        padding (str): ``"pre"`` (default) or ``"post"``: where the padding goes.
        truncating (str): ``"pre"`` (default) or ``"post"``: which end of a long sequence
            is dropped.
        value (float | str): the padding value (default 0).

    Returns:
        numpy.ndarray: shape ``(len(sequences), maxlen) + item_shape``.

    Examples:
        >>> import kerasette as keras
        >>> keras.utils.pad_sequences([[1, 2, 3], [4, 5], [6]], maxlen=2).tolist()
        [[2, 3], [4, 5], [0, 6]]
        >>> keras.utils.pad_sequences([[1], [2, 3]], padding="post", value=-1).tolist()
        [[1, -1], [2, 3]]
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be iterable, got {type(sequences).__name__}")
    num_samples = len(sequences)
    lengths = []
    sample_shape = ()
    found_shape = False
    for x in sequences:
        try:
            lengths.append(len(x))
            if not found_shape and len(x):
                sample_shape = np.asarray(x).shape[1:]
                found_shape = True
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables; found the "
                             f"non-iterable {x!r}") from None
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating must be "pre" or "post", got {truncating!r}')
    is_dtype_str = np.issubdtype(np.dtype(dtype), np.str_) or dtype is object or np.dtype(dtype) == object
    if isinstance(value, str) and not is_dtype_str:
        raise ValueError(f"pad_sequences: dtype {dtype!r} is not compatible with the padding value "
                         f"{value!r}; pass dtype=object for text sequences")
    out = np.full((num_samples, maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: the items of sequence {i} have shape {trunc.shape[1:]}, "
                             f"the expected shape is {sample_shape}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, -len(trunc):] = trunc
    return out


class _Batches(PyDataset):
    """Batches of a structure of arrays, each cut with one index (``batch_size`` None: single
    samples, unbatched)."""

    def __init__(self, arrays, batch_size, gather=None):
        super().__init__()
        self.arrays = arrays                    # (x,) / (x, y) / ... or one array
        self.batch_size = batch_size
        self._gather = gather
        first = arrays[0] if isinstance(arrays, tuple) else arrays
        self._n = len(first) if gather is None else gather[1]

    def __len__(self):
        return self._n if self.batch_size is None else -(-self._n // self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch index {index} out of range ({len(self)} batches)")
        index %= len(self)
        idx = index if self.batch_size is None else slice(index * self.batch_size,
                                                         (index + 1) * self.batch_size)
        if self._gather is not None:
            return self._gather[0](idx)
        if isinstance(self.arrays, tuple):
            return tuple(a[idx] for a in self.arrays)
        return self.arrays[idx]


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None,
                                  end_index=None):
    """Sliding windows over a series, as batches ``fit`` takes (``keras.utils`` semantics).

    Window ``i`` starts at ``start_index + p_i`` where ``p_i = i * sequence_stride`` and holds
    ``sequence_length`` steps ``sampling_rate`` apart; its target is ``targets[start_index + p_i]``.
    Only windows that end before ``end_index`` are made.

    Args:
        data (array): ``(timesteps, ...)`` values.
        targets (array | None): one target per timestep, or None for inputs only (each batch
            is then the windows alone).
        sequence_length (int): steps per window.
        sequence_stride (int): offset between the starts of consecutive windows (default 1).
        sampling_rate (int): offset between steps within a window (default 1).
        batch_size (int | None): windows per batch (default 128); None gives single windows.
        shuffle (bool): shuffle the windows once (default False).
        seed (int | None): the shuffle's seed.
        start_index (int | None): first timestep used (default 0).
        end_index (int | None): timesteps from here on are not used (default ``len(data)``).

    Returns:
        PyDataset: batches ``(windows, targets)`` (or ``windows``), with ``len()`` batches.

    Examples:
        >>> import numpy as np, kerasette as keras
        >>> ds = keras.utils.timeseries_dataset_from_array(np.arange(10), None, sequence_length=3,
        ...                                                batch_size=4)
        >>> len(ds), ds[0].tolist()
        (2, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])
    """
    data = np.asarray(data) if not backend.is_array(data) else data
    n = len(data)
    if start_index is not None:
        if start_index < 0:
            raise ValueError(f"timeseries_dataset_from_array: start_index must be >= 0, got {start_index}")
        if start_index >= n:
            raise ValueError(f"timeseries_dataset_from_array: start_index must be lower than the length "
                             f"of the data ({n}), got {start_index}")
    if end_index is not None:
        if start_index is not None and end_index <= start_index:
            raise ValueError(f"timeseries_dataset_from_array: end_index ({end_index}) must be higher than "
                             f"start_index ({start_index})")
        if end_index >= n:
            raise ValueError(f"timeseries_dataset_from_array: end_index must be lower than the length of "
                             f"the data ({n}), got {end_index}")
        if end_index <= 0:
            raise ValueError(f"timeseries_dataset_from_array: end_index must be > 0, got {end_index}")
    for name, v in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if v <= 0:
            raise ValueError(f"timeseries_dataset_from_array: {name} must be > 0, got {v}")
        if v >= n:
            raise ValueError(f"timeseries_dataset_from_array: {name} must be lower than the length of "
                             f"the data ({n}), got {v}")
    if isinstance(sequence_length, bool) or not isinstance(sequence_length, (int, np.integer)) or sequence_length <= 0:
        raise ValueError(f"timeseries_dataset_from_array: sequence_length must be a positive integer, "
                         f"got {sequence_length!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size <= 0):
        raise ValueError(f"timeseries_dataset_from_array: batch_size must be a positive integer or None, "
                         f"got {batch_size!r}")
    start_index = 0 if start_index is None else start_index
    end_index = n if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets) if not backend.is_array(targets) else targets
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        rng = np.random.RandomState(seed) if seed is not None else backend.random_generator()
        rng.shuffle(positions)
    offsets = np.arange(sequence_length) * sampling_rate

    def gather(idx):
        starts = positions[idx]
        windows = data[start_index + np.asarray(starts)[..., None] + offsets]
        if targets is None:
            return windows
        return windows, targets[start_index + starts]

    return _Batches((data,), batch_size, gather=(gather, len(positions)))


class ArrayDataset:
    """Samples held as arrays (what ``split_dataset`` returns): ``len()`` samples, iterating
    gives one sample at a time (as an unbatched ``tf.data`` dataset), ``batch(n)`` gives
    batches for ``fit``, ``arrays`` the arrays themselves.

    Args:
        arrays (array | tuple | list): one array, or arrays of equal length.
    """

    def __init__(self, arrays):
        self.arrays = arrays

    def _leaves(self):
        return list(self.arrays) if isinstance(self.arrays, (tuple, list)) else [self.arrays]

    def __len__(self):
        return len(self._leaves()[0])

    def __iter__(self):
        leaves = self._leaves()
        for i in range(len(self)):
            yield tuple(a[i] for a in leaves) if isinstance(self.arrays, (tuple, list)) else leaves[0][i]

    def batch(self, batch_size):
        """Batches of ``batch_size`` samples (the last one shorter): a PyDataset ``fit`` takes.

        Args:
            batch_size (int): samples per batch.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch: batch_size must be a positive integer, got {batch_size!r}")
        arrays = tuple(self.arrays) if isinstance(self.arrays, (tuple, list)) else self.arrays
        return _Batches(arrays, batch_size)

    def __repr__(self):
        return f"<ArrayDataset of {len(self)} samples>"


def _split_sizes(left_size, right_size, total):
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if v is not None and type(v) not in (int, float):
            raise TypeError(f"split_dataset: {name} must be an int, a float or None, got "
                            f"{type(v).__name__}")
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: at least one of left_size or right_size must be given")
    if left_size == 0 and right_size == 0:
        raise ValueError("split_dataset: left_size and right_size are both zero")
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if (type(v) is int and (v <= 0 or v >= total)) or (type(v) is float and (v <= 0 or v >= 1)):
            raise ValueError(f"split_dataset: {name} must be a positive integer smaller than {total} "
                             f"or a float in (0, 1), got {v}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("split_dataset: left_size + right_size is greater than 1")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size = {left + right} is more than the "
                         f"{total} samples")
    for split, side in ((left, "left"), (right, "right")):
        if split == 0:
            raise ValueError(f"split_dataset: with {total} samples, left_size={left} and "
                             f"right_size={right} leave the {side} split empty")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split arrays into a left and a right part (e.g. train / test), as ``keras.utils`` does.

    The left part holds the first ``left_size`` samples and the right part the last
    ``right_size`` (after shuffling, when asked); a float is a fraction of the samples and the
    size not given is the rest.

    Args:
        dataset (array | tuple | list): one array, or a tuple / list of arrays of equal length
            (e.g. ``(x, y)``).
        left_size (int | float | None): samples (int) or fraction in (0, 1) (float) on the left.
        right_size (int | float | None): the same for the right part.
        shuffle (bool): shuffle the samples before splitting (default False).
        seed (int | None): the shuffle's seed (the same permutation Keras draws for it).

    Returns:
        tuple: two ``ArrayDataset``; ``left.batch(32)`` is what ``fit`` takes.

    Examples:
        >>> import numpy as np, kerasette as keras
        >>> left, right = keras.utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
        >>> len(left), len(right), right.arrays[1].tolist()
        (8, 2, [16, 18])
    """
    if isinstance(dataset, (tuple, list)):
        if not dataset:
            raise ValueError("split_dataset: got an empty tuple of arrays")
        leaves = [np.asarray(a) if not backend.is_array(a) else a for a in dataset]
    elif backend.is_array(dataset) or hasattr(dataset, "__array__"):
        leaves = [np.asarray(dataset) if not backend.is_array(dataset) else dataset]
    else:
        raise TypeError(f"split_dataset: expected an array or a tuple / list of arrays, got "
                        f"{type(dataset).__name__}")
    total = len(leaves[0])
    if any(len(a) != total for a in leaves):
        raise ValueError(f"split_dataset: the arrays have different lengths {[len(a) for a in leaves]}")
    left, right = _split_sizes(left_size, right_size, total)
    order = None
    if shuffle:
        order = list(range(total))
        random.Random(int(backend.random_generator().integers(1e6)) if seed is None else seed).shuffle(order)
        order = np.asarray(order)
    parts = []
    for idx in (slice(0, left), slice(total - right, total)):
        take = order[idx] if order is not None else idx
        cut = [a[take] for a in leaves]
        parts.append(ArrayDataset(type(dataset)(cut) if isinstance(dataset, (tuple, list)) else cut[0]))
    return parts[0], parts[1]
