"""keras.utils.load_img / img_to_array / array_to_img / save_img, equal to Keras 3's on the same
files (Pillow)."""
import importlib.util
import io
import os

import numpy as np
import pytest

import kerasette as keras

pytest.importorskip("PIL")
HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
U = keras.utils


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 40, 3)).astype("float32")
    path = tmp_path / "photo.png"
    U.save_img(path, x, scale=False)
    return path, x


def test_round_trip_and_shapes(photo):
    path, x = photo
    np.testing.assert_array_equal(U.img_to_array(U.load_img(path)), x)
    assert U.img_to_array(U.load_img(path, color_mode="grayscale")).shape == (30, 40, 1)
    assert U.img_to_array(U.load_img(path, color_mode="rgba")).shape == (30, 40, 4)
    assert U.img_to_array(U.load_img(path), data_format="channels_first").shape == (3, 30, 40)
    assert U.load_img(path, target_size=(10, 20)).size == (20, 10)
    assert U.load_img(io.BytesIO(path.read_bytes())).size == (40, 30)
    scaled = U.img_to_array(U.array_to_img(x / 255.0))
    np.testing.assert_allclose(scaled, (x - x.min()) / (x.max() - x.min()) * 255, atol=1.0)


def test_bad_arguments(photo, tmp_path):
    path, x = photo
    with pytest.raises(ValueError, match='load_img: color_mode must be "grayscale", "rgb" or "rgba"'):
        U.load_img(path, color_mode="hsv")
    with pytest.raises(ValueError, match="load_img: interpolation must be one of"):
        U.load_img(path, target_size=(5, 5), interpolation="cubic")
    with pytest.raises(TypeError, match="load_img: path must be a path or an io.BytesIO"):
        U.load_img(3)
    with pytest.raises(ValueError, match="array_to_img: expected one image of rank 3"):
        U.array_to_img(np.zeros((1, 2, 2, 3)))
    with pytest.raises(ValueError, match="expected 1, 3 or 4 channels, got 2"):
        U.array_to_img(np.zeros((2, 2, 2)))
    with pytest.warns(UserWarning, match="JPEG has no alpha channel"):
        U.save_img(tmp_path / "a.jpg", np.zeros((4, 4, 4)))


@needs_keras
@pytest.mark.parametrize("kwargs", [{}, {"color_mode": "grayscale"}, {"color_mode": "rgba"},
                                    {"target_size": (17, 23), "interpolation": "bilinear"},
                                    {"target_size": (20, 20), "keep_aspect_ratio": True, "interpolation": "bicubic"}])
def test_equal_to_keras(photo, kwargs):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    path, x = photo
    want = real.utils.img_to_array(real.utils.load_img(path, **kwargs))
    np.testing.assert_array_equal(U.img_to_array(U.load_img(path, **kwargs)), want)
    np.testing.assert_array_equal(U.img_to_array(U.array_to_img(want * 0.5)),
                                  real.utils.img_to_array(real.utils.array_to_img(want * 0.5)))
