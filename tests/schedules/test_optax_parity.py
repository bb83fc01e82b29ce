"""Every Optax-named schedule against the live ``optax`` one with the same arguments, in float64.

Optax is evaluated on int64 counts: given int32 counts (what its states hold) most Optax
schedules compute in float32 even under ``jax_enable_x64``. gradtx is evaluated under ``jit``
on int32 counts and must give float64 values.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from schedules.helpers import compare

import gradtx

STEPS = 60
WCD = dict(init_value=0.0, peak_value=0.1, warmup_steps=5, decay_steps=20, end_value=0.001)

CONSTANT = {  # cases whose values do not change with the count
    "constant",
    "piecewise-constant-none",
    "edge-polynomial-transition-0",
    "edge-polynomial-transition-negative",
    "edge-linear-transition-0",
    "edge-exponential-rate-0",
    "edge-exponential-transition-0",
    "edge-exponential-transition-negative-staircase",
    "edge-exponential-rate-1-end-below",
}
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


# Optax's edge cases: its fall-backs to a constant schedule (logged at INFO by Optax), zero
# peaks, negative boundaries, degenerate phases.
EDGE_CASES = [
    ("edge-polynomial-transition-0", "polynomial_schedule", (10.0, 20.0, 1, 0), {}),
    ("edge-polynomial-transition-negative", "polynomial_schedule", (10.0, 20.0, 2.0, -1), dict(transition_begin=3)),
    ("edge-linear-transition-0", "linear_schedule", (0.0, 1.0, 0), {}),
    ("edge-exponential-rate-0", "exponential_decay", (1.0, 2, 0.0), dict(staircase=True, end_value=0.5)),
    ("edge-exponential-transition-0", "exponential_decay", (1.0, 0, 0.5), {}),
    ("edge-exponential-transition-negative-staircase", "exponential_decay", (0.3, -2, 2.0), dict(staircase=True)),
    ("edge-exponential-rate-1-end-below", "exponential_decay", (1.0, 3, 1.0), dict(end_value=0.4)),
    ("edge-exponential-growth-staircase", "exponential_decay", (0.01, 4, 2.0),
     dict(transition_begin=3, staircase=True, end_value=0.3)),
    ("edge-exponential-rate-1-end-above", "exponential_decay", (1.0, 3, 1.0), dict(end_value=4.0)),
    ("edge-warmup-cosine-zero-peak", "warmup_cosine_decay_schedule", (0.2, 0.0, 10, 30),
     dict(end_value=-3.0, exponent=2.0)),
    ("edge-warmup-cosine-zero-peak-default-end", "warmup_cosine_decay_schedule", (0.2, 0.0, 10, 30), {}),
    ("edge-warmup-cosine-negative-peak", "warmup_cosine_decay_schedule", (0.0, -0.1, 5, 25),
     dict(end_value=-0.01)),
    ("edge-warmup-cosine-end-above-peak", "warmup_cosine_decay_schedule", (0.0, 0.1, 5, 25),
     dict(end_value=0.3, exponent=0.5)),
    ("edge-warmup-cosine-decay-1", "warmup_cosine_decay_schedule", (0.0, 0.1, 5, 6), {}),
    ("edge-warmup-exponential-no-warmup", "warmup_exponential_decay_schedule", (0.0, 0.1, 0, 3, 0.5), {}),
    ("edge-cosine-decay-1-step", "cosine_decay_schedule", (0.1, 1), {}),
    ("edge-cosine-decay-alpha-above-1", "cosine_decay_schedule", (0.1, 10), dict(alpha=2.0, exponent=0.3)),
    ("edge-cosine-decay-negative-alpha", "cosine_decay_schedule", (0.1, 10), dict(alpha=-0.5)),
    ("edge-cosine-decay-exponent-0", "cosine_decay_schedule", (0.1, 10), dict(alpha=0.2, exponent=0.0)),
    ("edge-piecewise-negative-boundary", "piecewise_constant_schedule", (0.1, {-3: 0.5, 4: 2.0}), {}),
    ("edge-piecewise-zero-scale", "piecewise_constant_schedule", (0.1, {5: 0.0, 9: 3.0}), {}),
    ("edge-piecewise-empty-dict", "piecewise_constant_schedule", (0.1, {}), {}),
    ("edge-sgdr-one-cycle", "sgdr_schedule", ([dict(init_value=0.0, peak_value=0.1, warmup_steps=3,
                                                    decay_steps=50)],), {}),
]
CONSTANT |= {"edge-piecewise-empty-dict", "edge-exponential-rate-1-end-above", "edge-cosine-decay-exponent-0"}
CASES = CASES + EDGE_CASES


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


# ------------------------------------------------------------------ signatures, random arguments

OPTAX_SCHEDULES = sorted({c[1] for c in CASES} | {"join_schedules"})


@pytest.mark.parametrize("name", OPTAX_SCHEDULES)
def test_signature_is_optaxs(name):
    """Same names, order, kinds and defaults as Optax (gradtx may add trailing keyword-only extras)."""
    want = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(optax, name)).parameters.values()]
    got = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(gradtx, name)).parameters.values()]
    assert got[: len(want)] == want
    assert all(kind is inspect.Parameter.KEYWORD_ONLY for _, kind, _ in got[len(want) :])


RANDOM = settings(max_examples=20, deadline=None)
value = st.floats(-1.0, 1.0, allow_nan=False, width=32)
count = st.integers(-3, 40)  # transition_steps <= 0 included: Optax's constant fall-back


def _both(name, *args, **kwargs):
    """Optax's and gradtx's values at 0 .. STEPS, eagerly (one compile per shape, not per example)."""
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        s = getattr(optax, name)(*args, **kwargs)
        want = np.asarray([float(s(jnp.asarray(k, jnp.int64))) for k in range(STEPS + 1)])
        got = np.asarray(getattr(gradtx, name)(*args, **kwargs)(jnp.arange(STEPS + 1, dtype=jnp.int32)))
    return got, want


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-14 * max(1.0, float(np.max(np.abs(want)))))


@RANDOM
@given(init=value, end=value, power=st.floats(0.0, 3.0), n=count, begin=st.integers(0, 20))
def test_polynomial_schedule_matches_optax_for_any_arguments(init, end, power, n, begin):
    _close(*_both("polynomial_schedule", init, end, power, n, begin))


@RANDOM
@given(init=value, n=count, rate=st.sampled_from([0.0, 0.3, 0.9, 1.0, 1.7]), begin=st.integers(0, 20),
       staircase=st.booleans(), end=st.none() | value)
def test_exponential_decay_matches_optax_for_any_arguments(init, n, rate, begin, staircase, end):
    _close(*_both("exponential_decay", init, n, rate, begin, staircase, end))


@RANDOM
@given(init=value, n=st.integers(1, 40), alpha=st.floats(-1.0, 2.0), exponent=st.floats(0.0, 3.0))
def test_cosine_decay_schedule_matches_optax_for_any_arguments(init, n, alpha, exponent):
    _close(*_both("cosine_decay_schedule", init, n, alpha, exponent))


@RANDOM
@given(init=value, peak=st.sampled_from([0.0, 0.1, -0.2, 1.0]), warmup=st.integers(0, 20),
       decay=st.integers(1, 40), end=value, exponent=st.floats(0.0, 3.0))
def test_warmup_cosine_decay_matches_optax_for_any_arguments(init, peak, warmup, decay, end, exponent):
    _close(*_both("warmup_cosine_decay_schedule", init, peak, warmup, warmup + decay, end, exponent))


@RANDOM
@given(init=value, table=st.dictionaries(st.integers(-5, 50), st.floats(0.0, 3.0), max_size=4))
def test_piecewise_constant_matches_optax_for_any_arguments(init, table):
    _close(*_both("piecewise_constant_schedule", init, table))


# ------------------------------------------------------------------ deliberate differences

def test_warmup_constant_without_warmup_starts_at_the_peak_where_optax_never_reaches_it():
    """Optax's linear fall-back makes warmup_steps=0 stay at init_value forever; gradtx is at the peak."""
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        assert float(optax.warmup_constant_schedule(0.0, 0.1, 0)(10)) == 0.0
        assert float(gradtx.warmup_constant_schedule(0.0, 0.1, 0)(0)) == 0.1


@pytest.mark.parametrize("name", ["polynomial_schedule", "exponential_decay"])
def test_negative_transition_begin_raises_where_optax_clamps_it_to_0(name):
    args = (0.1, 0.01, 2.0, 10) if name == "polynomial_schedule" else (0.1, 10, 0.5)
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        getattr(optax, name)(*args, transition_begin=-5)  # Optax logs and starts at 0
    with pytest.raises(ValueError, match=rf"^{name}: `transition_begin` must be an integer >= 0"):
        getattr(gradtx, name)(*args, transition_begin=-5)
