"""One MNIST epoch of the 784-512-512-10 MLP (batch 128, Adam) in kerasette and PyTorch.

    python benchmarks/bench_mlp.py [--repeats 2] [--limit N]

Both run in this process on the same data with 2 threads; prints each time
(best of ``--repeats`` epochs), the GEMM floor of the same epoch (benchmarks/floor.py)
and the ratios kerasette / PyTorch (target <= 0.9) and kerasette / floor (target <= 1.5).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kerasette as keras  # noqa: E402
from common import load_line, report, torch_train_epoch  # noqa: E402
from floor import epoch_floor  # noqa: E402

TARGET = 0.9


def data(limit=None):
    (x, y), _ = keras.datasets.mnist.load_data()
    x, y = x[:limit], y[:limit]
    return x.reshape(-1, 784).astype("float32") / 255, y.astype("int64")


def kerasette_epoch(x, y, repeats):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        times.append(time.perf_counter() - t)
    return min(times)


def torch_epoch(x, y, repeats):
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return min(torch_train_epoch(model, opt, xt, yt) for _ in range(repeats))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--limit", type=int, default=None, help="training samples (default: all 60,000)")
    args = p.parse_args()
    print(load_line())
    x, y = data(args.limit)
    k = kerasette_epoch(x, y, args.repeats)
    try:
        import torch  # noqa: F401
        t = torch_epoch(x, y, args.repeats)
    except ImportError:
        t = None
    report("mlp", k, t, TARGET, epoch_floor("mlp", n=len(x)))


if __name__ == "__main__":
    main()
