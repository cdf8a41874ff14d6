"""``model.summary()`` of a model not built yet prints as Keras 3 does (issue 15, item 7): ``?``
output shapes, ``0 (unbuilt)`` parameters, zero totals; a built model's table is unchanged."""
import os

import numpy as np
import pytest

import kerasette as keras

os.environ.setdefault("KERAS_BACKEND", "torch")


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


def table(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[0]


def rows(text):
    """(layer type, output shape, params) of each layer row of a summary table."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 3 and cells[0].endswith(")") and cells[0] != "Layer (type)":
            out.append((cells[0].rsplit("(", 1)[1].rstrip(")"), cells[1], cells[2]))
    return out


def test_unbuilt_subclassed_model():
    text = table(Net(name="net"))
    assert text.splitlines()[0] == 'Model: "net"'
    assert rows(text) == [("Dense", "?", "0 (unbuilt)"), ("Dense", "?", "0 (unbuilt)")]
    assert " Total params: 0 (0.00 B)" in text.splitlines()
    assert " Trainable params: 0" in text.splitlines() and " Non-trainable params: 0" in text.splitlines()


def test_sequential_without_input_then_built():
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    assert rows(table(model)) == [("Dense", "?", "0 (unbuilt)")] * 2
    model.fit(np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    text = table(model)
    assert rows(text) == [("Dense", "(None, 4)", "16"), ("Dense", "(None, 2)", "10")]
    assert " Total params: 26 (104.00 B)" in text.splitlines()


def test_partly_built_model_counts_what_is_built():
    first = keras.layers.Dense(4)
    first.build((None, 3))
    model = keras.Sequential([first, keras.layers.Dense(2)])
    assert rows(table(model)) == [("Dense", "?", "16"), ("Dense", "?", "0 (unbuilt)")]


def test_built_model_table_is_unchanged():
    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, keras.layers.Dense(2, name="d")(inp), name="m")
    assert table(model) == "\n".join([
        'Model: "m"',
        "┏" + "─" * 78 + "┓",
        "│ Layer (type)                     │ Output Shape           │ Param #          │",
        "┡" + "─" * 78 + "┩",
        "│ x (InputLayer)                   │ (None, 3)              │ 0                │",
        "│ d (Dense)                        │ (None, 2)              │ 8                │",
        "└" + "─" * 78 + "┘",
        " Total params: 8 (32.00 B)",
        " Trainable params: 8",
        " Non-trainable params: 0"])


def test_cells_match_keras():
    k3 = pytest.importorskip("keras", reason="Keras 3 cross-check")

    class KNet(k3.Model):
        def __init__(self):
            super().__init__()
            self.hidden = k3.layers.Dense(4, activation="relu")
            self.out = k3.layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    for ours, theirs in [(Net(), KNet()),
                         (keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)]),
                          k3.Sequential([k3.layers.Dense(4), k3.layers.Dense(2)]))]:
        lines = []
        theirs.summary(print_fn=lambda s, line_break=None: lines.append(s))
        keras_text = "\n".join(lines)
        assert rows(table(ours)) == rows(keras_text)
        assert "Total params: 0 (0.00 B)" in keras_text
