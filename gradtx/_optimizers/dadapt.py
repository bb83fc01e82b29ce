"""D-Adaptation for AdamW: Adam with a step size D estimated on the fly."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._optimizers import _contrib


class DAdaptAdamWState(NamedTuple):
    """State of :func:`dadapt_adamw`."""

    exp_avg: Updates  # m_t, first moment of lambda*g: shaped like the params, in the params' dtype
    exp_avg_sq: Updates  # v_t, second moment of g: shaped like the params, in the params' dtype
    grad_sum: Updates  # s_t, the weighted sum of lambda*g: shaped like the params, in the params' dtype
    estim_lr: jax.Array  # float[]: d_t, the step-size estimate
    numerator_weighted: jax.Array  # float[]: r_t
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far


@transformation
def dadapt_adamw(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    estim_lr0: float = 1e-6,
    weight_decay: float = 0.0,
) -> GradientTransformation:
    r"""D-Adaptation AdamW: learning-rate-free Adam, its step size :math:`d` estimated from the gradients seen.

    With :math:`\eta_t` the learning rate (a multiplier of :math:`d`, 1 by default),
    :math:`\lambda_t = \eta_t d_t \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)` and
    :math:`\gamma = \sqrt{\beta_2}`:

    .. math::

       r_t = \gamma r_{t-1} + (1 - \gamma) \lambda_t
       \left\langle g_t, \frac{s_{t-1}}{\sqrt{v_{t-1}} + \epsilon} \right\rangle, \qquad
       s_t = \gamma s_{t-1} + (1 - \gamma) \lambda_t g_t \\
       m_t = \beta_1 m_{t-1} + (1 - \beta_1) \lambda_t g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
       d_{t+1} = \max\left(d_t, \frac{r_t}{(1 - \gamma) \|s_t\|_1}\right) \\
       u_t = -\frac{m_t}{\sqrt{v_t} + \epsilon} - w \lambda_t x_t

    Args:
      learning_rate: :math:`\eta \ge 0`, a multiplier of the estimated step size; a number
        or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, decays of the two moments, each in [0, 1).
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      estim_lr0: :math:`d_0 > 0`, the initial estimate.
      weight_decay: :math:`w \ge 0`, decoupled weight decay.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`DAdaptAdamWState`; ``update``
      needs ``params``.

    Examples:
      >>> tx = gradtx.dadapt_adamw()
      >>> params = jnp.array([1.0, 2.0])
      >>> updates, state = tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)
      >>> updates.round(8)
      Array([-1.e-06,  1.e-06], dtype=float32)

    References:
      Defazio and Mishchenko, `Learning-Rate-Free Learning by D-Adaptation
      <https://arxiv.org/abs/2301.07733>`_, 2023.

    .. note::
       Optax: ``optax.contrib.dadapt_adamw(learning_rate, betas, eps, estim_lr0,
       weight_decay)``, same arguments, defaults and numbers. Its scalars are float32 or
       wider here (the params' lowest dtype in Optax).
    """
    checks.learning_rate(learning_rate)
    beta1, beta2 = betas
    checks.decay_rate("betas[0]", beta1)
    checks.decay_rate("betas[1]", beta2)
    checks.non_negative("eps", eps)
    checks.positive("estim_lr0", estim_lr0)
    checks.non_negative("weight_decay", weight_decay)

    def init(params: Params) -> DAdaptAdamWState:
        return DAdaptAdamWState(
            tree.zeros_like(params),
            tree.zeros_like(params),
            tree.zeros_like(params),
            _contrib.scalar(params, estim_lr0),
            _contrib.scalar(params, 0.0),
            tree.zero_count(params),
        )

    def update(
        updates: Updates, state: DAdaptAdamWState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, DAdaptAdamWState]:
        del extra_args
        params = checks.params_given(params, "dadapt_adamw")
        sb2 = beta2**0.5
        count = tree.safe_increment(state.count)
        lr: float | jax.Array
        if callable(learning_rate):
            lr = tree.weak(checks.schedule_value("learning_rate", learning_rate(state.count)))
        else:
            lr = learning_rate
        d = state.estim_lr
        bc = (1 - _contrib.integer_power(beta2, count)) ** 0.5 / (1 - _contrib.integer_power(beta1, count))
        dlr = jnp.asarray(d * lr * bc, d.dtype)
        numerator = _contrib.reduce_sum(
            lambda g, s, v: jnp.sum(g * (s / (jnp.sqrt(v) + eps))), updates, state.grad_sum, state.exp_avg_sq
        )
        dlrw = tree.weak(dlr)

        def leaf(
            g: jax.Array, m: jax.Array, v: jax.Array, s: jax.Array, p: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
            m = beta1 * m + (1 - beta1) * dlrw * g
            v = beta2 * v + (1 - beta2) * g * g
            s = sb2 * s + (1 - sb2) * dlrw * g
            return -weight_decay * dlrw * p - m / (jnp.sqrt(v) + eps), m, v, s

        new_updates, exp_avg, exp_avg_sq, grad_sum = tree.map_unzip(
            leaf, updates, state.exp_avg, state.exp_avg_sq, state.grad_sum, params
        )
        l1 = _contrib.reduce_sum(lambda s: jnp.sum(jnp.abs(s)), grad_sum).astype(d.dtype)
        numerator_weighted = sb2 * state.numerator_weighted + (1 - sb2) * dlr * numerator.astype(d.dtype)
        estim_lr = jnp.maximum(d, numerator_weighted / ((1 - sb2) * l1))
        return new_updates, DAdaptAdamWState(
            exp_avg, exp_avg_sq, grad_sum, estim_lr, numerator_weighted, count
        )

    return GradientTransformation(init, update)
