"""dynamic_loss_scale, scale_loss, unscale_gradients: torch.amp.GradScaler's scales, skips and numbers."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import assert_trajectories_close, initial_params, loss, torch_in_float64

import gradtx

NAN, INF = float("nan"), float("inf")

# Which steps get a non-finite scaled gradient, and in which leaf (torch and jax poison the same element).
BAD_STEPS = {2: "inf", 3: "nan", 9: "-inf", 10: "inf", 11: "nan", 17: "inf", 21: "nan"}


def _poison_value(kind: str) -> float:
    return {"nan": NAN, "inf": INF, "-inf": -INF}[kind]


def _leaf(t: int) -> str:
    return "wbv"[t % 3]


def _poison(grads: dict, t: int) -> dict:
    """The gradients with the first element of one leaf made non-finite."""
    g = grads[_leaf(t)]
    bad = g.reshape(-1).at[0].set(_poison_value(BAD_STEPS[t])).reshape(g.shape)
    return {**grads, _leaf(t): bad}


# (gradtx inner, torch optimizer, GradScaler arguments)
CASES = [
    pytest.param(
        lambda: gradtx.torch.Adam(lr=0.03, weight_decay=0.01),
        lambda ps: torch.optim.Adam(ps, lr=0.03, weight_decay=0.01),
        {"init_scale": 2.0**10, "growth_interval": 3},
        id="adam-growth_interval3",
    ),
    pytest.param(
        lambda: gradtx.sgd(0.02, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.9),
        {"init_scale": 1000.0, "growth_factor": 1.1, "backoff_factor": 0.3, "growth_interval": 2},
        id="sgd-momentum-odd-factors",
    ),
    pytest.param(
        lambda: gradtx.torch.AdamW(lr=0.02),
        lambda ps: torch.optim.AdamW(ps, lr=0.02),
        {"init_scale": 2.0**126, "growth_factor": 1024.0, "growth_interval": 1},
        id="adamw-scale-at-float32-top",  # growing would overflow float32: torch keeps the scale
    ),
]


@torch_in_float64
def _torch_run(make_opt, scaler_kwargs, steps, bad_steps):
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in sorted(initial_params().items())}  # float64
    opt = make_opt(list(tp.values()))
    scaler = torch.amp.GradScaler("cpu", **scaler_kwargs)
    params, scales, trackers = [], [], []
    for t in range(steps):
        opt.zero_grad()
        scaler.scale(loss(tp, torch)).backward()
        if t in bad_steps:
            with torch.no_grad():
                tp[_leaf(t)].grad.view(-1)[0] = _poison_value(bad_steps[t])
        scaler.step(opt)
        scaler.update()
        params.append({k: v.detach().numpy().copy() for k, v in tp.items()})
        scales.append(scaler.get_scale())
        trackers.append(scaler._get_growth_tracker())
    return params, scales, trackers


def _gradtx_run(tx, steps, bad_steps):
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()}
        state = tx.init(p)

        @jax.jit
        def scaled_grads(p, state):
            return jax.grad(lambda q: gradtx.scale_loss(loss(q, jnp), state))(p)

        update = jax.jit(tx.update)
        params, states = [], []
        for t in range(steps):
            g = scaled_grads(p, state)
            if t in bad_steps:
                g = _poison(g, t)
            updates, new_state = update(g, state, p)
            p = gradtx.apply_updates(p, updates)
            params.append({k: np.asarray(v) for k, v in p.items()})
            states.append(new_state)
            state = new_state
    return params, states


@pytest.mark.parametrize(("make_inner", "make_torch", "scaler_kwargs"), CASES)
def test_matches_torch_grad_scaler(make_inner, make_torch, scaler_kwargs, request):
    steps = 25
    kwargs = dict(scaler_kwargs)
    tx = gradtx.dynamic_loss_scale(make_inner(), kwargs.pop("init_scale"), **kwargs)
    got, states = _gradtx_run(tx, steps, BAD_STEPS)
    want, scales, trackers = _torch_run(make_torch, scaler_kwargs, steps, BAD_STEPS)

    assert_trajectories_close(f"torch/dynamic_loss_scale-{request.node.callspec.id}", got, want)
    # The scale sequence is exactly torch's (both float32), and so is the growth tracker.
    assert [float(s.scale) for s in states] == scales
    assert [int(s.finite_steps) for s in states] == trackers
    assert [bool(s.last_finite) for s in states] == [t not in BAD_STEPS for t in range(steps)]
    assert [int(s.total_notfinite) for s in states] == [sum(b <= t for b in BAD_STEPS) for t in range(steps)]
    assert len(set(scales)) > 2, "the script must change the scale"


def test_scale_never_grows_past_the_largest_float32_with_a_normal_reciprocal():
    # torch would grow 2**125 to 2**127, whose float32 reciprocal (a subnormal) XLA flushes to zero.
    tx = gradtx.dynamic_loss_scale(gradtx.sgd(1.0), 2.0**125, growth_factor=4.0, growth_interval=1)
    grads = jnp.full(2, 2.0**125)
    updates, state = tx.update(grads, tx.init(jnp.zeros(2)))
    assert float(state.scale) == 2.0**125 and int(state.finite_steps) == 0
    np.testing.assert_array_equal(updates, -1.0)
    tx = gradtx.dynamic_loss_scale(gradtx.sgd(1.0), 2.0**124, growth_factor=4.0, growth_interval=1)
    assert float(tx.update(grads, tx.init(jnp.zeros(2)))[1].scale) == 2.0**126


def test_skipped_steps_leave_params_and_inner_state_untouched():
    tx = gradtx.dynamic_loss_scale(gradtx.adam(0.03), 2.0**10, growth_interval=3)
    got, states = _gradtx_run(tx, 14, BAD_STEPS)
    for t in (t for t in BAD_STEPS if t < 14):
        for k in got[t]:
            np.testing.assert_array_equal(got[t][k], got[t - 1][k])
        same = jax.tree.map(jnp.array_equal, states[t].inner_state, states[t - 1].inner_state)
        assert all(bool(x) for x in jax.tree.leaves(same))
        assert float(states[t].scale) == float(states[t - 1].scale) / 2


def _float16_problem():
    """A model computing in float16 whose true gradient (about 1e-8 x) underflows float16 without scaling."""
    x = np.array([3.0, -7.0, 12.0, 0.5], np.float16)
    c = 1e-8

    def loss_fn(params):
        h = params["w"].astype(jnp.float16) * jnp.asarray(x)
        return c * jnp.sum(h.astype(jnp.float32))

    return loss_fn, x, c


def test_float16_gradients_survive_only_with_the_scale():
    loss_fn, x, c = _float16_problem()
    params = {"w": jnp.ones(4)}
    assert not np.any(jax.grad(loss_fn)(params)["w"]), "the unscaled float16 gradient must underflow"

    tx = gradtx.dynamic_loss_scale(gradtx.sgd(1.0))
    state = tx.init(params)
    scaled = jax.grad(lambda p: gradtx.scale_loss(loss_fn(p), state))(params)
    true = c * x.astype(np.float64)
    np.testing.assert_allclose(gradtx.unscale_gradients(scaled, state)["w"], true, rtol=2e-3)
    updates, state = tx.update(scaled, state, params)
    np.testing.assert_allclose(updates["w"], -true, rtol=2e-3)
    assert bool(state.last_finite)


def test_float16_overflow_backs_off_to_the_largest_scale_that_fits():
    loss_fn, x, c = _float16_problem()
    params = {"w": jnp.ones(4)}
    initial = 2.0**48
    # The reference: float16 arithmetic in numpy. Skip (halve) until c * S * x fits in float16.
    with np.errstate(over="ignore"):
        dh = [np.float16(np.float32(c * initial / 2**k)) for k in range(64)]  # the float16 cotangent of h
        fits = [np.all(np.isfinite(np.float16(d * x))) for d in dh]
    expected_skips = fits.index(True)
    assert expected_skips > 3

    tx = gradtx.dynamic_loss_scale(gradtx.sgd(1.0), initial_scale=initial, growth_interval=100)

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: gradtx.scale_loss(loss_fn(p), state))(params)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state

    state = tx.init(params)
    for k in range(expected_skips):
        params, state = step(params, state)
        assert not bool(state.last_finite) and float(state.scale) == initial / 2 ** (k + 1), k
        np.testing.assert_array_equal(params["w"], 1.0)
    params, state = step(params, state)
    assert bool(state.last_finite) and int(state.total_notfinite) == expected_skips
    np.testing.assert_allclose(params["w"], 1.0 - c * x.astype(np.float64), rtol=1e-6)


def test_axis_name_skips_on_every_device_when_one_overflows():
    params = jnp.zeros(2)
    grads = jnp.array([[2.0, 4.0], [INF, 1.0]])  # device 1 overflows
    for axis_name, skipped in ((None, [False, True]), ("devices", [True, True])):
        tx = gradtx.dynamic_loss_scale(gradtx.sgd(0.5), 2.0, axis_name=axis_name)
        update = jax.vmap(tx.update, in_axes=(0, None, None), axis_name="devices")
        updates, state = update(grads, tx.init(params), params)
        assert [not bool(f) for f in state.last_finite] == skipped
        assert [float(s) for s in state.scale] == [1.0 if s else 2.0 for s in skipped]
        if skipped[0]:
            np.testing.assert_array_equal(updates[0], 0.0)
        else:
            np.testing.assert_array_equal(updates[0], [-0.5, -1.0])


def test_scale_loss_finds_the_scale_inside_a_chain_and_keeps_the_loss_dtype():
    scaled = gradtx.dynamic_loss_scale(gradtx.sgd(0.1), 8.0)
    tx = gradtx.named_chain(("clip", gradtx.clip(1.0)), ("scaled", scaled))
    state = tx.init(jnp.zeros(2))
    assert float(gradtx.scale_loss(jnp.array(0.25), state)) == 2.0
    value = gradtx.scale_loss(jnp.array(3000.0, jnp.float16), state)
    assert value.dtype == jnp.float16 and float(value) == 24000.0
    overflow = gradtx.scale_loss(jnp.array(10000.0, jnp.float16), state)  # inf: the step will be skipped
    assert overflow.dtype == jnp.float16 and bool(jnp.isinf(overflow))
    grads = {"w": jnp.array([8.0, -16.0], jnp.bfloat16), "i": jnp.array(3, jnp.int32), "n": None}
    unscaled = gradtx.unscale_gradients(grads, state)
    assert unscaled["w"].dtype == jnp.bfloat16 and unscaled["w"].tolist() == [1.0, -2.0]
    assert int(unscaled["i"]) == 3 and unscaled["n"] is None


@pytest.mark.parametrize("fn", [gradtx.scale_loss, gradtx.unscale_gradients])
def test_helpers_need_exactly_one_loss_scale_in_the_state(fn):
    plain = gradtx.sgd(0.1)
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: the state holds no loss scale"):
        fn(jnp.array(1.0), plain.init(jnp.zeros(2)))
    one = gradtx.dynamic_loss_scale(plain)
    two = gradtx.chain(one, one)
    with pytest.raises(ValueError, match=rf"^{fn.__name__}: the state holds 2 loss scales"):
        fn(jnp.array(1.0), two.init(jnp.zeros(2)))


def test_state_shows_the_scale_and_repr_names_the_wrapper():
    tx = gradtx.dynamic_loss_scale(gradtx.adam(1e-3))
    state = tx.init({"w": jnp.zeros(3)})
    assert state.scale.dtype == jnp.float32 and float(state.scale) == 2.0**15
    assert repr(tx).startswith("dynamic_loss_scale(inner=adam(learning_rate=0.001)")
    assert "growth_interval=2000" in gradtx.describe(tx)


def test_scale_follows_keras_documented_rules():
    """Keras's LossScaleOptimizer docs: a non-finite step halves the scale and is skipped; after
    `dynamic_growth_steps` finite steps since the scale last changed, it doubles."""
    growth_steps, initial = 5, 2.0**15
    finite = np.random.default_rng(0).random(300) > 0.15
    scale, since_change, want = initial, 0, []
    for ok in finite:
        if not ok:
            scale, since_change = scale / 2, 0
        else:
            since_change += 1
            if since_change == growth_steps:
                scale, since_change = scale * 2, 0
        want.append(scale)

    tx = gradtx.dynamic_loss_scale(gradtx.sgd(0.1), initial, growth_interval=growth_steps)
    update = jax.jit(tx.update)
    state, got = tx.init(jnp.zeros(2)), []
    for ok in finite:
        _, state = update(jnp.array([1.0, 1.0 if ok else NAN]), state)
        got.append(float(state.scale))
    assert got == want
    assert any(b > a for a, b in itertools.pairwise(want)) and any(b < a for a, b in itertools.pairwise(want))
