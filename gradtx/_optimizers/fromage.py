"""Fromage: a trust-ratio step followed by a shrink that keeps the params' norms from growing."""

from __future__ import annotations

from typing import Any

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
from gradtx._core.combine import chain
from gradtx._transforms.layerwise import scale_by_trust_ratio
from gradtx._transforms.scale import ScaleByScheduleState


@transformation
def _fromage_step(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    r"""``u <- -η m u + (m - 1) p`` with ``m = 1 / sqrt(1 + η²)``: Fromage's step after the trust ratio."""

    def rate(count: jax.Array) -> jax.Array:
        return jnp.asarray(learning_rate(count) if callable(learning_rate) else learning_rate)

    def init(params: Params) -> ScaleByScheduleState:
        return ScaleByScheduleState(tree.zero_count(params))

    def update(
        updates: Updates, state: ScaleByScheduleState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByScheduleState]:
        del extra_args
        checks.params_given(params, "Fromage's shrink")
        eta = rate(state.count)
        root = jnp.sqrt(1 + jnp.square(eta))
        step = eta / root  # η m
        decay = -jnp.square(eta) / (root * (1 + root))  # m - 1, without cancellation

        def leaf(u: jax.Array, p: jax.Array) -> jax.Array:
            return -step.astype(u.dtype) * u + decay.astype(u.dtype) * p

        return tree.map_float(leaf, updates, params), ScaleByScheduleState(tree.safe_increment(state.count))

    return GradientTransformation(init, update)


@transformation
def fromage(
    learning_rate: ScalarOrSchedule, min_norm: float = 1e-6, *, axis_name: Any = None
) -> GradientTransformation:
    r"""Fromage, with Optax's arguments and numbers: a relative step, then a shrink of the params.

    Frobenius-matched gradient descent moves every leaf by a fixed fraction of its norm
    (LARS-like) and divides by :math:`\sqrt{1 + \eta^2}` so that norms do not grow; it needs
    little learning-rate tuning.

    .. math::

       p_t = \frac{1}{\sqrt{1 + \eta_t^2}}
       \left( p_{t-1} - \eta_t \frac{\|p_{t-1}\|_{\min}}{\|g_t\|_{\min}}\, g_t \right)
       \quad \text{(per leaf)}, \qquad \|x\|_{\min} = \max(\|x\|_2, n_{\min})

    Composition: ``chain(scale_by_trust_ratio(min_norm), <shrink>)``, where the shrink
    returns :math:`-\eta m u + (m - 1) p` with :math:`m = 1 / \sqrt{1 + \eta^2}`.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      min_norm: :math:`n_{\min} \ge 0`, a floor for the norms of params and gradients.
      axis_name: The ``shard_map`` axis along which leaves are split, so the ratio uses
        whole-leaf norms (see :func:`scale_by_trust_ratio`).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.fromage(0.1)
      >>> params = jnp.array([3.0, 4.0])
      >>> tx.update(jnp.array([0.6, 0.8]), tx.init(params), params)[0].round(4)
      Array([-0.3134, -0.4179], dtype=float32)

    References:
      Bernstein et al., `On the distance between two neural networks and the stability of
      learning <https://arxiv.org/abs/2002.03432>`_, 2020.

    .. note::
       Optax: ``optax.fromage(learning_rate, min_norm)``, same arguments and numbers.
       Optax writes the shrink as ``scale_by_learning_rate(η m)`` followed by
       ``add_decayed_weights(m - 1)`` (a negative weight decay, which gradtx's
       :func:`add_decayed_weights` rejects), so gradtx does both in one private step.
    """
    checks.learning_rate(learning_rate)
    return chain(scale_by_trust_ratio(min_norm, axis_name=axis_name), _fromage_step(learning_rate))
