"""SGD with Polyak's step size, computed from the loss value and the gradient norm."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    active_path,
    transformation,
)
from gradtx._core.combine import chain
from gradtx._transforms.layerwise import check_axis_name, summed_over
from gradtx._transforms.scale import scale_by_learning_rate

_TINY = float(np.finfo(np.float64).eps)  # below this squared norm the step is 0 (Optax's threshold)


@transformation
def scale_by_polyak(
    f_min: float = 0.0,
    max_learning_rate: float = 1.0,
    eps: float = 0.0,
    variant: str = "sps",
    *,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""Scale the updates by Polyak's step size; needs the loss value (``update(..., value=f)``).

    The step of :func:`polyak_sgd`. With a good estimate :math:`f^\star` of the minimum
    it picks the step that would reach :math:`f^\star` on a linear model of the loss.

    .. math::

       \gamma = \min\left( \frac{f - f^\star}{\|u\|^2 + \epsilon}, \gamma_{\max} \right)
       \ \big(0 \text{ if } \|u\|^2 + \epsilon \le 2^{-52}\big), \qquad u \leftarrow \gamma u

    with :math:`\|u\|` the norm of the whole tree and, for ``variant="sps+"``,
    :math:`f - f^\star` replaced by :math:`\max(f - f^\star, 0)`.

    Args:
      f_min: :math:`f^\star`, a lower bound (estimate) of the loss.
      max_learning_rate: :math:`\gamma_{\max} \ge 0`, the largest step.
      eps: :math:`\epsilon \ge 0`, added to the squared norm.
      variant: ``"sps"`` or ``"sps+"`` (clip negative gaps to 0).
      axis_name: The ``shard_map`` axis along which leaves are split; the squared norm is
        summed over it, so it is the whole tree's.

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If an argument is out of range or ``variant`` is unknown.
      TypeError: In ``update``, if the keyword argument ``value`` is missing.

    Examples:
      >>> tx = gradtx.scale_by_polyak()
      >>> tx.update(jnp.array([1.0, 1.0]), tx.init(None), value=jnp.array(0.5))[0]
      Array([0.25, 0.25], dtype=float32)

    References:
      Loizou et al., `Stochastic Polyak Step-size for SGD: An Adaptive Learning Rate for
      Fast Convergence <https://arxiv.org/abs/2002.10542>`_, 2021.

    .. note::
       Optax: ``optax.scale_by_polyak(f_min, max_learning_rate, eps, variant)``, same
       arguments and numbers. ``axis_name`` is gradtx's addition.
    """
    checks.real("f_min", f_min)
    checks.non_negative("max_learning_rate", max_learning_rate)
    checks.non_negative("eps", eps)
    checks.one_of("variant", variant, ("sps", "sps+"))
    check_axis_name(axis_name)

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params
        if extra_args.get("value") is None:
            raise TypeError(
                f"{active_path()}: Polyak's step needs the loss value: "
                "call update(updates, state, params, value=loss)."
            )
        leaves = tree.leaves_of(updates)
        dtype = tree.compute_dtype(*(u.dtype for u in leaves))
        partial = tree.tree_sum([jnp.sum(jnp.square(u.astype(dtype))) for u in leaves])
        squared_norm = summed_over(partial, axis_name)
        gap = jnp.asarray(extra_args["value"]).astype(dtype) - f_min
        if variant == "sps+":
            gap = jnp.maximum(gap, 0)
        denominator = squared_norm + eps
        step = jnp.minimum(gap / denominator, max_learning_rate)
        step = jnp.where(denominator <= _TINY, jnp.zeros_like(step), step)
        return tree.map_float(lambda u: step.astype(u.dtype) * u, updates), state

    return GradientTransformation(init, update)


@transformation
def polyak_sgd(
    max_learning_rate: float = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: float = 0.0,
    eps: float = 0.0,
    variant: str = "sps",
    *,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""SGD with Polyak's step size, with Optax's arguments and numbers; needs ``value=loss``.

    For models that can interpolate the data (the minimum loss is known, often 0): the
    step size adapts to the current gap to the minimum, with no learning rate to tune.

    .. math::

       p_t = p_{t-1} - \min\left( \frac{f(p_{t-1}) - f^\star}{s_t^2 \|g_t\|^2 + \epsilon},
       \gamma_{\max} \right) s_t\, g_t

    Composition: ``chain(scale_by_learning_rate(s), scale_by_polyak(f_min,
    max_learning_rate, eps, variant))``; so the norm in the step is that of
    :math:`s_t g_t`.

    Args:
      max_learning_rate: :math:`\gamma_{\max} \ge 0`, the largest step.
      scaling: :math:`s_t \ge 0`, a number or a schedule, applied before the step size.
      f_min: :math:`f^\star`, a lower bound (estimate) of the loss.
      eps: :math:`\epsilon \ge 0`, added to the squared norm.
      variant: ``"sps"`` or ``"sps+"`` (clip negative gaps :math:`f - f^\star` to 0).
      axis_name: The ``shard_map`` axis along which leaves are split (whole-tree norm).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`) whose ``update`` needs the
      keyword argument ``value`` (the loss at the current params).

    Examples:
      >>> tx = gradtx.polyak_sgd()
      >>> params = jnp.array([1.0, 2.0])
      >>> value, grad = jax.value_and_grad(lambda p: jnp.sum(p ** 2))(params)
      >>> tx.update(grad, tx.init(params), params, value=value)[0]
      Array([-0.5, -1. ], dtype=float32)

    References:
      Loizou et al., `Stochastic Polyak Step-size for SGD: An Adaptive Learning Rate for
      Fast Convergence <https://arxiv.org/abs/2002.10542>`_, 2021.
      Garrigos et al., `Function Value Learning: Adaptive Learning Rates Based on the Polyak
      Stepsize and Function Splitting in ERM <https://arxiv.org/abs/2307.14528>`_, 2023 (sps+).

    .. note::
       Optax: ``optax.polyak_sgd(max_learning_rate, scaling, f_min, eps, variant)``, same
       arguments, defaults and numbers (including that ``scaling`` enters the norm).
       A call without ``value`` is a ``TypeError`` in both. ``axis_name`` is gradtx's addition.
    """
    checks.learning_rate(scaling, "scaling")
    return chain(
        scale_by_learning_rate(scaling),
        scale_by_polyak(f_min, max_learning_rate, eps, variant, axis_name=axis_name),
    )
