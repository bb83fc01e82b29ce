"""Prodigy: Adam whose step size D is estimated on the fly from the distance travelled."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._optimizers import _contrib


class ProdigyState(NamedTuple):
    """State of :func:`prodigy`."""

    exp_avg: Updates  # m_t, first moment of d*g: shaped like the params, in the params' dtype
    exp_avg_sq: Updates  # v_t, second moment of d*g: shaped like the params, in the params' dtype
    grad_sum: Updates  # s_t, the weighted sum of past d*g: shaped like the params, in the params' dtype
    params0: Params  # x_0, the params given to init (a copy)
    estim_lr: jax.Array  # float[]: d_t, the step-size estimate
    numerator_weighted: jax.Array  # float[]: r_t, the weighted sum of <g, x_0 - x>
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far


@transformation
def prodigy(
    learning_rate: ScalarOrSchedule = 1.0,
    betas: tuple[float, float] = (0.9, 0.999),
    beta3: float | None = None,
    eps: float = 1e-8,
    estim_lr0: float = 1e-6,
    estim_lr_coef: float = 1.0,
    weight_decay: float = 0.0,
    safeguard_warmup: bool = False,
) -> GradientTransformation:
    r"""Prodigy: learning-rate-free Adam, its step size :math:`d` grown from an estimate of the distance to the solution.

    With :math:`\eta_t` the learning rate (a multiplier of :math:`d`, 1 by default),
    :math:`\lambda_t = \eta_t d_t \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)` and :math:`x_0`
    the initial params:

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) d_t g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) d_t^2 g_t^2 \\
       s_t = \beta_3 s_{t-1} + \frac{\lambda_t d_t}{d_0} g_t
       \ (\text{or } \frac{d_t^2}{d_0} g_t \text{ with the safeguard}), \qquad
       r_t = \beta_3 r_{t-1} + \frac{d_t \lambda_t}{d_0} \langle g_t, x_0 - x_t \rangle \\
       d_{t+1} = \max\left(d_t, c\, \frac{r_t}{\|s_t\|_1}\right), \qquad
       u_t = -\lambda_t \left(\frac{m_t}{\sqrt{v_t} + d_t \epsilon} + w\, x_t\right)

    Args:
      learning_rate: :math:`\eta \ge 0`, a multiplier of the estimated step size; a number
        or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, decays of the two moments, each in [0, 1).
      beta3: :math:`\beta_3 \in [0, 1)`, decay of :math:`s` and :math:`r`; ``None`` means
        :math:`\sqrt{\beta_2}`.
      eps: :math:`\epsilon \ge 0`, added to the denominator (scaled by :math:`d_t`).
      estim_lr0: :math:`d_0 > 0`, the initial estimate.
      estim_lr_coef: :math:`c \ge 0`, a multiplier of the estimate.
      weight_decay: :math:`w \ge 0`, decoupled weight decay.
      safeguard_warmup: Leave the learning rate out of :math:`s` (for warmup schedules).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ProdigyState`; ``update``
      needs ``params``.

    Examples:
      >>> tx = gradtx.prodigy()
      >>> params = jnp.array([1.0, 2.0])
      >>> updates, state = tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)
      >>> updates.round(8)
      Array([-1.e-06,  1.e-06], dtype=float32)

    References:
      Mishchenko and Defazio, `Prodigy: An Expeditiously Adaptive Parameter-Free Learner
      <https://arxiv.org/abs/2306.06101>`_, 2023.

    .. note::
       Optax: ``optax.contrib.prodigy(learning_rate, betas, beta3, eps, estim_lr0,
       estim_lr_coef, weight_decay, safeguard_warmup)``, same arguments, defaults and
       numbers. Its scalars are float32 or wider here (the params' lowest dtype in Optax).
    """
    checks.learning_rate(learning_rate)
    beta1, beta2 = betas
    checks.decay_rate("betas[0]", beta1)
    checks.decay_rate("betas[1]", beta2)
    if beta3 is not None:
        checks.decay_rate("beta3", beta3)
    checks.non_negative("eps", eps)
    checks.positive("estim_lr0", estim_lr0)
    checks.non_negative("estim_lr_coef", estim_lr_coef)
    checks.non_negative("weight_decay", weight_decay)
    checks.boolean("safeguard_warmup", safeguard_warmup)

    def init(params: Params) -> ProdigyState:
        return ProdigyState(
            tree.zeros_like(params),
            tree.zeros_like(params),
            tree.zeros_like(params),
            _contrib.copy_params(params),
            _contrib.scalar(params, estim_lr0),
            _contrib.scalar(params, 0.0),
            tree.zero_count(params),
        )

    def update(
        updates: Updates, state: ProdigyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ProdigyState]:
        del extra_args
        params = checks.params_given(params, "prodigy")
        b3 = beta2**0.5 if beta3 is None else beta3
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
            lambda g, p0, p: jnp.sum(g * (p0 - p)), updates, state.params0, params
        )
        sum_weight = d if safeguard_warmup else dlr
        dw, dlrw, sw = tree.weak(d), tree.weak(dlr), tree.weak(sum_weight)

        def moments(
            m: jax.Array, v: jax.Array, s: jax.Array, g: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array]:
            dg = dw * g
            m = beta1 * m + (1 - beta1) * dg
            v = beta2 * v + (1 - beta2) * dg * dg
            return m, v, b3 * s + sw * dg / estim_lr0

        exp_avg, exp_avg_sq, grad_sum = tree.map_unzip(
            moments, state.exp_avg, state.exp_avg_sq, state.grad_sum, updates
        )
        numerator_weighted = b3 * state.numerator_weighted + (d / estim_lr0) * dlr * numerator.astype(d.dtype)
        denominator = _contrib.reduce_sum(lambda s: jnp.sum(jnp.abs(s)), grad_sum).astype(d.dtype)
        estim_lr = jnp.maximum(d, estim_lr_coef * numerator_weighted / denominator)
        # As in Optax, eps is scaled by the new estimate and the step by the old one.
        new_eps = tree.weak(estim_lr) * eps

        def step(g: jax.Array, m: jax.Array, v: jax.Array, p: jax.Array) -> jax.Array:
            del g
            return -weight_decay * dlrw * p - dlrw * m / (jnp.sqrt(v) + new_eps)

        new_updates = tree.map_float(step, updates, exp_avg, exp_avg_sq, params)
        return new_updates, ProdigyState(
            exp_avg, exp_avg_sq, grad_sum, state.params0, estim_lr, numerator_weighted, count
        )

    return GradientTransformation(init, update)
