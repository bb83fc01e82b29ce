"""ftrl against an independent float64 NumPy transcription of ``keras.optimizers.Ftrl``.

Keras is not a test dependency, so the reference below is written from Keras 3's
``Ftrl.update_step`` (keras/src/optimizers/ftrl.py, keras-team/keras) and its docstring,
which follows McMahan et al., "Ad Click Prediction: a View from the Trenches" (KDD 2013),
Algorithm 1 (https://research.google.com/pubs/archive/41159.pdf). Per variable ``w``:

    l2_reg      = l2 + beta / (2 lr)
    grad_to_use = g + 2 * l2_shrinkage * w
    new_accum   = accum + g**2
    linear     += grad_to_use - (new_accum**(-lr_power) - accum**(-lr_power)) / lr * w
    quadratic   = new_accum**(-lr_power) / lr + 2 * l2_reg
    w           = (clip(linear, -l1, l1) - linear) / quadratic
    accum       = new_accum

with ``accum`` starting at ``initial_accumulator_value`` and ``linear`` at 0; ``lr`` is the
learning rate at ``iterations`` (0 on the first step). The gradients are taken with
``jax.grad`` in float64 at the reference's own params, so only the update rule is shared.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, loss

import gradtx

STEPS = 25


def keras_ftrl_trajectory(params, steps, *, learning_rate=0.001, learning_rate_power=-0.5,
                          initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                          l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0, beta=0.0):
    """Keras' Ftrl, transcribed to NumPy float64 (see the module docstring)."""
    with jax.enable_x64(True):
        grad = jax.jit(jax.grad(lambda p: loss(p, jnp)))
        w = {k: np.array(v, np.float64) for k, v in params.items()}
        accum = {k: np.full_like(v, initial_accumulator_value) for k, v in w.items()}
        linear = {k: np.zeros_like(v) for k, v in w.items()}
        out = []
        for iteration in range(steps):
            lr = learning_rate(iteration) if callable(learning_rate) else learning_rate
            g = {k: np.asarray(v) for k, v in grad(w).items()}
            for k in w:
                l2_reg = l2_regularization_strength + beta / (2.0 * lr)
                grad_to_use = g[k] + 2 * l2_shrinkage_regularization_strength * w[k]
                new_accum = accum[k] + np.square(g[k])
                power = -learning_rate_power
                sigma = (np.power(new_accum, power) - np.power(accum[k], power)) / lr
                linear[k] = linear[k] + (grad_to_use - sigma * w[k])
                quadratic = np.power(new_accum, power) / lr + 2 * l2_reg
                clipped = np.clip(linear[k], -l1_regularization_strength, l1_regularization_strength)
                w[k] = (clipped - linear[k]) / quadratic
                accum[k] = new_accum
            out.append({k: v.copy() for k, v in w.items()})
    return out


CONFIGS = [
    pytest.param(dict(learning_rate=0.1), id="lr"),
    pytest.param(dict(learning_rate=0.2, learning_rate_power=-0.7, initial_accumulator_value=0.5,
                      l1_regularization_strength=0.01, l2_regularization_strength=0.05), id="power-l1-l2"),
    pytest.param(dict(learning_rate=0.05, learning_rate_power=0.0, l2_shrinkage_regularization_strength=0.1,
                      beta=0.5), id="fixed-rate-shrinkage-beta"),
    pytest.param(dict(learning_rate=lambda count: 0.3 / (1.0 + count), initial_accumulator_value=0.0,
                      l1_regularization_strength=0.002), id="schedule-zero-accumulator"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_matches_keras_transcription(config, request):
    params = initial_params()
    want = keras_ftrl_trajectory(params, STEPS, **config)
    schedule = config["learning_rate"]
    if callable(schedule):  # gradtx calls schedules with an int32 array count
        config = {**config, "learning_rate": lambda count: 0.3 / (1.0 + jnp.asarray(count, jnp.float64))}
    got = gradtx_trajectory(gradtx.ftrl(**config), params, STEPS)
    assert_trajectories_close(f"keras/ftrl-{request.node.callspec.id}", got, want)


def test_l1_sets_weak_coordinates_to_exact_zeros():
    params = {"w": jnp.array([1.0, -1.0, 0.5, 2.0])}
    grads = {"w": jnp.array([0.01, -0.02, 3.0, -4.0])}
    tx = gradtx.ftrl(0.1, l1_regularization_strength=0.5)
    updates, state = tx.update(grads, tx.init(params), params)
    new = gradtx.apply_updates(params, updates)
    # |z| <= l1 for the two small gradients: those weights become exactly 0.0 (not ~1e-17).
    assert new["w"][0] == 0.0 and new["w"][1] == 0.0
    assert np.all(np.asarray(new["w"][2:]) != 0.0)
    # Without L1 nothing is exactly zero.
    plain = gradtx.ftrl(0.1)
    updates, _ = plain.update(grads, plain.init(params), params)
    assert np.all(np.asarray(gradtx.apply_updates(params, updates)["w"]) != 0.0)


def test_l1_sparsity_persists_over_training():
    """With a strong L1 penalty the noise-only features of a regression stay at exactly 0."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(64, 20)), jnp.float32)
    y = x[:, 0] * 2.0 - x[:, 1] + jnp.asarray(rng.normal(size=64) * 0.3, jnp.float32)
    f = lambda p: jnp.mean(jnp.square(x @ p["w"] - y))

    def train(tx):
        params = {"w": jnp.zeros(20)}
        state = tx.init(params)
        for _ in range(200):
            updates, state = tx.update(jax.grad(f)(params), state, params)
            params = gradtx.apply_updates(params, updates)
        return np.asarray(params["w"])

    # FTRL's l1 is compared with the *sum* of past gradients, so it grows with training length.
    sparse = train(gradtx.ftrl(0.5, l1_regularization_strength=40.0))
    dense = train(gradtx.ftrl(0.5))
    assert sparse[0] > 1.5 and sparse[1] < -0.5  # the two real features survive
    assert np.sum(sparse[2:] == 0.0) >= 15 and np.sum(dense == 0.0) == 0


def test_needs_params():
    tx = gradtx.ftrl()
    with pytest.raises(ValueError, match=r"^ftrl: FTRL needs the params: call update\(updates, state, params\)"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
