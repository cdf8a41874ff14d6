"""Files written by real Keras 3 (tests/fixtures, made by make_keras_fixtures.py) load
into the same architectures built with kerasette and predict what Keras predicted."""
import os

import numpy as np
import pytest

import kerasette as keras

NAMES = ["mlp", "two_input", "branchy", "cnn", "rnn", "birnn"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix", [".weights.h5", ".legacy.h5", ".keras"])
def test_keras_files_load_weights_and_predict(kit, name, suffix):
    kit.require_layers(name)
    x, y, _ = kit.fixture_data(name)
    model = kit.BUILDERS[name]()
    before = model.predict(x)
    model.load_weights(os.path.join(kit.FIXTURES, name + suffix))
    assert np.abs(before - y).max() > 1e-3          # the load really changed something
    np.testing.assert_allclose(model.predict(x), y, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_keras_weights_file_layout_equals_ours(kit, name, tmp_path):
    """The same architecture saved by kerasette has exactly Keras's groups, datasets,
    shapes and ``name`` attributes (optimizer excluded: not compiled here)."""
    kit.require_layers(name)
    model = kit.BUILDERS[name]()
    model.load_weights(os.path.join(kit.FIXTURES, name + ".weights.h5"))
    model.save_weights(tmp_path / "ours.weights.h5")
    ours = kit.h5_tree(str(tmp_path / "ours.weights.h5"))
    theirs = kit.h5_tree(os.path.join(kit.FIXTURES, name + ".weights.h5"))
    theirs = {k: v for k, v in theirs.items() if not k.startswith("optimizer")}
    # the model's own name differs (auto names); everything below it must match.
    # Only the first three fixtures name every layer; elsewhere Keras's auto names
    # depend on what that Keras process built before.
    ours.pop("vars"), theirs.pop("vars")
    if name not in ("mlp", "two_input", "branchy"):
        ours = {k: v[0] for k, v in ours.items()}
        theirs = {k: v[0] for k, v in theirs.items()}
    assert ours == theirs


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix", [".keras", ".legacy.h5"])
def test_load_model_rebuilds_keras_model(kit, name, suffix):
    kit.require_layers(name)
    x, y, _ = kit.fixture_data(name)
    model = keras.models.load_model(os.path.join(kit.FIXTURES, name + suffix))
    np.testing.assert_allclose(model.predict(x), y, atol=1e-5, rtol=0)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.iterations == 2          # 16 samples, batch 8, one epoch


@pytest.mark.parametrize("name", NAMES)
def test_training_continues_exactly_as_in_keras(kit, name):
    """Optimizer state from Keras's .keras file: one more epoch in kerasette gives the
    predictions Keras got after the same epoch."""
    kit.require_layers(name)
    x, y, d = kit.fixture_data(name)
    model = keras.models.load_model(os.path.join(kit.FIXTURES, name + ".keras"))
    model.fit(kit.train_inputs(d), d["train_y"], batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 4
    assert np.abs(d["y_continued"] - y).max() > 1e-3
    np.testing.assert_allclose(model.predict(x), d["y_continued"], atol=1e-5, rtol=0)


def test_keras_optimizer_state_read_from_weights_file(kit):
    """``load_weights`` of a compiled model restores the optimizer too (Keras 3 does)."""
    import h5py
    model = kit.mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.load_weights(os.path.join(kit.FIXTURES, "mlp.weights.h5"))
    opt = model.optimizer
    assert opt.iterations == 2
    with h5py.File(os.path.join(kit.FIXTURES, "mlp.weights.h5")) as f:
        np.testing.assert_array_equal(opt.slots["momentum"][0], f["optimizer/vars/2"][()])
        np.testing.assert_array_equal(opt.slots["velocity"][0], f["optimizer/vars/3"][()])
        np.testing.assert_array_equal(opt.slots["velocity"][5], f["optimizer/vars/13"][()])


def test_legacy_weights_only_file_by_order_and_by_name(kit):
    import h5py
    from kerasette import layers
    x, y, _ = kit.fixture_data("mlp")
    path = os.path.join(kit.FIXTURES, "mlp.legacy_weights.h5")
    model = kit.mlp()
    model.load_weights(path)
    np.testing.assert_allclose(model.predict(x), y, atol=1e-5)
    # an extra layer in the middle: by position it cannot load, by name it can
    other = keras.Sequential([keras.Input((6,)), layers.Dense(8, name="hidden1"),
                              layers.Dense(5, name="hidden2"), layers.Dense(5, name="extra"),
                              layers.Dense(3, name="out")])
    extra = other.get_layer("extra").get_weights()
    with pytest.raises(ValueError, match="3 layer"):
        other.load_weights(path)
    other.load_weights(path, by_name=True)
    with h5py.File(path) as f:
        np.testing.assert_array_equal(other.get_layer("hidden1").kernel.numpy(),
                                      f["hidden1/mlp/hidden1/kernel"][()])
        np.testing.assert_array_equal(other.get_layer("out").bias.numpy(), f["out/mlp/out/bias"][()])
    for a, b in zip(extra, other.get_layer("extra").get_weights()):
        np.testing.assert_array_equal(a, b)
