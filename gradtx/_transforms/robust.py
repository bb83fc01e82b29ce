"""Robustness to non-finite gradients: zero the NaNs, or skip the steps that have any."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform


def _is_none(x: Any) -> bool:
    return x is None


def zeros_for_floats(updates: Updates) -> Updates:
    """The updates with every floating leaf replaced by zeros; other leaves are kept."""
    return jax.tree.map(lambda u: jnp.zeros_like(u) if tree.is_float(u) else u, updates, is_leaf=_is_none)


def update_or_skip(
    run: jax.Array,
    inner: GradientTransformation,
    updates: Updates,
    inner_state: State,
    params: Params | None,
    extra_args: dict[str, Any],
) -> tuple[Updates, State]:
    """``inner.update(...)`` if ``run`` (a traced bool), else zero updates and ``inner_state`` untouched.

    A ``lax.cond``, so the inner update is computed only on the steps that use it. ``inner``
    must return updates with the structure and dtypes of ``updates`` (as every gradtx
    transformation does).
    """

    def apply() -> tuple[Updates, State]:
        return inner.update(updates, inner_state, params, **extra_args)

    def skip() -> tuple[Updates, State]:
        return zeros_for_floats(updates), inner_state

    result: tuple[Updates, State] = jax.lax.cond(run, apply, skip)
    return result


class ZeroNansState(NamedTuple):
    """State of :func:`zero_nans`."""

    found_nan: Any  # bool[] per floating leaf: whether the last updates had a NaN there (None elsewhere)


@transformation(complex_params="native")
def zero_nans() -> GradientTransformation:
    r"""Replace NaN elements of the updates by zero, and record where NaNs were found.

    The state is only a report (:attr:`ZeroNansState.found_nan`, one flag per leaf); the
    transformation does not read it. Infinities are kept: chain :func:`clip` after this,
    or use :func:`apply_if_finite` to skip bad steps instead.

    .. math::

       u_i \leftarrow 0 \ \text{if}\ g_i \ \text{is NaN else}\ g_i

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ZeroNansState`.

    Examples:
      >>> tx = gradtx.zero_nans()
      >>> updates, state = tx.update({"a": jnp.array([1.0, jnp.nan])}, tx.init({"a": jnp.zeros(2)}))
      >>> updates["a"], state.found_nan["a"]
      (Array([1., 0.], dtype=float32), Array(True, dtype=bool))

    .. note::
       Optax: ``optax.zero_nans()``, same numbers and state (Optax also keeps a flag for
       non-floating leaves; gradtx keeps ``None`` there).
    """

    def flags(tree_: Any, fn: Any) -> Any:
        return jax.tree.map(lambda x: fn(x) if tree.is_float(x) else None, tree_, is_leaf=_is_none)

    def init(params: Params) -> ZeroNansState:
        return ZeroNansState(flags(params, lambda p: tree.replicated_like(p, jnp.zeros([], jnp.bool_))))

    def update(
        updates: Updates, state: ZeroNansState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ZeroNansState]:
        del state, params, extra_args
        found = flags(updates, lambda u: jnp.any(jnp.isnan(u)))
        return tree.map_float(lambda u: jnp.where(jnp.isnan(u), 0, u), updates), ZeroNansState(found)

    return GradientTransformation(init, update)


class ApplyIfFiniteState(NamedTuple):
    """State of :func:`apply_if_finite`."""

    notfinite_count: jax.Array  # int32[]: consecutive calls with a non-finite update, 0 after a finite one
    last_finite: jax.Array  # bool[]: whether the last call's updates were all finite
    total_notfinite: jax.Array  # int32[]: calls with a non-finite update since init
    inner_state: State  # the inner transformation's state, untouched by skipped calls


@transformation(complex_params="native")
def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int, *, axis_name: Any = None
) -> GradientTransformation:
    r"""Skip the steps whose gradients hold a NaN or an infinity.

    On a step with a non-finite gradient, ``inner`` is not run: its state is left exactly
    as it was and the updates are zeros. After more than ``max_consecutive_errors`` such
    steps in a row it gives up and applies them (so a run that has truly diverged does not
    silently stand still); the counts in the state show what happened.

    .. math::

       n_t = 0 \ \text{if}\ g_t \ \text{finite else}\ n_{t-1} + 1, \qquad
       (u_t, s_t) = \text{inner}(g_t, s_{t-1}) \ \text{if}\ n_t = 0 \lor n_t > N
       \ \text{else}\ (0, s_{t-1})

    Args:
      inner: The transformation to protect (usually a whole optimizer).
      max_consecutive_errors: :math:`N \ge 0`, how many non-finite steps in a row are
        skipped before they are applied anyway. A Python int.
      axis_name: Inside ``shard_map`` or ``pmap``, the name of the mapped axis over which
        the gradients differ or are split: a step is skipped on every device as soon as
        one device sees a non-finite value (``jax.lax.pmax`` of the flag), so the devices
        stay in step.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ApplyIfFiniteState`.

    Raises:
      TypeError: If ``inner`` is not a transformation or ``max_consecutive_errors`` not an int.
      ValueError: If ``max_consecutive_errors < 0``.

    Examples:
      >>> tx = gradtx.apply_if_finite(gradtx.sgd(0.1), 3)
      >>> updates, state = tx.update(jnp.array([1.0, jnp.inf]), tx.init(jnp.zeros(2)))
      >>> updates, state.notfinite_count
      (Array([0., 0.], dtype=float32), Array(1, dtype=int32))

    .. note::
       Optax: ``optax.apply_if_finite(inner, max_consecutive_errors)``, same semantics,
       numbers and state fields: the step that makes the count exceed
       ``max_consecutive_errors`` and every later non-finite step in the same run are
       applied. PyTorch has no equivalent (``torch.amp.GradScaler`` skips steps but also
       rescales the loss).
    """
    inner = _check_transform("apply_if_finite", "`inner`", inner)
    checks.integer("max_consecutive_errors", max_consecutive_errors)

    def init(params: Params) -> ApplyIfFiniteState:
        return ApplyIfFiniteState(
            notfinite_count=tree.zero_count(params),
            last_finite=tree.replicated_like(params, jnp.ones([], jnp.bool_)),
            total_notfinite=tree.zero_count(params),
            inner_state=inner.init(params),
        )

    def update(
        updates: Updates, state: ApplyIfFiniteState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ApplyIfFiniteState]:
        finite = jnp.ones([], jnp.bool_)
        for leaf in tree.leaves_of(updates):
            finite = finite & jnp.all(jnp.isfinite(leaf))
        if axis_name is not None:
            finite = jax.lax.pmax((~finite).astype(jnp.int32), axis_name) == 0
        notfinite_count = jnp.where(finite, 0, tree.safe_increment(state.notfinite_count))
        run = finite | (notfinite_count > max_consecutive_errors)
        updates, inner_state = update_or_skip(run, inner, updates, state.inner_state, params, extra_args)
        total = jnp.where(finite, state.total_notfinite, tree.safe_increment(state.total_notfinite))
        return updates, ApplyIfFiniteState(notfinite_count, finite, total, inner_state)

    return GradientTransformation(init, update)
