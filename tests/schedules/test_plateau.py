"""The plateau rule through both doors, live in float64 on scripted metric sequences.

* Optax door: ``gradtx.reduce_on_plateau(...)`` against ``optax.contrib.reduce_on_plateau(...)``
  with the same arguments (scale and updates after each call).
* torch door: ``gradtx.torch.lr_scheduler.ReduceLROnPlateau(gradtx.torch.SGD(...), **kw)``
  against ``torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD(...), **kw)``
  (learning rate and parameter trajectory).
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from reference import assert_trajectories_close, initial_params, loss

import gradtx
import gradtx.torch
from gradtx.torch import lr_scheduler as gsched

LR, MOMENTUM = 0.02, 0.9

# ------------------------------------------------------------------------------ Optax door

# (id, kwargs for both, metric after each update; None = an update without `value`)
OPTAX_CASES = [
    ("defaults", {}, [5.0, 4.0] + [4.0] * 24),
    ("rtol", dict(factor=0.5, patience=2, rtol=1e-2),
     [10.0, 9.0, 8.0, 7.95, 7.97, 7.93, 6.0, 5.99, 5.98, 5.97, 5.5, 5.49, 5.48, 5.47, 5.46, 5.45]),
    ("atol", dict(factor=0.3, patience=1, rtol=0.0, atol=0.5),
     [10.0, 9.0, 8.7, 8.4, 7.0, 6.8, 6.6, 6.4, 6.2, 5.0, 4.9, 4.8]),
    ("rtol-and-atol", dict(factor=0.5, patience=1, rtol=0.01, atol=0.05),
     [10.0, 9.0, 8.85, 8.8, 8.7, 8.0, 7.95, 7.9, 7.0, 6.99]),
    ("cooldown", dict(factor=0.5, patience=1, cooldown=3, rtol=1e-3), [5.0, 4.0] + [4.0] * 14),
    ("min_scale", dict(factor=0.5, patience=1, min_scale=0.2), [3.0] * 12),
    ("accumulation", dict(factor=0.5, patience=1, accumulation_size=3),
     [3.0, 2.0, 1.0, 2.0, 2.0, 2.0, 1.5, 2.5, 2.0, 2.0, 1.9, 2.1, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0]),
    ("positional", (0.5, 2, 1e-3, 0.01, 1, 2, 0.05), [4.0, 3.0, 3.0, 3.0, 3.0, 3.0] + [3.0] * 14),
    ("nan-metric-is-bad", dict(factor=0.5, patience=1),
     [4.0, 3.0, float("nan"), float("nan"), 2.0, 2.0, float("nan"), 1.0]),
    ("calls-without-value", dict(factor=0.5, patience=1), [4.0, None, 4.0, None, 4.0, 3.0, None, 3.0, 3.0]),
]


def _call(kwargs, lib):
    return lib(*kwargs) if isinstance(kwargs, tuple) else lib(**kwargs)


def optax_run(kwargs, metrics):
    """Optax's scale and update after each call; a call without metric is skipped (Optax requires one)."""
    tx = _call(kwargs, optax.contrib.reduce_on_plateau)
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        state = tx.init(jnp.zeros(2))
        scales, updates = [], []
        for metric in metrics:
            if metric is not None:
                u, state = tx.update(jnp.ones(2), state, value=jnp.asarray(metric))
            else:
                u = state.scale * jnp.ones(2)
            scales.append(float(state.scale))
            updates.append(np.asarray(u))
    return np.asarray(scales), np.asarray(updates)


def gradtx_run(kwargs, metrics):
    tx = _call(kwargs, gradtx.reduce_on_plateau)
    with jax.enable_x64(True):
        state = tx.init(jnp.zeros(2))
        with_value = jax.jit(lambda s, m: tx.update(jnp.ones(2), s, value=m))
        without_value = jax.jit(lambda s: tx.update(jnp.ones(2), s))
        scales, updates = [], []
        for metric in metrics:
            u, state = without_value(state) if metric is None else with_value(state, metric)
            scales.append(float(state.scale))
            updates.append(np.asarray(u))
    return np.asarray(scales), np.asarray(updates)


@pytest.mark.parametrize(("kwargs", "metrics"), [c[1:] for c in OPTAX_CASES], ids=[c[0] for c in OPTAX_CASES])
def test_reduce_on_plateau_matches_optax(kwargs, metrics):
    want_scales, want_updates = optax_run(kwargs, metrics)
    got_scales, got_updates = gradtx_run(kwargs, metrics)
    assert len(np.unique(want_scales)) >= 2, "optax never reduced; the case tests too little"
    np.testing.assert_allclose(got_scales, want_scales, rtol=1e-12)
    np.testing.assert_allclose(got_updates, want_updates, rtol=1e-12)


def test_signature_is_optaxs():
    want = inspect.signature(optax.contrib.reduce_on_plateau).parameters
    got = inspect.signature(gradtx.reduce_on_plateau).parameters
    assert [(p.name, p.kind, p.default) for p in got.values()] == [
        (p.name, p.kind, p.default) for p in want.values()
    ]


def test_state_has_optaxs_fields():
    assert set(optax.contrib.ReduceLROnPlateauState._fields) <= set(gradtx.ReduceOnPlateauState._fields)


NEGATIVE_PLATEAU = [-10.0, -11.0, -12.0, -12.0, -12.0, -12.0, -12.0005, -12.0, -12.0, -12.0, -12.0, -12.0]


def test_optax_never_reduces_on_a_negative_plateau_gradtx_does():
    """Deliberate difference: Optax's bar (1 - rtol) * best lies above a negative best."""
    kwargs = dict(factor=0.5, patience=2, rtol=1e-3)
    optax_scales, _ = optax_run(kwargs, NEGATIVE_PLATEAU)
    assert np.all(optax_scales == 1.0), "Optax now reduces on negative metrics: update docs/from_optax.md"
    scales, _ = gradtx_run(kwargs, NEGATIVE_PLATEAU)
    # Shifting the metrics by +20 makes them positive, where gradtx matches Optax.
    shifted, _ = optax_run(kwargs, [m + 20.0 for m in NEGATIVE_PLATEAU])
    np.testing.assert_array_equal(scales, shifted)
    assert scales[-1] < 1.0


def test_optax_patience_0_reduces_on_improvements_gradtx_on_bad_metrics():
    """Deliberate difference: Optax's ``count == patience`` with patience 0 fires on improvements."""
    metrics = [5.0, 4.0, 3.0, 3.0, 3.0]
    optax_scales, _ = optax_run(dict(factor=0.5, patience=0), metrics)
    np.testing.assert_allclose(optax_scales, [0.5, 0.25, 0.125, 0.125, 0.125])
    scales, _ = gradtx_run(dict(factor=0.5, patience=0), metrics)
    np.testing.assert_allclose(scales, [1.0, 1.0, 1.0, 0.5, 0.25])
    np.testing.assert_array_equal(scales, gradtx_run(dict(factor=0.5, patience=1), metrics)[0])


@pytest.mark.parametrize(
    ("kwargs", "match", "optax_raises"),
    [
        (dict(factor=1.0), r"`factor` must be in \(0, 1\)", True),
        (dict(factor=0.0), r"`factor` must be in \(0, 1\)", True),
        (dict(rtol=0.0, atol=0.0), r"at least one of `rtol` and `atol` must be > 0", True),
        (dict(rtol=1.5), r"`rtol` must be in \[0, 1\]", True),
        (dict(atol=-1.0), r"`atol` must be >= 0", True),
        (dict(accumulation_size=0), r"`accumulation_size` must be an integer >= 1", False),  # Optax: never judges
    ],
)
def test_bad_arguments_raise(kwargs, match, optax_raises):
    if optax_raises:
        with pytest.raises(ValueError):
            optax.contrib.reduce_on_plateau(**kwargs)
    with pytest.raises(ValueError, match="^reduce_on_plateau: " + match):
        gradtx.reduce_on_plateau(**kwargs)


def test_calls_without_value_apply_the_scale_and_keep_the_state():
    tx = gradtx.reduce_on_plateau(factor=0.5, patience=1)
    state = tx.init(None)
    for metric in [2.0, 2.0]:
        _, state = tx.update(jnp.ones(2), state, value=metric)
    assert float(state.scale) == 0.5
    updates, same = tx.update(jnp.ones(2), state, grad=jnp.ones(2))
    assert same is state
    np.testing.assert_array_equal(updates, 0.5)


def test_state_shows_scale_and_survives_scan():
    tx = gradtx.chain(gradtx.sgd(0.1), gradtx.reduce_on_plateau(factor=0.5, patience=1))
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


# ------------------------------------------------------------------------------ torch door

# (id, the same ReduceLROnPlateau kwargs for both, metric after each step; None = no scheduler step).
TORCH_CASES = [
    ("defaults", {}, [5.0, 4.0] + [4.0] * 24),
    ("min-rel", dict(factor=0.5, patience=2, threshold=1e-2),
     [10.0, 9.0, 8.0, 7.95, 7.97, 7.93, 6.0, 5.99, 5.98, 5.97, 5.5, 5.49, 5.48, 5.47, 5.46, 5.45]),
    ("min-abs", dict(factor=0.3, patience=1, threshold=0.5, threshold_mode="abs"),
     [10.0, 9.0, 8.7, 8.4, 7.0, 6.8, 6.6, 6.4, 6.2, 5.0, 4.9, 4.8]),
    ("max-rel", dict(mode="max", factor=0.5, patience=1, threshold=0.05),
     [0.1, 0.2, 0.3, 0.31, 0.32, 0.5, 0.51, 0.52, 0.53, 0.9, 0.91, 0.92]),
    ("max-abs", dict(mode="max", factor=0.5, patience=0, threshold=0.1, threshold_mode="abs"),
     [1.0, 2.0, 2.05, 2.5, 2.55, 2.6, 2.65, 3.0, 3.01, 3.02]),
    ("cooldown", dict(factor=0.5, patience=1, cooldown=3, threshold=1e-3), [5.0, 4.0] + [4.0] * 14),
    ("min_lr", dict(factor=0.5, patience=0, min_lr=0.2 * LR), [3.0] * 12),
    ("eps", dict(factor=0.5, patience=0, eps=0.2 * LR), [3.0] * 10),
    ("steps-without-metric", dict(factor=0.5, patience=1),
     [4.0, None, 4.0, None, None, 4.0, 3.0, None, 3.0, 3.0, None, 3.0, None]),
    ("nan-metric-is-bad", dict(factor=0.5, patience=1),
     [4.0, 3.0, float("nan"), float("nan"), 2.0, 2.0, float("nan"), 1.0]),
]


def torch_run(kwargs, metrics, params):
    """Params and lr after each torch SGD step, the scheduler stepped after it when there is a metric."""
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(params.items())}
    optimizer = torch.optim.SGD(list(tp.values()), lr=LR, momentum=MOMENTUM)
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


def torch_door_run(kwargs, metrics, params):
    """Params and LR * scale after each jitted step of gradtx.torch's SGD + ReduceLROnPlateau."""
    tx = gsched.ReduceLROnPlateau(gradtx.torch.SGD(lr=LR, momentum=MOMENTUM), **kwargs)
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


@pytest.mark.parametrize(("kwargs", "metrics"), [c[1:] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES])
def test_reduce_lr_on_plateau_matches_torch(kwargs, metrics, request):
    params = initial_params()
    want, want_lrs = torch_run(kwargs, metrics, params)
    got, got_lrs = torch_door_run(kwargs, metrics, params)
    assert len(np.unique(want_lrs)) >= 2, "torch never reduced; the case tests too little"
    np.testing.assert_allclose(got_lrs, want_lrs, rtol=1e-12)
    assert_trajectories_close(f"torch/plateau-{request.node.callspec.id}", got, want)


def test_min_lr_and_eps_cases_stop_reducing():
    """The two cases whose point is that reductions stop: check they do, at the expected rate."""
    _, lrs = torch_door_run(dict(factor=0.5, patience=0, min_lr=0.2 * LR), [3.0] * 12, initial_params())
    np.testing.assert_allclose(lrs[-4:] / LR, 0.2)
    _, lrs = torch_door_run(dict(factor=0.5, patience=0, eps=0.2 * LR), [3.0] * 10, initial_params())
    np.testing.assert_allclose(lrs[-4:] / LR, 0.25)  # 0.25 -> 0.125 would drop the rate by less than eps


@pytest.mark.parametrize("mode", ["min", "max"])
def test_negative_metrics_are_reduced_like_torch_on_the_mirrored_metric(mode):
    """On negative metrics gradtx reduces; torch does not. Mirroring the metric (m -> -m, min <-> max)
    gives torch a positive metric it handles correctly, and gradtx must match that run."""
    metrics = NEGATIVE_PLATEAU if mode == "min" else [-m - 30.0 for m in NEGATIVE_PLATEAU]  # rises to -18
    mirrored_mode = "max" if mode == "min" else "min"
    kwargs = dict(factor=0.5, patience=2, threshold=1e-3)
    params = initial_params()

    got, got_lrs = torch_door_run(dict(kwargs, mode=mode), metrics, params)
    want, want_lrs = torch_run(dict(kwargs, mode=mirrored_mode), [-m for m in metrics], params)
    np.testing.assert_allclose(got_lrs, want_lrs, rtol=1e-12)
    assert_trajectories_close(f"torch/plateau-negative-{mode}", got, want)
    assert got_lrs[-1] < LR / 2, "gradtx must reduce on a plateau of negative metrics"

    _, torch_lrs = torch_run(dict(kwargs, mode=mode), metrics, params)
    assert np.all(torch_lrs == LR), "torch's ReduceLROnPlateau now reduces on negative metrics: update the docs"


def test_torch_door_is_a_chain_whose_state_shows_the_scale():
    tx = gsched.ReduceLROnPlateau(gradtx.torch.SGD(lr=0.1), factor=0.5, patience=0)
    assert repr(tx).startswith("ReduceLROnPlateau(")
    state = tx.init(jnp.zeros(2))
    assert isinstance(state[1], gradtx.ReduceOnPlateauState)
    with pytest.raises(TypeError, match=r"^ReduceLROnPlateau: `min_lr` must be a single number"):
        gsched.ReduceLROnPlateau(gradtx.torch.SGD(lr=0.1), min_lr=[0.0, 0.1])
    with pytest.raises(TypeError, match=r"^ReduceLROnPlateau: `optimizer` must be a gradtx.torch optimizer"):
        gsched.ReduceLROnPlateau(gradtx.sgd(0.1))
