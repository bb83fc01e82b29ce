"""Reduce the step size when a monitored metric stops improving (torch's ReduceLROnPlateau)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, active_path, transformation


class ReduceOnPlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau`."""

    scale: jax.Array  # float[] (the default float dtype): the factor the next update is multiplied by
    best: jax.Array  # float[]: the best metric so far (+inf in mode "min", -inf in mode "max", before any)
    num_bad: jax.Array  # int32[]: metrics in a row that did not improve on `best`
    cooldown_left: jax.Array  # int32[]: metrics still to ignore after the last reduction


@transformation
def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int = 0,
    min_scale: float = 0.0,
    eps: float = 1e-8,
    mode: str = "min",
) -> GradientTransformation:
    r"""Multiply updates by a scale that drops by ``factor`` when a metric stops improving.

    Chain it after an optimizer, ``chain(sgd(lr, momentum=0.9), reduce_on_plateau())``,
    and pass the monitored metric (a validation loss, say) as ``update(..., value=metric)``.
    One call with ``value`` is one ``ReduceLROnPlateau.step(metric)`` made *after* that
    update: the update is scaled by the scale in effect before, and a reduction applies
    from the next update on. Calls without ``value`` apply the current scale and leave
    the plateau state alone. With :math:`m_k` the :math:`k`-th metric, in mode ``"min"``:

    .. math::

       \text{better}_k = m_k < b - \theta |b| \ \text{(rel)} \ \text{or} \ m_k < b - \theta \ \text{(abs)},
       \qquad b \leftarrow m_k \ \text{if better}_k \\
       n \leftarrow 0 \ \text{if better}_k \text{ or in cooldown, else } n + 1; \qquad
       \text{if } n > \text{patience}: \ s \leftarrow \max(\gamma s, s_{min})
       \ \text{(if that drops } s \text{ by more than } \varepsilon)

    (mode ``"max"`` mirrors the comparisons). After a reduction, ``cooldown`` metrics are
    ignored before bad ones are counted again.

    Args:
      factor: :math:`\gamma \in [0, 1)`, the multiplier of a reduction.
      patience: Metrics without improvement tolerated (an integer >= 0); the next one reduces.
      threshold: :math:`\theta \ge 0`, the improvement that counts as one.
      threshold_mode: ``"rel"`` (relative to :math:`|b|`) or ``"abs"``.
      cooldown: Metrics ignored after a reduction (an integer >= 0).
      min_scale: :math:`s_{min} \ge 0`, the lowest scale (torch's ``min_lr`` divided by ``lr``).
      eps: :math:`\varepsilon \ge 0`: a reduction of the scale by less than this is skipped.
      mode: ``"min"`` if lower metrics are better, ``"max"`` if higher ones are.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ReduceOnPlateauState`;
      ``state.scale`` is the current factor.

    Raises:
      ValueError: If an argument is outside its range or ``mode``/``threshold_mode`` is
        unknown; in ``update``, if ``value`` is not a scalar.

    Examples:
      >>> tx = gradtx.reduce_on_plateau(factor=0.5, patience=0)
      >>> state = tx.init(jnp.zeros(1))
      >>> for metric in [3.0, 3.0, 3.0]:
      ...     updates, state = tx.update(jnp.ones(1), state, value=metric)
      ...     print(updates, state.scale)
      [1.] 1.0
      [1.] 0.5
      [0.5] 0.25

    .. note::
       PyTorch: ``optimizer = SGD(params, lr, ...); ReduceLROnPlateau(optimizer, mode,
       factor, patience, threshold, threshold_mode, cooldown, min_lr, eps)`` with
       ``scheduler.step(metric)`` after each ``optimizer.step()`` -> ``chain(sgd(lr, ...),
       reduce_on_plateau(factor, patience, threshold, threshold_mode, cooldown,
       min_scale=min_lr / lr, eps, mode))`` with ``update(..., value=metric)``. Deviations:
       ``eps`` compares scales, not learning rates (the same when ``lr == 1``); and the
       relative threshold is taken of :math:`|b|`, so a plateau at a *negative* metric is
       detected. torch (and Optax) multiply :math:`b` by :math:`1 \mp \theta`, which for
       :math:`b < 0` moves the bar the wrong way: a constant or slowly worsening negative
       metric counts as an improvement and the rate is never reduced. For
       :math:`b \ge 0` the comparison is torch's, operation for operation. Optax:
       ``optax.contrib.reduce_on_plateau(factor, patience, rtol, atol, cooldown,
       accumulation_size, min_scale)`` applies a reduction to the same update that
       carries the metric and has no mode ``"max"``.
    """
    checks.interval("factor", factor, 0.0, 1.0, high_open=True)
    checks.integer("patience", patience)
    checks.non_negative("threshold", threshold)
    checks.one_of("threshold_mode", threshold_mode, ("rel", "abs"))
    checks.integer("cooldown", cooldown)
    checks.non_negative("min_scale", min_scale)
    checks.non_negative("eps", eps)
    checks.one_of("mode", mode, ("min", "max"))
    sign = 1.0 if mode == "min" else -1.0  # Mode "max" is mode "min" on the negated metric.

    def is_better(metric: jax.Array, best: jax.Array) -> jax.Array:
        m, b = sign * metric, sign * best
        if threshold_mode == "abs":
            return m < b - threshold
        # b * (1 - θ) is torch's own expression for b >= 0; for b < 0 the bar is b * (1 + θ).
        return m < jnp.where(b >= 0, b * (1 - threshold), b * (1 + threshold))

    def init(params: Params) -> ReduceOnPlateauState:
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)  # the default float dtype (float32 without x64)
        return ReduceOnPlateauState(
            scale=tree.replicated_like(params, jnp.ones([], dtype)),
            best=tree.replicated_like(params, jnp.full([], sign * jnp.inf, dtype)),
            num_bad=tree.zero_count(params),
            cooldown_left=tree.zero_count(params),
        )

    def update(
        updates: Updates, state: ReduceOnPlateauState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ReduceOnPlateauState]:
        del params
        updates = tree.map_float(lambda u: u * state.scale.astype(u.dtype), updates)
        value = extra_args.get("value")
        if value is None:
            return updates, state
        if jnp.shape(value) != ():
            raise ValueError(
                f"{active_path()}: `value` must be a scalar metric, got shape {jnp.shape(value)}."
            )
        metric = jnp.asarray(value).astype(state.best.dtype)
        better = is_better(metric, state.best)
        best = jnp.where(better, metric, state.best)
        num_bad = jnp.where(better, 0, tree.safe_increment(state.num_bad))
        in_cooldown = state.cooldown_left > 0
        cooldown_left = jnp.where(in_cooldown, state.cooldown_left - 1, state.cooldown_left)
        num_bad = jnp.where(in_cooldown, 0, num_bad)
        reduce = num_bad > patience
        lowered = jnp.maximum(state.scale * factor, min_scale)
        scale = jnp.where(reduce & (state.scale - lowered > eps), lowered, state.scale)
        cooldown_left = jnp.where(reduce, cooldown, cooldown_left).astype(jnp.int32)
        num_bad = jnp.where(reduce, 0, num_bad).astype(jnp.int32)
        return updates, ReduceOnPlateauState(scale, best, num_bad, cooldown_left)

    return GradientTransformation(init, update)
