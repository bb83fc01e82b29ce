"""Optimistic gradient descent: extrapolate with the previous gradient (for min-max games)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByOptimisticGradientState(NamedTuple):
    """State of :func:`scale_by_optimistic_gradient`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    previous_gradient: Updates  # g_{t-1}: shaped like the params, in the params' dtype


@transformation(complex_params="native")
def scale_by_optimistic_gradient(alpha: float = 1.0, beta: float = 1.0) -> GradientTransformation:
    r"""Combine the current and previous gradients: :math:`u_t = (\alpha + \beta) g_t - \beta g_{t-1}`.

    The scaling of :func:`optimistic_gradient_descent`. On the first step there is no
    previous gradient and :math:`g_0 = g_1` is used, so :math:`u_1 = \alpha g_1`.

    .. math::

       u_t = (\alpha + \beta)\, g_t - \beta\, g_{t-1}, \qquad g_0 = g_1

    Args:
      alpha: :math:`\alpha`, the weight of the gradient (any real number).
      beta: :math:`\beta`, the weight of the optimistic correction (any real number).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByOptimisticGradientState`.

    Examples:
      >>> tx = gradtx.scale_by_optimistic_gradient()
      >>> _, state = tx.update(jnp.array([1.0, 2.0]), tx.init(jnp.zeros(2)))
      >>> tx.update(jnp.array([2.0, 2.0]), state)[0]
      Array([3., 2.], dtype=float32)

    References:
      Mokhtari et al., `A Unified Analysis of Extra-gradient and Optimistic Gradient
      Methods for Saddle Point Problems: Proximal Point Approach
      <https://arxiv.org/abs/1901.08511>`_, 2019.

    .. note::
       Optax: ``optax.scale_by_optimistic_gradient(alpha, beta)``, same arguments and
       numbers. Optax's state holds a boolean "initial step" flag; gradtx holds a count.
    """
    checks.real("alpha", alpha)
    checks.real("beta", beta)

    def init(params: Params) -> ScaleByOptimisticGradientState:
        return ScaleByOptimisticGradientState(tree.zero_count(params), tree.zeros_like(params))

    def update(
        updates: Updates,
        state: ScaleByOptimisticGradientState,
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, ScaleByOptimisticGradientState]:
        del params, extra_args
        first = state.count == 0

        def leaf(g: jax.Array, g_previous: jax.Array) -> tuple[jax.Array, jax.Array]:
            g_previous = jnp.where(first, g, g_previous)
            return (alpha + beta) * g - beta * g_previous, g

        updates, previous = tree.map_unzip(leaf, updates, state.previous_gradient)
        return updates, ScaleByOptimisticGradientState(tree.safe_increment(state.count), previous)

    return GradientTransformation(init, update)


@transformation
def optimistic_gradient_descent(
    learning_rate: ScalarOrSchedule, alpha: float = 1.0, beta: float = 1.0
) -> GradientTransformation:
    r"""Optimistic gradient descent, with Optax's arguments, defaults and numbers.

    An approximation of the extra-gradient method with one gradient per step. It converges
    in the last iterate on min-max games (GANs, saddle-point problems) where plain gradient
    descent-ascent cycles or diverges.

    .. math::

       p_t = p_{t-1} - \eta_t \big( (\alpha + \beta)\, g_t - \beta\, g_{t-1} \big), \qquad g_0 = g_1

    Composition: ``chain(scale_by_optimistic_gradient(alpha, beta), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      alpha: :math:`\alpha`, the weight of the gradient.
      beta: :math:`\beta`, the weight of the optimistic correction (negative momentum).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.optimistic_gradient_descent(0.1)
      >>> tx.update(jnp.array([1.0, 2.0]), tx.init(jnp.zeros(2)))[0]
      Array([-0.1, -0.2], dtype=float32)

    References:
      Mokhtari et al., `A Unified Analysis of Extra-gradient and Optimistic Gradient
      Methods for Saddle Point Problems: Proximal Point Approach
      <https://arxiv.org/abs/1901.08511>`_, 2019.

    .. note::
       Optax: ``optax.optimistic_gradient_descent(learning_rate, alpha, beta)``, same
       arguments, defaults and numbers. Optax's signature allows schedules for ``alpha``
       and ``beta`` but its block only multiplies by them, so they must be numbers; gradtx
       says so at construction.
    """
    checks.learning_rate(learning_rate)
    return chain(scale_by_optimistic_gradient(alpha, beta), scale_by_learning_rate(learning_rate))
