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
