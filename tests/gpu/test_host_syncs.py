"""Device-to-host reads in a training step on the CuPy stand-in.

Each read (``.get()``, ``float()``, ``int()``, ``bool()`` of a device array) makes the host wait
for the GPU to finish everything queued: a step with one per weight runs at the speed of the
round trips. The budget here: none in an MLP step (clipping included), none in predict of an
MLP; an Embedding call reads one boolean back (its ids are checked) except in ``fit`` /
``evaluate`` / ``predict`` when its ids come straight from the data, checked on the host."""
import numpy as np
import pytest

import kerasette as keras
from kerasette.testing import standin


@pytest.fixture
def reads(monkeypatch):
    """A list that records every device-to-host read of a stand-in array."""
    seen = []
    for name in ("get", "__float__", "__int__", "__bool__"):
        orig = getattr(standin.StandinArray, name)
        monkeypatch.setattr(standin.StandinArray, name,
                            lambda self, *a, _o=orig, _n=name, **k: (seen.append(_n), _o(self, *a, **k))[1])
    return seen


def _step(model, x, y, reads):
    """Reads during one ``train_step`` (after a warm-up step that builds slots)."""
    data = (standin.asarray(x), standin.asarray(y))
    model.train_step(data)
    reads.clear()
    model.train_step(data)
    return list(reads)


@pytest.mark.parametrize("clip", [{}, {"clipnorm": 1.0}, {"global_clipnorm": 1.0}, {"clipvalue": 0.5}])
def test_an_mlp_step_reads_nothing_back(reads, clip):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 10)).astype("float32"), rng.integers(0, 3, 32)
    with standin.on_device():
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(**clip), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        assert _step(model, x, y, reads) == []
        reads.clear()
        out = model(standin.asarray(x))                      # inference stays on the device
        assert reads == [] and type(out.value) is standin.StandinArray


def test_an_embedding_call_outside_fit_reads_one_boolean(reads):
    rng = np.random.default_rng(0)
    ids, y = rng.integers(0, 50, (32, 12)), rng.integers(0, 3, 32)
    with standin.on_device():
        model = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(50, 8),
                                  keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        assert _step(model, ids, y, reads) == ["__bool__"]
        with pytest.raises(ValueError, match=r"Embedding 'embedding': ids must be in \[0, 50\).*\[0, 50\]"):
            model(standin.asarray(np.array([[0, 50] * 6])))


def _embedding_model(functional=False):
    if not functional:
        return keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(50, 8),
                                 keras.layers.GlobalAveragePooling1D(),
                                 keras.layers.Dense(3, activation="softmax")])
    dense_in = keras.Input((4,), name="dense_in")
    ids_in = keras.Input((12,), dtype="int32", name="ids_in")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 8)(ids_in))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([pooled, dense_in]))
    return keras.Model([dense_in, ids_in], out)


class _StepReads(keras.callbacks.Callback):
    """The device reads made inside each step (between a batch's begin and end hooks)."""

    def __init__(self, reads):
        super().__init__()
        self.reads, self.per_step, self.mark = reads, [], 0

    def _begin(self, step, logs=None):
        self.mark = len(self.reads)

    def _end(self, step, logs=None):
        self.per_step.append(self.reads[self.mark:])

    on_train_batch_begin = on_test_batch_begin = on_predict_batch_begin = _begin
    on_train_batch_end = on_test_batch_end = on_predict_batch_end = _end


@pytest.mark.parametrize("functional", [False, True])
def test_embedding_ids_from_the_data_are_checked_on_the_host_not_per_step(reads, functional):
    rng = np.random.default_rng(0)
    ids, dense, y = rng.integers(0, 50, (64, 12)), rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)
    x = [dense, ids] if functional else ids
    with standin.on_device():
        model = _embedding_model(functional)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        watch = _StepReads(reads)
        model.fit(x, y, batch_size=16, epochs=1, validation_split=0.25, verbose=0, callbacks=[watch])
        model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[watch])
        model.predict(x, batch_size=16, verbose=0, callbacks=[watch])
        assert len(watch.per_step) == 3 + 1 + 4 + 4 and all(r == [] for r in watch.per_step[:-4])
        assert all(r == ["get"] for r in watch.per_step[-4:])     # predict: the outputs come back
        model.train_step((tuple(standin.asarray(a) for a in x) if functional else standin.asarray(x),
                          standin.asarray(y)))
        reads.clear()                                   # outside fit: the layer checks, one boolean
        model.train_step((tuple(standin.asarray(a) for a in x) if functional else standin.asarray(x),
                          standin.asarray(y)))
        assert reads == ["__bool__"]


@pytest.mark.parametrize("functional", [False, True])
def test_ids_out_of_range_in_the_data_fail_before_training(functional):
    rng = np.random.default_rng(0)
    ids, dense, y = rng.integers(0, 50, (64, 12)), rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)
    ids[40, 3] = 50
    x = [dense, ids] if functional else ids
    with standin.on_device():
        model = _embedding_model(functional)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        before = model.get_weights()
        for run, where in ((lambda: model.fit(x, y, batch_size=16, verbose=0), "fit"),
                           (lambda: model.evaluate(x, y, verbose=0), "evaluate"),
                           (lambda: model.predict(x, verbose=0), "predict")):
            with pytest.raises(ValueError, match=rf"^{where}: x: Embedding '\w+': ids must be in \[0, 50\) "
                                                 rf"\(input_dim=50\), got values in \[0, 50\] \(input shape \(64, 12\)\)"):
                run()
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_bad_batch_from_a_generator_fails_at_its_step():
    rng = np.random.default_rng(0)
    ids, y = rng.integers(0, 50, (64, 12)), rng.integers(0, 3, 64)
    steps = []

    def batches():
        for i in range(4):
            b = ids[16 * i:16 * i + 16].copy()
            if i == 2:
                b[0, 0] = -1
            yield b, y[16 * i:16 * i + 16]

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            steps.append(step)

    with standin.on_device():
        model = _embedding_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        with pytest.raises(ValueError, match=r"^fit: x: Embedding 'embedding\w*': ids must be in \[0, 50\).*\[-1, "):
            model.fit(batches(), steps_per_epoch=4, verbose=0, callbacks=[Steps()])
    assert steps == [0, 1]


def test_embeddings_that_may_see_other_ids_keep_their_own_check():
    from kerasette.models.checked_ids import embedding_inputs
    ids_in = keras.Input((6,), dtype="int32")
    emb = keras.layers.Embedding(20, 4)
    shifted = keras.layers.Lambda(lambda t: t + 1)(ids_in)            # computed ids, same layer
    out = keras.layers.Add()([emb(ids_in), emb(shifted)])
    assert embedding_inputs(keras.Model(ids_in, out), "train_step") == []
    plain = keras.Model(ids_in, keras.layers.Embedding(20, 4)(ids_in))
    assert [i for i, _ in embedding_inputs(plain, "train_step")] == [0]

    class Custom(keras.Model):
        def train_step(self, data):
            return super().train_step(data)
    custom = Custom(ids_in, keras.layers.Embedding(20, 4)(ids_in))
    assert embedding_inputs(custom, "train_step") == [] and embedding_inputs(custom, "test_step") != []


def _uploads(monkeypatch):
    """A list recording the bytes of every host array moved to a device by ``backend.to_device``."""
    from kerasette import backend
    seen, real = [], backend.to_device

    def spy(a, *args, **kwargs):
        if isinstance(a, np.ndarray):
            seen.append(a.nbytes)
        return real(a, *args, **kwargs)
    monkeypatch.setattr(backend, "to_device", spy)
    return seen


def test_a_dataset_that_fits_goes_to_the_device_once(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (256, 28, 28), dtype=np.uint8), rng.integers(0, 10, 256)
    with standin.on_device():
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        sent = _uploads(monkeypatch)
        hist = model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=0)
    # once for the whole fit: training x (as uint8: the cast to float32 happens on the device) and
    # y, validation x and y; per step only the shuffled batch's indices (<= 256 bytes) cross
    assert sorted(sent) == sorted([192 * 784, 192 * 8, 64 * 784, 64 * 8] + [n for n in sent if n <= 256])
    assert len(hist.history["val_loss"]) == 3


def test_a_dataset_too_big_for_the_device_is_sent_batch_by_batch(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(128, 10)).astype("float32"), rng.integers(0, 3, 128)
    monkeypatch.setattr(type(standin.xp.cuda.runtime), "free_bytes", 1000)     # a full device
    with standin.on_device():
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        sent = _uploads(monkeypatch)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert len([n for n in sent if n >= 32 * 10 * 4]) == 2 * 4      # x of each step of each epoch
