"""The registries every generic test runs over. A new optimizer is one line in each table.

* ``OPTIMIZERS``: factories run through the whole contract (tests/test_contract.py). The
  hyperparameters are chosen so that 300 steps solve the contract's quadratic.
* ``TORCH_CASES``: gradtx vs ``torch.optim`` compared live in float64 over 25 steps of
  tests/reference.py's problem (tests/test_parity.py), in non-default configurations.
* ``OPTAX_CASES``: gradtx vs optax, same comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import optax
import pytest
import torch

import gradtx

OPTIMIZERS = [
    # torch.optim family
    pytest.param(lambda: gradtx.sgd(0.1), id="sgd"),
    pytest.param(lambda: gradtx.sgd(0.05, momentum=0.9, nesterov=True, weight_decay=1e-4), id="sgd-nesterov"),
    pytest.param(lambda: gradtx.adam(0.1), id="adam"),
    pytest.param(lambda: gradtx.adam(0.1, amsgrad=True, mu_dtype=jnp.bfloat16), id="adam-amsgrad-bf16mu"),
    pytest.param(lambda: gradtx.adamw(0.1, weight_decay=1e-3), id="adamw"),
    pytest.param(lambda: gradtx.amsgrad(0.1), id="amsgrad"),
    # --- adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam
    pytest.param(lambda: gradtx.adagrad(0.5), id="adagrad"),
    pytest.param(lambda: gradtx.adagrad(1.0, lr_decay=1e-3, weight_decay=1e-4, initial_accumulator_value=0.1),
                 id="adagrad-lr_decay-wd"),
    pytest.param(lambda: gradtx.adadelta(1.0, eps=1e-3), id="adadelta"),
    pytest.param(lambda: gradtx.adamax(0.1), id="adamax"),
    pytest.param(lambda: gradtx.adamaxw(0.1, weight_decay=1e-3), id="adamaxw"),
    pytest.param(lambda: gradtx.rmsprop(0.01), id="rmsprop"),
    pytest.param(lambda: gradtx.rmsprop(0.01, momentum=0.9, centered=True, weight_decay=1e-4), id="rmsprop-centered-momentum"),
    pytest.param(lambda: gradtx.rprop(0.01), id="rprop"),
    pytest.param(lambda: gradtx.asgd(0.3, lambd=1e-3, t0=10.0, weight_decay=1e-4), id="asgd"),
    pytest.param(lambda: gradtx.nadam(0.1), id="nadam"),
    pytest.param(lambda: gradtx.nadam(0.1, weight_decay=1e-3, decoupled_weight_decay=True), id="nadam-decoupled"),
    pytest.param(lambda: gradtx.nadamw(0.1, mu_dtype=jnp.bfloat16), id="nadamw-bf16mu"),
    pytest.param(lambda: gradtx.radam(0.1), id="radam"),
    pytest.param(lambda: gradtx.radam(0.1, weight_decay=1e-3, decoupled_weight_decay=True), id="radam-decoupled"),
    # --- sparse_adam, adafactor, muon
    pytest.param(lambda: gradtx.sparse_adam(0.1), id="sparse_adam"),
    pytest.param(lambda: gradtx.adafactor(0.1), id="adafactor"),
    pytest.param(lambda: gradtx.adafactor(0.1, eps=(1e-30, 1e-3), d=2.0, weight_decay=1e-3), id="adafactor-wd"),
    pytest.param(lambda: gradtx.muon(0.02, weight_decay=1e-3), id="muon"),
    pytest.param(lambda: gradtx.muon(0.02, nesterov=False, adjust_lr_fn="match_rms_adamw", ns_dtype=None), id="muon-f32ns"),
    # --- lbfgs
    pytest.param(lambda: gradtx.lbfgs(), id="lbfgs"),
    pytest.param(lambda: gradtx.lbfgs(0.5, history_size=4, line_search="strong_wolfe"), id="lbfgs-strong-wolfe"),
    # --- optax/keras optimizers
    # (polyak_sgd needs `value=` in every update, which the bf16 contract test does not pass:
    # its contract is checked in tests/optimizers/test_polyak_sgd.py.)
    pytest.param(lambda: gradtx.lion(0.02), id="lion"),
    pytest.param(lambda: gradtx.lion(0.02, mu_dtype=jnp.bfloat16, weight_decay_mask=r"w"),
                 id="lion-bf16mu-mask"),
    pytest.param(lambda: gradtx.lamb(0.05, weight_decay=1e-3), id="lamb"),
    pytest.param(lambda: gradtx.lars(1.0, trust_coefficient=0.1), id="lars"),
    pytest.param(lambda: gradtx.lars(0.5, weight_decay=1e-4, trust_coefficient=0.05, nesterov=True,
                                     trust_ratio_mask=r"w|b"), id="lars-nesterov-mask"),
    pytest.param(lambda: gradtx.fromage(0.1), id="fromage"),
    pytest.param(lambda: gradtx.adabelief(0.1), id="adabelief"),
    pytest.param(lambda: gradtx.adabelief(0.1, nesterov=True), id="adabelief-nesterov"),
    pytest.param(lambda: gradtx.yogi(0.1), id="yogi"),
    pytest.param(lambda: gradtx.novograd(0.1), id="novograd"),
    pytest.param(lambda: gradtx.novograd(0.05, weight_decay=1e-3, weight_decay_mask=r"w"),
                 id="novograd-wd-mask"),
    pytest.param(lambda: gradtx.sm3(0.5), id="sm3"),
    pytest.param(lambda: gradtx.adan(0.1, weight_decay=1e-3), id="adan"),
    pytest.param(lambda: gradtx.sign_sgd(0.01), id="sign_sgd"),
    pytest.param(lambda: gradtx.noisy_sgd(0.1, key=0), id="noisy_sgd"),
    pytest.param(lambda: gradtx.optimistic_gradient_descent(0.1), id="optimistic_gradient_descent"),
    pytest.param(lambda: gradtx.ftrl(0.5), id="ftrl"),
    pytest.param(lambda: gradtx.ftrl(0.5, -0.5, 0.1, 1e-3, 1e-3, 1e-4, 0.1), id="ftrl-regularized"),
    # --- clipping, robustness, accumulation, averaging blocks
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
    # --- run-time hyperparameters, plateau, freeze, parameter EMA
    pytest.param(lambda: gradtx.inject_hyperparams(gradtx.adamw)(0.1, weight_decay=1e-3), id="inject_hyperparams-adamw"),
    pytest.param(lambda: gradtx.chain(gradtx.sgd(0.1, momentum=0.5), gradtx.reduce_on_plateau(factor=0.5, patience=5)),
                 id="sgd+reduce_on_plateau"),
    pytest.param(lambda: gradtx.with_param_ema(gradtx.adam(0.1), 0.9), id="with_param_ema-adam"),
    # --- tools
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


TORCH_CASES = [
    Parity("sgd", lambda: gradtx.sgd(0.05), _torch(torch.optim.SGD, lr=0.05)),
    Parity(
        "sgd-momentum-dampening-wd",
        lambda: gradtx.sgd(0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
        _torch(torch.optim.SGD, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
    ),
    Parity(
        "sgd-nesterov-maximize",
        lambda: gradtx.sgd(0.02, momentum=0.8, nesterov=True, maximize=True),
        _torch(torch.optim.SGD, lr=0.02, momentum=0.8, nesterov=True, maximize=True),
        sign=-1.0,
    ),
    Parity("adam", lambda: gradtx.adam(0.01), _torch(torch.optim.Adam, lr=0.01)),
    Parity(
        "adam-wd-amsgrad",
        lambda: gradtx.adam(0.03, b1=0.8, b2=0.95, eps=1e-6, weight_decay=0.1, amsgrad=True),
        _torch(torch.optim.Adam, lr=0.03, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, amsgrad=True),
    ),
    Parity(
        "adam-maximize",
        lambda: gradtx.adam(0.02, maximize=True),
        _torch(torch.optim.Adam, lr=0.02, maximize=True),
        sign=-1.0,
    ),
    Parity("adamw", lambda: gradtx.adamw(0.01), _torch(torch.optim.AdamW, lr=0.01)),
    Parity(
        "adamw-wd-amsgrad-maximize",
        lambda: gradtx.adamw(0.03, b1=0.7, weight_decay=0.3, amsgrad=True, maximize=True),
        _torch(torch.optim.AdamW, lr=0.03, betas=(0.7, 0.999), weight_decay=0.3, amsgrad=True, maximize=True),
        sign=-1.0,
    ),
    Parity(
        "adamw-lr-schedule",
        lambda: gradtx.adamw(lambda count: 0.05 * 0.9 ** jnp.asarray(count, jnp.float64), weight_decay=0.2),
        lambda params: _Scheduled(
            torch.optim.AdamW(params, lr=0.05, weight_decay=0.2), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)
        ),
    ),
    Parity(
        "amsgrad",
        lambda: gradtx.amsgrad(0.03, b2=0.9),
        _torch(torch.optim.Adam, lr=0.03, betas=(0.9, 0.9), amsgrad=True),
    ),
    # --- adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam
    Parity("adagrad", lambda: gradtx.adagrad(0.05), _torch(torch.optim.Adagrad, lr=0.05)),
    Parity(
        "adagrad-lr_decay-wd-accumulator-eps",
        lambda: gradtx.adagrad(0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.3, eps=1e-3),
        _torch(torch.optim.Adagrad, lr=0.1, lr_decay=0.05, weight_decay=0.01, initial_accumulator_value=0.3, eps=1e-3),
    ),
    Parity(
        "adagrad-lr_decay-schedule-maximize",
        lambda: gradtx.adagrad(lambda count: 0.2 * 0.9 ** jnp.asarray(count, jnp.float64), lr_decay=0.1, maximize=True),
        lambda params: _Scheduled(
            torch.optim.Adagrad(params, lr=0.2, lr_decay=0.1, maximize=True),
            lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9),
        ),
        sign=-1.0,
    ),
    Parity("adadelta", lambda: gradtx.adadelta(), _torch(torch.optim.Adadelta)),
    Parity(
        "adadelta-rho-eps-wd",
        lambda: gradtx.adadelta(0.5, rho=0.8, eps=1e-4, weight_decay=0.05),
        _torch(torch.optim.Adadelta, lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05),
    ),
    Parity(
        "adadelta-maximize",
        lambda: gradtx.adadelta(2.0, eps=1e-3, maximize=True),
        _torch(torch.optim.Adadelta, lr=2.0, eps=1e-3, maximize=True),
        sign=-1.0,
    ),
    Parity("adamax", lambda: gradtx.adamax(0.02), _torch(torch.optim.Adamax, lr=0.02)),
    Parity(
        "adamax-betas-eps-wd",
        lambda: gradtx.adamax(0.03, b1=0.8, b2=0.95, eps=1e-3, weight_decay=0.1),
        _torch(torch.optim.Adamax, lr=0.03, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1),
    ),
    Parity(
        "adamax-maximize",
        lambda: gradtx.adamax(0.02, maximize=True),
        _torch(torch.optim.Adamax, lr=0.02, maximize=True),
        sign=-1.0,
    ),
    Parity("rmsprop", lambda: gradtx.rmsprop(0.01), _torch(torch.optim.RMSprop, lr=0.01)),
    Parity(
        "rmsprop-centered-momentum-wd",
        lambda: gradtx.rmsprop(0.005, decay=0.9, weight_decay=0.05, momentum=0.8, centered=True),
        _torch(torch.optim.RMSprop, lr=0.005, alpha=0.9, weight_decay=0.05, momentum=0.8, centered=True),
    ),
    Parity(
        "rmsprop-momentum-eps-maximize",
        lambda: gradtx.rmsprop(0.003, decay=0.95, eps=1e-3, momentum=0.5, maximize=True),
        _torch(torch.optim.RMSprop, lr=0.003, alpha=0.95, eps=1e-3, momentum=0.5, maximize=True),
        sign=-1.0,
    ),
    Parity(
        "rmsprop-centered-schedule",
        lambda: gradtx.rmsprop(lambda count: 0.01 * 0.9 ** jnp.asarray(count, jnp.float64), centered=True),
        lambda params: _Scheduled(
            torch.optim.RMSprop(params, lr=0.01, centered=True), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)
        ),
    ),
    Parity("rprop", lambda: gradtx.rprop(0.01), _torch(torch.optim.Rprop, lr=0.01)),
    Parity(
        "rprop-etas-step_sizes",
        lambda: gradtx.rprop(0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05)),
        _torch(torch.optim.Rprop, lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05)),
    ),
    Parity(
        "rprop-maximize",
        lambda: gradtx.rprop(0.05, etas=(0.6, 1.1), maximize=True),
        _torch(torch.optim.Rprop, lr=0.05, etas=(0.6, 1.1), maximize=True),
        sign=-1.0,
    ),
    Parity("asgd-t0", lambda: gradtx.asgd(0.05, t0=5.0), _torch(torch.optim.ASGD, lr=0.05, t0=5.0)),
    Parity(
        "asgd-lambd-alpha-wd",
        lambda: gradtx.asgd(0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01),
        _torch(torch.optim.ASGD, lr=0.05, lambd=0.05, alpha=0.6, t0=3.0, weight_decay=0.01),
    ),
    Parity(
        "asgd-maximize",
        lambda: gradtx.asgd(0.03, lambd=0.01, t0=10.0, maximize=True),
        _torch(torch.optim.ASGD, lr=0.03, lambd=0.01, t0=10.0, maximize=True),
        sign=-1.0,
    ),
    Parity(
        "asgd-schedule",
        lambda: gradtx.asgd(lambda count: 0.05 * 0.9 ** jnp.asarray(count, jnp.float64), lambd=0.1, t0=4.0),
        lambda params: _Scheduled(
            torch.optim.ASGD(params, lr=0.05, lambd=0.1, t0=4.0), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)
        ),
    ),
    Parity("nadam", lambda: gradtx.nadam(0.02), _torch(torch.optim.NAdam, lr=0.02)),
    Parity(
        "nadam-betas-wd-momentum_decay",
        lambda: gradtx.nadam(0.02, b1=0.8, b2=0.95, eps=1e-6, weight_decay=0.1, momentum_decay=0.05),
        _torch(torch.optim.NAdam, lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, momentum_decay=0.05),
    ),
    Parity(
        "nadam-decoupled-maximize",
        lambda: gradtx.nadam(0.02, weight_decay=0.2, decoupled_weight_decay=True, maximize=True),
        _torch(torch.optim.NAdam, lr=0.02, weight_decay=0.2, decoupled_weight_decay=True, maximize=True),
        sign=-1.0,
    ),
    Parity(
        "nadamw-is-nadam-without-schedule",
        lambda: gradtx.nadamw(0.02, weight_decay=0.1),
        _torch(torch.optim.NAdam, lr=0.02, weight_decay=0.1, momentum_decay=float("inf"), decoupled_weight_decay=True),
    ),
    Parity("radam", lambda: gradtx.radam(0.02), _torch(torch.optim.RAdam, lr=0.02)),
    Parity(
        "radam-betas-eps-wd",
        lambda: gradtx.radam(0.02, b1=0.8, b2=0.9, eps=1e-3, weight_decay=0.1),
        _torch(torch.optim.RAdam, lr=0.02, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1),
    ),
    Parity(
        "radam-decoupled-maximize",
        lambda: gradtx.radam(0.03, b2=0.99, weight_decay=0.2, decoupled_weight_decay=True, maximize=True),
        _torch(torch.optim.RAdam, lr=0.03, betas=(0.9, 0.99), weight_decay=0.2, decoupled_weight_decay=True, maximize=True),
        sign=-1.0,
    ),
    Parity(
        "adagrad-wd-mask-as-param-groups",
        lambda: gradtx.adagrad(0.05, weight_decay=0.2, weight_decay_mask={"b": False, "v": False, "w": True}),
        lambda params: torch.optim.Adagrad([{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}], lr=0.05),
    ),
    Parity(
        "adadelta-wd-mask-as-param-groups",
        lambda: gradtx.adadelta(1.0, weight_decay=0.2, weight_decay_mask="w"),
        lambda params: torch.optim.Adadelta([{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}]),
    ),
    Parity(
        "adamax-wd-mask-as-param-groups",
        lambda: gradtx.adamax(0.02, weight_decay=0.2, weight_decay_mask="w"),
        lambda params: torch.optim.Adamax([{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}], lr=0.02),
    ),
    Parity(
        "rmsprop-wd-mask-as-param-groups",
        lambda: gradtx.rmsprop(0.01, weight_decay=0.2, weight_decay_mask="w"),
        lambda params: torch.optim.RMSprop([{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}], lr=0.01),
    ),
    Parity(
        "rprop-step-clipped-from-the-start",
        lambda: gradtx.rprop(0.05, etas=(0.1, 2.0), step_sizes=(0.0, 0.01)),
        _torch(torch.optim.Rprop, lr=0.05, etas=(0.1, 2.0), step_sizes=(0.0, 0.01)),
    ),
    Parity(
        "asgd-wd-mask-as-param-groups",
        lambda: gradtx.asgd(0.05, lambd=0.01, t0=2.0, weight_decay=0.2, weight_decay_mask="w"),
        lambda params: torch.optim.ASGD(
            [{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}], lr=0.05, lambd=0.01, t0=2.0
        ),
    ),
    Parity(
        "nadam-wd-mask-as-param-groups",
        lambda: gradtx.nadam(0.02, weight_decay=0.2, weight_decay_mask="w"),
        lambda params: torch.optim.NAdam([{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}], lr=0.02),
    ),
    Parity(
        "radam-decoupled-wd-mask-as-param-groups",
        lambda: gradtx.radam(0.02, weight_decay=0.2, decoupled_weight_decay=True, weight_decay_mask="w"),
        lambda params: torch.optim.RAdam(
            [{"params": params[2:], "weight_decay": 0.2}, {"params": params[:2]}], lr=0.02, decoupled_weight_decay=True
        ),
    ),
    # --- sparse_adam, adafactor, muon
    Parity(  # more configurations, a 3-D leaf, Muon and SparseAdam: tests/optimizers/test_{adafactor,muon,sparse_adam}.py
        "adafactor-wd",
        lambda: gradtx.adafactor(0.05, eps=(1e-5, 1e-2), weight_decay=0.1),
        _torch(torch.optim.Adafactor, lr=0.05, eps=(1e-5, 1e-2), weight_decay=0.1),
    ),
    # --- run-time hyperparameters, plateau, freeze, parameter EMA
    # torch param_groups as partition + path_labels (params reach torch sorted by name: b, v, w)
    Parity(
        "param-groups-sgd-lr-wd",
        lambda: gradtx.partition(
            {"decay": gradtx.sgd(0.05, momentum=0.9, weight_decay=0.1), "no_decay": gradtx.sgd(0.02, momentum=0.9)},
            gradtx.path_labels({r"b": "no_decay"}, default="decay"),
        ),
        lambda ps: torch.optim.SGD(
            [{"params": ps[1:]}, {"params": ps[:1], "lr": 0.02, "weight_decay": 0.0}], lr=0.05, momentum=0.9,
            weight_decay=0.1,
        ),
    ),
    Parity(
        "param-groups-adamw-lr-wd",
        lambda: gradtx.partition(
            {"decay": gradtx.adamw(0.01, weight_decay=0.2), "no_decay": gradtx.adamw(0.03, weight_decay=0.0)},
            gradtx.path_labels({r"b|v": "no_decay"}, default="decay"),
        ),
        lambda ps: torch.optim.AdamW(
            [{"params": ps[2:]}, {"params": ps[:2], "lr": 0.03, "weight_decay": 0.0}], lr=0.01, weight_decay=0.2
        ),
    ),
    Parity(
        "adamw-weight_decay_mask-as-two-groups",
        lambda: gradtx.adamw(0.02, weight_decay=0.3, weight_decay_mask=gradtx.path_labels({r"w": True}, default=False)),
        lambda ps: torch.optim.AdamW([{"params": ps[2:]}, {"params": ps[:2], "weight_decay": 0.0}], lr=0.02,
                                     weight_decay=0.3),
    ),
    Parity(
        "freeze-adamw",  # torch: the frozen leaf is left out of the optimizer
        lambda: gradtx.freeze("b", gradtx.adamw(0.02, weight_decay=0.1)),
        lambda ps: torch.optim.AdamW(ps[1:], lr=0.02, weight_decay=0.1),
    ),
    Parity(
        "inject_hyperparams-adam-amsgrad",
        lambda: gradtx.inject_hyperparams(gradtx.adam)(0.03, b1=0.8, b2=0.95, weight_decay=0.1, amsgrad=True),
        _torch(torch.optim.Adam, lr=0.03, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True),
    ),
    Parity(
        "with_param_ema-sgd",
        lambda: gradtx.with_param_ema(gradtx.sgd(0.02, momentum=0.9), 0.9),
        _torch(torch.optim.SGD, lr=0.02, momentum=0.9),
    ),
]

OPTAX_CASES = [
    Parity("ema-as-optax", lambda: gradtx.chain(gradtx.ema(0.8), gradtx.scale(-0.1)),
           lambda: optax.chain(optax.ema(0.8), optax.scale(-0.1))),
    Parity("sgd-nesterov-as-optax", lambda: gradtx.sgd(0.03, momentum=0.7, nesterov=True),
           lambda: optax.sgd(0.03, momentum=0.7, nesterov=True)),
    Parity("adamw-as-optax", lambda: gradtx.adamw(0.02, b1=0.8, weight_decay=0.1),
           lambda: optax.adamw(0.02, b1=0.8, weight_decay=0.1)),
    # --- adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam (Optax variants built from blocks)
    Parity("adagrad-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_rss(0.1 + 1e-7, eps=0.0), gradtx.scale_by_learning_rate(0.1)),
           lambda: optax.adagrad(0.1)),
    Parity("adagrad-zero-start-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_rss(1e-3, eps=0.0), gradtx.scale_by_learning_rate(0.05)),
           lambda: optax.adagrad(0.05, initial_accumulator_value=0.0, eps=1e-3)),
    Parity("adadelta-as-optax", lambda: gradtx.adadelta(0.5, rho=0.8, eps=1e-4, weight_decay=0.05),
           lambda: optax.adadelta(0.5, rho=0.8, eps=1e-4, weight_decay=0.05)),
    Parity("adamax-as-optax", lambda: gradtx.adamax(0.02, b1=0.8, eps=1e-3), lambda: optax.adamax(0.02, b1=0.8, eps=1e-3)),
    Parity("adamaxw-as-optax", lambda: gradtx.adamaxw(0.02, b2=0.95, weight_decay=0.1),
           lambda: optax.adamaxw(0.02, b2=0.95, weight_decay=0.1)),
    Parity("rmsprop-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_rms(0.9, 1e-3, eps_in_sqrt=True), gradtx.scale_by_learning_rate(0.01)),
           lambda: optax.rmsprop(0.01, eps=1e-3)),
    Parity("rmsprop-centered-nesterov-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_rms(0.8, 1e-3, centered=True, eps_in_sqrt=True, initial_scale=0.5),
                                gradtx.scale_by_learning_rate(0.01), gradtx.scale_by_momentum(0.7, nesterov=True)),
           lambda: optax.rmsprop(0.01, decay=0.8, eps=1e-3, initial_scale=0.5, centered=True, momentum=0.7, nesterov=True)),
    Parity("rmsprop-eps-outside-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_rms(0.9, 1e-3, initial_scale=0.2), gradtx.scale_by_learning_rate(0.01)),
           lambda: optax.rmsprop(0.01, eps=1e-3, initial_scale=0.2, eps_in_sqrt=False)),
    Parity("nadam-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_nadam(momentum_decay=float("inf")), gradtx.scale_by_learning_rate(0.02)),
           lambda: optax.nadam(0.02)),
    Parity("nadamw-as-optax", lambda: gradtx.nadamw(0.02, b1=0.8, eps=1e-4, eps_root=1e-6, weight_decay=0.1),
           lambda: optax.nadamw(0.02, b1=0.8, eps=1e-4, eps_root=1e-6, weight_decay=0.1)),
    Parity("radam-as-optax",
           lambda: gradtx.chain(gradtx.scale_by_radam(b2=0.95, eps=1e-3, eps_after_correction=True),
                                gradtx.scale_by_learning_rate(0.02)),
           lambda: optax.radam(0.02, b2=0.95, eps=1e-3)),
    # --- optax/keras optimizers
    # (schedules: the same gradtx callable on both sides; the masks skip weight decay on "b";
    # ftrl is checked against a NumPy transcription of Keras in tests/optimizers/test_ftrl.py)
    Parity("lion", lambda: gradtx.lion(0.01), lambda: optax.lion(0.01)),
    Parity("lion-betas-wd-mask",
           lambda: gradtx.lion(0.003, 0.8, 0.95, None, 0.1, {"w": True, "b": False, "v": True}),
           lambda: optax.lion(0.003, 0.8, 0.95, None, 0.1, {"w": True, "b": False, "v": True})),
    Parity("lion-schedule-no-wd",
           lambda: gradtx.lion(gradtx.exponential_schedule(0.01, 0.95), weight_decay=0.0),
           lambda: optax.lion(gradtx.exponential_schedule(0.01, 0.95), weight_decay=0.0)),
    Parity("scale_by_lion-smooth",
           lambda: gradtx.chain(gradtx.scale_by_lion(mode="smooth", smooth_beta=3.0), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_lion(mode="smooth", smooth_beta=3.0), optax.scale(-0.01))),
    Parity("scale_by_lion-refined",
           lambda: gradtx.chain(gradtx.scale_by_lion(b1=0.5, mode="refined"), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_lion(b1=0.5, mode="refined"), optax.scale(-0.01))),
    Parity("lamb", lambda: gradtx.lamb(0.01), lambda: optax.lamb(0.01)),
    Parity("lamb-betas-eps-wd-mask",
           lambda: gradtx.lamb(0.02, 0.8, 0.99, 1e-4, 1e-8, 0.1, {"w": True, "b": False, "v": True}),
           lambda: optax.lamb(0.02, 0.8, 0.99, 1e-4, 1e-8, 0.1, {"w": True, "b": False, "v": True})),
    Parity("lamb-schedule", lambda: gradtx.lamb(gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.01),
           lambda: optax.lamb(gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.01)),
    Parity("lars", lambda: gradtx.lars(0.1), lambda: optax.lars(0.1)),
    Parity("lars-wd-masks-nesterov",
           lambda: gradtx.lars(0.5, 0.01, {"w": True, "b": False, "v": True}, 0.02, 1e-3,
                               {"w": True, "b": True, "v": False}, 0.8, True),
           lambda: optax.lars(0.5, 0.01, {"w": True, "b": False, "v": True}, 0.02, 1e-3,
                              {"w": True, "b": True, "v": False}, 0.8, True)),
    Parity("lars-schedule-no-momentum",
           lambda: gradtx.lars(gradtx.exponential_schedule(0.5, 0.95), trust_coefficient=0.05, momentum=0.0),
           lambda: optax.lars(gradtx.exponential_schedule(0.5, 0.95), trust_coefficient=0.05, momentum=0.0)),
    Parity("scale_by_trust_ratio",
           lambda: gradtx.chain(gradtx.scale_by_trust_ratio(0.1, 0.5, 1e-3), gradtx.scale(-0.05)),
           lambda: optax.chain(optax.scale_by_trust_ratio(0.1, 0.5, 1e-3), optax.scale(-0.05))),
    Parity("fromage", lambda: gradtx.fromage(0.01), lambda: optax.fromage(0.01)),
    Parity("fromage-min-norm", lambda: gradtx.fromage(0.1, 0.5), lambda: optax.fromage(0.1, 0.5)),
    Parity("fromage-schedule", lambda: gradtx.fromage(gradtx.exponential_schedule(0.05, 0.95)),
           lambda: optax.fromage(gradtx.exponential_schedule(0.05, 0.95))),
    Parity("adabelief", lambda: gradtx.adabelief(0.01), lambda: optax.adabelief(0.01)),
    Parity("adabelief-betas-eps-nesterov",
           lambda: gradtx.adabelief(0.02, 0.8, 0.99, 1e-8, 1e-10, nesterov=True),
           lambda: optax.adabelief(0.02, 0.8, 0.99, 1e-8, 1e-10, nesterov=True)),
    Parity("adabelief-schedule-no-eps-root",
           lambda: gradtx.adabelief(gradtx.exponential_schedule(0.02, 0.95), eps_root=0.0),
           lambda: optax.adabelief(gradtx.exponential_schedule(0.02, 0.95), eps_root=0.0)),
    Parity("yogi", lambda: gradtx.yogi(0.01), lambda: optax.yogi(0.01)),
    Parity("yogi-betas-eps", lambda: gradtx.yogi(0.05, 0.8, 0.9, 1e-4),
           lambda: optax.yogi(0.05, 0.8, 0.9, 1e-4)),
    Parity("scale_by_yogi-eps-root-initial",
           lambda: gradtx.chain(gradtx.scale_by_yogi(0.9, 0.999, 1e-3, 1e-6, 0.1), gradtx.scale(-0.02)),
           lambda: optax.chain(optax.scale_by_yogi(0.9, 0.999, 1e-3, 1e-6, 0.1), optax.scale(-0.02))),
    Parity("novograd", lambda: gradtx.novograd(0.01), lambda: optax.novograd(0.01)),
    Parity("novograd-betas-eps-wd", lambda: gradtx.novograd(0.02, 0.8, 0.5, 1e-4, 1e-6, 0.01),
           lambda: optax.novograd(0.02, 0.8, 0.5, 1e-4, 1e-6, 0.01)),
    Parity("novograd-schedule-wd-mask",  # novograd is per leaf: a masked decay is two optax novograds
           lambda: gradtx.novograd(gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.1,
                                   weight_decay_mask={"w": True, "b": False, "v": True}),
           lambda: optax.multi_transform(
               {"decay": optax.novograd(gradtx.exponential_schedule(0.02, 0.95), weight_decay=0.1),
                "plain": optax.novograd(gradtx.exponential_schedule(0.02, 0.95))},
               {"w": "decay", "b": "plain", "v": "decay"})),
    Parity("scale_by_novograd-wd",
           lambda: gradtx.chain(gradtx.scale_by_novograd(0.7, weight_decay=0.05), gradtx.scale(-0.01)),
           lambda: optax.chain(optax.scale_by_novograd(0.7, weight_decay=0.05), optax.scale(-0.01))),
    Parity("sm3", lambda: gradtx.sm3(0.1), lambda: optax.sm3(0.1)),
    Parity("sm3-momentum", lambda: gradtx.sm3(0.05, momentum=0.5), lambda: optax.sm3(0.05, momentum=0.5)),
    Parity("scale_by_sm3-decay-eps",
           lambda: gradtx.chain(gradtx.scale_by_sm3(0.3, 0.9, 1e-6), gradtx.scale(-0.05)),
           lambda: optax.chain(optax.scale_by_sm3(0.3, 0.9, 1e-6), optax.scale(-0.05))),
    Parity("adan", lambda: gradtx.adan(0.01), lambda: optax.adan(0.01)),
    Parity("adan-betas-eps-wd-mask",
           lambda: gradtx.adan(0.02, 0.9, 0.8, 0.95, 1e-6, 1e-10, 0.05, {"w": True, "b": False, "v": True}),
           lambda: optax.adan(0.02, 0.9, 0.8, 0.95, 1e-6, 1e-10, 0.05, {"w": True, "b": False, "v": True})),
    Parity("adan-schedule-no-eps-root",
           lambda: gradtx.adan(gradtx.exponential_schedule(0.02, 0.95), eps_root=0.0),
           lambda: optax.adan(gradtx.exponential_schedule(0.02, 0.95), eps_root=0.0)),
    Parity("sign_sgd", lambda: gradtx.sign_sgd(0.01), lambda: optax.sign_sgd(0.01)),
    Parity("sign_sgd-schedule", lambda: gradtx.sign_sgd(gradtx.exponential_schedule(0.02, 0.95)),
           lambda: optax.sign_sgd(gradtx.exponential_schedule(0.02, 0.95))),
    Parity("signum-from-blocks",
           lambda: gradtx.chain(gradtx.ema(0.9, debias=False), gradtx.scale_by_sign(), gradtx.scale(-0.01)),
           lambda: optax.signum(0.01, beta=0.9)),
    Parity("noisy_sgd", lambda: gradtx.noisy_sgd(0.01, key=0), lambda: optax.noisy_sgd(0.01, key=0)),
    Parity("noisy_sgd-eta-gamma", lambda: gradtx.noisy_sgd(0.02, eta=0.1, gamma=0.3, key=42),
           lambda: optax.noisy_sgd(0.02, eta=0.1, gamma=0.3, key=42)),
    Parity("noisy_sgd-schedule-seed",
           lambda: gradtx.noisy_sgd(gradtx.exponential_schedule(0.02, 0.95), eta=0.05, gamma=1.0, seed=7),
           lambda: optax.noisy_sgd(gradtx.exponential_schedule(0.02, 0.95), eta=0.05, gamma=1.0, key=7)),
    Parity("polyak_sgd", lambda: gradtx.polyak_sgd(), lambda: optax.polyak_sgd()),
    Parity("polyak_sgd-capped-scaled-sps+", lambda: gradtx.polyak_sgd(0.1, 0.5, -1.0, 1e-3, "sps+"),
           lambda: optax.polyak_sgd(0.1, 0.5, -1.0, 1e-3, "sps+")),
    Parity("polyak_sgd-schedule-fmin",
           lambda: gradtx.polyak_sgd(1.0, gradtx.exponential_schedule(1.0, 0.9), 0.5, variant="sps+"),
           lambda: optax.polyak_sgd(1.0, gradtx.exponential_schedule(1.0, 0.9), 0.5, variant="sps+")),
    Parity("optimistic_gradient_descent", lambda: gradtx.optimistic_gradient_descent(0.01),
           lambda: optax.optimistic_gradient_descent(0.01)),
    Parity("optimistic_gradient_descent-alpha-beta",
           lambda: gradtx.optimistic_gradient_descent(0.02, alpha=0.5, beta=2.0),
           lambda: optax.optimistic_gradient_descent(0.02, alpha=0.5, beta=2.0)),
    Parity("optimistic_gradient_descent-schedule-negative-beta",
           lambda: gradtx.optimistic_gradient_descent(gradtx.exponential_schedule(0.02, 0.95), 1.5, -0.5),
           lambda: optax.optimistic_gradient_descent(gradtx.exponential_schedule(0.02, 0.95), 1.5, -0.5)),
    # --- clipping, robustness, accumulation, averaging blocks
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
