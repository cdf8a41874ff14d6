"""mkdocs hook: show ```python-norun blocks as ordinary highlighted Python.

The snippet test (tests/docs/test_doc_snippets.py) runs every ```python block of
the docs; blocks fenced ```python-norun are shown but not run. On the site both
look the same.
"""
import re

_NORUN = re.compile(r"^([ \t]*(?:`{3,}|~{3,}))python-norun\b", re.MULTILINE)


def on_page_markdown(markdown, **kwargs):
    return _NORUN.sub(r"\1python", markdown)
