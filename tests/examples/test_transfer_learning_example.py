"""Smoke test: the transfer learning example (frozen MobileNetV2 base, new head, fine-tuning) runs
end to end on a small slice; the frozen base holds still and fine-tuning moves it."""
import importlib.util
import os

import numpy as np
import pytest

import kerasette as keras

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("transfer_learning", os.path.join(ROOT, "transfer_learning.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _base_of(model):
    (base,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return base


def test_transfer_learning_example(example, monkeypatch, capsys):
    snapshots = []          # the base's weights before and after each training phase
    train = example.train

    def spy(model, *args, **kwargs):
        base = _base_of(model)
        before = [w.copy() for w in base.get_weights()]
        out = train(model, *args, **kwargs)
        snapshots.append((base.trainable, before, base.get_weights()))
        return out

    monkeypatch.setattr(example, "train", spy)
    result = example.main(["--limit", "256", "--epochs", "1", "--fine-tune-epochs", "1", "--verbose", "0"])
    out = capsys.readouterr().out
    assert "head: seconds per epoch" in out and "fine-tune: seconds per epoch" in out
    assert out.count("test accuracy") == 2
    assert 0.0 <= result["head_accuracy"] <= 1.0 and 0.0 <= result["fine_tune_accuracy"] <= 1.0
    assert len(result["head_seconds"]) == 1 and len(result["fine_tune_seconds"]) == 1

    (frozen, start, after_head), (unfrozen, _, after_tuning) = snapshots
    assert not frozen and unfrozen
    assert all(np.array_equal(a, b) for a, b in zip(start, after_head)), "a frozen base's weights moved"
    moved = [not np.array_equal(a, b) for a, b in zip(after_head, after_tuning)]
    assert sum(moved) > len(moved) // 2, "fine-tuning left the base's weights unchanged"
    assert result["base_unchanged_while_frozen"] and result["base_changed_by_fine_tuning"]

    assert len(result["model"].trainable_weights) > 2   # the base ends unfrozen


def test_weights_file_is_loaded_into_the_base(example, tmp_path):
    keras.utils.set_random_seed(3)
    source = keras.applications.MobileNetV2(include_top=False, input_shape=(32, 32, 3), weights=None)
    rng = np.random.RandomState(0)
    source.set_weights([w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in source.get_weights()])
    path = str(tmp_path / "base.weights.h5")
    source.save_weights(path)

    model, base = example.build_model(weights=path)
    assert not base.trainable
    assert all(np.array_equal(a, b) for a, b in zip(base.get_weights(), source.get_weights()))
    assert model.output_shape == (None, 10)
    assert len(model.trainable_weights) == 2           # the head's kernel and bias only


def test_calibration_lets_a_random_base_pass_signal(example):
    (x, _), _ = example.load(limit=64)
    assert x.shape == (64, 32, 32, 3) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0
    assert np.array_equal(x[..., 0], x[..., 2])         # grey repeated over the channels
    keras.utils.set_random_seed(0)
    _, raw = example.build_model()
    _, calibrated = example.build_model(calibration_images=x[:32])
    weak = np.abs(raw.predict(x[:8], verbose=0)).mean()
    strong = np.abs(calibrated.predict(x[:8], verbose=0)).mean()
    assert weak < 1e-6 < 1e-2 < strong
