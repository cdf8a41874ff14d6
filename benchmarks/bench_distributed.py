"""Data-parallel training of the MNIST CNN on 1 and 2 MPI ranks, and the scaling on paper.

    python benchmarks/bench_distributed.py                  # 1 and 2 ranks, one epoch of 60000
    python benchmarks/bench_distributed.py --limit 4096     # a slice
    python benchmarks/bench_distributed.py --ranks 1 2 4    # more ranks (one core each, at least)
    python benchmarks/bench_distributed.py --ranks 2 --bucket-mb 0.25 --compare-overlap
                                                            # buckets started during backward or after

For each rank count it runs this file under ``mpiexec -n N`` (one rank: a
plain process, the ordinary loop) and reports, from rank 0:

- samples/s of a timed epoch of ``fit`` (global batch ``--batch-size``);
- bytes each rank sends into the gradient allreduce per step (the float32
  buckets: every trainable weight once, plus one presence flag per weight);
- seconds per step in the gradient allreduce versus the rest of the step.

Then, on paper, a ring allreduce of ``S`` bytes among ``N`` machines moves
``2 (N-1)/N * S`` bytes through each machine's link and pays ``2 (N-1)``
latencies; against a 25 Gb/s network that gives the communication time per
step, set beside the compute time per step (measured here for the MNIST CNN,
an assumption stated in the printout for ResNet50).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def build_model(keras):
    from kerasette import layers
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


def worker(args):
    """One rank: warm up a few steps, then time one epoch; rank 0 prints one JSON line."""
    sys.path.insert(0, ROOT)
    import kerasette as keras
    strategy = keras.distribute.DataParallel(bucket_mb=args.bucket_mb, overlap=not args.no_overlap)
    keras.utils.set_random_seed(0)
    (x, y), _ = keras.datasets.mnist.load_data()
    n = args.limit or len(x)
    x = x[:n].astype("float32")[..., None] / 255
    y = y[:n]
    with strategy.scope():
        model = build_model(keras)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    warm = min(n, 4 * args.batch_size)
    model.fit(x[:warm], y[:warm], batch_size=args.batch_size, epochs=1, verbose=0)
    before = strategy.stats.as_dict()
    t0 = time.perf_counter()
    h = model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
    seconds = time.perf_counter() - t0
    after = strategy.stats.as_dict()
    steps = -(-n // args.batch_size)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    # the allreduce alone: the step's buckets, back to back, every rank already there
    alone = 0.0
    if strategy.num_replicas_in_sync > 1:
        comm, buffers = strategy.communicator, strategy._buckets.buffers
        comm.bcast_object(None, what="benchmark: line up")
        reps = 20
        t1 = time.perf_counter()
        for _ in range(reps):
            comm.allreduce(buffers, what="benchmark: allreduce")
        alone = (time.perf_counter() - t1) / reps
    if strategy.rank == 0:
        print("RESULT " + json.dumps({
            "ranks": strategy.num_replicas_in_sync, "samples": n, "batch": args.batch_size, "steps": steps,
            "seconds": seconds, "samples_per_s": n / seconds, "params": params,
            "bytes_per_step": after["bytes_per_step"],
            "allreduce_s_per_step": (after["allreduce_seconds"] - before["allreduce_seconds"]) / steps,
            "allreduce_alone_s": alone, "overlap": not args.no_overlap, "buckets": after["buckets"],
            "early_buckets_per_step": (after["buckets_started_in_backward"]
                                       - before["buckets_started_in_backward"]) / steps,
            "step_s": seconds / steps, "loss": h.history["loss"][-1]}), flush=True)


def find_mpiexec():
    found = shutil.which("mpiexec")
    if found:
        return found
    candidate = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    return candidate if os.path.exists(candidate) else None


def run(ranks, args, overlap=True):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--batch-size", str(args.batch_size),
           "--bucket-mb", str(args.bucket_mb)] + (["--no-overlap"] if overlap is False else [])
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_"))}
    if ranks > 1:
        mpiexec = find_mpiexec()
        if mpiexec is None:
            raise SystemExit("bench_distributed: mpiexec not found; pip install 'kerasette[distributed]'")
        cmd = [mpiexec, "-n", str(ranks)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        raise SystemExit(f"bench_distributed: {' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    return json.loads(lines[-1][len("RESULT "):])


def ring_allreduce_seconds(nbytes, machines, gbit_per_s=25.0, latency_s=20e-6):
    """A ring allreduce of ``nbytes`` among ``machines``: ``2 (N-1)/N`` of the bytes through
    each link plus ``2 (N-1)`` latencies (0 for one machine)."""
    if machines <= 1:
        return 0.0
    bandwidth = gbit_per_s * 1e9 / 8
    return 2 * (machines - 1) / machines * nbytes / bandwidth + 2 * (machines - 1) * latency_s


def paper_table(name, grad_bytes, compute_s, per_machine_batch, machines=(1, 2, 4, 8, 16, 32, 64)):
    """Communication against compute per step, without overlap (serial) and with perfect
    overlap of the allreduce with the backward pass (the bound)."""
    print(f"\n{name}: {grad_bytes / 1e6:.2f} MB of float32 gradients, {compute_s * 1e3:.1f} ms compute per "
          f"step of {per_machine_batch} samples per machine, 25 Gb/s, 20 us latency")
    print(f"{'machines':>8} {'allreduce ms':>13} {'efficiency serial':>18} {'with overlap':>13} "
          f"{'samples/s (serial)':>19}")
    for n in machines:
        comm = ring_allreduce_seconds(grad_bytes, n)
        serial = compute_s / (compute_s + comm)
        overlap = compute_s / max(compute_s, comm)
        rate = n * per_machine_batch / (compute_s + comm)
        print(f"{n:>8} {comm * 1e3:>13.2f} {serial:>17.1%} {overlap:>13.1%} {rate:>19.0f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    p.add_argument("--batch-size", type=int, default=128, help="the global batch")
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--bucket-mb", type=float, default=4.0, help="the largest gradient bucket (MiB)")
    p.add_argument("--no-overlap", action="store_true", help="one allreduce after backward")
    p.add_argument("--compare-overlap", action="store_true",
                   help="run each rank count > 1 with and without the overlap")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    results = []
    for r in args.ranks:
        results.append(run(r, args, overlap=not args.no_overlap))
        if args.compare_overlap and r > 1:
            results.append(run(r, args, overlap=False))
    print(f"MNIST CNN, global batch {args.batch_size}, {results[0]['samples']} samples, "
          f"{results[0]['params']} trainable weights, {os.cpu_count()} cores on this machine")
    print("allreduce ms: time a step waits in the gradient allreduce (the transfer and any wait for "
          "the slower rank); alone: the same buckets reduced back to back with every rank there")
    print(f"{'ranks':>5} {'overlap':>8} {'samples/s':>10} {'speed-up':>9} {'step ms':>8} {'allreduce ms':>13} "
          f"{'alone ms':>9} {'compute ms':>11} {'bytes/step':>11} {'buckets':>8} {'early':>6}")
    base = results[0]["samples_per_s"]
    for r in results:
        comm = r["allreduce_s_per_step"]
        print(f"{r['ranks']:>5} {str(r['overlap'] and r['ranks'] > 1):>8} {r['samples_per_s']:>10.0f} "
              f"{r['samples_per_s'] / base:>9.2f} "
              f"{r['step_s'] * 1e3:>8.1f} {comm * 1e3:>13.2f} {r['allreduce_alone_s'] * 1e3:>9.2f} "
              f"{(r['step_s'] - comm) * 1e3:>11.1f} {r['bytes_per_step']:>11d} {r['buckets']:>8d} "
              f"{r['early_buckets_per_step']:>6.1f}")
    one = results[0]
    per_sample = one["step_s"] / one["batch"]        # one rank, measured here
    grad_bytes = 4 * one["params"]
    paper_table("MNIST CNN (compute measured here, one CPU process)", grad_bytes, per_sample * 128, 128)
    # ResNet50: 25.6 M weights; compute per step is an assumption, not measured here: a 64-image
    # fp32 training step on one modern datacenter GPU, about 0.1 s (~640 images/s)
    paper_table("ResNet50-sized gradients (compute assumed: 0.1 s per 64-image step on one GPU)",
                4 * 25.6e6, 0.1, 64)
    return results


if __name__ == "__main__":
    main()
