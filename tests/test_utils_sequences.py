"""keras.utils data helpers: pad_sequences, timeseries_dataset_from_array, split_dataset.

Expected values were produced by Keras 3.15 (KERAS_BACKEND=torch); one test repeats the
comparison live on random cases when Keras is installed."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kerasette as keras
from kerasette.utils import pad_sequences, split_dataset, timeseries_dataset_from_array

SEQS = [[1, 2, 3], [4, 5], [6], [], [7, 8, 9, 10]]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[0, 1, 2, 3], [0, 0, 4, 5], [0, 0, 0, 6], [0, 0, 0, 0], [7, 8, 9, 10]]),
    ({"maxlen": 2}, [[2, 3], [4, 5], [0, 6], [0, 0], [9, 10]]),
    ({"maxlen": 6}, [[0, 0, 0, 1, 2, 3], [0, 0, 0, 0, 4, 5], [0, 0, 0, 0, 0, 6], [0] * 6,
                     [0, 0, 7, 8, 9, 10]]),
    ({"padding": "post"}, [[1, 2, 3, 0], [4, 5, 0, 0], [6, 0, 0, 0], [0, 0, 0, 0], [7, 8, 9, 10]]),
    ({"truncating": "post", "maxlen": 2}, [[1, 2], [4, 5], [0, 6], [0, 0], [7, 8]]),
    ({"padding": "post", "truncating": "post", "maxlen": 3, "value": -1},
     [[1, 2, 3], [4, 5, -1], [6, -1, -1], [-1, -1, -1], [7, 8, 9]]),
])
def test_pad_sequences_matches_keras(kwargs, expected):
    out = pad_sequences(SEQS, **kwargs)
    assert out.dtype == np.int32
    assert out.tolist() == expected


def test_pad_sequences_dtype_value_vectors_and_text():
    out = pad_sequences(SEQS, dtype="float32", value=0.5)
    assert out.dtype == np.float32 and out[3].tolist() == [0.5] * 4 and out[1].tolist() == [0.5, 0.5, 4, 5]
    vec = pad_sequences([np.ones((2, 3)), np.zeros((1, 3))], maxlen=3, dtype="float32")
    assert vec.shape == (2, 3, 3) and vec[0, 0].tolist() == [0, 0, 0] and vec[0, 1:].min() == 1
    text = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert text.tolist() == [["a", "b"], ["<pad>", "c"]]
    assert keras.utils.pad_sequences is pad_sequences


@pytest.mark.parametrize("kwargs", [{"padding": "mid"}, {"truncating": "x", "maxlen": 1}])
def test_pad_sequences_refuses_unknown_modes(kwargs):
    with pytest.raises(ValueError, match="pre"):
        pad_sequences(SEQS, **kwargs)


def test_pad_sequences_refuses_text_value_for_numbers_and_non_iterables():
    with pytest.raises(ValueError, match="dtype"):
        pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="iterable"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="shape"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


_KERAS_SCRIPT = r"""
import json, sys, numpy as np
from keras.utils import pad_sequences
cases = json.loads(sys.stdin.read())
print(json.dumps([pad_sequences(c["seqs"], **c["kw"]).tolist() for c in cases]))
"""


def test_pad_sequences_against_keras_on_random_cases():
    env = dict(os.environ, KERAS_BACKEND="torch")
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(30):
        seqs = [rng.integers(1, 9, rng.integers(0, 7)).tolist() for _ in range(rng.integers(1, 6))]
        if not any(seqs):
            seqs[0] = [1]
        kw = {"padding": str(rng.choice(["pre", "post"])), "truncating": str(rng.choice(["pre", "post"])),
              "value": int(rng.integers(-2, 2))}
        if rng.random() < 0.7:
            kw["maxlen"] = int(rng.integers(1, 7))
        cases.append({"seqs": seqs, "kw": kw})
    out = subprocess.run([sys.executable, "-c", _KERAS_SCRIPT], input=json.dumps(cases), env=env,
                         capture_output=True, text=True, timeout=120)
    if out.returncode and "ModuleNotFoundError" in out.stderr:
        pytest.skip("Keras (torch backend) is not installed")
    assert out.returncode == 0, out.stderr[-2000:]
    expected = json.loads(out.stdout.strip().splitlines()[-1])
    for case, want in zip(cases, expected):
        assert pad_sequences(case["seqs"], **case["kw"]).tolist() == want, case


def _windows(data, targets, length, stride, rate, start, end):
    """Independent reference: a plain loop over window starts."""
    xs, ys = [], []
    p = 0
    while start + p + (length - 1) * rate < end and (targets is None or p < len(targets)):
        xs.append([data[start + p + k * rate] for k in range(length)])
        if targets is not None:
            ys.append(targets[start + p])
        p += stride
    return np.asarray(xs), np.asarray(ys)


def test_timeseries_dataset_keras_docs_example():
    # Keras's documented example: windows of 10 steps, the target is the step after the window
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = ds[0]
    assert len(ds) == 1 and inputs.shape == (81, 10)
    np.testing.assert_array_equal(inputs[0], data[:10])
    assert targets[0] == data[10]
    # sampling_rate and the "predict 6 steps ahead" layout from the docs
    x = np.arange(50)
    ds = timeseries_dataset_from_array(x, None, sequence_length=5, sampling_rate=2, batch_size=4)
    assert ds[0].tolist()[1] == [1, 3, 5, 7, 9]


@pytest.mark.parametrize("kw", [
    dict(sequence_length=4, sequence_stride=1, sampling_rate=1, start_index=None, end_index=None),
    dict(sequence_length=3, sequence_stride=2, sampling_rate=3, start_index=5, end_index=40),
    dict(sequence_length=1, sequence_stride=7, sampling_rate=1, start_index=3, end_index=None),
])
def test_timeseries_dataset_equals_a_plain_loop(kw):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((48, 2)).astype("float32")
    targets = np.arange(48) * 10
    ds = timeseries_dataset_from_array(data, targets, batch_size=5, **kw)
    xs = np.concatenate([ds[i][0] for i in range(len(ds))])
    ys = np.concatenate([ds[i][1] for i in range(len(ds))])
    ref_x, ref_y = _windows(data, targets, kw["sequence_length"], kw["sequence_stride"], kw["sampling_rate"],
                            kw["start_index"] or 0, kw["end_index"] or len(data))
    np.testing.assert_array_equal(xs, ref_x)
    np.testing.assert_array_equal(ys, ref_y)
    assert all(len(ds[i][0]) == 5 for i in range(len(ds) - 1))


def test_timeseries_dataset_shuffle_unbatched_and_short_targets():
    data = np.arange(30)
    ds = timeseries_dataset_from_array(data, data, sequence_length=3, shuffle=True, seed=7, batch_size=None)
    pairs = [ds[i] for i in range(len(ds))]
    assert len(pairs) == 28 and pairs[0][0].shape == (3,)
    assert all(x[0] == y for x, y in pairs)                       # windows stay with their targets
    assert sorted(int(x[0]) for x, _ in pairs) == list(range(28))
    assert [int(x[0]) for x, _ in pairs] != list(range(28))
    again = timeseries_dataset_from_array(data, data, sequence_length=3, shuffle=True, seed=7, batch_size=None)
    assert [int(again[i][0][0]) for i in range(28)] == [int(x[0]) for x, _ in pairs]
    short = timeseries_dataset_from_array(data, data[:5], sequence_length=3, batch_size=None)
    assert len(short) == 5                                         # as many windows as targets


@pytest.mark.parametrize("kwargs, match", [
    (dict(start_index=-1), "start_index"), (dict(start_index=30), "start_index"),
    (dict(start_index=5, end_index=5), "end_index"), (dict(end_index=30), "end_index"),
    (dict(sampling_rate=0), "sampling_rate"), (dict(sequence_stride=30), "sequence_stride"),
    (dict(sequence_length=0), "sequence_length"),
])
def test_timeseries_dataset_argument_errors(kwargs, match):
    kw = dict(sequence_length=3)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        timeseries_dataset_from_array(np.arange(30), None, **kw)


def test_timeseries_dataset_trains_a_model():
    series = np.sin(np.arange(200) / 5).astype("float32")[:, None]
    ds = timeseries_dataset_from_array(series[:-5], series[5:, 0], sequence_length=5, batch_size=32)
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    h = model.fit(ds, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3 and h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(ds, verbose=0).shape == (191, 1)


def test_split_dataset_sizes_as_keras():
    x, y = np.arange(10), np.arange(10) * 2
    left, right = split_dataset((x, y), left_size=0.8)
    assert len(left) == 8 and len(right) == 2
    assert left.arrays[0].tolist() == list(range(8)) and right.arrays[1].tolist() == [16, 18]
    left, right = split_dataset(x, right_size=3)
    assert left.arrays.tolist() == list(range(7)) and right.arrays.tolist() == [7, 8, 9]
    left, right = split_dataset(x, left_size=2, right_size=3)     # the middle is dropped
    assert left.arrays.tolist() == [0, 1] and right.arrays.tolist() == [7, 8, 9]
    left, right = split_dataset(x, left_size=0.25)                 # round(2.5) == 2, as Keras
    assert len(left) == 2 and len(right) == 8
    assert [s for s in split_dataset([x, y], left_size=0.5)[0]][1] == (1, 2)


def test_split_dataset_shuffle_is_keras_seeded_permutation():
    import random
    x = np.arange(20)
    left, right = split_dataset(x, left_size=0.5, shuffle=True, seed=3)
    order = list(range(20))
    random.Random(3).shuffle(order)                                # what Keras draws for seed=3
    assert left.arrays.tolist() == order[:10] and right.arrays.tolist() == order[10:]


@pytest.mark.parametrize("kwargs, error", [
    ({}, ValueError), ({"left_size": 0, "right_size": 0}, ValueError), ({"left_size": 10}, ValueError),
    ({"left_size": 1.5}, ValueError), ({"left_size": 0.6, "right_size": 0.6}, ValueError),
    ({"left_size": "half"}, TypeError), ({"left_size": 6, "right_size": 5}, ValueError),
    ({"left_size": 0.01}, ValueError),
])
def test_split_dataset_size_errors(kwargs, error):
    with pytest.raises(error):
        split_dataset(np.arange(10), **kwargs)


def test_split_dataset_halves_train_and_validate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    train, val = split_dataset((x, y), left_size=0.75, shuffle=True, seed=0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    h = model.fit(train.batch(8), validation_data=val.batch(8), epochs=2, verbose=0)
    assert sorted(h.history) == ["loss", "val_loss"]
    with pytest.raises(ValueError, match=r"batch\(32\)"):
        model.fit(train, verbose=0)


# -- image_dataset_from_directory ------------------------------------------------------------

@pytest.fixture
def image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    colors = {"blue": (0, 0, 255), "red": (255, 0, 0)}
    for name, color in colors.items():
        for i in range(5 if name == "red" else 3):
            sub = tmp_path / name / ("nested" if i == 0 else "")
            sub.mkdir(parents=True, exist_ok=True)
            size = (6, 4) if name == "red" else (8, 8)                   # (width, height)
            Image.new("RGB", size, color).save(sub / f"img_{i}.{'png' if i % 2 else 'bmp'}")
    (tmp_path / "red" / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_dataset_classes_labels_and_shapes(image_folder, capsys):
    ds = keras.utils.image_dataset_from_directory(image_folder, image_size=(4, 4), batch_size=3, seed=1)
    assert "Found 8 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["blue", "red"] and len(ds) == 3 and len(ds.file_paths) == 8
    images, labels = zip(*(ds[i] for i in range(len(ds))))
    images, labels = np.concatenate(images), np.concatenate(labels)
    assert images.shape == (8, 4, 4, 3) and images.dtype == np.float32 and labels.dtype == np.int32
    # every image is its class's colour: the labels travel with their files
    np.testing.assert_allclose(images[labels == 0][..., 2], 255)
    np.testing.assert_allclose(images[labels == 1][..., 0], 255)
    assert sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1, 1, 1]
    ordered = keras.utils.image_dataset_from_directory(image_folder, image_size=4, shuffle=False,
                                                       verbose=False, batch_size=None)
    assert [os.path.relpath(p, image_folder) for p in ordered.file_paths][:3] == [
        os.path.join("blue", "img_1.png"), os.path.join("blue", "img_2.bmp"),
        os.path.join("blue", "nested", "img_0.bmp")]
    assert ordered[0][0].shape == (4, 4, 3) and int(ordered[0][1]) == 0


def test_image_dataset_label_modes_colour_modes_and_layout(image_folder):
    kw = dict(image_size=(2, 3), shuffle=False, verbose=False, batch_size=8)
    x, y = keras.utils.image_dataset_from_directory(image_folder, label_mode="categorical", **kw)[0]
    assert y.shape == (8, 2) and y.dtype == np.float32 and y.sum(axis=1).tolist() == [1] * 8
    x, y = keras.utils.image_dataset_from_directory(image_folder, label_mode="binary", **kw)[0]
    assert y.shape == (8, 1) and y[:, 0].tolist() == [0] * 3 + [1] * 5
    x = keras.utils.image_dataset_from_directory(image_folder, label_mode=None, color_mode="grayscale", **kw)[0]
    assert x.shape == (8, 2, 3, 1)
    x, _ = keras.utils.image_dataset_from_directory(image_folder, color_mode="rgba",
                                                    data_format="channels_first", **kw)[0]
    assert x.shape == (8, 4, 2, 3) and np.all(x[:, 3] == 255)
    x, y = keras.utils.image_dataset_from_directory(image_folder, class_names=["red"], **kw)[0]
    assert len(x) == 5 and y.tolist() == [0] * 5


def test_image_dataset_validation_split_is_disjoint(image_folder):
    kw = dict(image_size=4, validation_split=0.25, seed=3, verbose=False)
    train, val = keras.utils.image_dataset_from_directory(image_folder, subset="both", **kw)
    assert len(train.file_paths) == 6 and len(val.file_paths) == 2
    assert sorted(train.file_paths + val.file_paths) == sorted(
        keras.utils.image_dataset_from_directory(image_folder, image_size=4, verbose=False).file_paths)
    assert keras.utils.image_dataset_from_directory(image_folder, subset="validation", **kw).file_paths == val.file_paths
    with pytest.raises(ValueError, match="seed"):
        keras.utils.image_dataset_from_directory(image_folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="together"):
        keras.utils.image_dataset_from_directory(image_folder, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="2 classes"):
        keras.utils.image_dataset_from_directory(image_folder, label_mode="binary", class_names=["red"])


def test_image_resize_follows_tensorflow_conventions():
    from kerasette.utils.image_dataset import _fit_aspect, _resize
    row = np.array([[[0.0], [1.0]]], dtype="float32")                     # 1 x 2
    np.testing.assert_allclose(_resize(row, (1, 4), "bilinear")[0, :, 0], [0, 0.25, 0.75, 1])
    np.testing.assert_allclose(_resize(row, (1, 4), "nearest")[0, :, 0], [0, 0, 1, 1])
    img = np.arange(16, dtype="float32").reshape(4, 4, 1)
    np.testing.assert_allclose(_resize(img, (2, 2), "bilinear")[..., 0], [[2.5, 4.5], [10.5, 12.5]])
    wide = np.ones((2, 6, 1), "float32")
    assert _fit_aspect(wide, (2, 2), crop=True, pad=False).shape == (2, 2, 1)
    padded = _fit_aspect(wide, (2, 2), crop=False, pad=True)
    assert padded.shape == (6, 6, 1) and padded[2:4].min() == 1 and padded[:2].max() == 0


def test_image_dataset_trains_a_convnet(image_folder):
    ds = keras.utils.image_dataset_from_directory(image_folder, image_size=(8, 8), batch_size=4, seed=0,
                                                  verbose=False)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(ds, epochs=2, verbose=0)
    assert len(h.history["accuracy"]) == 2
