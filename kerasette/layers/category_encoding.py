"""Integer and bucket encodings (Keras 3): CategoryEncoding and Discretization.

``CategoryEncoding`` turns integer ids into one-hot, multi-hot or count vectors;
``Discretization`` buckets numbers by boundaries (given, or learned from data by ``adapt``
with Keras 3's quantile summaries, so the same data gives the same boundaries) and returns
bucket ids or their encodings. Neither has weights; their outputs carry no gradient
(``count_weights`` excepted: the counts are differentiable w.r.t. them).
Sparse outputs are not supported (``sparse=True`` is refused).
"""
import numbers

import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from .core import shape_str
from .layer import Layer

__all__ = ["CategoryEncoding", "Discretization"]

_ENCODINGS = ("one_hot", "multi_hot", "count")


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _raw(x):
    """A call's input as an array on its device (numbers and lists go to the default device)."""
    value = getattr(x, "value", x)
    return value if backend.is_array(value) else backend.to_device(np.asarray(value))


def _refuse_sparse(layer, sparse):
    if sparse:
        raise ValueError(f"{_where(layer)}: sparse=True is not supported (kerasette has no sparse tensors); "
                         f"pass sparse=False")


def _encoded_shape(shape, mode, depth):
    """Output shape of ``_encode`` for an input ``shape``: one_hot swaps a trailing axis of 1
    for the depth (or adds a depth axis); multi_hot and count fold axis 1 (the only axis of a
    1-D input) into the depth axis, as Keras 3 does."""
    shape = tuple(shape)
    if mode == "int":
        return shape
    if not shape:
        return (1, depth) if mode == "one_hot" else (depth,)
    if mode == "one_hot":
        return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
    return (shape[:1] + shape[2:] if len(shape) > 1 else ()) + (depth,)


def _encode(ids, mode, depth, dtype, count_weights=None):
    """Integer ids (an array) as Keras 3 encodes them; a Tensor. ``count_weights`` (a Tensor
    of the ids' shape, in ``dtype``) weighs each id in ``"count"`` mode."""
    xp = backend.get_array_module(ids)
    if mode == "int":
        return Tensor(ids.astype(dtype))
    if ids.ndim == 0:
        ids = ids.reshape(1)
        if count_weights is not None:
            count_weights = ops.reshape(count_weights, (1,))
    if mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids.reshape(ids.shape[:-1])
        return Tensor((ids[..., None] == xp.arange(depth)).astype(dtype))
    hot = ids[..., None] == xp.arange(depth)        # (..., n, depth): one row per id
    fold = 1 if ids.ndim > 1 else 0
    if mode == "multi_hot":
        return Tensor(hot.any(axis=fold).astype(dtype))
    if count_weights is None:
        return Tensor(hot.sum(axis=fold, dtype=dtype))
    return ops.sum(ops.multiply(Tensor(hot.astype(dtype)), ops.expand_dims(count_weights, -1)), axis=fold)


class CategoryEncoding(Layer):
    """Encodes integer ids ``0 <= id < num_tokens`` as one-hot, multi-hot or count vectors.

    - ``"one_hot"``: each id becomes a vector of ``num_tokens`` with a 1 at the id; a trailing
      axis of size 1 is replaced by the encoding, otherwise an encoding axis is added
      (``(batch,)`` or ``(batch, 1)`` -> ``(batch, num_tokens)``; ``(batch, n)`` ->
      ``(batch, n, num_tokens)``).
    - ``"multi_hot"`` (default): each sample ``(batch, n)`` becomes one vector with a 1 for every
      id present (``(batch, num_tokens)``); a 1-D input is one sample (``(num_tokens,)``).
    - ``"count"``: as ``"multi_hot"`` but counting each id, or summing ``count_weights``.

    The output is in the layer's dtype (float32 by default), as Keras's. Float inputs are
    truncated to integers, as Keras casts them. An id outside ``[0, num_tokens)`` is a
    ValueError (Keras on torch fails on ids too large, and silently zeroes negative ones).
    ``"multi_hot"`` and ``"count"`` take inputs of rank 2 at most, the ranks Keras supports.

    Args:
        num_tokens (int): how many ids there are (>= 1).
        output_mode (str): ``"one_hot"``, ``"multi_hot"`` (default; Keras 2's ``"binary"`` is
            read as it) or ``"count"``.
        sparse (bool): only False (default); sparse outputs are refused.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: integer ids, ``(batch,)`` or ``(batch, n)`` (any rank for ``"one_hot"``).
        count_weights: in ``"count"`` mode, a weight per id (the shape of ``inputs``); the
            counts become sums of the weights. Refused in the other modes.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.CategoryEncoding(4, "one_hot")(np.array([3, 0])).numpy().tolist()
        [[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]
        >>> keras.layers.CategoryEncoding(4, "count")(np.array([[0, 1, 1], [3, 3, 2]])).numpy().tolist()
        [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0]]
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":                  # Keras 2's name for multi_hot
            output_mode = "multi_hot"
        if output_mode not in _ENCODINGS:
            raise ValueError(f"{_where(self)}: output_mode must be one of {_ENCODINGS}, got {output_mode!r}")
        if num_tokens is None:
            raise ValueError(f"{_where(self)}: num_tokens must be given (the number of ids); for an "
                             f"unknown vocabulary, Keras has IntegerLookup")
        if not _is_int(num_tokens) or num_tokens < 1:
            raise ValueError(f"{_where(self)}: num_tokens must be an integer >= 1, got {num_tokens!r}")
        _refuse_sparse(self, sparse)
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False
        self.built = True

    @property
    def output_dtype(self):
        return self.dtype

    def _check_rank(self, shape):
        if self.output_mode != "one_hot" and len(shape) > 2:
            raise ValueError(f"{_where(self)}: output_mode={self.output_mode!r} takes inputs of rank 2 at most "
                             f"((batch, ids)), got shape {shape_str(tuple(shape))}")

    def _check_symbolic_input(self, inputs):
        self._check_rank(inputs.shape)

    def call(self, inputs, count_weights=None):
        ids = _raw(inputs)
        self._check_rank(ids.shape)
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"{_where(self)}: count_weights is only used with output_mode='count', "
                                 f"not {self.output_mode!r}")
            count_weights = ops.cast(count_weights if isinstance(count_weights, Tensor)
                                     else Tensor(_raw(count_weights)), self.dtype)
            if tuple(count_weights.shape) != tuple(ids.shape):
                raise ValueError(f"{_where(self)}: count_weights must have the shape of the inputs "
                                 f"{shape_str(tuple(ids.shape))}, got {shape_str(tuple(count_weights.shape))}")
        if ids.dtype.kind not in "iub":
            if ids.dtype.kind != "f":
                raise ValueError(f"{_where(self)}: inputs must be integer ids, got dtype {ids.dtype}")
            ids = ids.astype("int64")
        if ids.size and bool(((ids < 0) | (ids >= self.num_tokens)).any()):
            xp = backend.get_array_module(ids)
            low, high = int(backend.to_numpy(xp.min(ids))), int(backend.to_numpy(xp.max(ids)))
            raise ValueError(f"{_where(self)}: inputs must be ids in [0, num_tokens={self.num_tokens}), got "
                             f"values from {low} to {high}")
        return _encode(ids, self.output_mode, self.num_tokens, self.dtype, count_weights)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return _encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


# -- Discretization: Keras 3's quantile summaries ------------------------------------------------
#
# A summary is a (2, k) float32 array: sorted values (row 0) and the weight each stands for
# (row 1). A batch is summarized by every step-th of its sorted values, step = n * epsilon
# (at least 1); summaries are merged by sorting their columns together, then compressed back to
# about 1 / epsilon columns by interpolating the values at evenly spaced cumulative weights.
# The boundaries are the summary compressed to num_bins columns, less the last.

def _summary_of(values, epsilon):
    ordered = np.sort(values.reshape(-1))
    step = max(ordered.size / (1.0 / epsilon), 1)
    picked = ordered[int(step - 1)::int(step)]
    return np.stack([picked, np.full(picked.shape, step, dtype=picked.dtype)])


def _compressed(summary, epsilon):
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fraction = cumulative / cumulative[-1]
    values = np.interp(targets, fraction, summary[0])
    reached = np.interp(targets, fraction, cumulative)
    weights = reached - np.concatenate((np.array([0]), reached[:-1]))
    return np.stack((values, weights)).astype("float32")


def _merged(new, old, epsilon):
    both = np.concatenate((new, old), axis=1)
    return _compressed(np.take(both, np.argsort(both[0]), axis=1), epsilon)


class Discretization(Layer):
    """Buckets numbers by ranges: ``bin_boundaries=[0., 1., 2.]`` makes the bins
    ``(-inf, 0)``, ``[0, 1)``, ``[1, 2)``, ``[2, inf)``, numbered 0 to 3.

    The boundaries are given, or learned by ``adapt`` as ``num_bins`` quantiles of data (Keras
    3's approximate quantile summaries, to ``epsilon``: the same data gives Keras's
    boundaries). Inputs are compared in float32 (``floatx``), as Keras converts them; a NaN
    falls in the last bin. No weights: the boundaries travel in the config.

    Output: ``"int"`` (default) the bin ids, int32 (Keras 3's dtype), of the input's shape;
    ``"one_hot"`` each id as a vector of ``len(bin_boundaries) + 1`` (a trailing axis of size 1
    is replaced, otherwise one is added); ``"multi_hot"`` / ``"count"`` fold axis 1 of the
    input into the encoding, as Keras 3 does (``(batch, n)`` -> ``(batch, bins)``,
    ``(batch, n, m)`` -> ``(batch, m, bins)``; a 1-D input is one sample). Encodings are in the
    layer's dtype (float32 by default).

    Args:
        bin_boundaries (list[float] | None): ascending boundaries; not with ``num_bins``.
        num_bins (int | None): how many bins ``adapt`` learns (>= 1); not with
            ``bin_boundaries``.
        epsilon (float): the quantiles' error tolerance, in (0, 1] (default 0.01); smaller is
            more precise and keeps larger summaries.
        output_mode (str): ``"int"`` (default), ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
        sparse (bool): only False (default); sparse outputs are refused.
        dtype (str | None): the dtype of the encodings (default ``floatx()``).
        name (str | None): the layer's name.
        **kwargs: other ``Layer`` arguments (``trainable``); Keras's layer takes none.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> layer(np.array([[-1.5, 1.0, 3.4, 0.5]])).numpy().tolist()
        [[0, 2, 3, 1]]
        >>> layer = keras.layers.Discretization(num_bins=4, epsilon=0.01)
        >>> layer.adapt(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]))
        >>> [round(b, 4) for b in layer.bin_boundaries]
        [0.0, 0.5, 1.3]
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 dtype=None, name=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int",) + _ENCODINGS:
            raise ValueError(f"{_where(self)}: output_mode must be one of {('int',) + _ENCODINGS}, got "
                             f"{output_mode!r}")
        _refuse_sparse(self, sparse)
        if num_bins is not None and (not _is_int(num_bins) or num_bins < 1):
            raise ValueError(f"{_where(self)}: num_bins must be an integer >= 1, got {num_bins!r}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"{_where(self)}: give num_bins or bin_boundaries, not both (got num_bins="
                             f"{num_bins!r} and bin_boundaries={bin_boundaries!r})")
        if num_bins is None and bin_boundaries is None:
            raise ValueError(f"{_where(self)}: give either num_bins (then adapt) or bin_boundaries")
        if (not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not np.isfinite(epsilon)
                or not 0 < epsilon <= 1):
            raise ValueError(f"{_where(self)}: epsilon must be a number in (0, 1], got {epsilon!r}")
        self.bin_boundaries = None if bin_boundaries is None else self._boundaries(bin_boundaries)
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.output_mode, self.sparse = output_mode, False
        self.built = True

    def _boundaries(self, value):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 1 or np.isnan(arr).any() or (np.diff(arr) < 0).any():
            raise ValueError(f"{_where(self)}: bin_boundaries must be a list of ascending numbers, got {value!r}")
        return arr.tolist()

    @property
    def output_dtype(self):
        return "int32" if self.output_mode == "int" else self.dtype

    def adapt(self, data, steps=None):
        """Learn ``num_bins`` bins from quantiles of ``data`` (every element counts, whatever
        the shape), replacing any earlier boundaries.

        Args:
            data (array | iterable): an array (or Tensor), or an iterable of batches (arrays,
                or ``(x, y)`` tuples whose ``x`` is used), merged as Keras merges them.
            steps (int | None): read at most this many batches of an iterable (default: all);
                an array is one batch.

        Examples:
            >>> import kerasette as keras, numpy as np
            >>> layer = keras.layers.Discretization(num_bins=2)
            >>> layer.adapt([np.arange(4.0), np.arange(4.0, 8.0)])
            >>> layer.bin_boundaries
            [3.0]
        """
        if self.num_bins is None:
            raise ValueError(f"{_where(self)}: adapt() needs a layer made with num_bins, not bin_boundaries")
        if steps is not None and (not _is_int(steps) or steps < 1):
            raise ValueError(f"{_where(self)}: steps must be a positive integer or None, got {steps!r}")
        if isinstance(data, Tensor) or backend.is_array(data) or isinstance(data, np.ndarray):
            batches = [data]
        elif hasattr(data, "__iter__"):
            batches = data
        else:
            raise TypeError(f"{_where(self)}: adapt() expects an array or an iterable of batches, got "
                            f"{type(data).__name__}")
        summary, seen = np.zeros((2, 0), dtype="float32"), 0
        for batch in batches:
            if steps is not None and seen >= steps:
                break
            batch = batch[0] if isinstance(batch, tuple) else batch
            values = np.asarray(backend.to_numpy(getattr(batch, "value", batch))).astype("float32")
            if not np.isfinite(values).all():
                raise ValueError(f"{_where(self)}: adapt() data must be finite numbers (found NaN or inf)")
            if values.size:
                summary = _merged(_summary_of(values, self.epsilon), summary, self.epsilon)
            seen += 1
        if not summary.shape[1]:
            raise ValueError(f"{_where(self)}: adapt() received no data")
        self.bin_boundaries = _compressed(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"{_where(self)}: no bin boundaries yet: pass bin_boundaries to the constructor "
                             f"or call adapt(data) first")
        x = _raw(inputs)
        xp = backend.get_array_module(x)
        compare = backend.floatx()
        edges = backend.to_device(np.asarray(self.bin_boundaries, dtype=compare), xp)
        ids = xp.searchsorted(edges, x.astype(compare), side="right").astype("int32")
        return _encode(ids, self.output_mode, len(self.bin_boundaries) + 1, self.output_dtype)

    def compute_output_shape(self, input_shape):
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return _encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self):
        config = {key: value for key, value in super().get_config().items() if key != "trainable"}
        return {**config, "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": False}

    @classmethod
    def from_config(cls, config):
        """Rebuild from ``get_config()``; an adapted layer's config holds both ``num_bins`` and
        the learned ``bin_boundaries``, which are set after construction (as Keras does).

        Args:
            config (dict): as ``get_config`` gives it (Keras 3's keys).
        """
        config = dict(config)
        learned = None
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            learned = config.pop("bin_boundaries")
        layer = super().from_config(config)
        if learned is not None:
            layer.bin_boundaries = layer._boundaries(learned)
        return layer
