"""Cosine schedules: torch's ``CosineAnnealingLR``/``CosineAnnealingWarmRestarts``, Optax's cosine decay."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gradtx._core import checks
from gradtx._core.base import Schedule
from gradtx._schedules._base import (
    MAX_STEPS,
    as_float,
    clipped_fraction,
    cosine,
    cosine_weight,
    index_of,
    ratio,
    real,
    schedule_factory,
    steps,
)


@schedule_factory
def cosine_annealing_schedule(init_value: float, t_max: int, eta_min: float = 0.0) -> Schedule:
    r"""Anneal from ``init_value`` to ``eta_min`` along half a cosine (torch ``CosineAnnealingLR``).

    Past ``t_max`` the value climbs back along the same cosine, as torch's does: the
    schedule is periodic with period :math:`2T`. For a decay that stays at its end, use
    :func:`cosine_decay_schedule`; for restarts, :func:`cosine_warm_restarts_schedule`.

    .. math::

       s(k) = \eta_{\min} + (v_0 - \eta_{\min})\, \frac{1 + \cos(\pi k / T)}{2}

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      t_max: The half period :math:`T \ge 1`: ``s(T) == eta_min``.
      eta_min: The value :math:`\eta_{\min}` at step :math:`T`.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``t_max < 1``.

    Examples:
      >>> s = gradtx.cosine_annealing_schedule(1.0, t_max=4)
      >>> [round(v, 4) for v in s(jnp.arange(9)).tolist()]
      [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0]

    References:
      Loshchilov and Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.

    .. note::
       PyTorch: ``CosineAnnealingLR(optimizer(lr=v0), T_max, eta_min)`` ->
       ``cosine_annealing_schedule(v0, t_max, eta_min)``. torch updates the rate step by
       step (a recursion whose product telescopes to the formula above, also past
       ``T_max``); gradtx evaluates the formula, on the step taken modulo :math:`2T`, so it
       does not accumulate rounding. The two agree to rounding.
    """
    real("init_value", init_value)
    steps("t_max", t_max, 1)
    real("eta_min", eta_min)
    period = 2 * t_max

    def schedule(count: jax.Array) -> jax.Array:
        phase = jnp.remainder(count, period)  # the cosine is symmetric about t_max
        return cosine(init_value, eta_min, ratio(jnp.minimum(phase, period - phase), t_max))

    return schedule


@schedule_factory
def cosine_warm_restarts_schedule(
    init_value: float, t_0: int, t_mult: int = 1, eta_min: float = 0.0
) -> Schedule:
    r"""Cosine annealing with restarts, cycles growing by ``t_mult`` (torch ``CosineAnnealingWarmRestarts``).

    SGDR: the value falls from ``init_value`` towards ``eta_min`` along half a cosine and
    jumps back up at each restart. Cycle :math:`i` lasts :math:`T_i = T_0 m^i` steps.

    .. math::

       s(k) = \eta_{\min} + (v_0 - \eta_{\min})\, \frac{1 + \cos(\pi\, t_{\text{cur}} / T_i)}{2}

    where :math:`t_{\text{cur}}` is the number of steps since the last restart.

    Args:
      init_value: The value :math:`v_0` at each restart (any real number).
      t_0: The length :math:`T_0 \ge 1` of the first cycle, in steps.
      t_mult: The growth :math:`m \ge 1` (an integer) of each cycle over the previous one.
      eta_min: The value :math:`\eta_{\min}` approached at the end of each cycle.

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If ``t_0`` or ``t_mult`` is not an integer.
      ValueError: If ``t_0 < 1`` or ``t_mult < 1``.

    Examples:
      >>> s = gradtx.cosine_warm_restarts_schedule(1.0, t_0=2, t_mult=2)
      >>> [round(v, 4) for v in s(jnp.arange(7)).tolist()]
      [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]

    References:
      Loshchilov and Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.

    .. note::
       PyTorch: ``CosineAnnealingWarmRestarts(optimizer(lr=v0), T_0, T_mult, eta_min)`` ->
       ``cosine_warm_restarts_schedule(v0, t_0, t_mult, eta_min)``, same values as calling
       ``scheduler.step()`` without an epoch. The restart steps are found with integer
       arithmetic (torch's ``step(epoch)`` uses a floating-point logarithm instead).
    """
    real("init_value", init_value)
    steps("t_0", t_0, 1)
    steps("t_mult", t_mult, 1)
    real("eta_min", eta_min)
    if t_mult == 1:
        return lambda count: cosine(init_value, eta_min, ratio(jnp.remainder(count, t_0), t_0))
    # Restart steps and cycle lengths, as far as a step count can reach.
    starts, lengths = [0], [t_0]
    while starts[-1] + lengths[-1] <= MAX_STEPS:
        starts.append(starts[-1] + lengths[-1])
        lengths.append(lengths[-1] * t_mult)

    def schedule(count: jax.Array) -> jax.Array:
        cycle = index_of(count, starts) - 1
        since = count - jnp.asarray(np.asarray(starts, np.float64), count.dtype)[cycle]
        return cosine(init_value, eta_min, ratio(since, as_float(lengths)[cycle]))

    return schedule


@schedule_factory
def cosine_decay_schedule(
    init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    r"""Decay from ``init_value`` to ``alpha * init_value`` along half a cosine, then stay (Optax's).

    .. math::

       c = \frac{1 + \cos(\pi \min(k, n) / n)}{2}, \qquad
       s(k) = v_0 \big((1 - \alpha)\, c^{\,e} + \alpha\big)

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      decay_steps: The length :math:`n \ge 1` of the decay, in steps.
      alpha: The final value as a fraction :math:`\alpha` of ``init_value``.
      exponent: The exponent :math:`e \ge 0` of the cosine weight.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``decay_steps < 1`` or ``exponent < 0``.

    Examples:
      >>> s = gradtx.cosine_decay_schedule(1.0, decay_steps=4)
      >>> [round(v, 4) for v in s(jnp.arange(6)).tolist()]
      [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]

    References:
      Loshchilov and Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.

    .. note::
       Optax: ``optax.cosine_decay_schedule``, same arguments and values. The cosine
       weight :math:`c` is clipped to [0, 1], so a fractional ``exponent`` never meets a
       negative base from rounding.
    """
    real("init_value", init_value)
    steps("decay_steps", decay_steps, 1)
    real("alpha", alpha)
    checks.non_negative("exponent", exponent)

    def schedule(count: jax.Array) -> jax.Array:
        weight = jnp.power(cosine_weight(clipped_fraction(count, 0, decay_steps)), as_float(exponent))
        return as_float(init_value) * ((1 - as_float(alpha)) * weight + as_float(alpha))

    return schedule
