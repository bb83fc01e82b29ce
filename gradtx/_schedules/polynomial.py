"""Polynomial and linear schedules: Optax's polynomial and linear schedules, torch's ``LinearLR``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule
from gradtx._schedules._base import (
    MAX_STEPS,
    as_float,
    clipped_fraction,
    linear,
    ratio,
    real,
    schedule_factory,
    steps,
)


@schedule_factory
def polynomial_schedule(
    init_value: float, end_value: float, power: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    r"""Go from ``init_value`` to ``end_value`` along a polynomial, then stay (torch ``PolynomialLR``, Optax).

    .. math::

       f = 1 - \frac{\operatorname{clip}(k - k_0,\ 0,\ n)}{n}, \qquad
       s(k) = (v_0 - v_{\text{end}})\, f^{\,p} + v_{\text{end}}

    Args:
      init_value: The value :math:`v_0` up to step :math:`k_0` (any real number).
      end_value: The value :math:`v_{\text{end}}` from step :math:`k_0 + n` on.
      power: The exponent :math:`p \ge 0` (1 is linear).
      transition_steps: The length :math:`n` of the transition, in steps. ``n <= 0``
        gives the constant schedule ``init_value`` (as in Optax).
      transition_begin: The step :math:`k_0 \ge 0` where the transition starts.

    Returns:
      A schedule ``count -> value``; exactly ``end_value`` from step :math:`k_0 + n` on.

    Raises:
      ValueError: If ``power < 0`` or ``transition_begin < 0``.

    Examples:
      >>> s = gradtx.polynomial_schedule(1.0, 0.0, power=2, transition_steps=4)
      >>> s(jnp.arange(6))
      Array([1.    , 0.5625, 0.25  , 0.0625, 0.    , 0.    ], dtype=float32)

    .. note::
       PyTorch: ``PolynomialLR(optimizer(lr=v0), total_iters, power)`` ->
       ``polynomial_schedule(v0, 0.0, power, total_iters)``, same values.
       Optax: ``optax.polynomial_schedule``, same arguments and values, including
       ``transition_steps <= 0``: a constant ``init_value`` (Optax logs this at INFO level;
       gradtx documents it here and logs nothing). Where Optax logs and replaces a negative
       ``transition_begin`` by 0, gradtx raises: the clamp would silently change when the
       transition happens. The fraction :math:`f` is computed
       from the integer number of remaining steps, so it is never negative and a fractional
       power at the end is exactly 0, never NaN.
    """
    real("init_value", init_value)
    real("end_value", end_value)
    checks.non_negative("power", power)
    steps("transition_steps", transition_steps, -MAX_STEPS)
    steps("transition_begin", transition_begin)
    if transition_steps <= 0:  # Optax's rule: no transition, the value stays at init_value.
        return lambda count: as_float(init_value)

    def schedule(count: jax.Array) -> jax.Array:
        remaining = transition_steps - jnp.clip(count - transition_begin, 0, transition_steps)
        frac = ratio(remaining, transition_steps)
        init, end = as_float(init_value), as_float(end_value)
        return (init - end) * jnp.power(frac, as_float(power)) + end

    return schedule


@schedule_factory
def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    r"""Go from ``init_value`` to ``end_value`` in a straight line, then stay (Optax's).

    The usual linear warm-up (from a small value to the peak) or linear decay. It is
    :func:`polynomial_schedule` with ``power=1``.

    .. math::

       s(k) = v_0 + (v_{\text{end}} - v_0)\, \frac{\operatorname{clip}(k - k_0,\ 0,\ n)}{n}

    Args:
      init_value: The value :math:`v_0` up to step :math:`k_0` (any real number).
      end_value: The value :math:`v_{\text{end}}` from step :math:`k_0 + n` on.
      transition_steps: The length :math:`n` of the transition, in steps. ``n <= 0``
        gives the constant schedule ``init_value`` (as in Optax).
      transition_begin: The step :math:`k_0 \ge 0` where the transition starts.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``transition_begin < 0``.

    Examples:
      >>> gradtx.linear_schedule(0.0, 1.0, transition_steps=4)(jnp.arange(6))
      Array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)

    .. note::
       Optax: ``optax.linear_schedule``, same arguments and values, including
       ``transition_steps <= 0``: the constant ``init_value``, never ``end_value`` (Optax
       logs this at INFO level). A negative ``transition_begin`` raises (see
       :func:`polynomial_schedule`). PyTorch: ``LinearLR`` is
       :func:`linear_factor_schedule`.
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


@schedule_factory
def linear_factor_schedule(
    init_value: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5
) -> Schedule:
    r"""Scale the value by a factor that moves linearly over ``total_iters`` steps (torch ``LinearLR``).

    Mostly a warm-up: from ``start_factor`` times the value to the full value.

    .. math::

       s(k) = v_0 \Big(f_0 + (f_1 - f_0)\, \frac{\min(k, T)}{T}\Big)

    Args:
      init_value: The value :math:`v_0` the factors multiply (any real number).
      start_factor: The factor :math:`f_0 \in (0, 1]` at step 0.
      end_factor: The factor :math:`f_1 \in [0, 1]` from step :math:`T` on.
      total_iters: The length :math:`T \ge 1` of the change, in steps.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If a factor is outside its range or ``total_iters < 1``.

    Examples:
      >>> gradtx.linear_factor_schedule(1.0, start_factor=0.5, total_iters=2)(jnp.arange(4))
      Array([0.5 , 0.75, 1.  , 1.  ], dtype=float32)

    .. note::
       PyTorch: ``LinearLR(optimizer(lr=v0), start_factor, end_factor, total_iters)`` ->
       ``linear_factor_schedule(v0, start_factor, end_factor, total_iters)``. torch
       multiplies step by step, gradtx uses the closed form: the values agree to rounding.
       The factor ranges are torch's. torch accepts ``total_iters=0`` (its step-by-step form
       then keeps ``start_factor`` forever, its closed form divides by zero); gradtx rejects it.
    """
    real("init_value", init_value)
    checks.interval("start_factor", start_factor, 0.0, 1.0, low_open=True)
    checks.interval("end_factor", end_factor, 0.0, 1.0)
    steps("total_iters", total_iters, 1)
    return lambda count: (
        as_float(init_value) * linear(start_factor, end_factor, clipped_fraction(count, 0, total_iters))
    )
