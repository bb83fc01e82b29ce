"""Every Optax-named schedule against the live ``optax`` one with the same arguments, in float64.

Optax is evaluated on int64 counts: given int32 counts (what its states hold) most Optax
schedules compute in float32 even under ``jax_enable_x64``. gradtx is evaluated under ``jit``
on int32 counts and must give float64 values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from schedules.helpers import compare

import gradtx

STEPS = 60
WCD = dict(init_value=0.0, peak_value=0.1, warmup_steps=5, decay_steps=20, end_value=0.001)

CONSTANT = {"constant", "piecewise-constant-none"}  # cases whose values do not change with the count
# (id, name of the schedule in both libraries, positional args, keyword args)
CASES = [
    ("constant", "constant_schedule", (0.3,), {}),
    ("linear-decay-begin", "linear_schedule", (0.1, 0.01), dict(transition_steps=17, transition_begin=4)),
    ("linear-warmup", "linear_schedule", (0.0, 0.2, 9), {}),
    ("polynomial-0.5", "polynomial_schedule", (0.1, 0.0, 0.5, 23), {}),
    (
        "polynomial-3-begin",
        "polynomial_schedule",
        (0.2, 0.05),
        dict(power=3, transition_steps=15, transition_begin=10),
    ),
    ("exponential-smooth", "exponential_decay", (0.1, 7, 0.5), {}),
    (
        "exponential-staircase-floor",
        "exponential_decay",
        (0.1,),
        dict(transition_steps=4, decay_rate=0.7, transition_begin=5, staircase=True, end_value=0.02),
    ),
    ("exponential-growth-ceiling", "exponential_decay", (0.01, 3, 1.3), dict(end_value=0.05)),
    ("cosine-decay-alpha", "cosine_decay_schedule", (0.1, 25), dict(alpha=0.1)),
    ("cosine-decay-exponent", "cosine_decay_schedule", (0.1,), dict(decay_steps=18, exponent=2.5)),
    ("piecewise-constant", "piecewise_constant_schedule", (0.1, {12: 0.1, 5: 0.5, 40: 3.0}), {}),
    (
        "piecewise-constant-at-0",
        "piecewise_constant_schedule",
        (0.1,),
        dict(boundaries_and_scales={0: 2.0, 9: 0.25}),
    ),
    ("piecewise-constant-none", "piecewise_constant_schedule", (0.1,), {}),
    ("warmup-constant", "warmup_constant_schedule", (0.01, 0.1, 10), {}),
    ("warmup-constant-decreasing", "warmup_constant_schedule", (0.3,), dict(peak_value=0.1, warmup_steps=3)),
    ("warmup-cosine", "warmup_cosine_decay_schedule", (), WCD),
    (
        "warmup-cosine-no-warmup-exponent",
        "warmup_cosine_decay_schedule",
        (0.1, 0.1, 0, 30),
        dict(end_value=0.01, exponent=1.5),
    ),
    ("warmup-exponential", "warmup_exponential_decay_schedule", (0.0, 0.1, 8, 5, 0.8), {}),
    (
        "warmup-exponential-staircase",
        "warmup_exponential_decay_schedule",
        (0.02, 0.1, 4),
        dict(transition_steps=6, decay_rate=0.5, transition_begin=3, staircase=True, end_value=0.01),
    ),
    (
        "sgdr",
        "sgdr_schedule",
        ([WCD, dict(WCD, warmup_steps=0, decay_steps=15), dict(WCD, peak_value=0.05)],),
        {},
    ),
    (
        "sgdr-exponent",
        "sgdr_schedule",
        ([dict(init_value=0.1, peak_value=0.1, warmup_steps=0, decay_steps=11, exponent=2.0)] * 4,),
        {},
    ),
]


def _optax_values(name, args, kwargs):
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):  # optax relies on implicit promotion
        s = getattr(optax, name)(*args, **kwargs)
        return np.asarray([float(s(jnp.asarray(k, jnp.int64))) for k in range(STEPS + 1)])


def _gradtx_values(schedule):
    with jax.enable_x64(True):
        counts = jnp.arange(STEPS + 1, dtype=jnp.int32)
        values = jax.jit(schedule)(counts)
        assert values.dtype == jnp.float64 and values.shape == counts.shape
        return np.asarray(values)


@pytest.mark.parametrize(("case_id", "name", "args", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_matches_optax_schedule(case_id, name, args, kwargs):
    want = _optax_values(name, args, kwargs)
    if case_id not in CONSTANT:
        assert np.ptp(want) > 0, f"{case_id}: optax's values do not change; the comparison proves nothing."
    got = _gradtx_values(getattr(gradtx, name)(*args, **kwargs))
    compare(f"optax/{case_id}", got, want)


def test_join_schedules_matches_optax():
    def parts(lib):
        return [
            lib.linear_schedule(0.0, 0.1, 6),
            lib.cosine_decay_schedule(0.1, 20, alpha=0.05),
            lib.exponential_decay(0.02, 3, 0.8),
        ]

    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        s = optax.join_schedules(parts(optax), [6, 30])
        want = np.asarray([float(s(jnp.asarray(k, jnp.int64))) for k in range(STEPS + 1)])
    got = _gradtx_values(gradtx.join_schedules(parts(gradtx), [6, 30]))
    compare("optax/join_schedules", got, want)


@pytest.mark.parametrize("shape", ["linear", "cosine"])
def test_warmup_stable_decay_matches_its_optax_composition(shape):
    """WSD is a warm-up, a constant and a decay joined; Optax's pieces give the reference."""
    peak, end, init, warmup, stable, decay = 0.1, 0.002, 0.01, 7, 12, 15
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        if shape == "linear":
            cooldown = optax.linear_schedule(peak, end, decay)
        else:
            cooldown = optax.cosine_decay_schedule(peak, decay, alpha=end / peak)
        s = optax.join_schedules(
            [optax.linear_schedule(init, peak, warmup), optax.constant_schedule(peak), cooldown],
            [warmup, warmup + stable],
        )
        want = np.asarray([float(s(jnp.asarray(k, jnp.int64))) for k in range(STEPS + 1)])
    got = _gradtx_values(
        gradtx.warmup_stable_decay_schedule(
            peak, warmup, stable, decay, init_value=init, end_value=end, decay_shape=shape
        )
    )
    compare(f"optax/warmup_stable_decay-{shape}", got, want)
