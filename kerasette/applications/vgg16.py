"""VGG16 (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015), with Keras's layer names and weight files."""
from . import imagenet_utils
from ._common import KERAS_APPS_URL
from ._vgg import build_vgg

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]

_WEIGHTS = (
    ("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
     KERAS_APPS_URL + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
     "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
     KERAS_APPS_URL + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
     "6d6bbae143d832006294945121d1f1fc"),
)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 network: 13 convolutions in five blocks, then three dense layers.

    Feed it images passed through :func:`kerasette.applications.vgg16.preprocess_input`
    (RGB -> BGR, minus the ImageNet channel means). The default input is 224x224x3.

    Args:
        include_top (bool): keep the classifier (``flatten``, ``fc1``, ``fc2``, ``predictions``).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; with
            ``include_top=True`` and ImageNet weights it must be ``(224, 224, 3)``. Default:
            ``(224, 224, 3)`` with the top, ``(None, None, 3)`` without.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, 512)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name.

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape`` or
            ``classifier_activation``.

    Examples:
        >>> from kerasette.applications import VGG16
        >>> VGG16(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg").output_shape
        (None, 512)
    """
    return build_vgg("VGG16", (2, 2, 3, 3, 3), _WEIGHTS, include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation, name)


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "VGG16", "caffe")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
