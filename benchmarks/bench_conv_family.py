"""Forward + backward of one transposed / depthwise / separable convolution layer:
kerasette vs PyTorch eager (2 threads), same shapes, in the same run.

    python benchmarks/bench_conv_family.py               # best of 5 each
    python benchmarks/bench_conv_family.py --repeats 10

kerasette runs inside ``kerasette.parallel.region()`` as ``fit`` does for a convnet
(BLAS on one thread, the ops splitting their batch over the cores). Shapes: a U-Net /
GAN upsampling step (Conv2DTranspose 3x3 stride 2, 16x16x64 -> 32x32x32), a MobileNet
depthwise step (56x56x128, 3x3) and an Xception separable step (28x28x128 -> 128), batch 32,
float32. The times include the input gradient (the layer is not the first one).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import kerasette as keras  # noqa: E402
from kerasette import parallel  # noqa: E402
from kerasette.autograd import Tensor, backward  # noqa: E402

CASES = [
    ("Conv2DTranspose 3x3/2 16x16x64->32", lambda: keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same"),
     (32, 16, 16, 64)),
    ("DepthwiseConv2D 3x3 56x56x128", lambda: keras.layers.DepthwiseConv2D(3, padding="same"), (32, 56, 56, 128)),
    ("DepthwiseConv2D 3x3/2 56x56x128", lambda: keras.layers.DepthwiseConv2D(3, strides=2, padding="same"),
     (32, 56, 56, 128)),
    ("SeparableConv2D 3x3 28x28x128->128", lambda: keras.layers.SeparableConv2D(128, 3, padding="same"),
     (32, 28, 28, 128)),
]


def kerasette_step(layer, x):
    t = Tensor(x, requires_grad=True)
    t0 = time.perf_counter()
    with parallel.region():
        y = layer(t)
        backward(y, np.ones(y.shape, dtype=y.dtype))
    return time.perf_counter() - t0


def torch_module(name, shape):
    import torch
    c = shape[-1]
    if name.startswith("Conv2DTranspose"):
        return torch.nn.ConvTranspose2d(c, 32, 3, stride=2, padding=1, output_padding=1)
    if name.startswith("DepthwiseConv2D"):
        stride = 2 if "/2" in name else 1
        return torch.nn.Conv2d(c, c, 3, stride=stride, padding=1, groups=c)
    return torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), torch.nn.Conv2d(c, 128, 1))


def torch_step(module, x):
    import torch
    t = torch.from_numpy(x).requires_grad_(True)
    t0 = time.perf_counter()
    y = module(t)
    y.backward(torch.ones_like(y))
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"{'layer':38s} {'kerasette ms':>13s} {'torch ms':>9s} {'ratio':>6s}")
    for name, make, shape in CASES:
        x = rng.standard_normal(shape).astype("float32")
        layer = make()
        layer(x[:1])
        ours = min(kerasette_step(layer, x) for _ in range(args.repeats))
        if torch is not None:
            module = torch_module(name, shape)
            xt = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            theirs = min(torch_step(module, xt) for _ in range(args.repeats))
            print(f"{name:38s} {ours * 1e3:13.1f} {theirs * 1e3:9.1f} {ours / theirs:6.2f}")
        else:
            print(f"{name:38s} {ours * 1e3:13.1f} {'-':>9s}")


if __name__ == "__main__":
    main()
