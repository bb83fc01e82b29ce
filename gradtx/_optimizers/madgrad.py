"""MADGRAD: momentumized, adaptive, dual averaged gradient method."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._optimizers import _contrib
from gradtx._transforms.decay import add_decayed_weights


class MadgradState(NamedTuple):
    """State of :func:`scale_by_madgrad`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    grad_sum_sq: Updates  # v_t, weighted sum of squared gradients: shaped like the params
    s: Updates  # s_t, weighted sum of gradients: shaped like the params
    x0: Params  # x_0, the params given to init (a copy)


@transformation
def scale_by_madgrad(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9, eps: float = 1e-6
) -> GradientTransformation:
    r"""MADGRAD's step: dual averaging with a cube-root adaptive scaling and momentum by interpolation.

    With :math:`\lambda_t = (\eta_t + \epsilon) \sqrt{t}` (:math:`t = 1, 2, \dots`):

    .. math::

       v_t = v_{t-1} + \lambda_t g_t^2, \qquad s_t = s_{t-1} + \lambda_t g_t, \qquad
       z_t = x_0 - \frac{s_t}{\sqrt[3]{v_t} + \epsilon}, \qquad
       u_t = (1 - c)(z_t - x_t)

    so that the params move to :math:`(1 - c) z_t + c\, x_t`.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      momentum: :math:`c \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MadgradState`; ``update``
      needs ``params``. The updates already descend (no learning rate follows).

    Examples:
      >>> tx = gradtx.scale_by_madgrad(0.1)
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)[0].round(4)
      Array([-0.0171,  0.0215], dtype=float32)

    References:
      Defazio and Jelassi, `Adaptivity without Compromise: A Momentumized, Adaptive, Dual
      Averaged Gradient Method for Stochastic Optimization
      <https://arxiv.org/abs/2101.11075>`_, 2021.

    .. note::
       Optax: ``optax.contrib.scale_by_madgrad(learning_rate, momentum, eps)``, same
       arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    checks.decay_rate("momentum", momentum)
    checks.non_negative("eps", eps)

    def init(params: Params) -> MadgradState:
        return MadgradState(
            tree.zero_count(params),
            tree.zeros_like(params),
            tree.zeros_like(params),
            _contrib.copy_params(params),
        )

    def update(
        updates: Updates, state: MadgradState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MadgradState]:
        del extra_args
        params = checks.params_given(params, "scale_by_madgrad")
        lr: float | jax.Array
        if callable(learning_rate):
            lr = tree.weak(checks.schedule_value("learning_rate", learning_rate(state.count)))
        else:
            lr = learning_rate
        lamb = (lr + eps) * jnp.sqrt(tree.float_count(tree.safe_increment(state.count)))

        def leaf(
            g: jax.Array, v: jax.Array, s: jax.Array, x0: jax.Array, x: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array]:
            v = v + lamb * jnp.square(g)
            s = s + lamb * g
            z = x0 - s / (jnp.cbrt(v) + eps)
            return (1 - momentum) * z + momentum * x - x, v, s

        new_updates, grad_sum_sq, s = tree.map_unzip(
            leaf, updates, state.grad_sum_sq, state.s, state.x0, params
        )
        return new_updates, MadgradState(tree.safe_increment(state.count), grad_sum_sq, s, state.x0)

    return GradientTransformation(init, update)


@transformation
def madgrad(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9, weight_decay: float = 0.0, eps: float = 1e-6
) -> GradientTransformation:
    r"""MADGRAD: momentumized, adaptive, dual averaged gradient method.

    Composition: ``chain(add_decayed_weights(weight_decay), scale_by_madgrad(η, momentum,
    eps))`` (see :func:`scale_by_madgrad` for the math).

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      momentum: :math:`c \in [0, 1)`.
      weight_decay: Weight decay added to the gradient.
      eps: :math:`\epsilon \ge 0`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); ``update`` needs ``params``.

    Examples:
      >>> tx = gradtx.madgrad(0.1)
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)[0].round(4)
      Array([-0.0171,  0.0215], dtype=float32)

    References:
      Defazio and Jelassi, `Adaptivity without Compromise: A Momentumized, Adaptive, Dual
      Averaged Gradient Method for Stochastic Optimization
      <https://arxiv.org/abs/2101.11075>`_, 2021.

    .. note::
       Optax: ``optax.contrib.madgrad(learning_rate, momentum, weight_decay, eps)``, same
       arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(add_decayed_weights(weight_decay), scale_by_madgrad(learning_rate, momentum, eps))
