"""Classify MNIST digits with a SimpleRNN that reads each image row by row.

Each 28x28 image is a sequence of 28 time steps with 28 features (one
pixel row per step), ``(batch, 28, 28)``; the last state of a
``SimpleRNN(128)`` goes to ``Dense(10, softmax)`` (many-to-one).

    python examples/mnist_rnn.py               # 12 epochs, about 97.5 % test accuracy
    python examples/mnist_rnn.py --epochs 1 --limit 2000   # a quick smoke run

The learning rate stays at ``--learning-rate`` for the first half of the
epochs and then halves every epoch: a plain SimpleRNN's test accuracy
wobbles by about a point from epoch to epoch at a fixed rate, and the
decay settles it.

Prints the seconds of each epoch and the test accuracy.
"""
import argparse
import time

import kerasette as keras


def build_model(units=128):
    """(28 steps, 28 features) -> SimpleRNN(units) -> Dense(10, softmax)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.SimpleRNN(units),
        keras.layers.Dense(10, activation="softmax"),
    ])


def load(limit=None):
    """MNIST as ``(n, 28, 28)`` float32 sequences in [0, 1] and integer labels."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.astype("float32") / 255
    x_test = x_test.astype("float32") / 255
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:max(limit // 5, 100)], y_test[:max(limit // 5, 100)]
    return (x_train, y_train), (x_test, y_test)


def halving_after(first, base):
    """Learning-rate schedule: ``base`` for ``first`` epochs, then halved every epoch."""
    def schedule(epoch, lr=None):
        return base if epoch < first else base * 0.5 ** (epoch - first + 1)
    return schedule


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch in the logs as ``seconds``."""

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["seconds"] = time.perf_counter() - self.t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    p.add_argument("--verbose", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--validation", action="store_true", help="report test accuracy after every epoch")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load(args.limit)
    model = build_model(args.units)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        model.summary()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        callbacks=[EpochTimer(), keras.callbacks.LearningRateScheduler(
                            halving_after(max(args.epochs // 2, 1), args.learning_rate))],
                        validation_data=(x_test, y_test) if args.validation else None,
                        verbose=args.verbose)
    for e, s in enumerate(history.history["seconds"]):
        print(f"epoch {e + 1}: {s:.2f} s  loss {history.history['loss'][e]:.4f}  "
              f"accuracy {history.history['accuracy'][e]:.4f}")
    loss, acc = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    seconds = history.history["seconds"]
    print(f"seconds per epoch: {sum(seconds) / len(seconds):.2f}")
    print(f"test loss: {loss:.4f}  test accuracy: {acc:.4f}  after {args.epochs} epochs")
    return acc


if __name__ == "__main__":
    main()
