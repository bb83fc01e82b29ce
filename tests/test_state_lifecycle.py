"""A state's life: checkpointed mid-run, skipped on NaN, run for 10,000 steps, counted to the end.

For every registry optimizer (tests/cases.py):
* saved with pickle and with Orbax after 3 steps and restored, it continues bit for bit;
* wrapped in ``apply_if_finite``, a NaN step leaves the inner state bit-identical;
* 10,000 float32 steps on a well-posed problem stay finite (one compiled ``lax.scan``);
* int32 step counters saturate at their maximum, they never wrap to negative values (whether the
  math stays finite that far is the algorithm's business: Optax's Adafactor, for one, does not).
"""

from __future__ import annotations

import functools
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import OPTIMIZERS
from test_contract import initial_params, make_step

import gradtx

# slow: breadth checks (checkpoints, NaN steps, long runs) over the registry; CI runs them
pytestmark = [pytest.mark.parametrize("make_tx", OPTIMIZERS), pytest.mark.slow]


@functools.cache
def _jitted_step(tx):
    """One compiled step per optimizer, shared by the tests (equal transformations hash equal)."""
    return jax.jit(make_step(tx))


def _run(step, params, state, n):
    for _ in range(n):
        params, state = step(params, state)
    return params, state


def _assert_bitwise_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_pickle_and_orbax_restores_continue_bit_for_bit(make_tx, tmp_path):
    ocp = pytest.importorskip("orbax.checkpoint")
    tx = make_tx()
    step = _jitted_step(tx)
    params, state = _run(step, initial_params(), tx.init(initial_params()), 3)
    want = _run(step, params, state, 3)

    restored = pickle.loads(pickle.dumps(jax.device_get((params, state))))
    _assert_bitwise_equal(_run(step, *restored, 3), want)

    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "ckpt", {"params": params, "state": state})
    checkpointer.wait_until_finished()
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"params": params, "state": state})
    loaded = checkpointer.restore(tmp_path / "ckpt", target)
    checkpointer.close()
    _assert_bitwise_equal(_run(step, loaded["params"], loaded["state"], 3), want)


def test_apply_if_finite_leaves_the_state_untouched_on_a_nan_step(make_tx):
    tx = gradtx.apply_if_finite(make_tx(), 3)
    params = initial_params()
    params, state = _run(jax.jit(make_step(tx)), params, tx.init(params), 2)
    nan_grads = jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), params)
    updates, after = jax.jit(lambda g, s, p: tx.update(g, s, p, value=jnp.nan, grad=g, value_fn=lambda q: jnp.nan))(
        nan_grads, state, params
    )
    _assert_bitwise_equal(after.inner_state, state.inner_state)
    assert all(not np.any(np.asarray(u)) for u in jax.tree.leaves(updates))
    assert int(after.notfinite_count) == 1


def test_ten_thousand_float32_steps_stay_finite(make_tx):
    tx = make_tx()
    step = make_step(tx)
    params = initial_params()

    @jax.jit
    def run(params, state):
        return jax.lax.scan(lambda carry, _: (step(*carry), None), (params, state), length=10_000)[0]

    params, state = run(params, tx.init(params))
    for leaf in jax.tree.leaves((params, state)):
        if jnp.issubdtype(leaf.dtype, jnp.inexact):
            assert np.all(np.isfinite(np.asarray(leaf, np.float64))), "a non-finite value after 10,000 steps"


def test_int32_counters_saturate(make_tx):
    tx = make_tx()
    step = _jitted_step(tx)
    params = initial_params()
    params, state = step(params, tx.init(params))
    top = np.iinfo(np.int32).max

    def near_top(path, x):  # step counters (fields named `count`), not modular ones such as mini-step indices
        is_count = bool(path) and getattr(path[-1], "name", None) == "count"
        return jnp.full_like(x, top - 1) if is_count and x.dtype == jnp.int32 and x.shape == () else x

    state = jax.tree_util.tree_map_with_path(near_top, state)
    params, state = _run(step, params, state, 3)
    counts = [
        x for path, x in jax.tree_util.tree_flatten_with_path(state)[0]
        if getattr(path[-1], "name", None) == "count" and x.dtype == jnp.int32 and x.shape == ()
    ]
    # Each either saturated at the top or was reset (a plateau's metric count restarts at 0); none wrapped.
    assert all(int(c) in (top, 0) for c in counts), f"int32 step counters must saturate at {top}, got {counts}"
