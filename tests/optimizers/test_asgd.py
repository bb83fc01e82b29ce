"""ASGD's running average against torch's ``optimizer.state[p]["ax"]``, live in float64, at every step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import assert_trajectories_close, initial_params, loss, torch_in_float64

import gradtx

STEPS = 25

CONFIGS = [
    # id, gradtx.asgd kwargs, torch.optim.ASGD kwargs, objective sign, ExponentialLR factor (or None)
    ("t0", dict(learning_rate=0.05, t0=5.0), dict(lr=0.05, t0=5.0), 1.0, None),
    ("lambd-alpha-wd", dict(learning_rate=0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01),
     dict(lr=0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01), 1.0, None),
    ("maximize", dict(learning_rate=0.03, lambd=0.01, t0=10.0, maximize=True),
     dict(lr=0.03, lambd=0.01, t0=10.0, maximize=True), -1.0, None),
    ("schedule", dict(learning_rate=lambda c: 0.05 * 0.9 ** jnp.asarray(c, jnp.float64), lambd=0.1, t0=4.0),
     dict(lr=0.05, lambd=0.1, t0=4.0), 1.0, 0.9),
    # The torch door: the same arguments on both sides (a factory in place of asgd's kwargs).
    ("torch.ASGD", lambda: gradtx.torch.ASGD(lr=0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01),
     dict(lr=0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01), 1.0, None),
    ("torch.ASGD-positional-maximize", lambda: gradtx.torch.ASGD(0.03, 0.01, 0.75, 10.0, 0, None, True),
     dict(lr=0.03, lambd=0.01, t0=10.0, maximize=True), -1.0, None),
]


@torch_in_float64
def torch_averages(kwargs, sign, gamma):
    """torch's params and ``ax`` after each step (leaves in sorted-key order, as jax flattens)."""
    start = sorted(initial_params().items())
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in start}
    opt = torch.optim.ASGD(list(tp.values()), **kwargs)
    scheduler = None if gamma is None else torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    params, averages = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss(tp, torch, sign).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        params.append({k: v.detach().numpy().copy() for k, v in tp.items()})
        averages.append({k: opt.state[v]["ax"].numpy().copy() for k, v in tp.items()})
    return params, averages


def gradtx_averages(kwargs, sign):
    """gradtx's params, ``averaged_params`` and ``eval_params`` after each jitted step, in float64.

    ``kwargs`` are ``gradtx.asgd``'s, or a factory of the transformation.
    """
    tx = kwargs() if callable(kwargs) else gradtx.asgd(**kwargs)
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()}
        state = tx.init(p)

        @jax.jit
        def step(p, state):
            grads = jax.grad(lambda q: loss(q, jnp, sign))(p)
            updates, state = tx.update(grads, state, p)
            p = gradtx.apply_updates(p, updates)
            return p, state, gradtx.averaged_params(state), gradtx.eval_params(state, p)

        params, averages, evaluated = [], [], []
        for _ in range(STEPS):
            p, state, average, at_eval = step(p, state)
            params.append({k: np.asarray(v) for k, v in p.items()})
            averages.append({k: np.asarray(v) for k, v in average.items()})
            evaluated.append({k: np.asarray(v) for k, v in at_eval.items()})
    return params, averages, evaluated


@pytest.mark.parametrize(("name", "kwargs", "torch_kwargs", "sign", "gamma"), CONFIGS,
                         ids=[c[0] for c in CONFIGS])
def test_averaged_params_match_torch_ax_at_every_step(name, kwargs, torch_kwargs, sign, gamma):
    want_params, want_ax = torch_averages(torch_kwargs, sign, gamma)
    got_params, got_ax, got_eval = gradtx_averages(kwargs, sign)
    assert_trajectories_close(f"torch/asgd-params-{name}", got_params, want_params)
    assert_trajectories_close(f"torch/asgd-ax-{name}", got_ax, want_ax)
    for a, e in zip(got_ax, got_eval):
        for k in a:
            np.testing.assert_array_equal(a[k], e[k])
    # Averaging started inside the run: the average is no longer the last iterate.
    assert max(np.max(np.abs(want_ax[-1][k] - want_params[-1][k])) for k in want_ax[-1]) > 1e-4


def test_eval_params_keeps_the_params_of_groups_that_are_not_averaged():
    params = {"w": jnp.ones(2), "b": jnp.ones(2), "step": jnp.array(3, jnp.int32)}
    labels = {"w": "asgd", "b": "sgd", "step": "sgd"}
    tx = gradtx.partition({"asgd": gradtx.asgd(0.5, t0=0.0), "sgd": gradtx.sgd(0.5)}, labels)
    state = tx.init(params)
    history = []
    for _ in range(4):
        grads = {"w": params["w"], "b": params["b"], "step": jnp.array(0, jnp.int32)}
        updates, state = tx.update(grads, state, params)
        params = gradtx.apply_updates(params, updates)
        history.append(params["w"])
    evaluated = gradtx.eval_params(state, params)
    # t0=0: the average of the iterates from update 2 on.
    np.testing.assert_allclose(evaluated["w"], np.mean(history[1:], axis=0), rtol=1e-6)
    assert evaluated["b"] is params["b"] and evaluated["step"] is params["step"]


def test_averaged_params_needs_exactly_one_asgd_state():
    params = jnp.zeros(2)
    with pytest.raises(ValueError, match="averaged_params: the state holds 0 ASGD averages"):
        gradtx.averaged_params(gradtx.adam(1e-3).init(params))
    two = gradtx.chain(gradtx.asgd_averaging(), gradtx.asgd_averaging())
    with pytest.raises(ValueError, match="holds 2 ASGD averages"):
        gradtx.averaged_params(two.init(params))


def test_asgd_averaging_needs_the_params():
    tx = gradtx.asgd(0.1, lambd=0.0)
    with pytest.raises(ValueError, match=r"^asgd > asgd_averaging: the ASGD average needs the params"):
        tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
    tx = gradtx.asgd_averaging()
    with pytest.raises(ValueError, match=r"^asgd_averaging: the ASGD average needs the params"):
        tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
