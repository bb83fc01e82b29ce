"""Scale updates down when a monitored metric stops improving: Optax's ``reduce_on_plateau``.

One rule serves both doors: :func:`reduce_on_plateau` (``optax.contrib``'s arguments and
numbers) and :func:`gradtx.torch.lr_scheduler.ReduceLROnPlateau` (torch's), which differ
only in the options they give :func:`scale_on_plateau`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, active_path, blame, transformation


class ReduceOnPlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau` (Optax's ``ReduceLROnPlateauState`` fields, same meaning)."""

    scale: jax.Array  # float[] (the default float dtype): the factor updates are multiplied by
    best_value: jax.Array  # float[]: the best (averaged) metric so far; +-inf before any
    plateau_count: jax.Array  # int32[]: averaged metrics in a row that did not improve on `best_value`
    cooldown_count: jax.Array  # int32[]: averaged metrics still to ignore after the last reduction
    # int32[]: metrics gathered into `avg_value` so far (up to `accumulation_size`)
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count
    avg_value: jax.Array  # float[]: the mean of the metrics gathered since the last averaged one


def scale_on_plateau(
    factor: float,
    bad_limit: int,
    rtol: float,
    atol: float,
    cooldown: int,
    accumulation_size: int,
    min_scale: float,
    *,
    eps: float = 0.0,
    mode: str = "min",
    reduce_before_update: bool = True,
) -> GradientTransformation:
    r"""The plateau rule both doors share (arguments checked by the caller).

    Metrics passed as ``update(..., value=metric)`` are averaged ``accumulation_size`` at a
    time; each average :math:`m` is compared with the best one :math:`b` (mode ``"min"``;
    ``"max"`` negates both):

    .. math::

       \text{better} = m < b - r_{tol} |b| - a_{tol}, \qquad
       n \leftarrow 0 \text{ if better or in cooldown, else } n + 1, \qquad
       \text{if } n \ge \text{bad\_limit}: \ s \leftarrow \max(\gamma s, s_{\min})
       \ \text{(if that lowers } s \text{ by more than } \varepsilon)

    For :math:`b \ge 0` the bar is computed as ``(1 - rtol) * b - atol`` (Optax's and
    torch's expression); for :math:`b < 0` as ``(1 + rtol) * b - atol``, where Optax and
    torch move the bar the wrong way. ``reduce_before_update`` scales the update that
    carries the metric by the new scale (Optax) rather than the previous one (torch, whose
    ``scheduler.step(metric)`` follows ``optimizer.step()``).
    """
    sign = 1.0 if mode == "min" else -1.0  # Mode "max" is mode "min" on the negated metric.

    def init(params: Params) -> ReduceOnPlateauState:
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)  # the default float dtype (float32 without x64)
        return ReduceOnPlateauState(
            scale=tree.replicated_like(params, jnp.ones([], dtype)),
            best_value=tree.replicated_like(params, jnp.full([], sign * jnp.inf, dtype)),
            plateau_count=tree.zero_count(params),
            cooldown_count=tree.zero_count(params),
            count=tree.zero_count(params),
            avg_value=tree.replicated_like(params, jnp.zeros([], dtype)),
        )

    def judge(state: ReduceOnPlateauState) -> ReduceOnPlateauState:
        """One averaged metric: torch's ``ReduceLROnPlateau.step``, Optax's ``_update_scale``."""
        m, b = sign * state.avg_value, sign * state.best_value
        bar = jnp.where(b >= 0, (1 - rtol) * b, (1 + rtol) * b) - atol
        better = m < bar
        best_value = jnp.where(better, state.avg_value, state.best_value)
        plateau_count = jnp.where(better, 0, tree.safe_increment(state.plateau_count))
        in_cooldown = state.cooldown_count > 0
        plateau_count = jnp.where(in_cooldown, 0, plateau_count)
        reduce = ~in_cooldown & (plateau_count >= bad_limit)
        lowered = jnp.maximum(state.scale * factor, min_scale).astype(state.scale.dtype)
        scale = jnp.where(reduce & (state.scale - lowered > eps), lowered, state.scale)
        cooldown_count = jnp.where(
            in_cooldown, state.cooldown_count - 1, jnp.where(reduce, cooldown, 0)
        ).astype(jnp.int32)
        return ReduceOnPlateauState(
            scale=scale,
            best_value=best_value,
            plateau_count=jnp.where(reduce, 0, plateau_count).astype(jnp.int32),
            cooldown_count=cooldown_count,
            count=jnp.zeros_like(state.count),
            avg_value=jnp.zeros_like(state.avg_value),
        )

    def update(
        updates: Updates, state: ReduceOnPlateauState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ReduceOnPlateauState]:
        del params
        value = extra_args.get("value")
        new_state = state
        if value is not None:
            if jnp.shape(value) != ():
                raise ValueError(
                    f"{active_path()}: `value` must be a scalar metric, got shape {jnp.shape(value)}."
                )
            count = tree.safe_increment(state.count)
            metric = jnp.asarray(value).astype(state.avg_value.dtype)
            dtype = state.avg_value.dtype
            # Optax's running mean, operation for operation.
            avg_value = (state.count.astype(dtype) * state.avg_value + metric) / count.astype(dtype)
            gathered = state._replace(count=count, avg_value=avg_value)
            new_state = jax.lax.cond(count >= accumulation_size, judge, lambda s: s, gathered)
        scale = new_state.scale if reduce_before_update else state.scale
        updates = tree.map_float(lambda u: u * scale.astype(u.dtype), updates)
        return updates, new_state

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown: int = 0,
    accumulation_size: int = 1,
    min_scale: float = 0.0,
) -> GradientTransformation:
    r"""Multiply updates by a scale that drops by ``factor`` when a metric stops improving.

    Chain it after an optimizer, ``chain(sgd(lr, momentum=0.9), reduce_on_plateau())``,
    and pass the monitored metric (a validation loss, say) as ``update(..., value=metric)``.
    Metrics are averaged ``accumulation_size`` at a time; each average :math:`m` either
    improves on the best one :math:`b` or counts as bad:

    .. math::

       \text{better} = m < b - r_{tol} |b| - a_{tol}, \qquad
       n \leftarrow 0 \ \text{if better, else } n + 1, \qquad
       \text{if } n = \text{patience}: \ s \leftarrow \max(\gamma s,\ s_{\min}),\ n \leftarrow 0

    After a reduction the next ``cooldown`` averages count as neither good nor bad. The
    update that completes an average is already multiplied by the scale it produces; calls
    without ``value`` apply the current scale and leave the state alone.

    Args:
      factor: :math:`\gamma \in (0, 1)`, the multiplier of a reduction.
      patience: Bad averages in a row (an integer >= 0) that trigger a reduction.
      rtol: :math:`r_{tol} \in [0, 1]`, the relative improvement that counts as one.
      atol: :math:`a_{tol} \ge 0`, the absolute improvement that counts as one.
      cooldown: Averages ignored after a reduction (an integer >= 0).
      accumulation_size: Metrics averaged before each comparison (an integer >= 1); 1 for
        a validation metric, more for a noisy minibatch loss.
      min_scale: :math:`s_{\min} \ge 0`, the lowest scale.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ReduceOnPlateauState`;
      ``state.scale`` is the current factor.

    Raises:
      ValueError: If an argument is outside its range, or ``rtol`` and ``atol`` are both 0;
        in ``update``, if ``value`` is not a scalar.

    Examples:
      >>> tx = gradtx.reduce_on_plateau(factor=0.5, patience=1)
      >>> state = tx.init(jnp.zeros(1))
      >>> for metric in [3.0, 3.0, 3.0]:
      ...     updates, state = tx.update(jnp.ones(1), state, value=metric)
      ...     print(updates, state.scale)
      [1.] 1.0
      [0.5] 0.5
      [0.25] 0.25

    .. note::
       Optax: ``optax.contrib.reduce_on_plateau``, same arguments, state fields and
       numbers, except where Optax is wrong: (1) for a negative best metric Optax's bar
       ``(1 - rtol) * b - atol`` lies *above* :math:`b`, so a constant negative metric counts
       as an improvement and the scale is never reduced; gradtx uses
       ``(1 + rtol) * b - atol`` there. (2) With ``patience=0`` Optax reduces on every
       *improvement* (its count is 0 then) and never on a bad metric; gradtx reduces on
       every bad one (as ``patience=1``). (3) With ``min_scale > 1`` Optax raises the scale
       to ``min_scale`` at the first average; gradtx never raises the scale. Optax's
       ``value`` is a required keyword; gradtx also accepts calls without it (see above).
       PyTorch: ``ReduceLROnPlateau`` (its ``mode``, ``threshold_mode``, ``eps``,
       ``min_lr``, and a reduction that applies from the next update) is
       :func:`gradtx.torch.lr_scheduler.ReduceLROnPlateau`, the same rule; its ``patience``
       is this ``patience - 1``.
    """
    checks.interval("factor", factor, 0.0, 1.0, low_open=True, high_open=True)
    checks.integer("patience", patience)
    checks.interval("rtol", rtol, 0.0, 1.0)
    checks.non_negative("atol", atol)
    if rtol == 0 and atol == 0:
        raise ValueError(
            blame(f"at least one of `rtol` and `atol` must be > 0, got rtol={rtol!r}, atol={atol!r}")
        )
    checks.integer("cooldown", cooldown)
    checks.integer("accumulation_size", accumulation_size, 1)
    checks.non_negative("min_scale", min_scale)
    return scale_on_plateau(
        factor, max(patience, 1), rtol, atol, cooldown, accumulation_size, min_scale,
        reduce_before_update=True,
    )
