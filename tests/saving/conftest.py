"""Shared builders for the saving tests: the fixture architectures, built with kerasette.

The Keras-made files in ``tests/fixtures`` come from
``tests/fixtures/make_keras_fixtures.py``; the builders here must describe the
same architectures (layer order, sizes, activations), so that Keras's weights
give Keras's predictions.
"""
import os
import types

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def mlp():
    return keras.Sequential([keras.Input((6,)),
                             layers.Dense(8, activation="relu", name="hidden1"),
                             layers.Dense(5, activation="tanh", name="hidden2"),
                             layers.Dense(3, activation="softmax", name="out")], name="mlp")


def two_input():
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    ha = layers.Dense(5, activation="relu", name="dense_a")(a)
    hb = layers.Dense(5, activation="relu", name="dense_b")(b)
    h = layers.Concatenate(name="concat")([ha, hb])
    return keras.Model([a, b], layers.Dense(2, name="head")(h), name="two_input")


def branchy():
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    x = layers.Dense(6, activation="relu", name="a1")(a)
    x = layers.Dense(6, activation="relu", name="a2")(x)
    x = layers.Dense(3, activation="relu", name="a3")(x)
    y = layers.Dense(3, activation="relu", name="b1")(b)
    shared = layers.Dense(3, activation="tanh", name="shared")
    z = layers.Add(name="add")([shared(x), shared(y)])
    out = layers.Dense(2, name="head")(layers.Concatenate(name="cat")([z, y]))
    return keras.Model([a, b], out, name="branchy")


def cnn():
    return keras.Sequential([keras.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(),
                             layers.Dense(3, activation="softmax")], name="cnn")


def rnn():
    return keras.Sequential([keras.Input((5, 3)), layers.SimpleRNN(4), layers.Dense(2)], name="rnn")


def birnn():
    return keras.Sequential([keras.Input((5, 3)), layers.Bidirectional(layers.SimpleRNN(4)),
                             layers.Dense(2)], name="birnn")


BUILDERS = {"mlp": mlp, "two_input": two_input, "branchy": branchy, "cnn": cnn, "rnn": rnn,
            "birnn": birnn}
NEEDS = {"cnn": ("Conv2D", "MaxPooling2D"), "rnn": ("SimpleRNN",), "birnn": ("SimpleRNN", "Bidirectional")}


def require_layers(name):
    """Skip while a layer a fixture needs is not in kerasette yet."""
    missing = [n for n in NEEDS.get(name, ()) if not hasattr(keras.layers, n)]
    if missing:
        pytest.skip(f"kerasette has no {missing} yet")


def fixture_data(name):
    """(inputs for predict, Keras's predictions, the npz) of fixture ``name``."""
    d = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    xs = [d[f"x{i}"] for i in range(4) if f"x{i}" in d.files]
    return (xs if len(xs) > 1 else xs[0]), d["y"], d


def train_inputs(d):
    xs = [d[f"train_x{i}"] for i in range(4) if f"train_x{i}" in d.files]
    return xs if len(xs) > 1 else xs[0]


def h5_tree(path_or_file):
    """{group or dataset path: (shape or None, name attribute or None)} of an HDF5 file."""
    import h5py
    out = {}
    with h5py.File(path_or_file, "r") as f:
        def visit(name, obj):
            name_attr = obj.attrs.get("name")
            if isinstance(name_attr, bytes):
                name_attr = name_attr.decode()
            out[name] = (tuple(obj.shape) if isinstance(obj, h5py.Dataset) else None, name_attr)
        f.visititems(visit)
    return out


@pytest.fixture
def kit():
    """The helpers above, for test modules (importlib mode cannot import conftest)."""
    return types.SimpleNamespace(FIXTURES=FIXTURES, BUILDERS=BUILDERS, require_layers=require_layers,
                                 fixture_data=fixture_data, train_inputs=train_inputs, h5_tree=h5_tree,
                                 **BUILDERS)
