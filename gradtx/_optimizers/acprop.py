"""ACProp: AdaBelief's centred second moment, applied one step late (asynchronously)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers.adabelief import ScaleByBeliefState
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


@transformation
def scale_by_acprop(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
) -> GradientTransformation:
    r"""Rescale updates by ACProp's rule: the *raw* gradient over the previous belief moment.

    The scaling of :func:`acprop`. The denominator is AdaBelief's second central moment of
    the *previous* step, so it does not depend on the current gradient; the first moment is
    kept in the state but the update uses :math:`g_t` itself.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       s_t = \beta_2 s_{t-1} + (1 - \beta_2) (g_t - m_{t-1})^2 + \epsilon_{root} \\
       u_1 = \frac{g_1}{1 + \epsilon}, \qquad
       u_t = \frac{g_t}{\sqrt{s_{t-1} / (1 - \beta_2^{t-1})} + \epsilon} \quad (t > 1)

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added to :math:`s_t` at every step.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByBeliefState`.

    Examples:
      >>> tx = gradtx.scale_by_acprop()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0]
      Array([ 0.5, -2. ], dtype=float32)

    References:
      Zhuang et al., `Momentum Centering and Asynchronous Update for Adaptive Gradient
      Methods <https://arxiv.org/abs/2110.05454>`_, NeurIPS 2021.

    .. note::
       Optax: ``optax.contrib.scale_by_acprop``, same arguments and numbers.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)

    def init(params: Params) -> ScaleByBeliefState:
        return ScaleByBeliefState(tree.zero_count(params), tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByBeliefState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByBeliefState]:
        del params, extra_args
        first = state.count == 0
        # The previous step's correction (never 1 - b2**0 = 0: the first step divides by 1).
        correction2 = tree.bias_correction(b2, jnp.maximum(state.count, 1))

        def leaf(g: jax.Array, m: jax.Array, s: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            s_hat = jnp.where(first, jnp.ones_like(s), s / correction2.astype(g.dtype))
            u = g / (jnp.sqrt(s_hat) + eps)
            s = (1 - b2) * jnp.square(g - m) + b2 * s + eps_root
            m = (1 - b1) * g + b1 * m
            return u, m, s

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByBeliefState(tree.safe_increment(state.count), mu, nu)

    return GradientTransformation(init, update)


@transformation
def acprop(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    weight_decay: float = 0.0,
    mask: Mask | None = None,
) -> GradientTransformation:
    r"""ACProp, with Optax's arguments, defaults and numbers.

    An adaptive method whose step size does not depend on the current gradient (see
    :func:`scale_by_acprop`), which the paper shows removes AdaBelief's and Adam's
    convergence issues.

    .. math::

       p_t = p_{t-1} - \eta_t (u_t + \lambda p_{t-1})

    Composition: ``chain(scale_by_acprop(b1, b2, eps, eps_root), add_decayed_weights(λ, mask),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added to the second moment at every step.
      weight_decay: :math:`\lambda \ge 0`, decoupled (multiplied by :math:`\eta_t`).
      mask: Which leaves to decay: a bool tree, a callable ``params -> bool tree`` or path
        patterns (see :func:`masked`); ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.acprop(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0]
      Array([-0.005,  0.02 ], dtype=float32)

    References:
      Zhuang et al., `Momentum Centering and Asynchronous Update for Adaptive Gradient
      Methods <https://arxiv.org/abs/2110.05454>`_, NeurIPS 2021.

    .. note::
       Optax: ``optax.contrib.acprop``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_acprop(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )
