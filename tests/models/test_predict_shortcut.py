"""``predict``'s one-batch shortcut (``Model._predict_one_batch``): taken for one plain array
that fits in a batch, with the same results, casts and errors as the general path, and left
for everything it does not cover (callbacks, verbose, Embedding ids, custom predict_step)."""
import numpy as np
import pytest

import kerasette as keras
from kerasette.models.model import Model


@pytest.fixture
def spy(monkeypatch):
    """Count the shortcut's answers (not its refusals)."""
    taken = []
    real = Model._predict_one_batch

    def counting(self, x, batch_size):
        out = real(self, x, batch_size)
        if out is not None:
            taken.append(1)
        return out

    monkeypatch.setattr(Model, "_predict_one_batch", counting)
    return taken


def _mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")])


def test_shortcut_gives_what_the_general_path_gives(spy):
    model = _mlp()
    x = np.random.default_rng(0).normal(size=(4, 6))                  # float64: cast to float32
    quick = model.predict(x, verbose=0)
    assert spy == [1]
    general = model.predict(x, verbose=0, callbacks=[keras.callbacks.Callback()])
    assert spy == [1]                                                 # callbacks: the general path
    assert quick.dtype == np.float32 and quick.shape == (4, 3)
    np.testing.assert_array_equal(quick, general)


def test_shortcut_for_functional_models_with_several_outputs(spy):
    inp = keras.Input((6,))
    h = keras.layers.Dense(4)(inp)
    model = keras.Model(inp, [keras.layers.Dense(2)(h), keras.layers.Dense(1)(h)])
    x = np.ones((2, 6), "float32")
    quick = model.predict(x, verbose=0)
    general = model.predict(x, verbose=0, batch_size=1)               # two batches: general path
    assert spy == [1]
    assert isinstance(quick, list) and [q.shape for q in quick] == [(2, 2), (2, 1)]
    for a, b in zip(quick, general):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_shortcut_keeps_the_one_sample_error(spy):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"predict: x has shape \(3,\), which is one sample"):
        model.predict(np.ones(3, "float32"), verbose=0)
    assert spy == []


def test_shortcut_left_for_embedding_ids_which_are_still_checked(spy):
    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 3)])
    with pytest.raises(ValueError, match="Embedding"):
        model.predict(np.array([[1, 2, 3, 12]]), verbose=0)
    assert model.predict(np.array([[1, 2, 3, 4]]), verbose=0).shape == (1, 4, 3)
    assert spy == []


def test_shortcut_left_for_a_custom_predict_step(spy):
    class Doubled(keras.Model):
        def predict_step(self, data):
            return super().predict_step(data) * 2

    inp = keras.Input((2,))
    model = Doubled(inp, keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(inp))
    np.testing.assert_allclose(model.predict(np.ones((1, 2)), verbose=0), [[4.0]])
    assert spy == []


def test_shortcut_left_for_lists_and_large_inputs(spy):
    model = _mlp()
    with pytest.raises(ValueError, match="nested Python list of numbers"):
        model.predict([[0.0] * 6], verbose=0)                          # the general path's error
    model.predict(np.zeros((40, 6)), verbose=0)                        # more than one batch
    assert spy == []


def test_shortcut_casts_to_a_float64_model(spy):
    keras.utils.set_random_seed(1)
    was = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        x = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
        quick = model.predict(x, verbose=0)
        general = model.predict(x, verbose=0, callbacks=[keras.callbacks.Callback()])
    finally:
        keras.config.set_floatx(was)
    assert spy == [1] and quick.dtype == np.float64
    np.testing.assert_array_equal(quick, general)


def test_shortcut_keeps_uint8_images_cast_to_floatx(spy):
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    x = np.arange(8, dtype=np.uint8).reshape(2, 2, 2, 1)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x.astype("float32"), verbose=0))
    assert spy == [1, 1]
