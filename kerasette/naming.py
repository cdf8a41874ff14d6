"""Names as Keras spells them: class names in snake_case (``Conv2D`` -> ``conv2d``)."""
import re

__all__ = ["to_snake_case"]


def to_snake_case(name):
    """``"SimpleRNN" -> "simple_rnn"``, ``"Conv2D" -> "conv2d"``, ``"Dense" -> "dense"``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return re.sub(r"_?(\d)_d\b", r"\1d", s)
