"""Losses: ``loss(y_true, y_pred) -> scalar Tensor``, mean over the batch.

The mean reduction is what averages parameter gradients over the batch
(the seed's ``W.grad += (1/B) ...``). When ``y_pred`` was produced by a
softmax node, the cross-entropies use the fused ``softmax - onehot``
gradient on its logits instead of differentiating through the softmax.
"""
import math

import numpy as np

from . import backend, ops
from .naming import to_snake_case as _snake
from .autograd.tensor import Tensor
from .ops.nn import Softmax

__all__ = ["align_label_rank", "Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Huber",
           "mean_squared_error", "mean_absolute_error", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "huber",
           "binary_focal_crossentropy", "categorical_focal_crossentropy", "get", "deserialize", "serialize",
           # the rest of the Keras 3 catalogue
           "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "Hinge", "SquaredHinge",
           "CategoricalHinge", "KLDivergence", "LogCosh", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "Poisson", "CosineSimilarity", "Dice", "Tversky", "Circle",
           "CategoricalGeneralizedCrossEntropy", "CTC", "hinge", "squared_hinge", "categorical_hinge",
           "kl_divergence", "log_cosh", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
           "poisson", "cosine_similarity", "dice", "tversky", "circle",
           "categorical_generalized_cross_entropy", "ctc"]


class Loss:
    """Base class of losses: ``loss(y_true, y_pred, sample_weight=None) -> Tensor``.

    Subclasses define ``call(y_true, y_pred)``, which returns the per-sample values (the
    predictions' shape without its last axis). Calling the loss first moves ``y_true`` to
    ``y_pred``'s device (label values cast to its float dtype, so int64 labels do not turn
    a float32 backward pass into float64), aligns labels one axis off the predictions
    (``align_label_rank``), multiplies by ``sample_weight`` (broadcast over trailing axes)
    and then reduces. Integer predictions are taken in ``floatx``. Per-sample values that carry
    a mask (``_keras_mask``: ``Circle`` marks its non-zero values) count only where it is set:
    the averaging reductions divide by the number of values kept, as Keras does.

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
        mask = _loss_mask(per_sample, y_pred)
        if mask is not None:
            mask = _mask_weights(mask, self.reduction, per_sample.dtype)
            sw = mask if sw is None else ops.multiply(sw, mask)
        if sw is not None:
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
        _check_class_ids(self, y, output_shape, where)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class _KerasArgsLoss(Loss):
    """A Keras 3 loss whose constructor takes ``(..., reduction, name, dtype)``; ``_args`` names
    the further constructor arguments that ``get_config`` writes."""

    _args = ()

    def get_config(self):
        return {**super().get_config(), **{k: getattr(self, k) for k in self._args}}


class BinaryFocalCrossentropy(_ProbabilisticLoss):
    """Binary focal cross-entropy (Lin et al., 2017): the binary cross-entropy of each element
    scaled by ``(1 - p_t)**gamma``, ``p_t`` being the probability given to the true label, so
    that confident, correct predictions weigh less; averaged over ``axis``
    (``binary_focal_crossentropy``).

    Args:
        apply_class_balancing (bool): also weigh the positives by ``alpha`` and the negatives by
            ``1 - alpha`` (default False).
        alpha (float): in [0, 1], the positives' weight with ``apply_class_balancing``
            (default 0.25).
        gamma (float): the focusing exponent (default 2.0; 0 gives the binary cross-entropy).
        from_logits (bool): ``y_pred`` holds raw scores (a sigmoid is applied; default False).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + 0.5 * s`` (default 0).
        axis (int): the axis averaged over (default -1).
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"binary_focal_crossentropy"``.
        dtype (None): ignored (see ``Loss``).

    Raises:
        ValueError: ``alpha`` or ``label_smoothing`` outside [0, 1], ``gamma`` not a number.

    Examples:
        >>> import kerasette as keras
        >>> loss = keras.losses.BinaryFocalCrossentropy(gamma=2.0)
        >>> round(float(loss(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy()), 4)
        0.2678
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, name=name,
                         reduction=reduction, dtype=dtype)
        _check_focal(type(self).__name__, alpha, gamma, label_smoothing, alpha_in_01=True)
        _check_axis(type(self).__name__, axis, allow_none=False)
        self.apply_class_balancing, self.alpha, self.gamma, self.axis = \
            apply_class_balancing, alpha, gamma, axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis,
                "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}

    def call(self, y_true, y_pred):
        """Per-sample focal cross-entropy (``binary_focal_crossentropy``)."""
        return binary_focal_crossentropy(y_true, y_pred, self.apply_class_balancing, self.alpha,
                                         self.gamma, self.from_logits, self.label_smoothing,
                                         self.axis)


class CategoricalFocalCrossentropy(_ProbabilisticLoss):
    """Categorical focal cross-entropy: the cross-entropy of one-hot (or soft) labels with each
    class's term scaled by ``alpha * (1 - p)**gamma`` (``categorical_focal_crossentropy``).

    Args:
        alpha (float | list[float]): the weighting factor, one for all classes or one per class
            (default 0.25).
        gamma (float): the focusing exponent (default 2.0; 0 and ``alpha=1`` give the
            cross-entropy).
        from_logits (bool): ``y_pred`` holds raw scores (a softmax along ``axis`` is applied;
            default False).
        label_smoothing (float): in [0, 1]; labels become ``y * (1 - s) + s / classes``
            (default 0).
        axis (int): the class axis (default -1).
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"categorical_focal_crossentropy"``.
        dtype (None): ignored (see ``Loss``).

    Raises:
        ValueError: ``label_smoothing`` outside [0, 1], ``alpha`` or ``gamma`` not numbers.

    Examples:
        >>> import kerasette as keras
        >>> loss = keras.losses.CategoricalFocalCrossentropy()
        >>> round(float(loss(np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])).numpy()), 4)
        0.2332
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, name=name,
                         reduction=reduction, dtype=dtype)
        _check_focal(type(self).__name__, alpha, gamma, label_smoothing, alpha_in_01=False)
        _check_axis(type(self).__name__, axis, allow_none=False)
        self.alpha, self.gamma, self.axis = alpha, gamma, axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "alpha": self.alpha, "gamma": self.gamma}

    def call(self, y_true, y_pred):
        """Per-sample focal cross-entropy (``categorical_focal_crossentropy``)."""
        return categorical_focal_crossentropy(y_true, y_pred, self.alpha, self.gamma, self.from_logits,
                                              self.label_smoothing, self.axis)


class Hinge(_KerasArgsLoss):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)`` per sample; labels are -1/1, and labels
    that are all 0/1 are taken as -1/1.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"hinge"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.Hinge()(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy()), 4)
        1.3
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample hinge loss."""
        return ops.mean(_hinge_margin(y_true, y_pred), axis=-1)


class SquaredHinge(_KerasArgsLoss):
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` per sample; labels are -1/1, and labels
    that are all 0/1 are taken as -1/1.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"squared_hinge"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.SquaredHinge()(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy()), 4)
        1.86
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample squared hinge loss."""
        return ops.mean(ops.square(_hinge_margin(y_true, y_pred)), axis=-1)


class CategoricalHinge(_KerasArgsLoss):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` per sample: the
    highest score of a wrong class against the score of the true one (one-hot labels).

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"categorical_hinge"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.CategoricalHinge()(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy()), 4)
        1.4
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample categorical hinge loss."""
        pos = ops.sum(y_true * y_pred, axis=-1)
        neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
        return ops.maximum(neg - pos + 1.0, 0.0)


class KLDivergence(_KerasArgsLoss):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred), axis=-1)`` per sample,
    both clipped to ``[epsilon, 1]``.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"kl_divergence"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.KLDivergence()(np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])).numpy()), 4)
        0.1438
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample KL divergence."""
        eps = backend.epsilon()
        t, p = ops.clip(y_true, eps, 1.0), ops.clip(y_pred, eps, 1.0)
        return ops.sum(t * ops.log(t / p), axis=-1)


class LogCosh(_KerasArgsLoss):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)`` per sample, computed stably as
    ``x + softplus(-2x) - log(2)``: about ``x**2 / 2`` for small errors and ``|x| - log(2)``
    for large ones.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"log_cosh"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.LogCosh()(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])).numpy()), 4)
        0.1084
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample log-cosh error."""
        x = ops.subtract(y_pred, y_true)
        return ops.mean(x + ops.softplus(-2.0 * x) - math.log(2.0), axis=-1)


class MeanAbsolutePercentageError(_KerasArgsLoss):
    """``100 * mean(|y_true - y_pred| / max(|y_true|, epsilon), axis=-1)`` per sample.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"mean_absolute_percentage_error"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> float(keras.losses.MeanAbsolutePercentageError()(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]])).numpy())
        37.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample mean absolute percentage error."""
        scale = ops.maximum(ops.abs(y_true), backend.epsilon())
        return 100.0 * ops.mean(ops.abs(ops.subtract(y_true, y_pred) / scale), axis=-1)


class MeanSquaredLogarithmicError(_KerasArgsLoss):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)`` per sample
    (values at or below 0 count as ``epsilon``).

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"mean_squared_logarithmic_error"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.MeanSquaredLogarithmicError()(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).numpy()), 4)
        0.2402
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample mean squared logarithmic error."""
        eps = backend.epsilon()
        d = ops.log(ops.maximum(y_pred, eps) + 1.0) - ops.log(ops.maximum(y_true, eps) + 1.0)
        return ops.mean(ops.square(d), axis=-1)


class Poisson(_KerasArgsLoss):
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)`` per sample (the Poisson
    negative log-likelihood of counts ``y_true`` at rates ``y_pred``, up to a constant).

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"poisson"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.Poisson()(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])).numpy()), 4)
        0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample Poisson loss."""
        return ops.mean(y_pred - y_true * ops.log(y_pred + backend.epsilon()), axis=-1)


class CosineSimilarity(_KerasArgsLoss):
    """Minus the cosine similarity of ``y_true`` and ``y_pred`` along ``axis``:
    ``-sum(unit(y_true) * unit(y_pred), axis)``, in [-1, 1]; -1 when they point the same way,
    0 when orthogonal or when either is zero (norms below ``epsilon`` count as ``epsilon``).

    Args:
        axis (int): the axis the vectors lie along (default -1).
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"cosine_similarity"``.
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> loss = keras.losses.CosineSimilarity(reduction="none")
        >>> loss(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])).numpy().round(4).tolist()
        [-0.0, -1.0]
    """

    _args = ("axis",)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_axis(type(self).__name__, axis, allow_none=False)
        self.axis = axis

    def call(self, y_true, y_pred):
        """Per-sample negative cosine similarity along ``axis``."""
        return ops.negative(ops.sum(_unit(y_true, self.axis) * _unit(y_pred, self.axis), axis=self.axis))


class Dice(_KerasArgsLoss):
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)``,
    the sums taken over ``axis``: by default over every axis (batch included), one value for
    the whole batch; ``axis=(1, 2, 3)`` gives one value per image of a ``(batch, h, w, c)``
    mask.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"dice"``.
        axis (int | tuple[int] | None): the axes summed over (default None: all of them).
        dtype (None): ignored (see ``Loss``).

    Examples:
        >>> import kerasette as keras
        >>> y_true = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
        >>> y_pred = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])
        >>> keras.losses.Dice(reduction="none", axis=(1, 2, 3))(y_true, y_pred).numpy().round(4).tolist()
        [0.5, 0.7576]
    """

    _args = ("axis",)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_axis(type(self).__name__, axis, allow_none=True)
        self.axis = tuple(axis) if isinstance(axis, list) else axis     # a list read from JSON

    def call(self, y_true, y_pred):
        """The Dice loss, summed over ``axis``."""
        return _dice(y_true, y_pred, self.axis)


class Tversky(_KerasArgsLoss):
    """Tversky loss ``1 - I / (I + alpha * A + beta * B + epsilon)`` with ``I = sum(y_true *
    y_pred)``, ``A = sum(y_true * (1 - y_pred))`` and ``B = sum((1 - y_true) * y_pred)``, the
    sums taken over ``axis`` (as Keras 3 computes it: its documentation calls the term ``alpha``
    weighs the false positives). ``alpha = beta = 0.5`` gives the Dice loss.

    Args:
        alpha (float): the weight of ``A`` (default 0.5), at least 0.
        beta (float): the weight of ``B`` (default 0.5), at least 0.
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"tversky"``.
        axis (int | tuple[int] | None): the axes summed over (default None: all of them,
            batch included, one value for the batch).
        dtype (None): ignored (see ``Loss``).

    Raises:
        ValueError: ``alpha`` or ``beta`` is not a number at least 0, or ``axis`` is not
            None, an int or a tuple of ints.

    Examples:
        >>> import kerasette as keras
        >>> loss = keras.losses.Tversky(alpha=0.3, beta=0.7)
        >>> round(float(loss(np.array([[1.0, 0.0, 1.0]]), np.array([[0.9, 0.2, 0.6]])).numpy()), 4)
        0.162
    """

    _args = ("alpha", "beta", "axis")

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None,
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        where = type(self).__name__
        _check_number(where, "alpha", alpha, low=0.0)
        _check_number(where, "beta", beta, low=0.0)
        _check_axis(where, axis, allow_none=True)
        self.alpha, self.beta = alpha, beta
        self.axis = tuple(axis) if isinstance(axis, list) else axis     # a list read from JSON

    def call(self, y_true, y_pred):
        """The Tversky loss, summed over ``axis``."""
        return _tversky(y_true, y_pred, self.alpha, self.beta, self.axis)


class Circle(_KerasArgsLoss):
    """Circle loss (Sun et al., 2020) between integer labels ``(batch,)`` and L2-normalised
    embeddings ``(batch, d)``: every pair of samples of the batch is a positive (same label;
    a sample with itself is left out with ``remove_diagonal``) or a negative, and each pair's
    cosine distance is pulled below ``margin`` (positives) or pushed above ``1 - margin``
    (negatives), weighted by how far it is from its optimum. One value per sample; as in Keras,
    the samples whose loss is 0 are left out of the average.

    Args:
        gamma (float): the scale of the similarity scores (default 80.0), above 0.
        margin (float): the relaxation margin (default 0.4).
        remove_diagonal (bool): leave each sample's pair with itself out of its positives
            (default True).
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"circle"``.
        dtype (None): ignored (see ``Loss``).

    Raises:
        ValueError: ``gamma`` is not a number above 0, or ``margin`` not a number.

    Examples:
        >>> import kerasette as keras
        >>> emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
        >>> round(float(keras.losses.Circle()(np.array([0, 0, 1, 1]), emb).numpy()), 4)
        3.2009
    """

    _args = ("gamma", "margin", "remove_diagonal")
    align_labels = False
    class_id_labels = True

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size",
                 name="circle", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_number(type(self).__name__, "gamma", gamma, low=0.0, low_open=True)
        _check_number(type(self).__name__, "margin", margin)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, bool(remove_diagonal)

    def call(self, y_true, y_pred):
        """Per-sample circle loss of the batch's pairs."""
        return _circle(y_true, y_pred, None, None, self.remove_diagonal, self.gamma, self.margin)


class CategoricalGeneralizedCrossEntropy(_KerasArgsLoss):
    """Generalized cross-entropy (Zhang and Sabuncu, 2018) of integer labels: ``(1 - p**q) / q``
    with ``p`` the probability given to the true class; it tends to the cross-entropy as ``q``
    goes to 0 and is the mean absolute error at ``q = 1``, more robust to noisy labels.

    Args:
        q (float): in (0, 1), the noise parameter (default 0.5).
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"categorical_generalized_cross_entropy"``.
        dtype (None): ignored (see ``Loss``).

    Raises:
        ValueError: ``q`` is not in the open interval (0, 1) (Keras refuses it too).

    Examples:
        >>> import kerasette as keras
        >>> y_pred = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
        >>> round(float(keras.losses.CategoricalGeneralizedCrossEntropy()(np.array([0, 1, 0, 1]), y_pred).numpy()), 4)
        0.3599
    """

    _args = ("q",)
    align_labels = False
    class_id_labels = True

    def validate(self, y, output_shape, where="y"):
        super().validate(y, output_shape, where)
        _check_class_ids(self, y, output_shape, where)

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_q(type(self).__name__, q)
        self.q = q

    def call(self, y_true, y_pred):
        """Per-sample generalized cross-entropy."""
        labels = getattr(y_true, "value", y_true)
        if labels.ndim == len(y_pred.shape) and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if tuple(labels.shape) != tuple(y_pred.shape[:-1]):
            raise ValueError(f"{type(self).__name__}: labels of shape {tuple(labels.shape)} do not fit "
                             f"predictions of shape {tuple(y_pred.shape)} (expected integer labels "
                             f"{tuple(y_pred.shape[:-1])})")
        p = _pick(y_pred, labels.astype("int64"))
        return (1.0 - ops.power(p, self.q)) / self.q


class CTC(_KerasArgsLoss):
    """Connectionist temporal classification loss (``ops.ctc_loss``) per sample, as Keras's
    ``CTC``: ``y_true`` holds integer labels ``(batch, max_length)``, 0 being the blank and the
    padding (a label's length is its count of non-zero entries), and ``y_pred`` the logits
    ``(batch, time, classes)``, every frame of which is used.

    Args:
        reduction (str | None): as for ``Loss`` (default ``"sum_over_batch_size"``).
        name (str): default ``"ctc"``.
        dtype (None): ignored (see ``Loss``).

    Raises:
        ValueError: (when called) labels not of rank 2 or logits not of rank 3.

    Examples:
        >>> import kerasette as keras
        >>> logits = np.zeros((1, 3, 3))
        >>> round(float(keras.losses.CTC()(np.array([[1, 2]]), logits).numpy()), 4)   # log(27 / 5)
        1.6864
    """

    align_labels = False
    class_id_labels = True

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        """Per-sample CTC loss."""
        labels = getattr(y_true, "value", y_true)
        if labels.ndim != 2:
            raise ValueError(f"{type(self).__name__}: y_true must hold integer labels of shape "
                             f"(batch, max_length), got shape {tuple(labels.shape)}")
        if len(y_pred.shape) != 3:
            raise ValueError(f"{type(self).__name__}: y_pred must hold logits of shape "
                             f"(batch, time, classes), got shape {tuple(y_pred.shape)}")
        xp = backend.get_array_module(labels)
        label_length = (labels != 0).sum(axis=-1)
        frames = xp.full((y_pred.shape[0],), y_pred.shape[1], dtype="int64")
        return ops.ctc_loss(labels, y_pred, label_length, frames, mask_index=0)


# -- the formulas the classes above share -------------------------------------------------------

def _hinge_margin(y_true, y_pred):
    """``max(1 - y_true * y_pred, 0)`` element by element, labels that are all 0/1 taken as -1/1
    (decided on the labels' device: no host read)."""
    t = getattr(y_true, "value", y_true)
    binary = ((t == 0) | (t == 1)).all()
    signs = ops.where(binary, 2.0 * y_true - 1.0, y_true)
    return ops.maximum(1.0 - signs * y_pred, 0.0)


def _unit(x, axis):
    """``x`` over its L2 norm along ``axis`` (norms below ``epsilon`` count as ``epsilon``;
    written through the squared norm so that a zero vector has a finite gradient)."""
    eps = backend.epsilon()
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), eps * eps))


def _dice(y_true, y_pred, axis):
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)`` over ``axis``."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    inter = ops.sum(y_true * y_pred, axis=axis)
    total = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * inter / (total + backend.epsilon())


def _tversky(y_true, y_pred, alpha, beta, axis):
    """``1 - I / (I + alpha * A + beta * B + epsilon)`` over ``axis`` (see ``Tversky``)."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    inter = ops.sum(y_true * y_pred, axis=axis)
    missed = ops.sum(y_true * (1.0 - y_pred), axis=axis)
    extra = ops.sum((1.0 - y_true) * y_pred, axis=axis)
    return 1.0 - inter / (inter + alpha * missed + beta * extra + backend.epsilon())


_NO_PAIR = -1e30        # log(0) for pairs outside a mask: finite, so no NaN gradient


def _circle(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin):
    """Per-sample circle loss (see ``Circle``); the result carries ``_keras_mask`` (its
    positive entries), which the ``Loss`` reduction averages over, as Keras does."""
    labels = getattr(y_true, "value", y_true)
    refs = labels if ref_labels is None else _as_labels(ref_labels, y_pred, class_ids=True).value
    ref = y_pred if ref_embeddings is None else _as_labels(ref_embeddings, y_pred)
    xp = backend.get_array_module(labels)
    query, keys = labels.reshape(-1, 1), refs.reshape(-1, 1)
    positive = query == keys.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~xp.eye(query.shape[0], keys.shape[0], dtype=bool)
    dist = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(ref)), 0.0)
    pos_w = ops.maximum((margin + dist) * positive.astype(dist.dtype), 0.0)
    neg_w = ops.maximum((1.0 + margin - dist) * negative.astype(dist.dtype), 0.0)
    pos_logits = ops.where(positive, -gamma * pos_w * (margin - dist), _NO_PAIR)
    neg_logits = ops.where(negative, gamma * neg_w * (1.0 - margin - dist), _NO_PAIR)
    out = ops.softplus(ops.logsumexp(pos_logits, axis=1) + ops.logsumexp(neg_logits, axis=1))
    out._keras_mask = out.value > 0
    return out


def _check_number(where, arg, value, low=None, high=None, low_open=False, high_open=False):
    """Refuse ``value`` unless it is a real number in the given bounds, in one line naming the
    loss and the argument."""
    import numbers
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            bounds.append(f"{'<' if high_open else '<='} {high:g}")
        need = "a number" + (" " + " and ".join(bounds) if bounds else "")
        raise ValueError(f"{where}: {arg} must be {need}, got {value!r}")


def _check_focal(where, alpha, gamma, label_smoothing, alpha_in_01):
    """The focal losses' arguments: ``alpha`` (in [0, 1] for the binary loss; a number or one
    number per class for the categorical one), ``gamma`` and ``label_smoothing`` in [0, 1]."""
    if alpha_in_01:
        _check_number(where, "alpha", alpha, low=0.0, high=1.0)
    elif isinstance(alpha, (list, tuple)):
        for a in alpha:
            _check_number(where, "alpha", a)
    else:
        _check_number(where, "alpha", alpha)
    _check_number(where, "gamma", gamma)
    _check_number(where, "label_smoothing", label_smoothing, low=0.0, high=1.0)


def _check_q(where, q):
    _check_number(where, "q", q, low=0.0, high=1.0, low_open=True, high_open=True)


def _check_axis(where, axis, allow_none):
    ok = isinstance(axis, int) and not isinstance(axis, bool)
    if allow_none and not ok:
        ok = axis is None or (isinstance(axis, (list, tuple)) and len(axis) > 0 and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis))
    if not ok:
        need = "None, an int or a tuple of ints" if allow_none else "an int"
        raise ValueError(f"{where}: axis must be {need}, got {axis!r}")


def _check_class_ids(loss, y, output_shape, where):
    """Refuse labels that are not integer class ids ``(n, ...)`` (or ``(n, ..., 1)``) in
    ``[0, classes)`` for outputs of ``output_shape`` (the sparse losses' ``validate``)."""
    y = np.asarray(backend.to_numpy(y))
    n_classes = output_shape[-1]
    if y.ndim == len(output_shape) and y.shape[-1] == 1:
        y = y[..., 0]
    if y.ndim != len(output_shape) - 1:
        raise ValueError(f"{type(loss).__name__}: `{where}` should hold integer class ids of shape "
                         f"(n,) for outputs of shape {tuple(output_shape)}; got shape {y.shape}")
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"{type(loss).__name__}: `{where}` must hold integer class ids, "
                         f"got non-integer values")
    if n_classes is not None and y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{type(loss).__name__}: `{where}` class ids must be in [0, {n_classes}) "
                         f"for a model with {n_classes} outputs; got values in "
                         f"[{y.min()}, {y.max()}]")


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


def _loss_mask(per_sample, y_pred):
    """Which per-sample values count: the predictions' mask (``_keras_mask``, e.g. the time
    steps after ``Embedding(mask_zero=True)``) where it has the values' shape, and the mask the
    loss itself sets (Circle's zeros); both when both, as Keras. None when neither."""
    masks = [getattr(t, "_keras_mask", None) if isinstance(t, Tensor) else None for t in (y_pred, per_sample)]
    masks = [getattr(m, "value", m) for m in masks if m is not None]
    masks = [m for m in masks if tuple(m.shape) == tuple(per_sample.shape)]
    if not masks:
        return None
    return masks[0] if len(masks) == 1 else masks[0] & masks[1]


def _mask_weights(mask, reduction, dtype):
    """Keras's rule for a mask on the per-sample values: the averaging reductions divide by the
    number of values kept (each kept value weighs ``total / kept``), the others zero the rest."""
    xp = backend.get_array_module(mask)
    kept = mask.astype(dtype)
    if reduction in ("sum_over_batch_size", "mean"):
        count = kept.sum()
        kept = kept * xp.where(count > 0, kept.size / xp.maximum(count, 1), 0).astype(dtype)
    return Tensor(kept)


REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None)


def _per_sample(loss, y_true, y_pred):
    """``loss.call`` on labels made ready by the loss's rules (``_prepare``); unreduced."""
    return loss.call(*_prepare(loss, y_true, y_pred))


def _prepare(loss, y_true, y_pred):
    """``(y_true, y_pred)`` as ``loss`` takes them: integer predictions in ``floatx`` (a loss is
    a float), labels on ``y_pred``'s device, in its float dtype (not class ids) and
    rank-aligned (``align_label_rank``)."""
    if not isinstance(y_pred, Tensor):        # arrays, lists and numbers, as Keras takes them
        y_pred = ops.convert_to_tensor(y_pred)
    if y_pred.dtype.kind not in "fc":         # integer or bool predictions (Keras casts them)
        y_pred = ops.cast(y_pred, backend.floatx())
    y_true = _as_labels(y_true, y_pred, class_ids=loss.class_id_labels)
    if loss.align_labels:
        y_true = align_label_rank(y_true, tuple(y_pred.shape))
    return y_true, y_pred


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
    if isinstance(alpha, (list, tuple)):      # one weight per class, along the class axis
        trailing = len(p.shape) - 1 - (axis % len(p.shape))
        alpha = backend.to_device(np.asarray(alpha, dtype=p.dtype).reshape((-1,) + (1,) * trailing),
                                  backend.get_array_module(p.value))
    focal = ops.multiply(ops.power(1 - p, gamma), alpha) * ops.negative(y_true * ops.log(p))
    return ops.sum(focal, axis=axis)


def hinge(y_true, y_pred):
    """Per-sample hinge loss ``mean(max(1 - y_true * y_pred, 0), axis=-1)`` (``Hinge``); labels
    that are all 0/1 are taken as -1/1.

    Args:
        y_true (array | Tensor | list): -1/1 (or 0/1) labels of ``y_pred``'s shape (ranks aligned
            as for ``mean_squared_error``).
        y_pred (Tensor | array | list): scores ``(batch, ..., d)``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.hinge(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy().round(4).tolist()
        [1.1, 1.5]
    """
    return _per_sample(Hinge(), y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)`` (``SquaredHinge``); labels
    that are all 0/1 are taken as -1/1.

    Args:
        y_true (array | Tensor | list): -1/1 (or 0/1) labels of ``y_pred``'s shape.
        y_pred (Tensor | array | list): scores ``(batch, ..., d)``.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.squared_hinge(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy().round(4).tolist()
        [1.46, 2.26]
    """
    return _per_sample(SquaredHinge(), y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """Per-sample ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``
    (``CategoricalHinge``).

    Args:
        y_true (array | Tensor | list): one-hot labels ``(batch, ..., classes)``.
        y_pred (Tensor | array | list): scores of the same shape.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.categorical_hinge(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy().round(4).tolist()
        [1.2, 1.6]
    """
    return _per_sample(CategoricalHinge(), y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """Per-sample ``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to
    ``[epsilon, 1]`` (``KLDivergence``).

    Args:
        y_true (array | Tensor | list): a probability distribution per sample.
        y_pred (Tensor | array | list): a probability distribution of the same shape.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.kl_divergence(np.array([[0.0, 1.0], [0.2, 0.8]]), np.array([[0.6, 0.4], [0.4, 0.6]])).numpy().round(4).tolist()
        [0.9163, 0.0915]
    """
    return _per_sample(KLDivergence(), y_true, y_pred)


def poisson(y_true, y_pred):
    """Per-sample ``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)`` (``Poisson``).

    Args:
        y_true (array | Tensor | list): observed counts.
        y_pred (Tensor | array | list): predicted rates of the same shape.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.poisson([[0, 1], [0, 0]], [[1.0, 1.0], [0.0, 0.0]]).numpy().round(4).tolist()
        [1.0, 0.0]
    """
    return _per_sample(Poisson(), y_true, y_pred)


def log_cosh(y_true, y_pred):
    """Per-sample ``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably (``LogCosh``).

    Args:
        y_true (array | Tensor | list): targets.
        y_pred (Tensor | array | list): predictions of the same shape.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.log_cosh(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])).numpy().round(4).tolist()
        [0.2169, 0.0]
    """
    return _per_sample(LogCosh(), y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample ``100 * mean(|y_true - y_pred| / max(|y_true|, epsilon), axis=-1)``
    (``MeanAbsolutePercentageError``).

    Args:
        y_true (array | Tensor | list): targets.
        y_pred (Tensor | array | list): predictions of the same shape.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.mean_absolute_percentage_error([[1.0, 2.0]], [[1.5, 2.0]]).numpy().tolist()
        [25.0]
    """
    return _per_sample(MeanAbsolutePercentageError(), y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample ``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)``
    (``MeanSquaredLogarithmicError``).

    Args:
        y_true (array | Tensor | list): targets.
        y_pred (Tensor | array | list): predictions of the same shape.

    Returns:
        Tensor: ``(batch, ...)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.mean_squared_logarithmic_error(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).numpy().round(4).tolist()
        [0.2402]
    """
    return _per_sample(MeanSquaredLogarithmicError(), y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample minus the cosine similarity along ``axis`` (``CosineSimilarity``).

    Args:
        y_true (array | Tensor | list): vectors ``(batch, ..., d)``.
        y_pred (Tensor | array | list): vectors of the same shape.
        axis (int): the axis the vectors lie along (default -1).

    Returns:
        Tensor: the shape without ``axis``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]).numpy().round(4).tolist()
        [-0.0, -1.0]
    """
    return _per_sample(CosineSimilarity(axis=axis), y_true, y_pred)


def dice(y_true, y_pred, axis=None):
    """The Dice loss over ``axis`` (``Dice``): one value for the whole batch by default.

    Args:
        y_true (array | Tensor | list): 0/1 masks.
        y_pred (Tensor | array | list): probabilities of the same shape.
        axis (int | tuple[int] | None): the axes summed over (default None: all of them).

    Returns:
        Tensor: the shape without ``axis`` (a scalar for None).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.dice([[1.0, 0.0, 1.0]], [[0.9, 0.2, 0.6]]).numpy()), 4)
        0.1892
    """
    return _per_sample(Dice(axis=axis), y_true, y_pred)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """The Tversky loss over ``axis`` (``Tversky``): one value for the whole batch by default.

    Args:
        y_true (array | Tensor | list): 0/1 masks.
        y_pred (Tensor | array | list): probabilities of the same shape.
        alpha (float): the weight of ``sum(y_true * (1 - y_pred))`` (default 0.5), at least 0.
        beta (float): the weight of ``sum((1 - y_true) * y_pred)`` (default 0.5), at least 0.
        axis (int | tuple[int] | None): the axes summed over (default None: all of them).

    Returns:
        Tensor: the shape without ``axis`` (a scalar for None).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.losses.tversky([[1.0, 0.0, 1.0]], [[0.9, 0.2, 0.6]], alpha=0.3, beta=0.7).numpy()), 4)
        0.162
    """
    return _per_sample(Tversky(alpha=alpha, beta=beta, axis=axis), y_true, y_pred)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Per-sample circle loss (``Circle``) of integer labels and L2-normalised embeddings, the
    pairs taken against ``ref_embeddings`` (default: the batch itself).

    Args:
        y_true (array | Tensor | list): integer labels ``(batch,)``.
        y_pred (Tensor | array | list): embeddings ``(batch, d)``, L2-normalised.
        ref_labels (array | Tensor | None): the reference embeddings' labels ``(m,)``
            (default None: ``y_true``).
        ref_embeddings (array | Tensor | None): reference embeddings ``(m, d)`` (default None:
            ``y_pred``).
        remove_diagonal (bool): leave pair ``(i, i)`` out of the positives (default True).
        gamma (float): the scale of the similarity scores (default 80), above 0.
        margin (float): the relaxation margin (default 0.4).

    Returns:
        Tensor: ``(batch,)``; its ``_keras_mask`` marks the entries above 0 (the ``Loss``
        reduction averages over those, as Keras).

    Examples:
        >>> import kerasette as keras
        >>> emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
        >>> keras.losses.circle(np.array([0, 0, 1, 1]), emb).numpy().round(2).tolist()
        [0.0, 6.4, 6.4, 0.0]
    """
    loss = Circle(gamma=gamma, margin=margin, remove_diagonal=remove_diagonal)
    y_true, y_pred = _prepare(loss, y_true, y_pred)
    return _circle(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Per-sample generalized cross-entropy ``(1 - p**q) / q`` of integer labels
    (``CategoricalGeneralizedCrossEntropy``).

    Args:
        y_true (array | Tensor | list): integer class ids ``(batch,)`` or ``(batch, 1)``.
        y_pred (Tensor | array | list): probabilities ``(batch, classes)``.
        q (float): in (0, 1), the noise parameter (no default, as in Keras).

    Returns:
        Tensor: ``(batch,)``.

    Examples:
        >>> import kerasette as keras
        >>> y_pred = np.array([[0.7, 0.3], [0.2, 0.8]])
        >>> keras.losses.categorical_generalized_cross_entropy(np.array([0, 1]), y_pred, q=0.5).numpy().round(4).tolist()
        [0.3267, 0.2111]
    """
    return _per_sample(CategoricalGeneralizedCrossEntropy(q=q), y_true, y_pred)


def ctc(y_true, y_pred):
    """Per-sample CTC loss (``CTC``): integer labels ``(batch, max_length)`` (0 is the blank and
    the padding) against logits ``(batch, time, classes)``.

    Args:
        y_true (array | Tensor | list): integer labels ``(batch, max_length)``.
        y_pred (Tensor | array | list): logits ``(batch, time, classes)``.

    Returns:
        Tensor: ``(batch,)``.

    Examples:
        >>> import kerasette as keras
        >>> keras.losses.ctc(np.array([[1, 2]]), np.zeros((1, 3, 3))).numpy().round(4).tolist()
        [1.6864]
    """
    return _per_sample(CTC(), y_true, y_pred)


def _smoothed(y_true, label_smoothing, classes):
    """Labels moved towards ``1 / classes`` by ``label_smoothing`` (Keras's rule)."""
    return y_true * (1 - label_smoothing) + label_smoothing / classes


def _only_last_axis(fn, axis):
    if axis != -1:
        raise NotImplementedError(f"{fn}: only axis=-1 (the class axis last) is supported by "
                                  f"kerasette, got axis={axis!r}")


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
# the short names Keras 2 had as functions (Keras 3 takes them as strings, below)
kld = KLD = kl_divergence
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh

# every built-in function and the Loss class that computes it (``get(fn)`` gives the class,
# with the function's defaults); categorical_generalized_cross_entropy has no default ``q``
_FUNCTIONS = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError, huber: Huber,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy, hinge: Hinge,
    squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge, kl_divergence: KLDivergence,
    log_cosh: LogCosh, mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, poisson: Poisson,
    cosine_similarity: CosineSimilarity, dice: Dice, tversky: Tversky, circle: Circle, ctc: CTC,
}
_CLASSES = {c.__name__: c for c in list(_FUNCTIONS.values()) + [CategoricalGeneralizedCrossEntropy]}
# the names ``get`` / ``compile(loss=...)`` take, as ``keras.losses.get``: each class's name,
# each function's name (given as its class) and Keras's short aliases. As in Keras 3,
# CategoricalGeneralizedCrossEntropy is not among them (a config dict or the class is).
_BY_NAME = {**{c.__name__: c for c in _FUNCTIONS.values()},
            **{f.__name__: c for f, c in _FUNCTIONS.items()},
            "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "kld": KLDivergence,
            "KLD": KLDivergence, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
            "mse": MeanSquaredError, "MSE": MeanSquaredError, "mape": MeanAbsolutePercentageError,
            "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
            "MSLE": MeanSquaredLogarithmicError}


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
            raise ValueError(f"Unknown loss: {identifier!r}. Known: {sorted(k for k in _BY_NAME if k.islower())} "
                             f"(and the class names); a custom one "
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
