"""Metrics: stateful running averages (``update_state`` / ``result`` / ``reset_state``).

Totals are kept as arrays on the device and only turned into Python floats
by ``result()``, so updating a metric never forces a device-to-host copy.
"""
from . import backend
from .losses import align_label_rank
from .naming import to_snake_case

__all__ = ["Metric", "Mean", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "TopKCategoricalAccuracy", "get", "serialize", "deserialize", "resolve"]


class Metric:
    """Base: subclasses define ``values(y_true, y_pred) -> per-sample array``; the
    metric is their running mean."""

    def __init__(self, name=None, dtype=None):
        """Args:
            name (str | None): the name in the logs (default: the class name in snake_case,
                e.g. ``sparse_categorical_accuracy``).
            dtype (str | None): accepted for Keras compatibility; results are Python floats.
        """
        self.name = name or to_snake_case(type(self).__name__)
        self.reset_state()

    def reset_state(self):
        """Start a new running mean (``fit`` calls this at each epoch start)."""
        self.total = 0.0
        self.count = 0.0

    align_labels = True       # labels (n,) against outputs (n, 1), as the losses do

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add a batch: labels and predictions (Tensors or arrays), optional per-sample weights.

        Args:
            y_true (Tensor | array): the labels, ``(batch, ...)``.
            y_pred (Tensor | array): the predictions, ``(batch, ...)``.
            sample_weight (Tensor | array | None): ``(batch,)`` weights of each sample.
        """
        y_true, y_pred = _raw(y_true), _raw(y_pred)
        if self.align_labels:
            y_true = align_label_rank(y_true, tuple(y_pred.shape))
        v = self.values(y_true, y_pred)
        if sample_weight is not None:
            sw = _raw(sample_weight)
            sw = sw.reshape(sw.shape + (1,) * (v.ndim - sw.ndim))
            self.total = self.total + (v * sw).sum()
            self.count = self.count + (sw * (v * 0 + 1)).sum()
        else:
            self.total = self.total + v.sum()
            self.count = self.count + v.size

    def result(self):
        """The running mean so far, as a Python float (reads the device once)."""
        return float(backend.to_numpy(self.total)) / max(float(backend.to_numpy(self.count)), 1e-12)

    def values(self, y_true, y_pred):
        """Per-sample values (raw arrays in, array out) whose mean is the metric.

        Args:
            y_true (array): the labels, ``(batch, ...)``.
            y_pred (array): the predictions, ``(batch, ...)``.
        """
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Mean(Metric):
    """Running mean of the values given to ``update_state(values)``."""

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
        self.total = self.total + (v.sum() if n > 1 else v)
        self.count = self.count + n


class Accuracy(Metric):
    """Fraction of predictions exactly equal to the labels."""

    def values(self, y_true, y_pred):
        return (y_true == y_pred).astype("float32")


class BinaryAccuracy(Metric):
    """Fraction of predictions on the right side of ``threshold`` (0.5) for 0/1 labels.

    Args:
        name (str): default ``"binary_accuracy"``.
        dtype (str | None): accepted for Keras compatibility.
        threshold (float): predictions above it count as 1 (default 0.5).
    """
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name)

    def values(self, y_true, y_pred):
        return ((y_pred > self.threshold) == (y_true > 0.5)).astype("float32")

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """Arg-max of predictions equals arg-max of one-hot labels."""

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype("float32")


class SparseCategoricalAccuracy(Metric):
    """Arg-max of predictions equals the integer label."""

    align_labels = False

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return (y_pred.argmax(axis=-1) == y_true).astype("float32")


class TopKCategoricalAccuracy(Metric):
    """Fraction of samples whose one-hot label is among the ``k`` highest predictions.

    Args:
        k (int): how many of the highest predictions count (default 5).
        name (str): default ``"top_k_categorical_accuracy"``.
        dtype (str | None): accepted for Keras compatibility.
    """
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = k
        super().__init__(name)

    def get_config(self):
        return {**super().get_config(), "k": self.k}

    def values(self, y_true, y_pred):
        target = y_true.argmax(axis=-1)
        score = backend.get_array_module(y_pred).take_along_axis(y_pred, target[..., None], axis=-1)
        return ((y_pred > score).sum(axis=-1) < self.k).astype("float32")


class MeanSquaredError(Metric):
    """Running mean of ``mean((y_pred - y_true)**2, axis=-1)``."""
    def values(self, y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean(axis=-1)


class MeanAbsoluteError(Metric):
    """Running mean of ``mean(|y_pred - y_true|, axis=-1)``."""
    def values(self, y_true, y_pred):
        xp = backend.get_array_module(y_pred)
        return xp.abs(y_pred - y_true).mean(axis=-1)


def _raw(x):
    return getattr(x, "value", x)


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
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier](name=identifier)
        from . import registry
        found = registry.lookup(identifier)         # registered / custom_objects / scope
        if found is None:
            raise ValueError(f"Unknown metric: {identifier!r}. Known: {sorted(_BY_NAME)}; a custom one "
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


class _FunctionMetric(Metric):
    def __init__(self, fn):
        self.fn = fn
        super().__init__(getattr(fn, "__name__", "metric"))

    def values(self, y_true, y_pred):
        from .autograd.tensor import Tensor
        out = self.fn(Tensor(y_true), Tensor(y_pred))
        return _raw(out)


def serialize(metric):
    """``{"module", "class_name", "config", "registered_name"}`` of a Metric (a function:
    its registered name), as Keras writes it; names pass through.

    Args:
        metric (Metric | callable | str): the metric to describe.
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
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("metric",))
