"""Attention, AdditiveAttention and MultiHeadAttention: Keras 3's weight layout, masks,
causal masks, scores, gradients, configs, errors, and Keras-made files
(tests/fixtures/attention.* and attention_eager.npz, from make_attention_rnn_fixtures.py)."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops
from kerasette.autograd import gradcheck

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


@pytest.fixture
def qv():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3, 4)).astype("float32"), rng.standard_normal((2, 5, 4)).astype("float32")


# -- MultiHeadAttention: layout -------------------------------------------------------------

def test_mha_weight_layout_as_keras():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5)
    out, scores = mha(np.ones((2, 3, 6), "float32"), np.ones((2, 5, 7), "float32"), np.ones((2, 5, 8), "float32"),
                      return_attention_scores=True)
    assert out.shape == (2, 3, 5) and scores.shape == (2, 2, 3, 5)
    assert [d.name for d in (mha.query_dense, mha.key_dense, mha.value_dense, mha.output_dense)] == \
        ["query", "key", "value", "attention_output"]
    assert [(w.name, w.shape) for w in mha.weights] == [
        ("kernel", (6, 2, 3)), ("bias", (2, 3)), ("kernel", (8, 2, 3)), ("bias", (2, 3)),
        ("kernel", (7, 2, 4)), ("bias", (2, 4)), ("kernel", (2, 4, 5)), ("bias", (5,))]
    assert mha.query_dense.equation == "abc,cde->abde" and mha.output_dense.equation == "abcd,cde->abe"
    no_bias = layers.MultiHeadAttention(2, 3, use_bias=False)
    no_bias(np.ones((1, 2, 4), "float32"), np.ones((1, 2, 4), "float32"))
    assert [w.shape for w in no_bias.weights] == [(4, 2, 3), (4, 2, 3), (4, 2, 3), (2, 3, 4)]
    assert mha.compute_output_shape((None, 3, 6), (None, 5, 7)) == (None, 3, 5)


def test_mha_matches_a_numpy_reference(qv):
    q, v = qv
    mha = layers.MultiHeadAttention(2, 3, value_dim=2)
    out, scores = mha(q, v, return_attention_scores=True)
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    Q = np.einsum("btd,dnh->btnh", q, wq) + bq
    K = np.einsum("bsd,dnh->bsnh", v, wk) + bk
    V = np.einsum("bsd,dnh->bsnh", v, wv) + bv
    logits = np.einsum("btnh,bsnh->bnts", Q, K) / np.sqrt(3)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    ref = np.einsum("bnts,bsnh->btnh", w, V)
    ref = np.einsum("btnh,nho->bto", ref, wo) + bo
    np.testing.assert_allclose(scores.numpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_mha_masks(qv):
    q, v = qv
    mha = layers.MultiHeadAttention(2, 3)
    v_mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], bool)
    _, scores = mha(q, v, value_mask=v_mask, return_attention_scores=True)
    s = scores.numpy()
    np.testing.assert_allclose(s[0][..., [2, 4]], 0.0)
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-5)
    # the same through attention_mask
    _, again = mha(q, v, attention_mask=np.broadcast_to(v_mask[:, None, :], (2, 3, 5)),
                   return_attention_scores=True)
    np.testing.assert_allclose(again.numpy(), s, rtol=1e-6)
    # and through the value's Keras mask
    vt = ops.convert_to_tensor(v)
    vt._keras_mask = v_mask
    np.testing.assert_allclose(mha(q, vt, return_attention_scores=True)[1].numpy(), s, rtol=1e-6)
    _, causal = mha(v, v, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(np.triu(causal.numpy()[0, 0], 1), 0.0)


def test_mha_in_a_functional_model_with_embedding_masks(tmp_path):
    tokens = keras.Input((5,), dtype="int32")
    e = layers.Embedding(7, 4, mask_zero=True)(tokens)
    out, scores = layers.MultiHeadAttention(2, 2, name="mha")(e, e, return_attention_scores=True)
    assert out.shape == (None, 5, 4) and scores.shape == (None, 2, 5, 5)
    model = keras.Model(tokens, [out, scores])
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 1, 0]], "int32")
    y, s = model.predict(ids, verbose=0)
    np.testing.assert_allclose(s[0][..., 3:], 0.0, atol=1e-7)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        clone = keras.models.load_model(tmp_path / f"m{suffix}")
        for a, b in zip(clone.predict(ids, verbose=0), (y, s)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_mha_dropout_only_in_training(qv):
    q, v = qv
    mha = layers.MultiHeadAttention(2, 3, dropout=0.5, seed=3)
    a = mha(q, v).numpy()
    np.testing.assert_allclose(mha(q, v).numpy(), a)
    assert not np.allclose(mha(q, v, training=True).numpy(), a)


# -- Attention / AdditiveAttention ---------------------------------------------------------------

def test_attention_dot_and_concat_against_numpy(qv):
    q, v = qv
    att = layers.Attention()
    out, w = att([q, v], return_attention_scores=True)
    logits = q @ v.transpose(0, 2, 1)
    ref = np.exp(logits - logits.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    np.testing.assert_allclose(w.numpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), ref @ v, rtol=1e-5, atol=1e-6)
    concat = layers.Attention(use_scale=True, score_mode="concat")
    concat([q, v])
    assert [w.name for w in concat.weights] == ["scale", "concat_score_weight"]
    additive = layers.AdditiveAttention()
    additive([q, v])
    assert [(w.name, w.shape) for w in additive.weights] == [("scale", (4,))]
    assert layers.AdditiveAttention(use_scale=False)([q, v]).shape == (2, 3, 4)


def test_attention_masks_and_causal(qv):
    q, v = qv
    q_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    v_mask = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 0, 0]], bool)
    for layer in (layers.Attention(), layers.AdditiveAttention()):
        out, w = layer([q, v], mask=[q_mask, v_mask], return_attention_scores=True)
        np.testing.assert_allclose(w.numpy()[0][:, 1], 0.0, atol=1e-7)
        np.testing.assert_allclose(out.numpy()[0, 2], 0.0)
        carried = layer([q, v], mask=[q_mask, v_mask])._keras_mask
        np.testing.assert_array_equal(keras.backend.to_numpy(carried), q_mask)
        _, causal = layer([v, v], use_causal_mask=True, return_attention_scores=True)
        np.testing.assert_allclose(np.triu(causal.numpy()[1], 1), 0.0, atol=1e-7)


def test_attention_in_a_functional_model(qv):
    q, v = qv
    a, b = keras.Input((3, 4)), keras.Input((5, 4))
    out, scores = layers.Attention(name="att")([a, b], return_attention_scores=True)
    assert out.shape == (None, 3, 4) and scores.shape == (None, 3, 5)
    c = layers.AdditiveAttention()([a, b, b])
    model = keras.Model([a, b], [out, scores, c])
    y = model.predict([q, v], verbose=0)
    np.testing.assert_allclose(y[0], model.get_layer("att")([q, v]).numpy(), rtol=1e-6)


# -- gradients --------------------------------------------------------------------------------------

def test_attention_gradcheck():
    rng = np.random.default_rng(1)
    q, v, k = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 4))
    q_mask, v_mask = np.array([[1, 1, 0], [1, 1, 1]], bool), np.array([[1, 0, 1, 1], [1, 1, 1, 1]], bool)
    for layer in (layers.Attention(use_scale=True, dtype="float64"),
                  layers.Attention(use_scale=True, score_mode="concat", dtype="float64"),
                  layers.AdditiveAttention(dtype="float64")):
        layer.build([q.shape, v.shape, k.shape])
        names = [w.name for w in layer.weights]
        ws = [np.array(w.numpy(), np.float64, order="C").reshape(w.shape) for w in layer.weights]

        def fn(q, v, k, *w, layer=layer, names=names):
            for name, value in zip(names, w):
                setattr(layer, name, value)
            return layer([q, v, k], mask=[q_mask, v_mask], use_causal_mask=True)
        assert gradcheck(fn, [q, v, k] + ws)


def test_mha_gradcheck():
    rng = np.random.default_rng(2)
    q, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 3))
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    mha = layers.MultiHeadAttention(2, 2, value_dim=3, output_shape=3, dtype="float64")
    mha.build(q.shape, v.shape)
    denses = [mha.query_dense, mha.key_dense, mha.value_dense, mha.output_dense]
    ws = [np.array(w.numpy(), np.float64, order="C") for w in mha.weights]

    def fn(q, v, *w):
        for d, (kern, bias) in zip(denses, zip(w[::2], w[1::2])):
            d.kernel, d.bias = kern, bias
        return mha(q, v, value_mask=mask)
    assert gradcheck(fn, [q, v] + ws)


# -- configs and errors -------------------------------------------------------------------------

def test_configs_round_trip():
    mha = layers.MultiHeadAttention(3, 4, value_dim=2, dropout=0.1, use_bias=False, output_shape=(6,),
                                    kernel_initializer="he_normal", sliding_window=3, use_gate=True, seed=5,
                                    name="m")
    config = mha.get_config()
    for key, value in {"num_heads": 3, "key_dim": 4, "value_dim": 2, "dropout": 0.1, "use_bias": False,
                       "output_shape": [6], "attention_axes": None, "sliding_window": 3, "use_gate": True,
                       "seed": 5}.items():
        assert config[key] == value, key
    assert layers.deserialize(layers.serialize(mha)).get_config() == config
    for layer in (layers.Attention(use_scale=True, score_mode="concat", dropout=0.2, seed=1),
                  layers.AdditiveAttention(use_scale=False, dropout=0.1)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert "score_mode" not in layers.AdditiveAttention().get_config()


def test_bad_arguments_fail_with_one_line(qv):
    q, v = qv
    cases = [
        (lambda: layers.MultiHeadAttention(0, 2), ValueError, "num_heads must be a positive integer"),
        (lambda: layers.MultiHeadAttention(2, "a"), ValueError, "key_dim must be a positive integer"),
        (lambda: layers.MultiHeadAttention(2, 2, value_dim=-1), ValueError, "value_dim"),
        (lambda: layers.MultiHeadAttention(2, 2, dropout=1.5), ValueError, "dropout must be a float in [0, 1)"),
        (lambda: layers.MultiHeadAttention(2, 2, output_shape="x"), ValueError, "output_shape"),
        (lambda: layers.MultiHeadAttention(2, 2, attention_axes=(1, 1)), ValueError, "attention_axes"),
        (lambda: layers.MultiHeadAttention(2, 2, activity_regularizer="l2"), NotImplementedError,
         "activity_regularizer"),
        (lambda: layers.MultiHeadAttention(2, 2)(q), ValueError, "call it with query and value"),
        (lambda: layers.MultiHeadAttention(2, 2)(np.ones((2, 4)), np.ones((2, 4))), ValueError,
         "must have rank 3"),
        (lambda: layers.MultiHeadAttention(2, 2)(q, v, np.ones((2, 4, 4))), ValueError,
         "value and key must have the same shape"),
        (lambda: layers.Attention(score_mode="add"), ValueError, "score_mode must be 'dot' or 'concat'"),
        (lambda: layers.Attention(dropout=-0.1), ValueError, "dropout"),
        (lambda: layers.Attention()(q), ValueError, "expected a list [query, value]"),
        (lambda: layers.Attention()([q, v, v, v]), ValueError, "2 or 3 inputs"),
        (lambda: layers.Attention()([q, np.ones((2, 5, 3))]), ValueError, "same last axis"),
    ]
    for make, kind, text in cases:
        with pytest.raises(kind) as err:
            make()
        assert text in str(err.value) and "\n" not in str(err.value), str(err.value)


# -- Keras-made files ------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_keras_made_attention_model_loads_and_predicts(suffix):
    data = np.load(os.path.join(FIXTURES, "attention.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "attention" + suffix))
    assert model.get_layer("cross_mha").output_dense.kernel.shape == (3, 4, 5)
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-5)


EAGER = {
    "mha_cross": (lambda: layers.MultiHeadAttention(2, 3, value_dim=4, output_shape=5),
                  {"return_attention_scores": True}),
    "mha_causal": (lambda: layers.MultiHeadAttention(3, 2), {"use_causal_mask": True,
                                                             "return_attention_scores": True}),
    "mha_gate_window": (lambda: layers.MultiHeadAttention(2, 3, use_gate=True, sliding_window=2), {}),
    "attn_dot": (lambda: layers.Attention(use_scale=True), {"use_causal_mask": True,
                                                            "return_attention_scores": True}),
    "attn_concat": (lambda: layers.Attention(score_mode="concat"), {"return_attention_scores": True}),
    "additive": (lambda: layers.AdditiveAttention(), {"return_attention_scores": True}),
}


@pytest.mark.parametrize("case", sorted(EAGER))
def test_eager_cases_match_keras(case):
    data = np.load(os.path.join(FIXTURES, "attention_eager.npz"))
    build, kwargs = EAGER[case]
    layer = build()
    xs = [data[k] for k in sorted(f for f in data.files if f.startswith(case + "_x"))]
    kwargs = dict(kwargs)
    if case + "_attention_mask" in data.files:
        kwargs["attention_mask"] = data[case + "_attention_mask"]
    if case + "_list" in data.files:
        masks = [data[f"{case}_mask{i}"] if f"{case}_mask{i}" in data.files else None for i in range(2)]
        if any(m is not None for m in masks):
            kwargs["mask"] = masks
        args = (xs,)
    else:
        args = tuple(xs)
    layer(*args, **kwargs)
    layer.set_weights([data[f"{case}_w{i}"] for i in range(len(layer.weights))])
    result = layer(*args, **kwargs)
    out = result[0] if isinstance(result, tuple) else result
    np.testing.assert_allclose(out.numpy(), data[f"{case}_y"], rtol=1e-5, atol=1e-5)
    if case + "_scores" in data.files:
        np.testing.assert_allclose(result[1].numpy(), data[f"{case}_scores"], rtol=1e-5, atol=1e-6)
