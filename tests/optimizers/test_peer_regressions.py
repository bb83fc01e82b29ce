"""Known bugs of the peers (SPEC §3), each shown against a live reference: gradtx does not have them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from reference import (
    assert_trajectories_close,
    gradtx_trajectory,
    initial_params,
    torch_trajectory,
)

import gradtx

STEPS = 25


def updates_for(tx, grads, params):
    """The updates ``tx`` returns for a fixed sequence of gradients (params held fixed), in float64."""
    out = []
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):  # optax relies on implicit promotion
        params = jnp.asarray(params, jnp.float64)
        state = tx.init(params)
        for g in grads:
            u, state = tx.update(jnp.asarray(g, jnp.float64), state, params)
            out.append(np.asarray(u))
    return np.array(out)


def test_rprop_returns_the_current_step_where_optax_returns_the_previous_one():
    params = initial_params()
    want = torch_trajectory(lambda p: torch.optim.Rprop(p, lr=0.01), params, STEPS)
    got = gradtx_trajectory(gradtx.rprop(0.01), params, STEPS)
    assert_trajectories_close("torch/rprop-regression", got, want)
    with jax.numpy_dtype_promotion("standard"):
        lagging = gradtx_trajectory(optax.rprop(0.01), params, STEPS)
    for k in params:  # optax's first update is zero: its params stay put while torch's move
        np.testing.assert_array_equal(lagging[0][k], params[k])
        assert np.max(np.abs(want[0][k] - params[k])) > 1e-3
    # On the same gradients (signs kept, so no step is paused), optax's update at call t is
    # gradtx's (= torch's) update at call t - 1.
    grads = np.abs(np.random.default_rng(0).normal(size=(12, 5))) * np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    ours = updates_for(gradtx.rprop(0.01), grads, np.zeros(5))
    theirs = updates_for(optax.rprop(0.01), grads, np.zeros(5))
    np.testing.assert_array_equal(theirs[0], 0.0)
    np.testing.assert_allclose(theirs[1:], ours[:-1], rtol=1e-12)
    assert np.max(np.abs(theirs - ours)) > 1e-3
    # The step sizes themselves are Optax's (same arguments, positionally).
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        ours_tx, theirs_tx = gradtx.scale_by_rprop(0.01, 0.3, 1.5, 1e-3, 0.05), optax.scale_by_rprop(0.01, 0.3, 1.5, 1e-3, 0.05)
        s, t = ours_tx.init(jnp.zeros(5)), theirs_tx.init(jnp.zeros(5))
        for g in np.sin(np.arange(60.0)).reshape(12, 5):  # signs that flip
            _, s = ours_tx.update(jnp.asarray(g), s)
            _, t = theirs_tx.update(jnp.asarray(g), t)
            np.testing.assert_allclose(s.step_size, t.step_sizes, rtol=1e-12)


def test_adadelta_defaults_descend_where_optax_defaults_ascend():
    def run(tx):
        params = jnp.linspace(-1.0, 1.0, 5)
        state = tx.init(params)
        for _ in range(50):
            updates, state = tx.update(2 * params, state, params)  # the gradient of sum(p^2)
            params = gradtx.apply_updates(params, updates)
        return float(jnp.sum(jnp.square(params)))

    start = float(jnp.sum(jnp.square(jnp.linspace(-1.0, 1.0, 5))))
    assert run(gradtx.adadelta()) < start
    with jax.numpy_dtype_promotion("standard"):
        assert run(optax.adadelta()) > start


def test_sm3_takes_scalar_leaves_where_optax_fails():
    params = {"s": jnp.array(1.5), "v": jnp.ones(3)}
    grads = {"s": jnp.array(0.5), "v": jnp.full(3, 0.5)}
    tx = gradtx.sm3(0.1)
    updates, _ = tx.update(grads, tx.init(params), params)
    assert np.isfinite(updates["s"]) and float(updates["s"]) < 0
    with pytest.raises(Exception), jax.numpy_dtype_promotion("standard"):  # noqa: B017 - optax's own error
        theirs = optax.sm3(0.1)
        theirs.update(grads, theirs.init(params), params)
