"""reduce_on_plateau against torch's ReduceLROnPlateau, live in float64, on scripted metric sequences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from reference import assert_trajectories_close, initial_params, loss

import gradtx

LR, MOMENTUM = 0.02, 0.9

# (id, reduce_on_plateau kwargs, metric after each step; None = no scheduler step that time).
# torch gets min_lr = LR * min_scale and eps = LR * eps (its eps compares learning rates).
PLATEAU_CASES = [
    ("min-rel", dict(factor=0.5, patience=2, threshold=1e-2),
     [10.0, 9.0, 8.0, 7.95, 7.97, 7.93, 6.0, 5.99, 5.98, 5.97, 5.5, 5.49, 5.48, 5.47, 5.46, 5.45]),
    ("min-abs", dict(factor=0.3, patience=1, threshold=0.5, threshold_mode="abs"),
     [10.0, 9.0, 8.7, 8.4, 7.0, 6.8, 6.6, 6.4, 6.2, 5.0, 4.9, 4.8]),
    ("max-rel", dict(factor=0.5, patience=1, threshold=0.05, mode="max"),
     [0.1, 0.2, 0.3, 0.31, 0.32, 0.5, 0.51, 0.52, 0.53, 0.9, 0.91, 0.92]),
    ("max-abs", dict(factor=0.5, patience=0, threshold=0.1, threshold_mode="abs", mode="max"),
     [1.0, 2.0, 2.05, 2.5, 2.55, 2.6, 2.65, 3.0, 3.01, 3.02]),
    ("cooldown", dict(factor=0.5, patience=1, cooldown=3, threshold=1e-3),
     [5.0, 4.0] + [4.0] * 14),
    ("min-scale", dict(factor=0.5, patience=0, min_scale=0.2),
     [3.0] * 12),
    ("eps-compares-scales", dict(factor=0.5, patience=0, eps=0.2),
     [3.0] * 10),
    ("steps-without-metric", dict(factor=0.5, patience=1),
     [4.0, None, 4.0, None, None, 4.0, 3.0, None, 3.0, 3.0, None, 3.0, None]),
    ("nan-metric-is-bad", dict(factor=0.5, patience=1),
     [4.0, 3.0, float("nan"), float("nan"), 2.0, 2.0, float("nan"), 1.0]),
]


def torch_run(kwargs, metrics, params):
    """Params and lr after each torch SGD step, the scheduler stepped after it when there is a metric."""
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(params.items())}
    optimizer = torch.optim.SGD(list(tp.values()), lr=LR, momentum=MOMENTUM)
    kwargs = dict(kwargs)
    kwargs["min_lr"] = LR * kwargs.pop("min_scale", 0.0)
    kwargs["eps"] = LR * kwargs.pop("eps", 1e-8)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    trajectory, lrs = [], []
    for metric in metrics:
        optimizer.zero_grad()
        loss(tp, torch).backward()
        optimizer.step()
        if metric is not None:
            scheduler.step(metric)
        trajectory.append({k: v.detach().numpy().copy() for k, v in tp.items()})
        lrs.append(optimizer.param_groups[0]["lr"])
    return trajectory, np.array(lrs)


def gradtx_run(kwargs, metrics, params):
    """Params and LR * scale after each jitted step of chain(sgd, reduce_on_plateau)."""
    tx = gradtx.chain(gradtx.sgd(LR, momentum=MOMENTUM), gradtx.reduce_on_plateau(**kwargs))
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        state = tx.init(p)

        def step(p, state, **extra):
            grads = jax.grad(lambda q: loss(q, jnp))(p)
            updates, state = tx.update(grads, state, p, **extra)
            return gradtx.apply_updates(p, updates), state

        with_metric = jax.jit(lambda p, s, metric: step(p, s, value=metric))
        without_metric = jax.jit(step)
        trajectory, lrs = [], []
        for metric in metrics:
            p, state = without_metric(p, state) if metric is None else with_metric(p, state, metric)
            trajectory.append({k: np.asarray(v) for k, v in p.items()})
            lrs.append(LR * float(state[1].scale))
    return trajectory, np.array(lrs)


@pytest.mark.parametrize(("kwargs", "metrics"), [c[1:] for c in PLATEAU_CASES], ids=[c[0] for c in PLATEAU_CASES])
def test_sgd_with_plateau_matches_torch(kwargs, metrics, request):
    params = initial_params()
    want, want_lrs = torch_run(kwargs, metrics, params)
    got, got_lrs = gradtx_run(kwargs, metrics, params)
    assert len(np.unique(want_lrs)) >= 3, f"torch reduced {len(np.unique(want_lrs)) - 1} times; the case tests too little"
    np.testing.assert_allclose(got_lrs, want_lrs, rtol=1e-12)
    assert_trajectories_close(f"torch/plateau-{request.node.callspec.id}", got, want)


def test_min_scale_and_eps_cases_stop_reducing():
    """The two cases whose point is that reductions stop: check they do, at the expected scale."""
    _, lrs = gradtx_run(dict(factor=0.5, patience=0, min_scale=0.2), [3.0] * 12, initial_params())
    np.testing.assert_allclose(lrs[-4:] / LR, 0.2)
    _, lrs = gradtx_run(dict(factor=0.5, patience=0, eps=0.2), [3.0] * 10, initial_params())
    np.testing.assert_allclose(lrs[-4:] / LR, 0.25)  # 0.25 -> 0.125 would drop by less than eps


NEGATIVE_PLATEAU = [-10.0, -11.0, -12.0, -12.0, -12.0, -12.0, -12.0005, -12.0, -12.0, -12.0, -12.0, -12.0]


@pytest.mark.parametrize("mode", ["min", "max"])
def test_negative_metrics_are_reduced_like_torch_on_the_mirrored_metric(mode):
    """On negative metrics gradtx reduces; torch does not. Mirroring the metric (m -> -m, min <-> max)
    gives torch a positive metric it handles correctly, and gradtx must match that run."""
    metrics = NEGATIVE_PLATEAU if mode == "min" else [-m - 30.0 for m in NEGATIVE_PLATEAU]  # rises to -18
    mirrored_mode = "max" if mode == "min" else "min"
    kwargs = dict(factor=0.5, patience=2, threshold=1e-3)
    params = initial_params()

    got, got_lrs = gradtx_run(dict(kwargs, mode=mode), metrics, params)
    want, want_lrs = torch_run(dict(kwargs, mode=mirrored_mode), [-m for m in metrics], params)
    np.testing.assert_allclose(got_lrs, want_lrs, rtol=1e-12)
    assert_trajectories_close(f"torch/plateau-negative-{mode}", got, want)
    assert got_lrs[-1] < LR / 2, "gradtx must reduce on a plateau of negative metrics"

    _, torch_lrs = torch_run(dict(kwargs, mode=mode), metrics, params)
    assert np.all(torch_lrs == LR), "torch's ReduceLROnPlateau now reduces on negative metrics: update the docs"


def test_optax_never_reduces_on_a_negative_plateau():
    """The Optax bug the docstring mentions (regression-tested so the note stays true)."""
    tx = optax.contrib.reduce_on_plateau(factor=0.5, patience=2, rtol=1e-3)
    state = tx.init(jnp.zeros(1))
    with jax.numpy_dtype_promotion("standard"):
        for metric in NEGATIVE_PLATEAU:
            _, state = tx.update(jnp.ones(1), state, value=jnp.asarray(metric))
    assert float(state.scale) == 1.0
    ours = gradtx.reduce_on_plateau(factor=0.5, patience=2, threshold=1e-3)
    state = ours.init(jnp.zeros(1))
    for metric in NEGATIVE_PLATEAU:
        _, state = ours.update(jnp.ones(1), state, value=metric)
    assert float(state.scale) < 1.0


def test_calls_without_value_apply_the_scale_and_keep_the_state():
    tx = gradtx.reduce_on_plateau(factor=0.5, patience=0)
    state = tx.init(None)
    for metric in [2.0, 2.0]:
        _, state = tx.update(jnp.ones(2), state, value=metric)
    assert float(state.scale) == 0.5
    updates, same = tx.update(jnp.ones(2), state, grad=jnp.ones(2))
    assert same is state
    np.testing.assert_array_equal(updates, 0.5)


def test_state_shows_scale_and_survives_scan():
    tx = gradtx.chain(gradtx.sgd(0.1), gradtx.reduce_on_plateau(factor=0.5, patience=0))
    params = {"w": jnp.ones(3), "step": jnp.array(3, jnp.int32), "none": None}
    state = tx.init(params)
    assert isinstance(state[1], gradtx.ReduceOnPlateauState) and float(state[1].scale) == 1.0

    def step(carry, metric):
        p, s = carry
        grads = {"w": p["w"], "step": jnp.array(0, jnp.int32), "none": None}
        u, s = tx.update(grads, s, p, value=metric)
        return (gradtx.apply_updates(p, u), s), s[1].scale

    (params, state), scales = jax.lax.scan(step, (params, state), jnp.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(scales, [1.0, 0.5, 0.25])
    assert int(params["step"]) == 3 and params["none"] is None


def test_non_scalar_value_is_rejected():
    tx = gradtx.reduce_on_plateau()
    with pytest.raises(ValueError, match=r"^reduce_on_plateau: `value` must be a scalar metric"):
        tx.update(jnp.ones(2), tx.init(None), value=jnp.ones(2))
