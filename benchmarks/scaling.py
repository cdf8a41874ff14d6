"""How cost grows: kerasette and PyTorch eager (2 threads) timed across model and data sizes.

    python benchmarks/scaling.py                          # every sweep (about 10 minutes on 2 cores)
    python benchmarks/scaling.py --sweep lstm_steps --quick
    python benchmarks/scaling.py --plot-only              # redraw the PNG from the JSON

Sweeps (training steps of ``fit`` with Adam on random data, best of ``--repeats`` after a
warm-up; both frameworks on the same shapes in the same run):

- ``mlp_width``: 784-W-W-10 MLP, W from 256 to 4096, batch 128;
- ``batch``: the 784-512-512-10 MLP, batch from 32 to 1024 (the same 8,192 samples);
- ``rnn_steps`` / ``lstm_steps``: SimpleRNN(128) / LSTM(128) over 28 to 512 steps of 28 features, batch 128;
- ``image``: the MNIST convnet on square images of 28 to 112 pixels, batch 32.

Writes ``benchmarks/results/scaling.json`` and draws ``docs/guides/img/scaling.png`` (matplotlib,
a benchmark-only dependency: ``pip install -e ".[bench]"``): time per sample of each framework and
their ratio, for each sweep.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import kerasette as keras  # noqa: E402
from common import blas_kernels, load_line, torch_train_epoch  # noqa: E402

JSON = os.path.join(HERE, "results", "scaling.json")
PNG = os.path.join(HERE, "..", "docs", "guides", "img", "scaling.png")

#: sweep -> (what varies, values, values for --quick, samples per timed epoch)
SWEEPS = {
    "mlp_width": ("MLP hidden width", [256, 512, 1024, 2048, 4096], [256, 1024], 2560),
    "batch": ("MLP batch size", [32, 64, 128, 256, 512, 1024], [64, 512], 8192),
    "rnn_steps": ("SimpleRNN(128) time steps", [28, 64, 128, 256, 512], [28, 128], 2048),
    "lstm_steps": ("LSTM(128) time steps", [28, 64, 128, 256, 512], [28, 128], 2048),
    "image": ("convnet image side (px)", [28, 56, 84, 112], [28, 56], 1024),
}


def case(sweep, v):
    """(kerasette model, torch model factory, x, y, batch) for one point of a sweep."""
    L = keras.layers
    rng = np.random.default_rng(0)
    n = SWEEPS[sweep][3]
    batch = v if sweep == "batch" else (32 if sweep == "image" else 128)
    if sweep in ("mlp_width", "batch"):
        w = v if sweep == "mlp_width" else 512
        x = rng.random((n, 784), dtype=np.float32)
        k = keras.Sequential([keras.Input((784,)), L.Dense(w, activation="relu"), L.Dense(w, activation="relu"),
                              L.Dense(10, activation="softmax")])

        def t(nn):
            return nn.Sequential(nn.Linear(784, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(), nn.Linear(w, 10)), x
    elif sweep in ("rnn_steps", "lstm_steps"):
        x = rng.random((n, v, 28), dtype=np.float32)
        layer, tname = (L.SimpleRNN, "RNN") if sweep == "rnn_steps" else (L.LSTM, "LSTM")
        k = keras.Sequential([keras.Input((v, 28)), layer(128), L.Dense(10, activation="softmax")])

        def t(nn):
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.rnn = getattr(nn, tname)(28, 128, batch_first=True)
                    self.out = nn.Linear(128, 10)

                def forward(self, xb):
                    return self.out(self.rnn(xb)[0][:, -1])
            return Net(), x
    else:
        x = rng.random((n, v, v, 1), dtype=np.float32)
        k = keras.Sequential([keras.Input((v, v, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                              L.Dense(10, activation="softmax")])
        flat = ((v - 2) // 2 - 2) // 2

        def t(nn):
            return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                                 nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                                 nn.Linear(64 * flat * flat, 10)), np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = rng.integers(0, 10, n)
    k.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return k, t, x, y, batch


def time_point(sweep, v, repeats):
    """Seconds per sample: (kerasette, PyTorch or None)."""
    keras.utils.set_random_seed(0)
    k, t, x, y, batch = case(sweep, v)
    k.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)     # warm-up (builds)
    ks = []
    for _ in range(repeats):
        s = time.perf_counter()
        k.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        ks.append((time.perf_counter() - s) / len(x))
    try:
        import torch
    except ImportError:
        return min(ks), None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model, xt = t(torch.nn)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt, yt = torch.from_numpy(xt), torch.from_numpy(y.astype(np.int64))
    torch_train_epoch(model, opt, xt[:batch], yt[:batch], batch)
    ts = [torch_train_epoch(model, opt, xt, yt, batch) / len(x) for _ in range(repeats)]
    return min(ks), min(ts)


def plot(results, path=PNG):
    """Time per sample of both frameworks (top row, log scale) and their ratio (bottom row)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [s for s in SWEEPS if s in results]           # (results["blas"]: the kernels used)
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 5.6), squeeze=False)
    for j, s in enumerate(names):
        r = results[s]
        top, bottom = axes[0][j], axes[1][j]
        top.plot(r["values"], [v * 1e6 for v in r["kerasette"]], "o-", label="kerasette")
        if all(v is not None for v in r["pytorch"]):
            top.plot(r["values"], [v * 1e6 for v in r["pytorch"]], "s--", label="PyTorch eager")
            bottom.plot(r["values"], [a / b for a, b in zip(r["kerasette"], r["pytorch"])], "o-", color="C2")
        top.set_title(SWEEPS[s][0], fontsize=9)
        top.set_yscale("log")
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_xticks(r["values"])
            ax.set_xticklabels([str(v) for v in r["values"]], fontsize=7)
        bottom.axhline(1.0, color="grey", lw=0.8)
        bottom.set_ylim(0, max(2.0, 1.1 * max(a / b for a, b in zip(r["kerasette"], r["pytorch"])
                                                if b)) if any(r["pytorch"]) else 2.0)
        if j == 0:
            top.set_ylabel("us per training sample")
            bottom.set_ylabel("kerasette / PyTorch")
            top.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {os.path.relpath(path)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", choices=list(SWEEPS), action="append", help="sweep(s) to run (default: all)")
    p.add_argument("--quick", action="store_true", help="two points per sweep (a smoke run)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--json", default=JSON, help=f"results file (default {os.path.relpath(JSON)})")
    p.add_argument("--png", default=PNG, help="plot file; 'none' skips the plot")
    p.add_argument("--plot-only", action="store_true", help="redraw the plot from --json")
    args = p.parse_args()
    if args.plot_only:
        with open(args.json) as f:
            plot(json.load(f), args.png)
        return
    print(load_line())
    results = {"blas": blas_kernels()}
    for s in args.sweep or list(SWEEPS):
        values = SWEEPS[s][2] if args.quick else SWEEPS[s][1]
        r = results[s] = {"values": values, "kerasette": [], "pytorch": []}
        for v in values:
            k, t = time_point(s, v, args.repeats)
            r["kerasette"].append(k)
            r["pytorch"].append(t)
            ratio = f"  ratio {k / t:.2f}" if t else ""
            print(f"{s:<11s} {v:>5}: kerasette {k * 1e6:9.1f} us/sample"
                  + (f", pytorch {t * 1e6:9.1f} us/sample{ratio}" if t else ""), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {os.path.relpath(args.json)}")
    if args.png != "none":
        try:
            plot(results, args.png)
        except ImportError:
            print("matplotlib not installed: no plot (pip install matplotlib)")


if __name__ == "__main__":
    main()
