"""Data given to fit / evaluate / predict as batches: PyDataset (threads, processes, bounded
queue, clean shutdown), generators and iterators, DataLoader-like iterables, Sequence-like
objects; (x,), (x, y), (x, y, sample_weight) batches; validation_data of each kind."""
import threading
import warnings

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers


def data(n=48, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    return x, (x @ np.arange(1, d + 1, dtype="float32"))[:, None]


def make_model(seed=0):
    keras.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.02), loss="mse", metrics=["mae"])
    return model


def weights(model):
    return [backend.to_numpy(w.value).copy() for w in model.weights]


class Batches(keras.utils.PyDataset):
    """Batches of arrays; records which thread read each index and the epoch hooks."""

    def __init__(self, x, y=None, sw=None, batch_size=8, fail_at=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.sw, self.batch_size, self.fail_at = x, y, sw, batch_size, fail_at
        self.reads, self.threads, self.begins, self.ends = [], set(), 0, 0
        self._lock = threading.Lock()

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise RuntimeError(f"bad batch {i}")
        with self._lock:
            self.reads.append(i)
            self.threads.add(threading.current_thread().name)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        if self.y is None:
            return (self.x[s],)
        if self.sw is None:
            return self.x[s], self.y[s]
        return self.x[s], self.y[s], self.sw[s]

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


def data_threads():
    return [t for t in threading.enumerate() if t.name.startswith(("kerasette-data", "kerasette-prefetch"))]


def prefetch_depth():
    """Batches ``fit`` prepares ahead on the test's device (2 on the stand-in, 0 on the CPU)."""
    from kerasette import backend
    from kerasette.models.prefetch import default_depth
    return default_depth(backend.xp())


@pytest.mark.parametrize("kwargs", [{}, {"workers": 3, "max_queue_size": 2}])
def test_pydataset_trains_exactly_as_arrays(kwargs):
    x, y = data()
    ref = make_model()
    ref.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model = make_model()
    ds = Batches(x, y, **kwargs)
    h = model.fit(ds, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(weights(ref), weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert ds.begins == ds.ends == 2 and len(h.history["loss"]) == 2
    if kwargs:
        assert ds.threads and all(t.startswith("kerasette-data") for t in ds.threads)
    else:                               # read in line, or by the one prefetch thread on a device
        assert ds.threads == {"kerasette-prefetch" if prefetch_depth() else threading.current_thread().name}
    assert not data_threads()
    np.testing.assert_allclose(model.predict(ds, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert model.evaluate(ds, verbose=0) == pytest.approx(model.evaluate(x, y, batch_size=8, verbose=0))


def test_pydataset_workers_read_ahead_in_a_bounded_queue():
    x, y = data(n=160)
    ds = Batches(x, y, batch_size=8, workers=2, max_queue_size=3)
    ahead = []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_begin(self, step, logs=None):
            with ds._lock:
                ahead.append(len(ds.reads) - step)

    make_model().fit(ds, epochs=1, shuffle=False, verbose=0, callbacks=[Watch()])
    # at most max_queue_size requested beyond the current step (and the prefetched ones on a device)
    assert max(ahead) <= 3 + 1 + prefetch_depth()
    assert max(ahead) >= 2              # and the workers did read ahead
    assert sorted(ds.reads) == list(range(20))
    assert not data_threads()


def test_pydataset_processes():
    before = set(threading.enumerate())
    x, y = data()
    ref = make_model()
    ref.fit(Batches(x, y), epochs=1, shuffle=False, verbose=0)
    model = make_model()
    model.fit(Batches(x, y, workers=2, use_multiprocessing=True), epochs=1, shuffle=False, verbose=0)
    for a, b in zip(weights(ref), weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert model.predict(Batches(x, workers=2, use_multiprocessing=True), verbose=0).shape == (48, 1)
    assert set(threading.enumerate()) <= before          # the pools' manager threads are gone too


def test_pydataset_shuffle_reorders_batches_each_epoch():
    x, y = data()
    ds = Batches(x, y)
    make_model().fit(ds, epochs=2, verbose=0)                        # shuffle=True by default
    first, second = ds.reads[:6], ds.reads[6:]
    assert sorted(first) == sorted(second) == list(range(6))
    assert first != list(range(6)) or second != list(range(6))


def test_worker_pool_is_shut_down_on_errors_and_interrupts():
    x, y = data(n=160)
    model = make_model()
    with pytest.raises(RuntimeError, match="bad batch 5"):
        model.fit(Batches(x, y, workers=3, fail_at=5), epochs=1, shuffle=False, verbose=0)
    assert not data_threads()

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            if step == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(Batches(x, y, workers=3), epochs=1, verbose=0, callbacks=[Interrupt()])
    assert not data_threads()

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, step, logs=None):
            self.model.stop_training = True

    model.fit(Batches(x, y, workers=3), epochs=3, verbose=0, callbacks=[Stop()])
    assert not data_threads()


def test_steps_per_epoch_limits_a_pydataset_and_restarts_it_each_epoch():
    x, y = data()
    ds = Batches(x, y)
    h = make_model().fit(ds, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0)
    assert ds.reads == [0, 1, 0, 1] and len(h.history["loss"]) == 2


def test_generator_with_steps_per_epoch_reads_exactly_the_batches_it_trains_on():
    x, y = data()
    read = []

    def endless():
        i = 0
        while True:
            read.append(i % 6)
            yield x[(i % 6) * 8:(i % 6 + 1) * 8], y[(i % 6) * 8:(i % 6 + 1) * 8]
            i += 1

    ref = make_model()
    ref.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model = make_model()
    h = model.fit(endless(), steps_per_epoch=6, epochs=2, verbose=0)
    assert len(read) == 12 and len(h.history["loss"]) == 2
    for a, b in zip(weights(ref), weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_finite_generator_without_steps_runs_until_exhausted_then_stops_with_a_warning():
    x, y = data()
    gen = ((x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8))
    with pytest.warns(UserWarning, match="ran out of data"):
        h = make_model().fit(gen, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1
    gen = ((x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8))
    with pytest.warns(UserWarning, match="ran out of data"):        # 6 batches, 4 per epoch wanted
        h = make_model().fit(gen, epochs=3, steps_per_epoch=4, verbose=0)
    assert len(h.history["loss"]) == 2


def test_empty_generator_and_bad_batches_are_clear_errors():
    model = make_model()
    with pytest.raises(ValueError, match="no batch"):
        model.fit((b for b in []), verbose=0)
    x, y = data()
    with pytest.raises(ValueError, match="tuple"):
        model.fit(iter([(x, y, None, y)]), verbose=0)


def test_iterators_sequences_and_batch_kinds():
    x, y = data()
    model = make_model()
    # a plain iterator of (x, y)
    model.fit(iter([(x[:24], y[:24]), (x[24:], y[24:])]), verbose=0)

    class Seq:                                                       # a Keras 2 style Sequence
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return [x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]]  # a list is read as a tuple

    h = model.fit(Seq(), epochs=2, verbose=0, validation_data=Seq())
    assert sorted(h.history) == ["loss", "mae", "val_loss", "val_mae"]
    # (x,) batches for predict, bare arrays too
    np.testing.assert_allclose(model.predict(iter([(x[:10],), (x[10:],)]), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(iter([x[:10], x[10:]]), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_sample_weight_and_class_weight_in_batches():
    x, y = data()
    sw = np.where(np.arange(48) < 24, 1.0, 0.0).astype("float32")
    model = make_model()
    want = model.evaluate(x, y, sample_weight=sw, batch_size=8, verbose=0)
    got = model.evaluate(Batches(x, y, sw), verbose=0)
    assert got == pytest.approx(want, rel=1e-6)
    # class_weight turns into per-batch sample weights
    labels = (x[:, 0] > 0).astype("int64")
    clf = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    clf.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    keras.set_random_seed(1)
    start = weights(clf)
    clf.fit(x, labels, batch_size=8, shuffle=False, class_weight={0: 0.0, 1: 2.0}, verbose=0)
    ref = weights(clf)
    for w, v in zip(clf.weights, start):
        w.value = backend.to_device(v)
    clf.fit(Batches(x, labels), shuffle=False, class_weight={0: 0.0, 1: 2.0}, verbose=0)
    for a, b in zip(ref, weights(clf)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_arguments_that_do_not_go_with_batches_are_refused():
    x, y = data()
    model = make_model()
    with pytest.raises(ValueError, match="`y` cannot be passed"):
        model.fit(Batches(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(Batches(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        model.evaluate(Batches(x, y), sample_weight=np.ones(48), verbose=0)

    class NoSuper(keras.utils.PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, i):
            return x, y

    with pytest.raises(ValueError, match="super"):
        model.fit(NoSuper(), verbose=0)


def test_validation_data_of_each_kind_with_validation_steps():
    x, y = data()
    model = make_model()
    read = []

    def val_gen():
        while True:
            read.append(1)
            yield x[:8], y[:8]

    h = model.fit(Batches(x, y), epochs=2, validation_data=val_gen(), validation_steps=2, verbose=0)
    assert len(read) == 4 and len(h.history["val_loss"]) == 2
    h = model.fit(x, y, epochs=1, validation_data=Batches(x, y, workers=2), verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(x, y, batch_size=8, verbose=0)[0], rel=1e-6)
    assert not data_threads()


def test_evaluate_and_predict_steps_with_a_generator():
    x, y = data()
    model = make_model()
    gen = ((x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8))
    first = model.evaluate(gen, steps=2, verbose=0, return_dict=True)
    assert first["loss"] == pytest.approx(model.evaluate(x[:16], y[:16], verbose=0)[0], rel=1e-6)
    rest = model.evaluate(gen, verbose=0, return_dict=True)          # the generator goes on
    assert rest["loss"] == pytest.approx(model.evaluate(x[16:], y[16:], batch_size=8, verbose=0)[0], rel=1e-6)
    assert model.predict(((x[i:i + 8],) for i in range(0, 48, 8)), steps=3, verbose=0).shape == (24, 1)


def test_multi_input_dict_batches_from_a_generator():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    out = layers.Dense(1)(layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, out)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    xa, xb, y = rng.random((16, 2)), rng.random((16, 3)), rng.random((16, 1))

    def gen():
        for i in range(0, 16, 4):
            yield {"a": xa[i:i + 4], "b": xb[i:i + 4]}, y[i:i + 4]

    model.fit(gen(), verbose=0)
    np.testing.assert_allclose(model.predict(((inp,) for inp, _ in gen()), verbose=0),
                               model.predict({"a": xa, "b": xb}, verbose=0), rtol=1e-6)


def test_progress_bar_with_unknown_steps(capsys):
    x, y = data()
    make_model().fit(((x[i:i + 8], y[i:i + 8]) for i in range(0, 48, 8)), epochs=1, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().out


def test_torch_dataloader_without_kerasette_importing_torch():
    import pathlib
    src = pathlib.Path(keras.__file__).parent
    for f in ("models/data_adapters.py", "models/model.py", "utils/py_dataset.py", "utils/sequences.py"):
        assert "import torch" not in (src / f).read_text()
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset
    x, y = data()
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=8)
    ref = make_model()
    ref.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model = make_model()
    h = model.fit(loader, epochs=2, verbose=0, validation_data=loader)
    assert len(h.history["val_loss"]) == 2
    for a, b in zip(weights(ref), weights(model)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(loader, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert model.evaluate(loader, verbose=0)[0] == pytest.approx(model.evaluate(x, y, batch_size=8, verbose=0)[0],
                                                                 rel=1e-6)
    # tensors that require grad are read too
    w = torch.ones(48, 4, requires_grad=True)
    assert model.predict(DataLoader(TensorDataset(w), batch_size=16), verbose=0).shape == (48, 1)


def test_no_thread_left_behind_after_everything():
    before = set(threading.enumerate())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = data()
        make_model().fit(Batches(x, y, workers=4), epochs=2, verbose=0,
                         validation_data=Batches(x, y, workers=2))
        make_model().fit(Batches(x, y, workers=2, use_multiprocessing=True), epochs=1, verbose=0)
    assert not data_threads() and set(threading.enumerate()) <= before
