"""Losses: ``loss(y_true, y_pred) -> scalar Tensor``, mean over the batch.

The mean reduction is what averages parameter gradients over the batch
(the seed's ``W.grad += (1/B) ...``). When ``y_pred`` was produced by a
softmax node, the cross-entropies use the fused ``softmax - onehot``
gradient on its logits instead of differentiating through the softmax.
"""
from . import backend, ops
from .naming import to_snake_case as _snake
from .autograd.tensor import Tensor
from .ops.nn import Softmax

__all__ = ["align_label_rank", "Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Huber",
           "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "huber",
           "binary_focal_crossentropy", "categorical_focal_crossentropy", "get", "deserialize", "serialize"]


class Loss:
    """Base class of losses: ``loss(y_true, y_pred, sample_weight=None) -> Tensor``.

    Subclasses define ``call(y_true, y_pred)``, which returns the per-sample values (the
    predictions' shape without its last axis). Calling the loss first moves ``y_true`` to
    ``y_pred``'s device (label values cast to its float dtype, so int64 labels do not turn
    a float32 backward pass into float64), aligns labels one axis off the predictions
    (``align_label_rank``), multiplies by ``sample_weight`` (broadcast over trailing axes)
    and then reduces.

    Args:
        name (str | None): the loss's name; default None takes the class name in snake case
            (``"mean_squared_error"``).
        reduction (str | None): ``"sum_over_batch_size"`` (default) or ``"mean"`` averages the
            weighted per-sample values over all their elements (Keras's rule); ``"sum"`` sums
            them; ``"mean_with_sample_weight"`` divides their sum by the sum of the sample
            weights (the plain mean without them); ``None`` or ``"none"`` returns them
            unreduced. Anything else is refused.
        dtype (None): accepted for Keras compatibility and ignored: the loss is computed in
            ``y_pred``'s dtype.

    Examples:
        >>> from kerasette import losses
        >>> mse = losses.MeanSquaredError()
        >>> float(mse(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).numpy())
        0.5
        >>> losses.MeanSquaredError(reduction="none")(np.zeros((2, 1)), np.ones((2, 1))).numpy()
        array([1., 1.])
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of "
                             f"{sorted(map(str, REDUCTIONS))}, got {reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    align_labels = True       # labels (n,) against outputs (n, 1): add the axis (Keras does)
    class_id_labels = False   # labels are values in the outputs' dtype (not integer class ids)

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_sample = _per_sample(self, y_true, y_pred)
        sw = None
        if sample_weight is not None:
            sw = sample_weight if isinstance(sample_weight, Tensor) else _as_labels(sample_weight, y_pred)
            sw = ops.reshape(sw, tuple(sw.shape) + (1,) * (len(per_sample.shape) - len(sw.shape)))
            per_sample = ops.multiply(per_sample, sw)
        if self.reduction == "sum":
            return ops.sum(per_sample)
        if self.reduction in (None, "none"):
            return per_sample
        if self.reduction == "mean_with_sample_weight" and sw is not None:
            return ops.divide(ops.sum(per_sample), ops.sum(sw))
        return ops.mean(per_sample)

    def call(self, y_true, y_pred):
        """The per-sample loss values, before weighting and reduction; subclasses define it.

        Args:
            y_true (Tensor): the labels, already on ``y_pred``'s device and rank-aligned.
            y_pred (Tensor): the predictions, ``(batch, ..., d)``.

        Returns:
            Tensor: ``(batch, ...)``, one value per sample (the last axis reduced).
        """
        raise NotImplementedError

    def validate(self, y, output_shape, where="y"):
        """Check a whole label array against the model's output shape before training, so that
        a wrong label array fails with one message before any weight changes (``fit`` and
        ``evaluate`` call it).

        Args:
            y (array-like): the labels passed to ``fit`` / ``evaluate`` (all samples).
            output_shape (tuple): the model output's shape, batch axis first (entries may be
                None).
            where (str): how the message names the labels (default ``"y"``; ``"y[name]"`` for
                one output of several).

        Raises:
            ValueError: ``y`` is empty; subclasses also refuse labels whose shape (or, for
                class ids, values) do not fit ``output_shape``.
        """
        if len(y) == 0:
            raise ValueError(f"{type(self).__name__}: `{where}` is empty")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred)**2, axis=-1)`` per sample, then reduced over the batch.

    Labels have the predictions' shape (``(n,)`` labels against ``(n, 1)`` outputs are aligned).

    Args:
        name (str | None): default None gives ``"mean_squared_error"``.
        reduction (str | None): ``"sum_over_batch_size"`` (default), ``"sum"`` or ``None`` /
            ``"none"``, as for ``Loss``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> float(keras.losses.MeanSquaredError()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).numpy())
        0.5
    """

    def call(self, y_true, y_pred):
        """Per-sample ``mean((y_pred - y_true)**2, axis=-1)``.

        Args:
            y_true (Tensor): targets, shape of ``y_pred``.
            y_pred (Tensor): predictions ``(batch, ..., d)``.
        """
        return ops.mean(ops.square(ops.subtract(y_pred, y_true)), axis=-1)


class MeanAbsoluteError(Loss):
    """``mean(|y_true - y_pred|, axis=-1)`` per sample, then reduced over the batch.

    Args:
        name (str | None): default None gives ``"mean_absolute_error"``.
        reduction (str | None): ``"sum_over_batch_size"`` (default), ``"sum"`` or ``None`` /
            ``"none"``, as for ``Loss``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> float(keras.losses.MeanAbsoluteError()(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])).numpy())
        1.5
    """

    def call(self, y_true, y_pred):
        """Per-sample ``mean(|y_pred - y_true|, axis=-1)``.

        Args:
            y_true (Tensor): targets, shape of ``y_pred``.
            y_pred (Tensor): predictions ``(batch, ..., d)``.
        """
        return ops.mean(ops.abs(ops.subtract(y_pred, y_true)), axis=-1)


class Huber(Loss):
    """Squared error for ``|error| <= delta``, linear beyond: ``0.5 e**2`` or
    ``delta * (|e| - 0.5 delta)``, averaged over the last axis.

    Args:
        delta (float): where the quadratic part turns linear (default 1.0).
        **kwargs: ``name``, ``reduction``, ``dtype`` as for ``Loss``.

    Examples:
        >>> import kerasette as keras
        >>> h = keras.losses.Huber(delta=1.0)
        >>> float(h(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]])).numpy())
        1.3125
    """
    def __init__(self, delta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.delta = delta

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}

    def call(self, y_true, y_pred):
        """Per-sample Huber loss, averaged over the last axis.

        Args:
            y_true (Tensor): targets, shape of ``y_pred``.
            y_pred (Tensor): predictions ``(batch, ..., d)``.
        """
        err = ops.abs(ops.subtract(y_pred, y_true))
        quad = ops.minimum(err, self.delta)
        return ops.mean(0.5 * ops.square(quad) + self.delta * (err - quad), axis=-1)


class _ProbabilisticLoss(Loss):
    """Shared by the dense-label cross-entropies: ``from_logits``, ``label_smoothing``,
    and labels that must have the output's shape."""

    def __init__(self, from_logits=False, label_smoothing=0.0, **kwargs):
        super().__init__(**kwargs)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def validate(self, y, output_shape, where="y"):
        super().validate(y, output_shape, where)
        _check_same_trailing(self, y, output_shape, where)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class BinaryCrossentropy(_ProbabilisticLoss):
    """Binary cross-entropy, averaged over the last axis; ``from_logits`` for raw scores.

    Labels are 0/1 (or probabilities) of the predictions' shape, e.g. ``(batch, 1)`` for a
    sigmoid output (``(batch,)`` labels are aligned); ``validate`` refuses other shapes.

    Args:
        from_logits (bool): ``y_pred`` holds raw scores (no sigmoid applied); the loss then
            uses the stable ``sigmoid_cross_entropy`` form. Default False: probabilities,
            clipped to ``[epsilon, 1 - epsilon]`` (``backend.epsilon()``).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + 0.5 * s``
            (default 0.0: none).
        **kwargs: ``name``, ``reduction``, ``dtype`` as for ``Loss``.

    Examples:
        >>> from kerasette import losses
        >>> bce = losses.BinaryCrossentropy(from_logits=True)
        >>> round(float(bce(np.array([[1.0]]), np.array([[0.0]])).numpy()), 4)
        0.6931
    """

    def call(self, y_true, y_pred):
        """Per-sample binary cross-entropy, averaged over the last axis.

        Args:
            y_true (Tensor): 0/1 labels (or probabilities), shape of ``y_pred``.
            y_pred (Tensor): probabilities (or logits with ``from_logits``), ``(batch, ..., d)``.
        """
        if self.label_smoothing:
            y_true = _smoothed(y_true, self.label_smoothing, 2)
        if self.from_logits:
            return ops.mean(ops.sigmoid_cross_entropy(y_pred, y_true), axis=-1)
        eps = backend.epsilon()
        p = ops.clip(y_pred, eps, 1 - eps)
        ll = y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p)
        return ops.negative(ops.mean(ll, axis=-1))


class CategoricalCrossentropy(_ProbabilisticLoss):
    """Cross-entropy against one-hot (or soft) labels ``(batch, classes)``.

    When ``y_pred`` comes straight from a softmax (a ``softmax`` activation or layer), the
    loss differentiates its logits directly (the fused, stable ``softmax - onehot``
    gradient). Integer labels need ``SparseCategoricalCrossentropy`` instead (or
    ``keras.utils.to_categorical``); ``validate`` says so.

    Args:
        from_logits (bool): ``y_pred`` holds raw scores (softmax not applied); default False:
            probabilities, clipped to ``[epsilon, 1 - epsilon]`` unless fused as above.
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + s / classes``
            (default 0.0: none).
        axis (int): the class axis; only -1 (the default) is supported, any other value
            raises ``NotImplementedError``.
        **kwargs: ``name``, ``reduction``, ``dtype`` as for ``Loss``.

    Examples:
        >>> from kerasette import losses
        >>> cce = losses.CategoricalCrossentropy()
        >>> round(float(cce(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])).numpy()), 4)
        0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, **kwargs):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, **kwargs)
        if axis != -1:
            raise NotImplementedError(f"CategoricalCrossentropy: only axis=-1 (the class axis last) is "
                                      f"supported by kerasette, got axis={axis!r}")
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

    def call(self, y_true, y_pred):
        """Per-sample ``-sum(y_true * log(y_pred), axis=-1)``.

        Args:
            y_true (Tensor): one-hot or soft labels ``(batch, ..., classes)``.
            y_pred (Tensor): probabilities (or logits with ``from_logits``), same shape.
        """
        if self.label_smoothing:
            y_true = _smoothed(y_true, self.label_smoothing, y_pred.shape[-1])
        return _xent(y_true, y_pred, self.from_logits, sparse=False)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class ids ``(batch,)`` (or ``(batch, 1)``).

    The predictions are ``(batch, ..., classes)`` and the labels ``(batch, ...)``: one id per
    prediction row. Like ``CategoricalCrossentropy``, a softmax output is differentiated
    through its logits directly. ``validate`` refuses non-integer ids and ids outside
    ``[0, classes)`` before training starts.

    Args:
        from_logits (bool): ``y_pred`` holds raw scores (softmax not applied); default False:
            probabilities.
        ignore_class (None): not supported yet; anything but None raises
            ``NotImplementedError``.
        **kwargs: ``name``, ``reduction``, ``dtype`` as for ``Loss``.

    Examples:
        >>> from kerasette import losses
        >>> scce = losses.SparseCategoricalCrossentropy()
        >>> round(float(scce(np.array([1]), np.array([[0.5, 0.5]])).numpy()), 4)
        0.6931
    """

    align_labels = False      # class ids have one axis fewer than the outputs by design
    class_id_labels = True

    def __init__(self, from_logits=False, ignore_class=None, **kwargs):
        super().__init__(**kwargs)
        if ignore_class is not None:
            raise NotImplementedError(f"{type(self).__name__}: ignore_class is not supported by kerasette yet")
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        """Per-sample ``-log(y_pred[..., y_true])``.

        Args:
            y_true (Tensor | array): integer class ids ``(batch, ...)`` or ``(batch, ..., 1)``.
            y_pred (Tensor): probabilities (or logits with ``from_logits``)
                ``(batch, ..., classes)``.

        Raises:
            ValueError: the labels' shape is not ``y_pred.shape[:-1]``.
        """
        labels = getattr(y_true, "value", y_true)
        if labels.ndim == len(y_pred.shape) and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if tuple(labels.shape) != tuple(y_pred.shape[:-1]):
            raise ValueError(f"{type(self).__name__}: labels of shape {tuple(labels.shape)} do not fit "
                             f"predictions of shape {tuple(y_pred.shape)} (expected labels "
                             f"{tuple(y_pred.shape[:-1])})")
        return _xent(labels, y_pred, self.from_logits, sparse=True)

    def validate(self, y, output_shape, where="y"):
        super().validate(y, output_shape, where)
        import numpy as np
        y = np.asarray(backend.to_numpy(y))
        n_classes = output_shape[-1]
        if y.ndim == len(output_shape) and y.shape[-1] == 1:
            y = y[..., 0]
        if y.ndim != len(output_shape) - 1:
            raise ValueError(f"{type(self).__name__}: `{where}` should hold integer class ids of shape "
                             f"(n,) for outputs of shape {tuple(output_shape)}; got shape {y.shape}")
        if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"{type(self).__name__}: `{where}` must hold integer class ids, "
                             f"got non-integer values")
        if n_classes is not None and y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{type(self).__name__}: `{where}` class ids must be in [0, {n_classes}) "
                             f"for a model with {n_classes} outputs; got values in "
                             f"[{y.min()}, {y.max()}]")

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


def _xent(labels, y_pred, from_logits, sparse):
    node = y_pred.node if isinstance(y_pred, Tensor) else None
    if from_logits:
        return ops.softmax_cross_entropy(y_pred, labels)
    if isinstance(node, Softmax) and node.logits is not None and node.axis in (-1, len(y_pred.shape) - 1):
        # fused, stable path: differentiate the logits directly
        return ops.softmax_cross_entropy(node.inputs[0], labels)
    eps = backend.epsilon()
    logp = ops.log(ops.clip(y_pred, eps, 1 - eps))
    if sparse:
        return ops.negative(_pick(logp, labels))
    return ops.negative(ops.sum(ops.multiply(labels, logp), axis=-1))


def _pick(logp, labels):
    """``logp[..., labels]`` per sample, differentiably (one-hot product)."""
    onehot = ops.one_hot(labels, logp.shape[-1], dtype=logp.dtype)
    return ops.sum(ops.multiply(logp, onehot), axis=-1)


REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None)


def _per_sample(loss, y_true, y_pred):
    """``loss.call`` on labels made ready by the loss's rules: on ``y_pred``'s device, in its
    float dtype (not class ids) and rank-aligned (``align_label_rank``); unreduced."""
    if not hasattr(y_pred, "dtype"):          # lists and numbers, as Keras takes them
        y_pred = ops.convert_to_tensor(y_pred)
    y_true = _as_labels(y_true, y_pred, class_ids=loss.class_id_labels)
    if loss.align_labels:
        y_true = align_label_rank(y_true, tuple(y_pred.shape))
    return loss.call(y_true, y_pred)


def _as_labels(y_true, y_pred, class_ids=False):
    """``y_true`` as a Tensor on ``y_pred``'s device (NumPy labels against GPU outputs).
    Label values (not ``class_ids``) take ``y_pred``'s float dtype, as Keras casts them:
    int64 or float64 labels must not turn a float32 model's backward pass into float64."""
    want = y_pred.dtype
    if isinstance(y_true, Tensor):
        return ops.cast(y_true, want) if _needs_cast(y_true.dtype, want, class_ids) else y_true
    a = backend.to_device(y_true, backend.get_array_module(y_pred))
    return Tensor(a.astype(want) if _needs_cast(a.dtype, want, class_ids) else a)


def _needs_cast(dtype, want, class_ids):
    return want.kind == "f" and dtype != want and not (class_ids and dtype.kind in "uib")


def align_label_rank(y_true, pred_shape):
    """Keras's rule for labels one axis off the predictions: ``(n,)`` against ``(n, 1)``
    gains the trailing axis, ``(n, 1)`` against ``(n,)`` loses it (never a silent
    ``(n, n)`` broadcast). Works on Tensors and arrays.

    Args:
        y_true (Tensor | array): the labels.
        pred_shape (tuple): the predictions' shape.

    Returns:
        ``y_true`` reshaped as above, or unchanged when neither rule applies.

    Examples:
        >>> from kerasette import losses
        >>> losses.align_label_rank(np.zeros(3), (3, 1)).shape
        (3, 1)
    """
    shape = tuple(y_true.shape)
    if len(shape) == len(pred_shape) - 1 and pred_shape[-1] == 1:
        return y_true.reshape(shape + (1,))
    if len(shape) == len(pred_shape) + 1 and shape[-1] == 1:
        return y_true.reshape(shape[:-1])
    return y_true


def _check_same_trailing(loss, y, output_shape, where):
    shape = tuple(y.shape)
    if len(shape) == len(output_shape) - 1 and output_shape[-1] == 1:
        shape = shape + (1,)          # aligned by align_label_rank
    if len(shape) != len(output_shape) or (output_shape[-1] is not None and shape[-1] != output_shape[-1]):
        hint = ""
        if isinstance(loss, CategoricalCrossentropy) and len(shape) == len(output_shape) - 1:
            hint = " (integer labels? use sparse_categorical_crossentropy or keras.utils.to_categorical)"
        raise ValueError(f"{type(loss).__name__}: `{where}` has shape {shape} but the model outputs "
                         f"{tuple(output_shape)}{hint}")


# functional forms (per-sample values, no reduction), as keras.losses.* functions
def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_pred - y_true)**2, axis=-1)``; no reduction over the batch.

    Args:
        y_true (array | Tensor): targets of ``y_pred``'s shape; ``(n,)`` targets against
            ``(n, 1)`` predictions gain the axis, as in the ``Loss`` classes (Keras does).
        y_pred (Tensor | array): predictions ``(batch, ..., d)``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.mean_squared_error(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 3.0]])).numpy().tolist()
        [0.5, 2.0]
    """
    return _per_sample(MeanSquaredError(), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_pred - y_true|, axis=-1)``; no reduction over the batch.

    Args:
        y_true (array | Tensor): targets of ``y_pred``'s shape (ranks aligned as for
            ``mean_squared_error``).
        y_pred (Tensor | array): predictions ``(batch, ..., d)``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.mean_absolute_error(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 3.0]])).numpy().tolist()
        [0.5, 1.0]
    """
    return _per_sample(MeanAbsoluteError(), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy of probabilities (or logits with ``from_logits=True``),
    averaged over the last axis.

    Args:
        y_true (array | Tensor): 0/1 labels (or probabilities) of ``y_pred``'s shape (ranks
            aligned as for ``mean_squared_error``).
        y_pred (Tensor | array): probabilities, or logits, ``(batch, ..., d)``.
        from_logits (bool): ``y_pred`` holds raw scores (default False).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + 0.5 * s`` (default 0).
        axis (int): the axis averaged over; only -1 (the default) is supported, any other
            value raises ``NotImplementedError``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.binary_crossentropy(np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]])).numpy().round(4).tolist()
        [0.6931, 0.6931]
    """
    _only_last_axis("binary_crossentropy", axis)
    return _per_sample(BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing),
                       y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample cross-entropy of one-hot (or soft) labels ``(batch, classes)`` against
    probabilities (or logits with ``from_logits=True``).

    Args:
        y_true (array | Tensor): one-hot or soft labels ``(batch, ..., classes)``.
        y_pred (Tensor | array): probabilities, or logits, of the same shape.
        from_logits (bool): ``y_pred`` holds raw scores (default False).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + s / classes``
            (default 0).
        axis (int): the class axis; only -1 (the default) is supported, any other value
            raises ``NotImplementedError``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])).numpy().round(4).tolist()
        [0.6931]
    """
    return _per_sample(CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing,
                                               axis=axis), y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample cross-entropy of integer labels ``(batch,)`` against probabilities
    ``(batch, classes)`` (or logits with ``from_logits=True``).

    Args:
        y_true (array | Tensor): integer class ids ``(batch, ...)``, or ``(batch, ..., 1)``.
        y_pred (Tensor | array): probabilities, or logits, ``(batch, ..., classes)``.
        from_logits (bool): ``y_pred`` holds raw scores (default False).
        ignore_class (None): not supported yet; anything but None raises
            ``NotImplementedError`` (as ``SparseCategoricalCrossentropy``).
        axis (int): the class axis; only -1 (the default) is supported, any other value
            raises ``NotImplementedError``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> from kerasette import losses
        >>> p = np.array([[0.5, 0.5], [0.9, 0.1]])
        >>> losses.sparse_categorical_crossentropy(np.array([0, 0]), p).numpy().round(3)
        array([0.693, 0.105])
    """
    _only_last_axis("sparse_categorical_crossentropy", axis)
    return _per_sample(SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class),
                       y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss (``Huber``), averaged over the last axis; no reduction over the batch.

    Args:
        y_true (array | Tensor): targets of ``y_pred``'s shape (ranks aligned as for
            ``mean_squared_error``).
        y_pred (Tensor | array): predictions ``(batch, ..., d)``.
        delta (float): where the quadratic part turns linear (default 1.0).

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.huber(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]])).numpy().tolist()
        [1.3125]
    """
    return _per_sample(Huber(delta=delta), y_true, y_pred)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary focal cross-entropy (Lin et al., 2017), as Keras's function:
    ``(1 - p_t)**gamma * bce`` element by element (times ``alpha`` for the positives and
    ``1 - alpha`` for the negatives with ``apply_class_balancing``), averaged over ``axis``.

    Args:
        y_true (array | Tensor): 0/1 labels (or probabilities) of ``y_pred``'s shape (ranks
            aligned as for ``mean_squared_error``).
        y_pred (Tensor | array): probabilities, or logits with ``from_logits``.
        apply_class_balancing (bool): weigh by ``alpha`` / ``1 - alpha`` (default False).
        alpha (float): the positives' weight with ``apply_class_balancing`` (default 0.25).
        gamma (float): the focusing exponent (default 2.0; 0 gives the cross-entropy).
        from_logits (bool): ``y_pred`` holds raw scores (default False).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + 0.5 * s`` (default 0).
        axis (int): the axis averaged over (default -1).

    Returns:
        Tensor: ``y_pred``'s shape without ``axis``.

    Examples:
        >>> import kerasette as keras
        >>> y_true, y_pred = np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])
        >>> keras.losses.binary_focal_crossentropy(y_true, y_pred, gamma=2.0).numpy().round(3).tolist()
        [0.33, 0.206]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = align_label_rank(_as_labels(y_true, y_pred), tuple(y_pred.shape))
    if label_smoothing:
        y_true = _smoothed(y_true, label_smoothing, 2)
    p = ops.sigmoid(y_pred) if from_logits else y_pred
    bce = ops.binary_crossentropy(y_true, p)
    p_t = y_true * p + (1 - y_true) * (1 - p)
    focal = ops.power(1 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Per-sample categorical focal cross-entropy, as Keras's function:
    ``sum(alpha * (1 - p)**gamma * -y_true * log(p), axis)`` with ``p`` the predictions
    normalised to sum 1 along ``axis`` and clipped to ``[epsilon, 1 - epsilon]``.

    Args:
        y_true (array | Tensor): one-hot or soft labels of ``y_pred``'s shape.
        y_pred (Tensor | array): probabilities, or logits with ``from_logits``.
        alpha (float): the weighting factor (default 0.25).
        gamma (float): the focusing exponent (default 2.0).
        from_logits (bool): ``y_pred`` holds raw scores (a softmax along ``axis`` is applied;
            default False).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + s / classes``
            (default 0).
        axis (int): the class axis (default -1).

    Returns:
        Tensor: ``y_pred``'s shape without ``axis``.

    Examples:
        >>> import kerasette as keras
        >>> y_true, y_pred = np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
        >>> keras.losses.categorical_focal_crossentropy(y_true, y_pred).numpy().round(4).tolist()
        [0.0, 0.4663]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = _as_labels(y_true, y_pred)
    if label_smoothing:
        y_true = _smoothed(y_true, label_smoothing, y_true.shape[axis])
    p = ops.softmax(y_pred, axis=axis) if from_logits else y_pred
    eps = backend.epsilon()
    p = ops.clip(p / ops.sum(p, axis=axis, keepdims=True), eps, 1 - eps)
    focal = alpha * ops.power(1 - p, gamma) * ops.negative(y_true * ops.log(p))
    return ops.sum(focal, axis=axis)


def _smoothed(y_true, label_smoothing, classes):
    """Labels moved towards ``1 / classes`` by ``label_smoothing`` (Keras's rule)."""
    return y_true * (1 - label_smoothing) + label_smoothing / classes


def _only_last_axis(fn, axis):
    if axis != -1:
        raise NotImplementedError(f"{fn}: only axis=-1 (the class axis last) is supported by "
                                  f"kerasette, got axis={axis!r}")


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_BY_NAME = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "huber": Huber,
}
_CLASSES = {c.__name__: c for c in set(_BY_NAME.values())}
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError, huber: Huber,
              binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy}


def get(identifier):
    """A Loss object from a name (``"mse"``), a Loss, a config dict or a function.

    Args:
        identifier (str | Loss | dict | callable): a built-in name (``"mse"``,
            ``"sparse_categorical_crossentropy"``, ...) or a registered / ``custom_objects``
            name; a Loss (returned as is); a ``serialize`` config; one of the functional
            forms (a new object of its Loss class); any other ``fn(y_true, y_pred)``
            returning per-sample values, wrapped in a Loss.

    Returns:
        Loss: a new object for names, configs and functions.

    Raises:
        ValueError: an unknown name or class.
        TypeError: anything else.

    Examples:
        >>> from kerasette import losses
        >>> type(losses.get("mse")).__name__
        'MeanSquaredError'
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        from . import registry
        found = registry.lookup(identifier)         # registered / custom_objects / scope
        if found is None:
            raise ValueError(f"Unknown loss: {identifier!r}. Known: {sorted(_BY_NAME)}; a custom one "
                             f"must be registered with @keras.saving.register_keras_serializable() "
                             f"or passed in custom_objects")
        return get(found() if isinstance(found, type) else found)
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            from . import registry
            found = registry.deserialize_keras_object(identifier, kinds=("loss",))
            if isinstance(found, type) or not callable(found):
                raise ValueError(f"Unknown loss class: {identifier.get('class_name')!r}")
            return get(found)
        return cls.from_config(identifier.get("config", {}))
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier):
        return _FunctionLoss(identifier)
    raise TypeError(f"Could not interpret loss: {identifier!r}")


def serialize(loss):
    """``{"module", "class_name", "config"}`` for a Loss object, as Keras writes it; other values pass through.

    Args:
        loss (Loss | str | callable): a Loss is serialized; a name or function is returned
            unchanged.

    Examples:
        >>> from kerasette import losses
        >>> losses.serialize(losses.MeanSquaredError())["class_name"]
        'MeanSquaredError'
    """
    if isinstance(loss, Loss):
        from . import registry
        return registry.serialize_keras_object(loss)
    return loss


class _FunctionLoss(Loss):
    """A user function ``fn(y_true, y_pred) -> per-sample Tensor`` as a Loss."""

    def __init__(self, fn):
        super().__init__(name=getattr(fn, "__name__", "loss"))
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred)




def deserialize(config, custom_objects=None):
    """The loss a ``serialize`` config describes (a view of ``kerasette.registry``: built-in,
    registered, passed in ``custom_objects`` or in an active ``custom_object_scope``).

    Args:
        config (dict | str): a ``serialize`` config, or a loss name.
        custom_objects (dict | None): ``{name: class or function}`` for losses that are not
            built in or registered (default None).

    Returns:
        Loss | callable: the loss a config describes (a function's config comes back as the
        function, built-in or custom); for a name, a Loss object as ``get`` gives.

    Examples:
        >>> import kerasette as keras
        >>> loss = keras.losses.deserialize(keras.losses.serialize(keras.losses.Huber(delta=2.0)))
        >>> type(loss).__name__, loss.delta
        ('Huber', 2.0)
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("loss",))
