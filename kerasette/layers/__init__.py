"""kerasette.layers: the Layer base and the built-in layers (Keras names)."""
from .layer import Layer
from .input_layer import Input, InputLayer
from .core import Dense, Activation, Dropout, Flatten, Reshape, Lambda, Masking
from .merge import (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
                    add, subtract, multiply, average, maximum, minimum, concatenate, dot)
from .serialization import serialize, deserialize

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Activation", "Dropout", "Flatten", "Reshape",
           "Lambda", "Masking", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot", "serialize", "deserialize"]
