"""Benchmark gradtx against Optax and torch.optim in one process, interleaved.

Run from the repository root::

    python -m benchmarks.run --quick     # under a minute: small sizes, few repetitions
    python -m benchmarks.run             # the full run of docs/performance.md

Writes ``<out>/<name>.md`` (also printed) and ``<out>/<name>.json`` (every sample);
``<name>`` is ``quick`` or ``full`` unless ``--name`` is given.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np
import optax
import torch

import gradtx
from benchmarks import device, report, workloads
from benchmarks.contenders import CONTENDERS, HYPERPARAMETERS, OPTIMIZERS
from benchmarks.harness import CompileHistory, Settings, measure_cell

# The sweep runs the first of these that is selected and available (issue 5's table is clip+adamw).
SWEEP_OPTIMIZERS = ("clip+adamw", "adamw")
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repetitions (< 1 min)")
    parser.add_argument("--workloads", default=",".join(workloads.WORKLOADS), help="comma-separated subset")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS), help="comma-separated subset")
    parser.add_argument("--contenders", default=",".join(c.name for c in CONTENDERS), help="columns to run")
    parser.add_argument("--sweep", default=None, help="leaf counts of the sweep, e.g. 10,100 ('' for none)")
    parser.add_argument("--reps", type=int, default=None, help="step-time repetitions (quick 5, full 11)")
    parser.add_argument("--compile-reps", type=int, default=None, help="compile repetitions (quick 1; 3)")
    parser.add_argument(
        "--compile-budget",
        type=float,
        default=None,
        help="skip compiles predicted to take longer, in seconds (quick 10, full 30; 'inf' runs all)",
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="output directory")
    parser.add_argument("--name", default=None, help="output file stem (default: quick or full)")
    device.add_argument(parser)
    args = parser.parse_args(argv)
    for key, quick, full in (("reps", 5, 11), ("compile_reps", 1, 3), ("compile_budget", 10.0, 30.0)):
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if args.sweep is None:
        args.sweep = ",".join(map(str, workloads.SWEEP_QUICK if args.quick else workloads.SWEEP_FULL))
    _check_names("--workloads", args.workloads, workloads.WORKLOADS)
    _check_names("--optimizers", args.optimizers, OPTIMIZERS)
    _check_names("--contenders", args.contenders, [c.name for c in CONTENDERS])
    return args


def _check_names(flag: str, value: str, known: Any) -> None:
    unknown = [n for n in _split(value) if n not in known]
    if unknown:
        raise SystemExit(f"{flag}: unknown {unknown}; choose from {list(known)}")


def _split(value: str) -> list[str]:
    return [v for v in value.split(",") if v]


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": importlib.metadata.version("jaxlib"),
        "optax": optax.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "gradtx": f"{gradtx.__version__} ({_git_revision()})",
    }


def _git_revision() -> str:
    """The commit benchmarked (read-only git queries)."""
    root = pathlib.Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain")
    except OSError:
        return "no git"
    return head + (" + uncommitted changes" if dirty else "")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _parse(argv)
    device.select(args.device)
    start, load_before = time.perf_counter(), list(os.getloadavg())
    jax.config.update("jax_enable_compilation_cache", False)  # every compile is measured cold
    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(cores)
    mode = "quick" if args.quick else "full"
    settings = Settings(
        reps=args.reps,
        compile_reps=args.compile_reps,
        target=0.02 if args.quick else 0.05,
        warmup=3,
        compile_budget=args.compile_budget,
    )
    contenders = [c for c in CONTENDERS if c.name in _split(args.contenders)]
    specs = {n: OPTIMIZERS[n] for n in _split(args.optimizers)}
    unavailable = {n: s.missing for n, s in specs.items() if s.missing is not None}
    swept = [n for n in SWEEP_OPTIMIZERS if n in specs and n not in unavailable][:1]
    cells = [("sweep", workloads.sweep_leaf(int(n)), name) for n in _split(args.sweep) for name in swept]
    chosen = [workloads.WORKLOADS[w](args.quick) for w in _split(args.workloads)]
    chosen.sort(key=lambda w: w.leaves)  # increasing leaf count: see CompileHistory
    cells += [("workload", w, name) for w in chosen for name in specs]
    cells = [cell for cell in cells if cell[2] not in unavailable]

    history = CompileHistory()
    out_cells: list[dict[str, Any]] = []
    meta = {
        "mode": mode,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m benchmarks.run " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "load_before": load_before,
        "cpu": device.cpu() if args.device == "cpu" else device.describe(),
        "cores": cores,
        "threads": (
            f"XLA:CPU default (one thread per core, {cores}); torch.set_num_threads({cores})"
            if args.device == "cpu"
            else f"GPU run (JAX and torch on cuda); host threads: torch.set_num_threads({cores})"
        ),
        "versions": _versions(),
        "settings": (
            f"step time: {settings.reps} repetitions of ~{settings.target * 1e3:.0f} ms per contender "
            f"after {settings.warmup} warm-up steps; compile: {settings.compile_reps} repetitions "
            f"(1 where a compile takes >= {settings.repeat_compile_below:g} s), budget "
            f"{settings.compile_budget:g} s"
        ),
        "hyperparameters": {n: HYPERPARAMETERS[n] for n in specs},
        "unavailable": unavailable,
        "contenders": [c.name for c in contenders],
    }
    meta.update(load_after=list(os.getloadavg()), wall_s=0.0, incomplete=None)
    run = {"meta": meta, "cells": out_cells}
    markdown = report.render(run)
    stem = args.name or mode
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (group, workload, name) in enumerate(cells):
        spec = specs[name]
        _log(f"[{i + 1}/{len(cells)}] {workload.name} / {name}  ({time.perf_counter() - start:.0f} s)")
        results = measure_cell(workload, spec, contenders, settings, history, log=_log)
        out_cells.append(
            {
                "group": group,
                "workload": workload.name,
                "note": workload.note,
                "leaves": workload.leaves,
                "size": workload.size,
                "optimizer": name,
                "needed_state_bytes": spec.needed_state_bytes(workload.size),
                "limit_bytes": spec.limit_bytes(workload.size),
                "results": results,
            }
        )
        # Saved after every cell, so an interrupted run keeps what it measured.
        meta.update(load_after=list(os.getloadavg()), wall_s=time.perf_counter() - start)
        meta["incomplete"] = f"{i + 1} of {len(cells)} cells" if i + 1 < len(cells) else None
        run = {"meta": meta, "cells": out_cells}
        markdown = report.render(run)
        _write(args.out / f"{stem}.json", json.dumps(run, indent=1))
        _write(args.out / f"{stem}.md", markdown)
    print(markdown)
    _log(f"wrote {args.out / stem}.{{md,json}} in {run['meta']['wall_s']:.0f} s")
    return run


def _write(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
