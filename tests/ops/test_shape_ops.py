"""Shape ops (kerasette/ops/shape.py): gradcheck in float64 and NumPy forward
references, one table row per case."""
import importlib

import numpy as np
import pytest

from kerasette import ops
from kerasette.backend import to_device  # inputs go to the default device (the stand-in pass)
from kerasette.autograd import Tensor, backward, gradcheck

shape_mod = importlib.import_module("kerasette.ops.shape")

R = np.random.default_rng(11)


def rand(*shape):
    return R.uniform(-2.0, 2.0, size=shape)


MASK = R.uniform(size=(3, 4)) > 0.4
REPEAT_IDX = np.array([0, 2, 0, 0])


def _cat_scaled(parts, axis):
    """Join split pieces back with a different scale each, so every piece matters."""
    return ops.concatenate([ops.multiply(p, float(i + 1)) for i, p in enumerate(parts)], axis=axis)


def _np_cat_scaled(parts, axis):
    return np.concatenate([p * float(i + 1) for i, p in enumerate(parts)], axis=axis)


# (case id, op name, fn on Tensors, input arrays, NumPy reference)
CASES = [
    ("reshape", "reshape", lambda x: ops.reshape(x, (4, 6)), [rand(2, 3, 4)], lambda x: x.reshape(4, 6)),
    ("reshape_minus1", "reshape", lambda x: ops.reshape(x, (-1, 2)), [rand(2, 3, 4)], lambda x: x.reshape(-1, 2)),
    ("reshape_method", "reshape", lambda x: x.reshape(3, 8), [rand(2, 3, 4)], lambda x: x.reshape(3, 8)),
    ("transpose_default", "transpose", lambda x: ops.transpose(x), [rand(2, 3, 4)], lambda x: x.transpose()),
    ("transpose_axes", "transpose", lambda x: ops.transpose(x, (1, 2, 0)), [rand(2, 3, 4)],
     lambda x: x.transpose(1, 2, 0)),
    ("transpose_T", "transpose", lambda x: x.T, [rand(3, 4)], lambda x: x.T),
    ("concatenate_axis0", "concatenate", lambda a, b, c: ops.concatenate([a, b, c], axis=0),
     [rand(2, 3), rand(1, 3), rand(3, 3)], lambda a, b, c: np.concatenate([a, b, c], axis=0)),
    ("concatenate_axis_neg", "concatenate", lambda a, b: ops.concatenate([a, b], axis=-1),
     [rand(2, 3, 2), rand(2, 3, 4)], lambda a, b: np.concatenate([a, b], axis=-1)),
    ("concatenate_same_tensor", "concatenate", lambda a: ops.concatenate([a, a], axis=1),
     [rand(2, 3)], lambda a: np.concatenate([a, a], axis=1)),
    ("stack_axis0", "stack", lambda a, b: ops.stack([a, b]), [rand(2, 3), rand(2, 3)], lambda a, b: np.stack([a, b])),
    ("stack_axis1", "stack", lambda a, b, c: ops.stack([a, b, c], axis=1), [rand(2, 3), rand(2, 3), rand(2, 3)],
     lambda a, b, c: np.stack([a, b, c], axis=1)),
    ("stack_axis_neg", "stack", lambda a, b: ops.stack([a, b], axis=-1), [rand(2, 3), rand(2, 3)],
     lambda a, b: np.stack([a, b], axis=-1)),
    ("getitem_slice", "get_item", lambda x: x[1:3], [rand(4, 3)], lambda x: x[1:3]),
    ("getitem_step_slice", "get_item", lambda x: x[::-2, 1:], [rand(5, 3)], lambda x: x[::-2, 1:]),
    ("getitem_int", "get_item", lambda x: x[1], [rand(4, 3)], lambda x: x[1]),
    ("getitem_int_neg_col", "get_item", lambda x: x[:, -1], [rand(4, 3)], lambda x: x[:, -1]),
    ("getitem_index_repeats", "get_item", lambda x: x[REPEAT_IDX], [rand(4, 3)], lambda x: x[REPEAT_IDX]),
    ("getitem_list_repeats", "get_item", lambda x: ops.get_item(x, (slice(None), [1, 1, 2])), [rand(4, 3)],
     lambda x: x[:, [1, 1, 2]]),
    ("getitem_pairs", "get_item", lambda x: x[np.array([0, 3, 0]), np.array([2, 1, 2])], [rand(4, 3)],
     lambda x: x[np.array([0, 3, 0]), np.array([2, 1, 2])]),
    ("getitem_none", "get_item", lambda x: x[None, :, 1], [rand(4, 3)], lambda x: x[None, :, 1]),
    ("getitem_ellipsis", "get_item", lambda x: x[..., 0], [rand(2, 3, 4)], lambda x: x[..., 0]),
    ("getitem_bool_mask", "get_item", lambda x: x[MASK], [rand(3, 4)], lambda x: x[MASK]),
    ("getitem_tensor_index", "get_item", lambda x: x[Tensor(REPEAT_IDX)], [rand(4, 3)], lambda x: x[REPEAT_IDX]),
    ("expand_dims_0", "expand_dims", lambda x: ops.expand_dims(x, 0), [rand(2, 3)], lambda x: np.expand_dims(x, 0)),
    ("expand_dims_neg", "expand_dims", lambda x: ops.expand_dims(x, -1), [rand(2, 3)],
     lambda x: np.expand_dims(x, -1)),
    ("expand_dims_mid", "expand_dims", lambda x: ops.expand_dims(x, 1), [rand(2, 3)], lambda x: np.expand_dims(x, 1)),
    ("squeeze_all", "squeeze", lambda x: ops.squeeze(x), [rand(1, 3, 1, 2)], lambda x: np.squeeze(x)),
    ("squeeze_axis", "squeeze", lambda x: ops.squeeze(x, axis=2), [rand(1, 3, 1, 2)], lambda x: np.squeeze(x, 2)),
    ("squeeze_neg_axis", "squeeze", lambda x: ops.squeeze(x, axis=-1), [rand(3, 1)], lambda x: np.squeeze(x, -1)),
    ("flatten", "flatten", lambda x: ops.flatten(x), [rand(2, 3, 4)], lambda x: x.reshape(2, -1)),
    ("split_sections", "split", lambda x: _cat_scaled(ops.split(x, 3, axis=1), 1), [rand(2, 6)],
     lambda x: _np_cat_scaled(np.split(x, 3, axis=1), 1)),
    ("split_indices", "split", lambda x: _cat_scaled(ops.split(x, [1, 3], axis=0), 0), [rand(5, 2)],
     lambda x: _np_cat_scaled(np.split(x, [1, 3], axis=0), 0)),
    ("split_neg_axis", "split", lambda x: _cat_scaled(ops.split(x, 2, axis=-1), -1), [rand(2, 3, 4)],
     lambda x: _np_cat_scaled(np.split(x, 2, axis=-1), -1)),
    ("unstack", "unstack", lambda x: ops.stack([p * float(i + 1) for i, p in enumerate(ops.unstack(x, axis=1))]),
     [rand(2, 3)], lambda x: np.stack([x[:, i] * float(i + 1) for i in range(3)])),
    ("repeat_axis0", "repeat", lambda x: ops.repeat(x, 2, axis=0), [rand(2, 3)], lambda x: np.repeat(x, 2, axis=0)),
    ("repeat_axis_neg", "repeat", lambda x: ops.repeat(x, 3, axis=-1), [rand(2, 3)],
     lambda x: np.repeat(x, 3, axis=-1)),
    ("tile_2d", "tile", lambda x: ops.tile(x, (2, 3)), [rand(2, 3)], lambda x: np.tile(x, (2, 3))),
    ("tile_one_axis", "tile", lambda x: ops.tile(x, (1, 2)), [rand(2, 3)], lambda x: np.tile(x, (1, 2))),
    ("tile_short_reps", "tile", lambda x: ops.tile(x, (2,)), [rand(2, 3)], lambda x: np.tile(x, (2,))),
    ("tile_long_reps", "tile", lambda x: ops.tile(x, (2, 1, 2)), [rand(2, 3)], lambda x: np.tile(x, (2, 1, 2))),
    ("flip_0", "flip", lambda x: ops.flip(x, 0), [rand(3, 4)], lambda x: np.flip(x, 0)),
    ("flip_neg", "flip", lambda x: ops.flip(x, -1), [rand(3, 4)], lambda x: np.flip(x, -1)),
    ("flip_tuple", "flip", lambda x: ops.flip(x, (0, 1)), [rand(3, 4)], lambda x: np.flip(x, (0, 1))),
    ("swapaxes", "swapaxes", lambda x: ops.swapaxes(x, 0, 2), [rand(2, 3, 4)], lambda x: np.swapaxes(x, 0, 2)),
    ("swapaxes_neg", "swapaxes", lambda x: ops.swapaxes(x, -1, 1), [rand(2, 3, 4)], lambda x: np.swapaxes(x, -1, 1)),
    ("moveaxis", "moveaxis", lambda x: ops.moveaxis(x, 0, -1), [rand(2, 3, 4)], lambda x: np.moveaxis(x, 0, -1)),
    ("moveaxis_back", "moveaxis", lambda x: ops.moveaxis(x, -1, 0), [rand(2, 3, 4)], lambda x: np.moveaxis(x, -1, 0)),
    ("broadcast_to_row", "broadcast_to", lambda x: ops.broadcast_to(x, (3, 4)), [rand(4)],
     lambda x: np.broadcast_to(x, (3, 4))),
    ("broadcast_to_col_3d", "broadcast_to", lambda x: ops.broadcast_to(x, (2, 3, 4)), [rand(3, 1)],
     lambda x: np.broadcast_to(x, (2, 3, 4))),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(case):
    _, _, fn, inputs, ref = case
    out = fn(*[Tensor(to_device(a)) for a in inputs])
    expected = ref(*inputs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(case):
    _, _, fn, inputs, _ = case
    assert gradcheck(fn, [a.copy() for a in inputs])


def test_every_shape_op_is_in_the_table():
    public = set(shape_mod.__all__)
    covered = {c[1] for c in CASES}
    assert public - covered == set(), f"ops without a gradcheck row: {sorted(public - covered)}"


def test_getitem_repeated_indices_sum_their_gradients():
    x = Tensor(rand(4, 2), requires_grad=True)
    backward(x[REPEAT_IDX], np.ones((4, 2)))
    np.testing.assert_array_equal(x.grad[:, 0], [3.0, 0.0, 1.0, 0.0])


def test_split_rejects_unequal_sections():
    # NumPy and Keras refuse a split that does not divide the axis; silently
    # dropping the remainder would lose data
    with pytest.raises(ValueError):
        ops.split(Tensor(rand(7, 2)), 3, axis=0)
    with pytest.raises(ValueError):
        ops.split(Tensor(rand(6, 2)), 4, axis=0)


def test_split_sections_shapes():
    parts = ops.split(Tensor(rand(6, 2)), 3, axis=0)
    assert [p.shape for p in parts] == [(2, 2)] * 3


def test_reshape_bad_size_raises():
    with pytest.raises(ValueError):
        ops.reshape(Tensor(rand(2, 3)), (4, 2))
