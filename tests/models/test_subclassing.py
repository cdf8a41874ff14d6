"""Subclassed models: tracking, training flag, custom train_step, summary."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.blocks = [layers.Dense(8, activation="relu"), layers.Dense(8, activation="relu")]
        self.heads = {"out": layers.Dense(3, activation="softmax")}
        self.drop = layers.Dropout(0.5)

    def call(self, x, training=None):
        for block in self.blocks:
            x = block(x)
        x = self.drop(x, training=training)
        return self.heads["out"](x)


def toy(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)


def test_weights_tracked_in_lists_and_dicts():
    model = Net()
    model(np.zeros((1, 4)))
    assert len(model.weights) == 6
    assert [w.shape for w in model.trainable_weights][:2] == [(4, 8), (8,)]


def test_fit_evaluate_predict_and_summary(capsys):
    model = Net()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = toy()
    before = model.evaluate(x, y, verbose=0)[0] if model.built else None
    h = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(x).shape == (64, 3)
    model.summary()
    out = capsys.readouterr().out
    assert "dense (Dense)" in out and "(None, 8)" in out and "Total params: 139" in out
    del before


def test_training_flag_reaches_dropout():
    model = Net()
    x = np.ones((200, 4), dtype="float32")
    inf1, inf2 = model(x, training=False).numpy(), model(x, training=False).numpy()
    np.testing.assert_array_equal(inf1, inf2)
    tr = model(x, training=True).numpy()
    assert not np.allclose(tr, inf1)


def test_custom_train_step_is_used():
    calls = []

    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

        def train_step(self, data):
            x, y = data
            calls.append(len(x))
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            self.zero_grad()
            loss.backward()
            self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
            for m in self.metrics:
                if m.name == "loss":
                    m.update_state(loss)
            return {m.name: m.result() for m in self.metrics}

    model = Custom()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = np.random.default_rng(0).standard_normal((10, 2))
    h = model.fit(x, x[:, :1] * 3, batch_size=4, epochs=10, verbose=0)
    assert calls[:6] == [4, 4, 2, 4, 4, 2] and len(calls) == 30
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]


def test_custom_layer_needs_only_build_and_call():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    layer = Scale()
    out = layer(np.full((2, 3), 2.0))
    np.testing.assert_allclose(out.numpy(), 2.0)
    assert layer.weights[0].name == "w" and layer.weights[0].path == "scale/w"


def test_build_with_shape_creates_weights():
    model = Net()
    model.build((None, 4))
    assert len(model.weights) == 6


def test_unbuilt_subclassed_model_summary_shows_unbuilt_and_count_params_refuses(capsys):
    Net().summary()                   # as Keras 3: ``?`` shapes, ``0 (unbuilt)`` (tests/test_summary_unbuilt.py)
    assert "0 (unbuilt)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not yet been built"):
        Net().count_params()


def test_ops_on_symbolic_tensors_become_layers():
    from kerasette import ops
    x = keras.Input((3,))
    z = ops.concatenate([ops.relu(x) * 2.0 + 1.0, 1.0 - x], axis=-1)
    model = keras.Model(x, z)
    assert z.shape == (None, 6)
    np.testing.assert_allclose(model.predict(np.array([[-1.0, 0.5, 2.0]])),
                               [[1.0, 2.0, 5.0, 2.0, 0.5, -1.0]])
