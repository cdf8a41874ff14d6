"""Datasets shipped with kerasette (offline)."""
from . import mnist

__all__ = ["mnist"]
