"""Every speed and memory target of issue 17 in one table: each benchmark run ``--runs`` times in
fresh processes, the median and every run's figure printed.

    python benchmarks/suite.py                 # 3 runs of everything (about 15 minutes on 2 cores)
    python benchmarks/suite.py --runs 1 --limit 6400 --json out.json   # quick look

Run it on a quiet machine: the load average is printed before each benchmark, and the BLAS
kernels the runs used under the table (``OPENBLAS_CORETYPE`` can hold NumPy's OpenBLAS to older,
slower ones: docs/guides/performance.md, "Which BLAS kernels run").
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

#: (script, extra arguments); each prints RESULT lines (benchmarks/common.py)
BENCHES = [("bench_mlp.py", []), ("bench_cnn.py", []), ("bench_rnn.py", ["--cell", "simple_rnn"]),
           ("bench_rnn.py", ["--cell", "lstm"]), ("bench_rnn.py", ["--cell", "gru"]),
           ("bench_inference.py", []), ("bench_memory.py", [])]


def run(script, extra, limit):
    """Run one benchmark; its RESULT records."""
    cmd = [sys.executable, os.path.join(HERE, script), *extra]
    if limit and script != "bench_inference.py":
        cmd += ["--limit", str(limit)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]


def table(runs):
    """Rows of (target, median, every run) from the records of all runs."""
    by_name = {}
    for records in runs:
        for r in records:
            by_name.setdefault(r["name"], []).append(r)
    rows = []

    def add(label, values, target, fmt="{:.2f}"):
        values = [v for v in values if v is not None]
        if values:
            rows.append((label, target, fmt.format(statistics.median(values)),
                         ", ".join(fmt.format(v) for v in values)))

    for name, rs in by_name.items():
        if "kerasette" in rs[0]:          # a training epoch
            add(f"{name} epoch kerasette s", [r["kerasette"] for r in rs], "")
            add(f"{name} epoch pytorch s", [r["pytorch"] for r in rs], "")
            add(f"{name} epoch floor s", [r["floor"] for r in rs], "")
            add(f"{name} kerasette/pytorch", [r["kerasette"] / r["pytorch"] for r in rs if r["pytorch"]],
                f"<= {rs[0]['target']}")
            add(f"{name} kerasette/floor", [r["kerasette"] / r["floor"] for r in rs], "<= 1.5")
        elif "kerasette_sps" in rs[0]:    # inference
            add(f"{name} throughput kerasette/pytorch",
                [r["kerasette_sps"] / r["pytorch_sps"] for r in rs if r["pytorch_sps"]], ">= 1.2")
            add(f"{name} one-sample predict us", [r["kerasette_predict_s"] * 1e6 for r in rs], "", "{:.0f}")
            add(f"{name} one-sample pytorch call us",
                [r["pytorch_call_s"] * 1e6 for r in rs if r["pytorch_call_s"]], "", "{:.0f}")
            add(f"{name} predict/pytorch call",
                [r["kerasette_predict_s"] / r["pytorch_call_s"] for r in rs if r["pytorch_call_s"]], "<= 1.5")
        elif "kerasette_mb" in rs[0]:     # memory
            add(f"{name} kerasette MB", [r["kerasette_mb"] for r in rs], "", "{:.0f}")
            add(f"{name} pytorch MB", [r["pytorch_mb"] for r in rs if r["pytorch_mb"]], "", "{:.0f}")
            add(f"{name} kerasette/pytorch", [r["kerasette_mb"] / r["pytorch_mb"] for r in rs if r["pytorch_mb"]],
                "<= 1")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--limit", type=int, default=None, help="training samples per epoch (default: all)")
    p.add_argument("--only", action="append", help="run only scripts whose name contains this")
    p.add_argument("--json", help="also write every record to this file")
    args = p.parse_args()
    benches = [b for b in BENCHES if not args.only or any(o in b[0] + " ".join(b[1]) for o in args.only)]
    runs = []
    for i in range(args.runs):
        records = []
        for script, extra in benches:
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"run {i + 1}/{args.runs}: {script} {' '.join(extra)} (load {load:.1f})", flush=True)
            records += run(script, extra, args.limit)
        runs.append(records)
    rows = table(runs)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{width}}  {'target':>8}  {'median':>8}  runs")
    for label, target, med, allv in rows:
        print(f"{label:<{width}}  {target:>8}  {med:>8}  {allv}")
    kernels = sorted({r.get("blas", "?") for records in runs for r in records})
    print(f"\nBLAS kernels: {', '.join(kernels)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
