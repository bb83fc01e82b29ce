"""Dynamic loss scaling for float16 training: scale the loss, skip overflowing steps, adapt the scale."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform
from gradtx._transforms.robust import update_or_skip


class DynamicLossScaleState(NamedTuple):
    """State of :func:`dynamic_loss_scale`."""

    scale: jax.Array  # float32[]: the loss scale S of the next step (read by scale_loss)
    finite_steps: jax.Array  # int32[]: finite steps in a row since the scale changed (torch's growth tracker)
    last_finite: jax.Array  # bool[]: whether the last step's gradients were finite (False: it was skipped)
    total_notfinite: jax.Array  # int32[]: steps skipped since init
    inner_state: State  # the inner transformation's state, untouched by skipped steps


# The largest scale whose float32 reciprocal is a normal number: XLA flushes subnormals to zero,
# so a larger scale would unscale every gradient to 0.
MAX_SCALE = 2.0**126


def _unscale(grads: Updates, scale: jax.Array) -> Updates:
    """``grads * fl32(1 / scale)``, the reciprocal rounded once from the default float dtype (as torch)."""
    wide = jax.dtypes.canonicalize_dtype(jnp.float64)
    inverse = (1 / scale.astype(wide)).astype(jnp.float32)
    return tree.map_float(lambda g: g * inverse.astype(g.dtype), grads)


def _times(scale: jax.Array, factor: Any) -> jax.Array:
    """``scale * factor`` rounded once to float32, from the default float dtype (float64 under x64).

    torch computes the float32 scale times the float64 factor in double and rounds once;
    under ``jax_enable_x64`` this gives the same float32 for factors that are not powers of two.
    """
    wide = jax.dtypes.canonicalize_dtype(jnp.float64)
    return (scale.astype(wide) * tree.weak(factor)).astype(jnp.float32)


@transformation(complex_params="native")
def dynamic_loss_scale(
    inner: GradientTransformation,
    initial_scale: float = 2.0**15,
    growth_factor: float = 2.0,
    backoff_factor: float = 0.5,
    growth_interval: int = 2000,
    *,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""Dynamic loss scaling for float16 training: unscale, skip non-finite steps, adapt the scale.

    Float16 gradients underflow to zero below about :math:`6 \cdot 10^{-8}`; multiplying the
    loss by a large scale :math:`S` moves them into range. Wrap the whole optimizer, compute
    the gradients of :func:`scale_loss` (the loss times the state's scale) and give them to
    ``update``, which divides them by :math:`S` before ``inner`` sees them. A step whose
    gradients hold an infinity or a NaN (the scale was too large) is skipped, ``inner``'s
    state is left as it was, and the scale shrinks; after ``growth_interval`` finite steps
    in a row it grows again. With :math:`n_t` the finite steps in a row,

    .. math::

       (u_t, s_t) = \text{inner}(g_t / S_t, s_{t-1}) \ \text{if}\ g_t \ \text{is finite else}\ (0, s_{t-1}) \\
       S_{t+1} = \beta S_t \ \text{if not finite}, \quad \gamma S_t \ \text{if}\ n_t = N
       \ (\text{then}\ n_t \leftarrow 0), \quad S_t \ \text{otherwise}

    Args:
      inner: The transformation to protect (usually a whole optimizer). It sees unscaled
        gradients, so clipping inside it works on the true gradients.
      initial_scale: :math:`S_0 \in (0, 2^{126}]`, the first scale (Keras's default :math:`2^{15}`).
      growth_factor: :math:`\gamma > 1`, the factor applied after :math:`N` finite steps.
        The scale does not grow past :math:`2^{126}`, the largest float32 whose reciprocal
        is a normal number (XLA flushes smaller ones to zero).
      backoff_factor: :math:`\beta \in (0, 1)`, the factor applied on a non-finite step.
      growth_interval: :math:`N \ge 1`, the finite steps in a row before the scale grows.
      axis_name: Inside ``shard_map`` or ``pmap``, the name of the mapped axis over which
        the gradients differ or are split: every device skips as soon as one device sees
        a non-finite value, so the devices stay in step.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`DynamicLossScaleState`.

    Raises:
      TypeError: If ``inner`` is not a transformation or ``growth_interval`` not an int.
      ValueError: If an argument is outside the range given above.

    Examples:
      >>> tx = gradtx.dynamic_loss_scale(gradtx.sgd(0.1), initial_scale=8.0)
      >>> state = tx.init(jnp.zeros(2))
      >>> float(gradtx.scale_loss(jnp.array(0.5), state))
      4.0
      >>> updates, state = tx.update(jnp.array([8.0, jnp.inf]), state)
      >>> updates, state.scale, state.last_finite
      (Array([0., 0.], dtype=float32), Array(4., dtype=float32), Array(False, dtype=bool))
      >>> tx.update(jnp.array([4.0, 2.0]), state)[0]
      Array([-0.1 , -0.05], dtype=float32)

    References:
      Micikevicius et al., `Mixed Precision Training <https://arxiv.org/abs/1710.03740>`_,
      2018.

    .. note::
       PyTorch: ``scaler = torch.amp.GradScaler(init_scale, growth_factor, backoff_factor,
       growth_interval)`` with ``scaler.scale(loss).backward(); scaler.step(opt);
       scaler.update()`` -> ``dynamic_loss_scale(opt, initial_scale, growth_factor,
       backoff_factor, growth_interval)`` with ``grad(scale_loss(loss, state))`` and one
       ``update``: the same scales, skipped steps and trajectories (tested live). torch's
       ``init_scale`` defaults to :math:`2^{16}`; here :math:`2^{15}`, as Keras. torch
       lets the scale grow up to the largest finite float32, gradtx up to :math:`2^{126}`. torch
       refuses float16 gradients (keep float32 master params); here they are unscaled in
       float32 and cast back, so tiny ones can still underflow. Keep the params in float32
       and compute in float16, as torch's autocast does.

       Keras: ``LossScaleOptimizer(inner, initial_scale, dynamic_growth_steps)`` ->
       ``dynamic_loss_scale(inner, initial_scale, growth_interval=dynamic_growth_steps)``,
       and ``optimizer.scale_loss(loss)`` -> ``scale_loss(loss, state)``. Keras halves on
       a non-finite step and doubles after ``dynamic_growth_steps`` finite ones: the
       defaults here. Extra arguments (``value=``...) reach ``inner`` unchanged: pass the
       unscaled loss.
    """
    inner = _check_transform("dynamic_loss_scale", "`inner`", inner)
    checks.interval("initial_scale", initial_scale, 0.0, MAX_SCALE, low_open=True)
    checks.interval("growth_factor", growth_factor, 1.0, float("inf"), low_open=True, high_open=True)
    checks.interval("backoff_factor", backoff_factor, 0.0, 1.0, low_open=True, high_open=True)
    checks.integer("growth_interval", growth_interval, 1)

    def init(params: Params) -> DynamicLossScaleState:
        return DynamicLossScaleState(
            scale=tree.replicated_like(params, jnp.asarray(initial_scale, jnp.float32)),
            finite_steps=tree.zero_count(params),
            last_finite=tree.replicated_like(params, jnp.ones([], jnp.bool_)),
            total_notfinite=tree.zero_count(params),
            inner_state=inner.init(params),
        )

    def update(
        updates: Updates, state: DynamicLossScaleState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, DynamicLossScaleState]:
        finite = jnp.ones([], jnp.bool_)
        for leaf in tree.leaves_of(updates):
            finite = finite & jnp.all(jnp.isfinite(leaf))
        if axis_name is not None:
            finite = jax.lax.pmax((~finite).astype(jnp.int32), axis_name) == 0
        unscaled = _unscale(updates, state.scale)
        updates, inner_state = update_or_skip(finite, inner, unscaled, state.inner_state, params, extra_args)

        finite_steps = jnp.where(finite, tree.safe_increment(state.finite_steps), 0)
        grow = finite_steps >= growth_interval
        grown = _times(state.scale, growth_factor)
        kept_or_grown = jnp.where(grow & (grown <= MAX_SCALE), grown, state.scale)
        scale = jnp.where(finite, kept_or_grown, _times(state.scale, backoff_factor))
        total = jnp.where(finite, state.total_notfinite, tree.safe_increment(state.total_notfinite))
        new_state = DynamicLossScaleState(scale, jnp.where(grow, 0, finite_steps), finite, total, inner_state)
        return updates, new_state

    return GradientTransformation(init, update)


def _is_loss_scale(x: Any) -> bool:
    return isinstance(x, DynamicLossScaleState)


def _find(fn: str, state: State) -> DynamicLossScaleState:
    """The one :class:`DynamicLossScaleState` in ``state``, at any depth."""
    found = [x for x in jax.tree.leaves(state, is_leaf=_is_loss_scale) if _is_loss_scale(x)]
    if len(found) != 1:
        what = "no loss scale" if not found else f"{len(found)} loss scales"
        raise ValueError(
            f"{fn}: the state holds {what}; it needs exactly one, from "
            "gradtx.dynamic_loss_scale(...).init(params) (or call it on that part of the state)."
        )
    loss_scale: DynamicLossScaleState = found[0]
    return loss_scale


def scale_loss(loss: jax.Array, state: State) -> jax.Array:
    r"""The loss times the current loss scale: differentiate this, then give the gradients to ``update``.

    Computes :math:`S \cdot L` in float32 or wider and returns it in the loss's dtype (a
    float16 loss that overflows gives an infinite gradient, a skipped step and a smaller
    scale). Compute the loss in float32 where you can, as torch's autocast and Keras do.

    Args:
      loss: The loss :math:`L` (a floating array, usually a scalar).
      state: The state of a :func:`dynamic_loss_scale` transformation, or one holding it
        at any depth (a chain, a named chain, ...).

    Returns:
      :math:`S \cdot L`, in the dtype of ``loss``.

    Raises:
      ValueError: If ``state`` holds no loss scale, or several.

    Examples:
      >>> tx = gradtx.dynamic_loss_scale(gradtx.adam(1e-3), initial_scale=1024.0)
      >>> state = tx.init({"w": jnp.zeros(3)})
      >>> grads = jax.grad(lambda p: gradtx.scale_loss(jnp.sum(p["w"] ** 2), state))({"w": jnp.ones(3)})
      >>> grads["w"]
      Array([2048., 2048., 2048.], dtype=float32)

    .. note::
       PyTorch: ``scaler.scale(loss)``. Keras: ``optimizer.scale_loss(loss)``.
    """
    scale = _find("scale_loss", state).scale
    dtype = tree.compute_dtype(loss.dtype)
    return (loss.astype(dtype) * scale.astype(dtype)).astype(loss.dtype)


def unscale_gradients(grads: Updates, state: State) -> Updates:
    r"""Gradients of :func:`scale_loss` divided by the current scale: the true gradients.

    :func:`dynamic_loss_scale` unscales by itself before its inner transformation; use
    this to look at the gradients outside the optimizer (their norm, a histogram). Do not
    give its result to ``update``: it would be unscaled twice.

    .. math::

       g \leftarrow g \cdot \operatorname{fl}_{32}(1 / S)

    The reciprocal is rounded to float32 once (from float64 under ``jax_enable_x64``), and
    the product is computed in float32 or wider and cast back to each gradient's dtype.

    Args:
      grads: A pytree of gradients of the scaled loss.
      state: The state of a :func:`dynamic_loss_scale` transformation, or one holding it.

    Returns:
      The unscaled gradients, each leaf in its own dtype (non-floating leaves unchanged).

    Raises:
      ValueError: If ``state`` holds no loss scale, or several.

    Examples:
      >>> tx = gradtx.dynamic_loss_scale(gradtx.adam(1e-3), initial_scale=1024.0)
      >>> gradtx.unscale_gradients({"w": jnp.full(2, 2048.0)}, tx.init({"w": jnp.zeros(2)}))
      {'w': Array([2., 2.], dtype=float32)}

    .. note::
       PyTorch: ``scaler.unscale_(optimizer)`` (same float32 reciprocal). Keras (TF):
       ``optimizer.get_unscaled_gradients(grads)``.
    """
    return _unscale(grads, _find("unscale_gradients", state).scale)
