"""Sharpness-aware minimisation (SAM) and the gradient normalisation its adversarial step uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    State,
    Updates,
    blame,
    transformation,
)
from gradtx._core.combine import _check_transform
from gradtx._core.update import apply_updates

NormalizeState = EmptyState


@transformation
def normalize() -> GradientTransformation:
    r"""Divide updates by their global norm: :math:`u \leftarrow u / \lVert u \rVert_2`.

    The norm is taken over all floating leaves as one vector. A zero update gives NaN, as
    in Optax.

    Returns:
      A :class:`GradientTransformation` that keeps no state (:class:`NormalizeState`).

    Examples:
      >>> tx = gradtx.normalize()
      >>> tx.update(jnp.array([3.0, -4.0]), tx.init(None))[0]
      Array([ 0.6, -0.8], dtype=float32)

    .. note::
       Optax: ``optax.contrib.normalize()``, same numbers.
    """

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        norm = tree.global_norm(jax.tree.map(tree.as_array, updates))
        return tree.map_float(lambda u: u / norm.astype(u.dtype), updates), state

    return GradientTransformation(init, update)


class SAMState(NamedTuple):
    """State of :func:`sam`."""

    steps_since_sync: jax.Array  # int32[]: position in the current period, 0 .. sync_period - 1
    opt_state: State  # state of the outer optimizer
    adv_state: State  # state of the adversarial optimizer
    cache: Params | None  # params at the start of the period (transparent mode), else None


def _select(condition: jax.Array, if_true: Any, if_false: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


def _floating(fn: Callable[..., Any], updates: Updates, *trees: Any) -> Updates:
    """``fn`` over the floating leaves of ``updates`` (and matching leaves); others pass through."""
    def leaf(u: Any, *xs: Any) -> Any:
        return fn(*(tree.as_array(x) for x in (u, *xs))) if tree.is_float(u) else u

    return jax.tree.map(leaf, updates, *trees)


def _jump_back(u: jax.Array, cache: jax.Array, p: jax.Array) -> jax.Array:
    """``cache - p + u`` (undo the adversarial steps, then step), computed in float32 or wider."""
    dtype = tree.compute_dtype(u.dtype, cache.dtype, p.dtype)
    return (cache.astype(dtype) - p.astype(dtype) + u.astype(dtype)).astype(u.dtype)


@transformation
def sam(
    optimizer: GradientTransformation,
    adv_optimizer: GradientTransformation,
    sync_period: int = 2,
    reset_state: bool = True,
    opaque_mode: bool = False,
    batch_axis_name: str | None = None,
) -> GradientTransformation:
    r"""Sharpness-aware minimisation: step uphill with ``adv_optimizer``, descend from there.

    Each period of ``sync_period`` steps makes ``sync_period - 1`` adversarial steps (the
    negated updates of ``adv_optimizer``, typically ``chain(normalize(), sgd(rho))``) and
    then one outer step: ``optimizer`` applied to the last gradient, taken from the params
    of the period's start. With ``sync_period=2`` this is SAM's

    .. math::

       \tilde p_t = p_t + \rho \frac{g(p_t)}{\lVert g(p_t) \rVert}, \qquad
       p_{t+1} = p_t + \operatorname{optimizer}(g(\tilde p_t))

    *Transparent* mode (default) uses the ordinary loop: each call returns either an
    adversarial update or the one that jumps back and applies the outer step, so the
    params the loop sees alternate between adversarial and real points. *Opaque* mode makes
    the adversarial steps inside ``update`` with ``grad_fn(params, i)`` (a keyword
    argument of ``update``), so every call is an outer step.

    Args:
      optimizer: The outer optimizer.
      adv_optimizer: The adversarial optimizer; its updates are negated (it climbs).
      sync_period: Steps per period, >= 1 (1: no adversarial step).
      reset_state: Re-initialise ``adv_optimizer``'s state at the end of each period.
      opaque_mode: Make the adversarial steps inside ``update`` (needs ``grad_fn``).
      batch_axis_name: In opaque mode, ``jax.lax.pmean`` the adversarial gradients over
        this mapped axis.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`SAMState`.

    Raises:
      ValueError: If ``sync_period < 1``; in opaque mode, if ``update`` gets no ``grad_fn``.

    Examples:
      >>> tx = gradtx.sam(gradtx.sgd(0.1), gradtx.chain(gradtx.normalize(), gradtx.sgd(0.05)))
      >>> p = jnp.array([3.0, -4.0])
      >>> u, state = tx.update(p, tx.init(p), p)  # adversarial: p + 0.05 g / |g|
      >>> u
      Array([ 0.03, -0.04], dtype=float32)

    References:
      Foret et al., `Sharpness-Aware Minimization for Efficiently Improving Generalization
      <https://arxiv.org/abs/2010.01412>`_, ICLR 2021.

    .. note::
       Optax: ``optax.contrib.sam``, same arguments, defaults and numbers. Optax blends
       states and updates as ``c * a + (1 - c) * b``, which turns an infinite entry of the
       branch not taken into NaN; gradtx selects with ``where``. Extra ``update``
       arguments (other than ``grad_fn``) are passed on to both optimizers.
    """
    checks.integer("sync_period", sync_period, minimum=1)
    checks.boolean("reset_state", reset_state)
    checks.boolean("opaque_mode", opaque_mode)
    if batch_axis_name is not None and not isinstance(batch_axis_name, str):
        raise TypeError(blame(f"`batch_axis_name` must be a string or None, got {batch_axis_name!r}"))
    optimizer = _check_transform("sam", "`optimizer`", optimizer)
    adv_optimizer = _check_transform("sam", "`adv_optimizer`", adv_optimizer)

    def init(params: Params) -> SAMState:
        cache = None if opaque_mode else jax.tree.map(jnp.array, params)  # a copy: never alias the params
        return SAMState(tree.zero_count(params), optimizer.init(params), adv_optimizer.init(params), cache)

    def transparent_update(
        updates: Updates,
        state: SAMState,
        params: Params | None = None,
        *,
        grad_fn: Callable[[Params, int], Updates] | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, SAMState]:
        del grad_fn
        params = checks.params_given(params, "sam")
        tree.flatten_like(updates, state.cache, params)  # a ValueError naming sam on a mismatch
        first = state.steps_since_sync == 0
        last = state.steps_since_sync == sync_period - 1
        adv_updates, adv_state = adv_optimizer.update(updates, state.adv_state, params, **extra_args)
        adv_updates = _floating(lambda u: -u, adv_updates)
        opt_updates, opt_state = optimizer.update(updates, state.opt_state, state.cache, **extra_args)
        # Jump back to the period's start, then take the outer step from there.
        opt_updates = _floating(_jump_back, opt_updates, state.cache, params)
        cache = _select(first, params, state.cache)
        updates = _floating(lambda u, a, b: jnp.where(last, a, b), updates, opt_updates, adv_updates)
        if reset_state:
            adv_state = _select(last, adv_optimizer.init(params), adv_state)
        else:
            adv_state = _select(last, state.adv_state, adv_state)
        opt_state = _select(last, opt_state, state.opt_state)
        count = jnp.where(last, jnp.zeros_like(state.steps_since_sync), tree.safe_increment(state.steps_since_sync))
        return updates, SAMState(count, opt_state, adv_state, cache)

    def opaque_update(
        updates: Updates,
        state: SAMState,
        params: Params | None = None,
        *,
        grad_fn: Callable[[Params, int], Updates] | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, SAMState]:
        if grad_fn is None:
            raise ValueError(blame("in opaque mode, update needs `grad_fn=` (a function (params, i) -> gradients)"))
        params = checks.params_given(params, "sam")
        adv_params, adv_updates, adv_state = params, updates, state.adv_state
        for i in range(sync_period - 1):
            adv_updates, adv_state = adv_optimizer.update(adv_updates, adv_state, adv_params, **extra_args)
            adv_updates = _floating(lambda u: -u, adv_updates)
            adv_params = apply_updates(adv_params, adv_updates)
            adv_updates = grad_fn(adv_params, i)
            if batch_axis_name is not None:
                adv_updates = jax.lax.pmean(adv_updates, axis_name=batch_axis_name)
        if reset_state:
            adv_state = adv_optimizer.init(params)
        updates, opt_state = optimizer.update(adv_updates, state.opt_state, params, **extra_args)
        return updates, SAMState(jnp.zeros_like(state.steps_since_sync), opt_state, adv_state, None)

    return GradientTransformation(init, opaque_update if opaque_mode else transparent_update)
