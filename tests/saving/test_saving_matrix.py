"""The round-trip matrix: every public layer, every optimizer (each with a learning-rate
schedule), every loss and metric, custom objects (functions and classes, registered and
passed), sublayers held in configs and ops on symbolic tensors, through every file kind
(``.keras``, legacy ``.h5``, ``.weights.h5``, ``to_json``). After loading, predictions and
optimizer state are equal and the next training step gives the same weights."""
import inspect

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops

FORMATS = [".keras", ".h5", ".weights.h5", "json"]


# -- custom objects: registered and passed, functions and classes ------------------------------

@keras.saving.register_keras_serializable(package="matrix")
def soft_clip(x):
    """A registered activation."""
    return ops.tanh(x) * 2.0


def half_relu(x):
    """An activation known only through custom_objects."""
    return ops.relu(x) * 0.5


@keras.saving.register_keras_serializable(package="matrix")
def shift(x, amount=0.5):
    """A registered Lambda function."""
    return x + amount


@keras.saving.register_keras_serializable(package="matrix")
class Wrapper(layers.Layer):
    """A registered layer holding a sublayer in its config (rebuilt by the base from_config)."""

    def __init__(self, inner, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.scale = inner, scale

    def call(self, x):
        return self.inner(x) * self.scale

    def get_config(self):
        return {**super().get_config(), "inner": self.inner, "scale": self.scale}


@keras.saving.register_keras_serializable(package="matrix")
class Stack(layers.Layer):
    """A registered layer holding a list of sublayers, rebuilt by its own from_config
    (as Keras asks custom layers to do)."""

    def __init__(self, blocks, **kwargs):
        super().__init__(**kwargs)
        self.blocks = list(blocks)

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def get_config(self):
        return {**super().get_config(), "blocks": self.blocks}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["blocks"] = [keras.saving.deserialize_keras_object(b) for b in config["blocks"]]
        return cls(**config)


class Gate(layers.Layer):
    """An unregistered layer with its own weight, known only through custom_objects."""

    def build(self, input_shape):
        self.gate = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gate")

    def call(self, x):
        return x * ops.sigmoid(self.gate)


CUSTOM = {"half_relu": half_relu, "Gate": Gate}


# -- the models ----------------------------------------------------------------------------------

def image_model():
    x = keras.Input((6, 6, 2), name="img")
    h = layers.ZeroPadding2D(1)(x)
    h = layers.Conv2D(3, 3, activation=soft_clip, name="conv")(h)
    h = layers.BatchNormalization()(h)
    h = layers.MaxPooling2D(2)(h)
    h = layers.AveragePooling2D(1)(h)
    a = layers.GlobalAveragePooling2D()(h)
    b = layers.GlobalMaxPooling2D()(h)
    m = layers.Concatenate()([layers.Average()([a, b]), layers.Maximum()([a, b]),
                              layers.Minimum()([a, b]), layers.Subtract()([a, b])])
    out = layers.Dense(2, activation=half_relu, name="head")(m)
    return keras.Model(x, out, name="image")


def sequence_model():
    x = keras.Input((6, 3), name="seq")
    h = layers.Conv1D(4, 2, activation="relu")(x)
    h = layers.MaxPooling1D(1)(h)
    h = layers.AveragePooling1D(1)(h)
    a = layers.GlobalAveragePooling1D()(h)
    b = layers.GlobalMaxPooling1D()(h)
    r = layers.Masking(0.0)(x)
    r = layers.LSTM(4, return_sequences=True)(r)
    r = layers.Bidirectional(layers.GRU(3, return_sequences=True))(r)
    r = layers.SimpleRNN(3)(r)
    out = layers.Dense(2)(layers.Concatenate()([a, b, r]))
    return keras.Model(x, out, name="sequence")


def token_model():
    x = keras.Input((5,), dtype="int32", name="tokens")
    h = layers.Embedding(10, 4)(x)
    h = layers.LayerNormalization()(h)
    h = layers.EinsumDense("btd,de->bte", output_shape=(5, 3), bias_axes="e")(h)
    h = layers.Flatten()(h)
    h = layers.Reshape((5, 3))(h)
    h = layers.Flatten()(h)
    return keras.Model(x, layers.Dense(2, activation="softmax")(h), name="tokens")


def mixed_model():
    """Ops on symbolic tensors, a registered Lambda function, custom classes and configs
    holding sublayers, merge layers, Dropout and Activation."""
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    h = ops.relu(layers.Dense(4, name="d1")(a)) + 1.0
    h = 2.0 * h[:, :3] - ops.mean(h, axis=-1, keepdims=True)
    g = layers.Lambda(shift, arguments={"amount": 0.25})(b[:, 1:])
    g = Gate(name="gate")(g)
    w = Wrapper(layers.Dense(3, activation="tanh"), scale=0.5, name="wrapper")(g)
    s = Stack([layers.Dense(3, activation="relu"), layers.Dense(3)], name="stack")(w)
    z = layers.Add()([h, s])
    z = layers.Multiply()([z, layers.Dot(axes=-1)([h, s])])
    z = layers.Activation("tanh")(layers.Dropout(0.3)(z))
    out = ops.concatenate([layers.Dense(2, name="head")(z), ops.sum(z, axis=-1, keepdims=True)], axis=-1)
    return keras.Model([a, b], out, name="mixed")


def sequential_model():
    return keras.Sequential([keras.Input((4,)), layers.Dense(5, activation=soft_clip),
                             layers.Dense(3, activation=half_relu), layers.Dense(2)], name="seq_model")


def catalogue_model():
    """The reshaping, activation, regularization and preprocessing layers (random ones at
    rate 0, so a training step is deterministic)."""
    x = keras.Input((6, 8, 2), name="pic")
    h = layers.Normalization()(layers.Rescaling(0.5, offset=0.1)(x))
    h = layers.UpSampling2D((2, 1), interpolation="bilinear")(layers.Cropping2D(((1, 0), (0, 1)))(h))
    h = layers.CenterCrop(4, 4)(layers.Resizing(6, 6)(h))
    h = layers.PReLU(shared_axes=[1, 2])(layers.SpatialDropout2D(0.0)(h))
    h = layers.Cropping1D((2, 2))(layers.ZeroPadding1D(1)(layers.Reshape((16, 2))(h)))
    h = layers.Permute((2, 1))(layers.SpatialDropout1D(0.0)(layers.UpSampling1D(2)(h)))
    h = layers.Dense(4)(layers.Flatten()(h))
    h = layers.ELU()(layers.LeakyReLU()(layers.ReLU(max_value=3.0, negative_slope=0.1, threshold=0.1)(h)))
    h = layers.GaussianDropout(0.0)(layers.GaussianNoise(0.0)(h))
    h = layers.Identity()(layers.ActivityRegularization(l2=0.01)(h))
    h = layers.Softmax(axis=1)(layers.RepeatVector(2)(h))
    return keras.Model(x, layers.Dense(2)(layers.Flatten()(h)), name="catalogue")


def conv_family_model():
    """The transposed, depthwise and separable convolutions, 2-D and 1-D."""
    x = keras.Input((6, 6, 2), name="img")
    h = layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation="relu")(x)
    h = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)(h)
    h = layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="tanh")(h)
    s = layers.Conv1DTranspose(2, 2, strides=2, output_padding=1)(layers.Reshape((36, 3))(h))
    s = layers.SeparableConv1D(2, 3, strides=2)(layers.DepthwiseConv1D(3, depth_multiplier=2)(s))
    return keras.Model(x, layers.Dense(2)(layers.GlobalAveragePooling1D()(s)), name="conv_family")


def attention_rnn_model():
    """The generic RNN over built-in cells (stacked), TimeDistributed and the attention layers."""
    x = keras.Input((5, 3), name="seq")
    h = layers.TimeDistributed(layers.Dense(4, activation="tanh"))(x)
    h = layers.RNN([layers.LSTMCell(3), layers.GRUCell(3)], return_sequences=True)(h)
    m = layers.MultiHeadAttention(2, 2)(h, h)
    a = layers.Attention(use_scale=True)([h, m])
    a = layers.AdditiveAttention()([a, h])
    r = layers.RNN(layers.SimpleRNNCell(2))(a)
    return keras.Model(x, layers.Dense(2)(r), name="attention_rnn")


def volume_model():
    """The 3-D convolution, pooling and reshaping layers."""
    x = keras.Input((4, 6, 6, 2), name="vol")
    h = layers.MaxPooling3D(2)(layers.Conv3D(3, 2, padding="same", activation="relu")(x))
    h = layers.Cropping3D(1)(layers.ZeroPadding3D(1)(layers.UpSampling3D(2)(h)))
    h = layers.AveragePooling3D(2)(h)
    h = layers.Concatenate()([layers.GlobalAveragePooling3D()(h), layers.GlobalMaxPooling3D()(h)])
    return keras.Model(x, layers.Dense(2)(h), name="volume")


def conv_lstm_model():
    """The convolutional LSTMs: sequences of images, then of rows; and of volumes."""
    x = keras.Input((3, 4, 4, 2), name="frames")
    h = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True)(x)
    h = layers.Reshape((3, 4, 8))(h)
    h = layers.ConvLSTM1D(2, 2, go_backwards=True)(h)
    v = layers.ConvLSTM3D(2, 2, strides=2)(layers.Reshape((3, 4, 4, 2, 1))(x))
    h = layers.Concatenate()([layers.Flatten()(h), layers.Flatten()(v)])
    return keras.Model(x, layers.Dense(2)(h), name="conv_lstm")


def catalogue_more_model():
    """Group / unit / RMS normalization, the 3-D transposed convolution, SpatialDropout3D and
    AlphaDropout (at rate 0, so a training step is deterministic) and the adaptive poolings."""
    x = keras.Input((6, 6, 4), name="pic")
    h = layers.RMSNormalization()(layers.GroupNormalization(groups=2)(x))
    h = layers.UnitNormalization(axis=[1, 2])(layers.AlphaDropout(0.0)(h))
    a = layers.AdaptiveMaxPooling2D((2, 3))(layers.AdaptiveAveragePooling2D(4, data_format="channels_first")(h))
    v = layers.Conv3DTranspose(2, 2, strides=(1, 2, 1), padding="same")(layers.Reshape((3, 6, 4, 2))(h))
    v = layers.AdaptiveAveragePooling3D(2)(layers.SpatialDropout3D(0.0)(v))
    v = layers.AdaptiveMaxPooling3D((1, 2, 1))(v)
    s = layers.AdaptiveMaxPooling1D(3)(layers.AdaptiveAveragePooling1D(5)(layers.Reshape((36, 4))(h)))
    h = layers.Concatenate()([layers.Flatten()(a), layers.Flatten()(v), layers.Flatten()(s)])
    return keras.Model(x, layers.Dense(2)(h), name="catalogue_more")


def augmentation_model():
    """The image augmentation layers, at real factors: made with seed=None they draw from the
    global generator, which set_random_seed restarts, so a model and its reloaded clone augment
    a training step alike (and predict, where they are the identity / a centre crop)."""
    x = keras.Input((8, 8, 3), name="photo")
    h = layers.RandomTranslation(0.1, (-0.2, 0.1), fill_mode="wrap")(layers.RandomFlip()(x))
    h = layers.RandomZoom(0.2, interpolation="nearest")(layers.RandomRotation(0.1, fill_mode="constant")(h))
    h = layers.RandomShear(0.2, 0.1)(h)
    h = layers.RandomBrightness(0.1, value_range=(-4, 4))(layers.RandomContrast(0.3, value_range=(-4, 4))(h))
    h = layers.RandomInvert(0.2, value_range=(-4, 4))(layers.RandomGrayscale(0.3)(h))
    h = layers.RandomCrop(6, 6)(layers.RandomSharpness(0.4, value_range=(-4, 4))(h))
    h = layers.Conv2D(3, 3, activation="relu")(h)
    return keras.Model(x, layers.Dense(2)(layers.Flatten()(h)), name="augmentation")


def encoding_spectral_model():
    """SpectralNormalization over Conv2D and Dense (trained: u and the kernels move each step),
    Discretization (given and adapted boundaries) and CategoryEncoding."""
    x = keras.Input((4, 4, 2), name="grid")
    c = layers.SpectralNormalization(layers.Conv2D(3, 2, activation="relu"))(x)
    flat = layers.Flatten()(x)
    counts = layers.CategoryEncoding(4, "count")(layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5])(flat))
    adapted = layers.Discretization(num_bins=3, output_mode="multi_hot")
    adapted.adapt(np.random.default_rng(5).normal(size=(20, 32)))
    d = layers.SpectralNormalization(layers.Dense(3, activation="tanh"), power_iterations=2)(flat)
    h = layers.Concatenate()([layers.Flatten()(c), counts, adapted(flat), d])
    return keras.Model(x, layers.Dense(2)(h), name="encoding_spectral")


MODELS = {"image": (image_model, lambda r, n: r.normal(size=(n, 6, 6, 2))),
          "sequence": (sequence_model, lambda r, n: r.normal(size=(n, 6, 3))),
          "tokens": (token_model, lambda r, n: r.integers(0, 10, size=(n, 5))),
          "mixed": (mixed_model, lambda r, n: [r.normal(size=(n, 4)), r.normal(size=(n, 4))]),
          "sequential": (sequential_model, lambda r, n: r.normal(size=(n, 4))),
          "catalogue": (catalogue_model, lambda r, n: r.normal(size=(n, 6, 8, 2))),
          "conv_family": (conv_family_model, lambda r, n: r.normal(size=(n, 6, 6, 2))),
          "attention_rnn": (attention_rnn_model, lambda r, n: r.normal(size=(n, 5, 3))),
          "volume": (volume_model, lambda r, n: r.normal(size=(n, 4, 6, 6, 2))),
          "conv_lstm": (conv_lstm_model, lambda r, n: r.normal(size=(n, 3, 4, 4, 2))),
          "catalogue_more": (catalogue_more_model, lambda r, n: r.normal(size=(n, 6, 6, 4))),
          "encoding_spectral": (encoding_spectral_model, lambda r, n: r.normal(size=(n, 4, 4, 2))),
          "augmentation": (augmentation_model, lambda r, n: r.normal(size=(n, 8, 8, 3)))}
OPTIMIZERS = {
    "image": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "sequence": lambda: keras.optimizers.RMSprop(keras.optimizers.schedules.CosineDecay(
        0.01, 20, warmup_target=0.02, warmup_steps=2), momentum=0.5, centered=True),
    "tokens": lambda: keras.optimizers.SGD(keras.optimizers.schedules.InverseTimeDecay(0.1, 2, 0.5),
                                           momentum=0.9, nesterov=True),
    "mixed": lambda: keras.optimizers.AdamW(keras.optimizers.schedules.PiecewiseConstantDecay(
        [1, 3], [0.02, 0.01, 0.005]), amsgrad=True),
    "sequential": lambda: keras.optimizers.Adagrad(keras.optimizers.schedules.ExponentialDecay(
        0.05, 2, 0.9, staircase=True)),
    "catalogue": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "conv_family": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "attention_rnn": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "volume": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "conv_lstm": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "catalogue_more": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "encoding_spectral": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
    "augmentation": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)),
}


def data(name, n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = MODELS[name][1](rng, n)
    x = [v.astype("float32") for v in x] if isinstance(x, list) else \
        x.astype("int32" if name == "tokens" else "float32")
    y = rng.normal(size=(n, 3 if name == "mixed" else 2)).astype("float32")
    return x, y


def trained(name):
    keras.set_random_seed(1)
    model = MODELS[name][0]()
    model.compile(optimizer=OPTIMIZERS[name](), loss="mse", metrics=["mae"])
    x, y = data(name)
    for step in range(2):
        keras.set_random_seed(10 + step)
        model.train_on_batch(x, y)
    return model


def reload(model, name, fmt, tmp_path):
    if fmt == "json":
        clone = keras.models.model_from_json(model.to_json(), custom_objects=CUSTOM)
        clone.set_weights(model.get_weights())
        return clone
    path = tmp_path / f"m{fmt}"
    if fmt == ".weights.h5":
        model.save_weights(path)
        keras.set_random_seed(99)
        clone = MODELS[name][0]()
        clone.compile(optimizer=OPTIMIZERS[name](), loss="mse", metrics=["mae"])
        clone.load_weights(path)
        return clone
    model.save(path)
    return keras.models.load_model(path, custom_objects=CUSTOM)


def optimizer_state(opt):
    return [opt.iterations] + [np.asarray(v) for v in opt.variables]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip(name, fmt, tmp_path):
    model = trained(name)
    clone = reload(model, name, fmt, tmp_path)
    x, y = data(name, seed=3)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    if fmt != ".weights.h5":               # a model rebuilt in code has its own auto names
        assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    if fmt == "json":
        return
    opt, copy = model.optimizer, clone.optimizer
    assert type(copy) is type(opt)
    assert type(copy._learning_rate) is type(opt._learning_rate)           # the schedule, not a float
    assert copy._learning_rate.get_config() == opt._learning_rate.get_config()
    for a, b in zip(optimizer_state(opt), optimizer_state(copy), strict=True):
        np.testing.assert_array_equal(a, b)
    # the next training step (same dropout seed) gives the same weights
    for m in (model, clone):
        keras.set_random_seed(42)
        m.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_matrix_holds_every_public_layer():
    used = set()
    for build, _ in MODELS.values():
        model = build()
        todo = list(model.layers)
        while todo:
            layer = todo.pop()
            used.add(type(layer))
            todo.extend(v for v in vars(layer).values() if isinstance(v, layers.Layer))
            todo.extend(v for value in vars(layer).values() if isinstance(value, list)
                        for v in value if isinstance(v, layers.Layer))
    public = {getattr(layers, n) for n in layers.__all__
              if inspect.isclass(getattr(layers, n)) and issubclass(getattr(layers, n), layers.Layer)}
    missing = sorted(c.__name__ for c in public - used - {layers.Layer})
    assert missing == []


# -- every optimizer, loss and metric in the compile settings ---------------------------------

SCHEDULES = [lambda: keras.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5, staircase=True),
             lambda: keras.optimizers.schedules.InverseTimeDecay(0.05, 2, 0.3),
             lambda: keras.optimizers.schedules.PiecewiseConstantDecay([2], [0.05, 0.01]),
             lambda: keras.optimizers.schedules.CosineDecay(0.05, 10, alpha=0.1)]


def every_optimizer():
    out = {}
    for i, name in enumerate(n for n in keras.optimizers.__all__
                             if inspect.isclass(getattr(keras.optimizers, n))
                             and issubclass(getattr(keras.optimizers, n), keras.optimizers.Optimizer)
                             and n != "Optimizer"):
        out[name] = (getattr(keras.optimizers, name), SCHEDULES[i % len(SCHEDULES)])
    return out


@pytest.mark.parametrize("fmt", [".keras", ".h5", ".weights.h5"])
@pytest.mark.parametrize("opt", sorted(every_optimizer()))
def test_every_optimizer_with_a_schedule(opt, fmt, tmp_path):
    cls, schedule = every_optimizer()[opt]

    def build():
        keras.set_random_seed(0)
        m = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(2)])
        m.compile(optimizer=cls(schedule()), loss="mse")
        return m
    model = build()
    x, y = data("sequential")
    for _ in range(3):
        model.train_on_batch(x, y)
    path = tmp_path / f"m{fmt}"
    if fmt == ".weights.h5":
        model.save_weights(path)
        clone = build()
        clone.load_weights(path)
    else:
        model.save(path)
        clone = keras.models.load_model(path)
    assert isinstance(clone.optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule)
    assert clone.optimizer.learning_rate == model.optimizer.learning_rate
    for a, b in zip(optimizer_state(model.optimizer), optimizer_state(clone.optimizer), strict=True):
        np.testing.assert_array_equal(a, b)
    model.train_on_batch(x, y)
    clone.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), clone.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# losses of integer class ids (batch,) against (batch, classes) outputs
_CLASS_ID_LOSSES = ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                    "CategoricalGeneralizedCrossEntropy", "Circle")


def _targets(loss, n, rng):
    if loss in _CLASS_ID_LOSSES:
        return rng.integers(0, 3, size=(n,)).astype("int32")
    if "crossentropy" in loss.lower():
        return np.eye(3, dtype="float32")[rng.integers(0, 3, size=n)]
    return rng.normal(size=(n, 3)).astype("float32")


def every_loss():
    # CTC takes sequence labels against (batch, time, classes) logits, which the model below does
    # not give: tests/test_losses_catalogue.py saves and loads it
    names = sorted(n for n in keras.losses.__all__ if inspect.isclass(getattr(keras.losses, n))
                   and issubclass(getattr(keras.losses, n), keras.losses.Loss) and n not in ("Loss", "CTC"))
    return names + ["mse", "sparse_categorical_crossentropy"]


# constructor arguments the metrics without defaults need
_METRIC_ARGS = {"IoU": dict(num_classes=3, target_class_ids=[0, 2]), "MeanIoU": dict(num_classes=3),
                "OneHotIoU": dict(num_classes=3, target_class_ids=[1]), "OneHotMeanIoU": dict(num_classes=3),
                "PrecisionAtRecall": dict(recall=0.5), "RecallAtPrecision": dict(precision=0.5),
                "SensitivityAtSpecificity": dict(specificity=0.5),
                "SpecificityAtSensitivity": dict(sensitivity=0.5)}


def every_metric():
    """Every metric class that compares targets and predictions (``Mean`` and ``Sum`` reduce
    values, ``MeanMetricWrapper`` needs a function: the functions below are wrapped)."""
    return [getattr(keras.metrics, n)(**_METRIC_ARGS.get(n, {})) for n in sorted(keras.metrics.__all__)
            if inspect.isclass(getattr(keras.metrics, n))
            and issubclass(getattr(keras.metrics, n), keras.metrics.Metric)
            and n not in ("Metric", "Mean", "Sum", "MeanMetricWrapper")]


@keras.saving.register_keras_serializable(package="matrix")
def doubled_mse(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1) * 2.0


def passed_mae(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@pytest.mark.parametrize("fmt", [".keras", ".h5"])
@pytest.mark.parametrize("loss", every_loss() + ["doubled_mse", "passed_mae"])
def test_every_loss_and_metric(loss, fmt, tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 4)).astype("float32")
    fn = {"doubled_mse": doubled_mse, "passed_mae": passed_mae}.get(loss)
    spec = fn or (getattr(keras.losses, loss)() if loss[0].isupper() else loss)
    y = _targets(loss, 8, rng)
    probabilities = "crossentropy" in loss.lower()
    keras.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax" if probabilities
                                                                else None)])
    sparse = loss in _CLASS_ID_LOSSES
    metrics = [m for m in every_metric() if sparse == (type(m).__name__.startswith("Sparse"))]
    metrics += ["accuracy"] if sparse else [doubled_mse, passed_mae]
    model.compile(optimizer="adam", loss=spec, metrics=metrics)
    model.train_on_batch(x, y)
    path = tmp_path / f"m{fmt}"
    model.save(path)
    clone = keras.models.load_model(path, custom_objects={"passed_mae": passed_mae})
    a = model.evaluate(x, y, verbose=0, return_dict=True)
    b = clone.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, err_msg=k)


def test_keras_made_functional_model_with_ops_loads(tmp_path):
    """Ops on symbolic tensors in a model saved by Keras 3 (tests/fixtures/ops.keras, from
    make_lambda_fixtures.py) become kerasette op layers, and save and load again."""
    import os
    fixtures = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
    d = np.load(os.path.join(fixtures, "ops.npz"))
    model = keras.models.load_model(os.path.join(fixtures, "ops.keras"))
    np.testing.assert_allclose(model.predict(d["x"], verbose=0), d["y"], rtol=1e-5, atol=1e-5)
    # as in Keras 3, the ops are in model.operations and not in model.layers
    assert {"get_item", "multiply_1"} <= {op.name for op in model.operations}
    assert not {"get_item", "multiply_1"} & {layer.name for layer in model.layers}
    model.save(tmp_path / "again.keras")
    again = keras.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(d["x"], verbose=0), d["y"], rtol=1e-5, atol=1e-5)
