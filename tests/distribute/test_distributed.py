"""Data-parallel training under ``mpiexec -n 2`` against one process, and the fault cases.

The multi-process tests run ``mpi_worker.py`` (next to this file) as subprocesses:
once as one plain process, once under ``mpiexec -n 2``, and compare what rank 0
wrote. They skip, with the reason, where mpi4py or mpiexec is missing
(``pip install 'kerasette[distributed]'`` brings both). Every subprocess runs
under a timeout, so a hang fails the test instead of stalling the suite.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import types

import numpy as np
import pytest

import kerasette as keras
from kerasette import layers
from kerasette.distribute import buckets as buckets_mod
from kerasette.distribute import comm as comm_mod
from kerasette.distribute import strategy as strategy_mod

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "mpi_worker.py")
ROOT = os.path.dirname(os.path.dirname(HERE))
KINDS = ("mlp", "cnn", "rnn", "custom")


def find_mpiexec():
    """``mpiexec`` on the PATH, else next to this Python (where the ``mpich`` wheel puts it)."""
    found = shutil.which("mpiexec")
    if found:
        return found
    candidate = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    return candidate if os.path.exists(candidate) else None


def _skip_reason():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'kerasette[distributed]')"
    if find_mpiexec() is None:
        return "mpiexec not found (pip install 'kerasette[distributed]' brings MPICH's)"
    return None


needs_mpi = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_"))}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["KERASETTE_NUM_THREADS"] = "1"           # two ranks share two cores
    env["OMP_NUM_THREADS"] = "1"
    return env


def run_worker(scenario, out, ranks=None, timeout=60):
    """Run the worker (plain, or under ``mpiexec -n ranks``); returns (returncode, output, seconds)."""
    cmd = [sys.executable, WORKER, scenario, str(out)]
    if ranks is not None:
        cmd = [find_mpiexec(), "-n", str(ranks)] + cmd
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=HERE)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s (a hang):\n{e.stdout}\n{e.stderr}")
    return p.returncode, p.stdout + p.stderr, time.perf_counter() - t0


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if _skip_reason() is not None:
        pytest.skip(_skip_reason())
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    rc1, out1, _ = run_worker("train", one)
    assert rc1 == 0, out1
    rc2, out2, _ = run_worker("train", two, ranks=2)
    assert rc2 == 0, out2
    dev = tmp_path_factory.mktemp("standin")
    rc3, out3, _ = run_worker("standin", dev, ranks=2)
    assert rc3 == 0, out3
    return {"one": dict(np.load(one / "result.npz")), "two": dict(np.load(two / "result.npz")),
            "standin": dict(np.load(dev / "result.npz")), "out_two": out2, "dir_two": two}


# -- two ranks against one process ----------------------------------------------------------
@needs_mpi
@pytest.mark.parametrize("kind", KINDS)
def test_two_ranks_end_with_the_weights_of_one_process(runs, kind):
    one, two = runs["one"], runs["two"]
    names = sorted(k for k in one if k.startswith(f"{kind}/w"))
    assert names and names == sorted(k for k in two if k.startswith(f"{kind}/w"))
    for k in names:
        np.testing.assert_allclose(two[k], one[k], rtol=0, atol=1e-5, err_msg=k)
    assert two[f"{kind}/ranks_weight_diff"] == 0.0          # every rank holds the same weights
    loss = one[f"{kind}/history/loss"]                      # and training did move them
    assert len(loss) == 2 and loss[1] < loss[0]


@needs_mpi
@pytest.mark.parametrize("kind", KINDS)
def test_history_evaluate_and_predict_are_global(runs, kind):
    one, two = runs["one"], runs["two"]
    def figures(result):
        return sorted(k for k in result if k.startswith(f"{kind}/") and any(
            part in k for part in ("/history/", "/evaluate/", "/predict", "on_batch")))
    keys = figures(one)
    assert keys == figures(two) and f"{kind}/predict" in keys
    if kind == "mlp":
        assert "mlp/train_on_batch/loss" in keys and "mlp/test_on_batch" in keys
    for k in keys:
        np.testing.assert_allclose(two[k], one[k], rtol=0, atol=1e-5, err_msg=k)


@needs_mpi
def test_two_ranks_on_the_gpu_standin_match_one_process_on_numpy(runs):
    """The device code path (buckets and broadcasts of device arrays, staged through the host
    for an MPI that is not CUDA-aware) on the CuPy stand-in."""
    one, dev = runs["one"], runs["standin"]
    assert sorted(one) == sorted(dev)
    for k in one:
        if "ranks_weight_diff" not in k and "samples_seen" not in k and k != "rng_draws" \
                and not k.startswith(("fresh/", "stats/")):
            np.testing.assert_allclose(dev[k], one[k], rtol=0, atol=1e-5, err_msg=k)
    assert dev["custom/samples_seen"].tolist() == [20, 20]


@needs_mpi
def test_buckets_start_during_backward_and_change_nothing(runs):
    """With 256-byte buckets, most bucket allreduces start while backprop is still running (the
    weights above match one process to 1e-5: see the tests before); one process never does."""
    two = runs["two"]
    assert two["stats/buckets_started_in_backward"] >= two["stats/steps"] > 0
    assert runs["one"]["stats/buckets_started_in_backward"] == 0


@needs_mpi
def test_each_rank_trains_on_its_own_share(runs):
    # 20 samples, global batch 8 (8, 8, 4), 2 epochs: one process sees 40 samples, each of two ranks 20
    assert runs["one"]["custom/samples_seen"].tolist() == [40]
    assert runs["two"]["custom/samples_seen"].tolist() == [20, 20]


@needs_mpi
def test_a_model_that_never_trained_takes_rank_zeros_weights_before_predicting(runs):
    two = runs["two"]
    assert two["fresh/spread_before"] > 0          # the ranks initialised it differently
    assert two["fresh/spread_after"] == 0.0
    assert two["fresh/predict_matches_rank0_weights"] < 1e-6


@needs_mpi
def test_each_rank_draws_its_own_random_stream(runs):
    first, second = runs["two"]["rng_draws"]
    assert first != second
    assert first == runs["one"]["rng_draws"][0]          # rank 0 keeps the one-process stream


@needs_mpi
def test_progress_lines_come_from_rank_zero_only(runs):
    out = runs["out_two"]
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert "rank 0 of 2 done" in out and "rank 1 of 2 done" in out


@needs_mpi
def test_the_checkpoint_written_by_rank_zero_loads_in_one_process(runs):
    model = keras.saving.load_model(runs["dir_two"] / "cnn.keras")
    weights = model.get_weights()
    assert len(weights) == 4
    for i, w in enumerate(weights):
        np.testing.assert_allclose(w, runs["two"][f"cnn/w{i}"], rtol=0, atol=0)


# -- faults: every rank exits non-zero, bounded in time --------------------------------------
@needs_mpi
def test_a_rank_that_raises_ends_every_rank_with_the_error(tmp_path):
    rc, out, _ = run_worker("raise", tmp_path, ranks=2, timeout=60)
    assert rc != 0
    assert "ValueError: rank 1 fails on purpose in step 2" in out
    assert "aborting every rank" in out
    assert not (tmp_path / "result.npz").exists()


@needs_mpi
def test_a_rank_that_exits_ends_the_job(tmp_path):
    rc, out, _ = run_worker("die", tmp_path, ranks=2, timeout=60)
    assert rc != 0
    assert not (tmp_path / "result.npz").exists()


@needs_mpi
def test_a_rank_that_never_arrives_is_named_after_the_timeout(tmp_path):
    # rank 1 sleeps 60 s inside its step; the collective timeout is 3 s and the test's
    # bound 40 s: only the timeout and the abort can end the job in time
    rc, out, _ = run_worker("hang", tmp_path, ranks=2, timeout=40)
    assert rc != 0
    assert "CollectiveTimeoutError" in out
    assert "rank 1 of 2 did not arrive at 'fit: gradient allreduce'" in out


@needs_mpi
def test_rank_zero_names_the_missing_rank_among_three(tmp_path):
    # rank 2 of 3 sleeps: rank 0 sees which arrival notice is missing and tells rank 1
    rc, out, _ = run_worker("hang2", tmp_path, ranks=3, timeout=40)
    assert rc != 0
    assert "rank 2 of 3 did not arrive at 'fit: gradient allreduce'" in out
    assert "rank 1 of 3" not in out and "rank 0 of 3 did not" not in out


@needs_mpi
def test_a_missing_rank_zero_is_named_by_the_others(tmp_path):
    rc, out, _ = run_worker("hang0", tmp_path, ranks=2, timeout=40)
    assert rc != 0
    assert "rank 0 of 2 did not arrive at 'fit: gradient allreduce'" in out
    assert "seen from rank 1" in out


@needs_mpi
def test_a_killed_job_resumes_from_its_backup(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    full.mkdir(), killed.mkdir()
    rc, out, _ = run_worker("backup_full", full)
    assert rc == 0, out
    rc, out, _ = run_worker("backup_kill", killed, ranks=2)          # rank 1 dies in epoch 3 of 3
    assert rc != 0 and "killed in epoch 2" in out
    assert not (killed / "result.npz").exists() and (killed / "backup" / "latest.weights.h5").exists()
    rc, out, _ = run_worker("backup_resume", killed, ranks=2)
    assert rc == 0, out
    a, b = np.load(full / "result.npz"), np.load(killed / "result.npz")
    assert a["epochs"].tolist() == [0, 1, 2] and b["epochs"].tolist() == [2]   # only the lost epoch ran
    for k in ("w0", "w1", "w2", "w3"):
        np.testing.assert_allclose(b[k], a[k], rtol=0, atol=1e-5, err_msg=k)


# -- in one process: the pieces ------------------------------------------------------------
def test_one_process_strategy_leaves_the_ordinary_loop():
    strategy = keras.distribute.DataParallel()
    assert strategy.num_replicas_in_sync == 1 and strategy.rank == 0
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
        model.compile("sgd", "mse")
    assert model._distribute_strategy is None
    assert keras.distribute.get_strategy() is None


def test_launch_detection_reads_the_launchers_variables():
    assert comm_mod.launched_by_mpi({"PMI_RANK": "0", "PMI_SIZE": "2"})
    assert comm_mod.launched_by_mpi({"OMPI_COMM_WORLD_SIZE": "4"})
    assert not comm_mod.launched_by_mpi({"HOME": "/root"})
    assert comm_mod.launched_by_mpi({"SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "8"})
    assert not comm_mod.launched_by_mpi({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "8"})   # the batch script
    assert comm_mod.expected_size({"PMI_SIZE": "4"}) == 4
    assert comm_mod.expected_size({"SLURM_STEP_ID": "0", "SLURM_NTASKS": "3"}) == 3
    assert comm_mod.expected_size({}) == 1


@needs_mpi
def test_a_launcher_that_mpi_does_not_see_is_an_error():
    # the launcher says 3 processes, MPI connects 1 (srun without its MPI plugin, a foreign mpiexec)
    env = dict(_env(), PMI_SIZE="3")
    p = subprocess.run([sys.executable, "-c", "import kerasette as k; k.distribute.DataParallel()"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode != 0
    assert "DataParallel: the launcher started 3 processes but MPI connects 1" in p.stderr


def test_parts_cover_a_batch_contiguously():
    for n in (0, 1, 5, 16, 33):
        for size in (1, 2, 3, 4):
            parts = [strategy_mod._part(n, size, r) for r in range(size)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            lengths = [hi - lo for lo, hi in parts]
            assert max(lengths) - min(lengths) <= 1


def test_buckets_are_few_contiguous_and_capped():
    places, lengths = buckets_mod.pack_layout([10, 20, 5, 100, 3], bucket_bytes=4 * 32)
    assert lengths == [30, 5, 100, 3]                  # 100 > cap: a bucket of its own
    assert places == [(0, 0), (0, 10), (1, 0), (2, 0), (3, 0)]
    with pytest.raises(ValueError, match="bucket_bytes must be a positive number, got 0"):
        buckets_mod.pack_layout([1], 0)


def test_buckets_pack_scale_and_unpack_with_missing_gradients():
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.standard_normal(s).astype("float32")) for s in ((3, 4), (4,), (2, 2))]
    b = buckets_mod.Buckets(variables, bucket_bytes=4 * 13)
    assert len(b.buffers) == 2 and all(buf.dtype == np.float32 for buf in b.buffers)
    grads = [rng.standard_normal(v.value.shape).astype("float32") for v in variables]
    b.pack([grads[0], None, grads[2]], scale=0.25)
    out = b.unpack()
    assert out[1] is None
    np.testing.assert_allclose(out[0], 0.25 * grads[0], rtol=1e-6)
    np.testing.assert_allclose(out[2], 0.25 * grads[2], rtol=1e-6)
    with pytest.raises(ValueError, match=r"gradient 1 has shape \(3,\), expected the weight's shape \(4,\)"):
        b.pack([grads[0], np.zeros(3, "float32"), grads[2]], scale=1.0)


def test_rank_zero_only_callbacks_are_dropped_elsewhere(tmp_path):
    strategy = keras.distribute.DataParallel(communicator=_FakeComm(rank=1, size=2), abort_on_error=False)
    cbs = [keras.callbacks.ProgbarLogger(), keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")),
           keras.callbacks.BackupAndRestore(str(tmp_path / "b")), keras.callbacks.EarlyStopping(),
           keras.callbacks.CSVLogger(str(tmp_path / "log.csv")), keras.callbacks.RemoteMonitor(),
           keras.callbacks.History()]
    kept = strategy.callbacks(cbs)
    assert [type(c).__name__ for c in kept] == ["EarlyStopping", "History"]
    chief = keras.distribute.DataParallel(communicator=_FakeComm(rank=0, size=2), abort_on_error=False)
    assert chief.callbacks(cbs) == cbs


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="DataParallel: bucket_mb must be a positive number, got -1"):
        keras.distribute.DataParallel(bucket_mb=-1)
    with pytest.raises(ValueError, match="DataParallel: timeout must be a positive number of seconds or "
                                         "None, got 0"):
        keras.distribute.DataParallel(timeout=0)


class _FakeComm:
    """A communicator that answers like rank ``rank`` of ``size`` (collectives not used)."""

    def __init__(self, rank, size, local_rank=None):
        self.rank, self.size = rank, size
        self.local_rank = rank if local_rank is None else local_rank
        self.local_size, self.timeout = size, 5.0
        self.objects = []
        self.arrivals = []

    def bcast_object(self, obj, root=0, what=""):
        self.objects.append((what, obj))
        return "uid-from-rank-0" if obj is None else obj

    def arrive(self, what=""):
        self.arrivals.append(what)

    def missing(self, what=""):
        return "rank 1"


# -- the NCCL path, on stand-ins for CuPy and cupy.cuda.nccl (no GPU here) --------------------
class _DeviceArray:
    """What NCCLCommunicator reads of a CuPy array: ``data.ptr``, ``size``, ``dtype``."""

    _next = [0x1000]

    def __init__(self, n, dtype="float32"):
        self.size, self.dtype = n, np.dtype(dtype)
        self.data = type("Mem", (), {"ptr": self._next[0]})()
        self._next[0] += 0x1000


def _fake_cupy(n_devices, events_finish=True):
    log = []

    class Device:
        def __init__(self, i):
            self.i = i

        def use(self):
            log.append(("device", self.i))

    class Stream:
        ptr = 0xABC

        def __init__(self, non_blocking=False):
            log.append(("stream", non_blocking))

        def wait_event(self, e):
            pass

    class Event:
        def record(self, stream=None):
            pass

        @property
        def done(self):
            return events_finish

    cuda = type("cuda", (), {"runtime": type("rt", (), {"getDeviceCount": staticmethod(lambda: n_devices)}),
                             "Device": Device, "Stream": Stream, "Event": Event,
                             "get_current_stream": staticmethod(lambda: Stream())})
    return type("cupy", (), {"cuda": cuda, "ndarray": _DeviceArray}), log


def _fake_nccl():
    calls = []

    class NcclCommunicator:
        def __init__(self, n, uid, rank):
            calls.append(("init", n, uid, rank))

        def allReduce(self, send, recv, count, dtype, op, stream):
            calls.append(("allReduce", send, recv, count, dtype, op, stream))

        def bcast(self, buf, count, dtype, root, stream):
            calls.append(("bcast", buf, count, dtype, root, stream))

        def abort(self):
            calls.append(("abort",))

    mod = type("nccl", (), {"NcclCommunicator": NcclCommunicator, "NCCL_FLOAT32": 7, "NCCL_FLOAT64": 8,
                            "NCCL_FLOAT16": 6, "NCCL_INT64": 4, "NCCL_INT32": 2, "NCCL_UINT8": 1,
                            "NCCL_SUM": 0, "get_unique_id": staticmethod(lambda: "uid-drawn-here"),
                            "groupStart": staticmethod(lambda: calls.append(("groupStart",))),
                            "groupEnd": staticmethod(lambda: calls.append(("groupEnd",)))})
    return mod, calls


class _HostMPI(_FakeComm):
    def __init__(self, rank, size, local_rank=None):
        super().__init__(rank, size, local_rank)
        self.reduced = []

    def allreduce(self, buffers, what=""):
        self.reduced.append((what, [b.size for b in buffers]))
        return 0.0


def test_nccl_one_gpu_per_local_rank_and_the_id_from_rank_zero():
    from kerasette.distribute.nccl import NCCLCommunicator, pick_device
    assert [pick_device(r, 4) for r in range(6)] == [0, 1, 2, 3, 0, 1]
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        pick_device(0, 0)
    cupy, log = _fake_cupy(n_devices=2)
    nccl, calls = _fake_nccl()
    mpi = _HostMPI(rank=3, size=4, local_rank=3)
    comm = NCCLCommunicator(mpi, cupy=cupy, nccl=nccl)
    assert comm.device_id == 1 and ("device", 1) in log
    # rank 3 draws no id: it takes rank 0's from the MPI broadcast, then opens the communicator
    assert mpi.objects == [("NCCL unique id", None)]
    assert calls[0] == ("init", 4, "uid-from-rank-0", 3)
    root = NCCLCommunicator(_HostMPI(rank=0, size=4), cupy=cupy, nccl=nccl)
    assert root.mpi.objects == [("NCCL unique id", "uid-drawn-here")]


def test_nccl_reduces_device_buckets_and_sends_host_vectors_through_mpi():
    from kerasette.distribute.nccl import NCCLCommunicator
    cupy, _ = _fake_cupy(n_devices=1)
    nccl, calls = _fake_nccl()
    mpi = _HostMPI(rank=1, size=2)
    comm = NCCLCommunicator(mpi, cupy=cupy, nccl=nccl)
    calls.clear()
    a, b, logs = _DeviceArray(1000), _DeviceArray(24), np.zeros(5)
    comm.allreduce([a, b, logs], what="fit: gradient allreduce")
    assert calls[0] == ("groupStart",) and calls[-1] == ("groupEnd",)
    assert calls[1:-1] == [("allReduce", a.data.ptr, a.data.ptr, 1000, 7, 0, 0xABC),
                           ("allReduce", b.data.ptr, b.data.ptr, 24, 7, 0, 0xABC)]
    assert mpi.reduced == [("fit: gradient allreduce", [5])]
    assert mpi.arrivals == ["fit: gradient allreduce"]
    calls.clear()
    w = _DeviceArray(10, "float64")
    comm.bcast([w], what="fit: weights from rank 0")
    assert calls[1] == ("bcast", w.data.ptr, 10, 8, 0, 0xABC)
    with pytest.raises(TypeError, match="arrays of dtype complex64 cannot be reduced"):
        comm.allreduce([_DeviceArray(3, "complex64")])


def test_nccl_collective_that_does_not_finish_aborts_and_names_the_rank():
    from kerasette.distribute.nccl import NCCLCommunicator
    cupy, _ = _fake_cupy(n_devices=1, events_finish=False)
    nccl, calls = _fake_nccl()
    mpi = _HostMPI(rank=0, size=2)
    mpi.timeout = 0.05
    comm = NCCLCommunicator(mpi, cupy=cupy, nccl=nccl)
    with pytest.raises(comm_mod.CollectiveTimeoutError,
                       match=r"rank 1 of 2 did not arrive at 'fit: gradient allreduce' \(NCCL\)"):
        comm.allreduce([_DeviceArray(8)], what="fit: gradient allreduce")
    assert ("abort",) in calls


def test_nccl_buckets_start_one_by_one_and_are_waited_for_once():
    """The overlap path of DataParallel: each bucket queued on the NCCL stream as it is
    started (one arrival notice for the step), one wait in finish_allreduce."""
    from kerasette.distribute.nccl import NCCLCommunicator
    from kerasette.distribute.strategy import DataParallel
    cupy, _ = _fake_cupy(n_devices=1)
    nccl, calls = _fake_nccl()
    mpi = _HostMPI(rank=0, size=2)
    comm = NCCLCommunicator(mpi, cupy=cupy, nccl=nccl)
    calls.clear()
    a, b = _DeviceArray(100), _DeviceArray(7)
    pending = comm.start_allreduce([a], what="fit: gradient allreduce")
    assert calls == [("groupStart",), ("allReduce", a.data.ptr, a.data.ptr, 100, 7, 0, 0xABC), ("groupEnd",)]
    comm.progress(pending)
    assert comm.start_allreduce([b], pending, what="fit: gradient allreduce") is pending
    assert calls[3:] == [("groupStart",), ("allReduce", b.data.ptr, b.data.ptr, 7, 7, 0, 0xABC), ("groupEnd",)]
    assert mpi.arrivals == ["fit: gradient allreduce"]
    assert comm.finish_allreduce(pending) >= 0.0
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    strategy = types.SimpleNamespace(overlap=True, communicator=comm)
    assert DataParallel._can_overlap(strategy, model)    # the GPU path overlaps too
    with pytest.raises(TypeError, match="complex64"):
        comm.start_allreduce([_DeviceArray(3, "complex64")])
    assert len(calls) == 6                              # nothing queued for the refused array


# -- examples/mnist_distributed.py on a slice ----------------------------------------------------
EXAMPLE = os.path.join(ROOT, "examples", "mnist_distributed.py")


def test_mnist_distributed_example_one_process(capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location("mnist_distributed", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc = mod.main(["--epochs", "1", "--limit", "1024", "--verbose", "0"])
    out = capsys.readouterr().out
    assert "ranks: 1" in out and "test accuracy" in out
    assert acc > 0.5


@needs_mpi
def test_mnist_distributed_example_two_ranks(tmp_path):
    ckpt = tmp_path / "mnist.keras"
    cmd = [find_mpiexec(), "-n", "2", sys.executable, EXAMPLE, "--epochs", "1", "--limit", "1024",
           "--checkpoint", str(ckpt)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env())
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("ranks: 2") == 1 and p.stdout.count("Epoch 1/1") == 1   # rank 0 prints
    acc = float(p.stdout.split("test accuracy:")[1].split()[0])
    assert acc > 0.5
    assert ckpt.exists() and keras.saving.load_model(ckpt).count_params() > 0
