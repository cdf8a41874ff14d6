"""kerasette.layers: the Layer base and the built-in layers (Keras names)."""
from .layer import Layer
from .input_spec import InputSpec
from .input_layer import Input, InputLayer
from .core import Dense, Activation, Dropout, Flatten, Reshape, Lambda, Masking
from .merge import (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
                    add, subtract, multiply, average, maximum, minimum, concatenate, dot)
from .serialization import serialize, deserialize
from .einsum_dense import EinsumDense
from . import symbolic as _symbolic
from ..autograd import function as _function

_function._SYMBOLIC_HOOK[:] = [_symbolic._apply_op_symbolically]
from .. import ops as _ops  # noqa: E402
_ops._SYMBOLIC_FALLBACK[:] = [_symbolic.symbolic_op_call]

__all__ = ["Layer", "InputSpec", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Reshape",
           "Lambda", "Masking", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot", "serialize", "deserialize", "EinsumDense"]
from .conv import Conv2D, Convolution2D  # noqa: E402
from .pooling import (MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,  # noqa: E402
                      GlobalMaxPooling2D, ZeroPadding2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D,
                      GlobalMaxPool2D)
__all__ += ["Conv2D", "Convolution2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
            "GlobalMaxPooling2D", "ZeroPadding2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
            "GlobalMaxPool2D"]
from .recurrent import SimpleRNNCell, SimpleRNN, Bidirectional  # noqa: E402
__all__ += ["SimpleRNNCell", "SimpleRNN", "Bidirectional"]
from .normalization import BatchNormalization, LayerNormalization  # noqa: E402
__all__ += ["BatchNormalization", "LayerNormalization"]
from .embedding import Embedding  # noqa: E402
from .conv1d import (Conv1D, Convolution1D, MaxPooling1D, AveragePooling1D,  # noqa: E402
                     GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPool1D, AvgPool1D, GlobalAvgPool1D,
                     GlobalMaxPool1D)
__all__ += ["Embedding", "Conv1D", "Convolution1D", "MaxPooling1D", "AveragePooling1D",
            "GlobalAveragePooling1D", "GlobalMaxPooling1D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D",
            "GlobalMaxPool1D"]
from .lstm_gru import LSTMCell, LSTM, GRUCell, GRU  # noqa: E402
__all__ += ["LSTMCell", "LSTM", "GRUCell", "GRU"]
# -- the Keras layer catalogue (issue 14): reshaping, activations, regularization, preprocessing
from .reshaping import (Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D,  # noqa: E402
                        Permute, RepeatVector, Identity)
from .activation_layers import ReLU, LeakyReLU, PReLU, ELU, Softmax  # noqa: E402
from .regularization import (SpatialDropout1D, SpatialDropout2D, GaussianNoise,  # noqa: E402
                             GaussianDropout, ActivityRegularization)
from .preprocessing import Rescaling, Normalization, CenterCrop, Resizing  # noqa: E402
__all__ += ["Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "Permute",
            "RepeatVector", "Identity", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
            "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
            "ActivityRegularization", "Rescaling", "Normalization", "CenterCrop", "Resizing"]
from .conv_transpose import (Conv2DTranspose, Conv1DTranspose, Convolution2DTranspose,  # noqa: E402
                             Convolution1DTranspose)
from .conv_depthwise import (DepthwiseConv2D, DepthwiseConv1D, SeparableConv2D, SeparableConv1D,  # noqa: E402
                             SeparableConvolution2D, SeparableConvolution1D)
__all__ += ["Conv2DTranspose", "Conv1DTranspose", "Convolution2DTranspose", "Convolution1DTranspose",
            "DepthwiseConv2D", "DepthwiseConv1D", "SeparableConv2D", "SeparableConv1D",
            "SeparableConvolution2D", "SeparableConvolution1D"]
from .rnn_generic import RNN, StackedRNNCells, TimeDistributed  # noqa: E402
__all__ += ["RNN", "StackedRNNCells", "TimeDistributed"]
from .attention import Attention, AdditiveAttention, MultiHeadAttention  # noqa: E402
__all__ += ["Attention", "AdditiveAttention", "MultiHeadAttention"]
from .conv3d import (Conv3D, Convolution3D, MaxPooling3D, AveragePooling3D,  # noqa: E402
                     GlobalAveragePooling3D, GlobalMaxPooling3D, UpSampling3D, ZeroPadding3D, Cropping3D,
                     MaxPool3D, AvgPool3D, GlobalAvgPool3D, GlobalMaxPool3D)
__all__ += ["Conv3D", "Convolution3D", "MaxPooling3D", "AveragePooling3D", "GlobalAveragePooling3D",
            "GlobalMaxPooling3D", "UpSampling3D", "ZeroPadding3D", "Cropping3D", "MaxPool3D", "AvgPool3D",
            "GlobalAvgPool3D", "GlobalMaxPool3D"]
from .conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D  # noqa: E402
__all__ += ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
# -- more of the Keras catalogue: normalization, dropout, 3-D transposed convolution, adaptive pooling
from .normalization import GroupNormalization, UnitNormalization, RMSNormalization  # noqa: E402
from .regularization import SpatialDropout3D, AlphaDropout  # noqa: E402
__all__ += ["GroupNormalization", "UnitNormalization", "RMSNormalization", "SpatialDropout3D", "AlphaDropout"]
from .conv_transpose import Conv3DTranspose, Convolution3DTranspose  # noqa: E402
__all__ += ["Conv3DTranspose", "Convolution3DTranspose"]
from .pooling import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,  # noqa: E402
                      AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D)
__all__ += ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
            "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]
# -- encodings and spectral normalization
from .category_encoding import CategoryEncoding, Discretization  # noqa: E402
from .spectral_normalization import SpectralNormalization  # noqa: E402
__all__ += ["CategoryEncoding", "Discretization", "SpectralNormalization"]
# -- image augmentation (active in training, the identity at inference)
from .augmentation import (RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomShear,  # noqa: E402
                           RandomCrop, RandomContrast, RandomBrightness, RandomGrayscale, RandomInvert,
                           RandomSharpness)
__all__ += ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomShear", "RandomCrop",
            "RandomContrast", "RandomBrightness", "RandomGrayscale", "RandomInvert", "RandomSharpness"]
