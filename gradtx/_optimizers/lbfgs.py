"""L-BFGS: Optax's ``scale_by_lbfgs`` and ``lbfgs`` (with a zoom line search), and torch's ``LBFGS``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

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
from gradtx._optimizers._common import torch_flags
from gradtx._optimizers.lbfgs_torch import torch_lbfgs
from gradtx._optimizers.zoom import scale_by_zoom_linesearch
from gradtx._transforms.scale import scale, scale_by_learning_rate


class ScaleByLBFGSState(NamedTuple):
    """State of :func:`scale_by_lbfgs`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates made
    params: Params  # the params of the last update (zeros before any)
    updates: Updates  # the gradient of the last update (zeros before any)
    diff_params_memory: Updates  # per leaf [memory_size, *shape]: ring of s_i = p_{i+1} - p_i
    diff_updates_memory: Updates  # per leaf [memory_size, *shape]: ring of y_i = g_{i+1} - g_i
    weights_memory: jax.Array  # float[memory_size]: rho_i = 1 / <y_i, s_i> (0 where <y_i, s_i> = 0)


def _vdot(a: list[jax.Array], b: list[jax.Array], real: Any) -> jax.Array:
    r""":math:`\mathrm{Re} \sum \bar a\, b` over the leaves (the real inner product, also of complex
    leaves), in the real dtype ``real``. Each pair of leaves is already in its compute dtype."""
    return tree.tree_sum([jnp.sum(jnp.conj(x) * y).real for x, y in zip(a, b)]).astype(real)


def _slot(ring: list[jax.Array], i: jax.Array, dtypes: list[Any]) -> list[jax.Array]:
    return [lax.dynamic_index_in_dim(r, i, 0, keepdims=False).astype(d) for r, d in zip(ring, dtypes)]


def _inverse_hessian_times(
    g: list[jax.Array], s_ring: list[jax.Array], y_ring: list[jax.Array], rho: jax.Array, gamma: jax.Array,
    oldest: jax.Array, dtypes: list[Any],
) -> list[jax.Array]:
    """The two-loop recursion: ``H g`` for the L-BFGS estimate ``H`` of the inverse Hessian.

    The ring is read from slot ``oldest`` on; slots with ``rho = 0`` change nothing. Each leaf
    is computed in its dtype in ``dtypes``; the scalars in ``rho``'s (real) dtype.
    """
    m = rho.shape[0]
    order = (oldest + jnp.arange(m, dtype=oldest.dtype)) % m

    def newest_first(q: list[jax.Array], i: jax.Array) -> tuple[list[jax.Array], jax.Array]:
        alpha = rho[i] * _vdot(_slot(s_ring, i, dtypes), q, rho.dtype)
        return [qj - alpha.astype(qj.dtype) * yj for qj, yj in zip(q, _slot(y_ring, i, dtypes))], alpha

    q, alphas = lax.scan(newest_first, g, order, reverse=True)
    r = [gamma.astype(qj.dtype) * qj for qj in q]

    def oldest_first(
        r: list[jax.Array], i_alpha: tuple[jax.Array, jax.Array]
    ) -> tuple[list[jax.Array], jax.Array]:
        i, alpha = i_alpha
        beta = rho[i] * _vdot(_slot(y_ring, i, dtypes), r, rho.dtype)
        return [rj + (alpha - beta).astype(rj.dtype) * sj for rj, sj in zip(r, _slot(s_ring, i, dtypes))], beta

    r, _ = lax.scan(oldest_first, r, (order, alphas))
    return r


def _is_none(x: Any) -> bool:
    return x is None


@transformation(complex_params="native")
def scale_by_lbfgs(memory_size: int = 10, scale_init_precond: bool = True) -> GradientTransformation:
    r"""Multiply the gradient by the L-BFGS estimate of the inverse Hessian.

    The direction of :func:`lbfgs`; chain a learning rate and a line search after it. The
    pair of the last step is stored before the direction is computed, so a line search
    chained after it decides the step that the next pair measures.

    .. math::

       s_{k-1} = p_k - p_{k-1}, \quad y_{k-1} = g_k - g_{k-1}, \quad
       \rho_{k-1} = 1 / \langle y_{k-1}, s_{k-1} \rangle \ (0 \text{ if } \langle y, s \rangle = 0) \\
       u_k = H_k g_k, \quad H_k = \text{two-loop recursion on the last } m \text{ pairs from }
       \gamma_k I, \quad \gamma_k = \frac{\langle y_{k-1}, s_{k-1} \rangle}{\|y_{k-1}\|^2},
       \ \gamma_0 = \min(1, 1/\|g_0\|)

    Args:
      memory_size: :math:`m \ge 1`, how many pairs are kept (the state holds :math:`2m`
        copies of the params).
      scale_init_precond: Start from :math:`\gamma_k I` (else from :math:`I`).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByLBFGSState`. Its
      ``update`` takes the gradient as ``updates`` and needs ``params``.

    Raises:
      ValueError: If ``memory_size < 1``; in ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.scale_by_lbfgs()
      >>> tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0]
      Array([0.6, 0.8], dtype=float32)

    References:
      Nocedal and Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006 (Algorithms 7.4, 7.5).

    .. note::
       Optax: ``optax.scale_by_lbfgs``, same arguments, state and numbers (complex params
       too: real inner products :math:`\mathrm{Re} \langle a, b \rangle`). Every pair is kept, even one of
       negative curvature (torch's ``LBFGS`` drops pairs with :math:`\langle y, s \rangle
       \le 10^{-10}`; see :func:`gradtx.torch.LBFGS`).
    """
    checks.integer("memory_size", memory_size, 1)
    checks.boolean("scale_init_precond", scale_init_precond)
    m = memory_size

    def init(params: Params) -> ScaleByLBFGSState:
        dtype = tree.real_dtype(tree.compute_dtype(*(x.dtype for x in tree.leaves_of(params))))
        ring = tree.zeros_like(params, stack=m)
        return ScaleByLBFGSState(
            count=tree.zero_count(params),
            params=tree.zeros_like(params),
            updates=tree.zeros_like(params),
            diff_params_memory=ring,
            diff_updates_memory=ring,
            weights_memory=tree.replicated_like(params, jnp.zeros(m, dtype)),
        )

    def update(
        updates: Updates, state: ScaleByLBFGSState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByLBFGSState]:
        del extra_args
        checks.params_given(params, "scale_by_lbfgs")
        leaves, p, p_prev, g_prev = tree.flatten_like(updates, params, state.params, state.updates)
        treedef = jax.tree.structure(updates, is_leaf=_is_none)
        s_ring, y_ring = (tree.flatten_up_to(treedef, r) for r in (state.diff_params_memory, state.diff_updates_memory))
        floats = [i for i, u in enumerate(leaves) if tree.is_float(u)]
        real = state.weights_memory.dtype  # of the scalars
        dtypes = [tree.compute_dtype(real, leaves[i].dtype) for i in floats]  # complex for complex leaves
        g = [leaves[i].astype(d) for i, d in zip(floats, dtypes)]
        started = state.count > 0

        # 1. The pair of the last step goes to the slot before this update's.
        s = [jnp.where(started, p[i].astype(d) - p_prev[i].astype(d), 0.0) for i, d in zip(floats, dtypes)]
        y = [jnp.where(started, leaves[i].astype(d) - g_prev[i].astype(d), 0.0) for i, d in zip(floats, dtypes)]
        ys = _vdot(y, s, real)
        rho_new = jnp.where(started & (ys != 0.0), 1.0 / jnp.where(ys == 0.0, 1.0, ys), 0.0)
        slot = (state.count - 1) % m
        s_hist = [lax.dynamic_update_index_in_dim(s_ring[i], x.astype(s_ring[i].dtype), slot, 0) for i, x in zip(floats, s)]
        y_hist = [lax.dynamic_update_index_in_dim(y_ring[i], x.astype(y_ring[i].dtype), slot, 0) for i, x in zip(floats, y)]
        rho = state.weights_memory.at[slot].set(rho_new.astype(real))

        # 2. The scale gamma of the initial estimate gamma * I.
        if scale_init_precond:
            yy = _vdot(y, y, real)
            gamma = jnp.where(yy > 0.0, ys / jnp.where(yy > 0.0, yy, 1.0), 1.0)
            norm = jnp.sqrt(_vdot(g, g, real))
            gamma = jnp.where(started, gamma, jnp.minimum(1.0, 1.0 / norm))
        else:
            gamma = jnp.ones([], real)

        # 3. The direction, by the two-loop recursion.
        direction = _inverse_hessian_times(g, s_hist, y_hist, rho, gamma.astype(real), state.count % m, dtypes)
        out, new_s, new_y = list(leaves), list(s_ring), list(y_ring)
        for k, i in enumerate(floats):
            out[i] = direction[k].astype(leaves[i].dtype)
            new_s[i], new_y[i] = s_hist[k], y_hist[k]
        float_params = jax.tree.unflatten(treedef, [p[i] if i in floats else None for i in range(len(leaves))])
        float_grads = jax.tree.unflatten(treedef, [leaves[i] if i in floats else None for i in range(len(leaves))])
        return jax.tree.unflatten(treedef, out), ScaleByLBFGSState(
            count=tree.safe_increment(state.count),
            params=jax.tree.map(lambda x, old: x.astype(old.dtype), float_params, state.params),
            updates=jax.tree.map(lambda x, old: x.astype(old.dtype), float_grads, state.updates),
            diff_params_memory=jax.tree.unflatten(treedef, new_s),
            diff_updates_memory=jax.tree.unflatten(treedef, new_y),
            weights_memory=rho,
        )

    return GradientTransformation(init, update)


@transformation
def lbfgs(
    learning_rate: ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = scale_by_zoom_linesearch(
        max_linesearch_steps=20, initial_guess_strategy="one"
    ),
) -> GradientTransformation:
    r"""L-BFGS with a zoom line search, as ``optax.lbfgs``.

    A quasi-Newton method for deterministic, smooth problems of moderate size (full-batch
    fitting, small networks, scientific models). Run it with :func:`minimize`, which passes
    the extra arguments the line search needs, or call ``update(grad, state, params,
    value=loss, grad=grad, value_fn=loss_fn)`` yourself.

    .. math::

       u_k = -t_k \eta H_k g_k, \quad H_k \text{ from } :func:`scale_by_lbfgs`, \quad
       t_k \text{ from the line search (1 without one)}, \ \eta \text{ the learning rate (1 if None)}

    Composition: ``chain(scale_by_lbfgs(memory_size, scale_init_precond),
    scale(-1) | scale_by_learning_rate(learning_rate), linesearch | identity())``.

    Args:
      learning_rate: :math:`\eta`: a number, a schedule, or ``None`` (1: the line search
        chooses the step).
      memory_size: How many pairs :math:`(s, y)` are kept (>= 1).
      scale_init_precond: Start each estimate from :math:`\gamma_k I` (see
        :func:`scale_by_lbfgs`).
      linesearch: A transformation that scales the direction, such as
        :func:`scale_by_zoom_linesearch` (the default: at most 20 evaluations, each search
        starting at 1) or :func:`scale_by_backtracking_linesearch`; ``None`` for none.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`). With a line search its
      ``update`` needs ``params`` and the extra arguments ``value``, ``grad`` and
      ``value_fn``.

    Raises:
      ValueError: If ``memory_size < 1``, ``learning_rate < 0`` or ``linesearch`` is not a
        transformation; in ``update``, if the line search lacks an extra argument.

    Examples:
      >>> f = lambda p: jnp.sum((p - 3.0) ** 2)
      >>> tx, params = gradtx.lbfgs(), jnp.zeros(2)
      >>> state = tx.init(params)
      >>> for _ in range(2):
      ...     value, grad = jax.value_and_grad(f)(params)
      ...     updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=f)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params.round(4)
      Array([3., 3.], dtype=float32)

    References:
      Liu and Nocedal, `On the limited memory BFGS method for large scale optimization
      <https://doi.org/10.1007/BF01589116>`_, 1989.

    .. note::
       Optax: ``optax.lbfgs``, same arguments and numbers. PyTorch:
       ``torch.optim.LBFGS`` keeps only pairs of positive curvature, starts at
       :math:`\min(1, 1/\|g\|_1)\,\eta` and has its own strong-Wolfe search: use
       :func:`gradtx.torch.LBFGS` for its numbers.
    """
    if learning_rate is not None:
        checks.learning_rate(learning_rate)
    if linesearch is not None and not (callable(getattr(linesearch, "init", None)) and callable(getattr(linesearch, "update", None))):
        raise ValueError(f"lbfgs: `linesearch` must be a GradientTransformation or None, got {linesearch!r}.")
    return chain(
        scale_by_lbfgs(memory_size, scale_init_precond),
        scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate),
        identity() if linesearch is None else linesearch,
    )


@transformation(complex_params="as_real")
def LBFGS(  # noqa: N802
    lr: ScalarOrSchedule = 1,
    max_iter: int = 20,
    max_eval: int | None = None,
    tolerance_grad: float = 1e-7,
    tolerance_change: float = 1e-9,
    history_size: int = 100,
    line_search_fn: str | None = None,
) -> GradientTransformation:
    r"""``torch.optim.LBFGS``: one ``update`` is one iteration of its loop; :func:`minimize` is ``step``.

    .. math::

       s_{k-1} = p_k - p_{k-1}, \quad y_{k-1} = g_k - g_{k-1}, \quad
       \text{the pair is kept if } y_{k-1}^\top s_{k-1} > 10^{-10} \\
       d_k = -H_k g_k \ \text{(two-loop recursion on the last } m \text{ pairs from }
       \gamma_k I, \ \gamma_k = \tfrac{y^\top s}{y^\top y}), \quad p_{k+1} = p_k + t_k d_k \\
       t_1 = \eta \min(1, 1 / \|g_1\|_1), \quad t_k = \eta, \ \text{or } t_k \text{ from
       the strong-Wolfe search started there}

    Args:
      lr: :math:`\eta \ge 0`, the step (or, with a line search, the first step tried); a
        number or a schedule of the iteration count.
      max_iter: Iterations per ``step(closure)``: :func:`minimize`'s default ``max_steps``
        for this solver (an integer >= 1).
      max_eval: Evaluations per ``step``; ``None`` is ``max_iter * 5 // 4``. Each update's
        line search makes at most ``max_eval - 1`` evaluations after its first (torch's
        budget for the first iteration of a ``step``).
      tolerance_grad: An update with :math:`\max|g_k| \le` ``tolerance_grad`` changes
        nothing (zero update, same state), as torch's ``step`` returns at once; also
        :func:`minimize`'s default stopping rule.
      tolerance_change: A direction with :math:`g_k^\top d_k > -` ``tolerance_change``
        is not taken (zero update); also :func:`minimize`'s default stopping rule on the
        update and the loss change.
      history_size: :math:`m \ge 1`, the pairs kept (the state holds :math:`2m` copies of
        the params).
      line_search_fn: ``None`` (fixed steps) or ``"strong_wolfe"`` (torch's bracketing and
        cubic zoom, :math:`c_1 = 10^{-4}, c_2 = 0.9`); it needs ``params`` and the extra
        arguments ``value`` and ``value_fn``.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`LbfgsState`. Its ``update``
      takes the gradient as ``updates``.

    Raises:
      ValueError: If an argument is out of range or ``line_search_fn`` unknown; in
        ``update``, if the line search lacks ``params``, ``value`` or ``value_fn``.

    Examples:
      >>> f = lambda p: jnp.sum((p - 3.0) ** 2)
      >>> result = gradtx.minimize(f, jnp.zeros(2), gradtx.torch.LBFGS())
      >>> result.params, int(result.num_steps)
      (Array([3., 3.], dtype=float32), 2)

    .. note::
       PyTorch: ``torch.optim.LBFGS(params, lr, ...)`` -> ``gradtx.torch.LBFGS(lr, ...)``
       and ``opt.step(closure)`` -> ``gradtx.minimize(fun, params, solver)``: the same
       iterates, ``num_steps == state["n_iter"]``. ``n`` updates give the iterates of one
       ``step`` with ``max_iter=n`` (``tolerance_change=0``, no line search), and of ``n``
       steps with ``max_iter=1``. Deviations: a line search's budget is ``max_eval - 1``
       for every update (torch: what is left of ``max_eval`` in the current ``step``); in
       it a NaN loss counts as too high and a NaN cubic step is replaced by bisection;
       after a refused direction the state keeps the zero step taken. Optax:
       :func:`lbfgs` is ``optax.lbfgs``.
    """
    checks.learning_rate(lr, "lr")
    checks.integer("max_iter", max_iter, 1)
    if max_eval is not None:
        checks.integer("max_eval", max_eval, 1)
    torch_flags()
    budget = max(0, (max_iter * 5 // 4 if max_eval is None else max_eval) - 1)
    return torch_lbfgs(lr, history_size, line_search_fn, tolerance_grad, tolerance_change, budget)
