"""The registries every generic test runs over. A new optimizer is one line in each table.

* ``OPTIMIZERS``: factories run through the whole contract (tests/test_contract.py), from both
  doors (top-level Optax dialect and ``gradtx.torch``). The hyperparameters are chosen so that
  300 steps solve the contract's quadratic.
* ``TORCH_CASES``: ``gradtx.torch.X(**kw)`` vs ``torch.optim.X(params, **kw)`` (the same
  keyword arguments on both sides), compared live in float64 over 25 steps of
  tests/reference.py's problem (tests/test_parity.py).
* ``OPTAX_CASES``: ``gradtx.x(*args, **kw)`` vs ``optax.x(*args, **kw)``, same comparison. Every
  optimizer shared with Optax has its defaults, an all-positional call (its id contains
  "positional": CI's full run only, see tests/test_parity.py) and two non-default
  configurations here.

Each list is split in sections by family; keep a family's lines together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import optax
import pytest
import torch
from reference import LBFGS_RTOL

import gradtx

OPTIMIZERS = [
    # === adam family (H1): top level (Optax dialect)
    pytest.param(lambda: gradtx.adam(0.1), id="adam"),
    pytest.param(lambda: gradtx.adamw(0.1, weight_decay=1e-3), id="adamw"),
    pytest.param(lambda: gradtx.amsgrad(0.1), id="amsgrad"),
    pytest.param(lambda: gradtx.adam(0.1, nesterov=True), id="adam-nesterov"),
    pytest.param(lambda: gradtx.radam(0.1, nesterov=True), id="radam-nesterov"),
    pytest.param(lambda: gradtx.adamax(0.1), id="adamax"),
    pytest.param(lambda: gradtx.adamaxw(0.1, weight_decay=1e-3), id="adamaxw"),
    pytest.param(lambda: gradtx.nadam(0.1), id="nadam"),
    pytest.param(lambda: gradtx.nadamw(0.1, mu_dtype=jnp.bfloat16), id="nadamw-bf16mu"),
    pytest.param(lambda: gradtx.radam(0.1), id="radam"),
    pytest.param(lambda: gradtx.asgd(0.3, lambd=1e-3, t0=10.0, weight_decay=1e-4), id="asgd"),
    pytest.param(lambda: gradtx.sparse_adam(0.1), id="sparse_adam"),
    pytest.param(lambda: gradtx.lion(0.02), id="lion"),
    pytest.param(lambda: gradtx.lion(0.02, mu_dtype=jnp.bfloat16, mask=r"w.*"), id="lion-bf16mu-mask"),
    pytest.param(lambda: gradtx.lamb(0.05, weight_decay=1e-3), id="lamb"),
    pytest.param(lambda: gradtx.adabelief(0.1), id="adabelief"),
    pytest.param(lambda: gradtx.adabelief(0.1, nesterov=True), id="adabelief-nesterov"),
    pytest.param(lambda: gradtx.yogi(0.1), id="yogi"),
    pytest.param(lambda: gradtx.novograd(0.1), id="novograd"),
    pytest.param(lambda: gradtx.adan(0.1, weight_decay=1e-3), id="adan"),
    # === adam family (H1): gradtx.torch
    pytest.param(lambda: gradtx.torch.Adam(lr=0.1), id="torch.Adam"),
    pytest.param(lambda: gradtx.torch.Adam(lr=0.1, amsgrad=True), id="torch.Adam-amsgrad"),
    pytest.param(lambda: gradtx.torch.AdamW(lr=0.1, weight_decay=1e-3), id="torch.AdamW"),
    pytest.param(lambda: gradtx.torch.Adamax(lr=0.1), id="torch.Adamax"),
    pytest.param(lambda: gradtx.torch.NAdam(lr=0.1, weight_decay=1e-3, decoupled_weight_decay=True), id="torch.NAdam"),
    pytest.param(lambda: gradtx.torch.RAdam(lr=0.1), id="torch.RAdam"),
    pytest.param(lambda: gradtx.torch.ASGD(lr=0.3, lambd=1e-3, t0=10.0, weight_decay=1e-4), id="torch.ASGD"),
    pytest.param(lambda: gradtx.torch.SparseAdam(lr=0.1), id="torch.SparseAdam"),
    # === sgd/rms family (H2): top level (Optax dialect)
    pytest.param(lambda: gradtx.sgd(0.1), id="sgd"),
    pytest.param(lambda: gradtx.sgd(0.05, momentum=0.9, nesterov=True), id="sgd-nesterov"),
    pytest.param(lambda: gradtx.adagrad(0.5), id="adagrad"),
    pytest.param(lambda: gradtx.adadelta(1.0, eps=1e-3), id="adadelta"),
    pytest.param(lambda: gradtx.rmsprop(0.01), id="rmsprop"),
    pytest.param(lambda: gradtx.rmsprop(0.01, centered=True, momentum=0.9), id="rmsprop-centered-momentum"),
    pytest.param(lambda: gradtx.rprop(0.01), id="rprop"),
    pytest.param(lambda: gradtx.lars(1.0, trust_coefficient=0.1), id="lars"),
    pytest.param(lambda: gradtx.lars(0.5, weight_decay=1e-4, trust_coefficient=0.05, nesterov=True,
                                     trust_ratio_mask=r"w.*|b.*"), id="lars-nesterov-mask"),
    pytest.param(lambda: gradtx.fromage(0.1), id="fromage"),
    pytest.param(lambda: gradtx.sm3(0.5), id="sm3"),
    pytest.param(lambda: gradtx.sign_sgd(0.01), id="sign_sgd"),
    pytest.param(lambda: gradtx.noisy_sgd(0.1, key=0), id="noisy_sgd"),
    pytest.param(lambda: gradtx.optimistic_gradient_descent(0.1), id="optimistic_gradient_descent"),
    pytest.param(lambda: gradtx.ftrl(0.5), id="ftrl"),
    pytest.param(lambda: gradtx.ftrl(0.5, -0.5, 0.1, 1e-3, 1e-3, 1e-4, 0.1), id="ftrl-regularized"),
    # (polyak_sgd needs `value=` in every update, which the bf16 contract test does not pass:
    # its contract is checked in tests/optimizers/test_polyak_sgd.py.)
    # === sgd/rms family (H2): gradtx.torch
    pytest.param(lambda: gradtx.torch.SGD(lr=0.1), id="torch.SGD"),
    pytest.param(lambda: gradtx.torch.SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4), id="torch.SGD-nesterov"),
    pytest.param(lambda: gradtx.torch.Adagrad(lr=1.0, lr_decay=1e-3, weight_decay=1e-4, initial_accumulator_value=0.1),
                 id="torch.Adagrad"),
    pytest.param(lambda: gradtx.torch.Adadelta(lr=1.0, eps=1e-3), id="torch.Adadelta"),
    pytest.param(lambda: gradtx.torch.RMSprop(lr=0.01, momentum=0.9, centered=True, weight_decay=1e-4), id="torch.RMSprop"),
    pytest.param(lambda: gradtx.torch.Rprop(lr=0.01), id="torch.Rprop"),
    # === adafactor/muon/lbfgs (H3): top level (Optax dialect)
    pytest.param(lambda: gradtx.adafactor(0.1), id="adafactor"),
    pytest.param(lambda: gradtx.muon(0.02), id="muon"),
    pytest.param(lambda: gradtx.lbfgs(), id="lbfgs"),
    # === adafactor/muon/lbfgs (H3): gradtx.torch
    pytest.param(lambda: gradtx.torch.Adafactor(lr=0.1), id="torch.Adafactor"),
    pytest.param(lambda: gradtx.torch.Adafactor(lr=0.1, eps=(1e-30, 1e-3), d=2.0, weight_decay=1e-3), id="torch.Adafactor-wd"),
    pytest.param(lambda: gradtx.torch.Muon(lr=0.02, weight_decay=1e-3), id="torch.Muon"),
    pytest.param(lambda: gradtx.torch.LBFGS(), id="torch.LBFGS"),
    pytest.param(lambda: gradtx.torch.LBFGS(lr=0.5, history_size=4, line_search_fn="strong_wolfe"), id="torch.LBFGS-strong-wolfe"),
    # === schedules and plateau (H4)
    pytest.param(lambda: gradtx.chain(gradtx.sgd(0.1, momentum=0.5), gradtx.reduce_on_plateau(factor=0.5, patience=5)),
                 id="sgd+reduce_on_plateau"),
    pytest.param(lambda: gradtx.torch.lr_scheduler.ReduceLROnPlateau(gradtx.torch.SGD(lr=0.1, momentum=0.5), patience=5),
                 id="torch.SGD+ReduceLROnPlateau"),
    pytest.param(lambda: gradtx.torch.lr_scheduler.CyclicLR(gradtx.torch.SGD(lr=0.1, momentum=0.9), 0.01, 0.1,
                                                            step_size_up=5), id="torch.SGD+CyclicLR"),
    pytest.param(lambda: gradtx.torch.lr_scheduler.OneCycleLR(gradtx.torch.Adam(lr=0.1), 0.1, total_steps=50),
                 id="torch.Adam+OneCycleLR"),
    # === issue 12: transformations (G1)
    pytest.param(lambda: gradtx.signum(0.02), id="signum"),
    pytest.param(lambda: gradtx.MultiSteps(gradtx.adam(0.1), 2).gradient_transformation(), id="MultiSteps-adam"),
    # === issue 12: numerics and tree (G2)
    # === issue 12: contrib optimizers (G3)
    pytest.param(lambda: gradtx.schedule_free_sgd(0.3), id="schedule_free_sgd"),
    pytest.param(lambda: gradtx.schedule_free_adamw(0.1, warmup_steps=5, weight_decay=1e-4), id="schedule_free_adamw"),
    pytest.param(lambda: gradtx.prodigy(), id="prodigy"),
    pytest.param(lambda: gradtx.dadapt_adamw(), id="dadapt_adamw"),
    pytest.param(lambda: gradtx.dog(), id="dog"),
    pytest.param(lambda: gradtx.dowg(), id="dowg"),
    pytest.param(lambda: gradtx.mechanize(gradtx.adam(0.1)), id="mechanize-adam"),
    pytest.param(lambda: gradtx.cocob(), id="cocob"),
    pytest.param(lambda: gradtx.madgrad(0.1), id="madgrad"),
    # === issue 12: contrib optimizers (G4)
    pytest.param(lambda: gradtx.adopt(0.1), id="adopt"),
    pytest.param(lambda: gradtx.ademamix(0.05, b3=0.99, alpha=2.0), id="ademamix"),
    pytest.param(lambda: gradtx.simplified_ademamix(0.01, b1=0.9), id="simplified_ademamix"),
    pytest.param(lambda: gradtx.acprop(0.1), id="acprop"),
    pytest.param(lambda: gradtx.optimistic_adam(0.05), id="optimistic_adam"),
    pytest.param(lambda: gradtx.optimistic_adam_v2(0.05), id="optimistic_adam_v2"),
    pytest.param(lambda: gradtx.chain(gradtx.scale_by_distance_over_gradients(reps_rel=1e-2), gradtx.scale(-1.0)),
                 id="scale_by_distance_over_gradients"),
    pytest.param(lambda: gradtx.momo(0.5), id="momo"),
    pytest.param(lambda: gradtx.momo_adam(0.1), id="momo_adam"),
    pytest.param(lambda: gradtx.chain(gradtx.normalize(), gradtx.sgd(0.05)), id="normalize-sgd"),
    pytest.param(lambda: gradtx.sam(gradtx.sgd(0.2), gradtx.chain(gradtx.normalize(), gradtx.sgd(0.01))), id="sam"),
    pytest.param(lambda: gradtx.split_real_and_imaginary(gradtx.adam(0.1)), id="split_real_and_imaginary"),
    # === combinators and blocks (lead)
    pytest.param(lambda: gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(0.1, weight_decay=1e-3)),
                 id="clip_by_global_norm-adamw"),
    pytest.param(lambda: gradtx.chain(gradtx.clip(0.5), gradtx.sgd(0.1, momentum=0.5)), id="clip-sgd"),
    pytest.param(lambda: gradtx.chain(gradtx.clip_by_block_rms(0.5), gradtx.adam(0.1)), id="clip_by_block_rms-adam"),
    pytest.param(lambda: gradtx.chain(gradtx.adaptive_grad_clip(0.1), gradtx.adam(0.1)), id="adaptive_grad_clip-adam"),
    pytest.param(lambda: gradtx.chain(gradtx.zero_nans(), gradtx.sgd(0.1)), id="zero_nans-sgd"),
    pytest.param(lambda: gradtx.apply_if_finite(gradtx.adam(0.1), 3), id="apply_if_finite-adam"),
    pytest.param(lambda: gradtx.accumulate_gradients(gradtx.sgd(0.1), 2), id="accumulate_gradients-sgd"),
    pytest.param(lambda: gradtx.lookahead(gradtx.adam(0.1), 5, 0.5), id="lookahead-adam"),
    pytest.param(lambda: gradtx.polyak_averaging(gradtx.sgd(0.1, momentum=0.5), start=10), id="polyak_averaging-sgd"),
    pytest.param(lambda: gradtx.inject_hyperparams(gradtx.adamw)(0.1, weight_decay=1e-3), id="inject_hyperparams-adamw"),
    pytest.param(lambda: gradtx.inject_hyperparams(gradtx.torch.AdamW)(lr=0.1, weight_decay=1e-3),
                 id="inject_hyperparams-torch.AdamW"),
    pytest.param(lambda: gradtx.with_param_ema(gradtx.adam(0.1), 0.9), id="with_param_ema-adam"),
    pytest.param(lambda: gradtx.dynamic_loss_scale(gradtx.adam(0.1)), id="dynamic_loss_scale-adam"),
    pytest.param(
        lambda: gradtx.dynamic_loss_scale(
            gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.sgd(0.1)), 1.0, growth_factor=1.5, growth_interval=100
        ),
        id="dynamic_loss_scale-clip-sgd-growing",
    ),
]


class Parity(NamedTuple):
    """One live comparison: ``make_tx()`` against ``make_reference`` on the same problem."""

    id: str
    make_tx: Callable[[], gradtx.GradientTransformation]
    make_reference: Callable[..., Any]  # torch: params -> Optimizer; optax: () -> GradientTransformation
    sign: float = 1.0  # -1 for maximize=True cases: they climb the negated (bounded) loss
    rtol: float | None = None  # None: reference.RTOL


def _torch(cls, **kwargs):
    return lambda params: cls(params, **kwargs)


class _Scheduled:
    """An optimizer whose ``step`` is followed by ``scheduler.step()``, as in a torch training loop."""

    def __init__(self, optimizer: torch.optim.Optimizer, make_scheduler: Callable[[torch.optim.Optimizer], Any]):
        self.optimizer, self.scheduler = optimizer, make_scheduler(optimizer)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        self.scheduler.step()
        return loss


def same(id: str, name: str, *, sign: float = 1.0, **kwargs: Any) -> Parity:
    """``gradtx.torch.<name>(**kwargs)`` against ``torch.optim.<name>(params, **kwargs)``."""
    return Parity(id, lambda: getattr(gradtx.torch, name)(**kwargs),
                  lambda params: getattr(torch.optim, name)(params, **kwargs), sign)


def optax_same(id: str, name: str, *args: Any, **kwargs: Any) -> Parity:
    """``gradtx.<name>(*args, **kwargs)`` against ``optax.<name>(*args, **kwargs)`` (or ``optax.contrib``)."""
    reference = getattr(optax, name, None) or getattr(optax.contrib, name)
    return Parity(id, lambda: getattr(gradtx, name)(*args, **kwargs), lambda: reference(*args, **kwargs))


def scheduled(id: str, name: str, scheduler: str, scheduler_kwargs: dict[str, Any], *, sign: float = 1.0,
              **kwargs: Any) -> Parity:
    """``lr_scheduler.<scheduler>(<name>(**kwargs), **scheduler_kwargs)`` on both sides, one step per update."""
    return Parity(
        id,
        lambda: getattr(gradtx.torch.lr_scheduler, scheduler)(getattr(gradtx.torch, name)(**kwargs), **scheduler_kwargs),
        lambda params: _Scheduled(
            getattr(torch.optim, name)(params, **kwargs),
            lambda o: getattr(torch.optim.lr_scheduler, scheduler)(o, **scheduler_kwargs),
        ),
        sign,
    )


def param_groups(id: str, name: str, decayed: dict[str, Any], **kwargs: Any) -> Parity:
    """torch's two param groups (``w`` with ``decayed`` settings, ``b`` and ``v`` without) as a partition.

    torch receives the params sorted by name (b, v, w), so ``params[2:]`` is ``w``.
    """
    return Parity(
        id,
        lambda: gradtx.partition(
            {"decayed": getattr(gradtx.torch, name)(**{**kwargs, **decayed}), "plain": getattr(gradtx.torch, name)(**kwargs)},
            {"w": "decayed", "b": "plain", "v": "plain"},
        ),
        lambda ps: getattr(torch.optim, name)([{"params": ps[2:], **decayed}, {"params": ps[:2]}], **kwargs),
    )


TORCH_CASES = [
    # === adam family (H1)
    same("adam", "Adam", lr=0.01),
    same("adam-wd-amsgrad", "Adam", lr=0.03, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True),
    same("adam-maximize", "Adam", lr=0.02, maximize=True, sign=-1.0),
    same("adam-decoupled", "Adam", lr=0.02, weight_decay=0.1, decoupled_weight_decay=True),
    same("adamw", "AdamW", lr=0.01),
    same("adamw-wd-amsgrad-maximize", "AdamW", lr=0.03, betas=(0.7, 0.999), weight_decay=0.3, amsgrad=True,
         maximize=True, sign=-1.0),
    same("adamw-foreach-fused-flags", "AdamW", lr=0.01, foreach=False, fused=True, capturable=True),
    same("adamax", "Adamax", lr=0.02),
    same("adamax-betas-eps-wd", "Adamax", lr=0.03, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1),
    same("adamax-maximize", "Adamax", lr=0.02, maximize=True, sign=-1.0),
    same("asgd-t0", "ASGD", lr=0.05, t0=5.0),
    same("asgd-lambd-alpha-wd", "ASGD", lr=0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01),
    same("asgd-maximize", "ASGD", lr=0.03, lambd=0.01, t0=10.0, maximize=True, sign=-1.0),
    same("nadam", "NAdam", lr=0.02),
    same("nadam-betas-wd-momentum_decay", "NAdam", lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1,
         momentum_decay=0.05),
    same("nadam-decoupled-maximize", "NAdam", lr=0.02, weight_decay=0.2, decoupled_weight_decay=True, maximize=True,
         sign=-1.0),
    same("nadam-without-momentum-schedule", "NAdam", lr=0.02, weight_decay=0.1, momentum_decay=float("inf"),
         decoupled_weight_decay=True),
    same("radam", "RAdam", lr=0.02),
    same("radam-betas-eps-wd", "RAdam", lr=0.02, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1),
    same("radam-decoupled-maximize", "RAdam", lr=0.03, betas=(0.9, 0.99), weight_decay=0.2,
         decoupled_weight_decay=True, maximize=True, sign=-1.0),
    param_groups("adamax-param-groups", "Adamax", {"weight_decay": 0.2}, lr=0.02),
    param_groups("asgd-param-groups", "ASGD", {"weight_decay": 0.2}, lr=0.05, lambd=0.01, t0=2.0),
    param_groups("nadam-param-groups", "NAdam", {"weight_decay": 0.2}, lr=0.02),
    param_groups("radam-decoupled-param-groups", "RAdam", {"weight_decay": 0.2}, lr=0.02, decoupled_weight_decay=True),
    param_groups("adamw-param-groups-lr-wd", "AdamW", {"weight_decay": 0.2, "lr": 0.01}, lr=0.03, weight_decay=0.0),
    # === sgd/rms family (H2)
    same("sgd", "SGD", lr=0.05),
    same("sgd-momentum-dampening-wd", "SGD", lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
    same("sgd-nesterov-maximize", "SGD", lr=0.02, momentum=0.8, nesterov=True, maximize=True, sign=-1.0),
    same("adagrad", "Adagrad", lr=0.05),
    same("adagrad-lr_decay-wd-accumulator-eps", "Adagrad", lr=0.1, lr_decay=0.05, weight_decay=0.01,
         initial_accumulator_value=0.3, eps=1e-3),
    same("adadelta", "Adadelta"),
    same("adadelta-rho-eps-wd", "Adadelta", lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05),
    same("adadelta-maximize", "Adadelta", lr=2.0, eps=1e-3, maximize=True, sign=-1.0),
    same("rmsprop", "RMSprop", lr=0.01),
    same("rmsprop-centered-momentum-wd", "RMSprop", lr=0.005, alpha=0.9, weight_decay=0.05, momentum=0.8, centered=True),
    same("rmsprop-momentum-eps-maximize", "RMSprop", lr=0.003, alpha=0.95, eps=1e-3, momentum=0.5, maximize=True,
         sign=-1.0),
    same("rprop", "Rprop", lr=0.01),
    same("rprop-etas-step_sizes", "Rprop", lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05)),
    same("rprop-maximize", "Rprop", lr=0.05, etas=(0.6, 1.1), maximize=True, sign=-1.0),
    same("rprop-step-clipped-from-the-start", "Rprop", lr=0.05, etas=(0.1, 2.0), step_sizes=(0.0, 0.01)),
    param_groups("adagrad-param-groups", "Adagrad", {"weight_decay": 0.2}, lr=0.05),
    param_groups("adadelta-param-groups", "Adadelta", {"weight_decay": 0.2}),
    param_groups("rmsprop-param-groups", "RMSprop", {"weight_decay": 0.2}, lr=0.01),
    param_groups("sgd-param-groups-lr-wd", "SGD", {"weight_decay": 0.1, "lr": 0.05}, lr=0.02, momentum=0.9),
    # === adafactor/muon/lbfgs (H3) (more configurations: tests/optimizers/test_{adafactor,muon,lbfgs}.py)
    same("adafactor-wd", "Adafactor", lr=0.05, eps=(1e-5, 1e-2), weight_decay=0.1),
    same("adafactor", "Adafactor"),
    same("adafactor-beta2-d-maximize", "Adafactor", lr=0.02, beta2_decay=-0.6, d=2.0, maximize=True, sign=-1.0),
    same("lbfgs-steps-of-one-iteration", "LBFGS", lr=0.2, max_iter=1, history_size=5),
    same("lbfgs-strong-wolfe", "LBFGS", lr=1.0, max_iter=1, max_eval=26, history_size=10, line_search_fn="strong_wolfe"),
    # === schedulers on optimizers (H4)
    scheduled("adamw-ExponentialLR", "AdamW", "ExponentialLR", {"gamma": 0.9}, lr=0.05, weight_decay=0.2),
    scheduled("adagrad-lr_decay-ExponentialLR-maximize", "Adagrad", "ExponentialLR", {"gamma": 0.9}, lr=0.2,
              lr_decay=0.1, maximize=True, sign=-1.0),
    scheduled("rmsprop-centered-ExponentialLR", "RMSprop", "ExponentialLR", {"gamma": 0.9}, lr=0.01, centered=True),
    scheduled("asgd-ExponentialLR", "ASGD", "ExponentialLR", {"gamma": 0.9}, lr=0.05, lambd=0.1, t0=4.0),
    # === combinators and blocks (lead)
    Parity(
        "freeze-adamw",  # torch: the frozen leaf is left out of the optimizer
        lambda: gradtx.freeze("b", inner=gradtx.torch.AdamW(lr=0.02, weight_decay=0.1)),
        lambda ps: torch.optim.AdamW(ps[1:], lr=0.02, weight_decay=0.1),
    ),
    Parity(
        "inject_hyperparams-Adam-amsgrad",
        lambda: gradtx.inject_hyperparams(gradtx.torch.Adam)(lr=0.03, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True),
        lambda ps: torch.optim.Adam(ps, lr=0.03, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True),
    ),
    Parity(
        "with_param_ema-SGD",
        lambda: gradtx.with_param_ema(gradtx.torch.SGD(lr=0.02, momentum=0.9), 0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.9),
    ),
]

OPTAX_CASES = [
    # === adam family (H1)
    # Every shared optimizer: its defaults, all arguments positional, two keyword configurations.
    # (mu_dtype stays None: with a narrower mu_dtype Optax computes `b1 * mu` in that dtype, gradtx in
    # the params' one; see tests/optimizers/test_adam.py.)
    optax_same("adam", "adam", 0.01),
    optax_same("adam-positional", "adam", 0.02, 0.8, 0.99, 1e-6, 1e-10, None),
    optax_same("adam-nesterov-eps_root", "adam", 0.02, b1=0.8, eps_root=1e-8, nesterov=True),
    optax_same("adam-schedule-b2-eps", "adam", gradtx.exponential_schedule(0.02, 0.95), b2=0.9, eps=1e-3),
    optax_same("adamw", "adamw", 0.01),
    optax_same("adamw-positional", "adamw", 0.02, 0.8, 0.99, 1e-6, 1e-10, None, 0.1, {"w": True, "b": False, "v": True}),
    optax_same("adamw-wd-nesterov", "adamw", 0.02, b1=0.8, weight_decay=0.1, nesterov=True),
    optax_same("adamw-schedule-callable-mask", "adamw", gradtx.exponential_schedule(0.02, 0.95), eps=1e-3,
               weight_decay=0.05, mask=lambda p: {"w": True, "b": False, "v": True}),
    optax_same("amsgrad", "amsgrad", 0.01),
    optax_same("amsgrad-positional", "amsgrad", 0.02, 0.8, 0.9, 1e-6, 1e-10, None, False, False),
    optax_same("amsgrad-b2-no-nu-correction", "amsgrad", 0.03, b2=0.9, bias_correction_nu=False),
    optax_same("amsgrad-schedule-no-mu-correction-eps_root", "amsgrad", gradtx.exponential_schedule(0.02, 0.95),
               eps_root=1e-8, bias_correction_mu=False),
    optax_same("nadam", "nadam", 0.01),
    optax_same("nadam-positional", "nadam", 0.02, 0.8, 0.99, 1e-6, 1e-10, None),
    optax_same("nadam-without-nesterov-b1", "nadam", 0.02, b1=0.7, nesterov=False),
    optax_same("nadam-schedule-eps_root", "nadam", gradtx.exponential_schedule(0.02, 0.95), b2=0.9, eps_root=1e-8),
    optax_same("nadamw", "nadamw", 0.01),
    optax_same("nadamw-positional", "nadamw", 0.02, 0.8, 0.99, 1e-6, 1e-10, None, 0.1, {"w": True, "b": False, "v": True}),
    optax_same("nadamw-wd-without-nesterov", "nadamw", 0.02, weight_decay=0.1, nesterov=False),
    optax_same("nadamw-schedule-callable-mask", "nadamw", gradtx.exponential_schedule(0.02, 0.95), eps=1e-3,
               weight_decay=0.05, mask=lambda p: {"w": False, "b": True, "v": True}),
    optax_same("radam", "radam", 0.01),
    optax_same("radam-positional", "radam", 0.02, 0.8, 0.95, 1e-3, 1e-10, 4.5),
    optax_same("radam-b2-nesterov", "radam", 0.02, b2=0.9, nesterov=True),
    optax_same("radam-schedule-threshold-eps_root", "radam", gradtx.exponential_schedule(0.02, 0.95), b2=0.95,
               eps_root=1e-8, threshold=6.0),
    optax_same("adamax", "adamax", 0.01),
    optax_same("adamax-positional", "adamax", 0.02, 0.8, 0.95, 1e-3),
    optax_same("adamax-b1-eps", "adamax", 0.02, b1=0.5, eps=1e-4),
    optax_same("adamax-schedule-b2", "adamax", gradtx.exponential_schedule(0.02, 0.95), b2=0.9),
    optax_same("adamaxw", "adamaxw", 0.01),
    optax_same("adamaxw-positional", "adamaxw", 0.02, 0.8, 0.95, 1e-3, 0.1, {"w": True, "b": False, "v": True}),
    optax_same("adamaxw-wd", "adamaxw", 0.02, weight_decay=0.2),
    optax_same("adamaxw-schedule-callable-mask", "adamaxw", gradtx.exponential_schedule(0.02, 0.95), b1=0.7,
               mask=lambda p: {"w": True, "b": True, "v": False}),
    optax_same("lion", "lion", 0.01),
    optax_same("lion-positional", "lion", 0.003, 0.8, 0.95, None, 0.1, {"w": True, "b": False, "v": True}),
    optax_same("lion-schedule-no-wd", "lion", gradtx.exponential_schedule(0.01, 0.95), weight_decay=0.0),
    optax_same("lion-b2-wd-callable-mask", "lion", 0.003, b2=0.9, weight_decay=0.2,
               mask=lambda p: {"w": True, "b": False, "v": True}),
    optax_same("lamb", "lamb", 0.01),
    optax_same("lamb-positional", "lamb", 0.02, 0.8, 0.99, 1e-4, 1e-8, 0.1, {"w": True, "b": False, "v": True}),
    optax_same("lamb-schedule-wd", "lamb", gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.01),
    optax_same("lamb-b1-eps_root", "lamb", 0.02, b1=0.5, eps_root=1e-6),
    optax_same("adan", "adan", 0.01),
    optax_same("adan-positional", "adan", 0.02, 0.9, 0.8, 0.95, 1e-6, 1e-10, 0.05, {"w": True, "b": False, "v": True}),
    optax_same("adan-schedule-no-eps_root", "adan", gradtx.exponential_schedule(0.02, 0.95), eps_root=0.0),
    optax_same("adan-b3-wd", "adan", 0.02, b3=0.9, weight_decay=0.1),
    optax_same("yogi", "yogi", 0.01),
    optax_same("yogi-positional", "yogi", 0.05, 0.8, 0.9, 1e-4),
    optax_same("yogi-b1-eps", "yogi", 0.05, b1=0.5, eps=1e-2),
    optax_same("yogi-schedule-b2", "yogi", gradtx.exponential_schedule(0.05, 0.95), b2=0.99),
    optax_same("adabelief", "adabelief", 0.01),
    optax_same("adabelief-positional", "adabelief", 0.02, 0.8, 0.99, 1e-8, 1e-10),
    optax_same("adabelief-nesterov-b1", "adabelief", 0.02, b1=0.8, nesterov=True),
    optax_same("adabelief-schedule-no-eps_root", "adabelief", gradtx.exponential_schedule(0.02, 0.95), eps_root=0.0),
    optax_same("novograd", "novograd", 0.01),
    optax_same("novograd-positional", "novograd", 0.02, 0.8, 0.5, 1e-4, 1e-6, 0.01),
    optax_same("novograd-b2-wd", "novograd", 0.02, b2=0.7, weight_decay=0.05),
    optax_same("novograd-schedule-eps", "novograd", gradtx.exponential_schedule(0.02, 0.95), eps=1e-3),
    Parity("novograd-schedule-wd-mask",  # novograd is per leaf: a masked decay is two optax novograds
           lambda: gradtx.novograd(gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.1,
                                   weight_decay_mask={"w": True, "b": False, "v": True}),
           lambda: optax.multi_transform(
               {"decay": optax.novograd(gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.1),
                "plain": optax.novograd(gradtx.exponential_schedule(0.02, 0.95))},
               {"w": "decay", "b": "plain", "v": "decay"})),
    # Blocks, each followed by a fixed step on both sides.
    Parity("scale_by_adam-positional-nesterov",
           lambda: gradtx.chain(gradtx.scale_by_adam(0.8, 0.99, 1e-6, 1e-10, None, nesterov=True), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_adam(0.8, 0.99, 1e-6, 1e-10, None, nesterov=True), optax.scale(-0.02))),
    Parity("scale_by_amsgrad-positional",
           lambda: gradtx.chain(gradtx.scale_by_amsgrad(0.8, 0.9, 1e-6, 1e-10, None, True, False), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_amsgrad(0.8, 0.9, 1e-6, 1e-10, None, True, False), optax.scale(-0.02))),
    Parity("scale_by_radam-positional-nesterov",
           lambda: gradtx.chain(gradtx.scale_by_radam(0.8, 0.95, 1e-3, 1e-10, 4.5, nesterov=True), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_radam(0.8, 0.95, 1e-3, 1e-10, 4.5, nesterov=True), optax.scale(-0.02))),
    Parity("scale_by_adamax-positional",
           lambda: gradtx.chain(gradtx.scale_by_adamax(0.8, 0.95, 1e-3), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_adamax(0.8, 0.95, 1e-3), optax.scale(-0.02))),
    Parity("scale_by_lion-smooth",
           lambda: gradtx.chain(gradtx.scale_by_lion(mode="smooth", smooth_beta=3.0), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_lion(mode="smooth", smooth_beta=3.0), optax.scale(-0.01))),
    Parity("scale_by_lion-refined",
           lambda: gradtx.chain(gradtx.scale_by_lion(b1=0.5, mode="refined"), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_lion(b1=0.5, mode="refined"), optax.scale(-0.01))),
    Parity("scale_by_adan-positional",
           lambda: gradtx.chain(gradtx.scale_by_adan(0.9, 0.8, 0.95, 1e-6, 1e-10), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_adan(0.9, 0.8, 0.95, 1e-6, 1e-10), optax.scale(-0.02))),
    Parity("scale_by_yogi-eps-root-initial",
           lambda: gradtx.chain(gradtx.scale_by_yogi(0.9, 0.999, 1e-3, 1e-6, 0.1), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_yogi(0.9, 0.999, 1e-3, 1e-6, 0.1), optax.scale(-0.02))),
    Parity("scale_by_belief-positional-nesterov",
           lambda: gradtx.chain(gradtx.scale_by_belief(0.8, 0.99, 1e-8, 1e-10, nesterov=True), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_belief(0.8, 0.99, 1e-8, 1e-10, nesterov=True), optax.scale(-0.02))),
    Parity("scale_by_novograd-wd",
           lambda: gradtx.chain(gradtx.scale_by_novograd(0.7, weight_decay=0.05), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_novograd(0.7, weight_decay=0.05), optax.scale(-0.01))),
    # === sgd/rms family (H2)
    # Blocks, each followed by a fixed step on both sides.
    Parity("ema", lambda: gradtx.chain(gradtx.ema(0.8), gradtx.scale(-0.1)),
           lambda: optax.chain(optax.ema(0.8), optax.scale(-0.1))),
    Parity("ema-positional-no-debias", lambda: gradtx.chain(gradtx.ema(0.7, False, None), gradtx.scale(-0.1)),
           lambda: optax.chain(optax.ema(0.7, False, None), optax.scale(-0.1))),
    Parity("trace", lambda: gradtx.chain(gradtx.trace(0.8), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.trace(0.8), optax.scale(-0.02))),
    Parity("trace-positional-nesterov", lambda: gradtx.chain(gradtx.trace(0.7, True, None), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.trace(0.7, True, None), optax.scale(-0.02))),
    Parity("scale_by_rms-bias_correction",
           lambda: gradtx.chain(gradtx.scale_by_rms(0.8, 1e-3, 0.1, False, True), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_rms(0.8, 1e-3, 0.1, False, True), optax.scale(-0.01))),
    Parity("scale_by_stddev-bias_correction",
           lambda: gradtx.chain(gradtx.scale_by_stddev(0.8, 1e-3, 0.5, True, True), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_stddev(0.8, 1e-3, 0.5, True, True), optax.scale(-0.01))),
    Parity("scale_by_rss", lambda: gradtx.chain(gradtx.scale_by_rss(), gradtx.scale(-0.1)),
           lambda: optax.chain(optax.scale_by_rss(), optax.scale(-0.1))),
    Parity("scale_by_adadelta", lambda: gradtx.chain(gradtx.scale_by_adadelta(0.8, 1e-4), gradtx.scale(-0.5)),
           lambda: optax.chain(optax.scale_by_adadelta(0.8, 1e-4), optax.scale(-0.5))),
    Parity("scale_by_trust_ratio",
           lambda: gradtx.chain(gradtx.scale_by_trust_ratio(0.1, 0.5, 1e-3), gradtx.scale(-0.05)),
           lambda: optax.chain(optax.scale_by_trust_ratio(0.1, 0.5, 1e-3), optax.scale(-0.05))),
    Parity("scale_by_sm3-decay-eps",
           lambda: gradtx.chain(gradtx.scale_by_sm3(0.3, 0.9, 1e-6), gradtx.scale(-0.05)),
           lambda: optax.chain(optax.scale_by_sm3(0.3, 0.9, 1e-6), optax.scale(-0.05))),
    Parity("signum-from-blocks",
           lambda: gradtx.chain(gradtx.ema(0.9, debias=False), gradtx.scale_by_sign(), gradtx.scale(-0.01)),
           lambda: optax.signum(0.01, beta=0.9)),
    Parity("scale_by_polyak", lambda: gradtx.chain(gradtx.scale_by_polyak(0.1, 0.5, 1e-3, "sps+"), gradtx.scale(-1.0)),
           lambda: optax.chain(optax.scale_by_polyak(0.1, 0.5, 1e-3, "sps+"), optax.scale(-1.0))),
    Parity("add_noise", lambda: gradtx.chain(gradtx.add_noise(0.01, 0.55, 3), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.add_noise(0.01, 0.55, 3), optax.scale(-0.01))),
    Parity("scale_by_optimistic_gradient",
           lambda: gradtx.chain(gradtx.scale_by_optimistic_gradient(0.5, 2.0), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_optimistic_gradient(0.5, 2.0), optax.scale(-0.01))),
    # Optimizers: defaults, all positional, two non-default configurations.
    optax_same("sgd", "sgd", 0.05),
    optax_same("sgd-positional", "sgd", 0.03, 0.7, True, None),
    optax_same("sgd-momentum", "sgd", 0.03, momentum=0.9),
    optax_same("sgd-nesterov-schedule", "sgd", gradtx.exponential_schedule(0.03, 0.95), momentum=0.7, nesterov=True),
    optax_same("rmsprop", "rmsprop", 0.01),
    optax_same("rmsprop-positional", "rmsprop", 0.01, 0.8, 1e-3, 0.5, False, True, 0.7, True, True),
    optax_same("rmsprop-centered-nesterov", "rmsprop", 0.01, decay=0.8, eps=1e-3, initial_scale=0.5, centered=True,
               momentum=0.7, nesterov=True),
    optax_same("rmsprop-eps-outside-bias_correction-schedule", "rmsprop", gradtx.exponential_schedule(0.01, 0.95),
               eps=1e-3, initial_scale=0.2, eps_in_sqrt=False, momentum=0.5, bias_correction=True),
    optax_same("adagrad", "adagrad", 0.1),
    optax_same("adagrad-positional", "adagrad", 0.05, 0.3, 1e-3),
    optax_same("adagrad-zero-start", "adagrad", 0.05, initial_accumulator_value=0.0, eps=1e-3),
    optax_same("adagrad-schedule-eps", "adagrad", gradtx.exponential_schedule(0.2, 0.95), eps=0.0),
    # (optax.adadelta() with no learning rate ascends: tests/optimizers/test_peer_regressions.py)
    optax_same("adadelta", "adadelta", 1.0),
    optax_same("adadelta-positional", "adadelta", 0.5, 0.8, 1e-4, 0.05, {"w": True, "b": False, "v": True}),
    optax_same("adadelta-rho-eps-wd", "adadelta", 0.5, rho=0.8, eps=1e-4, weight_decay=0.05),
    optax_same("adadelta-schedule", "adadelta", gradtx.exponential_schedule(2.0, 0.95), eps=1e-3),
    # (rprop: Optax returns each step one call late; tests/optimizers/test_peer_regressions.py)
    optax_same("lars", "lars", 0.1),
    optax_same("lars-positional", "lars", 0.5, 0.01, {"w": True, "b": False, "v": True}, 0.02, 1e-3,
               {"w": True, "b": True, "v": False}, 0.8, True),
    optax_same("lars-schedule-no-momentum", "lars", gradtx.exponential_schedule(0.5, 0.95), trust_coefficient=0.05,
               momentum=0.0),
    optax_same("lars-wd-eps", "lars", 0.3, weight_decay=0.01, eps=1e-3, momentum=0.5),
    optax_same("fromage", "fromage", 0.01),
    optax_same("fromage-positional", "fromage", 0.1, 0.5),
    optax_same("fromage-schedule", "fromage", gradtx.exponential_schedule(0.05, 0.95)),
    optax_same("fromage-min_norm", "fromage", 0.02, min_norm=2.0),
    optax_same("sm3", "sm3", 0.1),
    optax_same("sm3-positional", "sm3", 0.05, 0.5),
    optax_same("sm3-momentum", "sm3", 0.05, momentum=0.0),
    optax_same("sm3-large-momentum", "sm3", 0.2, momentum=0.95),
    optax_same("sign_sgd", "sign_sgd", 0.01),
    optax_same("sign_sgd-positional", "sign_sgd", 0.02),
    optax_same("sign_sgd-schedule", "sign_sgd", gradtx.exponential_schedule(0.02, 0.95)),
    optax_same("sign_sgd-kw", "sign_sgd", learning_rate=0.005),
    optax_same("noisy_sgd", "noisy_sgd", 0.01),
    optax_same("noisy_sgd-positional", "noisy_sgd", 0.02, 0.1, 0.3, 42),
    optax_same("noisy_sgd-eta-gamma", "noisy_sgd", 0.02, eta=0.1, gamma=0.3, key=42),
    optax_same("noisy_sgd-schedule-seed", "noisy_sgd", gradtx.exponential_schedule(0.02, 0.95), eta=0.05, gamma=1.0,
               seed=7),
    optax_same("polyak_sgd", "polyak_sgd"),
    optax_same("polyak_sgd-positional", "polyak_sgd", 0.1, 0.5, -1.0, 1e-3, "sps+"),
    optax_same("polyak_sgd-schedule-fmin", "polyak_sgd", 1.0, gradtx.exponential_schedule(1.0, 0.9), 0.5,
               variant="sps+"),
    optax_same("polyak_sgd-eps", "polyak_sgd", max_learning_rate=0.3, eps=0.1),
    optax_same("optimistic_gradient_descent", "optimistic_gradient_descent", 0.01),
    optax_same("optimistic_gradient_descent-positional", "optimistic_gradient_descent",
               gradtx.exponential_schedule(0.02, 0.95), 1.5, -0.5),
    optax_same("optimistic_gradient_descent-alpha-beta", "optimistic_gradient_descent", 0.02, alpha=0.5, beta=2.0),
    optax_same("optimistic_gradient_descent-alpha", "optimistic_gradient_descent", 0.01, alpha=2.0),
    # === adafactor/muon/lbfgs (H3) (more configurations: tests/optimizers/test_{adafactor,muon,lbfgs}.py)
    optax_same("adafactor", "adafactor"),
    optax_same("adafactor-positional", "adafactor", 0.05, 2, 0.7, 0, False, 0.5, 0.9, None, 1e-3, 1e-20, True, None),
    optax_same("adafactor-factored-momentum-wd", "adafactor", 0.1, min_dim_size_to_factor=3, momentum=0.8,
               dtype_momentum=None, weight_decay_rate=0.01, weight_decay_mask={"w": True, "b": False, "v": True}),
    optax_same("adafactor-schedule-unfactored-no-clip", "adafactor", gradtx.exponential_schedule(0.1, 0.95),
               factored=False, clipping_threshold=None),
    optax_same("lbfgs", "lbfgs"),
    optax_same("lbfgs-positional", "lbfgs", 0.5, 4, False, optax.scale_by_backtracking_linesearch(20)),
    optax_same("lbfgs-lr-memory", "lbfgs", learning_rate=0.3, memory_size=3),
    optax_same("lbfgs-no-linesearch", "lbfgs", 0.05, linesearch=None)._replace(rtol=LBFGS_RTOL),
    Parity("lbfgs-backtracking-store-grad",
           lambda: gradtx.lbfgs(memory_size=5, linesearch=gradtx.scale_by_backtracking_linesearch(15, store_grad=True)),
           lambda: optax.lbfgs(memory_size=5, linesearch=optax.scale_by_backtracking_linesearch(15, store_grad=True))),
    Parity("lbfgs-zoom-keep-capped",
           lambda: gradtx.lbfgs(linesearch=gradtx.scale_by_zoom_linesearch(10, max_learning_rate=2.0, approx_dec_rtol=None)),
           lambda: optax.lbfgs(linesearch=optax.scale_by_zoom_linesearch(10, max_learning_rate=2.0, approx_dec_rtol=None))),
    optax_same("muon", "muon", 0.02),
    optax_same("muon-positional", "muon", 0.02, (3.0, -3.2, 1.2), 4, 0.9, 1e-6, 0.01, None, None),
    optax_same("muon-plain-adaptive-wd", "muon", 0.02, nesterov=False, adaptive=True, weight_decay=0.1,
               adam_weight_decay=0.01, adam_learning_rate=0.01),
    optax_same("muon-dion-spectral-rms", "muon", 0.02, "dion", preconditioning="spectral", consistent_rms=0.2),
    # === schedules and plateau (H4)
    # === issue 12: transformations (G1)
    optax_same("signum", "signum", 0.02),
    optax_same("signum-beta-dtype", "signum", 0.02, 0.5, jnp.float32),
    Parity("MultiSteps-adam", lambda: gradtx.MultiSteps(gradtx.adam(0.05), 3).gradient_transformation(),
           lambda: optax.MultiSteps(optax.adam(0.05), 3).gradient_transformation()),
    Parity("MultiSteps-schedule-sum-skip-f64acc",
           lambda: gradtx.MultiSteps(gradtx.sgd(0.01, momentum=0.5), lambda s: 2 + s % 2, False,
                                     lambda u, s, p: gradtx.skip_large_updates(u, s, p, 300.0), None).gradient_transformation(),
           lambda: optax.MultiSteps(optax.sgd(0.01, momentum=0.5), lambda s: 2 + s % 2, False,
                                    lambda u, s, p: optax.skip_large_updates(u, s, p, 300.0), None).gradient_transformation()),
    Parity("apply_every-sgd", lambda: gradtx.chain(gradtx.sgd(0.02), gradtx.apply_every()),
           lambda: optax.chain(optax.sgd(0.02), optax.apply_every())),
    Parity("apply_every-3-adam", lambda: gradtx.chain(gradtx.adam(0.02), gradtx.apply_every(3)),
           lambda: optax.chain(optax.adam(0.02), optax.apply_every(3))),
    Parity("multi_transform", lambda: gradtx.multi_transform({"a": gradtx.adam(0.05), "s": gradtx.sgd(0.02)}, {"w": "a", "b": "s", "v": "a"}),
           lambda: optax.multi_transform({"a": optax.adam(0.05), "s": optax.sgd(0.02)}, {"w": "a", "b": "s", "v": "a"})),
    Parity("multi_transform-callable-zero-extra", lambda: gradtx.multi_transform({"a": gradtx.adam(0.05), "z": gradtx.set_to_zero()}, lambda p: {"w": "a", "b": "z", "v": "a"}, mask_compatible_extra_args=True),
           lambda: optax.multi_transform({"a": optax.adam(0.05), "z": optax.set_to_zero()}, lambda p: {"w": "a", "b": "z", "v": "a"}, mask_compatible_extra_args=True)),
    Parity("centralize-sgd", lambda: gradtx.chain(gradtx.centralize(), gradtx.sgd(0.05)),
           lambda: optax.chain(optax.centralize(), optax.sgd(0.05))),
    Parity("centralize-adam", lambda: gradtx.chain(gradtx.centralize(), gradtx.adam(0.05, b1=0.8)),
           lambda: optax.chain(optax.centralize(), optax.adam(0.05, b1=0.8))),
    Parity("keep_params_nonnegative-sgd", lambda: gradtx.chain(gradtx.sgd(0.2), gradtx.keep_params_nonnegative()),
           lambda: optax.chain(optax.sgd(0.2), optax.keep_params_nonnegative())),
    Parity("keep_params_nonnegative-adam", lambda: gradtx.chain(gradtx.adam(0.3), gradtx.keep_params_nonnegative()),
           lambda: optax.chain(optax.adam(0.3), optax.keep_params_nonnegative())),
    Parity("set_to_zero", lambda: gradtx.chain(gradtx.sgd(0.05), gradtx.masked(gradtx.set_to_zero(), {"w": False, "b": True, "v": False})),
           lambda: optax.chain(optax.sgd(0.05), optax.masked(optax.set_to_zero(), {"w": False, "b": True, "v": False}))),
    Parity("normalize_by_update_norm", lambda: gradtx.chain(gradtx.normalize_by_update_norm(), gradtx.scale(-0.05)),
           lambda: optax.chain(optax.normalize_by_update_norm(), optax.scale(-0.05))),
    Parity("normalize_by_update_norm-args", lambda: gradtx.chain(gradtx.normalize_by_update_norm(-0.1, 1e-2)),
           lambda: optax.chain(optax.normalize_by_update_norm(-0.1, 1e-2))),
    Parity("scale_by_param_block_norm", lambda: gradtx.chain(gradtx.scale_by_param_block_norm(), gradtx.sgd(0.02)),
           lambda: optax.chain(optax.scale_by_param_block_norm(), optax.sgd(0.02))),
    Parity("scale_by_param_block_norm-min", lambda: gradtx.chain(gradtx.scale_by_param_block_norm(2.0), gradtx.sgd(0.01)),
           lambda: optax.chain(optax.scale_by_param_block_norm(2.0), optax.sgd(0.01))),
    Parity("stateless_with_tree_map", lambda: gradtx.chain(gradtx.stateless_with_tree_map(lambda u, p: u + 0.1 * p), gradtx.sgd(0.02)),
           lambda: optax.chain(optax.stateless_with_tree_map(lambda u, p: u + 0.1 * p), optax.sgd(0.02))),
    Parity("conditionally_mask", lambda: gradtx.conditionally_mask(gradtx.adam(0.05), lambda step: step % 3 != 1),
           lambda: optax.conditionally_mask(optax.adam(0.05), lambda step: step % 3 != 1)),
    Parity("conditionally_mask-forward", lambda: gradtx.conditionally_mask(gradtx.sgd(0.05), lambda step, value, **kw: value > 1.0, True),
           lambda: optax.conditionally_mask(optax.sgd(0.05), lambda step, value, **kw: value > 1.0, True)),
    Parity("conditionally_transform", lambda: gradtx.chain(gradtx.conditionally_transform(gradtx.scale_by_adam(), lambda step: step >= 5), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.conditionally_transform(optax.scale_by_adam(), lambda step: step >= 5), optax.scale(-0.02))),
    Parity("conditionally_transform-forward", lambda: gradtx.chain(gradtx.conditionally_transform(gradtx.scale(0.1), lambda step, value, **kw: value > 1.0, forward_extra_args=True), gradtx.sgd(0.05)),
           lambda: optax.chain(optax.conditionally_transform(optax.scale(0.1), lambda step, value, **kw: value > 1.0, forward_extra_args=True), optax.sgd(0.05))),
    Parity("selective_transform", lambda: gradtx.selective_transform(gradtx.adam(0.05), freeze_mask={"w": False, "b": True, "v": False}),
           lambda: optax.selective_transform(optax.adam(0.05), freeze_mask={"w": False, "b": True, "v": False})),
    Parity("selective_transform-none-frozen", lambda: gradtx.selective_transform(gradtx.sgd(0.05, momentum=0.9), freeze_mask=False),
           lambda: optax.selective_transform(optax.sgd(0.05, momentum=0.9), freeze_mask=False)),
    Parity("flatten-adam", lambda: gradtx.flatten(gradtx.adam(0.05)),
           lambda: optax.flatten(optax.adam(0.05))),
    Parity("flatten-sgd-nesterov", lambda: gradtx.flatten(gradtx.sgd(0.02, momentum=0.9, nesterov=True)),
           lambda: optax.flatten(optax.sgd(0.02, momentum=0.9, nesterov=True))),
    Parity("with_extra_args_support-lbfgs", lambda: gradtx.with_extra_args_support(gradtx.lbfgs()),
           lambda: optax.with_extra_args_support(optax.lbfgs())),
    Parity("monitor-snapshot-sgd", lambda: gradtx.chain(gradtx.monitor({"n": lambda u: jnp.sum(u["w"]), "e": gradtx.measure_with_ema(lambda u: jnp.max(u["v"]), 0.9)}), gradtx.snapshot("s", lambda u: u["b"]), gradtx.sgd(0.05)),
           lambda: optax.chain(optax.monitor({"n": lambda u: jnp.sum(u["w"]), "e": optax.measure_with_ema(lambda u: jnp.max(u["v"]), 0.9)}), optax.snapshot("s", lambda u: u["b"]), optax.sgd(0.05))),
    # === issue 12: numerics and tree (G2)
    # === issue 12: contrib optimizers (G3)
    optax_same("schedule_free_sgd", "schedule_free_sgd"),
    optax_same("schedule_free_sgd-positional", "schedule_free_sgd", 0.3, None, 0.8, 1e-2, 1.5, None),
    optax_same("schedule_free_adamw", "schedule_free_adamw"),
    optax_same("schedule_free_adamw-positional", "schedule_free_adamw", 0.05, None, 0.95, 0.99, 1e-6, 1e-2, 1.0),
    Parity("schedule_free-adam", lambda: gradtx.schedule_free(gradtx.adam(0.05, b1=0.0), 0.05, 0.8),
           lambda: optax.contrib.schedule_free(optax.adam(0.05, b1=0.0), 0.05, 0.8)),
    optax_same("prodigy", "prodigy"),
    optax_same("prodigy-positional", "prodigy", 0.5, (0.8, 0.99), 0.9, 1e-6, 1e-4, 0.5, 1e-2, True),
    optax_same("dadapt_adamw", "dadapt_adamw"),
    optax_same("dadapt_adamw-positional", "dadapt_adamw", 0.5, (0.8, 0.99), 1e-6, 1e-4, 1e-2),
    optax_same("dog", "dog"),
    optax_same("dog-positional", "dog", 0.5, ("distance", 0.1), 1e-6, 1e-3, None),
    optax_same("dog-learning_rate-init", "dog", init_step=("learning_rate", 0.01)),
    optax_same("dowg", "dowg"),
    optax_same("dowg-positional", "dowg", 0.5, 0.1, 1e-6, 1e-3, None),
    Parity("mechanize-sgd", lambda: gradtx.mechanize(gradtx.sgd(0.05)), lambda: optax.contrib.mechanize(optax.sgd(0.05))),
    Parity("mechanize-adam-positional", lambda: gradtx.mechanize(gradtx.adam(0.05), 1e-3, 1e-7, 1e-5, 4),
           lambda: optax.contrib.mechanize(optax.adam(0.05), 1e-3, 1e-7, 1e-5, 4)),
    optax_same("cocob", "cocob"),
    optax_same("cocob-positional", "cocob", 0.5, 50.0, 1e-6, 1e-3, None),
    # === issue 12: contrib optimizers (G4)
    optax_same("adopt", "adopt", 0.01),
    optax_same("adopt-nesterov-noclip", "adopt", 0.02, 0.8, 0.99, 1e-5, nesterov=True, use_clipping=False),
    optax_same("adopt-clipfn", "adopt", 0.02, b2=0.9, clip_value_fn=lambda c: 0.5 + jnp.sqrt(c.astype(jnp.float64))),
    optax_same("ademamix", "ademamix", 0.01),
    optax_same("ademamix-schedules-wd", "ademamix", 0.02, 0.8, 0.99, lambda c: 0.999 - 0.5 / (c.astype(jnp.float64) + 10.0),
               lambda c: 0.1 * c.astype(jnp.float64), 1e-6, 1e-9, weight_decay=0.1, mask={"w": True, "b": False, "v": True}),
    Parity("scale_by_ademamix-neg", lambda: gradtx.chain(gradtx.scale_by_ademamix(0.85, 0.95, 0.99, alpha=-2.0), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.contrib.scale_by_ademamix(0.85, 0.95, 0.99, alpha=-2.0), optax.scale(-0.01))),
    optax_same("simplified_ademamix", "simplified_ademamix", 0.01),
    optax_same("simplified_ademamix-alpha-wd", "simplified_ademamix", 0.005, 0.9, 0.99, lambda c: 1.0 + 0.1 * c.astype(jnp.float64),
               1e-6, 1e-8, 0.05),
    optax_same("acprop", "acprop", 0.01),
    optax_same("acprop-wd", "acprop", 0.02, 0.8, 0.99, 1e-8, 1e-10, 0.1, mask={"w": True, "b": False, "v": True}),
    optax_same("optimistic_adam", "optimistic_adam", 0.01),
    optax_same("optimistic_adam-plain", "optimistic_adam", 0.02, 0.005, 0.8, 0.99, 1e-6, 1e-9, nesterov=False),
    optax_same("optimistic_adam_v2", "optimistic_adam_v2", 0.01),
    optax_same("optimistic_adam_v2-sched", "optimistic_adam_v2", lambda c: 0.02 / (1.0 + 0.1 * c.astype(jnp.float64)), alpha=0.7,
               beta=0.4, b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-9, nesterov=False),
    optax_same("momo", "momo", 0.1),
    optax_same("momo-defaults", "momo"),
    optax_same("momo-adapt-wd", "momo", 0.5, 0.8, -1.0, 0.01, True),
    optax_same("momo_adam", "momo_adam"),
    optax_same("momo_adam-adapt-wd", "momo_adam", 0.05, 0.8, 0.99, 1e-6, -1.0, 0.01, True),
    Parity("normalize-sgd", lambda: gradtx.chain(gradtx.normalize(), gradtx.sgd(0.05)),
           lambda: optax.chain(optax.contrib.normalize(), optax.sgd(0.05))),
    Parity("split_real_and_imaginary-adam", lambda: gradtx.split_real_and_imaginary(gradtx.adam(0.02)),
           lambda: optax.chain(optax.contrib.split_real_and_imaginary(optax.adam(0.02)))),
    # === combinators and blocks (lead)
    Parity("adamaxw-as-optax", lambda: gradtx.adamaxw(0.02, b2=0.95, weight_decay=0.1),
           lambda: optax.adamaxw(0.02, b2=0.95, weight_decay=0.1)),
    Parity("nadamw-as-optax", lambda: gradtx.nadamw(0.02, b1=0.8, eps=1e-4, eps_root=1e-6, weight_decay=0.1),
           lambda: optax.nadamw(0.02, b1=0.8, eps=1e-4, eps_root=1e-6, weight_decay=0.1)),
    Parity("clip_by_global_norm-sgd", lambda: gradtx.chain(gradtx.clip_by_global_norm(5.0), gradtx.sgd(0.02)),
           lambda: optax.chain(optax.clip_by_global_norm(5.0), optax.sgd(0.02))),
    Parity("clip-adam", lambda: gradtx.chain(gradtx.clip(2.0), gradtx.adam(0.05)),
           lambda: optax.chain(optax.clip(2.0), optax.adam(0.05))),
    Parity("clip_by_block_rms-sgd", lambda: gradtx.chain(gradtx.clip_by_block_rms(1.0), gradtx.sgd(0.02)),
           lambda: optax.chain(optax.clip_by_block_rms(1.0), optax.sgd(0.02))),
    Parity("adaptive_grad_clip-sgd", lambda: gradtx.chain(gradtx.adaptive_grad_clip(2.0, 0.1), gradtx.sgd(0.02)),
           lambda: optax.chain(optax.adaptive_grad_clip(2.0, 0.1), optax.sgd(0.02))),
    Parity("zero_nans-adam", lambda: gradtx.chain(gradtx.zero_nans(), gradtx.adam(0.05)),
           lambda: optax.chain(optax.zero_nans(), optax.adam(0.05))),
    Parity("apply_if_finite-adam", lambda: gradtx.apply_if_finite(gradtx.adam(0.05), 2),
           lambda: optax.apply_if_finite(optax.adam(0.05), 2)),
]
