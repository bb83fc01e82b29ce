"""Every torch scheduler against the live ``torch.optim.lr_scheduler``, in float64 (rtol 1e-9).

Each case builds ``torch.optim.lr_scheduler.X(optimizer, **kwargs)`` on a torch optimizer and
``gradtx.torch.lr_scheduler.X(gradtx.torch.<same optimizer>, **kwargs)`` with the same
arguments. The rate (or the momentum) read from ``optimizer.param_groups[0]`` after ``k``
calls of ``scheduler.step()`` is compared with the rate the gradtx optimizer's ``k + 1``-th
update uses: its ``lr`` schedule evaluated under ``jit`` on int32 counts, or, where the
momentum cycles (``inject_hyperparams``), the values :func:`gradtx.get_hyperparams` reads
from the state after ``k`` updates.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from cases import _Scheduled
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, torch_trajectory
from schedules.helpers import compare
from torch.optim import lr_scheduler as sched

import gradtx
import gradtx.torch
from gradtx._core.base import recipe_of
from gradtx.torch import lr_scheduler as gsched

LR = 0.1
OPTIMIZERS = {"sgd": ("SGD", dict(lr=LR, momentum=0.9)), "adam": ("Adam", dict(lr=LR, betas=(0.9, 0.999)))}


class Case(NamedTuple):
    id: str
    scheduler: str  # the name in both torch.optim.lr_scheduler and gradtx.torch.lr_scheduler
    kwargs: dict[str, Any]  # the same keyword arguments for both
    steps: int  # the largest k compared (at least three periods where the schedule has one)
    read: str = "lr"  # "lr", or "momentum" (SGD's momentum / Adam's betas[0])
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adam"
    parts: tuple[tuple[str, dict[str, Any]], ...] = ()  # SequentialLR's schedulers (name, kwargs)


def _seq(id, parts, milestones, steps):
    return Case(id, "SequentialLR", dict(milestones=milestones), steps, parts=tuple(parts))


NO_MOMENTUM = dict(cycle_momentum=False)


def _warmup(k):
    """A linear warm-up factor; gradtx calls it on an integer array, torch on a Python int."""
    return jnp.minimum(1.0, (k + 1) / 6) if isinstance(k, jax.Array) else min(1.0, (k + 1) / 6)

CASES = [
    Case("StepLR-7-0.5", "StepLR", dict(step_size=7, gamma=0.5), 40),
    Case("StepLR-3-0.8", "StepLR", dict(step_size=3, gamma=0.8), 20),
    Case("MultiStepLR-repeated", "MultiStepLR", dict(milestones=[5, 12, 12, 20], gamma=0.3), 30),
    Case("MultiStepLR-from-0-unsorted", "MultiStepLR", dict(milestones=[7, 0], gamma=0.5), 15),
    Case("ExponentialLR-0.9", "ExponentialLR", dict(gamma=0.9), 60),
    Case("ExponentialLR-1.05", "ExponentialLR", dict(gamma=1.05), 30),
    Case("ConstantLR-defaults", "ConstantLR", {}, 10),
    Case("ConstantLR-0.25-6", "ConstantLR", dict(factor=0.25, total_iters=6), 20),
    Case("ConstantLR-0.5-1", "ConstantLR", dict(factor=0.5, total_iters=1), 5),
    Case("LinearLR-defaults", "LinearLR", {}, 10),
    Case("LinearLR-warmup", "LinearLR", dict(start_factor=0.1, total_iters=8), 25),
    Case("LinearLR-decay", "LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=5), 15),
    Case("PolynomialLR-defaults", "PolynomialLR", {}, 10),
    Case("PolynomialLR-2.0", "PolynomialLR", dict(total_iters=10, power=2.0), 30),
    Case("PolynomialLR-0.5", "PolynomialLR", dict(total_iters=7, power=0.5), 21),
    Case("CosineAnnealingLR-10-min", "CosineAnnealingLR", dict(T_max=10, eta_min=0.001), 60),
    Case("CosineAnnealingLR-7", "CosineAnnealingLR", dict(T_max=7), 45),
    Case("CosineAnnealingWarmRestarts-5-1", "CosineAnnealingWarmRestarts", dict(T_0=5, eta_min=0.01), 30),
    Case("CosineAnnealingWarmRestarts-3-2", "CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2), 100),
    Case("CyclicLR-triangular", "CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, **NO_MOMENTUM), 40),
    Case(
        "CyclicLR-triangular2",
        "CyclicLR",
        dict(base_lr=0.02, max_lr=0.2, step_size_up=3, step_size_down=5, mode="triangular2", **NO_MOMENTUM),
        40,
    ),
    Case(
        "CyclicLR-exp_range",
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=5, step_size_down=2, mode="exp_range", gamma=0.97,
             **NO_MOMENTUM),
        40,
    ),
    Case(
        "CyclicLR-scale_fn-iterations",
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 1.0 / (1.0 + 0.1 * x),
             scale_mode="iterations", **NO_MOMENTUM),
        30,
    ),
    Case(
        "CyclicLR-scale_fn-cycle",
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=3, scale_fn=lambda c: 0.7**c,
             **NO_MOMENTUM),
        30,
    ),
    Case("CyclicLR-defaults-lr", "CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4), 30),
    Case(
        "CyclicLR-triangular2-momentum",
        "CyclicLR",
        dict(base_lr=0.02, max_lr=0.2, step_size_up=3, step_size_down=5, mode="triangular2",
             base_momentum=0.8, max_momentum=0.95),
        40,
        read="momentum",
    ),
    Case(
        "CyclicLR-exp_range-beta1",
        "CyclicLR",
        dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range", gamma=0.9, base_momentum=0.85,
             max_momentum=0.99),
        30,
        read="momentum",
        optimizer="adam",
    ),
    Case("OneCycleLR-cos", "OneCycleLR", dict(max_lr=0.1, total_steps=30), 29),
    Case("OneCycleLR-epochs", "OneCycleLR", dict(max_lr=0.1, epochs=3, steps_per_epoch=7), 20),
    Case(
        "OneCycleLR-linear-three-phase",
        "OneCycleLR",
        dict(max_lr=0.5, total_steps=23, pct_start=0.4, anneal_strategy="linear", div_factor=10.0,
             final_div_factor=100.0, three_phase=True),
        22,
        optimizer="adam",
    ),
    Case("OneCycleLR-cos-three-phase", "OneCycleLR", dict(max_lr=0.3, total_steps=40, pct_start=0.25,
                                                          three_phase=True, **NO_MOMENTUM), 39),
    Case("OneCycleLR-no-warmup", "OneCycleLR", dict(max_lr=0.2, total_steps=3, pct_start=0.3), 2),
    Case(
        "OneCycleLR-cos-momentum",
        "OneCycleLR",
        dict(max_lr=0.1, total_steps=30, base_momentum=0.8, max_momentum=0.9),
        29,
        read="momentum",
    ),
    Case(
        "OneCycleLR-linear-three-phase-beta1",
        "OneCycleLR",
        dict(max_lr=0.5, total_steps=23, pct_start=0.4, anneal_strategy="linear", three_phase=True),
        22,
        read="momentum",
        optimizer="adam",
    ),
    Case("LambdaLR-power", "LambdaLR", dict(lr_lambda=lambda k: 0.93**k), 30),
    Case("LambdaLR-warmup", "LambdaLR", dict(lr_lambda=_warmup), 15),
    Case("MultiplicativeLR-constant", "MultiplicativeLR", dict(lr_lambda=lambda k: 0.95), 30),
    Case("MultiplicativeLR-varying", "MultiplicativeLR", dict(lr_lambda=lambda k: 1.0 - 0.5 / (k + 4)), 30),
    _seq(
        "SequentialLR-linear-cosine",
        [("LinearLR", dict(start_factor=0.1, total_iters=5)), ("CosineAnnealingLR", dict(T_max=20))],
        [5],
        50,
    ),
    _seq(
        "SequentialLR-three",
        [("ConstantLR", dict(factor=0.5, total_iters=3)), ("ExponentialLR", dict(gamma=0.9)),
         ("StepLR", dict(step_size=4, gamma=0.5))],
        [6, 15],
        30,
    ),
]


def _torch_scheduler(case: Case, optimizer: torch.optim.Optimizer) -> Any:
    if case.parts:
        parts = [getattr(sched, name)(optimizer, **kwargs) for name, kwargs in case.parts]
        return sched.SequentialLR(optimizer, parts, **case.kwargs)
    return getattr(sched, case.scheduler)(optimizer, **case.kwargs)


def _gradtx_scheduler(case: Case, tx: gradtx.GradientTransformation) -> gradtx.GradientTransformation:
    if case.parts:
        parts = [getattr(gsched, name)(tx, **kwargs) for name, kwargs in case.parts]
        return gsched.SequentialLR(tx, parts, **case.kwargs)
    return getattr(gsched, case.scheduler)(tx, **case.kwargs)


def torch_values(case: Case) -> np.ndarray:
    """What ``case.read`` holds after k = 0, 1, ..., case.steps calls of ``scheduler.step()``."""
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    name, kwargs = OPTIMIZERS[case.optimizer]
    optimizer = getattr(torch.optim, name)([param], **kwargs)
    scheduler = _torch_scheduler(case, optimizer)

    def read() -> float:
        group = optimizer.param_groups[0]
        if case.read == "lr":
            return float(group["lr"])
        return float(group["momentum"] if case.optimizer == "sgd" else group["betas"][0])

    values = [read()]
    for _ in range(case.steps):
        param.grad = torch.ones_like(param)
        optimizer.step()
        scheduler.step()
        values.append(read())
    return np.asarray(values)


def gradtx_values(case: Case) -> np.ndarray:
    """The rate (or momentum) of the gradtx optimizer's update after k = 0, ..., case.steps updates."""
    name, kwargs = OPTIMIZERS[case.optimizer]
    tx = _gradtx_scheduler(case, getattr(gradtx.torch, name)(**kwargs))
    rebuilt = recipe_of(tx).inner
    counts = jnp.arange(case.steps + 1, dtype=jnp.int32)
    with jax.enable_x64(True):
        if recipe_of(rebuilt).name == name:  # only the rate is scheduled: evaluate its schedule
            assert case.read == "lr"
            got = jax.jit(dict(recipe_of(rebuilt).arguments)["lr"])(counts)
            assert got.dtype == jnp.float64 and got.shape == counts.shape
            return np.asarray(got)
        key = "lr" if case.read == "lr" else ("momentum" if case.optimizer == "sgd" else "beta1")
        state = tx.init(jnp.zeros(2))
        update = jax.jit(tx.update)
        values = [float(gradtx.get_hyperparams(state)[key])]
        for _ in range(case.steps):
            _, state = update(jnp.ones(2), state)
            values.append(float(gradtx.get_hyperparams(state)[key]))
        return np.asarray(values)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_torch_scheduler(case):
    want = torch_values(case)
    assert np.ptp(want) > 0, f"{case.id}: torch's values do not change; the comparison proves nothing."
    compare(f"torch/{case.id}", gradtx_values(case), want)


def test_every_torch_scheduler_has_a_case():
    assert {c.scheduler for c in CASES} | {"ReduceLROnPlateau"} == set(gsched.__all__)


@pytest.mark.parametrize("name", gsched.__all__)
def test_signature_is_torchs(name):
    """torch's parameters minus ``last_epoch`` and ``verbose``, plus gradtx's kw-only ``steps_per_epoch``."""
    want = [
        (p.name, p.kind, p.default)
        for p in inspect.signature(getattr(sched, name).__init__).parameters.values()
        if p.name not in ("self", "last_epoch", "verbose")
    ]
    got = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(gsched, name)).parameters.values()]
    extra = ("steps_per_epoch", inspect.Parameter.KEYWORD_ONLY, 1)
    if got and got[-1] == extra and name not in ("OneCycleLR", "ReduceLROnPlateau"):
        got = got[:-1]
    assert got == want


@pytest.mark.parametrize("case", [c for c in CASES if c.id.startswith("OneCycleLR")], ids=lambda c: c.id)
def test_onecycle_holds_its_last_value_where_torch_steps_past_the_end(case):
    """A documented deviation: after ``total_steps - 1`` gradtx keeps the final value."""
    total = case.steps + 1
    past = case._replace(steps=total + 5)
    with pytest.raises(ValueError, match="Tried to step"):
        torch_values(past)
    held = gradtx_values(past)[total - 1 :]
    assert np.all(held == held[0])


def test_steps_per_epoch_steps_the_schedule_once_per_epoch():
    tx = gsched.StepLR(gradtx.torch.SGD(lr=LR), step_size=2, gamma=0.5, steps_per_epoch=3)
    with jax.enable_x64(True):
        lr = dict(recipe_of(recipe_of(tx).inner).arguments)["lr"]
        got = np.asarray(lr(jnp.arange(13)))
    np.testing.assert_array_equal(got, LR * 0.5 ** (np.arange(13) // 3 // 2))


def test_a_scheduler_needs_a_gradtx_torch_optimizer():
    with pytest.raises(TypeError, match=r"^StepLR: `optimizer` must be a gradtx.torch optimizer.*gradtx.sgd\("):
        gsched.StepLR(gradtx.sgd(0.1), step_size=3)
    with pytest.raises(TypeError, match=r"^ExponentialLR: `optimizer` already has a scheduler \(StepLR\)"):
        gsched.ExponentialLR(gsched.StepLR(gradtx.torch.SGD(lr=0.1), step_size=3), gamma=0.9)
    with pytest.raises(TypeError, match=r"^StepLR: the optimizer's `lr` must be a number"):
        gsched.StepLR(gradtx.torch.SGD(lr=gradtx.constant_schedule(0.1)), step_size=3)


def test_cycle_momentum_without_a_momentum_says_what_to_pass():
    with pytest.raises(ValueError, match=r"^CyclicLR: Adagrad has no momentum or betas.*cycle_momentum=False"):
        gsched.CyclicLR(gradtx.torch.Adagrad(lr=0.1), 0.01, 0.1)
    gsched.CyclicLR(gradtx.torch.Adagrad(lr=0.1), 0.01, 0.1, cycle_momentum=False)


def test_per_group_lists_are_refused():
    with pytest.raises(TypeError, match=r"^CyclicLR: `base_lr` must be a single number.*gradtx.partition"):
        gsched.CyclicLR(gradtx.torch.SGD(lr=0.1), [0.01, 0.02], 0.1)


def _torch_scheduled(optimizer: str, kwargs: dict[str, Any], scheduler: str, scheduler_kwargs: dict[str, Any]):
    return lambda params: _Scheduled(
        getattr(torch.optim, optimizer)(params, **kwargs),
        lambda o: getattr(sched, scheduler)(o, **scheduler_kwargs),
    )


def _gradtx_scheduled(optimizer: str, kwargs: dict[str, Any], scheduler: str, scheduler_kwargs: dict[str, Any]):
    return lambda: getattr(gsched, scheduler)(getattr(gradtx.torch, optimizer)(**kwargs), **scheduler_kwargs)


PORTED = [  # (optimizer, its kwargs, scheduler, its kwargs): the same line on both sides
    ("SGD", dict(lr=0.05, momentum=0.9), "StepLR", dict(step_size=4, gamma=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), "CosineAnnealingWarmRestarts", dict(T_0=4, T_mult=2)),
    ("SGD", dict(lr=0.05, momentum=0.9), "CyclicLR", dict(base_lr=0.01, max_lr=0.05, step_size_up=3)),
    ("SGD", dict(lr=0.05, nesterov=False), "CyclicLR",  # momentum 0 given: torch cycles it anyway
     dict(base_lr=0.01, max_lr=0.05, step_size_up=3, mode="triangular2")),
    ("RMSprop", dict(lr=0.01, momentum=0.5), "CyclicLR", dict(base_lr=0.001, max_lr=0.01, step_size_up=4)),
    ("Adam", dict(lr=0.05), "OneCycleLR", dict(max_lr=0.05, total_steps=25, pct_start=0.2)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1), "CyclicLR",
     dict(base_lr=0.005, max_lr=0.05, step_size_up=5, mode="exp_range", gamma=0.95)),
    ("Adam", dict(lr=0.05), "MultiplicativeLR", dict(lr_lambda=lambda k: 0.97)),
]


@pytest.mark.parametrize(
    ("optimizer", "kwargs", "scheduler", "scheduler_kwargs"), PORTED, ids=[f"{p[0]}+{p[2]}-{i}" for i, p in enumerate(PORTED)]
)
def test_ported_scheduler_matches_torch_trajectory(optimizer, kwargs, scheduler, scheduler_kwargs, request):
    """``gradtx.torch.lr_scheduler.X(gradtx.torch.Opt(**kw), **skw)`` follows torch's loop step for step."""
    params = initial_params()
    want = torch_trajectory(_torch_scheduled(optimizer, kwargs, scheduler, scheduler_kwargs), params, 25)
    got = gradtx_trajectory(_gradtx_scheduled(optimizer, kwargs, scheduler, scheduler_kwargs)(), params, 25)
    assert_trajectories_close(f"torch/{request.node.callspec.id}", got, want)


def test_sequential_lr_matches_torch_trajectory():
    params = initial_params()

    def make_torch(ps):
        o = torch.optim.SGD(ps, lr=0.05, momentum=0.9)
        return _Scheduled(o, lambda o: sched.SequentialLR(
            o, [sched.LinearLR(o, 0.2, total_iters=4), sched.StepLR(o, 5, 0.5)], milestones=[4]))

    tx = gradtx.torch.SGD(lr=0.05, momentum=0.9)
    tx = gsched.SequentialLR(tx, [gsched.LinearLR(tx, 0.2, total_iters=4), gsched.StepLR(tx, 5, 0.5)], [4])
    assert_trajectories_close(
        "torch/SGD+SequentialLR", gradtx_trajectory(tx, params, 25), torch_trajectory(make_torch, params, 25)
    )


TRAINING = [
    pytest.param(
        lambda: gradtx.sgd(gradtx.cosine_annealing_schedule(0.05, t_max=8, eta_min=0.005), momentum=0.9),
        lambda params: _Scheduled(
            torch.optim.SGD(params, lr=0.05, momentum=0.9),
            lambda o: sched.CosineAnnealingLR(o, 8, eta_min=0.005),
        ),
        id="sgd+CosineAnnealingLR",
    ),
    pytest.param(
        lambda: gradtx.adam(gradtx.onecycle_schedule(0.05, total_steps=25, pct_start=0.2)),
        lambda params: _Scheduled(
            torch.optim.Adam(params, lr=0.05),
            lambda o: sched.OneCycleLR(o, 0.05, total_steps=25, pct_start=0.2, cycle_momentum=False),
        ),
        id="adam+OneCycleLR",
    ),
    pytest.param(
        lambda: gradtx.sgd(
            gradtx.join_schedules(
                [gradtx.linear_factor_schedule(0.05, 0.2, total_iters=4), gradtx.step_schedule(0.05, 5, 0.5)],
                [4],
            )
        ),
        lambda params: _Scheduled(
            torch.optim.SGD(params, lr=0.05),
            lambda o: sched.SequentialLR(o, [sched.LinearLR(o, 0.2, total_iters=4), sched.StepLR(o, 5, 0.5)], [4]),
        ),
        id="sgd+SequentialLR",
    ),
]


@pytest.mark.parametrize(("make_tx", "make_torch"), TRAINING)
def test_scheduled_optimizer_matches_torch(make_tx, make_torch, request):
    """A schedule given as a learning rate reproduces torch's optimizer + scheduler loop."""
    params = initial_params()
    want = torch_trajectory(make_torch, params, 25)
    got = gradtx_trajectory(make_tx(), params, 25)
    assert_trajectories_close(f"torch/{request.node.callspec.id}", got, want)
