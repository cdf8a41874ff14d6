"""What the benchmarks share: the PyTorch side's training epoch, the load line and the printed ratios."""
import json
import os
import time

__all__ = ["torch_train_epoch", "report", "threads_line", "load_line", "result_line", "blas_kernels", "blas_line"]

#: how far above its GEMM floor (benchmarks/floor.py) each model's epoch may be (issue 17)
FLOOR_TARGET = 1.5


def torch_train_epoch(model, opt, xt, yt, batch_size=128, generator=None):
    """One shuffled epoch of ``model`` in PyTorch eager, as a Keras ``fit`` does it
    (forward, cross-entropy, backward, Adam step, the batch accuracy read back);
    returns the seconds it took."""
    import torch
    model.train()
    t0 = time.perf_counter()
    perm = torch.randperm(len(xt), generator=generator)
    for i in range(0, len(xt), batch_size):
        idx = perm[i:i + batch_size]
        xb, yb = xt[idx], yt[idx]
        opt.zero_grad()
        out = model(xb)
        loss = torch.nn.functional.cross_entropy(out, yb)
        loss.backward()
        opt.step()
        (out.argmax(1) == yb).float().mean().item()   # accuracy, as the Keras loop reports it
    return time.perf_counter() - t0


def report(name, kerasette_s, torch_s, target, floor_s=None):
    """Print the epoch times of kerasette, PyTorch and the GEMM floor, both ratios against their
    targets, and one ``RESULT {...}`` JSON line that ``benchmarks/suite.py`` collects.
    ``torch_s`` is None where PyTorch is not installed."""
    print(threads_line())
    print(blas_line())
    print(f"kerasette: {kerasette_s:.2f} s/epoch")
    if torch_s is not None:
        print(f"pytorch:   {torch_s:.2f} s/epoch")
    else:
        print("pytorch:   not installed: no ratio (pip install torch==2.13.0)")
    if floor_s is not None:
        print(f"GEMM floor: {floor_s:.2f} s/epoch (benchmarks/floor.py)")
    if torch_s is not None:
        print(f"ratio kerasette/pytorch: {kerasette_s / torch_s:.2f}  (target <= {target})")
    if floor_s is not None:
        print(f"ratio kerasette/floor:   {kerasette_s / floor_s:.2f}  (target <= {FLOOR_TARGET})")
        if torch_s is not None:
            print(f"ratio pytorch/floor:     {torch_s / floor_s:.2f}")
    result_line(name, kerasette=kerasette_s, pytorch=torch_s, floor=floor_s, target=target)


def result_line(name, **values):
    """One ``RESULT {"name": ..., ...}`` line for ``benchmarks/suite.py`` (values in seconds),
    with the BLAS kernels NumPy ran (``blas_kernels``)."""
    print("RESULT " + json.dumps({"name": name, **values, "blas": blas_kernels()}))


def blas_kernels():
    """The kernels of NumPy's BLAS, e.g. ``"openblas SkylakeX"`` (AVX-512) or ``"openblas Haswell"``
    (AVX2), with ``" (forced by OPENBLAS_CORETYPE)"`` where that variable picked them.

    Every benchmark's GEMMs, and so most of kerasette's epoch, run on these kernels while
    PyTorch runs MKL / oneDNN's for the CPU it finds; an OpenBLAS held to older kernels is up to
    ~1.8x slower on the same GEMM (docs/guides/performance.md, "Which BLAS kernels run")."""
    import kerasette
    pools = kerasette.show_config(mode="dicts")["blas"]         # what a bug report shows
    pools = [p for p in pools if p["api"] != "openmp"] if isinstance(pools, list) else []
    if not pools:
        return "none found"
    p = pools[0]
    name = f"{p['api']} {p['kernels'] or '?'}"
    if p["forced_by"]:
        name += " (forced by OPENBLAS_CORETYPE)"
    return name


def blas_line():
    """``BLAS kernels: ...`` for the printout, with the way out when they are forced."""
    kernels = blas_kernels()
    hint = ("; unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this command to run this CPU's own"
            if "forced" in kernels else "")
    return f"BLAS kernels: {kernels}{hint}"


def threads_line():
    """kerasette's intra-op thread count (``kerasette.parallel``), for the printout."""
    from kerasette import parallel
    return f"kerasette intra-op threads: {parallel.num_threads()} (KERASETTE_NUM_THREADS=1 turns them off)"


def load_line(threads=2):
    """The load average against the core count: with more runnable processes than cores the
    2-thread pools of both frameworks wait for each other and the times mean little."""
    if not hasattr(os, "getloadavg"):
        return f"{threads} thread(s) per framework"
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    note = "  (busy machine: times are unreliable)" if load > cores else ""
    return f"load average {load:.1f} on {cores} cores{note}; {threads} thread(s) per framework"
