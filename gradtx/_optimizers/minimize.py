"""`minimize`: run any transformation on a deterministic objective in one `lax.while_loop`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, _entering, recipe_of
from gradtx._core.update import apply_updates
from gradtx._optimizers.lbfgs_torch import max_abs


class MinimizeResult(NamedTuple):
    """What :func:`minimize` returns."""

    params: Params  # the last iterate
    value: jax.Array  # fun(params) (without aux)
    grad: Updates  # the gradient of fun at params (None at leaves that are not floating point)
    aux: Any  # fun's auxiliary output at params when has_aux, else None
    state: State  # the solver's state after its last update
    num_steps: jax.Array  # int32[]: updates made
    converged: jax.Array  # bool[]: a tolerance stopped the loop (False: max_steps did)


def _float_grads(grads: Updates) -> Updates:
    """Gradients with the float0 ones (of integer leaves) replaced by ``None``."""
    return jax.tree.map(lambda g: None if g.dtype == jax.dtypes.float0 else g, grads)


def _loop_defaults(solver: GradientTransformation) -> tuple[int, float, float]:
    """``(max_steps, tolerance_grad, tolerance_change)``: a torch ``LBFGS``'s own, else 100, 1e-7, 1e-9."""
    recipe = recipe_of(solver)
    if recipe is None or recipe.name != "LBFGS":
        return 100, 1e-7, 1e-9
    given = dict(recipe.defaults + recipe.arguments)
    return given["max_iter"], given["tolerance_grad"], given["tolerance_change"]


def minimize(
    fun: Callable[..., Any],
    params: Params,
    solver: GradientTransformation,
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    has_aux: bool = False,
    max_steps: int | None = None,
    tolerance_grad: float | None = None,
    tolerance_change: float | None = None,
) -> MinimizeResult:
    r"""Minimize ``fun`` with any transformation, in one ``lax.while_loop``.

    The driver for :func:`lbfgs` and :func:`gradtx.torch.LBFGS` (with which it is torch's
    ``LBFGS.step(closure)``), and for any other transformation on a deterministic objective. It evaluates the loss and its gradient,
    calls ``solver.update(grad, state, params, value=..., grad=..., value_fn=...)`` and
    applies the update, until a rule below holds or ``max_steps`` updates are made. It
    traces ``fun`` once before the loop and once in its body (a solver that calls
    ``value_fn`` traces it again) and works under ``jax.jit`` and ``jax.vmap``; wrap the
    call in ``jax.jit`` to compile it once for many starting points.

    .. math::

       \text{stop before step 1 if } \max|g_0| \le \tau_g; \ \text{after step } k \text{ if }
       \max|g_k| \le \tau_g \ \text{or} \ \max|u_k| \le \tau_c \ \text{or} \
       |f_k - f_{k-1}| < \tau_c \ \text{or} \ k = \text{max\_steps}

    Args:
      fun: The objective ``fun(params, *args, **kwargs)``, returning a scalar loss, or
        ``(loss, aux)`` with ``has_aux``.
      params: The starting point: a pytree of arrays (leaves that are not floating point
        are passed to ``fun`` unchanged and never updated).
      solver: Any :class:`GradientTransformation`; it gets the gradient as ``updates``.
      args: Extra positional arguments of ``fun`` (data, ...).
      kwargs: Extra keyword arguments of ``fun``.
      has_aux: ``fun`` returns ``(loss, aux)``; ``aux`` at the last iterate is returned.
      max_steps: The most updates to make (torch's ``max_iter``); an integer >= 0.
        ``None``: the solver's ``max_iter`` for :func:`gradtx.torch.LBFGS`, else 100.
      tolerance_grad: :math:`\tau_g \ge 0` on the largest absolute gradient entry (torch's
        ``tolerance_grad``). ``None``: the solver's for :func:`gradtx.torch.LBFGS`, else 1e-7.
      tolerance_change: :math:`\tau_c \ge 0` on the largest absolute update entry and on
        the change of the loss (torch's ``tolerance_change``). ``None``: the solver's for
        :func:`gradtx.torch.LBFGS`, else 1e-9.

    Returns:
      A :class:`MinimizeResult` (params, value, grad, aux, state, num_steps, converged).

    Raises:
      TypeError: If ``fun`` is not callable or ``solver`` is not a transformation.
      ValueError: If ``max_steps`` or a tolerance is negative.

    Examples:
      >>> def rosenbrock(p):
      ...     return jnp.sum(100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2)
      >>> result = gradtx.minimize(rosenbrock, jnp.array([-1.2, 1.0]), gradtx.lbfgs())
      >>> result.params.round(3), bool(result.converged)
      (Array([1., 1.], dtype=float32), True)
      >>> solver = gradtx.torch.LBFGS(max_iter=100, line_search_fn="strong_wolfe")
      >>> gradtx.minimize(rosenbrock, jnp.array([-1.2, 1.0]), solver).params.round(3)
      Array([1., 1.], dtype=float32)

    .. note::
       PyTorch: ``opt = LBFGS(params, lr, max_iter, max_eval, tolerance_grad,
       tolerance_change, history_size, line_search_fn); opt.step(closure)`` ->
       ``minimize(fun, params, gradtx.torch.LBFGS(lr, max_iter, ...))``: the same iterates,
       and ``num_steps == state["n_iter"]`` (the loop's rules default to the solver's
       ``max_iter``, ``tolerance_grad`` and ``tolerance_change``). There is no ``max_eval``
       stop: without a line search torch's default never binds for ``max_iter >= 4``
       (use ``max_steps = min(max_iter, max_eval - 1)`` otherwise); with one, each search
       makes at most ``max_eval - 1`` evaluations. ``fun`` is evaluated once more than
       torch does (after the last step too, so ``value`` and ``grad`` are current).
    """
    with _entering("minimize"):
        checks.callable_("fun", fun)
        if not (callable(getattr(solver, "init", None)) and callable(getattr(solver, "update", None))):
            raise TypeError(
                f"minimize: `solver` must be a GradientTransformation, got {type(solver).__name__}."
            )
        checks.boolean("has_aux", has_aux)
        loop = _loop_defaults(solver)
        max_steps = loop[0] if max_steps is None else max_steps
        tolerance_grad = loop[1] if tolerance_grad is None else tolerance_grad
        tolerance_change = loop[2] if tolerance_change is None else tolerance_change
        checks.integer("max_steps", max_steps, 0)
        checks.non_negative("tolerance_grad", tolerance_grad)
        checks.non_negative("tolerance_change", tolerance_change)
    kwargs = dict(kwargs or {})

    def objective(p: Params) -> Any:
        return fun(p, *args, **kwargs)

    def value_fn(p: Params) -> jax.Array:
        value: jax.Array = objective(p)[0] if has_aux else objective(p)
        return value

    value_and_grad = jax.value_and_grad(objective, has_aux=has_aux, allow_int=True)

    def evaluate(p: Params) -> tuple[jax.Array, Any, Updates]:
        out, grad = value_and_grad(p)
        value, aux = out if has_aux else (out, None)
        return value, aux, _float_grads(grad)

    def small(x: Updates, tolerance: float) -> jax.Array:
        return max_abs(tree.leaves_of(x)) <= tolerance

    value, aux, grad = evaluate(params)
    start = MinimizeResult(
        params, value, grad, aux, solver.init(params), jnp.zeros([], jnp.int32), small(grad, tolerance_grad)
    )

    def goes_on(r: MinimizeResult) -> jax.Array:
        return ~r.converged & (r.num_steps < max_steps)

    def step(r: MinimizeResult) -> MinimizeResult:
        updates, state = solver.update(
            r.grad, r.state, r.params, value=r.value, grad=r.grad, value_fn=value_fn
        )
        params = apply_updates(r.params, updates)
        value, aux, grad = evaluate(params)
        converged = small(grad, tolerance_grad) | small(updates, tolerance_change) | (
            jnp.abs(value - r.value) < tolerance_change
        )
        return MinimizeResult(params, value, grad, aux, state, r.num_steps + 1, converged)

    return lax.while_loop(goes_on, step, start)
