"""Small stateless blocks Optax exports: centre, zero, keep non-negative, normalise, scale by a norm."""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import EmptyState, GradientTransformation, Params, UpdateFn, Updates, transformation
from gradtx._core.combine import _check_transform

NonNegativeParamsState = EmptyState
"""State of :func:`keep_params_nonnegative` (it keeps none): Optax's name for :class:`EmptyState`."""


def _is_none(x: Any) -> bool:
    return x is None


def init_empty_state(params: Params) -> EmptyState:
    """The ``init`` of a transformation that keeps no state: ignores ``params``, returns :class:`EmptyState`.

    Examples:
      >>> gradtx.init_empty_state({"w": jnp.ones(2)})
      EmptyState()

    .. note::
       Optax: ``optax.init_empty_state(params)``, the same.
    """
    del params
    return EmptyState()


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformation:
    """``tx`` with an ``update`` that accepts extra keyword arguments (and drops them if ``tx`` does not take them).

    Every gradtx transformation already accepts them, so it is returned as it is; a foreign
    transformation (a plain ``optax.GradientTransformation``) gets an ``update`` that ignores them.

    Examples:
      >>> tx = gradtx.with_extra_args_support(gradtx.scale(2.0))
      >>> tx.update(jnp.ones(1), tx.init(jnp.ones(1)), value=3.0)[0]
      Array([2.], dtype=float32)

    .. note::
       Optax: ``optax.with_extra_args_support(tx)``, the same behaviour.
    """
    return _check_transform("with_extra_args_support", "`tx`", tx)


def _stateless_update(fn: Callable[[Updates, Params | None], Updates]) -> UpdateFn:
    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        return fn(updates, params), state

    return update


@transformation(complex_params="native")
def set_to_zero() -> GradientTransformation:
    r"""Replace every update by zeros: :math:`u = 0` (the parameters stay where they are).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.

    Examples:
      >>> tx = gradtx.set_to_zero()
      >>> tx.update(jnp.array([1.0, -2.0]), tx.init(None))[0]
      Array([0., 0.], dtype=float32)

    .. note::
       Optax: ``optax.set_to_zero()``, same numbers. To freeze some leaves without keeping
       optimizer state for them, see :func:`freeze`.
    """
    return GradientTransformation(
        init_empty_state,
        _stateless_update(lambda u, p: jax.tree.map(jnp.zeros_like, u)),
    )


@transformation(complex_params="native")
def stateless_with_tree_map(f: Callable[[jax.Array, jax.Array | None], jax.Array]) -> GradientTransformation:
    """A stateless transformation from a per-leaf function ``f(update, param) -> update``.

    ``param`` is ``None`` when ``update`` is called without params.

    Args:
      f: A pure function of one update leaf and its parameter leaf (or ``None``).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.

    Examples:
      >>> tx = gradtx.stateless_with_tree_map(lambda u, p: u * p)
      >>> tx.update(jnp.array([1.0, 2.0]), tx.init(None), jnp.array([3.0, 4.0]))[0]
      Array([3., 8.], dtype=float32)

    .. note::
       Optax: ``optax.stateless_with_tree_map(f)``, the same.
    """
    checks.callable_("f", f)

    def apply(updates: Updates, params: Params | None) -> Updates:
        if params is None:
            return jax.tree.map(lambda u: f(u, None), updates)
        return jax.tree.map(f, updates, params)

    return GradientTransformation(init_empty_state, _stateless_update(apply))


@transformation(needs_leaves=True, complex_params="native")
def centralize() -> GradientTransformation:
    r"""Gradient centralisation: subtract from each leaf of rank >= 2 its mean over all but the first axis.

    .. math::

       u_{i,\ldots} = g_{i,\ldots} - \operatorname{mean}_{\ldots}(g_{i,\ldots})
       \quad \text{(leaves of rank} \ge 2\text{; others unchanged)}

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.

    Examples:
      >>> tx = gradtx.centralize()
      >>> tx.update(jnp.array([[1.0, 3.0], [0.0, 4.0]]), tx.init(None))[0]
      Array([[-1.,  1.],
             [-2.,  2.]], dtype=float32)

    References:
      Yong et al., `Gradient Centralization: A New Optimization Technique for Deep Neural
      Networks <https://arxiv.org/abs/2004.01461>`_, 2020.

    .. note::
       Optax: ``optax.centralize()``, same numbers.
    """

    def leaf(g: jax.Array) -> jax.Array:
        if g.ndim < 2:
            return g
        return g - jnp.mean(g, axis=tuple(range(1, g.ndim)), keepdims=True)

    return GradientTransformation(init_empty_state, _stateless_update(lambda u, p: jax.tree.map(leaf, u)))


@transformation
def keep_params_nonnegative() -> GradientTransformation:
    r"""Change the updates so that no parameter goes below zero: where :math:`p + u < 0`, :math:`u = -p`.

    Needs ``params`` in ``update``. Put it last in a chain (after the learning rate).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`NonNegativeParamsState`.

    Raises:
      ValueError: In ``update``, when ``params`` is not given.

    Examples:
      >>> tx = gradtx.keep_params_nonnegative()
      >>> tx.update(jnp.array([-2.0, -0.5]), tx.init(None), jnp.array([1.0, 1.0]))[0]
      Array([-1. , -0.5], dtype=float32)

    .. note::
       Optax: ``optax.keep_params_nonnegative()``, same numbers.
    """

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        params = checks.params_given(params, "keep_params_nonnegative")
        new = jax.tree.map(
            lambda u, p: None if u is None else jnp.where(p + u < 0, -p, u).astype(u.dtype),
            updates,
            params,
            is_leaf=_is_none,
        )
        return new, state

    return GradientTransformation(init_empty_state, update)


@transformation
def normalize_by_update_norm(scale_factor: float = 1.0, eps: float = 1e-6) -> GradientTransformation:
    r"""Divide the updates by their global norm (plus ``eps``) and multiply by ``scale_factor``.

    .. math::

       u = \frac{s\, g}{\lVert g \rVert_2 + \epsilon}

    Args:
      scale_factor: :math:`s`, the norm of the result (a negative one descends).
      eps: :math:`\epsilon \ge 0`, added to the norm.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.

    Examples:
      >>> tx = gradtx.normalize_by_update_norm(eps=0.0)
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(None))[0]
      Array([0.6, 0.8], dtype=float32)

    .. note::
       Optax: ``optax.normalize_by_update_norm(scale_factor, eps)``, same numbers.
    """
    checks.real("scale_factor", scale_factor)
    checks.non_negative("eps", eps)

    def apply(updates: Updates, params: Params | None) -> Updates:
        norm = tree.global_norm(updates)

        def leaf(g: jax.Array) -> jax.Array:
            divisor = (norm.astype(g.dtype) + eps) / scale_factor
            return g / divisor

        return jax.tree.map(leaf, updates)

    return GradientTransformation(init_empty_state, _stateless_update(apply))


@transformation(needs_leaves=True)
def scale_by_param_block_norm(min_scale: float = 1e-3) -> GradientTransformation:
    r"""Multiply each leaf's updates by the norm of its parameter block, at least ``min_scale``.

    .. math::

       u_b = g_b \max(\lVert p_b \rVert_2, s_{min})

    Needs ``params`` in ``update``.

    Args:
      min_scale: :math:`s_{min} \ge 0`, the smallest factor (keeps zero-initialised blocks moving).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmptyState`.

    Raises:
      ValueError: In ``update``, when ``params`` is not given.

    Examples:
      >>> tx = gradtx.scale_by_param_block_norm()
      >>> tx.update(jnp.ones(2), tx.init(None), jnp.array([3.0, 4.0]))[0]
      Array([5., 5.], dtype=float32)

    .. note::
       Optax: ``optax.scale_by_param_block_norm(min_scale)``, same numbers.
    """
    checks.non_negative("min_scale", min_scale)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        params = checks.params_given(params, "scale_by_param_block_norm")

        def leaf(u: jax.Array, p: jax.Array) -> jax.Array:
            norm = jnp.sqrt(jnp.sum(jnp.square(p)))
            return u * jnp.maximum(norm, min_scale).astype(u.dtype)

        return jax.tree.map(leaf, updates, params), state

    return GradientTransformation(init_empty_state, update)
