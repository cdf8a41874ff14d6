"""Functional API with two inputs, two outputs and a shared layer, on MNIST.

Each sample is a PAIR of digit images. One shared encoder (the same Dense
layers, one set of weights) embeds both images; the model predicts
  * ``digit``: the class of the first image (softmax, sparse cross-entropy),
  * ``same``:  whether both images show the same digit (sigmoid, binary cross-entropy).

    python examples/functional_multi_io.py --epochs 3
"""
import argparse
import time

import numpy as np

import kerasette as keras
from kerasette import layers


def make_pairs(x, y, rng):
    """Pairs where about half show the same digit."""
    n = len(x)
    first = rng.permutation(n)
    second = rng.permutation(n)
    by_class = [np.flatnonzero(y == c) for c in range(10)]
    half = rng.random(n) < 0.5
    for i in np.flatnonzero(half):
        second[i] = rng.choice(by_class[y[first[i]]])
    return (x[first], x[second]), (y[first], (y[first] == y[second]).astype("float32")[:, None])


def build_model():
    left = keras.Input((784,), name="left")
    right = keras.Input((784,), name="right")
    encoder = keras.Sequential([keras.Input((784,)), layers.Dense(256, activation="relu"),
                                layers.Dense(64, activation="relu")], name="encoder")
    ea, eb = encoder(left), encoder(right)                    # shared weights
    digit = layers.Dense(10, activation="softmax", name="digit")(ea)
    merged = layers.concatenate([ea, eb, layers.multiply([ea, eb])])
    same = layers.Dense(1, activation="sigmoid", name="same")(layers.Dense(64, activation="relu")(merged))
    return keras.Model(inputs=[left, right], outputs=[digit, same], name="pair_model")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    x, xt = x.reshape(-1, 784) / 255.0, xt.reshape(-1, 784) / 255.0
    if args.limit:
        x, y, xt, yt = x[:args.limit], y[:args.limit], xt[:2000], yt[:2000]
    (xa, xb), (yd, ys) = make_pairs(x, y, rng)
    (ta, tb), (td, ts) = make_pairs(xt, yt, rng)

    model = build_model()
    model.compile(optimizer="adam",
                  loss={"digit": "sparse_categorical_crossentropy", "same": "binary_crossentropy"},
                  loss_weights={"digit": 1.0, "same": 0.5},
                  metrics={"digit": ["accuracy"], "same": ["accuracy"]})
    model.summary()
    t = time.perf_counter()
    model.fit({"left": xa, "right": xb}, {"digit": yd, "same": ys}, batch_size=128, epochs=args.epochs,
              verbose=2)
    print(f"seconds per epoch: {(time.perf_counter() - t) / args.epochs:.2f}")
    logs = model.evaluate([ta, tb], [td, ts], verbose=0, return_dict=True)
    print(f"test digit accuracy: {logs['digit_accuracy']:.4f}  test same-digit accuracy: "
          f"{logs['same_accuracy']:.4f}")
    return logs


if __name__ == "__main__":
    main()
