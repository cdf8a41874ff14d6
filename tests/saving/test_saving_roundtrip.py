"""Round trips through kerasette's own files: every layer type with weights, the three
model kinds (Sequential, Functional, subclassed), ``.weights.h5`` and ``.keras``,
plus exact resumption of training from a ``.keras`` file."""
import os

import h5py
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.saving import register_keras_serializable


def randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb) and len(wa) > 0
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


def has(*names):
    return all(hasattr(keras.layers, n) for n in names)


# -- every layer type, three model kinds --------------------------------------------------

def every_layer_sequential():
    stack = [keras.Input((6, 6, 2))]
    if has("Conv2D", "MaxPooling2D"):
        stack += [layers.Conv2D(3, 3, padding="same", activation="relu"), layers.MaxPooling2D(2)]
    stack += [layers.Reshape((-1, 3 if has("Conv2D") else 2))]
    if has("SimpleRNN", "Bidirectional"):
        stack += [layers.Bidirectional(layers.SimpleRNN(4, return_sequences=True)), layers.SimpleRNN(3)]
    else:
        stack += [layers.Flatten()]
    stack += [layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c"), layers.Dropout(0.2),
              layers.Dense(2, activation="softmax")]
    return keras.Sequential(stack)


def every_layer_functional():
    a = keras.Input((5,), name="a")
    b = keras.Input((4, 3), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    x = shared(layers.Dense(4, name="pre")(a))
    y = layers.Flatten()(b)
    if has("SimpleRNN"):
        y = layers.SimpleRNN(4, name="rnn")(b)
    y = shared(layers.Dense(4, name="pre_b")(y))
    z = layers.Concatenate()([layers.Add()([x, y]), layers.Multiply()([x, y])])
    inner = keras.Sequential([layers.Dense(3), layers.Dense(2)], name="inner")
    return keras.Model([a, b], inner(z), name="func")


@register_keras_serializable(package="SavingTests")
class Residual(layers.Layer):
    """A custom layer with its own weight and a sublayer."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.proj = layers.Dense(units)

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")
        self.proj.build(input_shape)

    def call(self, x):
        return self.proj(x) * self.scale + x

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_keras_serializable(package="SavingTests")
class Net(keras.Model):
    """A subclassed model: attributes, a list of layers and a nested Sequential."""

    def __init__(self, width=4, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.encoder = keras.Sequential([layers.Dense(width, activation="relu"), layers.Dense(width)])
        self.blocks = [Residual(width), Residual(width)]
        self.head = layers.Dense(2)

    def call(self, x, training=None):
        x = self.encoder(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


def subclassed():
    model = Net()
    model(np.zeros((1, 5), "float32"))
    return model


KINDS = {"sequential": (every_layer_sequential, lambda r: r.normal(size=(3, 6, 6, 2))),
         "functional": (every_layer_functional, lambda r: [r.normal(size=(3, 5)), r.normal(size=(3, 4, 3))]),
         "subclassed": (subclassed, lambda r: r.normal(size=(3, 5)))}


def inputs(kind):
    x = KINDS[kind][1](np.random.default_rng(5))
    return [a.astype("float32") for a in x] if isinstance(x, list) else x.astype("float32")


@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_roundtrip(kind, tmp_path):
    build = KINDS[kind][0]
    src = build()
    randomize(src)
    src.save_weights(tmp_path / "w.weights.h5")
    dst = build()
    dst.load_weights(tmp_path / "w.weights.h5")
    same_weights(src, dst)
    x = inputs(kind)
    np.testing.assert_allclose(dst.predict(x), src.predict(x), atol=1e-6)


def test_subclassed_layout_is_keras_layout(tmp_path):
    """Paths a subclassed model gets in Keras 3.15 (checked with Keras itself): public
    attributes in sorted order, lists by class name, ``Model.layers`` for the rest."""
    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = keras.Sequential([layers.Dense(4), layers.Dense(3)])
            self.blocks = [layers.Dense(3), layers.Dense(3)]
            self.head = layers.Dense(2)
            self._private = layers.Dense(2)

        def call(self, x):
            x = self.encoder(x)
            for b in self.blocks:
                x = b(x)
            return self.head(x) + self._private(x)

    m = M()
    m(np.zeros((1, 5), "float32"))
    m.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        groups = []
        f.visit(lambda n: groups.append(n) if n.endswith("vars") else None)
    assert sorted(groups) == sorted([
        "blocks/dense/vars", "blocks/dense_1/vars", "encoder/layers/dense/vars",
        "encoder/layers/dense_1/vars", "encoder/vars", "head/vars", "layers/dense_3/vars", "vars"])


# -- .keras -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
def test_keras_zip_roundtrip(kind, tmp_path):
    build = KINDS[kind][0]
    src = build()
    randomize(src, 1)
    src.compile(optimizer="adam", loss="mse", metrics=["mae"])
    path = tmp_path / "m.keras"
    src.save(path)
    with __import__("zipfile").ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    dst = keras.models.load_model(path)
    assert type(dst) is type(src)
    same_weights(src, dst)
    x = inputs(kind)
    np.testing.assert_allclose(dst.predict(x), src.predict(x), atol=1e-6)
    assert isinstance(dst.optimizer, keras.optimizers.Adam)
    assert dst._compiled["loss"] == "mse" and dst._compiled["metrics"] == ["mae"]
    plain = keras.models.load_model(path, compile=False)
    assert plain.optimizer is None
    same_weights(src, plain)


def test_unregistered_custom_class_needs_custom_objects(tmp_path):
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

        def call(self, x):
            return x * self.s

    model = keras.Sequential([keras.Input((3,)), Scale(), layers.Dense(2)])
    randomize(model)
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match="Scale"):
        keras.models.load_model(tmp_path / "c.keras")
    back = keras.models.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale})
    same_weights(model, back)


# -- exact resume -------------------------------------------------------------------------

OPTIMIZERS = {"adam": lambda: keras.optimizers.Adam(0.01),
              "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
              "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
              "rmsprop_centered": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True)}


def _data():
    rng = np.random.default_rng(3)
    x = [rng.normal(size=(40, 5)).astype("float32"), rng.normal(size=(40, 4, 3)).astype("float32")]
    return x, rng.normal(size=(40, 2)).astype("float32")


@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_train_two_epochs_equals_one_save_load_one(opt, tmp_path):
    """Same seed: fit 2 epochs == fit 1, save .keras, load, fit 1 more. ``shuffle=False``
    keeps the batch order independent of the random generator, which creating the
    loaded model's layers advances (BackupAndRestore also restores that generator)."""
    x, y = _data()
    keras.set_random_seed(11)
    straight = every_layer_functional()
    straight.compile(optimizer=OPTIMIZERS[opt](), loss="mse")
    straight.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)

    keras.set_random_seed(11)
    first = every_layer_functional()
    first.compile(optimizer=OPTIMIZERS[opt](), loss="mse")
    first.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = keras.models.load_model(tmp_path / "half.keras")
    assert resumed.optimizer.iterations == 5
    resumed.fit(x, y, batch_size=8, epochs=2, initial_epoch=1, shuffle=False, verbose=0)

    assert resumed.optimizer.iterations == straight.optimizer.iterations == 10
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)         # bit for bit
    moved = max(np.abs(a - b).max() for a, b in zip(first.get_weights(), resumed.get_weights()))
    assert moved > 1e-4                            # the second epoch did train


def test_optimizer_file_layout_matches_keras_order(tmp_path):
    """iteration, learning rate, then Adam's (momentum, velocity) per weight in Keras's
    weight order, then the amsgrad ``velocity_hat`` list."""
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.02, amsgrad=True), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), epochs=1, verbose=0)
    model.save_weights(tmp_path / "o.weights.h5")
    opt = model.optimizer
    with h5py.File(tmp_path / "o.weights.h5") as f:
        g = f["optimizer/vars"]
        assert len(g) == 2 + 3 * 2
        assert int(g["0"][()]) == 1 and np.isclose(g["1"][()], 0.02)
        expected = [opt.slots["momentum"][0], opt.slots["velocity"][0], opt.slots["momentum"][1],
                    opt.slots["velocity"][1], opt.slots["velocity_hat"][0], opt.slots["velocity_hat"][1]]
        for i, want in enumerate(expected):
            np.testing.assert_array_equal(g[str(i + 2)][()], want)
    assert os.path.getsize(tmp_path / "o.weights.h5") > 0
