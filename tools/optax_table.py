"""Regenerate the "Every Optax name" table of docs/from_optax.md from the installed Optax.

Run from the repository root after adding or renaming a name: ``python tools/optax_table.py``.
tests/test_docs.py fails when the table is out of date.
"""

import pathlib
import warnings

import optax
import optax.contrib

import gradtx
from gradtx._core.optax_names import EQUIVALENTS, NOT_OFFERED

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "from_optax.md"
START, END = "<!-- optax-table:start -->", "<!-- optax-table:end -->"


def _has(name: str) -> bool:
    try:
        getattr(gradtx, name)
    except AttributeError:
        return False
    return True


def rows() -> list[str]:
    out = ["| Optax | gradtx | status |", "|---|---|---|"]
    modules = (("optax", optax), ("optax.contrib", optax.contrib))
    for prefix, module in modules:
        for name in sorted(n for n in dir(module) if not n.startswith("_")):
            if prefix == "optax.contrib" and hasattr(optax, name):
                continue
            full = f"`{prefix}.{name}`"
            if _has(name):
                out.append(f"| {full} | `gradtx.{name}` | same |")
            elif name in EQUIVALENTS:
                out.append(f"| {full} | {EQUIVALENTS[name]} | renamed |")
            elif name in NOT_OFFERED:
                out.append(f"| {full} | — | out of scope (losses, projections, ...): keep Optax's |")
            else:
                out.append(f"| {full} | — | not offered yet |")
    return out


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        table = "\n".join(rows())
    text = DOC.read_text()
    head, rest = text.split(START) if START in text else (text.rstrip() + "\n\n", END)
    tail = rest.split(END, 1)[1] if END in rest else "\n"
    DOC.write_text(f"{head}{START}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    main()
