"""MultiHeadAttention with non-default ``attention_axes`` (attention over axes (1, 2) of
images, over axis 2 of (batch, T, S, dim), the default on rank 4 and 5, ...): shapes,
Keras's einsums and mask layout, configs, one-line errors, float64 gradients, eager
comparisons with real Keras 3 (skipped without it) and a Keras-made file
(tests/fixtures/attention_axes.*, from make_attention_axes_fixtures.py)."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _real_keras():
    os.environ["KERAS_BACKEND"] = "torch"
    return pytest.importorskip("keras")


# -- shapes ---------------------------------------------------------------------------------------

def test_attention_over_height_and_width():
    mha = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    x = _rand(2, 3, 4, 6)
    out, scores = mha(x, x, return_attention_scores=True)
    assert out.shape == (2, 3, 4, 6) and scores.shape == (2, 2, 3, 4, 3, 4)
    np.testing.assert_allclose(scores.numpy().sum(axis=(-2, -1)), 1.0, rtol=1e-5)
    assert [w.shape for w in mha.weights] == [(6, 2, 3), (2, 3)] * 3 + [(2, 3, 6), (6,)]
    assert mha.query_dense.equation == "abcd,def->abcef" and mha.output_dense.equation == "abcde,def->abcf"
    assert mha.attention_axes == (1, 2)


def test_attention_over_axis_2_cross_and_output_shape():
    mha = layers.MultiHeadAttention(2, 3, value_dim=4, output_shape=(5,), attention_axes=2)
    out, scores = mha(_rand(2, 3, 4, 6), _rand(2, 3, 5, 7), _rand(2, 3, 5, 8), return_attention_scores=True)
    assert out.shape == (2, 3, 4, 5) and scores.shape == (2, 3, 2, 4, 5)
    np.testing.assert_allclose(scores.numpy().sum(-1), 1.0, rtol=1e-5)
    assert mha.attention_axes == (2,)


def test_default_axes_on_higher_ranks_and_negative_axes():
    mha = layers.MultiHeadAttention(2, 2)
    out, scores = mha(_rand(2, 3, 4, 6), _rand(2, 2, 5, 6), return_attention_scores=True)
    assert mha.attention_axes == (1, 2) and out.shape == (2, 3, 4, 6) and scores.shape == (2, 2, 3, 4, 2, 5)
    five = layers.MultiHeadAttention(2, 2, attention_axes=(-3, -2))
    out, scores = five(_rand(2, 3, 4, 2, 6), _rand(2, 3, 4, 2, 6), return_attention_scores=True)
    assert five.attention_axes == (2, 3) and scores.shape == (2, 3, 2, 4, 2, 4, 2)
    reverse = layers.MultiHeadAttention(1, 2, attention_axes=(2, 1))
    _, scores = reverse(_rand(2, 3, 4, 6), _rand(2, 3, 4, 6), return_attention_scores=True)
    assert scores.shape == (2, 1, 4, 3, 4, 3)
    assert layers.MultiHeadAttention(1, 2).compute_output_shape((None, 3, 4, 6)) == (None, 3, 4, 6)


def test_axis_2_equals_the_default_on_each_row():
    """Attention over axis 2 of (B, T, S, dim) is the default attention over each row t."""
    q, v = _rand(2, 3, 4, 6), _rand(2, 3, 5, 6, seed=1)
    axes = layers.MultiHeadAttention(2, 3, attention_axes=2)
    out, scores = axes(q, v, return_attention_scores=True)
    plain = layers.MultiHeadAttention(2, 3)
    plain(q[:, 0], v[:, 0])
    plain.set_weights(axes.get_weights())
    for t in range(3):
        o, s = plain(q[:, t], v[:, t], return_attention_scores=True)
        np.testing.assert_allclose(out.numpy()[:, t], o.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(scores.numpy()[:, t], s.numpy(), rtol=1e-5, atol=1e-6)


def test_attention_mask_layout_and_hidden_positions():
    q = _rand(2, 3, 4, 6)
    mha = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    mask = np.random.default_rng(3).random((2, 3, 4, 3, 4)) > 0.3
    mask[0, 1, 2] = False                                   # one query position sees nothing
    _, scores = mha(q, q, attention_mask=mask, return_attention_scores=True)
    s = scores.numpy()
    assert np.all(s[np.broadcast_to(~mask[:, None], s.shape)] == 0)
    np.testing.assert_allclose(s[0, :, 1, 2], 0.0)          # Keras's Softmax layer zeroes it
    shared = mask[0]                                        # (3, 4, 3, 4): the same for every batch
    _, again = mha(q, q, attention_mask=np.broadcast_to(shared, (2,) + shared.shape),
                   return_attention_scores=True)
    _, broadcast = mha(q, q, attention_mask=shared, return_attention_scores=True)
    np.testing.assert_allclose(broadcast.numpy(), again.numpy(), rtol=1e-6)


def test_in_a_functional_model_and_saved(tmp_path):
    image = keras.Input((3, 4, 6))
    out, scores = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), name="mha")(
        image, image, return_attention_scores=True)
    assert out.shape == (None, 3, 4, 6) and scores.shape == (None, 2, 3, 4, 3, 4)
    rows = layers.MultiHeadAttention(1, 2, attention_axes=-2, name="rows")(out, image)
    model = keras.Model(image, [rows, scores])
    x = _rand(2, 3, 4, 6)
    y, s = model.predict(x, verbose=0)
    np.testing.assert_allclose(s, model.get_layer("mha")(x, x, return_attention_scores=True)[1].numpy(),
                               rtol=1e-5, atol=1e-6)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        clone = keras.models.load_model(tmp_path / f"m{suffix}")
        assert clone.get_layer("rows").attention_axes == (2,)
        for a, b in zip(clone.predict(x, verbose=0), (y, s)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_config_round_trip():
    mha = layers.MultiHeadAttention(2, 3, attention_axes=-2, name="m")
    assert mha.get_config()["attention_axes"] == [-2]
    assert layers.MultiHeadAttention.from_config(mha.get_config()).get_config() == mha.get_config()
    mha(_rand(2, 3, 4, 6), _rand(2, 3, 4, 6))
    config = mha.get_config()
    assert config["attention_axes"] == [2]                  # normalized at build, as Keras does
    clone = layers.deserialize(layers.serialize(mha))
    assert clone.get_config() == config
    assert layers.MultiHeadAttention(2, 3, attention_axes=1).get_config()["attention_axes"] == [1]
    default = layers.MultiHeadAttention(2, 3)
    default(_rand(2, 3, 4), _rand(2, 3, 4))
    assert default.get_config()["attention_axes"] == [1]


def test_bad_axes_and_masks_fail_with_one_line():
    x4 = _rand(2, 3, 4, 6)
    cases = [
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(1, 1)), "attention_axes must not name an axis twice"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes="1"), "attention_axes must be None, an int"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=[]), "attention_axes must be None, an int"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(1.5,)), "attention_axes must be None, an int"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=4)(x4, x4), "attention_axes=(4,) is out of range"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=-5)(x4, x4), "out of range"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=2)(x4, _rand(2, 3, 6)), "the same rank"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=2)(x4, _rand(2, 5, 4, 6)),
         "the same size on the axes outside attention_axes"),
        # Keras refuses these too: its causal and value masks are laid over axis 1 only
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(1, 2))(x4, x4, use_causal_mask=True),
         "does not fit the scores"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=2)(x4, x4, use_causal_mask=True),
         "does not fit the scores"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(1, 2))(x4, x4, value_mask=np.ones((2, 3, 4), bool)),
         "does not fit the scores"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=2)(x4, x4, attention_mask=np.ones((2, 4, 5), bool)),
         "does not fit the scores"),
    ]
    for make, text in cases:
        with pytest.raises(ValueError) as err:
            make()
        assert text in str(err.value) and "\n" not in str(err.value), str(err.value)
    built = layers.MultiHeadAttention(2, 2, attention_axes=2)
    built(x4, x4)
    with pytest.raises(ValueError, match="built for inputs of rank 4"):
        built(_rand(2, 3, 4, 2, 6), _rand(2, 3, 4, 2, 6))


# -- gradients ------------------------------------------------------------------------------------

def _denses(mha):
    return [d for d in (mha.query_dense, mha.key_dense, getattr(mha, "_gate_dense", None), mha.value_dense,
                        mha.output_dense) if d is not None]


@pytest.mark.parametrize("case", ["hw_masked", "axis2_gate", "rank3_heads_scores"])
def test_gradcheck_through_the_layer(case):
    rng = np.random.default_rng(4)
    if case == "hw_masked":
        q, v = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((1, 2, 2, 2))
        mha = layers.MultiHeadAttention(2, 2, attention_axes=(1, 2), dtype="float64")
        mask = np.array([[[[1, 0], [1, 1]], [[0, 0], [0, 1]], [[1, 1], [1, 1]]]] * 2, bool)[None]
        kwargs = {"attention_mask": mask}
    elif case == "axis2_gate":
        q, v = rng.standard_normal((2, 2, 3, 3)), rng.standard_normal((2, 2, 4, 2))
        mha = layers.MultiHeadAttention(2, 2, value_dim=3, output_shape=2, use_gate=True, attention_axes=-2,
                                        dtype="float64")
        kwargs = {"attention_mask": rng.random((2, 2, 3, 4)) > 0.3}
    else:       # rank 3, attention over the heads: Keras's explicit-scores path
        q, v = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3, 2))
        mha = layers.MultiHeadAttention(3, 2, attention_axes=2, dtype="float64")
        kwargs = {"return_attention_scores": True}
    mha.build(q.shape, v.shape)
    denses = _denses(mha)
    ws = [np.array(w.numpy(), np.float64, order="C") for w in mha.weights]

    def fn(q, v, *w):
        for d, (kern, bias) in zip(denses, zip(w[::2], w[1::2])):
            d.kernel, d.bias = kern, bias
        result = mha(q, v, **kwargs)
        return result[0] if isinstance(result, tuple) else result
    assert gradcheck(fn, [q, v] + ws)


# -- against real Keras 3 ---------------------------------------------------------------------------

def _hidden(shape, seed):
    mask = np.random.default_rng(seed).random(shape) > 0.35
    mask.reshape(-1, shape[-1])[1] = False              # one fully hidden row
    return mask


KERAS_CASES = {
    # name: (layer kwargs, query, value, key, call kwargs)
    "hw_self": (dict(num_heads=2, key_dim=3, attention_axes=(1, 2)), (2, 3, 4, 6), (2, 3, 4, 6), None, {}),
    "hw_cross_mask": (dict(num_heads=2, key_dim=3, value_dim=2, attention_axes=(1, 2)), (2, 3, 4, 6), (2, 2, 5, 7),
                      (2, 2, 5, 5), {"attention_mask": _hidden((2, 3, 4, 2, 5), 1)}),
    "hw_mask_no_batch": (dict(num_heads=1, key_dim=4, attention_axes=(1, 2)), (2, 3, 4, 6), (2, 3, 4, 6), None,
                         {"attention_mask": _hidden((3, 4, 3, 4), 2)}),
    "default_rank4": (dict(num_heads=2, key_dim=2, output_shape=(3, 2)), (2, 3, 4, 6), (2, 2, 3, 6), None, {}),
    "reversed_axes": (dict(num_heads=2, key_dim=2, attention_axes=(2, 1)), (2, 3, 4, 5), (2, 2, 3, 5), None, {}),
    "axis2_cross": (dict(num_heads=2, key_dim=3, value_dim=4, output_shape=5, use_gate=True, attention_axes=2),
                    (2, 3, 4, 6), (2, 3, 5, 7), (2, 3, 5, 8), {}),
    "axis_minus2_masks": (dict(num_heads=2, key_dim=2, attention_axes=-2), (2, 3, 4, 6), (2, 3, 5, 6), None,
                          {"attention_mask": _hidden((2, 3, 4, 5), 3), "value_mask": _hidden((2, 3, 5), 4)}),
    "axis2_mask_2d": (dict(num_heads=2, key_dim=2, attention_axes=2), (2, 3, 4, 6), (2, 3, 5, 6), None,
                      {"attention_mask": _hidden((4, 5), 5)}),
    "axis2_causal_square": (dict(num_heads=2, key_dim=2, attention_axes=2), (2, 4, 4, 6), (2, 4, 4, 6), None,
                            {"use_causal_mask": True}),
    "axis2_window": (dict(num_heads=1, key_dim=3, attention_axes=2, sliding_window=2), (2, 4, 4, 6), (2, 4, 4, 6),
                     None, {}),
    "rank5_hw": (dict(num_heads=2, key_dim=2, attention_axes=(1, 2)), (2, 3, 2, 2, 4), (2, 2, 3, 2, 4), None, {}),
    "rank5_default_no_bias": (dict(num_heads=1, key_dim=2, use_bias=False), (1, 2, 3, 2, 4), (1, 2, 2, 2, 4), None,
                              {}),
    "rank3_heads": (dict(num_heads=3, key_dim=2, attention_axes=2), (2, 3, 6), (2, 3, 6), None, {}),
    "rank3_heads_fused": (dict(num_heads=3, key_dim=2, attention_axes=2), (2, 3, 6), (2, 5, 6), None,
                          {"scores": False}),
    "rank4_heads_axis": (dict(num_heads=2, key_dim=2, attention_axes=3), (2, 3, 4, 5), (2, 3, 4, 5), None, {}),
}


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_matches_real_keras(case):
    real = _real_keras()
    config, qs, vs, ks, kwargs = KERAS_CASES[case]
    kwargs = dict(kwargs)
    scores_wanted = kwargs.pop("scores", True)
    q, v = _rand(*qs, seed=10), _rand(*vs, seed=11)
    k = None if ks is None else _rand(*ks, seed=12)
    args = (q, v) if k is None else (q, v, k)
    theirs = real.layers.MultiHeadAttention(**config)
    theirs_result = theirs(*args, return_attention_scores=scores_wanted, **kwargs)
    rng = np.random.default_rng(13)
    weights = [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    theirs_result = theirs(*args, return_attention_scores=scores_wanted, **kwargs)
    ours = layers.MultiHeadAttention(**config)
    ours(*args, return_attention_scores=scores_wanted, **kwargs)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(weights)
    result = ours(*args, return_attention_scores=scores_wanted, **kwargs)
    if not scores_wanted:
        theirs_result, result = (theirs_result, None), (result, None)
    np.testing.assert_allclose(result[0].numpy(), theirs_result[0].detach().cpu().numpy(), rtol=1e-5, atol=1e-5)
    if scores_wanted:
        np.testing.assert_allclose(result[1].numpy(), theirs_result[1].detach().cpu().numpy(), rtol=1e-5,
                                   atol=1e-5)
    assert ours.attention_axes == tuple(theirs.attention_axes)
    if hasattr(theirs, "_dot_product_equation") and len(qs) > 3:
        assert (ours._dot_product_equation, ours._combine_equation) == \
            (theirs._dot_product_equation, theirs._combine_equation)
    assert ours.query_dense.equation == theirs.query_dense.equation
    assert ours.output_dense.equation == theirs.output_dense.equation
    mine = ours.get_config()
    for key, value in theirs.get_config().items():
        if key in ("attention_axes", "output_shape"):
            assert mine[key] == (list(value) if value is not None else None), key
        elif key in ("num_heads", "key_dim", "value_dim", "use_bias", "use_gate", "sliding_window"):
            assert mine[key] == value, key


KERAS_REFUSES = {
    "hw_causal": (dict(attention_axes=(1, 2)), (2, 3, 4, 6), (2, 3, 4, 6), {"use_causal_mask": True}),
    "axis2_causal_not_square": (dict(attention_axes=2), (2, 3, 4, 6), (2, 3, 4, 6), {"use_causal_mask": True}),
    "hw_value_mask": (dict(attention_axes=(1, 2)), (2, 3, 4, 6), (2, 3, 4, 6),
                      {"value_mask": np.ones((2, 3, 4), bool)}),
    "axis2_window_not_square": (dict(attention_axes=2, sliding_window=2), (2, 3, 4, 6), (2, 3, 4, 6), {}),
}


@pytest.mark.parametrize("case", sorted(KERAS_REFUSES))
def test_refused_where_keras_refuses(case):
    real = _real_keras()
    config, qs, vs, kwargs = KERAS_REFUSES[case]
    q, v = _rand(*qs), _rand(*vs, seed=1)
    with pytest.raises(Exception):
        real.layers.MultiHeadAttention(2, 2, **config)(q, v, return_attention_scores=True, **kwargs)
    with pytest.raises(ValueError) as err:
        layers.MultiHeadAttention(2, 2, **config)(q, v, return_attention_scores=True, **kwargs)
    assert "\n" not in str(err.value) and "MultiHeadAttention" in str(err.value)


# -- a Keras-made file ------------------------------------------------------------------------------

def test_keras_made_file_loads_and_predicts():
    data = np.load(os.path.join(FIXTURES, "attention_axes.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "attention_axes.keras"))
    assert model.get_layer("mha_hw").attention_axes == (1, 2)
    assert model.get_layer("mha_rows").attention_axes == (2,)
    assert model.get_layer("mha_default").attention_axes == (1, 2)
    assert model.get_layer("mha_rows").output_dense.kernel.shape == (2, 3, 4)
    np.testing.assert_allclose(model.predict([data["x0"], data["x1"]], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-5)
