"""Optax's zoom line search (strong Wolfe conditions), as a transformation to chain after a direction."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, transformation
from gradtx._optimizers._line import Line, needs, value_dtype, value_fn_kwargs


class ZoomLinesearchInfo(NamedTuple):
    """What the last search did (in :class:`ScaleByZoomLinesearchState`)."""

    num_linesearch_steps: jax.Array  # int32[]: evaluations of value_fn made by the last search
    decrease_error: jax.Array  # float[]: how far the step is from sufficient decrease (0: satisfied)
    curvature_error: jax.Array  # float[]: how far it is from the curvature condition (0: satisfied)


class ScaleByZoomLinesearchState(NamedTuple):
    """State of :func:`scale_by_zoom_linesearch`."""

    learning_rate: jax.Array  # float[]: the step the last search accepted (1 before any)
    value: jax.Array  # float[]: value_fn at the accepted step (inf before any)
    grad: Updates  # its gradient, shaped like the params (zeros before any)
    info: ZoomLinesearchInfo


class _Point(NamedTuple):
    t: jax.Array  # a step along the direction
    value: jax.Array  # f(p + t u)
    slope: jax.Array  # <grad f(p + t u), u>


class _Search(NamedTuple):
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: evaluations made
    trial: _Point  # the last step evaluated
    grad: Updates  # the gradient there
    decrease_error: jax.Array
    curvature_error: jax.Array
    bracketed: jax.Array  # bool[]: [low, high] holds a step satisfying both conditions
    done: jax.Array  # bool[]: the trial satisfies both conditions (within tol)
    failed: jax.Array  # bool[]: out of evaluations (or the interval is too short); fall back
    low: _Point  # the bracket end with sufficient decrease and the lower value
    high: _Point  # the other end
    ref: _Point  # a third point for the cubic (its slope is not used)
    safe: _Point  # the best step with sufficient decrease seen so far (t = 0: none)
    safe_grad: Updates


def _cubic_minimizer(
    a: jax.Array, fa: jax.Array, slope_a: jax.Array, b: jax.Array, fb: jax.Array, c: jax.Array, fc: jax.Array
) -> jax.Array:
    """Minimizer of the cubic through ``(a, fa)`` with slope ``slope_a``, ``(b, fb)`` and ``(c, fc)``."""
    db, dc = b - a, c - a
    denominator = (db * dc) ** 2 * (db - dc)
    rb, rc = fb - fa - slope_a * db, fc - fa - slope_a * dc
    cubic = (dc**2 * rb + -(db**2) * rc) / denominator
    square = (-(dc**3) * rb + db**3 * rc) / denominator
    return a + (-square + jnp.sqrt(square * square - 3.0 * cubic * slope_a)) / (3.0 * cubic)


def _quadratic_minimizer(a: jax.Array, fa: jax.Array, slope_a: jax.Array, b: jax.Array, fb: jax.Array) -> jax.Array:
    """Minimizer of the parabola through ``(a, fa)`` with slope ``slope_a`` and ``(b, fb)``."""
    db = b - a
    return a - slope_a / (2.0 * ((fb - fa - slope_a * db) / db**2))


def _pick(condition: jax.Array, a: Any, b: Any) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), a, b)


@transformation(complex_params="native")
def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: float | None = None,
    tol: float = 0.0,
    increase_factor: float = 2.0,
    slope_rtol: float = 1e-4,
    curv_rtol: float = 0.9,
    approx_dec_rtol: float | None = 1e-6,
    stepsize_precision: float = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformation:
    r"""Scale the updates by a step satisfying the strong Wolfe conditions, found by a zoom search.

    Chain it last, after a transformation that gives a descent direction :math:`u` (as
    :func:`lbfgs` does). It evaluates :math:`\phi(t) = f(p + t u)` and its slope: first
    with growing steps until an interval holding an acceptable step is found, then by
    shrinking the interval with cubic, quadratic or bisection steps.

    .. math::

       \phi(t) \le \phi(0) + c_1 t \phi'(0) \ \text{(decrease)}, \qquad
       |\phi'(t)| \le c_2 |\phi'(0)| \ \text{(curvature)}, \qquad u \leftarrow t u

    Args:
      max_linesearch_steps: The most evaluations of ``value_fn`` per search (an integer
        >= 0; the search always makes at least one).
      max_learning_rate: The largest step tried (``None``: no bound).
      tol: Tolerance on the errors of both conditions (>= 0).
      increase_factor: Growth of the step while no interval is found (> 0).
      slope_rtol: :math:`c_1`, of the decrease condition.
      curv_rtol: :math:`c_2`, of the curvature condition.
      approx_dec_rtol: Relative tolerance of Hager and Zhang's approximate decrease
        condition, accepted in place of the exact one; ``None`` turns it off.
      stepsize_precision: An interval shorter than this ends the search with the best
        step of sufficient decrease found.
      initial_guess_strategy: ``"one"`` (start each search at 1) or ``"keep"`` (at the
        last accepted step).
      verbose: Accepted for Optax compatibility; gradtx prints nothing (read the state's
        ``info`` instead).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByZoomLinesearchState`.
      Its ``update`` needs ``params`` and the extra arguments ``value`` (the loss at
      ``params``), ``grad`` (its gradient) and ``value_fn`` (params -> loss); other extra
      arguments that ``value_fn`` takes by name are passed on to it, the rest are ignored.

    Raises:
      ValueError: If an argument is out of range or ``initial_guess_strategy`` unknown; in
        ``update``, if ``params``, ``value``, ``grad`` or ``value_fn`` is missing.

    Examples:
      >>> f = lambda p: jnp.sum((p - 1.0) ** 2)
      >>> tx, p = gradtx.scale_by_zoom_linesearch(10), jnp.zeros(2)
      >>> value, grad = jax.value_and_grad(f)(p)
      >>> tx.update(-grad, tx.init(p), p, value=value, grad=grad, value_fn=f)[0]
      Array([1., 1.], dtype=float32)

    References:
      Nocedal and Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006 (Algorithms 3.5 and 3.6).
      Hager and Zhang, `A new conjugate gradient method with guaranteed descent and an
      efficient line search <https://doi.org/10.1137/030601880>`_, 2005.

    .. note::
       Optax: ``optax.scale_by_zoom_linesearch``, same arguments, state and numbers.
       Extra arguments that ``value_fn`` does not take are ignored (Optax raises a
       ``TypeError``), as every gradtx ``update`` ignores unknown extra arguments.
       PyTorch: ``LBFGS(line_search_fn="strong_wolfe")`` has its own search, in
       :func:`gradtx.torch.LBFGS`.
    """
    checks.integer("max_linesearch_steps", max_linesearch_steps, 0)
    if max_learning_rate is not None:
        checks.positive("max_learning_rate", max_learning_rate)
    checks.non_negative("tol", tol)
    checks.positive("increase_factor", increase_factor)
    checks.non_negative("slope_rtol", slope_rtol)
    checks.non_negative("curv_rtol", curv_rtol)
    if approx_dec_rtol is not None:
        checks.non_negative("approx_dec_rtol", approx_dec_rtol)
    checks.non_negative("stepsize_precision", stepsize_precision)
    checks.one_of("initial_guess_strategy", initial_guess_strategy, ("one", "keep"))
    checks.boolean("verbose", verbose)

    def init(params: Params) -> ScaleByZoomLinesearchState:
        dtype = value_dtype(params)
        scalars = tree.replicated_scalars(params, (
            jnp.ones([], dtype),
            jnp.full([], jnp.inf, dtype),
            ZoomLinesearchInfo(jnp.zeros([], jnp.int32), jnp.full([], jnp.inf, dtype), jnp.full([], jnp.inf, dtype)),
        ))
        return ScaleByZoomLinesearchState(
            learning_rate=scalars[0], value=scalars[1], grad=tree.zeros_like(params), info=scalars[2]
        )

    def update(
        updates: Updates, state: ScaleByZoomLinesearchState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByZoomLinesearchState]:
        value, grad, value_fn = (extra_args.get(k) for k in ("value", "grad", "value_fn"))
        needs("the zoom line search", {"params": params, "value": value, "grad": grad, "value_fn": value_fn})
        assert value_fn is not None  # needs() raised otherwise
        line = Line(updates, params, value_fn, value_fn_kwargs(value_fn, extra_args))
        dtype = line.dtype
        f0 = jnp.asarray(value).astype(dtype)
        grad = line.float_grad(grad)
        slope0 = line.slope(grad)

        def decrease_error(p: _Point) -> jax.Array:
            error = p.value - f0 - slope_rtol * p.t * slope0
            if approx_dec_rtol is not None:  # Hager-Zhang: the slope has dropped enough and f barely rose
                approx = jnp.maximum(p.slope - (2 * slope_rtol - 1.0) * slope0, p.value - f0 - approx_dec_rtol * jnp.abs(f0))
                error = jnp.minimum(approx, error)
            error = jnp.maximum(error, 0.0)
            return jnp.where(jnp.isnan(error), jnp.inf, error)

        def curvature_error(p: _Point) -> jax.Array:
            error = jnp.maximum(jnp.abs(p.slope) - curv_rtol * jnp.abs(slope0), 0.0)
            return jnp.where(jnp.isnan(error), jnp.inf, error)

        def evaluate(t: jax.Array) -> tuple[_Point, Updates, jax.Array, jax.Array]:
            f, g, slope = line(t)
            p = _Point(t.astype(dtype), f, slope)
            return p, g, decrease_error(p), curvature_error(p)

        def grow(s: _Search) -> _Search:
            """Try a larger step until an interval holding an acceptable one is found."""
            guess = jnp.asarray(1.0 if initial_guess_strategy == "one" else state.learning_rate, dtype)
            t = jnp.where(s.count == 0, guess, increase_factor * s.trial.t)
            capped = jnp.zeros((), bool)
            if max_learning_rate is not None:
                capped, t = t >= max_learning_rate, jnp.minimum(t, max_learning_rate)
            new, g, dec, curv = evaluate(t)
            error = jnp.maximum(dec, curv)
            safe, safe_grad = _pick(dec <= tol, (new, g), (s.safe, s.safe_grad))
            high_is_new = (dec > 0.0) | ((new.value >= s.trial.value) & (s.count > 0))
            low_is_new = (new.slope >= 0.0) & ~high_is_new
            low, high = _pick(low_is_new, (new, s.trial), (s.trial, new))
            bracketed = high_is_new | low_is_new | (error <= tol)
            done = (error <= tol) | (capped & ~bracketed)
            failed = (s.count + 1 >= max_linesearch_steps) & ~done
            return _Search(
                tree.safe_increment(s.count), new, g, dec, curv, bracketed, done, failed, low, high, low, safe, safe_grad
            )

        def shrink(s: _Search) -> _Search:
            """Try a step inside the interval: cubic, else quadratic, else bisection."""
            low, high, ref = s.low, s.high, s.ref
            width = jnp.abs(high.t - low.t)
            left, right = jnp.minimum(high.t, low.t), jnp.maximum(high.t, low.t)
            cubic = _cubic_minimizer(low.t, low.value, low.slope, high.t, high.value, ref.t, ref.value)
            use_cubic = (cubic > left + 0.2 * width) & (cubic < right - 0.2 * width)
            quadratic = _quadratic_minimizer(low.t, low.value, low.slope, high.t, high.value)
            use_quadratic = ~use_cubic & (quadratic > left + 0.1 * width) & (quadratic < right - 0.1 * width)
            t = jnp.where(use_cubic, cubic, jnp.where(use_quadratic, quadratic, (low.t + high.t) / 2.0))
            new, g, dec, curv = evaluate(t)
            error = jnp.maximum(dec, curv)
            safe, safe_grad = _pick((dec <= tol) & (new.value < s.safe.value), (new, g), (s.safe, s.safe_grad))
            done = error <= tol
            high_is_new = (dec > 0.0) | (new.value >= low.value)
            high_is_low = (new.slope * (high.t - low.t) >= 0.0) & ~high_is_new
            new_high = _pick(high_is_new, new, _pick(high_is_low, low, high))
            new_low = _pick(high_is_new, low, new)
            new_ref = _pick(high_is_new | high_is_low, high, low)
            stuck = (s.count + 1 >= max_linesearch_steps) | ((width <= stepsize_precision) & (safe.t > 0.0))
            return _Search(
                tree.safe_increment(s.count), new, g, dec, curv, s.bracketed, done, stuck & ~done,
                new_low, new_high, new_ref, safe, safe_grad,
            )

        def fall_back(s: _Search) -> _Search:
            """Out of evaluations: take the best step with sufficient decrease, if any (or t = 0 outside the domain)."""
            use_safe = (s.safe.t > 0.0) | jnp.isinf(s.decrease_error)
            trial, g = _pick(use_safe, (s.safe, s.safe_grad), (s.trial, s.grad))
            return s._replace(trial=trial, grad=g)

        def step(s: _Search) -> _Search:
            s = lax.cond(s.bracketed, shrink, grow, s)
            out: _Search = lax.cond(s.failed, fall_back, lambda s: s, s)
            return out

        zero = jnp.zeros([], dtype)
        start_point = _Point(zero, f0, slope0)
        inf, false = jnp.full([], jnp.inf, dtype), jnp.zeros([], bool)
        start = _Search(
            jnp.zeros([], jnp.int32), start_point, grad, inf, inf, false, false, false,
            start_point, start_point, start_point, start_point, grad,
        )
        s = lax.while_loop(lambda s: ~(s.done | s.failed), step, start)
        t = s.trial.t
        return line.scale(t), ScaleByZoomLinesearchState(
            learning_rate=t,
            value=s.trial.value,
            grad=s.grad,
            info=ZoomLinesearchInfo(s.count, s.decrease_error, s.curvature_error),
        )

    return GradientTransformation(init, update)


def _find_search_state(state: Any) -> Any:
    """The line-search state (anything with ``value`` and ``grad`` fields) inside a chain's state."""
    if hasattr(state, "value") and hasattr(state, "grad") and hasattr(state, "learning_rate"):
        return state
    if isinstance(state, tuple | list):
        for part in state:
            found = _find_search_state(part)
            if found is not None:
                return found
    if isinstance(state, dict):
        for part in state.values():
            found = _find_search_state(part)
            if found is not None:
                return found
    return None


def value_and_grad_from_state(value_fn: Callable[..., Any]) -> Callable[..., tuple[jax.Array, Updates]]:
    r"""``value_and_grad(value_fn)`` that reuses the value and gradient a line search stored.

    A line search evaluates the loss and its gradient at the step it accepts; the next
    iteration needs the same two numbers. The returned function reads them from the
    optimizer's state (a :class:`ScaleByZoomLinesearchState` or
    :class:`ScaleByBacktrackingLinesearchState` with ``store_grad=True``, at any depth of a
    chain) and calls ``jax.value_and_grad(value_fn)`` only when none is stored yet (the value
    is not finite: before the first update).

    Args:
      value_fn: The objective ``value_fn(params, *args, **kwargs)``.

    Returns:
      ``fn(params, *args, state, **kwargs) -> (value, grad)``, ``state`` keyword-only.

    Raises:
      ValueError: (when called) If ``state`` holds no line search with a stored gradient.

    Examples:
      >>> f = lambda p: jnp.sum((p - 1.0) ** 2)
      >>> tx, p = gradtx.lbfgs(), jnp.zeros(2)
      >>> state, value_and_grad = tx.init(p), gradtx.value_and_grad_from_state(f)
      >>> value, grad = value_and_grad(p, state=state)
      >>> updates, state = tx.update(grad, state, p, value=value, grad=grad, value_fn=f)
      >>> gradtx.apply_updates(p, updates)  # the first step has length 1 (see scale_by_lbfgs)
      Array([0.70710677, 0.70710677], dtype=float32)

    .. note::
       Optax: ``optax.value_and_grad_from_state``, same behaviour.
    """

    def value_and_grad(params: Params, *args: Any, state: Any, **kwargs: Any) -> tuple[jax.Array, Updates]:
        found = _find_search_state(state)
        if found is None or found.grad is None:
            raise ValueError(
                "value_and_grad_from_state: the state holds no line search with a stored value and "
                "gradient; chain scale_by_zoom_linesearch, or scale_by_backtracking_linesearch with "
                "store_grad=True."
            )
        fresh = lambda p, a, kw: jax.value_and_grad(value_fn)(p, *a, **kw)  # noqa: E731
        shapes = jax.eval_shape(fresh, params, args, kwargs)
        value = jnp.asarray(found.value)

        def stored(p: Params, a: Any, kw: Any) -> tuple[jax.Array, Updates]:
            leaves, treedef = jax.tree.flatten(shapes[1])
            grads = tree.flatten_up_to(treedef, jax.tree.map(lambda g: g, found.grad, is_leaf=lambda x: x is None))
            grads = [jnp.zeros(o.shape, o.dtype) if g is None else g.astype(o.dtype) for g, o in zip(grads, leaves)]
            return value.astype(shapes[0].dtype), jax.tree.unflatten(treedef, grads)

        out: tuple[jax.Array, Updates] = lax.cond(jnp.isfinite(value), stored, fresh, params, args, kwargs)
        return out

    return value_and_grad
