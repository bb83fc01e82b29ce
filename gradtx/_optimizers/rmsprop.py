"""RMSprop: steps divided by a running root-mean-square of the gradients, optionally centered."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent
from gradtx._transforms.momentum import scale_by_momentum


class ScaleByRmsState(NamedTuple):
    """State of :func:`scale_by_rms`."""

    nu: Updates  # v_t, running mean of g^2: shaped like the params, in their dtype
    mu: Updates | None  # m_t, running mean of g when `centered` (same shapes), else None


@transformation
def scale_by_rms(
    decay: float = 0.99,
    eps: float = 1e-8,
    *,
    centered: bool = False,
    eps_in_sqrt: bool = False,
    initial_scale: float = 0.0,
) -> GradientTransformation:
    r"""Divide updates by the root of a running mean of squared gradients (RMSprop's scaling).

    The scaling of :func:`rmsprop`. Centered, it divides by a running estimate of the
    gradients' standard deviation instead of their root-mean-square.

    .. math::

       v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad m_t = \rho m_{t-1} + (1 - \rho) g_t, \qquad
       s_t = v_t - m_t^2 \ \text{(centered) else}\ v_t \\
       u_t = \frac{g_t}{\sqrt{s_t} + \epsilon} \quad \text{or} \quad
       u_t = \frac{g_t}{\sqrt{s_t + \epsilon}} \ \text{(eps_in_sqrt)}

    Args:
      decay: :math:`\rho \in [0, 1]`, decay of the running means (torch's ``alpha``).
      eps: :math:`\epsilon \ge 0`, added to the root (or inside it).
      centered: Subtract the squared running mean of the gradients, :math:`m_t^2`.
      eps_in_sqrt: Add :math:`\epsilon` inside the root (Optax's default) instead of to it
        (torch's rule).
      initial_scale: :math:`v_0 \ge 0` (torch starts from 0; :math:`m_0` is always 0).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRmsState`.

    Raises:
      ValueError: If ``decay`` is outside [0, 1], or ``eps`` or ``initial_scale`` is negative.

    Examples:
      >>> tx = gradtx.scale_by_rms(decay=0.75)
      >>> tx.update(jnp.array([1.0, -4.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 2., -2.], dtype=float32)

    References:
      Hinton, `Neural Networks for Machine Learning, lecture 6e
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
      Graves, `Generating Sequences With Recurrent Neural Networks
      <https://arxiv.org/abs/1308.0850>`_, 2013 (centered).

    .. note::
       Optax: ``optax.scale_by_rms(decay=0.9, eps, initial_scale, eps_in_sqrt=True)`` and,
       centered, ``optax.scale_by_stddev(...)`` are
       ``scale_by_rms(decay, eps, centered=..., eps_in_sqrt=True, initial_scale=...)``,
       same numbers. Optax's ``bias_correction=True`` has no counterpart here:
       ``scale_by_adam(b1=0.0, b2=decay)`` gives the bias-corrected, uncentered form.
    """
    checks.interval("decay", decay, 0.0, 1.0)
    checks.non_negative("eps", eps)
    checks.boolean("centered", centered)
    checks.boolean("eps_in_sqrt", eps_in_sqrt)
    checks.non_negative("initial_scale", initial_scale)

    def init(params: Params) -> ScaleByRmsState:
        mu = tree.zeros_like(params) if centered else None
        return ScaleByRmsState(tree.full_like(params, initial_scale), mu)

    def update(
        updates: Updates, state: ScaleByRmsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByRmsState]:
        del params, extra_args

        def scaled(g, s):
            return g / jnp.sqrt(s + eps) if eps_in_sqrt else g / (jnp.sqrt(s) + eps)

        if centered:

            def leaf(g, v, m):
                v = decay * v + (1 - decay) * jnp.square(g)
                m = decay * m + (1 - decay) * g
                return scaled(g, v - jnp.square(m)), v, m

            updates, nu, mu = tree.map_unzip(leaf, updates, state.nu, state.mu)
        else:

            def leaf(g, v):
                v = decay * v + (1 - decay) * jnp.square(g)
                return scaled(g, v), v

            updates, nu = tree.map_unzip(leaf, updates, state.nu)
            mu = None
        return updates, ScaleByRmsState(nu, mu)

    return GradientTransformation(init, update)


@transformation
def rmsprop(
    learning_rate: ScalarOrSchedule = 1e-2,
    decay: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    centered: bool = False,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""RMSprop, as ``torch.optim.RMSprop``, with optional momentum and centering.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad d_t = g_t / (\sqrt{s_t} + \epsilon), \qquad
       b_t = \mu b_{t-1} + d_t \ (b_0 = 0), \qquad p_t = p_{t-1} - \eta\, b_t

    with :math:`s_t` as in :func:`scale_by_rms`; without momentum (:math:`\mu = 0`)
    :math:`p_t = p_{t-1} - \eta\, d_t`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_rms(ρ, ε,
    centered=...), [scale_by_momentum(μ)], scale_by_learning_rate(η))``. torch's buffer
    :math:`b_t` is :func:`scale_by_momentum`'s (which starts at :math:`b_1 = d_1`).

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      decay: :math:`\rho \in [0, 1]`, decay of the running means (torch's ``alpha``).
      eps: :math:`\epsilon \ge 0`, added to the root.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      momentum: :math:`\mu \ge 0`; 0 keeps no momentum buffer.
      centered: Divide by a running estimate of the standard deviation of the gradients.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps``, ``weight_decay`` or ``momentum`` is
        negative, or ``decay`` is outside [0, 1].

    Examples:
      >>> tx = gradtx.rmsprop(0.01, decay=0.75, momentum=0.5)
      >>> u, state = tx.update(jnp.array([1.0, -4.0]), tx.init(jnp.zeros(2)))
      >>> u.round(4)
      Array([-0.02,  0.02], dtype=float32)

    References:
      Hinton, `Neural Networks for Machine Learning, lecture 6e
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
      Graves, `Generating Sequences With Recurrent Neural Networks
      <https://arxiv.org/abs/1308.0850>`_, 2013 (centered).

    .. note::
       PyTorch: ``torch.optim.RMSprop(lr, alpha, eps, weight_decay, momentum, centered,
       maximize=...)`` -> ``rmsprop(learning_rate, decay, eps, weight_decay, momentum,
       centered, maximize=...)``, same numbers and defaults. Optax: ``optax.rmsprop``
       defaults to ``decay=0.9`` and ``eps_in_sqrt=True`` (:math:`\epsilon` inside the root),
       takes ``initial_scale`` and ``nesterov``, and applies its momentum after the learning
       rate (the same numbers for a constant rate); ``optax.rmsprop(η, decay, eps,
       initial_scale, centered=c, momentum=μ, nesterov=n)`` is ``chain(scale_by_rms(decay,
       eps, centered=c, eps_in_sqrt=True, initial_scale=...), scale_by_learning_rate(η),
       scale_by_momentum(μ, nesterov=n))``.
    """
    checks.learning_rate(learning_rate)
    checks.non_negative("momentum", momentum)
    checks.boolean("maximize", maximize)
    scaling = scale_by_rms(decay, eps, centered=centered)
    if not checks.is_static_zero(momentum):
        scaling = chain(scaling, scale_by_momentum(momentum))
    return descent(
        scaling,
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        maximize=maximize,
    )
