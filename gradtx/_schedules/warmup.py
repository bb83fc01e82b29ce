"""Schedules with a warm-up: Optax's warm-up family and SGDR; the WSD and inverse-sqrt schedules."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule, blame
from gradtx._schedules._base import (
    as_float,
    clipped_fraction,
    cosine,
    cosine_weight,
    linear,
    ratio,
    real,
    schedule_factory,
    steps,
)
from gradtx._schedules.exponential import exponential_decay
from gradtx._schedules.join import join_schedules
from gradtx._schedules.polynomial import linear_schedule
from gradtx._schedules.step import constant_schedule


@schedule_factory
def warmup_constant_schedule(init_value: float, peak_value: float, warmup_steps: int) -> Schedule:
    r"""Warm up linearly from ``init_value`` to ``peak_value``, then stay there (Optax's).

    .. math::

       s(k) = v_0 + (v_p - v_0) \min(k / w,\ 1)

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      peak_value: The value :math:`v_p` from step :math:`w` on.
      warmup_steps: The length :math:`w \ge 0` of the warm-up; 0 starts at ``peak_value``.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``warmup_steps < 0``.

    Examples:
      >>> gradtx.warmup_constant_schedule(0.0, 1.0, warmup_steps=2)(jnp.arange(4))
      Array([0. , 0.5, 1. , 1. ], dtype=float32)

    .. note::
       Optax: ``optax.warmup_constant_schedule``, same arguments and values, except with
       ``warmup_steps=0``: Optax then stays at ``init_value`` forever (its linear schedule
       falls back to a constant, so "no warm-up" never reaches the peak: a defect), gradtx
       is ``peak_value`` from step 0.
    """
    real("init_value", init_value)
    real("peak_value", peak_value)
    steps("warmup_steps", warmup_steps)
    if warmup_steps == 0:
        return constant_schedule(peak_value)
    return linear_schedule(init_value, peak_value, warmup_steps)


def _cosine_to(start: float, end: float, length: int, exponent: float) -> Callable[[jax.Array], jax.Array]:
    """Half a cosine (raised to ``exponent``) from ``start`` to ``end`` in ``length`` steps, then ``end``.

    A zero ``start`` stays at 0, as Optax's ``start * ((1 - end / start) c + end / start)``
    with its ``alpha = 0`` for a zero peak.
    """

    def rule(count: jax.Array) -> jax.Array:
        weight = jnp.power(cosine_weight(clipped_fraction(count, 0, length)), as_float(exponent))
        stop = jnp.where(as_float(start) == 0, 0.0, as_float(end))
        return stop + (as_float(start) - stop) * weight

    return rule


@schedule_factory
def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    r"""Warm up linearly to ``peak_value``, then decay to ``end_value`` along half a cosine (Optax's).

    The default schedule of many transformer recipes. ``decay_steps`` counts the warm-up:
    the value reaches ``end_value`` at step ``decay_steps`` and stays there.

    .. math::

       s(k) = v_0 + (v_p - v_0)\, k / w \quad (k < w), \qquad
       s(k) = v_e + (v_p - v_e) \Big(\frac{1 + \cos\big(\pi \min(k - w,\ n - w) / (n - w)\big)}{2}\Big)^{e}

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      peak_value: The value :math:`v_p` at the end of the warm-up.
      warmup_steps: The length :math:`w \ge 0` of the warm-up.
      decay_steps: The step :math:`n > w` where the decay ends (warm-up included).
      end_value: The value :math:`v_e` from step :math:`n` on.
      exponent: The exponent :math:`e \ge 0` of the cosine weight.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``warmup_steps < 0``, ``decay_steps <= warmup_steps`` or ``exponent < 0``.

    Examples:
      >>> s = gradtx.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=6)
      >>> [round(v, 4) for v in s(jnp.arange(8)).tolist()]
      [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]

    .. note::
       Optax: ``optax.warmup_cosine_decay_schedule``, same arguments and values. Optax writes
       the decay as ``peak * ((1 - alpha) c + alpha)`` with ``alpha = end / peak``; gradtx
       writes it as ``end + (peak - end) c``, equal to rounding and exact at both ends. As
       in Optax, a zero ``peak_value`` ignores ``end_value`` (Optax then sets ``alpha = 0``):
       the value is 0 from the end of the warm-up on.
    """
    real("init_value", init_value)
    real("peak_value", peak_value)
    steps("warmup_steps", warmup_steps)
    steps("decay_steps", decay_steps, 1)
    if decay_steps <= warmup_steps:
        raise ValueError(
            blame(
                f"`decay_steps` must be > `warmup_steps` (it counts the warm-up), got "
                f"decay_steps={decay_steps!r}, warmup_steps={warmup_steps!r}"
            )
        )
    real("end_value", end_value)
    checks.non_negative("exponent", exponent)
    decay = _cosine_to(peak_value, end_value, decay_steps - warmup_steps, exponent)
    if warmup_steps == 0:
        return decay
    return join_schedules([linear_schedule(init_value, peak_value, warmup_steps), decay], [warmup_steps])


@schedule_factory
def warmup_exponential_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    r"""Warm up linearly to ``peak_value``, then :func:`exponential_decay` from there (Optax's).

    .. math::

       s(k) = v_0 + (v_p - v_0)\, k / w \quad (k < w), \qquad
       s(k) = \text{exponential\_decay}(v_p, n, r, k_0, \ldots)(k - w) \quad (k \ge w)

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      peak_value: The value :math:`v_p` at the end of the warm-up.
      warmup_steps: The length :math:`w \ge 0` of the warm-up.
      transition_steps: The number :math:`n \ge 1` of steps per factor :math:`r`.
      decay_rate: The factor :math:`r > 0` per ``transition_steps`` steps.
      transition_begin: Steps :math:`k_0 \ge 0` after the warm-up before the decay starts.
      staircase: Decay in whole periods (a staircase).
      end_value: A bound the value does not pass; ``None`` for none.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``warmup_steps < 0`` or an argument of :func:`exponential_decay` is
        out of its range.

    Examples:
      >>> s = gradtx.warmup_exponential_decay_schedule(0.0, 1.0, 2, 1, 0.5)
      >>> s(jnp.arange(5))
      Array([0.  , 0.5 , 1.  , 0.5 , 0.25], dtype=float32)

    .. note::
       Optax: ``optax.warmup_exponential_decay_schedule``, same arguments and values; see
       :func:`exponential_decay` for the arguments Optax turns into a constant schedule
       and gradtx rejects.
    """
    real("init_value", init_value)
    real("peak_value", peak_value)
    steps("warmup_steps", warmup_steps)
    decay = exponential_decay(
        peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
    )
    if warmup_steps == 0:
        return decay
    return join_schedules([linear_schedule(init_value, peak_value, warmup_steps), decay], [warmup_steps])


_COSINE_KWARGS = inspect.signature(warmup_cosine_decay_schedule)


@schedule_factory
def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, float]]) -> Schedule:
    r"""Warm-up-then-cosine cycles, one after another (Optax's SGDR).

    Each cycle is a :func:`warmup_cosine_decay_schedule` given by one dict of arguments; a
    cycle lasts its ``decay_steps`` and the next starts from count 0 (see
    :func:`join_schedules`).

    Args:
      cosine_kwargs: One dict per cycle with the arguments of
        :func:`warmup_cosine_decay_schedule` (``init_value``, ``peak_value``,
        ``warmup_steps``, ``decay_steps`` and optionally ``end_value``, ``exponent``).

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If an entry is not a dict or has missing or unknown keys.
      ValueError: If there is no cycle, or a cycle's arguments are out of range.

    Examples:
      >>> cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=3)
      >>> [round(v, 4) for v in gradtx.sgdr_schedule([cycle, cycle])(jnp.arange(7)).tolist()]
      [0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0]

    References:
      Loshchilov and Hutter, `SGDR: Stochastic Gradient Descent with Warm Restarts
      <https://arxiv.org/abs/1608.03983>`_, 2017.

    .. note::
       Optax: ``optax.sgdr_schedule(cosine_kwargs)``, same argument and values. Torch's
       ``CosineAnnealingWarmRestarts`` is :func:`cosine_warm_restarts_schedule`.
    """
    if isinstance(cosine_kwargs, Mapping | str) or not isinstance(cosine_kwargs, Iterable):
        raise TypeError(
            blame(f"`cosine_kwargs` must be a list of dicts, one per cycle, got {cosine_kwargs!r}")
        )
    cycles = list(cosine_kwargs)
    if not cycles:
        raise ValueError(blame("`cosine_kwargs` must hold at least one cycle, got none"))
    parts, boundaries, end = [], [], 0
    for i, cycle in enumerate(cycles):
        kwargs: Mapping[str, Any] = cycle  # numbers: steps (int) and values (float)
        if not isinstance(kwargs, Mapping):
            raise TypeError(blame(f"`cosine_kwargs[{i}]` must be a dict of arguments, got {kwargs!r}"))
        try:
            _COSINE_KWARGS.bind(**kwargs)
        except TypeError as e:
            raise TypeError(
                blame(
                    f"`cosine_kwargs[{i}]` does not fit warmup_cosine_decay_schedule ({e}), "
                    f"got {dict(kwargs)!r}"
                )
            ) from None
        try:
            parts.append(warmup_cosine_decay_schedule(**kwargs))
        except ValueError as e:
            raise ValueError(f"{str(e).rstrip('.')}, in `cosine_kwargs[{i}]`.") from None
        end += kwargs["decay_steps"]
        boundaries.append(end)
    return join_schedules(parts, boundaries[:-1])


_DECAY_SHAPES = ("linear", "cosine", "1-sqrt")


@schedule_factory
def warmup_stable_decay_schedule(
    peak_value: float,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    init_value: float = 0.0,
    end_value: float = 0.0,
    decay_shape: str = "linear",
) -> Schedule:
    r"""Warm up, hold the peak, then cool down: the warmup-stable-decay (WSD) schedule.

    The schedule of current LLM pre-training: the long stable phase can be extended or
    branched from (a checkpoint taken before the decay can be cooled down at any time),
    and a short decay at the end recovers what a cosine schedule would reach.

    .. math::

       s(k) = v_0 + (v_p - v_0)\, k / w \ \ (k < w), \qquad v_p \ \ (w \le k \le w + t), \qquad
       v_e + (v_p - v_e)\, \phi\big(\min(k - w - t,\ d) / d\big) \ \ (k > w + t)

    with :math:`\phi(f) = 1 - f` (``"linear"``), :math:`(1 + \cos \pi f)/2` (``"cosine"``) or
    :math:`1 - \sqrt f` (``"1-sqrt"``).

    Args:
      peak_value: The value :math:`v_p` of the stable phase (any real number).
      warmup_steps: The length :math:`w \ge 0` of the linear warm-up.
      stable_steps: The length :math:`t \ge 0` of the stable phase.
      decay_steps: The length :math:`d \ge 1` of the decay; the value is ``end_value``
        from step :math:`w + t + d` on.
      init_value: The value :math:`v_0` at step 0.
      end_value: The value :math:`v_e` at the end of the decay.
      decay_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If a length is out of range or ``decay_shape`` is unknown.

    Examples:
      >>> s = gradtx.warmup_stable_decay_schedule(1.0, warmup_steps=2, stable_steps=2, decay_steps=2)
      >>> s(jnp.arange(8))
      Array([0. , 0.5, 1. , 1. , 1. , 0.5, 0. , 0. ], dtype=float32)

    References:
      Hu et al., `MiniCPM: Unveiling the Potential of Small Language Models with Scalable
      Training Strategies <https://arxiv.org/abs/2404.06395>`_, 2024. Hägele et al.,
      `Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations
      <https://arxiv.org/abs/2405.18392>`_, 2024 (the ``"1-sqrt"`` cool-down).

    .. note::
       Neither torch nor Optax has it. In Optax terms it is ``join_schedules([
       linear_schedule(v0, vp, w), constant_schedule(vp), linear_schedule(vp, ve, d)],
       [w, w + t])`` for ``"linear"`` (and ``cosine_decay_schedule`` for ``"cosine"``).
    """
    real("peak_value", peak_value)
    steps("warmup_steps", warmup_steps)
    steps("stable_steps", stable_steps)
    steps("decay_steps", decay_steps, 1)
    real("init_value", init_value)
    real("end_value", end_value)
    checks.one_of("decay_shape", decay_shape, _DECAY_SHAPES)
    decay_begin = warmup_steps + stable_steps

    def schedule(count: jax.Array) -> jax.Array:
        frac = clipped_fraction(count, decay_begin, decay_steps)
        if decay_shape == "linear":
            value = linear(peak_value, end_value, frac)
        elif decay_shape == "cosine":
            value = cosine(peak_value, end_value, frac)
        else:
            value = as_float(end_value) + (as_float(peak_value) - as_float(end_value)) * (1 - jnp.sqrt(frac))
        value = jnp.where(count <= decay_begin, as_float(peak_value), value)
        if warmup_steps > 0:
            warmup = linear(init_value, peak_value, clipped_fraction(count, 0, warmup_steps))
            value = jnp.where(count < warmup_steps, warmup, value)
        return value

    return schedule


@schedule_factory
def inverse_sqrt_schedule(peak_value: float, warmup_steps: int) -> Schedule:
    r"""Warm up linearly to ``peak_value``, then decay as :math:`1/\sqrt{k}` (the "Noam" schedule).

    The schedule of the original Transformer, and of T5 and fairseq's ``inverse_sqrt``; it
    has no end, so it suits runs whose length is not known in advance.

    .. math::

       s(k) = v_p \min\Big(\frac{k}{w},\ \sqrt{\frac{w}{k}}\Big)

    Args:
      peak_value: The value :math:`v_p` at step :math:`w` (any real number).
      warmup_steps: The length :math:`w \ge 1` of the warm-up.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``warmup_steps < 1``.

    Examples:
      >>> gradtx.inverse_sqrt_schedule(1.0, warmup_steps=4)(jnp.asarray([0, 2, 4, 16]))
      Array([0. , 0.5, 1. , 0.5], dtype=float32)

    References:
      Vaswani et al., `Attention Is All You Need <https://arxiv.org/abs/1706.03762>`_, 2017.

    .. note::
       Vaswani et al.'s rate :math:`d^{-1/2} \min(n^{-1/2}, n\, w^{-3/2})` is this schedule
       with :math:`v_p = (d\, w)^{-1/2}` at :math:`k = n`. They count steps from 1, gradtx
       from 0 (the first update uses ``schedule(0) == 0``, as any warm-up from 0); use
       ``lambda k: schedule(k + 1)`` to start at their step 1.
    """
    real("peak_value", peak_value)
    steps("warmup_steps", warmup_steps, 1)

    def schedule(count: jax.Array) -> jax.Array:
        t = jnp.maximum(count, 0)
        decay = jnp.sqrt(ratio(warmup_steps, jnp.maximum(t, warmup_steps)))
        return as_float(peak_value) * jnp.where(t < warmup_steps, ratio(t, warmup_steps), decay)

    return schedule
