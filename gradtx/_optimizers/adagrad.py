"""Adagrad: steps divided by the root of the sum of squared gradients (Optax's and torch's)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._optimizers._common import descent, torch_flags
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByRssState(NamedTuple):
    """State of :func:`scale_by_rss`."""

    sum_of_squares: Updates  # s_t: shaped like the params, in the params' dtype


@transformation(complex_params="native")
def scale_by_rss(
    initial_accumulator_value: float = 0.1, eps: float = 1e-7, *, eps_in_sqrt: bool = True
) -> GradientTransformation:
    r"""Divide updates by the root of the sum of all squared gradients so far (Adagrad's scaling).

    The scaling of :func:`adagrad`. Coordinates with large past gradients get small steps,
    and the steps of every coordinate shrink as the sum grows.

    .. math::

       s_0 = s_{init}, \qquad s_t = s_{t-1} + g_t^2, \qquad
       u_t = \frac{g_t}{\sqrt{s_t + \epsilon}} \ (0 \text{ where } s_t = 0) \quad \text{or} \quad
       u_t = \frac{g_t}{\sqrt{s_t} + \epsilon} \ \text{(not eps_in_sqrt)}

    Args:
      initial_accumulator_value: :math:`s_{init} \ge 0`, the value the sum starts from.
      eps: :math:`\epsilon \ge 0`, added inside the root (or to it).
      eps_in_sqrt: Add :math:`\epsilon` inside the root (Optax's rule) instead of to it
        (torch's rule); gradtx's switch.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRssState`.

    Raises:
      ValueError: If ``initial_accumulator_value < 0`` or ``eps < 0``.

    Examples:
      >>> tx = gradtx.scale_by_rss(0.0, 0.0)
      >>> u, state = tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))
      >>> u.round(3)
      Array([ 1., -1.], dtype=float32)
      >>> tx.update(jnp.array([4.0, 0.0]), state)[0].round(3)
      Array([0.8, 0. ], dtype=float32)

    References:
      Duchi et al., `Adaptive Subgradient Methods for Online Learning and Stochastic
      Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.

    .. note::
       Optax: ``optax.scale_by_rss(initial_accumulator_value, eps)``, same arguments,
       defaults and numbers. ``eps_in_sqrt=False`` is the scaling of ``torch.optim.Adagrad``.
    """
    checks.non_negative("initial_accumulator_value", initial_accumulator_value)
    checks.non_negative("eps", eps)
    checks.boolean("eps_in_sqrt", eps_in_sqrt)

    def init(params: Params) -> ScaleByRssState:
        return ScaleByRssState(tree.full_like(params, initial_accumulator_value))

    def update(
        updates: Updates, state: ScaleByRssState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByRssState]:
        del params, extra_args

        def leaf(g: jax.Array, s: jax.Array) -> tuple[jax.Array, jax.Array]:
            s = s + tree.abs_sq(g)
            if eps_in_sqrt:
                return g * jnp.where(s > 0, jax.lax.rsqrt(s + eps), 0), s
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
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    r"""Adagrad, as ``optax.adagrad``: per-coordinate steps from the sum of squared gradients.

    A good default for sparse features and convex problems; on long non-convex runs its
    steps shrink too fast (:func:`rmsprop` and :func:`adam` forget old gradients instead).

    .. math::

       s_t = s_{t-1} + g_t^2, \qquad
       p_t = p_{t-1} - \eta_t \frac{g_t}{\sqrt{s_t + \epsilon}} \ (0 \text{ where } s_t = 0)

    Composition: ``chain(scale_by_rss(s_init, ε), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      initial_accumulator_value: :math:`s_0 \ge 0`, the value the sum of squares starts from.
      eps: :math:`\epsilon \ge 0`, added inside the root.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If any number above is negative.

    Examples:
      >>> tx = gradtx.adagrad(0.5, initial_accumulator_value=0.0, eps=0.0)
      >>> u, state = tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))
      >>> u.round(3)
      Array([-0.5,  0.5], dtype=float32)

    References:
      Duchi et al., `Adaptive Subgradient Methods for Online Learning and Stochastic
      Optimization <https://jmlr.org/papers/v12/duchi11a.html>`_, 2011.

    .. note::
       Optax: ``optax.adagrad(learning_rate, initial_accumulator_value, eps)``, same
       arguments, defaults and numbers. PyTorch: ``torch.optim.Adagrad`` (sum from 0,
       :math:`\epsilon = 10^{-10}` outside the root, ``lr_decay``, weight decay) is
       :func:`gradtx.torch.Adagrad`.
    """
    checks.learning_rate(learning_rate)
    return chain(scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate))


@transformation(complex_params="as_real")
def Adagrad(  # noqa: N802
    lr: ScalarOrSchedule = 1e-2,
    lr_decay: float = 0,
    weight_decay: float = 0,
    initial_accumulator_value: float = 0,
    eps: float = 1e-10,
    foreach: bool | None = None,
    *,
    maximize: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
) -> GradientTransformation:
    r"""``torch.optim.Adagrad``, with torch's arguments and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad s_t = s_{t-1} + g_t^2, \qquad
       p_t = p_{t-1} - \frac{\eta_{t-1}}{1 + (t-1)\,\delta} \, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_rss(s_0, ε,
    eps_in_sqrt=False), scale_by_learning_rate(η / (1 + t δ)))``; with :math:`\delta > 0`
    the learning rate is a schedule (composed with ``lr`` when that is a schedule too).

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule (gradtx's extension).
      lr_decay: :math:`\delta \ge 0`; the rate of update :math:`t` is divided by
        :math:`1 + (t-1)\delta`.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      initial_accumulator_value: :math:`s_0 \ge 0`, the value the sum of squares starts from.
      eps: :math:`\epsilon \ge 0`, added to :math:`\sqrt{s_t}`.
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      differentiable: Accepted and ignored (JAX code is always differentiable).
      fused: Accepted and ignored (XLA fuses the whole step).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.Adagrad(lr=0.5, lr_decay=1.0)
      >>> u, state = tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))
      >>> u.round(3)
      Array([-0.5,  0.5], dtype=float32)
      >>> tx.update(jnp.array([4.0, 0.0]), state)[0].round(3)  # 0.25 * 4 / 5
      Array([-0.2, -0. ], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.Adagrad(params, lr, lr_decay, weight_decay,
       initial_accumulator_value, eps, maximize=...)`` -> ``gradtx.torch.Adagrad(lr,
       lr_decay, weight_decay, initial_accumulator_value, eps, maximize=...)``, same
       numbers. The Optax door is :func:`gradtx.adagrad`.
    """
    checks.learning_rate(lr, "lr")
    checks.non_negative("lr_decay", lr_decay)
    checks.boolean("maximize", maximize)
    torch_flags(foreach=foreach, differentiable=differentiable, fused=fused)
    return descent(
        scale_by_rss(initial_accumulator_value, eps, eps_in_sqrt=False),
        _decayed(lr, lr_decay),
        weight_decay=weight_decay,
        maximize=maximize,
    )
