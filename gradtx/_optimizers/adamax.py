"""Adamax: Adam with the infinity norm in place of the second moment, and its decoupled-decay form."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent


class ScaleByAdamaxState(NamedTuple):
    """State of :func:`scale_by_adamax`."""

    count: jax.Array  # int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in their dtype
    nu: Updates  # u_t, decayed infinity norm: shaped like the params, in their dtype


@transformation
def scale_by_adamax(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    r"""Rescale updates by Adamax's bias-corrected first moment over a decayed infinity norm.

    The scaling of :func:`adamax` and :func:`adamaxw`.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       n_t = \max(\beta_2 n_{t-1}, |g_t| + \epsilon), \qquad
       u_t = \frac{m_t}{(1 - \beta_1^t)\, n_t}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the infinity norm.
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|` inside the maximum (so it keeps
        :math:`n_t` away from 0, as torch and Optax do).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdamaxState`.

    Raises:
      ValueError: If ``b1`` or ``b2`` is outside [0, 1), or ``eps < 0``.

    Examples:
      >>> tx = gradtx.scale_by_adamax()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014 (section 7.1).

    .. note::
       Optax: ``optax.scale_by_adamax(b1, b2, eps)``, same numbers. The paper has no
       :math:`\epsilon`.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)

    def init(params: Params) -> ScaleByAdamaxState:
        return ScaleByAdamaxState(tree.zero_count(params), tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAdamaxState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdamaxState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction = tree.bias_correction(b1, count)

        def leaf(g, m, n):
            m = b1 * m + (1 - b1) * g
            n = jnp.maximum(b2 * n, jnp.abs(g) + eps)
            return m / (correction.astype(m.dtype) * n), m, n

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByAdamaxState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation
def adamax(
    learning_rate: ScalarOrSchedule = 2e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Adamax, as ``torch.optim.Adamax``: weight decay is an L2 penalty added to the gradient.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta\, \frac{m_t}{(1 - \beta_1^t)\, n_t}

    with :math:`m_t, n_t` as in :func:`scale_by_adamax`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_adamax(β1, β2, ε),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)` (torch's ``betas[0]``).
      b2: :math:`\beta_2 \in [0, 1)` (torch's ``betas[1]``).
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|`.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient. For
        decoupled weight decay use :func:`adamaxw`.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps`` or ``weight_decay`` is negative, or a beta
        is outside [0, 1).

    Examples:
      >>> tx = gradtx.adamax(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.01,  0.01], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014 (section 7.1).

    .. note::
       PyTorch: ``torch.optim.Adamax(lr, betas=(b1, b2), eps, weight_decay, maximize=...)``
       -> ``adamax(learning_rate, b1, b2, eps, weight_decay, maximize=...)``, same numbers
       and defaults. Optax: ``optax.adamax(learning_rate, b1, b2, eps)`` gives the same
       numbers; it has no weight decay (its ``adamaxw`` decays decoupled, see
       :func:`adamaxw`) and no default learning rate.
    """
    checks.learning_rate(learning_rate)
    checks.boolean("maximize", maximize)
    return descent(
        scale_by_adamax(b1, b2, eps),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        maximize=maximize,
    )


@transformation
def adamaxw(
    learning_rate: ScalarOrSchedule = 2e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Adamax with decoupled weight decay, with Optax's arguments and numbers (``optax.adamaxw``).

    .. math::

       p_t = p_{t-1} - \eta \left( \frac{m_t}{(1 - \beta_1^t)\, n_t} + \lambda p_{t-1} \right)

    with :math:`m_t, n_t` from :math:`\pm g_t` as in :func:`scale_by_adamax`.

    Composition: ``chain([scale(-1)], scale_by_adamax(β1, β2, ε), add_decayed_weights(λ),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the infinity norm.
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|`.
      weight_decay: :math:`\lambda \ge 0`, decoupled from the gradient (scaled by :math:`\eta`).
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (weight decay still shrinks the params).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps`` or ``weight_decay`` is negative, or a beta
        is outside [0, 1).

    Examples:
      >>> tx = gradtx.adamaxw(1e-2, weight_decay=0.1)
      >>> tx.update(jnp.array([0.5]), tx.init(jnp.ones(1)), params=jnp.ones(1))[0].round(6)
      Array([-0.011], dtype=float32)

    References:
      Loshchilov and Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.

    .. note::
       Optax: ``optax.adamaxw(learning_rate, b1, b2, eps, weight_decay=1e-4, mask)`` ->
       ``adamaxw(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask=mask)``, same
       numbers. gradtx adds a default learning rate (torch Adamax's 2e-3) and ``maximize``.
       PyTorch has no AdamaxW: ``torch.optim.Adamax`` decays as an L2 penalty (:func:`adamax`).
    """
    checks.learning_rate(learning_rate)
    checks.boolean("maximize", maximize)
    return descent(
        scale_by_adamax(b1, b2, eps),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        decoupled=True,
        maximize=maximize,
    )
