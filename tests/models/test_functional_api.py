"""Functional API: graphs, multi-IO, shared layers, nested models, errors."""
import json

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import numerical_grad
from kerasette.backend import to_device, to_numpy


def two_io_model():
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    reg = layers.Dense(1, name="reg")(layers.concatenate([ha, hb]))
    cls = layers.Dense(3, activation="softmax", name="cls")(layers.add([ha, hb]))
    return keras.Model(inputs=[a, b], outputs=[reg, cls])


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    xa, xb = rng.standard_normal((n, 6)), rng.standard_normal((n, 6))
    return (xa, xb), (rng.standard_normal((n, 1)), rng.integers(0, 3, n))


def test_symbolic_shapes_and_layers():
    x = keras.Input((5, 3))
    y = layers.Dense(7)(x)
    assert x.shape == (None, 5, 3) and y.shape == (None, 5, 7)
    model = keras.Model(x, layers.Flatten()(y))
    assert model.output_shape == (None, 35)
    assert [l.name for l in model.layers] == ["input_layer", "dense", "flatten"]
    assert model.get_layer("dense") is model.layers[1]
    assert model.get_layer(index=2).name == "flatten"
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")


def test_multi_io_fit_with_lists_and_dicts_and_loss_weights():
    model = two_io_model()
    model.compile("adam", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0}, metrics={"cls": ["accuracy"]})
    (xa, xb), (yr, yc) = data()
    h = model.fit([xa, xb], [yr, yc], epochs=2, batch_size=8, verbose=0)
    assert set(h.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    logs = model.evaluate({"a": xa, "b": xb}, {"reg": yr, "cls": yc}, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(0.5 * logs["reg_loss"] + 2.0 * logs["cls_loss"], rel=1e-5)
    preds = model.predict([xa, xb], batch_size=7)
    assert [p.shape for p in preds] == [(40, 1), (40, 3)]
    np.testing.assert_allclose(preds[1].sum(axis=1), 1, rtol=1e-5)


def test_shared_layer_gradient_is_sum_of_both_uses():
    """The shared kernel's gradient equals finite differences of the total loss."""
    model = two_io_model()
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"])
    (xa, xb), (yr, yc) = data(8)
    kernel = model.get_layer("shared").kernel
    kernel.value = kernel.value.astype(np.float64)
    for w in model.weights:
        w.value = w.value.astype(np.float64)
    for layer in [model] + model.layers:          # inputs are cast to each layer's dtype
        layer.dtype = "float64"
    xs = [xa, xb]

    def total_loss():
        out = model(xs)
        return model.compute_loss(xs, [yr, yc], out)

    loss = total_loss()
    for w in model.weights:
        w.grad = None
    loss.backward()
    analytic = to_numpy(kernel.grad)

    def f(k):
        kernel.value = to_device(k)
        with keras.no_grad():
            return float(total_loss().value)
    numeric = numerical_grad(f, [to_numpy(kernel.value)], 0)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_nested_model_and_intermediate_outputs():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu", name="h"),
                              layers.Dense(2, name="o")], name="inner")
    x = keras.Input((4,))
    out = layers.Dense(1, name="top")(inner(x))
    outer = keras.Model(x, out)
    assert len(outer.weights) == 6
    xs = np.random.default_rng(0).standard_normal((3, 4))
    ref = outer.predict(xs)
    manual = inner.predict(xs) @ outer.get_layer("top").kernel.numpy() + outer.get_layer("top").bias.numpy()
    np.testing.assert_allclose(ref, manual, rtol=1e-5)
    feat = keras.Model(inner.input, inner.get_layer("h").output)
    h = feat.predict(xs)
    w, b = inner.get_layer("h").get_weights()
    np.testing.assert_allclose(h, np.maximum(xs @ w + b, 0), rtol=1e-5, atol=1e-6)


def test_config_round_trip_gives_identical_predictions():
    model = two_io_model()
    (xa, xb), _ = data(5)
    clone = keras.Model.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    for p, q in zip(model.predict([xa, xb]), clone.predict([xa, xb])):
        np.testing.assert_array_equal(p, q)
    again = keras.models.model_from_json(model.to_json())
    assert [l.name for l in again.layers] == [l.name for l in model.layers]


def test_symbolic_arithmetic_and_lambda():
    x = keras.Input((3,))
    y = layers.Lambda(lambda t: t * 2.0)(x) + x
    model = keras.Model(x, y)
    np.testing.assert_allclose(model.predict(np.ones((2, 3))), 3 * np.ones((2, 3)))


def test_wrong_number_and_shape_of_inputs():
    model = two_io_model()
    with pytest.raises(ValueError, match="expected 2 input"):
        model.predict(np.ones((2, 6)))
    with pytest.raises(ValueError, match=r"expects shape \(None, 6\), got \(2, 5\)"):
        model([np.ones((2, 5)), np.ones((2, 6))])


def test_disconnected_graph_names_the_missing_input():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="missing_in")
    out = layers.add([a, b])
    with pytest.raises(ValueError, match="missing_in"):
        keras.Model(a, out)


def test_duplicate_layer_names_rejected():
    x = keras.Input((3,))
    y = layers.Dense(2, name="same")(x)
    z = layers.Dense(2, name="same")(y)
    with pytest.raises(ValueError, match="unique.*same"):
        keras.Model(x, z)


def test_symbolic_feature_mismatch_is_caught_at_graph_time():
    x = keras.Input((3,))
    d = layers.Dense(2)
    d(x)
    with pytest.raises(ValueError, match="Dense 'dense'.*last axis 3"):
        d(keras.Input((4,)))


# -- ops on symbolic tensors: model.layers vs model.operations (as Keras 3) -----------------------

def _ops_model(k):
    """The same graph in kerasette or Keras 3 (``k``): layers with ops between them."""
    x = k.Input((4,), name="x")
    h = k.layers.Dense(3, name="d1")(x)
    h = k.ops.relu(h) + 1.0
    g = k.layers.Dense(3, name="d2")(h * 2.0)
    out = k.layers.Dense(2, name="out")(k.ops.concatenate([g, h[:, :2]], axis=-1))
    return k.Model(x, out, name="with_ops")


def _real_keras():
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras as k3
    except Exception as exc:            # not installed, or no usable backend
        pytest.skip(f"Keras 3 not importable: {exc}")
    return k3


def _base(name):
    """An auto-made name without its counter (``add_3`` -> ``add``)."""
    import re
    return re.sub(r"_\d+$", "", name)


OP_NAMES = ["x", "d1", "relu", "add", "multiply", "d2", "get_item", "concatenate", "out"]


def test_ops_are_operations_not_layers():
    from kerasette.layers.merge import _OpLayer
    model = _ops_model(keras)
    assert [l.name for l in model.layers] == ["x", "d1", "d2", "out"]
    assert not any(isinstance(l, _OpLayer) for l in model.layers)
    assert [_base(o.name) for o in model.operations] == OP_NAMES
    assert sum(isinstance(o, _OpLayer) for o in model.operations) == 5
    assert model.get_layer(index=1).name == "d1" and model.get_layer(index=-1).name == "out"
    relu = model.operations[2].name
    with pytest.raises(ValueError, match=f"no layer named '{relu}'"):
        model.get_layer(relu)
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 3), (3,), (5, 2), (2,)]
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert all(f"{o.name} (" in text for o in model.operations)        # the ops still show
    for op, kind in zip(model.operations[2:], ["Relu", "Add", "Multiply", None, "GetItem", None]):
        if kind:                                                        # under Keras's class names
            assert f"{op.name} ({kind})" in text
    assert "_OpLayer" not in text
    assert "Total params: 39" in text


def test_ops_model_saves_loads_and_clones(tmp_path):
    model = _ops_model(keras)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    want = model.predict(x, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)
    assert [l.name for l in loaded.layers] == ["x", "d1", "d2", "out"]
    assert [o.name for o in loaded.operations] == [o.name for o in model.operations]
    config = json.loads(model.to_json())["config"]
    assert [e["name"] for e in config["layers"]] == [o.name for o in model.operations]
    model.save_weights(str(tmp_path / "m.weights.h5"))
    again = _ops_model(keras)
    again.load_weights(str(tmp_path / "m.weights.h5"))
    np.testing.assert_allclose(again.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)
    clone = keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == ["x", "d1", "d2", "out"]
    assert [_base(o.name) for o in clone.operations] == OP_NAMES
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), want, rtol=1e-6, atol=1e-6)


def test_ops_model_layers_weights_and_files_match_keras(tmp_path):
    k3 = _real_keras()
    ref = _ops_model(k3)
    model = _ops_model(keras)
    assert [l.name for l in model.layers] == [l.name for l in ref.layers]
    assert [type(l).__name__ for l in model.layers] == [type(l).__name__ for l in ref.layers]
    assert [_base(o.name) for o in model.operations] == [_base(o.name) for o in ref.operations]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in ref.get_weights()]
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    want = k3.ops.convert_to_numpy(ref(x))
    model.set_weights(ref.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    # Keras's files load here, and Keras loads the weights written here
    ref.save(str(tmp_path / "k.keras"))
    ref.save_weights(str(tmp_path / "k.weights.h5"))
    loaded = keras.models.load_model(str(tmp_path / "k.keras"))
    assert [l.name for l in loaded.layers] == [l.name for l in ref.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    fresh = _ops_model(keras)
    fresh.load_weights(str(tmp_path / "k.weights.h5"))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    model.save_weights(str(tmp_path / "s.weights.h5"))
    other = _ops_model(k3)
    other.load_weights(str(tmp_path / "s.weights.h5"))
    np.testing.assert_allclose(k3.ops.convert_to_numpy(other(x)), want, rtol=1e-5, atol=1e-5)


def test_the_model_training_flag_overrides_a_recorded_training_false():
    """Keras 3 configs record ``training: false`` on the nodes of layers such as Dropout; the
    model's own flag wins, as in Keras's functional call (else a loaded model never drops)."""
    config = {"name": "m", "trainable": True,
              "layers": [{"module": "keras.layers", "class_name": "InputLayer", "name": "input_layer",
                          "config": {"batch_shape": [None, 50], "dtype": "float32", "name": "input_layer"},
                          "inbound_nodes": []},
                         {"module": "keras.layers", "class_name": "Dropout", "name": "drop",
                          "config": {"name": "drop", "rate": 0.5, "seed": 1},
                          "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                              "shape": [None, 50], "dtype": "float32",
                              "keras_history": ["input_layer", 0, 0]}}],
                              "kwargs": {"training": False}}]}],
              "input_layers": [["input_layer", 0, 0]], "output_layers": [["drop", 0, 0]]}
    model = keras.Model.from_config(config)
    x = np.ones((4, 50), "float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    dropped = model(x, training=True).numpy()
    assert (dropped == 0).any() and np.allclose(dropped[dropped != 0], 2.0)
