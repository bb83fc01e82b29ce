"""Weight decay added to the updates (L2 penalty or decoupled, depending on where it is chained)."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

import jax

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    identity,
    transformation,
)
from gradtx._core.combine import masked
from gradtx._core.paths import Mask


class AddDecayedWeightsState(NamedTuple):
    """State of :func:`add_decayed_weights` with a scheduled weight decay."""

    # int32[]: updates applied so far, the argument of the schedule
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count


@transformation(complex_params="native")
def add_decayed_weights(weight_decay: ScalarOrSchedule = 0.0, mask: Mask | None = None) -> GradientTransformation:
    r"""Add the params times a constant to the updates: :math:`u \leftarrow u + \lambda_t p`.

    Chained *before* a scaling such as :func:`scale_by_adam` it is an L2 penalty (torch's
    ``Adam(weight_decay=...)``); chained *after* it and before the learning rate it is
    decoupled weight decay (torch's ``AdamW``), because the learning rate then multiplies
    :math:`\lambda p` too.

    Args:
      weight_decay: :math:`\lambda \ge 0`, a number or a schedule ``count -> rate`` (the
        first update uses ``schedule(0)``). A constant zero makes this the identity (no
        params needed).
      mask: Which leaves to decay: a bool tree, a callable ``params -> bool tree`` or path
        patterns (see :func:`masked`). ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` that keeps no state, or
      :class:`AddDecayedWeightsState` when ``weight_decay`` is a schedule.

    Raises:
      ValueError: If ``weight_decay < 0``; in ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.add_decayed_weights(0.1)
      >>> tx.update(jnp.zeros(2), tx.init(None), params=jnp.ones(2))[0]
      Array([0.1, 0.1], dtype=float32)

    .. note::
       Optax: ``optax.add_decayed_weights(weight_decay, mask)``, same arguments and numbers
       (Optax calls the scheduled state ``WeightDecaySchedule``).
    """
    checks.learning_rate(weight_decay, "weight_decay")
    if checks.is_static_zero(weight_decay):
        return identity()
    schedule = weight_decay if callable(weight_decay) else None
    constant = 0.0 if callable(weight_decay) else weight_decay

    def init(params: Params) -> EmptyState | AddDecayedWeightsState:
        return AddDecayedWeightsState(tree.zero_count(params)) if schedule is not None else EmptyState()

    def update(
        updates: Updates, state: EmptyState | AddDecayedWeightsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState | AddDecayedWeightsState]:
        del extra_args
        checks.params_given(params, "weight decay")
        rate: float | jax.Array
        if schedule is not None:
            count = cast(AddDecayedWeightsState, state).count  # init made this state for a schedule
            rate = tree.weak(checks.schedule_value("weight_decay", schedule(count)))
            state = AddDecayedWeightsState(tree.safe_increment(count))
        else:
            rate = constant
        return tree.map_float(lambda u, p: u + rate * p, updates, params), state

    tx = GradientTransformation(init, update)
    return tx if mask is None else masked(tx, mask)
