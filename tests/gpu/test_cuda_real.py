"""Real-GPU checks: CuPy arrays, the CuPy kernels, a model trained on the GPU.

These run only where CuPy imports and sees a CUDA device (``benchmarks/gpu_check.py``
runs the suite that way with ``KERASETTE_DEVICE=gpu``); elsewhere they skip with
the reason. GPU float32 math differs from NumPy's in the last bits, so the
tolerances here are looser than the stand-in suite's.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend, layers, ops, optimizers
from kerasette.autograd import Tensor, backward


def _cupy_or_skip():
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy is not installed (pip install kerasette[gpu])")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy sees no CUDA device")
    except Exception as e:  # noqa: BLE001 - no driver, no device
        pytest.skip(f"no usable CUDA device: {e}")
    return cupy


@pytest.fixture
def cp():
    return _cupy_or_skip()


@pytest.fixture
def on_gpu(cp):
    prev = backend.device()
    backend.set_device("gpu")
    yield cp
    backend.set_device(prev)


GTOL = dict(rtol=2e-4, atol=2e-5)


def _standin_cases():
    """The op table of the stand-in suite, loaded by path (pytest uses importlib mode)."""
    path = pathlib.Path(__file__).with_name("test_standin_ops.py")
    spec = importlib.util.spec_from_file_location("_kerasette_standin_op_cases", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CASES


CASES = _standin_cases()


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_op_on_cupy_matches_numpy(cp, name, fn, arrays):
    results = []
    for to_dev in (np.array, cp.asarray):
        ts = [Tensor(to_dev(a), requires_grad=a.dtype.kind == "f") for a in arrays]
        keras.set_random_seed(0)
        out = fn(*ts)
        probe = np.random.default_rng(5).standard_normal(out.shape).astype(out.dtype)
        backward(out, to_dev(probe))
        if to_dev is cp.asarray:
            assert isinstance(out.value, cp.ndarray)
        grads = [None if t.grad is None else backend.to_numpy(t.grad) for t in ts if t.requires_grad]
        results.append((out.numpy(), grads))
    (ref, ref_g), (got, got_g) = results
    np.testing.assert_allclose(got, ref, **GTOL)
    for g, r in zip(got_g, ref_g):
        assert (g is None) == (r is None)
        if r is not None:
            np.testing.assert_allclose(g, r, **GTOL)


@pytest.mark.parametrize("act", [None, "relu", "tanh", "sigmoid", "elu", "selu", "softplus", "softsign", "relu6",
                                 "leaky_relu", "hard_sigmoid", "exponential", "silu", "gelu", "mish"])
def test_fused_dense_kernel_matches_numpy(cp, act):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s).astype("float32") for s in ((64, 32), (32, 16), (16,)))
    outs = []
    for to_dev in (np.array, cp.asarray):
        ts = [Tensor(to_dev(a), requires_grad=True) for a in (x, w, b)]
        y = ops.dense(*ts, activation=act)
        backward(y, to_dev(np.ones(y.shape, "float32")))
        outs.append([y.numpy()] + [backend.to_numpy(t.grad) for t in ts])
    for got, ref in zip(outs[1], outs[0]):
        np.testing.assert_allclose(got, ref, **GTOL)


def test_adam_kernel_matches_numpy(cp):
    rng = np.random.default_rng(1)
    w0, g = rng.standard_normal((50, 7)).astype("float32"), rng.standard_normal((50, 7)).astype("float32")
    finals = []
    for to_dev in (np.array, cp.asarray):
        opt = optimizers.Adam(0.01)
        v = keras.Variable(to_dev(w0.copy()))
        for _ in range(3):
            opt.apply([to_dev(g)], [v])
        finals.append(v.numpy())
    np.testing.assert_allclose(finals[1], finals[0], **GTOL)


def test_sparse_softmax_xent_kernel_matches_numpy(cp):
    rng = np.random.default_rng(2)
    logits, labels = rng.standard_normal((33, 10)).astype("float32"), rng.integers(0, 10, 33)
    grads = []
    for to_dev in (np.array, cp.asarray):
        t = Tensor(to_dev(logits), requires_grad=True)
        loss = ops.mean(ops.softmax_cross_entropy(t, to_dev(labels)))
        backward(loss)
        grads.append((loss.numpy(), backend.to_numpy(t.grad)))
    np.testing.assert_allclose(grads[1][0], grads[0][0], **GTOL)
    np.testing.assert_allclose(grads[1][1], grads[0][1], **GTOL)


def test_model_on_gpu_trains_predicts_numpy_and_moves(on_gpu):
    cp = on_gpu
    rng = np.random.default_rng(3)
    x = rng.standard_normal((256, 20)).astype("float32")
    y = (x[:, :3].sum(-1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((20,)), layers.Dense(32, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=5, verbose=0)
    assert all(isinstance(w.value, cp.ndarray) for w in model.weights)
    assert hist.history["accuracy"][-1] > 0.8
    pred = model.predict(x, verbose=0)
    assert type(pred) is np.ndarray and pred.shape == (256, 2)
    model.to("cpu")
    assert all(type(w.value) is np.ndarray for w in model.weights)
    assert all(type(a) is np.ndarray for s in model.optimizer.slots.values() for a in s)
    np.testing.assert_allclose(model.predict(x, verbose=0), pred, **GTOL)
    model.to("gpu")
    assert all(isinstance(a, cp.ndarray) for s in model.optimizer.slots.values() for a in s)


def _mlp_run(x, y, batch_size=32, epochs=2):
    keras.set_random_seed(4)
    model = keras.Sequential([keras.Input((20,)), layers.Dense(32, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False)
    return model


def test_flat_optimizer_step_on_the_gpu_matches_the_cpu(on_gpu):
    """One buffer of all weights, one fused Adam launch per step: the same training as NumPy's."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((128, 20)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = _mlp_run(x, y)
    assert model.optimizer._flat is not None
    with backend.device_scope("cpu"):
        ref = _mlp_run(x, y)
    for a, b in zip(ref.get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, **GTOL)


def test_prefetched_batches_from_pinned_memory_match_the_cpu(on_gpu, monkeypatch):
    """Data too big to keep on the device: each batch is copied by the prefetch worker through
    pinned memory on its own stream; the training is the CPU's."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 255, (128, 20), dtype=np.uint8)
    y = (x[:, 0] > 127).astype("int64")
    monkeypatch.setattr(backend, "free_device_memory", lambda mod: None)   # nothing stays on the GPU
    model = _mlp_run(x, y)
    with backend.device_scope("cpu"):
        ref = _mlp_run(x, y)
    for a, b in zip(ref.get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, **GTOL)
