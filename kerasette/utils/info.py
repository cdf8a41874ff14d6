"""``kerasette.show_config()``: what a bug report needs to say about the installation."""
import importlib.metadata
import os
import platform
import sys

__all__ = ["show_config"]

_PACKAGES = ("numpy", "h5py", "tqdm", "threadpoolctl", "mpi4py")
_ENV = ("KERASETTE_DEVICE", "KERASETTE_NUM_THREADS", "KERASETTE_CHECK_NUMERICS",
        "KERASETTE_PROGRESS_INTERVAL", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cupy_version():
    """CuPy's version from its package metadata (any ``cupy-cuda*`` wheel), without importing it."""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "cupy" or name.startswith("cupy-"):
            return f"{dist.version} ({name})"
    return None


def _config():
    from .. import __version__, backend, parallel
    info = {"kerasette": __version__,
            "python": f"{platform.python_version()} ({platform.python_implementation()}, {sys.platform})",
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    for name in _PACKAGES:
        info[name] = _version(name) or "not installed"
    info["cupy"] = _cupy_version() or "not installed"
    try:
        info["device"] = str(backend.device())
    except ValueError as e:                       # a mistyped $KERASETTE_DEVICE
        info["device"] = f"invalid: {e}"
    info["floatx"] = backend.floatx()
    info["intra-op threads"] = parallel.num_threads()
    try:
        import threadpoolctl
        pools = threadpoolctl.threadpool_info()
    except Exception as e:  # noqa: BLE001 - a broken BLAS must not hide the rest of the report
        pools, info["blas"] = [], f"unavailable ({type(e).__name__}: {e})"
    threads = parallel.blas_threads() if pools else {}
    info["blas"] = [{"api": p.get("internal_api") or p.get("user_api"), "version": p.get("version"),
                     "threads": threads.get(p["filepath"], p.get("num_threads")), "library": p["filepath"],
                     "kernels": p.get("architecture"), "forced_by": _forced_kernels(p)}
                    for p in pools] or info.get("blas", "none loaded")
    info["environment"] = {k: os.environ[k] for k in _ENV if k in os.environ}
    return info


def _forced_kernels(pool):
    """``"OPENBLAS_CORETYPE=<value>"`` when that variable picked an OpenBLAS pool's kernels (an
    empty value picks nothing), else None."""
    forced = os.environ.get("OPENBLAS_CORETYPE") if pool.get("internal_api") == "openblas" else None
    return f"OPENBLAS_CORETYPE={forced}" if forced else None


def show_config(mode="stdout"):
    """Print the versions, device and thread settings to paste into a bug report.

    Args:
        mode: ``"stdout"`` (default) prints the report; ``"dicts"`` returns it as a dict
            instead (keys: ``kerasette``, ``python``, ``machine``, ``numpy``, ``h5py``, ``tqdm``,
            ``threadpoolctl``, ``mpi4py``, ``cupy``, ``device``, ``floatx``,
            ``intra-op threads``, ``blas``, ``environment``). Each ``blas`` entry names its
            ``kernels`` (OpenBLAS's architecture, e.g. ``SkylakeX`` for AVX-512) and what
            ``forced_by`` them (``"OPENBLAS_CORETYPE=Haswell"``, or None): a BLAS held to older
            kernels runs GEMMs, most of training, up to ~1.8x slower.

    Returns:
        None with ``mode="stdout"``; the report as a dict with ``mode="dicts"``.

    CuPy is looked up in the installed packages, not imported.

    Examples:
        >>> import kerasette
        >>> info = kerasette.show_config(mode="dicts")
        >>> info["kerasette"] == kerasette.__version__ and info["floatx"]
        'float32'
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"show_config: mode must be 'stdout' or 'dicts', got {mode!r}")
    info = _config()
    if mode == "dicts":
        return info
    width = max(len(k) for k in info) + 1
    for key, value in info.items():
        if key == "blas":
            if isinstance(value, str):
                print(f"{key + ':':<{width}} {value}")
                continue
            print(f"{key + ':':<{width}} {len(value)} thread pool(s)")
            for p in value:
                kernels = f", {p['kernels']} kernels" if p.get("kernels") else ""
                print(f"  {p['api']} {p['version'] or ''}: {p['threads']} threads{kernels} ({p['library']})")
                if p.get("forced_by"):
                    # a forced kernel set can be much slower than the one OpenBLAS picks
                    print(f"    (kernels forced by {p['forced_by']}: unset it to let OpenBLAS pick this CPU's own)")
        elif key == "environment":
            print(f"{key + ':':<{width}} " + (", ".join(f"{k}={v}" for k, v in value.items()) or "(no settings)"))
        else:
            print(f"{key + ':':<{width}} {value}")
