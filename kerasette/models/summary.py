"""``model.summary()``: a Keras-like table of layers, output shapes and parameters."""
import re

from ..layers.core import shape_str
from ..layers.symbolic import map_structure

__all__ = ["summary_text"]


def summary_text(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                 layer_range=None):
    """The summary table as a string, every line at most ``line_length`` (default 80)
    columns wide; a cell too long for its column continues on the next line. A model not
    built yet (a subclassed model before its first call, a ``Sequential`` without ``Input``)
    shows, as Keras 3, ``?`` shapes and ``0 (unbuilt)`` parameters. The other arguments are
    ``Model.summary``'s (Keras 3's meanings)."""
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Trainable"] if show_trainable else [])
    width = max(int(line_length or 80), 40)
    inner = width - 2                              # between the two border characters
    cols = _widths(positions, inner, len(header))
    layers = _layers(model)
    lo, hi = _range(layers, layer_range)
    rows = []
    for layer in layers[lo:hi]:
        rows.extend(_rows(layer, 0, expand_nested, show_trainable))
    line = "─" * inner
    out = [f'Model: "{model.name}"', "┏" + line + "┓", *_row(header, cols), "┡" + line + "┩"]
    for r in rows:
        out.extend(_row(r, cols))
    out.append("└" + line + "┘")
    trainable = sum(_count(w) for w in model.trainable_weights)
    total = sum(_count(w) for w in model.weights)
    out += [f" Total params: {total:,} ({_bytes(model.weights)})",
            f" Trainable params: {trainable:,}",
            f" Non-trainable params: {total - trainable:,}"]
    if getattr(model, "optimizer", None) is not None and model.optimizer.built:
        n = sum(_count(a) for a in model.optimizer.variables)
        out.append(f" Optimizer params: {n:,}")
    return "\n".join(out)


def _rows(layer, depth, expand_nested, show_trainable):
    """The row of ``layer`` (its name indented under a nested model's row, as Keras 3), then,
    with ``expand_nested``, those of the layers inside it."""
    kind = getattr(layer, "keras_class_name", None) or type(layer).__name__   # an op: Keras's class
    prefix = "   " * depth + "└ " if depth else ""
    row = [f"{prefix}{layer.name} ({kind})", _out_shape(layer), _params(layer)]
    if show_trainable:
        row.append(("Y" if layer.trainable else "N") if getattr(layer, "weights", None) else "-")
    rows = [row]
    if expand_nested and getattr(layer, "layers", None):
        for inner in layer.layers:
            if type(inner).__name__ != "InputLayer":
                rows.extend(_rows(inner, depth + 1, expand_nested, show_trainable))
    return rows


def _widths(positions, inner, n):
    """Column widths from Keras's ``positions`` (where each column ends: fractions of the line
    when all are <= 1, else columns); default 45 % / 33 % / the rest (and a Trainable column)."""
    if positions is None:
        positions = [0.45, 0.78, 1.0] if n == 3 else [0.40, 0.66, 0.85, 1.0]
    positions = list(positions)
    if len(positions) != n or not all(isinstance(p, (int, float)) and not isinstance(p, bool) and p > 0
                                      for p in positions):
        raise ValueError(f"summary: positions must be {n} increasing positive numbers (where each column "
                         f"ends), got {positions!r}")
    ends = [int(p * inner) if all(q <= 1 for q in positions) else int(p) for p in positions]
    ends[-1] = inner
    widths = [b - a for a, b in zip([0] + ends[:-1], ends)]
    if any(w < 4 for w in widths):
        raise ValueError(f"summary: positions {positions!r} leave a column narrower than 4 in a line "
                         f"of {inner + 2}")
    return widths


def _range(layers, layer_range):
    """``[start, stop)`` of the layers shown: Keras's ``layer_range``, two name patterns
    (``re.match``), the first and last layer shown, both included."""
    if layer_range is None:
        return 0, len(layers)
    if (not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2
            or not all(isinstance(p, str) for p in layer_range)):
        raise ValueError(f"summary: layer_range must be a list or tuple of 2 layer names (patterns), "
                         f"got {layer_range!r}")
    first = [i for i, l in enumerate(layers) if re.match(layer_range[0], l.name)]
    last = [i for i, l in enumerate(layers) if re.match(layer_range[1], l.name)]
    if not first or not last:
        raise ValueError(f"summary: layer_range {list(layer_range)} matches no layer of "
                         f"{[l.name for l in layers]}")
    lo, hi = min(first), max(last)
    return (min(last), max(first) + 1) if lo > hi else (lo, hi + 1)


def _layers(model):
    if type(model).__name__ == "Functional":
        return model.operations            # the ops on symbolic tensors too, as Keras 3's summary
    return [l for l in model.layers if type(l).__name__ != "InputLayer"]


def _params(layer):
    """The layer's parameter count; ``0 (unbuilt)`` (as Keras 3) while it has no weights yet."""
    if not layer.built:
        return "0 (unbuilt)"
    try:
        return f"{layer.count_params():,}"
    except ValueError:                      # a nested model with unbuilt layers
        return "0 (unbuilt)"


def _out_shape(layer):
    if not layer.built and not layer._inbound_nodes:
        return "?"
    if layer._inbound_nodes:
        out = layer._inbound_nodes[-1].outputs
        return _fmt(map_structure(lambda t: t.shape, out))
    shapes = getattr(layer, "_build_shapes", None)
    if shapes is None or not layer.built:
        return "?"
    try:
        return _fmt(_batch_none(layer.compute_output_shape(_batch_none(shapes))))
    except Exception:
        return "?"


def _batch_none(s):
    """The same shape structure with the batch axis shown as None."""
    if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
        return (None,) + tuple(s[1:]) if s else s
    if isinstance(s, dict):
        return {k: _batch_none(v) for k, v in s.items()}
    return type(s)(_batch_none(x) for x in s)


def _fmt(s):
    if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
        return shape_str(s)
    if isinstance(s, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in s.items()) + "}"
    return "[" + ", ".join(_fmt(x) for x in s) + "]"


def _row(cells, cols):
    """Table lines for one row: ``│ cell │ cell │ cell │`` with each column ``w`` wide in all
    (borders included); text longer than its column wraps, after a comma where it can."""
    pieces = [_chunks(str(c), w - 3) for c, w in zip(cells, cols)]
    lines = []
    for k in range(max(len(p) for p in pieces)):
        parts = [(p[k] if k < len(p) else "").ljust(w - 3) for p, w in zip(pieces, cols)]
        text = "│ " + " │ ".join(parts)
        lines.append(text.ljust(sum(cols) + 1) + "│")
    return lines


def _chunks(text, w):
    out = []
    while len(text) > w:
        cut = text.rfind(", ", 0, w - 1) + 2 if ", " in text[:w - 1] else w
        out.append(text[:cut].rstrip())
        text = text[cut:]
    out.append(text)
    return out


def _count(w):
    n = 1
    for d in w.shape:
        n *= d
    return n


def _bytes(weights):
    b = sum(_count(w) * w.value.dtype.itemsize for w in weights)
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.2f} {unit}"
        b /= 1024
