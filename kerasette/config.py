"""``keras.config``: process-wide settings and debug switches.

- ``floatx`` / ``set_floatx`` / ``epsilon``: the default float dtype and fuzz factor.
- ``enable_check_numerics`` / ``disable_check_numerics``: the numerics debug
  mode. While on, every op checks that its results (and, in ``backward``, the
  gradients it hands on) are free of NaN and inf, and the first op that is not
  raises ``FloatingPointError`` naming itself. It costs one pass over every
  result, so it is off by default; ``KERASETTE_CHECK_NUMERICS=1`` turns it on
  for a whole run.

Switches apply to the calling thread and to threads started afterwards (each
thread keeps its own execution context, ``kerasette.context``).
"""
from . import context
from .backend import epsilon, floatx, set_floatx

__all__ = ["floatx", "set_floatx", "epsilon", "enable_check_numerics", "disable_check_numerics",
           "is_check_numerics_enabled"]


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
