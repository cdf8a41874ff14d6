"""Recognising and opening saved files, with clear errors instead of h5py tracebacks,
and reading them without trusting them.

Formats are recognised by their first bytes, not their names: ``PK\\x03\\x04``
is a ``.keras`` zip, ``\\x89HDF\\r\\n\\x1a\\n`` an HDF5 file (Keras 3 weights,
or the legacy Keras 2 layout). Anything else, an empty or missing file, or a
file h5py / zipfile cannot parse raises a ``WeightsFileError`` that says which
file and what was expected.

A file is untrusted: its declared sizes are checked before anything is read.

- HDF5 objects are reached link by link (``get_object``); a soft link, or an
  external link into another file, is refused.
- A dataset is checked (``check_dataset``) before a byte of it is read: a
  plain numeric type (no strings, objects, variable-length or compound types),
  stored in this file (no external or virtual storage), with the standard
  filters only and chunks no larger than the data. Its shape is compared with
  the variable's by the caller before ``read_dataset`` reads it.
- Attributes are read only when their declared size is within a limit
  (``read_attr``).
- A zip member is read (``read_member``) only when it declares at most the
  size its caller allows, it is stored or deflated, and its decompressed
  bytes are counted while they are read, so a compressed bomb or a lying
  header is refused without being inflated.
- JSON is parsed (``load_json``) with a size limit and a nesting limit.
"""
import contextlib
import io
import json
import os
import zipfile

import numpy as np

from .errors import SavingError, WeightsFileError, one_line

__all__ = ["WeightsFileNotFoundError", "sniff", "open_h5", "open_zip", "read_member", "ZIP", "HDF5",
           "check_hdf5_structures", "get_object", "link_kind", "is_group", "check_dataset",
           "read_dataset", "StoredArray", "stored_value", "read_attr", "load_json", "CONFIG_LIMIT",
           "build_budget", "member_bytes",
           "MAX_JSON_DEPTH"]

ZIP, HDF5 = "zip", "hdf5"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

CONFIG_LIMIT = 8 * 2**20        # bytes of a config / metadata JSON (a big Keras model's is < 1 MB)
MAX_JSON_DEPTH = 100            # nesting of a config (a model inside a model inside ... is < 40)
ATTR_LIMIT = 64 * 2**10         # bytes of a small attribute (a layer's name)
VLEN_LIMIT = 256 * 2**20        # the most an array of variable-length strings may expand to
_CHUNK_FLOOR = 2**20            # chunks of small datasets may be up to this size
_READ_BLOCK = 2**16
# HDF5 filters that only reorder or check bytes, or inflate a chunk to its declared size:
# gzip, shuffle, fletcher32, szip, nbit, scaleoffset (built into HDF5), lzf (built into h5py)
_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
            32000: "lzf"}


class WeightsFileNotFoundError(WeightsFileError, FileNotFoundError):
    """The file to load does not exist.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> try:
        ...     model.load_weights("no_such_file.weights.h5")
        ... except keras.saving.WeightsFileNotFoundError as e:
        ...     print(type(e).__name__, isinstance(e, FileNotFoundError))
        ...
        WeightsFileNotFoundError True
    """


def sniff(path):
    """``"zip"`` or ``"hdf5"`` for a readable file; a clear error otherwise."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise WeightsFileNotFoundError(f"No such file: '{path}'")
    if os.path.isdir(path):
        raise WeightsFileError(f"'{path}' is a directory, not a weights / model file "
                               f"(TensorFlow SavedModel folders are not supported)")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise WeightsFileError(f"Cannot read '{path}': {one_line(e)}") from e
    if not head:
        raise WeightsFileError(f"'{path}' is empty (0 bytes): not a weights / model file")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ZIP
    if head == _HDF5_MAGIC:
        return HDF5
    raise WeightsFileError(f"'{path}' is neither an HDF5 file (.weights.h5 / .h5) nor a .keras zip "
                           f"archive (it starts with bytes {head[:8]!r})")


@contextlib.contextmanager
def open_h5(source, name=None):
    """Open a path or bytes as a read-only h5py File."""
    import h5py
    label = name or f"'{source}'"
    largest = check_hdf5_structures(source, label)
    try:
        f = h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
        key = f.id.fileno
    except Exception as e:
        raise WeightsFileError(f"{label} is not a readable HDF5 file (truncated or corrupt?): "
                               f"{one_line(e)}") from e
    _LARGEST_HEAP_VALUE[key] = largest
    try:
        yield f
    except SavingError:
        raise
    except Exception as e:
        if not _raised_by_h5py(e):
            raise
        # an h5py call in the body met a corrupt structure (a B-tree, a heap, a message)
        raise WeightsFileError(f"{label} is corrupt: {one_line(e)}") from e
    finally:
        _LARGEST_HEAP_VALUE.pop(key, None)
        with contextlib.suppress(Exception):
            f.close()


_LARGEST_HEAP_VALUE = {}     # open file number -> its largest variable-length value, in bytes


def _raised_by_h5py(error):
    """True when the innermost frame of ``error``'s traceback is h5py's code."""
    tb, last = error.__traceback__, None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None:
        return False
    name = last.tb_frame.f_code.co_filename.replace("\\", "/")
    return "h5py/" in name or name.startswith("h5py")


def check_hdf5_structures(source, label):
    """Refuse an HDF5 file (a path or bytes) whose heaps or group B-trees would make libhdf5
    loop forever, or whose variable-length values are too large.

    libhdf5 trusts some of the structures it walks. Each kind is found by its
    signature (libhdf5 reads none without it) and walked here first:

    - a local heap (``HEAP``, the names of a group): its free list may not loop;
    - a group B-tree node (``TREE``): its children must sit one level below it;
    - a global heap collection (``GCOL``), see below.

    Variable-length strings (the names and configs Keras writes as attributes)
    live in "global heap collections", blocks that start with ``GCOL``. libhdf5
    walks a collection's objects by their declared sizes without checking that
    the walk moves forward, so a collection whose sizes are corrupt makes it
    loop forever. Every block that starts with ``GCOL`` (libhdf5 reads none
    that does not) is walked here first, in the same way, with the checks; a
    value larger than ``CONFIG_LIMIT`` is refused here too, before it is read.

    Returns the size of the largest value (0 if there is none): an array of
    variable-length strings holds references that libhdf5 expands all at once,
    and ``read_attr`` bounds that expansion by count times this size.
    """
    import mmap
    if isinstance(source, bytes):
        return _check_heaps(source, label)
    try:
        with open(source, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return 0
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _check_heaps(data, label)
    except WeightsFileError:
        raise
    except OSError as e:
        raise WeightsFileError(f"Cannot read {label}: {one_line(e)}") from e


def _check_heaps(data, label):
    start = data.find(_HDF5_MAGIC)
    if start < 0:
        return 0                           # not HDF5: h5py says so
    offsets = lengths = 8
    if start + 16 <= len(data):
        version = data[start + 8]
        offsets, lengths = ((data[start + 13], data[start + 14]) if version in (0, 1)
                            else (data[start + 9], data[start + 10]))
    if lengths not in (2, 4, 8) or offsets not in (2, 4, 8):
        raise WeightsFileError(f"{label} is corrupt: its superblock declares addresses of "
                               f"{offsets} and lengths of {lengths} bytes")
    for signature, check, what in ((b"HEAP", _local_heap_problem, "local heap"),
                                   (b"TREE", _btree_problem, "B-tree node")):
        pos = data.find(signature)
        while pos >= 0:
            problem = check(data, pos, start, offsets, lengths)
            if problem:
                raise WeightsFileError(f"{label} is corrupt: the {what} at byte {pos - start} "
                                       f"{problem}")
            pos = data.find(signature, pos + 4)
    pos, largest = data.find(b"GCOL"), 0
    while pos >= 0:
        problem, biggest = _heap_problem(data, pos, lengths)
        if problem:
            raise WeightsFileError(f"{label} is corrupt: the global heap at byte {pos - start} "
                                   f"{problem}")
        largest = max(largest, biggest)
        pos = data.find(b"GCOL", pos + 4)
    return largest


def _number(data, at, size):
    return int.from_bytes(data[at:at + size], "little") if at + size <= len(data) else None


def _local_heap_problem(data, pos, start, offsets, lengths):
    """A local heap (the names of an old-style group) whose free list loops: libhdf5 follows
    the list without remembering where it has been, allocating as it goes."""
    if data[pos + 4:pos + 5] != b"\0":
        return None                        # not a version-0 local heap: libhdf5 refuses it
    size = _number(data, pos + 8, lengths)
    block = _number(data, pos + 8 + lengths, lengths)
    address = _number(data, pos + 8 + 2 * lengths, offsets)
    if size is None or block is None or address is None:
        return None
    seen = set()
    while block != 1:                      # 1: the end of the list (H5HL_FREE_NULL)
        if block in seen:
            return f"has a free list that loops back to offset {block}"
        seen.add(block)
        nxt = _number(data, start + address + block, lengths)
        if block + 2 * lengths > size or nxt is None:
            return None                    # libhdf5 refuses a block outside the heap
        block = nxt
    return None


def _btree_problem(data, pos, start, offsets, lengths):
    """A group B-tree node whose children are not one level below it: libhdf5 descends into
    children without checking their level, so a child that points back up loops forever."""
    if data[pos + 4:pos + 5] != b"\0":
        return None                        # raw-data chunk nodes: keys of another size
    level, used = data[pos + 5] if pos + 5 < len(data) else 0, _number(data, pos + 6, 2)
    if not level or used is None:
        return None
    at = pos + 8 + 2 * offsets + lengths   # past the siblings and the first key
    for _ in range(used):
        child = _number(data, at, offsets)
        if child is None:
            return None
        target = start + child
        if data[target:target + 4] == b"TREE" and target + 5 < len(data) \
                and data[target + 5] != level - 1:
            return f"at level {level} has a child at level {data[target + 5]}"
        at += offsets + lengths
    return None


def _heap_problem(data, pos, lengths):
    """(what is wrong with the global heap collection at ``pos`` or None, its largest value)."""
    header = 8 + lengths                   # "GCOL", version, 3 reserved bytes, collection size
    if pos + header > len(data):
        return None, 0                     # too short to be read as a collection: libhdf5 refuses
    if data[pos + 4] != 1:
        return None, 0                     # libhdf5 refuses other versions before walking
    size = int.from_bytes(data[pos + 8:pos + header], "little")
    if size < header or pos + size > len(data):
        return f"declares {size} bytes, which the file does not hold", 0
    p, end, obj_header, biggest = pos + header, pos + size, 8 + lengths, 0
    while p < end:
        if p + obj_header > end:           # too small for an object: free space
            break
        index = int.from_bytes(data[p:p + 2], "little")
        length = int.from_bytes(data[p + 8:p + obj_header], "little")
        need = length if index == 0 else obj_header + ((length + 7) & ~7)
        if need < obj_header or p + need > end:
            return f"holds object {index} of {length} bytes, which does not fit in it", 0
        if index and length > CONFIG_LIMIT:
            return (f"holds a variable-length value (a name, a config) of {length} bytes, more "
                    f"than the {CONFIG_LIMIT} bytes allowed for one"), 0
        if index:
            biggest = max(biggest, length)
        p += need
    return None, biggest


@contextlib.contextmanager
def open_zip(path):
    """Open a ``.keras`` archive read-only; an archive naming a member twice is refused."""
    try:
        z = zipfile.ZipFile(path, "r")
    except Exception as e:             # BadZipFile, OSError, a name that is not UTF-8, ...
        raise WeightsFileError(f"'{path}' is not a readable .keras zip archive (truncated or "
                               f"corrupt?): {one_line(e)}") from e
    try:
        names = z.namelist()
        if len(set(names)) != len(names):
            seen, twice = set(), set()
            for n in names:
                (twice if n in seen else seen).add(n)
            twice = sorted(twice)[:5]
            raise WeightsFileError(f"'{path}' is not a valid .keras archive: it holds member(s) "
                                   f"{one_line(twice, 200)} more than once")
        yield z
    finally:
        z.close()


def build_budget(stored_bytes):
    """The most bytes of weights a model rebuilt from a file may allocate, given the bytes the
    file can hold for them: twice that (weights stored as float16 and built as float32) plus
    1 MiB. A config asking for more does not match its file (``registry.loading``)."""
    return 2 * int(stored_bytes) + 2**20


def member_bytes(z, member):
    """What an archive member can inflate to: its declared size, and never more than deflate's
    1032:1 ratio allows from its compressed size (0 when the member is missing)."""
    infos = [i for i in z.infolist() if i.filename == member]
    if not infos:
        return 0
    info = infos[0]
    most = info.compress_size * (1032 if info.compress_type == zipfile.ZIP_DEFLATED else 1)
    return min(info.file_size, most)


def read_member(z, member, path, limit=CONFIG_LIMIT):
    """The bytes of one archive member, refused when it declares, or inflates to, more
    than ``limit`` bytes; CRC and truncation errors made clear."""
    infos = [i for i in z.infolist() if i.filename == member]
    if not infos:
        raise WeightsFileError(f"'{path}' is not a Keras model archive: it has no '{member}' "
                               f"(members: {one_line(z.namelist(), 200)})")
    info = infos[0]
    if info.flag_bits & 0x1:
        raise WeightsFileError(f"'{path}': member '{member}' is encrypted; .keras archives are not")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise WeightsFileError(f"'{path}': member '{member}' uses zip compression method "
                               f"{info.compress_type}; only stored and deflated members are read")
    if info.file_size > limit:
        raise WeightsFileError(f"'{path}': member '{member}' declares {info.file_size} bytes, more "
                               f"than the {limit} bytes allowed for it")
    try:
        chunks, total = [], 0
        with z.open(info) as f:
            while True:
                block = f.read(min(_READ_BLOCK, limit + 1 - total))
                if not block:
                    break
                total += len(block)
                if total > limit:
                    raise WeightsFileError(f"'{path}': member '{member}' inflates to more than the "
                                           f"{limit} bytes allowed for it (a zip bomb?)")
                chunks.append(block)
        return b"".join(chunks)
    except WeightsFileError:
        raise
    except Exception as e:
        raise WeightsFileError(f"'{path}': member '{member}' is corrupt or truncated: "
                               f"{one_line(e)}") from e


def load_json(raw, what, source, limit=CONFIG_LIMIT, max_depth=MAX_JSON_DEPTH):
    """Parse ``raw`` (bytes or text), refusing more than ``limit`` bytes or nesting deeper
    than ``max_depth``."""
    if len(raw) > limit:
        raise WeightsFileError(f"{source}: {what} is {len(raw)} bytes long, more than the "
                               f"{limit} bytes allowed for it")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as e:     # UnicodeDecodeError is a ValueError
        raise WeightsFileError(f"{source}: {what} is not valid JSON ({one_line(e, 200)})") from e
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise WeightsFileError(f"{source}: {what} is nested more than {max_depth} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value


# -- HDF5 ---------------------------------------------------------------------------------

def get_object(h5, path, source):
    """The group or dataset at ``path`` under ``h5`` (None if absent), reached only through
    hard links: a soft link or a link into another file is refused (and never followed)."""
    import h5py
    obj = h5
    try:
        for part in (p for p in path.split("/") if p):
            if not isinstance(obj, h5py.Group):
                return None
            kind = link_kind(obj, part)
            if kind is None:
                return None
            if kind != "hard":
                raise WeightsFileError(f"{source}: '{path}' is reached through a {kind} link "
                                       f"({_link_target(obj, part)}); only objects stored in the "
                                       f"file itself are read")
            obj = obj[part]
    except WeightsFileError:
        raise
    except Exception as e:
        raise WeightsFileError(f"{source} is corrupt: cannot open '{path}' ({one_line(e)})") from e
    return obj


def link_kind(group, name):
    """``"hard"``, ``"soft"``, ``"external"`` (or ``"user-defined"``) for the link ``name`` in
    ``group``, None if there is none; the link is not followed."""
    from h5py import h5l
    key = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    if not group.id.links.exists(key):
        return None
    kind = group.id.links.get_info(key).type
    return {h5l.TYPE_HARD: "hard", h5l.TYPE_SOFT: "soft", h5l.TYPE_EXTERNAL: "external"}.get(
        kind, "user-defined")


def is_group(obj):
    import h5py
    return isinstance(obj, h5py.Group)


def check_dataset(ds, source, where):
    """Refuse, before reading it, a dataset that is not plain numeric data stored in the
    file, or whose chunks are larger than its data; return its shape."""
    import h5py
    if not isinstance(ds, h5py.Dataset):
        raise WeightsFileError(f"{source}: '{where}' should be a dataset, found a "
                               f"{type(ds).__name__}")
    try:
        shape, dtype = ds.shape, ds.dtype
        if shape is None:
            raise WeightsFileError(f"{source}: dataset '{where}' holds no array (a null dataspace)")
        shape = tuple(int(n) for n in shape)
        if (dtype.kind not in "iuf" or dtype.names is not None or dtype.subdtype is not None
                or dtype.itemsize > 8 or h5py.check_enum_dtype(dtype) is not None):
            raise WeightsFileError(f"{source}: dataset '{where}' has type {one_line(dtype, 100)}; "
                                   f"weights are stored as plain integer or float numbers")
        if ds.is_virtual:
            raise WeightsFileError(f"{source}: dataset '{where}' is a virtual dataset (its data "
                                   f"lives in other files); only data stored in the file is read")
        if ds.external:
            raise WeightsFileError(f"{source}: dataset '{where}' keeps its data in external "
                                   f"file(s) {one_line([e[0] for e in ds.external], 200)}; only "
                                   f"data stored in the file is read")
        plist = ds.id.get_create_plist()
        for i in range(plist.get_nfilters()):
            code = plist.get_filter(i)[0]
            if code not in _FILTERS:
                raise WeightsFileError(f"{source}: dataset '{where}' uses HDF5 filter {code}, "
                                       f"which is not one of the standard ones "
                                       f"({', '.join(_FILTERS.values())})")
        if ds.chunks is not None:
            chunk = int(np.prod(ds.chunks, dtype=np.float64)) * dtype.itemsize
            data = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if chunk > max(data, _CHUNK_FLOOR):
                raise WeightsFileError(f"{source}: dataset '{where}' of shape {shape} is stored in "
                                       f"chunks of shape {tuple(ds.chunks)}, larger than the data")
    except WeightsFileError:
        raise
    except Exception as e:
        raise WeightsFileError(f"{source} is corrupt: cannot inspect dataset '{where}' "
                               f"({one_line(e)})") from e
    return shape


def read_dataset(ds, source, where):
    """The data of a dataset ``check_dataset`` accepted (and whose shape the caller
    compared with what it expects), as a NumPy array."""
    try:
        out = np.empty(ds.shape, dtype=ds.dtype)
        if out.size:
            ds.read_direct(out)
        return out
    except Exception as e:                # h5py errors on truncated / corrupt data
        raise WeightsFileError(f"{source} is corrupt: cannot read dataset '{where}' "
                               f"({one_line(e)})") from e


class StoredArray:
    """A dataset ``check_dataset`` accepted: its shape is known, its data not read yet.
    Compare ``shape`` with what the variable expects, then ``read()``."""

    def __init__(self, ds, where, source):
        self.ds, self.where, self.source = ds, where, source
        self.shape = check_dataset(ds, source, where)

    def read(self):
        return read_dataset(self.ds, self.source, self.where)


def stored_value(a):
    """``a`` read if it is a ``StoredArray``, else ``a`` itself (an array)."""
    return a.read() if isinstance(a, StoredArray) else a


def read_attr(obj, name, source, limit=ATTR_LIMIT, default=None):
    """Attribute ``name`` of a group (``default`` if absent), read only when its declared size
    is within ``limit`` bytes and it holds numbers or strings."""
    import h5py
    try:
        if name not in obj.attrs:
            return default
        aid = obj.attrs.get_id(name)
        shape, dtype = aid.shape, aid.dtype
        count = 1 if not shape else int(np.prod(shape, dtype=np.float64))
        string = h5py.check_string_dtype(dtype)
        if dtype.kind not in "iufSU" and string is None:
            raise WeightsFileError(f"{source}: attribute '{name}' of '{obj.name}' has type "
                                   f"{one_line(dtype, 100)}; expected text or numbers")
        if string is None or string.length is not None:
            size = count * dtype.itemsize
            if size > limit:
                raise WeightsFileError(f"{source}: attribute '{name}' of '{obj.name}' declares "
                                       f"{size} bytes, more than the {limit} bytes allowed for it")
        else:        # variable-length: its values may all refer to the file's largest one
            largest = _LARGEST_HEAP_VALUE.get(obj.id.fileno, CONFIG_LIMIT)
            if count > limit or count * largest > VLEN_LIMIT:
                raise WeightsFileError(f"{source}: attribute '{name}' of '{obj.name}' holds "
                                       f"{count} variable-length strings, which may expand to "
                                       f"{count * largest} bytes, more than the {VLEN_LIMIT} "
                                       f"allowed")
        value = obj.attrs[name]
    except WeightsFileError:
        raise
    except Exception as e:
        raise WeightsFileError(f"{source} is corrupt: cannot read attribute '{name}' "
                               f"({one_line(e)})") from e
    if isinstance(value, (bytes, str)):
        length = len(value)
    elif isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        length = sum(len(v) if isinstance(v, (bytes, str)) else 8 for v in value.ravel().tolist())
    else:
        length = 0
    if length > limit:
        raise WeightsFileError(f"{source}: attribute '{name}' of '{obj.name}' is {length} "
                               f"bytes long, more than the {limit} bytes allowed for it")
    return value


def _link_target(group, name):
    try:
        value = group.id.links.get_val(name.encode("utf-8", "surrogateescape"))
    except Exception:
        return "its target unreadable"
    if isinstance(value, tuple):
        return f"to '{one_line(value[1], 100)}' in file '{one_line(value[0], 200)}'"
    return f"to '{one_line(value, 200)}'"
