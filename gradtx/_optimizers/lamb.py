"""LAMB: Adam's direction, decoupled weight decay, and a layer-wise trust ratio."""

from __future__ import annotations

from typing import Any

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers.adam import scale_by_adam
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.layerwise import scale_by_trust_ratio
from gradtx._transforms.scale import scale_by_learning_rate


@transformation
def lamb(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    mask: Mask | None = None,
    *,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""LAMB, with Optax's arguments and numbers: AdamW's step rescaled per leaf by a trust ratio.

    For large-batch training (BERT, ResNet-50 at batch 32k): each leaf moves by a step
    proportional to its own norm, whatever the scale of its gradient.

    .. math::

       r_t = \frac{\hat m_t}{\sqrt{\hat v_t + \epsilon_{root}} + \epsilon} + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta_t \frac{\|p_{t-1}\|}{\|r_t\|} r_t \quad \text{(per leaf)}

    with :math:`\hat m_t, \hat v_t` Adam's bias-corrected moments (:func:`scale_by_adam`);
    the ratio is 1 when either norm is zero.

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root=...), add_decayed_weights(λ),
    scale_by_trust_ratio(), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      weight_decay: :math:`\lambda \ge 0`, added to the Adam direction before the ratio.
      mask: Which leaves to decay (see :func:`masked`); ``None`` decays every leaf.
      axis_name: The ``shard_map`` axis along which leaves are split, so the trust ratio
        uses whole-leaf norms (see :func:`scale_by_trust_ratio`).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.lamb(0.1)
      >>> params = jnp.array([3.0, 4.0])
      >>> tx.update(jnp.array([1.0, -1.0]), tx.init(params), params)[0].round(4)
      Array([-0.3536,  0.3536], dtype=float32)

    References:
      You et al., `Large Batch Optimization for Deep Learning: Training BERT in 76 minutes
      <https://arxiv.org/abs/1904.00962>`_, 2020.

    .. note::
       Optax: ``optax.lamb``, same arguments, defaults and numbers. ``weight_decay`` is a
       number here, not a schedule; ``axis_name`` is gradtx's addition.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root=eps_root),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_trust_ratio(axis_name=axis_name),
        scale_by_learning_rate(learning_rate),
    )
