"""``keras.utils.Progbar`` for custom loops: Keras 3's averaging of values, its verbose levels,
and the display ``fit`` uses (lines in a log)."""
import importlib.util
import io
import os

import pytest

import kerasette as keras

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")

STEPS = [(1, [("loss", 1.0), ("acc", 0.2)]), (3, [("loss", 0.5), ("acc", 0.4)]),
         (4, [("loss", 0.25), ("acc", 0.9)])]


def run(verbose=1, target=4, **kwargs):
    out = io.StringIO()
    bar = keras.utils.Progbar(target, verbose=verbose, stream=out, **kwargs)
    for current, values in STEPS:
        bar.update(current, values)
    return bar, out.getvalue()


def test_values_are_averaged_over_the_steps_they_cover_unless_stateful():
    bar, text = run(target=5, stateful_metrics=["acc"])
    # loss: (1.0 * 1 + 0.5 * 2 + 0.25 * 1) / 4; acc as last given
    assert bar._logs() == {"loss": 0.5625, "acc": 0.9}
    assert text == ""                                   # a log gets the line at the end
    bar.update(5, [("loss", 0.1), ("acc", 1.0)])
    assert bar._logs() == {"loss": 0.1, "acc": 1.0}     # the final values are shown as given
    bar, _ = run(target=5, stateless_metrics=["loss"])
    assert bar._logs() == {"loss": 0.5625, "acc": 0.9}
    bar, _ = run(target=5, stateless_metrics=[])
    assert bar._logs() == {"loss": 0.25, "acc": 0.9}


def test_one_line_at_the_end_in_a_log():
    _, text = run(target=4)
    assert text.count("\n") == 1 and text.startswith("4/4 - ")
    assert text.rstrip().endswith("loss: 0.2500 - acc: 0.9000")


def test_verbose_levels_and_add():
    assert run(verbose=0)[1] == ""
    assert run(verbose=2)[1].count("\n") == 1
    out = io.StringIO()
    bar = keras.utils.Progbar(None, stream=out, unit_name="batch")
    for _ in range(3):
        bar.add(2, [("x", 1.0)])
    assert out.getvalue() == ""                       # unknown target: nothing until finalize
    bar.update(6, finalize=True)
    assert out.getvalue().startswith("6 - ") and "/batch - x: 1.0000" in out.getvalue()
    bar.update(7, [("x", 2.0)])                        # after the end: nothing more is drawn
    assert out.getvalue().count("\n") == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"target": -1}, "target must be a non-negative integer or None, got -1"),
    ({"target": 3, "width": 0}, "width must be a positive integer, got 0"),
    ({"target": 3, "verbose": 3}, "verbose must be 0, 1 or 2, got 3"),
    ({"target": 3, "interval": -1}, "interval must be a number of seconds >= 0, got -1"),
    ({"target": 3, "unit_name": ""}, "unit_name must be a non-empty string"),
    ({"target": 3, "stateful_metrics": ["a"], "stateless_metrics": ["b"]}, "give stateful_metrics"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Progbar: " + message.replace("(", r"\(").replace(")", r"\)")):
        keras.utils.Progbar(**kwargs)


@needs_keras
@pytest.mark.parametrize("kwargs", [{"stateful_metrics": ["acc"]}, {"stateless_metrics": ["loss"]}, {}])
def test_the_values_are_keras_s(kwargs):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    for target in (5, 4):                               # before the end, and at it
        theirs = real.utils.Progbar(target, verbose=0, **kwargs)
        for current, values in STEPS:
            theirs.update(current, values)
        ours, _ = run(target=target, **kwargs)
        want = {k: float(v[0]) / v[1] for k, v in theirs._values.items()}
        assert ours._logs() == pytest.approx(want)
