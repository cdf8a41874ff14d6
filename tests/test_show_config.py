"""kerasette.show_config(): the facts a bug report needs."""
import importlib.metadata
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import kerasette
from kerasette import parallel


def test_show_config_reports_versions_device_and_threads(capsys):
    assert kerasette.show_config() is None
    out = capsys.readouterr().out
    lines = dict(line.split(":", 1) for line in out.splitlines() if not line.startswith("  "))
    assert lines["kerasette"].strip() == kerasette.__version__
    assert lines["numpy"].strip() == importlib.metadata.version("numpy")
    assert lines["device"].strip() == kerasette.backend.device()
    assert lines["floatx"].strip() == "float32"
    assert lines["intra-op threads"].strip() == str(parallel.num_threads())
    kernels = {p["library"]: p["kernels"] for p in kerasette.show_config(mode="dicts")["blas"]}
    for path, n in parallel.blas_threads().items():
        shown = f", {kernels[path]} kernels" if kernels[path] else ""
        assert f"{n} threads{shown} ({path})" in out


def test_show_config_as_a_dict():
    info = kerasette.show_config(mode="dicts")
    assert info["kerasette"] == kerasette.__version__
    assert info["h5py"] == importlib.metadata.version("h5py")
    assert isinstance(info["blas"], list)
    assert {p["library"]: p["threads"] for p in info["blas"]} == parallel.blas_threads()
    with pytest.raises(ValueError, match="show_config: mode must be 'stdout' or 'dicts', got 'json'"):
        kerasette.show_config(mode="json")


def test_show_config_names_the_blas_kernels_and_what_forces_them(monkeypatch):
    import threadpoolctl
    pools = [p for p in threadpoolctl.threadpool_info() if p.get("internal_api") == "openblas"]
    if not pools or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("needs NumPy on an x86-64 OpenBLAS (whose kernels OPENBLAS_CORETYPE picks)")
    info = kerasette.show_config(mode="dicts")
    assert {p["library"]: p["kernels"] for p in info["blas"]} == {p["filepath"]: p.get("architecture")
                                                                   for p in threadpoolctl.threadpool_info()}
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")      # read when the report is made
    forced = {p["forced_by"] for p in kerasette.show_config(mode="dicts")["blas"] if p["api"] == "openblas"}
    monkeypatch.setenv("OPENBLAS_CORETYPE", "")             # an empty value forces nothing
    unforced = {p["forced_by"] for p in kerasette.show_config(mode="dicts")["blas"]}
    assert forced == {"OPENBLAS_CORETYPE=Haswell"} and unforced == {None}
    code = "import kerasette; kerasette.show_config()"
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Haswell kernels" in out.stdout
    assert "kernels forced by OPENBLAS_CORETYPE=Haswell: unset it" in out.stdout
    assert "OPENBLAS_CORETYPE=Haswell" in out.stdout.split("environment:")[1]
    env.pop("OPENBLAS_CORETYPE")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "forced by" not in out.stdout


def test_show_config_does_not_import_cupy_and_survives_a_bad_device():
    code = ("import sys, kerasette\n"
            "info = kerasette.show_config(mode='dicts')\n"
            "print('cupy' in sys.modules, info['device'])\n")
    env = {"KERASETTE_DEVICE": "gpux", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("False invalid: KERASETTE_DEVICE='gpux' is not a device")


def test_version_matches_the_package_metadata():
    assert kerasette.__version__ == importlib.metadata.version("kerasette")
