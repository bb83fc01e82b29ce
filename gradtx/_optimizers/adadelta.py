"""Adadelta: steps sized by the ratio of two running root-mean-squares (Optax's and torch's)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent, torch_flags
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


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

        def leaf(g: jax.Array, a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            a = rho * a + (1 - rho) * jnp.square(g)
            u = jnp.sqrt(b + eps) / jnp.sqrt(a + eps) * g
            return u, a, rho * b + (1 - rho) * jnp.square(u)

        updates, e_g, e_x = tree.map_unzip(leaf, updates, state.e_g, state.e_x)
        return updates, ScaleByAdadeltaState(e_g, e_x)

    return GradientTransformation(init, update)


@transformation
def adadelta(
    learning_rate: ScalarOrSchedule | None = None,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    weight_decay_mask: Mask | None = None,
) -> GradientTransformation:
    r"""Adadelta, as ``optax.adadelta``.

    .. math::

       g_t \leftarrow g_t + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta_t\, \frac{\sqrt{b_{t-1} + \epsilon}}{\sqrt{a_t + \epsilon}}\, g_t

    with the running means :math:`a_t, b_t` of :func:`scale_by_adadelta`.

    Composition: ``chain(add_decayed_weights(λ, mask), scale_by_adadelta(ρ, ε),
    scale_by_learning_rate(η))``, with :math:`\eta = 1` when ``learning_rate`` is ``None``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule; ``None`` is 1 (the paper's
        rate).
      rho: :math:`\rho \in [0, 1]`, decay of the running means.
      eps: :math:`\epsilon \ge 0`, added inside both roots.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.

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
       Optax: ``optax.adadelta(learning_rate, rho, eps, weight_decay, weight_decay_mask)``,
       same arguments, defaults and numbers, except for ``learning_rate=None``: Optax then
       leaves out the learning-rate step and with it the minus sign, so it *ascends*;
       gradtx descends with rate 1. PyTorch: ``torch.optim.Adadelta`` is
       :func:`gradtx.torch.Adadelta`.
    """
    rate = 1.0 if learning_rate is None else learning_rate
    checks.learning_rate(rate, "learning_rate")
    return chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        scale_by_adadelta(rho, eps),
        scale_by_learning_rate(rate),
    )


@transformation(complex_params="as_real")
def Adadelta(  # noqa: N802
    lr: ScalarOrSchedule = 1.0,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0,
    foreach: bool | None = None,
    *,
    capturable: bool = False,
    maximize: bool = False,
    differentiable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.Adadelta``, with torch's arguments and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta\, \frac{\sqrt{b_{t-1} + \epsilon}}{\sqrt{a_t + \epsilon}}\, g_t

    with the running means :math:`a_t, b_t` of :func:`scale_by_adadelta`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_adadelta(ρ, ε),
    scale_by_learning_rate(η))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule (gradtx's extension).
      rho: :math:`\rho \in [0, 1]`, decay of the running means.
      eps: :math:`\epsilon \ge 0`, added inside both roots.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      foreach: Accepted and ignored (XLA fuses the whole step).
      capturable: Accepted and ignored (XLA compiles the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      differentiable: Accepted and ignored (JAX code is always differentiable).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.Adadelta()
      >>> tx.update(jnp.array([1.0, -2.0]), tx.init(jnp.zeros(2)))[0].round(5)
      Array([-0.00316,  0.00316], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.Adadelta(params, lr, rho, eps, weight_decay, maximize=...)``
       -> ``gradtx.torch.Adadelta(lr, rho, eps, weight_decay, maximize=...)``, same
       numbers. The Optax door is :func:`gradtx.adadelta`.
    """
    checks.learning_rate(lr, "lr")
    checks.boolean("maximize", maximize)
    torch_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
    return descent(scale_by_adadelta(rho, eps), lr, weight_decay=weight_decay, maximize=maximize)
