"""A custom layer with its own weights and a custom differentiable op, trained on MNIST.

The op: a "scaled softsign" ``y = x / (1 + |a * x|)`` with a learnable slope
``a`` per feature, written as a Function with a hand-written backward and
checked against finite differences with ``gradcheck`` before training.

    python examples/custom_layer.py --epochs 2
"""
import argparse
import time

import numpy as np

import kerasette as keras
from kerasette import ops
from kerasette.autograd import Function, gradcheck
from kerasette.backend import get_array_module


class ScaledSoftsign(Function):
    """``y = x / (1 + |a x|)``; x ``(batch, features)``, a ``(features,)``."""

    def forward(self, x, a):
        xp = get_array_module(x)
        d = 1 + xp.abs(a * x)
        self.save(x, a, d)
        return x / d

    def backward(self, g):
        x, a, d = self.saved
        xp = get_array_module(x)
        s = xp.sign(a * x)
        # d/dx [x/d] = (d - x * a * sign(a x)) / d^2 = (d - |a x|) / d^2 = 1 / d^2
        gx = g / (d * d) if self.needs_grad[0] else None
        ga = None
        if self.needs_grad[1]:
            # d/da [x / d] = -x * (s * x) / d^2, summed over the batch
            ga = (-g * x * s * x / (d * d)).sum(axis=0)
        return gx, ga


def scaled_softsign(x, a):
    return ScaledSoftsign()(x, a)


class SoftsignDense(keras.layers.Layer):
    """Dense followed by the scaled softsign with a learnable slope per unit."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.slope = self.add_weight(shape=(self.units,), initializer="ones", name="slope")

    def call(self, inputs):
        return scaled_softsign(ops.add(ops.matmul(inputs, self.kernel), self.bias), self.slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)

    rng = np.random.default_rng(0)
    gradcheck(scaled_softsign, [rng.standard_normal((4, 3)), rng.standard_normal(3)])
    print("gradcheck of ScaledSoftsign: ok")

    keras.utils.set_random_seed(0)
    (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    x, xt = x.reshape(-1, 784) / 255.0, xt.reshape(-1, 784) / 255.0
    if args.limit:
        x, y, xt, yt = x[:args.limit], y[:args.limit], xt[:1000], yt[:1000]
    model = keras.Sequential([keras.Input((784,)), SoftsignDense(256), SoftsignDense(128),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    t = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=args.epochs, verbose=1)
    print(f"seconds per epoch: {(time.perf_counter() - t) / args.epochs:.2f}")
    loss, acc = model.evaluate(xt, yt, verbose=0)
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
