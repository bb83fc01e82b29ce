"""The contract every optimizer in tests/cases.py keeps (see SPEC §1)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import OPTIMIZERS

import gradtx

pytestmark = pytest.mark.parametrize("make_tx", OPTIMIZERS)

TARGET = {"w": jnp.linspace(-1.0, 1.0, 12).reshape(4, 3), "b": jnp.array([0.5, -0.25, 1.0]), "s": jnp.array(2.0)}
CURVATURE = jax.tree.map(lambda t: 1.0 + 0.5 * jnp.cos(jnp.arange(t.size, dtype=t.dtype)).reshape(t.shape), TARGET)


def quadratic(params):
    terms = jax.tree.map(lambda p, t, a: 0.5 * jnp.sum(a * jnp.square(p - t)), params, TARGET, CURVATURE)
    return sum(jax.tree.leaves(terms))


def initial_params(dtype=jnp.float32):
    return jax.tree.map(lambda t: jnp.zeros_like(t, dtype), TARGET)


def make_step(tx, loss=quadratic):
    def step(params, state):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=loss)
        return gradtx.apply_updates(params, updates), state

    return step


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in jax.tree.leaves(tree)])


def run(step, params, state, n):
    for _ in range(n):
        params, state = step(params, state)
    return params, state


def test_jit_compiles_once_and_matches_eager(make_tx):
    """Also: an eagerly initialised state can be donated (no leaf shares another's buffer)."""
    tx = make_tx()
    params = initial_params()
    traces = []
    inner = make_step(tx)

    def step(params, state):
        traces.append(None)
        return inner(params, state)

    eager = run(inner, params, tx.init(params), 3)
    fresh = initial_params()
    state = tx.init(fresh)
    buffers = [leaf for leaf in jax.tree.leaves((fresh, state)) if isinstance(leaf, jax.Array)]
    assert len({id(b) for b in buffers}) == len(buffers), "two leaves share one buffer: donation fails"
    jitted = run(jax.jit(step, donate_argnums=(0, 1)), fresh, state, 3)
    assert len(traces) == 1, "the step was traced again: the state changed type between steps"
    np.testing.assert_allclose(flat(eager), flat(jitted), rtol=1e-5, atol=1e-6)


def test_converges_on_a_quadratic_with_a_state_stable_under_scan(make_tx):
    """Run with float64 enabled: run-time scalars (bias corrections, schedules, step counts) must
    not promote float32 params or state to float64, so the scan's carry keeps its dtypes."""
    with jax.enable_x64(True):
        tx = make_tx()
        params = initial_params(jnp.float32)
        state = tx.init(params)
        step = make_step(tx)
        # lax.scan fails if the carry changes structure, shape or dtype between steps.
        run_scanned = jax.jit(lambda p, s: jax.lax.scan(lambda c, _: (step(*c), None), (p, s), length=300)[0])
        new_params, new_state = run_scanned(params, state)
    assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(new_params))
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state)):
        assert a.dtype == b.dtype and a.shape == b.shape
    assert float(quadratic(new_params)) < 0.05 * float(quadratic(params))


def test_init_works_on_abstract_params(make_tx):
    tx = make_tx()
    abstract = jax.tree.map(lambda t: jax.ShapeDtypeStruct(t.shape, jnp.float32), TARGET)
    shapes = jax.eval_shape(tx.init, abstract)
    concrete = tx.init(initial_params())
    assert jax.tree.structure(shapes) == jax.tree.structure(concrete)


def test_bf16_gradients_give_bf16_updates(make_tx):
    """bfloat16 gradients, for float32 and for bfloat16 params (one tree holding both)."""
    tx = make_tx()
    # The bfloat16 copy's keys extend the float32 ones ("w" and "w_bf16"), so path masks match both.
    params = {**initial_params(jnp.float32), **{f"{k}_bf16": v for k, v in initial_params(jnp.bfloat16).items()}}
    state = tx.init(params)
    grads = jax.tree.map(lambda p: jnp.full(p.shape, 0.5, jnp.bfloat16), params)

    def loss(p):
        as_f32 = lambda x: x.astype(jnp.float32)
        return quadratic({k: as_f32(p[k]) for k in TARGET}) + quadratic({k: as_f32(p[f"{k}_bf16"]) for k in TARGET})

    update = jax.jit(lambda g, s, p: tx.update(g, s, p, value=loss(p), grad=g, value_fn=loss))
    for _ in range(2):
        updates, new_state = update(grads, state, params)
        for u in jax.tree.leaves(updates):
            assert u.dtype == jnp.bfloat16
            assert bool(jnp.all(jnp.isfinite(u)))
        for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state)):
            assert a.dtype == b.dtype
        params, state = gradtx.apply_updates(params, updates), new_state


def test_none_integer_and_python_float_leaves_and_unknown_extra_args(make_tx):
    """None and integer leaves pass through; a Python float is a parameter, eagerly and under jit;
    an extra argument no part asks for is ignored."""
    tx = make_tx()
    # "w_py" extends "w", so the registry's path masks treat it as they treat "w".
    params = {**initial_params(), "w_py": 1.5, "none": None, "steps": jnp.array(7, jnp.int32)}
    state = tx.init(params)
    loss = lambda p: quadratic({k: p[k] for k in TARGET}) + (p["w_py"] - 1.0) ** 2
    grads = {**jax.grad(loss)({k: params[k] for k in (*TARGET, "w_py")}), "none": None, "steps": jnp.array(0, jnp.int32)}
    grads["w_py"] = float(grads["w_py"])

    def update(grads, state, params):
        return tx.update(grads, state, params, value=loss(params), grad=grads, value_fn=loss, some_unknown_arg=3)[0]

    updates = update(grads, state, params)
    assert jax.tree.structure(updates) == jax.tree.structure(params)
    assert updates["none"] is None
    assert updates["steps"].dtype == jnp.int32 and int(updates["steps"]) == 0
    new = gradtx.apply_updates(params, updates)
    assert int(new["steps"]) == 7
    assert float(new["w_py"]) != 1.5 or float(updates["w_py"]) == 0.0
    jitted = jax.jit(update)(grads, state, params)
    np.testing.assert_allclose(flat(jitted), flat(updates), rtol=1e-6, atol=1e-7)


def test_mismatched_state_names_the_transformation(make_tx):
    tx = make_tx()
    params = initial_params()
    state = tx.init(params)
    other = {**params, "w": jnp.zeros((5, 3))}
    grads = {**jax.grad(quadratic)(params), "w": jnp.zeros((5, 3))}
    update = lambda: tx.update(grads, state, other, value=jnp.array(1.0), grad=grads, value_fn=quadratic)
    state_shapes = lambda p: [leaf.shape for leaf in jax.tree.leaves(jax.eval_shape(tx.init, p))]
    if state_shapes(params) == state_shapes(other):
        update()  # Nothing in the state depends on the shape of "w" (e.g. plain sgd).
        return
    name = repr(tx).split("(")[0]
    with pytest.raises(ValueError, match=rf"^{name}\b.*(does not match|structure|shape)"):
        update()


def test_repr_names_the_optimizer(make_tx):
    tx = make_tx()
    name = repr(tx).split("(")[0]
    assert name and any(hasattr(door, name) for door in (gradtx, gradtx.torch, gradtx.torch.lr_scheduler)), repr(tx)
    assert tx == make_tx(), "the same factory and arguments must give equal transformations"
