"""The chain most torch.optim optimizers share, written once."""

from __future__ import annotations

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule
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
