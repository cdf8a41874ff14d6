"""Progress display: a bar that fits the terminal, plain lines in logs, compact numbers."""
import io
import re

import numpy as np
import pytest

import kerasette as keras
from kerasette.utils import progress
from kerasette.utils.progress import Progress, choose_mode, format_value


class FakeTTY(io.StringIO):
    """A terminal stand-in: isatty() is True; what was drawn is read back as screen lines."""

    def isatty(self):
        return True


def screen_lines(text):
    """Each line as a terminal leaves it: the last carriage-return segment of each line."""
    return [line.split("\r")[-1] for line in text.split("\n") if line.split("\r")[-1].strip()]


def drawn_segments(text):
    """Every state the bar was drawn in (each \r-separated segment)."""
    return [seg for seg in re.split(r"[\r\n]", text) if seg.strip()]


def small_model(lr=1e-3):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    m.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3)).astype("float32")
    return x, (x[:, 0] > 0.5).astype("int64")


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("KERASETTE_PROGRESS_INTERVAL", raising=False)


# ---- numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [
    (0.42018, "0.4202"), (1e-5, "1.0e-05"), (1.2345678e-5, "1.235e-05"), (2.5e-4, "2.5e-04"),
    (0.001, "0.0010"), (0, "0.0000"), (12.5, "12.5000"), (123456.0, "1.235e+05"), (-3e-7, "-3.0e-07"),
    (float("nan"), "nan"), (float("inf"), "inf"),
])
def test_format_value_keeps_significant_digits(value, text):
    assert format_value(value) == text


# ---- which display ---------------------------------------------------------------------------
def test_mode_follows_the_stream_and_ci(monkeypatch):
    assert choose_mode(1, FakeTTY()) == "bar"
    assert choose_mode(1, io.StringIO()) == "lines"
    assert choose_mode(2, FakeTTY()) == "lines"
    monkeypatch.setenv("CI", "true")
    assert choose_mode(1, FakeTTY()) == "lines"
    monkeypatch.setenv("CI", "0")
    assert choose_mode(1, FakeTTY()) == "bar"


def test_notebook_uses_tqdm_auto(monkeypatch):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    import sys
    assert choose_mode(1, sys.stdout) == "notebook"
    assert choose_mode(1, FakeTTY()) == "bar"       # an explicit stream is not the notebook's


# ---- a terminal ------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 60, 44])
def test_bar_fits_the_terminal_and_never_cuts_the_numbers(width):
    m = small_model(lr=1e-5)
    x, y = data(96)
    out = FakeTTY()
    bar = keras.callbacks.ProgbarLogger(stream=out, width=width, refresh=0)
    sched = keras.callbacks.LearningRateScheduler(lambda e, lr: lr)
    m.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, callbacks=[sched, bar])
    text = out.getvalue()
    segments = drawn_segments(text)
    assert segments and all(len(s) <= width for s in segments), max(segments, key=len)
    # every number that is drawn is whole: each "name: value" matches the compact format
    for seg in segments:
        for name, value in re.findall(r"(\w+): (\S+?)(?= - | \.\.\.|$)", seg.rstrip()):
            assert re.fullmatch(r"-?\d+\.\d{4}|-?\d\.\d+e[+-]\d\d|nan|inf", value), (name, value, seg)
    final = "\n".join(screen_lines(text))
    for key in ("loss:", "accuracy:", "val_loss:", "val_accuracy:", "learning_rate: 1.0e-05"):
        assert key in final, (key, final)
    assert "Epoch 1/2" in final and "Epoch 2/2" in final and "5/5" in final


def test_bar_shows_the_metrics_on_its_line_when_they_fit():
    m = small_model()
    x, y = data(64)
    out = FakeTTY()
    m.fit(x, y, batch_size=16, epochs=1, callbacks=[keras.callbacks.ProgbarLogger(stream=out, width=100, refresh=0)])
    lines = screen_lines(out.getvalue())
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("Epoch 1/1: 100%|") and "| 4/4 [" in line
    assert re.search(r"loss: \d\.\d{4} - accuracy: \d\.\d{4}$", line.rstrip()), line
    bar = re.search(r"\|(.*)\|", line).group(1)
    assert len(bar) >= progress.MIN_BAR


def test_bar_shrinks_before_the_time_goes_and_the_time_before_the_numbers():
    p = Progress("Epoch 1/1", 100, mode="bar", stream=FakeTTY(), width=200)
    items = ["loss: 0.1234", "accuracy: 0.9876"]
    assert "/step]" in p._format(items)
    p.width = 75
    fmt = p._format(items)
    assert "{bar}" in fmt and "/step" not in fmt and fmt.endswith("accuracy: 0.9876")
    p.width = 60
    fmt = p._format(items)
    assert "{bar}" not in fmt and fmt.endswith("accuracy: 0.9876")
    p.width = 38                                  # the metrics do not all fit: whole items only
    fmt = p._format(items)
    assert fmt.endswith("loss: 0.1234 ...")
    p.bar.close()


def test_long_metrics_wrap_below_the_final_bar():
    m = small_model()
    x, y = data(64)
    out = FakeTTY()
    m.fit(x, y, batch_size=16, epochs=1, validation_split=0.25,
          callbacks=[keras.callbacks.ProgbarLogger(stream=out, width=50, refresh=0)])
    lines = screen_lines(out.getvalue())
    assert all(len(l) <= 50 for l in lines), lines
    assert lines[0].startswith("Epoch 1/1:")
    rest = " - ".join(l.strip() for l in lines[1:])
    for key in ("loss: ", "accuracy: ", "val_loss: ", "val_accuracy: "):
        assert key in rest


# ---- a log (not a terminal) ------------------------------------------------------------------
def test_log_gets_one_line_per_epoch(capsys):
    m = small_model()
    x, y = data(64)
    m.fit(x, y, batch_size=16, epochs=3, validation_split=0.25)      # verbose="auto"
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert re.fullmatch(rf"Epoch {i + 1}/3 - 3/3 - \d+\.\ds - \d+ms/step - loss: \d\.\d{{4}} - "
                            rf"accuracy: \d\.\d{{4}} - val_loss: \d\.\d{{4}} - val_accuracy: \d\.\d{{4}}", line), line


def test_log_gets_a_line_every_interval_in_long_epochs(capsys, monkeypatch):
    clock = iter(range(0, 10_000, 7))             # each reading of the clock is 7 s later
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    m = small_model()
    x, y = data(64)
    m.fit(x, y, batch_size=8, epochs=1, callbacks=[keras.callbacks.ProgbarLogger(interval=20)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 2
    for line in lines[:-1]:
        assert re.match(r"Epoch 1/1 - [1-7]/8 - \d+s - .*ETA \d+:\d\d - loss: ", line), line
    assert lines[-1].startswith("Epoch 1/1 - 8/8 - ")


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv("KERASETTE_PROGRESS_INTERVAL", "5")
    assert keras.callbacks.ProgbarLogger().interval == 5.0
    monkeypatch.setenv("KERASETTE_PROGRESS_INTERVAL", "soon")
    with pytest.raises(ValueError, match="KERASETTE_PROGRESS_INTERVAL must be a number of seconds >= 0, got 'soon'"):
        keras.callbacks.ProgbarLogger()
    with pytest.raises(ValueError, match="interval must be a number of seconds"):
        keras.callbacks.ProgbarLogger(interval=-1)


def test_ci_gets_lines_even_in_a_terminal(monkeypatch):
    monkeypatch.setenv("CI", "1")
    m = small_model()
    x, y = data(32)
    out = FakeTTY()
    m.fit(x, y, batch_size=16, epochs=2, callbacks=[keras.callbacks.ProgbarLogger(stream=out)])
    text = out.getvalue()
    assert "\r" not in text and len(text.splitlines()) == 2


def test_evaluate_and_predict_report_progress(capsys):
    m = small_model()
    x, y = data(64)
    m.evaluate(x, y, batch_size=16)
    m.predict(x, batch_size=16)
    m.evaluate(x, y, batch_size=16, verbose=0)
    m.predict(x, batch_size=16, verbose=0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"Evaluate - 4/4 - \d+\.\ds - \d+ms/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}", lines[0])
    assert re.fullmatch(r"Predict - 4/4 - \d+\.\ds - \d+ms/step", lines[1])


def test_evaluate_and_predict_draw_a_bar_in_a_terminal():
    m = small_model()
    x, y = data(64)
    out = FakeTTY()
    m.evaluate(x, y, batch_size=16, callbacks=[keras.callbacks.ProgbarLogger(stream=out, width=80, refresh=0)])
    m.predict(x, batch_size=16, callbacks=[keras.callbacks.ProgbarLogger(stream=out, width=80, refresh=0)])
    lines = screen_lines(out.getvalue())
    assert lines[0].startswith("Evaluate: 100%|") and "4/4" in lines[0] and "loss: " in lines[0]
    assert lines[1].startswith("Predict: 100%|") and "4/4" in lines[1]


def test_validation_inside_fit_draws_no_evaluate_line(capsys):
    m = small_model()
    x, y = data(64)
    m.fit(x, y, batch_size=16, epochs=1, validation_split=0.5)
    assert "Evaluate" not in capsys.readouterr().out


def test_callbacks_see_test_and_predict_hooks():
    seen = []
    spy = keras.callbacks.LambdaCallback(
        on_test_begin=lambda logs=None: seen.append("test_begin"),
        on_test_batch_end=lambda b, logs=None: seen.append(f"test_{b}"),
        on_test_end=lambda logs=None: seen.append(("test_end", sorted(logs))),
        on_predict_batch_end=lambda b, logs=None: seen.append(f"predict_{b}"))
    m = small_model()
    x, y = data(32)
    m.evaluate(x, y, batch_size=16, verbose=0, callbacks=[spy])
    m.predict(x, batch_size=16, verbose=0, callbacks=[spy], steps=1)
    assert seen == ["test_begin", "test_0", "test_1", ("test_end", ["accuracy", "loss"]), "predict_0"]


def test_verbose_is_checked():
    m = small_model()
    x, y = data(8)
    with pytest.raises(ValueError, match=r"fit: verbose must be 0 \(silent\), 1 \(progress bar\), 2 .* got 3"):
        m.fit(x, y, verbose=3)
    assert m.optimizer.iterations == 0


# ---- summary ---------------------------------------------------------------------------------
def test_summary_fits_80_columns():
    m = keras.Sequential([keras.Input((28, 28, 1)),
                          keras.layers.Conv2D(32, 3, name="a_very_long_convolution_layer_name_indeed"),
                          keras.layers.Flatten(), keras.layers.Dense(10)])
    lines = []
    m.summary(print_fn=lines.append)
    rows = lines[0].splitlines()
    assert max(len(r) for r in rows) == 80
    table = [r for r in rows if r[:1] in "┏│┡└"]
    assert {len(r) for r in table} == {80}
    text = lines[0]
    assert "(None, 26, 26, 32)" in text
    first_column = "".join(r[2:34].strip() for r in table[3:5])  # the long name wraps onto a second line
    assert first_column.startswith("a_very_long_convolution_layer_name_indeed")
    narrow = []
    m.summary(line_length=60, print_fn=narrow.append)
    assert max(len(r) for r in narrow[0].splitlines()) == 60
