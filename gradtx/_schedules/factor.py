"""Schedules given by a user's function of the step: torch's ``LambdaLR`` and ``MultiplicativeLR``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule
from gradtx._schedules._base import as_float, real, schedule_factory


def _steps(count: jax.Array) -> jax.Array:
    """The count as integer steps (a float count is rounded down)."""
    if jnp.issubdtype(count.dtype, jnp.floating):
        return jnp.floor(count).astype(jax.dtypes.canonicalize_dtype(jnp.int64))
    return count


def call_user(fn: Callable[[jax.Array], Any], step: jax.Array) -> jax.Array:
    """``fn(step)`` in the default float dtype, traced with standard dtype promotion.

    A function written for torch does arithmetic on a Python int (``0.1 * k``); on an
    integer array that needs JAX's standard promotion, whatever the user's global setting.
    """
    with jax.numpy_dtype_promotion("standard"):
        return as_float(fn(step))


@schedule_factory
def lambda_factor_schedule(init_value: float, lr_lambda: Callable[[jax.Array], Any]) -> Schedule:
    r"""Multiply the value by a function of the step (torch ``LambdaLR``).

    .. math::

       s(k) = v_0\, f(k)

    Args:
      init_value: The value :math:`v_0` the factor multiplies (any real number).
      lr_lambda: The factor :math:`f`, a jax-traceable function of the integer step (it
        receives an integer array, traced with standard dtype promotion: write
        ``jnp.minimum(1.0, k / 10)``, not ``min(1, k / 10)``).

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If ``lr_lambda`` is not callable.

    Examples:
      >>> gradtx.lambda_factor_schedule(1.0, lambda k: 0.5**k)(jnp.arange(4))
      Array([1.   , 0.5  , 0.25 , 0.125], dtype=float32)

    .. note::
       PyTorch: ``LambdaLR(optimizer(lr=v0), lr_lambda)`` -> ``lambda_factor_schedule(v0,
       lr_lambda)``, same values; see :func:`gradtx.torch.lr_scheduler.LambdaLR`.
    """
    real("init_value", init_value)
    checks.callable_("lr_lambda", lr_lambda)
    return lambda count: as_float(init_value) * call_user(lr_lambda, _steps(count))


@schedule_factory
def multiplicative_factor_schedule(init_value: float, lr_lambda: Callable[[jax.Array], Any]) -> Schedule:
    r"""Multiply the value by a function of the step at every step (torch ``MultiplicativeLR``).

    .. math::

       s(k) = v_0 \prod_{i=1}^{k} f(i)

    The product is evaluated in a loop of :math:`k` iterations (the schedule keeps no
    state), so each evaluation costs :math:`O(k)`; for a factor that does not depend on
    the step, :func:`exponential_schedule` is the same in closed form.

    Args:
      init_value: The value :math:`v_0` at step 0 (any real number).
      lr_lambda: The factor :math:`f`, a jax-traceable function of the integer step.

    Returns:
      A schedule ``count -> value``.

    Raises:
      TypeError: If ``lr_lambda`` is not callable.

    Examples:
      >>> gradtx.multiplicative_factor_schedule(1.0, lambda i: 1.0 / (i + 1))(jnp.arange(4))
      Array([1.        , 0.5       , 0.16666667, 0.04166667], dtype=float32)

    .. note::
       PyTorch: ``MultiplicativeLR(optimizer(lr=v0), lr_lambda)`` ->
       ``multiplicative_factor_schedule(v0, lr_lambda)``. torch multiplies the rate in place
       step by step, gradtx multiplies the factors first and then the value: the same
       values to rounding. See :func:`gradtx.torch.lr_scheduler.MultiplicativeLR`.
    """
    real("init_value", init_value)
    checks.callable_("lr_lambda", lr_lambda)

    def product(k: jax.Array) -> jax.Array:
        one = as_float(1.0)
        factors: jax.Array = jax.lax.fori_loop(
            jnp.ones_like(k), k + 1, lambda i, acc: acc * call_user(lr_lambda, i), one
        )
        return factors

    return lambda count: as_float(init_value) * jnp.vectorize(product)(_steps(count))
