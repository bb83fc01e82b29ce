"""The standard training step never crashes, and no input is silently ignored (issue 10).

Each test names the failure it pins: trees without a floating leaf, keyword ``init``, a state
fed to the wrong optimizer, masks that match nothing, the bounded ``inject_hyperparams`` cache,
schedules that return the wrong thing. Donated eager states and Python-float leaves are checked
for every optimizer in tests/test_contract.py, with the programs it compiles anyway.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import OPTIMIZERS

import gradtx

PARAMS = {"w": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "b": jnp.array([0.5, -0.25, 1.0])}
GRADS = jax.tree.map(lambda p: 0.1 * p + 0.05, PARAMS)
EXTRA = {"value": jnp.asarray(1.0), "grad": GRADS, "value_fn": lambda p: jnp.asarray(1.0)}


def _update(tx, grads, state, params):
    return tx.update(grads, state, params, **EXTRA)


def test_apply_updates_adds_python_floats_and_complex_leaves():
    assert float(gradtx.apply_updates({"w": 2.0}, {"w": -0.5})["w"]) == 1.5
    c = gradtx.apply_updates({"c": jnp.ones(2, jnp.complex64)}, {"c": jnp.full(2, 1j, jnp.complex64)})["c"]
    np.testing.assert_array_equal(c, jnp.full(2, 1 + 1j, jnp.complex64))


@pytest.mark.parametrize("make_tx", OPTIMIZERS)
def test_a_tree_without_floating_leaves_passes_through(make_tx):
    tx = make_tx()
    params = {"w": jnp.array(3, jnp.int32), "b": None}  # named like the registry's mask patterns
    state = tx.init(params)
    updates, _ = tx.update(params, state, params, **{**EXTRA, "grad": params})
    assert updates["w"] is params["w"] and updates["b"] is None


def test_masked_leafwise_optimizer_with_every_leaf_masked_out():
    tx = gradtx.masked(gradtx.sm3(0.1), {"w": False, "b": False})
    updates, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    np.testing.assert_array_equal(updates["w"], GRADS["w"])


def test_init_takes_params_by_keyword():
    for tx in (gradtx.adam(0.1), gradtx.clip_by_block_rms(1.0), gradtx.masked(gradtx.adam(0.1), "w")):
        assert jax.tree.structure(tx.init(params=PARAMS)) == jax.tree.structure(tx.init(PARAMS))


def test_a_state_from_another_optimizer_is_refused():
    adam, rms = gradtx.scale_by_adam(), gradtx.scale_by_rss()
    rms.init(PARAMS)
    with pytest.raises(TypeError, match="ScaleByAdamState.*ScaleByRssState.*another optimizer"):
        rms.update(GRADS, adam.init(PARAMS))


@pytest.mark.parametrize(
    "build",
    [
        lambda: gradtx.masked(gradtx.scale(0.0), r"kernel"),
        lambda: gradtx.freeze(r"backbone/.*"),
        lambda: gradtx.add_decayed_weights(0.1, r".*bias"),
    ],
    ids=["masked", "freeze", "add_decayed_weights"],
)
def test_a_mask_pattern_that_matches_nothing_is_an_error(build):
    tx = build()
    with pytest.raises(ValueError, match="match no leaf.*'w'"):
        state = tx.init(PARAMS)
        tx.update(GRADS, state, PARAMS)


def test_inject_hyperparams_cache_is_bounded():
    from gradtx._transforms.hyperparams import _injected

    for i in range(300):
        gradtx.inject_hyperparams(lambda learning_rate, i=i: gradtx.sgd(learning_rate))(0.1)
    assert _injected.cache_info().currsize <= 256


@pytest.mark.parametrize(
    "schedule, error",
    [
        (lambda: 1e-3, "one argument"),
        (lambda count: jnp.ones((2, 3)), "scalar"),
        (lambda count: "fast", "real number"),
        (lambda count: jnp.asarray(1e-3 + 1j), "real"),
    ],
    ids=["no-argument", "matrix", "string", "complex"],
)
def test_a_bad_schedule_is_refused_by_name(schedule, error):
    with pytest.raises((TypeError, ValueError), match=f"learning_rate.*{error}|{error}.*learning_rate"):
        tx = gradtx.adam(schedule)
        tx.update(GRADS, tx.init(PARAMS), PARAMS)


@pytest.mark.parametrize(
    "build, argument",
    [
        (lambda: gradtx.sgd(float("inf")), "learning_rate"),
        (lambda: gradtx.adamw(1e-3, weight_decay=float("inf")), "weight_decay"),
        (lambda: gradtx.sgd(0.1, momentum=float("inf")), "momentum"),
        (lambda: gradtx.adam(1e-3, eps=float("inf")), "eps"),
        (lambda: gradtx.torch.SGD(lr=float("inf")), "lr"),
    ],
    ids=["lr", "weight_decay", "momentum", "eps", "torch-lr"],
)
def test_infinite_hyperparameters_are_refused(build, argument):
    with pytest.raises(ValueError, match=f"`{argument}` must be.*finite|`{argument}`.*inf"):
        build()
