"""CIFAR-100 (32x32 colour images, 100 classes in 20 superclasses): ``keras.datasets.cifar100``.

Downloaded on first use from the same address as Keras (the CIFAR home page), checked against the
same hash, and unpacked into the same cache folder (``~/.keras/datasets/cifar-100-python-target``).
The batches are pickles: they are read by an unpickler that can only rebuild NumPy arrays.
"""
import os

from . import _readers

__all__ = ["load_data"]

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
FILE_HASH = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"          # sha256
DIRNAME = "cifar-100-python-target"


def load_data(label_mode="fine"):
    """``(x_train, y_train), (x_test, y_test)``: 50,000 training and 10,000 test 32x32 colour
    images, labelled with 100 fine classes or 20 coarse superclasses, as
    ``keras.datasets.cifar100.load_data``.

    Images are channels-last (kerasette's only image layout, and Keras's default).

    Args:
        label_mode (str): ``"fine"`` (default: the 100 classes, 0-99) or ``"coarse"`` (the 20
            superclasses, 0-19).

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)`` and
        ``(10000, 32, 32, 3)`` (0-255), int64 labels ``(50000, 1)`` and ``(10000, 1)`` (Keras's
        dtype here, unlike CIFAR-10's uint8).

    Raises:
        ValueError: an unknown ``label_mode``, a download that does not match the hash, or a batch
            not in the CIFAR layout.
        pickle.UnpicklingError: a batch names anything but NumPy's array rebuilding (a tampered
            file); nothing in it is run.
    """
    what = "cifar100.load_data"
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"{what}: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    folder = os.path.join(_readers.fetch(DIRNAME, ORIGIN, FILE_HASH, extract=True), "cifar-100-python")
    out = []
    for name in ("train", "test"):
        x, y = _readers.load_cifar_batch(os.path.join(folder, name), f"{label_mode}_labels", what)
        out.append((x, y.reshape(-1, 1)))
    return tuple(out)
