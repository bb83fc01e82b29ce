"""Adagrad: steps divided by the root of the running sum of squared gradients."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent


class ScaleByRssState(NamedTuple):
    """State of :func:`scale_by_rss`."""

    sum_of_squares: Updates  # s_t: shaped like the params, in the params' dtype


@transformation
def scale_by_rss(initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> GradientTransformation:
    r"""Divide updates by the root of the sum of all squared gradients so far (Adagrad's scaling).

    The scaling of :func:`adagrad`. Coordinates with large past gradients get small steps,
    and the steps of every coordinate shrink as the sum grows.

    .. math::

       s_0 = s_{init}, \qquad s_t = s_{t-1} + g_t^2, \qquad
       u_t = \frac{g_t}{\sqrt{s_t} + \epsilon}

    Args:
      initial_accumulator_value: :math:`s_{init} \ge 0`, the value the sum starts from.
      eps: :math:`\epsilon \ge 0`, added to the root (outside it, as torch).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRssState`.

    Raises:
      ValueError: If ``initial_accumulator_value < 0`` or ``eps < 0``.

    Examples:
      >>> tx = gradtx.scale_by_rss()
      >>> u, state = tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))
      >>> u.round(3)
      Array([ 1., -1.], dtype=float32)
      >>> tx.update(jnp.array([4.0, 0.0]), state)[0].round(3)
      Array([0.8, 0. ], dtype=float32)

    References:
      Duchi et al., `Adaptive Subgradient Methods for Online Learning and Stochastic
      Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.

    .. note::
       Optax: ``optax.scale_by_rss(initial_accumulator_value=0.1, eps=1e-7)`` puts
       :math:`\epsilon` *inside* the root, :math:`g_t / \sqrt{s_t + \epsilon}`, and returns 0
       where :math:`s_t = 0`. Inside the root :math:`\epsilon` only shifts the sum's start, so
       ``scale_by_rss(initial_accumulator_value=a + e, eps=0.0)`` gives Optax's
       ``scale_by_rss(a, e)`` (equal whenever :math:`a + e > 0`).
    """
    checks.non_negative("initial_accumulator_value", initial_accumulator_value)
    checks.non_negative("eps", eps)

    def init(params: Params) -> ScaleByRssState:
        return ScaleByRssState(tree.full_like(params, initial_accumulator_value))

    def update(
        updates: Updates, state: ScaleByRssState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByRssState]:
        del params, extra_args

        def leaf(g, s):
            s = s + jnp.square(g)
            return g / (jnp.sqrt(s) + eps), s

        updates, sum_of_squares = tree.map_unzip(leaf, updates, state.sum_of_squares)
        return updates, ScaleByRssState(sum_of_squares)

    return GradientTransformation(init, update)


def _decayed(learning_rate: ScalarOrSchedule, lr_decay: float | jax.Array) -> ScalarOrSchedule:
    """torch's Adagrad rate ``lr / (1 + t * lr_decay)`` for ``t`` updates already applied."""
    if checks.is_static_zero(lr_decay):
        return learning_rate

    def schedule(count: jax.Array) -> jax.Array:
        rate = learning_rate(count) if callable(learning_rate) else learning_rate
        return rate / (1 + tree.float_count(count) * lr_decay)

    return schedule


@transformation
def adagrad(
    learning_rate: ScalarOrSchedule = 1e-2,
    lr_decay: float = 0.0,
    weight_decay: float = 0.0,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-10,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Adagrad, as ``torch.optim.Adagrad``: per-coordinate steps from the sum of squared gradients.

    A good default for sparse features and convex problems; on long non-convex runs its
    steps shrink too fast (:func:`rmsprop` and :func:`adam` forget old gradients instead).

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad s_t = s_{t-1} + g_t^2, \qquad
       p_t = p_{t-1} - \frac{\eta_{t-1}}{1 + (t-1)\,\delta} \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_rss(s_init, ε),
    scale_by_learning_rate(η / (1 + t δ)))``; with :math:`\delta > 0` the learning rate is a
    schedule (composed with ``learning_rate`` when that is a schedule too).

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      lr_decay: :math:`\delta \ge 0`; the rate of update :math:`t` is divided by
        :math:`1 + (t-1)\delta`.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      initial_accumulator_value: :math:`s_0 \ge 0`, the value the sum of squares starts from.
      eps: :math:`\epsilon \ge 0`, added to :math:`\sqrt{s_t}`.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If any number above is negative.

    Examples:
      >>> tx = gradtx.adagrad(0.5, lr_decay=1.0)
      >>> u, state = tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))
      >>> u.round(3)
      Array([-0.5,  0.5], dtype=float32)
      >>> tx.update(jnp.array([4.0, 0.0]), state)[0].round(3)  # 0.25 * 4 / 5
      Array([-0.2, -0. ], dtype=float32)

    References:
      Duchi et al., `Adaptive Subgradient Methods for Online Learning and Stochastic
      Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.

    .. note::
       PyTorch: ``torch.optim.Adagrad(lr, lr_decay, weight_decay, initial_accumulator_value,
       eps, maximize=...)`` -> ``adagrad(learning_rate, lr_decay, weight_decay,
       initial_accumulator_value, eps, maximize=...)``, same numbers; a schedule given as
       ``learning_rate`` plays torch's ``lr_scheduler``. Optax: ``optax.adagrad(learning_rate,
       initial_accumulator_value=0.1, eps=1e-7)`` starts the sum at 0.1, puts :math:`\epsilon`
       inside the root and has no ``lr_decay``, weight decay or ``maximize``; its numbers
       are ``chain(scale_by_rss(a + e, eps=0.0), scale_by_learning_rate(η))``.
    """
    checks.learning_rate(learning_rate)
    checks.non_negative("lr_decay", lr_decay)
    checks.boolean("maximize", maximize)
    return descent(
        scale_by_rss(initial_accumulator_value, eps),
        _decayed(learning_rate, lr_decay),
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        maximize=maximize,
    )
