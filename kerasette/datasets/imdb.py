"""IMDB movie reviews, labelled by sentiment: ``keras.datasets.imdb``.

Downloaded on first use from the same address as Keras, checked against the same hash, into the
same cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``).
"""
import numpy as np

from . import _readers, _sequences

__all__ = ["load_data", "get_word_index"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
FILE_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"          # sha256
WORD_INDEX_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"                                    # md5


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, **kwargs):
    """25,000 training and 25,000 test movie reviews, each a list of word indices, labelled 0
    (negative) or 1 (positive), as ``keras.datasets.imdb.load_data``.

    Words are indexed by how often they occur (1 is the most frequent word of the file, before
    ``index_from`` is added); 0 stands for no word (padding). The training and the test reviews are
    each shuffled with ``np.random.RandomState(seed)`` (one generator, training set first), then
    every index is raised by ``index_from`` and led by ``start_char``; then reviews of ``maxlen``
    or more indices are dropped; then indices outside ``[skip_top, num_words)`` become ``oov_char``.

    Args:
        path (str): the file name in the cache folder ``~/.keras/datasets`` (default ``"imdb.npz"``).
        num_words (int | None): keep word indices below this (the most frequent words; indices
            counted after ``index_from`` is added); others become ``oov_char``. None (default)
            takes the largest index in the data as the bound, as Keras does, so that one word also
            becomes ``oov_char``.
        skip_top (int): word indices below this (the most frequent words, and ``start_char`` when
            it is smaller) become ``oov_char`` (default 0: none).
        maxlen (int | None): drop the reviews of this many indices or more (the start mark
            counts); None or 0 (default) keeps all. Raises ``ValueError`` when it empties the
            training or the test set.
        seed (int | None): seed of the shuffle (default 113, Keras's).
        start_char (int | None): the index that starts every review (default 1); None adds none.
        oov_char (int | None): the index that replaces the words cut by ``num_words`` /
            ``skip_top`` (default 2); None drops those words instead.
        index_from (int): added to every word index of the file (default 3, leaving 0 for
            padding, 1 for the start and 2 for out-of-vocabulary).

    Returns:
        tuple: ``(x_train, y_train), (x_test, y_test)``: ``x_*`` 1-D object arrays of Python lists
        of int word indices, ``y_*`` int64 arrays of 0 / 1 labels, in the shuffled order.

    Raises:
        TypeError: an unknown keyword argument (Keras 3 accepts and ignores them).
        ValueError: a bad option value, ``maxlen`` leaving no review, a file not in the IMDB
            layout, or a download that does not match the hash.
        pickle.UnpicklingError: the file's object arrays name anything but NumPy's array
            rebuilding (a tampered file); nothing in it is run.
    """
    what = "imdb.load_data"
    if kwargs:
        raise TypeError(f"{what}: unexpected keyword arguments {sorted(kwargs)}"
                        + (" (`nb_words` is now `num_words`)" if "nb_words" in kwargs else ""))
    _sequences.check_options(what, num_words, skip_top, maxlen, start_char, oov_char, index_from)
    local = _readers.fetch(path, ORIGIN, FILE_HASH)
    x_train, y_train, x_test, y_test = _readers.npz_arrays(local, ["x_train", "y_train", "x_test", "y_test"],
                                                           what)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{what}: {local} holds reviews and labels of different counts")
    rng = np.random.RandomState(seed)
    x_train, y_train = _sequences.shuffled(rng, x_train, y_train)
    x_test, y_test = _sequences.shuffled(rng, x_test, y_test)

    x_train = _sequences.offset(x_train, start_char, index_from)
    x_test = _sequences.offset(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = _sequences.drop_long(x_train, y_train, maxlen)
        x_test, y_test = _sequences.drop_long(x_test, y_test, maxlen)
        if not x_train or not x_test:
            raise ValueError(f"{what}: no review is shorter than maxlen={maxlen} in the "
                             f"{'training' if not x_train else 'test'} set; increase maxlen")
    seqs = _sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    n = len(x_train)
    return ((_sequences.object_array(seqs[:n]), np.asarray(y_train)),
            (_sequences.object_array(seqs[n:]), np.asarray(y_test)))


def get_word_index(path="imdb_word_index.json"):
    """The ``{word: index}`` dictionary of the IMDB data, as ``keras.datasets.imdb.get_word_index``.

    Indices are those of the file, before ``load_data`` adds ``index_from``: to decode a review
    loaded with the defaults, map ``index + 3`` back to the word.

    Args:
        path (str): the file name in the cache folder ``~/.keras/datasets`` (default
            ``"imdb_word_index.json"``).

    Returns:
        dict: word (str) to index (int), 1 for the most frequent word.
    """
    local = _readers.fetch(path, WORD_INDEX_ORIGIN, WORD_INDEX_HASH)
    return _readers.read_word_index(local, "imdb.get_word_index")

