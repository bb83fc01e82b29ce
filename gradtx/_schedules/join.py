"""One schedule after another: torch's ``SequentialLR`` and Optax's ``join_schedules``."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule, blame
from gradtx._schedules._base import as_float, schedule_factory, sorted_steps


@schedule_factory
def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    r"""Run schedules one after another, each restarted from count 0 at its boundary.

    Schedule :math:`i` runs from boundary :math:`b_{i-1}` (0 for the first) to :math:`b_i`
    and sees the number of steps since its own start, so a warm-up followed by a decay is
    ``join_schedules([warmup, decay], [warmup_steps])`` with ``decay`` written from 0.

    .. math::

       s(k) = s_i(k - b_{i-1}) \quad \text{for} \quad b_{i-1} \le k < b_i

    Args:
      schedules: One or more schedules :math:`s_0, s_1, \ldots` (callables ``count -> value``).
      boundaries: The steps :math:`b_0 \le b_1 \le \ldots` (each >= 0) where the next schedule
        takes over; one fewer than ``schedules``.

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If a schedule is not callable or a boundary is not an integer.
      ValueError: If there is no schedule, the number of boundaries is not one fewer, or
        the boundaries are negative or not sorted.

    Examples:
      >>> warmup = gradtx.linear_schedule(0.0, 1.0, transition_steps=2)
      >>> decay = gradtx.exponential_schedule(1.0, gamma=0.5)
      >>> gradtx.join_schedules([warmup, decay], [2])(jnp.arange(5))
      Array([0.  , 0.5 , 1.  , 0.5 , 0.25], dtype=float32)

    .. note::
       PyTorch: ``SequentialLR(optimizer, schedulers, milestones)`` -> ``join_schedules(
       [schedule_0, ...], milestones)``, same values: at a milestone torch resets the next
       scheduler to its epoch 0 (its closed form from the optimizer's initial lr) and steps
       it from there, which is the count since its boundary. In gradtx each schedule carries
       its own initial value, so a part may start anywhere.
       Optax: ``optax.join_schedules(schedules, boundaries)``, the same rule and values.
       Deviations from both: the boundaries must be sorted and non-negative, and a schedule
       that is not in effect is evaluated at count 0 rather than at a negative count.
    """
    if isinstance(schedules, str) or not isinstance(schedules, Sequence):
        raise TypeError(blame(f"`schedules` must be a sequence of schedules, got schedules={schedules!r}"))
    parts = tuple(schedules)
    if not parts:
        raise ValueError(blame("`schedules` must hold at least one schedule, got schedules=[]"))
    for i, part in enumerate(parts):
        checks.callable_(f"schedules[{i}]", part)
    bounds = sorted_steps("boundaries", boundaries)
    if len(bounds) != len(parts) - 1:
        raise ValueError(
            blame(
                f"`boundaries` must have one entry fewer than `schedules` ({len(parts) - 1}), "
                f"got {len(bounds)}: boundaries={list(bounds)!r}"
            )
        )

    def schedule(count: jax.Array) -> jax.Array:
        value = as_float(parts[0](count))
        for boundary, part in zip(bounds, parts[1:]):
            value = jnp.where(count < boundary, value, as_float(part(jnp.maximum(count - boundary, 0))))
        return value

    return schedule
