"""The GPU check: tests on the GPU, kernel checks, and MNIST epochs vs PyTorch CUDA.

Run on a machine with an NVIDIA GPU, CuPy and PyTorch (nothing to install)::

    python benchmarks/gpu_check.py            # about 2-4 minutes on an H100

It does, in one run:

1. the test suite with ``KERASETTE_DEVICE=gpu`` (a pytest subprocess), so every
   test, ``tests/gpu/test_cuda_real.py`` included, runs with CuPy as the device;
2. every kernel of the ``kerasette.ops.kernels`` registry, compiled, against its reference
   run with CuPy's own functions, and the ops that use them against NumPy;
3. one timed epoch of three MNIST models on the GPU, kerasette and PyTorch
   eager CUDA side by side (same architecture, optimizer, batch size, and a
   host-to-device copy of each batch on both sides), printing seconds per
   epoch, the ratio and each model's test accuracy:

   * MLP: 784-512-512-10 (relu, relu, softmax), Adam, batch 128;
   * CNN: Conv32-MaxPool-Conv64-MaxPool-Flatten-Dropout(0.5)-Dense10;
   * RNN: SimpleRNN(128) over the 28 rows, Dense10;
   * BiRNN: Bidirectional(SimpleRNN(128)) over the 28 rows, Dense10.

Targets (issue 19): kerasette <= 1.5x PyTorch eager per epoch on the MLP, the CNN and the
BiRNN. Models whose
layers are missing print "skipped". Without a GPU (or CuPy) it prints why and
exits 0. Exit code 1 when tests or kernel checks fail.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TARGETS = {"mlp": 1.5, "cnn": 1.5, "birnn": 1.5}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="training samples per epoch (default: all 60000)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--skip-tests", action="store_true", help="skip the pytest run")
    p.add_argument("--test-timeout", type=int, default=180, help="seconds allowed for the test suite")
    p.add_argument("--models", default="mlp,cnn,rnn,birnn")
    args = p.parse_args(argv)

    cp, why = _find_gpu()
    if cp is None:
        print(f"gpu_check: no GPU: {why}. Nothing to check here; the stand-in suite "
              f"(tests/gpu/test_standin_*.py) covers the GPU code path on the CPU.")
        return 0
    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    print(f"gpu_check: {props['name'].decode()} | CuPy {cp.__version__} | python {sys.version.split()[0]}")

    ok = True
    if not args.skip_tests:
        ok &= _run_tests(args.test_timeout)
    ok &= _check_kernels(cp)
    _benchmarks(cp, args)
    print("gpu_check: " + ("OK" if ok else "FAILURES above"))
    return 0 if ok else 1


# ---- 0. is there a GPU ------------------------------------------------------------------------

def _find_gpu():
    try:
        import cupy as cp
    except ImportError as e:
        return None, f"CuPy is not installed ({e}); pip install kerasette[gpu]"
    try:
        n = cp.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - no driver
        return None, f"CuPy found no CUDA driver/device ({type(e).__name__}: {e})"
    if n < 1:
        return None, "CuPy sees 0 CUDA devices"
    return cp, ""


# ---- 1. the test suite on the GPU ------------------------------------------------------------

def _run_tests(timeout):
    print("\n== tests with KERASETTE_DEVICE=gpu ==", flush=True)
    env = dict(os.environ, KERASETTE_DEVICE="gpu")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
           "--maxfail=25", "tests"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        tail = (e.stdout or "")[-3000:] if isinstance(e.stdout, str) else ""
        print(tail)
        print(f"tests: TIMED OUT after {timeout} s")
        return False
    lines = r.stdout.strip().splitlines()
    failed = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
    print("\n".join(failed[:40]))
    print(lines[-1] if lines else r.stderr[-2000:])
    print(f"tests: exit code {r.returncode} in {time.perf_counter() - t0:.0f} s")
    return r.returncode == 0


# ---- 2. the CuPy kernels against the generic path -------------------------------------------

def _check_kernels(cp):
    print("\n== CuPy kernels vs the generic path ==")
    from kerasette import ops, optimizers
    from kerasette.autograd import Tensor, backward
    from kerasette.ops import kernels
    import kerasette as keras
    ok = True
    rng = np.random.default_rng(0)

    def check(name, got, ref, tol=2e-5):
        nonlocal ok
        err = float(np.max(np.abs(np.asarray(got) - np.asarray(ref)) / (1 + np.abs(np.asarray(ref)))))
        good = err <= tol
        ok &= good
        print(f"  {name:<28} max rel err {err:.2e}  {'ok' if good else 'MISMATCH'}")

    x, w, b = (rng.standard_normal(s).astype("float32") for s in ((256, 64), (64, 32), (32,)))
    for name, args, inplace in _kernel_samples(rng):
        fresh = lambda: [cp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]  # noqa: E731
        got_args, ref_args = fresh(), fresh()
        got = kernels.KERNELS[name].launch(cp, *got_args)
        ref = kernels.KERNELS[name].reference(cp, *ref_args)
        if inplace is not None:
            got, ref = got_args[inplace], ref_args[inplace]
        for i, (a, r) in enumerate(zip(got if isinstance(got, tuple) else (got,),
                                       ref if isinstance(ref, tuple) else (ref,))):
            check(f"kernel {name} [{i}]", cp.asnumpy(a), cp.asnumpy(r))

    for act in kernels.FUSED_ACTIVATIONS:
        res = []
        for to_dev in (np.array, cp.asarray):
            ts = [Tensor(to_dev(a), requires_grad=True) for a in (x, w, b)]
            y = ops.dense(*ts, activation=act)
            backward(y, to_dev(np.cos(np.arange(y.value.size, dtype="float32")).reshape(y.shape)))
            res.append([y.numpy()] + [t.grad if type(t.grad) is np.ndarray else t.grad.get() for t in ts])
        for label, got, ref in zip(("fwd", "dx", "dw", "db"), res[1], res[0]):
            check(f"dense[{act}] {label}", got, ref)

    logits, labels = rng.standard_normal((512, 10)).astype("float32"), rng.integers(0, 10, 512)
    res = []
    for to_dev in (np.array, cp.asarray):
        t = Tensor(to_dev(logits), requires_grad=True)
        loss = ops.mean(ops.softmax_cross_entropy(t, to_dev(labels)))
        backward(loss)
        res.append((loss.numpy(), t.grad if type(t.grad) is np.ndarray else t.grad.get()))
    check("softmax_xent loss", res[1][0], res[0][0])
    check("softmax_xent grad", res[1][1], res[0][1])

    w0, g = rng.standard_normal((300, 40)).astype("float32"), rng.standard_normal((300, 40)).astype("float32")
    finals = []
    for to_dev in (np.array, cp.asarray):
        opt, v = optimizers.Adam(0.01), keras.Variable(to_dev(w0.copy()))
        for _ in range(5):
            opt.apply([to_dev(g)], [v])
        finals.append(v.numpy())
    check("adam update (5 steps)", finals[1], finals[0])
    return ok


def _kernel_samples(rng):
    """``(kernel name, arguments, index of the argument written in place or None)`` for
    every kernel of the registry, float32."""
    f = lambda *s: rng.standard_normal(s).astype("float32")  # noqa: E731
    n, h, w, c = 4, 9, 8, 6
    ho, wo = h - 2, w - 2
    out = []
    for act in (None, "relu", "tanh", "sigmoid"):
        out.append(("bias_act", [f(64, 32), f(32), act], 0))
    for act in ("relu", "tanh", "sigmoid"):
        out.append(("act_grad", [np.abs(f(64, 32)) * 0.5, f(64, 32), act], None))
    out.append(("adam_update", [f(300, 40), f(300, 40), f(300, 40), np.abs(f(300, 40)), 0.01, 0.9, 0.999, 1e-7],
                0))
    p = np.exp(f(128, 10))
    out.append(("softmax_xent_grad", [p / p.sum(-1, keepdims=True), rng.integers(0, 10, 128), f(128)], None))
    x = f(n, h, w, c)
    out.append(("max_pool_2x2", [x], None))
    arg = rng.integers(0, 4, (n, h // 2, w // 2, c)).astype("uint8")
    out.append(("max_pool_2x2_grad", [f(n, h // 2, w // 2, c), arg, x.shape], None))
    out.append(("col2im", [f(n * ho * wo, 9 * c), x.shape, (3, 3), (ho, wo)], None))
    for pool, strides in (((3, 3), (2, 2)), ((2, 3), (1, 2))):    # overlapping and uneven windows
        po = ((h - pool[0]) // strides[0] + 1, (w - pool[1]) // strides[1] + 1)
        out.append(("max_pool", [x, pool, strides], None))
        taps = rng.integers(0, pool[0] * pool[1], (n, *po, c)).astype("int32")
        out.append(("max_pool_grad", [f(n, *po, c), taps, x.shape, pool, strides], None))
    for nesterov in (False, True):
        out.append(("sgd_momentum_update", [f(300, 40), f(300, 40), f(300, 40), 0.01, 0.9, nesterov], 0))
    b, u = 16, 24                                     # lstm_step(_grad): with and without a mask
    for keep in (None, rng.random(b) > 0.3):
        out.append(("lstm_step", [f(b, 4 * u), f(b, 4 * u), f(b, u), f(b, u), keep,
                                  f(b, u), f(b, u), f(b, u)], None))
        gates = 1 / (1 + np.exp(-f(b, 4 * u)))
        out.append(("lstm_step_grad", [gates, np.tanh(f(b, u)), f(b, u), f(b, u), f(b, u), f(b, u), keep,
                                       f(b, 4 * u), f(b, u)], None))
        for act in (None, "relu", "tanh", "sigmoid"):
            out.append(("rnn_step", [f(b, u), f(b, u), f(b, u), keep, act], None))
        out.append(("rnn_step_grad", [np.abs(f(b, u)), f(b, u), f(b, u), keep, f(b, u)], None))
        out.append(("gru_step", [f(b, 3 * u), f(b, 3 * u), f(3 * u), f(b, u), keep, f(b, u), f(b, u)], None))
        out.append(("gru_step_grad", [1 / (1 + np.exp(-f(b, 3 * u))), f(b, u), f(b, u), f(b, u), f(b, u), keep,
                                      f(b, 3 * u), f(b, u)], None))
    missing = set(__import__("kerasette.ops.kernels", fromlist=["KERNELS"]).KERNELS) - {o[0] for o in out}
    assert not missing, f"gpu_check: no sample arguments for kernels {sorted(missing)}"
    return out


# ---- 3. one epoch each, kerasette vs PyTorch -------------------------------------------------

def _benchmarks(cp, args):
    import kerasette as keras
    (x_tr, y_tr), (x_te, y_te) = keras.datasets.mnist.load_data()
    if args.limit:
        x_tr, y_tr = x_tr[:args.limit], y_tr[:args.limit]
    x_tr = x_tr.astype("float32") / 255.0
    x_te = x_te.astype("float32") / 255.0
    y_tr, y_te = y_tr.astype("int64"), y_te.astype("int64")
    try:
        import torch
        has_torch = torch.cuda.is_available()
        why_torch = "" if has_torch else "torch.cuda.is_available() is False"
    except ImportError as e:
        torch, has_torch, why_torch = None, False, f"PyTorch not installed ({e})"

    print(f"\n== one epoch on {len(x_tr)} MNIST images, batch {args.batch_size} ==")
    print(f"{'model':<6}{'kerasette s':>12}{'torch s':>10}{'ratio':>8}{'target':>8}"
          f"{'acc kerasette':>15}{'acc torch':>11}")
    rows = {"mlp": _mlp, "cnn": _cnn, "rnn": _rnn, "birnn": _birnn}
    for name in args.models.split(","):
        shape = {"mlp": (784,), "cnn": (28, 28, 1), "rnn": (28, 28), "birnn": (28, 28)}[name]
        xtr, xte = x_tr.reshape((-1,) + shape), x_te.reshape((-1,) + shape)
        try:
            ks, kacc = _time_kerasette(cp, rows[name], xtr, y_tr, xte, y_te, args.batch_size, shape)
        except (ImportError, AttributeError) as e:
            print(f"{name:<6} skipped: kerasette layers missing ({type(e).__name__}: {e})")
            continue
        ts, tacc = (None, None)
        if has_torch:
            ts, tacc = _time_torch(torch, name, xtr, y_tr, xte, y_te, args.batch_size)
        ratio = ks / ts if ts else None
        target = TARGETS.get(name)
        verdict = "" if ratio is None or target is None else ("met" if ratio <= target else "MISSED")
        print(f"{name:<6}{ks:>12.2f}{(ts or float('nan')):>10.2f}{(ratio or float('nan')):>8.2f}"
              f"{(f'<={target:g}x ' + verdict) if target else '-':>8}"
              f"{kacc:>15.4f}{(tacc if tacc is not None else float('nan')):>11.4f}", flush=True)
    if not has_torch:
        print(f"(PyTorch side skipped: {why_torch})")


def _mlp(keras, layers, shape):
    return keras.Sequential([keras.Input(shape), layers.Dense(512, activation="relu"),
                             layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])


def _cnn(keras, layers, shape):
    return keras.Sequential([keras.Input(shape), layers.Conv2D(32, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
                             layers.Dense(10, activation="softmax")])


def _rnn(keras, layers, shape):
    return keras.Sequential([keras.Input(shape), layers.SimpleRNN(128),
                             layers.Dense(10, activation="softmax")])


def _birnn(keras, layers, shape):
    return keras.Sequential([keras.Input(shape), layers.Bidirectional(layers.SimpleRNN(128)),
                             layers.Dense(10, activation="softmax")])


def _time_kerasette(cp, build, x, y, x_te, y_te, batch, shape):
    import kerasette as keras
    from kerasette import backend, layers
    backend.set_device("gpu")
    keras.set_random_seed(0)
    model = build(keras, layers, shape)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:batch * 4], y[:batch * 4], batch_size=batch, epochs=1, verbose=0)   # warm-up: compile kernels
    cp.cuda.Device().synchronize()
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    cp.cuda.Device().synchronize()
    seconds = time.perf_counter() - t0
    pred = model.predict(x_te, batch_size=1000, verbose=0)
    return seconds, float((pred.argmax(-1) == y_te).mean())


def _time_torch(torch, name, x, y, x_te, y_te, batch):
    nn = torch.nn
    torch.manual_seed(0)
    dev = torch.device("cuda")
    if name == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    elif name == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, 10))
        x, x_te = x.transpose(0, 3, 1, 2), x_te.transpose(0, 3, 1, 2)      # NCHW for torch
    else:
        model = _TorchRNN(nn, bidirectional=name == "birnn")
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)

    def epoch(n):
        model.train()
        perm = torch.randperm(n)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            xb, yb = xt[idx].to(dev, non_blocking=True), yt[idx].to(dev, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), yb).backward()
            opt.step()

    epoch(batch * 4)                                   # warm-up
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    epoch(len(xt))
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x_te)).to(dev))
    return seconds, float((logits.argmax(-1).cpu().numpy() == y_te).mean())


class _TorchRNN:
    """SimpleRNN(128) (or its Bidirectional, final states concatenated as Keras does) and Dense10."""

    def __new__(cls, nn, bidirectional=False):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.RNN(28, 128, batch_first=True, nonlinearity="tanh", bidirectional=bidirectional)
                self.fc = nn.Linear(256 if bidirectional else 128, 10)

            def forward(self, x):
                _, h = self.rnn(x)                     # (directions, batch, 128): the final states
                return self.fc(h.permute(1, 0, 2).reshape(x.shape[0], -1))
        return M()


if __name__ == "__main__":
    sys.exit(main())
