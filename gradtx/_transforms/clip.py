"""Clipping: element-wise, by the global norm, by each leaf's RMS, and unit-wise relative to the params."""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradtx._core import checks, flat, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    Updates,
    active_path,
    blame,
    transformation,
)


def _empty_init(params: Params) -> EmptyState:
    del params
    return EmptyState()


@transformation
def clip(max_delta: float | jax.Array) -> GradientTransformation:
    r"""Clip every element of the updates to :math:`[-\delta, \delta]`.

    A guard against single huge gradient entries; it changes the update's direction, so
    :func:`clip_by_global_norm` is usually the better first choice.

    .. math::

       u_i \leftarrow \min(\max(u_i, -\delta), \delta)

    Args:
      max_delta: :math:`\delta \ge 0`, the largest absolute value an element may keep.

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If ``max_delta < 0``.

    Examples:
      >>> tx = gradtx.clip(1.0)
      >>> tx.update(jnp.array([-3.0, 0.5, 2.0]), tx.init(None))[0]
      Array([-1. ,  0.5,  1. ], dtype=float32)

    .. note::
       Optax: ``optax.clip(max_delta)``, same numbers. PyTorch:
       ``torch.nn.utils.clip_grad_value_(params, clip_value)`` between ``backward()`` and
       ``step()`` is ``chain(clip(clip_value), optimizer)``. NaN elements stay NaN.
    """
    checks.non_negative("max_delta", max_delta)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args

        def leaf(u: jax.Array) -> jax.Array:
            delta = jnp.asarray(max_delta, u.dtype)
            return jnp.clip(u, -delta, delta)

        return tree.map_float(leaf, updates), state

    return GradientTransformation(_empty_init, update)


def _sum_of_squares(updates: Updates) -> jax.Array:
    """One real scalar: the sum of :math:`|x|^2` over all floating leaves (float32 or wider)."""
    leaves = tree.leaves_of(updates)
    dtype = tree.compute_dtype(*(x.dtype for x in leaves))
    return tree.tree_sum([jnp.sum(tree.abs_sq(x.astype(dtype))).real for x in leaves])


@transformation(complex_params="native")
def clip_by_global_norm(
    max_norm: float | jax.Array, *, eps: float | jax.Array = 0.0, axis_name: Any = None
) -> GradientTransformation:
    r"""Scale the updates down so that their global l2 norm is at most ``max_norm``.

    The norm is taken over all leaves as one vector, so the direction of the update is
    kept. Chain it first, before the optimizer: ``chain(clip_by_global_norm(1.0), adamw(...))``.

    .. math::

       \|g\| = \Big(\sum_{\text{leaves}} \sum_i g_i^2\Big)^{1/2}, \qquad
       u = g \cdot \min\!\Big(1, \frac{c}{\|g\| + \epsilon}\Big)

    The factor is one scalar computed from one reduction per leaf; the only tree built is
    the scaled output.

    Args:
      max_norm: :math:`c \ge 0`, the largest global norm the updates may keep.
      eps: :math:`\epsilon \ge 0`, added to the norm. ``1e-6`` reproduces
        ``torch.nn.utils.clip_grad_norm_``; ``0`` reproduces ``optax.clip_by_global_norm``.
      axis_name: Inside ``shard_map`` (or ``pmap``) over leaves that are *split* across
        devices along this mapped axis, the name of that axis: the sum of squares is then
        summed over it (``jax.lax.psum``) so every device scales by the global norm.
        Leave it ``None`` when each device holds whole leaves (e.g. gradients already
        averaged over a data-parallel axis).

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If ``max_norm < 0`` or ``eps < 0``.

    Examples:
      >>> tx = gradtx.clip_by_global_norm(1.0)
      >>> tx.update({"a": jnp.array([3.0]), "b": jnp.array([4.0])}, tx.init(None))[0]
      {'a': Array([0.6], dtype=float32), 'b': Array([0.8], dtype=float32)}

    References:
      Pascanu et al., `On the difficulty of training Recurrent Neural Networks
      <https://arxiv.org/abs/1211.5063>`_, 2013.

    .. note::
       PyTorch: ``loss.backward(); clip_grad_norm_(params, max_norm); opt.step()`` is
       ``chain(clip_by_global_norm(max_norm, eps=1e-6), opt)``, same numbers. Only the
       2-norm (torch's default ``norm_type=2``) is offered, and there is no
       ``error_if_nonfinite``: a non-finite norm makes the updates NaN; wrap the chain in
       :func:`apply_if_finite` to skip such steps. Optax: ``optax.clip_by_global_norm(max_norm)``
       is ``eps=0``, same numbers.
    """
    checks.non_negative("max_norm", max_norm)
    checks.non_negative("eps", eps)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        squares = _sum_of_squares(updates)
        if axis_name is not None:
            squares = jax.lax.psum(squares, axis_name)
        total = jnp.sqrt(squares) + jnp.asarray(eps, squares.dtype)
        limit = jnp.asarray(max_norm, squares.dtype)
        over = total > limit
        factor = jnp.where(over, limit / jnp.where(over, total, 1), 1)
        return tree.map_float(lambda u: u * factor.astype(u.dtype), updates), state

    return GradientTransformation(_empty_init, update)


@transformation(complex_params="native")
def clip_by_block_rms(threshold: float | jax.Array) -> GradientTransformation:
    r"""Scale each leaf down so that its root mean square is at most ``threshold``.

    A "block" is one leaf (a weight matrix, a bias vector): each is clipped on its own,
    unlike :func:`clip_by_global_norm`.

    .. math::

       \mathrm{rms}(u) = \Big(\tfrac{1}{n} \sum_i u_i^2\Big)^{1/2}, \qquad
       u \leftarrow u / \max\!\big(1, \mathrm{rms}(u) / \tau\big)

    Args:
      threshold: :math:`\tau > 0`, the largest RMS a leaf may keep.

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If ``threshold <= 0``.

    Examples:
      >>> tx = gradtx.clip_by_block_rms(1.0)
      >>> tx.update({"a": jnp.array([2.0, -2.0]), "b": jnp.array([0.5])}, tx.init(None))[0]
      {'a': Array([ 1., -1.], dtype=float32), 'b': Array([0.5], dtype=float32)}

    .. note::
       Optax: ``optax.clip_by_block_rms(threshold)``, same numbers. PyTorch has no
       equivalent. On :class:`FlatParams` every leaf of a bucket is clipped on its own, in
       one pass over the bucket (per-leaf sums by static segment ids).
    """
    checks.positive("threshold", threshold)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args

        def leaf(u: jax.Array) -> jax.Array:
            rms = jnp.sqrt(jnp.mean(tree.abs_sq(u)))
            return u / jnp.maximum(1, rms / jnp.asarray(threshold, u.dtype))

        if isinstance(updates, flat.FlatParams):

            def bucket(u: jax.Array, *, sizes: tuple[int, ...]) -> jax.Array:
                wide = u.astype(tree.compute_dtype(u.dtype))
                rms = jnp.sqrt(flat.segment_sums(jnp.square(wide), sizes) / np.maximum(sizes, 1).astype(wide.dtype))
                return flat.segment_scale(u, 1 / jnp.maximum(1, rms / jnp.asarray(threshold, wide.dtype)), sizes)

            return flat.map_per_leaf(bucket, lambda u: leaf(u) if tree.is_float(u) else u, updates), state
        return tree.map_float(leaf, updates), state

    return GradientTransformation(_empty_init, update)


def _unit_axes(x: jax.Array, axis: Any) -> Any:
    """The axes a unit-wise norm sums over: those given, or chosen from the leaf's rank."""
    if axis is not None:
        return axis
    if sum(d != 1 for d in x.shape) <= 1:  # scalars and vectors (size-1 axes ignored): one unit
        return None
    if x.ndim in (2, 3):  # dense (in, out) or multi-head dense kernels: one unit per output
        return 0
    if x.ndim in (4, 5):  # 2-D / 3-D convolutions (..., in, out): one unit per output channel
        return tuple(range(x.ndim - 1))
    raise ValueError(
        f"{active_path()}: cannot choose the unit-wise norm axes of a leaf of shape {tuple(x.shape)} "
        "(ranks 0-5 have defaults); pass `axis`."
    )


def _check_axis(axis: Any) -> None:
    ok = axis is None or isinstance(axis, numbers.Integral) or (
        isinstance(axis, tuple) and all(isinstance(a, numbers.Integral) for a in axis)
    )
    if not ok or isinstance(axis, bool):
        raise TypeError(blame(f"`axis` must be None, an int or a tuple of ints, got axis={axis!r}"))


@transformation
def adaptive_grad_clip(
    clipping: float | jax.Array, eps: float | jax.Array = 1e-3, axis: int | tuple[int, ...] | None = None
) -> GradientTransformation:
    r"""Adaptive gradient clipping (AGC): clip each unit's update relative to its weights' norm.

    A unit is one output neuron or channel (a column of a dense kernel, an output channel
    of a convolution; a whole vector or scalar leaf). Used to train normalizer-free
    networks with large batches. Needs the params.

    .. math::

       \ell = c \cdot \max(\|p\|_{\text{unit}}, \epsilon), \qquad
       u = g \ \text{if}\ \|g\|_{\text{unit}} < \ell
       \ \text{else}\ g \cdot \ell / \max(\|g\|_{\text{unit}}, 10^{-6})

    Args:
      clipping: :math:`c \ge 0`, the largest allowed ratio of a unit's update norm to its
        weight norm.
      eps: :math:`\epsilon \ge 0`, the smallest weight norm used, so that units initialized
        at zero can still move.
      axis: The axes a unit's norm sums over. ``None`` chooses from the rank: the whole
        leaf for scalars and vectors, axis 0 for rank 2-3, all but the last axis for rank
        4-5 (dense kernels ``(in, out)``, convolution kernels ``(..., in, out)``).

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If ``clipping < 0`` or ``eps < 0``; in ``update``, if ``params`` is not
        given, or a leaf has rank above 5 and ``axis`` is ``None``.
      TypeError: If ``axis`` is not ``None``, an int or a tuple of ints.

    Examples:
      >>> tx = gradtx.adaptive_grad_clip(0.1)
      >>> params = jnp.array([3.0, 4.0])
      >>> tx.update(jnp.array([6.0, 8.0]), tx.init(params), params)[0]
      Array([0.3, 0.4], dtype=float32)

    References:
      Brock et al., `High-Performance Large-Scale Image Recognition Without
      Normalization <https://arxiv.org/abs/2102.06171>`_, 2021.

    .. note::
       Optax: ``optax.adaptive_grad_clip(clipping, eps, axis)``, same numbers and the same
       choice of units. PyTorch has no equivalent. On :class:`FlatParams` the units are those
       of the original leaves: each bucket is cut into its leaves for the norms (a kernel per
       leaf, as on the params tree).
    """
    checks.non_negative("clipping", clipping)
    checks.non_negative("eps", eps)
    _check_axis(axis)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        checks.params_given(params, "adaptive clipping")

        def leaf(g: jax.Array, p: jax.Array) -> jax.Array:
            axes = _unit_axes(g, axis)
            g_norm = jnp.sqrt(jnp.sum(jnp.square(g), axis=axes, keepdims=True))
            p_norm = jnp.sqrt(jnp.sum(jnp.square(p), axis=axes, keepdims=True))
            limit = jnp.asarray(clipping, g.dtype) * jnp.maximum(p_norm, jnp.asarray(eps, g.dtype))
            factor = jnp.where(g_norm < limit, 1, limit / jnp.maximum(g_norm, 1e-6))
            return g * factor

        if isinstance(updates, flat.FlatParams):
            if not isinstance(params, flat.FlatParams):
                raise TypeError(blame("the updates are FlatParams, so `params` must be the FlatParams they belong to"))
            return flat.map_leaves(lambda g, p: leaf(g, p) if tree.is_float(g) else g, updates, params), state
        return tree.map_float(leaf, updates, params), state

    return GradientTransformation(_empty_init, update)
