"""The define-by-run autograd core: Tensor, Function, backward, no_grad, gradcheck."""
from .tensor import Tensor, Variable, as_tensor
from .function import Function, no_grad, enable_grad, is_grad_enabled
from .engine import backward, grad
from .gradcheck import gradcheck, numerical_grad

__all__ = ["Tensor", "Variable", "as_tensor", "Function", "no_grad", "enable_grad",
           "is_grad_enabled", "backward", "grad", "gradcheck", "numerical_grad"]
