"""InceptionV3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016), with Keras's layer names and weight files.

Keras names only the eleven ``mixed`` concatenations and the classifier (``avg_pool``,
``predictions``); every convolution, batch norm, ReLU and pooling layer takes the session's auto
name (``conv2d``, ``batch_normalization``, ``activation``, ``max_pooling2d``, ... ``conv2d_93``),
and so do they here. Weight files do not depend on those names: Keras 3 files are pathed by
class, Keras 2 files are read in order.
"""
from .. import layers
from . import _common, imagenet_utils

__all__ = ["InceptionV3", "preprocess_input", "decode_predictions"]

_URL = _common.KERAS_APPS_URL + "inception_v3/"
# (top, no-top) md5 of Keras's ImageNet weight files
WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


def _unit(x, filters, rows, cols, strides=1, padding="same"):
    """Convolution (no bias) -> batch norm without scale -> ReLU, all unnamed as in Keras."""
    x = layers.Conv2D(filters, (rows, cols), strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(axis=3, scale=False)(x)
    return layers.Activation("relu")(x)


def _chain(x, specs):
    """``_unit`` after ``_unit``: each spec is ``(filters, rows, cols)``."""
    for filters, rows, cols in specs:
        x = _unit(x, filters, rows, cols)
    return x


def _pool_branch(x, filters):
    """3x3 average pooling (stride 1, same size) then a 1x1 unit."""
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return _unit(x, filters, 1, 1)


def _block_35(x, pool_filters, name):
    """The 35x35 module: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | pool -> 1x1."""
    branches = [_unit(x, 64, 1, 1),
                _chain(x, [(48, 1, 1), (64, 5, 5)]),
                _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3)]),
                _pool_branch(x, pool_filters)]
    return layers.concatenate(branches, axis=3, name=name)


def _block_17(x, width, name):
    """The 17x17 module with factorized 7x7 convolutions (``width`` channels inside)."""
    branches = [_unit(x, 192, 1, 1),
                _chain(x, [(width, 1, 1), (width, 1, 7), (192, 7, 1)]),
                _chain(x, [(width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7)]),
                _pool_branch(x, 192)]
    return layers.concatenate(branches, axis=3, name=name)


def _block_8(x, index):
    """The 8x8 module with split 1x3 / 3x1 outputs (``mixed9_{index}`` joins the first split, the
    second split's concatenation is unnamed)."""
    one = _unit(x, 320, 1, 1)
    mid = _unit(x, 384, 1, 1)
    wide = layers.concatenate([_unit(mid, 384, 1, 3), _unit(mid, 384, 3, 1)], axis=3, name=f"mixed9_{index}")
    deep = _chain(x, [(448, 1, 1), (384, 3, 3)])
    deep = layers.concatenate([_unit(deep, 384, 1, 3), _unit(deep, 384, 3, 1)], axis=3)
    return layers.concatenate([one, wide, deep, _pool_branch(x, 192)], axis=3, name=f"mixed{9 + index}")


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="inception_v3"):
    """InceptionV3: a five-convolution stem with two max poolings, three 35x35 modules, a grid
    reduction, four 17x17 modules with factorized 7x7 convolutions, a second reduction and two
    8x8 modules to 2048 channels, then the classifier or the optional pooling. Every convolution
    is followed by a batch norm without scale (``gamma``) and a ReLU.

    Feed it images passed through :func:`kerasette.applications.inception_v3.preprocess_input`
    (``x / 127.5 - 1``). The default input is 299x299x3.

    Args:
        include_top (bool): keep the classifier (``avg_pool`` then the ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 75; with
            ``include_top=True`` and ImageNet weights it must be ``(299, 299, 3)``.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, 2048)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name.

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape``,
            ``classifier_activation``, or an ``input_tensor`` that does not match ``input_shape``.

    Examples:
        >>> from kerasette.applications import InceptionV3
        >>> model = InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3), pooling="avg")
        >>> model.output_shape, model.count_params()
        ((None, 2048), 21802784)
    """
    _common.check_weights("InceptionV3", weights, include_top, classes, pooling)
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.image_input("InceptionV3", input_tensor, input_shape, given_shape)

    x = _unit(x, 32, 3, 3, strides=(2, 2), padding="valid")
    x = _unit(x, 32, 3, 3, padding="valid")
    x = _unit(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _unit(x, 80, 1, 1, padding="valid")
    x = _unit(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, f"mixed{i}")

    # grid reduction 35 -> 17
    x = layers.concatenate([_unit(x, 384, 3, 3, strides=(2, 2), padding="valid"),
                            _unit(_chain(x, [(64, 1, 1), (96, 3, 3)]), 96, 3, 3, strides=(2, 2), padding="valid"),
                            layers.MaxPooling2D((3, 3), strides=(2, 2))(x)], axis=3, name="mixed3")

    for i, width in enumerate((128, 160, 160, 192)):
        x = _block_17(x, width, f"mixed{4 + i}")

    # grid reduction 17 -> 8
    x = layers.concatenate([_unit(_unit(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid"),
                            _unit(_chain(x, [(192, 1, 1), (192, 1, 7), (192, 7, 1)]), 192, 3, 3, strides=(2, 2),
                                  padding="valid"),
                            layers.MaxPooling2D((3, 3), strides=(2, 2))(x)], axis=3, name="mixed8")

    for i in range(2):
        x = _block_8(x, i)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling)
    file_name = f"inception_v3_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return _common.finish(inputs, x, name, weights, file_name=file_name, url=_URL + file_name,
                          file_hash=WEIGHTS_HASHES[0 if include_top else 1])


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "InceptionV3", "tf")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
