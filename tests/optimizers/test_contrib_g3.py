"""optax.contrib's schedule-free, Prodigy, D-Adaptation, DoG, Mechanic, COCOB and MADGRAD: what the generic harness cannot cover."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, loss

import gradtx

STEPS = 25

G3_NAMES = [
    "schedule_free",
    "schedule_free_sgd",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "ScheduleFreeState",
    "prodigy",
    "ProdigyState",
    "dadapt_adamw",
    "DAdaptAdamWState",
    "dog",
    "DoGState",
    "dowg",
    "DoWGState",
    "mechanize",
    "MechanicState",
    "cocob",
    "COCOBState",
    "scale_by_cocob",
    "madgrad",
    "MadgradState",
    "scale_by_madgrad",
]


def _optax_trajectory(tx, params, steps=STEPS):
    with jax.numpy_dtype_promotion("standard"):
        return gradtx_trajectory(tx, params, steps)


def _run(tx, steps, *, standard=False):
    """Params and state after ``steps`` float64 steps of the reference problem."""
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard" if standard else "strict"):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()}
        state = tx.init(p)
        for _ in range(steps):
            grads = jax.grad(lambda q: loss(q, jnp))(p)
            updates, state = tx.update(grads, state, p)
            p = optax.apply_updates(p, updates)
    return p, state


@pytest.mark.parametrize("name", G3_NAMES)
def test_names_are_at_the_top_level_and_in_contrib(name):
    assert getattr(gradtx.contrib, name) is getattr(gradtx, name)
    assert name in gradtx.contrib.__all__
    assert hasattr(optax.contrib, name)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda m: m.schedule_free_sgd(0.3, b1=0.8), id="sgd"),
        pytest.param(lambda m: m.schedule_free_adamw(0.05, weight_decay=1e-2), id="adamw"),
    ],
)
def test_eval_params_match_optax(make):
    """``gradtx.eval_params`` and ``schedule_free_eval_params`` give Optax's averaged iterate x_t."""
    p_ref, s_ref = _run(make(optax.contrib), 10, standard=True)
    p, state = _run(make(gradtx), 10)
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        want = optax.contrib.schedule_free_eval_params(s_ref, p_ref)
        for got in (gradtx.eval_params(state, p), gradtx.schedule_free_eval_params(state, p)):
            for k in want:
                np.testing.assert_allclose(np.asarray(got[k]), np.asarray(want[k]), rtol=1e-9, atol=1e-13)
                assert not np.allclose(np.asarray(got[k]), np.asarray(p[k]))  # x_t is not y_t


def test_eval_params_find_schedule_free_inside_a_chain():
    tx = gradtx.chain(gradtx.clip_by_global_norm(10.0), gradtx.schedule_free_sgd(0.3))
    p, state = _run(tx, 5)
    with jax.enable_x64(True):
        inner = state[1]
        assert isinstance(inner, gradtx.ScheduleFreeState)
        want = inner.eval_params(p)
        for got in (gradtx.eval_params(state, p), gradtx.schedule_free_eval_params(state, p)):
            for k in want:
                np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(want[k]))


def test_schedule_free_eval_params_refuses_other_states():
    with pytest.raises(ValueError, match="ScheduleFreeState"):
        gradtx.schedule_free_eval_params(gradtx.adam(0.1).init(jnp.zeros(2)), jnp.zeros(2))


def test_schedule_free_eval_params_keep_bf16_params_and_none_leaves():
    tx = gradtx.schedule_free_sgd(0.1)
    params = {"w": jnp.ones(3, jnp.bfloat16), "n": None}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.ones(3, jnp.bfloat16), "n": None}, state, params)
    out = gradtx.eval_params(state, gradtx.apply_updates(params, updates))
    assert out["w"].dtype == jnp.bfloat16 and out["n"] is None


def _int64_count(schedule):
    """``schedule`` evaluated at an int64 count: Optax's own schedules compute in float32 on int32 counts."""
    return lambda count: schedule(jnp.asarray(count, jnp.int64))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("schedule_free_sgd", {"learning_rate": 0.3, "warmup_steps": 5, "weight_decay": 1e-2}),
        ("schedule_free_adamw", {"learning_rate": 0.05, "warmup_steps": 5, "weight_decay": 1e-2}),
    ],
)
def test_warmup_matches_optax_composition(name, kwargs):
    """``warmup_steps``: Optax's composition, with its warmup schedule evaluated in float64.

    (``optax.warmup_constant_schedule`` evaluated at an int32 count is float32 even under x64,
    so live Optax differs from itself-in-float64 at about 1e-6; see the next test.)
    """
    lr = kwargs["learning_rate"]
    schedule = _int64_count(optax.warmup_constant_schedule(0.0, lr, kwargs["warmup_steps"]))
    if name == "schedule_free_sgd":
        base = optax.chain(optax.add_decayed_weights(kwargs["weight_decay"]), optax.sgd(schedule))
    else:
        base = optax.chain(
            optax.scale_by_rms(0.999, 1e-8, eps_in_sqrt=False, bias_correction=True),
            optax.add_decayed_weights(kwargs["weight_decay"]),
            optax.scale_by_learning_rate(schedule),
        )
    params = initial_params()
    want = _optax_trajectory(optax.contrib.schedule_free(base, schedule), params)
    got = gradtx_trajectory(getattr(gradtx, name)(**kwargs), params, STEPS)
    assert_trajectories_close(f"optax/{name}-warmup", got, want)


def test_optax_warmup_schedule_is_float32_on_int32_counts():
    """Regression (an Optax defect, not copied): its linear warmup rounds the rate to float32 under x64."""
    with jax.enable_x64(True):
        theirs = optax.warmup_constant_schedule(0.0, 0.3, 5)(jnp.asarray(4, jnp.int32))
        ours = gradtx.warmup_constant_schedule(0.0, 0.3, 5)(jnp.asarray(4, jnp.int32))
        assert theirs.dtype == jnp.float32 and ours.dtype == jnp.float64
        assert float(ours) == 0.24 and abs(float(theirs) - 0.24) > 1e-9


def _optax_madgrad_float64(learning_rate, momentum=0.9, weight_decay=0.0, eps=1e-6):
    """``optax.contrib.madgrad`` with an int64 step count, so that its sqrt(count + 1) is float64."""
    inner = optax.contrib.scale_by_madgrad(learning_rate, momentum, eps)
    init = lambda p: inner.init(p)._replace(count=jnp.zeros([], jnp.int64))
    return optax.chain(
        optax.add_decayed_weights(weight_decay), optax.GradientTransformation(init, inner.update)
    )


@pytest.mark.parametrize(
    "args", [pytest.param((0.01,), id="defaults"), pytest.param((0.02, 0.5, 1e-3, 1e-5), id="positional")]
)
def test_madgrad_matches_optax_in_float64(args):
    params = initial_params()
    want = _optax_trajectory(_optax_madgrad_float64(*args), params)
    got = gradtx_trajectory(gradtx.madgrad(*args), params, STEPS)
    assert_trajectories_close(f"optax/madgrad-{len(args)}", got, want)


def test_madgrad_scale_matches_optax_in_float64():
    params = initial_params()
    inner = optax.contrib.scale_by_madgrad(0.01, 0.8)
    init = lambda p: inner.init(p)._replace(count=jnp.zeros([], jnp.int64))
    update = lambda u, s, p=None, **extra: inner.update(u, s, p)
    want = _optax_trajectory(optax.GradientTransformation(init, update), params)
    got = gradtx_trajectory(gradtx.scale_by_madgrad(0.01, 0.8), params, STEPS)
    assert_trajectories_close("optax/scale_by_madgrad", got, want)


def test_optax_madgrad_computes_its_weights_in_float32():
    """Regression (an Optax defect, not copied): ``sqrt(count + 1)`` of an int32 count is float32 under x64.

    gradtx computes lambda_t = (lr + eps) sqrt(t) in float64; stock Optax drifts from it by more than 1e-9.
    """
    params = initial_params()
    stock = _optax_trajectory(optax.contrib.madgrad(0.01), params)
    got = gradtx_trajectory(gradtx.madgrad(0.01), params, STEPS)
    worst = max(
        float(np.max(np.abs(g[k] - w[k]) / np.maximum(np.abs(w[k]), 1e-6)))
        for g, w in zip(got, stock)
        for k in w
    )
    assert 1e-9 < worst < 1e-4


def _schedule(count):
    return 1.0 / (1.0 + 0.1 * jnp.asarray(count, jnp.float64))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("prodigy", {"learning_rate": _schedule, "weight_decay": 1e-3}),
        ("prodigy", {"learning_rate": _schedule, "safeguard_warmup": True, "estim_lr_coef": 2.0}),
        ("dadapt_adamw", {"learning_rate": _schedule, "weight_decay": 1e-3}),
        ("dog", {"learning_rate": _schedule, "init_step": ("heuristic", 1e-3)}),
        ("dowg", {"learning_rate": _schedule, "weight_decay": 1e-3}),
        (
            "cocob",
            {"learning_rate": _schedule, "weight_decay": 1e-3, "mask": lambda p: {k: k == "w" for k in p}},
        ),
        ("madgrad", {"learning_rate": _schedule}),
    ],
)
def test_schedules_match_optax(name, kwargs):
    params = initial_params()
    reference = getattr(optax.contrib, name)(**kwargs)
    if name == "madgrad":
        reference = _optax_madgrad_float64(**kwargs)
    want = _optax_trajectory(reference, params)
    got = gradtx_trajectory(getattr(gradtx, name)(**kwargs), params, STEPS)
    assert_trajectories_close(f"optax/{name}-schedule", got, want)


def test_dog_first_step_is_the_given_learning_rate():
    tx = gradtx.dog(init_step=("learning_rate", 0.25))
    params = jnp.array([1.0, -1.0])
    updates, _ = tx.update(jnp.array([2.0, 4.0]), tx.init(params), params)
    np.testing.assert_allclose(updates, [-0.5, -1.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: gradtx.schedule_free_sgd(0.3),
        lambda: gradtx.prodigy(),
        lambda: gradtx.dadapt_adamw(),
        lambda: gradtx.dog(),
        lambda: gradtx.dowg(),
        lambda: gradtx.mechanize(gradtx.sgd(0.1)),
        lambda: gradtx.scale_by_cocob(),
        lambda: gradtx.scale_by_madgrad(0.1),
    ],
)
def test_update_needs_params(make):
    tx = make()
    params = jnp.ones(2)
    with pytest.raises(ValueError, match="needs the params"):
        tx.update(jnp.ones(2), tx.init(params))


def test_init_does_not_alias_the_params():
    params = jnp.ones(3)
    for tx in (
        gradtx.prodigy(),
        gradtx.dog(),
        gradtx.cocob(),
        gradtx.madgrad(0.1),
        gradtx.schedule_free_sgd(),
    ):
        for leaf in jax.tree.leaves(tx.init(params)):
            assert leaf is not params


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: gradtx.schedule_free_sgd(b1=0.0), "b1"),
        (lambda: gradtx.prodigy(betas=(1.0, 0.999)), "betas"),
        (lambda: gradtx.dadapt_adamw(estim_lr0=0.0), "estim_lr0"),
        (lambda: gradtx.dog(init_step=("nope", 1.0)), "init_step"),
        (lambda: gradtx.mechanize(gradtx.sgd(1.0), num_betas=0), "num_betas"),
        (lambda: gradtx.cocob(alpha=0.0), "alpha"),
        (lambda: gradtx.madgrad(0.1, momentum=1.0), "momentum"),
    ],
)
def test_bad_arguments_are_refused_at_construction(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
