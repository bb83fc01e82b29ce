"""zero_nans and apply_if_finite: optax's semantics, and non-finite gradients never touch the state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from reference import assert_trajectories_close, initial_params, loss

import gradtx

NAN, INF = float("nan"), float("inf")


def _poison(grads, kind: str, leaf: str = "w"):
    """The gradients with one element of one leaf made non-finite."""
    value = {"nan": NAN, "inf": INF, "-inf": -INF}[kind]
    return {**grads, leaf: grads[leaf].at[(0,) * grads[leaf].ndim].set(value)}


def _run(tx, bad_steps: dict[int, str], steps: int):
    """Jitted float64 steps on the reference problem; at step t in ``bad_steps`` the gradient is poisoned.

    Returns the params after each step and the state after each step.
    """
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in initial_params().items()}
        grad, update = jax.jit(jax.grad(lambda q: loss(q, jnp))), jax.jit(tx.update)
        state = tx.init(p)
        params_out, states = [], []
        for t in range(steps):
            g = grad(p)
            if t in bad_steps:
                g = _poison(g, bad_steps[t], leaf="wbv"[t % 3])
            updates, state = update(g, state, p)
            p = gradtx.apply_updates(p, updates)
            params_out.append({k: np.asarray(v) for k, v in p.items()})
            states.append(state)
    return params_out, states


def test_zero_nans_matches_optax_and_reports_per_leaf():
    grads = {"a": jnp.array([1.0, NAN, -INF]), "b": jnp.array([[NAN]]), "c": jnp.array([2.0])}
    tx, ref = gradtx.zero_nans(), optax.zero_nans()
    got, state = tx.update(grads, tx.init(grads))
    want, ref_state = ref.update(grads, ref.init(grads))
    for k in grads:
        np.testing.assert_array_equal(got[k], want[k])
        assert bool(state.found_nan[k]) == bool(ref_state.found_nan[k])
    assert [bool(state.found_nan[k]) for k in "abc"] == [True, True, False]
    assert float(got["a"][2]) == -INF  # infinities are kept, as in optax


def test_zero_nans_flags_only_floating_leaves():
    params = {"f": jnp.zeros(2), "i": jnp.zeros(2, jnp.int32), "n": None}
    state = gradtx.zero_nans().init(params)
    assert state.found_nan["i"] is None and state.found_nan["n"] is None
    assert state.found_nan["f"].dtype == jnp.bool_


BAD_PATTERNS = [
    pytest.param({3: "nan", 7: "inf", 8: "-inf", 15: "nan", 16: "nan"}, 2, id="isolated-and-pairs"),
    pytest.param({0: "nan", 1: "nan", 2: "nan", 20: "inf"}, 3, id="first-steps"),
]


@pytest.mark.parametrize(("bad_steps", "max_errors"), BAD_PATTERNS)
def test_apply_if_finite_matches_optax_and_skipped_steps_leave_no_trace(bad_steps, max_errors, request):
    steps = 25
    tx = gradtx.apply_if_finite(gradtx.torch.Adam(lr=0.03, weight_decay=0.01), max_errors)
    got, states = _run(tx, bad_steps, steps)
    with jax.numpy_dtype_promotion("standard"):
        ref = optax.apply_if_finite(optax.chain(optax.add_decayed_weights(0.01), optax.adam(0.03)), max_errors)
        want, ref_states = _run(ref, bad_steps, steps)
    assert_trajectories_close(f"optax/apply_if_finite-{request.node.callspec.id}", got, want)
    for s, r in zip(states, ref_states):
        for field in ("notfinite_count", "last_finite", "total_notfinite"):
            assert int(getattr(s, field)) == int(getattr(r, field)), field

    # The same run without the bad steps: identical params, bit for bit, once the bad steps are dropped.
    clean, clean_states = _run(tx, {}, steps - len(bad_steps))
    kept = [t for t in range(steps) if t not in bad_steps]
    for i, t in enumerate(kept):
        for k in clean[i]:
            np.testing.assert_array_equal(got[t][k], clean[i][k])
        assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), states[t].inner_state,
                                         clean_states[i].inner_state))
    for t in bad_steps:  # A skipped step returns zero updates: the params stay where they were.
        before = got[t - 1] if t else {k: np.asarray(v) for k, v in initial_params().items()}
        for k in before:
            np.testing.assert_array_equal(got[t][k], before[k])


def test_apply_if_finite_gives_up_after_max_consecutive_errors_as_optax():
    params = {"w": jnp.ones(2)}
    good, bad = {"w": jnp.array([0.5, -1.0])}, {"w": jnp.array([NAN, 1.0])}
    tx = gradtx.apply_if_finite(gradtx.sgd(0.1, momentum=0.9), 2)
    ref = optax.apply_if_finite(optax.sgd(0.1, momentum=0.9), 2)
    state, ref_state = tx.init(params), ref.init(params)
    for i, g in enumerate([good, bad, bad, good, bad, bad, bad, bad]):
        u, state = tx.update(g, state, params)
        ru, ref_state = ref.update(g, ref_state, params)
        np.testing.assert_array_equal(np.isnan(u["w"]), np.isnan(ru["w"]), err_msg=f"call {i}")
        assert (int(state.notfinite_count), bool(state.last_finite), int(state.total_notfinite)) == (
            int(ref_state.notfinite_count), bool(ref_state.last_finite), int(ref_state.total_notfinite)), i
        if i in (1, 2, 4, 5):  # skipped: zeros
            np.testing.assert_array_equal(u["w"], 0.0)
        if i in (6, 7):  # the third and fourth non-finite steps in a row are applied
            assert np.isnan(u["w"][0])
    assert int(state.total_notfinite) == 6 and int(state.notfinite_count) == 4


def test_apply_if_finite_checks_only_floating_leaves_and_passes_the_others_through():
    params = {"w": jnp.ones(2), "i": jnp.array(3, jnp.int32), "n": None}
    tx = gradtx.apply_if_finite(gradtx.sgd(0.1), 1)
    grads = {"w": jnp.array([INF, 1.0]), "i": jnp.array(5, jnp.int32), "n": None}
    u, state = jax.jit(tx.update)(grads, tx.init(params), params)
    np.testing.assert_array_equal(u["w"], 0.0)
    assert int(u["i"]) == 5 and u["n"] is None and int(state.notfinite_count) == 1
    tx0 = gradtx.apply_if_finite(gradtx.sgd(0.1), 0)  # 0 tolerated errors: the first one is applied
    u, state = tx0.update(grads, tx0.init(params), params)
    assert float(u["w"][0]) == -INF and int(state.total_notfinite) == 1


def test_apply_if_finite_axis_name_inside_shard_map_equals_the_unsharded_step():
    mesh = jax.make_mesh((1,), ("data",))
    spec = {"w": P("data")}
    params = {"w": jnp.arange(4.0)}
    tx = gradtx.apply_if_finite(gradtx.adam(0.1), 1, axis_name="data")
    plain = gradtx.apply_if_finite(gradtx.adam(0.1), 1)

    def sharded_step(grads, state):
        return tx.update(grads, state, params)

    state_spec = jax.tree.map(lambda x: P("data") if x.ndim else P(), tx.init(params))  # moments split like w
    step = jax.jit(jax.shard_map(sharded_step, mesh=mesh, in_specs=(spec, state_spec), out_specs=(spec, state_spec)))
    put = lambda tree, specs: jax.tree.map(lambda x, s: jax.device_put(x, NamedSharding(mesh, s)), tree, specs)
    state, plain_state = put(tx.init(params), state_spec), plain.init(params)
    for g in ([1.0, -2.0, 0.5, 3.0], [1.0, NAN, 0.5, 3.0], [0.3, 0.2, -0.1, 1.0]):
        grads = {"w": jnp.array(g)}
        u, state = step(put(grads, spec), state)
        want, plain_state = plain.update(grads, plain_state, params)
        np.testing.assert_allclose(u["w"], want["w"], rtol=1e-6)
        assert int(state.total_notfinite) == int(plain_state.total_notfinite)
    assert int(state.total_notfinite) == 1
    with pytest.raises(NameError, match="data"):  # the axis_name path really is taken: outside shard_map it fails
        tx.update({"w": jnp.ones(4)}, tx.init(params), params)
