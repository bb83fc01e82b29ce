"""Averaged SGD: SGD with a slowly decaying step size and a running average of the iterates.

``asgd`` (Optax has none) and torch's ``ASGD``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    State,
    Updates,
    transformation,
)
from gradtx._core.combine import MaskedNode, chain
from gradtx._core.paths import Mask
from gradtx._core.update import apply_updates
from gradtx._optimizers._common import torch_flags
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale, scale_by_learning_rate


def _no_average(x: Any) -> bool:
    return x is None or isinstance(x, MaskedNode)


class AsgdAveragingState(NamedTuple):
    """State of :func:`asgd_averaging`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    ax: Params  # the running average of the params: shaped like them, in their dtype

    def eval_params(self, params: Params) -> Params:
        """The averaged params, for :func:`eval_params`; leaves without an average keep ``params``'."""
        leaves, treedef = jax.tree.flatten(self.ax, is_leaf=_no_average)
        try:
            current = tree.flatten_up_to(treedef, params)
        except (ValueError, TypeError):
            raise ValueError(
                "eval_params: the params do not have the structure of the ASGD average.\n"
                f"  average: {treedef}\n  params: {jax.tree.structure(params)}"
            ) from None
        return jax.tree.unflatten(treedef, [p if _no_average(a) else a for a, p in zip(leaves, current)])


@transformation
def asgd_averaging(t0: float = 1e6) -> GradientTransformation:
    r"""Keep ASGD's running average of the params; the updates pass through unchanged.

    The averaging part of :func:`asgd`. It sees the params after the update,
    :math:`p_t = p_{t-1} + u_t`, so it must be the **last** part of a chain. The average
    copies the params for the first :math:`t_0 + 2` updates; from then on it is the
    uniform average of the iterates since update :math:`t_0 + 2` (for an integer :math:`t_0`).
    Read it with :func:`averaged_params` or :func:`eval_params`.

    .. math::

       \mu_1 = 1, \quad \mu_t = 1 / \max(1, t - 1 - t_0), \qquad
       \bar p_t = \bar p_{t-1} + \mu_t (p_t - \bar p_{t-1}) \quad (\bar p_t = p_t \text{ if } \mu_t = 1)

    Args:
      t0: :math:`t_0`, the number of updates after which averaging starts (any real).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`AsgdAveragingState`.

    Raises:
      ValueError: In ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.asgd_averaging(t0=1.0)
      >>> params = jnp.zeros(1)
      >>> state = tx.init(params)
      >>> for _ in range(4):
      ...     updates, state = tx.update(jnp.ones(1), state, params)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params, gradtx.averaged_params(state)  # the mean of the last two iterates
      (Array([4.], dtype=float32), Array([3.5], dtype=float32))

    References:
      Polyak and Juditsky, `Acceleration of Stochastic Approximation by Averaging
      <https://doi.org/10.1137/0330046>`_, 1992.

    .. note::
       PyTorch: the ``ax``/``mu`` part of ``torch.optim.ASGD`` (``mu`` of update :math:`t`
       is the one torch computed at the end of update :math:`t-1`).
    """
    checks.real("t0", t0)

    def init(params: Params) -> AsgdAveragingState:
        return AsgdAveragingState(tree.zero_count(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: AsgdAveragingState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, AsgdAveragingState]:
        del extra_args
        checks.params_given(params, "the ASGD average")
        steps = tree.float_count(state.count)
        mu = jnp.where(state.count == 0, 1.0, 1.0 / jnp.maximum(1.0, steps - t0))

        def leaf(u: jax.Array, a: jax.Array, p: jax.Array) -> tuple[jax.Array, jax.Array]:
            m = mu.astype(a.dtype)
            return u, jnp.where(m == 1, p, a + m * (p - a))

        updates, ax = tree.map_unzip(leaf, updates, state.ax, apply_updates(params, updates))
        return updates, AsgdAveragingState(tree.safe_increment(state.count), ax)

    return GradientTransformation(init, update)


def averaged_params(state: State) -> Params:
    """The running average of the params kept by :func:`asgd` (torch's ``state[p]["ax"]``).

    Args:
      state: The state of :func:`asgd` or of any chain holding one :func:`asgd_averaging`.

    Returns:
      The average, shaped like the params (``None`` for leaves that are not floating point).

    Raises:
      ValueError: If ``state`` holds no ASGD average, or more than one.

    Examples:
      >>> tx = gradtx.asgd(0.5, lambd=0.0, t0=0.0)
      >>> params = jnp.zeros(1)
      >>> state = tx.init(params)
      >>> for _ in range(3):
      ...     updates, state = tx.update(jnp.ones(1), state, params)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params, gradtx.averaged_params(state)  # the mean of the iterates from update 2 on
      (Array([-1.5], dtype=float32), Array([-1.25], dtype=float32))
    """
    def is_average(x: Any) -> bool:
        return isinstance(x, AsgdAveragingState)

    found = [x for x in jax.tree.leaves(state, is_leaf=is_average) if is_average(x)]
    if len(found) != 1:
        raise ValueError(
            f"averaged_params: the state holds {len(found)} ASGD averages; it needs exactly one (from asgd)."
        )
    return found[0].ax


def _step_size(learning_rate: ScalarOrSchedule, lambd: Any, alpha: Any) -> Callable[[jax.Array], jax.Array]:
    """ASGD's step size :math:`\\eta_t` as a schedule of the number of updates already applied."""

    def schedule(count: jax.Array) -> jax.Array:
        # torch computes the step size of update t+1 at the end of update t, with the rate then in
        # force: a scheduled rate reaches ASGD one update late.
        rate = learning_rate(jnp.maximum(count - 1, 0)) if callable(learning_rate) else learning_rate
        step_size: jax.Array = rate / (1 + lambd * rate * tree.float_count(count)) ** alpha
        return step_size

    return schedule


@transformation
def asgd(
    learning_rate: ScalarOrSchedule = 1e-2,
    lambd: float = 1e-4,
    alpha: float = 0.75,
    t0: float = 1e6,
    weight_decay: float = 0.0,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Averaged SGD, as ``torch.optim.ASGD``: SGD with a decaying step and an average of the iterates.

    The params follow SGD with step size :math:`\eta_t` and an extra decay :math:`\lambda`;
    after :math:`t_0` updates the state also averages them (Polyak–Ruppert averaging), and
    the average (read with :func:`averaged_params` or :func:`eval_params`) is the estimate to
    evaluate. torch's defaults (:math:`t_0 = 10^6`) never start averaging in short runs.

    .. math::

       g_t \leftarrow \pm g_t + \lambda_w p_{t-1}, \qquad
       \eta_t = \frac{\eta}{(1 + \lambda \eta (t-1))^{\alpha}}, \qquad
       p_t = p_{t-1} - \eta_t (g_t + \lambda p_{t-1})

    with the average :math:`\bar p_t` of :func:`asgd_averaging`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ_w)], add_decayed_weights(λ),
    scale_by_learning_rate(η_t), asgd_averaging(t0))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      lambd: :math:`\lambda \ge 0`, the decay term (it also slows the step-size decay).
      alpha: :math:`\alpha \ge 0`, the power of the step-size decay.
      t0: :math:`t_0`, the number of updates after which averaging starts.
      weight_decay: :math:`\lambda_w \ge 0`, an L2 penalty added to the gradient.
      weight_decay_mask: Which leaves :math:`\lambda_w` decays (see :func:`masked`);
        ``None`` for all. :math:`\lambda` decays every leaf, as in torch.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); its state holds the average.

    Raises:
      ValueError: If ``learning_rate``, ``lambd``, ``alpha`` or ``weight_decay`` is negative.

    Examples:
      >>> tx = gradtx.asgd(0.1, lambd=0.5)
      >>> params = jnp.ones(2)
      >>> tx.update(jnp.array([1.0, -1.0]), tx.init(params), params)[0].round(3)
      Array([-0.15,  0.05], dtype=float32)

    References:
      Polyak and Juditsky, `Acceleration of Stochastic Approximation by Averaging
      <https://doi.org/10.1137/0330046>`_, 1992.
      Bottou, `Stochastic Gradient Descent Tricks
      <https://doi.org/10.1007/978-3-642-35289-8_25>`_, 2012.

    .. note::
       PyTorch: ``torch.optim.ASGD(lr, lambd, alpha, t0, weight_decay, maximize=...)`` ->
       ``asgd(learning_rate, lambd, alpha, t0, weight_decay, maximize=...)``, same numbers
       and defaults; ``optimizer.state[p]["ax"]`` is :func:`averaged_params`. As in torch,
       the step size of update :math:`t` is computed from the rate of update :math:`t-1`, so a
       schedule given as ``learning_rate`` (torch's ``lr_scheduler``) takes effect one
       update late. gradtx also checks ``lambd`` and ``alpha`` (torch does not). torch
       keeps ``eta`` and ``mu`` in its default dtype (float32 unless
       ``torch.set_default_dtype(torch.float64)``); gradtx computes them in the default
       float dtype of jax (float64 under ``jax_enable_x64``). Optax has no ASGD.
    """
    checks.learning_rate(learning_rate)
    checks.non_negative("lambd", lambd)
    checks.non_negative("alpha", alpha)
    checks.boolean("maximize", maximize)
    parts = [
        scale(-1.0) if maximize else None,
        (
            None
            if checks.is_static_zero(weight_decay)
            else add_decayed_weights(weight_decay, mask=weight_decay_mask)
        ),
        add_decayed_weights(lambd),
        scale_by_learning_rate(_step_size(learning_rate, lambd, alpha)),
        asgd_averaging(t0),
    ]
    return chain(*(p for p in parts if p is not None))


# ------------------------------------------------------------------ torch.optim's dialect


@transformation(complex_params="as_real")
def ASGD(  # noqa: N802
    lr: ScalarOrSchedule = 1e-2,
    lambd: float = 1e-4,
    alpha: float = 0.75,
    t0: float = 1e6,
    weight_decay: float = 0,
    foreach: bool | None = None,
    maximize: bool = False,
    differentiable: bool = False,
    capturable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.ASGD``: its arguments (without ``params``), defaults and numbers.

    :func:`asgd` with torch's argument names: SGD with the decaying step
    :math:`\eta_t = \eta / (1 + \lambda \eta (t-1))^{\alpha}`, an extra decay :math:`\lambda`
    and, after :math:`t_0` updates, a running average of the iterates (read it with
    :func:`averaged_params` or :func:`eval_params`).

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ_w)], add_decayed_weights(λ),
    scale_by_learning_rate(η_t), asgd_averaging(t0))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      lambd: :math:`\lambda \ge 0`, the decay term.
      alpha: :math:`\alpha \ge 0`, the power of the step-size decay.
      t0: :math:`t_0`, the number of updates after which averaging starts.
      weight_decay: :math:`\lambda_w \ge 0`, an L2 penalty added to the gradient.
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      differentiable: Accepted and ignored (JAX code is always differentiable).
      capturable: Accepted and ignored.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); its state holds the average.

    Examples:
      >>> tx = gradtx.torch.ASGD(lr=0.1, lambd=0.5)
      >>> params = jnp.ones(2)
      >>> tx.update(jnp.array([1.0, -1.0]), tx.init(params), params)[0].round(3)
      Array([-0.15,  0.05], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.ASGD(params, ...)`` -> ``gradtx.torch.ASGD(...)``, same
       arguments and numbers; ``optimizer.state[p]["ax"]`` is :func:`averaged_params`. See
       :func:`asgd` for the details (a scheduled rate reaches the step one update late, as
       in torch). Optax has no ASGD.
    """
    torch_flags(foreach=foreach, differentiable=differentiable, capturable=capturable)
    checks.learning_rate(lr, "lr")
    return asgd(lr, lambd, alpha, t0, weight_decay, maximize=maximize)
