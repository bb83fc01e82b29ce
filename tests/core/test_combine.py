"""chain, named_chain, masked, partition and path labels."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradtx

PARAMS = {"dense": {"kernel": jnp.ones((2, 3)), "bias": jnp.ones(3)}, "norm": {"scale": jnp.ones(3)}}
GRADS = jax.tree.map(lambda p: jnp.full_like(p, 0.5), PARAMS)


def test_chain_applies_in_order_and_passes_extra_args():
    seen = []
    spy = gradtx.stateless(lambda u, p: seen.append("spy") or u)
    tx = gradtx.chain(gradtx.scale(2.0), spy, gradtx.scale(-1.0))
    u, state = tx.update(GRADS, tx.init(PARAMS), PARAMS, value=1.0)
    assert seen == ["spy"] and len(state) == 3
    np.testing.assert_allclose(u["dense"]["bias"], -1.0)


def test_named_chain_state_is_keyed_by_name():
    tx = gradtx.named_chain(("momentum", gradtx.scale_by_momentum(0.9)), ("lr", gradtx.scale(-0.1)))
    state = tx.init(PARAMS)
    assert list(state) == ["momentum", "lr"]
    with pytest.raises(ValueError, match="unique"):
        gradtx.named_chain(("a", gradtx.identity()), ("a", gradtx.identity()))


@pytest.mark.parametrize(
    "mask",
    [
        {"dense": {"kernel": True, "bias": False}, "norm": False},  # a prefix tree
        lambda p: jax.tree.map(lambda x: x.ndim == 2, p),  # a callable
        r"dense/kernel",  # a path pattern
        gradtx.path_labels({r".*bias|norm/.*": False}, default=True),  # boolean labels
    ],
    ids=["tree", "callable", "pattern", "path_labels"],
)
def test_masked_transforms_selected_leaves_and_keeps_state_only_for_them(mask):
    tx = gradtx.masked(gradtx.scale_by_momentum(0.9), mask)
    state = tx.init(PARAMS)
    assert [x.shape for x in jax.tree.leaves(state)] == [(), (2, 3)]  # count + the kernel's buffer
    u, _ = tx.update(GRADS, state, PARAMS)
    np.testing.assert_allclose(u["dense"]["kernel"], 0.5)  # first momentum step: b = g
    assert u["dense"]["bias"] is GRADS["dense"]["bias"]


def test_masked_rejects_non_bool_masks():
    with pytest.raises(TypeError, match="Python bools"):
        gradtx.masked(gradtx.identity(), jax.tree.map(lambda _: jnp.array(True), PARAMS)).init(PARAMS)


def test_partition_equals_separate_optimizers():
    labels = gradtx.path_labels({r".*bias|norm/.*": "no_decay"}, default="decay")
    tx = gradtx.partition(
        {"decay": gradtx.adamw(0.1, weight_decay=0.5), "no_decay": gradtx.adamw(0.1, weight_decay=0.0)}, labels
    )
    u, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    for path, expected_tx in [(("dense", "kernel"), gradtx.adamw(0.1, weight_decay=0.5)),
                              (("dense", "bias"), gradtx.adamw(0.1, weight_decay=0.0)),
                              (("norm", "scale"), gradtx.adamw(0.1, weight_decay=0.0))]:
        p = PARAMS[path[0]][path[1]]
        want, _ = expected_tx.update(GRADS[path[0]][path[1]], expected_tx.init(p), p)
        np.testing.assert_allclose(u[path[0]][path[1]], want)


def test_partition_names_unknown_labels():
    tx = gradtx.partition({"a": gradtx.identity()}, lambda p: jax.tree.map(lambda _: "b", p))
    with pytest.raises(ValueError, match=r"labels 'b' have no transformation"):
        tx.init(PARAMS)


def test_path_labels_first_match_wins_and_default_none_is_an_error():
    params = {"layers": [{"w": 1.0, "b": 2.0}], "head": 3.0}
    labels = gradtx.path_labels({r"layers/0/.*": "first", r".*b": "bias"}, default="other")(params)
    assert labels == {"layers": [{"w": "first", "b": "first"}], "head": "other"}
    with pytest.raises(ValueError, match="no pattern matches the leaf 'head'"):
        gradtx.path_labels({r"layers/.*": "x"})(params)
    with pytest.raises(ValueError, match="not a valid regular expression"):
        gradtx.path_labels({"(": "x"})


@pytest.mark.parametrize(
    "combine",
    [
        lambda opt, plateau: gradtx.chain(opt, plateau),
        lambda opt, plateau: gradtx.named_chain(("opt", opt), ("plateau", plateau)),
        lambda opt, plateau: gradtx.masked(gradtx.chain(opt, plateau), {"dense": True, "norm": True}),
        lambda opt, plateau: gradtx.partition({"all": gradtx.chain(opt, plateau)}, "all"),
    ],
    ids=["chain", "named_chain", "masked", "partition"],
)
def test_a_plain_optax_part_gets_no_extra_args_and_the_others_do(combine):
    """As in optax.chain: `value=` meant for the plateau part must not break an Optax part that
    takes no extra arguments, and must still reach the part that uses it."""
    optax = pytest.importorskip("optax")

    def run(opt):
        tx = combine(opt, gradtx.reduce_on_plateau(factor=0.5, patience=0))
        state = tx.init(PARAMS)
        for metric in (1.0, 2.0, 3.0, 4.0):  # no improvement after the first: the scale falls
            u, state = tx.update(GRADS, state, PARAMS, value=jnp.asarray(metric))
        return u

    got, want = run(optax.scale(-1.0)), run(gradtx.scale(-1.0))
    assert float(want["dense"]["bias"][0]) > -0.5  # the plateau did reduce
    np.testing.assert_array_equal(got["dense"]["bias"], want["dense"]["bias"])


def test_mask_compatible_extra_args_restricts_tree_shaped_extras():
    seen = {}

    class Spy:
        def init(self, params):
            return gradtx.EmptyState()

        def update(self, updates, state, params=None, **extra):
            seen.update(extra)
            return updates, state

    tx = gradtx.masked(Spy(), {"dense": True, "norm": False}, mask_compatible_extra_args=True)
    tx.update(GRADS, tx.init(PARAMS), PARAMS, per_leaf=GRADS, scalar=1.0)
    assert isinstance(seen["per_leaf"]["norm"]["scale"], gradtx.MaskedNode) and seen["scalar"] == 1.0
