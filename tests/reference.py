"""The independent reference: one problem run through torch.optim and through gradtx, in float64.

The problem is a small regression with three leaves (a matrix, a vector, and a vector that
couples to the first two), so every gradient depends on the params. torch computes its
gradients with autograd and jax with ``jax.grad``, both in float64; the parity tests
compare the parameter trajectories step by step.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

import gradtx

RTOL = 1e-9
# L-BFGS against Optax over 20-25 iterations: the two-loop recursion amplifies float64 round-off
# (by ~1.5x per iteration here), and XLA releases differ in reduction order: jax 0.8.0-0.10.0 reach
# 3e-8 relative at step 24 where 0.10.2 stays below 1e-9. An algorithmic difference would be O(1).
LBFGS_RTOL = 1e-7
ATOL = 1e-13

# Largest relative deviation seen per parity case, printed at the end of the session.
DEVIATIONS: dict[str, float] = collections.defaultdict(float)


def initial_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "w": rng.normal(size=(3, 4)),
        "b": rng.normal(size=(4,)) * 0.1,
        "v": rng.normal(size=(5,)),
    }


_rng = np.random.default_rng(1234)
_X = _rng.normal(size=(8, 3))
_Y = np.tanh(_rng.normal(size=(8, 4)))


def loss(p: dict[str, Any], xp: Any, sign: float = 1.0) -> Any:
    """The same scalar loss for torch tensors (``xp=torch``) and jax arrays (``xp=jnp``).

    ``sign=-1`` gives the objective that ``maximize=True`` cases climb (bounded above).
    """
    x, y = (xp.asarray(a) if xp is jnp else torch.as_tensor(a) for a in (_X, _Y))
    h = xp.tanh(x @ p["w"] + p["b"][None, :])
    return sign * (((h - y) ** 2).sum() + 0.25 * (p["v"] ** 4).sum() + (p["v"][:4] * p["b"]).sum())


def torch_in_float64(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` with torch's default dtype set to float64 (restored afterwards).

    Some torch optimizers keep scalar state in the default dtype, not the params' (NAdam's
    ``mu_product``, ASGD's ``eta`` and ``mu``): in float32 they would cap the agreement at ~1e-7.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_default_dtype(previous)

    return run


@torch_in_float64
def torch_trajectory(
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    params: dict[str, np.ndarray],
    steps: int,
    sign: float = 1.0,
) -> list[dict[str, np.ndarray]]:
    """Params after each of ``steps`` torch steps (leaves in sorted-key order, as jax flattens)."""
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(params.items())}
    opt = make_optimizer(list(tp.values()))

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = loss(tp, torch, sign)
        value.backward()
        return value

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append({k: v.detach().numpy().copy() for k, v in tp.items()})
    return out


def gradtx_trajectory(
    tx: gradtx.GradientTransformation,
    params: dict[str, np.ndarray],
    steps: int,
    sign: float = 1.0,
    *,
    flat: bool = False,
    labels: Any = None,
) -> list[dict[str, np.ndarray]]:
    """Params after each of ``steps`` jitted gradtx steps, in float64.

    ``flat=True`` runs the optimizer on ``gradtx.flatten_params(params, labels=labels)`` (one
    bucket per label) and differentiates through ``unflatten``, as a user of the flat layout does.
    """
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        if flat:
            p = gradtx.flatten_params(p, labels=labels)
        state = tx.init(p)
        unpack = (lambda q: q.unflatten()) if flat else (lambda q: q)
        objective = lambda q: loss(unpack(q), jnp, sign)
        value_and_grad = jax.value_and_grad(objective)

        @jax.jit
        def step(p, state):
            value, grads = value_and_grad(p)
            updates, state = tx.update(
                grads, state, p, value=value, grad=grads, value_fn=objective
            )
            return gradtx.apply_updates(p, updates), state

        out = []
        for _ in range(steps):
            p, state = step(p, state)
            out.append({k: np.asarray(v) for k, v in unpack(p).items()})
    return out


def assert_trajectories_close(
    case: str, got: Sequence[dict[str, np.ndarray]], want: Sequence[dict[str, np.ndarray]], rtol: float | None = None
) -> float:
    """Assert step-by-step closeness (``rtol``, default 1e-9) and record the largest relative deviation."""
    assert len(got) == len(want)
    worst = 0.0
    for t, (g, w) in enumerate(zip(got, want)):
        assert g.keys() == w.keys()
        for k in w:
            assert np.all(np.isfinite(w[k])), f"{case}: the reference diverged at step {t + 1}; pick another configuration."
            np.testing.assert_allclose(
                g[k], w[k], rtol=rtol or RTOL, atol=ATOL, err_msg=f"{case}: leaf {k!r} at step {t + 1}"
            )
            scale = np.maximum(np.abs(w[k]), 1e-6)
            worst = max(worst, float(np.max(np.abs(g[k] - w[k]) / scale)))
    DEVIATIONS[case] = max(DEVIATIONS[case], worst)
    # The trajectory must actually move: a transformation that does nothing cannot pass.
    moved = max(float(np.max(np.abs(want[-1][k] - want[0][k]))) for k in want[0])
    assert moved > 1e-6, f"{case}: the reference trajectory does not move; the comparison proves nothing."
    return worst
