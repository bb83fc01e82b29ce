"""gradtx.torch.Adafactor against torch.optim.Adafactor, and gradtx.adafactor against optax.adafactor, live.

The problem has a matrix, a 3-D leaf (factored over its last two axes), a vector and a
scalar (both kept whole), so every branch of torch's rule runs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from cases import _Scheduled
from reference import assert_trajectories_close

import gradtx

STEPS = 25

_rng = np.random.default_rng(11)
INITIAL = {
    "matrix": _rng.normal(size=(4, 3)),
    "cube": _rng.normal(size=(2, 3, 5)) * 0.5,
    "vector": _rng.normal(size=(5,)) * 0.1,
    "scalar": np.array(0.7),
}
_X = _rng.normal(size=(10, 4))
_Y = np.tanh(_rng.normal(size=(10, 5)))


def loss(p, xp, sign=1.0):
    x, y = (jnp.asarray(a) if xp is jnp else torch.as_tensor(a) for a in (_X, _Y))
    h = xp.tanh(x @ p["matrix"]) @ p["cube"][0] + p["vector"][None, :] * p["scalar"]
    # Bounded below (the quartic beats the coupling), so `maximize` of -loss stays tame.
    coupling = 0.5 * (p["cube"][1] ** 2).sum() + (p["cube"][1, 0] * p["vector"]).sum()
    return sign * (((h - y) ** 2).sum() + coupling + 0.25 * (p["vector"] ** 4).sum())


def torch_run(make_optimizer, sign=1.0):
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(INITIAL.items())}
    opt = make_optimizer(tp)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss(tp, torch, sign).backward()
        opt.step()
        out.append({k: v.detach().numpy().copy() for k, v in tp.items()})
    return out


def gradtx_run(tx, sign=1.0, leaves=tuple(INITIAL)):
    """The trajectory of ``leaves`` (the other leaves stay at their initial values)."""
    with jax.enable_x64(True):
        p = {k: jnp.asarray(INITIAL[k], jnp.float64) for k in leaves}
        state = tx.init(p)
        fixed = {k: jnp.asarray(v) for k, v in INITIAL.items() if k not in leaves}

        @jax.jit
        def step(p, state):
            grads = jax.grad(lambda q: loss({**fixed, **q}, jnp, sign))(p)
            updates, state = tx.update(grads, state, p)
            return gradtx.apply_updates(p, updates), state

        out = []
        for _ in range(STEPS):
            p, state = step(p, state)
            out.append({k: np.asarray(v) for k, v in p.items()})
    return out


def _all(**kwargs):
    return lambda params: torch.optim.Adafactor(list(params.values()), **kwargs)


CASES = [
    pytest.param(lambda: gradtx.torch.Adafactor(), _all(), 1.0, id="defaults"),
    pytest.param(
        lambda: gradtx.torch.Adafactor(lr=0.05, beta2_decay=-0.5, eps=(1e-6, 1e-2), d=1.5, weight_decay=0.1),
        _all(lr=0.05, beta2_decay=-0.5, eps=(1e-6, 1e-2), d=1.5, weight_decay=0.1),
        1.0,
        id="args-wd",
    ),
    pytest.param(  # lr above 1/sqrt(t): the relative step is 1/sqrt(t); no clipping
        lambda: gradtx.torch.Adafactor(lr=1.0, eps=(None, 0.0), d=float("inf"), maximize=True),
        _all(lr=1.0, eps=(None, 0.0), d=float("inf"), maximize=True),
        -1.0,
        id="large-lr-no-clip-maximize",
    ),
    pytest.param(  # min(lr_t, 1/sqrt(t)) switches sides during the run
        lambda: gradtx.torch.Adafactor(lr=lambda t: 0.5 * 0.9 ** jnp.asarray(t, jnp.float64), weight_decay=0.2),
        lambda params: _Scheduled(
            torch.optim.Adafactor(list(params.values()), lr=0.5, weight_decay=0.2),
            lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9),
        ),
        1.0,
        id="lr-schedule",
    ),
    pytest.param(  # param groups: decay on the factored leaves only
        lambda: gradtx.torch.Adafactor(lr=0.03, weight_decay=0.3, weight_decay_mask=r"matrix|cube"),
        lambda params: torch.optim.Adafactor(
            [
                {"params": [params["matrix"], params["cube"]]},
                {"params": [params["vector"], params["scalar"]], "weight_decay": 0.0},
            ],
            lr=0.03,
            weight_decay=0.3,
        ),
        1.0,
        id="weight-decay-mask",
    ),
]


@pytest.mark.parametrize(("make_tx", "make_torch", "sign"), CASES)
def test_matches_torch(make_tx, make_torch, sign, request):
    want = torch_run(make_torch, sign)
    got = gradtx_run(make_tx(), sign)
    assert_trajectories_close(f"torch/adafactor-{request.node.callspec.id}", got, want)


def test_factored_state_has_row_and_column_shapes_only():
    tx = gradtx.torch.Adafactor()
    state = tx.init({k: jnp.asarray(v, jnp.float32) for k, v in INITIAL.items()})
    factored_state = state[0][0]  # chain(chain(factored rms, ...), scale_by_learning_rate)
    assert isinstance(factored_state, gradtx.ScaleByFactoredRmsState)
    shapes = jax.tree.map(jnp.shape, factored_state.nu)
    assert shapes["matrix"] == gradtx.FactoredMoment((4, 1), (1, 3), None)
    assert shapes["cube"] == gradtx.FactoredMoment((2, 3, 1), (2, 1, 5), None)
    assert shapes["vector"] == gradtx.FactoredMoment(None, None, (5,))
    assert shapes["scalar"] == gradtx.FactoredMoment(None, None, ())


OPTAX_CASES = [
    pytest.param((), {}, id="defaults"),
    pytest.param((0.05, 2, 0.7, 0, False, 0.5, 0.9, None, 1e-3, 1e-20, True, None), {}, id="positional"),
    pytest.param((0.1,), {"min_dim_size_to_factor": 3, "momentum": 0.8, "dtype_momentum": None, "weight_decay_rate": 0.01,
                          "weight_decay_mask": {"matrix": True, "cube": True, "vector": False, "scalar": False}},
                 id="factored-momentum-wd-mask"),
    pytest.param((0.02,), {"min_dim_size_to_factor": 2, "decay_rate": 0.5, "clipping_threshold": None, "eps": 1e-10,
                           "multiply_by_parameter_scale": False}, id="factored-cube-no-clip-no-scale"),
    pytest.param((gradtx.exponential_schedule(0.1, 0.95),), {"factored": False}, id="schedule-unfactored"),
]


@pytest.mark.parametrize(("args", "kwargs"), OPTAX_CASES)
def test_adafactor_matches_optax(args, kwargs, request):
    with jax.numpy_dtype_promotion("standard"):  # optax's own code relies on implicit promotion
        want = gradtx_run(optax.adafactor(*args, **kwargs))
    got = gradtx_run(gradtx.adafactor(*args, **kwargs))
    assert_trajectories_close(f"optax/adafactor-{request.node.callspec.id}", got, want)


@pytest.mark.parametrize("shape", [(3, 3), (4, 4, 2), (2, 5, 3)])
def test_scale_by_factored_rms_factors_optaxs_axes(shape):
    """Ties and 3-D leaves: the two largest axes are chosen as ``np.argsort`` orders them (Optax's rule)."""
    g = np.random.default_rng(0).normal(size=(3, *shape))
    with jax.enable_x64(True):
        got_tx, want_tx = gradtx.scale_by_factored_rms(min_dim_size_to_factor=2), optax.scale_by_factored_rms(min_dim_size_to_factor=2)
        p = jnp.zeros(shape)
        got_state, want_state = got_tx.init(p), want_tx.init(p)
        for x in g:
            got, got_state = got_tx.update(jnp.asarray(x), got_state, p)
            with jax.numpy_dtype_promotion("standard"):
                want, want_state = want_tx.update(jnp.asarray(x), want_state, p)
            np.testing.assert_allclose(got, want, rtol=1e-12)
        for a, b in zip(got_state, want_state):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_mismatched_factored_state_is_reported():
    tx = gradtx.scale_by_factored_rms(min_dim_size_to_factor=2)
    state = tx.init({"w": jnp.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"^scale_by_factored_rms: the state does not match the updates"):
        tx.update({"w": jnp.zeros((4, 5))}, state)
