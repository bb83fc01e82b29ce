"""Differentially private SGD: clip each example's gradient, add Gaussian noise, average."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, blame, transformation
from gradtx._core.combine import chain
from gradtx._transforms.momentum import trace
from gradtx._transforms.scale import scale_by_learning_rate


def _as_key(key: Any) -> jax.Array:
    """A typed PRNG key from a typed key, a raw ``uint32[2]`` key (``PRNGKey``) or an int seed."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if isinstance(key, jax.Array) and key.dtype == jnp.uint32:
        wrapped: jax.Array = jax.random.wrap_key_data(key)
        return wrapped
    return jax.random.key(key)


class DifferentiallyPrivateAggregateState(NamedTuple):
    """State of :func:`differentially_private_aggregate`."""

    rng_key: jax.Array  # typed PRNG key of the next noise draw


@transformation
def differentially_private_aggregate(
    l2_norm_clip: float,
    noise_multiplier: float,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    r"""Aggregate per-example gradients the DP-SGD way: clip, sum, add noise, average.

    The updates must be *per-example* gradients: every leaf has the batch as its first
    axis (of size :math:`B`, e.g. from ``jax.vmap(jax.grad(loss), (None, 0))``). Each
    example's gradient is scaled to global norm at most :math:`C`, the batch is summed and
    Gaussian noise of standard deviation :math:`\sigma C` is added to every entry:

    .. math::

       u = \frac{1}{B}\Big(\sum_{i=1}^B g_i \min\Big(1, \frac{C}{\lVert g_i \rVert}\Big)
       + \mathcal N(0, \sigma^2 C^2 I)\Big)

    Args:
      l2_norm_clip: :math:`C > 0`, the per-example norm bound.
      noise_multiplier: :math:`\sigma \ge 0`, noise relative to :math:`C`.
      key: A PRNG key or an int seed; ``None`` uses ``key(0)`` with a warning (as Optax).
      seed: Deprecated spelling of an int ``key`` (kept for Optax's signature; warns).

    Returns:
      A :class:`GradientTransformation` whose state is
      :class:`DifferentiallyPrivateAggregateState`. The updates have the batch axis removed.

    Raises:
      ValueError: If both ``key`` and ``seed`` are given.

    Examples:
      >>> tx = gradtx.differentially_private_aggregate(1.0, 0.0, key=0)
      >>> per_example = jnp.array([[3.0, 4.0], [0.3, 0.4]])
      >>> [round(x, 4) for x in tx.update(per_example, tx.init(jnp.zeros(2)))[0].tolist()]
      [0.45, 0.6]

    References:
      Abadi et al., `Deep Learning with Differential Privacy
      <https://arxiv.org/abs/1607.00133>`_, 2016.

    .. note::
       Optax: ``optax.contrib.differentially_private_aggregate``, same arguments and, for
       the same key, the same noise.
    """
    checks.positive("l2_norm_clip", l2_norm_clip)
    checks.non_negative("noise_multiplier", noise_multiplier)
    if seed is not None:
        warnings.warn('"seed" is deprecated; pass key=seed instead.', DeprecationWarning, stacklevel=3)
        if key is not None:
            raise ValueError(blame("give only one of `key` and `seed`"))
        key = seed
    if key is None:
        warnings.warn("differentially_private_aggregate: no key given, using key(0); pass key=...", stacklevel=3)
        key = 0
    start = _as_key(key)

    def init(params: Params) -> DifferentiallyPrivateAggregateState:
        del params
        return DifferentiallyPrivateAggregateState(jnp.copy(start))

    def update(
        updates: Updates, state: DifferentiallyPrivateAggregateState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, DifferentiallyPrivateAggregateState]:
        del params, extra_args
        leaves, treedef = jax.tree.flatten(updates)
        if not leaves or any(jnp.ndim(g) == 0 for g in leaves):
            raise ValueError(blame("the updates must be per-example gradients: every leaf needs a batch axis first"))
        batch = leaves[0].shape[0]
        dtype = tree.compute_dtype(*(g.dtype for g in leaves))
        norms = jnp.sqrt(sum(jnp.sum(jnp.square(g.astype(dtype)).reshape(batch, -1), axis=1) for g in leaves))
        factors = jnp.nan_to_num(jnp.minimum(l2_norm_clip / norms, 1.0), nan=1.0)
        new_key, *keys = jax.random.split(state.rng_key, len(leaves) + 1)
        std = l2_norm_clip * noise_multiplier
        out = []
        for g, k in zip(leaves, keys):
            clipped = jnp.tensordot(factors.astype(g.dtype), g, axes=1)
            noise = jax.random.normal(k, clipped.shape, g.dtype)
            out.append((clipped + std * noise) / batch)
        return jax.tree.unflatten(treedef, out), DifferentiallyPrivateAggregateState(new_key)

    return GradientTransformation(init, update)


@transformation
def dpsgd(
    learning_rate: ScalarOrSchedule,
    l2_norm_clip: float,
    noise_multiplier: float,
    seed: int,
    momentum: float | None = None,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""DP-SGD, with Optax's arguments, defaults and numbers.

    SGD (with optional momentum) on per-example gradients aggregated by
    :func:`differentially_private_aggregate`: every leaf of the gradients given to
    ``update`` has the batch as its first axis.

    Composition: ``chain(differentially_private_aggregate(C, σ, key=seed),
    [trace(momentum, nesterov)], scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      l2_norm_clip: :math:`C > 0`, the per-example norm bound.
      noise_multiplier: :math:`\sigma \ge 0`, noise relative to :math:`C`.
      seed: The integer seed of the noise.
      momentum: Momentum decay, or ``None`` for none.
      nesterov: Use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.dpsgd(0.1, l2_norm_clip=1.0, noise_multiplier=0.0, seed=0)
      >>> per_example = jnp.array([[3.0, 4.0], [0.3, 0.4]])
      >>> tx.update(per_example, tx.init(jnp.zeros(2)))[0]
      Array([-0.045, -0.06 ], dtype=float32)

    References:
      Abadi et al., `Deep Learning with Differential Privacy
      <https://arxiv.org/abs/1607.00133>`_, 2016.

    .. note::
       Optax: ``optax.contrib.dpsgd``, same arguments and, for the same seed, the same
       noise and numbers. Optax passes ``seed`` through a deprecated path that warns on
       every call; gradtx does not warn.
    """
    checks.learning_rate(learning_rate)
    checks.integer("seed", seed, minimum=-(2**63))
    parts = [differentially_private_aggregate(l2_norm_clip, noise_multiplier, key=seed)]
    if momentum is not None:
        parts.append(trace(momentum, nesterov=nesterov))
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)
