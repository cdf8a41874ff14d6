"""keras.random: seeded random draws and ``SeedGenerator``.

Every function takes ``seed``, as Keras 3 does:

- ``seed=None``: the next seed of this thread's global ``SeedGenerator``; successive
  calls give different draws, and ``keras.utils.set_random_seed(s)`` (or
  ``kerasette.set_random_seed``) restarts it, so a seeded script is reproducible;
- ``seed=int``: the same draws on every call with that seed;
- ``seed=SeedGenerator(...)``: the generator's next seed; it advances at each draw, so a
  layer holding one (``Dropout(seed=1)``) gives a new mask each step, and two layers made
  with the same seed give the same masks.

A draw is keyed by the generator's state, a pair ``(seed, counter)``: it is mixed into one
integer that keys a generator of the array module of the default device: NumPy's
``default_rng`` on the CPU (and on the CuPy stand-in, so its runs match NumPy's); on CuPy a
counter-based SplitMix64 hash computed in array code on the device, with no per-draw set-up. Every function is one code
path over the array module. The same seed gives the same draws on one device; the CPU and GPU
streams differ, except dropout's masks: they come from the counter-based hash on every device
(one compiled pass on the CPU with numba, ``cpu_kernels.dropout_mask``), so a seed drops the same
elements everywhere.
Nothing here is module-level mutable state: the global generator lives in the per-thread
context (``kerasette.context``), and each ``SeedGenerator`` guards its counter with a lock.
"""
import random as _pyrandom
import threading

import numpy as np

from . import backend, context
from .autograd.tensor import Tensor, Variable

__all__ = ["SeedGenerator", "normal", "uniform", "randint", "truncated_normal", "dropout", "shuffle",
           "categorical", "gamma", "beta", "binomial", "draw_seed", "make_default_seed"]

_MASK64 = (1 << 64) - 1


def make_default_seed():
    """A seed for a ``SeedGenerator`` made without one: drawn from Python's ``random``,
    which ``set_random_seed`` seeds (so unseeded layers are reproducible after it).

    Examples:
        >>> import kerasette as keras
        >>> isinstance(keras.random.make_default_seed(), int)
        True
    """
    return _pyrandom.randint(1, int(1e9))


class SeedGenerator:
    """A stateful seed: each ``next()`` returns the current ``(seed, counter)`` state and
    advances the counter, so successive draws differ and the sequence is reproducible.

    The state is a non-trainable int32 ``Variable`` ``[seed, counter]`` (``state``), which
    can be read, saved and assigned back to resume a sequence. It lives on the host.

    Args:
        seed (int | None): the initial seed (default: one drawn from Python's ``random``,
            which ``set_random_seed`` seeds).
        name (str | None): default ``seed_generator``, ``seed_generator_1``, ...
        **kwargs: Keras's ``backend`` (``None`` or the backend's name) is accepted; anything
            else is refused.

    Examples:
        >>> import kerasette as keras
        >>> g = keras.random.SeedGenerator(seed=42)
        >>> a = keras.random.normal((2,), seed=g)
        >>> b = keras.random.normal((2,), seed=g)
        >>> bool((np.asarray(a) != np.asarray(b)).all())
        True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise TypeError(f"SeedGenerator: unexpected keyword argument(s) {sorted(kwargs)}")
        if seed is None:
            seed = make_default_seed()
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an integer or None, got {seed!r}")
        self._initial_seed = int(seed)
        if name is None:
            n = backend.get_uid("seed_generator") - 1
            name = "seed_generator" if n == 0 else f"seed_generator_{n}"
        self.name = name
        with backend.device_scope("cpu"):       # a pair of ints: read on the host at each draw
            self.state = Variable(np.array([self._initial_seed, 0], np.int32), trainable=False,
                                  name="seed_generator_state")
        self.state.path = f"{name}/seed_generator_state"
        self._lock = threading.Lock()

    def next(self, ordered=True):
        """The current state ``[seed, counter]`` (a NumPy int array); the counter advances.

        Args:
            ordered (bool): accepted for Keras compatibility (draws are always ordered).
        """
        with self._lock:
            value = backend.to_numpy(self.state.value).copy()
            self.state.value[1] += 1
        return value

    def get_config(self):
        """``{"seed", "name"}``: the initial seed (the counter is state, saved with ``state``)."""
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        """A new generator from ``get_config()``.

        Args:
            config (dict): ``{"seed", "name"}``.
        """
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name} state={backend.to_numpy(self.state.value).tolist()}>"


def _global_generator():
    """This thread's global SeedGenerator (restarted by ``set_random_seed``)."""
    ctx = context.current()
    gen = getattr(ctx, "seed_generator", None)
    if gen is None:
        gen = SeedGenerator(getattr(ctx, "random_seed", None), name="global_seed_generator")
        ctx.seed_generator = gen
    return gen


def draw_seed(seed):
    """The ``[seed, counter]`` pair a draw is keyed by (see the module docstring).

    Args:
        seed (int | SeedGenerator | None): None: the global generator's next seed; an int:
            ``[seed, 0]``; a SeedGenerator: its next seed.

    Examples:
        >>> import kerasette as keras
        >>> np.array_equal(keras.random.draw_seed(7), keras.random.draw_seed(7))
        True
    """
    if seed is None:
        return _global_generator().next()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.array([int(seed), 0], np.int64)
    raise ValueError(f"seed must be None, an integer or a keras.random.SeedGenerator, got {seed!r}")


def _mix(a, b):
    """One well-spread 63-bit integer from a pair (SplitMix64's finaliser)."""
    z = (a * 0x9E3779B97F4A7C15 + (b + 1) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


def _rng(seed, mod=None):
    """A generator keyed by the next state of ``seed``: the module's ``default_rng`` (NumPy's;
    the CuPy stand-in's wraps NumPy's, so a stand-in run draws what NumPy draws); on CuPy a
    counter-based one computed on the device (``_HashGenerator``), as a fresh
    ``cupy.random.default_rng`` would set up 256k cuRAND states at every draw."""
    mod = mod or backend.xp()
    key = _key(seed)
    if getattr(mod, "__name__", "").split(".")[0] == "cupy":
        return _HashGenerator(mod, key)
    return mod.random.default_rng(key)


def _key(seed):
    """The 63-bit key of the next state of ``seed`` (advances a SeedGenerator once)."""
    s = draw_seed(seed)
    return _mix(int(s[0]) & 0xFFFFFFFF, int(s[1]) & 0xFFFFFFFF)


class _HashGenerator:
    """SplitMix64 as a counter-based generator in array code: sample ``i`` of a stream is
    ``mix(key + (offset + i + 1) * golden)``; elementwise integer ops only, so it runs on any
    array module with no set-up and no size limit. Offers the three draws this module uses."""

    def __init__(self, mod, key):
        self.mod, self.key, self.offset = mod, key, 0

    def _bits(self, n):
        xp = self.mod
        u64 = xp.uint64
        z = (xp.arange(self.offset + 1, self.offset + n + 1, dtype=u64) * u64(0x9E3779B97F4A7C15)
             + u64(self.key))
        self.offset += n
        z ^= z >> u64(30)
        z *= u64(0xBF58476D1CE4E5B9)
        z ^= z >> u64(27)
        z *= u64(0x94D049BB133111EB)
        z ^= z >> u64(31)
        return z

    def random(self, size=None, dtype="float32"):
        shape = _shape(size) if size is not None else ()
        n = int(np.prod(shape)) if shape else 1
        z = self._bits(n)
        if np.dtype(dtype) == np.float64:
            u = (z >> self.mod.uint64(11)).astype("float64") * (2.0 ** -53)
        else:
            u = (z >> self.mod.uint64(40)).astype("float32") * np.float32(2.0 ** -24)
        return u.reshape(shape)

    def standard_normal(self, size=None, dtype="float32"):
        shape = _shape(size) if size is not None else ()
        n = int(np.prod(shape)) if shape else 1
        xp = self.mod
        u1 = 1.0 - self.random((n,), "float64")                 # (0, 1]: log is finite
        u2 = self.random((n,), "float64")
        z = xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * np.pi * u2)      # Box-Muller
        return z.astype(dtype).reshape(shape)

    def integers(self, low, high=None, size=None, dtype="int64"):
        if high is None:
            low, high = 0, low
        shape = _shape(size) if size is not None else ()
        u = self.random(shape, "float64")
        return (self.mod.floor(u * (high - low)) + low).astype(dtype)


def _uniform_array(shape, seed, mod, dtype="float32"):
    """Raw uniform ``[0, 1)`` samples of ``mod`` (for layers building their own masks)."""
    return _rng(seed, mod).random(tuple(shape), dtype=_draw_dtype(str(dtype)))


def _float_dtype(dtype, where):
    dtype = str(np.dtype(dtype or backend.floatx()))
    if not dtype.startswith("float"):
        raise ValueError(f"{where}: dtype must be a float type, got {dtype!r}")
    return dtype


def _draw_dtype(dtype):
    return "float64" if dtype == "float64" else "float32"   # generators draw float32/64 only


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution.

    Args:
        shape (tuple[int, ...]): the samples' shape.
        mean (float): the distribution's mean (default 0).
        stddev (float): its standard deviation (default 1).
        dtype (str | None): a float dtype (default ``floatx()``).
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = keras.random.normal((2, 3), mean=1.0, stddev=0.5, seed=0)
        >>> x.shape, str(x.dtype)
        ((2, 3), 'float32')
    """
    dtype = _float_dtype(dtype, "normal")
    x = _rng(seed).standard_normal(_shape(shape), dtype=_draw_dtype(dtype))
    return Tensor((x * stddev + mean).astype(dtype, copy=False))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of a uniform distribution on ``[minval, maxval)``.

    Args:
        shape (tuple[int, ...]): the samples' shape.
        minval (float): the lower bound (included; default 0).
        maxval (float): the upper bound (excluded; default 1).
        dtype (str | None): a float dtype (default ``floatx()``); for integers use ``randint``.
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = np.asarray(keras.random.uniform((1000,), minval=2.0, maxval=3.0, seed=0))
        >>> x.shape, bool(2.0 <= x.min() and x.max() < 3.0)
        ((1000,), True)
    """
    dtype = _float_dtype(dtype, "uniform")
    x = _rng(seed).random(_shape(shape), dtype=_draw_dtype(dtype))
    return Tensor((x * (maxval - minval) + minval).astype(dtype, copy=False))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from ``[minval, maxval)``.

    Args:
        shape (tuple[int, ...]): the samples' shape.
        minval (int): the lowest value (included).
        maxval (int): the upper bound (excluded).
        dtype (str): an integer dtype (default ``"int32"``).
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = keras.random.randint((1000,), 0, 3, seed=0)
        >>> sorted(set(np.asarray(x).tolist()))
        [0, 1, 2]
    """
    if np.dtype(dtype).kind not in "iu":
        raise ValueError(f"randint: dtype must be an integer type, got {dtype!r}")
    x = _rng(seed).integers(int(minval), int(maxval), size=_shape(shape), dtype="int64")
    return Tensor(x.astype(dtype, copy=False))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples, redrawn until within two standard deviations of the mean.

    Args:
        shape (tuple[int, ...]): the samples' shape.
        mean (float): the distribution's mean (default 0).
        stddev (float): the standard deviation before truncation (default 1).
        dtype (str | None): a float dtype (default ``floatx()``).
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = keras.random.truncated_normal((1000,), stddev=1.0, seed=0)
        >>> bool(abs(np.asarray(x)).max() <= 2.0)
        True
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    rng, shape = _rng(seed), _shape(shape)
    x = rng.standard_normal(shape, dtype=_draw_dtype(dtype))
    mod = backend.get_array_module(x)
    bad = abs(x) > 2.0
    while bool(bad.any()):              # each round keeps ~95% of what it redraws
        x = mod.where(bad, rng.standard_normal(shape, dtype=x.dtype), x)
        bad = abs(x) > 2.0
    return Tensor((x * stddev + mean).astype(dtype, copy=False))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each element of ``inputs`` with probability ``rate``, scale the rest by
    ``1 / (1 - rate)`` (differentiable in ``inputs``).

    Args:
        inputs (Tensor | array): the values.
        rate (float): the drop probability, in ``[0, 1)``.
        noise_shape (tuple | None): the mask's shape, broadcast against ``inputs``
            (``None`` entries take the input's size), e.g. ``(batch, 1, features)``.
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> y = np.asarray(keras.random.dropout(np.ones((4, 4)), rate=0.5, seed=0))
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
    """
    from . import ops
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate!r}")
    x = inputs if isinstance(inputs, Tensor) else ops.convert_to_tensor(inputs)
    xv = x.value
    shape = tuple(xv.shape)
    if noise_shape is not None:
        if len(noise_shape) != xv.ndim:
            raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} must have one entry per axis of "
                             f"the input, whose shape is {shape}")
        shape = tuple(n if d is None else int(d) for d, n in zip(noise_shape, xv.shape))
    return ops.multiply(x, _dropout_mask(backend.get_array_module(xv), shape, rate, _key(seed), xv.dtype))


def _dropout_mask(mod, shape, rate, key, dtype):
    """Dropout's mask ``(shape)``: ``1 / (1 - rate)`` where a uniform draw is ``>= rate``, else 0.

    On every device the draws come from the counter-based ``_HashGenerator`` keyed by ``key``, so
    one seed drops the same elements on NumPy, the stand-in and CuPy. On NumPy with numba the mask
    is one compiled pass (``cpu_kernels.dropout_mask``: 10 against ~150 us for 128x512, an MLP
    batch's dropout layer), the same numbers as the array code below."""
    from . import cpu_kernels
    dtype = np.dtype(dtype)
    if mod is np:
        out = np.empty(shape, dtype)
        if cpu_kernels.usable(out):
            cpu_kernels.dropout_mask(out, key, rate)
            return out
    draw = _HashGenerator(mod, key).random(shape, dtype=_draw_dtype(str(dtype)))
    return (draw >= rate).astype(dtype) * dtype.type(1.0 / (1.0 - rate))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` in a random order.

    Args:
        x (Tensor | array): the values.
        axis (int): the axis to shuffle (default 0).
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> sorted(np.asarray(keras.random.shuffle(np.arange(5), seed=0)).tolist())
        [0, 1, 2, 3, 4]
    """
    from . import ops
    t = x if isinstance(x, Tensor) else ops.convert_to_tensor(x)
    ndim = t.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"shuffle: axis {axis} is out of range for an input of rank {ndim}")
    axis %= ndim
    mod = backend.get_array_module(t.value)
    order = _rng(seed, mod).random((t.shape[axis],), dtype="float64").argsort()
    return ops.get_item(t, (slice(None),) * axis + (order,))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class ids drawn from categorical distributions (Gumbel-max on the logits).

    Args:
        logits (Tensor | array): ``(batch, classes)`` unnormalised log-probabilities.
        num_samples (int): how many draws per row.
        dtype (str): the ids' integer dtype (default ``"int32"``).
        seed (int | SeedGenerator | None): see the module docstring.

    Returns a ``(batch, num_samples)`` Tensor.

    Examples:
        >>> import kerasette as keras
        >>> logits = np.log(np.array([[0.0, 1.0], [1.0, 0.0]]) + 1e-9)
        >>> np.asarray(keras.random.categorical(logits, 3, seed=0)).tolist()
        [[1, 1, 1], [0, 0, 0]]
    """
    lv = getattr(logits, "value", logits)
    if not backend.is_array(lv):
        lv = backend.to_device(np.asarray(lv, np.float32))
    if lv.ndim != 2:
        raise ValueError(f"categorical: logits must be (batch, classes), got shape {tuple(lv.shape)}")
    mod = backend.get_array_module(lv)
    u = _rng(seed, mod).random((lv.shape[0], int(num_samples), lv.shape[1]), dtype="float64")
    gumbel = -mod.log(-mod.log(mod.clip(u, 1e-300, 1.0)))
    return Tensor((lv[:, None, :].astype("float64") + gumbel).argmax(axis=-1).astype(dtype))


def _gamma_draws(rng, mod, alpha, shape):
    """Marsaglia and Tsang's method, vectorised; alpha < 1 boosted by ``u ** (1 / alpha)``."""
    alpha = mod.broadcast_to(mod.asarray(alpha, dtype="float64"), shape)
    small = alpha < 1
    a = mod.where(small, alpha + 1, alpha)
    d = a - 1.0 / 3
    c = 1.0 / mod.sqrt(9 * d)
    out = mod.zeros(shape, dtype="float64")
    todo = mod.ones(shape, dtype=bool)
    while bool(todo.any()):
        z = rng.standard_normal(shape, dtype="float64")
        u = rng.random(shape, dtype="float64")
        v = (1 + c * z) ** 3
        ok = (v > 0) & (mod.log(mod.clip(u, 1e-300, 1)) < 0.5 * z * z + d - d * mod.where(v > 0, v, 1)
                        + d * mod.log(mod.where(v > 0, v, 1)))
        take = ok & todo
        out = mod.where(take, d * v, out)
        todo = todo & ~take
    boost = rng.random(shape, dtype="float64")
    return mod.where(small, out * mod.clip(boost, 1e-300, 1) ** (1.0 / alpha), out)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of a gamma distribution of shape ``alpha`` (scale 1).

    Args:
        shape (tuple[int, ...]): the samples' shape.
        alpha (float | array): the shape parameter (> 0), broadcast to ``shape``.
        dtype (str | None): a float dtype (default ``floatx()``).
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = np.asarray(keras.random.gamma((1000,), alpha=2.0, seed=0))
        >>> x.shape, bool((x > 0).all())
        ((1000,), True)
    """
    dtype = _float_dtype(dtype, "gamma")
    mod = backend.xp()
    out = _gamma_draws(_rng(seed, mod), mod, _as(mod, alpha), _shape(shape))
    return Tensor(out.astype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):  # noqa: A002 - keras.random name
    """Samples of a beta distribution: ``g1 / (g1 + g2)`` of two gamma draws.

    Args:
        shape (tuple[int, ...]): the samples' shape.
        alpha (float | array): the first shape parameter (> 0), broadcast to ``shape``.
        beta (float | array): the second shape parameter (> 0), broadcast to ``shape``.
        dtype (str | None): a float dtype (default ``floatx()``).
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = np.asarray(keras.random.beta((1000,), alpha=2.0, beta=3.0, seed=0))
        >>> bool(((x > 0) & (x < 1)).all())
        True
    """
    dtype = _float_dtype(dtype, "beta")
    mod, shape = backend.xp(), _shape(shape)
    rng = _rng(seed, mod)
    g1 = _gamma_draws(rng, mod, _as(mod, alpha), shape)
    g2 = _gamma_draws(rng, mod, _as(mod, beta), shape)
    return Tensor((g1 / (g1 + g2)).astype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of binomial distributions: successes in ``counts`` trials of probability
    ``probabilities`` (both broadcast to ``shape``), counted trial by trial (exact; the cost
    grows with the largest count).

    Args:
        shape (tuple[int, ...]): the samples' shape.
        counts (int | array): the number of trials.
        probabilities (float | array): the success probability of each trial.
        dtype (str | None): a float dtype (default ``floatx()``), as Keras returns.
        seed (int | SeedGenerator | None): see the module docstring.

    Examples:
        >>> import kerasette as keras
        >>> x = np.asarray(keras.random.binomial((1000,), counts=5, probabilities=0.5, seed=0))
        >>> bool(((x >= 0) & (x <= 5)).all())
        True
    """
    dtype = _float_dtype(dtype, "binomial")
    mod, shape = backend.xp(), _shape(shape)
    rng = _rng(seed, mod)
    n = mod.broadcast_to(mod.asarray(_as(mod, counts), dtype="float64"), shape)
    p = mod.broadcast_to(mod.asarray(_as(mod, probabilities), dtype="float64"), shape)
    total, out, chunk = int(float(n.max())) if n.size else 0, mod.zeros(shape, dtype="float64"), 64
    for start in range(0, total, chunk):
        k = min(chunk, total - start)
        u = rng.random((k,) + shape, dtype="float64")
        trial = mod.arange(start, start + k).reshape((k,) + (1,) * len(shape))
        out = out + ((u < p) & (trial < n)).sum(axis=0)
    return Tensor(out.astype(dtype))


def _as(mod, x):
    x = getattr(x, "value", x)
    if backend.is_array(x):
        return backend.to_device(backend.to_numpy(x), mod) if backend.get_array_module(x) is not mod else x
    return x
