"""Gradient accumulation: average k micro-batch gradients, then take one optimizer step."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform
from gradtx._transforms.robust import update_or_skip


class AccumulateGradientsState(NamedTuple):
    """State of :func:`accumulate_gradients`."""

    mini_step: jax.Array  # int32[]: calls since `inner` last ran, in [0, every_k); 0 right after it ran
    gradient_step: jax.Array  # int32[]: how many times `inner` has run
    inner_state: State  # the inner transformation's state, changed only on every k-th call
    acc_grads: Updates  # sum of g / every_k this cycle: shaped like the params, in their dtype (or `dtype`)


@transformation(complex_params="native")
def accumulate_gradients(
    inner: GradientTransformation, every_k: int, *, dtype: Any = None
) -> GradientTransformation:
    r"""Average the gradients of ``every_k`` calls and give the mean to ``inner`` once.

    Trains with a batch ``every_k`` times larger than fits in memory: call ``update`` once
    per micro-batch and apply every returned update (the zero ones too). ``inner`` runs on
    every ``every_k``-th call only (a ``lax.cond``); in between its state is untouched
    and the updates are zeros.

    .. math::

       a_j = a_{j-1} + g_j / k, \quad a_0 = 0, \qquad
       (u, s) = \text{inner}(a_k, s) \ \text{at}\ j = k, \ \text{then}\ a \leftarrow 0;
       \quad u = 0 \ \text{for}\ j < k

    Args:
      inner: The optimizer to run on the mean gradient.
      every_k: :math:`k \ge 1`, the number of micro-batches per optimizer step. A Python int.
      dtype: Storage dtype of the accumulator; ``None`` keeps the params' dtype (pass
        ``jnp.float32`` to accumulate bfloat16 gradients more precisely).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`AccumulateGradientsState`.
      After a call, ``state.mini_step == 0`` tells that ``inner`` ran.

    Raises:
      TypeError: If ``inner`` is not a transformation or ``every_k`` not an int.
      ValueError: If ``every_k < 1``.

    Examples:
      >>> tx = gradtx.accumulate_gradients(gradtx.sgd(1.0), every_k=2)
      >>> state = tx.init(jnp.zeros(1))
      >>> first, state = tx.update(jnp.array([1.0]), state)
      >>> second, state = tx.update(jnp.array([3.0]), state)
      >>> first, second
      (Array([0.], dtype=float32), Array([-2.], dtype=float32))

    .. note::
       Optax: ``optax.MultiSteps(opt, every_k_schedule=k).gradient_transformation()`` ->
       ``accumulate_gradients(opt, k)``, same numbers (Optax averages with a running mean,
       gradtx sums :math:`g/k`; they differ only by rounding). ``every_k`` is a constant
       (no schedule), gradients are always averaged (``use_grad_mean=True``), and there is
       no ``should_skip_update_fn``: wrap the result in :func:`apply_if_finite` instead.
       Optax computes the inner update on every call and discards it; gradtx computes it
       once per ``k`` calls. The accumulator follows the params' dtype (Optax: float32).
       PyTorch: the loop ``(loss / k).backward()`` for k micro-batches, then
       ``opt.step(); opt.zero_grad()``, same numbers.
    """
    inner = _check_transform("accumulate_gradients", "`inner`", inner)
    checks.integer("every_k", every_k, minimum=1)
    checks.dtype_or_none("dtype", dtype)

    def init(params: Params) -> AccumulateGradientsState:
        return AccumulateGradientsState(
            mini_step=tree.zero_count(params),
            gradient_step=tree.zero_count(params),
            inner_state=inner.init(params),
            acc_grads=tree.zeros_like(params, dtype),
        )

    def update(
        updates: Updates, state: AccumulateGradientsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, AccumulateGradientsState]:
        emit = state.mini_step == every_k - 1

        def leaf(g: jax.Array, a: jax.Array) -> tuple[jax.Array, jax.Array]:
            a = a + g / every_k
            return a, jnp.where(emit, 0, a)

        mean, acc_grads = tree.map_unzip(leaf, updates, state.acc_grads)
        updates, inner_state = update_or_skip(emit, inner, mean, state.inner_state, params, extra_args)
        return updates, AccumulateGradientsState(
            mini_step=jnp.where(emit, 0, state.mini_step + 1),
            gradient_step=jnp.where(emit, tree.safe_increment(state.gradient_step), state.gradient_step),
            inner_state=inner_state,
            acc_grads=acc_grads,
        )

    return GradientTransformation(init, update)
