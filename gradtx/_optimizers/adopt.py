"""ADOPT: Adam that normalises each gradient by the second moment of the *previous* steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._optimizers.adam import ScaleByAdamState
from gradtx._transforms.scale import scale_by_learning_rate


def quarter_power(count: jax.Array) -> jax.Array:
    """ADOPT's default clipping bound :math:`c(t) = t^{1/4}` (0 on the first step)."""
    return tree.float_count(count) ** 0.25


@transformation
def scale_by_adopt(
    b1: float = 0.9,
    b2: float = 0.9999,
    eps: float = 1e-6,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = quarter_power,
) -> GradientTransformation:
    r"""Rescale updates by ADOPT's rule: normalise first, then average.

    The scaling of :func:`adopt`. Unlike Adam, the gradient is divided by the second moment
    *before* it enters the first moment, and that second moment does not include the
    current gradient; this is what lets ADOPT converge for any :math:`\beta_2`.

    .. math::

       v_0 = g_0^2, \quad m_0 = 0, \qquad
       \tilde g_t = \operatorname{clip}\!\Big(\frac{g_t}{\max(\sqrt{v_{t-1}}, \epsilon)},
       \pm c(t-1)\Big) \\
       m_t = \beta_1 m_{t-1} + (1 - \beta_1) \tilde g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
       u_t = m_t \ \text{or, nesterov,}\ \beta_1 m_t + (1 - \beta_1) \tilde g_t

    (steps counted from 0: the first step only records :math:`v_0` and returns zero).

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, floor of :math:`\sqrt{v}`.
      mu_dtype: Storage dtype of :math:`m`; ``None`` keeps the params' dtype.
      nesterov: Return the Nesterov look-ahead of the first moment.
      use_clipping: Clip the normalised gradient to :math:`\pm c(t)`.
      clip_value_fn: :math:`c`, a function of the step count (from 0); default
        :math:`t^{1/4}`.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdamState`
      (``nu_max`` is ``None``).

    Examples:
      >>> tx = gradtx.scale_by_adopt()
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([0.5, -2.0]), state)
      >>> tx.update(jnp.array([0.5, -2.0]), state)[0].round(3)
      Array([ 0.1, -0.1], dtype=float32)

    References:
      Taniguchi et al., `ADOPT: Modified Adam Can Converge with Any β2 with the Optimal Rate
      <https://arxiv.org/abs/2411.02853>`_, NeurIPS 2024.

    .. note::
       Optax: ``optax.contrib.scale_by_adopt``, same arguments and numbers (its state is
       also Adam's).
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.boolean("nesterov", nesterov)
    checks.boolean("use_clipping", use_clipping)
    checks.callable_("clip_value_fn", clip_value_fn)

    def init(params: Params) -> ScaleByAdamState:
        return ScaleByAdamState(tree.zero_count(params), tree.zeros_like(params, mu_dtype), tree.zeros_like(params), None)

    def update(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdamState]:
        del params, extra_args
        first = state.count == 0
        bound = clip_value_fn(state.count) if use_clipping else None

        def leaf(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            beta1 = jnp.where(first, jnp.ones((), g.dtype), jnp.asarray(b1, g.dtype))
            beta2 = jnp.where(first, jnp.zeros((), g.dtype), jnp.asarray(b2, g.dtype))
            step = g / jnp.maximum(jnp.sqrt(v), jnp.asarray(eps, g.dtype))
            if bound is not None:
                c = jnp.asarray(bound, g.dtype)
                step = jnp.clip(step, -c, c)
            m = beta1 * m + (1 - beta1) * step
            u = beta1 * m + (1 - beta1) * step if nesterov else m
            v = beta2 * v + (1 - beta2) * jnp.square(g)
            return u, m, v

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByAdamState(tree.safe_increment(state.count), mu, nu, None)

    return GradientTransformation(init, update)


@transformation
def adopt(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.9999,
    eps: float = 1e-6,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = quarter_power,
) -> GradientTransformation:
    r"""ADOPT, with Optax's arguments, defaults and numbers.

    A modified Adam that converges for any :math:`\beta_2` (see :func:`scale_by_adopt`).
    The first step does not move the params: it only measures the gradient's scale.

    .. math::

       p_t = p_{t-1} - \eta_t u_t

    Composition: ``chain(scale_by_adopt(b1, b2, eps, mu_dtype, nesterov=..., use_clipping=...,
    clip_value_fn=...), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, floor of :math:`\sqrt{v}`.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nesterov: Use the Nesterov look-ahead.
      use_clipping: Clip the normalised gradient (recommended from scratch).
      clip_value_fn: The clipping bound as a function of the step count; default
        :math:`t^{1/4}`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.adopt(1e-2)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([0.5, -2.0]), state)
      >>> tx.update(jnp.array([0.5, -2.0]), state)[0].round(4)
      Array([-0.001,  0.001], dtype=float32)

    References:
      Taniguchi et al., `ADOPT: Modified Adam Can Converge with Any β2 with the Optimal Rate
      <https://arxiv.org/abs/2411.02853>`_, NeurIPS 2024.

    .. note::
       Optax: ``optax.contrib.adopt``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adopt(
            b1, b2, eps, mu_dtype, nesterov=nesterov, use_clipping=use_clipping, clip_value_fn=clip_value_fn
        ),
        scale_by_learning_rate(learning_rate),
    )
