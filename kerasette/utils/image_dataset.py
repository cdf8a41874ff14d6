"""``image_dataset_from_directory``: a folder of images (one subfolder per class) as batches.

Files are indexed as Keras does it (subfolders and file names in alphanumeric order, shuffled
once with the seed, the validation split taken from the end); images are read with Pillow (an
optional dependency: ``pip install pillow``) one batch at a time, when ``fit`` asks for it, and
resized with TensorFlow's bilinear / nearest conventions (half-pixel centres, no antialiasing).
"""
import os

import numpy as np

from .. import backend
from .py_dataset import PyDataset

__all__ = ["image_dataset_from_directory"]

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _index_directory(directory, labels, class_names, shuffle, seed, follow_links, verbose):
    """``(file_paths, labels, class_names)`` as ``keras.utils`` indexes a folder."""
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"image_dataset_from_directory: class_names {list(class_names)} do not "
                                 f"match the subfolders of {directory}: {subdirs} (or a subset of them)")
            subdirs = list(class_names)
    else:
        subdirs = [""]
    names = subdirs
    paths, found = [], []
    for index, sub in enumerate(subdirs):
        root_dir = os.path.join(directory, sub)
        walk = sorted(os.walk(root_dir, followlinks=follow_links), key=lambda t: t[0])
        for root, _, files in walk:
            for fname in sorted(files):
                if fname.lower().endswith(ALLOWLIST_FORMATS):
                    paths.append(os.path.join(root, fname))
                    found.append(index)
    if labels == "inferred":
        labels = np.asarray(found, dtype="int32")
    elif labels is None:
        names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"image_dataset_from_directory: {len(labels)} labels given but {len(paths)} "
                             f"image files found in {directory}")
        names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        print(f"Found {len(paths)} files." if labels is None
              else f"Found {len(paths)} files belonging to {len(names)} classes.")
    if shuffle:
        # the same permutation of the files and of the labels, as Keras draws it for this seed
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, names


def _split(paths, labels, validation_split, subset, verbose):
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        keep = slice(0, len(paths) - n_val)
    else:
        if verbose:
            print(f"Using {n_val} files for validation.")
        keep = slice(len(paths) - n_val, len(paths))
    return paths[keep], (labels[keep] if labels is not None else None)


def _resize(img, size, interpolation):
    """``(h, w, c)`` float32 -> ``size``, TensorFlow's half-pixel convention, no antialiasing."""
    out_h, out_w = size
    in_h, in_w = img.shape[:2]
    if (in_h, in_w) == (out_h, out_w):
        return img

    def coords(n_out, n_in):
        return (np.arange(n_out, dtype="float64") + 0.5) * (n_in / n_out) - 0.5

    ys, xs = coords(out_h, in_h), coords(out_w, in_w)
    if interpolation == "nearest":
        yi = np.clip(np.floor(ys + 0.5), 0, in_h - 1).astype(np.int64)
        xi = np.clip(np.floor(xs + 0.5), 0, in_w - 1).astype(np.int64)
        return img[yi][:, xi]
    ys, xs = np.clip(ys, 0, in_h - 1), np.clip(xs, 0, in_w - 1)
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, in_h - 1), np.minimum(x0 + 1, in_w - 1)
    wy, wx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - wx) + img[y0][:, x1] * wx
    bottom = img[y1][:, x0] * (1 - wx) + img[y1][:, x1] * wx
    return (top * (1 - wy) + bottom * wy).astype("float32")


def _fit_aspect(img, size, crop, pad):
    """Centre-crop (``crop``) or zero-pad (``pad``) ``img`` to the aspect ratio of ``size``."""
    h, w = img.shape[:2]
    th, tw = size
    if crop:
        ch, cw = min(h, int(w * th / tw)), min(w, int(h * tw / th))
        oy, ox = (h - ch) // 2, (w - cw) // 2
        return img[oy:oy + ch, ox:ox + cw]
    if pad:
        ph, pw = max(h, int(w * th / tw)), max(w, int(h * tw / th))
        out = np.zeros((ph, pw) + img.shape[2:], dtype=img.dtype)
        oy, ox = (ph - h) // 2, (pw - w) // 2
        out[oy:oy + h, ox:ox + w] = img
        return out
    return img


class _ImageBatches(PyDataset):
    """Batches ``(images, labels)`` (or images) read from files when asked for."""

    def __init__(self, paths, labels, label_mode, num_classes, channels, image_size, interpolation,
                 crop, pad, data_format, batch_size, class_names):
        super().__init__()
        self.file_paths, self.labels, self.label_mode = list(paths), labels, label_mode
        self.num_classes, self.channels, self.image_size = num_classes, channels, tuple(image_size)
        self.interpolation, self.crop, self.pad = interpolation, crop, pad
        self.data_format, self.batch_size, self.class_names = data_format, batch_size, class_names

    def __len__(self):
        n = len(self.file_paths)
        return n if self.batch_size is None else -(-n // self.batch_size)

    def _load(self, path):
        from PIL import Image
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]
        with Image.open(path) as im:
            img = np.asarray(im.convert(mode), dtype="float32")
        if img.ndim == 2:
            img = img[:, :, None]
        img = _fit_aspect(img, self.image_size, self.crop, self.pad)
        img = _resize(img, self.image_size, self.interpolation)
        return img if self.data_format == "channels_last" else img.transpose(2, 0, 1)

    def _label(self, idx):
        y = self.labels[idx]
        if self.label_mode == "int":
            return y.astype("int32")
        if self.label_mode == "binary":
            return y.astype("float32")[..., None]
        return np.eye(self.num_classes, dtype="float32")[y]

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range ({len(self)} batches)")
        if self.batch_size is None:
            image = self._load(self.file_paths[index])
            return image if self.labels is None else (image, self._label(index))
        sl = slice(index * self.batch_size, (index + 1) * self.batch_size)
        images = np.stack([self._load(p) for p in self.file_paths[sl]])
        return images if self.labels is None else (images, self._label(np.arange(len(self.file_paths))[sl]))


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                                 data_format=None, verbose=True):
    """Batches of images read from a folder, labelled by subfolder (``keras.utils`` semantics).

    ``directory/cats/*.png`` and ``directory/dogs/*.jpg`` give classes ``["cats", "dogs"]``
    (subfolders in alphanumeric order) and labels 0 and 1. Supported files: ``.bmp``, ``.gif``,
    ``.jpeg``, ``.jpg``, ``.png`` (the first frame of a GIF), read with Pillow when a batch is
    needed. Images are float32 in ``[0, 255]``.

    Args:
        directory (str | os.PathLike): the folder.
        labels (str | list | None): ``"inferred"`` (from the subfolders, default), None (images
            only), or a list of integer labels for the image files in sorted path order.
        label_mode (str | None): ``"int"`` (int32 class ids, default), ``"categorical"`` (one-hot
            float32), ``"binary"`` (float32 ``(batch, 1)``, two classes) or None (no labels).
        class_names (list | None): the subfolders to use, in this order (``labels="inferred"``).
        color_mode (str): ``"rgb"`` (default), ``"rgba"`` or ``"grayscale"``: 3, 4 or 1 channels.
        batch_size (int | None): images per batch (default 32); None gives single images.
        image_size (tuple | int): ``(height, width)`` every image is resized to (default 256 x 256).
        shuffle (bool): shuffle the files once, with ``seed`` (default True); False keeps them in
            alphanumeric order.
        seed (int | None): the shuffle's seed (required with ``validation_split`` and ``shuffle``).
        validation_split (float | None): fraction of the files held out for validation.
        subset (str | None): with ``validation_split``: ``"training"``, ``"validation"`` or
            ``"both"`` (returns the two datasets).
        interpolation (str): ``"bilinear"`` (default) or ``"nearest"``.
        follow_links (bool): follow symbolic links to folders (default False).
        crop_to_aspect_ratio (bool): centre-crop each image to the target aspect ratio before
            resizing, so that it is not distorted (default False).
        pad_to_aspect_ratio (bool): zero-pad each image to the target aspect ratio instead.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.
        verbose (bool): print how many files and classes were found (default True).

    Returns:
        PyDataset | list: batches ``(images, labels)`` (images alone without labels), with
        ``class_names`` and ``file_paths`` attributes; a list of two with ``subset="both"``.
    """
    directory = os.fspath(directory)
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"image_dataset_from_directory: labels must be \"inferred\", None or a list of "
                             f"integer labels (one per image file), got {labels!r}")
        if class_names:
            raise ValueError("image_dataset_from_directory: class_names can only be given with "
                             "labels=\"inferred\"")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"image_dataset_from_directory: label_mode must be \"int\", \"categorical\", "
                         f"\"binary\" or None, got {label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if channels is None:
        raise ValueError(f"image_dataset_from_directory: color_mode must be \"rgb\", \"rgba\" or "
                         f"\"grayscale\", got {color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"image_dataset_from_directory: image_size must be (height, width), got "
                         f"{image_size!r}")
    interpolation = str(interpolation).lower()
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"image_dataset_from_directory: interpolation {interpolation!r} is not supported "
                         f"by kerasette; use \"bilinear\" or \"nearest\"")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("image_dataset_from_directory: pass only one of crop_to_aspect_ratio and "
                         "pad_to_aspect_ratio")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"image_dataset_from_directory: data_format must be \"channels_last\" or "
                         f"\"channels_first\", got {data_format!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size <= 0):
        raise ValueError(f"image_dataset_from_directory: batch_size must be a positive integer or None, "
                         f"got {batch_size!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"image_dataset_from_directory: validation_split must be in (0, 1), got "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("image_dataset_from_directory: subset and validation_split go together: "
                         "pass both, or neither")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"image_dataset_from_directory: subset must be \"training\", \"validation\" or "
                         f"\"both\", got {subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("image_dataset_from_directory: with validation_split and shuffle=True, pass a "
                         "seed, so that the training and validation subsets do not overlap")
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ImportError("image_dataset_from_directory reads images with Pillow: pip install pillow "
                          "(or kerasette[images])") from None
    if seed is None:
        seed = int(backend.random_generator().integers(1e6))
    paths, labels, names = _index_directory(directory, labels, class_names, shuffle, seed, follow_links,
                                            verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"image_dataset_from_directory: label_mode=\"binary\" needs exactly 2 classes, "
                         f"found {names}")

    def make(part):
        p, lab = _split(paths, labels, validation_split, part, verbose)
        if not p:
            what = {"training": "training ", "validation": "validation "}.get(part, "")
            raise ValueError(f"image_dataset_from_directory: no {what}images found in {directory}; "
                             f"allowed formats: {ALLOWLIST_FORMATS}")
        return _ImageBatches(p, lab, label_mode, len(names) if names else 0, channels, image_size,
                             interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format,
                             batch_size, names)

    if subset == "both":
        return [make("training"), make("validation")]
    return make(subset)
