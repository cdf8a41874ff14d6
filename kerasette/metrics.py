"""Metrics: stateful running averages (``update_state`` / ``result`` / ``reset_state``).

Totals are kept as arrays on the device and only turned into Python floats
by ``result()``, so updating a metric never forces a device-to-host copy.
"""
from . import backend
from . import losses as _losses
from .losses import align_label_rank
from .naming import to_snake_case

__all__ = ["Metric", "Mean", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "TopKCategoricalAccuracy", "get", "serialize", "deserialize", "resolve",
           # the Keras 3 catalogue (below the first part)
           "Sum", "MeanMetricWrapper", "SparseTopKCategoricalAccuracy", "Precision", "Recall", "AUC",
           "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives", "PrecisionAtRecall",
           "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity", "F1Score",
           "FBetaScore", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "RootMeanSquaredError", "LogCoshError", "CosineSimilarity", "R2Score", "PearsonCorrelation",
           "ConcordanceCorrelation", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
           "CategoricalHinge", "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU"]


class Metric:
    """Base of every metric: state kept across batches, ``update_state`` / ``result`` /
    ``reset_state``, as Keras 3's ``keras.metrics.Metric``.

    A custom metric makes its state in ``__init__`` with ``add_variable`` (after calling
    ``super().__init__``: the base constructor does not call ``reset_state``), accumulates
    in ``update_state`` with ``Variable.assign_add``, and returns the value in ``result``;
    the default ``reset_state`` sets every variable to zeros.

    The built-in metrics use a shorter protocol: they define
    ``values(y_true, y_pred) -> per-sample array`` and the metric is its running mean
    (kept as device arrays, read once by ``result``).

    Args:
        dtype (str | None): the dtype of the metric's variables (default ``floatx()``).
        name (str | None): the name in the logs (default: the class name in snake_case,
            e.g. ``binary_true_positives``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Mean()
        >>> m.update_state(np.array([1.0, 3.0]))
        >>> float(m.result())
        2.0
        >>> m.reset_state()
        >>> float(m.result())
        0.0
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.__dict__["_variables"] = []       # exists before a subclass's __init__ runs
        return obj

    def __init__(self, dtype=None, name=None):
        self.name = name or to_snake_case(type(self).__name__)
        self._dtype = str(dtype or backend.floatx())

    @property
    def dtype(self):
        """The dtype name of the metric's variables (``"float32"``)."""
        return self._dtype

    # -- state -----------------------------------------------------------------
    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Create a non-trainable state Variable owned by the metric (reset by ``reset_state``).

        Args:
            shape (tuple[int, ...]): the variable's shape (``()`` for a scalar).
            initializer (str | Initializer | callable): e.g. ``"zeros"``.
            dtype (str | None): default the metric's dtype.
            aggregation (str): how replicas combine it: ``"sum"`` (default), ``"mean"``,
                ``"none"`` or ``"only_first_replica"``.
            name (str | None): the variable's name.

        Examples:
            >>> import kerasette as keras
            >>> class Count(keras.metrics.Metric):
            ...     def __init__(self, **kwargs):
            ...         super().__init__(**kwargs)
            ...         self.n = self.add_variable((), "zeros", name="n")
            ...     def update_state(self, values, sample_weight=None):
            ...         self.n.assign_add(float(len(values)))
            ...     def result(self):
            ...         return float(self.n.numpy())
            ...
            >>> m = Count()
            >>> m.update_state([1, 2, 3])
            >>> m.result()
            3.0
        """
        from .autograd.tensor import Variable
        var = Variable(initializer, shape=tuple(shape), dtype=dtype or self.dtype, trainable=False,
                       aggregation=aggregation, name=name)
        var.path = f"{self.name}/{var.name}"
        self._variables.append(var)
        return var

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """``add_variable`` with Keras's older argument order (zeros by default).

        Args:
            shape (tuple[int, ...]): the variable's shape (default ``()``).
            initializer (str | Initializer | callable | None): default ``"zeros"``.
            dtype (str | None): default the metric's dtype.
            name (str | None): the variable's name.

        Examples:
            >>> import kerasette as keras
            >>> m = keras.metrics.Metric(name="demo")
            >>> w = m.add_weight(shape=(2,), initializer="ones", name="w")
            >>> w.numpy().tolist()
            [1.0, 1.0]
        """
        return self.add_variable(shape, initializer if initializer is not None else "zeros",
                                 dtype=dtype, name=name)

    @property
    def variables(self):
        """The state Variables of this metric and of metrics held in its attributes."""
        out = list(self._variables)
        for m in self._submetrics():
            out.extend(v for v in m.variables if all(v is not w for w in out))
        return out

    def _submetrics(self):
        return [v for k, v in self.__dict__.items() if isinstance(v, Metric) and v is not self]

    def reset_state(self):
        """Zero every state variable (``fit`` calls this at each epoch start), and the
        running mean of the built-in protocol."""
        for v in self._variables:
            v.assign(backend.get_array_module(v.value).zeros(v.shape, dtype=v.dtype))
        if self.__dict__.get("_running_mean") or type(self).values is not Metric.values:
            self.total = 0.0
            self.count = 0.0
        for m in self._submetrics():
            m.reset_state()

    align_labels = True       # labels (n,) against outputs (n, 1), as the losses do

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: labels and predictions (Tensors or arrays), optional per-sample weights.

        Args:
            y_true (Tensor | array): the labels, ``(batch, ...)``.
            y_pred (Tensor | array): the predictions, ``(batch, ...)``.
            sample_weight (Tensor | array | None): ``(batch,)`` weights of each sample.

        Examples:
            >>> import kerasette as keras
            >>> m = keras.metrics.MeanSquaredError()
            >>> m.update_state(np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]]), sample_weight=np.array([1.0, 0.0]))
            >>> float(m.result())
            1.0
        """
        if type(self).values is Metric.values:
            raise NotImplementedError(f"{type(self).__name__}.update_state is not implemented")
        pred_mask = getattr(y_pred, "_keras_mask", None)     # e.g. after Embedding(mask_zero=True)
        y_true, y_pred = _raw(y_true), _raw(y_pred)
        if self.align_labels:
            y_true = align_label_rank(y_true, tuple(y_pred.shape))
        v = self.values(y_true, y_pred)
        total, count = self.__dict__.get("total", 0.0), self.__dict__.get("count", 0.0)
        self._running_mean = True
        sample_weight = _masked_weights(pred_mask, sample_weight, v, v.dtype)
        if sample_weight is not None:
            sw = _raw(sample_weight)
            sw = sw.reshape(sw.shape + (1,) * (v.ndim - sw.ndim))
            self.total = total + (v * sw).sum()
            self.count = count + (sw * (v * 0 + 1)).sum()
        else:
            self.total = total + v.sum()
            self.count = count + v.size

    def result(self):
        """The metric's value; for the built-in protocol the running mean so far, as a
        Python float (reads the device once)."""
        if type(self).values is Metric.values and not self.__dict__.get("_running_mean"):
            raise NotImplementedError(f"{type(self).__name__}.result is not implemented")
        total, count = self.__dict__.get("total", 0.0), self.__dict__.get("count", 0.0)
        return float(backend.to_numpy(total)) / max(float(backend.to_numpy(count)), 1e-12)

    def __call__(self, *args, **kwargs):
        """``update_state(*args, **kwargs)``, then ``result()``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def values(self, y_true, y_pred):
        """Per-sample values (raw arrays in, array out) whose mean is the metric.

        Args:
            y_true (array): the labels, ``(batch, ...)``.
            y_pred (array): the predictions, ``(batch, ...)``.
        """
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class _MeanMetric(Metric):
    """A running mean (Keras's ``Reduce`` / ``MeanMetricWrapper``): ``name`` comes first,
    and the state starts empty."""

    def __init__(self, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self._running_mean = True
        self.total = 0.0
        self.count = 0.0


class Mean(_MeanMetric):
    """Running mean of the values given to ``update_state(values)``.

    Args:
        name (str | None): default ``"mean"``.
        dtype (str | None): the metric's dtype (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Mean()
        >>> m.update_state(np.array([1, 3, 5, 7]), sample_weight=np.array([1, 1, 0, 0]))
        >>> round(float(m.result()), 4)
        2.0
    """

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (a scalar or an array; a batch loss, say).

        Args:
            values (Tensor | array | float): the values to average.
            sample_weight (float | array | None): one weight for all (a batch size, say) or
                one per value.
        """
        v = _raw(values)
        if sample_weight is not None:       # weighted mean (the loss tracker weights by batch size)
            sw = _raw(sample_weight)
            self.total = self.total + (v * sw).sum()
            self.count = self.count + (v * 0 + sw).sum()
            return
        n = getattr(v, "size", 1)
        self.total = self.total + (v.sum() if getattr(v, "ndim", 0) else v)
        self.count = self.count + n


class Accuracy(_MeanMetric):
    """Fraction of predictions exactly equal to the labels (element by element).

    Args:
        name (str | None): default ``"accuracy"``.
        dtype (str | None): reported as the metric's ``dtype`` (default ``floatx()``); the
            running mean is kept in the dtype of the per-sample values (float32).

    Examples:
        >>> from kerasette import metrics
        >>> m = metrics.Accuracy()
        >>> m.update_state(np.array([1, 2, 3]), np.array([1, 2, 0]))
        >>> round(m.result(), 4)
        0.6667
    """

    def values(self, y_true, y_pred):
        return (y_true == y_pred).astype("float32")


class BinaryAccuracy(_MeanMetric):
    """Fraction of predictions on the right side of ``threshold`` (0.5) for 0/1 labels.

    Args:
        name (str): default ``"binary_accuracy"``.
        dtype (str | None): accepted for Keras compatibility.
        threshold (float): predictions above it count as 1 (default 0.5).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.BinaryAccuracy()
        >>> m.update_state(np.array([[1], [1], [0], [0]]), np.array([[0.98], [1], [0], [0.6]]))
        >>> round(float(m.result()), 4)
        0.75
    """
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return ((y_pred > self.threshold) == (y_true > 0.5)).astype("float32")

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(_MeanMetric):
    """Arg-max of predictions equals arg-max of one-hot labels.

    Labels and predictions are ``(batch, ..., classes)``.

    Args:
        name (str | None): default ``"categorical_accuracy"``.
        dtype (str | None): reported as the metric's ``dtype`` (default ``floatx()``); the
            running mean is kept in the dtype of the per-sample values (float32).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.CategoricalAccuracy()
        >>> m.update_state(np.array([[0, 0, 1], [0, 1, 0]]), np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        >>> round(float(m.result()), 4)
        0.5
    """

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype("float32")


class SparseCategoricalAccuracy(_MeanMetric):
    """Arg-max of predictions equals the integer label.

    Labels are class ids ``(batch, ...)`` (or ``(batch, ..., 1)``), predictions
    ``(batch, ..., classes)``.

    Args:
        name (str | None): default ``"sparse_categorical_accuracy"``.
        dtype (str | None): reported as the metric's ``dtype`` (default ``floatx()``); the
            running mean is kept in the dtype of the per-sample values (float32).

    Examples:
        >>> from kerasette import metrics
        >>> m = metrics.SparseCategoricalAccuracy()
        >>> m.update_state(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]))
        >>> m.result()
        0.5
    """

    align_labels = False

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return (y_pred.argmax(axis=-1) == y_true).astype("float32")


class TopKCategoricalAccuracy(_MeanMetric):
    """Fraction of samples whose one-hot label is among the ``k`` highest predictions.

    Args:
        k (int): how many of the highest predictions count (default 5).
        name (str): default ``"top_k_categorical_accuracy"``.
        dtype (str | None): accepted for Keras compatibility.

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.TopKCategoricalAccuracy(k=1)
        >>> m.update_state(np.array([[0, 0, 1], [0, 1, 0]]), np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
        >>> round(float(m.result()), 4)
        0.5
    """
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = k
        super().__init__(name=name, dtype=dtype)

    def get_config(self):
        return {**super().get_config(), "k": self.k}

    def values(self, y_true, y_pred):
        target = y_true.argmax(axis=-1)
        score = backend.get_array_module(y_pred).take_along_axis(y_pred, target[..., None], axis=-1)
        return ((y_pred > score).sum(axis=-1) < self.k).astype("float32")


class MeanSquaredError(_MeanMetric):
    """Running mean of ``mean((y_pred - y_true)**2, axis=-1)``.

    Args:
        name (str | None): default ``"mean_squared_error"``.
        dtype (str | None): reported as the metric's ``dtype`` (default ``floatx()``); the
            running mean is kept in the dtype of the per-sample values (the predictions' dtype).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.MeanSquaredError()
        >>> m.update_state(np.array([[0, 1], [0, 0]]), np.array([[1, 1], [0, 0]]))
        >>> round(float(m.result()), 4)
        0.25
    """
    def values(self, y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean(axis=-1)


class MeanAbsoluteError(_MeanMetric):
    """Running mean of ``mean(|y_pred - y_true|, axis=-1)``.

    Args:
        name (str | None): default ``"mean_absolute_error"``.
        dtype (str | None): reported as the metric's ``dtype`` (default ``floatx()``); the
            running mean is kept in the dtype of the per-sample values (the predictions' dtype).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.MeanAbsoluteError()
        >>> m.update_state(np.array([[0, 1], [0, 0]]), np.array([[1, 1], [0, 0]]))
        >>> round(float(m.result()), 4)
        0.25
    """
    def values(self, y_true, y_pred):
        xp = backend.get_array_module(y_pred)
        return xp.abs(y_pred - y_true).mean(axis=-1)


def _raw(x):
    """A Tensor's array; lists and tuples (as Keras takes them) as NumPy arrays."""
    x = getattr(x, "value", x)
    return _np.asarray(x) if isinstance(x, (list, tuple)) else x


_BY_NAME = {
    "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
}


def get(identifier):
    """A Metric from a name, a Metric, or a function ``fn(y_true, y_pred)``.

    Args:
        identifier (str | Metric | callable): e.g. ``"mae"``, ``keras.metrics.Mean()``, or a
            function returning per-sample values.

    Examples:
        >>> import kerasette as keras
        >>> type(keras.metrics.get("mae")).__name__
        'MeanAbsoluteError'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier](name=identifier)
        from . import registry
        found = registry.lookup(identifier)         # registered / custom_objects / scope
        if found is None:                           # a metric function's name ("log_cosh")
            found = registry.builtin(identifier, ("metric",), want="function")
        if found is None:
            raise ValueError(f"Unknown metric: {identifier!r}. Known: {sorted(k for k in _BY_NAME if k.islower())} "
                             f"and the class names; a custom one "
                             f"must be registered with @keras.saving.register_keras_serializable() "
                             f"or passed in custom_objects")
        return get(found() if isinstance(found, type) else found)
    if callable(identifier):
        return _FunctionMetric(identifier)
    raise TypeError(f"Could not interpret metric: {identifier!r}")


def resolve(identifier, loss, output_shape):
    """Resolve ``"accuracy"`` to the binary / categorical / sparse form the loss implies,
    as Keras does; other identifiers go through ``get``.

    Args:
        identifier (str | Metric | callable): what ``compile(metrics=...)`` received.
        loss (Loss | None): the output's loss (decides which accuracy ``"accuracy"`` means).
        output_shape (tuple | None): the output's shape (a last axis of 1 means binary).

    Examples:
        >>> import kerasette as keras
        >>> type(keras.metrics.resolve("accuracy", keras.losses.SparseCategoricalCrossentropy(), (None, 10))).__name__
        'SparseCategoricalAccuracy'
        >>> type(keras.metrics.resolve("accuracy", keras.losses.MeanSquaredError(), (None, 1))).__name__
        'BinaryAccuracy'
    """
    if identifier in ("accuracy", "acc"):
        name = type(loss).__name__
        if name == "SparseCategoricalCrossentropy":
            cls = SparseCategoricalAccuracy
        elif name == "CategoricalCrossentropy":
            cls = CategoricalAccuracy
        elif name == "BinaryCrossentropy" or (output_shape and output_shape[-1] == 1):
            cls = BinaryAccuracy
        else:
            cls = CategoricalAccuracy if output_shape and (output_shape[-1] or 0) > 1 else Accuracy
        return cls(name=identifier)
    return get(identifier)


class _FunctionMetric(_MeanMetric):
    def __init__(self, fn):
        self.fn = fn
        super().__init__(name=getattr(fn, "__name__", "metric"))

    def values(self, y_true, y_pred):
        from .autograd.tensor import Tensor
        out = self.fn(Tensor(y_true), Tensor(y_pred))
        return _raw(out)


def serialize(metric):
    """``{"module", "class_name", "config", "registered_name"}`` of a Metric (a function:
    its registered name), as Keras writes it; names pass through.

    Args:
        metric (Metric | callable | str): the metric to describe.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.serialize(keras.metrics.Mean(name="m"))["class_name"]
        'Mean'
    """
    from . import registry
    if isinstance(metric, str):
        return metric
    return registry.serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """The metric a ``serialize`` config describes (a view of ``kerasette.registry``: built-in,
    registered, passed in ``custom_objects`` or in an active ``custom_object_scope``).

    Args:
        config (dict | str): the dict (or name) ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.deserialize(keras.metrics.serialize(keras.metrics.Mean(name="m")))
        >>> type(m).__name__, m.name
        ('Mean', 'm')
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("metric",))


# ===========================================================================================
# The Keras 3 catalogue: reductions, accuracy, regression, probabilistic, hinge, confusion
# matrix (Precision / Recall / AUC / ...), F-scores, R2 and IoU. Each keeps its state in
# float32 Variables made with ``add_variable`` and updates them with array code of the
# inputs' own module (NumPy, CuPy): no per-sample Python loop and no device-to-host read in
# ``update_state``; ``result`` reads the device once and returns a Python float (a NumPy
# array for per-class / per-threshold results).
# ===========================================================================================

import numpy as _np

NEG_INF = -1e10        # what Keras gives the predictions outside the top k


def _arr(x, like=None, dtype=None):
    """A raw array (Tensors unwrapped, lists and scalars as NumPy), on ``like``'s device."""
    x = _raw(x)
    if not backend.is_array(x):
        x = _np.asarray(x)
    if like is not None:
        mod = backend.get_array_module(like)
        if backend.get_array_module(x) is not mod:
            x = backend.to_device(x, mod)
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    return x


def _inputs(y_true, y_pred, dtype=None):
    """``(xp, y_true, y_pred)`` as arrays of the predictions' module (``dtype`` if given)."""
    y_pred = _arr(y_pred, dtype=dtype)
    y_true = _arr(y_true, like=y_pred, dtype=dtype)
    return backend.get_array_module(y_pred), y_true, y_pred


def _same_rank(x1, x2, expand_rank_1=True):
    """Keras's ``squeeze_or_expand_to_same_rank``: ranks one apart meet by dropping (or,
    for rank 1, adding) a trailing axis of size 1."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _no_nan(num, den):
    """``num / den``, 0 where ``den`` is 0 (Keras's ``divide_no_nan``)."""
    xp = backend.get_array_module(num, den)
    zero = den == 0
    return xp.where(zero, 0, num / xp.where(zero, 1, den)).astype(num.dtype)


def _out(x):
    """A result as Python: a float for a scalar, else a NumPy array (one device read)."""
    x = backend.to_numpy(_raw(x))
    return float(x) if x.ndim == 0 else _np.array(x)


def _samplewise(values, sample_weight, reduce, dtype):
    """Keras's ``reduce_to_samplewise_values``: per-sample values (and weights) of a batch."""
    xp = backend.get_array_module(values)
    values = values.astype(dtype, copy=False)
    if sample_weight is not None:
        sw = _arr(sample_weight, like=values, dtype=dtype)
        values, sw = _same_rank(values, sw)
        wn, vn = sw.ndim, values.ndim
        if vn > wn:
            values = reduce(values, axis=tuple(range(wn, vn)))
        sw = xp.broadcast_to(sw, values.shape)
        values = values * sw
        if wn > 1:
            sw = reduce(sw, axis=tuple(range(1, wn)))
        sample_weight = sw
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def _mean_fn(xp):
    return lambda a, axis: xp.mean(a, axis=axis)


def _sum_fn(xp):
    return lambda a, axis: xp.sum(a, axis=axis)


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state``, as ``keras.metrics.Sum``.

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Sum()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        4.0

    Args:
        name (str): default ``"sum"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        """Add ``values`` (summed over every axis), each times its weight.

        Args:
            values (Tensor | array | list | float): the values to add.
            sample_weight (Tensor | array | list | float | None): weights broadcast against
                ``values`` (Keras's rules: a trailing axis of 1 is squeezed or added).
        """
        v = _arr(values, like=self.total.value)
        xp = backend.get_array_module(v)
        v, _ = _samplewise(v, sample_weight, _sum_fn(xp), self.dtype)
        self.total.assign_add(v.sum())

    def result(self):
        """The sum so far, a Python float."""
        return _out(self.total)


class _MeanState(Metric):
    """A weighted running mean kept in two Variables, ``total`` and ``count``, with
    Keras's ``Mean`` rules for values of any rank and for sample weights."""

    def __init__(self, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def _add(self, values, sample_weight=None):
        xp = backend.get_array_module(values)
        values, sw = _samplewise(values, sample_weight, _mean_fn(xp), self.dtype)
        self.total.assign_add(values.sum())
        if sw is not None:
            n = sw.sum()
        else:
            n = _np.asarray(values.shape[0] if values.ndim else 1, dtype=self.dtype)
        self.count.assign_add(n)

    def _mean(self):
        return _no_nan(self.total.value, self.count.value)

    def result(self):
        """The weighted mean so far, a Python float (0 before any update)."""
        return _out(self._mean())



def _masked_weights(mask, sample_weight, values, dtype):
    """``sample_weight`` times a boolean ``mask`` (0 / 1 weights), ranks brought together
    first: Keras's rule for the predictions' mask in a mean metric. No mask: ``sample_weight``
    as given; no weights: the mask's."""
    if mask is None:
        return sample_weight
    mask = _arr(mask, like=values, dtype=dtype)
    if sample_weight is None:
        return mask
    mask, sw = _same_rank(mask, _arr(sample_weight, like=values, dtype=dtype))
    return sw * mask


class MeanMetricWrapper(_MeanState):
    """The running (weighted) mean of ``fn(y_true, y_pred, **kwargs)``, as
    ``keras.metrics.MeanMetricWrapper``: ``fn`` returns a value per sample (or per
    element: values of a higher rank are averaged per sample first).

    Examples:
        >>> import kerasette as keras
        >>> from kerasette import ops
        >>> m = keras.metrics.MeanMetricWrapper(lambda t, p: ops.abs(t - p), name="abs_err")
        >>> m.update_state([[1.0], [2.0]], [[1.5], [2.0]])
        >>> m.result()
        0.25

    Args:
        fn (callable): ``fn(y_true, y_pred, **kwargs)`` on Tensors (``kerasette.ops``), returning
            per-sample values.
        name (str | None): the name in the logs.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        **kwargs: more keyword arguments for ``fn``.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def _values(self, y_true, y_pred):
        from .autograd.tensor import Tensor
        return _arr(self._fn(Tensor(y_true), Tensor(y_pred), **self._fn_kwargs))

    def update_state(self, y_true, y_pred, sample_weight=None):
        pred_mask = getattr(y_pred, "_keras_mask", None)     # e.g. after Embedding(mask_zero=True)
        xp, y_true, y_pred = _inputs(y_true, y_pred)
        values = _arr(self._values(y_true, y_pred))
        mask = self.__dict__.pop("_values_mask", None)
        if sample_weight is not None:   # Keras: a values mask only scales given weights
            sample_weight = _masked_weights(mask, sample_weight, values, self.dtype)
        sample_weight = _masked_weights(pred_mask, sample_weight, values, self.dtype)
        self._add(values, sample_weight)

    def get_config(self):
        from . import registry
        return {**Metric.get_config(self), "fn": registry.serialize_keras_object(self._fn),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        if "fn" in config:
            from . import registry
            config = dict(config)
            fn = config["fn"]
            if isinstance(fn, dict):
                fn = registry.deserialize_keras_object(fn)
            elif isinstance(fn, str):
                fn = registry.resolve(fn, ("metric", "loss", "activation"))
            config["fn"] = fn
        return cls(**config)


class _BuiltinWrapper(MeanMetricWrapper):
    """A built-in mean metric: array code in ``_values``; its config is its arguments."""

    _args = ()

    def __init__(self, name=None, dtype=None):
        MeanMetricWrapper.__init__(self, fn=None, name=name, dtype=dtype)

    def get_config(self):
        return {**Metric.get_config(self), **{k: getattr(self, k) for k in self._args}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SparseTopKCategoricalAccuracy(_BuiltinWrapper):
    """Fraction of samples whose integer label is among the ``k`` highest predictions
    (ties with the k-th score count as in), as ``keras.metrics.SparseTopKCategoricalAccuracy``.

    Args:
        k (int): how many of the highest predictions count (default 5).
        name (str): default ``"sparse_top_k_categorical_accuracy"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        from_sorted_ids (bool): ``y_pred`` holds class ids sorted by score (the first ``k``
            are compared with the label) instead of scores (default False).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
        >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        >>> round(float(m.result()), 4)
        0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name=name, dtype=dtype)
        self.k, self.from_sorted_ids = k, from_sorted_ids

    def get_config(self):
        config = {**Metric.get_config(self), "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config

    def _values(self, y_true, y_pred):
        xp = backend.get_array_module(y_pred)
        shape = y_true.shape
        if y_pred.ndim > 2:
            y_pred = y_pred.reshape(-1, y_pred.shape[-1])
        labels = y_true.reshape(-1)
        if self.from_sorted_ids:
            hit = (labels[:, None] == y_pred[:, :self.k]).any(axis=1)
        else:
            labels = labels.astype("int64")
            score = xp.take_along_axis(y_pred, labels[:, None], axis=-1)
            hit = (y_pred > score).sum(axis=-1) < self.k
        hit = hit.astype(self.dtype)
        return hit.reshape(shape) if len(shape) > 1 else hit


# -- regression ------------------------------------------------------------------------------

class MeanAbsolutePercentageError(_BuiltinWrapper):
    """Running mean of ``100 * mean(|y_true - y_pred| / max(|y_true|, epsilon), axis=-1)``.

    Args:
        name (str): default ``"mean_absolute_percentage_error"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.MeanAbsolutePercentageError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(float(m.result()), 4)
        250000000.0
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.mean_absolute_percentage_error, y_true, y_pred)


class MeanSquaredLogarithmicError(_BuiltinWrapper):
    """Running mean of ``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, -1)``.

    Args:
        name (str): default ``"mean_squared_logarithmic_error"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.MeanSquaredLogarithmicError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(float(m.result()), 4)
        0.1201
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.mean_squared_logarithmic_error, y_true, y_pred)


class RootMeanSquaredError(_BuiltinWrapper):
    """Square root of the running (weighted) mean of ``(y_pred - y_true)**2``.

    Args:
        name (str): default ``"root_mean_squared_error"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.RootMeanSquaredError()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(float(m.result()), 4)
        0.5
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        # the squared-error sums are not the metric: keep them off ``total``/``count``, which
        # the distributed log reduction reads as a mean
        self._sq_total, self._sq_count = self.__dict__.pop("total"), self.__dict__.pop("count")

    def _add(self, values, sample_weight=None):
        self.total, self.count = self._sq_total, self._sq_count
        try:
            super()._add(values, sample_weight)
        finally:
            del self.total, self.count

    def _values(self, y_true, y_pred):
        y_true, y_pred = _same_rank(y_true.astype(self.dtype), y_pred.astype(self.dtype))
        return (y_pred - y_true) ** 2

    def result(self):
        """The root of the mean squared error so far, a Python float."""
        xp = backend.get_array_module(self._sq_total.value)
        return _out(xp.sqrt(_no_nan(self._sq_total.value, self._sq_count.value)))


class LogCoshError(_BuiltinWrapper):
    """Running mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)`` (computed stably).

    Args:
        name (str): default ``"logcosh"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.LogCoshError()
        >>> m.update_state([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
        >>> round(float(m.result()), 4)
        0.1084
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.log_cosh, y_true, y_pred)


class CosineSimilarity(_BuiltinWrapper):
    """Running mean of the cosine similarity of ``y_true`` and ``y_pred`` along ``axis``.

    Args:
        name (str): default ``"cosine_similarity"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        axis (int): the axis the vectors lie along (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.CosineSimilarity(axis=1)
        >>> m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
        >>> round(float(m.result()), 4)
        0.5
    """

    _args = ("axis",)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.axis = axis

    def _values(self, y_true, y_pred):
        return -_loss_values(_losses.cosine_similarity, y_true, y_pred, axis=self.axis)


class PearsonCorrelation(_BuiltinWrapper):
    """Running mean of the Pearson correlation of ``y_true`` and ``y_pred`` along ``axis``
    (one coefficient per sample), as ``keras.metrics.PearsonCorrelation``.

    Args:
        name (str): default ``"pearson_correlation"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        axis (int): the axis the correlation runs along (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.PearsonCorrelation()
        >>> m.update_state([[0.0, 1.0, 2.0, 3.0]], [[0.1, 1.2, 1.9, 3.1]])
        >>> round(float(m.result()), 4)
        0.9955
    """

    _args = ("axis",)

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.axis = axis

    def _values(self, y_true, y_pred):
        y_true, y_pred = _same_rank(y_true.astype(y_pred.dtype), y_pred)
        a = y_true - y_true.mean(axis=self.axis, keepdims=True)
        b = y_pred - y_pred.mean(axis=self.axis, keepdims=True)
        a = a / a.std(axis=self.axis, keepdims=True)
        b = b / b.std(axis=self.axis, keepdims=True)
        return (a * b).mean(axis=self.axis)


class ConcordanceCorrelation(_BuiltinWrapper):
    """Running mean of Lin's concordance correlation of ``y_true`` and ``y_pred`` along
    ``axis`` (one per sample), as ``keras.metrics.ConcordanceCorrelation``. As in Keras 3,
    the covariance term centres ``y_true`` on the mean of ``y_pred``.

    Args:
        name (str): default ``"concordance_correlation"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        axis (int): the axis the correlation runs along (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.ConcordanceCorrelation()
        >>> m.update_state([[0.0, 1.0, 2.0, 3.0]], [[0.1, 1.2, 1.9, 3.1]])
        >>> round(float(m.result()), 4)
        0.9928
    """

    _args = ("axis",)

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.axis = axis

    def _values(self, y_true, y_pred):
        y_true, y_pred = _same_rank(y_true.astype(y_pred.dtype), y_pred)
        ax = self.axis
        mt, mp = y_true.mean(axis=ax, keepdims=True), y_pred.mean(axis=ax, keepdims=True)
        vt, vp = (y_true - mt).var(axis=ax, keepdims=True), (y_pred - mp).var(axis=ax, keepdims=True)
        covar = (y_true - mp) * (y_pred - mp)
        norm = vt + vp + (mt - mp) ** 2
        return (2 * covar / (norm + backend.epsilon())).mean(axis=ax)


# -- probabilistic -----------------------------------------------------------------------------

def _loss_values(fn, y_true, y_pred, **kwargs):
    """The per-sample values of the loss function ``fn`` on raw arrays, as a raw array: the
    metrics that are losses (hinge, Poisson, ...) take their formula from ``kerasette.losses``."""
    from .autograd.tensor import Tensor
    return _raw(fn(Tensor(y_true), Tensor(y_pred), **kwargs))


def _clip01(xp, p):
    eps = backend.epsilon()
    return xp.clip(p, eps, 1.0 - eps)


class BinaryCrossentropy(_BuiltinWrapper):
    """Running mean of the binary cross-entropy (averaged over the last axis).

    Args:
        name (str): default ``"binary_crossentropy"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        from_logits (bool): ``y_pred`` are logits rather than probabilities (default False).
        label_smoothing (float): labels move towards 0.5 by this much (default 0).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.BinaryCrossentropy()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(m.result()), 4)
        0.8149
    """

    _args = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(name=name, dtype=dtype)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def _values(self, y_true, y_pred):
        xp = backend.get_array_module(y_pred)
        t = y_true.astype(y_pred.dtype)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            x = y_pred
            bce = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        else:
            p = _clip01(xp, y_pred)
            bce = -(t * xp.log(p) + (1.0 - t) * xp.log(1.0 - p))
        return bce.mean(axis=-1)


def _log_probs(xp, y_pred, from_logits, axis):
    if from_logits:
        z = y_pred - y_pred.max(axis=axis, keepdims=True)
        return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
    p = y_pred / y_pred.sum(axis=axis, keepdims=True)
    return xp.log(_clip01(xp, p))


class CategoricalCrossentropy(_BuiltinWrapper):
    """Running mean of the categorical cross-entropy of one-hot labels.

    Args:
        name (str): default ``"categorical_crossentropy"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        from_logits (bool): ``y_pred`` are logits rather than probabilities (default False).
        label_smoothing (float): labels move towards ``1 / num_classes`` by this much (default 0).
        axis (int): the class axis (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.CategoricalCrossentropy()
        >>> m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> round(float(m.result()), 4)
        1.1769
    """

    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def _values(self, y_true, y_pred):
        xp = backend.get_array_module(y_pred)
        t = y_true.astype(y_pred.dtype)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / t.shape[-1]
        return -(t * _log_probs(xp, y_pred, self.from_logits, self.axis)).sum(axis=self.axis)


class SparseCategoricalCrossentropy(_BuiltinWrapper):
    """Running mean of the categorical cross-entropy of integer labels.

    Args:
        name (str): default ``"sparse_categorical_crossentropy"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        from_logits (bool): ``y_pred`` are logits rather than probabilities (default False).
        ignore_class (int | None): a label whose entries count 0 (and, when sample weights are
            given, weigh nothing), as Keras.
        axis (int): the class axis (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.SparseCategoricalCrossentropy()
        >>> m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> round(float(m.result()), 4)
        1.1769
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    _args = ("from_logits", "ignore_class", "axis")

    def _values(self, y_true, y_pred):
        xp = backend.get_array_module(y_pred)
        if y_true.ndim == y_pred.ndim and y_true.shape[self.axis] == 1:
            y_true = xp.squeeze(y_true, axis=self.axis)
        valid = None
        if self.ignore_class is not None:
            valid = y_true != self.ignore_class
            y_true = xp.where(valid, y_true, 0)
        logp = xp.moveaxis(_log_probs(xp, y_pred, self.from_logits, self.axis), self.axis, -1)
        labels = y_true.astype("int64")[..., None]
        out = -xp.take_along_axis(logp, labels, axis=-1)[..., 0]
        if valid is not None:
            out = xp.where(valid, out, 0).astype(out.dtype)
            self._values_mask = valid
        return out


class KLDivergence(_BuiltinWrapper):
    """Running mean of ``sum(y_true * log(y_true / y_pred), axis=-1)`` (both clipped to
    ``[epsilon, 1]``).

    Args:
        name (str): default ``"kl_divergence"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.KLDivergence()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(m.result()), 4)
        0.4581
    """

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.kl_divergence, y_true, y_pred)


class Poisson(_BuiltinWrapper):
    """Running mean of ``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``.

    Args:
        name (str): default ``"poisson"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Poisson()
        >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        >>> round(float(m.result()), 4)
        0.5
    """

    def __init__(self, name="poisson", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.poisson, y_true, y_pred)


# -- hinge ------------------------------------------------------------------------------------

class Hinge(_BuiltinWrapper):
    """Running mean of ``mean(max(1 - y_true * y_pred, 0), axis=-1)`` (0/1 labels taken as -1/1).

    Args:
        name (str): default ``"hinge"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Hinge()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(m.result()), 4)
        1.3
    """

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.hinge, y_true, y_pred)


class SquaredHinge(_BuiltinWrapper):
    """Running mean of ``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` (0/1 labels taken as -1/1).

    Args:
        name (str): default ``"squared_hinge"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.SquaredHinge()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(m.result()), 4)
        1.86
    """

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.squared_hinge, y_true, y_pred)


class CategoricalHinge(_BuiltinWrapper):
    """Running mean of ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.

    Args:
        name (str): default ``"categorical_hinge"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.CategoricalHinge()
        >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        >>> round(float(m.result()), 4)
        1.4
    """

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def _values(self, y_true, y_pred):
        return _loss_values(_losses.categorical_hinge, y_true, y_pred)


# -- confusion-matrix metrics ----------------------------------------------------------------

def _check_thresholds(thresholds):
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")


def _init_thresholds(thresholds, default):
    """The thresholds as a list (``default`` when None); given ones must lie in [0, 1]."""
    if thresholds is None:
        return [default]
    out = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    _check_thresholds(out)
    return [float(t) for t in out]


def _top_k_only(xp, x, k):
    """``x`` with all but the ``k`` highest entries of the last axis set to ``NEG_INF``."""
    order = xp.argsort(-x, axis=-1, kind="stable") if xp is _np else xp.argsort(-x, axis=-1)
    rank = xp.argsort(order, axis=-1)
    keep = (rank < k).astype(x.dtype)
    return x * keep + NEG_INF * (1 - keep)


def _update_confusion(variables, y_true, y_pred, thresholds, top_k=None, class_id=None,
                      sample_weight=None, multi_label=False, label_weights=None):
    """Add a batch's weighted true/false positive/negative counts at each threshold
    (``y_pred > threshold`` is a positive; any non-zero label is positive) to the Variables
    in ``variables`` (keys ``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``), as Keras's
    ``update_confusion_matrix_variables``; one comparison of all thresholds at once."""
    dtype = next(iter(variables.values())).dtype
    xp, y_true, y_pred = _inputs(y_true, y_pred, dtype=dtype)
    y_pred, y_true = _same_rank(y_pred, y_true)
    sw = None
    if sample_weight is not None:
        sw = _arr(sample_weight, like=y_pred, dtype=dtype)[..., None]
        _, sw = _same_rank(y_true, sw, expand_rank_1=False)
    if top_k is not None:
        y_pred = _top_k_only(xp, y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    th = xp.asarray(_np.asarray(thresholds, dtype=dtype))
    if not multi_label and len(thresholds) > 8:
        return _update_confusion_sorted(xp, variables, y_true, y_pred, th, sw, label_weights)
    if multi_label:
        pred, label, th = y_pred[None], (y_true != 0)[None], th.reshape(-1, 1, 1)
        flat = (1,) + tuple(y_pred.shape)
    else:
        pred, label, th = y_pred.reshape(1, -1), (y_true != 0).reshape(1, -1), th.reshape(-1, 1)
        flat = (1, -1)
    pred_pos = pred > th                                    # (thresholds, ...)
    weights = None
    if sw is not None:
        weights = xp.broadcast_to(sw, y_pred.shape).reshape(flat)
    if label_weights is not None and not multi_label:
        lw = xp.broadcast_to(_arr(label_weights, like=y_pred, dtype=dtype)[None], y_pred.shape).reshape(flat)
        weights = lw if weights is None else weights * lw
    pairs = {"tp": lambda: label & pred_pos, "fn": lambda: label & ~pred_pos,
             "fp": lambda: ~label & pred_pos, "tn": lambda: ~label & ~pred_pos}
    for key, var in variables.items():
        hit = pairs[key]()
        counts = hit.astype(dtype) if weights is None else xp.where(hit, weights, 0).astype(dtype)
        var.assign_add(counts.sum(axis=1))


def _update_confusion_sorted(xp, variables, y_true, y_pred, th, sw, label_weights):
    """The flattened (not multi-label) counts at many thresholds from one sort: memory and
    work O(n log n + thresholds) instead of a (thresholds, n) comparison. Sums run in float64
    so that ``total - cumulative`` keeps float32 accuracy."""
    dtype = next(iter(variables.values())).dtype
    p = y_pred.reshape(-1)
    label = (y_true != 0).reshape(-1)
    w = None
    if sw is not None:
        w = xp.broadcast_to(sw, y_pred.shape).reshape(-1)
    if label_weights is not None:
        lw = xp.broadcast_to(_arr(label_weights, like=y_pred, dtype=dtype)[None], y_pred.shape).reshape(-1)
        w = lw if w is None else w * lw
    w = xp.ones(p.shape, dtype="float64") if w is None else w.astype("float64")
    order = xp.argsort(p)
    p, label, w = p[order], label[order], w[order]
    zero = xp.zeros((1,), dtype="float64")
    cum_pos = xp.concatenate([zero, xp.cumsum(xp.where(label, w, 0.0))])
    cum_neg = xp.concatenate([zero, xp.cumsum(xp.where(label, 0.0, w))])
    below = xp.searchsorted(p, th, side="right")          # predictions <= each threshold
    fn, tn = cum_pos[below], cum_neg[below]
    out = {"tp": cum_pos[-1] - fn, "fn": fn, "fp": cum_neg[-1] - tn, "tn": tn}
    for key, var in variables.items():
        var.assign_add(out[key].astype(dtype))


class _ConfusionCount(Metric):
    _key = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds = thresholds
        self.thresholds = _init_thresholds(thresholds, 0.5)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        _update_confusion({self._key: self.accumulator}, y_true, y_pred, self.thresholds,
                          sample_weight=sample_weight)

    def result(self):
        """The weighted count (one per threshold when several were given)."""
        v = self.accumulator.value
        return _out(v[0] if len(self.thresholds) == 1 else v)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}




class TruePositives(_ConfusionCount):
    """The weighted number of true positives (``y_pred > threshold``; labels are positive
    when non-zero), as ``keras.metrics.TruePositives``.

    Args:
        thresholds (float | list[float] | None): one threshold or several in [0, 1] (one count
            each); default 0.5.
        name (str | None): default ``"true_positives"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.TruePositives()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(float(m.result()), 4)
        2.0
    """
    _key = "tp"


class TrueNegatives(_ConfusionCount):
    """The weighted number of true negatives (``y_pred > threshold``; labels are positive
    when non-zero), as ``keras.metrics.TrueNegatives``.

    Args:
        thresholds (float | list[float] | None): one threshold or several in [0, 1] (one count
            each); default 0.5.
        name (str | None): default ``"true_negatives"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.TrueNegatives()
        >>> m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
        >>> round(float(m.result()), 4)
        2.0
    """
    _key = "tn"


class FalsePositives(_ConfusionCount):
    """The weighted number of false positives (``y_pred > threshold``; labels are positive
    when non-zero), as ``keras.metrics.FalsePositives``.

    Args:
        thresholds (float | list[float] | None): one threshold or several in [0, 1] (one count
            each); default 0.5.
        name (str | None): default ``"false_positives"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.FalsePositives()
        >>> m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
        >>> round(float(m.result()), 4)
        2.0
    """
    _key = "fp"


class FalseNegatives(_ConfusionCount):
    """The weighted number of false negatives (``y_pred > threshold``; labels are positive
    when non-zero), as ``keras.metrics.FalseNegatives``.

    Args:
        thresholds (float | list[float] | None): one threshold or several in [0, 1] (one count
            each); default 0.5.
        name (str | None): default ``"false_negatives"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.FalseNegatives()
        >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
        >>> round(float(m.result()), 4)
        2.0
    """
    _key = "fn"


class _PrecisionRecall(Metric):
    _other = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = _init_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        n = (len(self.thresholds),)
        self.true_positives = self.add_variable(n, "zeros", name="true_positives")
        other = "false_positives" if self._other == "fp" else "false_negatives"
        setattr(self, other, self.add_variable(n, "zeros", name=other))
        self._other_var = getattr(self, other)

    def update_state(self, y_true, y_pred, sample_weight=None):
        _update_confusion({"tp": self.true_positives, self._other: self._other_var}, y_true, y_pred,
                          self.thresholds, top_k=self.top_k, class_id=self.class_id,
                          sample_weight=sample_weight)

    def result(self):
        """The value so far (one per threshold when several were given)."""
        tp = self.true_positives.value
        v = _no_nan(tp, tp + self._other_var.value)
        return _out(v[0] if len(self.thresholds) == 1 else v)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``true_positives / (true_positives + false_positives)`` over all batches, as
    ``keras.metrics.Precision``.

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Precision()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(m.result(), 4)
        0.6667

    Args:
        thresholds (float | list[float] | None): predictions above a threshold count as
            positive; several give one precision each. Default 0.5 (with ``top_k``: none, only
            the top k count).
        top_k (int | None): only the ``k`` highest predictions of each sample count as positive.
        class_id (int | None): compute it for this class (column of ``y_pred``) only.
        name (str | None): default ``"precision"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
    """
    _other = "fp"


class Recall(_PrecisionRecall):
    """``true_positives / (true_positives + false_negatives)`` over all batches, as
    ``keras.metrics.Recall``.

    Args:
        thresholds (float | list[float] | None): predictions above a threshold count as
            positive; several give one recall each. Default 0.5 (with ``top_k``: none, only the
            top k count).
        top_k (int | None): only the ``k`` highest predictions of each sample count as positive.
        class_id (int | None): compute it for this class (column of ``y_pred``) only.
        name (str | None): default ``"recall"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.Recall()
        >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        >>> round(float(m.result()), 4)
        0.6667
    """
    _other = "fn"


class _AtConstraint(Metric):
    """State of the four counts at ``num_thresholds`` thresholds evenly spread over [0, 1]."""

    _value_name = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if value < 0 or value > 1:
            raise ValueError(f"Argument `{self._value_name}` must be in the range [0, 1]. "
                             f"Received: {self._value_name}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        super().__init__(dtype=dtype, name=name)
        setattr(self, self._value_name, value)
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = [0.0] + [(i + 1) * 1.0 / (num_thresholds - 1)
                                       for i in range(num_thresholds - 2)] + [1.0]
        n = (len(self.thresholds),)
        self.true_positives = self.add_variable(n, "zeros", name="true_positives")
        self.false_positives = self.add_variable(n, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(n, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(n, "zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        _update_confusion({"tp": self.true_positives, "tn": self.true_negatives,
                           "fp": self.false_positives, "fn": self.false_negatives},
                          y_true, y_pred, self.thresholds, class_id=self.class_id,
                          sample_weight=sample_weight)

    def _rates(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {"sensitivity": _no_nan(tp, tp + fn), "recall": _no_nan(tp, tp + fn),
                "specificity": _no_nan(tn, tn + fp), "precision": _no_nan(tp, tp + fp)}

    _constrained = _dependent = None

    def result(self):
        """The best dependent rate among the thresholds that meet the constraint, a float."""
        xp = backend.get_array_module(self.true_positives.value)
        r = self._rates()
        feasible = r[self._constrained] >= self.value
        return _out(xp.maximum(xp.where(feasible, r[self._dependent], 0).max(), 0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_name: self.value}




class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity among the thresholds where the specificity is at least ``specificity``, as
    ``keras.metrics.SensitivityAtSpecificity``.

    Args:
        specificity (float): the least specificity, in [0, 1].
        num_thresholds (int): how many thresholds, evenly spread over [0, 1] (default 200).
        class_id (int | None): compute it for this class (column of ``y_pred``) only.
        name (str | None): default ``"sensitivity_at_specificity"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.SensitivityAtSpecificity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> round(float(m.result()), 4)
        0.5
    """
    _value_name, _constrained, _dependent = "specificity", "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity among the thresholds where the sensitivity is at least ``sensitivity``, as
    ``keras.metrics.SpecificityAtSensitivity``.

    Args:
        sensitivity (float): the least sensitivity, in [0, 1].
        num_thresholds (int): how many thresholds, evenly spread over [0, 1] (default 200).
        class_id (int | None): compute it for this class (column of ``y_pred``) only.
        name (str | None): default ``"specificity_at_sensitivity"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.SpecificityAtSensitivity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
        >>> round(float(m.result()), 4)
        0.6667
    """
    _value_name, _constrained, _dependent = "sensitivity", "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)


class PrecisionAtRecall(_AtConstraint):
    """The best precision among the thresholds where the recall is at least ``recall``, as
    ``keras.metrics.PrecisionAtRecall``.

    Args:
        recall (float): the least recall, in [0, 1].
        num_thresholds (int): how many thresholds, evenly spread over [0, 1] (default 200).
        class_id (int | None): compute it for this class (column of ``y_pred``) only.
        name (str | None): default ``"precision_at_recall"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.PrecisionAtRecall(0.5)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> round(float(m.result()), 4)
        1.0
    """
    _value_name, _constrained, _dependent = "recall", "recall", "precision"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)


class RecallAtPrecision(_AtConstraint):
    """The best recall among the thresholds where the precision is at least ``precision``, as
    ``keras.metrics.RecallAtPrecision``.

    Args:
        precision (float): the least precision, in [0, 1].
        num_thresholds (int): how many thresholds, evenly spread over [0, 1] (default 200).
        class_id (int | None): compute it for this class (column of ``y_pred``) only.
        name (str | None): default ``"recall_at_precision"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.RecallAtPrecision(0.8)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> round(float(m.result()), 4)
        0.5
    """
    _value_name, _constrained, _dependent = "precision", "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from weighted counts at
    ``num_thresholds`` thresholds (a Riemann sum), as ``keras.metrics.AUC``.

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.AUC(num_thresholds=3)
        >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        >>> m.result()
        0.75

    Args:
        num_thresholds (int): thresholds evenly spread over [0, 1] (default 200; more than 1).
        curve (str): ``"ROC"`` (default), ``"PR"`` (precision-recall) or ``"PRGAIN"``.
        summation_method (str): ``"interpolation"`` (default; for PR the interpolation of
            Davis & Goadrich), ``"minoring"`` or ``"majoring"``.
        name (str | None): default ``"auc"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        thresholds (list[float] | None): explicit thresholds in [0, 1] (then ``num_thresholds``
            is their number + 2: 0 and 1 are added).
        multi_label (bool): a separate curve per label (column), averaged; else all labels are
            flattened into one curve (default False).
        num_labels (int | None): the number of labels with ``multi_label`` (else found from the
            first batch).
        label_weights (list[float] | None): weights of the labels: in the average with
            ``multi_label``, else in the counts.
        from_logits (bool): ``y_pred`` are logits (a sigmoid is applied) (default False).
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: ROC, PR, PRGAIN')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}". '
                             f"Expected one of: {list(_SUMMATIONS)}")
        super().__init__(dtype=dtype, name=name)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(float(t) for t in thresholds)
            _check_thresholds(thresholds)
            self.num_thresholds = len(thresholds) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        eps = backend.epsilon()
        self._thresholds = _np.array([0.0 - eps] + thresholds + [1.0 + eps])
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self.multi_label, self.num_labels = multi_label, num_labels
        self.label_weights = (None if label_weights is None
                              else _np.asarray(label_weights, dtype=self.dtype))
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds, ``-epsilon`` and ``1 + epsilon`` at the ends."""
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                                 f"{len(shape)}. Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            vshape = (self.num_thresholds, self._num_labels)
        else:
            vshape = (self.num_thresholds,)
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, n, self.add_variable(vshape, "zeros", name=n))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _arr(y_pred)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self._from_logits:
            xp = backend.get_array_module(y_pred)
            y_pred = 1.0 / (1.0 + xp.exp(-y_pred.astype(self.dtype)))
        _update_confusion({"tp": self.true_positives, "tn": self.true_negatives,
                           "fp": self.false_positives, "fn": self.false_negatives},
                          y_true, y_pred, self._thresholds, sample_weight=sample_weight,
                          multi_label=self.multi_label,
                          label_weights=None if self.multi_label else self.label_weights)

    def _by_label(self, xp, per_threshold):
        if not self.multi_label:
            return per_threshold.sum()
        by_label = per_threshold.sum(axis=0)
        if self.label_weights is None:
            return by_label.mean()
        lw = xp.asarray(self.label_weights)
        return _no_nan((by_label * lw).sum(), lw.sum())

    def _interpolate_pr_auc(self, xp, tp, fp, fn):
        n = self.num_thresholds
        dtp = tp[:n - 1] - tp[1:]
        p = tp + fp
        dp = p[:n - 1] - p[1:]
        slope = _no_nan(dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:n - 1] > 0) & (p[1:] > 0)
        ratio = xp.where(both, _no_nan(p[:n - 1], xp.maximum(p[1:], 0)), xp.ones_like(p[1:]))
        inc = _no_nan(slope * (dtp + intercept * xp.log(ratio)), xp.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(xp, inc)

    def result(self):
        """The area so far, a Python float."""
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        xp = backend.get_array_module(tp)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _out(self._interpolate_pr_auc(xp, tp, fp, fn))
        recall = _no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _no_nan(tp, tp + fp)
        else:
            scale = _no_nan(tp + fn, tn + fp)
            rg = xp.where(tp == 0, 0.0, 1.0 - scale * _no_nan(fn, tp))
            pg = xp.where(tp == 0, 1.0, 1.0 - scale * _no_nan(fp, tp))
            x, y = xp.maximum(rg, 0.0), pg
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:n - 1], y[1:])
        else:
            heights = xp.maximum(y[:n - 1], y[1:])
        return _out(self._by_label(xp, (x[:n - 1] - x[1:]) * heights))

    def reset_state(self):
        """Zero the counts (kept unbuilt until the first batch with ``multi_label``)."""
        super().reset_state()

    def get_config(self):
        lw = self.label_weights
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": None if lw is None else lw.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config


# -- F-scores, R2 ------------------------------------------------------------------------------

class FBetaScore(Metric):
    """The F-beta score, ``(1 + beta**2) * precision * recall / (beta**2 * precision + recall)``,
    per class or averaged, over all batches, as ``keras.metrics.FBetaScore``. Inputs are
    ``(batch, num_classes)``.

    Args:
        average (str | None): ``None`` (one score per class, a NumPy array), ``"micro"``
            (counts pooled over the classes), ``"macro"`` (mean of the class scores) or
            ``"weighted"`` (the class scores weighted by their number of true labels).
        beta (float): the weight of recall relative to precision (a float > 0; default 1.0).
        threshold (float | None): predictions above it count as positive; None (default):
            the highest prediction of each sample is the positive one.
        name (str): default ``"fbeta_score"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.FBetaScore(average="micro", beta=2.0, threshold=0.5)
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.7]])
        >>> round(float(m.result()), 4)
        0.9091
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"Invalid `average` argument value. Expected one of: {{None, 'micro', "
                             f"'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        super().__init__(dtype=dtype, name=name)
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, true_shape, pred_shape):
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, "
                             f"output_dim). Received input shapes: y_pred.shape={tuple(pred_shape)} "
                             f"and y_true.shape={tuple(true_shape)}.")
        shape = () if self.average == "micro" else (pred_shape[-1],)
        for n in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, n, self.add_variable(shape, "zeros", name=n))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        xp, y_true, y_pred = _inputs(y_true, y_pred, dtype=self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = y_pred.max(axis=-1, keepdims=True)
            pred = (y_pred >= top) & (xp.abs(y_pred) > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = pred.astype(self.dtype)
        sw = None if sample_weight is None else _arr(sample_weight, like=y_pred, dtype=self.dtype)

        def wsum(v):
            if sw is not None:
                v = v * xp.expand_dims(sw, 1)
            return v.sum(axis=self.axis)
        self.true_positives.assign_add(wsum(pred * y_true))
        self.false_positives.assign_add(wsum(pred * (1 - y_true)))
        self.false_negatives.assign_add(wsum((1 - pred) * y_true))
        self.intermediate_weights.assign_add(wsum(y_true))

    def result(self):
        """The score so far: a float, or one per class (a NumPy array) with ``average=None``."""
        if not self._built:
            return 0.0
        eps = backend.epsilon()
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta ** 2
        f = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            w = self.intermediate_weights.value
            f = (f * (w / (w.sum() + eps))).sum()
        elif self.average is not None:
            f = f.mean()
        return _out(f)

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score (``FBetaScore`` with ``beta=1``), ``2 * precision * recall / (precision +
    recall)``, as ``keras.metrics.F1Score``.

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.F1Score(average="micro", threshold=0.5)
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.7]])
        >>> round(m.result(), 4)
        0.8

    Args:
        average (str | None): ``None`` (one score per class), ``"micro"``, ``"macro"`` or
            ``"weighted"``, as for ``FBetaScore``.
        threshold (float | None): predictions above it count as positive; None (default): the
            highest prediction of each sample.
        name (str): default ``"f1_score"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """The coefficient of determination over all batches, per output column (inputs
    ``(batch, outputs)``), as ``keras.metrics.R2Score``.

    Args:
        class_aggregation (str | None): ``"uniform_average"`` (default: the mean over the
            columns), ``"variance_weighted_average"`` (weighted by each column's variance) or
            ``None`` (one score per column, a NumPy array).
        num_regressors (int): the number of independent variables, for the adjusted R2
            (default 0: the plain R2).
        name (str): default ``"r2_score"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.R2Score()
        >>> m.update_state([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])
        >>> round(float(m.result()), 4)
        0.5714
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of "
                             f"(None, 'uniform_average', 'variance_weighted_average'). "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        super().__init__(dtype=dtype, name=name)
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable((), "zeros", name="num_samples")
        self._built = False

    def _build(self, true_shape, pred_shape):
        if len(pred_shape) != 2 or len(true_shape) != 2:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). Received "
                             f"input shapes: y_pred.shape={tuple(pred_shape)} and "
                             f"y_true.shape={tuple(true_shape)}.")
        n = (pred_shape[-1],)
        self.squared_sum = self.add_variable(n, "zeros", name="squared_sum")
        self.sum = self.add_variable(n, "zeros", name="sum")
        self.total_mse = self.add_variable(n, "zeros", name="residual")
        self.count = self.add_variable(n, "zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        xp, y_true, y_pred = _inputs(y_true, y_pred, dtype=self.dtype)
        y_true, y_pred = _same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        sw = _arr(1.0 if sample_weight is None else sample_weight, like=y_true, dtype=self.dtype)
        if sw.ndim == 1:
            sw = sw[:, None]
        sw = xp.broadcast_to(sw, y_true.shape)
        wt = y_true * sw
        self.sum.assign_add(wt.sum(axis=0))
        self.squared_sum.assign_add((y_true * wt).sum(axis=0))
        self.total_mse.assign_add((((y_true - y_pred) ** 2) * sw).sum(axis=0))
        self.count.assign_add(sw.sum(axis=0))
        self.num_samples.assign_add(_np.asarray(y_true.size, dtype=self.dtype))

    def result(self):
        """The score so far: a float, or one per column with ``class_aggregation=None``."""
        if not self._built:
            return 0.0
        xp = backend.get_array_module(self.sum.value)
        s = self.sum.value
        mean = s / self.count.value
        total = self.squared_sum.value - s * mean
        raw = 1 - self.total_mse.value / total
        raw = xp.where(xp.isinf(raw), 0.0, raw).astype(self.dtype)
        if self.class_aggregation == "uniform_average":
            r2 = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (total * raw).sum() / total.sum()
        else:
            r2 = raw
        if self.num_regressors:
            import warnings
            n = float(backend.to_numpy(self.num_samples.value))
            p = self.num_regressors
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                              "Falling back to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 "
                              "score.", stacklevel=2)
            else:
                r2 = 1.0 - (1.0 - r2) * (n - 1.0) / (n - p - 1.0)
        return _out(r2)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# -- intersection over union ------------------------------------------------------------------

class IoU(Metric):
    """Intersection over union, ``true_positives / (true_positives + false_positives +
    false_negatives)``, of each of ``target_class_ids`` averaged, from a confusion matrix
    over all batches, as ``keras.metrics.IoU``.

    The state is a ``(num_classes, num_classes)`` float32 matrix (Keras keeps an int one,
    which truncates fractional sample weights). Labels or predictions outside
    ``[0, num_classes)``, and labels equal to ``ignore_class``, are left out.

    Args:
        num_classes (int): the number of classes.
        target_class_ids (list[int]): the classes whose IoU is averaged.
        name (str | None): default ``"io_u"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        ignore_class (int | None): a label to leave out (e.g. a "void" class).
        sparse_y_true (bool): labels are class ids (default True), else one-hot / scores
            (arg-max over ``axis``).
        sparse_y_pred (bool): predictions are class ids (default True), else scores.
        axis (int): the class axis of one-hot / score inputs (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        super().__init__(dtype=dtype, name=name)
        self.num_classes, self.ignore_class = num_classes, ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.target_class_ids = list(target_class_ids)
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros",
                                          name="total_confusion_matrix")

    def _class_ids(self, y_true, y_pred):
        return y_true, y_pred

    def update_state(self, y_true, y_pred, sample_weight=None):
        xp, y_true, y_pred = _inputs(y_true, y_pred)
        y_true, y_pred = self._class_ids(y_true, y_pred)
        if not self.sparse_y_true:
            y_true = y_true.argmax(axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(axis=self.axis)
        sw = _arr(1.0 if sample_weight is None else sample_weight, like=y_pred, dtype=self.dtype)
        if sw.ndim == 1 and y_true.ndim > 1 and sw.shape[0] == y_true.shape[0]:
            sw = xp.broadcast_to(sw.reshape((-1,) + (1,) * (y_true.ndim - 1)), y_true.shape)  # per sample
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        if sw.ndim > 1:
            sw = sw.reshape(-1)
        sw = xp.broadcast_to(sw, y_true.shape)
        c = self.num_classes
        ok = (y_true >= 0) & (y_true < c) & (y_pred >= 0) & (y_pred < c)
        if self.ignore_class is not None:
            ok = ok & (y_true != self.ignore_class)
        t = xp.where(ok, y_true, 0).astype("int64")
        p = xp.where(ok, y_pred, 0).astype("int64")
        w = xp.where(ok, sw, 0).astype(self.dtype)
        classes = xp.arange(c)
        # the weighted confusion matrix as one product of one-hot rows (no scatter, no host read)
        rows = (t[:, None] == classes).astype(self.dtype) * w[:, None]
        cols = (p[:, None] == classes).astype(self.dtype)
        self.total_cm.assign_add(rows.T @ cols)

    def result(self):
        """The mean IoU of the target classes that occur (in labels or predictions), a float."""
        xp = backend.get_array_module(self.total_cm.value)
        cm = self.total_cm.value.astype("float32")
        tp = xp.diagonal(cm)
        denom = cm.sum(axis=0) + cm.sum(axis=1) - tp
        ids = xp.asarray(_np.asarray(self.target_class_ids, dtype="int64"))
        tp, denom = tp[ids], denom[ids]
        valid = denom > 1e-9
        iou = xp.where(valid, tp / (denom + backend.epsilon()), 0.0)
        return _out(iou.sum() / (valid.astype("float32").sum() + backend.epsilon()))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels against predictions thresholded at ``threshold`` (``>=`` is 1),
    averaged over ``target_class_ids``, as ``keras.metrics.BinaryIoU``.

    Args:
        target_class_ids (tuple[int, ...]): which of 0 and 1 to average (default both).
        threshold (float): predictions at or above it are class 1 (default 0.5).
        name (str | None): default ``"binary_io_u"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
        >>> round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def _class_ids(self, y_true, y_pred):
        return y_true.astype("int64"), (y_pred.astype("float32") >= self.threshold).astype("int64")

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all ``num_classes`` classes, as ``keras.metrics.MeanIoU``.

    Args:
        num_classes (int): the number of classes.
        name (str | None): default ``"mean_io_u"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        ignore_class (int | None): a label to leave out.
        sparse_y_true (bool): labels are class ids (default True), else one-hot / scores.
        sparse_y_pred (bool): predictions are class ids (default True), else scores.
        axis (int): the class axis of one-hot / score inputs (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        >>> round(float(m.result()), 4)
        0.3333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)), name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU of one-hot labels against scores (arg-max over ``axis``), averaged over
    ``target_class_ids``, as ``keras.metrics.OneHotIoU``.

    Args:
        num_classes (int): the number of classes.
        target_class_ids (list[int]): the classes whose IoU is averaged.
        name (str | None): default ``"one_hot_io_u"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        ignore_class (int | None): a label to leave out.
        sparse_y_pred (bool): predictions are class ids rather than scores (default False).
        axis (int): the class axis (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
        >>> m.update_state([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
        >>> round(float(m.result()), 4)
        0.1667
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """IoU of one-hot labels against scores, averaged over all classes, as
    ``keras.metrics.OneHotMeanIoU``.

    Args:
        num_classes (int): the number of classes.
        name (str | None): default ``"one_hot_mean_io_u"``.
        dtype (str | None): the dtype of the state (default ``floatx()``).
        ignore_class (int | None): a label to leave out.
        sparse_y_pred (bool): predictions are class ids rather than scores (default False).
        axis (int): the class axis (default -1).

    Examples:
        >>> import kerasette as keras
        >>> m = keras.metrics.OneHotMeanIoU(num_classes=3)
        >>> m.update_state([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
        >>> round(float(m.result()), 4)
        0.1111
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


_CATALOGUE = [globals()[n] for n in __all__[__all__.index("Sum"):]]

# which way is better, as Keras's ``_direction`` (read by callbacks whose ``mode="auto"``)
for _cls in (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
             SparseTopKCategoricalAccuracy, AUC, Precision, Recall, PrecisionAtRecall, RecallAtPrecision,
             SensitivityAtSpecificity, SpecificityAtSensitivity, FBetaScore, R2Score, CosineSimilarity,
             PearsonCorrelation, ConcordanceCorrelation, IoU):
    _cls._direction = "up"
for _cls in (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
             RootMeanSquaredError, LogCoshError, BinaryCrossentropy, CategoricalCrossentropy,
             SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge):
    _cls._direction = "down"

# names compile(metrics=[...]) and get() take, as Keras's ``keras.metrics.get``: every
# metric's class name and its snake_case, and the short aliases
for _cls in [Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
             TopKCategoricalAccuracy, Mean, MeanAbsoluteError, MeanSquaredError] + _CATALOGUE:
    _BY_NAME.setdefault(_cls.__name__, _cls)
    _BY_NAME.setdefault(to_snake_case(_cls.__name__), _cls)
_BY_NAME.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "MSE": MeanSquaredError,
                 "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
                 "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
                 "MSLE": MeanSquaredLogarithmicError})
del _cls


# ===========================================================================================
# The metric functions of ``keras.metrics`` (``binary_accuracy``, ``hinge``, ...): per-sample
# values of one batch, returned as a Tensor, unreduced, as Keras's. Each reuses the math that
# exists once in kerasette: the loss functions of ``kerasette.losses`` (the same objects, as in
# Keras) or the per-sample array code of the metric class of the same name. They work in
# ``compile(metrics=[keras.metrics.hinge])`` and by name (``get("log_cosh")``).
# ===========================================================================================

from .losses import (mean_squared_error, mean_absolute_error, binary_crossentropy,  # noqa: E402
                     categorical_crossentropy, sparse_categorical_crossentropy, huber,
                     binary_focal_crossentropy, categorical_focal_crossentropy,
                     mean_absolute_percentage_error, mean_squared_logarithmic_error, hinge,
                     squared_hinge, categorical_hinge, kl_divergence, poisson, log_cosh)


def _batch_values(metric, y_true, y_pred, same_rank=False):
    """``metric``'s per-sample values of one batch (its class's array code), as a Tensor."""
    from .autograd.tensor import Tensor
    _, y_true, y_pred = _inputs(y_true, y_pred)
    if same_rank:
        y_true, y_pred = _same_rank(y_true, y_pred)
    per_sample = metric._values if isinstance(metric, MeanMetricWrapper) else metric.values
    return Tensor(_arr(per_sample(y_true, y_pred)))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Element by element: 1.0 where ``y_pred > threshold`` agrees with the 0/1 label, else 0.0
    (``BinaryAccuracy``'s values; ranks one apart are aligned first).

    Args:
        y_true (array | Tensor | list): 0/1 labels.
        y_pred (array | Tensor | list): probabilities of ``y_true``'s shape.
        threshold (float): predictions above it count as 1 (default 0.5).

    Returns:
        Tensor: float32 of the aligned shape.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.binary_accuracy([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]).numpy().ravel().tolist()
        [1.0, 1.0, 1.0, 0.0]
    """
    return _batch_values(BinaryAccuracy(threshold=threshold), y_true, y_pred, same_rank=True)


def categorical_accuracy(y_true, y_pred):
    """Per sample: 1.0 where the arg-max of the predictions is the arg-max of the one-hot label.

    Args:
        y_true (array | Tensor | list): one-hot labels ``(batch, ..., classes)``.
        y_pred (array | Tensor | list): scores of the same shape.

    Returns:
        Tensor: float32 ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]).numpy().tolist()
        [0.0, 1.0]
    """
    return _batch_values(CategoricalAccuracy(), y_true, y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample: 1.0 where the arg-max of the predictions is the integer label.

    Args:
        y_true (array | Tensor | list): class ids ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred (array | Tensor | list): scores ``(batch, ..., classes)``.

    Returns:
        Tensor: float32 ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.sparse_categorical_accuracy([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]).numpy().tolist()
        [0.0, 1.0]
    """
    return _batch_values(SparseCategoricalAccuracy(), y_true, y_pred)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample: 1.0 where the one-hot label's class is among the ``k`` highest scores.

    Args:
        y_true (array | Tensor | list): one-hot labels ``(batch, ..., classes)``.
        y_pred (array | Tensor | list): scores of the same shape.
        k (int): how many of the highest scores count (default 5).

    Returns:
        Tensor: float32 ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1).numpy().tolist()
        [0.0, 1.0]
    """
    return _batch_values(TopKCategoricalAccuracy(k=k), y_true, y_pred)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample: 1.0 where the integer label is among the ``k`` highest scores.

    Args:
        y_true (array | Tensor | list): class ids ``(batch, ...)``.
        y_pred (array | Tensor | list): scores ``(batch, ..., classes)``, or class ids sorted
            by score with ``from_sorted_ids``.
        k (int): how many of the highest scores count (default 5).
        from_sorted_ids (bool): ``y_pred`` holds class ids sorted by score (default False).

    Returns:
        Tensor: ``y_true``'s shape.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.sparse_top_k_categorical_accuracy([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=2).numpy().tolist()
        [1.0, 1.0]
    """
    return _batch_values(SparseTopKCategoricalAccuracy(k=k, from_sorted_ids=from_sorted_ids),
                         y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Per sample: the Pearson correlation of ``y_true`` and ``y_pred`` along ``axis``.

    Args:
        y_true (array | Tensor | list): values ``(batch, ..., d)``.
        y_pred (array | Tensor | list): values of the same shape.
        axis (int): the axis the correlation runs along (default -1).

    Returns:
        Tensor: the shape without ``axis``.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.pearson_correlation([[0.0, 1.0, 2.0, 3.0]], [[0.1, 1.2, 1.9, 3.1]]).numpy().round(4).tolist()
        [0.9955]
    """
    return _batch_values(PearsonCorrelation(axis=axis), y_true, y_pred)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Per sample: Lin's concordance correlation of ``y_true`` and ``y_pred`` along ``axis``
    (as ``ConcordanceCorrelation``).

    Args:
        y_true (array | Tensor | list): values ``(batch, ..., d)``.
        y_pred (array | Tensor | list): values of the same shape.
        axis (int): the axis the correlation runs along (default -1).

    Returns:
        Tensor: the shape without ``axis``.

    Examples:
        >>> import kerasette as keras
        >>> keras.metrics.concordance_correlation([[0.0, 1.0, 2.0, 3.0]], [[0.1, 1.2, 1.9, 3.1]]).numpy().round(4).tolist()
        [0.9928]
    """
    return _batch_values(ConcordanceCorrelation(axis=axis), y_true, y_pred)


# the short names Keras 2 had (Keras 3 takes them as strings: ``get("mse")`` is the class)
mse, mae = mean_squared_error, mean_absolute_error
mape, msle = mean_absolute_percentage_error, mean_squared_logarithmic_error

_METRIC_FUNCTIONS = (
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "huber", "hinge", "squared_hinge", "categorical_hinge",
    "kl_divergence", "poisson", "log_cosh", "pearson_correlation", "concordance_correlation")
__all__ += list(_METRIC_FUNCTIONS)
