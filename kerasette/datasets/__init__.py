"""Keras's datasets: MNIST shipped with kerasette (offline); the others downloaded on first use.

``fashion_mnist``, ``cifar10``, ``cifar100``, ``imdb``, ``reuters``, ``boston_housing`` and
``california_housing`` fetch the same files as Keras, from the same addresses, checked against the
same hashes, into the same cache (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``), through
``keras.utils.get_file``. A file from the network is never trusted: pickles are read by an
unpickler that can only rebuild NumPy arrays, and every file is capped in size.
"""
from . import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
               reuters)

__all__ = ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing",
           "california_housing"]
