"""``keras.config``: process-wide settings and debug switches.

- ``floatx`` / ``set_floatx`` / ``epsilon``: the default float dtype and fuzz factor.
- ``enable_check_numerics`` / ``disable_check_numerics``: the numerics debug
  mode. While on, every op checks that its results (and, in ``backward``, the
  gradients it hands on) are free of NaN and inf, and the first op that is not
  raises ``FloatingPointError`` naming itself. It costs one pass over every
  result, so it is off by default; ``KERASETTE_CHECK_NUMERICS=1`` turns it on
  for a whole run.
- ``set_prefetch_batches`` / ``prefetch_batches``: how many batches ``fit``,
  ``evaluate`` and ``predict`` prepare ahead in a worker thread while the
  current step runs (None: 2 on a GPU for data that crosses the host link,
  none on the CPU).
- ``set_cpu_kernels`` / ``cpu_kernels``: whether CPU steps use the fused loops numba compiles
  (``kerasette.cpu_kernels``, installed with ``pip install "kerasette[fast]"``; on by default
  where numba is installed, ``KERASETTE_CPU_KERNELS=0`` turns them off for a whole run).

Switches apply to the calling thread and to threads started afterwards (each
thread keeps its own execution context, ``kerasette.context``).
"""
from . import context
from .backend import epsilon, floatx, set_floatx

__all__ = ["floatx", "set_floatx", "epsilon", "enable_check_numerics", "disable_check_numerics",
           "is_check_numerics_enabled", "set_prefetch_batches", "prefetch_batches",
           "set_cpu_kernels", "cpu_kernels"]


def enable_check_numerics():
    """Check every op's results for NaN / inf and raise naming the first op that makes one.

    Examples:
        >>> import kerasette as keras
        >>> was_on = keras.config.is_check_numerics_enabled()
        >>> keras.config.enable_check_numerics()
        >>> keras.config.is_check_numerics_enabled()
        True
        >>> if not was_on: keras.config.disable_check_numerics()
    """
    context.set_default("check_numerics", True)


def disable_check_numerics():
    """Turn the numerics debug mode off again (the default).

    Examples:
        >>> import kerasette as keras
        >>> was_on = keras.config.is_check_numerics_enabled()
        >>> keras.config.disable_check_numerics()
        >>> keras.config.is_check_numerics_enabled()
        False
        >>> if was_on: keras.config.enable_check_numerics()
    """
    context.set_default("check_numerics", False)


def is_check_numerics_enabled():
    """Whether this thread checks op results for NaN / inf.

    Examples:
        >>> import kerasette as keras
        >>> keras.config.is_check_numerics_enabled() in (True, False)
        True
    """
    return context.current().check_numerics


def set_prefetch_batches(n):
    """Prepare ``n`` batches ahead of the training step in a worker thread (0: none, in line;
    None: the default, 2 on a GPU for data that crosses the host link and 0 on the CPU).

    Args:
        n (int | None): batches ready ahead, or None for the default.

    Examples:
        >>> import kerasette as keras
        >>> keras.config.set_prefetch_batches(2)
        >>> keras.config.prefetch_batches()
        2
        >>> keras.config.set_prefetch_batches(None)
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise ValueError(f"set_prefetch_batches: n must be None or an int >= 0, got {n!r}")
    context.set_default("prefetch_batches", n)


def prefetch_batches():
    """How many batches this thread prepares ahead (None: the automatic default).

    Examples:
        >>> import kerasette as keras
        >>> keras.config.prefetch_batches() is None or keras.config.prefetch_batches() >= 0
        True
    """
    return context.current().prefetch_batches


def set_cpu_kernels(on):
    """Use (True) or not (False) the fused CPU loops numba compiles, where numba is installed
    (``kerasette.cpu_kernels``; with False every CPU step runs its NumPy reference code).

    Args:
        on (bool): use them.

    Examples:
        >>> import kerasette as keras
        >>> keras.config.set_cpu_kernels(False)
        >>> keras.config.cpu_kernels()
        False
        >>> keras.config.set_cpu_kernels(True)
    """
    if not isinstance(on, bool):
        raise TypeError(f"set_cpu_kernels: on must be True or False, got {on!r}")
    context.set_default("cpu_kernels", on)


def cpu_kernels():
    """Whether this thread's CPU steps may use the compiled fused loops (they run only where
    numba is installed: ``kerasette.cpu_kernels.available()``).

    Examples:
        >>> import kerasette as keras
        >>> keras.config.cpu_kernels() in (True, False)
        True
    """
    return context.current().cpu_kernels
