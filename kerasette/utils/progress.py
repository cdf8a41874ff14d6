"""Progress display for ``fit`` / ``evaluate`` / ``predict``.

Three ways to show one pass (an epoch, an evaluation, a prediction):

- ``"bar"``: in a terminal, a tqdm bar redrawn in place. Its layout is chosen at each
  redraw so that the line fits the terminal: the metrics are never cut; the bar shrinks
  first, then the rate and the times are dropped, then the bar itself. When even the
  metrics alone are too long, the live line shows the metrics that fit whole and the
  final line is followed by the full metrics, wrapped.
- ``"notebook"``: tqdm's notebook widget (``tqdm.auto``), when running under Jupyter.
- ``"lines"``: when the output is not a terminal (a log file, a pipe) or the ``CI``
  environment variable is set: one line at the end of each pass, plus one line every
  ``interval`` seconds during long passes (``verbose=2`` prints only the end line).

Values are printed with :func:`format_value`: four decimals as Keras does, and a short
scientific form (``1.0e-05``) for values too small or too large for that.
"""
import math
import os
import sys
import time

__all__ = ["format_value", "format_logs", "choose_mode", "terminal_width", "Progress",
           "DEFAULT_INTERVAL"]

DEFAULT_INTERVAL = 30.0     # seconds between progress lines in a log ("lines" mode)
MIN_BAR = 10                # cells: the bar is shortened down to this before anything else goes
_MARGIN = 3                 # room for the counts and times growing between redraws


def format_value(v):
    """A metric value in a compact form that keeps its significant digits.

    ``0.4202`` (4 decimals, as Keras) for values from 1e-3 to 1e5 and zero;
    ``1.0e-05`` / ``2.346e+07`` (up to 4 significant digits) outside that range.

    >>> format_value(0.42018), format_value(1e-5), format_value(0.000123456), format_value(0)
    ('0.4202', '1.0e-05', '1.235e-04', '0.0000')
    """
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4f}"
    mantissa, exponent = f"{v:.3e}".split("e")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}e{exponent}"


def _items(logs):
    return [f"{k}: {format_value(v)}" for k, v in (logs or {}).items()]


def format_logs(logs):
    """``"loss: 0.4202 - accuracy: 0.8793"`` from a ``{name: value}`` dict."""
    return " - ".join(_items(logs))


def _env_flag(name):
    v = os.environ.get(name, "")
    return v.strip().lower() not in ("", "0", "false", "no", "off")


def in_notebook():
    """True under a Jupyter kernel (where tqdm's notebook widget can draw)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except Exception:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def choose_mode(verbose, stream):
    """``"bar"``, ``"notebook"`` or ``"lines"`` for a ``verbose`` level and an output stream."""
    if verbose == 2:
        return "lines"
    if in_notebook() and stream in (sys.stdout, sys.__stdout__):
        return "notebook"
    if _env_flag("CI"):
        return "lines"
    isatty = getattr(stream, "isatty", None)
    try:
        return "bar" if isatty is not None and isatty() else "lines"
    except ValueError:              # a closed stream
        return "lines"


def terminal_width(stream):
    """Columns of the terminal behind ``stream``: ``$COLUMNS`` when set, else the
    terminal's size, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    except ValueError:
        pass
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _seconds(t):
    return f"{t:.1f}s" if t < 10 else f"{t:.0f}s"


def _per_step(t, n, unit="step"):
    if not n:
        return None
    s = t / n
    return f"{s * 1e3:.0f}ms/{unit}" if s < 1 else f"{s:.2f}s/{unit}"


def _clock(t):
    t = int(round(t))
    h, rest = divmod(t, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _wrap(items, width, indent="  "):
    """Metric items joined by `` - `` on lines of at most ``width`` columns (an item is
    never split; one longer than the line gets a line of its own)."""
    lines, cur = [], ""
    for it in items:
        cand = it if not cur else f"{cur} - {it}"
        if cur and len(indent) + len(cand) > width:
            lines.append(indent + cur)
            cand = it
        cur = cand
    if cur:
        lines.append(indent + cur)
    return lines


class Progress:
    """The display of one pass of ``total`` steps titled ``title`` (``"Epoch 1/3"``,
    ``"Evaluate"``, ``"Predict"``).

    Args:
        title: the text before the counts.
        total: number of steps of the pass (None when unknown).
        mode: ``"bar"``, ``"notebook"`` or ``"lines"`` (see :func:`choose_mode`).
        stream: where to write (``sys.stdout`` when None, looked up at creation).
        width: terminal columns for ``"bar"`` (:func:`terminal_width` when None).
        interval: seconds between progress lines in ``"lines"`` mode; ``None`` or 0
            prints only the line at the end of the pass.
        refresh: seconds between bar redraws.
        unit: what a step is called in the per-step time (``12ms/step``).
    """

    def __init__(self, title, total, mode="lines", stream=None, width=None, interval=None,
                 refresh=0.1, unit="step"):
        self.title, self.total, self.mode, self.unit = title, total, mode, unit
        self.stream = stream if stream is not None else sys.stdout
        self.interval, self.refresh = interval, refresh
        self.t0 = self.last_line = time.perf_counter()
        self.last_draw = -math.inf
        self.n = 0
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm
            self.width = width or terminal_width(self.stream)
            self.bar = tqdm(total=total, desc=title, unit=unit, file=self.stream, ncols=self.width,
                            leave=True, mininterval=refresh, dynamic_ncols=False,
                            bar_format=self._format([]))
        elif mode == "notebook":
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc=title, unit=unit, leave=True)

    # -- the bar's layout ---------------------------------------------------------------
    _LAYOUTS = (
        "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {per_step}]",
        "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]",
        "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}",
        "{desc}: {n_fmt}/{total_fmt} [{elapsed}]",
        "{desc}: {n_fmt}/{total_fmt}",
    )

    def _layouts(self):
        """The layouts, without the ``"title: "`` lead when there is no title."""
        return self._LAYOUTS if self.title else tuple(f[len("{desc}: "):] for f in self._LAYOUTS)

    def _measure(self, fmt):
        """Columns that ``fmt`` takes without its bar, at the widest the counts and times
        get in this pass (all steps done, a known remaining time)."""
        from tqdm import tqdm
        from tqdm.utils import disp_len
        fd = dict(self.bar.format_dict) if self.bar is not None else {
            "n": 0, "total": self.total, "elapsed": 0, "unit": "step", "prefix": self.title}
        total = fd.get("total") or max(fd.get("n", 0), 1)
        fd.update(bar_format=fmt.replace("{bar}", ""), ncols=None, prefix=self.title, total=total,
                  n=total, elapsed=max(fd.get("elapsed", 0), 1e-3), rate=None)
        return disp_len(tqdm.format_meter(**fd))

    def _per_step(self):
        """``"  12ms/step"``: the mean time per step so far, padded to a fixed width."""
        text = _per_step(time.perf_counter() - self.t0, self.n, self.unit) or f"?ms/{self.unit}"
        return f"{text:>10}"

    def _format(self, items, final=False):
        """The first layout that fits ``self.width`` with all ``items``; else the shortest
        layout with as many whole items as fit, or, when ``final``, the best layout without
        the metrics (``close`` prints them on the lines below)."""
        text = " - ".join(items).replace("{", "{{").replace("}", "}}")
        per_step = self._per_step()
        for fmt in self._layouts():
            fmt = fmt.replace("{per_step}", per_step)
            full = fmt + (" " + text if text else "")
            need = self._measure(full) + _MARGIN + (MIN_BAR if "{bar}" in fmt else 0)
            if need <= self.width:
                return full
        shortest = self._layouts()[-1]
        if final:
            return self._format([]) if items else shortest
        kept = []
        for it in items:
            cand = " - ".join(kept + [it]).replace("{", "{{").replace("}", "}}")
            if self._measure(f"{shortest} {cand} ...") + _MARGIN > self.width:
                break
            kept.append(it)
        more = " ..." if len(kept) < len(items) else ""
        cand = " - ".join(kept).replace("{", "{{").replace("}", "}}")
        return f"{shortest} {cand}{more}" if kept else shortest + more

    # -- updates ------------------------------------------------------------------------
    def update(self, n, logs=None):
        """``n`` steps done; ``logs`` (a dict, read only when drawn) holds the running values."""
        step = n - self.n
        self.n = n
        now = time.perf_counter()
        if self.mode == "bar":
            if now - self.last_draw >= self.refresh:
                self.last_draw = now
                self.bar.bar_format = self._format(_items(logs))
            self.bar.update(step)
        elif self.mode == "notebook":
            if now - self.last_draw >= self.refresh:
                self.last_draw = now
                self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.update(step)
        elif self.interval and now - self.last_line >= self.interval and (self.total is None or n < self.total):
            self.last_line = now
            self._line(now, logs, eta=True)

    def _line(self, now, logs, eta=False):
        t = now - self.t0
        parts = [self.title] if self.title else []
        parts += [f"{self.n}/{self.total}" if self.total is not None else f"{self.n}", _seconds(t)]
        ps = _per_step(t, self.n, self.unit)
        if ps:
            parts.append(ps)
        if eta and self.total and self.n:
            parts.append(f"ETA {_clock(t / self.n * (self.total - self.n))}")
        parts += _items(logs)
        print(" - ".join(parts), file=self.stream, flush=True)

    def close(self, logs=None):
        """End of the pass: the final line with every value of ``logs``."""
        now = time.perf_counter()
        if self.mode == "bar":
            items = _items(logs)
            fmt = self._format(items, final=True)
            self.bar.bar_format = fmt
            self.bar.refresh()
            self.bar.close()
            if items and not fmt.endswith(" - ".join(items).replace("{", "{{").replace("}", "}}")):
                for line in _wrap(items, self.width):
                    print(line, file=self.stream, flush=True)
        elif self.mode == "notebook":
            self.bar.set_postfix_str(format_logs(logs), refresh=True)
            self.bar.close()
        else:
            self._line(now, logs)
        self.bar = None
