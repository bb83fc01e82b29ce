"""Lion: the sign of an interpolation between momentum and gradient, with Optax's arguments."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByLionState(NamedTuple):
    """State of :func:`scale_by_lion`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, momentum: shaped like the params, in `mu_dtype` (default: the params')


@transformation
def scale_by_lion(
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any = None,
    *,
    mode: str = "hard",
    smooth_beta: float = 1.0,
) -> GradientTransformation:
    r"""Rescale updates to the sign of an interpolation of momentum and gradient (Lion).

    The scaling of :func:`lion`. The momentum is updated *after* it is used, with its own
    decay :math:`\beta_2`.

    .. math::

       c_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad u_t = \sigma(c_t), \qquad
       m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t, \quad m_0 = 0

    with :math:`\sigma = \operatorname{sign}` (``"hard"``), :math:`\tanh(\beta_s\,\cdot)`
    (``"smooth"``) or the identity clipped to the sign outside :math:`(-1, 1)` (``"refined"``).

    Args:
      b1: :math:`\beta_1 \in [0, 1]`, weight of the momentum in the interpolation.
      b2: :math:`\beta_2 \in [0, 1]`, decay of the momentum.
      mu_dtype: Storage dtype of :math:`m`; ``None`` keeps the params' dtype.
      mode: ``"hard"``, ``"smooth"`` or ``"refined"``: the function :math:`\sigma`.
      smooth_beta: :math:`\beta_s`, the slope of ``"smooth"`` (any real number).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByLionState`.

    Raises:
      ValueError: If ``b1`` or ``b2`` is outside [0, 1], or ``mode`` is unknown.

    Examples:
      >>> tx = gradtx.scale_by_lion()
      >>> tx.update(jnp.array([0.5, -2.0, 0.0]), tx.init(jnp.zeros(3)))[0]
      Array([ 1., -1.,  0.], dtype=float32)

    References:
      Chen et al., `Symbolic Discovery of Optimization Algorithms
      <https://arxiv.org/abs/2302.06675>`_, 2023.

    .. note::
       Optax: ``optax.scale_by_lion(b1, b2, mu_dtype, mode=..., smooth_beta=...)``, same
       arguments and numbers.
    """
    checks.interval("b1", b1, 0.0, 1.0)
    checks.interval("b2", b2, 0.0, 1.0)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.one_of("mode", mode, ("hard", "smooth", "refined"))
    checks.real("smooth_beta", smooth_beta)

    def sigma(c: jax.Array) -> jax.Array:
        if mode == "smooth":
            return jnp.tanh(smooth_beta * c)
        if mode == "refined":
            return jnp.where(jnp.abs(c) < 1, c, jnp.sign(c))
        return jnp.sign(c)

    def init(params: Params) -> ScaleByLionState:
        return ScaleByLionState(tree.zero_count(params), tree.zeros_like(params, mu_dtype))

    def update(
        updates: Updates, state: ScaleByLionState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByLionState]:
        del params, extra_args

        def leaf(g: jax.Array, m: jax.Array) -> tuple[jax.Array, jax.Array]:
            return sigma((1 - b1) * g + b1 * m), (1 - b2) * g + b2 * m

        updates, mu = tree.map_unzip(leaf, updates, state.mu)
        return updates, ScaleByLionState(tree.safe_increment(state.count), mu)

    return GradientTransformation(init, update)


@transformation
def lion(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any = None,
    weight_decay: float = 1e-3,
    mask: Mask | None = None,
) -> GradientTransformation:
    r"""Lion, with Optax's arguments and numbers: signed momentum plus decoupled weight decay.

    Lion keeps one buffer (half of Adam's memory) and takes steps of equal size in every
    coordinate; use a learning rate 3-10x smaller than AdamW's and a weight decay 3-10x larger.

    .. math::

       p_t = p_{t-1} - \eta_t \left( \operatorname{sign}\big(\beta_1 m_{t-1} + (1 - \beta_1) g_t\big)
       + \lambda p_{t-1} \right), \qquad m_t = \beta_2 m_{t-1} + (1 - \beta_2) g_t

    Composition: ``chain(scale_by_lion(b1, b2, mu_dtype), add_decayed_weights(λ),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1]`, weight of the momentum in the signed interpolation.
      b2: :math:`\beta_2 \in [0, 1]`, decay of the momentum.
      mu_dtype: Storage dtype of the momentum; ``None`` keeps the params' dtype.
      weight_decay: :math:`\lambda \ge 0`, decoupled, multiplied by the learning rate.
      mask: Which leaves to decay (see :func:`masked`); ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.lion(1e-3, weight_decay=0.0)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0]
      Array([-0.001,  0.001], dtype=float32)

    References:
      Chen et al., `Symbolic Discovery of Optimization Algorithms
      <https://arxiv.org/abs/2302.06675>`_, 2023.

    .. note::
       Optax: ``optax.lion``, same arguments, defaults and numbers. ``weight_decay`` is a
       number here (Optax also takes a schedule; use
       :func:`inject_hyperparams` to change it during training).
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_lion(b1, b2, mu_dtype),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )
