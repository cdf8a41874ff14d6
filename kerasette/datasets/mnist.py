"""MNIST digits, from the copy shipped inside the package (no download)."""
import os

import numpy as np

__all__ = ["load_data"]

DATA_PATH = os.path.join(os.path.dirname(__file__), "data", "mnist.npz")


def load_data(path=None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` and uint8 labels.

    Same layout as ``keras.datasets.mnist.load_data()``: 60,000 training and
    10,000 test images.

    Args:
        path (str | None): an ``.npz`` file in Keras's layout (default: the copy shipped with kerasette).

    Examples:
        >>> import kerasette as keras
        >>> (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        >>> x_train.shape, x_train.dtype, y_train.shape, x_test.shape
        ((60000, 28, 28), dtype('uint8'), (60000,), (10000, 28, 28))
    """
    path = path or DATA_PATH
    if not os.path.exists(path):
        raise FileNotFoundError(f"mnist.load_data: the data file {path} is missing")
    with np.load(path) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
