"""Smoke tests: the core examples run end to end on a slice of MNIST and learn."""
import importlib.util
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mnist_mlp_example(capsys):
    acc = load_example("mnist_mlp").main(["--epochs", "2", "--limit", "3000", "--verbose", "0"])
    out = capsys.readouterr().out
    assert "test accuracy" in out and "seconds per epoch" in out
    assert acc > 0.85


def test_custom_layer_example(capsys):
    acc = load_example("custom_layer").main(["--epochs", "1", "--limit", "3000"])
    assert "gradcheck of ScaledSoftsign: ok" in capsys.readouterr().out
    assert acc > 0.7


def test_functional_multi_io_example():
    logs = load_example("functional_multi_io").main(["--epochs", "1", "--limit", "3000"])
    assert logs["digit_accuracy"] > 0.7
    assert logs["same_accuracy"] > 0.5
    assert logs["loss"] == pytest.approx(logs["digit_loss"] + 0.5 * logs["same_loss"], rel=1e-4)
