"""Inference: batch throughput and one-sample latency of the MNIST MLP and convnet, kerasette vs
PyTorch eager (2 threads), in the same run.

    python benchmarks/bench_inference.py [--n 10000] [--calls 300]

- throughput: ``model.predict(x, batch_size=256)`` over ``--n`` test images against PyTorch's
  ``model.eval()`` under ``torch.no_grad()`` over the same batches (each batch's output brought
  back as a NumPy array, as ``predict`` returns it); samples per second, best of 3. Target:
  kerasette >= 1.2x PyTorch's samples/s.
- latency: ``model.predict(x[:1])`` against PyTorch's ``model(x[:1])`` call (no_grad, eval),
  median of ``--calls`` calls; kerasette's direct call ``model(x[:1])`` is printed beside it.
  Target: ``predict`` <= 1.5x PyTorch's call.

The weights are random (inference speed does not depend on them).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kerasette as keras  # noqa: E402
from common import blas_line, load_line, result_line, threads_line  # noqa: E402

THROUGHPUT_TARGET = 1.2
LATENCY_TARGET = 1.5


def models():
    """name -> (kerasette model, PyTorch model or None, input layout converter for PyTorch)."""
    keras.utils.set_random_seed(0)
    L = keras.layers
    mlp = keras.Sequential([keras.Input((784,)), L.Dense(512, activation="relu"), L.Dense(512, activation="relu"),
                            L.Dense(10, activation="softmax")])
    cnn = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                            L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                            L.Dense(10, activation="softmax")])
    out = {"mlp": [mlp, None, lambda a: a.reshape(len(a), 784)], "cnn": [cnn, None, lambda a: a.transpose(0, 3, 1, 2)]}
    try:
        import torch
    except ImportError:
        return out
    torch.set_num_threads(2)
    nn = torch.nn
    out["mlp"][1] = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10),
                                  nn.Softmax(-1)).eval()
    out["cnn"][1] = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
                                  nn.Softmax(-1)).eval()
    return out


def throughput(model, tmodel, to_torch, x, batch=256):
    """(kerasette samples/s, PyTorch samples/s or None), best of 3 passes each."""
    model.predict(x[:batch], batch_size=batch, verbose=0)
    k = []
    for _ in range(3):
        t = time.perf_counter()
        model.predict(x, batch_size=batch, verbose=0)
        k.append(len(x) / (time.perf_counter() - t))
    if tmodel is None:
        return max(k), None
    import torch
    xt = torch.from_numpy(np.ascontiguousarray(to_torch(x)))
    p = []
    with torch.no_grad():
        tmodel(xt[:batch])
        for _ in range(3):
            t = time.perf_counter()
            for i in range(0, len(xt), batch):
                tmodel(xt[i:i + batch]).numpy()
            p.append(len(x) / (time.perf_counter() - t))
    return max(k), max(p)


def latency(model, tmodel, to_torch, x1, calls):
    """Median seconds of (kerasette predict, kerasette direct call, PyTorch call or None)."""
    def median_of(f):
        for _ in range(10):
            f()
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    pred = median_of(lambda: model.predict(x1, verbose=0))
    call = median_of(lambda: model(x1, training=False))
    if tmodel is None:
        return pred, call, None
    import torch
    xt = torch.from_numpy(np.ascontiguousarray(to_torch(x1)))
    with torch.no_grad():
        return pred, call, median_of(lambda: tmodel(xt).numpy())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10000, help="test images for the throughput pass")
    p.add_argument("--calls", type=int, default=300, help="one-sample calls timed for the latency")
    args = p.parse_args()
    print(load_line())
    print(threads_line())
    print(blas_line())
    (_, _), (x, _) = keras.datasets.mnist.load_data()
    x = (x[:args.n].astype("float32") / 255)[..., None]
    for name, (model, tmodel, to_torch) in models().items():
        xm = x.reshape(len(x), 784) if name == "mlp" else x
        k, t = throughput(model, tmodel, to_torch, xm)
        line = f"{name} batch 256: kerasette {k:,.0f} samples/s"
        if t is not None:
            line += f", pytorch {t:,.0f} samples/s, ratio {k / t:.2f} (target >= {THROUGHPUT_TARGET})"
        print(line)
        pred, call, tcall = latency(model, tmodel, to_torch, xm[:1], args.calls)
        line = f"{name} one sample: kerasette predict {pred * 1e6:.0f} us (call {call * 1e6:.0f} us)"
        if tcall is not None:
            line += f", pytorch call {tcall * 1e6:.0f} us, ratio {pred / tcall:.2f} (target <= {LATENCY_TARGET})"
        print(line)
        result_line(f"{name}_infer", kerasette_sps=k, pytorch_sps=t, kerasette_predict_s=pred,
                    kerasette_call_s=call, pytorch_call_s=tcall)


if __name__ == "__main__":
    main()
