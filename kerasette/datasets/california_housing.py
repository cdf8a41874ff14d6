"""California house values (8 features, 20,640 districts): ``keras.datasets.california_housing``.

Downloaded on first use from the same address as Keras, checked against the same hash, into the
same cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``).
"""
import numpy as np

from . import _readers

__all__ = ["load_data"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/california_housing.npz"
FILE_HASH = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"          # sha256


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """The California Housing regression data, shuffled and split, as
    ``keras.datasets.california_housing.load_data``.

    One row per block group of the 1990 US census (StatLib), 8 features: median income, median
    house age, average rooms, average bedrooms, population, average occupancy, latitude,
    longitude. The target is the median house value in dollars.

    The samples (the first 600 for ``"small"``) are shuffled with
    ``np.random.RandomState(seed)``; the first ``int(n * (1 - test_split))`` form the training set.

    Args:
        version (str): ``"large"`` (default, all 20,640 samples) or ``"small"`` (the first 600,
            a stand-in for ``boston_housing``).
        path (str): the file name in the cache folder ``~/.keras/datasets`` (default
            ``"california_housing.npz"``).
        test_split (float): the share of samples in the test set, in [0, 1) (default 0.2).
        seed (int | None): seed of the shuffle (default 113, Keras's).

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: float arrays ``(n, 8)`` and ``(n,)``
        (16,512 training and 4,128 test samples with the defaults; 480 and 120 for ``"small"``).

    Raises:
        ValueError: an unknown ``version``, ``test_split`` outside [0, 1), a file without the
            arrays ``x`` and ``y``, or a download that does not match the hash.
    """
    what = "california_housing.load_data"
    if version not in ("small", "large"):
        raise ValueError(f"{what}: version must be 'small' or 'large', got {version!r}")
    _readers.check_test_split(test_split, what)
    local = _readers.fetch(path, ORIGIN, FILE_HASH)
    with np.load(local, allow_pickle=False) as f:
        if "x" not in f or "y" not in f:
            raise ValueError(f"{what}: {local} lacks the arrays 'x' and 'y'")
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return _readers.shuffle_split(x, y, test_split, seed, what)
