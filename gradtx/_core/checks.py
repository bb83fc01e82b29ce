"""Argument checks run when a transformation is built.

Each check names the function the user called, the argument, the rule and the value, e.g.
``adam: `b1` must be in [0, 1), got b1=1.0 (checked by scale_by_adam).`` (the function names
come from the ``@transformation`` factories being built, see :func:`blame`). Values only
known at run time (tracers, as under :func:`inject_hyperparams`) are let through: the
factory is traced with them and they cannot be checked without a host round trip.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Iterable
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

from gradtx._core.base import active_path, blame


def _as_number(name: str, value: Any) -> float | None:
    """The value as a Python float, ``None`` if traced; TypeError if not a real scalar."""
    if isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, np.ndarray | jax.Array | np.generic):
        value = np.asarray(value)
        if value.shape != () or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
            raise TypeError(blame(f"`{name}` must be a real scalar, got an array of shape {value.shape} and dtype {value.dtype}"))
        return float(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(blame(f"`{name}` must be a real number, got {name}={value!r} ({type(value).__name__})"))
    return float(value)


def is_static_zero(value: Any) -> bool:
    """True for a concrete Python number equal to 0; False for arrays, tracers and schedules.

    Factories use it to leave out a part that would do nothing (``momentum=0``). A value
    given as an array may change at run time (:func:`inject_hyperparams`), so it keeps its part.
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.ndarray) and value == 0


def interval(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> None:
    """Check ``low <= value <= high`` (open at either end if asked) for a concrete number.

    Infinities are refused unless ``allow_inf`` (an infinite learning rate, decay or epsilon
    only produces NaN or zero updates); NaN always is.
    """
    x = _as_number(name, value)
    if x is None:
        return
    if math.isinf(x) and not allow_inf:
        raise ValueError(blame(f"`{name}` must be finite, got {name}={value!r}"))
    if not math.isnan(x) and (x > low if low_open else x >= low) and (x < high if high_open else x <= high):
        return
    if low == -math.inf and high == math.inf:
        rule = "a number (not NaN)"
    elif high == math.inf:
        rule = f"> {low:g}" if low_open else f">= {low:g}"
    elif low == -math.inf:
        rule = f"< {high:g}" if high_open else f"<= {high:g}"
    else:
        rule = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    raise ValueError(blame(f"`{name}` must be {rule}, got {name}={value!r}"))


def non_negative(name: str, value: Any, *, allow_inf: bool = False) -> None:
    interval(name, value, 0.0, allow_inf=allow_inf)


def positive(name: str, value: Any, *, allow_inf: bool = False) -> None:
    interval(name, value, 0.0, low_open=True, allow_inf=allow_inf)


def decay_rate(name: str, value: Any) -> None:
    """A decay rate such as Adam's betas: ``0 <= value < 1``."""
    interval(name, value, 0.0, 1.0, high_open=True)


def real(name: str, value: Any, *, allow_inf: bool = False) -> None:
    """Any real number (not NaN; infinite only if ``allow_inf``)."""
    interval(name, value, allow_inf=allow_inf)


def integer(name: str, value: Any, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(blame(f"`{name}` must be an integer, got {name}={value!r} ({type(value).__name__})"))
    if value < minimum:
        raise ValueError(blame(f"`{name}` must be an integer >= {minimum}, got {name}={value!r}"))


def one_of(name: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = tuple(allowed)
    if not any(value == a and type(value) is type(a) for a in allowed):
        raise ValueError(blame(f"`{name}` must be one of {', '.join(repr(a) for a in allowed)}; got {name}={value!r}"))


def boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(blame(f"`{name}` must be True or False, got {name}={value!r}"))


def learning_rate(value: Any, name: str = "learning_rate") -> None:
    """A learning rate: a finite number >= 0, or a schedule (a callable ``count -> rate``)."""
    if callable(value):
        schedule(name, value)
    else:
        non_negative(name, value)


def schedule(name: str, value: Any) -> None:
    """A schedule: a callable that takes one positional argument, the step count."""
    callable_(name, value)
    try:
        inspect.signature(value).bind(0)
    except TypeError:
        raise TypeError(
            blame(f"`{name}` must be a number or a schedule taking one argument (the step count), got {value!r}")
        ) from None
    except ValueError:  # No signature to read (a builtin): it will be called as it is.
        pass


def schedule_value(name: str, value: Any) -> jax.Array:
    """A schedule's output, checked once when traced: a real scalar (any float or int dtype)."""
    try:
        array = jnp.asarray(value)
    except TypeError:
        raise TypeError(blame(f"the schedule given as `{name}` must return a real number, got {value!r}")) from None
    if not (jnp.issubdtype(array.dtype, jnp.floating) or jnp.issubdtype(array.dtype, jnp.integer)):
        raise TypeError(blame(f"the schedule given as `{name}` must return a real number, got dtype {array.dtype}"))
    if array.shape != ():
        raise ValueError(blame(f"the schedule given as `{name}` must return a scalar, got shape {array.shape}"))
    return array


def dtype_or_none(name: str, value: Any) -> None:
    if value is None:
        return
    try:
        ok = jnp.issubdtype(jnp.dtype(value), jnp.floating)
    except TypeError:
        ok = False
    if not ok:
        raise TypeError(blame(f"`{name}` must be a floating dtype or None, got {name}={value!r}"))


def callable_(name: str, value: Any) -> None:
    if not callable(value):
        raise TypeError(blame(f"`{name}` must be callable, got {name}={value!r} ({type(value).__name__})"))


def params_given(params: Any, what: str) -> Any:
    """``params``, or a ``ValueError`` saying that ``what`` (e.g. "weight decay") needs them."""
    if params is None:
        raise ValueError(f"{active_path()}: {what} needs the params: call update(updates, state, params).")
    return params
