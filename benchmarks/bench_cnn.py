"""One training epoch of the Keras MNIST convnet: kerasette vs PyTorch eager (2 threads).

    python benchmarks/bench_cnn.py                    # full epoch (60,000 images, batch 128)
    python benchmarks/bench_cnn.py --limit 12800      # 100 batches, quicker
    python benchmarks/bench_cnn.py --profile          # where the kerasette epoch goes, op by op
    python benchmarks/bench_cnn.py --repeats 3        # best of 3 (for a noisy machine)
    python benchmarks/bench_cnn.py --blas-threads 1   # NumPy's BLAS on one thread
    KERASETTE_NUM_THREADS=1 python benchmarks/bench_cnn.py   # kerasette's ops unsplit
    python benchmarks/bench_cnn.py --keep-freed-memory   # glibc keeps freed blocks for good (fit
                                                         # holds them while it runs anyway;
                                                         # kerasette/utils/allocator.py)

Same architecture (Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2,
Flatten, Dropout 0.5, Dense 10), batch size, optimizer (Adam 1e-3) and data in
both; PyTorch runs with ``torch.set_num_threads(2)``. The two run alternately
in the same process and the best time of each is compared, with the GEMM floor
of the same epoch (benchmarks/floor.py). Targets: kerasette <= 0.65x PyTorch and
<= 1.5x the floor. kerasette splits each op's batch over the cores inside ``fit``
(``kerasette.parallel``); ``KERASETTE_NUM_THREADS=1`` shows the unsplit time.
"""
import argparse
import collections
import os
import sys
import time


def _blas_threads_from_argv(argv):
    """``--blas-threads N`` must act before NumPy loads OpenBLAS / MKL."""
    for i, a in enumerate(argv):
        if a.startswith("--blas-threads"):
            n = a.split("=", 1)[1] if "=" in a else argv[i + 1]
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = n


_blas_threads_from_argv(sys.argv[1:])

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import kerasette as keras  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from mnist_cnn import build_model, load  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_line, report, torch_train_epoch  # noqa: E402
from floor import epoch_floor  # noqa: E402

TARGET = 0.65


def kerasette_epoch(model, x, y, batch_size):
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
    return time.perf_counter() - t0


def make_torch(seed=0):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return torch, model, opt


def torch_epoch(state, x, y, batch_size, seed=0):
    torch, model, opt = state
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))   # NCHW, PyTorch's layout
    yt = torch.from_numpy(y.astype(np.int64))
    return torch_train_epoch(model, opt, xt, yt, batch_size, torch.Generator().manual_seed(seed))


def profile_ops(model, x, y, batch_size):
    """Wall time per op (forward / backward), summed over one epoch of ``x``."""
    from kerasette.autograd import function as fn_mod

    totals = collections.defaultdict(float)
    counts = collections.defaultdict(int)

    def all_subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from all_subclasses(s)

    def wrap(cls, name):
        orig = cls.__dict__[name]

        def timed(self, *a, **k):
            t = time.perf_counter()
            r = orig(self, *a, **k)
            key = f"{type(self).__name__}.{name}"
            shape = getattr(a[0], "shape", None) if a else None
            if type(self).__name__ == "Conv2DOp" and shape is not None:
                key += f" {tuple(shape)}"
            totals[key] += time.perf_counter() - t
            counts[key] += 1
            return r
        setattr(cls, name, timed)
        return orig

    saved = []
    for cls in set(all_subclasses(fn_mod.Function)):
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                saved.append((cls, name, wrap(cls, name)))
    try:
        total = kerasette_epoch(model, x, y, batch_size)
    finally:
        for cls, name, orig in saved:
            setattr(cls, name, orig)
    n_batches = -(-len(x) // batch_size)
    print(f"\nkerasette epoch breakdown ({n_batches} batches, {total:.2f} s wall, ms per batch):")
    accounted = 0.0
    for key, v in sorted(totals.items(), key=lambda kv: -kv[1]):
        if v / total < 0.002:
            continue
        accounted += v
        print(f"  {key:<48s} {v / n_batches * 1e3:8.2f} ms  {100 * v / total:5.1f} %")
    rest = total - sum(totals.values())
    print(f"  {'(outside ops: optimizer, batching, Python)':<48s} {rest / n_batches * 1e3:8.2f} ms  "
          f"{100 * rest / total:5.1f} %")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="train on this many images (default all 60,000)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--profile", action="store_true", help="time every op's forward/backward")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--keep-freed-memory", action="store_true",
                   help="kerasette.utils.allocator.keep_freed_memory(): glibc keeps freed blocks for good, "
                        "between epochs too (fit already holds them while it runs)")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="threads of NumPy's BLAS (default: NumPy's own choice, all cores)")
    args = p.parse_args(argv)

    if args.keep_freed_memory:
        from kerasette.utils.allocator import keep_freed_memory
        print(f"keep_freed_memory(): {'on' if keep_freed_memory() else 'not available here'}")
    keras.utils.set_random_seed(0)
    (x, y), _ = load(args.limit)
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:256], y[:256], batch_size=args.batch_size, epochs=1, verbose=0)     # warm-up
    torch_state = None if args.no_torch else make_torch()
    if torch_state is not None:
        torch_epoch(torch_state, x[:256], y[:256], args.batch_size)                   # warm-up

    print(load_line())
    ks, ts = [], []
    for r in range(args.repeats):
        ks.append(kerasette_epoch(model, x, y, args.batch_size))
        print(f"kerasette epoch: {ks[-1]:.2f} s")
        if torch_state is not None:
            ts.append(torch_epoch(torch_state, x, y, args.batch_size, seed=r))
            print(f"pytorch   epoch: {ts[-1]:.2f} s   (2 threads)")
    blas = os.environ.get("OPENBLAS_NUM_THREADS", f"default ({os.cpu_count()} cores)")
    print(f"\nimages: {len(x)}, batch {args.batch_size}, NumPy BLAS threads: {blas}")
    report("cnn", min(ks), min(ts) if ts else None, TARGET,
           epoch_floor("cnn", n=len(x), batch=args.batch_size))
    if args.profile:
        profile_ops(model, x, y, args.batch_size)


if __name__ == "__main__":
    main()
