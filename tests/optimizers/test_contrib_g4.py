"""Issue 12 (G4): the contrib optimizers the generic 25-step parity harness cannot drive.

sophia needs ``obj_fn=``, sam wants ``optax``'s extra-args-free update and an opaque mode
with ``grad_fn=``, dpsgd takes per-example gradients, split_real_and_imaginary complex
params, and Optax's scale_by_distance_over_gradients only runs with rank promotion allowed.
Every expected value comes from live optax, in float64 (rtol 1e-9) or, for the random ones,
with the same key (seeded equality).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from reference import assert_trajectories_close, initial_params, loss

import gradtx

STEPS = 25


def trajectory(tx, params, *, extra=lambda p, value, objective: {}, optax_side=False, steps=STEPS):
    """Params after each jitted step, in float64; ``extra`` gives the update's keyword arguments."""
    promotion = "standard" if optax_side else "strict"
    with jax.enable_x64(True), jax.numpy_dtype_promotion(promotion), jax.numpy_rank_promotion(
        "allow" if optax_side else "raise"
    ):
        p = jax.tree.map(lambda v: jnp.asarray(v, jnp.float64), params)
        objective = lambda q: loss(q, jnp)
        state = tx.init(p)

        @jax.jit
        def step(p, state):
            value, grads = jax.value_and_grad(objective)(p)
            updates, state = tx.update(grads, state, p, **extra(p, value, objective))
            return jax.tree.map(lambda a, u: a + u, p, updates), state

        out = []
        for _ in range(steps):
            p, state = step(p, state)
            out.append({k: np.asarray(v) for k, v in p.items()})
    return out


def compare(name, ours, theirs, extra=lambda p, value, objective: {}):
    params = initial_params()
    want = trajectory(theirs, params, extra=extra, optax_side=True)
    got = trajectory(ours, params, extra=extra)
    return assert_trajectories_close(f"optax/{name}", got, want)


# --------------------------------------------------------------------------- sophia

SOPHIA = [
    pytest.param(lambda m: m.sophia(0.02), id="defaults"),
    pytest.param(
        lambda m: m.sophia(
            0.01, 0.9, 0.95, 0.1, 0.01, {"w": True, "b": False, "v": True}, 0.05, None, 3,
            m.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(7)),
        ),
        id="no-clip-every-3-key7",
    ),
    pytest.param(lambda m: m.sophia(0.05, update_interval=1, clip_threshold=0.5, gamma=0.1), id="every-step"),
]


@pytest.mark.parametrize("make", SOPHIA)
def test_sophia_matches_optax(make):
    extra = lambda p, value, objective: {"obj_fn": objective}
    compare("sophia", make(gradtx), make(optax.contrib), extra)


def test_hutchinson_gives_optax_random_signs():
    p = {"a": jnp.arange(3.0), "b": jnp.ones((2, 2))}
    f = lambda q: jnp.sum(jnp.sin(q["a"])) + jnp.sum(q["b"] ** 3) * jnp.sum(q["a"])
    ours, theirs = gradtx.hutchinson_estimator_diag_hessian(), optax.contrib.hutchinson_estimator_diag_hessian()
    s1, s2 = ours.init(p), theirs.init(p)
    for _ in range(3):
        u1, s1 = ours.update(p, s1, p, obj_fn=f)
        u2, s2 = theirs.update(p, s2, p, obj_fn=f)
        jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), u1, u2)


def test_sophia_needs_obj_fn_and_params():
    tx = gradtx.sophia(0.1)
    p = jnp.ones(2)
    with pytest.raises(ValueError, match="obj_fn"):
        tx.update(p, tx.init(p), p)
    with pytest.raises(ValueError, match="params"):
        tx.update(p, tx.init(p), obj_fn=jnp.sum)


# --------------------------------------------------------------------------- sam


def _drop_extra_args(tx):
    """optax.contrib.sam's transparent update takes no ``value=``-style extra arguments."""
    return optax.GradientTransformation(tx.init, lambda u, s, p=None, **_: tx.update(u, s, p))


SAM = [
    pytest.param(lambda m: m.sam(m.sgd(0.05), m.chain(m.normalize(), m.sgd(0.01))), id="sgd"),
    pytest.param(lambda m: m.sam(m.adam(0.02), m.adam(0.01), 3, False), id="adam-period3-noreset"),
    pytest.param(lambda m: m.sam(m.adam(0.02), m.chain(m.normalize(), m.sgd(0.02)), 1), id="period1"),
]


@pytest.mark.parametrize("make", SAM)
def test_sam_transparent_matches_optax(make):
    ns = type("optax_ns", (), {})()  # optax's names for the factory
    ns.sam, ns.normalize = optax.contrib.sam, optax.contrib.normalize
    ns.sgd, ns.adam, ns.chain = optax.sgd, optax.adam, optax.chain
    theirs = _drop_extra_args(make(ns))
    compare("sam", make(gradtx), theirs)


@pytest.mark.parametrize("reset_state", [True, False])
def test_sam_opaque_matches_optax(reset_state):
    def extra(p, value, objective):
        return {"grad_fn": lambda q, i: jax.grad(objective)(q)}

    ours = gradtx.sam(gradtx.adam(0.02), gradtx.chain(gradtx.normalize(), gradtx.sgd(0.03)), 3, reset_state, True)
    theirs = optax.contrib.sam(
        optax.adam(0.02), optax.chain(optax.contrib.normalize(), optax.sgd(0.03)), 3, reset_state, True
    )
    compare("sam-opaque", ours, theirs, extra)


def test_sam_opaque_needs_grad_fn():
    tx = gradtx.sam(gradtx.sgd(0.1), gradtx.sgd(0.1), opaque_mode=True)
    p = jnp.ones(2)
    with pytest.raises(ValueError, match="grad_fn"):
        tx.update(p, tx.init(p), p)


def test_sam_checks_sync_period():
    with pytest.raises(ValueError, match="sync_period"):
        gradtx.sam(gradtx.sgd(0.1), gradtx.sgd(0.1), 0)


# --------------------------------------------------------------------------- dpsgd


def _per_example(p, n=6):
    """Per-example gradients of a small least-squares problem (leaves with a batch axis first)."""
    x = jnp.linspace(-1.0, 1.0, n * 3, dtype=jnp.float64).reshape(n, 3)
    y = jnp.cos(jnp.arange(n, dtype=jnp.float64))

    def example_loss(q, xi, yi):
        return (jnp.dot(xi, q["w"]) + q["b"] - yi) ** 2

    return jax.vmap(jax.grad(example_loss), (None, 0, 0))(p, x, y)


def _dp_trajectory(tx, promotion):
    with jax.enable_x64(True), jax.numpy_dtype_promotion(promotion):
        p = {"w": jnp.array([0.3, -0.2, 0.5], jnp.float64), "b": jnp.array(0.1, jnp.float64)}
        state = tx.init(p)

        @jax.jit
        def step(p, s):
            u, s = tx.update(_per_example(p), s, p)
            return jax.tree.map(jnp.add, p, u), s

        out = []
        for _ in range(10):
            p, state = step(p, state)
            out.append(jax.tree.map(np.asarray, p))
    return out


@pytest.mark.parametrize(
    "args",
    [
        pytest.param({"learning_rate": 0.1, "l2_norm_clip": 0.5, "noise_multiplier": 0.3, "seed": 3}, id="plain"),
        pytest.param({"learning_rate": 0.05, "l2_norm_clip": 2.0, "noise_multiplier": 1.1, "seed": 11,
                      "momentum": 0.9, "nesterov": True}, id="nesterov"),
    ],
)
def test_dpsgd_is_seeded_equal_to_optax(args):
    with pytest.warns(DeprecationWarning):  # optax.contrib.dpsgd goes through its deprecated `seed=`
        theirs = optax.contrib.dpsgd(**args)
    want = _dp_trajectory(theirs, "standard")
    got = _dp_trajectory(gradtx.dpsgd(**args), "strict")
    for g, w in zip(got, want):
        for k in w:
            np.testing.assert_allclose(g[k], w[k], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("key", [lambda: 5, lambda: jax.random.key(5)], ids=["int", "typed-key"])
def test_differentially_private_aggregate_is_seeded_equal_to_optax(key):
    ours = gradtx.differentially_private_aggregate(1.0, 0.7, key())
    theirs = optax.contrib.differentially_private_aggregate(1.0, 0.7, key())
    with jax.enable_x64(True):
        p = {"w": jnp.zeros(3, jnp.float64), "b": jnp.zeros((), jnp.float64)}
        grads = _per_example({"w": jnp.array([0.3, -0.2, 0.5]), "b": jnp.array(0.1)})
        s1, s2 = ours.init(p), theirs.init(p)
        for _ in range(3):
            u1, s1 = ours.update(grads, s1)
            with jax.numpy_dtype_promotion("standard"):
                u2, s2 = theirs.update(grads, s2)
            jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15), u1, u2)


def test_differentially_private_aggregate_refuses_key_and_seed():
    with pytest.raises(ValueError, match="key"), pytest.warns(DeprecationWarning):
        gradtx.differentially_private_aggregate(1.0, 0.5, 1, seed=2)


# --------------------------------------------------------------------------- complex params


def test_split_real_and_imaginary_matches_optax_on_complex_params():
    def run(tx, promotion):
        with jax.enable_x64(True), jax.numpy_dtype_promotion(promotion):
            target = jnp.array([1.0 - 2.0j, 0.5 + 0.25j, -1.0j], jnp.complex128)
            z = {"z": jnp.zeros(3, jnp.complex128), "r": jnp.ones(2, jnp.float64)}
            f = lambda q: jnp.sum(jnp.abs(q["z"] - target) ** 2) + jnp.sum(q["r"] ** 2)
            state = tx.init(z)
            out = []
            for _ in range(10):
                g = jax.tree.map(jnp.conj, jax.grad(f)(z))
                u, state = tx.update(g, state, z)
                z = jax.tree.map(jnp.add, z, u)
                out.append(jax.tree.map(np.asarray, z))
        return out

    want = run(optax.contrib.split_real_and_imaginary(optax.adam(0.05)), "standard")
    got = run(gradtx.split_real_and_imaginary(gradtx.adam(0.05)), "strict")
    for g, w in zip(got, want):
        for k in w:
            assert g[k].dtype == w[k].dtype
            np.testing.assert_allclose(g[k], w[k], rtol=1e-9, atol=1e-13)


# --------------------------------------------------------------------------- momo


@pytest.mark.parametrize("name", ["momo", "momo_adam"])
def test_momo_needs_the_loss_value(name):
    tx = getattr(gradtx, name)()
    p = jnp.ones(2)
    with pytest.raises(ValueError, match="value="):
        tx.update(p, tx.init(p), p)


# --------------------------------------------------------------------------- layer-wise DoG


@pytest.mark.parametrize(
    "args", [pytest.param((), id="defaults"), pytest.param((1e-3, 1e-6, jnp.float64, -0.5), id="args")]
)
def test_scale_by_distance_over_gradients_matches_optax(args):
    kwargs = {} if args else {"global_scale": -1.0}
    ours = gradtx.scale_by_distance_over_gradients(*args, **kwargs)
    theirs = optax.scale_by_distance_over_gradients(*args, **kwargs)
    compare("scale_by_distance_over_gradients", ours, theirs)


def test_scale_by_distance_over_gradients_keeps_scalar_leaves_scalar():
    """Optax defect: its per-leaf sum of squares has shape (1,), so a scalar leaf's update has shape (1,)."""
    p = {"s": jnp.array(2.0), "v": jnp.ones(3)}
    g = {"s": jnp.array(0.5), "v": jnp.full(3, 0.5)}
    theirs = optax.scale_by_distance_over_gradients()
    with jax.numpy_rank_promotion("allow"):
        want, _ = theirs.update(g, theirs.init(p), p)
    assert want["s"].shape == (1,)  # Optax: the scalar param would become a vector
    ours = gradtx.scale_by_distance_over_gradients()
    got, _ = ours.update(g, ours.init(p), p)
    assert got["s"].shape == ()
    np.testing.assert_allclose(got["s"], want["s"][0], rtol=1e-6)
    np.testing.assert_allclose(got["v"], want["v"], rtol=1e-6)
