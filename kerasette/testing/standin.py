"""A stand-in for CuPy: NumPy behind a wall, so CI can prove the GPU code path.

CuPy arrays live on the device: NumPy cannot read them implicitly
(``numpy.asarray(gpu_array)`` raises), NumPy arrays cannot be mixed into a
CuPy operation, and reductions return 0-d device arrays rather than host
scalars. Code that forgets this works on the CPU and breaks on the GPU.

This module copies those rules onto plain NumPy so the breakage shows up on
a machine with no GPU:

* ``StandinArray`` wraps an ``np.ndarray``. It supports the operators and
  ndarray methods, but ``__array__`` raises ``TypeError`` (as CuPy's does),
  NumPy ufuncs and NumPy functions refuse it (``__array_ufunc__ = None``,
  ``__array_function__`` raises), and ``.get()`` returns a NumPy copy.
* ``xp`` is the array module of those arrays. ``xp.<name>`` delegates to
  ``numpy.<name>``: it unwraps stand-in arguments, **refuses raw NumPy
  arrays** (only ``asarray``/``array``/``asanyarray`` accept host data, and
  copy it, like a host-to-device transfer), and wraps results, 0-d ones
  included. ``out=`` arguments are written in place.
* Only names CuPy has exist here: ``xp.<name>``, ``array.<method>`` and
  ``xp.linalg`` / ``xp.fft`` names are checked against a snapshot of CuPy's
  (``cupy_names.py``), and functions CuPy 13 lacks (``put_along_axis``) are
  missing too; an op calling a NumPy-only function fails in CI.
* Integer-array indices out of range wrap around, as CuPy's gathers do
  (NumPy would raise).
* ``xp.random`` draws from kerasette's seeded NumPy generator, so a run on
  the stand-in and a run on NumPy from the same seed make the same
  dropout masks and can be compared number for number.

Usage::

    from kerasette.testing import standin
    with standin.on_device():           # new weights and batches go to the stand-in
        model = build_model(); model.fit(x, y)
    standin.xp.asarray(np_array)        # explicit "host to device" copy
    backend.set_device(standin.xp)      # or switch the default device for good

Importing this module registers ``StandinArray`` with
``kerasette.backend.register_array_module``.
"""
import contextlib
import types

import numpy as np

from .. import backend
from .cupy_names import load as _load_cupy_names

__all__ = ["StandinArray", "xp", "on_device", "asarray", "to_host", "MISSING_IN_CUPY"]

# NumPy functions that CuPy 13 (the oldest release ``kerasette[gpu]`` allows) does not have.
MISSING_IN_CUPY = {
    "put_along_axis": "added in CuPy 14 only; index with arrays or build a one-hot mask instead",
}

CUPY_NAMES = _load_cupy_names()

# the functions that take host data on purpose (a host-to-device copy)
_HOST_OK = {"asarray", "array", "asanyarray"}


class StandinArray:
    """A device array that is really NumPy; see the module docstring for its rules."""

    __slots__ = ("_a",)
    __array_ufunc__ = None          # np.add(device_array, ...) raises TypeError, ndarray ops defer
    __array_priority__ = 1000

    def __init__(self, array):
        if type(array) is not np.ndarray:
            raise TypeError(f"StandinArray wraps a numpy.ndarray, got {type(array).__name__}")
        self._a = array

    # -- the wall -------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion of a stand-in device array to a NumPy array is not "
                        "allowed (CuPy refuses it too). Use `.get()` or kerasette.backend.to_numpy().")

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} was called on a stand-in device array; use the "
                        "array module of the inputs (backend.get_array_module) instead of numpy")

    def get(self, stream=None, order="C", out=None):
        """A NumPy copy, as ``cupy.ndarray.get``."""
        if out is not None:
            out[...] = self._a
            return out
        return self._a.copy(order=order)

    def set(self, array, stream=None):
        """Copy a host array in, as ``cupy.ndarray.set`` (same shape and dtype; ``stream``
        counts the copy)."""
        array = np.asarray(array)
        if array.dtype != self._a.dtype or array.shape != self._a.shape:
            raise ValueError(f"stand-in set: expected a host array of shape {self._a.shape} and dtype "
                             f"{self._a.dtype}, got {array.shape} {array.dtype} (cupy.ndarray.set "
                             f"copies without casting or broadcasting)")
        self._a[...] = array
        if stream is not None:
            stream.copies += 1

    # -- plain facts -------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: StandinArray(self._a.T))
    device = property(lambda self: "standin")

    def __getattr__(self, name):
        # ndarray methods (reshape, sum, astype, ...): unwrap arguments, wrap results.
        # Dunders stay hidden: NumPy would read __array_interface__ and see through the wall.
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in CUPY_NAMES["ndarray"]:
            raise AttributeError(f"stand-in (as CuPy {CUPY_NAMES['cupy_version']}): cupy.ndarray has no "
                                 f"attribute {name!r}")
        attr = getattr(self._a, name)
        if callable(attr):
            return _wrap_callable(attr, f"ndarray.{name}")
        return _wrap(attr)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    # scalars leave the device explicitly (CuPy syncs and copies here too)
    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return "standin." + repr(self._a)

    def __str__(self):
        return str(self._a)

    __hash__ = None

    # -- indexing ------------------------------------------------------------------
    def __getitem__(self, key):
        return _wrap(self._a[_wrapped_indices(_unwrap_key(key), self._a.shape)])

    def __setitem__(self, key, value):
        # CuPy accepts host values here (an explicit-looking copy); so do we
        self._a[_wrapped_indices(_unwrap_key(key), self._a.shape)] = value._a if type(value) is StandinArray else value

    # -- operators (filled in below) ---------------------------------------------
    # (through _wrap: NumPy gives a scalar for a 0-d array, CuPy a 0-d device array)
    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)


def _binary(name):
    def op(self, other):
        o = _operand(other, name)
        if o is NotImplemented:
            return NotImplemented
        return _wrap(getattr(self._a, name)(o))
    op.__name__ = name
    return op


def _inplace(name):
    def op(self, other):
        o = _operand(other, name)
        if o is NotImplemented:
            return NotImplemented
        getattr(self._a, name)(o)
        return self
    op.__name__ = name
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
              "and", "or", "xor", "lshift", "rshift"):
    setattr(StandinArray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(StandinArray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(StandinArray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(StandinArray, f"__{_name}__", _binary(f"__{_name}__"))


class _Module(types.ModuleType):
    """The stand-in array module: ``numpy`` seen through the device wall."""

    ndarray = StandinArray

    def __init__(self, name, target, prefix):
        super().__init__(name, f"stand-in for cupy: {prefix}* through the device wall")
        self._target = target
        self._prefix = prefix

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._prefix == "numpy." and name in MISSING_IN_CUPY:
            raise AttributeError(f"stand-in (as CuPy 13): module has no attribute {name!r}: "
                                 f"{MISSING_IN_CUPY[name]}")
        known = CUPY_NAMES.get("module" if self._prefix == "numpy." else self._prefix[len("numpy."):-1])
        if known is not None and name not in known:
            raise AttributeError(f"stand-in (as CuPy {CUPY_NAMES['cupy_version']}): "
                                 f"cupy{self._prefix[len('numpy'):]}{name} does not exist; NumPy has it, "
                                 f"CuPy does not, so this op would fail on the GPU")
        attr = getattr(self._target, name)
        if isinstance(attr, type) or not callable(attr) and not isinstance(attr, types.ModuleType):
            value = attr                                  # dtypes, constants, newaxis
        elif isinstance(attr, types.ModuleType):
            value = _Module(f"{self.__name__}.{name}", attr, f"{self._prefix}{name}.")
        elif isinstance(attr, np.ufunc):
            value = _Ufunc(attr)
        else:
            value = _transfer(name) if name in _HOST_OK else _wrap_callable(attr, self._prefix + name)
        setattr(self, name, value)                        # cache
        return value

    def get_array_module(self, *arrays):
        return backend.get_array_module(*arrays)

    def asnumpy(self, a):
        """``cupy.asnumpy``: a NumPy copy."""
        return a.get() if type(a) is StandinArray else np.asarray(a)


class _Random:
    """``xp.random``: draws from kerasette's seeded NumPy generator (so stand-in
    and NumPy runs from one seed agree), returning device arrays."""

    def seed(self, seed=None):
        pass                                 # kerasette.set_random_seed seeds the shared generator

    def random(self, size=None, dtype=float):
        return _wrap(backend.random_generator().random(size, dtype=dtype))

    random_sample = random

    def rand(self, *shape):
        return self.random(shape)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return _wrap(backend.random_generator().uniform(low, high, size).astype(dtype))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return _wrap(backend.random_generator().normal(loc, scale, size).astype(dtype))

    def standard_normal(self, size=None, dtype=float):
        return _wrap(backend.random_generator().standard_normal(size, dtype=dtype))

    def randn(self, *shape):
        return self.standard_normal(shape)

    def randint(self, low, high=None, size=None, dtype="l"):
        return _wrap(backend.random_generator().integers(low, high, size, dtype=dtype))

    def permutation(self, n):
        return _wrap(backend.random_generator().permutation(n))

    def default_rng(self, seed=None):
        """``cupy.random.default_rng``: a generator of its own (a NumPy one here)."""
        return _Generator(np.random.default_rng(seed))


class _Generator:
    """``cupy.random.Generator``: draws returned as device arrays."""

    def __init__(self, rng):
        self._rng = rng

    def random(self, size=None, dtype=float):
        return _wrap(self._rng.random(size, dtype=dtype))

    def standard_normal(self, size=None, dtype=float):
        return _wrap(self._rng.standard_normal(size, dtype=dtype))

    def integers(self, low, high=None, size=None, dtype="int64"):
        return _wrap(self._rng.integers(low, high, size, dtype=dtype))


class _Ufunc:
    """A NumPy ufunc behind the wall: ``xp.add(a, b)``, ``xp.add.at(out, idx, g)``."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__
        self._call = _wrap_callable(uf, f"numpy.{uf.__name__}")

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._uf, name)
        if name == "at":                     # indices are a subscript: host index arrays allowed
            return self._at
        return _wrap_callable(attr, f"numpy.{self.__name__}.{name}") if callable(attr) else attr

    def _at(self, a, indices, b=None):
        where = f"numpy.{self.__name__}.at"
        self._uf.at(_unwrap(a, where), _unwrap_key(indices), _unwrap(b, where))


class _Runtime:
    """``cupy.cuda.runtime``: what kerasette asks of it (a simulated 16 GiB device)."""

    free_bytes, total_bytes = 12 * 2**30, 16 * 2**30

    def memGetInfo(self):  # noqa: N802 - CUDA's name
        return self.free_bytes, self.total_bytes


class _Stream:
    """``cupy.cuda.Stream``: a context manager whose ``synchronize()`` is counted (``syncs``), as
    are the copies ``ndarray.set(..., stream=s)`` put on it (``copies``; they land at once
    here: stream order keeps later work on the same stream after them on a GPU too)."""

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.non_blocking = non_blocking
        self.copies = 0
        self.syncs = 0

    def synchronize(self):
        self.syncs += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


xp = _Module("kerasette.testing.standin.xp", np, "numpy.")
xp.random = _Random()
xp.cuda = types.SimpleNamespace(runtime=_Runtime(), Stream=_Stream)
backend.register_array_module(StandinArray, xp)


def asarray(a, dtype=None):
    """Copy host data to the stand-in device (``cupy.asarray``)."""
    return xp.asarray(a, dtype=dtype)


def to_host(a):
    """A NumPy copy of a stand-in array (``cupy.asnumpy``)."""
    return xp.asnumpy(a)


@contextlib.contextmanager
def on_device():
    """Make the stand-in the default device inside the block (weights, batches,
    ``ops.zeros``); the previous device comes back afterwards."""
    prev = backend.device()
    backend.set_device(xp)
    try:
        yield xp
    finally:
        backend.set_device(prev)


# ---- helpers ---------------------------------------------------------------------

def _wrap(r):
    """NumPy results back to the device: arrays and NumPy scalars become stand-in arrays
    (CuPy reductions return 0-d device arrays, not host scalars)."""
    t = type(r)
    if t is np.ndarray:
        return StandinArray(r)
    if isinstance(r, np.generic):
        return StandinArray(np.asarray(r))
    if t is tuple or t is list:
        return t(_wrap(x) for x in r)
    return r


def _refuse(where):
    raise TypeError(f"{where}: a numpy.ndarray was mixed with stand-in device arrays (CuPy raises "
                    "'Unsupported type <class numpy.ndarray>' here). Move it with "
                    "backend.to_device / xp.asarray first, or use the inputs' array module.")


def _unwrap(x, where):
    t = type(x)
    if t is StandinArray:
        return x._a
    if t is np.ndarray or isinstance(x, np.ndarray):
        _refuse(where)
    if t is tuple or t is list:
        return t(_unwrap(v, where) for v in x)
    return x


def _unwrap_key(key):
    # CuPy takes host index arrays in a subscript (it copies them over); so do we
    if type(key) is StandinArray:
        return key._a
    if type(key) is tuple:
        return tuple(k._a if type(k) is StandinArray else k for k in key)
    return key


def _wrapped_indices(key, shape):
    """Integer-array indices taken modulo their axis length, as CuPy's gathers wrap
    out-of-range indices (NumPy raises). Scalars, slices and bool masks are unchanged."""
    items = key if type(key) is tuple else (key,)
    if not any(type(k) is np.ndarray and k.dtype.kind in "iu" for k in items):
        return key

    def consumed(k):
        if k is None or k is Ellipsis:
            return 0
        return k.ndim if type(k) is np.ndarray and k.dtype == bool else 1

    out, axis = [], 0
    for k in items:
        if k is Ellipsis:
            axis += len(shape) - sum(consumed(i) for i in items)
        elif type(k) is np.ndarray and k.dtype.kind in "iu" and axis < len(shape) and shape[axis]:
            k = k % shape[axis]
        out.append(k)
        axis += consumed(k)
    return tuple(out) if type(key) is tuple else out[0]


def _operand(x, where):
    t = type(x)
    if t is StandinArray:
        return x._a
    if t in (int, float, bool, complex) or isinstance(x, np.generic):
        return x
    if isinstance(x, np.ndarray):
        _refuse(where)
    return NotImplemented


def _wrap_callable(fn, where):
    def call(*args, **kwargs):
        a = [_unwrap(x, where) for x in args]
        k = {name: _unwrap(v, where) for name, v in kwargs.items()}
        r = fn(*a, **k)
        out = kwargs.get("out")
        if out is not None and r is k["out"]:
            return out                      # written in place: hand back the caller's array
        return _wrap(r)
    call.__name__ = where
    return call


def _transfer(name):
    """``asarray`` / ``array``: host data is copied in (never aliased, as on a real device)."""
    def call(a, dtype=None, *args, **kwargs):
        if type(a) is StandinArray:
            if name == "array" and kwargs.get("copy", True) is not False:
                return StandinArray(np.array(a._a, dtype=dtype, copy=True))
            return StandinArray(np.asarray(a._a, dtype=dtype))
        a = getattr(a, "value", a)          # a Tensor: its value
        if type(a) is StandinArray:
            return call(a, dtype, *args, **kwargs)
        a = _host_leaves(a)
        return StandinArray(np.array(a, dtype=dtype, copy=True))
    call.__name__ = name
    return call


def _host_leaves(a):
    if type(a) is StandinArray:
        return a._a
    if type(a) in (list, tuple):
        return type(a)(_host_leaves(v) for v in a)
    return a
