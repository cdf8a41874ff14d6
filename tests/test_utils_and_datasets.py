"""keras.utils helpers, seeding reproducibility and the offline MNIST loader."""
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.utils import normalize, set_random_seed, to_categorical


def test_to_categorical():
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1, 2]])
    out = to_categorical(np.array([[1], [0]]), num_classes=4)     # (n, 1) labels
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(out, np.eye(4)[[1, 0]])
    out = to_categorical(np.array([[0, 1], [2, 0]]), 3)            # any leading shape
    assert out.shape == (2, 2, 3)
    with pytest.raises(ValueError):
        to_categorical([0, 5], num_classes=3)
    with pytest.raises(ValueError):
        to_categorical([-1, 0])


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    out = normalize(x)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]], rtol=1e-6)
    out0 = normalize(x, axis=0)
    np.testing.assert_allclose(np.linalg.norm(out0, axis=0), [1.0, 1.0], rtol=1e-6)
    out1 = normalize(np.array([[1.0, -3.0]]), order=1)
    np.testing.assert_allclose(out1, [[0.25, -0.75]], rtol=1e-6)


def _train_once(seed):
    set_random_seed(seed)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    m = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.3),
                          layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    h = m.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
    return m.get_weights(), h.history["loss"]


def test_set_random_seed_makes_runs_reproducible():
    w1, l1 = _train_once(42)
    w2, l2 = _train_once(42)
    assert l1 == l2
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    w3, _ = _train_once(43)
    assert not all(np.array_equal(a, b) for a, b in zip(w1, w3))


def test_utils_and_top_level_seed_are_the_same():
    assert keras.utils.set_random_seed is keras.set_random_seed


def test_mnist_load_data_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_test.shape == (10000,) and y_test.dtype == np.uint8
    assert y_train.min() == 0 and y_train.max() == 9
    assert x_train.max() == 255 and x_train.min() == 0
    assert set(np.unique(y_test[:1000]).tolist()) == set(range(10))


def test_mnist_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        keras.datasets.mnist.load_data(path=str(tmp_path / "nope.npz"))
