"""SparseAdam against torch.optim.SparseAdam fed real sparse gradients, live in float64.

torch gets the gradients of ``nn.functional.embedding(..., sparse=True)`` for the two
embedding tables (whole looked-up rows, zero entries included), ``grad.to_sparse()`` for a
vector and ``grad.to_sparse(sparse_dim=1)`` for a 3-D table, as its documentation suggests
for parameters whose modules give dense gradients. gradtx gets the dense gradients
``jax.grad`` computes. One table is left out of the loss on some steps, so torch sees no
gradient for it there (``zero_grad()`` sets it to ``None``) and does not advance its step.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from cases import _Scheduled
from reference import assert_trajectories_close

import gradtx

STEPS = 25

_rng = np.random.default_rng(3)
INITIAL = {
    "table": _rng.normal(size=(7, 3)),
    "other": _rng.normal(size=(5, 4)),
    "bias": _rng.normal(size=(7,)) * 0.1,
    "cube": _rng.normal(size=(6, 2, 2)),
}


class Batch(NamedTuple):
    rows: np.ndarray  # rows of "table" and "bias" looked up (with repeats)
    columns: np.ndarray  # 0/1 weights of the columns of "table": the zeros give touched rows zero entries
    targets: np.ndarray
    other_rows: np.ndarray  # rows of "other"
    cube_rows: np.ndarray  # rows of "cube"
    uses_other: bool  # whether "other" is in the loss at all


def _batch(k: int) -> Batch:
    rng = np.random.default_rng(100 + k)
    columns = (rng.random(3) < 0.6).astype(np.float64)
    columns[k % 3] = 1.0
    return Batch(
        rows=rng.integers(0, 7, size=4),
        columns=columns,
        targets=np.tanh(rng.normal(size=4)),
        other_rows=rng.integers(0, 5, size=3),
        cube_rows=rng.integers(0, 6, size=3),
        uses_other=k % 4 != 2,
    )


BATCHES = [_batch(k) for k in range(STEPS)]


def loss(p: dict[str, Any], batch: Batch, xp: Any, sign: float = 1.0) -> Any:
    """The same loss for torch (sparse embedding lookups) and jax (plain indexing)."""
    if xp is torch:
        batch = Batch(*(torch.as_tensor(x) if isinstance(x, np.ndarray) else x for x in batch))

        def embed(table, rows):
            return torch.nn.functional.embedding(rows, table, sparse=True)

    else:

        def embed(table, rows):
            return table[rows]

    looked_up = embed(p["table"], batch.rows) * batch.columns[None, :]
    h = xp.tanh(looked_up.sum(1) + p["bias"][batch.rows])
    value = ((h - batch.targets) ** 2).sum()
    value = value + ((xp.tanh(p["cube"][batch.cube_rows]).sum((1, 2)) - 0.5) ** 2).sum()
    if batch.uses_other:
        value = value + ((xp.tanh(embed(p["other"], batch.other_rows)) - 0.3) ** 2).sum()
    return sign * value


def torch_run(make_optimizer, sign=1.0, record_grads=False):
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(INITIAL.items())}
    opt = make_optimizer(list(tp.values()))
    out, grads = [], []
    for batch in BATCHES:
        opt.zero_grad()
        loss(tp, batch, torch, sign).backward()
        tp["bias"].grad = tp["bias"].grad.to_sparse()
        tp["cube"].grad = tp["cube"].grad.to_sparse(sparse_dim=1)
        assert all(v.grad is None or v.grad.is_sparse for v in tp.values())
        if record_grads:
            dense = {k: v.grad.to_dense().numpy().copy() for k, v in tp.items() if v.grad is not None}
            grads.append({k: dense.get(k) for k in tp})
        opt.step()
        out.append({k: v.detach().numpy().copy() for k, v in tp.items()})
    return (out, grads) if record_grads else out


def gradtx_run(tx, sign=1.0):
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in INITIAL.items()}
        state = tx.init(p)

        @functools.partial(jax.jit, static_argnums=3)
        def step(p, state, arrays, uses_other):
            updates, state = tx.update(jax.grad(loss)(p, Batch(*arrays, uses_other), jnp, sign), state, p)
            return gradtx.apply_updates(p, updates), state

        out = []
        for batch in BATCHES:
            p, state = step(p, state, batch[:-1], batch.uses_other)
            out.append({k: np.asarray(v) for k, v in p.items()})
    return out


CASES = [
    pytest.param(gradtx.sparse_adam, torch.optim.SparseAdam, 1.0, id="defaults"),
    pytest.param(
        lambda: gradtx.sparse_adam(0.05, b1=0.8, b2=0.95, eps=1e-6),
        lambda params: torch.optim.SparseAdam(params, lr=0.05, betas=(0.8, 0.95), eps=1e-6),
        1.0,
        id="betas-eps",
    ),
    pytest.param(
        lambda: gradtx.sparse_adam(0.02, b1=0.0, b2=0.5, eps=1e-4, maximize=True),
        lambda params: torch.optim.SparseAdam(params, lr=0.02, betas=(0.0, 0.5), eps=1e-4, maximize=True),
        -1.0,
        id="no-momentum-maximize",
    ),
    pytest.param(
        lambda: gradtx.sparse_adam(lambda count: 0.05 * 0.8 ** jnp.asarray(count, jnp.float64)),
        lambda params: _Scheduled(
            torch.optim.SparseAdam(params, lr=0.05), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)
        ),
        1.0,
        id="lr-schedule",
    ),
    # The torch door: torch's argument names (and positions).
    pytest.param(gradtx.torch.SparseAdam, torch.optim.SparseAdam, 1.0, id="torch.SparseAdam-defaults"),
    pytest.param(
        lambda: gradtx.torch.SparseAdam(0.05, (0.8, 0.95), 1e-6),
        lambda params: torch.optim.SparseAdam(params, 0.05, (0.8, 0.95), 1e-6),
        1.0,
        id="torch.SparseAdam-positional",
    ),
    pytest.param(
        lambda: gradtx.torch.SparseAdam(lr=0.02, betas=(0.0, 0.5), eps=1e-4, maximize=True),
        lambda params: torch.optim.SparseAdam(params, lr=0.02, betas=(0.0, 0.5), eps=1e-4, maximize=True),
        -1.0,
        id="torch.SparseAdam-no-momentum-maximize",
    ),
]


@pytest.mark.parametrize(("make_tx", "make_torch", "sign"), CASES)
def test_matches_torch_with_sparse_gradients(make_tx, make_torch, sign, request):
    want = torch_run(make_torch, sign)
    got = gradtx_run(make_tx(), sign)
    assert_trajectories_close(f"torch/sparse_adam-{request.node.callspec.id}", got, want)


def test_the_problem_exercises_the_row_rule_and_skipped_steps():
    """The comparison above would not tell rows from entries, or per-leaf counts from one
    count, unless torch moved zero-gradient entries of touched rows and skipped a table."""
    trajectory, grads = torch_run(lambda params: torch.optim.SparseAdam(params, lr=0.05), record_grads=True)
    moved_at_zero = False
    for t in range(1, STEPS):
        g, before, after = grads[t]["table"], trajectory[t - 1]["table"], trajectory[t]["table"]
        touched = np.any(g != 0, axis=1, keepdims=True)
        moved_at_zero |= bool(np.any(touched & (g == 0) & (after != before)))
        untouched = ~touched[:, 0]
        np.testing.assert_array_equal(after[untouched], before[untouched])
    assert moved_at_zero
    assert any(g["other"] is None for g in grads)


def test_untouched_rows_keep_params_and_moments_bit_for_bit():
    tx = gradtx.scale_by_sparse_adam()
    params = {"table": jnp.ones((4, 3)), "vector": jnp.ones(3), "unused": jnp.ones((2, 2))}
    grads = {"table": jnp.zeros((4, 3)).at[1, 2].set(0.5), "vector": jnp.array([0.0, -1.0, 0.0]),
             "unused": jnp.zeros((2, 2))}
    state = tx.init(params)
    state = state._replace(
        mu=jax.tree.map(lambda m: m + 0.25, state.mu), nu=jax.tree.map(lambda v: v + 0.5, state.nu)
    )
    updates, new = jax.device_get(jax.jit(tx.update)(grads, state))
    old = jax.device_get(state)
    rest = [0, 2, 3]
    np.testing.assert_array_equal(updates["table"][rest], 0.0)
    np.testing.assert_array_equal(new.mu["table"][rest], old.mu["table"][rest])
    np.testing.assert_array_equal(new.nu["table"][rest], old.nu["table"][rest])
    assert np.all(updates["table"][1] != 0)  # the whole of row 1 moves, the zero entries too
    assert np.all(new.mu["table"][1] != old.mu["table"][1])
    np.testing.assert_array_equal(updates["vector"] != 0, [False, True, False])  # vectors: entry by entry
    np.testing.assert_array_equal(updates["unused"], 0.0)
    assert {k: int(c) for k, c in new.count.items()} == {"table": 1, "vector": 1, "unused": 0}
