"""Nothing is lost or half-loaded: validation before assignment, clear errors for bad
files, atomic writes (including a process killed in the middle of a save)."""
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.saving import WeightsFileError, WeightsMismatchError


def mlp(hidden=8, out=3, extra=False):
    stack = [keras.Input((6,)), layers.Dense(hidden, activation="relu"), layers.Dense(5)]
    if extra:
        stack.append(layers.Dense(5))
    stack.append(layers.Dense(out))
    return keras.Sequential(stack)


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def saved(tmp_path):
    model = mlp()
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    return model, path


# -- mismatches ---------------------------------------------------------------------

def test_shape_mismatch_lists_every_layer_and_leaves_model_untouched(saved):
    _, path = saved
    model = mlp(hidden=7)               # the first two layers no longer fit, the last does
    before = model.get_weights()
    with pytest.raises(WeightsMismatchError) as err:
        model.load_weights(path)
    msg = str(err.value)
    assert "2 problem(s)" in msg
    assert "Dense 'dense_3'" in msg and "[(6, 7), (7,)]" in msg and "[(6, 8), (8,)]" in msg
    assert "Dense 'dense_4'" in msg and "[(7, 5), (5,)]" in msg and "[(8, 5), (5,)]" in msg
    assert "layers/dense_2" not in msg             # the layer that fits is not blamed
    assert "array([" not in msg and "dtype" not in msg and len(msg) < 1500   # shapes, never values
    assert same(before, model.get_weights())      # not even the fitting layer was assigned


def test_missing_and_extra_layers_are_errors(saved, tmp_path):
    _, path = saved
    bigger = mlp(extra=True)
    before = bigger.get_weights()
    with pytest.raises(WeightsMismatchError, match="found nothing"):
        bigger.load_weights(path)
    assert same(before, bigger.get_weights())
    bigger.save_weights(tmp_path / "big.weights.h5")
    small = mlp()
    with pytest.raises(WeightsMismatchError, match="no layer"):
        small.load_weights(tmp_path / "big.weights.h5")


def test_skip_mismatch_loads_the_rest_and_warns_with_names(saved):
    source, path = saved
    model = mlp(out=4)
    last = model.layers[-1].get_weights()
    with pytest.warns(UserWarning, match="(?s)skipped 1 layer.*Dense 'dense_5'"):
        model.load_weights(path, skip_mismatch=True)
    assert same(source.layers[0].get_weights(), model.layers[0].get_weights())
    assert same(source.layers[1].get_weights(), model.layers[1].get_weights())
    assert same(last, model.layers[-1].get_weights())


def test_by_name_keras3_file_and_no_match_is_an_error(tmp_path):
    src = keras.Sequential([keras.Input((6,)), layers.Dense(4, name="enc"), layers.Dense(2, name="head")])
    src.save_weights(tmp_path / "a.weights.h5")
    # a different stack: only 'head' has a namesake (and a different position)
    dst = keras.Sequential([keras.Input((6,)), layers.Dense(3, name="other"), layers.Dense(4, name="x"),
                            layers.Dense(2, name="head")])
    with pytest.raises(WeightsMismatchError):
        dst.load_weights(tmp_path / "a.weights.h5")
    other = dst.get_layer("other").get_weights()
    dst.load_weights(tmp_path / "a.weights.h5", by_name=True, skip_mismatch=True)
    assert same(src.get_layer("head").get_weights(), dst.get_layer("head").get_weights())
    assert same(other, dst.get_layer("other").get_weights())
    nobody = keras.Sequential([keras.Input((6,)), layers.Dense(4, name="p"), layers.Dense(2, name="q")])
    with pytest.raises(WeightsMismatchError, match="no layer .* has a namesake"):
        nobody.load_weights(tmp_path / "a.weights.h5", by_name=True)


def test_unbuilt_subclassed_model_gets_a_clear_error(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.body = layers.Dense(3)

        def call(self, x):
            return self.body(x)

    built = Net()
    built(np.zeros((1, 4), "float32"))
    built.save_weights(tmp_path / "n.weights.h5")
    with pytest.raises(WeightsMismatchError, match="not built"):
        Net().load_weights(tmp_path / "n.weights.h5")


# -- unreadable files -------------------------------------------------------------------

def _bad_files(tmp_path, good):
    data = open(good, "rb").read()
    files = {"empty": b"", "text": b"this is not a model\n", "truncated": data[: len(data) // 3],
             "header_only": data[:8]}
    out = {}
    for name, content in files.items():
        p = tmp_path / f"{name}.weights.h5"
        p.write_bytes(content)
        out[name] = p
    return out


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "header_only"])
def test_corrupt_weights_files_raise_clear_errors(saved, tmp_path, kind):
    model, path = saved
    bad = _bad_files(tmp_path, path)[kind]
    target = mlp()
    before = target.get_weights()
    with pytest.raises(WeightsFileError) as err:
        target.load_weights(bad)
    assert str(bad) in str(err.value)
    assert same(before, target.get_weights())


def test_missing_file_and_directory(tmp_path):
    model = mlp()
    with pytest.raises(FileNotFoundError, match="No such file"):
        model.load_weights(tmp_path / "nope.weights.h5")
    with pytest.raises(WeightsFileError, match="directory"):
        model.load_weights(tmp_path)
    with pytest.raises(WeightsFileError):
        keras.models.load_model(tmp_path / "nope.keras")


def test_empty_hdf5_and_weights_only_file_for_load_model(saved, tmp_path):
    model, path = saved
    with h5py.File(tmp_path / "blank.h5", "w"):
        pass
    with pytest.raises(WeightsFileError, match="no weights"):
        model.load_weights(tmp_path / "blank.h5")
    with pytest.raises(WeightsFileError, match="load_weights"):
        keras.models.load_model(path)


def test_corrupt_keras_archives(tmp_path):
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    good = tmp_path / "good.keras"
    model.save(good)
    data = good.read_bytes()
    (tmp_path / "trunc.keras").write_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as z:
        z.writestr("metadata.json", "{}")
    with zipfile.ZipFile(tmp_path / "badjson.keras", "w") as z:
        z.writestr("config.json", "{not json")
        z.writestr("model.weights.h5", b"")
    for name, match in [("trunc", "zip"), ("noconfig", "config.json"), ("badjson", "JSON")]:
        with pytest.raises(WeightsFileError, match=match):
            keras.models.load_model(tmp_path / f"{name}.keras")
    with pytest.raises(WeightsFileError):
        mlp().load_weights(tmp_path / "trunc.keras")


# -- writing --------------------------------------------------------------------------------

def test_writes_are_atomic_and_leave_no_temporaries(tmp_path, monkeypatch):
    model = mlp()
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    first = path.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["m.weights.h5"]
    with pytest.raises(FileExistsError):
        model.save_weights(path, overwrite=False)

    from kerasette.saving import h5_weights

    def broken(h5, model, include_optimizer=True):
        h5.create_group("layers/dense")
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(h5_weights, "write_weights", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        mlp().save_weights(path)
    assert path.read_bytes() == first
    assert sorted(os.listdir(tmp_path)) == ["m.weights.h5"]
    with pytest.raises(WeightsFileError, match="does not exist"):
        model.save_weights(tmp_path / "no" / "such" / "dir.weights.h5")


_KILLED_SAVE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import kerasette as keras
    from kerasette import layers
    from kerasette.saving import h5_weights
    import zipfile

    keras.set_random_seed(99)
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8), layers.Dense(5), layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    real = h5_weights.write_weights
    real_writestr = zipfile.ZipFile.writestr

    def stalled_h5(h5, model, include_optimizer=True):
        real(h5, model, include_optimizer)          # the data is in the temporary file...
        h5.flush()
        print("MIDWAY", flush=True)                # ...when the process dies
        time.sleep(120)

    def stalled_zip(self, name, data, *a, **k):
        real_writestr(self, name, data, *a, **k)
        self.fp.flush()
        print("MIDWAY", flush=True)
        time.sleep(120)

    if sys.argv[2] == "weights":
        h5_weights.write_weights = stalled_h5
        model.save_weights(sys.argv[1])
    else:
        zipfile.ZipFile.writestr = stalled_zip
        model.save(sys.argv[1])
""")


@pytest.mark.parametrize("kind", ["weights", "keras"])
def test_process_killed_mid_save_keeps_previous_checkpoint(tmp_path, kind):
    model = mlp()
    model.compile(optimizer="adam", loss="mse")
    name = "ckpt.weights.h5" if kind == "weights" else "ckpt.keras"
    path = tmp_path / name
    if kind == "weights":
        model.save_weights(path)
    else:
        model.save(path)
    before = path.read_bytes()
    script = tmp_path / "killed_save.py"
    script.write_text(_KILLED_SAVE)
    proc = subprocess.Popen([sys.executable, str(script), str(path), kind], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "MIDWAY", proc.stderr.read()
        temps = [p for p in os.listdir(tmp_path) if p.startswith(f".{name}.tmp-")]
        assert len(temps) == 1 and os.path.getsize(tmp_path / temps[0]) > 0   # mid-write for real
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    fresh = mlp()
    fresh.load_weights(path)
    assert same(model.get_weights(), fresh.get_weights())
