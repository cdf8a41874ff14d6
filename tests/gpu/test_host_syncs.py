"""Device-to-host reads in a training step on the CuPy stand-in.

Each read (``.get()``, ``float()``, ``int()``, ``bool()`` of a device array) makes the host wait
for the GPU to finish everything queued: a step with one per weight runs at the speed of the
round trips. The budget here: none in an MLP step (clipping included), one per Embedding call
(its ids are checked: one boolean read back), none in predict of an MLP."""
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


def test_an_embedding_call_reads_one_boolean(reads):
    rng = np.random.default_rng(0)
    ids, y = rng.integers(0, 50, (32, 12)), rng.integers(0, 3, 32)
    with standin.on_device():
        model = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(50, 8),
                                  keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        assert _step(model, ids, y, reads) == ["__bool__"]
        with pytest.raises(ValueError, match=r"Embedding 'embedding': ids must be in \[0, 50\).*\[0, 50\]"):
            model(standin.asarray(np.array([[0, 50] * 6])))


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
