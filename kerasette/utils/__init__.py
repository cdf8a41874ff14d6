"""Utilities as ``keras.utils`` has them: to_categorical, normalize, set_random_seed, and the
serialization helpers Keras 3 also exports here (see ``kerasette.saving``)."""
import numpy as np

from ..backend import clear_session, set_random_seed
from .py_dataset import PyDataset, Sequence
from .sequences import pad_sequences, split_dataset, timeseries_dataset_from_array
from .image_dataset import image_dataset_from_directory
from .file_utils import get_file
from .progbar import Progbar
from .image_utils import array_to_img, img_to_array, load_img, save_img
from .data_tuples import (get_source_inputs, is_keras_tensor, pack_x_y_sample_weight,
                          unpack_x_y_sample_weight)
from .plot import model_to_dot, plot_model
from ..registry import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                        get_custom_objects, get_registered_name, get_registered_object,
                        register_keras_serializable, serialize_keras_object)

__all__ = ["to_categorical", "normalize", "set_random_seed", "clear_session",
           "PyDataset", "Sequence", "pad_sequences", "timeseries_dataset_from_array", "split_dataset",
           "image_dataset_from_directory", "plot_model", "model_to_dot", "get_file", "Progbar", "load_img", "img_to_array", "array_to_img", "save_img",
           "unpack_x_y_sample_weight", "pack_x_y_sample_weight", "is_keras_tensor", "get_source_inputs",
           # also keras.utils names in Keras 3 (the same functions as keras.saving's)
           "register_keras_serializable", "get_custom_objects", "get_registered_name",
           "get_registered_object", "serialize_keras_object", "deserialize_keras_object",
           "custom_object_scope", "CustomObjectScope"]


def to_categorical(x, num_classes=None):
    """Integer class ids ``(n,)`` (or ``(n, 1)``) -> one-hot float32 ``(n, num_classes)``.

    Args:
        x (array | list): non-negative integer class ids.
        num_classes (int | None): number of columns (default: largest id + 1).

    Examples:
        >>> import kerasette as keras
        >>> keras.utils.to_categorical([0, 2], num_classes=3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    x = np.asarray(x)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.size and (x.min() < 0 or (x.dtype.kind == "f" and not np.all(np.mod(x, 1) == 0))):
        raise ValueError(f"to_categorical: expected non-negative integer class ids, got values in "
                         f"[{x.min()}, {x.max()}]")
    x = x.astype(np.int64)
    n = int(x.max()) + 1 if num_classes is None else int(num_classes)
    if x.size and x.max() >= n:
        raise ValueError(f"to_categorical: class id {x.max()} is out of range for num_classes={n}")
    out = np.zeros(x.shape + (n,), dtype="float32")
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay zero).

    Args:
        x (array | Tensor): the values; returns a float32 NumPy array.
        axis (int): the axis the norm runs over (default -1).
        order (int): the norm's order, as ``np.linalg.norm``'s ``ord`` (default 2).

    Examples:
        >>> import kerasette as keras
        >>> print(keras.utils.normalize(np.array([[3.0, 4.0]])))
        [[0.6 0.8]]
    """
    x = np.asarray(x, dtype="float32") if not hasattr(x, "value") else x.numpy()
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm
