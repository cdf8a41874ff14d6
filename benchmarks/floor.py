"""The GEMM floor of each benchmark model: the time of exactly its matrix products for one epoch.

    python benchmarks/floor.py                 # every model, one MNIST epoch (60,000 samples)
    python benchmarks/floor.py --model cnn     # one of: mlp cnn simple_rnn lstm gru

A training step of any framework has to do at least these GEMMs (on NumPy's BLAS, float32, at
the model's shapes): each layer's forward product, the weight gradient, and the input gradient of
every layer but the first (nobody needs the gradient of the data). Convolutions count as their
im2col GEMM (the column matrix is taken as given: building it is not counted); a recurrent layer
counts one GEMM for the input projection of all time steps, one per step for the recurrent
product forward and backward, and one for each weight gradient over all steps. Everything else a
framework does (elementwise passes, pooling, the loss, the optimizer, Python) is above the floor.

The benchmarks import :func:`epoch_floor` and print kerasette / PyTorch / floor with both ratios.
Each GEMM is timed alone (best of ``repeats`` after a warm-up, preallocated output), the
minima are summed for one step and scaled to the epoch's ``n / batch`` steps.
"""
import argparse
import time

import numpy as np

__all__ = ["MODELS", "gemms", "epoch_floor", "step_floor"]

#: name -> (what it is, the keyword arguments that fix its shapes)
MODELS = {
    "mlp": "784-512-512-10 Dense (relu, relu, softmax)",
    "cnn": "Conv2D(32,3x3)-MaxPool-Conv2D(64,3x3)-MaxPool-Flatten-Dense(10) on 28x28x1",
    "simple_rnn": "SimpleRNN(128) over 28 steps of 28 features, Dense(10)",
    "lstm": "LSTM(128) over 28 steps of 28 features, Dense(10)",
    "gru": "GRU(128) over 28 steps of 28 features, Dense(10)",
}


def gemms(model, batch=128, width=512, units=128, steps=28, features=28, image=28):
    """The GEMMs of one training step of ``model`` as ``(m, k, n, count)``: ``count`` products
    of an ``(m, k)`` by a ``(k, n)`` matrix. ``width`` sizes the MLP's hidden layers, ``units``
    / ``steps`` / ``features`` the recurrent models, ``image`` the convnet's square input."""
    if model == "mlp":
        dims = [784, width, width, 10]
        out = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            out.append((batch, a, b, 1))              # forward x @ W
            out.append((a, batch, b, 1))              # weight gradient x.T @ g
            if i:
                out.append((batch, b, a, 1))          # input gradient g @ W.T
        return out
    if model == "cnn":
        h1 = image - 2                                # conv 3x3 valid
        p1 = h1 // 2
        h2 = p1 - 2
        p2 = h2 // 2
        r1, r2 = batch * h1 * h1, batch * h2 * h2
        flat = p2 * p2 * 64
        return [(r1, 9, 32, 1), (9, r1, 32, 1),                         # conv1: forward, kernel grad
                (r2, 288, 64, 1), (288, r2, 64, 1), (r2, 64, 288, 1),   # conv2: + input grad
                (batch, flat, 10, 1), (flat, batch, 10, 1), (batch, 10, flat, 1)]
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}.get(model)
    if gates is None:
        raise ValueError(f"floor: model must be one of {sorted(MODELS)}, got {model!r}")
    g = gates * units
    return [(batch * steps, features, g, 1),          # input projection of every step
            (batch, units, g, steps),                 # recurrent product per step
            (batch, g, units, steps),                 # its input gradient per step (back in time)
            (units, batch * steps, g, 1),             # recurrent kernel gradient over all steps
            (features, batch * steps, g, 1),          # input kernel gradient
            (batch, units, 10, 1), (units, batch, 10, 1), (batch, 10, units, 1)]   # the Dense head


def step_floor(spec, repeats=5):
    """Seconds of one step's GEMMs (``spec`` from :func:`gemms`): each GEMM's best of
    ``repeats`` after a warm-up, summed (the sum of minima is the steadiest floor on a
    shared machine)."""
    rng = np.random.default_rng(0)
    total = 0.0
    for m, k, n, count in spec:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        np.matmul(a, b, out=c)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(count):
                np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - t)
        total += best
    return total


def epoch_floor(model, n=60000, batch=128, repeats=5, **shape):
    """Seconds of the GEMMs of one epoch of ``n`` samples (``n / batch`` steps)."""
    return step_floor(gemms(model, batch=batch, **shape), repeats) * n / batch


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), action="append",
                   help="model(s) to time (default: all)")
    p.add_argument("--n", type=int, default=60000, help="samples per epoch (default 60,000)")
    p.add_argument("--batch", type=int, default=128)
    args = p.parse_args()
    for name in args.model or list(MODELS):
        spec = gemms(name, batch=args.batch)
        flops = sum(2 * m * k * n * c for m, k, n, c in spec) * args.n / args.batch
        s = epoch_floor(name, args.n, args.batch)
        print(f"{name:<11s} floor {s:6.2f} s/epoch  ({flops / 1e9:7.1f} GFLOP, {flops / s / 1e9:5.1f} GFLOP/s)"
              f"  {MODELS[name]}")


if __name__ == "__main__":
    main()
