"""``kerasette.ops`` functions applied to functional-API placeholders (KerasTensors): each gives a
graph node, the model computes what the same ops give eagerly, the outputs' dtypes follow the op,
and an op's own error is raised at the call that builds the graph."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import ops

X = np.random.default_rng(0).normal(size=(3, 4, 6)).astype("float32")
Y = np.random.default_rng(1).normal(size=(3, 4, 6)).astype("float32")

# name -> f(a, b) on tensors of shape (batch, 4, 6); the same f runs eagerly and symbolically
CASES = {
    "expand_dims": lambda a, b: ops.expand_dims(a, 1),
    "squeeze": lambda a, b: ops.squeeze(ops.reshape(a, (-1, 1, 24)), axis=1),
    "cos": lambda a, b: ops.cos(a) + ops.sin(b),
    "where": lambda a, b: ops.where(a > 0.0, a, b),
    "compare": lambda a, b: ops.cast(ops.logical_and(a >= b, a < 1.0), "float32"),
    "argmax": lambda a, b: ops.argmax(a, axis=-1),
    "cumsum": lambda a, b: ops.cumsum(a, axis=1),
    "one_hot": lambda a, b: ops.one_hot(ops.argmax(a, axis=-1), 6),
    "norm": lambda a, b: ops.norm(a, axis=-1),
    "logsumexp": lambda a, b: ops.logsumexp(a, axis=-1),
    "erf_floor_round": lambda a, b: ops.erf(a) + ops.floor(b) + ops.round(a),
    "sign_mod": lambda a, b: ops.sign(a) * (b % 2.0),
    "take_slice": lambda a, b: ops.take(a, [0, 2], axis=1) + ops.slice(b, (0, 0, 0), (3, 2, 6)),
    "normalize": lambda a, b: ops.normalize(a, axis=-1),
    "argsort_top_k": lambda a, b: ops.cast(ops.argsort(a, axis=-1), "float32") + ops.top_k(b, 6)[0],
    "any_prod": lambda a, b: ops.cast(ops.any(a > 1.0, axis=-1), "float32") + ops.prod(b, axis=-1),
    "isnan_average": lambda a, b: ops.cast(ops.isnan(a), "float32") + ops.expand_dims(ops.average(b, axis=1), 1),
    "stop_gradient_likes": lambda a, b: ops.stop_gradient(a) + ops.ones_like(b) - ops.zeros_like(a),
    "tril_log1p": lambda a, b: ops.tril(a) + ops.log1p(ops.abs(b)),
    "rsqrt_reciprocal_arctan": lambda a, b: ops.rsqrt(ops.abs(a) + 1.0) + ops.reciprocal(b + 10.0) + ops.arctan(a),
    "abs_floordiv_pow": lambda a, b: abs(a) + a // 0.5 + 2.0 ** b,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_op_on_placeholders_computes_what_it_computes_eagerly(name):
    f = CASES[name]
    a, b = keras.Input((4, 6)), keras.Input((4, 6))
    out = f(a, b)
    model = keras.Model([a, b], out)
    want = keras.ops.convert_to_numpy(f(ops.convert_to_tensor(X), ops.convert_to_tensor(Y)))
    got = model.predict([X, Y], verbose=0)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert out.shape == (None,) + want.shape[1:] and out.dtype == str(want.dtype)


def test_dtypes_follow_the_op():
    a = keras.Input((4, 6))
    assert (a > 0.0).dtype == "bool"
    assert ops.argmax(a, axis=-1).dtype == str(np.asarray(np.argmax(X, -1)).dtype)
    assert ops.cos(a).dtype == "float32"


def test_an_ops_own_error_is_raised_where_the_graph_is_built():
    a = keras.Input((4, 6))
    with pytest.raises(Exception, match="axis"):
        ops.cumsum(a, axis=5)


def test_plain_values_pass_through_and_eager_calls_are_unchanged():
    a = keras.Input((4, 6))
    assert ops.shape(a) == (None, 4, 6)
    assert ops.cos.__wrapped__.__name__ == "cos"
    np.testing.assert_allclose(ops.convert_to_numpy(ops.cos(X)), np.cos(X), rtol=1e-6)


def test_a_node_without_a_saved_form_says_so_when_saved(tmp_path):
    a = keras.Input((4, 6))
    model = keras.Model(a, ops.take(a, np.array([0, 2]), axis=1))     # an array constant: no config form
    with pytest.raises(Exception, match="take"):
        model.save(str(tmp_path / "m.keras"))
    assert not (tmp_path / "m.keras").exists()


def test_an_op_nodes_dtype_survives_a_config_round_trip_and_a_clone():
    a = keras.Input((4,))
    model = keras.Model(a, ops.cast(a, "int32"))
    assert model.outputs[0].dtype == "int32"
    for again in (keras.Model.from_config(model.get_config()), keras.models.clone_model(model)):
        assert again.outputs[0].dtype == "int32"
        assert again.predict(np.ones((2, 4), "float32"), verbose=0).dtype == np.int32
