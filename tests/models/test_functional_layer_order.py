"""Functional.layers / weights / get_weights() in Keras 3's order.

Keras (``keras/src/ops/function.py``, ``map_graph``) sorts a functional model's layers by depth
counted from the outputs, deepest (the inputs) first; ties go by the order a depth-first walk
from the outputs first meets the layers. Each graph below is built with explicit names in
kerasette and, when it is installed, in real Keras 3 (torch backend); the names, the weight
shapes, ``set_weights(keras_model.get_weights())`` and the predictions must agree. A few orders
recorded from Keras 3.15 are written out, so the file checks something without Keras too.
"""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette.layers.symbolic import map_structure
from kerasette.saving.h5_weights import keras_layer_order, keras_trainable_order

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def build(k, which):
    """The graph ``which`` built with the library ``k`` (kerasette or keras)."""
    L = k.layers
    if which == "resnet_block":                  # projection shortcut made after the main path
        x = k.Input((8, 8, 3), name="img")
        h = L.Conv2D(4, 1, name="b1_1_conv")(x)
        h = L.BatchNormalization(name="b1_1_bn")(h)
        h = L.Activation("relu", name="b1_1_relu")(h)
        h = L.Conv2D(8, 3, padding="same", name="b1_2_conv")(h)
        h = L.BatchNormalization(name="b1_2_bn")(h)
        s = L.Conv2D(8, 1, name="b1_0_conv")(x)
        s = L.BatchNormalization(name="b1_0_bn")(s)
        h = L.Add(name="b1_add")([s, h])
        h = L.Activation("relu", name="b1_out")(h)
        h2 = L.Conv2D(8, 3, padding="same", name="b2_1_conv")(h)
        h = L.Add(name="b2_add")([h, h2])        # identity shortcut
        out = L.GlobalAveragePooling2D(name="gap")(h)
        return k.Model(x, L.Dense(3, name="head")(out), name="resnet_block")
    if which == "inception":                     # parallel branches of different lengths
        x = k.Input((8, 8, 3), name="inp")
        a = L.Conv2D(2, 1, name="a1")(x)
        b = L.Conv2D(3, 1, name="b1")(x)
        b = L.Conv2D(4, 3, padding="same", name="b2")(b)
        c = L.Conv2D(5, 1, name="c1")(x)
        c = L.Conv2D(6, 3, padding="same", name="c2")(c)
        c = L.Conv2D(7, 3, padding="same", name="c3")(c)
        d = L.MaxPooling2D(3, 1, padding="same", name="dpool")(x)
        d = L.Conv2D(8, 1, name="d1")(d)
        return k.Model(x, L.Concatenate(name="cat")([a, b, c, d]), name="inception")
    if which == "shared_two_depths":             # one layer called at two depths
        a = k.Input((6,), name="a")
        b = k.Input((6,), name="b")
        shared = L.Dense(4, name="shared")
        ha = shared(a)
        hb = shared(L.Dense(6, name="pre_b")(b))
        out = L.Dense(2, name="out")(L.Concatenate(name="cat")([ha, hb]))
        return k.Model([a, b], out, name="shared_two_depths")
    if which == "siamese":                       # one layer called twice at the same depth
        a = k.Input((5,), name="left")
        b = k.Input((5,), name="right")
        enc = L.Dense(3, name="enc")
        d = L.Subtract(name="diff")([enc(b), enc(a)])
        return k.Model([a, b], L.Dense(1, name="score")(d), name="siamese")
    if which == "multi_io":                      # an input used only near the end
        a = k.Input((4,), name="in_a")
        b = k.Input((3,), name="in_b")
        c = k.Input((2,), name="in_c")
        ha = L.Dense(5, name="da2")(L.Dense(5, name="da1")(a))
        hb = L.Dense(5, name="db1")(b)
        m = L.Concatenate(name="merge")([ha, hb, c])
        o1 = L.Dense(1, name="out1")(m)
        o2 = L.Dense(2, name="out2")(hb)
        o3 = L.Dense(3, name="out3")(L.Dense(4, name="mid3")(m))
        return k.Model([a, b, c], [o1, o2, o3], name="multi_io")
    if which == "unused_input":
        a = k.Input((4,), name="used")
        b = k.Input((4,), name="unused")
        return k.Model([b, a], L.Dense(2, name="d")(L.Dense(3, name="c")(a)), name="unused_input")
    if which == "dict_io":                       # keras.tree walks a dict by sorted key
        a = k.Input((4,), name="zeta")
        b = k.Input((3,), name="alpha")
        h = L.Concatenate(name="cat")([L.Dense(2, name="z1")(a), L.Dense(2, name="a1")(b)])
        outs = {"zz": L.Dense(1, name="zz_head")(h), "aa": L.Dense(2, name="aa_head")(h),
                "mm": L.Dense(3, name="mm_head")(L.Dense(3, name="mm_mid")(a))}
        return k.Model({"zeta": a, "alpha": b}, outs, name="dict_io")
    if which == "nested":                        # a functional model called twice, a Sequential
        ix = k.Input((4,), name="inner_in")
        ih = L.Dense(5, name="inner_d1")(ix)
        ih2 = L.Dense(5, name="inner_short")(ix)
        inner = k.Model(ix, L.Add(name="inner_add")([L.Dense(5, name="inner_d2")(ih), ih2]), name="inner")
        x = k.Input((4,), name="x")
        y = k.Input((4,), name="y")
        z = L.Concatenate(name="cat")([inner(x), inner(L.Dense(4, name="pre_y")(y))])
        seq = k.Sequential([k.Input((10,)), L.Dense(3, name="s1"), L.Dense(2, name="s2")], name="seq")
        out = L.Dense(1, name="final")(L.Concatenate(name="cat2")([seq(z), L.Dense(2, name="skip")(x)]))
        return k.Model([x, y], out, name="outer")
    if which == "creation_order":                # layers made in one order, called in another
        d3 = L.Dense(3, name="made_first")
        d1 = L.Dense(4, name="made_second")
        d2 = L.Dense(5, name="made_third")
        bn = L.BatchNormalization(name="made_fourth")
        x = k.Input((6,), name="x")
        h = bn(d1(x))
        s = d2(x)
        return k.Model(x, d3(L.Concatenate(name="cat")([s, h])), name="creation_order")
    if which == "output_ties":                   # outputs listed against their depth
        x = k.Input((4,), name="x")
        p = L.Dense(4, name="p")(x)
        q = L.Dense(4, name="q")(x)
        r = L.Dense(4, name="r")(p)
        return k.Model(x, [q, r, L.Add(name="s")([r, q])], name="output_ties")
    if which == "long_skip":                     # same-shape weights: only the order tells them apart
        x = k.Input((4,), name="x")
        h = x
        for i in range(4):
            h = L.Dense(4, name=f"chain{i}")(h)
        skip = L.Dense(4, name="skip")(x)
        side = L.Dense(4, name="side")(L.Dense(4, name="side0")(x))
        return k.Model(x, L.Add(name="add")([skip, side, h]), name="long_skip")
    if which == "kwargs_tensors":                # tensors passed by keyword: walked by sorted name

        class Mix(L.Layer):
            def call(self, a, zeta=None, beta=None):
                return a + 2.0 * zeta + 3.0 * beta

        x = k.Input((4,), name="x")
        p = L.Dense(4, name="p")(x)
        q = L.Dense(4, name="q")(x)
        r = L.Dense(4, name="r")(x)
        m = Mix(name="mix")(r, zeta=p, beta=q)
        return k.Model(x, L.Dense(1, name="o")(m), name="kwargs_tensors")
    if which == "attention":
        q = k.Input((4, 8), name="q")
        v = k.Input((6, 8), name="v")
        qq = L.Dense(8, name="qproj")(q)
        vv = L.Dense(8, name="vproj")(v)
        kk = L.Dense(8, name="kproj")(v)
        att = L.MultiHeadAttention(2, 4, name="mha")(qq, vv, key=kk)
        return k.Model([q, v], L.Dense(1, name="o")(att), name="attention")
    raise KeyError(which)


GRAPHS = ["resnet_block", "inception", "shared_two_depths", "siamese", "multi_io", "unused_input", "dict_io",
          "nested", "creation_order", "output_ties", "long_skip", "kwargs_tensors", "attention"]

# recorded from Keras 3.15 (torch backend): [l.name for l in m.layers], [w.shape for w in m.get_weights()]
RECORDED = {
    "resnet_block": (
        ["img", "b1_1_conv", "b1_1_bn", "b1_1_relu", "b1_0_conv", "b1_2_conv", "b1_0_bn", "b1_2_bn", "b1_add",
         "b1_out", "b2_1_conv", "b2_add", "gap", "head"],
        [(1, 1, 3, 4), (4,), (4,), (4,), (4,), (4,), (1, 1, 3, 8), (8,), (3, 3, 4, 8), (8,), (8,), (8,), (8,),
         (8,), (8,), (8,), (8,), (8,), (3, 3, 8, 8), (8,), (8, 3), (3,)]),
    "inception": (["inp", "c1", "b1", "c2", "dpool", "a1", "b2", "c3", "d1", "cat"], None),
    "multi_io": (
        ["in_a", "da1", "in_b", "da2", "db1", "in_c", "merge", "mid3", "out1", "out2", "out3"],
        [(4, 5), (5,), (5, 5), (5,), (3, 5), (5,), (12, 4), (4,), (12, 1), (1,), (5, 2), (2,), (4, 3), (3,)]),
    "dict_io": (["zeta", "alpha", "z1", "a1", "cat", "mm_mid", "aa_head", "mm_head", "zz_head"],
                [(4, 2), (2,), (3, 2), (2,), (4, 3), (3,), (4, 2), (2,), (3, 3), (3,), (4, 1), (1,)]),
    "nested": (["y", "x", "pre_y", "inner", "cat", "seq", "skip", "cat2", "final"],
               [(4, 4), (4,), (4, 5), (5,), (5, 5), (5,), (4, 5), (5,), (10, 3), (3,), (3, 2), (2,), (4, 2),
                (2,), (4, 1), (1,)]),
    "unused_input": (["used", "c", "unused", "d"], None),
    "shared_two_depths": (["b", "a", "pre_b", "shared", "cat", "out"], None),
    "kwargs_tensors": (["x", "r", "q", "p", "mix", "o"], None),
    "long_skip": (["x", "chain0", "chain1", "side0", "chain2", "skip", "side", "chain3", "add"], None),
}


@pytest.mark.parametrize("which", sorted(RECORDED))
def test_layer_order_recorded_from_keras(which):
    model = build(keras, which)
    names, shapes = RECORDED[which]
    assert [l.name for l in model.layers] == names
    if shapes is not None:
        assert [w.shape for w in model.get_weights()] == shapes
    # one order everywhere: the saving code's, the weights', the optimizer's
    assert keras_layer_order(model) == model.layers
    assert [id(w) for w in keras_trainable_order(model)] == [id(w) for w in model.trainable_weights]
    order = [w for l in model.layers for w in l.weights]
    assert [id(w) for w in model.weights] == [id(w) for w in order]


def test_nested_model_keeps_its_own_order():
    inner = build(keras, "nested").get_layer("inner")
    assert [l.name for l in inner.layers] == ["inner_in", "inner_d1", "inner_d2", "inner_short", "inner_add"]


def test_summary_lists_layers_in_keras_order():
    lines = []
    build(keras, "resnet_block").summary(print_fn=lines.append)
    text = "\n".join(lines)
    where = [text.index(n + " ") for n in ("b1_1_relu", "b1_0_conv", "b1_2_conv", "b1_0_bn", "b1_2_bn")]
    assert where == sorted(where)


def test_intermediate_input_stands_where_keras_puts_its_clone():
    # Keras replaces an intermediate input by a cloned Input (named '...CLONE'); kerasette keeps
    # the producing layer, at the place Keras lists the clone:
    # Keras 3.15: ['a', 'g1', 'g2', 'g3', 'keras_tensorCLONE', 'add', 'out']
    L = keras.layers
    a = keras.Input((4,), name="a")
    h = L.Dense(4, name="producer")(keras.Input((4,), name="x"))
    g = L.Dense(4, name="g3")(L.Dense(4, name="g2")(L.Dense(4, name="g1")(a)))
    model = keras.Model([a, h], L.Dense(2, name="out")(L.Add(name="add")([g, h])))
    assert [l.name for l in model.layers] == ["a", "g1", "g2", "g3", "producer", "add", "out"]


def test_deep_chain_has_no_recursion_limit():
    x = keras.Input((2,), name="x")
    h = x
    for i in range(1500):
        h = keras.layers.Activation("linear", name=f"a{i}")(h)
    model = keras.Model(x, keras.layers.Add(name="add")([h, x]))
    names = [l.name for l in model.layers]
    assert names[:3] == ["x", "a0", "a1"] and names[-2:] == ["a1499", "add"]


def test_training_after_the_reorder_updates_every_weight():
    model = build(keras, "resnet_block")
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 8, 8, 3)), rng.standard_normal((8, 3))
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    after = model.get_weights()
    for w, p, q in zip(model.weights, before, after):
        if w.trainable:
            assert not np.array_equal(p, q), w.path


# ------------------------------------------------------------------------ against real Keras


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if real.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {real.backend.backend()}, these checks were written for torch")
    real.utils.clear_session()
    return real


def _randomize(real_model, seed=0):
    rng = np.random.RandomState(seed)
    for w in real_model.weights:
        value = rng.normal(0.0, 0.5, tuple(w.shape)).astype("float32")
        if w.name == "moving_variance":
            value = np.abs(value) + 0.5
        w.assign(value)


def _to_numpy(real, out):
    if isinstance(out, dict):
        return {k: real.ops.convert_to_numpy(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [real.ops.convert_to_numpy(v) for v in out]
    return real.ops.convert_to_numpy(out)


@needs_keras
@pytest.mark.parametrize("which", GRAPHS)
def test_layers_weights_and_predictions_match_keras(which):
    real = _keras()
    ref = build(real, which)
    _randomize(ref)
    model = build(keras, which)
    assert [l.name for l in model.layers] == [l.name for l in ref.layers]
    want = ref.get_weights()
    assert [w.shape for w in model.get_weights()] == [w.shape for w in want]
    assert [tuple(w.shape) for w in model.trainable_weights] == [tuple(w.shape) for w in ref.trainable_weights]
    model.set_weights(want)                       # same order: every array lands on its namesake
    rng = np.random.default_rng(1)
    x = map_structure(lambda t: rng.standard_normal((2,) + tuple(t.shape[1:])).astype("float32"), model.input)
    got = model.predict(x, verbose=0)
    expected = _to_numpy(real, ref(x, training=False))
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        pairs = [(got[k], expected[k]) for k in expected]
    elif isinstance(expected, list):
        pairs = list(zip(got, expected))
    else:
        pairs = [(got, expected)]
    for g, e in pairs:
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


@needs_keras
@pytest.mark.parametrize("which", ["resnet_block", "nested", "dict_io"])
def test_keras_weights_file_matches_get_weights(which, tmp_path):
    """A .weights.h5 file from Keras loads into kerasette, and kerasette's get_weights() then equals
    Keras's, array by array: files and the in-memory order agree."""
    real = _keras()
    ref = build(real, which)
    _randomize(ref, seed=2)
    path = str(tmp_path / "ref.weights.h5")
    ref.save_weights(path)
    model = build(keras, which)
    model.load_weights(path)
    assert len(model.get_weights()) == len(ref.get_weights())
    for g, e in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(g, e)
