"""Record measurements of the updates in the state: ``snapshot``, ``monitor``, ``measure_with_ema``."""

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, Params, State, Updates, stateless, transformation
from gradtx._core.combine import _check_transform, chain
from gradtx._transforms.momentum import ema


class SnapshotState(NamedTuple):
    """State of :func:`snapshot`."""

    measurement: dict[str, Any]  # {measure_name: measure(last updates)}; measure(params) after init


@transformation(complex_params="native")
def snapshot(measure_name: str, measure: Callable[[Updates], Any]) -> GradientTransformation:
    """Keep ``measure(updates)`` in the state under ``measure_name``; pass the updates through.

    Chain it where the updates should be observed (after clipping, after the learning rate, ...)
    and read the value back with ``state.measurement[measure_name]``.

    Args:
      measure_name: The key of the measurement.
      measure: A pure function of the updates (a norm, a histogram, the updates themselves).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`SnapshotState`; after ``init``
      it holds ``measure(params)``.

    Examples:
      >>> tx = gradtx.snapshot("norm", jnp.linalg.norm)
      >>> _, state = tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))
      >>> state.measurement["norm"]
      Array(5., dtype=float32)

    .. note::
       Optax: ``optax.snapshot(measure_name, measure)``, same state.
    """
    if not isinstance(measure_name, str):
        raise TypeError(f"snapshot: `measure_name` must be a str, got {measure_name!r}.")
    checks.callable_("measure", measure)

    def init(params: Params) -> SnapshotState:
        return SnapshotState({measure_name: measure(params)})

    def update(
        updates: Updates, state: SnapshotState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, SnapshotState]:
        del state, params, extra_args
        return updates, SnapshotState({measure_name: measure(updates)})

    return GradientTransformation(init, update)


class MonitorState(NamedTuple):
    """State of :func:`monitor`."""

    measurements: dict[str, Any]  # {name: the last measurement} (zeros shaped like one after init)
    measure_states: tuple[State, ...]  # the state of each measure that is a transformation, in order


def _of_updates(measure: Callable[[Updates], Any]) -> Callable[[Updates, Params | None], Any]:
    """``measure(updates)`` as a function of ``(updates, params)``, for :func:`stateless`."""
    return lambda u, p: measure(u)


@transformation(complex_params="native")
def monitor(measures: Mapping[str, GradientTransformation | Callable[[Updates], Any]]) -> GradientTransformation:
    """Record several measurements of the updates in the state; pass the updates through.

    Each measure is a function of the updates, or a transformation whose *output* is the
    measurement (e.g. :func:`measure_with_ema`, or ``chain(scale_by_adam(), ...)`` to watch
    what Adam would do); it receives the updates, params and extra arguments.

    Args:
      measures: Name -> a function of the updates or a transformation.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MonitorState`.

    Examples:
      >>> tx = gradtx.monitor({"max": lambda u: jnp.max(u), "ema": gradtx.ema(0.5)})
      >>> _, state = tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))
      >>> state.measurements["max"], state.measurements["ema"]
      (Array(4., dtype=float32), Array([3., 4.], dtype=float32))

    .. note::
       Optax: ``optax.monitor(measures)``, same measurements. One deliberate difference:
       Optax's ``init`` leaves ``measurements`` empty (``{}``), so the state changes structure
       after the first step and cannot be carried through ``lax.scan``/``lax.cond``; gradtx's
       ``init`` fills it with zeros shaped like each measurement.
    """
    if not isinstance(measures, Mapping):
        raise TypeError(f"monitor: `measures` must be a dict name -> measure, got {type(measures).__name__}.")
    parts: dict[str, GradientTransformation] = {}
    for name, measure in measures.items():
        if isinstance(measure, GradientTransformation) or not callable(measure):
            parts[name] = _check_transform("monitor", f"measures[{name!r}]", measure)
        else:
            parts[name] = stateless(_of_updates(measure))
    names = tuple(parts)

    def measure_all(
        updates: Updates, states: tuple[State, ...], params: Params | None, extra_args: dict[str, Any]
    ) -> tuple[dict[str, Any], tuple[State, ...]]:
        measurements, new_states = {}, []
        for name, s in zip(names, states):
            measurements[name], s = parts[name].update(updates, s, params, **extra_args)
            new_states.append(s)
        return measurements, tuple(new_states)

    def init(params: Params) -> MonitorState:
        states = tuple(parts[name].init(params) for name in names)
        shapes = jax.eval_shape(lambda p, s: measure_all(p, s, p, {})[0], params, states)
        zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)
        return MonitorState(zeros, states)

    def update(
        updates: Updates, state: MonitorState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MonitorState]:
        measurements, states = measure_all(updates, state.measure_states, params, extra_args)
        return updates, MonitorState(measurements, states)

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def measure_with_ema(
    measure: Callable[[Updates], Any], decay: float, debias: bool = True, accumulator_dtype: Any = None
) -> GradientTransformation:
    r"""The exponential moving average of ``measure(updates)``: a transformation whose output is the average.

    Meant as a measure of :func:`monitor` (its output replaces the updates).

    .. math::

       v_t = \beta v_{t-1} + (1 - \beta) m(g_t), \qquad u_t = v_t / (1 - \beta^t) \ \text{(debias)}

    Args:
      measure: A pure function of the updates; ``measure(params)`` gives the shape of the average.
      decay: :math:`\beta \in [0, 1]`.
      debias: Divide by :math:`1 - \beta^t`.
      accumulator_dtype: Storage dtype of the average; ``None`` keeps the measurement's.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain` of the measure and :func:`ema`).

    Examples:
      >>> tx = gradtx.measure_with_ema(lambda u: jnp.sum(u), 0.5)
      >>> tx.update(jnp.array([1.0, 2.0]), tx.init(jnp.zeros(2)))[0]
      Array(3., dtype=float32)

    .. note::
       Optax: ``optax.measure_with_ema(measure, decay, debias, accumulator_dtype)``, same numbers.
    """
    checks.callable_("measure", measure)
    average = ema(decay, debias, accumulator_dtype)
    measured = GradientTransformation(lambda params: average.init(measure(params)), average.update)
    return chain(stateless(lambda u, p: measure(u)), measured)
