"""The migration guide's Optax table is complete and current (regenerate: python tools/optax_table.py)."""

import importlib.util
import pathlib
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _table_tool():
    spec = importlib.util.spec_from_file_location("optax_table", ROOT / "tools" / "optax_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_optax_table_lists_every_optax_name_as_gradtx_has_it_now():
    tool = _table_tool()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        want = "\n".join(tool.rows())
    text = (ROOT / "docs" / "from_optax.md").read_text()
    got = text.split(tool.START)[1].split(tool.END)[0].strip()
    assert got == want, "docs/from_optax.md's table is out of date: run `python tools/optax_table.py`"
