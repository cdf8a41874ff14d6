"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017),
with Keras's layer names and weight files.

Keras leaves the projection shortcuts (a strided 1x1 ``Conv2D`` and its ``BatchNormalization``)
and the ``add`` layers unnamed, so they take the session's auto names (``conv2d``,
``batch_normalization``, ``add``, ``conv2d_1``, ...); they are left unnamed here too. Weight files
do not depend on those names: Keras 3 files are pathed by class, Keras 2 files are read in order.
"""
from .. import layers
from . import _common, imagenet_utils

__all__ = ["Xception", "preprocess_input", "decode_predictions"]

_URL = _common.KERAS_APPS_URL + "xception/"
# (top, no-top) md5 of Keras's ImageNet weight files
WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


def _bn(name=None):
    return layers.BatchNormalization(axis=-1, name=name)


def _sep(filters, name):
    return layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)


def _shortcut(x, filters):
    """The unnamed projection of a downsampling block: strided 1x1 convolution, batch norm."""
    x = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return _bn()(x)


def _entry_block(x, filters, block, first_relu=True):
    """Two separable convolutions (``filters``), a stride-2 max pooling, plus the projection."""
    shortcut = _shortcut(x, filters[1])
    prefix = f"block{block}"
    if first_relu:
        x = layers.Activation("relu", name=f"{prefix}_sepconv1_act")(x)
    x = _sep(filters[0], f"{prefix}_sepconv1")(x)
    x = _bn(f"{prefix}_sepconv1_bn")(x)
    x = layers.Activation("relu", name=f"{prefix}_sepconv2_act")(x)
    x = _sep(filters[1], f"{prefix}_sepconv2")(x)
    x = _bn(f"{prefix}_sepconv2_bn")(x)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return layers.add([x, shortcut])


def _middle_block(x, block):
    """Three ReLU -> separable convolution (728) -> batch norm units, added to the input."""
    shortcut = x
    for unit in (1, 2, 3):
        prefix = f"block{block}_sepconv{unit}"
        x = layers.Activation("relu", name=f"{prefix}_act")(x)
        x = _sep(728, prefix)(x)
        x = _bn(f"{prefix}_bn")(x)
    return layers.add([x, shortcut])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    """Xception: a two-convolution stem, three downsampling entry blocks, eight residual middle
    blocks of separable convolutions (728 channels), an exit block and two separable convolutions
    to 2048 channels, then the classifier or the optional pooling.

    Feed it images passed through :func:`kerasette.applications.xception.preprocess_input`
    (``x / 127.5 - 1``). The default input is 299x299x3.

    Args:
        include_top (bool): keep the classifier (``avg_pool`` then the ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 71; with
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
        >>> from kerasette.applications import Xception
        >>> model = Xception(weights=None, include_top=False, input_shape=(71, 71, 3), pooling="avg")
        >>> model.output_shape, model.count_params()
        ((None, 2048), 20861480)
    """
    _common.check_weights("Xception", weights, include_top, classes, pooling)
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=71,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.image_input("Xception", input_tensor, input_shape, given_shape)

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(x)
    x = _bn("block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = _bn("block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    x = _entry_block(x, (128, 128), 2, first_relu=False)
    x = _entry_block(x, (256, 256), 3)
    x = _entry_block(x, (728, 728), 4)
    for block in range(5, 13):
        x = _middle_block(x, block)
    x = _entry_block(x, (728, 1024), 13)

    for unit, filters in ((1, 1536), (2, 2048)):
        prefix = f"block14_sepconv{unit}"
        x = _sep(filters, prefix)(x)
        x = _bn(f"{prefix}_bn")(x)
        x = layers.Activation("relu", name=f"{prefix}_act")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling)
    file_name = f"xception_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return _common.finish(inputs, x, name, weights, file_name=file_name, url=_URL + file_name,
                          file_hash=WEIGHTS_HASHES[0 if include_top else 1])


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "Xception", "tf")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
