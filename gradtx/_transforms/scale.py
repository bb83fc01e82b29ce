"""Scaling by a constant, a learning rate or a schedule."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Schedule,
    Updates,
    identity,
    transformation,
)


@transformation(complex_params="native")
def scale(step_size: float | jax.Array) -> GradientTransformation:
    r"""Multiply updates by a constant: :math:`u \leftarrow \alpha u`.

    Args:
      step_size: The factor :math:`\alpha` (any real number).

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Examples:
      >>> tx = gradtx.scale(-0.5)
      >>> tx.update(jnp.ones(2), tx.init(None))[0]
      Array([-0.5, -0.5], dtype=float32)
    """
    checks.real("step_size", step_size)

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        return tree.map_float(lambda u: u * jnp.asarray(step_size, u.dtype), updates), state

    return GradientTransformation(init, update)


class ScaleByScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule` (and of a scheduled learning rate)."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far


def _scheduled(schedule: Schedule, sign: float, name: str) -> GradientTransformation:
    def init(params: Params) -> ScaleByScheduleState:
        return ScaleByScheduleState(tree.zero_count(params))

    def update(
        updates: Updates, state: ScaleByScheduleState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByScheduleState]:
        del params, extra_args
        factor = checks.schedule_value(name, schedule(state.count))
        updates = tree.map_float(lambda u: u * (sign * jnp.asarray(factor, u.dtype)), updates)
        return updates, ScaleByScheduleState(tree.safe_increment(state.count))

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    r"""Multiply updates by a schedule's value: :math:`u_t \leftarrow s(t) u_t`.

    The first update uses ``schedule(0)``.

    Args:
      step_size_fn: A schedule ``count -> factor`` (see the schedules, e.g.
        :func:`cosine_annealing_schedule`). Optax's name for the argument.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByScheduleState`.

    Examples:
      >>> tx = gradtx.scale_by_schedule(lambda count: 0.5 ** count)
      >>> state = tx.init(None)
      >>> u, state = tx.update(jnp.ones(1), state)
      >>> tx.update(jnp.ones(1), state)[0]
      Array([0.5], dtype=float32)
    """
    checks.schedule("step_size_fn", step_size_fn)
    return _scheduled(step_size_fn, 1.0, "step_size_fn")


@transformation(complex_params="native")
def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule | None = None, *, flip_sign: bool = True
) -> GradientTransformation:
    r"""Multiply updates by :math:`-\eta` (a descent step), or by :math:`\eta` with ``flip_sign=False``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule ``count -> rate``.
        ``None`` means no scaling at all (not even the sign flip), as in Optax: the
        transformation is :func:`identity`.
      flip_sign: Negate, so that adding the updates to the params descends.

    Returns:
      A :class:`GradientTransformation`; its state is :class:`EmptyState`, or
      :class:`ScaleByScheduleState` when ``learning_rate`` is a schedule.

    Examples:
      >>> tx = gradtx.scale_by_learning_rate(0.1)
      >>> tx.update(jnp.ones(2), tx.init(None))[0]
      Array([-0.1, -0.1], dtype=float32)
    """
    checks.boolean("flip_sign", flip_sign)
    if learning_rate is None:
        return identity()
    checks.learning_rate(learning_rate)
    sign = -1.0 if flip_sign else 1.0
    if callable(learning_rate):
        return _scheduled(learning_rate, sign, "learning_rate")
    return scale(sign * learning_rate)
