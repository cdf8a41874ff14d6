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
        """
        if type(self).values is Metric.values:
            raise NotImplementedError(f"{type(self).__name__}.update_state is not implemented")
        y_true, y_pred = _raw(y_true), _raw(y_pred)
        if self.align_labels:
            y_true = align_label_rank(y_true, tuple(y_pred.shape))
        v = self.values(y_true, y_pred)
        total, count = self.__dict__.get("total", 0.0), self.__dict__.get("count", 0.0)
        self._running_mean = True
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
    """Fraction of predictions exactly equal to the labels."""

    def values(self, y_true, y_pred):
        return (y_true == y_pred).astype("float32")


class BinaryAccuracy(_MeanMetric):
    """Fraction of predictions on the right side of ``threshold`` (0.5) for 0/1 labels.

    Args:
        name (str): default ``"binary_accuracy"``.
        dtype (str | None): accepted for Keras compatibility.
        threshold (float): predictions above it count as 1 (default 0.5).
    """
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype)

    def values(self, y_true, y_pred):
        return ((y_pred > self.threshold) == (y_true > 0.5)).astype("float32")

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(_MeanMetric):
    """Arg-max of predictions equals arg-max of one-hot labels."""

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype("float32")


class SparseCategoricalAccuracy(_MeanMetric):
    """Arg-max of predictions equals the integer label."""

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
    """Running mean of ``mean((y_pred - y_true)**2, axis=-1)``."""
    def values(self, y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean(axis=-1)


class MeanAbsoluteError(_MeanMetric):
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
