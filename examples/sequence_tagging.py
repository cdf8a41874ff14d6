"""Sequence tagging that needs the future: deep bidirectional vs one-directional SimpleRNNs.

The data are random digit sequences ``(batch, time)``, fed one-hot as
``(batch, time, 10)``. Every position gets a tag (many-to-many): 1 when its
digit equals the digit two steps LATER, else 0 (the last two positions are
always 0). The generator repeats the digit from two steps earlier half of
the time, so half of the tags are 1 and the past alone says nothing about
a tag: a left-to-right RNN can only guess (about 50 %, plus the two fixed
positions at the end), while a bidirectional one sees the digit two steps
ahead and can reach nearly 100 %.

Both models are two stacked recurrent layers (``return_sequences=True``)
and a per-step ``Dense(2, softmax)``:

    bidirectional: Bidirectional(SimpleRNN(u)) -> Bidirectional(SimpleRNN(u)) -> Dense
    one-directional: SimpleRNN(2u) -> SimpleRNN(2u) -> Dense   (a similar size)

    python examples/sequence_tagging.py              # 10 epochs each
    python examples/sequence_tagging.py --epochs 2 --limit 1000   # a quick smoke run

Prints the seconds per epoch and the per-position test accuracy of both.
"""
import argparse
import time

import numpy as np

import kerasette as keras
from kerasette import layers


def make_data(n, length=20, seed=0):
    """``(one_hot (n, length, 10) float32, tags (n, length) int64, digits (n, length))``."""
    rng = np.random.default_rng(seed)
    digits = rng.integers(0, 10, size=(n, length))
    for t in range(2, length):
        repeat = rng.random(n) < 0.5
        other = (digits[:, t - 2] + rng.integers(1, 10, size=n)) % 10      # any digit but the repeat
        digits[:, t] = np.where(repeat, digits[:, t - 2], other)
    tags = np.zeros((n, length), np.int64)
    tags[:, :-2] = digits[:, :-2] == digits[:, 2:]
    one_hot = np.eye(10, dtype=np.float32)[digits]
    return one_hot, tags, digits


def build_model(bidirectional, length=20, units=32):
    """Two stacked recurrent layers returning sequences, then a per-step softmax over 2 tags."""
    if bidirectional:
        rnns = [layers.Bidirectional(layers.SimpleRNN(units, return_sequences=True)),
                layers.Bidirectional(layers.SimpleRNN(units, return_sequences=True))]
    else:
        rnns = [layers.SimpleRNN(2 * units, return_sequences=True),
                layers.SimpleRNN(2 * units, return_sequences=True)]
    return keras.Sequential([keras.Input((length, 10))] + rnns + [layers.Dense(2, activation="softmax")])


def train_and_test(bidirectional, data, args):
    (x_train, y_train), (x_test, y_test) = data
    keras.utils.set_random_seed(args.seed)
    model = build_model(bidirectional, x_train.shape[1], args.units)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose)
    per_epoch = (time.perf_counter() - t0) / args.epochs
    _, acc = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    name = "bidirectional" if bidirectional else "one-directional"
    print(f"{name:>16}: test accuracy {acc:.4f}  ({model.count_params()} params, "
          f"{per_epoch:.2f} seconds per epoch)")
    return acc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--limit", type=int, default=8000, help="number of training sequences")
    p.add_argument("--length", type=int, default=20)
    p.add_argument("--units", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    x_train, y_train, _ = make_data(args.limit, args.length, seed=args.seed)
    x_test, y_test, _ = make_data(max(args.limit // 4, 200), args.length, seed=args.seed + 1)
    data = (x_train, y_train), (x_test, y_test)
    print(f"tag = digit equals the one two steps later; {args.limit} sequences of {args.length} steps, "
          f"{y_train.mean():.1%} of tags are 1")
    bi = train_and_test(True, data, args)
    uni = train_and_test(False, data, args)
    print(f"bidirectional beats one-directional by {100 * (bi - uni):.1f} points of accuracy")
    return {"bidirectional": bi, "one_directional": uni}


if __name__ == "__main__":
    main()
