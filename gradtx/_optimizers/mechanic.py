"""Mechanic: learns a global scale for any optimizer's updates, online, by a coin-betting argument."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform
from gradtx._optimizers import _contrib


class MechanicState(NamedTuple):
    """State of :func:`mechanize`."""

    base_optimizer_state: State  # the base optimizer's state
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    r: jax.Array  # float[num_betas]: the bettors' rewards
    m: jax.Array  # float[num_betas]: running max of |h|
    v: jax.Array  # float[num_betas]: running sums of h^2
    s: jax.Array  # float[num_betas]: the bettors' scales; the update scale is their sum
    x0: Params  # the reference point: the params given to the first update


@transformation
def mechanize(
    base_optimizer: GradientTransformation,
    weight_decay: float = 1e-2,
    eps: float = 1e-8,
    s_init: float = 1e-6,
    num_betas: int = 6,
) -> GradientTransformation:
    r"""Mechanic: tune the scale of a base optimizer's updates online, so its learning rate need not be.

    The params move to :math:`x_0 + s_{t+1} \Delta_t`, where :math:`\Delta_t` is the sum of
    the base optimizer's updates and the scale :math:`s = \sum_i s_i` is learned by
    ``num_betas`` coin bettors with discounts :math:`\beta_i = 1 - 10^{-i}`. With
    :math:`\tilde g_t = g_t + \lambda\, s\, \|g_t\| / (\|x_t\| + \epsilon)\, x_t` and
    :math:`h_t = \langle \tilde g_t, \Delta_{t-1} \rangle`:

    .. math::

       m_i \gets \max(\beta_i m_i, |h_t| + \epsilon), \quad
       v_i \gets \beta_i^2 v_i + h_t^2, \quad
       r_i \gets \beta_i r_i - \mathrm{clip}(h_t, -m_i, m_i)\, s_i, \quad
       s_i \gets \frac{s_{init} m_i / n + \max(0, r_i)}{\sqrt{v_i} + \epsilon}

    (the clip uses the previous :math:`m_i`, the reward sign follows Optax's convention of
    :math:`\Delta = (x_0 - x) / s`).

    Args:
      base_optimizer: The optimizer whose updates are rescaled (its learning rate about 1).
      weight_decay: :math:`\lambda`, weight decay in the bettors' gradient.
      eps: :math:`\epsilon > 0`, for stability.
      s_init: :math:`s_{init}`, the initial scale of each bettor.
      num_betas: :math:`n \ge 1`, the number of bettors.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MechanicState`; ``update``
      needs ``params``.

    Examples:
      >>> tx = gradtx.mechanize(gradtx.sgd(1.0))
      >>> params = jnp.array([1.0, 2.0])
      >>> updates, state = tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)
      >>> updates.round(7)
      Array([-5.e-07,  1.e-06], dtype=float32)

    References:
      Cutkosky, Defazio and Mehta, `Mechanic: A Learning Rate Tuner
      <https://arxiv.org/abs/2306.00144>`_, 2023.

    .. note::
       Optax: ``optax.contrib.mechanize(base_optimizer, weight_decay, eps, s_init,
       num_betas)``, same arguments, defaults and numbers. Its scalars are float32 or wider
       here (the params' lowest dtype in Optax).
    """
    base_optimizer = _check_transform("mechanize", "`base_optimizer`", base_optimizer)
    checks.non_negative("weight_decay", weight_decay)
    checks.non_negative("eps", eps)
    checks.non_negative("s_init", s_init)
    checks.integer("num_betas", num_betas, 1)

    def init(params: Params) -> MechanicState:
        dtype = _contrib.scalar_dtype(params)

        def vector(value: float) -> jax.Array:
            return tree.replicated_like(params, jnp.full([num_betas], value, dtype))

        return MechanicState(
            base_optimizer.init(params),
            tree.zero_count(params),
            vector(0.0),
            vector(0.0),
            vector(0.0),
            vector(s_init),
            _contrib.copy_params(params),
        )

    def update(
        updates: Updates, state: MechanicState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MechanicState]:
        params = checks.params_given(params, "mechanize")
        steps, base_state = base_optimizer.update(updates, state.base_optimizer_state, params, **extra_args)
        first = state.count == 0
        dtype = state.s.dtype
        x0 = tree.map_float(lambda x, p: jnp.where(first, p, x), state.x0, params)
        s_sum = jnp.sum(state.s)
        grad_norm = jnp.sqrt(_contrib.reduce_sum(lambda g: jnp.sum(jnp.square(g)), updates)).astype(dtype)
        param_norm = jnp.sqrt(
            _contrib.reduce_sum(lambda g, p: jnp.sum(jnp.square(p)), updates, params)
        ).astype(dtype)
        decay = tree.weak(weight_decay * s_sum * grad_norm / (param_norm + eps))
        s_div = tree.weak(s_sum + eps)
        h = _contrib.reduce_sum(
            lambda g, p, x: jnp.sum((g + decay * p) * ((x - p) / s_div)), updates, params, x0
        ).astype(dtype)
        betas = jnp.asarray([1.0 - 0.1**i for i in range(1, num_betas + 1)], dtype)
        clipped_h = jax.lax.clamp(-state.m, jnp.full_like(state.m, h), state.m)
        m = jnp.maximum(betas * state.m, jnp.abs(h) + eps)
        v = jnp.square(betas) * state.v + jnp.square(h)
        r = betas * state.r + clipped_h * state.s
        wealth = (s_init / num_betas) * m + jnp.maximum(0.0, r)
        s = wealth / (jnp.sqrt(v) + eps)
        scale = tree.weak(jnp.sum(s))

        def leaf(g: jax.Array, x: jax.Array, step: jax.Array, p: jax.Array) -> tuple[jax.Array, jax.Array]:
            del g
            delta = (x - p) / s_div - step
            return (x - scale * delta) - p, x

        new_updates, x0 = tree.map_unzip(leaf, updates, x0, steps, params)
        return new_updates, MechanicState(base_state, tree.safe_increment(state.count), r, m, v, s, x0)

    return GradientTransformation(init, update)
