"""inject_hyperparams, get_hyperparams, set_hyperparams: bit-identical, settable at run time, schedulable."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from cases import OPTIMIZERS, _Scheduled
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, loss, torch_trajectory

import gradtx
from gradtx._core.base import recipe_of
from gradtx._core.tree import float_count

TARGET = {"w": jnp.linspace(-1.0, 1.0, 12).reshape(4, 3), "b": jnp.array([0.5, -0.25, 1.0]), "s": jnp.array(2.0)}


def quadratic(params):
    """A quadratic computed in the params' own dtype (so it runs under strict promotion in any mode)."""
    terms = [
        jnp.sum((1.0 + 0.5 * jnp.cos(jnp.arange(p.size, dtype=p.dtype).reshape(p.shape))) * jnp.square(p - t.astype(p.dtype)))
        for p, t in zip(jax.tree.leaves(params), jax.tree.leaves(TARGET))
    ]
    return 0.5 * sum(terms[1:], terms[0])


def run(tx, params, steps, jit=True):
    """Params after ``steps`` steps of the contract's quadratic; ``jit=False`` runs the update op by op
    (``jax.disable_jit``: no XLA program, so nothing is specialized on constants or fused)."""
    value_and_grad = jax.jit(jax.value_and_grad(quadratic))
    update = lambda g, s, p, value: tx.update(g, s, p, value=value, grad=g, value_fn=quadratic)
    state = tx.init(params)
    for _ in range(steps):
        value, grads = value_and_grad(params)
        if jit:
            updates, state = jax.jit(update)(grads, state, params, value)
        else:
            with jax.disable_jit():
                updates, state = update(grads, state, params, value)
        params = gradtx.apply_updates(params, updates)
    return params


# A torch scheduler's float arguments (OneCycleLR's pct_start, ...) shape its schedule; they are not
# hyperparameters to inject. The optimizers under them are covered by their own cases.
INJECTABLE = [case for case in OPTIMIZERS if not case.id.startswith(("torch.SGD+", "torch.Adam+"))]


def wrapped_and_factory(make_tx):
    """The case under inject_hyperparams, and the factory and arguments it was built from (via its recipe)."""
    tx = make_tx()
    recipe = recipe_of(tx)
    args = [v for k, v in recipe.arguments if k == recipe.var_positional]
    args = list(args[0]) if args else []
    kwargs = {k: v for k, v in recipe.arguments if k != recipe.var_positional}
    already = re.fullmatch(r"inject_hyperparams\((\w+)\)", recipe.name)
    name = already[1] if already else recipe.name
    factory = next(getattr(door, name) for door in (gradtx, gradtx.torch, gradtx.torch.lr_scheduler) if hasattr(door, name))
    wrapped = tx if already else gradtx.inject_hyperparams(factory)(*args, **kwargs)
    return wrapped, factory, args, kwargs


def wrapped_unwrapped_params(make_tx, x64):
    """The case under inject_hyperparams, the unwrapped factory given the stored values, and params."""
    wrapped, factory, args, kwargs = wrapped_and_factory(make_tx)
    params = jax.tree.map(lambda t: jnp.zeros(t.shape, jnp.float64 if x64 else jnp.float32), TARGET)
    state = wrapped.init(params)
    assert isinstance(state, gradtx.InjectHyperparamsState)
    for v in state.hyperparams.values():
        assert v.dtype == (jnp.float64 if x64 else jnp.float32)
    stored = {k: float(v) for k, v in state.hyperparams.items()}
    if x64:  # float64 holds the Python floats exactly
        assert all(stored[k] == v for k, v in kwargs.items() if k in stored)
    return wrapped, factory(*args, **{**kwargs, **stored}), params


@pytest.mark.slow  # breadth: every injectable registry optimizer (CI runs it)
@pytest.mark.parametrize("x64", [True, False], ids=["x64", "32bit"])
@pytest.mark.parametrize("make_tx", INJECTABLE)
def test_wrapped_equals_unwrapped_bit_for_bit(make_tx, x64):
    """For every registered optimizer, the injected version does the same operations on the same values.

    Run op by op, the params are equal bit for bit. Under x64 the stored values are the
    Python floats exactly; in 32-bit mode they are float32, and the wrapped optimizer equals
    the unwrapped one given those float32 values.
    """
    with jax.enable_x64(x64):
        wrapped, unwrapped, params = wrapped_unwrapped_params(make_tx, x64)
        got, want = run(wrapped, params, 4, jit=False), run(unwrapped, params, 4, jit=False)
    assert any(np.any(g != p) for g, p in zip(jax.tree.leaves(got), jax.tree.leaves(params))), "nothing moved"
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.slow  # breadth: every injectable registry optimizer (CI runs it)
@pytest.mark.parametrize("make_tx", INJECTABLE)
def test_wrapped_equals_unwrapped_under_jit(make_tx):
    """Compiled, XLA may specialize the unwrapped step on its constants (``x ** 0.5`` becomes
    ``sqrt(x)``, a multiply and an add fuse differently), which can change a last bit."""
    with jax.enable_x64(True):
        wrapped, unwrapped, params = wrapped_unwrapped_params(make_tx, True)
        got, want = run(wrapped, params, 25), run(unwrapped, params, 25)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ changes at run time vs torch

STEPS, CHANGE_AT = 20, 8

MID_RUN = [
    # id, gradtx factory + kwargs, torch optimizer + kwargs, changes (gradtx names), the same for torch param_groups
    ("sgd-lr", gradtx.sgd, dict(learning_rate=0.02, momentum=0.9), torch.optim.SGD, dict(lr=0.02, momentum=0.9),
     dict(learning_rate=0.005), dict(lr=0.005)),
    ("sgd-lr-momentum", gradtx.sgd, dict(learning_rate=0.02, momentum=0.9), torch.optim.SGD,
     dict(lr=0.02, momentum=0.9), dict(learning_rate=0.04, momentum=0.5), dict(lr=0.04, momentum=0.5)),
    ("adam-lr-betas", gradtx.adam, dict(learning_rate=0.01), torch.optim.Adam, dict(lr=0.01),
     dict(learning_rate=0.03, b1=0.5), dict(lr=0.03, betas=(0.5, 0.999))),
    ("adamw-lr-wd", gradtx.adamw, dict(learning_rate=0.01, weight_decay=0.1), torch.optim.AdamW,
     dict(lr=0.01, weight_decay=0.1), dict(learning_rate=0.002, weight_decay=0.5), dict(lr=0.002, weight_decay=0.5)),
]


@pytest.mark.parametrize(
    ("factory", "kwargs", "torch_cls", "torch_kwargs", "change", "torch_change"),
    [c[1:] for c in MID_RUN],
    ids=[c[0] for c in MID_RUN],
)
def test_set_hyperparams_mid_run_matches_torch_without_recompiling(
    factory, kwargs, torch_cls, torch_kwargs, change, torch_change, request
):
    params = initial_params()
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(params.items())}
    optimizer = torch_cls(list(tp.values()), **torch_kwargs)
    want = []
    for t in range(STEPS):
        if t == CHANGE_AT:
            optimizer.param_groups[0].update(torch_change)
        optimizer.zero_grad()
        loss(tp, torch).backward()
        optimizer.step()
        want.append({k: v.detach().numpy().copy() for k, v in tp.items()})

    tx = gradtx.inject_hyperparams(factory)(**kwargs)
    traces = []
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v) for k, v in params.items()}
        state = tx.init(p)

        @jax.jit
        def step(p, state):
            traces.append(None)
            updates, state = tx.update(jax.grad(lambda q: loss(q, jnp))(p), state, p)
            return gradtx.apply_updates(p, updates), state

        got = []
        for t in range(STEPS):
            if t == CHANGE_AT:
                before = state
                state = gradtx.set_hyperparams(state, **change)
                assert all(float(gradtx.get_hyperparams(state)[k]) == v for k, v in change.items())
                assert gradtx.get_hyperparams(before) != gradtx.get_hyperparams(state)  # pure: `before` unchanged
            p, state = step(p, state)
            got.append({k: np.asarray(v) for k, v in p.items()})
    assert len(traces) == 1, "changing a hyperparameter recompiled the step"
    assert_trajectories_close(f"torch/set-hyperparams-{request.node.callspec.id}", got, want)


def test_set_hyperparams_inside_jit_with_a_traced_value():
    tx = gradtx.inject_hyperparams(gradtx.sgd)(learning_rate=0.1)
    state = tx.init(jnp.zeros(2))

    @jax.jit
    def step(state, lr):
        return tx.update(jnp.ones(2), gradtx.set_hyperparams(state, learning_rate=lr), None)

    updates, state = step(state, 0.25)
    np.testing.assert_array_equal(updates, -0.25)
    assert float(gradtx.get_hyperparams(state)["learning_rate"]) == 0.25


# ------------------------------------------------------------------ dtypes


def test_bf16_params_keep_b2_in_float32_and_train():
    params = jax.tree.map(lambda t: jnp.zeros(t.shape, jnp.bfloat16), TARGET)
    tx = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=3e-2, b2=0.999)
    state = tx.init(params)
    b2 = gradtx.get_hyperparams(state)["b2"]
    assert b2.dtype == jnp.float32 and float(b2) == float(np.float32(0.999)) and float(b2) != 1.0
    trained = run(tx, params, 150)
    for leaf in jax.tree.leaves(trained):
        assert leaf.dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(leaf)))
    assert float(quadratic(trained)) < 0.05 * float(quadratic(params))
    # The failure this avoids: Optax stores the value in the params' dtype, where 0.999 is 1.0.
    optax_state = optax.inject_hyperparams(optax.adam)(learning_rate=3e-2, b2=0.999).init(params)
    assert float(optax_state.hyperparams["b2"]) == 1.0


def test_values_reach_the_factory_weakly_typed():
    seen = []

    @gradtx.transformation
    def probe(step_size: float) -> gradtx.GradientTransformation:
        seen.append(step_size)
        return gradtx.scale(step_size)

    tx = gradtx.inject_hyperparams(probe)(0.5)
    u, _ = tx.update(jnp.ones(2, jnp.bfloat16), tx.init(None))
    assert u.dtype == jnp.bfloat16
    assert isinstance(seen[-1], jax.Array) and seen[-1].weak_type and seen[-1].dtype == jnp.float32


# ------------------------------------------------------------------ schedules as hyperparameters


def test_scheduled_learning_rate_equals_the_same_schedule_given_directly():
    schedule = lambda count: 0.1 * 0.9 ** float_count(count)
    with jax.enable_x64(True):
        wrapped = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=schedule)
        params = jax.tree.map(lambda t: jnp.zeros(t.shape, jnp.float64), TARGET)
        got, want = run(wrapped, params, 10, jit=False), run(gradtx.adam(schedule), params, 10, jit=False)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(g, w)


def test_scheduled_values_are_reported_and_cannot_be_set():
    tx = gradtx.inject_hyperparams(gradtx.sgd)(0.1, momentum=lambda count: 0.5 + 0.1 * float_count(count))
    state = tx.init(jnp.zeros(2))
    np.testing.assert_allclose(gradtx.get_hyperparams(state)["momentum"], 0.5)
    for _ in range(2):
        _, state = tx.update(jnp.ones(2), state)
    np.testing.assert_allclose(gradtx.get_hyperparams(state)["momentum"], 0.7)  # what the next update uses
    with pytest.raises(ValueError, match="'momentum' is given by a schedule"):
        gradtx.set_hyperparams(state, momentum=0.9)


def test_momentum_schedule_matches_torch_sgd_with_momentum_changed_each_step():
    momenta = lambda count: 0.95 - 0.05 * jnp.minimum(float_count(count), 6.0)
    params = initial_params()
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(params.items())}
    optimizer = torch.optim.SGD(list(tp.values()), lr=0.01, momentum=0.95)
    want = []
    for t in range(15):
        optimizer.param_groups[0]["momentum"] = 0.95 - 0.05 * min(t, 6)  # the same schedule, in Python floats
        optimizer.zero_grad()
        loss(tp, torch).backward()
        optimizer.step()
        want.append({k: v.detach().numpy().copy() for k, v in tp.items()})
    with jax.enable_x64(True):
        tx = gradtx.inject_hyperparams(gradtx.sgd)(0.01, momentum=momenta)
        got = gradtx_trajectory(tx, params, 15)
    assert_trajectories_close("torch/inject-momentum-schedule", got, want)


# ------------------------------------------------------------------ what is injected


def test_which_arguments_are_injected():
    params = jnp.zeros(2)
    names = lambda tx: set(gradtx.get_hyperparams(tx.init(params)))
    # Floats, including non-zero defaults; bools, dtypes and None stay static.
    assert names(gradtx.inject_hyperparams(gradtx.adam)(0.1, mu_dtype=jnp.bfloat16)) == {
        "learning_rate", "b1", "b2", "eps"
    }
    # A default of 0 stays static (no weight decay part); given explicitly it is injected.
    assert "weight_decay" in names(gradtx.inject_hyperparams(gradtx.torch.Adam)(lr=0.1, weight_decay=0.0))
    # Integers of `int` parameters and strings stay static; an int given for a float parameter is injected.
    assert names(
        gradtx.inject_hyperparams(gradtx.torch.lr_scheduler.ReduceLROnPlateau)(gradtx.torch.SGD(), patience=3, mode="max")
    ) >= {"factor", "threshold", "eps"}
    assert names(gradtx.inject_hyperparams(gradtx.sgd)(1)) == {"learning_rate"}
    # A callable for a non-numeric parameter (a mask) is not a schedule.
    tx = gradtx.inject_hyperparams(gradtx.adamw)(0.1, mask=lambda p: jax.tree.map(lambda _: True, p))
    assert names(tx) == {"learning_rate", "b1", "b2", "eps", "weight_decay"}
    # static_args keeps a float static.
    assert names(gradtx.inject_hyperparams(gradtx.adam, static_args=("eps", "b1"))(0.1)) == {"learning_rate", "b2"}
    assert names(gradtx.inject_hyperparams(gradtx.adam, static_args="eps")(0.1)) == {"learning_rate", "b1", "b2"}


def test_injected_zero_momentum_keeps_its_buffer_and_can_be_turned_on():
    tx = gradtx.inject_hyperparams(gradtx.sgd)(0.1, momentum=0.0)
    state = tx.init(jnp.zeros(2))
    assert any(leaf.shape == (2,) for leaf in jax.tree.leaves(state.inner_state))  # the buffer exists
    plain = gradtx.sgd(0.1)
    for g in (jnp.ones(2), jnp.full(2, 2.0)):  # the same updates as sgd without momentum
        updates, state = tx.update(g, state)
        np.testing.assert_array_equal(updates, plain.update(g, plain.init(None))[0])
    state = gradtx.set_hyperparams(state, momentum=0.5)
    updates, _ = tx.update(jnp.ones(2), state)
    np.testing.assert_allclose(updates, -0.1 * (0.5 * 2.0 + 1.0))  # the buffer held the previous gradient


# ------------------------------------------------------------------ finding the state at any depth


def _lr(tx_lr: float) -> gradtx.GradientTransformation:
    return gradtx.inject_hyperparams(gradtx.sgd)(learning_rate=tx_lr)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gradtx.chain(gradtx.scale(1.0), _lr(0.1)),
        lambda: gradtx.named_chain(("clip", gradtx.identity()), ("opt", _lr(0.1))),
        lambda: gradtx.masked(_lr(0.1), {"a": True, "b": False}),
        lambda: gradtx.freeze({"a": False, "b": True}, inner=_lr(0.1)),
        lambda: gradtx.with_param_ema(_lr(0.1), 0.9),
        lambda: gradtx.chain(gradtx.partition({"x": _lr(0.1), "y": _lr(0.1)}, {"a": "x", "b": "y"})),
    ],
    ids=["chain", "named_chain", "masked", "freeze", "with_param_ema", "partition"],
)
def test_set_hyperparams_finds_the_values_at_any_depth(make):
    tx = make()
    params = {"a": jnp.ones(2), "b": jnp.ones(2)}
    state = tx.init(params)
    new = gradtx.set_hyperparams(state, learning_rate=0.5)
    assert jax.tree.structure(new) == jax.tree.structure(state)
    updates, _ = jax.jit(tx.update)(params, new, params)
    np.testing.assert_allclose(updates["a"], -0.5)  # every group that has `learning_rate` got it
    old_updates, _ = tx.update(params, state, params)
    np.testing.assert_allclose(old_updates["a"], -0.1)  # the original state is untouched


def test_get_hyperparams_asks_for_a_part_when_a_name_is_in_several_groups():
    tx = gradtx.partition({"x": _lr(0.1), "y": _lr(0.2)}, {"a": "x", "b": "y"})
    state = tx.init({"a": jnp.ones(2), "b": jnp.ones(2)})
    with pytest.raises(ValueError, match=r"'learning_rate' is injected in several places"):
        gradtx.get_hyperparams(state)
    assert float(gradtx.get_hyperparams(state.inner_states["y"])["learning_rate"]) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("state", "new", "error", "pattern"),
    [
        (gradtx.adam(0.1).init(jnp.zeros(2)), dict(learning_rate=0.1), ValueError, "holds no injected hyperparameters"),
        (_lr(0.1).init(jnp.zeros(2)), dict(momentum=0.9), ValueError, r"'momentum' is not an injected hyperparameter"),
        (_lr(0.1).init(jnp.zeros(2)), dict(learning_rate=jnp.ones(2)), TypeError, "is not a real scalar"),
        (_lr(0.1).init(jnp.zeros(2)), dict(learning_rate="0.1"), TypeError, "is not a real scalar"),
    ],
    ids=["no-injection", "unknown-name", "array", "string"],
)
def test_set_hyperparams_errors(state, new, error, pattern):
    with pytest.raises(error, match=pattern):
        gradtx.set_hyperparams(state, **new)


def test_get_hyperparams_without_injection():
    with pytest.raises(ValueError, match="^get_hyperparams: the state holds no injected hyperparameters"):
        gradtx.get_hyperparams(gradtx.sgd(0.1).init(jnp.zeros(2)))


# ------------------------------------------------------------------ the wrapper is recorded


def test_repr_equality_and_describe():
    tx = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=0.1)
    assert repr(tx) == "inject_hyperparams(adam)(learning_rate=0.1)"
    assert tx == gradtx.inject_hyperparams(gradtx.adam)(0.1)
    assert tx != gradtx.inject_hyperparams(gradtx.adam)(0.2)
    assert gradtx.describe(tx).startswith("inject_hyperparams(adam)(learning_rate=0.1, b1=0.9")


def test_errors_name_the_wrapper_and_the_part():
    tx = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=0.1)
    state = tx.init({"w": jnp.ones(2)})
    with pytest.raises(ValueError, match=r"^inject_hyperparams\(adam\) > adam > scale_by_adam: the state does not match"):
        tx.update({"w": jnp.ones(3)}, state)


# ------------------------------------------------------------------ one-cycle: lr and momentum scheduled together

ONECYCLE = [
    ("cos", dict(max_lr=0.05, total_steps=25, pct_start=0.3), dict(base_momentum=0.8, max_momentum=0.95)),
    ("linear-three-phase", dict(max_lr=0.04, total_steps=25, pct_start=0.25, anneal_strategy="linear", three_phase=True),
     dict(base_momentum=0.85, max_momentum=0.9)),
]


@pytest.mark.parametrize(("lr_kwargs", "momentum_kwargs"), [c[1:] for c in ONECYCLE], ids=[c[0] for c in ONECYCLE])
def test_onecycle_momentum_cycling_on_sgd_matches_torch(lr_kwargs, momentum_kwargs, request):
    shared = {k: v for k, v in lr_kwargs.items() if k in ("total_steps", "pct_start", "anneal_strategy", "three_phase")}
    make_tx = lambda: gradtx.inject_hyperparams(gradtx.sgd)(
        gradtx.onecycle_schedule(**lr_kwargs), momentum=gradtx.onecycle_momentum_schedule(**shared, **momentum_kwargs)
    )
    make_torch = lambda ps: _Scheduled(
        torch.optim.SGD(ps, lr=0.01, momentum=0.9),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, **lr_kwargs, cycle_momentum=True, **momentum_kwargs),
    )
    params = initial_params()
    want = torch_trajectory(make_torch, params, 24)
    with jax.enable_x64(True):
        got = gradtx_trajectory(make_tx(), params, 24)
    assert_trajectories_close(f"torch/inject-onecycle-{request.node.callspec.id}", got, want)
