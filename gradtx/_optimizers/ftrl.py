"""FTRL-Proximal, as ``keras.optimizers.Ftrl``: per-coordinate rates with exact L1 sparsity."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    transformation,
)


class FtrlState(NamedTuple):
    """State of :func:`ftrl`."""

    # int32[]: updates applied so far (the learning-rate schedule's argument)
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count
    accumulator: Updates  # n_t, sum of squared gradients: shaped like the params, in the params' dtype
    linear: Updates  # z_t, the linear term: shaped like the params, in the params' dtype


@transformation
def ftrl(
    learning_rate: ScalarOrSchedule = 0.001,
    learning_rate_power: float = -0.5,
    initial_accumulator_value: float = 0.1,
    l1_regularization_strength: float = 0.0,
    l2_regularization_strength: float = 0.0,
    l2_shrinkage_regularization_strength: float = 0.0,
    beta: float = 0.0,
) -> GradientTransformation:
    r"""FTRL-Proximal ("follow the regularized leader"), with Keras' arguments and numbers.

    For shallow models over large sparse feature spaces (click-through prediction): each
    coordinate has its own decaying rate, and L1 regularization sets weights to exactly 0.
    The update solves for the new params in closed form, so it needs ``params``.

    .. math::

       \tilde g = g_t + 2 \lambda_s p_{t-1}, \qquad n_t = n_{t-1} + g_t^2, \qquad
       z_t = z_{t-1} + \tilde g - \frac{n_t^{-c} - n_{t-1}^{-c}}{\eta} p_{t-1} \\
       p_t = \frac{\operatorname{clip}(z_t, -\lambda_1, \lambda_1) - z_t}
       {(n_t^{-c} + \beta) / \eta + 2 \lambda_2}, \qquad n_0 = n_{init}, \ z_0 = 0

    (so :math:`p_t = 0` where :math:`|z_t| \le \lambda_1`). The transformation returns
    :math:`p_t - p_{t-1}`.

    Args:
      learning_rate: :math:`\eta > 0`, a number or a schedule (called with the step count).
      learning_rate_power: :math:`c \le 0`; -0.5 gives the paper's :math:`\sqrt{n}` rates,
        0 a fixed rate.
      initial_accumulator_value: :math:`n_{init} \ge 0`.
      l1_regularization_strength: :math:`\lambda_1 \ge 0`.
      l2_regularization_strength: :math:`\lambda_2 \ge 0`, the stabilizing (online) L2.
      l2_shrinkage_regularization_strength: :math:`\lambda_s \ge 0`, an L2 penalty added to
        the loss (a magnitude penalty, applied through the gradient).
      beta: :math:`\beta \ge 0`, the paper's :math:`\beta` (added to :math:`n_t^{-c}`).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`FtrlState`.

    Raises:
      ValueError: If an argument is out of range; in ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.ftrl(0.1, l1_regularization_strength=0.5)
      >>> params = jnp.array([1.0, 1.0])
      >>> updates, _ = tx.update(jnp.array([0.1, 2.0]), tx.init(params), params)
      >>> gradtx.apply_updates(params, updates).round(4)
      Array([0.    , 0.7204], dtype=float32)

    References:
      McMahan et al., `Ad Click Prediction: a View from the Trenches
      <https://research.google.com/pubs/archive/41159.pdf>`_, 2013 (Algorithm 1).

    .. note::
       Keras: ``keras.optimizers.Ftrl(learning_rate, learning_rate_power,
       initial_accumulator_value, l1_regularization_strength, l2_regularization_strength,
       l2_shrinkage_regularization_strength, beta)``, same arguments, defaults and numbers
       (those of its code: the L2 term in the denominator is :math:`2\lambda_2`, and
       :math:`\beta` enters as :math:`\beta / \eta`). Keras' generic optimizer arguments
       (``weight_decay``, ``clipnorm``, ``use_ema``, ...) are gradtx transformations
       (:func:`add_decayed_weights`, :func:`clip_by_global_norm`, :func:`with_param_ema`).
       gradtx rejects ``learning_rate <= 0`` (a division by zero in Keras) and ``beta < 0``.
       Optax has no FTRL.
    """
    if not callable(learning_rate):
        checks.positive("learning_rate", learning_rate)
    checks.interval("learning_rate_power", learning_rate_power, high=0.0)
    checks.non_negative("initial_accumulator_value", initial_accumulator_value)
    checks.non_negative("l1_regularization_strength", l1_regularization_strength)
    checks.non_negative("l2_regularization_strength", l2_regularization_strength)
    checks.non_negative("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)
    checks.non_negative("beta", beta)
    power = -learning_rate_power

    def init(params: Params) -> FtrlState:
        return FtrlState(
            tree.zero_count(params),
            tree.full_like(params, initial_accumulator_value),
            tree.zeros_like(params),
        )

    def update(
        updates: Updates, state: FtrlState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, FtrlState]:
        del extra_args
        checks.params_given(params, "FTRL")
        rate = jnp.asarray(learning_rate(state.count) if callable(learning_rate) else learning_rate)

        def leaf(
            g: jax.Array, n: jax.Array, z: jax.Array, p: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array]:
            eta = rate.astype(g.dtype)
            n_new = n + jnp.square(g)
            z = z + (g + 2 * l2_shrinkage_regularization_strength * p) - (n_new**power - n**power) / eta * p
            quadratic = (n_new**power + beta) / eta + 2 * l2_regularization_strength
            l1 = l1_regularization_strength
            p_new = (jnp.clip(z, -l1, l1) - z) / quadratic
            return p_new - p, n_new, z

        updates, accumulator, linear = tree.map_unzip(leaf, updates, state.accumulator, state.linear, params)
        return updates, FtrlState(tree.safe_increment(state.count), accumulator, linear)

    return GradientTransformation(init, update)
