"""freeze: zero updates and no optimizer state for the frozen leaves."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradtx

PARAMS = {
    "backbone": {"kernel": jnp.linspace(-1.0, 1.0, 6).reshape(2, 3), "bias": jnp.full(3, 0.5)},
    "head": {"kernel": jnp.linspace(0.0, 1.0, 3), "norm": jnp.ones(3)},
}
GRADS = jax.tree.map(lambda p: 0.3 * p + 0.1, PARAMS)
TRAINABLE = {"head": PARAMS["head"]}

MASKS = [
    {"backbone": True, "head": False},  # a prefix tree
    lambda p: {"backbone": jax.tree.map(lambda _: True, p["backbone"]), "head": jax.tree.map(lambda _: False, p["head"])},
    r"backbone/.*",  # a path pattern
    gradtx.path_labels({r"backbone/.*": True}, default=False),
]
MASK_IDS = ["tree", "callable", "pattern", "path_labels"]


@pytest.mark.parametrize("mask", MASKS, ids=MASK_IDS)
def test_frozen_leaves_get_zero_updates_and_no_state(mask):
    inner = gradtx.adamw(0.1, weight_decay=0.5)
    tx = gradtx.freeze(mask, inner=inner)
    state = tx.init(PARAMS)
    # The optimizer's state is exactly the state it would have for the trainable leaves alone.
    alone = inner.init(TRAINABLE)
    assert sorted(x.shape for x in jax.tree.leaves(state)) == sorted(x.shape for x in jax.tree.leaves(alone))
    assert not any(x.shape == (2, 3) for x in jax.tree.leaves(state))

    updates, state = tx.update(GRADS, state, PARAMS)
    for leaf in jax.tree.leaves(updates["backbone"]):
        np.testing.assert_array_equal(leaf, 0.0)
    for _ in range(2):  # the trainable leaves get what the optimizer gives them on their own
        want, alone = inner.update({"head": GRADS["head"]}, alone, TRAINABLE)
    updates, _ = tx.update(GRADS, state, PARAMS)
    jax.tree.map(np.testing.assert_array_equal, updates["head"], want["head"])


def test_freeze_without_an_optimizer_zeroes_and_passes_through():
    tx = gradtx.chain(gradtx.scale(-0.1), gradtx.freeze("backbone/.*"))
    state = tx.init(PARAMS)
    assert state[1] == gradtx.FreezeState(None)
    updates, _ = tx.update(GRADS, state)
    np.testing.assert_array_equal(updates["backbone"]["kernel"], 0.0)
    np.testing.assert_allclose(updates["head"]["norm"], -0.1 * GRADS["head"]["norm"])


def test_frozen_params_do_not_move_in_training_and_state_is_stable():
    tx = gradtx.freeze(
        {"backbone": True, "head": False, "steps": False, "none": False},
        inner=gradtx.torch.SGD(lr=0.1, momentum=0.9, weight_decay=0.1),
    )
    params = {**PARAMS, "steps": jnp.array(3, jnp.int32), "none": None}

    def step(carry, _):
        p, s = carry
        grads = {**jax.grad(lambda q: sum(jnp.sum(x**2) for x in jax.tree.leaves(q)))(
            {"backbone": p["backbone"], "head": p["head"]}), "steps": jnp.array(0, jnp.int32), "none": None}
        u, s = tx.update(grads, s, p)
        return (gradtx.apply_updates(p, u), s), None

    state = tx.init(params)
    (new, new_state), _ = jax.lax.scan(step, (params, state), length=5)
    jax.tree.map(np.testing.assert_array_equal, new["backbone"], PARAMS["backbone"])
    assert float(jnp.sum(new["head"]["norm"])) < float(jnp.sum(PARAMS["head"]["norm"]))
    assert int(new["steps"]) == 3 and new["none"] is None
    assert jax.tree.structure(new_state) == jax.tree.structure(state)


def test_init_works_on_abstract_params():
    tx = gradtx.freeze("backbone/.*", inner=gradtx.adam(0.1))
    abstract = jax.tree.map(lambda p: jax.ShapeDtypeStruct(p.shape, p.dtype), PARAMS)
    shapes = jax.eval_shape(tx.init, abstract)
    assert jax.tree.structure(shapes) == jax.tree.structure(tx.init(PARAMS))
