"""The errors saving and loading raise.

Two families, so that callers can tell "this file is unusable" from "this
file does not fit this model":

- ``WeightsFileError`` (an ``OSError``): missing, empty, truncated, corrupt or
  wrong-format files. The message names the file and what was expected.
- ``WeightsMismatchError`` (a ``ValueError``): a readable file whose weights do
  not fit the model. The message lists every offending layer with the
  expected and found shapes (never the values) and the model is left as it was.
"""
__all__ = ["WeightsFileError", "WeightsMismatchError"]


class WeightsFileError(OSError):
    """A weights / model file that cannot be read (or written) as asked."""


class WeightsMismatchError(ValueError):
    """A file whose weights do not match the model's layers or shapes."""
