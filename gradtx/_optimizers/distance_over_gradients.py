"""Layer-wise DoG: a learning-rate-free step size, distance travelled over gradient norms."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, blame, transformation


class ScaleByDistanceOverGradientsState(NamedTuple):
    """State of :func:`scale_by_distance_over_gradients`."""

    max_dist: Any  # r_t per leaf: a scalar per leaf, float32 or wider
    grad_sum_of_squares: Any  # G_t per leaf: a scalar per leaf, float32 or wider
    init_params: Params  # p_0, in `param_dtype`


def _is_none(x: Any) -> bool:
    return x is None


@transformation(needs_leaves=True)
def scale_by_distance_over_gradients(
    reps_rel: float = 1e-6, eps: float = 1e-8, param_dtype: Any = jnp.float32, global_scale: float = 1.0
) -> GradientTransformation:
    r"""Layer-wise DoG (distance over gradients): a step size from how far each leaf has moved.

    For each leaf (a layer), with :math:`p_0` its initial value:

    .. math::

       r_0 = r_\epsilon (1 + \lVert p_0 \rVert), \qquad
       r_t = \max(r_{t-1}, \lVert p_t - p_0 \rVert), \qquad
       G_t = G_{t-1} + \lVert g_t \rVert^2, \qquad
       u_t = s \frac{r_t}{\sqrt{G_t + \epsilon}} g_t

    It stores a copy of the initial params and two scalars per leaf. Chain it with
    ``scale(-1.0)`` (or pass ``global_scale=-1.0``) to descend.

    Args:
      reps_rel: :math:`r_\epsilon > 0`, sets the first step (1e-6; 1e-4 with batch norm).
      eps: :math:`\epsilon \ge 0`, added under the square root.
      param_dtype: Storage dtype of :math:`p_0`.
      global_scale: :math:`s`, a factor on every update (typically 1 or -1).

    Returns:
      A :class:`GradientTransformation` whose state is
      :class:`ScaleByDistanceOverGradientsState`.

    Raises:
      ValueError: At ``update``, without ``params``.

    Examples:
      >>> tx = gradtx.scale_by_distance_over_gradients(reps_rel=0.1)
      >>> p = jnp.array([3.0, 4.0])
      >>> tx.update(jnp.array([1.0, 0.0]), tx.init(p), p)[0]
      Array([0.6, 0. ], dtype=float32)

    References:
      Ivgi et al., `DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size Schedule
      <https://arxiv.org/abs/2302.12022>`_, ICML 2023.

    .. note::
       Optax: ``optax.scale_by_distance_over_gradients``, same arguments and numbers, with
       one difference: Optax keeps :math:`G` as a shape-(1,) array per leaf, so a scalar
       leaf gets a shape-(1,) update (the params change shape); gradtx keeps scalars and
       every update has its leaf's shape.
    """
    checks.positive("reps_rel", reps_rel)
    checks.non_negative("eps", eps)
    checks.dtype_or_none("param_dtype", param_dtype)
    checks.real("global_scale", global_scale)

    def init(params: Params) -> ScaleByDistanceOverGradientsState:
        def radius(p: Any) -> Any:
            p = tree.as_array(p)
            if p is None:
                return None
            if not tree.is_float(p):
                return tree.replicated_like(p, jnp.zeros([], jnp.float32))
            dtype = tree.compute_dtype(p.dtype)
            return reps_rel * (1 + jnp.sqrt(jnp.sum(jnp.square(p.astype(dtype)))))

        def zero(p: Any) -> Any:
            p = tree.as_array(p)
            if p is None:
                return None
            return tree.replicated_like(p, jnp.zeros([], tree.compute_dtype(p.dtype) if tree.is_float(p) else jnp.float32))

        def copy(p: Any) -> Any:
            p = tree.as_array(p)
            return p if p is None or not tree.is_float(p) else jnp.array(p, dtype=param_dtype or p.dtype)

        return ScaleByDistanceOverGradientsState(
            jax.tree.map(radius, params, is_leaf=_is_none),
            jax.tree.map(zero, params, is_leaf=_is_none),
            jax.tree.map(copy, params, is_leaf=_is_none),
        )

    def update(
        updates: Updates, state: ScaleByDistanceOverGradientsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByDistanceOverGradientsState]:
        del extra_args
        params = checks.params_given(params, "scale_by_distance_over_gradients")
        leaves, treedef = jax.tree.flatten(updates, is_leaf=_is_none)
        try:
            columns = [
                tree.flatten_up_to(treedef, t)
                for t in (state.max_dist, state.grad_sum_of_squares, state.init_params, params)
            ]
        except (ValueError, TypeError):
            raise ValueError(blame("the state or the params do not match the updates' structure")) from None
        new_updates, radii, sums = [], [], []
        for g, r, s, p0, p in zip(leaves, *columns):
            if not tree.is_float(g):
                new_updates.append(g)
                radii.append(r)
                sums.append(s)
                continue
            g, p = tree.as_array(g), tree.as_array(p)
            if p0.shape != g.shape:
                raise ValueError(blame(f"the state does not match the updates (a leaf of shape {p0.shape} meets {g.shape})"))
            dtype = r.dtype
            r = jnp.maximum(r, jnp.sqrt(jnp.sum(jnp.square(p.astype(dtype) - p0.astype(dtype)))))
            s = s + jnp.sum(jnp.square(g.astype(dtype)))
            step = global_scale * (r / jnp.sqrt(s + eps))
            new_updates.append((step * g.astype(dtype)).astype(g.dtype))
            radii.append(r)
            sums.append(s)
        return jax.tree.unflatten(treedef, new_updates), ScaleByDistanceOverGradientsState(
            jax.tree.unflatten(treedef, radii), jax.tree.unflatten(treedef, sums), state.init_params
        )

    return GradientTransformation(init, update)
