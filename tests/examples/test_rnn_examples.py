"""Smoke tests: the recurrent examples run end to end on small slices and learn."""
import importlib.util
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"rnn_example_{name}", os.path.join(ROOT, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mnist_rnn_example(capsys):
    acc = load_example("mnist_rnn").main(["--epochs", "2", "--limit", "2000", "--units", "32",
                                          "--learning-rate", "3e-3", "--verbose", "0"])
    out = capsys.readouterr().out
    assert "test accuracy" in out and "seconds per epoch" in out
    assert acc > 0.3                    # ten classes: chance is 0.1


def test_sequence_tagging_data_needs_the_future():
    mod = load_example("sequence_tagging")
    x, tags, digits = mod.make_data(500, length=12, seed=3)
    assert x.shape == (500, 12, 10) and tags.shape == (500, 12)
    np.testing.assert_array_equal(x.argmax(-1), digits)
    np.testing.assert_array_equal(tags[:, :-2], digits[:, :-2] == digits[:, 2:])
    assert not tags[:, -2:].any()
    assert 0.4 < tags[:, :-2].mean() < 0.6


def test_sequence_tagging_example_bidirectional_wins(capsys):
    accs = load_example("sequence_tagging").main(["--epochs", "4", "--limit", "1000", "--length", "10",
                                                  "--units", "16", "--learning-rate", "1e-2"])
    out = capsys.readouterr().out
    assert "bidirectional" in out and "seconds per epoch" in out
    assert accs["bidirectional"] > accs["one_directional"] + 0.15
