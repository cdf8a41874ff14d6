"""Shared test setup: every test starts from a fixed seed and fresh auto-names.

``KERASETTE_TEST_DEVICE=standin pytest tests/ops tests/layers tests/models`` runs
the suite a second time with the CuPy stand-in (``kerasette.testing.standin``) as
the default device, so weights, batches and every op's arrays live behind the
device wall; tests compare through ``backend.to_numpy``.
"""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import backend
from kerasette.layers.layer import reset_uids

TEST_DEVICE = os.environ.get("KERASETTE_TEST_DEVICE", "")


@pytest.fixture(autouse=True)
def _seed_and_names():
    keras.set_random_seed(1234)
    reset_uids()
    if TEST_DEVICE == "standin":
        from kerasette.testing import standin
        with backend.device_scope(standin.xp):
            yield
    else:
        yield


def pytest_configure(config):
    np.seterr(all="ignore")
    if TEST_DEVICE not in ("", "cpu", "standin"):
        raise pytest.UsageError(f"KERASETTE_TEST_DEVICE must be 'cpu' or 'standin', got {TEST_DEVICE!r}")
