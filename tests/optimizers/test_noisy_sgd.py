"""add_noise / noisy_sgd: the key derivation matches Optax's, and the noise has the stated law."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradtx

GRADS = {"a": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": None, "c": jnp.arange(4.0)}


def _run(tx, grads, steps):
    state = tx.init(grads)
    out = []
    for _ in range(steps):
        updates, state = jax.jit(tx.update)(grads, state)
        out.append(updates)
    return out


@pytest.mark.parametrize(
    "key_args",
    [
        dict(key=3),
        dict(seed=3),
        dict(key=jax.random.key(3)),
        dict(key=jax.random.PRNGKey(3)),  # the raw uint32 form
        dict(key=jnp.array(3, jnp.int32)),
    ],
    ids=["int", "seed", "typed-key", "uint32-key", "int-array"],
)
@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
def test_every_form_of_the_same_key_gives_optax_noise(key_args, x64):
    with jax.enable_x64(x64):
        grads = jax.tree.map(lambda g: g.astype(jnp.float64 if x64 else jnp.float32), GRADS)
        got = _run(gradtx.add_noise(0.3, 0.55, **key_args), grads, 4)
        with jax.numpy_dtype_promotion("standard"):
            want = _run(optax.add_noise(0.3, 0.55, key=jax.random.key(3)), grads, 4)
    for g, w in zip(got, want):
        assert g["b"] is None and w["b"] is None
        for k in ("a", "c"):
            assert g[k].dtype == w[k].dtype
            np.testing.assert_allclose(g[k], w[k], rtol=1e-12 if x64 else 1e-6, atol=0)


def test_noise_has_the_annealed_variance_and_fresh_draws():
    eta, gamma = 0.5, 0.55
    tx = gradtx.add_noise(eta, gamma, key=0)
    zeros = {"x": jnp.zeros(200_000), "y": jnp.zeros(200_000)}
    draws = _run(tx, zeros, 3)
    for t, noise in enumerate(draws, start=1):
        x = np.asarray(noise["x"])
        np.testing.assert_allclose(x.std(), np.sqrt(eta / t**gamma), rtol=0.01)
        assert abs(x.mean()) < 0.01
        # Each leaf and each step gets its own draw.
        assert abs(np.corrcoef(x, np.asarray(noise["y"]))[0, 1]) < 0.01
    assert abs(np.corrcoef(np.asarray(draws[0]["x"]), np.asarray(draws[1]["x"]))[0, 1]) < 0.01


def test_state_survives_a_numpy_round_trip():
    tx = gradtx.noisy_sgd(0.1, key=11)
    params = {"w": jnp.zeros(5)}
    grads = {"w": jnp.ones(5)}
    _, state = tx.update(grads, tx.init(params))
    restored = jax.tree.map(jnp.asarray, jax.tree.map(np.asarray, state))  # what any array serializer does
    assert restored[0].key.dtype == jnp.uint32
    direct, _ = tx.update(grads, state)
    resumed, _ = tx.update(grads, restored)
    np.testing.assert_array_equal(direct["w"], resumed["w"])


def test_half_precision_noise_is_drawn_in_float32():
    tx = gradtx.add_noise(0.2, 0.55, key=5)
    grads = jnp.linspace(-1.0, 1.0, 8, dtype=jnp.bfloat16)
    updates, _ = tx.update(grads, tx.init(grads))
    assert updates.dtype == jnp.bfloat16
    _, sample_key = jax.random.split(jax.random.key(5))
    (leaf_key,) = jax.random.split(sample_key, 1)
    noise = jax.random.normal(leaf_key, (8,), jnp.float32)
    want = grads.astype(jnp.float32) + jnp.sqrt(jnp.float32(0.2)) * noise
    np.testing.assert_array_equal(updates, want.astype(jnp.bfloat16))


def test_zero_eta_is_plain_sgd():
    tx = gradtx.noisy_sgd(0.1, eta=0.0, key=0)
    updates, _ = tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))
    np.testing.assert_array_equal(updates, jnp.array([-0.1, 0.2]))
