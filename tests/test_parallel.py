"""kerasette.parallel: batch ranges, the thread runner, the region, and every
splitting op giving the same values and gradients split as unsplit."""
import threading

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers, ops, parallel
from kerasette.autograd import Tensor, backward, gradcheck, no_grad
from kerasette.ops import math as math_ops
from kerasette.ops import nn as nn_ops
from kerasette.ops import normalization as norm_ops
from kerasette.ops.conv import conv2d
from kerasette.ops.pool import max_pool2d
from kerasette.testing import standin


@pytest.fixture
def threads3(monkeypatch):
    """Three intra-op threads (uneven splits of most batches) for the test; Dense
    nodes split however small (the size threshold is a speed matter only)."""
    monkeypatch.setattr(nn_ops, "DENSE_SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(norm_ops, "NORM_SPLIT_MIN_SIZE", 0)
    monkeypatch.setattr(math_ops, "UNARY_SPLIT_MIN_SIZE", 0)
    before = parallel.num_threads()
    parallel.set_num_threads(3)
    yield
    parallel.set_num_threads(before)


# ---- ranges / run / region ----------------------------------------------------------------

def test_ranges_outside_region_is_one_part(threads3):
    assert parallel.ranges(10) == [(0, 10)]


def test_ranges_inside_region_cover_the_batch(threads3):
    with parallel.region():
        assert parallel.active()
        parts = parallel.ranges(10)
    assert len(parts) == 3
    assert parts[0][0] == 0 and parts[-1][1] == 10
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert not parallel.active()


def test_ranges_respect_min_rows_and_array_module(threads3):
    with parallel.region():
        assert parallel.ranges(100, min_rows=40) == [(0, 50), (50, 100)]
        assert parallel.ranges(2) == [(0, 1), (1, 2)]
        assert parallel.ranges(0) == [(0, 0)]
        assert parallel.ranges(10, xp=standin) == [(0, 10)]


def test_run_returns_results_in_order_on_several_threads(threads3):
    seen = set()

    def part(a, b):
        seen.add(threading.get_ident())
        return list(range(a, b))

    with parallel.region():
        out = parallel.run(part, parallel.ranges(9))
    assert sum(out, []) == list(range(9))
    assert len(seen) >= 2


def test_run_reraises_an_error_after_all_parts_finish(threads3):
    done = []

    def part(a, b):
        if a == 0:
            raise ValueError("boom in part 0")
        done.append(a)

    with parallel.region(), pytest.raises(ValueError, match="boom in part 0"):
        parallel.run(part, parallel.ranges(9))
    assert sorted(done) == [3, 6]


def test_nested_ranges_in_a_worker_are_not_split(threads3):
    with parallel.region():
        inner = parallel.run(lambda a, b: parallel.ranges(30), parallel.ranges(9))
    assert inner[0] == [(0, 10), (10, 20), (20, 30)]      # the calling thread may split
    assert inner[1] == inner[2] == [(0, 30)]                # worker threads never do


def _pool_threads():
    """Thread counts of every BLAS / OpenMP pool, read from the libraries by threadpoolctl."""
    import threadpoolctl
    return {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}


def test_region_sets_every_blas_to_one_thread_and_restores_it(threads3):
    before = _pool_threads()
    if not before:
        pytest.skip("no BLAS or OpenMP pool loaded in this process")
    with parallel.region():
        assert set(_pool_threads().values()) == {1}
        with parallel.region():                  # re-entrant
            assert set(_pool_threads().values()) == {1}
        assert parallel.active()
    assert _pool_threads() == before
    assert parallel.blas_threads() == before


def test_region_also_limits_a_blas_loaded_after_the_first_region(threads3):
    """SciPy bundles its own OpenBLAS: imported later, it is limited too (the old
    /proc/self/maps probe set only one library and let the other oversubscribe)."""
    with parallel.region():
        pass
    pytest.importorskip("scipy.linalg")
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
    before = _pool_threads()
    with parallel.region():
        assert set(_pool_threads().values()) == {1}, _pool_threads()
    assert _pool_threads() == before


def test_one_region_owner_at_a_time(threads3):
    """A second thread entering region() while the first owns it runs unsplit, without waiting."""
    inside, release, seen = threading.Event(), threading.Event(), {}

    def owner():
        with parallel.region():
            seen["owner_active"] = parallel.active()
            inside.set()
            release.wait(10)

    t = threading.Thread(target=owner)
    t.start()
    assert inside.wait(10)
    with parallel.region():
        seen["other_active"] = parallel.active()
        seen["other_ranges"] = parallel.ranges(12)
    release.set()
    t.join(10)
    assert seen == {"owner_active": True, "other_active": False, "other_ranges": [(0, 12)]}
    with parallel.region():                        # free again once the owner left
        assert parallel.active()


def test_busy_region_is_logged_once(threads3, caplog):
    inside, release = threading.Event(), threading.Event()

    def owner():
        with parallel.region():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=owner)
    t.start()
    inside.wait(10)
    parallel._logged.discard("busy")
    with caplog.at_level("INFO", logger="kerasette.parallel"):
        for _ in range(3):
            with parallel.region():
                pass
    release.set()
    t.join(10)
    lines = [r.getMessage() for r in caplog.records if r.name == "kerasette.parallel"]
    assert len(lines) == 1 and "owns the region" in lines[0] and "unsplit" in lines[0]


def test_region_with_one_thread_changes_nothing():
    before = parallel.num_threads()
    parallel.set_num_threads(1)
    try:
        with parallel.region():
            assert not parallel.active()
            assert parallel.ranges(10) == [(0, 10)]
    finally:
        parallel.set_num_threads(before)


def test_set_num_threads_errors(threads3):
    with pytest.raises(ValueError, match="positive thread count, got 0"):
        parallel.set_num_threads(0)
    with parallel.region(), pytest.raises(RuntimeError, match="inside region"):
        parallel.set_num_threads(2)


def test_bad_environment_thread_count(monkeypatch):
    monkeypatch.setenv("KERASETTE_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="KERASETTE_NUM_THREADS must be a positive integer, got 'two'"):
        parallel._default_threads()
    monkeypatch.setenv("KERASETTE_NUM_THREADS", "3")
    assert parallel._default_threads() == 3


def test_matmul_helpers_match_numpy(threads3):
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((300, 7)), rng.standard_normal((7, 5)), rng.standard_normal((300, 5))
    with parallel.region():
        np.testing.assert_allclose(parallel.matmul(a, b), a @ b, rtol=1e-12)
        np.testing.assert_allclose(parallel.matmul_tn(a, c), a.T @ c, rtol=1e-12)


# ---- every splitting op: split == unsplit, values and gradients ---------------------------

def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _values_and_grads(fn, arrays):
    """Outputs of ``fn`` and the gradients of ``sum(out * r)`` for every float input."""
    tensors = [Tensor(a, requires_grad=True) if a.dtype.kind == "f" else a for a in arrays]
    outs = fn(*tensors)
    outs = outs if isinstance(outs, tuple) else (outs,)
    loss = None
    for i, o in enumerate(outs):
        term = ops.sum(o * _rand(*o.shape, seed=100 + i))
        loss = term if loss is None else loss + term
    backward(loss)
    return [o.value for o in outs] + [t.grad for t in tensors if isinstance(t, Tensor)]


def _assert_split_matches(fn, arrays):
    unsplit = _values_and_grads(fn, arrays)
    with parallel.region():
        split = _values_and_grads(fn, arrays)
    for u, s in zip(unsplit, split):
        np.testing.assert_allclose(s, u, rtol=1e-10, atol=1e-12)


SPLIT_CASES = {
    "conv relu bias": (lambda x, k, b: conv2d(x, k, bias=b, activation="relu"),
                       [_rand(7, 6, 5, 3), _rand(3, 2, 3, 4, seed=1), _rand(4, seed=2)]),
    "conv first layer, strided same": (lambda x, k, b: conv2d(x, k, strides=2, padding="same", bias=b),
                                       [_rand(5, 9, 8, 1), _rand(3, 3, 1, 4, seed=1), _rand(4, seed=2)]),
    "conv tanh no bias, dilated": (lambda x, k: conv2d(x, k, dilation_rate=2, activation="tanh"),
                                   [_rand(4, 7, 7, 5), _rand(2, 2, 5, 3, seed=1)]),
    "max pool 2x2 odd": (lambda x: max_pool2d(x, 2), [_rand(5, 7, 9, 3)]),
    "relu": (lambda x: ops.relu(x), [_rand(7, 5, 3)]),
    "add, same shapes": (lambda a, b: ops.add(a, b), [_rand(7, 5, 3), _rand(7, 5, 3, seed=1)]),
    "max pool 2x2 ties": (lambda x: max_pool2d(x, 2), [np.round(_rand(5, 6, 6, 2))]),
    "dense relu": (lambda x, w, b: ops.dense(x, w, b, activation="relu"),
                   [_rand(100, 6), _rand(6, 4, seed=1), _rand(4, seed=2)]),
    "dense wide, split by columns": (lambda x, w, b: ops.dense(x, w, b, activation="tanh"),
                                     [_rand(20, 6), _rand(6, 300, seed=1), _rand(300, seed=2)]),
    "dense 3-D input": (lambda x, w, b: ops.dense(x, w, b, activation="sigmoid"),
                        [_rand(40, 3, 6), _rand(6, 4, seed=1), _rand(4, seed=2)]),
    "matmul 3-D @ 2-D": (lambda a, b: ops.matmul(a, b), [_rand(30, 5, 6), _rand(6, 4, seed=1)]),
    "batch_norm, batch statistics": (
        lambda x, g, b: ops.batch_norm(x, gamma=g, beta=b, return_stats=True),
        [_rand(7, 4, 3, 5), _rand(5, seed=1), _rand(5, seed=2)]),
    "batch_norm, given statistics, channels on axis 1": (
        lambda x, m, v, g, b: ops.batch_norm(x, m, v, g, b, axis=1),
        [_rand(7, 5, 3), _rand(5, seed=1), np.abs(_rand(5, seed=2)) + 0.5, _rand(5, seed=3), _rand(5, seed=4)]),
    "batch_norm, no scale or offset": (lambda x: ops.batch_norm(x), [_rand(9, 4)]),
    "layer_norm": (lambda x, g, b: ops.layer_norm(x, g, b), [_rand(7, 3, 6), _rand(6, seed=1), _rand(6, seed=2)]),
    "simple_rnn masked with state": (
        lambda x, w, u, b, h0: ops.simple_rnn(x, w, u, b, initial_state=h0,
                                              mask=np.arange(6)[None, :] < np.array([6, 3, 1, 5, 6])[:, None]),
        [_rand(5, 6, 3), _rand(3, 4, seed=1), _rand(4, 4, seed=2) * 0.5, _rand(4, seed=3), _rand(5, 4, seed=4)]),
    "simple_rnn backwards recurrent dropout": (
        lambda x, w, u, b: ops.simple_rnn(x, w, u, b, go_backwards=True,
                                          recurrent_dropout_mask=(_rand(5, 4, seed=9) > 0) * 2.0),
        [_rand(5, 6, 3), _rand(3, 4, seed=1), _rand(4, 4, seed=2) * 0.5, _rand(4, seed=3)]),
    "lstm masked with state": (
        lambda x, w, u, b, h0, c0: ops.lstm(x, w, u, b, initial_state=[h0, c0],
                                            mask=np.arange(6)[None, :] < np.array([6, 3, 1, 5, 6])[:, None]),
        [_rand(5, 6, 3), _rand(3, 16, seed=1), _rand(4, 16, seed=2) * 0.5, _rand(16, seed=3),
         _rand(5, 4, seed=4), _rand(5, 4, seed=5)]),
    "gru backwards recurrent dropout": (
        lambda x, w, u, b: ops.gru(x, w, u, b, go_backwards=True,
                                   recurrent_dropout_mask=(_rand(5, 4, seed=9) > 0) * 2.0),
        [_rand(5, 6, 3), _rand(3, 12, seed=1), _rand(4, 12, seed=2) * 0.5, _rand(2, 12, seed=3)]),
    "gru masked": (
        lambda x, w, u, b: ops.gru(x, w, u, b,
                                   mask=np.arange(6)[None, :] < np.array([6, 3, 1, 5, 6])[:, None]),
        [_rand(5, 6, 3), _rand(3, 12, seed=1), _rand(4, 12, seed=2) * 0.5, _rand(2, 12, seed=3)]),
}


def test_inference_batch_norm_split_matches_the_formula(threads3):
    """Without a graph, batch norm folds its statistics into one scale and shift per channel."""
    x, m, g, b = _rand(7, 4, 3, 5), _rand(5, seed=1), _rand(5, seed=2), _rand(5, seed=3)
    v = np.abs(_rand(5, seed=4)) + 0.5
    want = (x - m) / np.sqrt(v + 1e-3) * g + b
    with no_grad():
        unsplit = ops.batch_norm(x, m, v, g, b).value
        with parallel.region():
            split = ops.batch_norm(x, m, v, g, b).value
    np.testing.assert_allclose(unsplit, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(split, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
def test_split_op_matches_unsplit(threads3, case):
    fn, arrays = SPLIT_CASES[case]
    _assert_split_matches(fn, arrays)


@pytest.mark.parametrize("case", ["conv relu bias", "max pool 2x2 odd", "relu", "dense relu", "matmul 3-D @ 2-D",
                                  "dense wide, split by columns", "batch_norm, given statistics, channels on axis 1",
                                  "layer_norm",
                                  "simple_rnn masked with state", "lstm masked with state", "gru masked"])
def test_split_op_gradcheck(threads3, case):
    fn, arrays = SPLIT_CASES[case]

    def first_output(*args):             # the LSTM also returns its carry (compared above)
        out = fn(*args)
        return out[0] if isinstance(out, tuple) else out

    with parallel.region():
        assert gradcheck(first_output, arrays)


def test_fit_split_and_unsplit_train_the_same_weights():
    def train(threads):
        before = parallel.num_threads()
        parallel.set_num_threads(threads)
        try:
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((8, 8, 1)),
                                      layers.Conv2D(4, 3, activation="relu"),
                                      layers.MaxPooling2D(),
                                      layers.Flatten(),
                                      layers.Dense(5, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            x = _rand(64, 8, 8, 1).astype("float32")
            y = np.arange(64) % 5
            model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
            return [w.copy() for w in model.get_weights()]
        finally:
            parallel.set_num_threads(before)

    for a, b in zip(train(1), train(3)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_step_split_matches_unsplit(threads3, amsgrad):
    def steps(split):
        w = keras.Variable(_rand(300, 400).astype("float32"))
        opt = keras.optimizers.Adam(learning_rate=0.01, amsgrad=amsgrad)
        for s in range(3):
            g = _rand(300, 400, seed=10 + s).astype("float32")
            if split:
                with parallel.region():
                    assert len(parallel.ranges(w.value.size, min_rows=1 << 15)) == 3
                    opt.apply([g], [w])
            else:
                opt.apply([g], [w])
        return w.value

    np.testing.assert_array_equal(steps(True), steps(False))


def test_dense_split_plan(threads3, monkeypatch):
    with parallel.region():
        assert nn_ops._dense_split(np, 128, 784, 512) == ("cols", [(0, 170), (170, 341), (341, 512)])
        assert nn_ops._dense_split(np, 3584, 28, 10)[0] == "rows"
        monkeypatch.setattr(nn_ops, "DENSE_SPLIT_MIN_MACS", 1 << 22)
        assert nn_ops._dense_split(np, 128, 1600, 10) == ("rows", [(0, 128)])   # too small to split


def _active_during_fit(model, x, y):
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(parallel.active()))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cb])
    return set(seen)


def test_only_models_with_splitting_layers_train_in_the_region(threads3):
    y = np.arange(16) % 3
    mlp = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(3)])
    assert not mlp._splits_batch_inside()
    assert _active_during_fit(mlp, _rand(16, 6).astype("float32"), y) == {False}

    inputs = keras.Input((5, 6))
    inner = keras.Sequential([keras.Input((5, 6)), layers.Bidirectional(layers.LSTM(4))])
    nested = keras.Model(inputs, layers.Dense(3)(inner(inputs)))
    assert nested._splits_batch_inside()
    assert _active_during_fit(nested, _rand(16, 5, 6).astype("float32"), y) == {True}
    assert not parallel.active()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_threads(threads3):
    import os
    with parallel.region():
        parallel.run(lambda a, b: None, parallel.ranges(9))        # the parent's pool exists
    pid = os.fork()
    if pid == 0:                                                     # child: must not hang
        try:
            with parallel.region():
                out = parallel.run(lambda a, b: b - a, parallel.ranges(9))
            os._exit(0 if out == [3, 3, 3] else 1)
        except BaseException:
            os._exit(2)
    import signal
    import time
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in parallel.run")
        time.sleep(0.05)
    assert os.WEXITSTATUS(status) == 0


def test_recurrences_take_broadcastable_masks_when_split(threads3):
    rng = np.random.default_rng(0)
    x, w, u = rng.standard_normal((6, 4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((5, 5)) * 0.5
    rmask = (rng.standard_normal((1, 5)) > 0) * 2.0                # one row for the whole batch
    mask = np.array([[True, True, False, True]])                   # one row for the whole batch
    unsplit = ops.simple_rnn(x, w, u, mask=mask, recurrent_dropout_mask=rmask).value
    with parallel.region():
        split = ops.simple_rnn(x, w, u, mask=mask, recurrent_dropout_mask=rmask).value
        gru = ops.gru(x, rng.standard_normal((3, 15)), rng.standard_normal((5, 15)), mask=mask,
                      recurrent_dropout_mask=rmask).value
    full = ops.simple_rnn(x, w, u, mask=np.repeat(mask, 6, 0), recurrent_dropout_mask=np.repeat(rmask, 6, 0)).value
    np.testing.assert_allclose(split, full, rtol=1e-12)
    np.testing.assert_allclose(unsplit, full, rtol=1e-12)
    assert gru.shape == (6, 4, 5)


def test_recurrence_mask_of_the_wrong_shape_is_a_clear_error():
    x, w, u = _rand(4, 3, 2), _rand(2, 5), _rand(5, 5)
    with pytest.raises(ValueError, match=r"mask of shape \(4, 2\) does not fit \(batch, time\) = \(4, 3\)"):
        ops.simple_rnn(x, w, u, mask=np.ones((4, 2), bool))
    with pytest.raises(ValueError, match=r"recurrent_dropout_mask of shape \(3, 5\) does not fit"):
        ops.gru(x, _rand(2, 15), _rand(5, 15), recurrent_dropout_mask=np.ones((3, 5)))


def test_run_with_several_parts_and_one_thread_runs_them_in_turn(monkeypatch):
    monkeypatch.setattr(parallel, "num_threads", lambda: 1)
    assert parallel.run(lambda a, z: z - a, [(0, 3), (3, 10)]) == [3, 7]
