"""The word-index sequence handling IMDB and Reuters share (Keras's semantics, step by step)."""
import numpy as np


def check_options(what, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    """Refuse option values Keras would misread (a float count, a negative skip...)."""
    def integer(name, value, none_ok):
        if value is None and none_ok:
            return
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{what}: {name} must be a non-negative integer{' or None' if none_ok else ''}, "
                             f"got {value!r}")
    integer("num_words", num_words, True)
    integer("skip_top", skip_top, False)
    integer("maxlen", maxlen, True)
    integer("start_char", start_char, True)
    integer("oov_char", oov_char, True)
    integer("index_from", index_from, False)


def shuffled(rng, *arrays):
    """The arrays permuted together by one ``rng.shuffle`` of their indices."""
    order = np.arange(len(arrays[0]))
    rng.shuffle(order)
    return [a[order] for a in arrays]


def offset(seqs, start_char, index_from):
    """Each sequence as a list, every word index raised by ``index_from``, led by ``start_char``
    when that is not None."""
    lead = [] if start_char is None else [start_char]
    return [lead + [int(w) + index_from for w in s] for s in seqs]


def drop_long(seqs, labels, maxlen):
    """Keep the sequences shorter than ``maxlen`` (start mark included) and their labels.
    ``maxlen`` None or 0 keeps all, as in Keras."""
    if not maxlen:
        return seqs, labels
    keep = [i for i, s in enumerate(seqs) if len(s) < maxlen]
    return [seqs[i] for i in keep], np.asarray(labels)[keep]


def limit_vocabulary(seqs, num_words, skip_top, oov_char):
    """Keep word indices ``w`` with ``skip_top <= w < num_words``; others become ``oov_char``, or
    are dropped when it is None. ``num_words`` None (or 0) means the largest index present, as
    in Keras, so that one word too becomes ``oov_char``."""
    if not num_words:
        num_words = max((max(s) for s in seqs if s), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]
    return [[w for w in s if skip_top <= w < num_words] for s in seqs]


def object_array(seqs):
    """A 1-D object array of lists (NumPy would make a 2-D array of equal-length lists)."""
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out
