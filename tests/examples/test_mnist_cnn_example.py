"""Smoke test: the MNIST convnet example runs end to end on a small slice and learns."""
import importlib.util
import os

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def test_mnist_cnn_example(capsys):
    spec = importlib.util.spec_from_file_location("mnist_cnn", os.path.join(ROOT, "mnist_cnn.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc = mod.main(["--epochs", "2", "--limit", "1024", "--verbose", "0"])
    out = capsys.readouterr().out
    assert "test accuracy" in out and "seconds per epoch" in out
    assert acc > 0.6
