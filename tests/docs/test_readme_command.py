"""The README's test command prints the counts, and CI ends with it."""
import re
import shlex
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

ROOT = Path(__file__).resolve().parents[2]


def _quiet_level(args):
    """How many -q the arguments add (``-q`` 1, ``-qq`` 2, ``--quiet`` 1)."""
    level = 0
    for a in args:
        if a == "--quiet":
            level += 1
        elif re.fullmatch(r"-q+", a):
            level += len(a) - 1
    return level


def _addopts():
    text = (ROOT / "pyproject.toml").read_text()
    if tomllib is not None:
        return shlex.split(tomllib.loads(text)["tool"]["pytest"]["ini_options"].get("addopts", ""))
    m = re.search(r'^addopts\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return shlex.split(m.group(1)) if m else []


def _readme_test_command():
    m = re.search(r'&& (pytest[^\n`]*)', (ROOT / "README.md").read_text())
    assert m, "README.md lost its test command"
    return shlex.split(m.group(1))


def test_readme_pytest_command_shows_the_summary_counts():
    # pytest -qq drops "N passed in ..."; README + addopts together may ask for at most one -q
    level = _quiet_level(_readme_test_command()) + _quiet_level(_addopts())
    assert level <= 1, f"README's pytest command runs at quiet level {level}: the 'N passed' line would vanish"


def test_ci_runs_the_readme_command_last():
    lines = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines()
             if l.strip() and not l.strip().startswith("#")]
    readme = " ".join(_readme_test_command())
    assert readme in lines[-1], f"the last command of .ci/run should be the README's `{readme}`, got {lines[-1]!r}"
