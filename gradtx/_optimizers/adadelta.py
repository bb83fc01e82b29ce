"""Adadelta: steps whose size is the ratio of two running root-mean-squares."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent


class ScaleByAdadeltaState(NamedTuple):
    """State of :func:`scale_by_adadelta`."""

    e_g: Updates  # E[g^2]_t, running mean of squared gradients: shaped like the params, in their dtype
    e_x: Updates  # E[Δx^2]_t, running mean of squared steps: shaped like the params, in their dtype


@transformation
def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> GradientTransformation:
    r"""Rescale updates by Adadelta's ratio of root-mean-square step to root-mean-square gradient.

    The scaling of :func:`adadelta`. The ratio carries the units of the parameters, so the
    step needs no hand-tuned size (the learning rate stays at 1 in the paper).

    .. math::

       a_t = \rho a_{t-1} + (1 - \rho) g_t^2, \qquad
       u_t = \frac{\sqrt{b_{t-1} + \epsilon}}{\sqrt{a_t + \epsilon}} \, g_t, \qquad
       b_t = \rho b_{t-1} + (1 - \rho) u_t^2

    Args:
      rho: :math:`\rho \in [0, 1]`, decay of both running means.
      eps: :math:`\epsilon \ge 0`, added inside both roots.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdadeltaState`.

    Raises:
      ValueError: If ``rho`` is outside [0, 1] or ``eps < 0``.

    Examples:
      >>> tx = gradtx.scale_by_adadelta(rho=0.5, eps=1e-2)
      >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0].round(3)
      Array([ 0.14 , -0.141], dtype=float32)

    References:
      Zeiler, `ADADELTA: An Adaptive Learning Rate Method
      <https://arxiv.org/abs/1212.5701>`_, 2012.

    .. note::
       Optax: ``optax.scale_by_adadelta(rho, eps)``, same numbers.
    """
    checks.interval("rho", rho, 0.0, 1.0)
    checks.non_negative("eps", eps)

    def init(params: Params) -> ScaleByAdadeltaState:
        return ScaleByAdadeltaState(tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAdadeltaState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdadeltaState]:
        del params, extra_args

        def leaf(g, a, b):
            a = rho * a + (1 - rho) * jnp.square(g)
            u = jnp.sqrt(b + eps) / jnp.sqrt(a + eps) * g
            return u, a, rho * b + (1 - rho) * jnp.square(u)

        updates, e_g, e_x = tree.map_unzip(leaf, updates, state.e_g, state.e_x)
        return updates, ScaleByAdadeltaState(e_g, e_x)

    return GradientTransformation(init, update)


@transformation
def adadelta(
    learning_rate: ScalarOrSchedule = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Adadelta, as ``torch.optim.Adadelta``.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta\, \frac{\sqrt{b_{t-1} + \epsilon}}{\sqrt{a_t + \epsilon}}\, g_t

    with the running means :math:`a_t, b_t` of :func:`scale_by_adadelta`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_adadelta(ρ, ε),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule (1 in the paper).
      rho: :math:`\rho \in [0, 1]`, decay of the running means.
      eps: :math:`\epsilon \ge 0`, added inside both roots.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps`` or ``weight_decay`` is negative, or ``rho``
        is outside [0, 1].

    Examples:
      >>> tx = gradtx.adadelta()
      >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0].round(5)
      Array([-0.00316,  0.00316], dtype=float32)

    References:
      Zeiler, `ADADELTA: An Adaptive Learning Rate Method
      <https://arxiv.org/abs/1212.5701>`_, 2012.

    .. note::
       PyTorch: ``torch.optim.Adadelta(lr, rho, eps, weight_decay, maximize=...)`` ->
       ``adadelta(learning_rate, rho, eps, weight_decay, maximize=...)``, same numbers and
       defaults. Optax: ``optax.adadelta(learning_rate=None, rho, eps, weight_decay,
       weight_decay_mask)`` has the same rule, but its default ``learning_rate=None`` skips
       the learning-rate step and with it the minus sign, so it *ascends*; gradtx's default
       is torch's 1.0, which descends.
    """
    checks.learning_rate(learning_rate)
    checks.boolean("maximize", maximize)
    return descent(
        scale_by_adadelta(rho, eps),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        maximize=maximize,
    )
