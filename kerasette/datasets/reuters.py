"""Reuters newswires, labelled over 46 topics: ``keras.datasets.reuters``.

Downloaded on first use from the same address as Keras, checked against the same hash, into the
same cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``).
"""
import numpy as np

from . import _readers, _sequences

__all__ = ["load_data", "get_word_index", "get_label_names"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters.npz"
FILE_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"          # sha256
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"                                    # md5

_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
           "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi",
           "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal",
           "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc",
           "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """11,228 Reuters newswires, each a list of word indices, labelled with one of 46 topics, as
    ``keras.datasets.reuters.load_data``.

    Words are indexed by how often they occur (1 is the most frequent word of the file, before
    ``index_from`` is added); 0 stands for no word (padding). All newswires are shuffled with
    ``np.random.RandomState(seed)``, then every index is raised by ``index_from`` and led by
    ``start_char``; then newswires of ``maxlen`` or more indices are dropped; then indices outside
    ``[skip_top, num_words)`` become ``oov_char``; then the first ``int(n * (1 - test_split))``
    newswires form the training set and the rest the test set.

    Args:
        path (str): the file name in the cache folder ``~/.keras/datasets`` (default
            ``"reuters.npz"``).
        num_words (int | None): keep word indices below this (the most frequent words; indices
            counted after ``index_from`` is added); others become ``oov_char``. None (default)
            takes the largest index in the data as the bound, as Keras does, so that one word also
            becomes ``oov_char``.
        skip_top (int): word indices below this (the most frequent words, and ``start_char`` when
            it is smaller) become ``oov_char`` (default 0: none).
        maxlen (int | None): drop the newswires of this many indices or more (the start mark
            counts); None or 0 (default) keeps all.
        test_split (float): the share of the newswires in the test set, in [0, 1] (default 0.2).
        seed (int | None): seed of the shuffle (default 113, Keras's).
        start_char (int | None): the index that starts every newswire (default 1); None adds none.
        oov_char (int | None): the index that replaces the words cut by ``num_words`` /
            ``skip_top`` (default 2); None drops those words instead.
        index_from (int): added to every word index of the file (default 3, leaving 0 for
            padding, 1 for the start and 2 for out-of-vocabulary).

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: ``x_*`` 1-D object arrays of Python lists
        of int word indices, ``y_*`` int64 arrays of topic labels 0..45 (names in
        :func:`get_label_names`), in the shuffled order.

    Raises:
        ValueError: a bad option value, ``maxlen`` leaving no newswire, a file not in the Reuters
            layout, or a download that does not match the hash.
        pickle.UnpicklingError: the file's object arrays name anything but NumPy's array
            rebuilding (a tampered file); nothing in it is run.
    """
    what = "reuters.load_data"
    _sequences.check_options(what, num_words, skip_top, maxlen, start_char, oov_char, index_from)
    _readers.check_test_split(test_split, what, allow_one=True)
    local = _readers.fetch(path, ORIGIN, FILE_HASH)
    xs, labels = _readers.npz_arrays(local, ["x", "y"], what)
    if len(xs) != len(labels):
        raise ValueError(f"{what}: {local} holds {len(xs)} newswires but {len(labels)} labels")
    xs, labels = _sequences.shuffled(np.random.RandomState(seed), xs, labels)
    xs = _sequences.offset(xs, start_char, index_from)
    xs, labels = _sequences.drop_long(xs, labels, maxlen)
    if maxlen and not xs:
        raise ValueError(f"{what}: no newswire is shorter than maxlen={maxlen}; increase maxlen")
    xs = _sequences.limit_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((_sequences.object_array(xs[:cut]), labels[:cut]),
            (_sequences.object_array(xs[cut:]), labels[cut:]))


def get_word_index(path="reuters_word_index.json"):
    """The ``{word: index}`` dictionary of the Reuters data, as
    ``keras.datasets.reuters.get_word_index``.

    Indices are those of the file, before ``load_data`` adds ``index_from``: to decode a newswire
    loaded with the defaults, map ``index + 3`` back to the word.

    Args:
        path (str): the file name in the cache folder ``~/.keras/datasets`` (default
            ``"reuters_word_index.json"``).

    Returns:
        dict: word (str) to index (int), 1 for the most frequent word.
    """
    local = _readers.fetch(path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH)
    return _readers.read_word_index(local, "reuters.get_word_index")


def get_label_names():
    """The 46 topic names, ``get_label_names()[label]`` naming a label of ``load_data``, as
    ``keras.datasets.reuters.get_label_names``.

    Returns:
        tuple: 46 strings (``"cocoa"``, ``"grain"``, ... ``"lead"``).
    """
    return _LABELS
