"""The chain most torch.optim optimizers share, written once."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, blame
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale, scale_by_learning_rate


def descent(
    scaling: GradientTransformation | None,
    learning_rate: ScalarOrSchedule,
    *,
    weight_decay: float = 0.0,
    weight_decay_mask: Mask | None = None,
    decoupled: bool = False,
    maximize: bool = False,
) -> GradientTransformation:
    """``[-g if maximize] -> [+ wd p (L2)] -> scaling -> [+ wd p (decoupled)] -> -lr``.

    This is the order in which ``torch.optim`` optimizers apply ``maximize``, L2 weight
    decay (added to the gradient), their own scaling, decoupled weight decay (torch's
    ``p *= 1 - lr * wd``, which equals adding ``wd * p`` before the learning rate) and the
    learning rate. Parts that would do nothing are left out of the chain.
    """
    decay = None if checks.is_static_zero(weight_decay) else add_decayed_weights(weight_decay, mask=weight_decay_mask)
    parts = [
        scale(-1.0) if maximize else None,
        None if decoupled else decay,
        scaling,
        decay if decoupled else None,
        scale_by_learning_rate(learning_rate),
    ]
    return chain(*(p for p in parts if p is not None))


def torch_flags(**flags: bool | None) -> None:
    """Check torch's implementation switches (``foreach``, ``fused``, ``capturable``, ...).

    They are accepted so a ``torch.optim`` line can be copied, and have no effect: XLA fuses
    the whole step and JAX code is always differentiable. Each must be a bool or ``None``.
    """
    for name, value in flags.items():
        if value is not None and not isinstance(value, bool | np.bool_):
            raise TypeError(blame(f"`{name}` must be True, False or None (it has no effect here), got {name}={value!r}"))


def torch_betas(betas: Any) -> tuple[Any, Any]:
    """torch's ``betas=(b1, b2)`` checked as a pair of decay rates in [0, 1), returned as a tuple."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise TypeError(blame(f"`betas` must be a pair (b1, b2), got betas={betas!r}"))
    checks.decay_rate("betas[0]", betas[0])
    checks.decay_rate("betas[1]", betas[1])
    return betas[0], betas[1]
