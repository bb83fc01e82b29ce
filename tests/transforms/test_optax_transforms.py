"""Issue 12 (G1): Optax's remaining transformations, utilities and schedules, against live Optax.

Trajectory parity of the chainable ones is in tests/cases.py (OPTAX_CASES, "issue 12 (G1)");
here: the functions that are not transformations (skip predicates, per-example clipping,
schedules, tree utilities), the state of the monitoring ones, MultiSteps' class API and
skipping, and the deliberate differences from Optax.
"""

from __future__ import annotations

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, loss

import gradtx

RTOL = 1e-9


def _x64_params():
    return {k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()}


def _close(got, want, rtol=RTOL):
    jax.tree.map(lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=1e-13), got, want)


# ------------------------------------------------------------------------------ schedules

SCHEDULES = [
    ("piecewise_interpolate_schedule", ("linear", 0.05, {5: 2.0, 15: 0.1})),
    ("piecewise_interpolate_schedule", ("cosine", 0.05, {5: 2.0, 15: 0.1, 30: 0.0})),
    ("piecewise_interpolate_schedule", ("linear", 0.3)),
    ("linear_onecycle_schedule", (20, 0.1)),
    ("linear_onecycle_schedule", (40, 0.5, 0.2, 0.6, 10.0, 100.0)),
    ("cosine_onecycle_schedule", (20, 0.1)),
    ("cosine_onecycle_schedule", (40, 0.5, 0.4, 10.0, 100.0)),
]


@pytest.mark.parametrize(("name", "args"), SCHEDULES, ids=lambda x: str(x))
def test_schedule_values_match_optax(name, args):
    with jax.enable_x64(True):
        counts = jnp.arange(-2, 50, dtype=jnp.int64)  # int64 counts: Optax computes in float64 then
        with jax.numpy_dtype_promotion("standard"):
            want = np.array([getattr(optax, name)(*args)(c) for c in counts])
        got = np.asarray(getattr(gradtx, name)(*args)(counts))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-15)


def test_schedules_validate_like_optax():
    with pytest.raises(ValueError, match="interpolate_type"):
        gradtx.piecewise_interpolate_schedule("step", 1.0)
    with pytest.raises(ValueError):
        gradtx.piecewise_interpolate_schedule("linear", 1.0, {3: -1.0})
    with pytest.raises(ValueError):
        gradtx.linear_onecycle_schedule(0, 1.0)
    with pytest.raises(ValueError):
        gradtx.cosine_onecycle_schedule(0, 1.0)


def test_piecewise_interpolate_is_exact_for_int32_counts_where_optax_rounds_to_float32():
    """Deliberate difference: Optax divides an int32 count by int32 bounds, which JAX does in
    float32, so with the int32 step counts of a state its values carry float32 rounding even
    under x64 (about 2e-8 relative); gradtx's are exact."""
    with jax.enable_x64(True):
        exact = 0.05 + (0.1 - 0.05) * 0.2
        ours = float(gradtx.piecewise_interpolate_schedule("linear", 0.05, {5: 2.0})(jnp.int32(1)))
        with jax.numpy_dtype_promotion("standard"):
            theirs = float(optax.piecewise_interpolate_schedule("linear", 0.05, {5: 2.0})(jnp.int32(1)))
    assert ours == pytest.approx(exact, rel=1e-15)
    assert abs(theirs - exact) / exact > 1e-9


# ---------------------------------------------------------------------- skip predicates

def _grads(poison=None):
    with jax.enable_x64(True):
        g = jax.grad(lambda q: loss(q, jnp))(_x64_params())
    if poison is not None:
        g = {**g, "w": g["w"].at[0, 0].set(poison)}
    return g


@pytest.mark.parametrize("poison", [None, np.nan, np.inf])
def test_skip_not_finite_matches_optax(poison):
    with jax.enable_x64(True):
        g = _grads(poison)
        got = gradtx.skip_not_finite(g, 0, None)
        with jax.numpy_dtype_promotion("standard"):
            want = optax.skip_not_finite(g, 0, None)
    assert bool(got[0]) == bool(want[0])
    assert got[1].keys() == want[1].keys()
    assert int(got[1]["num_not_finite"]) == int(want[1]["num_not_finite"])


@pytest.mark.parametrize("max_squared_norm", [10.0, 1e4])
def test_skip_large_updates_matches_optax(max_squared_norm):
    with jax.enable_x64(True):
        g = _grads()
        got = gradtx.skip_large_updates(g, 0, None, max_squared_norm)
        with jax.numpy_dtype_promotion("standard"):
            want = optax.skip_large_updates(g, 0, None, max_squared_norm)
    assert bool(got[0]) == bool(want[0])
    _close(got[1]["norm_squared"], want[1]["norm_squared"])


# --------------------------------------------------------------------------- MultiSteps

def _run(tx, steps, poison_at=()):
    """Jitted float64 steps; the gradient's w[0, 0] is NaN at the steps in ``poison_at``."""
    with jax.enable_x64(True):
        p = _x64_params()
        state = tx.init(p)
        grad = jax.jit(jax.grad(lambda q: loss(q, jnp)))
        update = jax.jit(tx.update)
        out = []
        for t in range(steps):
            g = grad(p)
            if t in poison_at:
                g = {**g, "w": g["w"].at[0, 0].set(jnp.nan)}
            u, state = update(g, state, p)
            p = jax.tree.map(lambda a, b: a + b, p, u)
            out.append({k: np.asarray(v) for k, v in p.items()})
    return out, state


def test_multi_steps_skip_not_finite_matches_optax():
    steps, bad = 12, (1, 2, 7)
    got, state = _run(gradtx.MultiSteps(gradtx.adam(0.05), 3, should_skip_update_fn=gradtx.skip_not_finite)
                      .gradient_transformation(), steps, bad)
    with jax.numpy_dtype_promotion("standard"):
        want, want_state = _run(optax.MultiSteps(optax.adam(0.05), 3, should_skip_update_fn=optax.skip_not_finite)
                                .gradient_transformation(), steps, bad)
    assert_trajectories_close("optax/MultiSteps-skip_not_finite", got, want)
    assert int(state.mini_step) == int(want_state.mini_step)
    assert int(state.gradient_step) == int(want_state.gradient_step)
    assert bool(state.skip_state["should_skip"]) == bool(want_state.skip_state["should_skip"])


def test_multi_steps_class_api():
    ms = gradtx.MultiSteps(gradtx.sgd(1.0), every_k_schedule=2)
    theirs = inspect.signature(optax.MultiSteps.__init__)
    assert list(inspect.signature(gradtx.MultiSteps.__init__).parameters) == list(theirs.parameters)
    assert ms.inner_opt is not None
    state = ms.init(jnp.zeros(1))
    assert isinstance(state, gradtx.MultiStepsState)
    assert state._fields == optax.MultiStepsState._fields
    assert not bool(ms.has_updated(state))
    _, state = ms.update(jnp.ones(1), state)
    assert not bool(ms.has_updated(state))
    _, state = ms.update(jnp.ones(1), state)
    assert bool(ms.has_updated(state))
    tx = ms.gradient_transformation()
    assert isinstance(tx, gradtx.GradientTransformation)


def test_multi_steps_state_is_scan_stable():
    ms = gradtx.MultiSteps(gradtx.adam(0.1), 3)
    params = jnp.ones(4)
    state = ms.init(params)
    final, _ = jax.lax.scan(lambda s, g: (ms.update(g, s, params)[1], None), state, jnp.ones((7, 4)))
    assert jax.tree.structure(final) == jax.tree.structure(state)
    assert int(final.gradient_step) == 2 and int(final.mini_step) == 1


# ---------------------------------------------------------------- per-example clipping

def _per_example_grads():
    rng = np.random.default_rng(3)
    return {"a": jnp.asarray(rng.normal(size=(6, 3, 2))), "b": jnp.asarray(rng.normal(size=(6, 4)) * 3)}


@pytest.mark.parametrize("clip", [0.5, 100.0])
def test_per_example_global_norm_clip_matches_optax(clip):
    with jax.enable_x64(True):
        g = _per_example_grads()
        got = gradtx.per_example_global_norm_clip(g, clip)
        with jax.numpy_dtype_promotion("standard"):
            want = optax.per_example_global_norm_clip(g, clip)
    _close(got[0], want[0])
    assert int(got[1]) == int(want[1])


@pytest.mark.parametrize("uniform", [True, False])
def test_per_example_layer_norm_clip_matches_optax(uniform):
    with jax.enable_x64(True):
        g = _per_example_grads()
        got = gradtx.per_example_layer_norm_clip(g, 2.0, uniform)
        with jax.numpy_dtype_promotion("standard"):
            want = optax.per_example_layer_norm_clip(g, 2.0, uniform)
    _close(got[0], want[0])
    assert jax.tree.map(int, got[1]) == jax.tree.map(int, want[1])


def test_per_example_clip_needs_a_batch_axis():
    with pytest.raises(ValueError, match="batch"):
        gradtx.per_example_global_norm_clip({"a": jnp.ones((2, 3)), "b": jnp.ones((3,))}, 1.0)
    with pytest.raises(ValueError, match="batch"):
        gradtx.per_example_layer_norm_clip({"a": jnp.ones((2, 3)), "b": jnp.ones((3,))}, 1.0)


# ---------------------------------------------------------------------------- monitoring

def _final_state(tx, steps=5):
    with jax.enable_x64(True):
        p = _x64_params()
        state = tx.init(p)
        for _ in range(steps):
            g = jax.grad(lambda q: loss(q, jnp))(p)
            u, state = tx.update(g, state, p)
            p = jax.tree.map(lambda a, b: a - 0.05 * b, p, u)
    return state


def test_snapshot_monitor_measure_with_ema_states_match_optax():
    def build(lib):
        return lib.chain(
            lib.snapshot("w", lambda u: u["w"]),
            lib.monitor({"sum": lambda u: jnp.sum(u["v"]), "ema": lib.measure_with_ema(lambda u: u["b"], 0.8)}),
            lib.monitor({"m": lib.measure_with_ema(lambda u: jnp.max(u["w"]), 0.5, False, jnp.float32)}),
        )

    ours = _final_state(build(gradtx))
    with jax.numpy_dtype_promotion("standard"):
        theirs = _final_state(build(optax))
    _close(ours[0].measurement, theirs[0].measurement)
    _close(ours[1].measurements, theirs[1].measurements)
    _close(ours[2].measurements, theirs[2].measurements)
    _close(jax.tree.leaves(ours[2].measure_states), jax.tree.leaves(theirs[2].measure_states))


def test_snapshot_init_measures_params_as_optax():
    p = {"w": jnp.arange(3.0)}
    ours = gradtx.snapshot("m", lambda u: u["w"] * 2).init(p)
    with jax.numpy_dtype_promotion("standard"):
        theirs = optax.snapshot("m", lambda u: u["w"] * 2).init(p)
    _close(ours.measurement, theirs.measurement)


def test_monitor_init_state_has_the_update_structure_unlike_optax():
    """Deliberate difference: Optax's monitor starts with ``measurements={}`` and fills it on the
    first update, so its state changes structure (no lax.scan); gradtx starts with zeros."""
    measures = {"max": lambda u: jnp.max(u), "ema": None}
    p = jnp.ones(3)
    ours = gradtx.monitor({**measures, "ema": gradtx.ema(0.5)})
    theirs = optax.monitor({**measures, "ema": optax.ema(0.5)})
    assert optax.tree.size(theirs.init(p).measurements) == 0
    state = ours.init(p)
    assert jax.tree.structure(state) == jax.tree.structure(ours.update(p, state, p)[1])
    final, _ = jax.lax.scan(lambda s, g: (ours.update(g, s, p)[1], None), state, jnp.ones((4, 3)))
    assert float(final.measurements["max"]) == 1.0
    with pytest.raises(TypeError), jax.numpy_dtype_promotion("standard"):
        jax.lax.scan(lambda s, g: (theirs.update(g, s, p)[1], None), theirs.init(p), jnp.ones((4, 3)))


# ----------------------------------------------------------------------- tree utilities

def test_tree_map_params_matches_optax():
    p = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    ours_tx, theirs_tx = gradtx.adam(0.1), optax.adam(0.1)
    ours = gradtx.tree_map_params(ours_tx, lambda x, y: x + 2 * y, ours_tx.init(p), p,
                                  transform_non_params=lambda x: x + 7)
    with jax.numpy_dtype_promotion("standard"):
        theirs = optax.tree_utils.tree_map_params(theirs_tx, lambda x, y: x + 2 * y, theirs_tx.init(p), p,
                                                  transform_non_params=lambda x: x + 7)
    _close(ours[0].mu, theirs[0].mu)
    _close(ours[0].nu, theirs[0].nu)
    assert int(ours[0].count) == int(theirs[0].count) == 7


@pytest.mark.parametrize("step_size", [0.0, 0.3, 1.0])
def test_incremental_update_matches_optax(step_size):
    with jax.enable_x64(True):
        new, old = _x64_params(), jax.tree.map(lambda x: -x * 0.5, _x64_params())
        with jax.numpy_dtype_promotion("standard"):
            want = optax.incremental_update(new, old, step_size)
        _close(gradtx.incremental_update(new, old, step_size), want)


@pytest.mark.parametrize("steps", [0, 3, 4])
def test_periodic_update_matches_optax(steps):
    new, old = {"a": jnp.ones(2)}, {"a": jnp.zeros(2)}
    _close(gradtx.periodic_update(new, old, jnp.int32(steps), 2), optax.periodic_update(new, old, jnp.int32(steps), 2))


@pytest.mark.parametrize("scale", [0.0, 1.0, 0.25, -3.0])
def test_scale_gradient_matches_optax(scale):
    def f(lib, x):
        return jnp.sum(jnp.sin(lib.scale_gradient({"x": x}, scale)["x"]) ** 2)

    x = jnp.linspace(-1.0, 1.0, 5)
    with jax.numpy_dtype_promotion("standard"):
        want, want_value = jax.grad(lambda x: f(optax, x))(x), float(f(optax, x))
    _close(jax.grad(lambda x: f(gradtx, x))(x), want)
    assert float(f(gradtx, x)) == want_value


# -------------------------------------------------------------- small wrappers and aliases

def test_inject_stateful_hyperparams_matches_optax():
    params = initial_params()
    got = gradtx_trajectory(gradtx.inject_stateful_hyperparams(gradtx.adam)(learning_rate=0.05, b1=0.8), params, 10)
    with warnings.catch_warnings(), jax.numpy_dtype_promotion("standard"):
        warnings.simplefilter("ignore", DeprecationWarning)
        want = gradtx_trajectory(optax.inject_stateful_hyperparams(optax.adam)(learning_rate=0.05, b1=0.8), params, 10)
    assert_trajectories_close("optax/inject_stateful_hyperparams-adam", got, want)


def test_with_extra_args_support_wraps_a_plain_optax_transformation():
    tx = gradtx.with_extra_args_support(optax.scale(2.0))
    assert tx.update(jnp.ones(1), tx.init(jnp.ones(1)), None, value=1.0)[0] == 2.0
    native = gradtx.scale(2.0)
    assert gradtx.with_extra_args_support(native) is native


def test_init_empty_state_and_state_aliases():
    assert gradtx.init_empty_state({"w": jnp.ones(2)}) == gradtx.EmptyState()
    assert gradtx.keep_params_nonnegative().init(jnp.ones(2)) == gradtx.NonNegativeParamsState()
    assert gradtx.MultiTransformState._fields == optax.MultiTransformState._fields
    assert gradtx.ApplyEvery._fields == optax.ApplyEvery._fields
    assert gradtx.ConditionallyMaskState._fields == optax.ConditionallyMaskState._fields
    assert gradtx.ConditionallyTransformState._fields == optax.ConditionallyTransformState._fields
    assert gradtx.SnapshotState._fields == optax.SnapshotState._fields
    assert gradtx.MonitorState._fields == optax.MonitorState._fields


def test_keep_params_nonnegative_and_param_block_norm_need_params():
    for tx in (gradtx.keep_params_nonnegative(), gradtx.scale_by_param_block_norm()):
        with pytest.raises(ValueError, match="params"):
            tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_conditionally_mask_requires_a_scalar_condition():
    tx = gradtx.conditionally_mask(gradtx.sgd(0.1), lambda step: jnp.ones(2, bool))
    with pytest.raises(ValueError, match="scalar"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


@pytest.mark.parametrize("frozen", [{"w": True, "b": False, "v": True}, True])
def test_selective_transform_keeps_frozen_params(frozen):
    tx = gradtx.selective_transform(gradtx.adam(0.1), freeze_mask=frozen)
    got = gradtx_trajectory(tx, initial_params(), 3) if frozen is not True else None
    if got is not None:
        np.testing.assert_array_equal(got[-1]["w"], initial_params()["w"])
    else:
        p = {k: jnp.asarray(v) for k, v in initial_params().items()}
        u, _ = tx.update(p, tx.init(p), p)
        assert all(float(jnp.max(jnp.abs(x))) == 0.0 for x in jax.tree.leaves(u))
