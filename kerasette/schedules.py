"""Learning-rate schedules (``keras.optimizers.schedules``): callables ``step -> lr``.

Pass one as an optimizer's ``learning_rate``; the optimizer calls it with the
0-based number of steps taken so far, as Keras does.

Examples:
    >>> from kerasette.optimizers import SGD, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> round(lr(10), 6), round(lr(20), 6)
    (0.05, 0.025)
"""
import math

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
           "CosineDecay", "serialize", "deserialize"]


class LearningRateSchedule:
    """Base class: ``__call__(step) -> float`` and ``get_config()``.

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> class Halving(schedules.LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 * 0.5 ** (step // 10)
        ...
        >>> [Halving()(s) for s in (0, 10, 25)]
        [0.1, 0.05, 0.025]
    """

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial * decay_rate ** (step / decay_steps)`` (floored exponent with ``staircase``).

    Args:
        initial_learning_rate (float): the rate at step 0.
        decay_steps (int): the step scale of the decay.
        decay_rate (float): the decay factor.
        staircase (bool): decay in whole multiples of ``decay_steps`` (default False).
        name (str | None): kept in the config.

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> round(schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20), 6)
        0.025
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase = decay_rate, staircase
        self.name = name or type(self).__name__

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(ExponentialDecay):
    """``initial / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate (float): the rate at step 0.
        decay_steps (int): the step scale of the decay.
        decay_rate (float): the decay factor.
        staircase (bool): decay in whole multiples of ``decay_steps`` (default False).
        name (str | None): kept in the config.

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> lr = schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)
        >>> round(float(lr(10)), 6), round(float(lr(30)), 6)
        (0.05, 0.025)
    """

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(p) if self.staircase else p))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` while ``step <= boundaries[i]``; ``values[-1]`` after the last boundary.

    Args:
        boundaries (list[int]): increasing step numbers.
        values (list[float]): one more value than boundaries.
        name (str | None): kept in the config.

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> lr = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
        >>> [float(lr(s)) for s in (0, 150, 250)]
        [1.0, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: need len(values) == len(boundaries) + 1, got "
                             f"{len(values)} values and {len(boundaries)} boundaries")
        self.boundaries, self.values = list(boundaries), list(values)
        self.name = name or "PiecewiseConstant"

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine from ``initial`` down to ``initial * alpha`` over ``decay_steps`` (optional linear warmup).

    Args:
        initial_learning_rate (float): the rate at step 0: where the decay starts, or with a
            warmup where the warmup starts (the decay then starts from ``warmup_target``).
        decay_steps (int): steps of the cosine decay.
        alpha (float): the final rate as a fraction of the initial one (default 0.0).
        name (str | None): kept in the config.
        warmup_target (float | None): the rate the linear warmup reaches (default None: no
            warmup).
        warmup_steps (int): steps of the warmup (default 0).

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> lr = schedules.CosineDecay(0.1, decay_steps=100)
        >>> [round(float(lr(s)), 6) for s in (0, 50, 100)]
        [0.1, 0.05, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None, warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps
        self.name = name or "CosineDecay"

    def __call__(self, step):
        start = self.initial_learning_rate
        if self.warmup_target is not None and step < self.warmup_steps:
            return start + (self.warmup_target - start) * step / self.warmup_steps
        if self.warmup_target is not None:
            start, step = self.warmup_target, step - self.warmup_steps
        frac = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * frac))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps,
                "name": self.name}


def serialize(schedule):
    """``{"module", "class_name", "config", "registered_name"}`` of a schedule, as Keras writes it.

    Args:
        schedule: the learning-rate schedule to describe.

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> schedules.serialize(schedules.CosineDecay(0.1, decay_steps=100))["class_name"]
        'CosineDecay'
    """
    from . import registry
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedules.serialize: expected a LearningRateSchedule, got "
                        f"{type(schedule).__name__}")
    return registry.serialize_keras_object(schedule)


def deserialize(config, custom_objects=None):
    """A schedule from ``serialize``'s dict (built-in, registered or in ``custom_objects``).

    Args:
        config (dict): the dict ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> lr = schedules.deserialize(schedules.serialize(schedules.CosineDecay(0.1, decay_steps=100)))
        >>> type(lr).__name__, round(float(lr(50)), 6)
        ('CosineDecay', 0.05)
    """
    from . import registry
    obj = registry.deserialize_keras_object(config, custom_objects, kinds=("schedule",))
    if not isinstance(obj, LearningRateSchedule) and not callable(obj):
        raise ValueError(f"schedules.deserialize: {config.get('class_name')!r} is not a "
                         f"learning-rate schedule")
    return obj
