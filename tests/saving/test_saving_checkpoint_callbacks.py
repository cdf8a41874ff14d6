"""ModelCheckpoint (file name formatting, best-only, weights-only, batch frequency) and
BackupAndRestore (an interrupted fit resumed to the same result)."""
import os

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.callbacks import BackupAndRestore, Callback, ModelCheckpoint


def small_model():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="relu"), layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def data(n=32):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32"))


def test_epoch_and_metric_fields_in_filepath(tmp_path):
    x, y = data()
    model = small_model()
    pattern = str(tmp_path / "ck-{epoch:02d}-{val_loss:.2f}.weights.h5")
    hist = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                     callbacks=[ModelCheckpoint(pattern, save_weights_only=True)])
    names = sorted(os.listdir(tmp_path))
    want = sorted(f"ck-{e + 1:02d}-{v:.2f}.weights.h5" for e, v in enumerate(hist.history["val_loss"]))
    assert names == want
    last = small_model()
    last.load_weights(tmp_path / want[-1])          # epoch 3's file holds the final weights
    np.testing.assert_array_equal(last.get_weights()[0], model.get_weights()[0])


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    x, y = data()
    model = small_model()

    class Record(Callback):
        def __init__(self):
            super().__init__()
            self.snapshots = []

        def on_epoch_end(self, epoch, logs=None):
            self.snapshots.append((logs["val_loss"], self.model.get_weights()))

    rec = Record()
    model.fit(x, y, epochs=4, batch_size=8, validation_split=0.25, verbose=0,
              callbacks=[ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_loss",
                                         save_best_only=True, mode="min"), rec])
    best_loss, best_weights = min(rec.snapshots, key=lambda s: s[0])
    restored = keras.models.load_model(tmp_path / "best.keras")
    for a, b in zip(best_weights, restored.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert os.listdir(tmp_path) == ["best.keras"]


def test_initial_value_threshold_and_max_mode(tmp_path):
    x, y = data()
    model = small_model()
    cb = ModelCheckpoint(str(tmp_path / "m.keras"), monitor="val_loss", save_best_only=True,
                         mode="max", initial_value_threshold=1e9)
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[cb])
    assert not os.path.exists(tmp_path / "m.keras")     # nothing beat the threshold
    with pytest.warns(UserWarning, match="only with nope available"):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[
            ModelCheckpoint(str(tmp_path / "n.keras"), monitor="nope", save_best_only=True)])


def test_save_freq_in_batches(tmp_path):
    x, y = data(32)
    model = small_model()
    cb = ModelCheckpoint(str(tmp_path / "b-{epoch}-{batch}.weights.h5"), save_weights_only=True,
                         save_freq=3)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[cb])
    # 4 batches per epoch, 8 in all: saves after batches 3 and 6 (epoch 2, batch 2)
    assert sorted(os.listdir(tmp_path)) == ["b-1-3.weights.h5", "b-2-2.weights.h5"]


def test_bad_arguments():
    with pytest.raises(ValueError, match=".weights.h5"):
        ModelCheckpoint("x.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=".keras"):
        ModelCheckpoint("x.h5")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("x.keras", save_freq=0)
    with pytest.raises(ValueError, match="cannot fill in"):
        m = small_model()
        x, y = data(8)
        m.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint("{nope}.keras")])


class Crash(Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_backup_and_restore_resumes_to_the_uninterrupted_result(tmp_path):
    x, y = data()
    keras.set_random_seed(5)
    straight = small_model()
    straight.fit(x, y, epochs=4, batch_size=8, shuffle=True, verbose=0)

    keras.set_random_seed(5)
    model = small_model()
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=8, shuffle=True, verbose=0,
                  callbacks=[BackupAndRestore(backup), Crash(2)])
    assert os.listdir(backup) == ["latest.weights.h5"]
    # a fresh process would rebuild the model (advancing the generator differently)
    keras.set_random_seed(123)
    again = small_model()
    epochs_run = []
    hist = again.fit(x, y, epochs=4, batch_size=8, shuffle=True, verbose=0,
                     callbacks=[BackupAndRestore(backup),
                                keras.callbacks.LambdaCallback(
                                    on_epoch_begin=lambda e, logs=None: epochs_run.append(e))])
    assert epochs_run == [2, 3] and len(hist.history["loss"]) == 2
    for a, b in zip(straight.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not os.path.exists(os.path.join(backup, "latest.weights.h5"))   # deleted when done
