"""Reading the legacy Keras 2 HDF5 layout: ``layer_names`` / ``weight_names`` with
``dense/kernel:0``-style datasets, at the root or in ``model_weights``."""
import h5py
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.saving import WeightsFileError, WeightsMismatchError


def write_keras2(path, spec, under_model_weights=False, extra_root_attrs=None):
    """A file as tf.keras 2 wrote it. ``spec``: [(layer name, [(weight name, array)])]."""
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if under_model_weights else f
        if under_model_weights:
            f.attrs["model_config"] = "{}"
        for k, v in (extra_root_attrs or {}).items():
            f.attrs[k] = v
        root.attrs["layer_names"] = np.array([n.encode() for n, _ in spec])
        root.attrs["backend"] = b"tensorflow"
        root.attrs["keras_version"] = b"2.15.0"
        for name, weights in spec:
            g = root.create_group(name)
            g.attrs["weight_names"] = np.array([w.encode() for w, _ in weights])
            for w, a in weights:
                g.create_dataset(w, data=a)


def arrays(rng, *shapes):
    return [rng.normal(size=s).astype("float32") for s in shapes]


def model(names=("dense", "dense_1"), units=(5, 2)):
    return keras.Sequential([keras.Input((4,)), layers.Dense(units[0], name=names[0]),
                             layers.Dropout(0.5), layers.Dense(units[1], name=names[1])])


@pytest.fixture
def keras2_file(tmp_path):
    rng = np.random.default_rng(0)
    k1, b1, k2, b2 = arrays(rng, (4, 5), (5,), (5, 2), (2,))
    spec = [("input_1", []), ("dense", [("dense/kernel:0", k1), ("dense/bias:0", b1)]),
            ("dropout", []), ("dense_1", [("dense_1/kernel:0", k2), ("dense_1/bias:0", b2)])]
    path = tmp_path / "keras2.h5"
    write_keras2(path, spec)
    return path, [k1, b1, k2, b2]


def test_by_order_skips_layers_without_weights(keras2_file):
    path, expected = keras2_file
    m = model(names=("a", "b"))                   # names do not matter by order
    m.load_weights(path)
    for got, want in zip(m.get_weights(), expected):
        np.testing.assert_array_equal(got, want)


def test_whole_model_file_reads_model_weights_group(keras2_file, tmp_path):
    _, expected = keras2_file
    spec = [("dense", [("dense/kernel:0", expected[0]), ("dense/bias:0", expected[1])]),
            ("dense_1", [("dense_1/kernel:0", expected[2]), ("dense_1/bias:0", expected[3])])]
    path = tmp_path / "full.h5"
    write_keras2(path, spec, under_model_weights=True)
    m = model()
    m.load_weights(path)
    np.testing.assert_array_equal(m.get_weights()[2], expected[2])


def test_by_name_matches_names_not_positions(keras2_file):
    path, expected = keras2_file
    # reversed naming: by name, the file's 'dense_1' weights must not go to the first layer
    m = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="dense"), layers.Dense(7, name="x"),
                          layers.Dense(2, name="dense_1")])
    x_before = m.get_layer("x").get_weights()
    with pytest.raises(WeightsMismatchError, match="2 layer"):
        m.load_weights(path)                            # by order: 2 saved vs 3 layers
    with pytest.raises(WeightsMismatchError, match="'dense_1'.*\\(7, 2\\)"):
        m.load_weights(path, by_name=True)               # dense_1 kernel is (7, 2) here
    m2 = keras.Sequential([keras.Input((5,)), layers.Dense(5, name="zzz"), layers.Dense(2, name="dense_1")])
    m2.load_weights(path, by_name=True)
    np.testing.assert_array_equal(m2.get_layer("dense_1").kernel.numpy(), expected[2])
    assert all(np.array_equal(a, b) for a, b in zip(x_before, m.get_layer("x").get_weights()))


def test_by_name_without_any_match_is_an_error(keras2_file):
    path, _ = keras2_file
    with pytest.raises(WeightsMismatchError, match="namesake"):
        model(names=("p", "q")).load_weights(path, by_name=True)


def test_skip_mismatch_warns_with_layer_names(keras2_file):
    path, expected = keras2_file
    m = model(units=(5, 3))
    last = m.layers[-1].get_weights()
    with pytest.warns(UserWarning, match="(?s)skipped 1 layer.*'dense_1'.*\\(5, 3\\).*\\(5, 2\\)"):
        m.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(m.get_weights()[0], expected[0])
    np.testing.assert_array_equal(m.layers[-1].get_weights()[0], last[0])
    m2 = model(units=(5, 3))
    before = m2.get_weights()
    with pytest.raises(WeightsMismatchError):
        m2.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, m2.get_weights()))


def test_listed_but_missing_dataset_is_a_file_error(tmp_path):
    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
    with pytest.raises(WeightsFileError, match="kernel:0"):
        model().load_weights(path)


def test_legacy_whole_model_roundtrip(tmp_path):
    m = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu"), layers.Dense(2)])
    m.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    x = np.random.default_rng(1).normal(size=(16, 4)).astype("float32")
    m.fit(x, x[:, :2], epochs=1, batch_size=8, verbose=0)
    m.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert "layer_names" in f["model_weights"].attrs and "model_config" in f.attrs
    back = keras.models.load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(back.predict(x), m.predict(x), atol=1e-6)
    assert isinstance(back.optimizer, keras.optimizers.SGD) and back.optimizer.iterations == 2
    np.testing.assert_array_equal(back.optimizer.slots["momentum"][0], m.optimizer.slots["momentum"][0])
