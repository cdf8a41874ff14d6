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
           "CosineDecay", "PolynomialDecay", "CosineDecayRestarts", "serialize", "deserialize"]


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


class PolynomialDecay(LearningRateSchedule):
    """From ``initial`` to ``end_learning_rate`` along ``(1 - step / decay_steps) ** power``, then
    constant (with ``cycle``: decay again over each next multiple of ``decay_steps``)::

        (initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end
        cycle: decay_steps * max(1, ceil(step / decay_steps)) in place of decay_steps

    Args:
        initial_learning_rate (float): the rate at step 0.
        decay_steps (int): the steps the decay takes, ``> 0``.
        end_learning_rate (float): the rate reached (default 0.0001).
        power (float): the polynomial's power (default 1.0: linear).
        cycle (bool): restart the decay, over a longer span, past ``decay_steps`` (default False).
        name (str | None): kept in the config (default "PolynomialDecay").

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> lr = schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01)
        >>> [round(float(lr(s)), 6) for s in (0, 5, 10, 20)]
        [0.1, 0.055, 0.01, 0.01]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        if not decay_steps > 0:
            raise ValueError(f"PolynomialDecay: decay_steps must be > 0, got {decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle = end_learning_rate, power, cycle
        self.name = name

    def __call__(self, step):
        span = self.decay_steps
        if self.cycle:
            span = span * (1.0 if step == 0 else math.ceil(step / self.decay_steps))
        else:
            step = min(step, span)
        frac = 1 - step / span
        span_of_rates = self.initial_learning_rate - self.end_learning_rate
        return span_of_rates * frac ** self.power + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the ``i``-th period (from 0) lasts
    ``first_decay_steps * t_mul**i`` steps, starts at ``initial * m_mul**i`` and decays along a
    half cosine to ``alpha`` times that start.

    Args:
        initial_learning_rate (float): the rate at step 0.
        first_decay_steps (int): the length of the first period, ``> 0``.
        t_mul (float): each period's length over the previous one's (default 2.0).
        m_mul (float): each period's starting rate over the previous one's (default 1.0).
        alpha (float): the lowest rate of a period as a fraction of its start (default 0.0).
        name (str | None): kept in the config (default "SGDRDecay").

    Examples:
        >>> from kerasette.optimizers import schedules
        >>> lr = schedules.CosineDecayRestarts(0.1, first_decay_steps=10, m_mul=0.5)
        >>> [round(float(lr(s)), 6) for s in (0, 5, 10, 30)]
        [0.1, 0.05, 0.05, 0.025]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        if not first_decay_steps > 0:
            raise ValueError(f"CosineDecayRestarts: first_decay_steps must be > 0, got {first_decay_steps}")
        if not t_mul > 0:
            raise ValueError(f"CosineDecayRestarts: t_mul must be > 0, got {t_mul}")
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha = t_mul, m_mul, alpha
        self.name = name

    def __call__(self, step):
        done = step / self.first_decay_steps          # in units of the first period
        if self.t_mul == 1.0:
            period = math.floor(done)
            frac = done - period
        else:
            # periods 0..i-1 span (1 - t_mul**i) / (1 - t_mul) first periods
            def start(i):
                return (1.0 - self.t_mul ** i) / (1.0 - self.t_mul)
            left = 1.0 - done * (1.0 - self.t_mul)
            if left <= 0:               # t_mul < 1: past the end of infinitely many periods
                return math.nan         # (as Keras: the logarithm of a negative number)
            period = math.floor(math.log(left) / math.log(self.t_mul))
            while period > 0 and start(period) > done:         # the logarithm's rounding, at
                period -= 1                                    # a restart, either way
            while start(period + 1) <= done:
                period += 1
            frac = (done - start(period)) / self.t_mul ** period
        cosine = 0.5 * self.m_mul ** period * (1.0 + math.cos(math.pi * frac))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul, "m_mul": self.m_mul,
                "alpha": self.alpha, "name": self.name}


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
