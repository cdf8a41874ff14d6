"""The API reference covers every public layer, one page per family, each page in the nav."""
import re
from pathlib import Path

import kerasette.layers as layers

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs" / "api" / "layers").glob("*.md"))


def test_every_public_layer_is_on_a_family_page():
    shown = set()
    for page in PAGES:
        shown |= set(re.findall(r"^::: kerasette\.layers\.(\w+)\s*$", page.read_text(), re.MULTILINE))
    unknown = sorted(n for n in shown if not hasattr(layers, n))
    assert not unknown, f"pages name layers that do not exist: {unknown}"
    shown_ids = {id(getattr(layers, n)) for n in shown}
    missing = sorted(n for n in layers.__all__ if id(getattr(layers, n)) not in shown_ids)
    assert not missing, f"public layers on no page of docs/api/layers/: {missing}"


def test_family_pages_are_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert len(PAGES) >= 8
    for page in PAGES:
        assert f"api/layers/{page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"


def test_overview_lists_every_api_page():
    overview = (ROOT / "docs" / "api" / "index.md").read_text()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in overview, f"docs/api/index.md does not list {page.name}"
