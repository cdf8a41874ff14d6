"""Weight initializers (Keras names and defaults).

Each initializer is called as ``init(shape, dtype)`` and returns a NumPy
array drawn from kerasette's seeded generator; ``Layer.add_weight`` moves it
to the device. Fans follow Keras: for a conv kernel ``(kh, kw, in, out)`` the
receptive field ``kh*kw`` multiplies both fans.
"""
import numpy as np

from . import backend

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform",
           "LecunNormal", "LecunUniform", "Orthogonal", "Identity", "VarianceScaling", "get", "deserialize",
           "serialize"]


class Initializer:
    """Base class: ``__call__(shape, dtype=None) -> numpy array``.

    Examples:
        >>> from kerasette import initializers
        >>> initializers.Ones()((2, 2), dtype="float32").tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuild from ``get_config()``; keys this initializer does not take (Keras 3
        adds e.g. ``input_axes`` to some configs) are ignored."""
        import inspect
        params = inspect.signature(cls.__init__).parameters
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            config = {k: v for k, v in config.items() if k in params}
        return cls(**config)


class Zeros(Initializer):
    """All zeros: ``Zeros()((2, 3))`` is a ``(2, 3)`` array of 0.0 (the default for biases).

    Examples:
        >>> from kerasette import initializers
        >>> initializers.Zeros()((2, 3))
        array([[0., 0., 0.],
               [0., 0., 0.]], dtype=float32)
    """
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=dtype or backend.floatx())


class Ones(Initializer):
    """All ones.

    Examples:
        >>> from kerasette import initializers
        >>> initializers.Ones()((2,))
        array([1., 1.], dtype=float32)
    """
    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=dtype or backend.floatx())


class Constant(Initializer):
    """Every element equal to ``value``.

    Args:
        value (float): the fill value (default 0.0).

    Examples:
        >>> from kerasette import initializers
        >>> initializers.Constant(0.5)((2,))
        array([0.5, 0.5], dtype=float32)
    """
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=dtype or backend.floatx())

    def get_config(self):
        return {"value": self.value}


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        return backend.random_generator() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_Seeded):
    """Normal samples with ``mean`` and ``stddev`` (Keras's defaults 0.0 and 0.05).

    With ``seed=None`` samples come from kerasette's seeded generator
    (``set_random_seed``); with an int seed the same values every call.

    Args:
        mean (float): default 0.0.
        stddev (float): default 0.05.
        seed (int | None): None (default) draws from kerasette's generator (``set_random_seed``);
            an int gives the same values at every call.

    Examples:
        >>> from kerasette import initializers
        >>> w = initializers.RandomNormal(mean=0.0, stddev=0.05, seed=1)((300, 300))
        >>> w.shape, w.dtype, abs(float(w.std()) - 0.05) < 0.005
        ((300, 300), dtype('float32'), True)
    """
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    """Uniform samples in ``[minval, maxval)`` (Keras's defaults -0.05 and 0.05).

    Args:
        minval (float): lower bound (default -0.05).
        maxval (float): upper bound, excluded (default 0.05).
        seed (int | None): None (default) draws from kerasette's generator (``set_random_seed``);
            an int gives the same values at every call.

    Examples:
        >>> from kerasette import initializers
        >>> w = initializers.RandomUniform(minval=-1.0, maxval=1.0, seed=1)((100, 100))
        >>> w.shape, bool(w.min() >= -1.0 and w.max() < 1.0)
        ((100, 100), True)
    """
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dtype or backend.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal samples redrawn until within two standard deviations.

    Args:
        mean (float): default 0.0.
        stddev (float): of the normal before truncation (default 0.05).
        seed (int | None): None (default) draws from kerasette's generator (``set_random_seed``);
            an int gives the same values at every call.

    Examples:
        >>> from kerasette import initializers
        >>> w = initializers.TruncatedNormal(stddev=0.05, seed=1)((100, 100))
        >>> w.shape, bool(abs(w).max() <= 0.1)
        ((100, 100), True)
    """

    def __call__(self, shape, dtype=None):
        rng = self._rng()
        out = rng.normal(0.0, 1.0, shape)
        bad = np.abs(out) > 2
        while bad.any():
            out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
            bad = np.abs(out) > 2
        return (self.mean + self.stddev * out).astype(dtype or backend.floatx())


class VarianceScaling(_Seeded):
    """Samples scaled to ``scale / fan`` variance (fan_in, fan_out or fan_avg).

    Args:
        scale (float): the variance numerator (default 1.0).
        mode (str): ``"fan_in"`` (default), ``"fan_out"`` or ``"fan_avg"``.
        distribution (str): ``"truncated_normal"`` (default), ``"untruncated_normal"`` or
            ``"uniform"``.
        seed (int | None): None (default) draws from kerasette's generator (``set_random_seed``);
            an int gives the same values at every call.

    Examples:
        >>> from kerasette import initializers
        >>> w = initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform", seed=1)((50, 10))
        >>> w.shape, bool(abs(w).max() <= np.sqrt(3 * 2.0 / 50))
        ((50, 10), True)
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "uniform":
            lim = np.sqrt(3.0 * var)
            out = rng.uniform(-lim, lim, shape)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, np.sqrt(var), shape)
        else:   # truncated normal; 0.8796... is the std of a unit normal cut at 2 sigma
            out = TruncatedNormal(0.0, np.sqrt(var) / 0.87962566103423978, self.seed)(shape, "float64")
        return out.astype(dtype or backend.floatx())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _variance_scaling(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": f"VarianceScaling({scale}, {mode!r}, {distribution!r}).\n\n"
                                                      f"Args:\n    seed (int | None): None draws from kerasette's "
                                                      f"generator (``set_random_seed``); an int repeats the values.\n\n"
                                                      f"Examples:\n"
                                                      f"    >>> from kerasette import initializers\n"
                                                      f"    >>> w = initializers.{name}(seed=0)((3, 4))\n"
                                                      f"    >>> w.shape, str(w.dtype)\n"
                                                      f"    ((3, 4), 'float32')\n"})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")


class Orthogonal(_Seeded):
    """A (semi-)orthogonal matrix from the QR of a normal sample (recurrent kernels).

    Args:
        gain (float): multiplies the matrix (default 1.0).
        seed (int | None): None (default) draws from kerasette's generator (``set_random_seed``);
            an int gives the same values at every call.

    Examples:
        >>> from kerasette import initializers
        >>> w = initializers.Orthogonal(seed=1)((4, 4))
        >>> np.allclose(w.T @ w, np.eye(4), atol=1e-5)
        True
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        a = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return np.ascontiguousarray((self.gain * q[:rows, :cols]).reshape(shape), dtype=dtype or backend.floatx())

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix, for 2-D shapes (``np.eye(rows, cols)``).

    Args:
        gain (float): multiplies the matrix (default 1.0).

    Examples:
        >>> from kerasette import initializers
        >>> initializers.Identity(gain=2.0)((2, 3)).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        return (self.gain * np.eye(*shape)).astype(dtype or backend.floatx())

    def get_config(self):
        return {"gain": self.gain}


def compute_fans(shape):
    """``(fan_in, fan_out)`` of a weight shape, Keras's rule."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * rf, shape[-1] * rf


_ALIASES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "identity": Identity, "variance_scaling": VarianceScaling,
}



# Keras 3's other names for the same classes (``keras.initializers.he_normal()``, ...)
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
glorot_uniform, glorot_normal, he_normal, he_uniform = GlorotUniform, GlorotNormal, HeNormal, HeUniform
lecun_normal, lecun_uniform, variance_scaling = LecunNormal, LecunUniform, VarianceScaling
orthogonal = OrthogonalInitializer = Orthogonal
identity = IdentityInitializer = Identity


def get(identifier):
    """An initializer from a name (``"glorot_uniform"``), a config dict, or a callable.

    Args:
        identifier (str | dict | object | None): a name, a config dict, an instance or a callable; None gives None.

    Examples:
        >>> from kerasette import initializers
        >>> type(initializers.get("he_normal")).__name__
        'HeNormal'
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        key = identifier if identifier in _ALIASES else _snake(identifier)
        if key not in _ALIASES:
            return _custom(identifier, identifier, "initializer", sorted(_ALIASES))()
        return _ALIASES[key]()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _ALIASES.get(_snake(name)) if isinstance(name, str) else None
        if cls is None:
            cls = _custom(identifier.get("registered_name") or name, name, "initializer class")
        return cls.from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret initializer: {identifier!r}")


def serialize(init):
    """A JSON-able ``{"class_name", "config"}`` dict for an initializer.

    Args:
        init: the initializer to describe.

    Examples:
        >>> from kerasette import initializers
        >>> initializers.serialize(initializers.RandomNormal(stddev=0.1))
        {'module': 'keras.initializers', 'class_name': 'RandomNormal', 'config': {'mean': 0.0, 'stddev': 0.1, 'seed': None}, 'registered_name': None}
    """
    if isinstance(init, Initializer):
        from . import registry
        return registry.serialize_keras_object(init)
    return init


def _snake(name):
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(c.lower())
    return "".join(out)


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
    """The initializer a ``serialize`` config describes (a view of ``kerasette.registry``: built-in,
    registered, passed in ``custom_objects`` or in an active ``custom_object_scope``).

    Args:
        config (dict): the dict ``serialize`` wrote.
        custom_objects (dict | None): ``{name: class or function}`` for user-defined objects.

    Examples:
        >>> from kerasette import initializers
        >>> init = initializers.deserialize({"class_name": "Constant", "config": {"value": 3.0}})
        >>> init((2,)).tolist()
        [3.0, 3.0]
    """
    from . import registry
    if isinstance(config, str):
        with registry.CustomObjectScope(custom_objects or {}):
            return get(config)
    return registry.deserialize_keras_object(config, custom_objects, kinds=("initializer",))
