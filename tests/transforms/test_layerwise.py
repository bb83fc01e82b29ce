"""Layer-wise norms on sharded leaves (``axis_name``), and the trust ratio's edge cases.

Every transformation whose rule needs a whole leaf's norm (or the whole tree's) takes
``axis_name``: inside ``shard_map`` (or any map with a named axis) each device holds a slice
of every leaf, and the partial sums of squares are ``psum``-ed so the step equals the step on
whole leaves. Two checks run here on one CPU device:

* ``shard_map`` over a 1-device mesh with ``axis_name`` equals the plain step;
* ``jax.vmap(..., axis_name=...)`` over K slices of every leaf (a simulated K-way model-parallel
  split, where ``psum`` really sums K partial norms) equals the plain step on the whole leaves.

The multi-device suite repeats the first check on 8 simulated devices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

import gradtx

AXIS = "model"
SHARDS = 2
FACTORIES = [
    pytest.param(lambda a: gradtx.scale_by_trust_ratio(0.01, 0.5, 1e-3, axis_name=a),
                 id="scale_by_trust_ratio"),
    pytest.param(lambda a: gradtx.lamb(0.1, weight_decay=0.01, axis_name=a), id="lamb"),
    pytest.param(lambda a: gradtx.lars(0.5, 0.01, trust_coefficient=0.1, nesterov=True, axis_name=a),
                 id="lars"),
    pytest.param(lambda a: gradtx.fromage(0.1, axis_name=a), id="fromage"),
    pytest.param(lambda a: gradtx.novograd(0.1, b2=0.5, weight_decay=0.01, axis_name=a), id="novograd"),
    pytest.param(lambda a: gradtx.scale_by_novograd(axis_name=a), id="scale_by_novograd"),
    pytest.param(lambda a: gradtx.polyak_sgd(scaling=0.5, f_min=-1.0, axis_name=a), id="polyak_sgd"),
]

_rng = np.random.default_rng(3)
_normal = lambda shape: jnp.asarray(_rng.normal(size=shape), jnp.float32)
PARAMS = {"w": _normal((4, 3)), "b": _normal(4)}
GRADS = [{k: _normal(p.shape) for k, p in PARAMS.items()} for _ in range(3)]
VALUES = [jnp.array(v, jnp.float32) for v in (3.0, 2.0, 1.5)]


def plain_run(tx):
    params, state, out = PARAMS, tx.init(PARAMS), []
    for g, v in zip(GRADS, VALUES):
        updates, state = tx.update(g, state, params, value=v)
        params = gradtx.apply_updates(params, updates)
        out.append(params)
    return out


def _split_axis(x):
    """Leaves with a leading axis are split along it; scalars (counts, per-leaf norms) are replicated."""
    return 0 if jnp.ndim(x) >= 1 else None


def sharded_run(tx, run_step):
    params, state, out = PARAMS, tx.init(PARAMS), []
    for g, v in zip(GRADS, VALUES):
        params, state = run_step(tx, params, state, g, v)
        out.append(params)
    return out


def _step(tx):
    def step(params, state, grads, value):
        updates, state = tx.update(grads, state, params, value=value)
        return gradtx.apply_updates(params, updates), state

    return step


def shard_map_step(tx, params, state, grads, value):
    mesh = jax.make_mesh((1,), (AXIS,), axis_types=(jax.sharding.AxisType.Auto,))
    spec = lambda tree: jax.tree.map(lambda x: P(AXIS) if _split_axis(x) == 0 else P(), tree)
    f = jax.shard_map(
        _step(tx),
        mesh=mesh,
        in_specs=(spec(params), spec(state), spec(grads), P()),
        out_specs=(spec(params), spec(state)),
    )
    return jax.jit(f)(params, state, grads, value)


def vmap_step(tx, params, state, grads, value, *, replicated=True):
    """Each leaf cut into SHARDS slices along axis 0, one per vmapped 'device' of the named axis.

    ``replicated``: check that the scalars of the state (per-leaf norms) agree across slices.
    """
    cut = lambda tree: jax.tree.map(
        lambda x: x.reshape(SHARDS, x.shape[0] // SHARDS, *x.shape[1:]) if _split_axis(x) == 0 else x, tree
    )
    axes = lambda tree: jax.tree.map(_split_axis, tree)
    in_axes = (axes(params), axes(state), axes(grads), None)
    f = jax.vmap(_step(tx), in_axes=in_axes, out_axes=0, axis_name=AXIS)
    new_params, new_state = f(cut(params), cut(state), cut(grads), value)

    def glue(x, like):
        if _split_axis(like) == 0:
            return x.reshape(like.shape)
        if replicated:
            np.testing.assert_array_equal(x, jnp.broadcast_to(x[0], x.shape))
        return x[0]

    return jax.tree.map(glue, new_params, params), jax.tree.map(glue, new_state, state)


@pytest.mark.parametrize("make_tx", FACTORIES)
def test_shard_map_on_one_device_with_axis_name_equals_the_plain_step(make_tx):
    want = plain_run(make_tx(None))
    got = sharded_run(make_tx(AXIS), shard_map_step)
    for g, w in zip(got, want):
        for k in w:
            np.testing.assert_allclose(g[k], w[k], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make_tx", FACTORIES)
def test_split_leaves_with_axis_name_equal_whole_leaves(make_tx):
    want = plain_run(make_tx(None))
    got = sharded_run(make_tx(AXIS), vmap_step)
    for g, w in zip(got, want):
        for k in w:
            np.testing.assert_allclose(g[k], w[k], rtol=1e-5, atol=1e-6)
    # Without axis_name each slice would use its own norm: the check above can fail.
    local = sharded_run(make_tx(None), lambda tx, *args: vmap_step(tx, *args, replicated=False))
    assert any(not np.allclose(g[k], w[k], rtol=1e-5, atol=1e-6) for g, w in zip(local, want) for k in w)


def test_trust_ratio_is_one_where_a_norm_is_zero():
    tx = gradtx.scale_by_trust_ratio()
    u = {"zero_param": jnp.array([1.0, 2.0]), "zero_update": jnp.zeros(2)}
    p = {"zero_param": jnp.zeros(2), "zero_update": jnp.array([3.0, 4.0])}
    out, _ = tx.update(u, tx.init(p), p)
    np.testing.assert_array_equal(out["zero_param"], u["zero_param"])
    np.testing.assert_array_equal(out["zero_update"], jnp.zeros(2))


@pytest.mark.parametrize(
    ("make_tx", "pattern"),
    [
        (lambda: gradtx.scale_by_trust_ratio(), r"^scale_by_trust_ratio: the trust ratio needs the params"),
        (lambda: gradtx.lamb(0.1), r"^lamb > .*trust ratio needs the params"),
        (lambda: gradtx.lars(0.1), r"^lars > .*trust ratio needs the params"),
        (lambda: gradtx.fromage(0.1), r"^fromage > .*trust ratio needs the params"),
        (lambda: gradtx.novograd(0.1, weight_decay=0.1), r"^novograd > .*weight decay needs the params"),
    ],
    ids=["scale_by_trust_ratio", "lamb", "lars", "fromage", "novograd"],
)
def test_missing_params_is_a_clear_error(make_tx, pattern):
    tx = make_tx()
    with pytest.raises(ValueError, match=pattern):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
