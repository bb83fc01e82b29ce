"""Live parity with torch.optim and optax in float64 (rtol 1e-9), 25 steps, for every registered case."""

from __future__ import annotations

import jax
import pytest
from cases import OPTAX_CASES, TORCH_CASES
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, torch_trajectory

STEPS = 25


@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.id)
def test_matches_torch(case):
    params = initial_params()
    want = torch_trajectory(case.make_reference, params, STEPS, case.sign)
    got = gradtx_trajectory(case.make_tx(), params, STEPS, case.sign)
    assert_trajectories_close(f"torch/{case.id}", got, want)


def _positional_calls_slow(cases):
    """The all-positional Optax calls (ids with "positional") run in CI's full run only.

    They pin the argument order, which changes only when a signature does; the everyday run keeps
    each optimizer's defaults and keyword configurations.
    """
    return [pytest.param(c, id=c.id, marks=pytest.mark.slow if "positional" in c.id else ()) for c in cases]


@pytest.mark.parametrize("case", _positional_calls_slow(OPTAX_CASES))
def test_matches_optax(case):
    params = initial_params()
    with jax.numpy_dtype_promotion("standard"):  # optax's own code relies on implicit promotion
        want = gradtx_trajectory(case.make_reference(), params, STEPS, case.sign)
    got = gradtx_trajectory(case.make_tx(), params, STEPS, case.sign)
    assert_trajectories_close(f"optax/{case.id}", got, want, rtol=case.rtol)


@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.id)
def test_matches_torch_on_flat_params(case):
    """The same torch parity with the params packed by ``flatten_params`` (issue 5's engine).

    A transformation that works leaf by leaf must refuse the flat layout instead of computing
    something else; which ones do is pinned in tests/core/test_flat.py.
    """
    params = initial_params()
    want = torch_trajectory(case.make_reference, params, STEPS, case.sign)
    try:
        got = gradtx_trajectory(case.make_tx(), params, STEPS, case.sign, flat=True)
    except TypeError as error:
        assert "cannot run on FlatParams" in str(error)
        return
    except ValueError as error:
        # Param groups (partition, freeze) split the one bucket: refused by name, and run with
        # the leaves in buckets of their own.
        assert "Pass the same mask or labels to flatten_params" in str(error), str(error)
        got = gradtx_trajectory(case.make_tx(), params, STEPS, case.sign, flat=True, labels=_each_leaf_alone)
    assert_trajectories_close(f"torch-flat/{case.id}", got, want)


def _each_leaf_alone(params):
    """A label per leaf (its path): every leaf gets a bucket of its own."""
    return jax.tree_util.tree_map_with_path(lambda path, _: jax.tree_util.keystr(path), params)
