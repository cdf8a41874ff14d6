"""kerasette: a Keras-style deep-learning library you can read end to end.

``import kerasette as keras`` gives the familiar API: layers, Sequential,
Model, Input, compile / fit / evaluate / predict, HDF5 weights.
"""
__version__ = "0.1.0"

from . import backend, config
from .backend import set_random_seed, device_scope as device
from .autograd import Tensor, Variable, no_grad, gradcheck
from . import random  # keras.random: seeded draws, SeedGenerator
from . import ops, initializers, activations, regularizers, constraints, losses, metrics, optimizers, callbacks
from . import layers, models, utils, datasets, saving, distribute, applications, tree
from .layers import Input, InputSpec, Layer
from .models import Model, Sequential
from .utils.info import show_config
from .layers.symbolic import KerasTensor
from .losses import Loss
from .metrics import Metric
from .optimizers import Optimizer
from .initializers import Initializer
from .regularizers import Regularizer


def version():
    """kerasette's version, as ``keras.version()`` gives Keras's (``"0.1.0"``)."""
    return __version__

__all__ = ["backend", "config", "ops", "random", "initializers", "activations", "regularizers", "constraints", "losses",
           "metrics", "optimizers", "callbacks", "layers", "models", "utils", "datasets", "saving", "distribute", "applications", "Input", "Layer", "Model",
           "Sequential", "Tensor", "Variable", "no_grad", "gradcheck", "set_random_seed", "device",
           "show_config", "KerasTensor", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer",
           "InputSpec", "version", "tree"]

