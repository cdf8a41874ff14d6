"""One MNIST epoch of rows-as-time-steps -> SimpleRNN / LSTM / GRU(128) -> Dense(10, softmax)
(batch 128, Adam) in kerasette and with ``torch.nn.RNN`` / ``LSTM`` / ``GRU``.

    python benchmarks/bench_rnn.py [--cell simple_rnn|lstm|gru] [--repeats 2] [--limit N] [--threads 2]

Each image is a sequence of 28 rows of 28 pixels, ``(batch, 28, 28)``. Both
frameworks run in this process on the same data with 2 threads; prints each
time (best of ``--repeats`` epochs), the GEMM floor of the same epoch
(benchmarks/floor.py) and the ratios kerasette / PyTorch (targets: SimpleRNN
<= 0.6, LSTM and GRU <= 1.0) and kerasette / floor (<= 1.5). Without PyTorch
installed only the kerasette time and the floor are printed.

Run it on a quiet machine: with more runnable processes than cores, the
2-thread BLAS / OpenMP pools of both frameworks lose most of their time
waiting for each other and the times (and the ratio) mean little; the load
average is printed first for that reason.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _threads_from_argv(argv, default=2):
    """``--threads N`` read before NumPy is imported (its BLAS pool is sized at load time)."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return default


THREADS = _threads_from_argv(sys.argv[1:])
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import kerasette as keras  # noqa: E402
from common import load_line, report, torch_train_epoch  # noqa: E402
from floor import epoch_floor  # noqa: E402

#: cell -> (kerasette layer, torch module, target ratio kerasette / PyTorch)
CELLS = {"simple_rnn": ("SimpleRNN", "RNN", 0.6), "lstm": ("LSTM", "LSTM", 1.0), "gru": ("GRU", "GRU", 1.0)}


def data(limit=None):
    (x, y), _ = keras.datasets.mnist.load_data()
    x, y = x[:limit], y[:limit]
    return x.astype("float32") / 255, y.astype("int64")


def kerasette_epoch(x, y, repeats, cell="simple_rnn"):
    keras.utils.set_random_seed(0)
    layer = getattr(keras.layers, CELLS[cell][0])
    model = keras.Sequential([keras.Input((28, 28)), layer(128),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        times.append(time.perf_counter() - t)
    return min(times)


def torch_epoch(x, y, repeats, threads=2, cell="simple_rnn"):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, CELLS[cell][1])(28, 128, batch_first=True)
            self.out = torch.nn.Linear(128, 10)

        def forward(self, xb):
            seq, _ = self.rnn(xb)
            return self.out(seq[:, -1])

    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return min(torch_train_epoch(model, opt, xt, yt) for _ in range(repeats))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2, help="epochs timed per framework (best is kept)")
    p.add_argument("--limit", type=int, default=None, help="training samples (default: all 60,000)")
    p.add_argument("--threads", type=int, default=2, help="threads for both frameworks (default 2)")
    p.add_argument("--cell", choices=sorted(CELLS), default="simple_rnn", help="the recurrent layer")
    args = p.parse_args()
    x, y = data(args.limit)
    print(load_line(args.threads))
    print(f"MNIST rows as sequences: {x.shape[0]} samples of {x.shape[1]} steps x {x.shape[2]} features")
    k = kerasette_epoch(x, y, args.repeats, args.cell)
    try:
        import torch  # noqa: F401
        t = torch_epoch(x, y, args.repeats, args.threads, args.cell)
    except ImportError:
        t = None
    report(args.cell, k, t, CELLS[args.cell][2], epoch_floor(args.cell, n=len(x)))


if __name__ == "__main__":
    main()
