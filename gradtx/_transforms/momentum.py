"""Moving averages of the updates: heavy-ball momentum (torch's and Optax's) and exponential averages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, blame, transformation


class MomentumState(NamedTuple):
    """State of :func:`scale_by_momentum`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    buffer: Updates  # b_t: shaped like the params, in the params' dtype (or `dtype`)


@transformation(complex_params="native")
def scale_by_momentum(
    momentum: float, *, dampening: float = 0.0, nesterov: bool = False, dtype: Any = None
) -> GradientTransformation:
    r"""Heavy-ball momentum, with PyTorch's conventions.

    The momentum of :func:`gradtx.torch.SGD`; :func:`trace` is the same without dampening.

    .. math::

       b_1 = g_1, \qquad b_t = \mu b_{t-1} + (1 - \tau) g_t, \qquad
       u_t = g_t + \mu b_t \ \text{(nesterov)} \quad \text{or} \quad u_t = b_t

    Args:
      momentum: Buffer decay :math:`\mu \ge 0`.
      dampening: Weight :math:`\tau` taken off new gradients from step 2 on.
      nesterov: Return :math:`g_t + \mu b_t`. Requires ``dampening == 0``.
      dtype: Storage dtype of the buffer; ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MomentumState`.

    Raises:
      ValueError: If ``momentum < 0``, or ``nesterov`` with nonzero ``dampening``.

    Examples:
      >>> tx = gradtx.scale_by_momentum(0.9)
      >>> _, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> tx.update(jnp.ones(2), state)[0]
      Array([1.9, 1.9], dtype=float32)

    .. note::
       PyTorch: the momentum part of ``torch.optim.SGD``. The buffer starts at the first
       gradient, not at zero, so ``dampening`` does not touch step 1 (Sutskever et al.
       start from zero; Optax's ``trace`` does too).
    """
    checks.non_negative("momentum", momentum)
    checks.real("dampening", dampening)
    checks.boolean("nesterov", nesterov)
    checks.dtype_or_none("dtype", dtype)
    if nesterov and not checks.is_static_zero(dampening):
        raise ValueError(
            blame(f"`nesterov=True` needs `dampening=0`, got dampening={dampening!r}; torch.optim.SGD rejects it too")
        )

    def init(params: Params) -> MomentumState:
        return MomentumState(tree.zero_count(params), tree.zeros_like(params, dtype))

    def update(
        updates: Updates, state: MomentumState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MomentumState]:
        del params, extra_args
        first = state.count == 0

        def leaf(g: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
            if checks.is_static_zero(dampening):  # from b = 0, momentum * b + g is torch's b = g
                return _heavy_ball(momentum, nesterov)(g, b)
            b = jnp.where(first, g, momentum * b + (1 - dampening) * g)
            return (g + momentum * b if nesterov else b), b

        updates, buffer = tree.map_unzip(leaf, updates, state.buffer)
        return updates, MomentumState(tree.safe_increment(state.count), buffer)

    return GradientTransformation(init, update)


class TraceState(NamedTuple):
    """State of :func:`trace`."""

    trace: Updates  # b_t: shaped like the params, in the params' dtype (or `accumulator_dtype`)


def _heavy_ball(
    momentum: float, nesterov: bool
) -> Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
    """The per-leaf heavy ball from ``b_0 = 0``: ``b = μ b + g``, then ``u = g + μ b`` (nesterov) or ``b``."""

    def leaf(g: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
        b = momentum * b + g
        return (g + momentum * b if nesterov else b), b

    return leaf


@transformation(complex_params="native")
def trace(decay: float, nesterov: bool = False, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Heavy-ball momentum started at zero (a trace of past updates), with Optax's conventions.

    The momentum of :func:`sgd`, :func:`rmsprop` and :func:`lars`.

    .. math::

       b_0 = 0, \qquad b_t = \mu b_{t-1} + g_t, \qquad
       u_t = g_t + \mu b_t \ \text{(nesterov)} \quad \text{or} \quad u_t = b_t

    Args:
      decay: Buffer decay :math:`\mu \ge 0`.
      nesterov: Return :math:`g_t + \mu b_t` (Nesterov momentum).
      accumulator_dtype: Storage dtype of the buffer; ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`TraceState`.

    Raises:
      ValueError: If ``decay < 0``.

    Examples:
      >>> tx = gradtx.trace(0.9)
      >>> _, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> tx.update(jnp.ones(2), state)[0]
      Array([1.9, 1.9], dtype=float32)

    .. note::
       Optax: ``optax.trace(decay, nesterov, accumulator_dtype)``, same arguments and
       numbers. It is :func:`scale_by_momentum` without dampening (torch's buffer
       :math:`b_1 = g_1` is :math:`\mu \cdot 0 + g_1`).
    """
    checks.non_negative("decay", decay)
    checks.boolean("nesterov", nesterov)
    checks.dtype_or_none("accumulator_dtype", accumulator_dtype)

    def init(params: Params) -> TraceState:
        return TraceState(tree.zeros_like(params, accumulator_dtype))

    def update(
        updates: Updates, state: TraceState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, TraceState]:
        del params, extra_args
        updates, buffer = tree.map_unzip(_heavy_ball(decay, nesterov), updates, state.trace)
        return updates, TraceState(buffer)

    return GradientTransformation(init, update)


class EmaState(NamedTuple):
    """State of :func:`ema`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    ema: Updates  # v_t: shaped like the params, in the params' dtype (or `accumulator_dtype`)


@transformation(complex_params="native")
def ema(decay: float, debias: bool = True, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Exponential moving average of the updates.

    .. math::

       v_t = \beta v_{t-1} + (1 - \beta) g_t, \quad v_0 = 0, \qquad
       u_t = v_t / (1 - \beta^t) \ \text{(debias)} \quad \text{or} \quad u_t = v_t

    Args:
      decay: :math:`\beta \in [0, 1]`.
      debias: Divide by :math:`1 - \beta^t` so early averages are not biased to zero.
      accumulator_dtype: Storage dtype of the average; ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`EmaState`.

    Examples:
      >>> tx = gradtx.ema(0.5)
      >>> tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))[0]
      Array([1., 1.], dtype=float32)

    .. note::
       Optax: ``optax.ema(decay, debias, accumulator_dtype)``, same arguments and numbers.
    """
    checks.interval("decay", decay, 0.0, 1.0)
    checks.boolean("debias", debias)
    checks.dtype_or_none("accumulator_dtype", accumulator_dtype)

    def init(params: Params) -> EmaState:
        return EmaState(tree.zero_count(params), tree.zeros_like(params, accumulator_dtype))

    def update(
        updates: Updates, state: EmaState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmaState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction = tree.bias_correction(decay, count) if debias else 1.0

        def leaf(g: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
            v = decay * v + (1 - decay) * g
            return v / correction, v

        updates, average = tree.map_unzip(leaf, updates, state.ema)
        return updates, EmaState(count, average)

    return GradientTransformation(init, update)
