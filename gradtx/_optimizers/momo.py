"""MoMo and MoMo-Adam: momentum methods whose step is a Polyak-type model-based rate."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, blame, transformation

_EPS64 = float(jnp.finfo(jnp.float64).eps)  # Optax compares the squared norm to float64's epsilon.


class MomoState(NamedTuple):
    """State of :func:`momo`."""

    exp_avg: Updates  # d_t, momentum of the gradients: shaped like the params, in the params' dtype
    barf: jax.Array  # f̄_t, momentum of the loss values: a scalar, float32 or wider
    gamma: jax.Array  # γ_t, momentum of <g_s, p_s>: a scalar, float32 or wider
    lb: jax.Array  # the lower bound of the loss in use: a scalar, float32 or wider
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far


class MomoAdamState(NamedTuple):
    """State of :func:`momo_adam`."""

    exp_avg: Updates  # d_t, momentum of the gradients: shaped like the params, in the params' dtype
    exp_avg_sq: Updates  # v_t, EMA of the squared gradients: shaped like the params, in the params' dtype
    barf: jax.Array  # f̄_t, momentum of the loss values: a scalar, float32 or wider
    gamma: jax.Array  # γ_t, momentum of <g_s, p_s>: a scalar, float32 or wider
    lb: jax.Array  # the lower bound of the loss in use: a scalar, float32 or wider
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far


def _scalar_dtype(params: Params) -> Any:
    return tree.compute_dtype(*(tree.as_array(x).dtype for x in tree.leaves_of(params)))


def _columns(updates: Updates, *trees: Any) -> tuple[list[Any], ...]:
    """Matching leaves of ``updates`` and ``trees``, only where the update is floating."""
    leaves, *others = tree.flatten_like(updates, *trees)
    keep = [tree.is_float(u) for u in leaves]
    return tuple([tree.as_array(x) for x, k in zip(column, keep) if k] for column in (leaves, *others))


def _vdot(xs: list[Any], ys: list[Any], dtype: Any) -> jax.Array:
    return tree.tree_sum([jnp.sum(x.astype(dtype) * y.astype(dtype)) for x, y in zip(xs, ys)]).astype(dtype)


def _needs(params: Params | None, value: Any, fn: str) -> Params:
    checks.params_given(params, fn)
    if value is None:
        raise ValueError(blame("update needs the loss: call update(grads, state, params, value=loss) (jax.value_and_grad gives it)"))
    return params


def _checks(learning_rate: Any, lower_bound: Any, weight_decay: Any, adapt_lower_bound: Any) -> None:
    checks.learning_rate(learning_rate)
    checks.real("lower_bound", lower_bound)
    checks.non_negative("weight_decay", weight_decay)
    checks.boolean("adapt_lower_bound", adapt_lower_bound)


def _rate(learning_rate: ScalarOrSchedule, count: jax.Array, dtype: Any) -> jax.Array:
    rate = checks.schedule_value("learning_rate", learning_rate(count)) if callable(learning_rate) else learning_rate
    return jnp.asarray(rate).astype(dtype)


@transformation
def momo(
    learning_rate: ScalarOrSchedule = 1.0,
    beta: float = 0.9,
    lower_bound: float = 0.0,
    weight_decay: float = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    r"""MoMo, with Optax's arguments, defaults and numbers: SGD with momentum and a Polyak step.

    The step size is the smaller of :math:`\alpha_t` (the learning rate, an upper bound)
    and the step that a model of the loss built from momentum averages says reaches the
    lower bound :math:`f_*` of the loss. ``update`` needs the loss: ``value=``.

    .. math::

       d_t = \beta d_{t-1} + (1 - \beta) g_t, \quad
       \bar f_t = \beta \bar f_{t-1} + (1 - \beta) f(p_t), \quad
       \gamma_t = \beta \gamma_{t-1} + (1 - \beta) \langle g_t, p_t \rangle
       \quad (\beta = 0 \text{ at } t = 1) \\
       \tau_t = \min\Big(\alpha_t, \frac{\big((1 + \alpha_t \lambda)(\bar f_t - f_* - \gamma_t)
       + \langle d_t, p_t \rangle\big)_+}{\lVert d_t \rVert^2}\Big), \qquad
       p_{t+1} = p_t - \frac{\alpha_t \lambda}{1 + \alpha_t \lambda} p_t - \tau_t d_t

    With ``adapt_lower_bound``, :math:`f_*` is re-estimated online (never below
    ``lower_bound``).

    Args:
      learning_rate: :math:`\alpha \ge 0`, the largest step: a number or a schedule.
      beta: :math:`\beta \in [0, 1)`, the momentum.
      lower_bound: :math:`f_*`, a lower bound of the loss (0 for most losses).
      weight_decay: :math:`\lambda \ge 0`.
      adapt_lower_bound: Estimate :math:`f_*` online (for losses far above their bound).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MomoState`. It is a
      complete optimizer (the learning rate is inside).

    Raises:
      ValueError: At ``update``, without ``params`` or ``value=``.

    Examples:
      >>> tx = gradtx.momo()
      >>> p = jnp.array([1.0, 2.0])
      >>> tx.update(2 * p, tx.init(p), p, value=jnp.sum(p**2))[0]  # the Polyak step to 0
      Array([-0.5, -1. ], dtype=float32)

    References:
      Schaipp et al., `MoMo: Momentum Models for Adaptive Learning Rates
      <https://arxiv.org/abs/2305.07583>`_, ICML 2024.

    .. note::
       Optax: ``optax.contrib.momo``, same arguments, defaults and numbers. The scalar
       states are kept in float32 or wider (Optax: the params' narrowest dtype).
    """
    _checks(learning_rate, lower_bound, weight_decay, adapt_lower_bound)
    checks.decay_rate("beta", beta)

    def init(params: Params) -> MomoState:
        dtype = _scalar_dtype(params)
        zero = tree.replicated_like(params, jnp.zeros([], dtype))
        return MomoState(
            tree.zeros_like(params), zero, jnp.copy(zero), tree.replicated_like(params, jnp.asarray(lower_bound, dtype)),
            tree.zero_count(params),
        )

    def update(
        updates: Updates, state: MomoState, params: Params | None = None, *, value: Any = None, **extra_args: Any
    ) -> tuple[Updates, MomoState]:
        del extra_args
        params = _needs(params, value, "momo")
        dtype = state.barf.dtype
        b = jnp.where(state.count == 0, jnp.zeros([], dtype), jnp.asarray(beta, dtype))
        barf = b * state.barf + (1 - b) * jnp.asarray(value).astype(dtype)
        _, exp_avg = tree.map_unzip(lambda g, d: (g, b.astype(g.dtype) * d + (1 - b.astype(g.dtype)) * g), updates, state.exp_avg)
        g, d, p = _columns(updates, exp_avg, params)
        gamma = b * state.gamma + (1 - b) * _vdot(g, p, dtype)
        d_norm = _vdot(d, d, dtype)
        d_p = _vdot(d, p, dtype)
        alpha = _rate(learning_rate, state.count, dtype)
        shrink = 1 + alpha * jnp.asarray(weight_decay, dtype)
        floor = jnp.asarray(lower_bound, dtype)
        if adapt_lower_bound:
            cap = shrink * (barf - gamma) + d_p
            lb = jnp.where(cap < shrink * state.lb, jnp.maximum(cap / (2 * shrink), floor), state.lb)
        else:
            lb = state.lb
        polyak = jnp.maximum(shrink * (barf - lb - gamma) + d_p, 0) / d_norm
        polyak = jnp.where(d_norm <= _EPS64, jnp.zeros([], dtype), polyak)
        tau = jnp.minimum(alpha, polyak)
        decay = alpha * jnp.asarray(weight_decay, dtype) / shrink
        new_updates = tree.map_float(
            lambda u, d, p: -decay.astype(u.dtype) * p - tau.astype(u.dtype) * d, updates, exp_avg, params
        )
        if adapt_lower_bound:
            lb = jnp.maximum(barf + d_p - gamma - tau * d_norm / 2, floor)
        else:
            lb = state.lb
        return new_updates, MomoState(exp_avg, barf, gamma, lb, tree.safe_increment(state.count))

    return GradientTransformation(init, update)


@transformation
def momo_adam(
    learning_rate: ScalarOrSchedule = 1e-2,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    lower_bound: float = 0.0,
    weight_decay: float = 0.0,
    adapt_lower_bound: bool = False,
) -> GradientTransformation:
    r"""MoMo-Adam, with Optax's arguments, defaults and numbers: Adam with a Polyak step.

    :func:`momo` in Adam's geometry: the model-based step is measured in the norm of
    Adam's preconditioner :math:`D_t = \epsilon + \sqrt{v_t / (1 - \beta_2^t)}`, and the
    averages are bias-corrected by :math:`\rho_t = 1 - \beta_1^t`. ``update`` needs the
    loss: ``value=``.

    .. math::

       d_t = \beta_1 d_{t-1} + (1 - \beta_1) g_t, \quad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
       \bar f_t, \gamma_t \text{ as in momo with } \beta_1 \\
       \tau_t = \min\Big(\frac{\alpha_t}{\rho_t}, \frac{\big((1 + \alpha_t \lambda)
       (\bar f_t - \rho_t f_* - \gamma_t) + \langle d_t, p_t \rangle\big)_+}
       {\langle d_t, d_t / D_t \rangle}\Big), \qquad
       p_{t+1} = p_t - \frac{\alpha_t \lambda}{1 + \alpha_t \lambda} p_t - \tau_t \frac{d_t}{D_t}

    Args:
      learning_rate: :math:`\alpha \ge 0`, the largest step: a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, the momentum.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the preconditioner.
      lower_bound: :math:`f_*`, a lower bound of the loss (0 for most losses).
      weight_decay: :math:`\lambda \ge 0`.
      adapt_lower_bound: Estimate :math:`f_*` online (never below ``lower_bound``).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MomoAdamState`. It is a
      complete optimizer (the learning rate is inside).

    Raises:
      ValueError: At ``update``, without ``params`` or ``value=``.

    Examples:
      >>> tx = gradtx.momo_adam()
      >>> p = jnp.array([1.0, 2.0])
      >>> tx.update(2 * p, tx.init(p), p, value=jnp.sum(p**2))[0].round(4)
      Array([-0.01, -0.01], dtype=float32)

    References:
      Schaipp et al., `MoMo: Momentum Models for Adaptive Learning Rates
      <https://arxiv.org/abs/2305.07583>`_, ICML 2024.

    .. note::
       Optax: ``optax.contrib.momo_adam``, same arguments, defaults and numbers. The scalar
       states are kept in float32 or wider (Optax: the params' narrowest dtype).
    """
    _checks(learning_rate, lower_bound, weight_decay, adapt_lower_bound)
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)

    def init(params: Params) -> MomoAdamState:
        dtype = _scalar_dtype(params)
        zero = tree.replicated_like(params, jnp.zeros([], dtype))
        return MomoAdamState(
            tree.zeros_like(params), tree.zeros_like(params), zero, jnp.copy(zero),
            tree.replicated_like(params, jnp.asarray(lower_bound, dtype)), tree.zero_count(params),
        )

    def update(
        updates: Updates, state: MomoAdamState, params: Params | None = None, *, value: Any = None, **extra_args: Any
    ) -> tuple[Updates, MomoAdamState]:
        del extra_args
        params = _needs(params, value, "momo_adam")
        dtype = state.barf.dtype
        count = tree.safe_increment(state.count)
        barf = b1 * state.barf + (1 - b1) * jnp.asarray(value).astype(dtype)
        correction1 = tree.bias_correction(b1, count).astype(dtype)
        correction2 = tree.bias_correction(b2, count).astype(dtype)

        def moments(g: jax.Array, d: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            return g, b1 * d + (1 - b1) * g, b2 * v + (1 - b2) * jnp.square(g)

        _, exp_avg, exp_avg_sq = tree.map_unzip(moments, updates, state.exp_avg, state.exp_avg_sq)

        def precondition(v: jax.Array) -> jax.Array:
            return eps + jnp.sqrt(v / correction2.astype(v.dtype))

        g, d, v, p = _columns(updates, exp_avg, exp_avg_sq, params)
        d_norm = tree.tree_sum([jnp.sum(jnp.square(di.astype(dtype)) / precondition(vi.astype(dtype))) for di, vi in zip(d, v)])
        d_norm = d_norm.astype(dtype)
        gamma = b1 * state.gamma + (1 - b1) * _vdot(g, p, dtype)
        d_p = _vdot(d, p, dtype)
        alpha = _rate(learning_rate, state.count, dtype)
        shrink = 1 + alpha * jnp.asarray(weight_decay, dtype)
        floor = jnp.asarray(lower_bound, dtype)
        if adapt_lower_bound:
            cap = shrink * (barf - gamma) + d_p
            lb = jnp.where(cap < shrink * correction1 * state.lb, jnp.maximum(cap / (2 * correction1 * shrink), floor), state.lb)
        else:
            lb = state.lb
        polyak = jnp.maximum(shrink * (barf - correction1 * lb - gamma) + d_p, 0) / d_norm
        polyak = jnp.where(d_norm <= _EPS64, jnp.zeros([], dtype), polyak)
        tau = jnp.minimum(alpha / correction1, polyak)
        decay = alpha * jnp.asarray(weight_decay, dtype) / shrink

        def step(u: jax.Array, d: jax.Array, v: jax.Array, p: jax.Array) -> jax.Array:
            c = u.dtype
            return -decay.astype(c) * p - tau.astype(c) * d / (eps + jnp.sqrt(v / correction2.astype(c)))

        new_updates = tree.map_float(step, updates, exp_avg, exp_avg_sq, params)
        if adapt_lower_bound:
            lb = jnp.maximum((barf + d_p - gamma - tau * d_norm / 2) / correction1, floor)
        else:
            lb = state.lb
        return new_updates, MomoAdamState(exp_avg, exp_avg_sq, barf, gamma, lb, count)

    return GradientTransformation(init, update)
