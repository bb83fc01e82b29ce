"""Every torch-named schedule against the live ``torch.optim.lr_scheduler``, in float64 (rtol 1e-9).

For each case a torch scheduler runs on a dummy optimizer; the rate (or the momentum) read
from ``optimizer.param_groups[0]`` after ``k`` calls of ``scheduler.step()`` is compared with
``schedule(k)`` evaluated under ``jit`` on an int32 array of all the ``k`` at once.
"""

from __future__ import annotations

from collections.abc import Callable
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

LR = 0.1


class Case(NamedTuple):
    id: str
    make_scheduler: Callable[[torch.optim.Optimizer], Any]
    schedule: Callable[[], gradtx.Schedule]
    steps: int  # the largest k compared (at least three periods where the schedule has one)
    read: str = "lr"  # "lr", or "momentum" (SGD's momentum / Adam's betas[0])
    optimizer: str = "sgd"  # the dummy optimizer: "sgd" (with momentum) or "adam"


def _seq(*parts):
    return lambda o: sched.SequentialLR(o, [make(o) for make in parts[:-1]], milestones=parts[-1])


CASES = [
    Case(
        "StepLR-7-0.5",
        lambda o: sched.StepLR(o, step_size=7, gamma=0.5),
        lambda: gradtx.step_schedule(LR, 7, 0.5),
        40,
    ),
    Case(
        "StepLR-3-0.8",
        lambda o: sched.StepLR(o, 3, gamma=0.8),
        lambda: gradtx.step_schedule(LR, 3, gamma=0.8),
        20,
    ),
    Case(
        "MultiStepLR-repeated",
        lambda o: sched.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3),
        lambda: gradtx.multistep_schedule(LR, [5, 12, 12, 20], gamma=0.3),
        30,
    ),
    Case(
        "MultiStepLR-from-0",
        lambda o: sched.MultiStepLR(o, milestones=[0, 7], gamma=0.5),
        lambda: gradtx.multistep_schedule(LR, (0, 7), gamma=0.5),
        15,
    ),
    Case(
        "ExponentialLR-0.9",
        lambda o: sched.ExponentialLR(o, 0.9),
        lambda: gradtx.exponential_schedule(LR, 0.9),
        60,
    ),
    Case(
        "ExponentialLR-1.05",
        lambda o: sched.ExponentialLR(o, 1.05),
        lambda: gradtx.exponential_schedule(LR, 1.05),
        30,
    ),
    Case(
        "ConstantLR-0.25-6",
        lambda o: sched.ConstantLR(o, factor=0.25, total_iters=6),
        lambda: gradtx.constant_factor_schedule(LR, factor=0.25, total_iters=6),
        20,
    ),
    Case(
        "ConstantLR-0.5-1",
        lambda o: sched.ConstantLR(o, factor=0.5, total_iters=1),
        lambda: gradtx.constant_factor_schedule(LR, 0.5, 1),
        5,
    ),
    Case(
        "LinearLR-warmup",
        lambda o: sched.LinearLR(o, start_factor=0.1, total_iters=8),
        lambda: gradtx.linear_factor_schedule(LR, start_factor=0.1, total_iters=8),
        25,
    ),
    Case(
        "LinearLR-decay",
        lambda o: sched.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5),
        lambda: gradtx.linear_factor_schedule(LR, 1.0, 0.2, 5),
        15,
    ),
    Case(
        "PolynomialLR-2.0",
        lambda o: sched.PolynomialLR(o, total_iters=10, power=2.0),
        lambda: gradtx.polynomial_schedule(LR, 0.0, 2.0, 10),
        30,
    ),
    Case(
        "PolynomialLR-0.5",
        lambda o: sched.PolynomialLR(o, total_iters=7, power=0.5),
        lambda: gradtx.polynomial_schedule(LR, 0.0, power=0.5, transition_steps=7),
        21,
    ),
    Case(
        "CosineAnnealingLR-10-min",
        lambda o: sched.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
        lambda: gradtx.cosine_annealing_schedule(LR, t_max=10, eta_min=0.001),
        60,
    ),
    Case(
        "CosineAnnealingLR-7",
        lambda o: sched.CosineAnnealingLR(o, 7),
        lambda: gradtx.cosine_annealing_schedule(LR, 7),
        45,
    ),
    Case(
        "CosineAnnealingWarmRestarts-5-1",
        lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.01),
        lambda: gradtx.cosine_warm_restarts_schedule(LR, t_0=5, eta_min=0.01),
        30,
    ),
    Case(
        "CosineAnnealingWarmRestarts-3-2",
        lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
        lambda: gradtx.cosine_warm_restarts_schedule(LR, t_0=3, t_mult=2),
        100,
    ),
    Case(
        "CyclicLR-triangular",
        lambda o: sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
        lambda: gradtx.cyclic_schedule(0.01, 0.1, step_size_up=4),
        40,
    ),
    Case(
        "CyclicLR-triangular2",
        lambda o: sched.CyclicLR(o, 0.02, 0.2, step_size_up=3, step_size_down=5, mode="triangular2"),
        lambda: gradtx.cyclic_schedule(0.02, 0.2, 3, 5, mode="triangular2"),
        40,
    ),
    Case(
        "CyclicLR-exp_range",
        lambda o: sched.CyclicLR(
            o, 0.01, 0.1, step_size_up=5, step_size_down=2, mode="exp_range", gamma=0.97
        ),
        lambda: gradtx.cyclic_schedule(0.01, 0.1, 5, 2, mode="exp_range", gamma=0.97),
        40,
    ),
    Case(
        "CyclicLR-triangular2-momentum",
        lambda o: sched.CyclicLR(
            o, 0.02, 0.2, 3, 5, mode="triangular2", base_momentum=0.8, max_momentum=0.95
        ),
        lambda: gradtx.cyclic_schedule(0.95, 0.8, 3, 5, mode="triangular2"),
        40,
        read="momentum",
    ),
    Case(
        "CyclicLR-exp_range-beta1",
        lambda o: sched.CyclicLR(
            o, 0.01, 0.1, 4, mode="exp_range", gamma=0.9, base_momentum=0.85, max_momentum=0.99
        ),
        lambda: gradtx.cyclic_schedule(0.99, 0.85, 4, mode="exp_range", gamma=0.9),
        30,
        read="momentum",
        optimizer="adam",
    ),
    Case(
        "OneCycleLR-cos",
        lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=30),
        lambda: gradtx.onecycle_schedule(0.1, total_steps=30),
        29,
    ),
    Case(
        "OneCycleLR-linear-three-phase",
        lambda o: sched.OneCycleLR(
            o,
            0.5,
            total_steps=23,
            pct_start=0.4,
            anneal_strategy="linear",
            div_factor=10.0,
            final_div_factor=100.0,
            three_phase=True,
        ),
        lambda: gradtx.onecycle_schedule(0.5, 23, 0.4, "linear", 10.0, 100.0, three_phase=True),
        22,
    ),
    Case(
        "OneCycleLR-cos-three-phase",
        lambda o: sched.OneCycleLR(o, 0.3, total_steps=40, pct_start=0.25, three_phase=True),
        lambda: gradtx.onecycle_schedule(0.3, 40, pct_start=0.25, three_phase=True),
        39,
    ),
    Case(
        "OneCycleLR-no-warmup",  # pct_start * total_steps < 1: torch skips phase 1
        lambda o: sched.OneCycleLR(o, 0.2, total_steps=3, pct_start=0.3),
        lambda: gradtx.onecycle_schedule(0.2, 3, pct_start=0.3),
        2,
    ),
    Case(
        "OneCycleLR-cos-momentum",
        lambda o: sched.OneCycleLR(o, 0.1, total_steps=30, base_momentum=0.8, max_momentum=0.9),
        lambda: gradtx.onecycle_momentum_schedule(30, base_momentum=0.8, max_momentum=0.9),
        29,
        read="momentum",
    ),
    Case(
        "OneCycleLR-linear-three-phase-beta1",
        lambda o: sched.OneCycleLR(o, 0.5, 23, pct_start=0.4, anneal_strategy="linear", three_phase=True),
        lambda: gradtx.onecycle_momentum_schedule(
            23, pct_start=0.4, anneal_strategy="linear", three_phase=True
        ),
        22,
        read="momentum",
        optimizer="adam",
    ),
    Case(
        "SequentialLR-linear-cosine",
        _seq(
            lambda o: sched.LinearLR(o, start_factor=0.1, total_iters=5),
            lambda o: sched.CosineAnnealingLR(o, 20),
            [5],
        ),
        lambda: gradtx.join_schedules(
            [gradtx.linear_factor_schedule(LR, 0.1, total_iters=5), gradtx.cosine_annealing_schedule(LR, 20)],
            [5],
        ),
        50,
    ),
    Case(
        "SequentialLR-three",
        _seq(
            lambda o: sched.ConstantLR(o, factor=0.5, total_iters=3),
            lambda o: sched.ExponentialLR(o, gamma=0.9),
            lambda o: sched.StepLR(o, step_size=4, gamma=0.5),
            [6, 15],
        ),
        lambda: gradtx.join_schedules(
            [
                gradtx.constant_factor_schedule(LR, 0.5, 3),
                gradtx.exponential_schedule(LR, 0.9),
                gradtx.step_schedule(LR, 4, 0.5),
            ],
            [6, 15],
        ),
        30,
    ),
]


def torch_values(case: Case) -> np.ndarray:
    """What ``case.read`` holds after k = 0, 1, ..., case.steps calls of ``scheduler.step()``."""
    param = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    if case.optimizer == "sgd":
        optimizer = torch.optim.SGD([param], lr=LR, momentum=0.9)
    else:
        optimizer = torch.optim.Adam([param], lr=LR, betas=(0.9, 0.999))
    scheduler = case.make_scheduler(optimizer)

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


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_torch_scheduler(case):
    want = torch_values(case)
    assert np.ptp(want) > 0, f"{case.id}: torch's values do not change; the comparison proves nothing."
    with jax.enable_x64(True):
        counts = jnp.arange(case.steps + 1, dtype=jnp.int32)
        got = jax.jit(case.schedule())(counts)
        assert got.dtype == jnp.float64 and got.shape == counts.shape
        got = np.asarray(got)
    compare(f"torch/{case.id}", got, want)


@pytest.mark.parametrize("case", [c for c in CASES if c.id.startswith("OneCycleLR")], ids=lambda c: c.id)
def test_onecycle_holds_its_last_value_where_torch_steps_past_the_end(case):
    """A documented deviation: after ``total_steps - 1`` gradtx keeps the final value."""
    total = case.steps + 1
    past = case._replace(steps=total)
    torch_last = torch_values(past)[-1]
    with jax.enable_x64(True):
        s = case.schedule()
        held = np.asarray(s(jnp.arange(total - 1, total + 5)))
        last_phase_moves = bool(s(total - 2) != held[0])
    assert np.all(held == held[0])
    if last_phase_moves:  # torch's value after step N runs the last phase past its end.
        assert torch_last != held[0]
    with pytest.raises(ValueError, match="Tried to step"):
        torch_values(past._replace(steps=total + 1))


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
            _seq(lambda o: sched.LinearLR(o, 0.2, total_iters=4), lambda o: sched.StepLR(o, 5, 0.5), [4]),
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
