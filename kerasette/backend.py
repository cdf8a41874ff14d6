"""Array backend: which array module (NumPy or CuPy) holds the data.

Ops never import NumPy for their arithmetic: they ask ``get_array_module(x)``
for the module of their inputs, so one code path serves NumPy and CuPy (and
any stand-in module registered with ``register_array_module``).

The *default device* decides where new weights and input batches live:
``"cpu"`` (NumPy) or ``"gpu"`` (CuPy). It comes from the environment variable
``KERASETTE_DEVICE`` or from ``set_device``.
"""
import contextlib
import sys
import threading

import numpy as np

from . import context

__all__ = [
    "floatx", "set_floatx", "epsilon", "get_array_module", "register_array_module",
    "device", "set_device", "device_scope", "xp", "to_device", "to_numpy", "set_random_seed",
    "random_generator", "random_uniform", "is_array", "get_uid", "clear_session", "gpu_available",
]

_FLOATX = "float32"
_EPSILON = 1e-7
_EXTRA_MODULES = {}   # array type -> module, for stand-ins (see tests/gpu_standin)
_RNG = np.random.default_rng()
_UIDS = {}                 # prefix -> how many names were handed out (auto layer names)
_UIDS_LOCK = threading.Lock()


def floatx():
    """The default float dtype name: ``"float32"``.

    Examples:
        >>> from kerasette import backend
        >>> backend.floatx()
        'float32'
    """
    return _FLOATX


def set_floatx(dtype):
    """Set the default float dtype (``"float16"``, ``"float32"`` or ``"float64"``).

    Args:
        dtype (str): ``"float16"``, ``"float32"`` (the default) or ``"float64"``.

    Examples:
        >>> from kerasette import backend
        >>> previous = backend.floatx()
        >>> backend.set_floatx("float64")
        >>> backend.floatx()
        'float64'
        >>> backend.set_floatx(previous)
    """
    global _FLOATX
    if dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float16', 'float32' or 'float64', got {dtype!r}")
    _FLOATX = dtype


def epsilon():
    """The fuzz factor used to keep logs and divisions finite (1e-7, as Keras).

    Examples:
        >>> from kerasette import backend
        >>> backend.epsilon()
        1e-07
    """
    return _EPSILON


def register_array_module(array_type, module):
    """Tell ``get_array_module`` that arrays of ``array_type`` belong to ``module``.

    Used by the GPU stand-in test module; CuPy is recognised without this.

    Args:
        array_type (type): the array class, e.g. the stand-in's ndarray.
        module (module): the module its arrays belong to.

    Examples:
        >>> from kerasette import backend
        >>> class MyArray(np.ndarray):
        ...     pass
        ...
        >>> backend.register_array_module(MyArray, np)
        >>> backend.get_array_module(np.zeros(2).view(MyArray)).__name__
        'numpy'
    """
    _EXTRA_MODULES[array_type] = module


def get_array_module(*arrays):
    """The array module (``numpy``, ``cupy`` or a registered one) of the first
    non-NumPy array among ``arrays``; ``numpy`` when all are NumPy or scalars.

    Tensors are looked through to their ``.value``.

    Examples:
        >>> from kerasette import backend
        >>> backend.get_array_module(np.zeros(2)).__name__
        'numpy'
    """
    for a in arrays:
        a = getattr(a, "value", a)
        t = type(a)
        if t is np.ndarray or t in (int, float, bool) or a is None:
            continue
        mod = _EXTRA_MODULES.get(t)
        if mod is not None:
            return mod
        if t.__module__.startswith("cupy"):
            import cupy
            return cupy
    return np


def is_array(x):
    """True for an ndarray of any known array module.

    Args:
        x (object): anything.

    Examples:
        >>> from kerasette import backend
        >>> backend.is_array(np.zeros(2)), backend.is_array([0.0, 1.0])
        (True, False)
    """
    return isinstance(x, np.ndarray) or type(x) in _EXTRA_MODULES or type(x).__module__.startswith("cupy")


def device():
    """This thread's default device: ``"cpu"`` or ``"gpu"`` (see ``device_scope``).

    Examples:
        >>> from kerasette import backend
        >>> backend.device() in ("cpu", "gpu")
        True
    """
    dev = context.current().device
    if isinstance(dev, str) and dev not in ("cpu", "gpu"):
        _refuse_env_device(dev)
    return dev


def set_device(name):
    """Make ``"cpu"`` (NumPy) or ``"gpu"`` (CuPy) the device for new weights and batches.

    A module registered with ``register_array_module`` (the test stand-in) may be
    given instead of a name; ``device()`` then returns that module.

    Args:
        name (str | module): ``"cpu"`` or ``"gpu"`` (``"cuda"``, ``"gpu:0"`` also work), or a
            registered module.

    Examples:
        >>> from kerasette import backend
        >>> previous = backend.device()
        >>> backend.set_device("cpu")
        >>> backend.device()
        'cpu'
        >>> backend.set_device(previous)
    """
    context.set_default_device(_checked_device(name, "set_device"))


@contextlib.contextmanager
def device_scope(name):
    """``with device_scope("gpu"): ...``: new weights and batches of this thread go to
    ``name`` inside the block (Keras's ``keras.device``); other threads are not affected.

    Args:
        name (str): ``"cpu"`` or ``"gpu"`` (``"cuda"``, ``"gpu:0"`` also work).

    Examples:
        >>> from kerasette import backend
        >>> with backend.device_scope("cpu"):
        ...     print(backend.device())
        ...
        cpu
    """
    dev = _checked_device(name, "device_scope")
    ctx = context.current()
    previous, ctx.device = ctx.device, dev
    try:
        yield
    finally:
        ctx.device = previous


def xp(dev=None):
    """The array module of a device (default: this thread's device).

    Args:
        dev (str | module | None): ``"cpu"``, ``"gpu"`` or a module (default: this thread's device).

    Examples:
        >>> from kerasette import backend
        >>> backend.xp("cpu").__name__
        'numpy'
    """
    dev = dev or context.current().device
    if dev == "cpu":
        return np
    if dev in _EXTRA_MODULES.values():
        return dev
    if not isinstance(dev, str):
        return dev
    if dev != "gpu":
        _refuse_env_device(dev)
    return _import_cupy()


def _refuse_env_device(dev):
    # only $KERASETTE_DEVICE can put an unchecked name here (set_device checks its argument)
    raise ValueError(f"KERASETTE_DEVICE={dev!r} is not a device: expected 'cpu' or 'gpu' ('cuda' and "
                     f"'gpu:0' also work); fix or unset the environment variable")


def to_device(array, dev=None, dtype=None):
    """Copy ``array`` (NumPy, CuPy or nested lists) to a device's module; no copy
    when it is already there with the right dtype.

    Args:
        array (array | list | Tensor): the values.
        dev (str | module | None): ``"cpu"``, ``"gpu"`` or a module (default: this thread's device).
        dtype (str | None): cast on the way (default: keep the dtype).

    Examples:
        >>> from kerasette import backend
        >>> backend.to_device(np.array([1, 2]), "cpu", dtype="float32")
        array([1., 2.], dtype=float32)
    """
    mod = xp(dev)
    array = getattr(array, "value", array)       # a Tensor's array
    if not is_array(array):                      # lists, scalars
        array = np.asarray(array)
    src = get_array_module(array)
    if src is mod:
        return array if dtype is None or array.dtype == dtype else array.astype(dtype)
    if src is not np:
        array = to_numpy(array)
    if mod is np:
        return np.asarray(array, dtype=dtype)
    stream = context.current().upload_stream
    if stream is not None:                       # a prefetch worker: asynchronous, from pinned memory
        return _staged_copy(mod, array, dtype, stream)
    return mod.asarray(array, dtype=dtype)


def _staged_copy(mod, host, dtype, stream):
    """``host`` copied to ``mod`` through a page-locked buffer on the worker's copy stream; the
    buffer is kept in ``stream.staging`` until the worker has synchronized the stream."""
    host = np.asarray(host, dtype=dtype)
    if mod.__name__ == "cupy":
        import cupyx
        staging = cupyx.empty_pinned(host.shape, dtype=host.dtype)
    else:
        staging = np.empty(host.shape, dtype=host.dtype)
    staging[...] = host
    stream.staging.append(staging)
    out = mod.empty(host.shape, dtype=host.dtype)
    out.set(staging, stream=stream.stream)
    return out


def to_numpy(array):
    """A NumPy copy (or view) of an array from any module; Tensors are unwrapped.

    Args:
        array (array | Tensor): from any array module.

    Examples:
        >>> from kerasette import backend
        >>> backend.to_numpy(np.arange(3)).tolist()
        [0, 1, 2]
    """
    array = getattr(array, "value", array)
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "get"):          # CuPy
        return array.get()
    if hasattr(array, "to_numpy"):     # registered stand-ins
        return array.to_numpy()
    return np.asarray(array)


def get_uid(prefix=""):
    """1, 2, 3, ... for successive calls with the same ``prefix`` (Keras's auto-name counter).

    Args:
        prefix (str): the counter's key, e.g. a layer's snake_case class name.

    Examples:
        >>> from kerasette import backend
        >>> backend.clear_session()
        >>> backend.get_uid("dense"), backend.get_uid("dense")
        (1, 2)
    """
    with _UIDS_LOCK:
        _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
        return _UIDS[prefix]


def clear_session():
    """Reset the auto-name counters, so new layers are named ``dense``, ``dense_1``, ... again.

    Examples:
        >>> import kerasette as keras
        >>> keras.backend.clear_session()
        >>> keras.layers.Dense(2).name
        'dense'
    """
    with _UIDS_LOCK:
        _UIDS.clear()


def set_random_seed(seed):
    """Seed every random source kerasette uses (weights, dropout, shuffling).

    Args:
        seed (int): the seed of Python's, NumPy's and kerasette's generators (and CuPy's
            when it is imported and sees a GPU).

    Examples:
        >>> from kerasette import backend
        >>> backend.set_random_seed(1)
        >>> a = backend.random_uniform((2,))
        >>> backend.set_random_seed(1)
        >>> bool((a == backend.random_uniform((2,))).all())
        True
    """
    global _RNG
    import random
    random.seed(seed)
    np.random.seed(seed)
    _RNG = np.random.default_rng(seed)
    ctx = context.current()             # kerasette.random's global SeedGenerator restarts from seed
    ctx.random_seed, ctx.seed_generator = seed, None
    if "cupy" in sys.modules:
        if gpu_available():
            sys.modules["cupy"].random.seed(seed)


def random_generator():
    """The NumPy ``Generator`` behind initializers, dropout and shuffling.

    Examples:
        >>> from kerasette import backend
        >>> type(backend.random_generator()).__name__
        'Generator'
    """
    return _RNG


def random_uniform(shape, mod=None, seed=None):
    """Uniform [0, 1) float32 samples made directly by ``mod`` (NumPy: the seeded
    generator; other modules: their own ``random``).

    Args:
        shape (tuple[int, ...]): the samples' shape.
        mod (module | None): the array module (default: this thread's device's).
        seed (int | None): None draws from the seeded generator; an int draws from a fresh
            generator made from it (``default_rng(seed)`` of ``mod``), so the same seed gives
            the same samples on a device (the streams of NumPy and CuPy differ).

    Examples:
        >>> from kerasette import backend
        >>> x = backend.random_uniform((2, 3), seed=0)
        >>> x.shape, bool(((x >= 0) & (x < 1)).all())
        ((2, 3), True)
    """
    mod = mod or xp()
    if seed is not None:
        return mod.random.default_rng(seed).random(shape, dtype=np.float32)
    rng = _RNG if mod is np else mod.random
    return rng.random(shape, dtype=np.float32)


def free_device_memory(mod):
    """Bytes free on the device of array module ``mod`` (CuPy: ``cudaMemGetInfo``), or None
    for the CPU or a module that cannot tell.

    Args:
        mod (module): the array module (``numpy``, ``cupy`` or a stand-in).
    """
    if mod is np:
        return None
    try:
        return int(mod.cuda.runtime.memGetInfo()[0])
    except Exception:  # noqa: BLE001 - no runtime to ask
        return None


def _checked_device(name, where):
    """``name`` as a device: a registered stand-in module, ``"cpu"`` or ``"gpu"``
    (``"cuda"``, ``"gpu:0"`` accepted); CuPy is imported for the GPU."""
    if name in _EXTRA_MODULES.values():
        return name
    text = str(name).lower()
    dev = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}.get(text.split(":")[0])
    if dev is None:
        raise ValueError(f"{where}: expected 'cpu' or 'gpu', got {name!r}")
    if dev == "gpu":
        _import_cupy()
    return dev


def gpu_available():
    """True when CuPy imports and sees a usable CUDA device (a driver, a GPU); never raises.

    Examples:
        >>> from kerasette import backend
        >>> isinstance(backend.gpu_available(), bool)
        True
    """
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - ImportError, no driver, driver too old, no device
        return False


def _import_cupy():
    """CuPy, when it can run here; else one clear line saying what is missing."""
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError("kerasette: device 'gpu' needs CuPy; install it with "
                           "`pip install kerasette[gpu]`") from e
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - CUDARuntimeError and friends
        reason = str(e).split(":", 1)[-1].strip() or type(e).__name__
        raise RuntimeError(f"kerasette: device 'gpu': CuPy {cupy.__version__} is installed but cannot use "
                           f"a GPU here ({reason}); use the CPU (the default) or fix the CUDA driver") from None
    if count < 1:
        raise RuntimeError(f"kerasette: device 'gpu': CuPy {cupy.__version__} is installed but sees no "
                           f"CUDA device; use the CPU (the default)")
    return cupy
