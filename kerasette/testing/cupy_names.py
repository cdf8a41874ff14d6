"""The names CuPy offers, so the stand-in offers nothing more.

``cupy_names.json`` (committed) is a snapshot of the public names of the
``cupy`` module, of ``cupy.ndarray`` and of the submodules ops may use
(``linalg``, ``fft``), taken from an installed CuPy wheel by this module's
``main``; the stand-in (``kerasette.testing.standin``) refuses any other name,
so an op calling a NumPy function CuPy lacks fails in CI. Where CuPy is
installed, a test checks the snapshot against it.

Regenerate after a CuPy upgrade (no GPU needed)::

    python -m kerasette.testing.cupy_names
"""
import json
import pathlib

__all__ = ["SNAPSHOT", "load", "take_snapshot", "main"]

SNAPSHOT = pathlib.Path(__file__).with_name("cupy_names.json")
SUBMODULES = ("linalg", "fft")


def load():
    """``{"cupy_version", "module", "ndarray", "linalg", "fft"}`` from the committed snapshot,
    the name lists as frozensets."""
    data = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return {k: (frozenset(v) if isinstance(v, list) else v) for k, v in data.items()}


def take_snapshot(cupy):
    """The public names of an imported ``cupy`` (module, ndarray, submodules)."""
    def public(obj):
        return sorted(n for n in dir(obj) if not n.startswith("_"))

    out = {"cupy_version": cupy.__version__, "module": public(cupy), "ndarray": public(cupy.ndarray)}
    for sub in SUBMODULES:
        out[sub] = public(getattr(cupy, sub))
    return out


def main():
    import cupy
    SNAPSHOT.write_text(json.dumps(take_snapshot(cupy), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT} from CuPy {cupy.__version__}")


if __name__ == "__main__":
    main()
