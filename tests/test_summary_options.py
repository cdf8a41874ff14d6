"""``model.summary(expand_nested=, show_trainable=, layer_range=, positions=)`` as Keras 3
(they were accepted and ignored)."""
import importlib.util
import os

import pytest

import kerasette as keras

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")


def nested(k):
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(3, name="a"), k.layers.Dense(2, name="b")],
                         name="inner")
    inner.layers[0].trainable = False
    x = k.Input((4,), name="x")
    h = k.layers.Dense(2, name="pre")(x)
    out = k.layers.Dense(1, name="head")(inner(k.layers.Dense(4, name="mid")(h)))
    return k.Model(x, out, name="outer")


def table(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines).splitlines()


def names(lines):
    """The layer names of the table's rows, in order (nested ones keep their indent)."""
    rows = [l for l in lines if l.startswith("│ ") and "(" in l and "Layer (type)" not in l]
    return [l[2:].split(" (")[0].rstrip() for l in rows]


def test_expand_nested_lists_the_inner_layers_under_their_model():
    model = nested(keras)
    assert names(table(model)) == ["x", "pre", "mid", "inner", "head"]
    assert names(table(model, expand_nested=True)) == ["x", "pre", "mid", "inner", "   └ a", "   └ b", "head"]


def test_show_trainable_adds_a_column():
    lines = table(nested(keras), expand_nested=True, show_trainable=True)
    assert "Trainable" in lines[2] and all(len(l) <= 80 for l in lines)
    marks = {l[2:].split(" (")[0].strip(" └"): l.rstrip(" │").split()[-1]
             for l in lines if l.startswith("│ ") and "(" in l and "Layer (type)" not in l}
    assert marks == {"x": "-", "pre": "Y", "mid": "Y", "inner": "Y", "a": "N", "b": "Y", "head": "Y"}


def test_layer_range_selects_a_run_of_layers():
    model = nested(keras)
    assert names(table(model, layer_range=["pre", "inner"])) == ["pre", "mid", "inner"]
    assert names(table(model, layer_range=("inner", "pre"))) == ["pre", "mid", "inner"]   # either order
    assert names(table(model, layer_range=["m.*", "h.*"])) == ["mid", "inner", "head"]
    with pytest.raises(ValueError, match=r"layer_range \['nope', 'head'\] matches no layer"):
        model.summary(layer_range=["nope", "head"])
    with pytest.raises(ValueError, match="layer_range must be a list or tuple of 2 layer names"):
        model.summary(layer_range=["pre"])


def test_positions_set_the_column_ends():
    lines = table(nested(keras), positions=[0.3, 0.6, 1.0], line_length=60)
    header = lines[2]
    assert len(header) == 60 and header.index("Output Shape") < 22
    assert table(nested(keras), positions=[17, 35, 58], line_length=60)[2].index("Output Shape") == 19
    with pytest.raises(ValueError, match="positions must be 3 increasing positive numbers"):
        nested(keras).summary(positions=[0.5, 1.0])
    with pytest.raises(ValueError, match="narrower than 4"):
        nested(keras).summary(positions=[0.5, 0.51, 1.0])


@needs_keras
def test_the_same_layers_as_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    theirs = nested(real)
    for kwargs in ({"expand_nested": True}, {"layer_range": ["pre", "inner"]}, {"layer_range": ["m.*", "h.*"]}):
        text = []
        theirs.summary(print_fn=lambda s, line_break=None: text.append(s), line_length=120, **kwargs)
        text = "\n".join(text)
        ours = [n.strip(" └") for n in names(table(nested(keras), **kwargs))]
        shown = [n for n in ["x", "pre", "mid", "inner", "a", "b", "head"] if f"{n} (" in text]
        assert ours == shown, kwargs
