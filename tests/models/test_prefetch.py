"""Batches prepared ahead by a worker thread (``models.prefetch``): the same training, number for
number, as batches made in line; copies through the worker's stream; errors, early ends and
generators handled in the training thread's terms."""
import threading
import time

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, config
from kerasette.models.prefetch import default_depth, prefetched
from kerasette.testing import standin


@pytest.fixture
def depth():
    """Set ``config.set_prefetch_batches`` for one test; the default comes back afterwards."""
    before = config.prefetch_batches()
    yield config.set_prefetch_batches
    config.set_prefetch_batches(before)


def _threads():
    return [t for t in threading.enumerate() if t.name == "kerasette-prefetch"]


def _model(seed=0):
    keras.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6, 6)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=90):
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, (n, 6, 6), dtype=np.uint8), rng.integers(0, 3, n)


def _run(x, y, **fit):
    model = _model()
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0, **fit)
    return model, hist.history


def test_the_default_depth_is_two_on_a_device_for_data_that_crosses_the_link(depth):
    depth(None)
    assert default_depth(np) == 0 and default_depth(None) == 0
    assert default_depth(standin.xp) == 2 and default_depth(standin.xp, on_device=True) == 0
    depth(3)
    assert default_depth(np) == 3 == keras.config.prefetch_batches()
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=r"set_prefetch_batches: n must be None or an int >= 0, got"):
            depth(bad)


@pytest.mark.parametrize("where", ["cpu", "standin"])
def test_prefetched_training_is_the_same_number_for_number(depth, monkeypatch, where):
    """Shuffling and dropout draw from one generator: the worker must draw nothing, or the
    draws interleave differently and the runs part."""
    x, y = _data()
    monkeypatch.setattr(type(standin.xp.cuda.runtime), "free_bytes", 1000)   # no room: sent per batch
    scope = standin.on_device() if where == "standin" else backend.device_scope("cpu")
    results = []
    for n in (0, 2):
        depth(n)
        with scope if n == 0 else (standin.on_device() if where == "standin" else backend.device_scope("cpu")):
            model, hist = _run(x, y, validation_split=0.2)
            pred = model.predict(x, batch_size=16, verbose=0)
            score = model.evaluate(x, y, batch_size=16, verbose=0)
        results.append((model.get_weights(), hist, pred, score))
    (w0, h0, p0, s0), (w2, h2, p2, s2) = results
    for a, b in zip(w0, w2):
        np.testing.assert_array_equal(a, b)
    assert h0 == h2 and s0 == s2
    np.testing.assert_array_equal(p0, p2)
    assert not _threads()


def test_on_a_device_each_batch_is_copied_on_the_workers_stream_and_waited_for(depth, monkeypatch):
    x, y = _data(64)
    monkeypatch.setattr(type(standin.xp.cuda.runtime), "free_bytes", 1000)
    streams, sent = [], []
    real_stream, real_set = standin.xp.cuda.Stream, standin.StandinArray.set

    def stream(*a, **k):
        streams.append(real_stream(*a, **k))
        return streams[-1]

    def spy_set(self, array, stream=None):
        sent.append((np.asarray(array).dtype, threading.current_thread().name, stream is not None))
        return real_set(self, array, stream)
    monkeypatch.setattr(standin.xp.cuda, "Stream", stream)
    monkeypatch.setattr(standin.StandinArray, "set", spy_set)
    depth(None)
    with standin.on_device():
        model = _model()
        model.fit(x, y, batch_size=16, epochs=1, shuffle=True, verbose=0)
    # one stream, a blocking one: its copies wait for the kernels queued before them (memory
    # of a freed batch may still be read by them when the pool hands it out again)
    assert len(streams) == 1 and not streams[0].non_blocking
    assert streams[0].syncs == 4 and streams[0].copies == 8              # x and y of 4 batches
    # x crosses as uint8 (cast to float32 on the device), every copy from the worker, on its stream
    assert sorted({str(d) for d, _, _ in sent}) == ["int64", "uint8"]
    assert {(t, s) for _, t, s in sent} == {("kerasette-prefetch", True)}


def test_the_worker_reads_ahead_while_the_step_runs(depth):
    x, y = _data(96)
    reads = []

    def batches():
        for i in range(0, 96, 16):
            reads.append(i // 16)
            yield x[i:i + 16], y[i:i + 16]

    class Check(keras.callbacks.Callback):
        ahead = []

        def on_train_batch_end(self, step, logs=None):
            deadline = time.monotonic() + 5          # the worker fetches batch step + 1 on its own
            while len(reads) < min(step + 2, 6) and time.monotonic() < deadline:
                time.sleep(0.001)
            self.ahead.append(len(reads) - step - 1)

    depth(2)
    model = _model()
    model.fit(batches(), steps_per_epoch=6, epochs=1, verbose=0, callbacks=[Check()])
    assert Check.ahead[:4] and min(Check.ahead[:4]) >= 1 and max(Check.ahead) <= 3
    assert reads == list(range(6)) and not _threads()


def test_an_error_in_a_batch_is_raised_in_the_training_thread_at_its_step(depth):
    x, y = _data(64)
    seen = []

    def batches():
        for i in range(3):
            yield x[16 * i:16 * i + 16], y[16 * i:16 * i + 16]
        raise RuntimeError("disk went away")

    class Steps(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            seen.append(step)

    depth(2)
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(RuntimeError, match="disk went away"):
        model.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0, callbacks=[Steps()])
    assert seen == [0, 1, 2] and not _threads()
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_generator_shared_across_epochs_loses_no_batch(depth):
    """``steps_per_epoch`` takes exactly that many batches per epoch: the worker reads no more."""
    x, y = _data(96)
    taken = []

    def batches():
        i = 0
        while True:
            taken.append(i)
            yield x[16 * (i % 6):16 * (i % 6) + 16], y[16 * (i % 6):16 * (i % 6) + 16]
            i += 1

    depth(2)
    model = _model()
    model.fit(batches(), steps_per_epoch=4, epochs=3, verbose=0)
    assert taken == list(range(12)) and not _threads()


def test_stopping_early_ends_the_pass_and_the_worker(depth):
    """The pass is closed where it ran (a PyDataset's ``on_epoch_end`` runs); a user's generator
    is left open, to go on in the next ``fit``."""
    x, y = _data(96)

    class Batches(keras.utils.PyDataset):
        ends = []

        def __len__(self):
            return 6

        def __getitem__(self, i):
            return x[16 * i:16 * i + 16], y[16 * i:16 * i + 16]

        def on_epoch_end(self):
            self.ends.append(threading.current_thread().name)

    def batches():
        for i in range(6):
            yield x[16 * i:16 * i + 16], y[16 * i:16 * i + 16]

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            if step == 1:
                self.model.stop_training = True

    depth(2)
    model = _model()
    hist = model.fit(Batches(), epochs=3, verbose=0, callbacks=[Stop()])
    assert len(hist.history["loss"]) == 1
    assert Batches.ends == ["kerasette-prefetch"] and not _threads()
    gen = batches()
    model.fit(gen, epochs=1, verbose=0, callbacks=[Stop()])
    assert not _threads()
    rest = list(gen)        # not closed; read ahead by at most depth + 1 (the one in preparation)
    assert 6 - 2 - 3 <= len(rest) <= 6 - 2


def test_prefetched_passes_through_at_depth_zero_and_closes_when_asked():
    def gen():
        yield from range(5)
    g = gen()
    assert prefetched(g, np, 0) is g
    it = prefetched(gen(), np, 2)
    assert next(it) == 0 and next(it) == 1
    it.close()
    assert not _threads()
    with pytest.raises(StopIteration):
        next(it)
    assert list(prefetched(gen(), np, 1)) == [0, 1, 2, 3, 4]
