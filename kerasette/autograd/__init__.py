"""The define-by-run autograd core: Tensor, Function, backward, no_grad, gradcheck."""
from .tensor import Tensor, Variable, as_tensor
from .function import Function, no_grad, enable_grad, is_grad_enabled
from .engine import backward, grad, on_grad_ready
from .gradcheck import gradcheck, numerical_grad

__all__ = ["Tensor", "Variable", "as_tensor", "Function", "no_grad", "enable_grad",
           "is_grad_enabled", "backward", "grad", "on_grad_ready", "gradcheck", "numerical_grad"]
