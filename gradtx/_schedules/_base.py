"""What every schedule shares: the recorded wrapper, the count, argument checks, interpolation.

A schedule is a pure function ``count -> value``. The factories here are decorated with
:func:`schedule_factory`, which

* runs the factory's argument checks under its name, so an error reads
  ``cosine_annealing_schedule: `t_max` must be an integer >= 1, got t_max=0.``;
* normalises the count once (a Python int, an integer array or a float array) before the
  schedule's rule sees it, and returns the value in the default float dtype (float64 under
  ``jax_enable_x64``), shaped like the count;
* gives the schedule a readable ``repr`` and ``__name__``
  (``cosine_annealing_schedule(init_value=0.1, t_max=100)``) and equality by value, so two
  schedules made with equal arguments share ``jax.jit`` caches, as transformations do.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from gradtx._core import checks
from gradtx._core.base import _entering, _hashable, blame

# Step-count arguments must fit the int32 step counts the transformations keep.
MAX_STEPS = 2**31 - 1


def float_dtype() -> Any:
    """The default float dtype at call time: float64 under ``jax_enable_x64``, else float32."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def as_float(x: Any) -> jax.Array:
    """A number (or an array) in the default float dtype."""
    return jnp.asarray(x, float_dtype())


def as_count(name: str, count: Any) -> jax.Array:
    """The count as an array: integers in the default int dtype, floats in the default float dtype.

    Integers are kept integral so that periods, milestones and floors are computed exactly;
    converting them to float then goes straight to the default float dtype (float64 under
    ``jax_enable_x64``), never through float32.
    """
    k = jnp.asarray(count)
    if jnp.issubdtype(k.dtype, jnp.integer):
        return k.astype(jax.dtypes.canonicalize_dtype(jnp.int64))
    if jnp.issubdtype(k.dtype, jnp.floating):
        return k.astype(float_dtype())
    raise TypeError(f"{name}: the count must be an integer or a real number, got a {k.dtype} count.")


class RecordedSchedule:
    """A schedule made by a :func:`schedule_factory`: callable, with a readable ``repr``.

    Two schedules are equal when they come from the same factory called with equal
    (hashable) arguments; otherwise a schedule is only equal to itself.
    """

    __slots__ = ("__weakref__", "_key", "_name", "_rule")

    def __init__(self, rule: Callable[[jax.Array], Any], name: str, key: Any):
        self._rule = rule
        self._name = name
        self._key = key

    def __call__(self, count: Any) -> jax.Array:
        k = as_count(self._name.split("(", 1)[0], count)
        return jnp.broadcast_to(as_float(self._rule(k)), k.shape)

    @property
    def __name__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return self._name

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, RecordedSchedule) or self._key is None:
            return False
        return bool(self._key == other._key)

    def __hash__(self) -> int:
        return id(self) if self._key is None else hash(self._key)


F = TypeVar("F", bound=Callable[..., Any])


def schedule_factory(factory: F) -> F:
    """Decorate a factory whose result is the rule ``count array -> value`` of a schedule.

    The factory keeps its name, docstring and signature and returns a
    :class:`RecordedSchedule`. The rule receives the count as normalised by
    :func:`as_count` and may return any array broadcastable to the count's shape.
    """
    try:  # Evaluated annotations (not strings), for tools that read inspect.signature.
        signature = inspect.signature(factory, eval_str=True)
    except (NameError, TypeError):
        signature = inspect.signature(factory)

    @functools.wraps(factory)
    def build(*args: Any, **kwargs: Any) -> RecordedSchedule:
        with _entering(factory.__name__):
            rule = factory(*args, **kwargs)
        given = signature.bind(*args, **kwargs)
        name = f"{factory.__name__}({', '.join(f'{k}={v!r}' for k, v in given.arguments.items())})"
        given.apply_defaults()
        try:
            key = (factory, _hashable(tuple(given.arguments.items())))
        except TypeError:
            key = None
        return RecordedSchedule(rule, name, key)

    build.__signature__ = signature  # type: ignore[attr-defined]
    return build  # type: ignore[return-value]


# ------------------------------------------------------------------------ argument checks


def real(name: str, value: Any) -> None:
    """A real number (not NaN): a schedule's value or factor; tracers are let through."""
    try:
        checks.real(name, value)
    except ValueError:
        raise ValueError(blame(f"`{name}` must be a real number, not NaN, got {name}={value!r}")) from None


def steps(name: str, value: Any, minimum: int = 0) -> None:
    """A number of steps: a Python integer in ``[minimum, 2**31 - 1]``."""
    checks.integer(name, value, minimum)
    if value > MAX_STEPS:
        raise ValueError(
            blame(f"`{name}` must be an integer <= 2**31 - 1 (a step count), got {name}={value!r}")
        )


def sorted_steps(name: str, values: Any) -> tuple[int, ...]:
    """A sequence of step counts, each >= 0, in non-decreasing order."""
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(blame(f"`{name}` must be a sequence of integers, got {name}={values!r}"))
    values = tuple(values)
    for i, v in enumerate(values):
        steps(f"{name}[{i}]", v)
    for i in range(1, len(values)):
        if values[i] < values[i - 1]:
            raise ValueError(
                blame(f"`{name}` must be sorted in increasing order, got {name}={list(values)!r}; sort them")
            )
    return tuple(int(v) for v in values)


# ---------------------------------------------------------------------------- arithmetic


def index_of(count: jax.Array, boundaries: Sequence[int]) -> jax.Array:
    """How many of the sorted ``boundaries`` are <= ``count`` (an index into per-interval values)."""
    table = jnp.asarray(np.asarray(boundaries, dtype=np.float64), count.dtype)
    return jnp.searchsorted(table, count, side="right")


def power(base: Any, exponent: jax.Array) -> jax.Array:
    """``base ** exponent`` in the default float dtype, for an exponent that counts steps."""
    return jnp.power(as_float(base), as_float(exponent))


def linear(start: Any, end: Any, frac: jax.Array) -> jax.Array:
    """Go from ``start`` (``frac = 0``) to ``end`` (``frac >= 1``, exactly) in a straight line."""
    start, end = as_float(start), as_float(end)
    return jnp.where(frac >= 1, end, start + (end - start) * frac)


def cosine_weight(frac: jax.Array) -> jax.Array:
    """``(1 + cos(pi * frac)) / 2``: 1 at ``frac = 0``, 0 at ``frac = 1``, never below 0."""
    return jnp.clip((1 + jnp.cos(math.pi * frac)) / 2, 0.0, 1.0)


def cosine(start: Any, end: Any, frac: jax.Array) -> jax.Array:
    """Go from ``start`` (``frac = 0``) to ``end`` (``frac = 1``, exactly) along half a cosine."""
    first, last = as_float(start), as_float(end)
    return last + (first - last) * cosine_weight(frac)


def ratio(num: Any, den: Any) -> jax.Array:
    """``num / den`` for ``0 <= num <= den``, in the default float dtype and exactly 1 at ``num == den``.

    Under ``jit`` XLA divides by a constant through its reciprocal, so ``n / n`` can come
    out as a neighbour of 1, and the compiler folds an ``==`` guard away (it proves the two
    branches equal); a ``>=`` guard survives. Schedules use this to be exact at the ends of
    their phases.
    """
    num, den = as_float(num), as_float(den)
    return jnp.where(num >= den, 1.0, num / den)


def clipped_fraction(count: jax.Array, begin: int, length: int) -> jax.Array:
    """``clip(count - begin, 0, length) / length`` in the default float dtype, exact at both ends."""
    return ratio(jnp.clip(count - begin, 0, length), length)
