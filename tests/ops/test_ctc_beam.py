"""``ops.ctc_decode(strategy="beam_search")``: a prefix beam search, all batch rows at once.

Checked against an exhaustive search over every alignment (a beam as wide as the number of
prefixes is exact), hand-computed values, the refusals, and, when Keras 3 is installed,
Keras's own decoder on small random inputs."""
import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest

from kerasette import ops


def _np(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def _collapse(alignment, blank):
    out, prev = [], None
    for c in alignment:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return tuple(out)


def _exhaustive(logits, length, blank):
    """{label sequence: log-probability}, summed over every alignment of the first frames."""
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    probs = {}
    for alignment in itertools.product(range(logits.shape[-1]), repeat=length):
        seq = _collapse(alignment, blank)
        probs[seq] = probs.get(seq, 0.0) + np.exp(sum(logp[t, c] for t, c in enumerate(alignment)))
    return {k: np.log(v) for k, v in probs.items()}


def _padded(seq, steps):
    return list(seq) + [-1] * (steps - len(seq))


@pytest.mark.parametrize("seed,blank", [(0, 0), (1, 2), (2, 1), (3, 0)])
def test_a_wide_beam_is_the_exhaustive_search(seed, blank):
    rng = np.random.default_rng(seed)
    batch, steps, classes = 3, 5, 3
    logits = rng.normal(size=(batch, steps, classes)) * 1.5
    lengths = np.array([5, 3, 1])
    top = 4
    decoded, scores = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=64,
                                     top_paths=top, mask_index=blank)
    decoded, scores = _np(decoded), _np(scores)
    assert decoded.shape == (top, batch, steps) and scores.shape == (batch, top)
    assert decoded.dtype == np.int32
    for b in range(batch):
        exact = sorted(_exhaustive(logits[b], lengths[b], blank).items(), key=lambda kv: -kv[1])
        n = min(top, len(exact))
        for p in range(n):
            assert decoded[p, b].tolist() == _padded(exact[p][0], steps)
            assert scores[b, p] == pytest.approx(exact[p][1], rel=1e-6)
        assert np.all(np.isneginf(scores[b, n:]))      # fewer sequences than paths asked for


def test_hand_computed_example():
    # P("1") over 3 frames, and P("12"): the sum of their alignments
    probs = np.array([[[0.1, 0.6, 0.3], [0.2, 0.5, 0.3], [0.7, 0.2, 0.1]]])

    def p(seq):
        return sum(np.prod([probs[0, t, c] for t, c in enumerate(a)])
                   for a in itertools.product(range(3), repeat=3) if _collapse(a, 0) == seq)

    decoded, scores = ops.ctc_decode(np.log(probs), np.array([3]), strategy="beam_search", beam_width=8,
                                     top_paths=2)
    assert _np(decoded).tolist() == [[[1, -1, -1]], [[1, 2, -1]]]
    np.testing.assert_allclose(_np(scores), [[np.log(p((1,))), np.log(p((1, 2)))]], rtol=1e-6)
    # a beam of 4 prunes the empty prefix after frame 2 (0.02 < P("21") = 0.15), so the alignment
    # blank-blank-1 (0.1 * 0.2 * 0.2) is lost: the search is approximate, as Keras's (same values)
    decoded, scores = ops.ctc_decode(np.log(probs), np.array([3]), strategy="beam_search", beam_width=4,
                                     top_paths=2)
    assert _np(decoded).tolist() == [[[1, -1, -1]], [[1, 2, -1]]]
    np.testing.assert_allclose(_np(scores), [[np.log(p((1,)) - 0.004), np.log(p((1, 2)))]], rtol=1e-6)
    np.testing.assert_allclose(_np(scores), [[-0.9188, -1.6555]], atol=1e-4)


def test_repeats_need_a_blank_between():
    # frames certain of 1, 1, blank, 1: the sequence is (1, 1), never (1,) or (1, 1, 1)
    logp = np.log(np.eye(3)[[1, 1, 0, 1]] * 0.98 + 0.01)[None]
    decoded, _ = ops.ctc_decode(logp, np.array([4]), strategy="beam_search", beam_width=5)
    assert _np(decoded).tolist() == [[[1, 1, -1, -1]]]


def test_beam_width_one_is_greedy_on_peaked_inputs():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(4, 6, 5)) * 8           # near one-hot frames
    lengths = np.array([6, 4, 2, 6])
    beam, _ = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=1)
    greedy, _ = ops.ctc_decode(logits, lengths)
    np.testing.assert_array_equal(_np(beam), _np(greedy))


def test_frames_past_the_length_are_ignored():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(2, 6, 4))
    cut = logits.copy()
    cut[:, 3:] = rng.normal(size=(2, 3, 4)) * 10        # different frames beyond length 3
    a = ops.ctc_decode(logits, np.array([3, 3]), strategy="beam_search", beam_width=6, top_paths=3)
    b = ops.ctc_decode(cut, np.array([3, 3]), strategy="beam_search", beam_width=6, top_paths=3)
    np.testing.assert_array_equal(_np(a[0]), _np(b[0]))
    np.testing.assert_allclose(_np(a[1]), _np(b[1]), rtol=1e-6)


def test_mask_index_none_is_the_last_class():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(2, 5, 4)).astype("float32")
    a = ops.ctc_decode(logits, np.array([5, 4]), strategy="beam_search", beam_width=5, top_paths=2,
                       mask_index=None)
    b = ops.ctc_decode(logits, np.array([5, 4]), strategy="beam_search", beam_width=5, top_paths=2,
                       mask_index=3)
    np.testing.assert_array_equal(_np(a[0]), _np(b[0]))
    assert _np(a[1]).dtype == np.float32


@pytest.mark.parametrize("kwargs,match", [
    (dict(beam_width=0), "beam_width must be a positive integer, got 0"),
    (dict(beam_width=2.5), "beam_width must be a positive integer, got 2.5"),
    (dict(top_paths=0), "top_paths must be a positive integer, got 0"),
    (dict(beam_width=3, top_paths=4), r"top_paths must be at most beam_width \(3\), got 4"),
    (dict(mask_index=7), r"mask_index must be a class index in \[0, 4\) or None, got 7"),
])
def test_refusals_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.ctc_decode(np.zeros((1, 3, 4)), np.array([3]), strategy="beam_search", **kwargs)


def test_shape_refusals():
    with pytest.raises(ValueError, match=r"inputs must be \(batch, max_time, classes\), got shape \(3, 4\)"):
        ops.ctc_decode(np.zeros((3, 4)), np.array([3]), strategy="beam_search")
    with pytest.raises(ValueError, match=r"one entry per batch row \(2\), got 3"):
        ops.ctc_decode(np.zeros((2, 3, 4)), np.array([3, 3, 3]), strategy="beam_search")


def test_matches_keras():
    k = pytest.importorskip("keras", reason="Keras 3 cross-check")
    rng = np.random.default_rng(11)
    for trial in range(24):
        batch, steps, classes = int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(2, 6))
        x = (rng.normal(size=(batch, steps, classes)) * rng.choice([0.5, 1.0, 3.0])).astype("float32")
        lengths = rng.integers(1, steps + 1, size=batch)
        width = int(rng.integers(1, 8))
        top = int(rng.integers(1, width + 1))
        blank = [0, classes - 1, None, int(rng.integers(0, classes))][trial % 4]
        kw = dict(strategy="beam_search", beam_width=width, top_paths=top, mask_index=blank)
        ref_d, ref_s = (k.ops.convert_to_numpy(a) for a in k.ops.ctc_decode(x, lengths, **kw))
        d, s = (_np(a) for a in ops.ctc_decode(x, lengths, **kw))
        assert d.shape == ref_d.shape and s.shape == ref_s.shape
        finite = np.isfinite(ref_s)
        assert (np.isfinite(s) == finite).all()
        np.testing.assert_allclose(s[finite], ref_s[finite], rtol=1e-4, atol=1e-5)
        for b, p in zip(*np.nonzero(finite)):       # paths of -inf score: any order is right
            assert d[p, b].tolist() == ref_d[p, b].tolist(), (trial, b, p)
