"""with_param_ema + eval_params against torch's AveragedModel(get_ema_multi_avg_fn), live in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import assert_trajectories_close, initial_params, loss
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

import gradtx

STEPS = 20

EMA_CASES = [
    ("sgd-momentum", lambda: gradtx.sgd(0.02, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.9), 0.8),
    ("adamw", lambda: gradtx.adamw(0.05, weight_decay=0.1), lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1), 0.95),
]


def torch_ema_run(make_optimizer, decay, params):
    """Params and the EMA model's params after each step (update_parameters after optimizer.step)."""
    model = torch.nn.Module()
    for k, v in sorted(params.items()):
        model.register_parameter(k, torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)))
    optimizer = make_optimizer(list(model.parameters()))
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))
    trajectory, averages = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss(dict(model.named_parameters()), torch).backward()
        optimizer.step()
        averaged.update_parameters(model)
        trajectory.append({k: v.detach().numpy().copy() for k, v in model.named_parameters()})
        averages.append({k: v.detach().numpy().copy() for k, v in averaged.module.named_parameters()})
    return trajectory, averages


def gradtx_ema_run(tx, params):
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v) for k, v in params.items()}
        state = tx.init(p)

        @jax.jit
        def step(p, state):
            updates, state = tx.update(jax.grad(lambda q: loss(q, jnp))(p), state, p)
            p = gradtx.apply_updates(p, updates)
            return p, state, gradtx.eval_params(state, p)

        trajectory, averages = [], []
        for _ in range(STEPS):
            p, state, average = step(p, state)
            trajectory.append({k: np.asarray(v) for k, v in p.items()})
            averages.append({k: np.asarray(v) for k, v in average.items()})
    return trajectory, averages


@pytest.mark.parametrize(("make_tx", "make_optimizer", "decay"), [c[1:] for c in EMA_CASES], ids=[c[0] for c in EMA_CASES])
def test_ema_of_params_matches_torch_averaged_model(make_tx, make_optimizer, decay, request):
    params = initial_params()
    want, want_avg = torch_ema_run(make_optimizer, decay, params)
    got, got_avg = gradtx_ema_run(gradtx.with_param_ema(make_tx(), decay), params)
    assert_trajectories_close(f"torch/param-ema-{request.node.callspec.id}-params", got, want)
    assert_trajectories_close(f"torch/param-ema-{request.node.callspec.id}-average", got_avg, want_avg)
    # The average lags the params: it is not the params themselves.
    assert not np.allclose(got_avg[-1]["w"], got[-1]["w"])


def test_updates_are_the_inner_optimizers_bit_for_bit():
    inner = gradtx.adam(0.1)
    tx = gradtx.with_param_ema(inner, 0.9)
    params = {"w": jnp.linspace(-1.0, 1.0, 4)}
    s, t = inner.init(params), tx.init(params)
    for k in range(3):
        grads = {"w": jnp.cos(params["w"] * (k + 1))}
        u, s = inner.update(grads, s, params)
        v, t = tx.update(grads, t, params)
        np.testing.assert_array_equal(u["w"], v["w"])
        params = gradtx.apply_updates(params, u)


def test_first_update_copies_and_the_average_starts_at_the_initial_params():
    tx = gradtx.with_param_ema(gradtx.sgd(1.0), 0.99)
    params = jnp.array([1.0, 2.0])
    state = tx.init(params)
    np.testing.assert_array_equal(gradtx.eval_params(state, params), params)
    updates, state = tx.update(jnp.array([0.5, -0.5]), state, params)
    params = gradtx.apply_updates(params, updates)
    np.testing.assert_array_equal(gradtx.eval_params(state, params), params)  # copied, not 0.99 * old + 0.01 * new


def test_bf16_params_with_a_float32_average():
    tx = gradtx.with_param_ema(gradtx.sgd(0.01), 0.999, dtype=jnp.float32)
    params = {"w": jnp.ones(3, jnp.bfloat16), "steps": jnp.array(0, jnp.int32), "none": None}
    state = tx.init(params)
    assert state.ema["w"].dtype == jnp.float32 and state.ema["steps"] is None
    grads = {"w": jnp.ones(3, jnp.bfloat16), "steps": jnp.array(0, jnp.int32), "none": None}
    for _ in range(3):
        updates, state = jax.jit(tx.update)(grads, state, params)
        params = gradtx.apply_updates(params, updates)
    average = gradtx.eval_params(state, params)
    assert average["w"].dtype == jnp.bfloat16 and int(average["steps"]) == 0 and average["none"] is None
    assert float(state.ema["w"][0]) < 1.0  # the float32 average moved


def test_update_needs_params():
    tx = gradtx.with_param_ema(gradtx.sgd(0.1), 0.9)
    with pytest.raises(ValueError, match=r"^with_param_ema: the parameter average needs the params"):
        tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
