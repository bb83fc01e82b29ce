"""What every schedule promises beyond matching its reference: dtypes, counts, jit, end points, shapes.

The generic tests run over ``EXAMPLES`` (every public schedule, at least once); the
hypothesis tests check end points and monotonicity where a schedule has them.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradtx
from gradtx._schedules.factor import lambda_factor_schedule, multiplicative_factor_schedule

pytestmark = pytest.mark.slow  # breadth: hypothesis over every schedule (CI runs it)

WCD = dict(init_value=0.0, peak_value=1.0, warmup_steps=3, decay_steps=10)

# (factory, positional args, keyword args): every public schedule at least once.
EXAMPLES = [
    (gradtx.constant_schedule, (0.3,), {}),
    (lambda_factor_schedule, (0.1, lambda k: 0.9**k), {}),
    (multiplicative_factor_schedule, (0.1, lambda k: 1.0 - 0.5 / (k + 2)), {}),
    (gradtx.step_schedule, (0.1, 7), dict(gamma=0.5)),
    (gradtx.multistep_schedule, (0.1, [3, 9]), {}),
    (gradtx.piecewise_constant_schedule, (0.1, {4: 0.5, 9: 0.1}), {}),
    (gradtx.exponential_schedule, (0.1, 0.97), {}),
    (gradtx.exponential_decay, (0.1, 5, 0.5), dict(transition_begin=2, end_value=0.01)),
    (gradtx.constant_factor_schedule, (0.1,), dict(factor=0.25, total_iters=4)),
    (gradtx.linear_factor_schedule, (0.1,), dict(start_factor=0.1, total_iters=8)),
    (gradtx.polynomial_schedule, (0.1, 0.01, 0.5, 12), dict(transition_begin=3)),
    (gradtx.linear_schedule, (0.0, 0.1, 12), {}),
    (gradtx.cosine_annealing_schedule, (0.1, 9), dict(eta_min=0.01)),
    (gradtx.cosine_warm_restarts_schedule, (0.1, 3), dict(t_mult=2)),
    (gradtx.cosine_warm_restarts_schedule, (0.1, 4), {}),
    (gradtx.cosine_decay_schedule, (0.1, 12), dict(alpha=0.1, exponent=0.5)),
    (gradtx.cyclic_schedule, (0.01, 0.1, 4, 3), dict(mode="exp_range", gamma=0.99)),
    (gradtx.cyclic_schedule, (0.01, 0.1, 4), dict(mode="triangular2")),
    (gradtx.onecycle_schedule, (0.1, 20), dict(three_phase=True)),
    (gradtx.onecycle_momentum_schedule, (20,), dict(anneal_strategy="linear")),
    (
        gradtx.join_schedules,
        ([gradtx.linear_schedule(0.0, 0.1, 5), lambda k: jnp.where(k < 3, 0.1, 0.05)], [5]),
        {},
    ),
    (gradtx.warmup_constant_schedule, (0.0, 0.1, 6), {}),
    (gradtx.warmup_cosine_decay_schedule, (), dict(WCD, exponent=1.5)),
    (gradtx.warmup_exponential_decay_schedule, (0.0, 0.1, 4, 3, 0.5), dict(staircase=True)),
    (gradtx.sgdr_schedule, ([WCD, dict(WCD, warmup_steps=0)],), {}),
    (gradtx.warmup_stable_decay_schedule, (0.1, 3, 5, 6), dict(decay_shape="1-sqrt")),
    (gradtx.inverse_sqrt_schedule, (0.1, 5), {}),
    (gradtx.piecewise_interpolate_schedule, ("cosine", 0.1, {3: 0.5, 9: 2.0}), {}),
    (gradtx.linear_onecycle_schedule, (20, 0.1), {}),
    (gradtx.cosine_onecycle_schedule, (20, 0.1), {}),
]
IDS = [f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(EXAMPLES)]
COUNTS = np.arange(0, 40)


def make(example):
    factory, args, kwargs = example
    return factory(*args, **kwargs)


def test_every_public_schedule_has_an_example():
    public = {
        name
        for name, obj in vars(gradtx).items()
        if inspect.isfunction(obj)
        and obj.__module__.startswith("gradtx._schedules.")
        and obj.__module__ != "gradtx._schedules.plateau"  # reduce_on_plateau is a transformation
    }
    assert public <= {f.__name__ for f, _, _ in EXAMPLES}


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_default_float_dtype_from_any_integer_count(example):
    s = make(example)
    with jax.enable_x64(True):
        by_int32 = s(jnp.asarray(COUNTS, jnp.int32))
        by_int64 = s(jnp.asarray(COUNTS, jnp.int64))
        by_python = np.asarray([s(int(k)) for k in COUNTS])
        by_float = s(jnp.asarray(COUNTS, jnp.float64))
        assert by_int32.dtype == by_int64.dtype == by_float.dtype == jnp.float64
        np.testing.assert_array_equal(by_int32, by_int64)
        np.testing.assert_allclose(by_python, by_int32, rtol=1e-14)  # scalar and vector code may round apart
        np.testing.assert_allclose(by_float, by_int32, rtol=2e-15)
    by_int32_x32 = s(jnp.asarray(COUNTS, jnp.int32))
    assert by_int32_x32.dtype == jnp.float32
    np.testing.assert_allclose(by_int32_x32, by_int32, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_jit_compiles_once_for_all_counts(example):
    s = make(example)
    traces = []

    @jax.jit
    def value(count):
        traces.append(count)
        return s(count)

    values = [value(jnp.asarray(k, jnp.int32)) for k in COUNTS]
    assert len(traces) == 1
    np.testing.assert_allclose(np.asarray(values), s(jnp.asarray(COUNTS, jnp.int32)), rtol=1e-6)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_shapes_vmap_and_large_counts(example):
    s = make(example)
    counts = jnp.asarray(COUNTS[:12].reshape(3, 4), jnp.int32)
    assert s(counts).shape == (3, 4) and s(3).shape == ()
    np.testing.assert_array_equal(jax.vmap(s)(counts.ravel()), s(counts).ravel())
    top = jnp.asarray([0, 2**24 + 1, 2**31 - 1], jnp.int32)  # the largest count a state holds
    assert np.all(np.isfinite(s(top)))
    with jax.enable_x64(True):
        assert np.all(np.isfinite(s(top)))


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_repr_and_equality_by_value(example):
    factory, args, kwargs = example
    s, again = make(example), make(example)
    assert repr(s) == s.__name__ and repr(s).startswith(f"{factory.__name__}(")
    if factory is not gradtx.join_schedules:  # its example holds a lambda: equal only to itself
        assert s == again and hash(s) == hash(again)
        assert gradtx.sgd(s) == gradtx.sgd(again)  # so jit caches are shared, as for transformations
    assert repr(s) in repr(gradtx.sgd(s, momentum=0.9))


def test_unequal_arguments_make_unequal_schedules():
    assert gradtx.step_schedule(0.1, 5) != gradtx.step_schedule(0.1, 6)
    assert gradtx.step_schedule(0.1, 5) != gradtx.step_schedule(0.1, step_size=5, gamma=0.2)
    assert gradtx.constant_schedule(1) != gradtx.constant_schedule(1.0)  # as for transformations


def test_repr_shows_the_given_arguments():
    s = gradtx.cosine_annealing_schedule(0.1, t_max=100)
    assert repr(s) == "cosine_annealing_schedule(init_value=0.1, t_max=100)"


def test_a_count_that_is_not_a_number_is_rejected():
    with pytest.raises(TypeError, match=r"^step_schedule: the count must be an integer or a real number"):
        gradtx.step_schedule(0.1, 5)(jnp.asarray(True))


def test_no_float32_detour_under_x64():
    """Counts above 2**24 are not all float32 numbers; the schedules must not pass through float32."""
    k = 2**24 + 1
    with jax.enable_x64(True):
        assert float(jax.jit(gradtx.linear_schedule(0.0, 2.0**25, 2**25))(jnp.int32(k))) == k
        s = gradtx.cosine_annealing_schedule(1.0, t_max=2**25)
        want = (1 + np.cos(np.pi * k / 2**25)) / 2
        assert float(jax.jit(s)(jnp.int32(k))) == pytest.approx(want, rel=1e-15)


def test_schedule_drives_a_learning_rate_from_count_zero():
    s = gradtx.step_schedule(1.0, step_size=1, gamma=0.5)
    tx = gradtx.sgd(s)
    state = tx.init(jnp.zeros(1))
    first, state = tx.update(jnp.ones(1), state)
    second, state = tx.update(jnp.ones(1), state)
    assert float(first[0]) == -1.0 and float(second[0]) == -0.5


# ------------------------------------------------------------------ end points, monotonicity

values = st.floats(-10.0, 10.0, allow_nan=False).filter(lambda v: abs(v) > 1e-6)
lengths = st.integers(1, 500)
begins = st.integers(0, 100)
PROPERTY = settings(max_examples=25, deadline=None)


def evaluate(schedule, counts=None, size=1024):
    """Values in float64 at ``counts`` (default 0 .. size - 1), eagerly: one shape, no compile per example."""
    with jax.enable_x64(True):
        counts = np.arange(size) if counts is None else np.asarray(counts)
        return np.asarray(schedule(jnp.asarray(counts, jnp.int32)))


def assert_monotone(v, increasing, scale):
    steps = np.diff(v) if increasing else -np.diff(v)
    assert np.all(steps >= -1e-15 * scale), v


@PROPERTY
@given(init=values, end=values, power=st.floats(0.0, 4.0), n=lengths, begin=begins)
def test_polynomial_ends_exactly_and_is_monotone(init, end, power, n, begin):
    v = evaluate(gradtx.polynomial_schedule(init, end, power, n, begin))[: begin + n + 3]
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(v[: begin + 1], init, rtol=1e-15, atol=1e-15 * abs(end))
    if power > 0:
        assert np.all(v[begin + n :] == end)
    assert_monotone(v, end >= init, max(abs(init), abs(end)))


@PROPERTY
@given(
    init=values,
    alpha=st.floats(0.0, 1.0).filter(lambda a: a == 0 or a > 1e-300),
    exponent=st.floats(0.0, 3.0),
    n=lengths,
)
def test_cosine_decay_ends_exactly(init, alpha, exponent, n):
    v = evaluate(gradtx.cosine_decay_schedule(init, n, alpha, exponent))[: n + 3]
    assert np.all(np.isfinite(v)) and v[0] == pytest.approx(init, rel=1e-15)
    if exponent > 0:
        assert np.all(v[n:] == init * alpha)
    assert_monotone(v, init < 0, abs(init))


@PROPERTY
@given(
    init=values,
    peak=values,
    end=values,
    warmup=st.integers(0, 50),
    decay=lengths,
    exponent=st.floats(0.5, 2.0),
)
def test_warmup_cosine_decay_reaches_peak_and_end(init, peak, end, warmup, decay, exponent):
    n = warmup + decay
    v = evaluate(gradtx.warmup_cosine_decay_schedule(init, peak, warmup, n, end, exponent))[: n + 3]
    assert v[warmup] == pytest.approx(peak, rel=1e-15)
    assert np.all(v[n:] == end)
    scale = max(abs(init), abs(peak), abs(end))
    assert_monotone(v[: warmup + 1], peak >= init, scale)
    assert_monotone(v[warmup:], end >= peak, scale)


@PROPERTY
@given(
    max_lr=st.floats(1e-4, 10.0),
    total=st.integers(2, 300),
    pct=st.floats(0.05, 0.5),
    strategy=st.sampled_from(["cos", "linear"]),
    three_phase=st.booleans(),
    div=st.floats(1.0, 100.0),
    final_div=st.floats(1.0, 1e4),
)
def test_onecycle_stays_between_its_bounds_and_ends_at_its_minimum(
    max_lr, total, pct, strategy, three_phase, div, final_div
):
    s = gradtx.onecycle_schedule(max_lr, total, pct, strategy, div, final_div, three_phase)
    v = evaluate(s)[: total + 5]
    low = max_lr / div / final_div
    assert np.all(np.isfinite(v))
    assert np.all((v >= low * (1 - 1e-12)) & (v <= max_lr * (1 + 1e-12)))
    assert np.all(v[total - 1 :] == low)
    m = evaluate(gradtx.onecycle_momentum_schedule(total, 0.85, 0.95, pct, strategy, three_phase))[
        : total + 5
    ]
    assert np.all((m >= 0.85 - 1e-12) & (m <= 0.95 + 1e-12))
    assert np.all(m[total - 1 :] == 0.95)


@PROPERTY
@given(
    base=values,
    top=values,
    up=st.integers(1, 30),
    down=st.integers(0, 30),
    mode=st.sampled_from(["triangular", "triangular2"]),
)
def test_cyclic_starts_at_base_and_stays_between_base_and_max(base, top, up, down, mode):
    s = gradtx.cyclic_schedule(base, top, up, down, mode)
    period = up + down
    v = evaluate(s)[: 4 * period + 1]
    assert v[0] == base and np.all(v[::period] == base)
    lo, hi = min(base, top), max(base, top)
    assert np.all((v >= lo - 1e-15 * abs(hi - lo)) & (v <= hi + 1e-15 * abs(hi - lo)))
    if down > 0:  # else a sawtooth, restarting before it reaches max_lr
        assert v[up] == pytest.approx(top, rel=1e-14)
    if mode == "triangular":
        np.testing.assert_array_equal(v[period:], v[:-period])


@PROPERTY
@given(init=values, eta_min=values, t_max=st.integers(1, 250))
def test_cosine_annealing_reaches_eta_min_and_repeats(init, eta_min, t_max):
    v = evaluate(gradtx.cosine_annealing_schedule(init, t_max, eta_min))[: 4 * t_max + 1]
    assert np.all(v[t_max :: 2 * t_max] == eta_min)
    np.testing.assert_array_equal(v[2 * t_max :], v[: -2 * t_max])
    assert_monotone(v[: t_max + 1], eta_min >= init, max(abs(init), abs(eta_min)))


@PROPERTY
@given(init=values, eta_min=values, t_0=st.integers(1, 20), t_mult=st.integers(1, 4))
def test_warm_restarts_restart_at_init(init, eta_min, t_0, t_mult):
    restarts = np.cumsum([0] + [t_0 * t_mult**i for i in range(3)])
    v = evaluate(gradtx.cosine_warm_restarts_schedule(init, t_0, t_mult, eta_min))[: restarts[-1] + 1]
    # eta_min + (init - eta_min) * 1 cancels: exact up to rounding at the larger of the two scales.
    scale = max(abs(init), abs(eta_min))
    np.testing.assert_allclose(v[restarts], init, rtol=0, atol=4 * np.finfo(np.float64).eps * scale)
    for a, b in zip(restarts[:-1], restarts[1:]):
        assert_monotone(v[a:b], eta_min >= init, max(abs(init), abs(eta_min)))


@PROPERTY
@given(
    peak=values,
    init=values,
    end=values,
    warmup=st.integers(0, 40),
    stable=st.integers(0, 40),
    decay=lengths,
    shape=st.sampled_from(["linear", "cosine", "1-sqrt"]),
)
def test_warmup_stable_decay_holds_its_peak_and_ends_exactly(peak, init, end, warmup, stable, decay, shape):
    s = gradtx.warmup_stable_decay_schedule(peak, warmup, stable, decay, init, end, shape)
    v = evaluate(s)[: warmup + stable + decay + 3]
    assert v[0] == (init if warmup else peak)
    assert np.all(v[warmup : warmup + stable + 1] == peak)
    assert np.all(v[warmup + stable + decay :] == end)
    assert_monotone(v[warmup + stable :], end >= peak, max(abs(peak), abs(end)))


@PROPERTY
@given(peak=st.floats(1e-6, 10.0), warmup=st.integers(1, 500))
def test_inverse_sqrt_peaks_at_warmup_then_decays(peak, warmup):
    counts = np.concatenate([np.arange(1024), [4 * warmup, 100 * warmup]])
    v = evaluate(gradtx.inverse_sqrt_schedule(peak, warmup), counts)
    assert v[0] == 0 and v[warmup] == peak and np.argmax(v) == warmup
    assert_monotone(v[: warmup + 1], True, peak)
    assert_monotone(v[warmup:1024], False, peak)
    np.testing.assert_allclose(v[-2:], [peak / 2, peak / 10], rtol=1e-15)


def test_inverse_sqrt_is_the_transformer_rate():
    """Vaswani et al.: d^-0.5 min(n^-0.5, n w^-1.5), written independently of the library."""
    d, w = 512, 4000
    n = np.arange(1, 20000, 37)
    want = d**-0.5 * np.minimum(n**-0.5, n * w**-1.5)
    compare_rate = evaluate(gradtx.inverse_sqrt_schedule((d * w) ** -0.5, w), n)
    np.testing.assert_allclose(compare_rate, want, rtol=1e-12)


def test_one_minus_sqrt_cooldown_matches_its_formula():
    """Hägele et al.'s cool-down: v_e + (v_p - v_e)(1 - sqrt(f)), written independently."""
    peak, end, warmup, stable, decay = 0.3, 0.01, 5, 10, 40
    k = np.arange(warmup + stable, warmup + stable + decay + 1)
    want = end + (peak - end) * (1 - np.sqrt((k - warmup - stable) / decay))
    got = evaluate(
        gradtx.warmup_stable_decay_schedule(peak, warmup, stable, decay, end_value=end, decay_shape="1-sqrt"),
        k,
    )
    np.testing.assert_allclose(got, want, rtol=1e-14)


@PROPERTY
@given(
    init=st.floats(1e-3, 10.0),
    rate=st.floats(0.05, 3.0).filter(lambda r: abs(r - 1) > 1e-3),
    bound=st.floats(0.01, 0.99),
)
def test_exponential_decay_never_passes_its_end_value(init, rate, bound):
    end = init * (bound if rate < 1 else 1 / bound)
    v = evaluate(gradtx.exponential_decay(init, 3, rate, end_value=end), size=200)
    assert np.all(v >= end) if (rate < 1) else np.all(v <= end)
    if (init * rate ** (199 / 3) - end) * (rate - 1) > 0:  # the bound is reached within the steps
        assert v[-1] == end


@PROPERTY
@given(bounds=st.lists(st.integers(0, 60), min_size=1, max_size=4).map(sorted))
def test_join_starts_each_part_at_count_zero(bounds):
    parts = [gradtx.linear_schedule(float(i), float(i) + 0.5, 7) for i in range(len(bounds) + 1)]
    v = evaluate(gradtx.join_schedules(parts, bounds), size=70)
    starts = [0] + bounds
    for i, start in enumerate(starts):
        last = max(j for j, b in enumerate(starts) if b == start)  # equal boundaries: the last part wins
        if i == last:
            assert v[start] == i
