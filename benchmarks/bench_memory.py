"""Peak memory of one training epoch (RSS, measured): kerasette vs PyTorch eager, each in its own process.

    python benchmarks/bench_memory.py [--model mlp|cnn|simple_rnn|lstm|gru] [--limit N]

Each framework trains one epoch (batch 128, Adam) in a fresh child process. Just before the
epoch the child resets the kernel's peak-RSS counter (``echo 5 > /proc/self/clear_refs``,
Linux >= 4.0) and reads its RSS; after it, the peak (``VmHWM``). What is compared is the
epoch's working memory, peak minus the RSS before it: the libraries themselves (PyTorch's are
several hundred MB) and the data set are resident in both before the epoch starts and do not
count. Target: kerasette's <= PyTorch's. Linux only.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import result_line  # noqa: E402

MODELS = ("mlp", "cnn", "simple_rnn", "lstm", "gru")


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(framework, model, limit):
    """Train one epoch of ``model`` in ``framework``; print a JSON line with MB before / peak."""
    sys.path.insert(0, os.path.join(HERE, ".."))
    if model == "mlp":
        import bench_mlp as bench
        x, y = bench.data(limit)
    elif model == "cnn":
        sys.path.insert(0, os.path.join(HERE, "..", "examples"))
        import bench_cnn as bench
        from mnist_cnn import load
        (x, y), _ = load(limit)
        y = y.astype("int64")
    else:
        import bench_rnn as bench
        x, y = bench.data(limit)

    run = _epoch(framework, model, bench, x, y)
    if framework == "pytorch":
        import torch  # noqa: F401  (imported before the baseline, as kerasette is)
    else:
        # kerasette's compiled loops (numba + LLVM, kerasette[fast]) are library code too:
        # loaded before the baseline as PyTorch's libraries are (main() prints their size)
        from kerasette import cpu_kernels
        cpu_kernels.warm_up()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_kb("VmRSS")
    run()
    peak = _status_kb("VmHWM")
    print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024}))


def _epoch(framework, model, bench, x, y):
    """A no-argument callable that trains one epoch of ``model`` (batch 128) with ``bench``'s code."""
    if framework == "kerasette" and model == "cnn":
        m = bench.build_model()
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return lambda: bench.kerasette_epoch(m, x, y, 128)
    if framework == "kerasette":
        return lambda: bench.kerasette_epoch(x, y, 1) if model == "mlp" else bench.kerasette_epoch(x, y, 1, model)
    if model == "cnn":
        state = bench.make_torch()
        return lambda: bench.torch_epoch(state, x, y, 128)
    return lambda: bench.torch_epoch(x, y, 1) if model == "mlp" else bench.torch_epoch(x, y, 1, 2, model)


def measure(framework, model, limit):
    """Run :func:`child` in a fresh process; its (RSS before, peak) in MB."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, "--model", model]
    if limit:
        cmd += ["--limit", str(limit)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["before_mb"], r["peak_mb"]


def _loops_mb():
    """RSS that loading kerasette's numba loops adds to a process (0 without numba)."""
    code = ("import kerasette, sys; from kerasette import cpu_kernels\n"
            "def rss():\n"
            "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))\n"
            "a = rss(); cpu_kernels.warm_up(); print((rss() - a) / 1024)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=MODELS, action="append", help="model(s) (default: mlp and cnn)")
    p.add_argument("--limit", type=int, default=None, help="training samples (default: all 60,000)")
    p.add_argument("--child", choices=("kerasette", "pytorch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.model[0], args.limit)
        return
    print(f"kerasette's compiled loops (numba, loaded before each epoch's baseline): "
          f"{_loops_mb():.0f} MB resident")
    for model in args.model or ["mlp", "cnn"]:
        before_k, peak_k = measure("kerasette", model, args.limit)
        line = f"{model}: kerasette epoch +{peak_k - before_k:.0f} MB (RSS {before_k:.0f} -> peak {peak_k:.0f} MB)"
        try:
            before_t, peak_t = measure("pytorch", model, args.limit)
        except subprocess.CalledProcessError:
            before_t = peak_t = None
            line += "; pytorch: not run (not installed?)"
        if before_t is not None:
            ratio = (peak_k - before_k) / max(peak_t - before_t, 1e-9)
            line += (f"; pytorch +{peak_t - before_t:.0f} MB (RSS {before_t:.0f} -> peak {peak_t:.0f} MB);"
                     f" ratio {ratio:.2f} (target <= 1)")
        print(line)
        result_line(f"{model}_memory", kerasette_mb=peak_k - before_k,
                    pytorch_mb=None if before_t is None else peak_t - before_t)


if __name__ == "__main__":
    main()
