"""Sphinx configuration of gradtx's documentation site.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API pages (``docs/api/*.rst``) are generated from the package by ``tools/api_pages.py``
(run here on every build, or by hand); ``tests/test_docs_api.py`` fails when a public name is missing.
"""

from __future__ import annotations

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JAX_PLATFORMS", "cpu")  # importing gradtx for autodoc needs no accelerator

import gradtx

# The API pages are regenerated on every build, so a new public name is never left out of the site
# (tests/test_docs_api.py checks that the committed pages are current too).
sys.path.insert(0, str(ROOT / "tools"))
import api_pages

api_pages.main()

project = "gradtx"
author = "gradtx authors"
copyright = "gradtx authors"
release = version = gradtx.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
]
# intersphinx is deliberately off: the build must not need the network.

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# --- autodoc / napoleon: the docstrings are Google style with Sphinx roles and ``.. math::``
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {"show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True
add_module_names = False
# Signatures show the aliases' names rather than their expansions.
autodoc_type_aliases = {
    name: f"gradtx.{name}" for name in ("Params", "Updates", "Schedule", "ScalarOrSchedule")
}

# --- MyST: the Markdown guides use $math$, $$display math$$ and links to #heading-anchors
myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 4
# Links from a guide to a file of the repository outside docs/ (e.g. ../examples/flax_nnx.py)
# become downloads of that file, so no warning needs to be suppressed: a broken link fails the build.
suppress_warnings: list[str] = []

# --- HTML
html_theme = "furo"
html_title = f"gradtx {release}"
html_static_path: list[str] = []
