"""SM3: sublinear state, and 0-d leaves (where optax.scale_by_sm3 fails) handled as length-1 vectors.

The parity with optax.sm3 on leaves of rank 1 and 2 is in tests/cases.py (OPTAX_CASES).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gradtx


def test_state_keeps_one_vector_per_axis():
    params = {"m": jnp.zeros((4, 3, 2)), "v": jnp.zeros(5), "s": jnp.zeros([]), "i": jnp.zeros(2, jnp.int32)}
    state = gradtx.scale_by_sm3().init(params)
    assert [a.shape for a in state.mu["m"]] == [(4,), (3,), (2,)]
    assert [a.shape for a in state.mu["v"]] == [(5,)]
    assert [a.shape for a in state.mu["s"]] == [()]
    assert state.mu["i"] is None and state.nu["i"] is None


def test_scalar_leaf_equals_optax_on_a_length_one_vector():
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        ours, theirs = gradtx.sm3(0.1, momentum=0.5), optax.sm3(0.1, momentum=0.5)
        p, q = jnp.array(1.5), jnp.array([1.5])
        s, t = ours.init(p), theirs.init(q)
        for step in range(10):
            g = jnp.cos(3.0 * p + step)  # gradients that change sign and size
            u, s = ours.update(g, s, p)
            v, t = theirs.update(g.reshape(1), t, q)
            p, q = p + u, q + v
            np.testing.assert_allclose(np.asarray(p).reshape(1), np.asarray(q), rtol=1e-12, atol=0)


def test_covers_upper_bound_adagrad():
    """With b2 = 1 each entry's accumulator is at least Adagrad's sum of its squared gradients."""
    tx = gradtx.scale_by_sm3(b1=0.0)
    rng = np.random.default_rng(0)
    state = tx.init(jnp.zeros((3, 4)))
    adagrad = np.zeros((3, 4))
    for _ in range(5):
        g = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)
        adagrad += np.square(np.asarray(g))
        u, state = tx.update(g, state)
        accumulator = np.square(np.asarray(g) / np.asarray(u))  # u = g / sqrt(a + eps)
        assert np.all(accumulator >= adagrad * (1 - 1e-5))
