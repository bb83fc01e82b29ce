"""Complex parameters (issue 10): Optax's numbers at the top level, torch's in ``gradtx.torch``.

An optimizer either takes complex leaves and matches its reference live, in complex128, or
refuses them at ``init`` with a ``TypeError`` naming itself. Nothing passes a complex leaf
through untouched.

The problem mixes a complex matrix, a complex vector and a real vector. JAX's gradient of
a real loss with respect to ``z`` is the conjugate of torch's (and of the descent
direction), so both gradtx and Optax are fed ``conj(jax.grad(loss))``, as Optax's own tests
do; torch computes its gradients with autograd.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from cases import OPTIMIZERS

import gradtx

STEPS = 12
RTOL = 1e-9


def _initial() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "r": rng.normal(size=(4,)) * 0.3,
        "v": rng.normal(size=(5,)) + 1j * rng.normal(size=(5,)),
        "w": (rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))) * 0.5,
    }


_rng = np.random.default_rng(11)
_X = _rng.normal(size=(6, 3)) + 1j * _rng.normal(size=(6, 3))
_Y = _rng.normal(size=(6, 4)) + 1j * _rng.normal(size=(6, 4))


def _loss(p: dict[str, Any], xp: Any) -> Any:
    """A real loss of complex and real leaves, written once for torch and for jax."""
    x, y = (xp.asarray(a) for a in (_X, _Y)) if xp is jnp else (torch.as_tensor(a) for a in (_X, _Y))
    r = p["r"].astype(jnp.complex128) if xp is jnp else p["r"]  # jax: an explicit cast (strict promotion)
    residual = x @ p["w"] + r[None, :] - y
    return (residual.real**2 + residual.imag**2).sum() + 0.1 * ((p["v"].real ** 2 + p["v"].imag ** 2) ** 2).sum()


def _jax_trajectory(tx: Any, steps: int = STEPS, promotion: str = "strict") -> list[dict[str, np.ndarray]]:
    """Params after each jitted step of a gradtx or Optax transformation (same API).

    gradtx runs under the suite's strict dtype promotion (every cast explicit); Optax mixes real
    and complex arrays in its complex rules, so it is run with JAX's standard promotion.
    """
    with jax.enable_x64(True), jax.numpy_dtype_promotion(promotion):
        params = {k: jnp.asarray(v) for k, v in _initial().items()}
        state = tx.init(params)
        objective = lambda p: _loss(p, jnp)

        @jax.jit
        def step(params, state):
            value, grads = jax.value_and_grad(objective)(params)
            grads = jax.tree.map(jnp.conj, grads)
            updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=objective)
            return optax.apply_updates(params, updates), state

        out = []
        for _ in range(steps):
            params, state = step(params, state)
            out.append({k: np.asarray(v) for k, v in params.items()})
    return out


def _torch_trajectory(make: Callable[[list[torch.Tensor]], torch.optim.Optimizer]) -> list[dict[str, np.ndarray]]:
    params = {k: torch.tensor(v, requires_grad=True) for k, v in sorted(_initial().items())}
    opt = make(list(params.values()))

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = _loss(params, torch)
        value.backward()
        return value

    out = []
    for _ in range(STEPS):
        opt.step(closure)
        out.append({k: v.detach().numpy().copy() for k, v in params.items()})
    return out


def _assert_close(got: list[dict[str, np.ndarray]], want: list[dict[str, np.ndarray]]) -> None:
    for t, (g, w) in enumerate(zip(got, want, strict=True)):
        for k in w:
            assert g[k].dtype == w[k].dtype, (k, g[k].dtype, w[k].dtype)
            np.testing.assert_allclose(g[k], w[k], rtol=RTOL, atol=1e-13, err_msg=f"leaf {k!r} at step {t + 1}")
    moved = np.max(np.abs(want[-1]["w"] - _initial()["w"]))
    assert moved > 1e-4 and np.iscomplexobj(want[-1]["w"]), "the reference must move the complex leaf"


# Optax's aliases that take complex params (those its own tests run on complex64).
OPTAX = [
    ("adabelief", (1e-2,), {}),
    ("adafactor", (5e-3,), {}),
    ("adagrad", (0.5,), {}),
    ("adam", (0.05,), {}),
    ("adam", (0.05,), {"nesterov": True}),
    ("adamax", (0.05,), {}),
    ("adamaxw", (0.05,), {"weight_decay": 1e-2}),
    ("adamw", (0.05,), {"weight_decay": 1e-2}),
    ("amsgrad", (0.05,), {}),
    ("lamb", (1e-2,), {}),
    ("lars", (0.5,), {}),
    ("lbfgs", (), {}),
    ("nadam", (1e-2,), {}),
    ("nadamw", (1e-2,), {}),
    ("novograd", (1e-2,), {}),
    ("optimistic_adam_v2", (2e-3,), {}),
    ("radam", (5e-2,), {}),
    ("rmsprop", (5e-3,), {}),
    ("rmsprop", (5e-3,), {"momentum": 0.9, "centered": True}),
    ("sgd", (1e-2,), {}),
    ("sgd", (1e-2,), {"momentum": 0.9, "nesterov": True}),
    ("yogi", (5e-2,), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), OPTAX, ids=lambda x: x if isinstance(x, str) else None)
def test_top_level_gives_optax_numbers_on_complex_params(name, args, kwargs):
    want = _jax_trajectory(getattr(optax, name)(*args, **kwargs), promotion="standard")
    got = _jax_trajectory(getattr(gradtx, name)(*args, **kwargs))
    _assert_close(got, want)


def test_clipping_and_schedules_on_complex_params_match_optax():
    # One schedule for both, warm-up then cosine, in float64 (schedules themselves are compared
    # with Optax's in tests/schedules/).
    def schedule(count):
        t = jnp.asarray(count).astype(jnp.float64)
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * jnp.clip(t - 3, 0, STEPS - 3) / (STEPS - 3)))
        return 0.05 * jnp.where(t < 3, t / 3, cosine)

    def make(lib):
        return lib.chain(lib.clip_by_global_norm(1.0), lib.adamw(schedule, weight_decay=1e-2))

    _assert_close(_jax_trajectory(make(gradtx)), _jax_trajectory(make(optax), promotion="standard"))


# torch.optim's optimizers that take complex params (each works on the real view of a complex tensor).
TORCH = [
    ("SGD", {"lr": 1e-2, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 1e-2}),
    ("AdamW", {"lr": 0.05, "weight_decay": 1e-2}),
    ("Adagrad", {"lr": 0.5, "lr_decay": 1e-3}),
    ("Adadelta", {"lr": 1.0}),
    ("Adamax", {"lr": 0.05}),
    ("RMSprop", {"lr": 5e-3, "momentum": 0.9, "centered": True}),
    ("Rprop", {"lr": 1e-2}),
    ("ASGD", {"lr": 1e-2, "t0": 5.0}),
    ("NAdam", {"lr": 1e-2}),
    ("RAdam", {"lr": 5e-2}),
    # One gradtx update is one L-BFGS iteration: torch's step() with max_iter=1.
    ("LBFGS", {"lr": 0.5, "max_iter": 1, "history_size": 4}),
    ("LBFGS", {"lr": 1.0, "max_iter": 1, "max_eval": 26, "history_size": 4, "line_search_fn": "strong_wolfe"}),
]


def _torch_in_float64(fn: Callable[[], Any]) -> Any:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return fn()
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize(("name", "kwargs"), TORCH, ids=lambda x: x if isinstance(x, str) else None)
def test_torch_door_gives_torch_numbers_on_complex_params(name, kwargs):
    want = _torch_in_float64(lambda: _torch_trajectory(lambda p: getattr(torch.optim, name)(p, **kwargs)))
    got = _jax_trajectory(getattr(gradtx.torch, name)(**kwargs))
    _assert_close(got, want)


def test_gradients_follow_optax_convention():
    # The premise of the comparisons: torch's gradient is the conjugate of jax.grad's.
    params = {k: torch.tensor(v, requires_grad=True) for k, v in _initial().items()}
    _loss(params, torch).backward()
    with jax.enable_x64(True):
        grads = jax.grad(lambda p: _loss(p, jnp))({k: jnp.asarray(v) for k, v in _initial().items()})
    for k, p in params.items():
        np.testing.assert_allclose(np.conj(np.asarray(grads[k])), p.grad.numpy(), rtol=1e-12)


REFUSED_BY_TORCH = {"Adafactor", "Muon", "SparseAdam"}


@pytest.mark.parametrize("name", sorted(REFUSED_BY_TORCH))
def test_torch_door_refuses_what_torch_refuses(name):
    with pytest.raises((RuntimeError, ValueError), match="complex"):
        param = torch.zeros(4, 4, dtype=torch.complex64, requires_grad=True)
        param.grad = torch.ones_like(param)
        getattr(torch.optim, name)([param]).step()
    tx = getattr(gradtx.torch, name)()
    with pytest.raises(TypeError, match=rf"{name}.*complex"):
        tx.init({"w": jnp.zeros((4, 4), jnp.complex64)})


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_every_optimizer_takes_complex_params_or_refuses_them_by_name(make):
    """No optimizer passes a complex leaf through untouched or fails obscurely."""
    tx = make()
    params = {"w": jnp.asarray(_initial()["w"], jnp.complex64), "r": jnp.ones(4, jnp.float32)}
    grads = {"w": jnp.full((3, 4), 0.5 - 0.25j, jnp.complex64), "r": jnp.ones(4, jnp.float32)}
    try:
        state = tx.init(params)
    except TypeError as error:
        # The message starts with the transformation that refused, e.g. "lion > scale_by_lion: complex
        # parameters ..." (or "adamw: complex parameters need a complex state dtype" for mu_dtype=bfloat16).
        assert re.match(r"[\w.()]+( > [\w.()]+)*: complex parameters", str(error)), str(error)
        return
    value_fn = lambda p: sum(jnp.sum(jnp.abs(x) ** 2) for x in jax.tree.leaves(p))  # line searches need it
    moved_imaginary = False
    for _ in range(3):  # a few steps: gradient accumulation returns zeros until it applies the sum
        updates, state = tx.update(grads, state, params, value=value_fn(params), grad=grads, value_fn=value_fn)
        assert updates["w"].dtype == jnp.complex64 and updates["w"].shape == (3, 4)
        assert bool(jnp.all(jnp.isfinite(updates["w"])))
        moved_imaginary |= bool(jnp.any(updates["w"].imag != 0))
    assert moved_imaginary, "the imaginary part of a complex parameter never moved"
