"""ResNet50 inference: ``predict`` throughput of kerasette against real Keras 3 on the PyTorch
backend, with the same weights, in the same run.

    python benchmarks/bench_resnet50.py                          # batch 32 of 224x224x3 (a minute or two)
    python benchmarks/bench_resnet50.py --size 32 --batch 2 --repeats 1   # a quick smoke run

- Keras builds ``keras.applications.ResNet50(weights=None)`` (``KERAS_BACKEND=torch``, 2 torch
  threads); its batch norm statistics, scales and biases get random non-trivial values (Keras
  initialises them to 0 / 1, which would leave them untested); its weights go to a temporary
  ``.weights.h5`` file, which ``kerasette.applications.ResNet50(weights=path)`` loads.
- Both predict the same batch: the largest difference of the two outputs is printed and must stay
  within ~1e-4 of the output's scale (``predictions agree``). The models end in logits
  (``classifier_activation=None``): a softmax over 1000 classes would shrink every difference
  below 1e-4 and prove little; it costs nothing measurable either way.
- Throughput: ``model.predict(x, batch_size=batch)`` on one batch of ``--batch`` images, after one
  warm-up call, best of ``--repeats`` calls each; images per second. Target: kerasette >= 1.0x
  Keras's images/s.

Without Keras (or torch) installed only kerasette's figure is printed.
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kerasette  # noqa: E402
from common import load_line, result_line, threads_line  # noqa: E402

TARGET = 1.0     # kerasette images/s over Keras's
TOLERANCE = 1e-4  # largest difference of the two predictions
TORCH_THREADS = 2


def real_keras():
    """Keras 3 on the PyTorch backend with 2 torch threads, or None where it is not installed."""
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
        return None
    os.environ["KERAS_BACKEND"] = "torch"
    # Keras on torch converts tensors with np.array(x), which NumPy 2 flags on every call
    warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword")
    import keras
    import torch
    if keras.backend.backend() != "torch":
        print(f"keras:     runs on {keras.backend.backend()}, not torch: kerasette only")
        return None
    torch.set_num_threads(TORCH_THREADS)
    return keras


def randomize(model, seed=0):
    """Non-trivial batch norm statistics, scales and biases (Keras initialises them to 0 / 1)."""
    rng = np.random.RandomState(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if w.name in ("gamma", "moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif w.name in ("beta", "moving_mean", "bias"):
            w.assign(rng.normal(0.0, 0.1, shape).astype("float32"))


def images_per_second(predict, x, repeats):
    """Best images/s of ``repeats`` calls of ``predict(x)``, after one warm-up call; also returns
    the warm-up call's output."""
    out = predict(x)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        predict(x)
        best = max(best, len(x) / (time.perf_counter() - t))
    return best, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32, help="images in the batch")
    p.add_argument("--repeats", type=int, default=3, help="timed predict calls (the best counts)")
    p.add_argument("--size", type=int, default=224, help="image side (at least 32)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    shape = (args.size, args.size, 3)
    x = np.random.RandomState(args.seed).uniform(-1, 1, (args.batch,) + shape).astype("float32")
    print(load_line(TORCH_THREADS))
    print(threads_line())
    print(f"ResNet50, batch {args.batch} of {args.size}x{args.size}x3, best of {args.repeats}")

    keras = real_keras()
    with tempfile.TemporaryDirectory() as tmp:
        ref = None
        if keras is not None:
            keras.utils.set_random_seed(args.seed)
            ref = keras.applications.ResNet50(weights=None, input_shape=shape, classifier_activation=None)
            randomize(ref, args.seed)
            path = os.path.join(tmp, "resnet50.weights.h5")
            ref.save_weights(path)
            model = kerasette.applications.ResNet50(weights=path, input_shape=shape, classifier_activation=None)
        else:
            print("keras:     not installed: kerasette only (pip install keras torch==2.13.0)")
            kerasette.utils.set_random_seed(args.seed)
            model = kerasette.applications.ResNet50(weights=None, input_shape=shape, classifier_activation=None)

    k_ips, k_out = images_per_second(lambda a: model.predict(a, batch_size=args.batch, verbose=0), x, args.repeats)
    print(f"kerasette: {k_ips:.2f} images/s ({args.batch / k_ips:.2f} s per batch)")
    if ref is None:
        result_line("resnet50_infer", kerasette_ips=k_ips, keras_ips=None, ratio=None, max_diff=None,
                    agree=None, batch=args.batch, size=args.size, target=TARGET)
        return k_ips, None

    r_ips, r_out = images_per_second(lambda a: ref.predict(a, batch_size=args.batch, verbose=0), x, args.repeats)
    print(f"keras:     {r_ips:.2f} images/s ({args.batch / r_ips:.2f} s per batch; "
          f"Keras {keras.__version__}, torch backend, {TORCH_THREADS} threads)")
    diff = float(np.abs(np.asarray(k_out, "float64") - np.asarray(r_out, "float64")).max())
    scale = max(1.0, float(np.abs(r_out).max()))
    agree = bool(diff <= TOLERANCE * scale)
    print(f"predictions: max difference {diff:.2e}, logits up to {scale:.1f} "
          f"({'agree' if agree else 'DISAGREE'}, tolerance {TOLERANCE:g} x max(1, largest logit))")
    ratio = k_ips / r_ips
    print(f"ratio kerasette/keras images/s: {ratio:.2f}  (target >= {TARGET})")
    result_line("resnet50_infer", kerasette_ips=k_ips, keras_ips=r_ips, ratio=ratio, max_diff=diff,
                agree=agree, batch=args.batch, size=args.size, target=TARGET)
    return k_ips, r_ips


if __name__ == "__main__":
    main()
