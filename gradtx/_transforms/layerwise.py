"""Layer-wise scaling: the trust ratio of LARS, LAMB and Fromage, and norms that work on sharded leaves.

A layer-wise rule needs the norm of a whole leaf. Inside ``shard_map`` each device holds
only part of a leaf, so every norm here is built from a sum of squares that can be summed
over a named mesh axis (``axis_name``): the step on the shards then equals the step on the
whole leaves.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks, flat, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    Updates,
    blame,
    transformation,
)


def summed_over(partial: jax.Array, axis_name: Any = None) -> jax.Array:
    """``partial`` summed over the mesh axis ``axis_name`` (``jax.lax.psum``); unchanged if ``None``."""
    return partial if axis_name is None else jax.lax.psum(partial, axis_name)


def sum_of_squares(x: jax.Array, axis_name: Any = None) -> jax.Array:
    """:math:`\\sum_i |x_i|^2` of one array (real for complex ``x``); with ``axis_name``, also
    summed over that mesh axis.

    ``x`` is one leaf (or, inside ``shard_map``, this device's shard of it). The sum runs
    in ``x``'s dtype, so callers pass arrays already in the compute dtype.
    """
    return summed_over(jnp.sum(tree.abs_sq(x)).real, axis_name)


def leaf_sums_of_squares(updates: Updates, axis_name: Any = None) -> Updates:
    """:func:`sum_of_squares` of every floating leaf (a real scalar in the compute precision); ``None`` elsewhere."""

    def leaf(u: Any) -> Any:
        if not tree.is_float(u):
            return None
        return sum_of_squares(u.astype(tree.compute_dtype(u.dtype)), axis_name)

    return jax.tree.map(leaf, updates, is_leaf=lambda x: x is None)


def check_axis_name(axis_name: Any) -> None:
    """``axis_name`` is ``None``, a hashable mesh-axis name, or a tuple of them."""
    try:
        hash(axis_name)
    except TypeError:
        raise TypeError(
            blame(
                "`axis_name` must be None or a mesh axis name (or a tuple of them), "
                f"got axis_name={axis_name!r}"
            )
        ) from None


@transformation(complex_params="native")
def scale_by_trust_ratio(
    min_norm: float = 0.0,
    trust_coefficient: float = 1.0,
    eps: float = 0.0,
    *,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""Scale each leaf's update by the ratio of the leaf's norm to the update's norm.

    The layer-wise step of :func:`lars`, :func:`lamb` and :func:`fromage`: every leaf moves
    by an amount proportional to its own size, whatever the scale of its gradient.

    .. math::

       \|x\|_{\min} = \max(\|x\|_2, n_{\min}), \qquad
       r = \frac{c\, \|p\|_{\min}}{\|u\|_{\min} + \epsilon}, \qquad
       u \leftarrow r\, u \quad (u \leftarrow u \text{ if } \|p\|_{\min} = 0 \text{ or } \|u\|_{\min} = 0)

    Args:
      min_norm: :math:`n_{\min} \ge 0`, a floor for both norms.
      trust_coefficient: :math:`c \ge 0`, multiplies the ratio.
      eps: :math:`\epsilon \ge 0`, added to the update norm in the denominator.
      axis_name: The ``shard_map`` mesh axis (or tuple of axes) along which every leaf is
        split. The sums of squares behind the norms are summed over it, so that the
        ratio is the one of the whole leaf. ``None`` when each device holds whole leaves.

    On :class:`FlatParams` the norms of all the leaves of a bucket come from one pass over it
    by static segment ids, and the ratios are applied in another (same numbers, a few kernels
    per bucket instead of several per leaf). Complex leaves: norms of :math:`|x|`.

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If an argument is out of range; in ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.scale_by_trust_ratio()
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(None), params=jnp.array([0.0, 10.0]))[0]
      Array([6., 8.], dtype=float32)

    References:
      You et al., `Large Batch Training of Convolutional Networks
      <https://arxiv.org/abs/1708.03888>`_, 2017.

    .. note::
       Optax: ``optax.scale_by_trust_ratio(min_norm, trust_coefficient, eps)``, same
       numbers. ``axis_name`` is gradtx's addition for sharded leaves.
    """
    checks.non_negative("min_norm", min_norm)
    checks.non_negative("trust_coefficient", trust_coefficient)
    checks.non_negative("eps", eps)
    check_axis_name(axis_name)

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def ratio(update_sq: jax.Array, param_sq: jax.Array) -> jax.Array:
        param_norm = jnp.maximum(jnp.sqrt(param_sq), min_norm)
        update_norm = jnp.maximum(jnp.sqrt(update_sq), min_norm)
        r = trust_coefficient * param_norm / (update_norm + eps)
        return jnp.where((param_norm == 0) | (update_norm == 0), jnp.ones_like(r), r)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        checks.params_given(params, "the trust ratio")
        if isinstance(updates, flat.FlatParams):  # every leaf's norms in one pass over each bucket
            factors = jax.tree.map(
                ratio, flat.leaf_sums_of_squares(updates, axis_name), flat.leaf_sums_of_squares(params, axis_name)
            )
            return flat.leaf_scale(updates, factors), state

        def leaf(u: jax.Array, p: jax.Array) -> jax.Array:
            return u * ratio(sum_of_squares(u, axis_name), sum_of_squares(p, axis_name)).astype(u.dtype)

        return tree.map_float(leaf, updates, params), state

    return GradientTransformation(init, update)
