"""Weight regularizers: a penalty on a weight, added to the training loss.

``Dense(64, kernel_regularizer=regularizers.L2(1e-4))`` adds
``1e-4 * sum(kernel ** 2)`` to the loss every step; ``layer.losses`` (and
``model.losses``) list the current penalties and ``Model.compute_loss`` adds
them, so the reported ``loss`` includes them, as in Keras. Penalties are
built from ops, so their gradients flow through the same autograd.

Examples:
    >>> import numpy as np
    >>> from kerasette import regularizers
    >>> float(regularizers.L1L2(l1=0.5, l2=0.25)(np.array([1.0, -2.0])).numpy())
    2.75
"""
import math

from . import ops

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "deserialize", "serialize"]


class Regularizer:
    """Base class: ``__call__(weight) -> scalar Tensor`` and ``get_config()``.

    Examples:
        >>> import kerasette as keras
        >>> class Sum(keras.regularizers.Regularizer):
        ...     def __call__(self, x):
        ...         return 0.1 * keras.ops.sum(keras.ops.abs(x))
        ...
        >>> round(float(Sum()(np.array([1.0, -2.0])).numpy()), 4)
        0.3
    """

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w ** 2)``.

    Args:
        l1 (float): weight of the absolute values (default 0.0).
        l2 (float): weight of the squares (default 0.0).

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> float(keras.regularizers.L1L2(l1=0.1, l2=0.5)(np.array([1.0, -2.0])).value)
        2.8
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = None
        if self.l1:
            total = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            sq = ops.multiply(ops.sum(ops.square(x)), self.l2)
            total = sq if total is None else ops.add(total, sq)
        return total if total is not None else ops.multiply(ops.sum(x), 0.0)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)`` (Keras's default ``l1=0.01``).

    Args:
        l1 (float): the weight (default 0.01).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.regularizers.L1(0.1)(np.array([1.0, -2.0])).numpy()), 4)
        0.3
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w ** 2)`` (Keras's default ``l2=0.01``).

    Args:
        l2 (float): the weight (default 0.01).

    Examples:
        >>> import kerasette as keras
        >>> round(float(keras.regularizers.L2(0.1)(np.array([1.0, -2.0])).numpy()), 4)
        0.5
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight towards being orthogonal to each other:
    ``factor * 0.5 * sum(|<u_i, u_j>|, i != j) / (n * (n - 1) / 2)`` over the L2-normalized rows
    ``u_i`` (``mode="rows"``) or columns, as Keras 3's.

    Args:
        factor (float): the penalty's weight, a finite number >= 0 (default 0.01).
        mode (str): ``"rows"`` (default; for a Dense kernel ``(in, units)``, its input
            features) or ``"columns"``.

    Examples:
        >>> import kerasette as keras
        >>> reg = keras.regularizers.OrthogonalRegularizer(factor=1.0)
        >>> round(float(reg(np.array([[1.0, 0.0], [1.0, 1.0]])).numpy()), 4)
        0.7071
    """

    def __init__(self, factor=0.01, mode="rows"):
        if (isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor)
                or factor < 0):
            raise ValueError(f"OrthogonalRegularizer: factor must be a finite number >= 0, got {factor!r}")
        if mode not in ("rows", "columns"):
            raise ValueError(f'OrthogonalRegularizer: mode must be "rows" or "columns", got {mode!r}')
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer: the weight must have rank 2, got shape {tuple(x.shape)}")
        rows = self.mode == "rows"
        unit = ops.normalize(x, axis=1 if rows else 0)
        gram = ops.matmul(unit, ops.transpose(unit)) if rows else ops.matmul(ops.transpose(unit), unit)
        n = x.shape[0] if rows else x.shape[1]
        off_diagonal = ops.multiply(gram, 1.0 - ops.eye(n, dtype=unit.dtype))
        pairs = n * (n - 1) / 2.0
        return ops.multiply(ops.sum(ops.abs(off_diagonal)), self.factor * 0.5 / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2,
            "orthogonal_regularizer": OrthogonalRegularizer, "OrthogonalRegularizer": OrthogonalRegularizer}


def get(identifier):
    """A regularizer from None, a name (``"l2"``), a config dict, a Regularizer or a callable.

    Args:
        identifier (str | dict | object | None): a name, a config dict, an instance or a callable; None gives None.

    Examples:
        >>> import kerasette as keras
        >>> keras.regularizers.get("l2").get_config()
        {'l2': 0.01}
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            return _custom(identifier, identifier, "regularizer", sorted(_BY_NAME))()
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _BY_NAME.get(name) if isinstance(name, str) else None
        if cls is None:
            cls = _custom(identifier.get("registered_name") or name, name, "regularizer class")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret regularizer: {identifier!r}")


def serialize(reg):
    """A JSON-able ``{"class_name", "config"}`` dict (None stays None).

    Args:
        reg: the regularizer to describe.

    Examples:
        >>> import kerasette as keras
        >>> keras.regularizers.serialize(keras.regularizers.L1(0.5))
        {'module': 'keras.regularizers', 'class_name': 'L1', 'config': {'l1': 0.5}, 'registered_name': None}
    """
    if isinstance(reg, Regularizer):
        from . import registry
        return registry.serialize_keras_object(reg)
    return reg


def _custom(key, name, what, known=None):
    """A registered / passed / scoped class for a name that is not built in (the one
    registry, ``kerasette.registry``), else a ValueError naming it."""
    from . import registry
    found = registry.lookup(key) if isinstance(key, str) else None
    if found is None and key != name and isinstance(name, str):
        found = registry.lookup(name)
    if not isinstance(found, type):
        hint = f". Known: {known}" if known else ""
        raise ValueError(f"Unknown {what}: {name!r}{hint}; a custom one must be registered with "
                         f"@keras.saving.register_keras_serializable() or passed in custom_objects")
    return found


def deserialize(config, custom_objects=None):
    """The regularizer a ``serialize`` config describes (a view of ``kerasette.registry``: built-in,
    registered, passed in ``custom_objects`` or in an active ``custom_object_scope``).

    Args:
        config (dict): the dict ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> import kerasette as keras
        >>> reg = keras.regularizers.deserialize({"class_name": "L2", "config": {"l2": 0.5}})
        >>> type(reg).__name__, reg.get_config()
        ('L2', {'l2': 0.5})
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("regularizer",))
