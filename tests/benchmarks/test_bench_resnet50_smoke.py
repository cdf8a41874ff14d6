"""benchmarks/bench_resnet50.py on a tiny input: it runs, prints its RESULT line and, with real
Keras installed, kerasette's predictions agree with Keras's on the same weights. No wall time is
asserted."""
import importlib.util
import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "bench_resnet50.py")
HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None


def test_bench_resnet50_smoke():
    out = subprocess.run([sys.executable, BENCH, "--size", "32", "--batch", "2", "--repeats", "1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    (result,) = [json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert result["name"] == "resnet50_infer" and result["batch"] == 2 and result["size"] == 32
    assert result["kerasette_ips"] > 0
    assert "kerasette:" in out.stdout and "images/s" in out.stdout
    if HAVE_KERAS and result["keras_ips"] is not None:
        assert result["keras_ips"] > 0 and result["ratio"] > 0
        assert result["agree"] is True and result["max_diff"] <= 1e-4, result
        assert "predictions: max difference" in out.stdout and "ratio kerasette/keras" in out.stdout
    else:
        assert result["keras_ips"] is None and result["ratio"] is None
