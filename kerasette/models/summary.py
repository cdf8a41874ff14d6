"""``model.summary()``: a Keras-like table of layers, output shapes and parameters."""
from ..layers.core import shape_str
from ..layers.symbolic import map_structure

__all__ = ["summary_text"]


def summary_text(model, line_length=None):
    """The summary table as a string, every line at most ``line_length`` (default 80)
    columns wide; a cell too long for its column continues on the next line. A model not
    built yet (a subclassed model before its first call, a ``Sequential`` without ``Input``)
    shows, as Keras 3, ``?`` shapes and ``0 (unbuilt)`` parameters."""
    width = max(int(line_length or 80), 40)
    inner = width - 2                              # between the two border characters
    cols = [int(inner * 0.45), int(inner * 0.33)]
    cols.append(inner - sum(cols))
    rows = []
    for layer in _layers(model):
        kind = getattr(layer, "keras_class_name", None) or type(layer).__name__   # an op: Keras's class
        rows.append((f"{layer.name} ({kind})", _out_shape(layer), _params(layer)))
    line = "─" * inner
    out = [f'Model: "{model.name}"', "┏" + line + "┓",
           *_row(("Layer (type)", "Output Shape", "Param #"), cols), "┡" + line + "┩"]
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
