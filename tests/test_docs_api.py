"""The documentation site's API reference lists every public name (regenerate: python tools/api_pages.py).

The site itself is built by ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(``pip install -e ".[docs]"``); these tests need no Sphinx.
"""

import __future__

import importlib
import importlib.util
import pathlib
import re
import types
import typing

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
NAMESPACES = ["gradtx", "gradtx.torch", "gradtx.torch.lr_scheduler", "gradtx.contrib", "gradtx.tree"]
# autodoc entries carry the full name; py: entries the short name under the page's currentmodule
AUTO = re.compile(r"^\.\. auto(?:function|class|data|exception)::\s+(\S+)\s*$", re.MULTILINE)
PY = re.compile(r"^\.\. py:(?:function|class|data)::\s+(\S+)\s*$", re.MULTILINE)
CURRENT = re.compile(r"^\.\. currentmodule::\s+(\S+)\s*$", re.MULTILINE)


def _tool():
    spec = importlib.util.spec_from_file_location("api_pages", ROOT / "tools" / "api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _attributes(module: types.ModuleType) -> set[str]:
    """Every public attribute: not ``_``-prefixed, not a module, not a ``__future__`` flag or a :mod:`typing` name."""
    names = set()
    for name in dir(module):
        obj = getattr(module, name)
        if name.startswith("_") or isinstance(obj, (types.ModuleType, __future__._Feature)):
            continue
        if obj is getattr(typing, name, object()):  # `from typing import Any` is not gradtx's
            continue
        names.add(name)
    return names


def _public(module: types.ModuleType) -> set[str]:
    """``__all__`` and every public attribute (the two are equal: see the test below)."""
    return set(getattr(module, "__all__", ())) | _attributes(module)


def _documented() -> set[str]:
    out = set()
    for page in API.glob("*.rst"):
        text = page.read_text()
        out |= set(AUTO.findall(text))
        current = CURRENT.findall(text)
        out |= {f"{current[0]}.{name}" for name in PY.findall(text)} if current else set()
    return out


@pytest.mark.parametrize("modname", NAMESPACES)
def test_every_public_name_has_an_entry_in_the_api_pages(modname):
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError:
        pytest.skip(f"{modname} does not exist")
    names = _public(module)
    assert names, modname
    missing = sorted(f"{modname}.{n}" for n in names if f"{modname}.{n}" not in _documented())
    assert not missing, f"not in docs/api/*.rst (run `python tools/api_pages.py`): {missing}"


@pytest.mark.parametrize("modname", NAMESPACES)
def test_all_lists_exactly_the_public_names(modname):
    """``__all__`` (what type checkers and ``import *`` export) is every public attribute, each documented."""
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError:
        pytest.skip(f"{modname} does not exist")
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{modname} has no __all__"
    assert len(exported) == len(set(exported)), f"{modname}.__all__ repeats a name"
    attributes = _attributes(module)
    assert not set(exported) - attributes, f"{modname}.__all__ lists missing names: {sorted(set(exported) - attributes)}"
    assert not attributes - set(exported), f"not in {modname}.__all__: {sorted(attributes - set(exported))}"
    undocumented = sorted(n for n in exported if f"{modname}.{n}" not in _documented())
    assert not undocumented, f"not in docs/api/*.rst (run `python tools/api_pages.py`): {undocumented}"


def test_the_api_pages_are_current():
    want = _tool().pages()
    got = {p.name: p.read_text() for p in API.glob("*.rst")}
    stale = sorted(n for n in set(want) | set(got) if want.get(n) != got.get(n))
    assert not stale, f"docs/api/{stale} out of date: run `python tools/api_pages.py`"


def test_every_api_page_and_guide_is_reachable_from_the_index():
    index = (ROOT / "docs" / "index.md").read_text()
    api_index = (API / "index.rst").read_text()
    for page in API.glob("*.rst"):
        if page.name != "index.rst":
            assert f"   {page.stem}\n" in api_index, page.name
    for guide in (ROOT / "docs").glob("*.md"):
        if guide.stem != "index":
            assert f"\n{guide.stem}\n" in index, f"docs/{guide.name} is not in docs/index.md's toctree"
