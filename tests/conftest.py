"""Shared test setup: every test starts from a fixed seed and fresh auto-names."""
import numpy as np
import pytest

import kerasette as keras
from kerasette.layers.layer import reset_uids


@pytest.fixture(autouse=True)
def _seed_and_names():
    keras.set_random_seed(1234)
    reset_uids()
    yield


def pytest_configure(config):
    np.seterr(all="ignore")
