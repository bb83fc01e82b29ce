"""SM3: Adagrad with one accumulator per row, column, ... of each leaf instead of per entry."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleBySM3State(NamedTuple):
    """State of :func:`scale_by_sm3`."""

    mu: Updates  # per leaf a tuple: for a leaf of shape (d_1, ..., d_k) (k >= 1), k vectors of
    #              shapes (d_1,), ..., (d_k,); a 0-d leaf keeps one scalar. In the params' dtype.
    nu: Updates  # momentum of the scaled updates: shaped like the params, in the params' dtype


def _is_none(x: Any) -> bool:
    return x is None


def _along_axis(vector: jax.Array, axis: int, ndim: int) -> jax.Array:
    """A vector of length ``shape[axis]`` reshaped to broadcast along ``axis`` of a rank-``ndim`` array."""
    return vector.reshape([-1 if i == axis else 1 for i in range(ndim)])


def _max_over_other_axes(x: jax.Array, axis: int) -> jax.Array:
    return jnp.max(x, axis=tuple(i for i in range(x.ndim) if i != axis))


def _accumulators(p: Any) -> tuple[jax.Array, ...] | None:
    if not tree.is_float(p):
        return None
    p = tree.as_array(p)  # a Python float leaf is a 0-d parameter
    if p.ndim == 0:
        return (tree.zeros_like(p),)
    # Zeros shaped (and, under explicit sharding, sharded) like the reduction of `p` to each axis.
    reduce = [functools.partial(_max_over_other_axes, axis=axis) for axis in range(p.ndim)]
    return tuple(f(tree.zeros_like(p)) for f in reduce)


@transformation(needs_leaves=True)
def scale_by_sm3(b1: float = 0.9, b2: float = 1.0, eps: float = 1e-8) -> GradientTransformation:
    r"""Rescale updates by SM3's cover-based accumulators (memory-efficient Adagrad).

    The scaling of :func:`sm3`. For a matrix it keeps a vector per row and per column
    (``d_1 + d_2`` numbers instead of ``d_1 d_2``); each entry's accumulator is the minimum
    over the covers containing it, which upper-bounds Adagrad's.

    .. math::

       a_t(i) = c\, g_t(i)^2 + \beta_2 \min_{r \ni i} \mu_{t-1}(r), \qquad
       \mu_t(r) = \max_{j \in r} a_t(j), \qquad c = 1 \text{ if } \beta_2 = 1 \text{ else } 1 - \beta_2 \\
       \nu_t = \beta_1 \nu_{t-1} + (1 - \beta_1) \frac{g_t}{\sqrt{a_t + \epsilon}}
       \ \big(\text{the fraction is 0 where } a_t = 0\big), \qquad u_t = \nu_t

    The covers :math:`r` of a leaf of rank :math:`k \ge 2` are its slices along each
    axis; a vector (or scalar) leaf keeps a full accumulator.

    Args:
      b1: :math:`\beta_1 \in [0, 1]`, decay of the momentum of scaled updates.
      b2: :math:`\beta_2 \in [0, 1]`, decay of the accumulators; 1 sums (SM3 proper).
      eps: :math:`\epsilon \ge 0`, added inside the square root.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleBySM3State`.

    Examples:
      >>> tx = gradtx.scale_by_sm3(b1=0.0)
      >>> tx.update(jnp.array([[3.0, -4.0]]), tx.init(jnp.zeros((1, 2))))[0].round(4)
      Array([[ 1., -1.]], dtype=float32)

    References:
      Anil et al., `Memory-Efficient Adaptive Optimization
      <https://arxiv.org/abs/1901.11150>`_, 2019.

    .. note::
       Optax: ``optax.scale_by_sm3(b1, b2, eps)``, same arguments and numbers on leaves
       of rank >= 1. Optax fails on 0-d leaves (it keeps no accumulator for them); gradtx
       gives them one scalar accumulator, as for a vector of length 1.
    """
    checks.interval("b1", b1, 0.0, 1.0)
    checks.interval("b2", b2, 0.0, 1.0)
    checks.non_negative("eps", eps)

    def init(params: Params) -> ScaleBySM3State:
        mu = jax.tree.map(_accumulators, params, is_leaf=_is_none)
        return ScaleBySM3State(mu, tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleBySM3State, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleBySM3State]:
        del params, extra_args

        def leaf(  # `mu`: this leaf's tuple of accumulators, in their storage dtype
            g: jax.Array, v: jax.Array, mu: tuple[jax.Array, ...]
        ) -> tuple[jax.Array, jax.Array, tuple[jax.Array, ...]]:
            coefficient = jnp.where(b2 == 1, 1.0, 1 - b2).astype(g.dtype)
            covers = [m.astype(g.dtype) for m in mu]
            if g.ndim < 2:  # one cover per entry: a full accumulator
                accumulator = coefficient * jnp.square(g) + b2 * covers[0]
                new_covers = [accumulator]
            else:  # the slices along each axis, broadcast back over the others
                spread = [_along_axis(c, axis, g.ndim) for axis, c in enumerate(covers)]
                accumulator = coefficient * jnp.square(g) + b2 * functools.reduce(jnp.minimum, spread)
                new_covers = [_max_over_other_axes(accumulator, axis) for axis in range(g.ndim)]
            scaled = g * jnp.where(accumulator > 0, jax.lax.rsqrt(accumulator + eps), 0)
            v = (1 - b1) * scaled + b1 * v
            return v, v, tuple(c.astype(m.dtype) for c, m in zip(new_covers, mu))

        updates, nu, mu = tree.map_unzip(leaf, updates, state.nu, state.mu)
        return updates, ScaleBySM3State(mu, nu)

    return GradientTransformation(init, update)


@transformation(needs_leaves=True)
def sm3(learning_rate: ScalarOrSchedule, momentum: float = 0.9) -> GradientTransformation:
    r"""SM3, with Optax's arguments, defaults and numbers.

    An Adagrad whose second-moment memory is sublinear in the size of each leaf: for
    very large embedding and attention matrices (see :func:`scale_by_sm3`).

    .. math::

       p_t = p_{t-1} - \eta_t \nu_t, \qquad
       \nu_t = \mu \nu_{t-1} + (1 - \mu) \frac{g_t}{\sqrt{a_t + 10^{-8}}}

    Composition: ``chain(scale_by_sm3(momentum), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      momentum: :math:`\mu \in [0, 1]`, decay of the momentum of scaled updates.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.sm3(0.5, momentum=0.0)
      >>> tx.update(jnp.array([[3.0, -4.0]]), tx.init(jnp.zeros((1, 2))))[0].round(4)
      Array([[-0.5,  0.5]], dtype=float32)

    References:
      Anil et al., `Memory-Efficient Adaptive Optimization
      <https://arxiv.org/abs/1901.11150>`_, 2019.

    .. note::
       Optax: ``optax.sm3(learning_rate, momentum)``, same arguments, defaults and numbers.
       Optax takes only a number as learning rate (``scale(-learning_rate)``); gradtx also
       takes a schedule. 0-d leaves work here (see :func:`scale_by_sm3`).
    """
    checks.learning_rate(learning_rate)
    checks.interval("momentum", momentum, 0.0, 1.0)
    return chain(scale_by_sm3(momentum), scale_by_learning_rate(learning_rate))
