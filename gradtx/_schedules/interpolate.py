"""Optax's piecewise-interpolated schedules and the one-cycle schedules built on them."""

import math
import numbers
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule, blame
from gradtx._schedules._base import MAX_STEPS, as_float, real, schedule_factory


def _linear(start: jax.Array, end: jax.Array, frac: jax.Array) -> jax.Array:
    return start + (end - start) * frac


def _cosine(start: jax.Array, end: jax.Array, frac: jax.Array) -> jax.Array:
    return end + (start - end) / 2.0 * (jnp.cos(math.pi * frac) + 1)


@schedule_factory
def piecewise_interpolate_schedule(
    interpolate_type: str, init_value: float, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    r"""Interpolate between values that change by a factor at each boundary (linearly or along a cosine).

    With boundaries :math:`b_1 < b_2 < \dots` (and :math:`b_0 = 0`) and values
    :math:`v_0 = v` (the initial value), :math:`v_i = v_{i-1} c_i`, the schedule goes from
    :math:`v_{i-1}` at :math:`b_{i-1}` to :math:`v_i` at :math:`b_i`, and stays at the last
    value after the last boundary.

    Args:
      interpolate_type: ``"linear"`` or ``"cosine"``.
      init_value: :math:`v`, the value at step 0.
      boundaries_and_scales: ``{step: factor}`` with factors >= 0; ``None`` or ``{}`` gives a constant.

    Returns:
      A schedule ``count -> value``. Negative counts give 0, as in Optax.

    Raises:
      ValueError: For another ``interpolate_type``, or a negative factor.

    Examples:
      >>> s = gradtx.piecewise_interpolate_schedule("linear", 1.0, {4: 0.5})
      >>> s(jnp.arange(6))
      Array([1.   , 0.875, 0.75 , 0.625, 0.5  , 0.5  ], dtype=float32)

    .. note::
       Optax: ``optax.piecewise_interpolate_schedule(interpolate_type, init_value,
       boundaries_and_scales)``, same values.
    """
    if interpolate_type not in ("linear", "cosine"):
        raise ValueError(blame(f"`interpolate_type` must be 'linear' or 'cosine', got {interpolate_type!r}"))
    interpolate = _linear if interpolate_type == "linear" else _cosine
    real("init_value", init_value)
    table = {} if boundaries_and_scales is None else boundaries_and_scales
    if not isinstance(table, Mapping):
        raise TypeError(blame(f"`boundaries_and_scales` must be a dict {{step: scale}} or None, got {table!r}"))
    for b, c in table.items():
        if isinstance(b, bool) or not isinstance(b, numbers.Integral) or not -MAX_STEPS <= b <= MAX_STEPS:
            raise TypeError(blame(f"`boundaries_and_scales` keys must be integer steps, got the key {b!r}"))
        checks.non_negative(f"boundaries_and_scales[{b!r}]", c)
    bounds = [0, *sorted(table)]
    scales = [table[b] for b in bounds[1:]]

    def schedule(count: jax.Array) -> jax.Array:
        k = as_float(count)[..., None]
        edges = as_float(bounds).reshape((1,) * count.ndim + (-1,))
        values = as_float(init_value) * jnp.cumprod(as_float([1.0, *scales]))
        values = values.reshape(edges.shape)
        lo, hi = edges[..., :-1], edges[..., 1:]
        inside = (lo <= k) & (k < hi)
        frac = (k - lo) / jnp.maximum(hi - lo, 1.0)
        pieces = jnp.where(inside, interpolate(values[..., :-1], values[..., 1:], frac), 0.0)
        after = jnp.where(edges[..., -1:] <= k, values[..., -1:], 0.0)
        return jnp.sum(pieces, axis=-1) + after[..., 0]

    return schedule


def _transition_steps(transition_steps: int) -> None:
    checks.integer("transition_steps", transition_steps, minimum=1)


@schedule_factory
def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""Optax's linear one-cycle: up from ``peak/div`` to ``peak``, back down, then to a tiny final value.

    Linear pieces through :math:`(0, p/d)`, :math:`(\lfloor s T \rfloor, p)`,
    :math:`(\lfloor f T \rfloor, p/d)`, :math:`(T, p/(d\, d_f))`; constant after :math:`T`.

    Args:
      transition_steps: :math:`T \ge 1`, the length of the cycle.
      peak_value: :math:`p`, the largest value.
      pct_start: :math:`s`, the fraction of :math:`T` spent going up.
      pct_final: :math:`f`, the fraction of :math:`T` at which the way down reaches :math:`p/d`.
      div_factor: :math:`d`, the initial value is :math:`p/d`.
      final_div_factor: :math:`d_f`, the final value is :math:`p/(d\, d_f)`.

    Returns:
      A schedule ``count -> value``.

    Examples:
      >>> s = gradtx.linear_onecycle_schedule(10, 1.0)
      >>> s(jnp.array([0, 3, 10]))
      Array([4.e-02, 1.e+00, 4.e-06], dtype=float32)

    .. note::
       Optax: ``optax.linear_onecycle_schedule(transition_steps, peak_value, pct_start, pct_final,
       div_factor, final_div_factor)``, same values. :func:`onecycle_schedule` is torch's
       ``OneCycleLR``.
    """
    _transition_steps(transition_steps)
    return piecewise_interpolate_schedule(
        "linear",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(pct_final * transition_steps): 1.0 / div_factor,
            transition_steps: 1.0 / final_div_factor,
        },
    )


@schedule_factory
def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: float,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""Optax's cosine one-cycle: up from ``peak/div`` to ``peak`` and down to ``peak/(div * final_div)``, along cosines.

    Args:
      transition_steps: :math:`T \ge 1`, the length of the cycle.
      peak_value: :math:`p`, the largest value (at step :math:`\lfloor s T \rfloor`).
      pct_start: :math:`s`, the fraction of :math:`T` spent going up.
      div_factor: :math:`d`, the initial value is :math:`p/d`.
      final_div_factor: :math:`d_f`, the final value is :math:`p/(d\, d_f)`.

    Returns:
      A schedule ``count -> value``.

    Examples:
      >>> s = gradtx.cosine_onecycle_schedule(10, 1.0)
      >>> s(jnp.array([0, 3, 10])).round(6)
      Array([4.e-02, 1.e+00, 4.e-06], dtype=float32)

    .. note::
       Optax: ``optax.cosine_onecycle_schedule(transition_steps, peak_value, pct_start,
       div_factor, final_div_factor)``, same values. :func:`onecycle_schedule` is torch's
       ``OneCycleLR`` (its phases end one step earlier).
    """
    _transition_steps(transition_steps)
    return piecewise_interpolate_schedule(
        "cosine",
        peak_value / div_factor,
        {int(pct_start * transition_steps): div_factor, int(transition_steps): 1.0 / (div_factor * final_div_factor)},
    )
