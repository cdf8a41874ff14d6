"""The Keras 3 built-in callbacks (issue 15, item 5): CSVLogger, ReduceLROnPlateau, RemoteMonitor,
TensorBoard, and the arguments of EarlyStopping, LearningRateScheduler, TerminateOnNaN and
LambdaCallback. Where Keras 3 is installed, the monitor logic is driven side by side with
Keras's own callbacks on the same sequence of logged values."""
import csv
import glob
import http.server
import json
import os
import struct
import threading
import types
import urllib.parse

import numpy as np
import pytest

import kerasette as keras

os.environ.setdefault("KERAS_BACKEND", "torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")   # Keras 3 on torch, numpy 2


def small_model(lr=0.05, optimizer=None):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    m.compile(optimizer or keras.optimizers.SGD(lr), "mse", metrics=["mae"])
    return m


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


class FakeModel:
    """What a monitor callback touches: an optimizer and stop_training."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.stop_training = False


def drive(cb, values, monitor="val_loss", model=None):
    """Run ``cb`` over epochs whose logs hold ``values``; returns the learning rate after each epoch
    and the epoch training stopped at (None if it did not)."""
    cb.set_model(model)
    cb.on_train_begin({})
    lrs, stopped = [], None
    for epoch, v in enumerate(values):
        cb.on_epoch_begin(epoch, {})
        cb.on_epoch_end(epoch, {"loss": 1.0, monitor: v})
        lrs.append(float(np.asarray(model.optimizer.learning_rate)))
        if model.stop_training:
            stopped = epoch
            break
    cb.on_train_end({})
    return lrs, stopped


def keras3():
    return pytest.importorskip("keras", reason="Keras 3 cross-check")


PLATEAU = [1.0, 0.9, 0.9, 0.9, 0.85, 0.85, 0.85, 0.85, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]


# ---- CSVLogger --------------------------------------------------------------------------------
def test_csv_logger_header_rows_and_append(tmp_path):
    path = tmp_path / "log.csv"
    x, y = data()
    m = small_model()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y),
          callbacks=[keras.callbacks.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    h = m.history.history
    assert float(rows[2][1]) == pytest.approx(h["loss"][1]) and float(rows[2][4]) == pytest.approx(h["val_mae"][1])
    # append: no second header, epochs continue
    m.fit(x, y, epochs=3, initial_epoch=2, batch_size=8, verbose=0, validation_data=(x, y),
          callbacks=[keras.callbacks.CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2"]
    # without append the file starts over
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, validation_data=(x, y),
          callbacks=[keras.callbacks.CSVLogger(path)])
    assert len(list(csv.reader(open(path)))) == 2


def test_csv_logger_separator_and_missing_validation_columns(tmp_path):
    path = tmp_path / "log.tsv"
    x, y = data()
    seen = []
    # a row is on disk as soon as its epoch ends (flushed), before training ends
    spy = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(open(path).read()))
    small_model().fit(x, y, epochs=2, batch_size=8, verbose=0,
                      callbacks=[keras.callbacks.CSVLogger(path, separator="\t"), spy])
    lines = open(path).read().splitlines()
    assert lines[0].split("\t") == ["epoch", "loss", "mae", "val_loss", "val_mae"]   # as Keras: NA columns
    assert lines[1].split("\t")[3:] == ["NA", "NA"]
    assert seen[0].count("\n") == 2 and seen[1].count("\n") == 3


def test_csv_logger_matches_keras(tmp_path):
    k3 = keras3()
    logs = [{"loss": 0.5, "accuracy": np.float32(0.25), "vec": np.array([1.0, 2.0])},
            {"loss": 0.25, "accuracy": 0.5, "vec": [3, 4]}]
    out = {}
    for name, cls in (("ours", keras.callbacks.CSVLogger), ("keras", k3.callbacks.CSVLogger)):
        cb = cls(str(tmp_path / f"{name}.csv"), separator=";")
        cb.on_train_begin({})
        for e, lg in enumerate(logs):
            cb.on_epoch_end(e, dict(lg))
        cb.on_train_end({})
        out[name] = open(tmp_path / f"{name}.csv").read()
    assert out["ours"] == out["keras"]


# ---- ReduceLROnPlateau ------------------------------------------------------------------------
def test_reduce_lr_on_plateau_reduces_with_cooldown_and_floor():
    cb = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02, min_delta=0.01)
    lrs, _ = drive(cb, PLATEAU, model=FakeModel(keras.optimizers.SGD(0.1)))
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02,
                                 0.02, 0.02, 0.02])


@pytest.mark.parametrize("kwargs", [dict(factor=0.5, patience=2, cooldown=1, min_lr=0.02, min_delta=0.01),
                                    dict(factor=0.2, patience=1, mode="max"),
                                    dict(patience=0, min_delta=0.06)])
def test_reduce_lr_on_plateau_matches_keras(kwargs):
    k3 = keras3()
    ours, _ = drive(keras.callbacks.ReduceLROnPlateau(**kwargs), PLATEAU,
                    model=FakeModel(keras.optimizers.SGD(0.1)))
    theirs, _ = drive(k3.callbacks.ReduceLROnPlateau(**kwargs), PLATEAU,
                      model=FakeModel(k3.optimizers.SGD(0.1)))
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_reduce_lr_on_plateau_in_fit_logs_the_rate():
    x, y = data()
    m = small_model(lr=1e-3)                        # the optimizer's rate: a plain float
    h = m.fit(x, y, epochs=4, batch_size=16, verbose=0,      # min_delta 1: never an improvement
              callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                                           min_delta=1.0)])
    # the rate in each epoch's logs is the one the epoch trained with (before that epoch's reduction)
    assert h.history["learning_rate"] == pytest.approx([1e-3, 1e-3, 5e-4, 2.5e-4])
    assert m.optimizer.learning_rate == pytest.approx(1.25e-4)


def test_reduce_lr_on_plateau_refuses_schedules_and_bad_factors():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        keras.callbacks.ReduceLROnPlateau(factor=1.0)
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    m = small_model(optimizer=keras.optimizers.SGD(sched))
    x, y = data()
    with pytest.raises(TypeError, match="LearningRateSchedule.*not settable"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss")])
    with pytest.raises(TypeError, match="not settable"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lambda e, lr: lr)])
    with pytest.raises(TypeError):
        keras.callbacks.ReduceLROnPlateau(epsilon=1e-4)       # no silently ignored keyword


def test_reduce_lr_on_plateau_warns_on_a_missing_monitor():
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_nope")
    with pytest.warns(UserWarning, match="val_nope.*not available"):
        drive(cb, [1.0], model=FakeModel(keras.optimizers.SGD(0.1)))


# ---- EarlyStopping ----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(patience=2), dict(patience=1, min_delta=0.06),
                                    dict(patience=2, baseline=0.86), dict(patience=1, start_from_epoch=3),
                                    dict(patience=3, mode="max")])
def test_early_stopping_matches_keras(kwargs):
    k3 = keras3()
    ours = keras.callbacks.EarlyStopping(**kwargs)
    theirs = k3.callbacks.EarlyStopping(**kwargs)
    a = drive(ours, PLATEAU, model=FakeModel(keras.optimizers.SGD(0.1)))[1]
    b = drive(theirs, PLATEAU, model=FakeModel(k3.optimizers.SGD(0.1)))[1]
    assert a == b
    assert (ours.best, ours.best_epoch, ours.wait) == (theirs.best, theirs.best_epoch, theirs.wait)


def test_early_stopping_restores_best_weights_at_train_end_and_says_so(capsys):
    x, y = data()
    m = small_model(lr=0.05)
    snaps = []
    rec = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snaps.append(m.get_weights()))
    # never stops (patience 10 > 3 epochs), yet the best epoch's weights come back (Keras 3)
    es = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True, verbose=1)
    h = m.fit(x, y, epochs=3, batch_size=8, validation_data=(x, -y), verbose=0, callbacks=[rec, es])
    best = int(np.argmin(h.history["val_loss"]))
    for a, b in zip(m.get_weights(), snaps[best]):
        np.testing.assert_array_equal(a, b)
    assert f"Restoring model weights from the end of the best epoch: {best + 1}." in capsys.readouterr().out


def test_early_stopping_warns_on_a_missing_monitor():
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_acc`"):
        drive(keras.callbacks.EarlyStopping(monitor="val_acc"), [1.0], monitor="other",
              model=FakeModel(keras.optimizers.SGD(0.1)))
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown"):
        keras.callbacks.EarlyStopping(mode="sideways")


# ---- LearningRateScheduler, TerminateOnNaN, LambdaCallback ------------------------------------
def test_learning_rate_scheduler_checks_its_schedule():
    with pytest.raises(TypeError, match="callable"):
        keras.callbacks.LearningRateScheduler(0.1)
    x, y = data()
    with pytest.raises(ValueError, match="should be a float"):
        small_model().fit(x, y, epochs=1, verbose=0,
                          callbacks=[keras.callbacks.LearningRateScheduler(lambda e, lr: "fast")])


def test_terminate_on_nan_raise_error():
    x, y = data()
    x[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        small_model().fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, check_finite=False,
                          callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])


def test_lambda_callback_takes_any_hook_by_name_and_refuses_typos():
    x, y = data()
    seen = []
    cb = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                                        on_test_end=lambda logs: seen.append("test_end"))
    m = small_model()
    m.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    m.evaluate(x, y, verbose=0, callbacks=[cb])
    assert seen == ["begin", "test_end"]
    with pytest.raises(TypeError, match="unknown hook 'on_epoch_ends'"):
        keras.callbacks.LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="must be a callable"):
        keras.callbacks.LambdaCallback(on_epoch_end=3)


def test_on_batch_end_is_the_alias_of_on_train_batch_end():
    class Old(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_batch_end(self, batch, logs=None):
            self.batches.append(batch)

    x, y = data()
    cb = Old()
    small_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    assert cb.batches == [0, 1, 0, 1]


# ---- RemoteMonitor ----------------------------------------------------------------------------
def _server(received):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Content-Type"), self.headers.get("X-Run"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("as_json", [False, True])
def test_remote_monitor_posts_each_epoch(as_json):
    received = []
    server = _server(received)
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}"
        x, y = data()
        small_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[
            keras.callbacks.RemoteMonitor(root=root, path="/ev/", field="payload", headers={"X-Run": "7"},
                                          send_as_json=as_json)])
    finally:
        server.shutdown()
    assert [r[0] for r in received] == ["/ev/", "/ev/"] and received[0][2] == "7"
    if as_json:
        assert received[1][1] == "application/json"
        sent = json.loads(received[1][3])
    else:
        sent = json.loads(urllib.parse.parse_qs(received[1][3].decode())["payload"][0])
    assert sent["epoch"] == 1 and set(sent) == {"epoch", "loss", "mae"}


def test_remote_monitor_warns_when_the_server_is_down():
    cb = keras.callbacks.RemoteMonitor(root="http://127.0.0.1:9")     # the discard port: refused
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        cb.on_epoch_end(0, {"loss": 1.0})


# ---- TensorBoard ------------------------------------------------------------------------------
def read_events(folder):
    """Every Event in the event files of ``folder``, read as TensorBoard reads them (TFRecord
    framing: length, its CRC, the serialized Event proto, its CRC)."""
    from tensorboardX.proto.event_pb2 import Event
    events = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        raw = open(path, "rb").read()
        i = 0
        while i < len(raw):
            (n,) = struct.unpack("<Q", raw[i:i + 8])
            events.append(Event.FromString(raw[i + 12:i + 12 + n]))
            i += 12 + n + 4
    return events


def scalars(folder):
    out = {}
    for ev in read_events(folder):
        for v in ev.summary.value:
            if v.HasField("simple_value"):
                out.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return out


def test_tensorboard_scalars_histograms_and_graph(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = data()
    m = small_model()
    tb = keras.callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=1, update_freq=1)
    h = m.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y), callbacks=[tb])
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    assert set(train) == {"epoch_loss", "epoch_mae", "epoch_learning_rate", "batch_loss", "batch_mae"}
    assert [s for s, _ in train["epoch_loss"]] == [0, 1]
    assert [v for _, v in train["epoch_loss"]] == pytest.approx(h.history["loss"])
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.05, 0.05])
    assert [s for s, _ in train["batch_loss"]] == [1, 2, 3, 4]           # the global batch count
    # validation inside fit runs on_test_end, which (as Keras's) also writes the
    # evaluation_*_vs_iterations scalars at the optimizer's iteration count
    assert set(val) == {"epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations",
                        "evaluation_mae_vs_iterations"}
    assert [v for _, v in val["epoch_mae"]] == pytest.approx(h.history["val_mae"])
    assert [s for s, _ in val["evaluation_mae_vs_iterations"]] == [2, 4]
    assert [v for _, v in val["evaluation_mae_vs_iterations"]] == pytest.approx(h.history["val_mae"])
    events = read_events(tmp_path / "train")
    hist = {(v.tag, ev.step): v.histo for ev in events for v in ev.summary.value if v.HasField("histo")}
    assert sorted({t for t, _ in hist}) == sorted(f"{w.path}/histogram" for w in m.weights)
    kernel = m.layers[0].kernel.numpy()
    last = hist[(f"{m.layers[0].kernel.path}/histogram", 1)]
    assert last.num == kernel.size and last.min == pytest.approx(kernel.min())
    assert last.sum == pytest.approx(kernel.sum(), rel=1e-5, abs=1e-6)
    graph = [v for ev in events for v in ev.summary.value if v.metadata.plugin_data.plugin_name == "graph_keras_model"]
    assert len(graph) == 1 and graph[0].tag == "keras"
    assert json.loads(graph[0].tensor.string_val[0])["class_name"] == "Sequential"


def test_tensorboard_epoch_only_and_evaluate(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = data()
    m = small_model()
    tb = keras.callbacks.TensorBoard(log_dir=str(tmp_path), write_graph=False)
    m.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[tb])
    train = scalars(tmp_path / "train")
    assert set(train) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}     # no batch_*, no graph
    assert not any(v.HasField("histo") for ev in read_events(tmp_path / "train") for v in ev.summary.value)
    m.evaluate(x, y, verbose=0, callbacks=[tb])
    val = scalars(tmp_path / "validation")
    assert set(val) == {"evaluation_loss_vs_iterations", "evaluation_mae_vs_iterations"}
    assert val["evaluation_loss_vs_iterations"][0][0] == m.optimizer.iterations == 6


def test_tensorboard_refuses_what_it_cannot_do(tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX")
    for kwargs, match in [(dict(update_freq="sometimes"), "update_freq"), (dict(histogram_freq=-1), "histogram_freq"),
                          (dict(write_images=True), "write_images"), (dict(profile_batch=2), "profile_batch"),
                          (dict(embeddings_freq=1), "embeddings")]:
        with pytest.raises(ValueError, match=match):
            keras.callbacks.TensorBoard(log_dir=tmp_path, **kwargs)
    import sys
    monkeypatch.setitem(sys.modules, "tensorboardX", None)          # as if not installed
    with pytest.raises(ImportError, match=r"pip install tensorboardX"):
        keras.callbacks.TensorBoard(log_dir=tmp_path)


def test_the_keras_callbacks_kerasette_lacks_say_why():
    with pytest.raises(AttributeError, match="SwapEMAWeights is not available.*moving average"):
        keras.callbacks.SwapEMAWeights
    with pytest.raises(AttributeError, match="OrbaxCheckpoint is not available"):
        keras.callbacks.OrbaxCheckpoint


def test_every_keras_callback_is_here_or_explained():
    k3 = keras3()
    theirs = {n for n in dir(k3.callbacks) if not n.startswith("_")}
    from kerasette.callbacks import _NOT_HERE
    assert theirs - set(keras.callbacks.__all__) == set(_NOT_HERE)


def test_tensorboard_reads_the_events(tmp_path):
    """TensorBoard's own reader (when the tensorboard package is installed) finds the scalars,
    the histograms and the Keras conceptual graph, which its graph plugin turns into nodes."""
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    keras_util = pytest.importorskip("tensorboard.plugins.graph.keras_util")
    x, y = data()
    m = small_model()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y),
          callbacks=[keras.callbacks.TensorBoard(tmp_path, histogram_freq=2, update_freq="batch")])
    ea = accumulator.EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0})
    ea.Reload()
    tags = ea.Tags()
    assert {"epoch_loss", "epoch_mae", "epoch_learning_rate", "batch_loss"} <= set(tags["scalars"])
    assert sorted(tags["histograms"]) == sorted(f"{w.path}/histogram" for w in m.weights)
    assert [e.step for e in ea.Histograms(f"{m.weights[0].path}/histogram")] == [0]     # epochs 0, 2, ...
    graph = keras_util.keras_model_to_graph_def(json.loads(ea.Tensors("keras")[0].tensor_proto.string_val[0]))
    assert [n.name.split("/")[-1] for n in graph.node][-2:] == [layer.name for layer in m.layers]
    val = accumulator.EventAccumulator(str(tmp_path / "validation"))
    val.Reload()
    assert [e.step for e in val.Scalars("epoch_loss")] == [0, 1]
