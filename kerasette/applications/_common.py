"""What every application builder does before and after its own layers: check the arguments,
make (or adopt) the input, add the pooling head, wrap the model and load the weights."""
import os

from .. import layers
from ..layers.input_layer import InputLayer
from ..layers.symbolic import KerasTensor
from ..models import Model
from ..utils.file_utils import get_file

KERAS_APPS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


def check_weights(family, weights, include_top, classes, pooling):
    """The argument checks shared by the builders (each one line, naming the builder)."""
    is_path = isinstance(weights, (str, os.PathLike)) and weights != "imagenet"
    if not (weights is None or weights == "imagenet" or (is_path and os.path.exists(weights))):
        raise ValueError(f"{family}: `weights` must be None (random initialization), 'imagenet' "
                         f"(pre-trained on ImageNet) or the path of an existing weights file; "
                         f"got weights={weights!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{family}: with weights='imagenet' and include_top=True, classes must be 1000; "
                         f"got classes={classes}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{family}: pooling must be None, 'avg' or 'max'; got pooling={pooling!r}")


def image_input(family, input_tensor, input_shape, given_shape=None):
    """``(the tensor the layers start from, the model's inputs)``: a new ``Input`` of
    ``input_shape``, or ``input_tensor`` (checked against the user's ``given_shape``)."""
    if input_tensor is None:
        x = layers.Input(shape=input_shape)
        return x, x
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError(f"{family}: input_tensor must be a symbolic tensor (from keras.Input(...), or a "
                         f"layer's output on one); got {type(input_tensor).__name__}")
    if len(input_tensor.shape) != 4:
        raise ValueError(f"{family}: input_tensor must be a batch of images (batch, rows, cols, channels); "
                         f"got shape {input_tensor.shape}")
    if given_shape is not None and _conflict(input_tensor.shape[1:], given_shape):
        raise ValueError(f"{family}: input_tensor has shape {input_tensor.shape}, which does not match "
                         f"input_shape={tuple(given_shape)}")
    sources = source_inputs(input_tensor)
    return input_tensor, sources[0] if len(sources) == 1 else sources


def _conflict(shape, wanted):
    return len(shape) != len(wanted) or any(a is not None and b is not None and a != b
                                            for a, b in zip(shape, wanted))


def source_inputs(tensor):
    """The ``Input`` tensors ``tensor`` is computed from, in first-reached order."""
    out, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.node
        if node is None or isinstance(node.layer, InputLayer) or not node.input_tensors:
            out.append(t)
        else:
            stack.extend(reversed(node.input_tensors))
    return out


def pooled(x, pooling, avg_name=None, max_name=None):
    """The optional feature head of ``include_top=False``: global average or max pooling."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def finish(inputs, outputs, name, weights, file_name=None, file_hash=None, url=None):
    """Wrap the graph in a ``Model`` and load its weights (fetched for ``'imagenet'``)."""
    model = Model(inputs, outputs, name=name)
    if weights == "imagenet":
        path = get_file(file_name, url or KERAS_APPS_URL + file_name, cache_subdir="models",
                        file_hash=file_hash)
        model.load_weights(path)
    elif weights is not None:
        model.load_weights(weights)
    return model
