"""Boston house prices (13 features, 506 samples): ``keras.datasets.boston_housing``.

Downloaded on first use from the same address as Keras, checked against the same hash, into the
same cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``).
"""
import numpy as np

from . import _readers

__all__ = ["load_data"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"          # sha256


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """The Boston Housing regression data, shuffled and split, as
    ``keras.datasets.boston_housing.load_data``.

    13 attributes of houses in the Boston suburbs of the late 1970s (StatLib); the targets are
    median prices in k$. Keras warns against using it outside lessons on data ethics: one attribute
    encodes an assumption about racial self-segregation. ``california_housing`` is the usual
    replacement.

    The samples are shuffled with ``np.random.RandomState(seed)``; the first
    ``int(n * (1 - test_split))`` form the training set.

    Args:
        path (str): the file name in the cache folder ``~/.keras/datasets`` (default
            ``"boston_housing.npz"``).
        test_split (float): the share of samples in the test set, in [0, 1) (default 0.2).
        seed (int | None): seed of the shuffle (default 113, Keras's).

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: float arrays ``(n, 13)`` and ``(n,)``
        (404 training and 102 test samples with the defaults).

    Raises:
        ValueError: ``test_split`` outside [0, 1), a file without the arrays ``x`` and ``y``, or a
            download that does not match the hash.
    """
    what = "boston_housing.load_data"
    _readers.check_test_split(test_split, what)
    local = _readers.fetch(path, ORIGIN, FILE_HASH)
    with np.load(local, allow_pickle=False) as f:
        if "x" not in f or "y" not in f:
            raise ValueError(f"{what}: {local} lacks the arrays 'x' and 'y'")
        x, y = f["x"], f["y"]
    return _readers.shuffle_split(x, y, test_split, seed, what)
