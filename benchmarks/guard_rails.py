"""What the guard rails cost: training with and without the per-thread context and the op-boundary checks.

    python benchmarks/guard_rails.py [--rounds 5] [--batches 60]

The guard rails (issue 12) are the per-thread execution context (``context.current()``, a
``threading.local`` read by every op and layer call) and the checks at every op's boundary
(``autograd.function.check_inputs``: one device, one float precision). This script trains the
MNIST MLP, convnet and SimpleRNN for ``--batches`` batches twice per round, alternately:
as shipped, and with the checks replaced by a no-op and the context by one plain object
shared by every thread (what the code did before issue 12). The rounds interleave the two so
that machine noise hits both alike; it prints the median of the per-round ratios. On a shared
machine that difference is inside the noise, so it also prints a direct estimate: the calls of
both counted over one run, times each call's cost measured alone, over the run's time.
Target: the guard rails cost < 2% of an epoch.
"""
import argparse
import contextlib
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kerasette as keras  # noqa: E402
from kerasette import context  # noqa: E402
from kerasette.autograd import function  # noqa: E402
from common import load_line  # noqa: E402

TARGET = 0.02


@contextlib.contextmanager
def without_guard_rails():
    """Op-boundary checks off; one plain, process-wide context object instead of the thread-local."""
    plain = type("PlainContext", (), {})()
    plain.__dict__.update({k: v for k, v in vars(context.current()).items()})
    saved = function.check_inputs, context.current
    function.check_inputs = lambda op, arrays: None
    context.current = lambda: plain
    try:
        yield
    finally:
        function.check_inputs, context.current = saved


def direct_estimate(model, x, y):
    """(calls of check_inputs, calls of context.current, their seconds in total) for one run,
    from counted calls and a timed call of each on the run's typical arguments."""
    counts = {"check": 0, "ctx": 0}
    samples = []
    check, current = function.check_inputs, context.current

    def counting_check(op, arrays):
        counts["check"] += 1
        if len(samples) < 200:
            samples.append((op, list(arrays)))
        return check(op, arrays)

    def counting_current():
        counts["ctx"] += 1
        return current()

    function.check_inputs, context.current = counting_check, counting_current
    try:
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    finally:
        function.check_inputs, context.current = check, current
    t = time.perf_counter()
    for _ in range(20):
        for op, arrays in samples:
            check(op, arrays)
    per_check = (time.perf_counter() - t) / (20 * max(len(samples), 1))
    t = time.perf_counter()
    for _ in range(100000):
        current()
    per_ctx = (time.perf_counter() - t) / 100000
    return counts["check"], counts["ctx"], counts["check"] * per_check + counts["ctx"] * per_ctx


def models():
    """name -> (compiled model, x, y)."""
    L = keras.layers
    (x, y), _ = keras.datasets.mnist.load_data()
    x = x.astype("float32") / 255
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([keras.Input((784,)), L.Dense(512, activation="relu"), L.Dense(512, activation="relu"),
                            L.Dense(10, activation="softmax")])
    cnn = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                            L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                            L.Dense(10, activation="softmax")])
    rnn = keras.Sequential([keras.Input((28, 28)), L.SimpleRNN(128), L.Dense(10, activation="softmax")])
    out = {}
    for name, model, data in (("mlp", mlp, x.reshape(-1, 784)), ("cnn", cnn, x[..., None]), ("simple_rnn", rnn, x)):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        out[name] = (model, data, y)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batches", type=int, default=60, help="batches of 128 per timed run")
    args = p.parse_args()
    print(load_line())
    n = 128 * args.batches
    for name, (model, x, y) in models().items():
        x, y = x[:n], y[:n]
        model.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)      # warm-up

        def timed():
            t = time.perf_counter()
            model.fit(x, y, batch_size=128, epochs=1, verbose=0)
            return time.perf_counter() - t

        ratios, on, off = [], [], []
        for _ in range(args.rounds):
            on.append(timed())
            with without_guard_rails():
                off.append(timed())
            ratios.append(on[-1] / off[-1] - 1)
        cost = statistics.median(ratios)
        checks, ctxs, seconds = direct_estimate(model, x, y)
        print(f"{name:<11s} direct estimate: {checks} op-boundary checks + {ctxs} context reads = "
              f"{seconds * 1e3:.1f} ms of a {statistics.median(on):.3f} s run = "
              f"{100 * seconds / statistics.median(on):.2f}%")
        print(f"{name:<11s} with guard rails {statistics.median(on):.3f} s, without {statistics.median(off):.3f} s"
              f" ({args.batches} batches): cost {100 * cost:+.1f}% (median of {args.rounds} rounds;"
              f" target < {100 * TARGET:.0f}%)")


if __name__ == "__main__":
    main()
