"""Keras 3 functional models with op nodes (``x + y``, ``ops.relu``, Masking's ``NotEqual`` /
``Any``) saved as legacy ``.h5``: their config names the ops without a module, like layers; they
load as ops and predict as Keras (fixtures: tests/fixtures/make_legacy_op_fixtures.py)."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette.saving.legacy_h5 import _mark_op_nodes

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")


@pytest.mark.parametrize("suffix", [".legacy.h5", ".keras"])
def test_a_keras_model_with_op_nodes_loads_and_predicts(suffix):
    data = np.load(os.path.join(FIXTURES, "functional_ops.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "functional_ops" + suffix))
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5, atol=1e-6)
    assert [l.name for l in model.layers] == ["seq", "mask", "lstm", "mix", "head"]
    assert len(model.operations) > len(model.layers)          # the ops run between them
    lines = []
    model.summary(print_fn=lines.append)
    assert all(f"({kind})" in "\n".join(lines) for kind in ("NotEqual", "Any", "Add", "Relu", "Mean"))
    x = data["x"].copy()
    assert not x[0, 3:].any()                                  # sample 0's tail is padding, masked ...
    x[0, 3:] = 1e-3                                            # ... unmasked, it changes the output:
    assert not np.allclose(model.predict(x, verbose=0)[0], data["y"][0], atol=1e-4)   # the mask mattered


def _entry(name, config, nodes=None, **extra):
    return {"class_name": name, "config": config, "name": config.get("name", "n"),
            "inbound_nodes": nodes if nodes is not None else [{"args": [], "kwargs": {}}], **extra}


def test_only_op_like_entries_are_marked():
    model = {"class_name": "Functional", "config": {"layers": [
        _entry("NotEqual", {"name": "ne"}),                                  # an op: marked
        _entry("Relu", {"name": "r"}),                                       # an op: marked
        _entry("Relu", {"name": "r2", "trainable": True}),                   # a layer's config: not
        _entry("Mean", {"name": "m"}, nodes=[[["x", 0, 0, {}]]]),            # Keras 2 nodes: not
        _entry("NoSuchOp", {"name": "q"}),                                   # not a kerasette op: not
        _entry("Add", {"name": "add", "trainable": True, "dtype": "float32"}),  # the Add layer: not
        _entry("Add", {"name": "a"}, module="keras.layers"),                 # a module given: kept
    ]}}
    marked = [e.get("module") for e in _mark_op_nodes(model)["config"]["layers"]]
    assert marked == ["keras.src.ops.from_legacy_h5"] * 2 + [None] * 4 + ["keras.layers"]


def test_an_unknown_layer_class_is_still_named(tmp_path):
    import h5py
    import json
    import shutil
    path = tmp_path / "renamed.h5"
    shutil.copy(os.path.join(FIXTURES, "functional_ops.legacy.h5"), path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for e in config["config"]["layers"]:
            if e["class_name"] == "Dense":
                e["class_name"] = "MyDense"
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(keras.saving.errors.ModelConfigError if hasattr(keras.saving, "errors") else Exception,
                       match="Could not locate class 'MyDense'"):
        keras.models.load_model(path)
