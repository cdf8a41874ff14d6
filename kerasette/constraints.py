"""Weight constraints: a projection applied to a weight after every optimizer step.

``Dense(64, kernel_constraint=constraints.MaxNorm(3))`` rescales each column
of the kernel (the incoming weights of a unit, ``axis=0``) to norm at most 3
after each update, as Keras does. Constraints work on raw arrays (any
backend module) and are not part of the gradient.

Examples:
    >>> import numpy as np
    >>> from kerasette import constraints
    >>> constraints.NonNeg()(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
"""
from . import backend

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm",
           "non_neg", "unit_norm", "get", "deserialize", "serialize"]


class Constraint:
    """Base class: ``__call__(array) -> projected array`` and ``get_config()``.

    Examples:
        >>> import kerasette as keras
        >>> class Clip(keras.constraints.Constraint):
        ...     def __call__(self, w):
        ...         return keras.ops.clip(w, -1.0, 1.0)
        ...
        >>> Clip()(np.array([-3.0, 0.5, 2.0])).numpy().tolist()
        [-1.0, 0.5, 1.0]
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MinMaxNorm(Constraint):
    """Norms along ``axis`` moved towards ``[min_value, max_value]`` by ``rate`` (1: clipped).

    Args:
        min_value (float): the smallest norm (default 0.0).
        max_value (float): the largest norm (default 1.0).
        rate (float): 1 (default) clips exactly; smaller values move part way each step.
        axis (int | tuple): the axis (or axes) the norm is taken over: 0 for a Dense kernel
            ``(in, units)`` (one norm per unit); ``(0, 1, 2)`` for a Conv2D kernel (default 0).

    Examples:
        >>> import kerasette as keras
        >>> w = np.array([[3.0, 0.1], [4.0, 0.0]])
        >>> np.asarray(keras.constraints.MinMaxNorm(0.5, 1.0)(w)).round(4).tolist()
        [[0.6, 0.5], [0.8, 0.0]]
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        xp = backend.get_array_module(w)
        norms = xp.sqrt((w * w).sum(axis=self.axis, keepdims=True))
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (backend.epsilon() + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class MaxNorm(MinMaxNorm):
    """Norms along ``axis`` at most ``max_value`` (smaller ones are kept).

    Args:
        max_value (float): the largest norm (default 2.0).
        axis (int | tuple): the axis (or axes) the norm is taken over: 0 for a Dense kernel
            ``(in, units)`` (one norm per unit); ``(0, 1, 2)`` for a Conv2D kernel (default 0).

    Examples:
        >>> import kerasette as keras
        >>> w = np.array([[3.0, 0.1], [4.0, 0.0]])
        >>> np.asarray(keras.constraints.MaxNorm(2.0)(w)).round(4).tolist()
        [[1.2, 0.1], [1.6, 0.0]]
    """

    def __init__(self, max_value=2.0, axis=0):
        super().__init__(0.0, max_value, 1.0, axis)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Norms along ``axis`` equal to 1.

    Args:
        axis (int | tuple): the axis (or axes) the norm is taken over: 0 for a Dense kernel
            ``(in, units)`` (one norm per unit); ``(0, 1, 2)`` for a Conv2D kernel (default 0).

    Examples:
        >>> import kerasette as keras
        >>> w = np.array([[3.0, 0.0], [4.0, 2.0]])
        >>> np.asarray(keras.constraints.UnitNorm()(w)).round(4).tolist()
        [[0.6, 0.0], [0.8, 1.0]]
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        xp = backend.get_array_module(w)
        norms = xp.sqrt((w * w).sum(axis=self.axis, keepdims=True))
        return (w / (backend.epsilon() + norms)).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


class NonNeg(Constraint):
    """Negative entries set to 0.

    Examples:
        >>> import kerasette as keras
        >>> np.asarray(keras.constraints.NonNeg()(np.array([-1.0, 0.5]))).tolist()
        [0.0, 0.5]
    """

    def __call__(self, w):
        return backend.get_array_module(w).maximum(w, 0).astype(w.dtype, copy=False)


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_BY_NAME = {"max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
            "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm}


def get(identifier):
    """A constraint from None, a name (``"non_neg"``), a config dict, a Constraint or a callable.

    Args:
        identifier (str | dict | object | None): a name, a config dict, an instance or a callable; None gives None.

    Examples:
        >>> import kerasette as keras
        >>> type(keras.constraints.get("max_norm")).__name__
        'MaxNorm'
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            return _custom(identifier, identifier, "constraint", sorted(_BY_NAME))()
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _BY_NAME.get(name) if isinstance(name, str) else None
        if cls is None:
            cls = _custom(identifier.get("registered_name") or name, name, "constraint class")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret constraint: {identifier!r}")


def serialize(constraint):
    """A JSON-able ``{"class_name", "config"}`` dict (None stays None).

    Args:
        constraint: the constraint to describe.

    Examples:
        >>> import kerasette as keras
        >>> keras.constraints.serialize(keras.constraints.MaxNorm(3.0))
        {'module': 'keras.constraints', 'class_name': 'MaxNorm', 'config': {'max_value': 3.0, 'axis': 0}, 'registered_name': None}
    """
    if isinstance(constraint, Constraint):
        from . import registry
        return registry.serialize_keras_object(constraint)
    return constraint


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
    """The constraint a ``serialize`` config describes (a view of ``kerasette.registry``: built-in,
    registered, passed in ``custom_objects`` or in an active ``custom_object_scope``).

    Args:
        config (dict): the dict ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> import kerasette as keras
        >>> c = keras.constraints.deserialize({"class_name": "UnitNorm", "config": {"axis": 1}})
        >>> type(c).__name__, c.axis
        ('UnitNorm', 1)
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("constraint",))
