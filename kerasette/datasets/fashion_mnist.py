"""Fashion-MNIST (Zalando's clothing images): ``keras.datasets.fashion_mnist``.

Downloaded on first use from the same address as Keras into the same cache folder
(``~/.keras/datasets/fashion-mnist``). Keras gives no hashes for these four files; each is checked
instead to be a complete IDX file of the expected shape.
"""
import os

from . import _readers

__all__ = ["load_data"]

ORIGIN_FOLDER = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: 60,000 training and 10,000 test 28x28 grayscale
    images of clothing in 10 classes, as ``keras.datasets.fashion_mnist.load_data``.

    The labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
    7 sneaker, 8 bag, 9 ankle boot. A drop-in replacement for MNIST (same shapes and dtypes).
    Fashion-MNIST is by Zalando SE, under the MIT license.

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)`` and
        ``(10000, 28, 28)`` (0-255), uint8 labels ``(60000,)`` and ``(10000,)`` (0-9).

    Raises:
        ValueError: a file that is not a complete gzipped IDX file, or images and labels of
            different counts.
        OSError: a file could not be downloaded.
    """
    what = "fashion_mnist.load_data"
    paths = [_readers.fetch(name, ORIGIN_FOLDER + name, None, cache_subdir=CACHE_SUBDIR) for name in FILES]
    y_train = _readers.read_idx_gz(paths[0], 1, what)
    x_train = _readers.read_idx_gz(paths[1], 3, what)
    y_test = _readers.read_idx_gz(paths[2], 1, what)
    x_test = _readers.read_idx_gz(paths[3], 3, what)
    for x, y, split in ((x_train, y_train, "training"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise ValueError(f"{what}: the {split} files hold {len(x)} images but {len(y)} labels")
    return (x_train, y_train), (x_test, y_test)
