"""Measuring one cell (a workload and an optimizer) for every contender, interleaved.

Every phase goes round-robin over the contenders, rotating who goes first on each repetition,
so that whatever else the machine does hits all of them alike:

1. compile (JAX contenders): ``jax.jit(step, donate_argnums=...).lower(...).compile()`` from
   fresh function objects, timed; the last executable is the one that is stepped;
2. one step each, and the params' change compared with the first contender's (they must run
   the same algorithm: a mismatch is reported, not hidden), then warm-up steps;
3. step time: each repetition times ``inner`` back-to-back steps and waits for the result;
   ``inner`` is chosen per contender so that a repetition lasts about ``target`` seconds.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import statistics
import time
from typing import Any

import jax
import numpy as np

from benchmarks.contenders import Contender, OptimizerSpec, Runner
from benchmarks.workloads import Workload

AGREEMENT_RTOL = 1e-3  # of the largest change of a param in the first step (see _check_agreement)


@dataclasses.dataclass(frozen=True)
class Settings:
    reps: int  # interleaved step-time repetitions
    compile_reps: int  # compile repetitions (only while one compile takes < `repeat_compile_below`)
    target: float  # seconds per step-time repetition and contender
    warmup: int  # steps before timing
    compile_budget: float  # skip a compile predicted to take longer (seconds; inf: never skip)
    repeat_compile_below: float = 2.0


def stats(samples: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
        "samples": samples,
    }


class CompileHistory:
    """Compile times seen so far in this run, per (contender, optimizer), by leaf count.

    XLA:CPU compile time grows with the number of leaves, faster than linearly on large trees
    (Optax's clip+adamw: ~14 s at 1000 leaves, minutes at 3000). Before compiling a tree of
    ``n`` leaves, the time is extrapolated from the largest smaller tree measured, as a power
    law in the leaf count whose exponent (clipped to [1, 3]) is fitted between that tree and the
    largest one at most half its size; trees under ``MIN_LEAVES`` leaves, where a fixed cost
    dominates, are not used. If the prediction exceeds the budget, the cell is skipped and says
    so. Trees are measured in increasing leaf count to make this work.
    """

    MIN_LEAVES = 100

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], dict[int, float]] = {}

    def add(self, contender: str, optimizer: str, leaves: int, seconds: float) -> None:
        points = self._seen.setdefault((contender, optimizer), {})
        points[leaves] = max(points.get(leaves, 0.0), seconds)

    def predict(self, contender: str, optimizer: str, leaves: int) -> float | None:
        """The extrapolated compile time, or ``None`` when there is nothing to extrapolate from."""
        seen = self._seen.get((contender, optimizer), {})
        points = sorted((n, t) for n, t in seen.items() if self.MIN_LEAVES <= n < leaves)
        if not points:
            return None
        n2, t2 = points[-1]
        smaller = [(n, t) for n, t in points if 2 * n <= n2]
        exponent = 1.0
        if smaller:
            n1, t1 = smaller[-1]
            exponent = min(3.0, max(1.0, math.log(t2 / t1) / math.log(n2 / n1)))
        return t2 * (leaves / n2) ** exponent


def _rotated(items: list[Any], k: int) -> list[Any]:
    k %= max(len(items), 1)
    return items[k:] + items[:k]


def _settle() -> None:
    """A short pause between contenders, so that spinning worker threads of one go idle."""
    time.sleep(0.002)


def measure_cell(
    workload: Workload,
    spec: OptimizerSpec,
    contenders: list[Contender],
    settings: Settings,
    history: CompileHistory,
    log: Any = print,
) -> dict[str, dict[str, Any]]:
    """Measure every contender on one (workload, optimizer); returns ``name -> result``."""
    results: dict[str, dict[str, Any]] = {}
    params, grads = workload.arrays()
    runners: dict[str, Runner] = {}
    for c in contenders:
        reason = c.unavailable(spec)
        if reason is not None:
            results[c.name] = {"status": "not available", "reason": reason}
            continue
        predicted = history.predict(c.name, spec.name, workload.leaves)  # None for torch: never compiled
        if predicted is not None and predicted > settings.compile_budget:
            results[c.name] = {
                "status": "skipped",
                "reason": f"compile predicted ~{predicted:.0f} s > budget {settings.compile_budget:g} s",
            }
            continue
        runners[c.name] = c.prepare(spec, params, grads)
        results[c.name] = {"status": "ok"}
    del grads

    _compile_all(workload, spec, runners, results, settings, history, log)
    _check_agreement(jax.tree.leaves(params), runners, results)
    for runner in runners.values():
        runner.run(settings.warmup)
        _settle()
    for name, runner in runners.items():
        results[name]["state_bytes"] = runner.state_bytes()
    _time_steps(runners, results, settings)
    return results


def _compile_all(
    workload: Workload,
    spec: OptimizerSpec,
    runners: dict[str, Runner],
    results: dict[str, dict[str, Any]],
    settings: Settings,
    history: CompileHistory,
    log: Any,
) -> None:
    lower: dict[str, list[float]] = {n: [] for n, r in runners.items() if r.compiles}
    total: dict[str, list[float]] = {n: [] for n in lower}
    for rep in range(settings.compile_reps):
        todo = [n for n in lower if rep == 0 or max(total[n]) < settings.repeat_compile_below]
        for name in _rotated(todo, rep):
            lower_s, compile_s = runners[name].compile()
            lower[name].append(lower_s)
            total[name].append(lower_s + compile_s)
            if lower_s + compile_s > 10:
                log(f"    {name}: compile took {lower_s + compile_s:.1f} s")
    for name in lower:
        results[name]["lower_s"] = stats(lower[name])
        results[name]["compile_s"] = stats(total[name])  # lower + compile
        history.add(name, spec.name, workload.leaves, statistics.median(total[name]))


def _check_agreement(
    initial: list[np.ndarray], runners: dict[str, Runner], results: dict[str, dict[str, Any]]
) -> None:
    """Run one step each and compare the params with the first contender's.

    ``agreement`` is the largest difference in units of the tolerance: ``AGREEMENT_RTOL`` of the
    largest change of a param, plus two float32 ulps of the param (the order of floating-point
    operations differs between libraries). Above 1, the contender is marked as a mismatch.
    """
    reference: list[np.ndarray] | None = None
    tolerance: list[np.ndarray] = []
    for name, runner in runners.items():
        runner.run(1)
        if not runner.has_params:
            continue
        after = runner.params_leaves()
        if reference is None:
            reference = after
            step = max(float(np.max(np.abs(a - b))) for a, b in zip(after, initial))
            tolerance = [AGREEMENT_RTOL * step + 2 * np.spacing(np.abs(a)) for a in after]
        error = max(float(np.max(np.abs(a - r) / t)) for a, r, t in zip(after, reference, tolerance))
        results[name]["agreement"] = error
        if not error <= 1:
            results[name]["status"] = "mismatch"
            first = next(iter(runners))
            results[name]["reason"] = f"its first step differs from {first}'s ({error:.3g} x tolerance)"


def _time_steps(runners: dict[str, Runner], results: dict[str, dict[str, Any]], settings: Settings) -> None:
    inner = {}
    for name, runner in runners.items():
        one = min(runner.run(1) for _ in range(2))
        inner[name] = max(1, min(1000, round(settings.target / max(one, 1e-9))))
        _settle()
    samples: dict[str, list[float]] = {n: [] for n in runners}
    names = list(runners)
    gc.collect()
    gc.disable()
    try:
        for rep in range(settings.reps):
            for name in _rotated(names, rep):
                samples[name].append(runners[name].run(inner[name]) / inner[name])
                _settle()
    finally:
        gc.enable()
    for name in names:
        results[name]["step_s"] = stats(samples[name])
        results[name]["inner"] = inner[name]
