"""Single images to and from arrays, as Keras 3's ``keras.utils.load_img`` / ``img_to_array`` /
``array_to_img`` / ``save_img`` (Pillow, the extra ``images``): the glue of "predict on this
photo" scripts."""
import io
import os
import pathlib
import warnings

import numpy as np

from .. import backend

__all__ = ["load_img", "img_to_array", "array_to_img", "save_img"]

_RESAMPLE = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Read an image file into a PIL image, converted and resized as asked.

    Args:
        path (str | pathlib.Path | bytes | io.BytesIO): the file, or its bytes in a ``BytesIO``.
        color_mode (str): ``"rgb"`` (default), ``"rgba"`` or ``"grayscale"`` (8-bit unless the
            file is already 16- or 32-bit grey).
        target_size (tuple | None): ``(height, width)`` to resize to; None keeps the size.
        interpolation (str): Pillow's resampling: ``"nearest"`` (default), ``"bilinear"``,
            ``"bicubic"``, ``"hamming"``, ``"box"`` or ``"lanczos"``.
        keep_aspect_ratio (bool): resize the largest centred box of the target's aspect ratio
            (cropping the rest) instead of stretching the whole image.

    Returns:
        PIL.Image.Image: the image (``img_to_array`` makes it an array).
    """
    image_module = _pil()
    if color_mode not in ("rgb", "rgba", "grayscale"):
        raise ValueError(f'load_img: color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}')
    if interpolation not in _RESAMPLE:
        raise ValueError(f"load_img: interpolation must be one of {list(_RESAMPLE)}, got {interpolation!r}")
    if isinstance(path, io.BytesIO):
        img = image_module.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as f:                 # read whole, so that the file is closed now
            img = image_module.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: path must be a path or an io.BytesIO, got {type(path).__name__}")
    wanted = {"rgb": ("RGB",), "rgba": ("RGBA",), "grayscale": ("L", "I;16", "I")}[color_mode]
    if img.mode not in wanted:
        img = img.convert(wanted[0])
    if target_size is None:
        return img
    height, width = (int(v) for v in target_size)
    if (width, height) == img.size:
        return img
    resample = getattr(getattr(image_module, "Resampling", image_module), interpolation.upper())
    box = None
    if keep_aspect_ratio:
        w, h = img.size
        crop_h, crop_w = min(h, w * height // width), min(w, h * width // height)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize((width, height), resample, box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or anything ``np.asarray`` takes) as a 3-D array.

    Args:
        img (PIL.Image.Image | array): the image.
        data_format (str | None): ``"channels_last"`` (default): ``(height, width, channels)``;
            ``"channels_first"``: ``(channels, height, width)``.
        dtype (str | None): the array's dtype (default ``floatx()``).

    Returns:
        np.ndarray: the pixels (values as stored, e.g. 0-255).
    """
    data_format = _data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of rank 2 or 3, got shape {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array as a PIL image (1, 3 or 4 channels).

    Args:
        x (array): ``(height, width, channels)`` (``(channels, height, width)`` with
            ``channels_first``).
        data_format (str | None): as for ``img_to_array``.
        scale (bool): stretch the values to 0-255 first (min to 0, max to 255).
        dtype (str | None): the dtype the values are taken in first (default ``floatx()``).

    Returns:
        PIL.Image.Image: ``"L"`` (or ``"I"`` for grey values above 255), ``"RGB"`` or ``"RGBA"``.
    """
    image_module = _pil()
    data_format = _data_format(data_format, "array_to_img")
    x = np.array(x, dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3, got shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - x.min()
        top = x.max()
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if x.max() > 255:
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: expected 1, 3 or 4 channels, got {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write a 3-D array as an image file.

    Args:
        path (str | pathlib.Path | file): where to write.
        x (array): the image, as for ``array_to_img``.
        data_format (str | None): as for ``img_to_array``.
        file_format (str | None): Pillow's format name; None takes it from the file's suffix
            (``.jpg`` is JPEG; an RGBA image is written as RGB there, with a warning).
        scale (bool): as for ``array_to_img``.
        **kwargs: passed to Pillow's ``Image.save`` (``quality=``, ...).
    """
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG has no alpha channel; the image is written as RGB", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("kerasette.utils image functions read and write images with Pillow: pip install "
                          "pillow (or kerasette[images])") from None
    return Image


def _data_format(data_format, where):
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format
