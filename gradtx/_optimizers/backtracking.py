"""Optax's backtracking (Armijo) line search, as a transformation to chain after a direction."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, transformation
from gradtx._optimizers._line import Line, needs, value_dtype, value_fn_kwargs


class BacktrackingLinesearchInfo(NamedTuple):
    """What the last search did (in :class:`ScaleByBacktrackingLinesearchState`)."""

    num_linesearch_steps: jax.Array  # int32[]: evaluations of value_fn made by the last search
    decrease_error: jax.Array  # float[]: how far the step is from sufficient decrease (0: satisfied)


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """State of :func:`scale_by_backtracking_linesearch`."""

    learning_rate: jax.Array  # float[]: the step the last search accepted (1 before any)
    value: jax.Array  # float[]: value_fn at that step (inf before any)
    grad: Updates | None  # its gradient with store_grad=True (zeros before any), else None
    info: BacktrackingLinesearchInfo


class _Search(NamedTuple):
    t: jax.Array  # the step tried last
    value: jax.Array  # f(p + t u)
    grad: Updates | None  # the gradient at the accepted step (store_grad)
    decrease_error: jax.Array
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: evaluations made


@transformation
def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: float = 1e-4,
    decrease_factor: float = 0.8,
    increase_factor: float = 1.5,
    max_learning_rate: float = 1.0,
    atol: float = 0.0,
    rtol: float = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformation:
    r"""Scale the updates by the first step of a decreasing sequence that decreases the loss enough.

    Chain it last, after a transformation that gives a descent direction :math:`u` (such
    as ``sgd``). Each search starts from the last accepted step times ``increase_factor``
    (capped) and shrinks it until the Armijo condition holds.

    .. math::

       t \leftarrow \min(\gamma_+ t_{\text{prev}}, t_{\max}), \ \text{then } t \leftarrow
       \gamma_- t \ \text{until} \ f(p + t u) \le (1 + \text{rtol}) f(p) + c_1 t
       \langle u, \nabla f(p) \rangle + \text{atol}, \qquad u \leftarrow t u

    Args:
      max_backtracking_steps: The most shrinking steps per search (an integer >= 0).
      slope_rtol: :math:`c_1`, of the decrease condition.
      decrease_factor: :math:`\gamma_- \in (0, 1)`, the shrinking factor.
      increase_factor: :math:`\gamma_+ > 0`, applied to the last accepted step to start.
      max_learning_rate: :math:`t_{\max} > 0`, the largest step tried.
      atol: Absolute tolerance of the decrease condition.
      rtol: Relative tolerance of the decrease condition.
      store_grad: Keep the gradient at the accepted step in the state (for
        :func:`value_and_grad_from_state`); costs one more gradient evaluation.
      verbose: Accepted for Optax compatibility; gradtx prints nothing (read the state's
        ``info`` instead).

    Returns:
      A :class:`GradientTransformation` whose state is
      :class:`ScaleByBacktrackingLinesearchState`. Its ``update`` needs ``params`` and the
      extra arguments ``value``, ``grad`` and ``value_fn``; other extra arguments that
      ``value_fn`` takes by name are passed on to it, the rest are ignored. A search that
      only meets NaN or infinite values returns a zero step.

    Raises:
      ValueError: If an argument is out of range; in ``update``, if ``params``, ``value``,
        ``grad`` or ``value_fn`` is missing.

    Examples:
      >>> f = lambda p: jnp.sum((p - 1.0) ** 2)
      >>> tx, p = gradtx.scale_by_backtracking_linesearch(15), jnp.zeros(2)
      >>> value, grad = jax.value_and_grad(f)(p)
      >>> tx.update(-grad, tx.init(p), p, value=value, grad=grad, value_fn=f)[0]
      Array([1.6, 1.6], dtype=float32)

    References:
      Nocedal and Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006 (Algorithm 3.1).

    .. note::
       Optax: ``optax.scale_by_backtracking_linesearch``, same arguments, state and
       numbers. Extra arguments that ``value_fn`` does not take are ignored (Optax raises
       a ``TypeError``), as every gradtx ``update`` ignores unknown extra arguments.
    """
    checks.integer("max_backtracking_steps", max_backtracking_steps, 0)
    checks.non_negative("slope_rtol", slope_rtol)
    checks.interval("decrease_factor", decrease_factor, 0.0, 1.0, low_open=True, high_open=True)
    checks.positive("increase_factor", increase_factor)
    checks.positive("max_learning_rate", max_learning_rate)
    checks.non_negative("atol", atol)
    checks.non_negative("rtol", rtol)
    checks.boolean("store_grad", store_grad)
    checks.boolean("verbose", verbose)

    def init(params: Params) -> ScaleByBacktrackingLinesearchState:
        dtype = value_dtype(params)
        scalars = tree.replicated_scalars(params, (
            jnp.ones([], dtype),
            jnp.full([], jnp.inf, dtype),
            BacktrackingLinesearchInfo(jnp.zeros([], jnp.int32), jnp.full([], jnp.inf, dtype)),
        ))
        return ScaleByBacktrackingLinesearchState(
            learning_rate=scalars[0],
            value=scalars[1],
            grad=tree.zeros_like(params) if store_grad else None,
            info=scalars[2],
        )

    def update(
        updates: Updates, state: ScaleByBacktrackingLinesearchState, params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, ScaleByBacktrackingLinesearchState]:
        value, grad, value_fn = (extra_args.get(k) for k in ("value", "grad", "value_fn"))
        needs("the backtracking line search", {"params": params, "value": value, "grad": grad, "value_fn": value_fn})
        assert value_fn is not None  # needs() raised otherwise
        line = Line(updates, params, value_fn, value_fn_kwargs(value_fn, extra_args))
        dtype = line.dtype
        f0 = jnp.asarray(value).astype(dtype)
        slope0 = line.slope(line.float_grad(grad))

        def decrease_error(t: jax.Array, f: jax.Array) -> jax.Array:
            error = f - (1.0 + rtol) * f0 - t * slope_rtol * slope0
            return jnp.maximum(jnp.where(jnp.isnan(error), jnp.inf, error), 0.0)

        def goes_on(s: _Search) -> jax.Array:
            return ~(s.decrease_error <= atol) & (s.count <= max_backtracking_steps)

        def shrink(s: _Search) -> _Search:
            t = jnp.where(s.count > 0, decrease_factor * s.t, s.t)
            f = line.value(t)
            error = decrease_error(t, f)
            g = s.grad
            if store_grad:
                accept = (error <= atol) | (s.count == max_backtracking_steps)
                g = lax.cond(accept, line.grad, lambda t: s.grad, t)
            return _Search(t, f, g, error, s.count + 1)

        t0 = jnp.minimum(increase_factor * state.learning_rate.astype(dtype), max_learning_rate).astype(dtype)
        start = _Search(t0, f0, tree.zeros_like(params) if store_grad else None, jnp.full([], jnp.inf, dtype),
                        jnp.zeros([], jnp.int32))
        s = lax.while_loop(goes_on, shrink, start)
        t = jnp.where(jnp.isinf(s.decrease_error), 0.0, s.t).astype(dtype)
        return line.scale(t), ScaleByBacktrackingLinesearchState(
            learning_rate=t,
            value=s.value,
            grad=s.grad,
            info=BacktrackingLinesearchInfo(s.count, s.decrease_error),
        )

    return GradientTransformation(init, update)
