"""``keras.tree``: nested structures (lists, tuples, namedtuples, dicts) and their leaves, as
Keras 3's utilities see them.

The rules (Keras 3's): lists, tuples, namedtuples and dicts are containers, everything else
(``None`` included) is a leaf; a dict's leaves come in sorted key order (an ``OrderedDict``'s
in its own order); rebuilt containers keep their type (a namedtuple stays one) and a dict its
own key order.
"""
import collections

__all__ = ["is_nested", "flatten", "flatten_with_path", "map_structure", "map_structure_up_to",
           "pack_sequence_as", "assert_same_structure", "assert_same_paths", "lists_to_tuples",
           "map_shape_structure", "traverse", "MAP_TO_NONE"]


class MAP_TO_NONE:
    """Returned by a ``traverse`` function to put ``None`` in the result (``None`` itself
    means "go on inside")."""


def is_nested(structure):
    """Whether ``structure`` is a container (list, tuple, namedtuple or dict).

    Args:
        structure (object): anything.
    """
    return isinstance(structure, (list, tuple, dict))


def flatten(structure):
    """The leaves of ``structure``, depth first (dicts by sorted key).

    Args:
        structure (object): a nested structure or a leaf (a leaf gives ``[leaf]``).

    Examples:
        >>> from kerasette import tree
        >>> tree.flatten({"b": [1, (2, 3)], "a": None})
        [None, 1, 2, 3]
    """
    return [leaf for _, leaf in _walk(structure, ())]


def flatten_with_path(structure):
    """``(path, leaf)`` pairs, ``path`` the tuple of keys and indices down to the leaf.

    Args:
        structure (object): a nested structure.
    """
    return list(_walk(structure, ()))


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied to the leaves at the same places of ``structures``, in a structure
    like the first.

    Args:
        func (callable): called with one leaf of each structure.
        *structures: structures of the same shape.
        none_is_leaf (bool): ``None`` is a leaf passed to ``func`` (default); False leaves
            ``None`` as it is.

    Examples:
        >>> from kerasette import tree
        >>> tree.map_structure(lambda a, b: a + b, {"x": [1, 2]}, {"x": [10, 20]})
        {'x': [11, 22]}
    """
    if not structures:
        raise ValueError("map_structure: give at least one structure")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    leaves = [flatten(s) for s in structures]
    if none_is_leaf:
        mapped = [func(*xs) for xs in zip(*leaves)]
    else:
        mapped = [None if xs[0] is None else func(*xs) for xs in zip(*leaves)]
    return pack_sequence_as(structures[0], mapped)


def map_structure_up_to(shallow_structure, func, *structures):
    """``map_structure`` down to the leaves of ``shallow_structure`` only: what sits below them
    in ``structures`` is passed to ``func`` whole.

    Args:
        shallow_structure (object): the structure that says where to stop.
        func (callable): called with one value of each structure.
        *structures: structures that have ``shallow_structure``'s shape at its depth.
    """
    def go(shallow, values):
        if not is_nested(shallow):
            return func(*values)
        for v in values:
            if not is_nested(v) or _kind(v) != _kind(shallow) or len(v) != len(shallow):
                raise ValueError(f"map_structure_up_to: {v!r} does not have the shape of {shallow!r}")
        keys = _keys(shallow)
        return _rebuild(shallow, [go(_item(shallow, k), [_item(v, k) for v in values]) for k in keys], keys)

    return go(shallow_structure, structures)


def pack_sequence_as(structure, flat_sequence):
    """A structure like ``structure`` whose leaves are ``flat_sequence``, in ``flatten``'s order.

    Args:
        structure (object): the template.
        flat_sequence (list | tuple): one value per leaf of ``structure``.
    """
    flat_sequence = list(flat_sequence)
    count = len(flatten(structure))
    if len(flat_sequence) != count:
        raise ValueError(f"pack_sequence_as: the structure has {count} leaves, got {len(flat_sequence)} values")
    values = iter(flat_sequence)

    def build(s):
        if not is_nested(s):
            return next(values)
        keys = _keys(s)
        return _rebuild(s, [build(_item(s, k)) for k in keys], keys)

    return build(structure)


def assert_same_structure(a, b, check_types=None):
    """Raise ``ValueError`` unless ``a`` and ``b`` nest the same way (same container kinds,
    lengths and dict keys).

    Args:
        a (object): a structure.
        b (object): another structure.
        check_types (None): accepted for Keras compatibility; the container kinds are always
            compared (a list and a tuple differ), as Keras 3 does.
    """
    if check_types not in (None, True):
        raise ValueError(f"assert_same_structure: check_types={check_types!r} is not supported "
                         f"(container kinds are always compared)")
    problem = _difference(a, b)
    if problem:
        raise ValueError(f"The two structures don't have the same nested structure: {problem}")


def assert_same_paths(a, b):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same leaf paths (container kinds may
    differ).

    Args:
        a (object): a structure.
        b (object): another structure.
    """
    pa, pb = [p for p, _ in _walk(a, ())], [p for p, _ in _walk(b, ())]
    if set(pa) != set(pb):
        raise ValueError(f"The two structures don't have the same paths: {sorted(set(pa) ^ set(pb), key=str)}")


def lists_to_tuples(structure):
    """The same structure with every list turned into a tuple.

    Args:
        structure (object): a nested structure.
    """
    if not is_nested(structure):
        return structure
    keys = _keys(structure)
    children = [lists_to_tuples(_item(structure, k)) for k in keys]
    if isinstance(structure, list):
        return tuple(children)
    return _rebuild(structure, children, keys)


def map_shape_structure(func, structure):
    """``map_structure`` where a shape (a tuple or list of ints and ``None``) is one leaf.

    Args:
        func (callable): called with each shape (or other leaf).
        structure (object): shapes nested in lists, tuples or dicts.
    """
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    keys = _keys(structure)
    return _rebuild(structure, [map_shape_structure(func, _item(structure, k)) for k in keys], keys)


def traverse(func, structure, top_down=True):
    """Call ``func`` on every node (containers and leaves). Top down, a non-None result
    replaces the node without going inside (``MAP_TO_NONE`` gives ``None``); bottom up, the
    children are done first and a non-None result replaces the rebuilt node.

    Args:
        func (callable): called with each node.
        structure (object): a nested structure.
        top_down (bool): the order (default True).
    """
    def visit(s):
        if top_down:
            out = func(s)
            if out is not None:
                return None if out is MAP_TO_NONE else out
        if is_nested(s):
            keys = _keys(s)
            s = _rebuild(s, [visit(_item(s, k)) for k in keys], keys)
        if not top_down:
            out = func(s)
            if out is not None:
                return None if out is MAP_TO_NONE else out
        return s

    return visit(structure)


# -- helpers ------------------------------------------------------------------------------

def _keys(s):
    if isinstance(s, collections.OrderedDict):
        return list(s.keys())
    if isinstance(s, dict):
        return sorted(s.keys())
    return list(range(len(s)))


def _item(s, key):
    return s[key]


def _rebuild(template, children, keys):
    if isinstance(template, dict):
        by_key = dict(zip(keys, children))
        return type(template)((k, by_key[k]) for k in template.keys())   # the dict's own order
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*children)
    return type(template)(children)


def _walk(s, path):
    if not is_nested(s):
        yield path, s
        return
    for k in _keys(s):
        yield from _walk(_item(s, k), path + (k,))


def _kind(s):
    return "dict" if isinstance(s, dict) else type(s)


def _difference(a, b):
    if is_nested(a) != is_nested(b):
        return f"{a!r} and {b!r}"
    if not is_nested(a):
        return None
    if _kind(a) != _kind(b) or len(a) != len(b):
        return f"{a!r} and {b!r}"
    if isinstance(a, dict) and set(a) != set(b):
        return f"keys {sorted(a, key=str)} and {sorted(b, key=str)}"
    for k in _keys(a):
        problem = _difference(a[k], b[k])
        if problem:
            return problem
    return None


def _is_shape(s):
    return isinstance(s, (tuple, list)) and all(d is None or (isinstance(d, int) and not isinstance(d, bool))
                                                for d in s)
