"""polyak_sgd: the contract (with ``value=`` passed, which test_contract's bf16 test does not do).

The parity with optax.polyak_sgd is in tests/cases.py (OPTAX_CASES).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_contract import flat, initial_params, make_step, quadratic, run

import gradtx

FACTORIES = [
    pytest.param(lambda: gradtx.polyak_sgd(), id="polyak_sgd"),
    pytest.param(lambda: gradtx.polyak_sgd(max_learning_rate=0.5, scaling=0.8, eps=1e-6, variant="sps+"),
                 id="sps+"),
]


@pytest.mark.parametrize("make_tx", FACTORIES)
def test_converges_on_the_contract_quadratic_and_jit_matches_eager(make_tx):
    tx = make_tx()
    params = initial_params()
    eager = run(make_step(tx), params, tx.init(params), 3)
    jitted = run(jax.jit(make_step(tx)), params, tx.init(params), 3)
    np.testing.assert_allclose(flat(eager), flat(jitted), rtol=1e-5, atol=1e-6)
    start = float(quadratic(params))
    final, _ = jax.jit(lambda p, s: jax.lax.fori_loop(0, 300, lambda _, c: make_step(tx)(*c), (p, s)))(
        params, tx.init(params)
    )
    assert float(quadratic(final)) < 0.05 * start


@pytest.mark.parametrize("make_tx", FACTORIES)
def test_bf16_gradients_give_bf16_updates(make_tx):
    tx = make_tx()
    params = initial_params(jnp.bfloat16)
    grads = jax.tree.map(lambda p: jnp.full(p.shape, 0.5, jnp.bfloat16), params)
    updates, _ = jax.jit(tx.update)(grads, tx.init(params), params, value=jnp.array(2.0, jnp.bfloat16))
    for u in jax.tree.leaves(updates):
        assert u.dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(u)))


@pytest.mark.parametrize("factory", [gradtx.polyak_sgd, gradtx.scale_by_polyak])
def test_missing_value_is_a_clear_error(factory):
    tx = factory()
    with pytest.raises(TypeError, match=rf"^{factory.__name__}.*needs the loss value.*value=loss"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)), jnp.ones(2))


def test_step_is_polyaks_and_capped():
    tx = gradtx.scale_by_polyak(f_min=1.0, max_learning_rate=0.3)
    g = jnp.array([3.0, 4.0])  # |g|^2 = 25
    state = tx.init(g)
    np.testing.assert_allclose(tx.update(g, state, value=jnp.array(6.0))[0], 0.2 * g)  # (6 - 1) / 25
    np.testing.assert_allclose(tx.update(g, state, value=jnp.array(51.0))[0], 0.3 * g)  # capped
    # A negative gap is kept by "sps" (a step uphill) and zeroed by "sps+".
    np.testing.assert_allclose(tx.update(g, state, value=jnp.array(-4.0))[0], -0.2 * g)
    plus = gradtx.scale_by_polyak(f_min=1.0, variant="sps+")
    np.testing.assert_array_equal(plus.update(g, state, value=jnp.array(-4.0))[0], jnp.zeros(2))


def test_zero_gradient_gives_a_zero_step():
    tx = gradtx.polyak_sgd()
    updates, _ = tx.update(jnp.zeros(3), tx.init(jnp.zeros(3)), jnp.zeros(3), value=jnp.array(1.0))
    np.testing.assert_array_equal(updates, jnp.zeros(3))
