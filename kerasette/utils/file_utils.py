"""``get_file``: fetch a file once into the Keras cache folder (``~/.keras`` or ``$KERAS_HOME``),
check its hash, and hand back the local path, as ``keras.utils.get_file`` does.

A download is written to a temporary file next to its target and renamed into place only once
it is complete and its hash (when one is given) matches, so an interrupted or corrupted download
never leaves a file under the final name. Archives are unpacked the same way (into a temporary
folder, then renamed), and refuse members that would land outside the target folder.
"""
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.parse

__all__ = ["get_file"]

_CHUNK = 1 << 16


def keras_home():
    """The cache root: ``$KERAS_HOME`` when set, else ``~/.keras``."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False, archive_format="auto",
             cache_dir=None, force_download=False):
    """Download ``origin`` into the cache unless a good copy is already there; return its path.

    The file lands in ``<cache_dir>/<cache_subdir>/<fname>``. A cached copy whose hash does not
    match ``file_hash`` is fetched again. The download goes to a temporary file in the same
    folder, is checked against ``file_hash``, and only then renamed into place: a failed or
    corrupted download leaves nothing behind (and an older copy untouched).

    Args:
        fname (str | os.PathLike | None): the local file name (no folder part); default: the last
            part of ``origin``'s path. With ``extract``, a name without an extension names the
            extraction folder.
        origin (str): the URL to fetch (``https://``, ``http://``, ``ftp://`` or ``file://``).
        untar (bool): deprecated spelling of ``extract=True, archive_format="tar"``.
        md5_hash (str | None): deprecated spelling of ``file_hash`` with ``hash_algorithm="md5"``.
        file_hash (str | None): the expected hex digest of the file; sha256 (64 hex digits) or md5.
            A download that does not match raises ``ValueError`` and is removed.
        cache_subdir (str): folder under the cache root (default ``"datasets"``); an absolute path
            is used as it is.
        hash_algorithm (str): ``"auto"`` (sha256 for a 64-digit hash, md5 otherwise),
            ``"sha256"`` or ``"md5"``.
        extract (bool): unpack the file (tar, tar.gz, tar.bz2 or zip) and return the folder.
        archive_format (str | list | None): ``"auto"`` (try tar, then zip), ``"tar"``, ``"zip"``,
            a list of these, or None (extract nothing).
        cache_dir (str | None): the cache root (default ``$KERAS_HOME`` or ``~/.keras``; a
            temporary folder's ``.keras`` when that is not writable).
        force_download (bool): fetch again even when a good copy is cached.

    Returns:
        str: the path of the file (or of the extraction folder with ``extract``).

    Raises:
        ValueError: no ``origin``, a folder in ``fname``, an unknown ``hash_algorithm`` or
            ``archive_format``, or a hash mismatch after download.
        OSError: the URL could not be fetched.

    Examples:
        >>> import kerasette as keras
        >>> import os, pathlib, tempfile
        >>> d = tempfile.mkdtemp()
        >>> src = pathlib.Path(d, "hello.txt"); _ = src.write_text("hi")
        >>> path = keras.utils.get_file(origin=src.as_uri(), cache_dir=os.path.join(d, "cache"))
        >>> open(path).read(), os.path.basename(path)
        ('hi', 'hello.txt')
    """
    if origin is None:
        raise ValueError("get_file: give `origin`, the URL of the file to download")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5', got {hash_algorithm!r}")
    if untar:
        extract, archive_format = True, "tar"
    formats = _archive_formats(archive_format)

    root = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else keras_home())
    if not _writable(root):
        root = os.path.join(tempfile.gettempdir(), ".keras")
    folder = os.path.join(root, cache_subdir)
    os.makedirs(folder, exist_ok=True)

    given = fname is not None and os.fspath(fname) != ""
    name = os.fspath(fname) if given else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"get_file: cannot take a file name from origin {origin!r}; give `fname`")
    if os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"get_file: `fname` must be a bare file name, got {name!r}; use `cache_dir` / "
                         f"`cache_subdir` to choose the folder")

    if extract:
        if given and "." in name:
            target = os.path.join(folder, name)
            extract_to = os.path.join(folder, name[:name.find(".")] + "_extracted")
        else:
            target = os.path.join(folder, name + "_archive")
            extract_to = os.path.join(folder, name)
    else:
        target, extract_to = os.path.join(folder, name), None

    algorithm = _algorithm(hash_algorithm, file_hash)
    fetch = force_download or not os.path.exists(target)
    if not fetch and file_hash is not None and _digest(target, algorithm) != str(file_hash).lower():
        print(f"A local file was found at {target}, but its {algorithm} hash does not match {file_hash}; "
              f"downloading it again.")
        fetch = True
    if fetch:
        _download(origin, target, file_hash, algorithm)

    if extract_to is None:
        return target
    if fetch or not os.path.exists(extract_to):
        _extract(target, extract_to, formats)
    return extract_to


def _writable(path):
    """Whether ``path`` (or, when it does not exist yet, its nearest existing parent) is writable."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent
    return os.access(path, os.W_OK)


def _algorithm(hash_algorithm, file_hash):
    if hash_algorithm != "auto":
        return hash_algorithm
    return "sha256" if file_hash is not None and len(str(file_hash)) == 64 else "md5"


def _digest(path, algorithm):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(origin, target, file_hash, algorithm):
    """Fetch ``origin`` into a temporary file beside ``target``, check the hash, rename into place."""
    import urllib.error                 # imported here: urllib.request alone costs ``import kerasette`` 30 ms
    import urllib.request
    print(f"Downloading data from {origin}", file=sys.stderr)
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".part", dir=folder)
    h = hashlib.new(algorithm)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(origin) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        h.update(chunk)
            except urllib.error.HTTPError as e:
                raise OSError(f"get_file: URL fetch failure on {origin}: HTTP {e.code} {e.msg}") from None
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", None) or e
                raise OSError(f"get_file: URL fetch failure on {origin}: {reason}") from None
            out.flush()
            os.fsync(out.fileno())
        if file_hash is not None and h.hexdigest() != str(file_hash).lower():
            raise ValueError(f"get_file: the file downloaded from {origin} is incomplete or corrupted: its "
                             f"{algorithm} hash is {h.hexdigest()}, expected {file_hash}")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _archive_formats(archive_format):
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    formats = [archive_format] if isinstance(archive_format, str) else list(archive_format)
    bad = [f for f in formats if f not in ("tar", "zip")]
    if bad:
        raise ValueError(f"get_file: archive_format must be 'auto', 'tar', 'zip', a list of these or None, "
                         f"got {archive_format!r}")
    return formats


def _extract(archive, extract_to, formats):
    """Unpack ``archive`` into ``extract_to`` (through a temporary folder renamed into place)."""
    import tarfile
    import zipfile
    parent = os.path.dirname(extract_to)
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(archive):
            opener = tarfile.open
        elif kind == "zip" and zipfile.is_zipfile(archive):
            opener = zipfile.ZipFile
        else:
            continue
        tmp = tempfile.mkdtemp(prefix="." + os.path.basename(extract_to) + ".", dir=parent)
        try:
            with opener(archive) as arc:
                _safe_extract(arc, tmp, archive)
            if os.path.isdir(extract_to):
                shutil.rmtree(extract_to)
            elif os.path.exists(extract_to):
                os.remove(extract_to)
            os.replace(tmp, extract_to)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return
    raise ValueError(f"get_file: {archive} is not an archive of the formats {formats}; cannot extract it")


def _safe_extract(arc, dest, archive):
    """Extract every member of a tar or zip archive, refusing paths that leave ``dest``."""
    import tarfile
    import zipfile
    base = os.path.realpath(dest)
    if isinstance(arc, zipfile.ZipFile):
        names = arc.namelist()
    else:
        members = arc.getmembers()
        names = [m.name for m in members]
        names += [os.path.join(os.path.dirname(m.name), m.linkname) for m in members if m.issym()]
        names += [m.linkname for m in members if m.islnk()]
    for n in names:
        full = os.path.realpath(os.path.join(base, n))
        if os.path.commonpath([base, full]) != base:
            raise ValueError(f"get_file: archive {archive} holds a member outside its folder ({n!r}); "
                             f"refusing to extract it")
    if isinstance(arc, zipfile.ZipFile):
        arc.extractall(base)
    elif hasattr(tarfile, "data_filter"):         # Python >= 3.11.4: links and devices checked too
        arc.extractall(base, filter="data")
    else:
        arc.extractall(base)
