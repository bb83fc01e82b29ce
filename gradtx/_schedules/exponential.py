"""Exponential schedules: torch's per-step ``ExponentialLR`` and Optax's ``exponential_decay``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule
from gradtx._schedules._base import (
    MAX_STEPS,
    as_float,
    float_dtype,
    power,
    real,
    schedule_factory,
    steps,
)


@schedule_factory
def exponential_schedule(init_value: float, gamma: float) -> Schedule:
    r"""Multiply the value by ``gamma`` at every step (torch ``ExponentialLR``).

    .. math::

       s(k) = v_0\, \gamma^{k}

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      gamma: The factor :math:`\gamma \ge 0` per step (``gamma > 1`` grows).

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``gamma < 0``.

    Examples:
      >>> gradtx.exponential_schedule(1.0, gamma=0.5)(jnp.arange(4))
      Array([1.   , 0.5  , 0.25 , 0.125], dtype=float32)

    .. note::
       PyTorch: ``ExponentialLR(optimizer(lr=v0), gamma)`` -> ``exponential_schedule(v0,
       gamma)``. torch multiplies step by step, gradtx takes the power: the values agree to
       rounding. gradtx rejects a negative ``gamma``. Optax: ``exponential_decay(v0,
       transition_steps=1, decay_rate=gamma)`` gives the same values.
    """
    real("init_value", init_value)
    checks.non_negative("gamma", gamma)
    return lambda count: as_float(init_value) * power(gamma, count)


@schedule_factory
def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    r"""Decay by ``decay_rate`` every ``transition_steps`` steps, smoothly or in stairs (Optax's).

    .. math::

       p = \frac{\max(k - k_0, 0)}{n} \ (\lfloor\cdot\rfloor \text{ if staircase}), \qquad
       s(k) = \operatorname{clip}\big(v_0\, r^{p},\ v_{\text{end}}\big)

    where the clip is a lower bound when :math:`r < 1` and an upper bound when :math:`r > 1`.

    Args:
      init_value: The value :math:`v_0` up to step :math:`k_0` (any real number).
      transition_steps: The number :math:`n` of steps per factor :math:`r`. ``n <= 0``
        gives the constant schedule ``init_value`` (as in Optax).
      decay_rate: The factor :math:`r \ge 0` per ``transition_steps`` steps. ``r == 0``
        gives the constant schedule ``init_value`` (as in Optax).
      transition_begin: The step :math:`k_0 \ge 0` where the decay starts.
      staircase: Decay in whole periods (a staircase) instead of continuously.
      end_value: A bound :math:`v_{\text{end}}` the value does not pass; ``None`` for none.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``decay_rate < 0`` or ``transition_begin < 0``.

    Examples:
      >>> s = gradtx.exponential_decay(1.0, transition_steps=2, decay_rate=0.5)
      >>> [round(v, 4) for v in s(jnp.arange(5)).tolist()]
      [1.0, 0.7071, 0.5, 0.3536, 0.25]

    .. note::
       Optax: ``optax.exponential_decay``, same arguments and values, including the two
       cases where Optax returns the constant ``init_value`` (``transition_steps <= 0``
       and ``decay_rate == 0``; Optax logs them at INFO level, gradtx documents them here).
       Where Optax replaces a negative ``transition_begin`` by 0 (silently moving the
       decay) or computes NaN from a negative ``decay_rate``, gradtx raises.
    """
    real("init_value", init_value)
    steps("transition_steps", transition_steps, -MAX_STEPS)
    checks.non_negative("decay_rate", decay_rate)
    steps("transition_begin", transition_begin)
    checks.boolean("staircase", staircase)
    if end_value is not None:
        real("end_value", end_value)
    if transition_steps <= 0 or decay_rate == 0:  # Optax's rule: a constant schedule.
        return lambda count: as_float(init_value)

    def schedule(count: jax.Array) -> jax.Array:
        elapsed = count - transition_begin
        if staircase:
            periods = jnp.floor_divide(elapsed, transition_steps)
        else:
            periods = elapsed.astype(float_dtype()) / transition_steps
        value = jnp.where(
            elapsed <= 0, as_float(init_value), as_float(init_value) * power(decay_rate, periods)
        )
        if end_value is None:
            return value
        end = as_float(end_value)
        return jnp.where(as_float(decay_rate) < 1, jnp.maximum(value, end), jnp.minimum(value, end))

    return schedule
