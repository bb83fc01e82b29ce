"""Two front doors, one dialect each: signatures checked against the installed Optax and torch.

* Every name that gradtx's top level shares with ``optax`` or ``optax.contrib`` takes Optax's
  parameters: same names, order, kinds (positional / keyword-only) and defaults. gradtx may add
  parameters only after Optax's, keyword-only and with a default (``maximize=``, ``axis_name=``...).
* Every ``gradtx.torch.X`` takes ``torch.optim.X``'s parameters minus ``params``, with the same
  rule for additions. (The schedulers are checked in tests/schedules/test_torch_parity.py.)
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import optax
import optax.contrib
import pytest
import torch

import gradtx

# Names that are types or aliases rather than functions with a signature to match.
_NOT_FUNCTIONS = {"Params", "Updates", "Schedule", "ScalarOrSchedule"}

TORCH_OPTIMIZERS = (
    "SGD Adam AdamW Adagrad Adadelta Adamax RMSprop Rprop ASGD NAdam RAdam SparseAdam Adafactor Muon LBFGS".split()
)


def _optax_twin(name: str) -> Any:
    return getattr(optax, name, None) or getattr(optax.contrib, name)


def _shared_with_optax() -> list[str]:
    names = {n for module in (optax, optax.contrib) for n in dir(module) if not n.startswith("_")}
    return sorted(
        n
        for n in names & set(dir(gradtx))
        if n not in _NOT_FUNCTIONS and callable(_optax_twin(n)) and not isinstance(_optax_twin(n), type)
    )


def _same_default(ours: Any, theirs: Any) -> bool:
    if theirs is inspect.Parameter.empty or ours is inspect.Parameter.empty:
        return ours is theirs
    if isinstance(theirs, tuple) and getattr(theirs, "init", None) is not None:  # a transformation (lbfgs' linesearch)
        return getattr(ours, "init", None) is not None
    if callable(theirs) and not isinstance(theirs, type):  # a default function (decay_rate_fn): ours must be one too
        return callable(ours)
    if theirs is None or isinstance(theirs, bool):
        return ours is theirs
    try:
        return bool(np.all(ours == theirs))
    except (TypeError, ValueError):
        return False


def assert_same_parameters(where: str, ours: inspect.Signature, theirs: list[inspect.Parameter]) -> None:
    mine = list(ours.parameters.values())
    for i, want in enumerate(theirs):
        assert i < len(mine), f"{where}: missing parameter {want.name!r} (position {i})"
        got = mine[i]
        if want.kind is want.VAR_POSITIONAL:  # `*args` vs `*transforms`: callers cannot tell
            assert got.kind is got.VAR_POSITIONAL, f"{where}: parameter {i} must be *{want.name}"
            continue
        assert got.name == want.name, f"{where}: parameter {i} is {got.name!r}, the reference has {want.name!r}"
        assert got.kind == want.kind, f"{where}: {got.name!r} is {got.kind.description}, the reference's is {want.kind.description}"
        assert _same_default(got.default, want.default), (
            f"{where}: {got.name!r} defaults to {got.default!r}, the reference's to {want.default!r}"
        )
    for extra in mine[len(theirs):]:
        assert extra.kind is extra.KEYWORD_ONLY and extra.default is not extra.empty, (
            f"{where}: gradtx's own parameter {extra.name!r} must come after the reference's, keyword-only, "
            "with a default"
        )


@pytest.mark.parametrize("name", _shared_with_optax())
def test_top_level_takes_optax_parameters(name):
    theirs = list(inspect.signature(_optax_twin(name)).parameters.values())
    assert_same_parameters(f"gradtx.{name}", inspect.signature(getattr(gradtx, name)), theirs)


@pytest.mark.parametrize("name", TORCH_OPTIMIZERS)
def test_torch_door_takes_torch_parameters(name):
    assert hasattr(gradtx.torch, name), f"gradtx.torch.{name} is missing"
    theirs = list(inspect.signature(getattr(torch.optim, name).__init__).parameters.values())[2:]  # self, params
    assert_same_parameters(f"gradtx.torch.{name}", inspect.signature(getattr(gradtx.torch, name)), theirs)


@pytest.mark.parametrize("name", _shared_with_optax())
def test_annotations_are_evaluated(name):
    """Tools that read ``inspect.signature`` see types, not strings (postponed annotations)."""
    for parameter in inspect.signature(getattr(gradtx, name)).parameters.values():
        assert not isinstance(parameter.annotation, str), f"gradtx.{name}: {parameter.name} is annotated {parameter.annotation!r}"


def test_the_rule_rejects_a_swapped_order():
    """The checker itself: a positional swap is caught (so the parametrized tests can fail)."""

    def reference(learning_rate, b1=0.9, b2=0.999): ...

    def swapped(learning_rate, b2=0.999, b1=0.9): ...

    def extra_positional(learning_rate, b1=0.9, b2=0.999, weight_decay=0.0): ...

    theirs = list(inspect.signature(reference).parameters.values())
    with pytest.raises(AssertionError, match="parameter 1"):
        assert_same_parameters("swapped", inspect.signature(swapped), theirs)
    with pytest.raises(AssertionError, match="keyword-only"):
        assert_same_parameters("extra", inspect.signature(extra_positional), theirs)
