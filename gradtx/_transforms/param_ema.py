"""An exponential moving average of the parameters, kept next to an optimizer's state."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform
from gradtx._core.update import apply_updates


class ParamEmaState(NamedTuple):
    """State of :func:`with_param_ema`; ``gradtx.eval_params(state, params)`` returns the average."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    inner_state: State  # the optimizer's state
    ema: Params  # the average: shaped like the params, in the params' dtype (or `dtype`)

    def eval_params(self, params: Params) -> Params:
        """The averaged parameters, in the dtypes of ``params`` (non-float leaves come from ``params``)."""

        def leaf(p: Any, e: Any) -> Any:
            return e.astype(p.dtype) if tree.is_float(p) and e is not None else p

        return jax.tree.map(leaf, params, self.ema, is_leaf=lambda x: x is None)


@transformation(complex_params="native")
def with_param_ema(
    inner: GradientTransformation, decay: float, *, dtype: Any = None
) -> GradientTransformation:
    r"""Run an optimizer and keep an exponential moving average of the parameters it produces.

    The average is what you evaluate and ship (Keras' ``use_ema``, torch's
    ``AveragedModel`` with ``get_ema_multi_avg_fn``); training continues from the raw
    parameters. Get it with ``gradtx.eval_params(state, params)``. ``update`` needs
    ``params``: with :math:`p_t = p_{t-1} + u_t` the parameters after update :math:`t`,

    .. math::

       \bar p_1 = p_1, \qquad \bar p_t = \bar p_{t-1} + (1 - \beta)(p_t - \bar p_{t-1})
       = \beta \bar p_{t-1} + (1 - \beta) p_t

    Args:
      inner: The optimizer whose parameters are averaged.
      decay: :math:`\beta \in [0, 1]`; 0.999 averages over about the last 1000 steps.
      dtype: Storage dtype of the average (``jnp.float32`` for bfloat16 params keeps small
        steps from rounding away); ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ParamEmaState`; the
      updates are those of ``inner``, unchanged.

    Raises:
      ValueError: If ``decay`` is outside [0, 1]; in ``update``, if ``params`` is missing.

    Examples:
      >>> tx = gradtx.with_param_ema(gradtx.sgd(1.0), decay=0.5)
      >>> params = jnp.zeros(1)
      >>> state = tx.init(params)
      >>> for _ in range(3):
      ...     updates, state = tx.update(-jnp.ones(1), state, params)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params, gradtx.eval_params(state, params)
      (Array([3.], dtype=float32), Array([2.25], dtype=float32))

    .. note::
       PyTorch: ``ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))``
       with ``ema.update_parameters(model)`` after each ``optimizer.step()``, same
       numbers: its first call copies the parameters, as here, and it interpolates with
       ``lerp``. Before the first update the average is the params given to ``init``
       (torch's copy of the model). Keras: ``use_ema=True, ema_momentum=decay`` also starts from a
       copy; its ``ema_overwrite_frequency`` (writing the average into the model) is
       left to the training loop here: ``params = gradtx.eval_params(state, params)``.
    """
    inner = _check_transform("with_param_ema", "`inner`", inner)
    checks.interval("decay", decay, 0.0, 1.0)
    checks.dtype_or_none("dtype", dtype)

    def init(params: Params) -> ParamEmaState:
        def copy(p: Any) -> Any:
            return jnp.array(p, dtype or p.dtype, copy=True) if tree.is_float(p) else None

        ema = jax.tree.map(copy, params)
        return ParamEmaState(tree.zero_count(params), inner.init(params), ema)

    def update(
        updates: Updates, state: ParamEmaState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ParamEmaState]:
        checks.params_given(params, "the parameter average")
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        first = state.count == 0
        new_params = apply_updates(params, updates)

        def leaf(e: jax.Array, p: jax.Array) -> tuple[jax.Array]:
            return (jnp.where(first, p, e + (1 - decay) * (p - e)),)

        (ema,) = tree.map_unzip(leaf, state.ema, new_params)
        return updates, ParamEmaState(tree.safe_increment(state.count), inner_state, ema)

    return GradientTransformation(init, update)
