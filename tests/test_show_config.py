"""kerasette.show_config(): the facts a bug report needs."""
import importlib.metadata
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
    for path, n in parallel.blas_threads().items():
        assert f"{n} threads ({path})" in out


def test_show_config_as_a_dict():
    info = kerasette.show_config(mode="dicts")
    assert info["kerasette"] == kerasette.__version__
    assert info["h5py"] == importlib.metadata.version("h5py")
    assert isinstance(info["blas"], list)
    assert {p["library"]: p["threads"] for p in info["blas"]} == parallel.blas_threads()
    with pytest.raises(ValueError, match="show_config: mode must be 'stdout' or 'dicts', got 'json'"):
        kerasette.show_config(mode="json")


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
