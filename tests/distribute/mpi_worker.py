"""The script the distributed tests run, under ``mpiexec -n 2`` and as one plain process.

    python mpi_worker.py SCENARIO OUTDIR

``train``: an MLP (Sequential), a small CNN (Functional), a Bidirectional RNN
(Functional) and a subclassed model with a custom ``train_step`` each train a
few steps from one seed; rank 0 writes the final weights, the History, the
evaluate figures and the predictions to OUTDIR/result.npz, and a
ModelCheckpoint of the CNN to OUTDIR/cnn.keras.
``standin``: ``train`` on the CuPy stand-in (device arrays, staged through the host for MPI).
``raise``: rank 1 raises in its second training step; ``die``: rank 1 exits there.
``hang`` / ``hang0`` / ``hang2``: rank 1 / 0 / 2 stops arriving (sleeps) in its first step; the
collective timeout is 3 s.
``backup_full`` / ``backup_kill`` / ``backup_resume``: BackupAndRestore across a killed job.
"""
import os
import sys
import time

import numpy as np

import kerasette as keras
from kerasette import layers

SEED = 7
STRATEGY = None


def data(kind, n):
    rng = np.random.default_rng(0)
    if kind == "cnn":
        x = rng.standard_normal((n, 8, 8, 1)).astype("float32")
    elif kind == "rnn":
        x = rng.standard_normal((n, 5, 3)).astype("float32")
    else:
        x = rng.standard_normal((n, 6)).astype("float32")
    y = rng.integers(0, 3, n)
    return x, y


def build(kind):
    if kind == "mlp":
        return keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                                 layers.Dense(3, activation="softmax")])
    if kind == "cnn":
        inp = keras.Input((8, 8, 1))
        h = layers.Conv2D(4, 3, activation="relu")(inp)
        h = layers.MaxPooling2D(2)(h)
        h = layers.Flatten()(h)
        return keras.Model(inp, layers.Dense(3, activation="softmax")(h))
    if kind == "rnn":
        inp = keras.Input((5, 3))
        h = layers.Bidirectional(layers.SimpleRNN(4))(inp)
        return keras.Model(inp, layers.Dense(3, activation="softmax")(h))
    return Custom()


class Custom(keras.Model):
    """Subclassed, with its own train_step (gradients through optimizer.apply)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="tanh")
        self.out = layers.Dense(3, activation="softmax")
        self.steps_seen = 0
        self.samples_seen = 0

    def call(self, x):
        return self.out(self.hidden(x))

    def train_step(self, data):
        x, y = data
        self.steps_seen += 1
        self.samples_seen += len(x)
        scenario = os.environ.get("KERASETTE_TEST_SCENARIO")
        rank = STRATEGY.rank
        if scenario == "raise" and rank == 1 and self.steps_seen == 2:
            raise ValueError("rank 1 fails on purpose in step 2")
        if (scenario == "hang" and rank == 1) or (scenario == "hang0" and rank == 0) or \
                (scenario == "hang2" and rank == 2):
            time.sleep(60)
        if scenario == "die" and rank == 1 and self.steps_seen == 2:
            os._exit(3)                           # gone without a word
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        self.zero_grad()
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        for m in self.metrics:
            if m.name == "loss":
                m.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


CASES = (("mlp", 33, 16), ("cnn", 24, 8), ("rnn", 20, 8), ("custom", 20, 8))


def train(out, kinds=("mlp", "cnn", "rnn", "custom"), timeout=60.0):
    global STRATEGY
    # 256-byte buckets: every model has several, so most start during backward (the overlap)
    strategy = STRATEGY = keras.distribute.DataParallel(timeout=timeout, bucket_mb=2.0 ** -12)
    result = {}
    # (model, samples, global batch): 33 with 16 leaves a last batch of 1 sample, so rank 1
    # runs a borrowed sample with weight 0 in that step
    for kind, n, batch in [c for c in CASES if c[0] in kinds]:
        keras.utils.set_random_seed(SEED)
        x, y = data(kind, n)
        with strategy.scope():
            model = build(kind)
            model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                          metrics=["accuracy"] if kind != "custom" else None)
        callbacks = []
        if kind == "cnn":
            callbacks.append(keras.callbacks.ModelCheckpoint(os.path.join(out, "cnn.keras")))
        h = model.fit(x, y, batch_size=batch, epochs=2, verbose=2 if kind == "mlp" else 0,
                      callbacks=callbacks, validation_split=0.25 if kind == "rnn" else 0.0)
        if kind == "mlp":                      # the batch given to every rank is the global batch
            tob = model.train_on_batch(x[:9], y[:9], return_dict=True)
            result.update({f"mlp/train_on_batch/{k}": np.asarray(v) for k, v in tob.items()})
            result["mlp/test_on_batch"] = np.asarray(model.test_on_batch(x[:9], y[:9]))
        for i, w in enumerate(model.get_weights()):
            result[f"{kind}/w{i}"] = w
        for k, v in h.history.items():
            result[f"{kind}/history/{k}"] = np.asarray(v)
        if kind != "custom":
            # batch 8 of the MLP's 33 samples (and 16 in predict) ends with a batch of one
            # sample: rank 1 runs a borrowed one that must count for nothing
            ev = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
            for k, v in ev.items():
                result[f"{kind}/evaluate/{k}"] = np.asarray(v)
        result[f"{kind}/predict"] = model.predict(x, batch_size=16, verbose=0)
        # every rank ends with the same weights; each saw its own share of the samples
        ranks = strategy.communicator.allgather_object(model.get_weights())
        result[f"{kind}/ranks_weight_diff"] = np.array(max(
            float(np.abs(a - b).max()) for other in ranks for a, b in zip(ranks[0], other)))
        if kind == "custom":
            result["custom/samples_seen"] = np.array(strategy.communicator.allgather_object(model.samples_seen))
    # a model that never trained: its first predict takes rank 0's weights everywhere
    if "mlp" in kinds:
        with strategy.scope():
            fresh = build("mlp")
            fresh.compile("sgd", "sparse_categorical_crossentropy")
        before = strategy.communicator.allgather_object(fresh.get_weights())
        pred = fresh.predict(data("mlp", 10)[0], batch_size=4, verbose=0)
        after = strategy.communicator.allgather_object(fresh.get_weights())
        spread = lambda ws: max(float(np.abs(a - b).max()) for other in ws for a, b in zip(ws[0], other))  # noqa: E731
        result["fresh/spread_before"] = np.array(spread(before))
        result["fresh/spread_after"] = np.array(spread(after))
        direct = keras.backend.to_numpy(fresh(data("mlp", 10)[0], training=False).value)   # no strategy
        result["fresh/predict_matches_rank0_weights"] = np.array(float(np.abs(pred - direct).max()))
    # after fit, each rank draws from its own stream (dropout masks differ across ranks)
    draws = strategy.communicator.allgather_object(float(keras.backend.random_generator().random()))
    result["rng_draws"] = np.array(draws)
    result["stats/buckets_started_in_backward"] = np.array(strategy.stats.buckets_started_in_backward)
    result["stats/steps"] = np.array(strategy.stats.steps)
    if strategy.rank == 0:
        np.savez(os.path.join(out, "result.npz"), **result)
    print(f"rank {strategy.rank} of {strategy.num_replicas_in_sync} done: "
          f"{strategy.stats.steps} steps, {strategy.stats.bytes_per_step} bytes per step", flush=True)


class KillInEpoch(keras.callbacks.Callback):
    """Rank 1 dies in the middle of epoch ``epoch`` (an uncaught error: the job is aborted)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.current == self.epoch and batch == 1 and STRATEGY.rank == 1:
            raise RuntimeError(f"killed in epoch {self.epoch}")


def backup(out, phase):
    """Three epochs of the MLP with BackupAndRestore in OUT/backup; ``kill``: rank 1 dies in
    the third epoch; ``resume``: the same fit again; ``full``: no kill."""
    global STRATEGY
    strategy = STRATEGY = keras.distribute.DataParallel(timeout=60.0)
    keras.utils.set_random_seed(SEED)
    x, y = data("mlp", 33)
    with strategy.scope():
        model = build("mlp")
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    callbacks = [keras.callbacks.BackupAndRestore(os.path.join(out, "backup"))]
    if phase == "kill":
        callbacks.append(KillInEpoch(2))
    h = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks)
    if strategy.rank == 0:
        np.savez(os.path.join(out, "result.npz"), epochs=np.array(h.epoch),
                 **{f"w{i}": w for i, w in enumerate(model.get_weights())})


def main(argv):
    scenario, out = argv
    os.environ["KERASETTE_TEST_SCENARIO"] = scenario
    if scenario == "train":
        train(out)
    elif scenario == "standin":                   # the GPU code path on the CuPy stand-in
        from kerasette.testing import standin
        with standin.on_device():
            train(out)
    elif scenario in ("raise", "die"):
        train(out, kinds=("custom",))
    elif scenario in ("hang", "hang0", "hang2"):
        train(out, kinds=("custom",), timeout=3.0)
    elif scenario.startswith("backup_"):
        backup(out, scenario[len("backup_"):])
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
