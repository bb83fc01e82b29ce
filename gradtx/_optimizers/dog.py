"""DoG and DoWG: step sizes from the distance travelled over the gradients' norms (no learning rate to tune)."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    identity,
    transformation,
)
from gradtx._core.combine import chain
from gradtx._optimizers import _contrib
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate

_INIT_STEPS = ("distance", "learning_rate", "heuristic")


class DoGState(NamedTuple):
    """State of :func:`scale_by_dog` (in :func:`dog`)."""

    is_init_step: jax.Array  # bool[]: whether no update has been applied yet
    init_params: Params  # x_0, the params given to init (a copy)
    max_dist: jax.Array  # float[]: r_t, the largest distance from x_0 so far
    sum_sq_norm_grads: jax.Array  # float[]: G_t, the sum of squared gradient norms


class DoWGState(NamedTuple):
    """State of :func:`scale_by_dowg` (in :func:`dowg`)."""

    init_params: Params  # x_0, the params given to init (a copy)
    weighted_sq_norm_grads: jax.Array  # float[]: v_t
    estim_sq_dist: jax.Array  # float[]: r_t^2, the largest squared distance from x_0 so far


def _sq_distance(a: Params, b: Params, like: Updates) -> jax.Array:
    return _contrib.reduce_sum(lambda u, x, y: jnp.sum(jnp.square(x - y)), like, a, b)


def _sq_norm(updates: Updates) -> jax.Array:
    return _contrib.reduce_sum(lambda u: jnp.sum(jnp.square(u)), updates)


@transformation
def scale_by_dog(
    init_step: tuple[Literal["distance", "learning_rate", "heuristic"], float],
    eps: float = 1e-8,
) -> GradientTransformation:
    r"""Scale updates by DoG's step size: the largest distance from the start over the root sum of squared gradient norms.

    .. math::

       r_t = \max(r_{t-1}, \|x_t - x_0\|), \qquad G_t = G_{t-1} + \|g_t\|^2, \qquad
       u_t = \frac{r_t}{\sqrt{G_t + \epsilon}}\, g_t

    Args:
      init_step: How the first step is set: ``("distance", r)`` starts with
        :math:`r_0 = r`; ``("heuristic", α)`` with :math:`r_0 = α (1 + \|x_0\|)`;
        ``("learning_rate", η)`` makes the first step :math:`\eta g_1` (and :math:`r_0 = 0`).
      eps: :math:`\epsilon \ge 0`, added under the root.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`DoGState`; ``update`` needs
      ``params``. The updates are not negated: :func:`dog` follows with
      :func:`scale_by_learning_rate`.

    Raises:
      ValueError: If ``init_step``'s kind is not one of the three.

    Examples:
      >>> tx = gradtx.scale_by_dog(("distance", 0.5))
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(params), params)[0]
      Array([0.3, 0.4], dtype=float32)

    .. note::
       Optax: ``optax.contrib._dog.scale_by_dog(init_step, eps)`` (not exported by
       ``optax.contrib``), same arguments and numbers.
    """
    kind, value = init_step
    checks.one_of("init_step[0]", kind, _INIT_STEPS)
    checks.non_negative("init_step[1]", value)
    checks.non_negative("eps", eps)

    def init(params: Params) -> DoGState:
        if kind == "distance":
            r0: Any = value
        elif kind == "heuristic":
            r0 = value * (1 + jnp.sqrt(_sq_norm(params)))
        else:
            r0 = 0.0
        dtype = _contrib.scalar_dtype(params)
        return DoGState(
            tree.replicated_like(params, jnp.asarray(True)),
            _contrib.copy_params(params),
            _contrib.scalar(params, jnp.asarray(r0).astype(dtype), dtype),
            _contrib.scalar(params, 0.0, dtype),
        )

    def update(
        updates: Updates, state: DoGState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, DoGState]:
        del extra_args
        params = checks.params_given(params, "scale_by_dog")
        dtype = state.max_dist.dtype
        dist = jnp.sqrt(_sq_distance(state.init_params, params, updates)).astype(dtype)
        max_dist = jnp.maximum(state.max_dist, dist)
        sum_sq = state.sum_sq_norm_grads + _sq_norm(updates).astype(dtype)
        rate = max_dist / jnp.sqrt(sum_sq + eps)
        if kind == "learning_rate":
            rate = jnp.where(state.is_init_step, jnp.asarray(value, dtype), rate)
        rate = tree.weak(rate)
        new_updates = tree.map_float(lambda g: rate * g, updates)
        return new_updates, DoGState(jnp.zeros_like(state.is_init_step), state.init_params, max_dist, sum_sq)

    return GradientTransformation(init, update)


@transformation
def dog(
    learning_rate: ScalarOrSchedule = 1.0,
    init_step: tuple[Literal["distance", "learning_rate", "heuristic"], float] = ("heuristic", 1e-6),
    eps: float = 1e-8,
    weight_decay: float | None = None,
    mask: Any = None,
) -> GradientTransformation:
    r"""DoG (Distance over Gradients): SGD whose step size is the distance travelled over the gradients' norms.

    .. math::

       x_{t+1} = x_t - \eta_t \frac{\max_{k \le t} \|x_k - x_0\|}{\sqrt{\sum_{k \le t} \|g_k\|^2 + \epsilon}}\, g_t

    Composition: ``chain(add_decayed_weights(weight_decay, mask) (if given),
    scale_by_dog(init_step, eps), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a multiplier of DoG's step size (1 as in the
        paper); a number or a schedule.
      init_step: The first step's size, see :func:`scale_by_dog`.
      eps: :math:`\epsilon \ge 0`, added under the root.
      weight_decay: Weight decay added to the gradient; ``None`` for none.
      mask: Which params the weight decay applies to (see :func:`add_decayed_weights`).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); ``update`` needs ``params``.

    Examples:
      >>> tx = gradtx.dog(init_step=("distance", 0.5))
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(params), params)[0]
      Array([-0.3, -0.4], dtype=float32)

    References:
      Ivgi, Hinder and Carmon, `DoG is SGD's Best Friend: A Parameter-Free Dynamic Step
      Size Schedule <https://arxiv.org/abs/2302.12022>`_, 2023.

    .. note::
       Optax: ``optax.contrib.dog(learning_rate, init_step, eps, weight_decay, mask)``,
       same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        identity() if weight_decay is None else add_decayed_weights(weight_decay, mask),
        scale_by_dog(init_step, eps),
        scale_by_learning_rate(learning_rate),
    )


@transformation
def scale_by_dowg(init_estim_sq_dist: float | None = None, eps: float = 1e-4) -> GradientTransformation:
    r"""Scale updates by DoWG's step size: distance-weighted, normalized gradient steps.

    .. math::

       r_t^2 = \max(r_{t-1}^2, \|x_t - x_0\|^2), \qquad v_t = v_{t-1} + r_t^2 \|g_t\|^2,
       \qquad u_t = \frac{r_t^2}{\sqrt{v_t} + \epsilon}\, g_t

    Args:
      init_estim_sq_dist: :math:`r_0^2 \ge 0`; ``None`` means ``eps``.
      eps: :math:`\epsilon \ge 0`, added to the denominator.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`DoWGState`; ``update`` needs
      ``params``. The updates are not negated (see :func:`dowg`).

    Examples:
      >>> tx = gradtx.scale_by_dowg(1.0)
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(params), params)[0]
      Array([0.599988, 0.799984], dtype=float32)

    .. note::
       Optax: ``optax.contrib._dog.scale_by_dowg(init_estim_sq_dist, eps)`` (not exported
       by ``optax.contrib``), same arguments and numbers.
    """
    if init_estim_sq_dist is not None:
        checks.non_negative("init_estim_sq_dist", init_estim_sq_dist)
    checks.non_negative("eps", eps)

    def init(params: Params) -> DoWGState:
        r0 = eps if init_estim_sq_dist is None else init_estim_sq_dist
        return DoWGState(
            _contrib.copy_params(params), _contrib.scalar(params, 0.0), _contrib.scalar(params, r0)
        )

    def update(
        updates: Updates, state: DoWGState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, DoWGState]:
        del extra_args
        params = checks.params_given(params, "scale_by_dowg")
        dtype = state.estim_sq_dist.dtype
        sq_dist = jnp.maximum(
            state.estim_sq_dist, _sq_distance(state.init_params, params, updates).astype(dtype)
        )
        weighted = sq_dist * _sq_norm(updates).astype(dtype) + state.weighted_sq_norm_grads
        rate = tree.weak(sq_dist / (jnp.sqrt(weighted) + eps))
        new_updates = tree.map_float(lambda g: rate * g, updates)
        return new_updates, DoWGState(state.init_params, weighted, sq_dist)

    return GradientTransformation(init, update)


@transformation
def dowg(
    learning_rate: ScalarOrSchedule = 1.0,
    init_estim_sq_dist: float | None = None,
    eps: float = 1e-4,
    weight_decay: float | None = None,
    mask: Any = None,
) -> GradientTransformation:
    r"""DoWG (Distance over Weighted Gradients): a parameter-free normalized gradient method.

    .. math::

       x_{t+1} = x_t - \eta_t \frac{r_t^2}{\sqrt{\sum_{k \le t} r_k^2 \|g_k\|^2} + \epsilon}\, g_t,
       \qquad r_t^2 = \max_{k \le t} \|x_k - x_0\|^2

    Composition: ``chain(add_decayed_weights(weight_decay, mask) (if given),
    scale_by_dowg(init_estim_sq_dist, eps), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a multiplier of DoWG's step size; a number or a
        schedule.
      init_estim_sq_dist: :math:`r_0^2`; ``None`` means ``eps``.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      weight_decay: Weight decay added to the gradient; ``None`` for none.
      mask: Which params the weight decay applies to (see :func:`add_decayed_weights`).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); ``update`` needs ``params``.

    Examples:
      >>> tx = gradtx.dowg(init_estim_sq_dist=1.0)
      >>> params = jnp.zeros(2)
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(params), params)[0]
      Array([-0.599988, -0.799984], dtype=float32)

    References:
      Khaled, Mishchenko and Jin, `DoWG Unleashed: An Efficient Universal Parameter-Free
      Gradient Descent Method <https://arxiv.org/abs/2305.16284>`_, 2023.

    .. note::
       Optax: ``optax.contrib.dowg(learning_rate, init_estim_sq_dist, eps, weight_decay,
       mask)``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        identity() if weight_decay is None else add_decayed_weights(weight_decay, mask),
        scale_by_dowg(init_estim_sq_dist, eps),
        scale_by_learning_rate(learning_rate),
    )
