"""Optax's gradient accumulation: the ``MultiSteps`` wrapper (a class) and ``apply_every``."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform
from gradtx._transforms.robust import zeros_for_floats


class MultiStepsState(NamedTuple):
    """State of :class:`MultiSteps`."""

    mini_step: jax.Array  # int32[]: mini-steps accumulated this cycle, in [0, k); 0 right after the inner step
    gradient_step: jax.Array  # int32[]: how many times the inner optimizer has run
    inner_opt_state: State  # the inner optimizer's state, changed only when it runs
    acc_grads: Updates  # running mean (or sum) of this cycle's gradients, in `accumulator_dtype`
    skip_state: Any = ()  # what `should_skip_update_fn` reported on the last call (() without one)


def _never_skip(updates: Updates, gradient_step: Any, params: Params | None) -> tuple[jax.Array, tuple[()]]:
    del updates, gradient_step, params
    return jnp.array(False), ()


def _multi_steps(
    opt: GradientTransformation,
    every_k_schedule: int | Callable[[jax.Array], Any],
    use_grad_mean: bool,
    should_skip_update_fn: Callable[..., tuple[jax.Array, Any]] | None,
    accumulator_dtype: Any,
) -> GradientTransformation:
    """The transformation behind :class:`MultiSteps` (see there)."""
    opt = _check_transform("MultiSteps", "`opt`", opt)
    if callable(every_k_schedule):
        k_of = every_k_schedule
    else:
        checks.integer("every_k_schedule", every_k_schedule, minimum=1)
        k_of = lambda step: every_k_schedule
    checks.boolean("use_grad_mean", use_grad_mean)
    checks.dtype_or_none("accumulator_dtype", accumulator_dtype)
    skip_fn = _never_skip if should_skip_update_fn is None else should_skip_update_fn
    checks.callable_("should_skip_update_fn", skip_fn)

    def init(params: Params) -> MultiStepsState:
        gradient_step = tree.zero_count(params)
        _, skip_state = skip_fn(tree.zeros_like(params), gradient_step, params)
        return MultiStepsState(
            mini_step=tree.zero_count(params),
            gradient_step=gradient_step,
            inner_opt_state=opt.init(params),
            acc_grads=tree.zeros_like(params, accumulator_dtype),
            skip_state=skip_state,
        )

    def update(
        updates: Updates, state: MultiStepsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MultiStepsState]:
        k = k_of(state.gradient_step)
        skip, skip_state = skip_fn(updates, state.gradient_step, params)
        skip = jnp.asarray(skip)
        if (skip.dtype, skip.shape) != (jnp.dtype(jnp.bool_), ()):
            raise ValueError(
                "MultiSteps: `should_skip_update_fn` must return a bool scalar first, "
                f"got dtype {skip.dtype} and shape {skip.shape}."
            )

        def accumulate() -> tuple[Updates, MultiStepsState]:
            n = state.mini_step
            emit = n == k - 1

            def leaf(g: jax.Array, a: jax.Array) -> tuple[jax.Array, jax.Array]:
                dtype = tree.compute_dtype(g.dtype, a.dtype)
                g_, a_ = g.astype(dtype), a.astype(dtype)
                total = a_ + (g_ - a_) / (n + 1).astype(dtype) if use_grad_mean else g_ + a_
                return total.astype(g.dtype), jnp.where(emit, jnp.zeros_like(total), total).astype(a.dtype)

            mean, acc_grads = tree.map_unzip(leaf, updates, state.acc_grads)
            new, inner_state = jax.lax.cond(
                emit,
                lambda: opt.update(mean, state.inner_opt_state, params, **extra_args),
                lambda: (zeros_for_floats(updates), state.inner_opt_state),
            )
            return new, MultiStepsState(
                mini_step=tree.safe_increment(n) % jnp.asarray(k, n.dtype),
                gradient_step=jnp.where(emit, tree.safe_increment(state.gradient_step), state.gradient_step),
                inner_opt_state=inner_state,
                acc_grads=acc_grads,
                skip_state=skip_state,
            )

        def reject() -> tuple[Updates, MultiStepsState]:
            return zeros_for_floats(updates), state._replace(skip_state=skip_state)

        result: tuple[Updates, MultiStepsState] = jax.lax.cond(skip, reject, accumulate)
        return result

    return GradientTransformation(init, update)


# Recorded under the class's name, so the transformation reads ``MultiSteps(opt=adam(...), ...)``.
_multi_steps.__name__ = _multi_steps.__qualname__ = "MultiSteps"
_multi_steps = transformation(_multi_steps)


class MultiSteps:
    r"""Accumulate the gradients of several mini-steps, then run the wrapped optimizer once.

    Optax's class API. Call ``update`` once per micro-batch and apply every returned update:
    on the ``k``-th call of a cycle the wrapped optimizer runs on the mean (or sum) of the
    cycle's gradients; on the others the updates are zeros and its state does not change.

    .. math::

       a_j = a_{j-1} + (g_j - a_{j-1}) / j \ \text{(mean)} \quad\text{or}\quad a_{j-1} + g_j, \qquad
       (u, s) = \text{opt}(a_k, s) \ \text{at}\ j = k, \ a \leftarrow 0; \quad u = 0 \ \text{for}\ j < k

    Args:
      opt: The wrapped optimizer.
      every_k_schedule: :math:`k`, an int >= 1, or a function of the number of inner steps
        taken so far returning it (to grow the batch during training).
      use_grad_mean: Average the gradients (``True``) or sum them.
      should_skip_update_fn: ``(updates, gradient_step, params) -> (bool scalar, info)``:
        when it returns ``True`` the mini-step is ignored (zero updates, nothing accumulated);
        ``info`` is kept in ``state.skip_state``. See :func:`skip_not_finite` and
        :func:`skip_large_updates`.
      accumulator_dtype: Storage dtype of the accumulated gradients; ``None`` keeps the
        params' dtype.

    Examples:
      >>> ms = gradtx.MultiSteps(gradtx.sgd(1.0), every_k_schedule=2)
      >>> state = ms.init(jnp.zeros(1))
      >>> first, state = ms.update(jnp.array([1.0]), state)
      >>> second, state = ms.update(jnp.array([3.0]), state)
      >>> first, second, ms.has_updated(state)
      (Array([0.], dtype=float32), Array([-2.], dtype=float32), Array(True, dtype=bool))

    .. note::
       Optax: ``optax.MultiSteps(opt, every_k_schedule, use_grad_mean, should_skip_update_fn,
       accumulator_dtype)``, same arguments, state and numbers. gradtx runs the inner update
       only on the steps that use it (a ``lax.cond``; Optax computes it every mini-step and
       multiplies it by 0, which turns an infinite intermediate update into NaN). See also
       :func:`accumulate_gradients`.
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int | Callable[[jax.Array], Any],
        use_grad_mean: bool = True,
        should_skip_update_fn: Callable[..., tuple[jax.Array, Any]] | None = None,
        accumulator_dtype: Any = jnp.float32,
    ):
        self._opt = _check_transform("MultiSteps", "`opt`", opt)
        self._tx = _multi_steps(self._opt, every_k_schedule, use_grad_mean, should_skip_update_fn, accumulator_dtype)

    @property
    def inner_opt(self) -> GradientTransformation:
        """The wrapped optimizer."""
        return self._opt

    def init(self, params: Params) -> MultiStepsState:
        """The initial :class:`MultiStepsState`."""
        state: MultiStepsState = self._tx.init(params)
        return state

    def update(
        self, updates: Updates, state: MultiStepsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MultiStepsState]:
        """Accumulate ``updates``; on the last mini-step of a cycle, the inner optimizer's updates."""
        return self._tx.update(updates, state, params, **extra_args)

    def has_updated(self, state: MultiStepsState) -> jax.Array:
        """Whether the last ``update`` ran the inner optimizer."""
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformation:
        """The wrapper as a :class:`GradientTransformation` (to :func:`chain` it, ...)."""
        return self._tx


class ApplyEvery(NamedTuple):
    """State of :func:`apply_every` (Optax's name)."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: calls this cycle, in [0, k)
    grad_acc: Updates  # sum of this cycle's updates: shaped like the params, in their dtype


@transformation(complex_params="native")
def apply_every(k: int = 1) -> GradientTransformation:
    r"""Sum the updates of ``k`` calls and emit the sum on the ``k``-th; zeros on the others.

    .. math::

       a_j = a_{j-1} + g_j \ (a_0 = 0), \qquad u_j = a_k \ \text{at}\ j = k, \ 0 \ \text{otherwise}

    Put it after the learning rate (it sums, it does not average), or use :class:`MultiSteps`.

    Args:
      k: The number of calls per emitted update (an int >= 1).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ApplyEvery`.

    Examples:
      >>> tx = gradtx.apply_every(2)
      >>> state = tx.init(jnp.zeros(1))
      >>> first, state = tx.update(jnp.array([1.0]), state)
      >>> second, state = tx.update(jnp.array([3.0]), state)
      >>> first, second
      (Array([0.], dtype=float32), Array([4.], dtype=float32))

    .. note::
       Optax: ``optax.apply_every(k)``, same numbers and state.
    """
    if isinstance(k, int | bool):
        checks.integer("k", k, minimum=1)

    def init(params: Params) -> ApplyEvery:
        return ApplyEvery(tree.zero_count(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ApplyEvery, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ApplyEvery]:
        del params, extra_args
        c = state.count % jnp.asarray(k, state.count.dtype)
        emit = c == k - 1

        def leaf(g: jax.Array, a: jax.Array) -> tuple[jax.Array, jax.Array]:
            total = jnp.where(c != 0, a + g.astype(a.dtype), g.astype(a.dtype))
            return jnp.where(emit, total, jnp.zeros_like(total)).astype(g.dtype), total

        new, grad_acc = tree.map_unzip(leaf, updates, state.grad_acc)
        count = tree.safe_increment(state.count) % jnp.asarray(k, state.count.dtype)
        return new, ApplyEvery(count, grad_acc)

    return GradientTransformation(init, update)
