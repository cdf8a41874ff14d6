"""kerasette.utils.allocator: glibc keeps freed blocks inside fit / evaluate / predict, and
gives them back when the outermost loop ends; the user's own choice is left alone."""
import json
import os
import resource
import subprocess
import sys
import threading

import numpy as np
import pytest

import kerasette as keras
from kerasette.utils import allocator

glibc = pytest.mark.skipif(allocator._glibc() is None, reason="the policy acts on glibc's allocator only")

_BLOCK = 3 << 20                  # 3 MB: under NumPy's 4 MB huge-page advice, so 4 KiB faults
_BLOCKS = 32                      # 96 MB: above the steady trim threshold (64 MB)


@pytest.fixture
def policy(monkeypatch):
    """The policy on, nobody holding, no user choice (restored afterwards)."""
    for name in allocator._USER_ENV + ("GLIBC_TUNABLES",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(allocator._state, "enabled", True)
    monkeypatch.setitem(allocator._state, "user_chose", False)
    monkeypatch.setitem(allocator._state, "holders", 0)
    yield allocator._state
    lib = allocator._glibc()
    if lib is not None:
        allocator._set(lib, allocator._STEADY_MMAP, allocator._STEADY_TRIM)


_PROBE = """
import json, resource
import numpy as np
from kerasette.utils import allocator

def second_round():
    # minor page faults while a 96 MB working set is allocated, freed, and allocated again
    blocks = [np.ones(BLOCK // 4, np.float32) for _ in range(BLOCKS)]
    del blocks
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [np.ones(BLOCK // 4, np.float32) for _ in range(BLOCKS)]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    del blocks
    return faults

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

allocator.settle()
outside = second_round()
with allocator.hold_freed_memory():
    holding = allocator.holding()
    inside = second_round()
    held = rss()
print(json.dumps({"outside": outside, "inside": inside, "holding": holding, "held": held,
                  "after": rss(), "holding_after": allocator.holding()}))
"""


@glibc
def test_freed_blocks_are_reused_inside_and_given_back_after():
    # a fresh process: the heap's layout (and so what glibc trims) is known there
    env = {k: v for k, v in os.environ.items() if k not in allocator._USER_ENV + ("GLIBC_TUNABLES",
                                                                                   "KERASETTE_HOLD_FREED_MEMORY")}
    code = f"BLOCK, BLOCKS = {_BLOCK}, {_BLOCKS}\n" + _PROBE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    pages = _BLOCK * _BLOCKS // resource.getpagesize()
    assert r["holding"] and not r["holding_after"]
    assert r["outside"] > pages // 4, f"the steady thresholds should trim 96 MB freed: {r}"
    assert r["inside"] < pages // 20, f"freed blocks were not kept ({pages} pages): {r}"
    assert r["held"] - r["after"] > 48 << 20, f"the memory held was not given back: {r}"


@glibc
def test_hold_is_shared_between_threads_and_nests(policy):
    entered, release = threading.Event(), threading.Event()

    def other():
        with allocator.hold_freed_memory():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    assert entered.wait(10)
    with allocator.hold_freed_memory():
        with allocator.hold_freed_memory():
            assert policy["holders"] == 3
    assert allocator.holding(), "the other thread still holds: nothing may be trimmed yet"
    release.set()
    t.join(10)
    assert policy["holders"] == 0 and not allocator.holding()


@glibc
def test_fit_evaluate_and_predict_hold_while_their_batches_run(policy):
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("fit", allocator.holding()))

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("evaluate", allocator.holding()))

        def on_predict_batch_end(self, batch, logs=None):
            seen.append(("predict", allocator.holding()))

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 2), "float32")
    model.fit(x, y, batch_size=4, verbose=0, callbacks=[Probe()])
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[Probe()])
    model.predict(x, batch_size=4, verbose=0, callbacks=[Probe()])
    assert {w for w, _ in seen} == {"fit", "evaluate", "predict"}
    assert all(h for _, h in seen), seen
    assert not allocator.holding()


@glibc
def test_the_users_choice_is_left_alone(policy, monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_set", lambda lib, m, t: calls.append((m, t)) or True)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    with allocator.hold_freed_memory():
        assert not allocator.holding()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072")
    with allocator.hold_freed_memory():
        pass
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert calls == []
    assert allocator.keep_freed_memory(1 << 28)
    assert calls == [(1 << 28, 1 << 28)]
    for bad in (0, -1, 1 << 31, 2.5, True):
        with pytest.raises(ValueError, match="threshold"):
            allocator.keep_freed_memory(bad)
    with allocator.hold_freed_memory():          # keep_freed_memory was the user's choice
        assert not allocator.holding()
    assert calls == [(1 << 28, 1 << 28)]


@glibc
def test_switched_off(policy, monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_set", lambda lib, m, t: calls.append((m, t)) or True)
    allocator.set_enabled(False)
    assert not allocator.enabled()
    with allocator.hold_freed_memory():
        assert not allocator.holding()
    assert calls == []
    allocator.set_enabled(True)
    with allocator.hold_freed_memory():
        assert allocator.holding()
    assert calls == [(allocator._HOLD, allocator._HOLD), (allocator._STEADY_MMAP, allocator._STEADY_TRIM)]
    with pytest.raises(TypeError, match="flag"):
        allocator.set_enabled("no")


def test_without_glibc_everything_is_a_no_op(policy, monkeypatch):
    monkeypatch.setattr(allocator, "_glibc", lambda: None)
    assert allocator.keep_freed_memory() is False
    with allocator.hold_freed_memory():
        assert not allocator.holding()
    allocator.settle()


@glibc
def test_the_outermost_exit_trims_only_when_much_is_free(policy, monkeypatch):
    """A trim after every small call would make the next one fault its working set in again."""
    trims = []
    monkeypatch.setattr(allocator, "_trim", lambda lib: trims.append(1))
    for free, want in ((1 << 20, 0), (allocator._STEADY_TRIM + 1, 1)):
        monkeypatch.setattr(allocator, "_free_heap_bytes", lambda lib, n=free: n)
        trims.clear()
        with allocator.hold_freed_memory():
            with allocator.hold_freed_memory():
                pass
            assert trims == [], "no trim while a hold is open"
        assert len(trims) == want, (free, trims)


@glibc
def test_free_heap_bytes_reads_the_heap():
    import numpy as np
    lib = allocator._glibc()
    if getattr(lib, "mallinfo2", None) is None:
        pytest.skip("glibc before 2.33 has no mallinfo2")
    with allocator.hold_freed_memory():
        blocks = [np.ones(1 << 18, np.float32) for _ in range(8)]      # 8 MB in 1 MB blocks
        before = allocator._free_heap_bytes(lib)
        del blocks
        assert allocator._free_heap_bytes(lib) - before >= 7 << 20
