"""The documentation cannot rot: run every code snippet and every docstring example.

Snippets
    Every fenced block whose info string is exactly ``python`` in ``README.md``
    and ``docs/**/*.md`` (except the ``*_readme_section.md`` hand-off notes) is
    executed. The blocks of one page run in order in one
    shared namespace (a page reads like one script), in a fresh temporary folder
    (files a snippet writes land there), with the random seed set to 0.

    Convention for blocks that must NOT run: fence them as ``python-norun``
    (long trainings, code that needs a GPU or a file the reader has) or as
    ``bash`` / ``text`` / ``console``. ``docs/hooks.py`` renders ``python-norun``
    as ordinary highlighted Python on the site. Any other spelling of Python
    (```py, ```Python, ```python3) is rejected below, so a block cannot be
    silently skipped by a typo.

Docstrings
    ``doctest`` runs the ``>>>`` examples in every importable ``kerasette``
    module (modules that need an optional dependency, such as CuPy, are skipped
    when it is missing).
"""
import doctest
import importlib
import os
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import kerasette

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)
RUN = "python"
NORUN = {"python-norun", "bash", "sh", "console", "text", "", "yaml", "toml", "json"}


def _pages():
    # ``docs/*_readme_section.md`` are hand-off notes between engineers, merged into the README
    # and the guides; they are not part of the site (mkdocs.yml excludes them too)
    pages = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").rglob("*.md")
                                          if not p.name.endswith("_readme_section.md"))
    return [p for p in pages if p.exists()]


def _blocks(path):
    """(line number, info string, code) of every fenced block in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        indent = m.group("indent")
        body = m.group("body")
        if indent:
            body = "".join(line[len(indent):] if line.startswith(indent) else line
                           for line in body.splitlines(keepends=True))
        line = text.count("\n", 0, m.start()) + 1
        out.append((line, m.group("info").strip().split(" ")[0], body))
    return out


def _rel(path):
    return str(path.relative_to(ROOT))


PAGES = [p for p in _pages() if any(info == RUN for _, info, _ in _blocks(p))]


def test_fence_languages_follow_the_convention():
    """Only ``python`` (runs) and the listed no-run fences are allowed."""
    bad = [f"{_rel(p)}:{line}: ```{info}" for p in _pages() for line, info, _ in _blocks(p)
           if info != RUN and info not in NORUN]
    assert not bad, ("unknown fence languages (use ```python to run, ```python-norun to show only):\n"
                     + "\n".join(bad))


def test_every_guide_has_runnable_examples():
    guides = sorted((ROOT / "docs" / "guides").glob("*.md"))
    assert guides, "docs/guides/ is empty"
    without = [_rel(g) for g in guides if g not in PAGES]
    # the GPU guide needs a GPU for most of its code, but still runs its CPU part
    assert not without, f"guide pages without a runnable ```python block: {without}"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_page_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kerasette.set_random_seed(0)
    namespace = {"__name__": f"docs_snippet_{page.stem}"}
    for line, info, code in _blocks(page):
        if info != RUN:
            continue
        try:
            exec(compile(code, f"{_rel(page)}:{line}", "exec"), namespace)
        except Exception as e:  # name the block in the failure
            raise AssertionError(f"snippet at {_rel(page)}:{line} failed: {type(e).__name__}: {e}") from e


def _modules():
    names = []
    for info in pkgutil.walk_packages(kerasette.__path__, "kerasette."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as e:          # optional dependency (CuPy) not installed
        pytest.skip(f"{name} needs an optional dependency: {e}")
    kerasette.set_random_seed(0)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name, extraglobs={"np": np}) if t.examples]
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name} (see output above)"
