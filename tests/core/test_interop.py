"""gradtx inside Optax's combinators (through to_optax), and Optax inside gradtx's."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradtx

PARAMS = {"w": jnp.ones(3), "b": jnp.zeros(2)}
GRADS = jax.tree.map(lambda p: jnp.full_like(p, 0.5), PARAMS)
METRICS = (1.0, 2.0, 3.0, 4.0, 5.0)  # never improves: a patience-0 plateau keeps reducing


def _run(tx, steps=len(METRICS)):
    state = tx.init(PARAMS)
    for metric in METRICS[:steps]:
        updates, state = tx.update(GRADS, state, PARAMS, value=jnp.asarray(metric))
    return updates


def _plateau():
    return gradtx.reduce_on_plateau(factor=0.5, patience=0)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda opt, plateau: optax.chain(gradtx.to_optax(opt), gradtx.to_optax(plateau)),
        lambda opt, plateau: optax.apply_if_finite(optax.chain(gradtx.to_optax(opt), gradtx.to_optax(plateau)), 3),
        lambda opt, plateau: optax.named_chain(("opt", gradtx.to_optax(opt)), ("plateau", gradtx.to_optax(plateau))),
    ],
    ids=["optax.chain", "optax.apply_if_finite", "optax.named_chain"],
)
def test_value_reaches_a_gradtx_part_inside_optax_combinators(wrap):
    got = _run(wrap(gradtx.sgd(1.0), _plateau()))
    want = _run(gradtx.chain(gradtx.sgd(1.0), _plateau()))
    assert float(want["w"][0]) > -0.5  # the plateau reduced the step
    np.testing.assert_array_equal(got["w"], want["w"])


def test_optax_multisteps_passes_value_to_a_gradtx_plateau():
    tx = optax.MultiSteps(optax.chain(gradtx.to_optax(gradtx.sgd(1.0)), gradtx.to_optax(_plateau())), every_k_schedule=1)
    with jax.numpy_dtype_promotion("standard"):  # MultiSteps mixes int and float itself
        got = _run(tx)
    want = _run(gradtx.chain(gradtx.sgd(1.0), _plateau()))
    np.testing.assert_array_equal(got["w"], want["w"])


def test_without_the_adapter_optax_drops_value():
    """What the adapter is for: optax.chain gives a plain gradtx part no extra arguments."""
    got = _run(optax.chain(gradtx.sgd(1.0), _plateau()))
    np.testing.assert_array_equal(got["w"], jnp.full(3, -0.5))


def test_optax_parts_work_in_gradtx_combinators_with_extra_args():
    tx = gradtx.chain(optax.clip_by_global_norm(1.0), optax.sgd(1.0), _plateau())
    want = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.sgd(1.0), _plateau())
    np.testing.assert_allclose(_run(tx)["w"], _run(want)["w"], rtol=1e-6)
