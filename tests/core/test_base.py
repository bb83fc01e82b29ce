"""The protocol: recorded transformations (repr, describe, equality), identity, stateless."""

import jax
import jax.numpy as jnp
import pytest

import gradtx


def test_repr_shows_name_and_given_arguments():
    assert repr(gradtx.adam(1e-3)) == "adam(learning_rate=0.001)"
    assert repr(gradtx.chain(gradtx.scale(2.0), gradtx.identity())) == "chain(scale(step_size=2.0), identity())"


def test_describe_shows_parts_and_all_hyperparameters():
    text = gradtx.describe(gradtx.adamw(0.1, weight_decay=0.5))
    lines = text.splitlines()
    assert lines[0].startswith("adamw(learning_rate=0.1, weight_decay=0.5, b1=0.9")
    assert any("scale_by_adam(b1=0.9, b2=0.999" in line for line in lines)
    assert any("add_decayed_weights(weight_decay=0.5" in line for line in lines)


def test_same_factory_and_arguments_compare_equal_and_share_jit_caches():
    assert gradtx.adam(1e-3) == gradtx.adam(learning_rate=1e-3)
    assert gradtx.adam(1e-3) != gradtx.adam(2e-3)
    assert gradtx.scale(1) != gradtx.scale(1.0)  # argument types are part of the identity
    traces = []

    def step(tx, grads, state):
        traces.append(None)
        return tx.update(grads, state)

    jitted = jax.jit(step, static_argnums=0)
    params = jnp.ones(3)
    for tx in (gradtx.adam(1e-3), gradtx.adam(1e-3)):
        jitted(tx, params, tx.init(params))
    assert len(traces) == 1


def test_unhashable_arguments_fall_back_to_identity():
    a, b = gradtx.scale(jnp.array(2.0)), gradtx.scale(jnp.array(2.0))
    assert a == a and a != b
    hash(a)


def test_errors_while_updating_name_the_path():
    tx = gradtx.adam(0.1)
    state = tx.init({"w": jnp.ones(2)})
    with pytest.raises(ValueError, match=r"^adam > scale_by_adam: the state does not match the updates"):
        tx.update({"w": jnp.ones(3)}, state)


def test_identity_and_stateless():
    tx = gradtx.stateless(lambda u, p: jax.tree.map(lambda x, y: x * y, u, p))
    u, state = tx.update(jnp.full(2, 3.0), tx.init(None), jnp.full(2, 2.0))
    assert jnp.array_equal(u, jnp.full(2, 6.0)) and state == gradtx.EmptyState()
    assert gradtx.identity().update(jnp.ones(2), gradtx.EmptyState())[0].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="stateless: `f` must be callable"):
        gradtx.stateless(3)
