"""Render a benchmark's JSON result as Markdown tables.

``python -m benchmarks.report benchmarks/results/full.json`` re-renders a saved run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from benchmarks.contenders import BASELINE, LIMIT

Cell = dict[str, Any]
_SHORT = {"not available": "n/a", "skipped": "skipped", "mismatch": "MISMATCH"}


def render(run: dict[str, Any]) -> str:
    """The whole report: the run's conditions, then five tables per group of cells."""
    meta = run["meta"]
    lines = [
        f"# gradtx benchmark ({meta['mode']})",
        "",
        f"* date: {meta['date']}; wall time {meta['wall_s']:.0f} s",
        f"* command: `{meta['command']}`",
        f"* load average (1, 5, 15 min): before {_load(meta['load_before'])}, "
        f"after {_load(meta['load_after'])}",
        f"* machine: {meta['cpu']}, {meta['cores']} cores; threads: {meta['threads']}",
        f"* versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
        f"* settings: {meta['settings']}",
        f"* hyperparameters: {'; '.join(f'{k}: {v}' for k, v in meta['hyperparameters'].items())}",
    ]
    lines += [f"* **{name}: not available** ({why}); left out." for name, why in meta["unavailable"].items()]
    if meta.get("incomplete"):
        lines.append(f"* **incomplete run**: {meta['incomplete']} measured")
    lines += [
        "",
        "Times are medians [min–max] over interleaved repetitions. Ratios divide medians; `≈` marks",
        "a ratio whose two min–max ranges overlap (a difference within noise). `limit` is one jitted",
        "pass moving exactly the bytes the optimizer must move (see docs/performance.md).",
    ]
    for group, title in (("workload", "Workloads"), ("sweep", "Leaf-count sweep (leaves of 256 floats)")):
        cells = [c for c in run["cells"] if c["group"] == group]
        if cells:
            lines += ["", f"## {title}", ""]
            for c in {c["workload"]: c for c in cells}.values():
                leaves = _plural(c["leaves"], "leaf", "leaves")
                lines.append(f"* `{c['workload']}`: {leaves}, {c['size']:,} params ({c['note']})")
            lines += _tables(cells, meta["contenders"])
    lines.append("")
    return "\n".join(lines)


def _tables(cells: list[Cell], columns: list[str]) -> list[str]:
    others = [n for n in columns if n not in (BASELINE, LIMIT)]
    optimizers = [n for n in columns if n != LIMIT]
    compiled = [n for n in columns if any("compile_s" in c["results"][n] for c in cells)]
    compiled_others = [n for n in compiled if n in others]
    lines = ["", "Step time (ms):", ""]
    lines += _table(cells, columns, lambda c, n: _value(c, n, lambda r: _range(r["step_s"], _ms)))
    lines += ["", f"Step-time ratio to {BASELINE} (< 1 is faster):", ""]
    lines += _table(cells, others, lambda c, n: _ratio(c, n, "step_s"))
    lines += ["", f"Compile time (s: trace + lower + compile), and its ratio to {BASELINE}:", ""]
    lines += _table(
        cells,
        compiled + [f"{n} / {BASELINE}" for n in compiled_others],
        lambda c, n: _value(c, n, lambda r: _range(r["compile_s"], _sec))
        if n in compiled
        else _ratio(c, n.split(" / ")[0], "compile_s"),
    )
    lines += ["", "Optimizer-state bytes (MiB; `needed`: the algorithm's buffers in float32):", ""]
    lines += _table(
        cells,
        ["needed", *optimizers],
        lambda c, n: _mib(c["needed_state_bytes"])
        if n == "needed"
        else _value(c, n, lambda r: _mib(r["state_bytes"])),
    )
    if LIMIT in columns:  # `--contenders` may leave the limit kernel out
        lines += ["", "Step time over the bandwidth limit (optimizer / limit; % of the limit reached):", ""]
        lines += _table(
            cells,
            ["limit: ms, GB/s", *optimizers],
            lambda c, n: _limit(c) if n.startswith("limit") else _versus_limit(c, n),
        )
    notes = [
        f"* {c['workload']} / {c['optimizer']} / {n}: {r['status']}: {r['reason']}"
        for c in cells
        for n, r in c["results"].items()
        if r["status"] != "ok"
    ]
    return lines + (["", "Not measured:", "", *notes] if notes else [])


def _table(cells: list[Cell], columns: list[str], show: Callable[[Cell, str], str]) -> list[str]:
    """One row per cell: workload and optimizer (left-aligned), then ``show(cell, column)``."""
    rows = [["workload", "optimizer", *columns], ["---", "---", *("--:" for _ in columns)]]
    rows += [[c["workload"], c["optimizer"], *(show(c, n) for n in columns)] for c in cells]
    return ["| " + " | ".join(row) + " |" for row in rows]


def _ok(cell: Cell, name: str) -> dict[str, Any] | None:
    result = cell["results"][name]
    return result if result["status"] == "ok" else None


def _value(cell: Cell, name: str, show: Callable[[dict[str, Any]], str]) -> str:
    """``show(result)`` for a contender that ran, else a word for why it did not."""
    result = cell["results"][name]
    return show(result) if result["status"] == "ok" else _SHORT[result["status"]]


def _ratio(cell: Cell, name: str, key: str) -> str:
    """``name``'s median over the baseline's for ``key`` (``step_s`` or ``compile_s``)."""
    result, base = _ok(cell, name), _ok(cell, BASELINE)
    if result is None:
        return _SHORT[cell["results"][name]["status"]]
    if base is None:
        return "—"
    r, b = result[key], base[key]
    overlap = r["n"] > 1 and b["n"] > 1 and r["min"] <= b["max"] and b["min"] <= r["max"]
    return f"{r['median'] / b['median']:.2f}" + (" ≈" if overlap else "")


def _limit(cell: Cell) -> str:
    limit = _ok(cell, LIMIT)
    if limit is None:
        return _SHORT[cell["results"][LIMIT]["status"]]
    seconds = limit["step_s"]["median"]
    return f"{_ms(seconds)}, {cell['limit_bytes'] / seconds / 1e9:.1f}"


def _versus_limit(cell: Cell, name: str) -> str:
    result, limit = _ok(cell, name), _ok(cell, LIMIT)
    if result is None:
        return _SHORT[cell["results"][name]["status"]]
    if limit is None:
        return "—"
    ratio = result["step_s"]["median"] / limit["step_s"]["median"]
    return f"{ratio:.2f} ({100 / ratio:.0f}%)"


def _range(stat: dict[str, Any], unit: Callable[[float], str]) -> str:
    if stat["n"] == 1:
        return unit(stat["median"])
    return f"{unit(stat['median'])} [{unit(stat['min'])}–{unit(stat['max'])}]"


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _sec(seconds: float) -> str:
    return f"{seconds:.3g}"


def _mib(n: int | None) -> str:
    return "—" if n is None else f"{n / 2**20:.3g}"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _load(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="a result file written by benchmarks.run")
    with open(parser.parse_args().json) as f:
        print(render(json.load(f)))


if __name__ == "__main__":
    main()
