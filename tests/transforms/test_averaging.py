"""lookahead (against optax.lookahead) and polyak_averaging (against torch's AveragedModel)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from reference import assert_trajectories_close, initial_params, loss

import gradtx

STEPS = 25


def _numpy(tree) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in tree.items()}


def gradtx_run(tx, steps: int = STEPS):
    """Params and ``eval_params`` after each of ``steps`` jitted float64 steps on the reference problem."""
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()}
        grad = jax.grad(lambda q: loss(q, jnp))

        @jax.jit
        def step(p, state):
            updates, state = tx.update(grad(p), state, p)
            p = gradtx.apply_updates(p, updates)
            return p, state, gradtx.eval_params(state, p)

        state = tx.init(p)
        params, evaluated = [], []
        for _ in range(steps):
            p, state, e = step(p, state)
            params.append(_numpy(p))
            evaluated.append(_numpy(e))
    return params, evaluated


# ---------------------------------------------------------------------------------- lookahead

LOOKAHEAD_CASES = [
    pytest.param(lambda: gradtx.adam(0.05), lambda: optax.adam(0.05), 5, 0.5, False, id="adam-k5"),
    pytest.param(lambda: gradtx.sgd(0.02, momentum=0.9), lambda: optax.sgd(0.02, momentum=0.9), 3, 0.3, True,
                 id="sgd-momentum-k3-reset"),
    pytest.param(lambda: gradtx.sgd(0.02), lambda: optax.sgd(0.02), 1, 0.8, False, id="sgd-k1"),
]


@pytest.mark.parametrize(("make_fast", "make_optax_fast", "sync", "alpha", "reset"), LOOKAHEAD_CASES)
def test_lookahead_matches_optax_fast_and_slow_weights(make_fast, make_optax_fast, sync, alpha, reset, request):
    got_fast, got_slow = gradtx_run(gradtx.lookahead(make_fast(), sync, alpha, reset_state=reset))
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        ref = optax.lookahead(make_optax_fast(), sync, alpha, reset_state=reset)
        lp = optax.LookaheadParams.init_synced({k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()})
        grad = jax.grad(lambda q: loss(q, jnp))

        @jax.jit
        def step(lp, state):
            updates, state = ref.update(grad(lp.fast), state, lp)
            return optax.apply_updates(lp, updates), state

        state = ref.init(lp)
        want_fast, want_slow = [], []
        for _ in range(STEPS):
            lp, state = step(lp, state)
            want_fast.append(_numpy(lp.fast))
            want_slow.append(_numpy(lp.slow))
    case = request.node.callspec.id
    assert_trajectories_close(f"optax/lookahead-{case}", got_fast, want_fast)
    assert_trajectories_close(f"optax/lookahead-{case}-slow", got_slow, want_slow)


def test_lookahead_slow_weights_move_only_at_synchronization():
    fast, slow = gradtx_run(gradtx.lookahead(gradtx.adam(0.05), 4, 0.5), steps=12)
    start = initial_params()
    for t in range(12):
        synced = (t + 1) % 4 == 0
        previous = slow[t - 1] if t else start
        moved = any(not np.array_equal(slow[t][k], previous[k]) for k in start)
        assert moved == synced, t
        if synced:  # fast weights are put back on the slow ones (up to rounding)
            for k in start:
                np.testing.assert_allclose(fast[t][k], slow[t][k], rtol=1e-12, atol=1e-14)


def test_lookahead_with_full_slow_step_is_the_fast_optimizer():
    got, slow = gradtx_run(gradtx.lookahead(gradtx.adam(0.05), 3, 1.0), steps=9)
    want, _ = gradtx_run(gradtx.polyak_averaging(gradtx.adam(0.05)), steps=9)  # same iterates, plain adam
    for g, w in zip(got, want):
        for k in w:
            np.testing.assert_allclose(g[k], w[k], rtol=1e-12, atol=1e-14)
    for t in (2, 5, 8):
        for k in got[t]:
            np.testing.assert_allclose(slow[t][k], got[t][k], rtol=1e-12, atol=1e-14)


def test_eval_params_finds_lookahead_inside_a_chain_and_keeps_other_leaves():
    params = {"w": jnp.ones(2), "step": jnp.array(4, jnp.int32), "none": None}
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.lookahead(gradtx.sgd(0.5), 2, 0.5))
    state = tx.init(params)
    grads = {"w": jnp.array([1.0, 0.0]), "step": jnp.array(0, jnp.int32), "none": None}
    for _ in range(2):
        updates, state = tx.update(grads, state, params)
        params = gradtx.apply_updates(params, updates)
    evaluated = gradtx.eval_params(state, params)
    np.testing.assert_allclose(evaluated["w"], [0.5, 1.0])  # halfway to the fast weights' 0.0
    assert int(evaluated["step"]) == 4 and evaluated["none"] is None


def test_lookahead_needs_params():
    tx = gradtx.lookahead(gradtx.sgd(0.1), 2, 0.5)
    with pytest.raises(ValueError, match=r"^lookahead: parameter averaging needs the params"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


# ---------------------------------------------------------------------------------- polyak


class _Module(torch.nn.Module):
    def __init__(self, params: dict[str, np.ndarray]):
        super().__init__()
        for name, value in sorted(params.items()):
            self.register_parameter(name, torch.nn.Parameter(torch.tensor(value, dtype=torch.float64)))


def torch_swa_run(make_optimizer, start: int, every: int, steps: int = STEPS):
    """torch's SWA loop: ``update_parameters(model)`` after step t for t = start + every, start + 2 every, ..."""
    model = _Module(initial_params())
    swa = torch.optim.swa_utils.AveragedModel(model)
    opt = make_optimizer(list(model.parameters()))
    params, averaged = [], []
    for t in range(1, steps + 1):
        opt.zero_grad()
        loss(dict(model.named_parameters()), torch).backward()
        opt.step()
        if t > start and (t - start) % every == 0:
            swa.update_parameters(model)
        params.append({k: v.detach().numpy().copy() for k, v in model.named_parameters()})
        averaged.append({k: v.detach().numpy().copy() for k, v in swa.module.named_parameters()})
    return params, averaged


POLYAK_CASES = [
    pytest.param(lambda: gradtx.sgd(0.02, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.9), 5, 1,
                 id="sgd-momentum-start5"),
    pytest.param(lambda: gradtx.adam(0.05), lambda ps: torch.optim.Adam(ps, lr=0.05), 0, 3, id="adam-every3"),
]


@pytest.mark.parametrize(("make_inner", "make_torch", "start", "every"), POLYAK_CASES)
def test_polyak_averaging_matches_torch_averaged_model(make_inner, make_torch, start, every, request):
    got, got_average = gradtx_run(gradtx.polyak_averaging(make_inner(), start, every))
    want, want_average = torch_swa_run(make_torch, start, every)
    case = request.node.callspec.id
    assert_trajectories_close(f"torch/polyak_averaging-{case}", got, want)
    first = start + every - 1  # index of the first averaged step; before it torch still holds its initial copy
    assert_trajectories_close(f"torch/polyak_averaging-{case}-average", got_average[first:], want_average[first:])
    for t in range(first):  # no iterate averaged yet: evaluate with the current params
        for k in got[t]:
            np.testing.assert_array_equal(got_average[t][k], got[t][k])


def test_polyak_state_counts_and_average_dtype():
    params = {"w": jnp.zeros(2, jnp.bfloat16)}
    tx = gradtx.polyak_averaging(gradtx.sgd(1.0), start=1, every=2)
    state = tx.init(params)
    assert state.average["w"].dtype == jnp.bfloat16
    for g in (1.0, 2.0, 3.0, 4.0, 5.0):
        updates, state = tx.update({"w": jnp.full(2, -g, jnp.bfloat16)}, state, params)
        params = gradtx.apply_updates(params, updates)
    # iterates 1, 3, 6, 10, 15; averaged after updates 3 and 5: (6 + 15) / 2
    assert int(state.count) == 5 and int(state.n_averaged) == 2
    np.testing.assert_array_equal(np.float32(gradtx.eval_params(state, params)["w"]), 10.5)
