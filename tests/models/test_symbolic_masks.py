"""Masks in the Functional API: symbolic tensors carry ``_keras_mask`` and a layer whose call
needs its mask gets one while the model is built (issue 15, item 4)."""
import numpy as np

import kerasette as keras
from kerasette import layers, ops


class MaskedMean(layers.Layer):
    """Mean over time of the unmasked steps; refuses to run without a mask."""

    def call(self, x, mask=None):
        if mask is None:
            raise ValueError("MaskedMean needs a mask")
        m = ops.cast(ops.expand_dims(mask, -1), x.dtype)
        return ops.sum(x * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)


def test_symbolic_tensors_carry_the_mask_and_a_mask_needing_layer_builds():
    inp = keras.Input((5,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    e = emb(inp)
    assert e._keras_mask.shape == (None, 5) and e._keras_mask.dtype == "bool"
    model = keras.Model(inp, MaskedMean()(e))
    x = np.array([[1, 2, 0, 0, 0], [3, 0, 0, 0, 0]])
    got = model.predict(x, verbose=0)
    table = emb.get_weights()[0]
    np.testing.assert_allclose(got, [table[[1, 2]].mean(0), table[3]], rtol=1e-6, atol=1e-7)


def test_masks_pass_through_layers_that_support_them_and_stop_where_consumed():
    inp = keras.Input((6,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(inp)
    seq = layers.LSTM(3, return_sequences=True)(e)
    assert seq._keras_mask.shape == (None, 6)               # a sequence output keeps the mask
    last = layers.LSTM(3)(seq)
    assert getattr(last, "_keras_mask", None) is None        # the last state: no time axis, no mask
    plain = layers.Dense(2)(keras.Input((4,)))
    assert getattr(plain, "_keras_mask", None) is None
