"""``keras.utils.Progbar``: the progress display of a custom training loop, as Keras 3's.

It draws with the same display as ``fit`` (:class:`kerasette.utils.progress.Progress`): a tqdm
bar in a terminal, one line at the end (and one every ``interval`` seconds in ``"lines"``
mode) when the output is a file, a pipe or CI.
"""
import sys

from .progress import DEFAULT_INTERVAL, Progress, choose_mode

__all__ = ["Progbar"]


class Progbar:
    """A progress bar for loops of your own: ``update(current, values)`` after each step.

    Values are shown as their mean over the steps seen so far, each update's value weighted by
    the steps it covers, except those named in ``stateful_metrics`` (or, with
    ``stateless_metrics``, all but those named), which are shown as given; the final update's
    values are shown as given (Keras 3's rules: ``fit`` passes epoch results there).

    Args:
        target (int | None): the number of steps in all; None when unknown.
        width (int): accepted for Keras compatibility (Keras's bar width in characters); the
            bar takes the room the terminal leaves. Must be a positive integer.
        verbose (int): 0 silent, 1 a progress bar (lines in a log), 2 one line when done.
        interval (float): Keras's minimum seconds between redraws: the bar redraws at most this
            often (default 0.05).
        stateful_metrics (list | None): names of values shown as given, not averaged.
        stateless_metrics (list | None): the other way round: only these are averaged (not
            together with ``stateful_metrics``).
        unit_name (str): the unit of the per-step time (``"step"``: ``12ms/step``).
        stream (file | None): where to write (kerasette only; default ``sys.stdout``).

    Examples:
        >>> import io
        >>> from kerasette.utils import Progbar
        >>> out = io.StringIO()
        >>> bar = Progbar(2, verbose=2, stream=out)
        >>> bar.update(1, [("loss", 1.0)])
        >>> bar.update(2, [("loss", 0.5), ("acc", 0.9)])
        >>> print(out.getvalue().split("/step - ")[1].strip())
        loss: 0.5000 - acc: 0.9000
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step", stream=None):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar: give stateful_metrics (averaged but these) or stateless_metrics "
                             "(only these averaged), not both")
        if target is not None and (isinstance(target, bool) or not isinstance(target, int) or target < 0):
            raise ValueError(f"Progbar: target must be a non-negative integer or None, got {target!r}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"Progbar: width must be a positive integer, got {width!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: verbose must be 0, 1 or 2, got {verbose!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise ValueError(f"Progbar: interval must be a number of seconds >= 0, got {interval!r}")
        if not isinstance(unit_name, str) or not unit_name:
            raise ValueError(f"Progbar: unit_name must be a non-empty string, got {unit_name!r}")
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.stateful_metrics = None if stateless_metrics is not None else set(stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self.unit_name = unit_name
        self._stream = stream if stream is not None else sys.stdout
        self._values = {}           # name -> [weighted sum, steps]
        self._seen_so_far = 0
        self._display = None
        self._done = False

    def update(self, current, values=None, finalize=None):
        """Show that ``current`` steps are done.

        Args:
            current (int): the index of the step just done (the count so far).
            values (list | None): ``(name, value)`` pairs for this step.
            finalize (bool | None): end the display; None ends it once ``current`` reaches
                ``target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        span = max(current - self._seen_so_far, 1)
        for name, value in values or ():
            value = float(value)
            averaged = (name not in self.stateful_metrics if self.stateful_metrics is not None
                        else name in self.stateless_metrics)
            if averaged and not finalize:
                total, steps = self._values.get(name, [0.0, 0])
                self._values[name] = [total + value * span, steps + span]
            else:
                self._values[name] = [value, 1]
        self._seen_so_far = current
        if self.verbose == 0 or self._done:
            return
        if self._display is None:
            mode = choose_mode(self.verbose, self._stream)
            self._display = Progress("", self.target, mode=mode, stream=self._stream,
                                     interval=DEFAULT_INTERVAL if mode == "lines" and self.verbose == 1 else None,
                                     refresh=self.interval, unit=self.unit_name)
        if finalize:
            self._display.n = current
            self._display.close(self._logs())
            self._done = True
        else:
            self._display.update(current, self._logs())

    def add(self, n, values=None):
        """``update(steps so far + n, values)``.

        Args:
            n (int): the steps just done.
            values (list | None): ``(name, value)`` pairs, as for ``update``.
        """
        self.update(self._seen_so_far + n, values)

    def _logs(self):
        return {name: total / steps for name, (total, steps) in self._values.items()}
