"""Validation inside ``fit`` drives the callbacks' ``on_test_*`` hooks, as Keras 3 does
(its ``fit`` runs ``evaluate`` with the same callback list).

The expected sequences were recorded from Keras 3.15 (torch backend) with the recording
callback below; ``test_sequence_matches_real_keras`` re-derives them when Keras is installed.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kerasette as keras

_TRAIN = [["epoch_begin", "E", []],
          ["train_batch_begin", 0, []], ["train_batch_end", 0, ["loss", "mae"]],
          ["train_batch_begin", 1, []], ["train_batch_end", 1, ["loss", "mae"]]]


def _val(steps):
    out = [["test_begin", None, []]]
    for i in range(steps):
        out += [["test_batch_begin", i, []], ["test_batch_end", i, ["loss", "mae"]]]
    return out + [["test_end", None, ["loss", "mae"]]]


def _epoch(e, val_steps):
    ev = [[name, e if idx == "E" else idx, keys] for name, idx, keys in _TRAIN]
    if val_steps:
        return ev + _val(val_steps) + [["epoch_end", e, ["loss", "mae", "val_loss", "val_mae"]]]
    return ev + [["epoch_end", e, ["loss", "mae"]]]


# what Keras 3 gave: (hook, batch or epoch index, sorted logs keys)
KERAS_SEQUENCES = {
    # 4 training samples, batch 2; validation_data of 2 samples: one validation batch
    "data": ([["train_begin", None, []]] + _epoch(0, 1) + _epoch(1, 1)
             + [["train_end", None, ["loss", "mae", "val_loss", "val_mae"]]]),
    # 6 samples, validation_split=0.5, batch 2: two training and two validation batches
    "split": ([["train_begin", None, []]] + _epoch(0, 2) + _epoch(1, 2)
              + [["train_end", None, ["loss", "mae", "val_loss", "val_mae"]]]),
    # validation_freq=2 over 3 epochs: only the second epoch validates
    "freq": ([["train_begin", None, []]] + _epoch(0, 0) + _epoch(1, 1) + _epoch(2, 0)
             + [["train_end", None, ["loss", "mae"]]]),
}

# the recording script, run with kerasette here and with Keras in a subprocess
SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np

    def run(keras, mode):
        class Rec(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.events, self.values = [], []

            def _r(self, name, idx, logs):
                self.events.append([name, idx, None if logs is None else sorted(logs)])
                if name in ("test_end", "epoch_end"):
                    self.values.append({k: float(v) for k, v in logs.items()})

        for hook in ["train_begin", "train_end", "test_begin", "test_end"]:
            setattr(Rec, "on_" + hook, (lambda h: lambda self, logs=None: self._r(h, None, logs))(hook))
        for hook in ["epoch_begin", "epoch_end", "train_batch_begin", "train_batch_end",
                     "test_batch_begin", "test_batch_end"]:
            setattr(Rec, "on_" + hook, (lambda h: lambda self, i, logs=None: self._r(h, i, logs))(hook))

        rng = np.random.default_rng(0)
        x = rng.normal(size=(6, 3)).astype("float32")
        y = rng.normal(size=(6, 1)).astype("float32")
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        rec = Rec()
        if mode == "data":
            model.fit(x[:4], y[:4], batch_size=2, epochs=2, validation_data=(x[4:], y[4:]),
                      callbacks=[rec], verbose=0)
        elif mode == "split":
            model.fit(x, y, batch_size=2, epochs=2, validation_split=0.5, callbacks=[rec], verbose=0)
        else:
            model.fit(x[:4], y[:4], batch_size=2, epochs=3, validation_data=(x[4:], y[4:]),
                      validation_freq=2, callbacks=[rec], verbose=0)
        return rec

    if __name__ == "__main__":
        import os
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras
        print(json.dumps({m: run(keras, m).events for m in ("data", "split", "freq")}))
""")


def _run_kerasette(mode):
    namespace = {}
    exec(compile(SCRIPT, "<recording>", "exec"), namespace)
    return namespace["run"](keras, mode)


@pytest.mark.parametrize("mode", sorted(KERAS_SEQUENCES))
def test_sequence_matches_keras(mode):
    rec = _run_kerasette(mode)
    assert rec.events == KERAS_SEQUENCES[mode]


@pytest.mark.parametrize("mode", ["data", "split"])
def test_test_end_logs_are_the_epoch_val_logs(mode):
    rec = _run_kerasette(mode)
    # values are recorded at test_end then epoch_end, alternately
    for test_logs, epoch_logs in zip(rec.values[0::2], rec.values[1::2]):
        assert test_logs == {k[4:]: v for k, v in epoch_logs.items() if k.startswith("val_")}


def test_evaluate_alone_unchanged():
    seen = []
    cb = keras.callbacks.LambdaCallback(on_test_begin=lambda logs: seen.append("begin"),
                                        on_test_end=lambda logs: seen.append("end"))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.evaluate(np.ones((4, 3)), np.ones((4, 1)), callbacks=[cb], verbose=0)
    assert seen == ["begin", "end"]


def test_validation_shows_no_progress_bar_of_its_own(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, validation_split=0.5, verbose=2)
    out = capsys.readouterr().out
    assert out.count("val_loss") == 1


def test_sequence_matches_real_keras():
    import importlib.util
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
        pytest.skip("Keras 3 (torch backend) is not installed")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    real = json.loads(proc.stdout.strip().splitlines()[-1])
    assert real == KERAS_SEQUENCES
    for mode in real:
        assert _run_kerasette(mode).events == real[mode]
