"""CIFAR-10 (32x32 colour images, 10 classes): ``keras.datasets.cifar10``.

Downloaded on first use from the same address as Keras (the CIFAR home page), checked against the
same hash, and unpacked into the same cache folder (``~/.keras/datasets/cifar-10-batches-py-target``).
The batches are pickles: they are read by an unpickler that can only rebuild NumPy arrays.
"""
import os

import numpy as np

from . import _readers

__all__ = ["load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FILE_HASH = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"          # sha256
DIRNAME = "cifar-10-batches-py-target"


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: 50,000 training and 10,000 test 32x32 colour
    images in 10 classes, as ``keras.datasets.cifar10.load_data``.

    The labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
    9 truck. The training set is ``data_batch_1`` to ``data_batch_5`` in order; images are
    channels-last (kerasette's only image layout, and Keras's default).

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)`` and
        ``(10000, 32, 32, 3)`` (0-255), uint8 labels ``(50000, 1)`` and ``(10000, 1)`` (0-9).

    Raises:
        ValueError: a download that does not match the hash, or a batch not in the CIFAR layout.
        pickle.UnpicklingError: a batch names anything but NumPy's array rebuilding (a tampered
            file); nothing in it is run.
    """
    what = "cifar10.load_data"
    folder = os.path.join(_readers.fetch(DIRNAME, ORIGIN, FILE_HASH, extract=True), "cifar-10-batches-py")
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = [_readers.load_cifar_batch(os.path.join(folder, n), "labels", what) for n in names]
    x_train = np.concatenate([x for x, _ in batches[:5]])
    y_train = np.concatenate([y for _, y in batches[:5]]).astype(np.uint8).reshape(-1, 1)
    x_test, y_test = batches[5]
    return (x_train, y_train), (x_test, y_test.astype(np.uint8).reshape(-1, 1))
