"""Averages of the parameters kept in the state: Lookahead's slow weights and Polyak averaging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform


def _is_none(x: Any) -> bool:
    return x is None


def _need_params(params: Params | None) -> Params:
    return checks.params_given(params, "parameter averaging")


def _floats_from(kept: Any, params: Params, choose: Callable[[Any, Any], Any] | None = None) -> Params:
    """``params`` with each floating leaf replaced by the matching leaf of ``kept`` (or ``choose(k, p)``)."""
    choose = choose or (lambda k, p: k)
    kept_leaves = tree.flatten_up_to(jax.tree.structure(params, is_leaf=_is_none), kept)
    leaves, treedef = jax.tree.flatten(params, is_leaf=_is_none)
    chosen = [choose(k, p) if tree.is_float(p) else p for k, p in zip(kept_leaves, leaves)]
    return jax.tree.unflatten(treedef, chosen)


class LookaheadState(NamedTuple):
    """State of :func:`lookahead`. ``eval_params`` gives the slow weights."""

    steps_since_sync: jax.Array  # int32[]: fast steps since the last synchronization, in [0, sync_period)
    slow: Params  # the slow weights: shaped like the params, in their dtype
    fast_state: State  # the fast optimizer's state

    def eval_params(self, params: Params) -> Params:
        """The slow weights (the ones to evaluate with), for the floating leaves of ``params``."""
        return _floats_from(self.slow, params)


@transformation(complex_params="native")
def lookahead(
    fast_optimizer: GradientTransformation,
    sync_period: int,
    slow_step_size: float | jax.Array,
    reset_state: bool = False,
) -> GradientTransformation:
    r"""Lookahead: take ``sync_period`` fast steps, then move slow weights part of the way there.

    The params you hold and compute gradients on are the *fast* weights; the *slow*
    weights live in the state. Every ``sync_period``-th update also pulls the slow weights
    toward the fast ones and puts the fast weights on them. Evaluate with
    ``gradtx.eval_params(state, params)`` (the slow weights).

    .. math::

       \phi \leftarrow \phi + \alpha\,(\theta + u - \phi), \qquad
       \theta \leftarrow \phi \quad \text{every}\ k\text{-th step; else}\ \theta \leftarrow \theta + u

    where :math:`u` is the fast optimizer's update and :math:`\phi` the slow weights.

    Args:
      fast_optimizer: The fast (inner) optimizer.
      sync_period: :math:`k \ge 1`, fast steps per synchronization. A Python int.
      slow_step_size: :math:`\alpha \in [0, 1]`, how far the slow weights move toward the
        fast ones (1 makes Lookahead the fast optimizer alone).
      reset_state: Re-initialize the fast optimizer's state at each synchronization.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`LookaheadState`.

    Raises:
      TypeError: If ``fast`` is not a transformation or ``sync_period`` not an int.
      ValueError: If ``sync_period < 1`` or ``slow_step_size`` is outside [0, 1]; in
        ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.lookahead(gradtx.sgd(1.0), sync_period=2, slow_step_size=0.5)
      >>> params = jnp.zeros(1)
      >>> state = tx.init(params)
      >>> for _ in range(2):
      ...     updates, state = tx.update(jnp.array([-1.0]), state, params)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params, gradtx.eval_params(state, params)
      (Array([1.], dtype=float32), Array([1.], dtype=float32))

    References:
      Zhang et al., `Lookahead Optimizer: k steps forward, 1 step back
      <https://arxiv.org/abs/1907.08610>`_, 2019.

    .. note::
       Optax: ``optax.lookahead(fast_optimizer, sync_period, slow_step_size, reset_state)``
       keeps both weights in the params (``LookaheadParams(fast, slow)``). gradtx's params
       are Optax's ``params.fast``, and ``eval_params(state, params)`` is Optax's
       ``params.slow``; the numbers are the same. As in Optax, the updates must be applied
       unchanged (chain nothing after ``lookahead``). PyTorch has no equivalent.
    """
    fast = _check_transform("lookahead", "`fast_optimizer`", fast_optimizer)
    checks.integer("sync_period", sync_period, minimum=1)
    checks.interval("slow_step_size", slow_step_size, 0.0, 1.0)
    checks.boolean("reset_state", reset_state)

    def init(params: Params) -> LookaheadState:
        slow = jax.tree.map(lambda p: jnp.copy(p) if tree.is_float(p) else None, params, is_leaf=_is_none)
        return LookaheadState(tree.zero_count(params), slow, fast.init(params))

    def update(
        updates: Updates, state: LookaheadState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, LookaheadState]:
        params = _need_params(params)
        updates, fast_state = fast.update(updates, state.fast_state, params, **extra_args)
        sync = state.steps_since_sync == sync_period - 1

        def leaf(u: jax.Array, slow: jax.Array, p: jax.Array) -> tuple[jax.Array, jax.Array]:
            diff = p + u - slow  # from the slow weights to where this step puts the fast ones
            alpha = jnp.asarray(slow_step_size, u.dtype)
            return jnp.where(sync, u - (1 - alpha) * diff, u), jnp.where(sync, slow + alpha * diff, slow)

        updates, slow = tree.map_unzip(leaf, updates, state.slow, params)
        if reset_state:
            fresh = fast.init(params)
            fast_state = jax.tree.map(lambda f, s: jnp.where(sync, f, s), fresh, fast_state)
        steps = jnp.where(sync, 0, state.steps_since_sync + 1)
        return updates, LookaheadState(steps, slow, fast_state)

    return GradientTransformation(init, update)


class PolyakAveragingState(NamedTuple):
    """State of :func:`polyak_averaging`. ``eval_params`` gives the average."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    n_averaged: jax.Array  # int32[]: iterates in the average
    average: Params  # mean of the averaged iterates: shaped like the params, in their dtype
    inner_state: State  # the inner optimizer's state

    def eval_params(self, params: Params) -> Params:
        """The average of the iterates, or ``params`` themselves while none has been averaged."""
        started = self.n_averaged > 0
        return _floats_from(self.average, params, lambda a, p: jnp.where(started, a, p))


@transformation(complex_params="native")
def polyak_averaging(inner: GradientTransformation, start: int = 0, every: int = 1) -> GradientTransformation:
    r"""Keep the equal-weight running mean of the iterates (Polyak-Ruppert averaging, SWA).

    ``inner`` optimizes as usual; the state also keeps the mean of the params after
    update :math:`t` for :math:`t = s + e, s + 2e, \dots`. Evaluate with
    ``gradtx.eval_params(state, params)``. With ``every`` set to the steps per epoch (and a
    cyclic or constant learning rate) this is stochastic weight averaging.

    .. math::

       \theta_t = \theta_{t-1} + u_t, \qquad
       \bar\theta_n = \bar\theta_{n-1} + (\theta_t - \bar\theta_{n-1}) / n
       \quad \text{for}\ t > s,\ (t - s) \bmod e = 0

    Args:
      inner: The optimizer whose iterates are averaged. Its updates are the ones applied.
      start: :math:`s \ge 0`, the number of updates before averaging begins (a burn-in).
        The first averaged iterate is the params after update :math:`s + e`. A Python int.
      every: :math:`e \ge 1`, average one iterate every ``every`` updates. A Python int.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`PolyakAveragingState`.
      Until an iterate has been averaged, ``eval_params`` returns the current params.

    Raises:
      TypeError: If ``inner`` is not a transformation, or ``start``/``every`` not ints.
      ValueError: If ``start < 0`` or ``every < 1``; in ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.polyak_averaging(gradtx.sgd(1.0))
      >>> params = jnp.zeros(1)
      >>> state = tx.init(params)
      >>> for g in (-1.0, -2.0, -5.0):
      ...     updates, state = tx.update(jnp.array([g]), state, params)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params, gradtx.eval_params(state, params)  # the mean of the iterates 1, 3 and 8
      (Array([8.], dtype=float32), Array([4.], dtype=float32))

    References:
      Polyak and Juditsky, `Acceleration of Stochastic Approximation by Averaging
      <https://doi.org/10.1137/0330046>`_, 1992.
      Izmailov et al., `Averaging Weights Leads to Wider Optima and Better Generalization
      <https://arxiv.org/abs/1803.05407>`_, 2018.

    .. note::
       PyTorch: ``swa = torch.optim.swa_utils.AveragedModel(model)`` with
       ``swa.update_parameters(model)`` called after ``opt.step()`` number
       :math:`s + e, s + 2e, \dots` -> ``polyak_averaging(opt, start=s, every=e)``, and
       ``swa.module``'s parameters are ``eval_params(state, params)``; same numbers. Only
       torch's default equal-weight average is offered (for an exponential average use
       :func:`with_param_ema`); buffers (``use_buffers``, BatchNorm statistics) are not
       params here and are not averaged. ``torch.optim.ASGD`` averages inside the
       optimizer: see :func:`asgd`. Optax has no equivalent.
    """
    inner = _check_transform("polyak_averaging", "`inner`", inner)
    checks.integer("start", start)
    checks.integer("every", every, minimum=1)

    def init(params: Params) -> PolyakAveragingState:
        zero = tree.zero_count(params)
        return PolyakAveragingState(zero, zero, tree.zeros_like(params), inner.init(params))

    def update(
        updates: Updates, state: PolyakAveragingState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, PolyakAveragingState]:
        params = _need_params(params)
        updates, inner_state = inner.update(updates, state.inner_state, params, **extra_args)
        count = tree.safe_increment(state.count)
        take = (count > start) & ((count - start) % every == 0)
        n = jnp.where(take, tree.safe_increment(state.n_averaged), state.n_averaged)

        divisor = jnp.maximum(n, 1)  # n for the iterate joining the average (never 0, even when unused)

        def leaf(u: jax.Array, average: jax.Array, p: jax.Array) -> tuple[jax.Array, jax.Array]:
            new = average + (p + u - average) / divisor.astype(average.dtype)
            return u, jnp.where(take, new, average)

        updates, average = tree.map_unzip(leaf, updates, state.average, params)
        return updates, PolyakAveragingState(count, n, average, inner_state)

    return GradientTransformation(init, update)
