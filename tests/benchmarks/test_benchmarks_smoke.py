"""The benchmark scripts on slices: they run, print their RESULT lines, and their arithmetic
(GEMM lists, tables, plots) is right. No wall time is asserted."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")
sys.path.insert(0, os.path.abspath(BENCH))

import common  # noqa: E402
import floor  # noqa: E402
import suite  # noqa: E402


def test_mlp_gemms_are_forward_weight_and_input_gradients():
    spec = floor.gemms("mlp", batch=4, width=8)
    # 3 layers: forward + weight gradient each, input gradient for the last two only
    assert sorted(spec) == sorted([(4, 784, 8, 1), (784, 4, 8, 1),
                                   (4, 8, 8, 1), (8, 4, 8, 1), (4, 8, 8, 1),
                                   (4, 8, 10, 1), (8, 4, 10, 1), (4, 10, 8, 1)])


def test_recurrent_gemms_count_one_product_per_step():
    spec = floor.gemms("lstm", batch=2, units=3, steps=5, features=4)
    assert (2, 3, 12, 5) in spec and (2, 12, 3, 5) in spec      # h @ U forward, back in time
    assert (10, 4, 12, 1) in spec                               # input projection of all steps
    gru = floor.gemms("gru", batch=2, units=3, steps=5, features=4)
    assert (2, 3, 9, 5) in gru


def test_cnn_gemms_follow_the_image_size():
    small, big = floor.gemms("cnn", batch=1), floor.gemms("cnn", batch=1, image=56)
    assert small[0] == (26 * 26, 9, 32, 1) and big[0] == (54 * 54, 9, 32, 1)
    assert small[-3] == (1, 5 * 5 * 64, 10, 1)


def test_floor_refuses_an_unknown_model():
    with pytest.raises(ValueError, match="floor: model must be one of"):
        floor.gemms("transformer")


def test_epoch_floor_scales_with_the_number_of_steps():
    spec = [(8, 8, 8, 1)]
    assert floor.step_floor(spec, repeats=1) > 0
    assert floor.epoch_floor("simple_rnn", n=256, batch=128, repeats=1, units=4, steps=2, features=3) > 0


def test_suite_table_takes_medians_and_ratios():
    runs = [[{"name": "mlp", "kerasette": k, "pytorch": 2.0, "floor": 1.0, "target": 0.9}] for k in (1.0, 3.0, 2.0)]
    rows = {r[0]: r for r in suite.table(runs)}
    assert rows["mlp epoch kerasette s"][2] == "2.00"
    assert rows["mlp kerasette/pytorch"][1:3] == ("<= 0.9", "1.00")
    assert rows["mlp kerasette/floor"][3] == "1.00, 3.00, 2.00"
    mem = suite.table([[{"name": "cnn_memory", "kerasette_mb": 50.0, "pytorch_mb": 100.0}]])
    assert ("cnn_memory kerasette/pytorch", "<= 1", "0.50", "0.50") in mem


def test_blas_kernels_name_the_library_and_a_forced_kernel_set(monkeypatch):
    import threadpoolctl
    pool = next(p for p in threadpoolctl.threadpool_info() if p.get("user_api") == "blas")
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    assert common.blas_kernels() == f"{pool['internal_api']} {pool.get('architecture') or '?'}"
    assert "unset" not in common.blas_line()
    if pool["internal_api"] == "openblas":
        monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
        assert common.blas_kernels().endswith(" (forced by OPENBLAS_CORETYPE)")
        assert "unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE" in common.blas_line()


def _run(script, *args):
    out = subprocess.run([sys.executable, os.path.join(BENCH, script), *args], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")], out.stdout


@pytest.mark.parametrize("script,args,name", [
    ("bench_mlp.py", ["--limit", "256", "--repeats", "1"], "mlp"),
    ("bench_rnn.py", ["--limit", "256", "--repeats", "1", "--cell", "gru"], "gru"),
])
def test_epoch_benchmarks_print_all_three_times(script, args, name):
    (result,), text = _run(script, *args)
    assert result["name"] == name and result["kerasette"] > 0 and result["floor"] > 0
    assert "ratio kerasette/floor" in text
    assert result["blas"] == common.blas_kernels() and f"BLAS kernels: {result['blas']}" in text
    if result["pytorch"] is not None:
        assert "ratio kerasette/pytorch" in text


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux's peak-RSS reset needed")
def test_memory_benchmark_measures_an_epoch():
    (result,), text = _run("bench_memory.py", "--model", "mlp", "--limit", "256")
    assert result["kerasette_mb"] >= 0 and "kerasette epoch +" in text


def test_scaling_cases_train_and_plot(tmp_path):
    import scaling
    for sweep, (_, values, _, _) in scaling.SWEEPS.items():
        model, torch_side, x, y, batch = scaling.case(sweep, values[0])
        model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)
        assert len(x) == scaling.SWEEPS[sweep][3]
    pytest.importorskip("matplotlib")
    results = {"batch": {"values": [32, 64], "kerasette": [2e-6, 1e-6], "pytorch": [3e-6, 1e-6]}}
    png = tmp_path / "s.png"
    scaling.plot(results, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gpu_check_has_sample_arguments_for_every_kernel():
    """gpu_check.py runs each kernel of the registry against its reference on a real GPU; its
    samples must cover the registry and fit each reference (checked here with NumPy)."""
    import gpu_check
    from kerasette.ops import kernels
    samples = gpu_check._kernel_samples(np.random.default_rng(0))
    assert {name for name, _, _ in samples} == set(kernels.KERNELS)
    for name, args, inplace in samples:
        out = kernels.KERNELS[name].reference(np, *[a.copy() if isinstance(a, np.ndarray) else a
                                                   for a in args])
        if inplace is None:
            assert all(np.isfinite(o).all() for o in (out if isinstance(out, tuple) else (out,))), name
