"""COCOB-Backprop: continuous coin betting, a learning-rate-free optimizer."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._optimizers import _contrib
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class COCOBState(NamedTuple):
    """State of :func:`scale_by_cocob`."""

    init_particles: Params  # x_0, the params given to init (a copy)
    cumulative_gradients: Updates  # -sum of gradients: shaped like the params, in the params' dtype
    scale: Updates  # L_t, running max of |g| (starts at eps): shaped like the params
    subgradients: Updates  # G_t, sum of |g|: shaped like the params
    reward: Updates  # R_t, the reward: shaped like the params


@transformation
def scale_by_cocob(alpha: float = 100.0, eps: float = 1e-8) -> GradientTransformation:
    r"""COCOB-Backprop's move: params bet a fraction of their wealth on the sign of the gradient sum.

    Per coordinate, with :math:`x_0` the initial params:

    .. math::

       L_t = \max(L_{t-1}, |g_t|), \quad G_t = G_{t-1} + |g_t|, \quad
       R_t = \max(R_{t-1} - g_t (x_t - x_0), 0), \quad C_t = C_{t-1} - g_t \\
       u_t = x_0 + \frac{C_t (L_t + R_t)}{L_t \max(G_t + L_t, \alpha L_t)} - x_t

    The update moves the params to the new bet: it already has its sign (no learning rate
    follows it; :func:`cocob` scales the gradients before it).

    Args:
      alpha: :math:`\alpha > 0`, limits the first bets.
      eps: :math:`L_0`, the initial scale (> 0).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`COCOBState`; ``update``
      needs ``params``.

    Examples:
      >>> tx = gradtx.scale_by_cocob()
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)[0]
      Array([-0.01,  0.01], dtype=float32)

    References:
      Orabona and Tommasi, `Training Deep Networks without Learning Rates Through Coin
      Betting <https://arxiv.org/abs/1705.07795>`_, 2017.

    .. note::
       Optax: ``optax.contrib.scale_by_cocob(alpha, eps)``, same arguments, defaults and
       numbers.
    """
    checks.positive("alpha", alpha)
    checks.positive("eps", eps)

    def init(params: Params) -> COCOBState:
        return COCOBState(
            _contrib.copy_params(params),
            tree.zeros_like(params),
            tree.full_like(params, eps),
            tree.zeros_like(params),
            tree.zeros_like(params),
        )

    def update(
        updates: Updates, state: COCOBState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, COCOBState]:
        del extra_args
        params = checks.params_given(params, "scale_by_cocob")

        def leaf(
            g: jax.Array,
            c: jax.Array,
            big_l: jax.Array,
            big_g: jax.Array,
            r: jax.Array,
            x0: jax.Array,
            x: jax.Array,
        ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
            big_l = jnp.maximum(big_l, jnp.abs(g))
            big_g = big_g + jnp.abs(g)
            r = jnp.maximum(r - g * (x - x0), 0)
            c = c - g
            u = -x + (x0 + c / (big_l * jnp.maximum(big_g + big_l, alpha * big_l)) * (big_l + r))
            return u, c, big_l, big_g, r

        new_updates, c, big_l, big_g, r = tree.map_unzip(
            leaf,
            updates,
            state.cumulative_gradients,
            state.scale,
            state.subgradients,
            state.reward,
            state.init_particles,
            params,
        )
        return new_updates, COCOBState(state.init_particles, c, big_l, big_g, r)

    return GradientTransformation(init, update)


@transformation
def cocob(
    learning_rate: ScalarOrSchedule = 1.0,
    alpha: float = 100.0,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    mask: Any = None,
) -> GradientTransformation:
    r"""COCOB-Backprop: a learning-rate-free optimizer by coin betting.

    Composition: ``chain(add_decayed_weights(weight_decay, mask),
    scale_by_learning_rate(η, flip_sign=False), scale_by_cocob(alpha, eps))``: the learning
    rate scales the gradients the bettors see (1 leaves them as they are).

    Args:
      learning_rate: :math:`\eta \ge 0`, multiplies the gradients; a number or a schedule.
      alpha: :math:`\alpha > 0`, limits the first bets.
      eps: The initial scale :math:`L_0 > 0`.
      weight_decay: Weight decay added to the gradient.
      mask: Which params the weight decay applies to (see :func:`add_decayed_weights`).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); ``update`` needs ``params``.

    Examples:
      >>> tx = gradtx.cocob()
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([0.5, -1.0]), tx.init(params), params)[0]
      Array([-0.01,  0.01], dtype=float32)

    References:
      Orabona and Tommasi, `Training Deep Networks without Learning Rates Through Coin
      Betting <https://arxiv.org/abs/1705.07795>`_, 2017.

    .. note::
       Optax: ``optax.contrib.cocob(learning_rate, alpha, eps, weight_decay, mask)``, same
       arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate, flip_sign=False),
        scale_by_cocob(alpha, eps),
    )
