"""CategoryEncoding, Discretization (with ``adapt``) and SpectralNormalization.

Outputs, dtypes and shapes against real Keras 3 (skipped without keras / torch), including the
boundaries ``adapt`` learns; SpectralNormalization's weights (names, order, file layout), its
training-mode update of ``u`` and the kernel and its gradients (float64 finite differences at
inference, and Keras's gradient in training); configs; argument and input errors; the
Keras-made files of tests/fixtures/make_encoding_spectral_fixtures.py (``enc_spectral.*``)
predicting what Keras predicted, in inference and in training mode; kerasette's own save / load
round trip."""
import importlib.util
import json
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers
from kerasette.autograd import grad, gradcheck

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
# Keras on torch converts its tensors with np.array(x), which NumPy 2 flags on every call
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")


def _np(t):
    return keras.ops.convert_to_numpy(t)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    if not hasattr(real, "ops") or real.backend.backend() != "torch":
        pytest.skip("needs Keras 3 on the torch backend")
    return real


def _keras_adapt(layer, batches, steps=None):
    """Keras's ``Discretization.adapt`` on a list of batches without its TensorFlow check."""
    layer.reset_state()
    for i, batch in enumerate(batches):
        if steps is not None and i >= steps:
            break
        layer.update_state(batch)
    layer.finalize_state()


def _same_config(ours, theirs):
    assert set(ours) == set(theirs)
    for key in set(ours) - {"dtype", "name", "layer"}:
        assert json.loads(json.dumps(ours[key])) == json.loads(json.dumps(theirs[key])), key


IDS = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
WEIGHTS = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
# (id, kwargs, inputs, call kwargs)
ENCODING_CASES = [
    ("one_hot_1d", dict(num_tokens=4, output_mode="one_hot"), np.array([3, 2, 0, 1]), {}),
    ("one_hot_column", dict(num_tokens=4, output_mode="one_hot"), np.array([[3], [2]]), {}),
    ("one_hot_2d", dict(num_tokens=5, output_mode="one_hot"), np.array([[3, 1], [2, 4]]), {}),
    ("one_hot_3d", dict(num_tokens=4, output_mode="one_hot"), np.array([[[3, 1]], [[2, 0]]]), {}),
    ("one_hot_floats", dict(num_tokens=4, output_mode="one_hot"), np.array([1.0, 2.7]), {}),
    ("multi_hot_1d", dict(num_tokens=4), np.array([3, 3, 1]), {}),
    ("multi_hot_2d", dict(num_tokens=4), IDS, {}),
    ("binary_2d", dict(num_tokens=6, output_mode="binary"), IDS, {}),
    ("count_2d", dict(num_tokens=4, output_mode="count"), IDS, {}),
    ("count_1d", dict(num_tokens=3, output_mode="count"), np.array([0, 1, 1]), {}),
    ("count_weighted", dict(num_tokens=4, output_mode="count"), IDS, dict(count_weights=WEIGHTS)),
    ("count_float64_layer", dict(num_tokens=4, output_mode="count", dtype="float64"), IDS,
     dict(count_weights=WEIGHTS)),
    ("multi_hot_int32_layer", dict(num_tokens=4, dtype="int32"), IDS, {}),
]


# -- CategoryEncoding ----------------------------------------------------------------------------

def test_category_encoding_by_hand():
    out = layers.CategoryEncoding(4, "count")(IDS, count_weights=WEIGHTS)
    assert out.dtype == np.float32
    np.testing.assert_allclose(_np(out), [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0], [0, 0.2, 0, 0.4]],
                               rtol=1e-6)
    np.testing.assert_array_equal(_np(layers.CategoryEncoding(4)(IDS)),
                                  [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(_np(layers.CategoryEncoding(3, "one_hot")(2)), [[0, 0, 1]])


@needs_keras
@pytest.mark.parametrize("case, kwargs, inputs, call_kwargs", ENCODING_CASES, ids=[c[0] for c in ENCODING_CASES])
def test_category_encoding_matches_keras(case, kwargs, inputs, call_kwargs):
    real = _keras()
    ref = real.layers.CategoryEncoding(**kwargs)
    expected = real.ops.convert_to_numpy(ref(inputs, **call_kwargs))
    layer = layers.CategoryEncoding(**kwargs)
    out = layer(inputs, **call_kwargs)
    assert np.dtype(out.dtype) == expected.dtype
    np.testing.assert_allclose(_np(out), expected, rtol=1e-6, atol=1e-7)
    _same_config(layer.get_config(), ref.get_config())
    assert real.layers.CategoryEncoding.from_config(json.loads(json.dumps(layer.get_config()))).num_tokens == \
        layer.num_tokens


@needs_keras
@pytest.mark.parametrize("mode, shape", [("one_hot", (3,)), ("one_hot", (1,)), ("multi_hot", (3,)),
                                         ("count", (2,))])
def test_category_encoding_symbolic_shapes_match_keras(mode, shape):
    real = _keras()
    ref = real.layers.CategoryEncoding(5, mode)(real.Input(shape, dtype="int32"))
    out = layers.CategoryEncoding(5, mode)(keras.Input(shape, dtype="int32"))
    assert tuple(out.shape) == tuple(ref.shape) and str(out.dtype) == str(ref.dtype)


def test_category_encoding_count_weights_are_differentiable():
    ids = np.array([[0, 2, 2], [1, 1, 0]])
    assert gradcheck(lambda w: layers.CategoryEncoding(3, "count", dtype="float64")(ids, count_weights=w),
                     [np.random.default_rng(0).normal(size=(2, 3))])


def test_category_encoding_errors():
    with pytest.raises(ValueError, match="CategoryEncoding 'ce'.*num_tokens must be given"):
        layers.CategoryEncoding(name="ce")
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="num_tokens must be an integer >= 1"):
            layers.CategoryEncoding(bad)
    with pytest.raises(ValueError, match="output_mode must be one of"):
        layers.CategoryEncoding(3, "int")
    with pytest.raises(ValueError, match="CategoryEncoding .*sparse=True is not supported"):
        layers.CategoryEncoding(3, sparse=True)
    with pytest.raises(ValueError, match=r"ids in \[0, num_tokens=4\), got values from 0 to 5"):
        layers.CategoryEncoding(4)(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="got values from -1 to 2"):
        layers.CategoryEncoding(4, "one_hot")(np.array([-1, 2]))
    with pytest.raises(ValueError, match="count_weights is only used with output_mode='count'"):
        layers.CategoryEncoding(4)(IDS, count_weights=WEIGHTS)
    with pytest.raises(ValueError, match="count_weights must have the shape of the inputs"):
        layers.CategoryEncoding(4, "count")(IDS, count_weights=WEIGHTS[:, :1])
    with pytest.raises(ValueError, match="rank 2 at most"):
        layers.CategoryEncoding(4)(np.zeros((2, 2, 2), "int32"))
    with pytest.raises(ValueError, match="rank 2 at most"):
        layers.CategoryEncoding(4, "count")(keras.Input((2, 3), dtype="int32"))


# -- Discretization --------------------------------------------------------------------------------

X = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
DISC_INPUTS = {"2d": X, "1d": np.array([0.5, 3.0, -2.0]), "column": np.array([[0.5], [3.0]]),
               "3d": X.reshape(2, 2, 2), "ints": np.array([[0, 1, 5]]),
               "special": np.array([[np.nan, np.inf, -np.inf, 1.0]]),
               "float32_tie": np.array([[0.1, 0.2, 0.30000001]])}


def test_discretization_by_hand():
    layer = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    out = layer(X)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(_np(out), [[0, 2, 3, 1], [1, 3, 2, 1]])
    counts = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode="count")(X)
    assert counts.dtype == np.float32
    np.testing.assert_array_equal(_np(counts), [[1, 1, 1, 1], [0, 2, 1, 1]])


@needs_keras
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("which", list(DISC_INPUTS))
def test_discretization_matches_keras(mode, which):
    real = _keras()
    x = DISC_INPUTS[which]
    bounds = [0.1, 0.2, 0.3] if which == "float32_tie" else [0.0, 1.0, 2.0]
    ref = real.layers.Discretization(bin_boundaries=bounds, output_mode=mode)
    expected = real.ops.convert_to_numpy(ref(x))
    layer = layers.Discretization(bin_boundaries=bounds, output_mode=mode)
    out = layer(x)
    assert np.dtype(out.dtype) == expected.dtype
    np.testing.assert_array_equal(_np(out), expected)
    if x.ndim >= 2:
        sym, ref_sym = layer(keras.Input(x.shape[1:])), ref(real.Input(x.shape[1:]))
        assert tuple(sym.shape) == tuple(ref_sym.shape) and str(sym.dtype) == str(ref_sym.dtype)
        assert tuple(sym.shape[1:]) == tuple(out.shape[1:])
    _same_config(layer.get_config(), ref.get_config())


def _adapt_cases():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1000, 3)).astype("float32")
    return [("array", dict(num_bins=5), [data], None),
            ("batches", dict(num_bins=5), [data[:300], data[300:700], data[700:]], None),
            ("steps", dict(num_bins=5), [data[:300], data[300:700], data[700:]], 2),
            ("coarse", dict(num_bins=5, epsilon=0.1), [data], None),
            ("fine", dict(num_bins=4, epsilon=0.001), [data[:, :2]], None),
            ("tiny", dict(num_bins=5, epsilon=0.1), [data[:7]], None),
            ("more_bins_than_values", dict(num_bins=7), [np.arange(10.0)], None),
            ("integers", dict(num_bins=3), [np.arange(10, dtype="int64")], None),
            ("docstring", dict(num_bins=4, epsilon=0.01), [X], None),
            ("skewed", dict(num_bins=6, epsilon=0.02), [rng.exponential(size=(50, 7)), rng.exponential(size=(9,))],
             None)]


ADAPT_CASES = _adapt_cases()


@needs_keras
@pytest.mark.parametrize("case, kwargs, batches, steps", ADAPT_CASES, ids=[c[0] for c in ADAPT_CASES])
def test_adapt_matches_keras(case, kwargs, batches, steps):
    real = _keras()
    ref = real.layers.Discretization(**kwargs)
    _keras_adapt(ref, batches, steps)
    layer = layers.Discretization(**kwargs)
    layer.adapt(batches[0] if len(batches) == 1 else batches, steps=steps)
    assert layer.bin_boundaries == ref.bin_boundaries            # the same float32 numbers
    x = np.concatenate([np.ravel(b) for b in batches])[None, :50].astype("float32")
    np.testing.assert_array_equal(_np(layer(x)), real.ops.convert_to_numpy(ref(x)))
    _same_config(layer.get_config(), ref.get_config())
    again = real.layers.Discretization.from_config(json.loads(json.dumps(layer.get_config())))
    assert again.bin_boundaries == ref.bin_boundaries


def test_adapt_by_hand_and_again():
    layer = layers.Discretization(num_bins=2)
    layer.adapt([np.arange(4.0), (np.arange(4.0, 8.0), np.zeros(4))])     # (x, y) batches give x
    assert layer.bin_boundaries == [3.0]       # the value at half the weight
    layer.adapt(np.arange(10.0) + 100)                                     # a new adapt starts afresh
    assert layer.bin_boundaries == [104.0]
    layer.adapt(keras.ops.convert_to_tensor(np.arange(4.0)))
    assert layer.bin_boundaries == [1.0]
    layer.adapt(iter([np.arange(4.0), np.arange(100.0, 104.0)]), steps=1)
    assert layer.bin_boundaries == [1.0]


def test_adapted_config_round_trip():
    layer = layers.Discretization(num_bins=3, output_mode="one_hot", name="buckets")
    layer.adapt(np.random.default_rng(1).normal(size=(30, 2)))
    config = json.loads(json.dumps(layer.get_config()))
    assert set(config) == {"bin_boundaries", "num_bins", "epsilon", "output_mode", "sparse", "name", "dtype"}
    clone = layers.Discretization.from_config(config)
    assert clone.get_config() == layer.get_config()
    x = np.random.default_rng(2).normal(size=(4, 2))
    np.testing.assert_array_equal(_np(clone(x)), _np(layer(x)))
    assert layers.deserialize(layers.serialize(layer)).bin_boundaries == layer.bin_boundaries


def test_discretization_errors():
    with pytest.raises(ValueError, match="Discretization 'd': give either num_bins"):
        layers.Discretization(name="d")
    with pytest.raises(ValueError, match="not both"):
        layers.Discretization(bin_boundaries=[1.0], num_bins=2)
    for bad in (0, -1, 2.0):
        with pytest.raises(ValueError, match="num_bins must be an integer >= 1"):
            layers.Discretization(num_bins=bad)
    for bad in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"epsilon must be a number in \(0, 1\]"):
            layers.Discretization(num_bins=2, epsilon=bad)
    with pytest.raises(ValueError, match="output_mode must be one of"):
        layers.Discretization(num_bins=2, output_mode="x")
    with pytest.raises(ValueError, match="sparse=True is not supported"):
        layers.Discretization(num_bins=2, output_mode="count", sparse=True)
    for bad in ([2.0, 1.0], [[0.0, 1.0]], [float("nan")], "abc"):
        with pytest.raises(ValueError, match="bin_boundaries must be a list of ascending numbers"):
            layers.Discretization(bin_boundaries=bad)
    with pytest.raises(ValueError, match="no bin boundaries yet"):
        layers.Discretization(num_bins=2)(X)
    with pytest.raises(ValueError, match="adapt\\(\\) needs a layer made with num_bins"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(X)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        layers.Discretization(num_bins=2).adapt(X, steps=0)
    with pytest.raises(ValueError, match="adapt\\(\\) received no data"):
        layers.Discretization(num_bins=2).adapt([])
    with pytest.raises(ValueError, match="finite"):
        layers.Discretization(num_bins=2).adapt(np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="adapt\\(\\) expects an array"):
        layers.Discretization(num_bins=2).adapt(3.0)
    with pytest.raises(TypeError, match="trainable|unexpected"):
        layers.Discretization(num_bins=2, units=3)


def test_discretization_and_encoding_in_a_model_train_around_them():
    """The encodings are constants: a model trains its Dense on them."""
    x_in = keras.Input((3,))
    h = layers.CategoryEncoding(4, "count")(layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5])(x_in))
    model = keras.Model(x_in, layers.Dense(1)(h))
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


# -- SpectralNormalization -------------------------------------------------------------------------

def _power_step(u, w, steps):
    """NumPy float64 reference of one training call's update: (u, kernel / sigma)."""
    m = w.reshape(-1, w.shape[-1])
    for _ in range(steps):
        v = u @ m.T
        v = v / np.sqrt((v ** 2).sum())
        u = v @ m
        u = u / np.sqrt((u ** 2).sum())
    sigma = ((v @ m) @ u.T).item()
    return u, w / sigma


SN_CASES = [
    ("dense", lambda L: L.Dense(3), (4, 5), 1),
    ("dense_3_iterations", lambda L: L.Dense(4, use_bias=False, activation="tanh"), (2, 3, 6), 3),
    ("conv2d", lambda L: L.Conv2D(3, 2, padding="same"), (2, 5, 5, 2), 1),
    ("conv1d_2_iterations", lambda L: L.Conv1D(2, 3), (2, 6, 3), 2),
]


def _set_random(layer, seed):
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=w.shape) * (0.1 if w.name == "vector_u" else 0.5) for w in layer.weights]
    layer.set_weights([v.astype(np.dtype(str(w.dtype))) for v, w in zip(values, layer.weights)])
    return values


def test_weights_order_and_update_by_hand():
    sn = layers.SpectralNormalization(layers.Dense(3), power_iterations=2)
    sn.build((None, 4))
    assert [w.name for w in sn.weights] == ["kernel", "vector_u", "bias"]
    assert [w.name for w in sn.trainable_weights] == ["kernel", "bias"]
    assert [w.name for w in sn.non_trainable_weights] == ["vector_u"]
    assert sn.weights[0] is sn.layer.kernel and sn.vector_u.shape == (1, 3)
    w0, u0, _ = _set_random(sn, 0)
    x = np.random.default_rng(1).normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(_np(sn(x)), _np(sn.layer(x)))                 # inference: the layer as is
    np.testing.assert_array_equal(sn.layer.kernel.numpy(), w0.astype("float32"))
    sn(x, training=True)
    u, w = _power_step(u0.astype("float32").astype("float64"), w0.astype("float32").astype("float64"), 2)
    np.testing.assert_allclose(sn.vector_u.numpy(), u, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sn.layer.kernel.numpy(), w, rtol=1e-5, atol=1e-6)
    for _ in range(30):                                                     # the norm tends to 1
        sn(x, training=True)
    assert abs(np.linalg.svd(sn.layer.kernel.numpy(), compute_uv=False)[0] - 1) < 1e-4


def test_an_all_zero_kernel_is_left_alone():
    sn = layers.SpectralNormalization(layers.Dense(2, kernel_initializer="zeros"))
    sn.build((None, 3))
    u = sn.vector_u.numpy().copy()
    out = sn(np.ones((1, 3), np.float32), training=True)
    assert np.isfinite(_np(out)).all()
    np.testing.assert_array_equal(sn.layer.kernel.numpy(), 0)
    np.testing.assert_array_equal(sn.vector_u.numpy(), u)


@pytest.mark.parametrize("case, make, shape, iterations", SN_CASES, ids=[c[0] for c in SN_CASES])
def test_gradients_at_inference(case, make, shape, iterations):
    """Float64 finite differences w.r.t. the input and the wrapped layer's weights (inference:
    the power iteration does not run, so the function is fixed)."""
    sn = layers.SpectralNormalization(make(layers), power_iterations=iterations, dtype="float64")
    sn.layer.dtype = "float64"
    sn.build(shape)
    inner = [w.name for w in sn.layer.weights]

    def fn(x, *weights):
        for name, w in zip(inner, weights):
            setattr(sn.layer, name, w)
        return sn(x, training=False)
    rng = np.random.default_rng(3)
    assert gradcheck(fn, [rng.normal(size=shape)] + [rng.normal(size=w.shape) * 0.5 for w in sn.layer.weights])


def test_gradient_in_training_is_the_layers_at_the_rescaled_kernel():
    sn = layers.SpectralNormalization(layers.Dense(3), power_iterations=1)
    sn.build((None, 4))
    _set_random(sn, 5)
    x = np.random.default_rng(6).normal(size=(5, 4)).astype("float32")
    loss = keras.ops.sum(keras.ops.square(sn(x, training=True)))
    g_kernel, g_bias = grad(loss, [sn.layer.kernel, sn.layer.bias])
    w, b = sn.layer.kernel.numpy().astype("float64"), sn.layer.bias.numpy().astype("float64")
    y = x @ w + b
    np.testing.assert_allclose(backend.to_numpy(g_kernel), 2 * x.T @ y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(backend.to_numpy(g_bias), 2 * y.sum(0), rtol=1e-4, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("case, make, shape, iterations", SN_CASES, ids=[c[0] for c in SN_CASES])
def test_spectral_normalization_matches_keras(case, make, shape, iterations):
    """The same weights in Keras and kerasette: the same weights list, inference and training
    outputs, u and kernel after each of three training calls, and the kernel's gradient."""
    real = _keras()
    import torch
    ref = real.layers.SpectralNormalization(make(real.layers), power_iterations=iterations)
    ref.build(shape)
    sn = layers.SpectralNormalization(make(layers), power_iterations=iterations)
    sn.build(shape)
    assert [(w.name, tuple(w.shape)) for w in sn.weights] == [(w.name, tuple(w.shape)) for w in ref.weights]
    values = _set_random(ref, 7)
    sn.set_weights([v.astype("float32") for v in values])
    x = np.random.default_rng(8).normal(size=shape).astype("float32")
    np.testing.assert_allclose(_np(sn(x)), real.ops.convert_to_numpy(ref(x)), rtol=1e-5, atol=1e-5)
    for _ in range(3):
        ours = _np(sn(x, training=True))
        theirs = real.ops.convert_to_numpy(ref(x, training=True))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(sn.vector_u.numpy(), real.ops.convert_to_numpy(ref.vector_u), rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(sn.layer.kernel.numpy(), real.ops.convert_to_numpy(ref.layer.kernel),
                                   rtol=1e-5, atol=1e-6)
    r = np.random.default_rng(9).normal(size=ours.shape).astype("float32")
    out = ref(torch.as_tensor(x), training=True)
    (out * torch.as_tensor(r)).sum().backward()
    expected = ref.layer.kernel.value.grad.detach().cpu().numpy()
    (g,) = grad(keras.ops.sum(sn(x, training=True) * backend.to_device(r)), [sn.layer.kernel])
    np.testing.assert_allclose(backend.to_numpy(g), expected, rtol=1e-4, atol=1e-5)
    _same_config(sn.get_config(), ref.get_config())
    assert sn.get_config()["layer"]["class_name"] == ref.get_config()["layer"]["class_name"]
    again = real.layers.SpectralNormalization.from_config(json.loads(json.dumps(sn.get_config())))
    assert again.power_iterations == iterations


@needs_keras
def test_spectral_normalization_over_embedding_matches_keras():
    real = _keras()
    ref = real.layers.SpectralNormalization(real.layers.Embedding(10, 4))
    ref.build((None, 3))
    sn = layers.SpectralNormalization(layers.Embedding(10, 4))
    sn.build((None, 3))
    assert [w.name for w in sn.weights] == [w.name for w in ref.weights] == ["embeddings", "vector_u"]
    sn.set_weights([v.astype("float32") for v in _set_random(ref, 10)])
    ids = np.array([[1, 2, 9], [0, 0, 3]])
    ref(ids, training=True)
    out = sn(ids, training=True)
    assert out.dtype == np.float32          # Keras casts to the ids' dtype here; kerasette keeps floats
    np.testing.assert_allclose(sn.layer.embeddings.numpy(), real.ops.convert_to_numpy(ref.layer.embeddings),
                               rtol=1e-5, atol=1e-6)


def test_spectral_normalization_config_round_trip():
    sn = layers.SpectralNormalization(layers.Conv2D(2, 3, activation="relu"), power_iterations=3, name="sn")
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 1)).astype("float32")
    sn(x)
    config = json.loads(json.dumps(sn.get_config()))
    assert config["power_iterations"] == 3 and config["layer"]["class_name"] == "Conv2D"
    clone = layers.SpectralNormalization.from_config(config)
    clone.build((None, 5, 5, 1))
    assert clone.get_config() == sn.get_config()
    clone.set_weights(sn.get_weights())
    np.testing.assert_array_equal(_np(clone(x)), _np(sn(x)))
    assert layers.deserialize(layers.serialize(sn)).get_config() == sn.get_config()
    assert sn.compute_output_shape((None, 5, 5, 1)) == (None, 3, 3, 2)
    assert tuple(layers.SpectralNormalization(layers.Dense(2))(keras.Input((6,))).shape) == (None, 2)


def test_spectral_normalization_errors():
    with pytest.raises(ValueError, match="SpectralNormalization: layer must be a keras Layer"):
        layers.SpectralNormalization(np.ones(2))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="SpectralNormalization 'sn': power_iterations must be an integer"):
            layers.SpectralNormalization(layers.Dense(2), power_iterations=bad, name="sn")
    with pytest.raises(ValueError, match="'flatten' \\(Flatten\\) has no 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.Flatten(name="flatten"))(np.ones((2, 3), np.float32))
    sn = layers.SpectralNormalization(layers.Dense(2, name="fc"))
    sn(keras.Input((4,)))
    with pytest.raises(ValueError, match="fc"):
        sn(keras.Input((5,)))


# -- the Keras-made files ----------------------------------------------------------------------------

def _fixture():
    d = np.load(os.path.join(FIXTURES, "enc_spectral.npz"))
    return d, [d["num"], d["ids"], d["img"]]


def enc_spectral(adapt_batches):
    """The fixture's model, built with kerasette (the adapted layer adapted here)."""
    num = keras.Input((4,), name="num")
    ids = keras.Input((3,), dtype="int32", name="ids")
    img = keras.Input((6, 6, 2), name="img")
    bins = layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], name="disc")(num)
    counted = layers.CategoryEncoding(4, output_mode="count", name="count")(bins)
    hot = layers.Flatten(name="flat_hot")(
        layers.Discretization(bin_boundaries=[-1.0, 1.0], output_mode="one_hot", name="disc_hot")(num))
    adapted = layers.Discretization(num_bins=3, output_mode="multi_hot", name="disc_adapted")
    adapted.adapt(adapt_batches)
    quantiles = adapted(num)
    multi = layers.CategoryEncoding(6, output_mode="multi_hot", name="multi")(ids)
    dense = layers.SpectralNormalization(layers.Dense(5, activation="tanh"), name="sn_dense")(num)
    conv = layers.SpectralNormalization(layers.Conv2D(3, 3, activation="relu"), power_iterations=2,
                                        name="sn_conv")(img)
    conv = layers.GlobalAveragePooling2D(name="gap")(conv)
    h = layers.Concatenate(name="cat")([counted, hot, quantiles, multi, dense, conv])
    return keras.Model([num, ids, img], layers.Dense(2, name="head")(h), name="enc_spectral")


def _check_training_call(model, d, x):
    np.testing.assert_allclose(_np(model(x, training=True)), d["y_train"], rtol=1e-5, atol=1e-5)
    dense, conv = model.get_layer("sn_dense"), model.get_layer("sn_conv")
    for got, want in ((dense.vector_u, "u_dense"), (conv.vector_u, "u_conv"), (dense.layer.kernel, "k_dense"),
                      (conv.layer.kernel, "k_conv")):
        np.testing.assert_allclose(got.numpy(), d[want], rtol=1e-5, atol=1e-6)


def test_keras_made_model_loads_and_predicts():
    d, x = _fixture()
    model = keras.models.load_model(os.path.join(FIXTURES, "enc_spectral.keras"))
    assert [type(model.get_layer(n)).__name__ for n in ("disc", "count", "disc_adapted", "sn_conv")] == \
        ["Discretization", "CategoryEncoding", "Discretization", "SpectralNormalization"]
    np.testing.assert_allclose(model.predict(x, verbose=0), d["y"], rtol=1e-5, atol=1e-5)
    _check_training_call(model, d, x)


def test_keras_made_weights_load_into_a_model_built_in_code():
    d, x = _fixture()
    model = enc_spectral([d["adapt"][:25], d["adapt"][25:]])
    keras_model = keras.models.load_model(os.path.join(FIXTURES, "enc_spectral.keras"))
    assert model.get_layer("disc_adapted").bin_boundaries == keras_model.get_layer("disc_adapted").bin_boundaries
    model.load_weights(os.path.join(FIXTURES, "enc_spectral.weights.h5"))
    assert [w.name for w in model.get_layer("sn_conv").weights] == ["kernel", "vector_u", "bias"]
    np.testing.assert_allclose(model.predict(x, verbose=0), d["y"], rtol=1e-5, atol=1e-5)
    _check_training_call(model, d, x)


@pytest.mark.parametrize("fmt", [".keras", ".weights.h5", ".h5"])
def test_own_save_load_round_trip(fmt, tmp_path):
    d, x = _fixture()
    model = keras.models.load_model(os.path.join(FIXTURES, "enc_spectral.keras"))
    model.compile(optimizer="adam", loss="mse")
    y = np.random.default_rng(0).normal(size=(5, 2)).astype("float32")
    model.train_on_batch(x, y)
    path = str(tmp_path / f"model{fmt}")
    if fmt == ".weights.h5":
        model.save_weights(path)
        clone = enc_spectral([d["adapt"][:25], d["adapt"][25:]])
        clone.compile(optimizer="adam", loss="mse")
        clone.load_weights(path)
    else:
        model.save(path)
        clone = keras.models.load_model(path)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    for a, b in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for m in (model, clone):
        m.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
