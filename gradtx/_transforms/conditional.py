"""Run a transformation only on some steps, or only on some leaves; and Optax's skip predicates."""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform, partition
from gradtx._transforms.elementwise import set_to_zero


class ConditionallyTransformState(NamedTuple):
    """State of :func:`conditionally_transform`."""

    inner_state: State  # the inner transformation's state, changed only on the steps it runs
    step: jax.Array  # int32[]: calls so far (all of them, whether inner ran or not)


class ConditionallyMaskState(NamedTuple):
    """State of :func:`conditionally_mask`."""

    step: jax.Array  # int32[]: calls so far (all of them, whether inner ran or not)
    inner_state: State  # the inner transformation's state, changed only on the steps it runs


def _condition(
    fn: str, should_transform_fn: Callable[..., Any], step: jax.Array, extra_args: dict[str, Any], forward: bool
) -> jax.Array:
    run = jnp.asarray(should_transform_fn(step, **(extra_args if forward else {})))
    if run.shape != ():
        raise ValueError(f"{fn}: `should_transform_fn` must return a scalar bool, got shape {run.shape}.")
    return run.astype(jnp.bool_)


@transformation(complex_params="native")
def conditionally_transform(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool = False,
) -> GradientTransformation:
    r"""Run ``inner`` on the steps where ``should_transform_fn(step)`` holds; elsewhere pass the updates through.

    .. math::

       (u, s) = \text{inner}(g, s) \ \text{if}\ f(t) \ \text{else}\ (g, s), \qquad t \leftarrow t + 1

    ``inner`` runs in a ``lax.cond``: it costs nothing on the other steps, and its state
    does not change there.

    Args:
      inner: The transformation to run.
      should_transform_fn: ``step -> bool scalar``, called with the number of calls so far
        (0 on the first call).
      forward_extra_args: Also pass ``update``'s extra keyword arguments to ``should_transform_fn``.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ConditionallyTransformState`.

    Examples:
      >>> tx = gradtx.conditionally_transform(gradtx.scale(10.0), lambda step: step >= 1)
      >>> state = tx.init(jnp.zeros(1))
      >>> first, state = tx.update(jnp.ones(1), state)
      >>> second, state = tx.update(jnp.ones(1), state)
      >>> first, second
      (Array([1.], dtype=float32), Array([10.], dtype=float32))

    .. note::
       Optax: ``optax.conditionally_transform(inner, should_transform_fn, forward_extra_args)``,
       same numbers and state.
    """
    inner = _check_transform("conditionally_transform", "`inner`", inner)
    checks.callable_("should_transform_fn", should_transform_fn)
    checks.boolean("forward_extra_args", forward_extra_args)

    def init(params: Params) -> ConditionallyTransformState:
        return ConditionallyTransformState(inner.init(params), tree.zero_count(params))

    def update(
        updates: Updates, state: ConditionallyTransformState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ConditionallyTransformState]:
        run = _condition("conditionally_transform", should_transform_fn, state.step, extra_args, forward_extra_args)
        new, inner_state = jax.lax.cond(
            run,
            lambda: inner.update(updates, state.inner_state, params, **extra_args),
            lambda: (updates, state.inner_state),
        )
        return new, ConditionallyTransformState(inner_state, tree.safe_increment(state.step))

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def conditionally_mask(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool = False,
) -> GradientTransformation:
    r"""Run ``inner`` on the steps where ``should_transform_fn(step)`` holds; elsewhere give zero updates.

    .. math::

       (u, s) = \text{inner}(g, s) \ \text{if}\ f(t) \ \text{else}\ (0, s), \qquad t \leftarrow t + 1

    Args:
      inner: The transformation to run.
      should_transform_fn: ``step -> bool scalar``, called with the number of calls so far
        (0 on the first call).
      forward_extra_args: Also pass ``update``'s extra keyword arguments to ``should_transform_fn``.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ConditionallyMaskState`.

    Examples:
      >>> tx = gradtx.conditionally_mask(gradtx.sgd(1.0), lambda step: step % 2 == 1)
      >>> state = tx.init(jnp.zeros(1))
      >>> first, state = tx.update(jnp.ones(1), state)
      >>> second, state = tx.update(jnp.ones(1), state)
      >>> first, second
      (Array([0.], dtype=float32), Array([-1.], dtype=float32))

    .. note::
       Optax: ``optax.conditionally_mask(inner, should_transform_fn, forward_extra_args)``,
       same numbers and state.
    """
    inner = _check_transform("conditionally_mask", "`inner`", inner)
    checks.callable_("should_transform_fn", should_transform_fn)
    checks.boolean("forward_extra_args", forward_extra_args)

    def init(params: Params) -> ConditionallyMaskState:
        return ConditionallyMaskState(tree.zero_count(params), inner.init(params))

    def update(
        updates: Updates, state: ConditionallyMaskState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ConditionallyMaskState]:
        run = _condition("conditionally_mask", should_transform_fn, state.step, extra_args, forward_extra_args)
        new, inner_state = jax.lax.cond(
            run,
            lambda: inner.update(updates, state.inner_state, params, **extra_args),
            lambda: (jax.tree.map(jnp.zeros_like, updates), state.inner_state),
        )
        return new, ConditionallyMaskState(tree.safe_increment(state.step), inner_state)

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def selective_transform(optimizer: GradientTransformation, *, freeze_mask: Any) -> GradientTransformation:
    """Run ``optimizer`` on the leaves not in ``freeze_mask``; give the frozen ones zero updates.

    The optimizer keeps no state for frozen leaves (a :func:`partition` into ``"train"``
    and ``"freeze"``).

    Args:
      optimizer: The transformation of the trainable leaves.
      freeze_mask: A bool, or a tree of bools shaped like the params (or a prefix): ``True``
        freezes the leaf.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`PartitionState`.

    Examples:
      >>> params = {"w": jnp.ones(1), "b": jnp.ones(1)}
      >>> tx = gradtx.selective_transform(gradtx.sgd(1.0), freeze_mask={"w": True, "b": False})
      >>> tx.update(params, tx.init(params))[0]
      {'b': Array([-1.], dtype=float32), 'w': Array([0.], dtype=float32)}

    .. note::
       Optax: ``optax.selective_transform(optimizer, *, freeze_mask)``, same numbers; the state
       is gradtx's :class:`PartitionState` (Optax's ``PartitionState``), keyed ``"train"``/``"freeze"``.
       :func:`freeze` does the same with path patterns as masks.
    """

    def labels(params: Params) -> Any:
        del params
        return jax.tree.map(lambda frozen: "freeze" if frozen else "train", freeze_mask)

    return partition({"train": optimizer, "freeze": set_to_zero()}, labels)


def _total(values: list[jax.Array], dtype: Any) -> jax.Array:
    total = jnp.zeros((), dtype)
    for v in values:
        total = total + v.astype(dtype)
    return total


def skip_not_finite(
    updates: Updates, gradient_step: Any, params: Params | None
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Whether ``updates`` hold an infinity or a NaN: a ``should_skip_update_fn`` for :class:`MultiSteps`.

    Args:
      updates: The updates (gradients) of this mini-step.
      gradient_step: Unused (the ``should_skip_update_fn`` protocol).
      params: Unused.

    Returns:
      ``(should_skip, {"should_skip": ..., "num_not_finite": ...})``: a bool scalar, and the
      same with the number of non-finite entries.

    Examples:
      >>> skip, info = gradtx.skip_not_finite({"w": jnp.array([1.0, jnp.inf])}, 0, None)
      >>> skip, info["num_not_finite"]
      (Array(True, dtype=bool), Array(1, dtype=int32))

    .. note::
       Optax: ``optax.skip_not_finite(updates, gradient_step, params)``, same results.
    """
    del gradient_step, params
    count_dtype = jax.dtypes.canonicalize_dtype(jnp.int64)
    leaves = jax.tree.leaves(updates)
    num_not_finite = _total([jnp.sum(~jnp.isfinite(u)) for u in leaves], count_dtype)
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def skip_large_updates(
    updates: Updates, gradient_step: Any, params: Params | None, max_squared_norm: Any
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Whether the squared global norm of ``updates`` reaches ``max_squared_norm``.

    A ``should_skip_update_fn`` for :class:`MultiSteps` once ``max_squared_norm`` is bound
    (``functools.partial(skip_large_updates, max_squared_norm=42.0)``). A NaN norm skips too.

    Returns:
      ``(should_skip, {"should_skip": ..., "norm_squared": ...})``.

    Examples:
      >>> skip, info = gradtx.skip_large_updates({"w": jnp.array([3.0, 4.0])}, 0, None, 20.0)
      >>> skip, info["norm_squared"]
      (Array(True, dtype=bool), Array(25., dtype=float32))

    .. note::
       Optax: ``optax.skip_large_updates(updates, gradient_step, params, max_squared_norm)``,
       same results.
    """
    del gradient_step, params
    leaves = jax.tree.leaves(updates)
    dtype = tree.compute_dtype(*(u.dtype for u in leaves)) if leaves else jnp.float32
    norm_sq = _total([jnp.sum(jnp.square(u)) for u in leaves], dtype)
    should_skip = jnp.logical_not(norm_sq < max_squared_norm)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_sq}

