"""Transfer learning with kerasette: a frozen MobileNetV2 base, a new head, then fine-tuning.

    python examples/transfer_learning.py                                  # random base, all of MNIST
    python examples/transfer_learning.py --weights base.weights.h5        # a pretrained base
    python examples/transfer_learning.py --limit 256 --epochs 1 --fine-tune-epochs 1   # a quick smoke run

The recipe of Keras's transfer learning guide:

1. ``keras.applications.MobileNetV2(include_top=False, input_shape=(32, 32, 3))`` is the base,
   with the weights of ``--weights`` (a weights file written for that model, e.g. by
   ``base.save_weights("base.weights.h5")`` in Keras or kerasette) or random ones otherwise.
2. The base is frozen (``base.trainable = False``) and called with ``training=False``, so that its
   batch normalization layers keep their statistics in every phase; a new head
   (``GlobalAveragePooling2D`` -> ``Dense(10, softmax)``) learns on top with Adam at
   ``--learning-rate``.
3. Fine-tuning: the base is unfrozen, the model recompiled with a learning rate
   ``--fine-tune-learning-rate`` (10x lower by default), and everything trains a few more epochs.

The data are MNIST digits (``keras.datasets.mnist``, shipped with kerasette), padded from 28x28
to 32x32 (the smallest input MobileNetV2 takes), repeated over three channels (grey -> RGB) and
scaled to [-1, 1] by ``mobilenet_v2.preprocess_input``. Prints the seconds of each epoch and the
test accuracy after each phase.

Without ``--weights`` the base's batch norm statistics are first calibrated on 256 training
images (``calibrate_batch_norm``): a random MobileNetV2 with Keras's initial statistics passes
almost no signal. A random base is still a poor feature extractor, so the frozen phase reaches
only modest accuracy and fine-tuning does most of the learning (with pretrained weights the head
alone should do much better).

Measured on a busy 2-core CPU, random base, ``--limit 2048 --epochs 1 --fine-tune-epochs 1``:
about 5 ms per image in the head phase and 6 ms in the fine-tuning phase (so minutes per epoch
over all 60,000 digits), test accuracy 0.21 after the head phase and 0.26 after fine-tuning.
"""
import argparse
import time

import numpy as np

import kerasette as keras
from kerasette import layers
from kerasette.applications import mobilenet_v2

SIDE = 32


def load(limit=None):
    """MNIST as float32 ``(n, 32, 32, 3)`` images in [-1, 1] and integer labels."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:max(limit // 5, 100)], y_test[:max(limit // 5, 100)]

    def to_rgb32(x):
        pad = (SIDE - x.shape[1]) // 2
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))               # 28x28 -> 32x32, black border
        x = np.repeat(x[..., None], 3, axis=-1).astype("float32")     # grey -> 3 channels
        return mobilenet_v2.preprocess_input(x)                       # [0, 255] -> [-1, 1]

    return (to_rgb32(x_train), y_train), (to_rgb32(x_test), y_test)


def calibrate_batch_norm(base, x):
    """Give every batch normalization layer of ``base`` the statistics of its inputs on ``x``.

    A randomly initialised base has moving means 0 and variances 1 everywhere, so in inference
    mode its batch norms do nothing and the signal fades layer after layer (MobileNetV2's
    features come out near 1e-12: nothing for a head to learn from). One forward pass in training
    mode with momentum 0 sets each layer's moving statistics to the batch's, as if the base had
    been trained on these images. Pretrained weights bring their own statistics: skip this.
    """
    norms = [layer for layer in base.layers if isinstance(layer, layers.BatchNormalization)]
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.momentum = 0.0
    base(x, training=True)
    for bn, m in zip(norms, momenta):
        bn.momentum = m


def build_model(weights=None, alpha=1.0, calibration_images=None):
    """(model, base): the MobileNetV2 base, frozen, under a new 10-class head. A random base's
    batch norms are first calibrated on ``calibration_images``."""
    base = keras.applications.MobileNetV2(include_top=False, input_shape=(SIDE, SIDE, 3), alpha=alpha,
                                          weights=weights)
    if weights is None and calibration_images is not None:
        calibrate_batch_norm(base, calibration_images)
    base.trainable = False
    inputs = keras.Input(shape=(SIDE, SIDE, 3))
    x = base(inputs, training=False)     # batch norm in inference mode, also once unfrozen
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs), base


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch in the logs (``seconds``)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["seconds"] = time.perf_counter() - self.t0


def train(model, learning_rate, data, epochs, batch_size, verbose, phase):
    """Compile with Adam at ``learning_rate``, fit, evaluate; prints and returns
    ``(test accuracy, seconds of each epoch)``."""
    (x_train, y_train), (x_test, y_test) = data
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, callbacks=[EpochTimer()],
                        verbose=verbose)
    seconds = history.history["seconds"]
    for e, s in enumerate(seconds):
        print(f"{phase} epoch {e + 1}: {s:.2f} s")
    _, acc = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    print(f"{phase}: seconds per epoch {np.mean(seconds):.2f}, test accuracy {acc:.4f}")
    return acc, seconds


def _unchanged(before, after):
    return all(np.array_equal(a, b) for a, b in zip(before, after))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="weights file of the MobileNetV2 base (random if omitted)")
    p.add_argument("--alpha", type=float, default=1.0, help="MobileNetV2 width multiplier (must match --weights)")
    p.add_argument("--epochs", type=int, default=2, help="epochs of the head, base frozen")
    p.add_argument("--fine-tune-epochs", type=int, default=2, help="epochs of the whole model, base unfrozen")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--fine-tune-learning-rate", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    data = load(args.limit)
    model, base = build_model(args.weights, args.alpha, calibration_images=data[0][0][:256])
    print(f"base: {base.name}, {len(base.layers)} layers, {base.count_params():,} parameters "
          f"({'from ' + args.weights if args.weights else 'random weights'})")

    # phase 1: only the head learns
    start = base.get_weights()
    print(f"trainable weights, base frozen: {len(model.trainable_weights)}")
    head_acc, head_s = train(model, args.learning_rate, data, args.epochs, args.batch_size, args.verbose, "head")
    after_head = base.get_weights()
    frozen_held = _unchanged(start, after_head)
    print(f"base unchanged while frozen: {frozen_held}")

    # phase 2: the base learns too, at a lower rate
    base.trainable = True
    print(f"trainable weights, base unfrozen: {len(model.trainable_weights)}")
    tuned_acc, tuned_s = train(model, args.fine_tune_learning_rate, data, args.fine_tune_epochs, args.batch_size,
                               args.verbose, "fine-tune")
    tuned_moved = not _unchanged(after_head, base.get_weights())
    print(f"base changed by fine-tuning: {tuned_moved}")
    return {"head_accuracy": head_acc, "fine_tune_accuracy": tuned_acc, "head_seconds": head_s,
            "fine_tune_seconds": tuned_s, "base_unchanged_while_frozen": frozen_held,
            "base_changed_by_fine_tuning": tuned_moved, "model": model, "base": base}


if __name__ == "__main__":
    main()
