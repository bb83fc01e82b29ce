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
    # --- sparse_adam, adafactor, muon
    # --- lbfgs
    # --- optax/keras optimizers
    # --- clipping, robustness, accumulation, averaging blocks
    # --- run-time hyperparameters, plateau, freeze, parameter EMA
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
    # --- sparse_adam, adafactor, muon
    # --- run-time hyperparameters, plateau, freeze, parameter EMA
]

OPTAX_CASES = [
    Parity("ema-as-optax", lambda: gradtx.chain(gradtx.ema(0.8), gradtx.scale(-0.1)),
           lambda: optax.chain(optax.ema(0.8), optax.scale(-0.1))),
    # --- adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam (Optax variants built from blocks)
    # --- optax/keras optimizers
    # --- clipping, robustness, accumulation, averaging blocks
]
