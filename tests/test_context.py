"""The execution context is per thread: one thread's modes never leak into another's,
and training, predicting and evaluating at once on several threads give the results
of the same work done in sequence."""
import threading

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, context, layers, ops
from kerasette.autograd import Tensor, is_grad_enabled, no_grad
from kerasette.testing import standin

TIMEOUT = 120          # seconds; a deadlock fails the test instead of hanging CI


def in_thread(fn):
    """Run ``fn`` in a new thread and return its result (re-raising its error)."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:      # noqa: BLE001 - re-raised below
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join(TIMEOUT)
    assert not t.is_alive(), "thread did not finish"
    if "error" in box:
        raise box["error"]
    return box["value"]


def while_held(hold, probe):
    """Enter ``hold()`` (a context manager) in another thread and run ``probe()`` here meanwhile."""
    inside, done = threading.Event(), threading.Event()

    def holder():
        with hold():
            inside.set()
            done.wait(TIMEOUT)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert inside.wait(TIMEOUT)
        return probe()
    finally:
        done.set()
        t.join(TIMEOUT)


# ---- each mode, one thread at a time -------------------------------------------------------

def test_no_grad_in_another_thread_does_not_stop_recording_here():
    w = Tensor(np.ones(3), requires_grad=True)

    def probe():
        y = ops.sum(w * 2.0)
        return is_grad_enabled(), y.requires_grad

    assert while_held(no_grad, probe) == (True, True)
    with no_grad():
        assert in_thread(is_grad_enabled) is True        # a new thread starts from the default
        assert not is_grad_enabled()


def test_training_flag_and_call_depth_are_per_thread():
    seen = {}

    class Spy(layers.Layer):
        def call(self, x, training=None):
            seen[threading.get_ident()] = (training, context.current().depth)
            return x

    spy = Spy()
    outer = threading.Event()

    class Holder(layers.Layer):
        def call(self, x, training=None):
            outer.set()
            release.wait(TIMEOUT)
            return x

    release = threading.Event()
    t = threading.Thread(target=lambda: Holder()(np.ones((1, 2)), training=True))
    t.start()
    assert outer.wait(TIMEOUT)
    spy(np.ones((1, 2)))                                   # no training flag given here
    release.set()
    t.join(TIMEOUT)
    assert seen[threading.get_ident()] == (None, 1)        # not the other thread's True, depth 1


def test_device_scope_is_per_thread():
    mod = standin.xp
    backend.register_array_module(type(standin.asarray(np.zeros(1))), mod)

    def probe():
        return backend.device(), type(layers.Dense(2)(np.ones((1, 3))).value).__module__

    with backend.device_scope(mod):
        assert backend.device() is mod
        assert in_thread(probe) == ("cpu", "numpy")
    assert backend.device() == "cpu"
    with pytest.raises(ValueError, match="device_scope: expected 'cpu' or 'gpu', got 'gpux'"):
        with backend.device_scope("gpux"):
            pass


def test_custom_object_scope_is_per_thread():
    from kerasette.layers.serialization import custom_object_scope, get_registered_object

    class Mine(layers.Layer):
        pass

    with custom_object_scope({"Mine": Mine}):
        assert get_registered_object("Mine") is Mine
        assert in_thread(lambda: get_registered_object("Mine")) is None


def test_auto_names_from_many_threads_are_unique():
    names = []
    lock = threading.Lock()

    def make():
        for _ in range(50):
            n = layers.Dense(1).name
            with lock:
                names.append(n)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert len(names) == len(set(names)) == 200


# ---- whole loops on several threads at once ------------------------------------------------

def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > 0).astype("int64")
    return x, y


def _model(weights=None):
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.MaxPooling2D(), layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if weights is not None:
        model.set_weights(weights)
    return model


def _train(model, x, y):
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    return history.history["loss"], [w.copy() for w in model.get_weights()]


def test_train_predict_evaluate_at_once_match_sequential_work():
    x, y = _data()
    keras.set_random_seed(1)
    init = _model().get_weights()
    other_init = [w * 0.5 for w in init]

    # the same work, in sequence
    ref_loss, ref_weights = _train(_model(init), x, y)
    other = _model(other_init)
    ref_other_eval = other.evaluate(x, y, verbose=0)
    ref_other_pred = other.predict(x, verbose=0)

    # at once: one model trains while another thread predicts with it and a third evaluates
    # a separate model and then this one; a fourth trains a second model of its own
    trained, second = _model(init), _model(init)
    before_eval = trained.evaluate(x, y, verbose=0)
    other = _model(other_init)
    results, errors = {}, []
    start = threading.Barrier(4)

    def job(name, fn):
        def run():
            try:
                start.wait(TIMEOUT)
                results[name] = fn()
            except BaseException as e:      # noqa: BLE001 - reported below
                errors.append((name, e))
        return threading.Thread(target=run, name=name)

    def predict_many():
        return [trained.predict(x, verbose=0) for _ in range(6)]

    def evaluate_both():
        return other.evaluate(x, y, verbose=0), other.predict(x, verbose=0), trained.evaluate(x, y, verbose=0)

    threads = [job("train", lambda: _train(trained, x, y)), job("predict", predict_many),
               job("evaluate", evaluate_both), job("train2", lambda: _train(second, x, y))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    assert not errors, errors

    for name in ("train", "train2"):
        loss, weights = results[name]
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
        for w, r in zip(weights, ref_weights):
            np.testing.assert_allclose(w, r, rtol=1e-4, atol=1e-6)
    other_eval, other_pred, trained_eval = results["evaluate"]
    np.testing.assert_allclose(other_eval, ref_other_eval, rtol=1e-5)
    np.testing.assert_allclose(other_pred, ref_other_pred, rtol=1e-5, atol=1e-7)
    # the evaluate of the training model waits for its fit or runs before it: never in between
    after_eval = trained.evaluate(x, y, verbose=0)
    assert any(np.allclose(trained_eval, e, rtol=1e-5) for e in (before_eval, after_eval))
    for p in results["predict"]:
        assert p.shape == (len(x), 2) and np.all(np.isfinite(p))
    assert is_grad_enabled() and context.current().training is None and context.current().depth == 0


def test_add_loss_holders_are_per_thread():
    """The layers holding add_loss terms are tracked in the thread that added them (no
    process-wide set read at every call); the next outermost call in that thread clears them."""
    class Penalised(keras.layers.Layer):
        def call(self, x):
            self.add_loss(keras.ops.sum(x))
            return x

    layer = Penalised()
    model = keras.Sequential([keras.Input((2,)), layer])
    model(np.ones((1, 2), "float32"))
    assert layer in context.current().loss_holders and len(layer.losses) == 1
    seen = []
    t = threading.Thread(target=lambda: seen.append(len(context.current().loss_holders)))
    t.start()
    t.join()
    assert seen == [0]                               # another thread starts with none
    model(np.ones((1, 2), "float32"))
    assert len(layer.losses) == 1                    # cleared, then the new term
    layer._clear_added_losses()
    assert layer not in context.current().loss_holders
