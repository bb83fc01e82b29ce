"""Adan: adaptive Nesterov momentum estimated from gradient differences."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByAdanState(NamedTuple):
    """State of :func:`scale_by_adan`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    m: Updates  # m_t, average gradient: shaped like the params, in the params' dtype
    v: Updates  # v_t, average gradient difference: shaped like the params, in the params' dtype
    n: Updates  # n_t, average squared Nesterov gradient: shaped like the params, in the params' dtype
    g: Updates  # g_{t-1}, the previous gradient: shaped like the params, in the params' dtype


@transformation
def scale_by_adan(
    b1: float = 0.98,
    b2: float = 0.92,
    b3: float = 0.99,
    eps: float = 1e-8,
    eps_root: float = 0.0,
) -> GradientTransformation:
    r"""Rescale updates by Adan's three bias-corrected moving averages.

    The scaling of :func:`adan`. It estimates a Nesterov-accelerated gradient from the
    difference of consecutive gradients, so it needs no gradient at an extrapolated point.

    .. math::

       \Delta_t = g_t - g_{t-1} \ (\Delta_1 = 0), \qquad
       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) \Delta_t \\
       n_t = \beta_3 n_{t-1} + (1 - \beta_3) \big(g_t + (1 - \beta_2) \Delta_t\big)^2, \qquad
       u_t = \frac{\hat m_t + (1 - \beta_2) \hat v_t}{\sqrt{\hat n_t + \epsilon_{root}} + \epsilon}

    where hats divide by :math:`1 - \beta_i^t`, and all averages start at zero.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the gradient average.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the gradient-difference average.
      b3: :math:`\beta_3 \in [0, 1)`, decay of the squared average.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdanState`.

    Examples:
      >>> tx = gradtx.scale_by_adan()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Xie et al., `Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
      Models <https://arxiv.org/abs/2208.06677>`_, 2022.

    .. note::
       Optax: ``optax.scale_by_adan(b1, b2, b3, eps, eps_root)``, same arguments and
       numbers. Optax's docstring writes :math:`\beta` where its code uses
       :math:`1 - \beta`; gradtx (and the formula above) follow the code.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.decay_rate("b3", b3)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)

    def init(params: Params) -> ScaleByAdanState:
        zeros = tree.zeros_like(params)
        return ScaleByAdanState(tree.zero_count(params), zeros, zeros, zeros, zeros)

    def update(
        updates: Updates, state: ScaleByAdanState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdanState]:
        del params, extra_args
        first = state.count == 0
        count = tree.safe_increment(state.count)
        corrections = [tree.bias_correction(b, count) for b in (b1, b2, b3)]

        def leaf(
            g: jax.Array, m: jax.Array, v: jax.Array, n: jax.Array, g_previous: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
            c1, c2, c3 = (c.astype(g.dtype) for c in corrections)
            difference = jnp.where(first, jnp.zeros_like(g), g - g_previous)
            m = (1 - b1) * g + b1 * m
            v = (1 - b2) * difference + b2 * v
            n = (1 - b3) * jnp.square(g + (1 - b2) * difference) + b3 * n
            u = (m / c1 + (1 - b2) * (v / c2)) / (jnp.sqrt(n / c3 + eps_root) + eps)
            return u, m, v, n, g

        updates, m, v, n, g = tree.map_unzip(leaf, updates, state.m, state.v, state.n, state.g)
        return updates, ScaleByAdanState(count, m, v, n, g)

    return GradientTransformation(init, update)


@transformation
def adan(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.98,
    b2: float = 0.92,
    b3: float = 0.99,
    eps: float = 1e-8,
    eps_root: float = 1e-8,
    weight_decay: float = 0.0,
    mask: Mask | None = None,
) -> GradientTransformation:
    r"""Adan, with Optax's arguments, defaults and numbers.

    An adaptive optimizer with Nesterov-style momentum for vision and language models,
    often faster than AdamW at the same budget (see :func:`scale_by_adan`).

    .. math::

       p_t = p_{t-1} - \eta_t \left( \frac{\hat m_t + (1 - \beta_2) \hat v_t}
       {\sqrt{\hat n_t + \epsilon_{root}} + \epsilon} + \lambda p_{t-1} \right)

    Composition: ``chain(scale_by_adan(b1, b2, b3, eps, eps_root), add_decayed_weights(λ),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the gradient average.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the gradient-difference average.
      b3: :math:`\beta_3 \in [0, 1)`, decay of the squared average.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      weight_decay: :math:`\lambda \ge 0`, decoupled, multiplied by the learning rate.
      mask: Which leaves to decay (see :func:`masked`); ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.adan(0.5)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([-0.5,  0.5], dtype=float32)

    References:
      Xie et al., `Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing Deep
      Models <https://arxiv.org/abs/2208.06677>`_, 2022.

    .. note::
       Optax: ``optax.adan``, same arguments, defaults and numbers. The paper divides by
       :math:`1 + \lambda\eta` instead of subtracting :math:`\eta\lambda p`; Optax and
       gradtx subtract. ``weight_decay`` is a number here, not a schedule.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adan(b1, b2, b3, eps, eps_root),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )
