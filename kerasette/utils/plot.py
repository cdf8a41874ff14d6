"""``plot_model`` / ``model_to_dot``: a model's layer graph as Graphviz, through pydot.

pydot (``pip install pydot``) builds the graph; writing an image also needs Graphviz's
``dot`` program (``apt install graphviz``, ``brew install graphviz``, ``conda install
graphviz``). Both are optional: ``pip install "kerasette[plot]"`` brings pydot. Each box is
one layer, drawn as Keras 3 draws it (an HTML-like table: name and class, then the optional
shapes, dtype, activation and trainable cells); each edge goes from the layer that made a
tensor to the layer that takes it.
"""
import os

__all__ = ["model_to_dot", "plot_model"]

_PYDOT_MISSING = ("plot_model / model_to_dot need pydot and Graphviz: pip install pydot "
                  "(or pip install \"kerasette[plot]\"), and Graphviz's `dot` program "
                  "(apt install graphviz, brew install graphviz or conda install graphviz)")
_DOT_MISSING = ("plot_model needs Graphviz's `dot` program to draw the image: install graphviz "
                "(apt install graphviz, brew install graphviz or conda install graphviz; see "
                "https://graphviz.org/download/); model_to_dot works without it")


def _pydot():
    try:
        import pydot
    except ImportError as e:
        raise ImportError(_PYDOT_MISSING) from e
    return pydot


def _kind(model):
    """``"sequential"``, ``"functional"`` or ``"subclassed"``."""
    name = type(model).__name__
    mro = {k.__name__ for k in type(model).__mro__}
    if "Sequential" in mro:
        return "sequential"
    if "Functional" in mro or name == "Functional":
        return "functional"
    return "subclassed"


def _check_built(model):
    if not getattr(model, "built", False):
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` "
                         "or by calling the model on a batch of data.")


def _node_of(layer):
    nodes = getattr(layer, "_inbound_nodes", None) or []
    return nodes[0] if len(nodes) == 1 else None


def _shape_text(structure):
    if structure is None:
        return "?"
    if isinstance(structure, dict):
        return ", ".join(f"{k}: {v}" for k, v in structure.items())
    return str(structure)


def _label(layer, show_layer_names, show_layer_activations, show_dtype, show_shapes, show_trainable):
    from ..layers.symbolic import KerasTensor, map_structure
    class_name = type(layer).__name__
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    html = ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
            f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">'
            f"{title}</font></td></tr>")
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        act = getattr(activation, "name", None) or getattr(activation, "__name__", None) or str(activation)
        html += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">'
                 f"Activation: <b>{act}</b></font></td></tr>")
    node = _node_of(layer)
    shape = lambda s: map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else t, s)  # noqa: E731
    cols = []
    if show_shapes:
        in_shape = out_shape = None
        if node is not None:
            out_shape = shape(node.outputs)
            if node.args:
                in_shape = shape(node.args[0])
        if class_name != "InputLayer":
            cols.append('<td bgcolor="white"><font point-size="14">'
                        f"Input shape: <b>{_shape_text(in_shape)}</b></font></td>")
        cols.append('<td bgcolor="white"><font point-size="14">'
                    f"Output shape: <b>{_shape_text(out_shape)}</b></font></td>")
    if show_dtype:
        dtype = None
        if node is not None:
            dtype = map_structure(lambda t: getattr(t, "dtype", None), node.outputs)
        cols.append('<td bgcolor="white"><font point-size="14">'
                    f"Output dtype: <b>{dtype or '?'}</b></font></td>")
    if show_trainable and layer.weights:
        cols.append('<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>'
                    if layer.trainable else
                    '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b></font></td>')
    if cols:
        html += f"<tr>{''.join(cols)}</tr>"
    return html + "</table>>"


def _add_node(pydot, dot, layer, options):
    node = pydot.Node(str(id(layer)), label=_label(layer, **options))
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    dot.add_node(node)


def _add_edge(pydot, dot, src, dst):
    a, b = str(id(src)), str(id(dst))
    if not dot.get_edge(a, b):
        edge = pydot.Edge(a, b)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _is_graph_model(layer):
    return _kind(layer) in ("sequential", "functional") and hasattr(layer, "layers")


def _last_box(model):
    """The innermost layer that makes a nested model's (first) output."""
    while _is_graph_model(model):
        if _kind(model) == "sequential":
            model = model.layers[-1]
        else:
            model = model.outputs[0].node.layer
    return model


def _first_box(model, index=0):
    """The innermost layer that takes a nested model's input ``index``."""
    while _is_graph_model(model):
        if _kind(model) == "sequential":
            model, index = model.layers[0], 0
        else:
            model, index = model.inputs[min(index, len(model.inputs) - 1)].node.layer, 0
    return model


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, splines="ortho"):
    """The model's layer graph as a ``pydot.Dot`` (a ``pydot.Cluster`` with ``subgraph``).

    A Sequential model is a chain of its layers; a functional model has one box per layer
    (its ``InputLayer``s included) and an edge for each tensor passed between them; a
    subclassed model is one box, as in Keras.

    Args:
        model (Model): a built model.
        show_shapes (bool): show each layer's input and output shapes (default False).
        show_dtype (bool): show each layer's output dtype (default False).
        show_layer_names (bool): show layer names beside their class (default True).
        rankdir (str): Graphviz ``rankdir``: ``"TB"`` top to bottom (default), ``"LR"`` left
            to right.
        expand_nested (bool): draw nested Sequential and functional models as clusters of
            their layers (default False: one box each).
        dpi (int): the image resolution, dots per inch (default 200).
        subgraph (bool): return a ``pydot.Cluster`` (used for nested models; default False).
        show_layer_activations (bool): show the activation of layers that have one
            (default False).
        show_trainable (bool): mark each layer with weights trainable or not (default False).
        splines (str): Graphviz ``splines``: how edges are drawn (default ``"ortho"``; also
            ``"curved"``, ``"polyline"``, ``"spline"``, ``"line"``).

    Returns:
        pydot.Dot | pydot.Cluster: the graph.

    Raises:
        ImportError: pydot is not installed (the message says how to install it).
        ValueError: the model is not built.
    """
    pydot = _pydot()
    _check_built(model)
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = dict(show_layer_names=show_layer_names, show_layer_activations=show_layer_activations,
                   show_dtype=show_dtype, show_shapes=show_shapes, show_trainable=show_trainable)
    kind = _kind(model)
    if kind == "subclassed":
        _add_node(pydot, dot, model, options)
        return dot
    layers = list(model.layers) if kind == "sequential" else list(model._graph_layers)
    for layer in layers:
        if expand_nested and _is_graph_model(layer):
            dot.add_subgraph(model_to_dot(layer, show_shapes, show_dtype, show_layer_names, rankdir,
                                          expand_nested, dpi, subgraph=True,
                                          show_layer_activations=show_layer_activations,
                                          show_trainable=show_trainable, splines=splines))
        else:
            _add_node(pydot, dot, layer, options)
    if kind == "sequential":
        for a, b in zip(layers, layers[1:]):
            if expand_nested:
                a, b = _last_box(a), _first_box(b)
            _add_edge(pydot, dot, a, b)
        return dot
    for node in model._nodes:
        for index, tensor in enumerate(node.input_tensors):
            if tensor.node is None:
                continue
            src, dst = tensor.node.layer, node.layer
            if expand_nested:
                src, dst = _last_box(src), _first_box(dst, index)
            _add_edge(pydot, dot, src, dst)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False,
               show_trainable=False, splines="ortho"):
    """Draw the model's layer graph into an image file with Graphviz.

    Needs pydot and Graphviz's ``dot`` program; without them ``ImportError`` says how to
    install them. The defaults are Keras 3's (layer names hidden: pass
    ``show_layer_names=True``).

    Args:
        model (Model): a built model.
        to_file (str | os.PathLike): the image file; its extension picks the format
            (``.png``, ``.svg``, ``.pdf``, ``.dot``, ...; none: PNG). Default ``"model.png"``.
        show_shapes (bool): show each layer's input and output shapes (default False).
        show_dtype (bool): show each layer's output dtype (default False).
        show_layer_names (bool): show layer names beside their class (default False, as Keras 3).
        rankdir (str): ``"TB"`` top to bottom (default) or ``"LR"`` left to right.
        expand_nested (bool): draw nested models as clusters of their layers (default False).
        dpi (int): the image resolution, dots per inch (default 200).
        show_layer_activations (bool): show the activation of layers that have one
            (default False).
        show_trainable (bool): mark each layer with weights trainable or not (default False).
        splines (str): how edges are drawn (default ``"ortho"``).

    Returns:
        IPython.display.Image | None: the image, for display in a notebook, when IPython is
        installed and the format is PNG, JPEG or GIF; else None.

    Examples:
        >>> import kerasette as keras
        >>> callable(keras.utils.plot_model)
        True
    """
    pydot = _pydot()
    _check_built(model)
    errors = (OSError, getattr(pydot, "PydotException", OSError))
    try:
        pydot.Dot.create(pydot.Dot())           # is Graphviz's `dot` there?
    except errors as e:
        raise ImportError(_DOT_MISSING) from e
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir, expand_nested=expand_nested,
                       dpi=dpi, show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension.lower() in ("png", "jpg", "jpeg", "gif"):   # the formats IPython's Image embeds
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
