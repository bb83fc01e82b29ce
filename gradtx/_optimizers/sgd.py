"""Stochastic gradient descent, with torch's momentum, dampening and Nesterov."""

from __future__ import annotations

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, blame, transformation
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent
from gradtx._transforms.momentum import scale_by_momentum


@transformation
def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       b_1 = g_1, \quad b_t = \mu b_{t-1} + (1 - \tau) g_t, \qquad
       p_t = p_{t-1} - \eta\, (g_t + \mu b_t \ \text{if nesterov else}\ b_t)

    Without momentum (:math:`\mu = 0`) the step is :math:`p_t = p_{t-1} - \eta g_t`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], [scale_by_momentum(μ, ...)],
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      momentum: :math:`\mu \ge 0`; 0 keeps no momentum buffer.
      dampening: :math:`\tau`, taken off new gradients from step 2 on.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.sgd(0.1, momentum=0.9)
      >>> updates, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> updates
      Array([-0.1, -0.1], dtype=float32)

    References:
      Sutskever et al., `On the importance of initialization and momentum in deep
      learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.

    .. note::
       PyTorch: ``torch.optim.SGD(lr, momentum, dampening, weight_decay, nesterov,
       maximize=...)`` -> ``sgd(learning_rate, momentum, dampening, weight_decay, nesterov,
       maximize=...)``, same numbers. Optax: ``optax.sgd`` starts its momentum buffer at
       zero and has no dampening; gradtx follows torch.
    """
    checks.learning_rate(learning_rate)
    checks.boolean("nesterov", nesterov)
    checks.boolean("maximize", maximize)
    if nesterov and checks.is_static_zero(momentum):
        raise ValueError(blame(f"`nesterov=True` needs `momentum > 0`, got momentum={momentum!r}"))
    return descent(
        None if checks.is_static_zero(momentum) else scale_by_momentum(momentum, dampening=dampening, nesterov=nesterov),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        maximize=maximize,
    )
