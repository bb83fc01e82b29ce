"""Piecewise-constant schedules: constant, every ``step_size`` steps, at milestones, for a while."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule, blame
from gradtx._schedules._base import (
    MAX_STEPS,
    as_float,
    index_of,
    power,
    real,
    schedule_factory,
    sorted_steps,
    steps,
)


@schedule_factory
def constant_schedule(value: float) -> Schedule:
    r"""The same value at every step: :math:`s(k) = v`.

    Use it where a schedule is expected and the value should not change.

    Args:
      value: The value :math:`v` (any real number).

    Returns:
      A schedule ``count -> value`` (in the default float dtype, shaped like ``count``).

    Raises:
      TypeError: If ``value`` is not a real number.
      ValueError: If ``value`` is NaN.

    Examples:
      >>> gradtx.constant_schedule(0.5)(jnp.arange(3))
      Array([0.5, 0.5, 0.5], dtype=float32)

    .. note::
       Optax: ``optax.constant_schedule(value)``, same values; gradtx returns an array in
       the default float dtype shaped like the count rather than ``value`` itself.
    """
    real("value", value)
    return lambda count: as_float(value)


@schedule_factory
def step_schedule(init_value: float, step_size: int, gamma: float = 0.1) -> Schedule:
    r"""Multiply the value by ``gamma`` every ``step_size`` steps (torch ``StepLR``).

    The classic staircase decay of image-classification recipes ("divide by 10 every 30
    epochs").

    .. math::

       s(k) = v_0\, \gamma^{\lfloor k / n \rfloor}

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      step_size: The period :math:`n \ge 1`, in steps.
      gamma: The factor :math:`\gamma \ge 0` applied at each period.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``step_size < 1`` or ``gamma < 0``.

    Examples:
      >>> gradtx.step_schedule(1.0, step_size=2, gamma=0.5)(jnp.arange(6))
      Array([1.  , 1.  , 0.5 , 0.5 , 0.25, 0.25], dtype=float32)

    .. note::
       PyTorch: ``StepLR(optimizer(lr=v0), step_size, gamma)`` -> ``step_schedule(v0,
       step_size, gamma)``: ``schedule(k)`` is the lr after ``k`` calls of
       ``scheduler.step()``. gradtx rejects a negative ``gamma`` (torch does not check it).
    """
    real("init_value", init_value)
    steps("step_size", step_size, 1)
    checks.non_negative("gamma", gamma)
    return lambda count: as_float(init_value) * power(gamma, jnp.floor_divide(count, step_size))


@schedule_factory
def multistep_schedule(init_value: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    r"""Multiply the value by ``gamma`` at each milestone (torch ``MultiStepLR``).

    .. math::

       s(k) = v_0\, \gamma^{\#\{i \,:\, m_i \le k\}}

    Args:
      init_value: The value :math:`v_0` before the first milestone (any real number).
      milestones: Steps :math:`m_i \ge 0`, in increasing order; a step listed twice applies
        ``gamma`` twice.
      gamma: The factor :math:`\gamma \ge 0` applied at each milestone.

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If ``milestones`` is not a sequence of integers.
      ValueError: If a milestone is negative, the milestones are not sorted, or ``gamma < 0``.

    Examples:
      >>> s = gradtx.multistep_schedule(1.0, [2, 3], gamma=0.1)
      >>> [round(v, 4) for v in s(jnp.arange(5)).tolist()]
      [1.0, 1.0, 0.1, 0.01, 0.01]

    .. note::
       PyTorch: ``MultiStepLR(optimizer(lr=v0), milestones, gamma)`` ->
       ``multistep_schedule(v0, milestones, gamma)``, same values. torch accepts the
       milestones in any order; gradtx asks for them sorted.
    """
    real("init_value", init_value)
    bounds = sorted_steps("milestones", milestones)
    checks.non_negative("gamma", gamma)
    return lambda count: as_float(init_value) * power(gamma, index_of(count, bounds))


@schedule_factory
def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    r"""Multiply the value by a given scale at each boundary (Optax's piecewise constant).

    .. math::

       s(k) = v_0 \prod_{i \,:\, b_i \le k} c_i

    Args:
      init_value: The value :math:`v_0` before the first boundary (any real number).
      boundaries_and_scales: ``{b_i: c_i}``, integer steps :math:`b_i` (any order; a
        negative one applies from step 0) to scales :math:`c_i \ge 0`. ``None`` or ``{}``
        gives a constant.

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If ``boundaries_and_scales`` is not a mapping of integers to numbers.
      ValueError: If a scale is negative.

    Examples:
      >>> s = gradtx.piecewise_constant_schedule(1.0, {2: 0.5, 4: 0.1})
      >>> [round(v, 4) for v in s(jnp.arange(6)).tolist()]
      [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]

    .. note::
       Optax: ``optax.piecewise_constant_schedule(init_value, boundaries_and_scales)``, same
       arguments and values (the scale of a boundary applies from that step on, a negative
       boundary's from step 0).
    """
    real("init_value", init_value)
    table = {} if boundaries_and_scales is None else boundaries_and_scales
    if not isinstance(table, Mapping):
        raise TypeError(
            blame(
                "`boundaries_and_scales` must be a dict {step: scale} or None, "
                f"got {boundaries_and_scales!r}"
            )
        )
    for b, c in table.items():
        if isinstance(b, bool) or not isinstance(b, numbers.Integral):
            raise TypeError(blame(f"`boundaries_and_scales` keys must be integer steps, got the key {b!r}"))
        if not -MAX_STEPS <= int(b) <= MAX_STEPS:
            raise ValueError(
                blame(
                    "`boundaries_and_scales` keys must be steps in [-(2**31 - 1), 2**31 - 1], "
                    f"got the key {b!r}"
                )
            )
        checks.non_negative(f"boundaries_and_scales[{b!r}]", c)
    bounds = sorted(table)
    scales = [table[b] for b in bounds]

    def schedule(count: jax.Array) -> jax.Array:
        values = as_float(init_value) * jnp.cumprod(as_float([1.0, *scales]))
        return values[index_of(count, bounds)]

    return schedule


@schedule_factory
def constant_factor_schedule(init_value: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    r"""A reduced value for the first ``total_iters`` steps, then the full value (torch ``ConstantLR``).

    A crude warm-up: train gently for a few steps, then at full speed.

    .. math::

       s(k) = v_0\, f \ \text{ if } k < T, \qquad s(k) = v_0 \ \text{ otherwise}

    Args:
      init_value: The full value :math:`v_0` (any real number).
      factor: The factor :math:`f \in [0, 1]` of the first steps.
      total_iters: The number :math:`T \ge 1` of reduced steps.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``factor`` is outside [0, 1] or ``total_iters < 1``.

    Examples:
      >>> gradtx.constant_factor_schedule(1.0, factor=0.5, total_iters=2)(jnp.arange(4))
      Array([0.5, 0.5, 1. , 1. ], dtype=float32)

    .. note::
       PyTorch: ``ConstantLR(optimizer(lr=v0), factor, total_iters)`` ->
       ``constant_factor_schedule(v0, factor, total_iters)``, same values. torch accepts
       ``total_iters=0``, where its step-by-step form keeps the factor forever and its closed
       form never applies it; gradtx rejects it.
    """
    real("init_value", init_value)
    checks.interval("factor", factor, 0.0, 1.0)
    steps("total_iters", total_iters, 1)
    return lambda count: as_float(init_value) * jnp.where(count < total_iters, as_float(factor), 1.0)
