"""The layering of DESIGN.md, checked on the source: each room imports only the rooms
below it at module level, and the core (backend, autograd, ops) never imports the
layers, models or saving at all, not even inside a function."""
import ast
import pathlib

import pytest

import kerasette

PACKAGE = pathlib.Path(kerasette.__file__).parent

# rank of each top-level room; a module-level import must go to a lower rank (or its own room)
RANK = {
    "context": 0, "naming": 0, "tree": 0,
    "backend": 1, "parallel": 1, "registry": 1, "cpu_kernels": 1, "numba_loops": 1,
    "autograd": 2, "config": 2, "flat_params": 2,
    "ops": 3, "testing": 3, "utils": 3, "datasets": 3, "random": 3,
    # named objects: one room, they may use each other (metrics use losses, optimizers schedules)
    "initializers": 4, "activations": 4, "regularizers": 4, "constraints": 4, "losses": 4,
    "metrics": 4, "schedules": 4, "optimizers": 4,
    "layers": 5, "callbacks": 5,
    "models": 6,
    "saving": 7, "distribute": 7, "applications": 7,
    "kerasette": 8,
}
CORE = {"context", "naming", "backend", "parallel", "autograd", "ops"}
NEVER_FROM_CORE = {"layers", "models", "saving", "callbacks"}


def _imports():
    """``(module path, importing room, imported room, at module level?)`` for every
    import of a kerasette module in the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        package = parts[:-1]                  # the package relative imports start from
        if path.name == "__init__.py":
            parts = parts[:-1]
        room = parts[1] if len(parts) > 1 else "kerasette"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = set()
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                top_level.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            for target in _targets(node, package):
                if target[0] != "kerasette":
                    continue
                to_room = target[1] if len(target) > 1 else "kerasette"
                out.append((str(rel), room, to_room, id(node) in top_level))
    return out


def _targets(node, package):
    if isinstance(node, ast.Import):
        return [a.name.split(".") for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if not node.level:
            return [node.module.split(".")]
        base = package[:len(package) - (node.level - 1)]
        if node.module:
            return [base + node.module.split(".")]
        return [base + [a.name] for a in node.names]
    return []


IMPORTS = _imports()


def test_every_room_has_a_rank():
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert rooms - set(RANK) == set(), "new top-level modules need a place in RANK (and in DESIGN.md)"


def test_module_level_imports_go_down_the_layers():
    bad = [f"{module} ({room}) imports {to_room} at module level, which sits above it in DESIGN.md"
           for module, room, to_room, top in IMPORTS
           if top and room != to_room and not (RANK[to_room] < RANK[room] or RANK[to_room] == RANK[room] == 4)]
    assert bad == []


def test_the_core_never_imports_layers_models_or_saving():
    bad = [(m, t) for m, room, t, _ in IMPORTS if room in CORE and t in NEVER_FROM_CORE]
    assert bad == []


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The parser itself: a module-level import of layers from an op is caught."""
    tree = ast.parse("from ..layers import Dense\n")
    (target,) = _targets(tree.body[0], ["kerasette", "ops"])
    assert target[:2] == ["kerasette", "layers"] and RANK["layers"] > RANK["ops"]
