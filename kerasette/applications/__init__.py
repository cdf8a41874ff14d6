"""``keras.applications``: the classic ImageNet networks, built with Keras's layer names, order
and weight shapes, so that the weight files Keras publishes (or writes) load unchanged.

Each builder takes ``weights=None`` (random initialization), ``"imagenet"`` (Keras's pretrained
file, fetched once into ``~/.keras/models`` with :func:`kerasette.utils.get_file`) or the path of a
weights file. Each family's module has the matching ``preprocess_input`` and
``decode_predictions``::

    from kerasette.applications import resnet50
    model = resnet50.ResNet50(weights="imagenet")
    preds = model.predict(resnet50.preprocess_input(images))
    print(resnet50.decode_predictions(preds, top=3))
"""
from . import (densenet, efficientnet, imagenet_utils, inception_v3, mobilenet, mobilenet_v2, mobilenet_v3, resnet,
               resnet50, resnet_v2, vgg16, vgg19, xception)
from .densenet import DenseNet121, DenseNet169, DenseNet201
from .efficientnet import (EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4,
                           EfficientNetB5, EfficientNetB6, EfficientNetB7)
from .inception_v3 import InceptionV3
from .mobilenet import MobileNet
from .mobilenet_v2 import MobileNetV2
from .mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from .resnet import ResNet50, ResNet101, ResNet152
from .resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from .vgg16 import VGG16
from .vgg19 import VGG19
from .xception import Xception

__all__ = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2",
           "ResNet152V2", "MobileNet", "MobileNetV2", "Xception", "DenseNet121", "DenseNet169", "DenseNet201",
           "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
           "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "InceptionV3", "MobileNetV3Small",
           "MobileNetV3Large",
           "imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "mobilenet", "mobilenet_v2",
           "mobilenet_v3", "xception", "densenet", "efficientnet", "inception_v3"]
