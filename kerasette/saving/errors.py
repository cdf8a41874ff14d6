"""The errors saving and loading raise.

Two families, so that callers can tell "this file is unusable" from "this
file does not fit this model":

- ``WeightsFileError`` (an ``OSError``): missing, empty, truncated, corrupt or
  wrong-format files. The message names the file and what was expected.
- ``WeightsMismatchError`` (a ``ValueError``): a readable file whose weights do
  not fit the model. The message lists every offending layer with the
  expected and found shapes (never the values) and the model is left as it was.
"""
import warnings

__all__ = ["WeightsFileError", "WeightsMismatchError", "report_problems"]


class WeightsFileError(OSError):
    """A weights / model file that cannot be read (or written) as asked."""


class WeightsMismatchError(ValueError):
    """A file whose weights do not match the model's layers or shapes."""


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
