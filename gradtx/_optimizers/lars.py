"""LARS: SGD with momentum whose step is rescaled per leaf by a trust ratio."""

from __future__ import annotations

from typing import Any

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, identity, transformation
from gradtx._core.combine import chain, masked
from gradtx._core.paths import Mask
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.layerwise import scale_by_trust_ratio
from gradtx._transforms.momentum import trace
from gradtx._transforms.scale import scale_by_learning_rate


def _everything(mask: Mask) -> bool:
    return mask is True


@transformation
def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: float = 0.0,
    weight_decay_mask: Mask = True,
    trust_coefficient: float = 0.001,
    eps: float = 0.0,
    trust_ratio_mask: Mask = True,
    momentum: float = 0.9,
    nesterov: bool = False,
    *,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""LARS, with Optax's arguments and numbers: layer-wise trust ratio, then heavy-ball momentum.

    For large-batch SGD training of convolutional networks: each leaf's step is
    proportional to the leaf's norm. The learning rate is applied *before* the momentum
    buffer, so a learning-rate schedule changes only the new contributions.

    .. math::

       r_t = g_t + \lambda p_{t-1}, \qquad
       s_t = -\eta_t\, \frac{c\, \|p_{t-1}\|}{\|r_t\| + \epsilon}\, r_t \ \text{(per leaf)}, \qquad
       b_t = \mu b_{t-1} + s_t, \qquad p_t = p_{t-1} + (s_t + \mu b_t \ \text{if nesterov else}\ b_t)

    with :math:`b_0 = 0`; the ratio is 1 when either norm is zero.

    Composition: ``chain(add_decayed_weights(λ, mask=...), masked(scale_by_trust_ratio(
    trust_coefficient=c, eps=ε), trust_ratio_mask), scale_by_learning_rate(η),
    trace(μ, nesterov))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      weight_decay: :math:`\lambda \ge 0`, added to the gradient before the trust ratio.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``True`` for all.
      trust_coefficient: :math:`c \ge 0`, multiplies the trust ratio.
      eps: :math:`\epsilon \ge 0`, added to the update norm in the ratio's denominator.
      trust_ratio_mask: Which leaves get the trust ratio; ``True`` for all.
      momentum: :math:`\mu \ge 0`; 0 keeps no buffer.
      nesterov: Return :math:`s_t + \mu b_t` (Nesterov momentum).
      axis_name: The ``shard_map`` axis along which leaves are split, so the trust ratio
        uses whole-leaf norms (see :func:`scale_by_trust_ratio`).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.lars(0.1, trust_coefficient=1.0)
      >>> params = jnp.array([3.0, 4.0])
      >>> tx.update(jnp.array([0.6, 0.8]), tx.init(params), params)[0]
      Array([-0.3, -0.4], dtype=float32)

    References:
      You et al., `Large Batch Training of Convolutional Networks
      <https://arxiv.org/abs/1708.03888>`_, 2017.

    .. note::
       Optax: ``optax.lars(learning_rate, weight_decay, weight_decay_mask,
       trust_coefficient, eps, trust_ratio_mask, momentum, nesterov)``, same arguments,
       defaults and numbers (the momentum is :func:`trace`, as in Optax).
       ``weight_decay`` is a number here, not a schedule.
    """
    checks.learning_rate(learning_rate)
    checks.non_negative("momentum", momentum)
    checks.boolean("nesterov", nesterov)
    trust = scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps, axis_name=axis_name)
    return chain(
        add_decayed_weights(weight_decay, mask=None if _everything(weight_decay_mask) else weight_decay_mask),
        trust if _everything(trust_ratio_mask) else masked(trust, trust_ratio_mask),
        scale_by_learning_rate(learning_rate),
        identity() if checks.is_static_zero(momentum) else trace(momentum, nesterov),
    )
