"""kerasette.saving: weights and whole models on disk, in Keras's own formats.

- ``save_weights`` / ``load_weights``: the Keras 3 ``.weights.h5`` layout
  (``h5_weights.py``); ``load_weights`` also reads legacy Keras 2 ``.h5``
  files (``legacy_h5.py``) and the weights inside a ``.keras`` archive.
- ``save_model`` / ``load_model``: the Keras 3 ``.keras`` zip (``keras_zip.py``):
  architecture, compile settings, weights and optimizer state, so that
  training continues exactly; ``load_model`` also reads legacy whole-model
  ``.h5`` files.
- ``ModelCheckpoint`` / ``BackupAndRestore`` callbacks (``checkpoint.py``).

Safety rules every function here keeps: loading reads and checks the whole
file before it assigns a single weight (one error lists each layer that does
not fit, with expected and found shapes, never the values); unreadable files
raise ``WeightsFileError`` (an ``OSError``) naming the file; writing goes to a
temporary file in the same folder that is renamed into place (``atomic.py``),
so a crash mid-save leaves the previous file intact.
"""
import os

from ..registry import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                        get_custom_objects, get_registered_name, get_registered_object,
                        register_keras_serializable, serialize_keras_object)
from .errors import WeightsFileError, WeightsMismatchError
from .formats import ZIP, WeightsFileNotFoundError, open_h5, sniff
from . import keras2 as _keras2  # noqa: F401  registers Keras 2's "keras2>hard_sigmoid"

__all__ = ["save_weights", "load_weights", "save_model", "load_model", "register_keras_serializable",
           "get_registered_object", "get_registered_name", "get_custom_objects",
           "serialize_keras_object", "deserialize_keras_object", "custom_object_scope",
           "CustomObjectScope", "WeightsFileError", "WeightsMismatchError",
           "WeightsFileNotFoundError", "ModelCheckpoint", "BackupAndRestore"]


def save_weights(model, filepath, overwrite=True):
    """Write ``model``'s weights (and its optimizer's state) in the Keras 3
    ``.weights.h5`` layout, atomically.

    Args:
        model: a built model (or layer).
        filepath: the target, a name ending in ``.weights.h5`` (as Keras 3 requires).
        overwrite: if False and the file exists, raise ``FileExistsError``.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     keras.saving.save_weights(model, os.path.join(d, "m.weights.h5"))
        ...     print(sorted(os.listdir(d)))
        ...
        ['m.weights.h5']
    """
    import h5py
    from .atomic import atomic_write, check_overwrite
    from .h5_weights import write_weights
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        raise ValueError(f"save_weights: '{path}' ends in .keras, the whole-model format; use "
                         f"model.save('{path}') or a name ending in .weights.h5")
    if not path.endswith(".weights.h5"):            # Keras 3 refuses any other name too
        stem = os.path.splitext(os.path.basename(path))[0] or "model"
        raise ValueError(f"save_weights: the filename must end in `.weights.h5` (an HDF5 file in the "
                         f"Keras 3 layout), got '{path}'; use e.g. '{stem}.weights.h5'")
    check_overwrite(path, overwrite)
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            write_weights(f, model)


def load_weights(model, filepath, skip_mismatch=False, by_name=False, **kwargs):
    """Load weights into ``model`` from a Keras 3 ``.weights.h5``, a legacy Keras 2
    ``.h5`` (weights-only or whole-model) or a ``.keras`` archive.

    The format is recognised from the file's contents, not its name.

    Args:
        model (Model | Layer): a built model (or layer) of the saved architecture.
        filepath (str | os.PathLike): the file to read.
        skip_mismatch: skip (with a warning naming them) layers whose weights do
            not fit instead of raising.
        by_name: match layers by name instead of by position (legacy files: the
            layer groups; Keras 3 files: the ``name`` attribute of each layer).

    Raises:
        WeightsMismatchError: the weights do not fit; lists every offending layer
            with expected and found shapes. The model is not changed.
        WeightsFileError: the file is missing, empty, corrupt or not a weights file.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> b = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     keras.saving.save_weights(a, os.path.join(d, "a.weights.h5"))
        ...     _ = keras.saving.load_weights(b, os.path.join(d, "a.weights.h5"))
        ...
        >>> np.array_equal(a.layers[0].kernel.numpy(), b.layers[0].kernel.numpy())
        True
    """
    if kwargs:
        raise TypeError(f"load_weights: unexpected keyword argument(s) {sorted(kwargs)}")
    from .h5_weights import load_keras3_weights
    from .keras_zip import weights_bytes_from_zip
    from .legacy_h5 import is_legacy, legacy_weights_group, load_legacy_weights
    path = os.fspath(filepath)
    kind = sniff(path)
    source = f"'{path}'"
    data = weights_bytes_from_zip(path, model) if kind == ZIP else path
    with open_h5(data, name=source) as h5:
        if is_legacy(h5):
            return load_legacy_weights(legacy_weights_group(h5), model, skip_mismatch=skip_mismatch,
                                       by_name=by_name, source=source)
        if not len(h5.keys()) and model.weights:
            raise WeightsFileError(f"{source} holds no weights at all (an empty HDF5 file)")
        return load_keras3_weights(h5, model, skip_mismatch=skip_mismatch, by_name=by_name,
                                   source=source)


def save_model(model, filepath, overwrite=True, include_optimizer=True, **kwargs):
    """Save the whole model (architecture, compile settings, weights, optimizer
    state) to a Keras 3 ``.keras`` zip archive, atomically.

    A name ending in ``.h5`` / ``.hdf5`` writes the legacy Keras 2 whole-model
    file instead, as Keras 3 does.

    Args:
        model (Model): the model to save (built, compiled or not).
        filepath (str | os.PathLike): a name ending in ``.keras`` (or ``.h5`` / ``.hdf5``).
        overwrite (bool): replace an existing file (default True); False raises
            ``FileExistsError`` when it exists.
        include_optimizer (bool): save the optimizer's state too (default True), so that
            ``fit`` continues exactly after ``load_model``.
        **kwargs: Keras's ``zipped``: True (or absent) writes the zip archive; False (Keras's
            unzipped folder) is refused with ``NotImplementedError``; anything else raises
            ``TypeError``.

    Raises:
        ValueError: any other filename extension.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     keras.saving.save_model(model, os.path.join(d, "m.keras"))
        ...     print(os.listdir(d))
        ...
        ['m.keras']
    """
    from .atomic import check_overwrite
    path = os.fspath(filepath)
    if kwargs.pop("zipped", True) is not True:
        raise NotImplementedError("save_model: zipped=False (an unzipped model folder) is not supported by "
                                  "kerasette; save a .keras archive (zipped=True, the default)")
    if kwargs:
        raise TypeError(f"save_model: unexpected keyword argument(s) {sorted(kwargs)}")
    check_overwrite(path, overwrite)
    if path.endswith((".h5", ".hdf5")):
        from .legacy_h5 import save_legacy_model
        return save_legacy_model(model, path, include_optimizer=include_optimizer)
    if not path.endswith(".keras"):
        raise ValueError(f"Invalid filepath extension for saving: '{path}'. Add a `.keras` "
                         f"extension for the native Keras format (recommended) or `.h5` for the "
                         f"legacy HDF5 format.")
    from .keras_zip import save_keras_zip
    save_keras_zip(model, path, include_optimizer=include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Rebuild a model saved with ``model.save`` (``.keras``, or legacy whole-model
    ``.h5``), by kerasette or by Keras 3.

    Args:
        filepath (str | os.PathLike): the file; a ``.keras`` zip is recognised from its
            contents, anything else is read as a legacy HDF5 file.
        custom_objects: ``{"ClassName": cls_or_fn}`` for custom layers, losses,
            metrics not registered with ``register_keras_serializable``.
        compile: compile the model as it was saved and restore the optimizer
            state (so ``fit`` continues exactly); False gives an uncompiled model.
        safe_mode: True (the default) refuses Python bytecode in the file (a
            ``Lambda`` layer's lambda, Keras 2 ``function_type: "lambda"``) before
            decoding it; pass False only for files you trust (running code from a
            file can do anything).

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     model.save(os.path.join(d, "m.keras"))
        ...     print(keras.saving.load_model(os.path.join(d, "m.keras")).count_params())
        ...
        8
    """
    path = os.fspath(filepath)
    kind = sniff(path)
    if kind == ZIP:
        from .keras_zip import load_keras_zip
        return load_keras_zip(path, custom_objects=custom_objects, compile=compile,
                              safe_mode=safe_mode)
    from .legacy_h5 import load_legacy_model
    return load_legacy_model(path, custom_objects=custom_objects, compile=compile,
                             safe_mode=safe_mode)


def __getattr__(name):
    if name in ("ModelCheckpoint", "BackupAndRestore"):
        from . import checkpoint
        return getattr(checkpoint, name)
    raise AttributeError(f"module 'kerasette.saving' has no attribute {name!r}")
