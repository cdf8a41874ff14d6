"""kerasette.tree (``keras.tree``) against Keras 3's on a set of structures. (Keras 3.15 keeps the
insertion order of a dict nested directly in a dict while it sorts the others; kerasette sorts
every plain dict, so that case is left out.)"""
import collections
import importlib.util
import os

import pytest

from kerasette import tree

HAVE_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("torch") is not None
needs_keras = pytest.mark.skipif(not HAVE_KERAS, reason="real Keras 3 (with torch) is not installed")
P = collections.namedtuple("P", "b a")
STRUCTURES = [
    1, None, [], [None], [1, [2, (3, 4)]], {"b": [1, (2, 3)], "a": None},
    {"z": 1, "y": [{"c": 3}, 2]}, collections.OrderedDict([("z", 4), ("y", 5)]), P(6, [7, 8]),
    ({"x": (1, 2)}, [P(3, None)]),
]


def test_flatten_pack_and_map():
    s = {"b": [1, (2, 3)], "a": None, "c": collections.OrderedDict([("z", 4), ("y", 5)]), "d": P(6, 7)}
    assert tree.flatten(s) == [None, 1, 2, 3, 4, 5, 6, 7]
    packed = tree.pack_sequence_as(s, range(8))
    assert packed == {"b": [1, (2, 3)], "a": 0, "c": collections.OrderedDict([("z", 4), ("y", 5)]), "d": P(6, 7)}
    assert list(packed) == ["b", "a", "c", "d"] and isinstance(packed["d"], P)
    assert tree.map_structure(lambda a, b: a * b, [1, (2,)], [3, (4,)]) == [3, (8,)]
    assert tree.map_structure(lambda x: 0, [None, 1], none_is_leaf=False) == [None, 0]
    with pytest.raises(ValueError, match="don't have the same nested structure"):
        tree.map_structure(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(ValueError, match="the structure has 2 leaves, got 3 values"):
        tree.pack_sequence_as([1, 2], [1, 2, 3])


def test_the_other_utilities():
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    assert tree.map_structure_up_to([1, [2]], lambda a, b: (a, b), [10, [20]], [[1, 2], [3]]) == \
        [(10, [1, 2]), [(20, 3)]]
    assert tree.map_shape_structure(len, {"x": (None, 3), "y": [(1, 2), (3,)]}) == {"x": 2, "y": [2, 1]}
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, [2]]) == [1, [None]]
    assert tree.traverse(lambda x: x * 10 if isinstance(x, int) else None, [1, [2]], top_down=False) == [10, [20]]
    assert tree.flatten_with_path({"a": [5, 6]}) == [(("a", 0), 5), (("a", 1), 6)]
    tree.assert_same_paths([1, 2], (3, 4))
    with pytest.raises(ValueError, match="same paths"):
        tree.assert_same_paths([1, 2], [1])


@needs_keras
@pytest.mark.parametrize("s", STRUCTURES, ids=range(len(STRUCTURES)))
def test_as_keras(s):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras as real
    assert tree.flatten(s) == real.tree.flatten(s)
    assert tree.is_nested(s) == real.tree.is_nested(s)
    n = len(tree.flatten(s))
    assert tree.pack_sequence_as(s, list(range(n))) == real.tree.pack_sequence_as(s, list(range(n)))
    assert tree.map_structure(lambda x: (x,), s) == real.tree.map_structure(lambda x: (x,), s)
    assert tree.lists_to_tuples(s) == real.tree.lists_to_tuples(s)
    if "P(" not in repr(s):         # Keras numbers a namedtuple's paths in its own order
        assert [p for p, _ in tree.flatten_with_path(s)] == [p for p, _ in real.tree.flatten_with_path(s)]
