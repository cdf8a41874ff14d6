"""``keras.utils.plot_model`` / ``model_to_dot`` (issue 15, item 7): the dot graph's boxes and
edges for a functional model with branches, Sequential and subclassed models, nested models,
the labels against Keras 3's, and a clear ImportError without pydot or Graphviz."""
import os
import shutil
import sys

import pytest

import kerasette as keras

os.environ.setdefault("KERAS_BACKEND", "torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def branchy(k=keras):
    """Two inputs; ``h`` feeds both a concatenation and a second head (a fork and a join)."""
    a = k.Input((3,), name="a")
    b = k.Input((2,), name="b")
    h = k.layers.Dense(4, activation="relu", name="h")(a)
    c = k.layers.Concatenate(name="cat")([h, b])
    o1 = k.layers.Dense(1, activation="sigmoid", name="o1")(c)
    o2 = k.layers.Dense(2, name="o2")(h)
    return k.Model([a, b], [o1, o2], name="branchy")


def graph(dot):
    """``({box id: layer name}, {(from name, to name)})`` of a pydot graph (clusters included)."""
    names, edges = {}, set()

    def walk(g):
        for node in g.get_nodes():
            label = node.get("label")
            if label:
                names[node.get_name()] = label.split("<b>")[1].split("</b>")[0]
        for sub in g.get_subgraphs():
            walk(sub)
        for e in g.get_edges():
            edges.add((e.get_source(), e.get_destination()))
    walk(dot)
    return names, {(names[s], names[d]) for s, d in edges}


def test_functional_boxes_and_edges():
    pytest.importorskip("pydot")
    names, edges = graph(keras.utils.model_to_dot(branchy()))
    assert sorted(names.values()) == ["a", "b", "cat", "h", "o1", "o2"]
    assert edges == {("a", "h"), ("h", "cat"), ("b", "cat"), ("cat", "o1"), ("h", "o2")}


def test_graph_settings_and_label_cells():
    pytest.importorskip("pydot")
    dot = keras.utils.model_to_dot(branchy(), show_shapes=True, show_dtype=True, rankdir="LR", dpi=96,
                                   show_layer_activations=True, show_trainable=True)
    assert (dot.get("rankdir"), str(dot.get("dpi")), dot.get("splines")) == ("LR", "96", "ortho")
    labels = {n: node.get("label") for node in dot.get_nodes() if node.get("label")
              for n in [node.get("label").split("<b>")[1].split("</b>")[0]]}
    assert "Input shape: <b>[(None, 4), (None, 2)]</b>" in labels["cat"]
    assert "Output shape: <b>(None, 6)</b>" in labels["cat"]
    assert "Output dtype: <b>float32</b>" in labels["o1"] and "Activation: <b>sigmoid</b>" in labels["o1"]
    assert "Input shape" not in labels["a"] and "Output shape: <b>(None, 3)</b>" in labels["a"]
    assert "<b>Trainable</b>" in labels["h"] and "Trainable" not in labels["cat"]   # no weights: no cell


def test_labels_match_keras():
    pytest.importorskip("pydot")
    k3 = pytest.importorskip("keras", reason="Keras 3 cross-check")
    options = dict(show_shapes=True, show_dtype=True, show_layer_activations=True, show_trainable=True)
    ours = keras.utils.model_to_dot(branchy(), **options)
    theirs = k3.utils.model_to_dot(branchy(k3), **options)
    assert graph(ours)[1] == graph(theirs)[1]
    label = lambda dot: sorted(n.get("label") for n in dot.get_nodes() if n.get("label"))  # noqa: E731
    assert label(ours) == label(theirs)


def test_sequential_subclassed_and_nested():
    pytest.importorskip("pydot")
    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="d1"), keras.layers.Dense(2, name="d2"),
                            keras.layers.Dense(1, name="d3")])
    assert graph(keras.utils.model_to_dot(seq))[1] == {("d1", "d2"), ("d2", "d3")}

    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.d = keras.layers.Dense(1)

        def call(self, x):
            return self.d(x)
    net = Net()
    net(keras.ops.ones((1, 3)))
    names, edges = graph(keras.utils.model_to_dot(net))
    assert list(names.values()) == ["net"] and edges == set()

    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="i1"), keras.layers.Dense(2, name="i2")],
                             name="inner")
    x = keras.Input((4,), name="x")
    outer = keras.Model(x, keras.layers.Dense(1, name="head")(inner(x)))
    assert graph(keras.utils.model_to_dot(outer))[1] == {("x", "inner"), ("inner", "head")}
    names, edges = graph(keras.utils.model_to_dot(outer, expand_nested=True))
    assert "inner" not in names.values()
    assert edges == {("x", "i1"), ("i1", "i2"), ("i2", "head")}


def test_unbuilt_model_is_refused():
    pytest.importorskip("pydot")
    with pytest.raises(ValueError, match="not yet been built"):
        keras.utils.model_to_dot(keras.Sequential([keras.layers.Dense(1)]))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_plot_model_writes_an_image(tmp_path):
    pytest.importorskip("pydot")
    path = tmp_path / "model.png"
    keras.utils.plot_model(branchy(), to_file=path, show_shapes=True, show_layer_names=True, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keras.utils.plot_model(branchy(), to_file=str(tmp_path / "model.svg"))
    assert "<svg" in (tmp_path / "model.svg").read_text()


def test_clear_error_without_pydot(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)          # as if not installed
    for fn in (keras.utils.plot_model, keras.utils.model_to_dot):
        with pytest.raises(ImportError, match=r"pip install pydot.*graphviz") as info:
            fn(branchy())
        assert "\n" not in str(info.value)


def test_clear_error_without_graphviz(monkeypatch):
    pydot = pytest.importorskip("pydot")

    def no_dot(*args, **kwargs):
        raise FileNotFoundError("[Errno 2] 'dot' not found in path.")
    monkeypatch.setattr(pydot.Dot, "create", no_dot)
    with pytest.raises(ImportError, match="Graphviz's `dot` program"):
        keras.utils.plot_model(branchy(), to_file="never.png")
