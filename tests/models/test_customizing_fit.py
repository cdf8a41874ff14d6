"""Customizing fit as in the Keras 3 guides: a Model subclass built from (inputs, outputs),
add_loss-only models, layers with several tensor arguments, models with nothing to train,
train_step / test_step / predict_step overrides."""
import warnings

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers, ops


def data(n=32, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    return x, (x @ np.arange(1, d + 1, dtype="float32"))[:, None]


class CustomModel(keras.Model):
    """The guide's first example: train_step with compute_loss, backward and optimizer.apply."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        self.zero_grad()
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_subclass_built_from_inputs_and_outputs_is_functional():
    inputs = keras.Input((4,))
    outputs = layers.Dense(1)(layers.Dense(8, activation="relu")(inputs))
    model = CustomModel(inputs, outputs)
    assert isinstance(model, CustomModel) and isinstance(model, keras.models.Functional)
    assert type(model).__name__ == "CustomModel"
    assert len(model.layers) == 3 and model.inputs and model.outputs
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    x, y = data()
    h = model.fit(x, y, batch_size=8, epochs=4, verbose=0)
    assert sorted(h.history) == ["loss", "mae"]
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(x, verbose=0).shape == (32, 1)
    # by keyword too, and a second instance reuses the same class
    again = CustomModel(inputs=inputs, outputs=outputs, name="again")
    assert type(again) is type(model) and again.name == "again"


def test_subclass_with_its_own_init_and_call_is_not_turned_functional():
    class TwoArgs(keras.Model):
        def __init__(self, units, classes, **kwargs):
            super().__init__(**kwargs)
            self.a, self.b = layers.Dense(units), layers.Dense(classes)

        def call(self, x):
            return self.b(self.a(x))

    model = TwoArgs(3, 2)
    assert not isinstance(model, keras.models.Functional)
    assert model.predict(np.ones((2, 4)), verbose=0).shape == (2, 2)


def test_subclass_init_forwarding_to_functional_keeps_its_attributes():
    class WithState(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")

        def train_step(self, data):
            x, y = data
            y_pred = self(x, training=True)
            loss = ops.mean((y_pred - y) ** 2)
            self.zero_grad()
            loss.backward()
            self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.loss_tracker.update_state(ops.mean((y_pred - y) ** 2))
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = keras.Input((4,))
    model = WithState(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.05))          # no loss: the step computes it
    x, y = data()
    h = model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y))
    assert sorted(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    assert h.history["loss"][-1] < h.history["loss"][0]
    # metrics are reset at every epoch start: the last epoch's loss is that epoch's mean only
    model.reset_metrics()
    assert float(model.loss_tracker.result()) == 0.0
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(float(np.mean((model.predict(x, verbose=0) - y) ** 2)), rel=1e-4)


def test_add_loss_only_model_compiles_without_loss():
    class ActivityPenalty(layers.Layer):
        def call(self, x):
            self.add_loss(ops.mean(x ** 2))
            return x

    inputs = keras.Input((4,))
    outputs = ActivityPenalty()(layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    x, _ = data()
    h = model.fit(x, epochs=3, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.evaluate(x, verbose=0) == pytest.approx(
        float(np.mean(model.predict(x, verbose=0) ** 2)), rel=1e-4)


def test_no_loss_at_all_is_a_clear_error_before_any_update():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    model.compile(optimizer="sgd")
    before = [w.numpy().copy() for w in model.weights]
    x, y = data()
    with pytest.raises(ValueError, match="loss"):
        model.fit(x, y, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))


def test_layer_called_with_two_positional_tensors_receives_both():
    class Combine(layers.Layer):
        def call(self, a, b):
            return a * 2.0 + b

    a, b = keras.Input((3,)), keras.Input((3,))
    out = Combine()(a, b)
    assert out.shape == (None, 3)
    model = keras.Model([a, b], out)
    xa, xb = np.ones((2, 3), "float32"), np.full((2, 3), 5.0, "float32")
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), 7.0)
    np.testing.assert_allclose(backend.to_numpy(Combine()(xa, xb).value), 7.0)   # eager too
    again = keras.models.model_from_json(model.to_json(), custom_objects={"Combine": Combine})
    np.testing.assert_allclose(again.predict([xa, xb], verbose=0), 7.0)


def test_fit_on_a_model_with_nothing_to_train_warns_and_runs():
    model = keras.Sequential([keras.Input((4,)), layers.Activation("relu")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, _ = data()
    with pytest.warns(UserWarning, match="trainable weights"):
        h = model.fit(x, np.abs(x), epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and h.history["mae"][-1] >= 0
    frozen = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    frozen.trainable = False
    frozen.compile(optimizer="adam", loss="mse")
    before = [w.numpy().copy() for w in frozen.weights]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frozen.fit(x, np.zeros((32, 2)), epochs=1, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, frozen.weights))


def test_test_step_and_predict_step_overrides():
    class Custom(keras.Model):
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

        def predict_step(self, data):
            x = data[0] if isinstance(data, tuple) else data
            return ops.argmax(self(x, training=False), axis=-1)

    inputs = keras.Input((4,))
    model = Custom(inputs, layers.Dense(3)(inputs))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, _ = data()
    y = np.zeros((32, 3), "float32")
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "mae"]
    raw = keras.Model(model.input, model.output).predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), raw.argmax(-1))


def test_custom_train_step_with_sample_weight_and_generator_data():
    inputs = keras.Input((4,))
    model = CustomModel(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    x, y = data()

    def batches():
        while True:
            for i in range(0, 32, 8):
                yield x[i:i + 8], y[i:i + 8]

    h = model.fit(batches(), steps_per_epoch=4, epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_functional_subclass_saves_and_loads_as_itself(tmp_path):
    inputs = keras.Input((4,))
    model = CustomModel(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", custom_objects={"CustomModel": CustomModel})
    assert isinstance(loaded, CustomModel) and isinstance(loaded, keras.models.Functional)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    h = loaded.fit(x, y, epochs=1, verbose=0)                   # its own train_step again
    assert "loss" in h.history


def test_compile_override_with_two_optimizers_as_in_the_gan_recipe():
    class TwoPart(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first, self.second = layers.Dense(4), layers.Dense(1)
            self.first_tracker = keras.metrics.Mean(name="first_loss")
            self.second_tracker = keras.metrics.Mean(name="second_loss")

        def compile(self, first_optimizer, second_optimizer):
            super().compile()
            self.first_optimizer, self.second_optimizer = first_optimizer, second_optimizer

        def call(self, x):
            return self.second(self.first(x))

        @property
        def metrics(self):
            return [self.first_tracker, self.second_tracker]

        def step(self, x, y, part, optimizer, tracker):
            loss = ops.mean((self(x, training=True) - y) ** 2)
            self.zero_grad()
            loss.backward()
            optimizer.apply([v.grad for v in part.trainable_weights], part.trainable_weights)
            tracker.update_state(loss)

        def train_step(self, data):
            x, y = data
            self.step(x, y, self.first, self.first_optimizer, self.first_tracker)
            self.step(x, y, self.second, self.second_optimizer, self.second_tracker)
            return {m.name: m.result() for m in self.metrics}

    model = TwoPart()
    model.compile(keras.optimizers.SGD(0.01), keras.optimizers.Adam(0.01))
    x, y = data()
    model(x[:1])
    before = [w.numpy().copy() for w in model.weights]
    h = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert sorted(h.history) == ["first_loss", "second_loss"]
    assert all(not np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights))
    assert h.history["second_loss"][-1] < h.history["first_loss"][0]
