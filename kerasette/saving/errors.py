"""The errors saving and loading raise.

Every one of them is a ``SavingError``, so that a caller loading a file it did
not write can catch one class. Below it, families that tell "this file is
unusable" from "this file does not fit this model":

- ``WeightsFileError`` (an ``OSError``): missing, empty, truncated, corrupt or
  wrong-format files, and files that ask for something refused (a dataset of a
  non-numeric type, a link to another file, a member larger than the model it
  describes). The message names the file and what was expected.
- ``WeightsMismatchError`` (a ``ValueError``): a readable file whose weights do
  not fit the model. The message lists every offending layer with the
  expected and found shapes (never the values) and the model is left as it was.
- ``ModelConfigError`` (a ``ValueError``): a model file whose architecture or
  compile settings cannot be rebuilt (an unknown class, a bad argument).
"""
import warnings

__all__ = ["SavingError", "WeightsFileError", "WeightsMismatchError", "ModelConfigError",
           "report_problems", "one_line"]


class SavingError(Exception):
    """Base class of every error saving or loading raises about a file."""


class WeightsFileError(SavingError, OSError):
    """A weights / model file that cannot be read (or written) as asked.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = os.path.join(d, "bad.weights.h5")
        ...     _ = open(path, "w").write("not hdf5")
        ...     try:
        ...         model.load_weights(path)
        ...     except keras.saving.WeightsFileError as e:
        ...         print(type(e).__name__, isinstance(e, OSError))
        ...
        WeightsFileError True
    """


class WeightsMismatchError(SavingError, ValueError):
    """A file whose weights do not match the model's layers or shapes.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> b = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     a.save_weights(os.path.join(d, "a.weights.h5"))
        ...     try:
        ...         b.load_weights(os.path.join(d, "a.weights.h5"))
        ...     except keras.saving.WeightsMismatchError as e:
        ...         print(type(e).__name__)
        ...
        WeightsMismatchError
    """


class ModelConfigError(SavingError, ValueError):
    """A model file whose config (architecture, compile settings) cannot be rebuilt."""


def one_line(error, limit=500):
    """``str(error)`` on one line and at most ``limit`` characters, for messages that quote
    another library's error (h5py, zipfile, json) or a value taken from a file."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def warn_user(message):
    """``warnings.warn(message)`` attributed to the first caller outside kerasette, however
    deep in the loading code it is raised (``load_model`` has several entry points)."""
    import os
    import sys
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    level, frame = 2, sys._getframe(1)      # level 1 is this function
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, stacklevel=level)


def report_problems(problems, source, model, skip_mismatch):
    """Raise one ``WeightsMismatchError`` listing every problem (nothing has been assigned
    yet), or, with ``skip_mismatch``, warn naming the layers that will be skipped."""
    if not problems:
        return
    listing = "\n  - " + "\n  - ".join(problems)
    if not skip_mismatch:
        raise WeightsMismatchError(f"Cannot load weights from {source} into model '{model.name}' "
                                   f"({len(problems)} problem(s); the model was not changed):{listing}")
    warnings.warn(f"load_weights(skip_mismatch=True) from {source}: skipped {len(problems)} layer(s):"
                  f"{listing}", stacklevel=4)
