"""Write the API reference pages of the documentation site (``docs/api/*.rst``) from the package.

Run from the repository root after adding, renaming or removing a public name::

    python tools/api_pages.py

Every public name of ``gradtx`` (grouped by where it is defined: core, optimizers, schedules,
transforms, tools) and of ``gradtx.torch``, ``gradtx.torch.lr_scheduler``, ``gradtx.tree`` and
``gradtx.contrib`` (when they exist) gets an ``autofunction`` / ``autoclass`` / ``autodata``
entry. ``tests/test_docs_api.py`` fails when the pages are out of date.
"""

from __future__ import annotations
import __future__

import ast
import importlib
import inspect
import itertools
import os
import pathlib
import sys
import types
import typing

os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = pathlib.Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"

# gradtx's top level is split by the private package a name is defined in.
GROUPS = [
    ("core", "Core: the protocol, combinators, numerics", ("gradtx._core",)),
    ("optimizers", "Optimizers and their building blocks", ("gradtx._optimizers",)),
    ("schedules", "Schedules", ("gradtx._schedules",)),
    ("transforms", "Transforms: clipping, robustness, accumulation, averaging, ...", ("gradtx._transforms",)),
    ("tools", "Tools: learning-rate finder, loss scaling", ("gradtx._tools",)),
]
# Sub-namespaces with a page each: (page, title, module).
NAMESPACES = [
    ("torch", "gradtx.torch: torch.optim's dialect", "gradtx.torch"),
    ("lr_scheduler", "gradtx.torch.lr_scheduler: torch's schedulers", "gradtx.torch.lr_scheduler"),
    ("tree", "gradtx.tree: tree utilities", "gradtx.tree"),
    ("contrib", "gradtx.contrib", "gradtx.contrib"),
]


def public_names(module: types.ModuleType) -> list[str]:
    """The public names of ``module``.

    ``__all__`` where the module has one; for ``gradtx`` itself, and for a module without
    ``__all__``, also every attribute not starting with ``_`` that is not a module, a
    ``from __future__`` flag or a name re-exported from :mod:`typing`.
    """
    names = set(getattr(module, "__all__", ()))
    if module.__name__ == "gradtx" or not hasattr(module, "__all__"):
        for name in dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or isinstance(obj, (types.ModuleType, __future__._Feature)):
                continue
            if obj is getattr(typing, name, object()):
                continue
            names.add(name)
    return sorted(names, key=lambda n: (n.lower(), n))


def submodules() -> dict[str, types.ModuleType]:
    """The documented namespaces that exist in this checkout."""
    out = {}
    for _, _, modname in NAMESPACES:
        try:
            out[modname] = importlib.import_module(modname)
        except ModuleNotFoundError:
            continue
    return out


def directive(module: types.ModuleType, name: str) -> str:
    """The autodoc directive for ``module.name``."""
    obj = getattr(module, name)
    qual = f"{module.__name__}.{name}"
    if _is_type_alias(obj):
        # a type alias (``Params = Any``): its docstring is the string after the assignment
        origin, attr = _origin(module, name)
        docs = inspect.cleandoc(_attr_doc(importlib.import_module(origin), attr)).splitlines()
        value = " ".join(
            repr(obj)
            .replace("typing.", "")
            .replace("collections.abc.", "")
            .replace("jax.jaxlib._jax.", "jax.")
            .split()
        )
        body = "".join(f"   {line}\n" if line.strip() else "\n" for line in docs).rstrip()
        return (
            f".. py:data:: {name}\n   :value: {value}\n\n   Type alias.\n{body and chr(10) + body + chr(10)}"
        )
    if inspect.isclass(obj):
        return f".. autoclass:: {qual}\n   :members:\n"
    if callable(obj):
        return f".. autofunction:: {qual}\n"
    return f".. autodata:: {qual}\n"


def _same_as_top_level(module: types.ModuleType, name: str) -> str | None:
    """A short entry for ``module.name`` when it is a class or function that ``gradtx`` already documents.

    (Documenting one class twice would register its canonical name twice.)
    """
    import gradtx

    obj = getattr(module, name)
    if not (inspect.isclass(obj) or inspect.isroutine(obj)) or _is_type_alias(obj):
        return None
    twins = [n for n in public_names(gradtx) if getattr(gradtx, n) is obj]
    if not twins:
        return None
    twin = name if name in twins else twins[0]
    kind, role = ("class", "class") if inspect.isclass(obj) else ("function", "func")
    return f".. py:{kind}:: {name}\n\n   The same object as :{role}:`gradtx.{twin}`.\n"


def _is_type_alias(obj: object) -> bool:
    """``Any``, ``Callable[...]``, ``float | Array``: typing objects, not gradtx classes or functions."""
    if inspect.isroutine(obj) or (inspect.isclass(obj) and obj.__module__.startswith("gradtx")):
        return False
    return obj is typing.Any or type(obj).__module__ in (
        "typing",
        "types",
        "collections.abc",
        "typing_extensions",
    )


def _attr_doc(module: types.ModuleType, name: str) -> str:
    """The string literal right after ``name = ...`` at the top level of ``module``'s source."""
    body = ast.parse(pathlib.Path(inspect.getsourcefile(module) or "").read_text()).body
    for node, after in itertools.pairwise(body):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        named = any(isinstance(t, ast.Name) and t.id == name for t in targets)
        if named and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            return str(after.value.value)
    return ""


def _origin(module: types.ModuleType, name: str) -> tuple[str, str]:
    """``(module, attribute)`` where ``module.name`` is assigned, following ``from X import Y as name``."""
    tree = ast.parse(pathlib.Path(inspect.getsourcefile(module) or "").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _origin(importlib.import_module(node.module), alias.name)
    return module.__name__, name


def _group_of(obj: object) -> str:
    origin = getattr(obj, "__module__", None) or ""
    if not isinstance(origin, str) or _is_type_alias(obj):
        origin = ""
    for page, _, prefixes in GROUPS:
        if origin.startswith(prefixes):
            return page
    return "core"  # type aliases (Params, Schedule, ...) and anything else


def _page(title: str, intro: str, module: str, entries: list[str]) -> str:
    bar = "=" * len(title)
    body = "\n".join(entries)
    return (
        ".. This file is generated by tools/api_pages.py; do not edit by hand.\n\n"
        f"{title}\n{bar}\n\n{intro}\n\n.. currentmodule:: {module}\n\n{body}"
    )


def pages() -> dict[str, str]:
    """``{file name: text}`` of every API page, the index included."""
    import gradtx

    out: dict[str, str] = {}
    grouped: dict[str, list[str]] = {page: [] for page, _, _ in GROUPS}
    for name in public_names(gradtx):
        grouped[_group_of(getattr(gradtx, name))].append(name)
    toc = []
    for page, title, _ in GROUPS:
        names = grouped[page]
        if not names:
            continue
        intro = f"{len(names)} names, all importable as ``gradtx.<name>``."
        out[f"{page}.rst"] = _page(title, intro, "gradtx", [directive(gradtx, n) for n in names])
        toc.append(page)
    for page, title, modname in NAMESPACES:
        module = submodules().get(modname)
        if module is None:
            continue
        names = public_names(module)
        intro = f".. automodule:: {modname}\n   :no-members:\n\n{len(names)} names, importable as ``{modname}.<name>``."
        entries = [_same_as_top_level(module, n) or directive(module, n) for n in names]
        out[f"{page}.rst"] = _page(title, intro, modname, entries)
        toc.append(page)
    index = (
        ".. This file is generated by tools/api_pages.py; do not edit by hand.\n\n"
        "API reference\n=============\n\n"
        "Every public name of gradtx, with its signature, its docstring and, where the docstring\n"
        "has one, its update rule. The modules under ``gradtx._*`` are private: import from\n"
        "``gradtx``, ``gradtx.torch``, ``gradtx.torch.lr_scheduler`` and ``gradtx.tree``.\n\n"
        ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {p}\n" for p in toc)
    )
    out["index.rst"] = index
    return out


def main() -> None:
    API.mkdir(parents=True, exist_ok=True)
    want = pages()
    for old in API.glob("*.rst"):
        if old.name not in want:
            old.unlink()
    for name, text in want.items():
        path = API / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    print(f"wrote {len(want)} pages to {API.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
