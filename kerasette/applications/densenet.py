"""DenseNet (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017): DenseNet121,
DenseNet169 and DenseNet201 with Keras's layer names and weight files.

Keras leaves the two ``ZeroPadding2D`` layers of the stem unnamed (``zero_padding2d``,
``zero_padding2d_1`` in a fresh session); they are left unnamed here too (they hold no weights).
"""
from .. import layers
from . import _common, imagenet_utils

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "preprocess_input", "decode_predictions"]

_URL = _common.KERAS_APPS_URL + "densenet/"
# blocks per dense block -> (weights name, md5 of the top file, md5 of the no-top file)
_WEIGHTS = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
_GROWTH = 32
_BN_EPS = 1.001e-5


def _bn(name):
    return layers.BatchNormalization(axis=3, epsilon=_BN_EPS, name=name)


def _conv_block(x, name):
    """Batch norm, ReLU, 1x1 convolution (``4 * growth``), batch norm, ReLU, 3x3 convolution
    (``growth``), its output concatenated to the block's input."""
    y = _bn(f"{name}_0_bn")(x)
    y = layers.Activation("relu", name=f"{name}_0_relu")(y)
    y = layers.Conv2D(4 * _GROWTH, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn(f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(_GROWTH, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, y])


def _transition(x, name):
    """Batch norm, ReLU, 1x1 convolution halving the channels, 2x2 average pooling."""
    x = _bn(f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[3] * 0.5), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(family, blocks, include_top, weights, input_tensor, input_shape, pooling, classes,
              classifier_activation, name):
    _common.check_weights(family, weights, include_top, classes, pooling)
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.image_input(family, input_tensor, input_shape, given_shape)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn("conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, n in enumerate(blocks, start=2):
        for i in range(1, n + 1):
            x = _conv_block(x, f"conv{stage}_block{i}")
        if stage < 5:
            x = _transition(x, f"pool{stage}")
    x = _bn("bn")(x)
    x = layers.Activation("relu", name="relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling, avg_name="avg_pool", max_name="max_pool")
    weights_name, top_hash, notop_hash = _WEIGHTS[tuple(blocks)]
    file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return _common.finish(inputs, x, name, weights, file_name=file_name, url=_URL + file_name,
                          file_hash=top_hash if include_top else notop_hash)


_ARGS_DOC = """
    Feed it images passed through :func:`kerasette.applications.densenet.preprocess_input`
    (``x / 255``, then the ImageNet mean and standard deviation per channel). The default input
    is 224x224x3.

    Args:
        include_top (bool): keep the classifier (``avg_pool`` then the ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; with
            ``include_top=True`` and ImageNet weights it must be ``(224, 224, 3)``.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, channels)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name.

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape``,
            ``classifier_activation``, or an ``input_tensor`` that does not match ``input_shape``.
"""


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet121"):
    return _densenet("DenseNet121", (6, 12, 24, 16), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation, name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet169"):
    return _densenet("DenseNet169", (6, 12, 32, 32), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation, name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet201"):
    return _densenet("DenseNet201", (6, 12, 48, 32), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation, name)


DenseNet121.__doc__ = ("""DenseNet121: a 7x7 stem, then dense blocks of 6, 12, 24 and 16 convolution
    blocks (each adds 32 channels) joined by halving transitions; 1024 output channels.
""" + _ARGS_DOC + """
    Examples:
        >>> from kerasette.applications import DenseNet121
        >>> model = DenseNet121(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output_shape, model.count_params()
        ((None, 1024), 7037504)
""")
DenseNet169.__doc__ = ("""DenseNet169: a 7x7 stem, then dense blocks of 6, 12, 32 and 32 convolution
    blocks (each adds 32 channels) joined by halving transitions; 1664 output channels.
""" + _ARGS_DOC)
DenseNet201.__doc__ = ("""DenseNet201: a 7x7 stem, then dense blocks of 6, 12, 48 and 32 convolution
    blocks (each adds 32 channels) joined by halving transitions; 1920 output channels.
""" + _ARGS_DOC)


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "DenseNet", "torch")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
