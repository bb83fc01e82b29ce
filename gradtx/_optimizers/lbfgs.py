"""L-BFGS with torch's conventions, optionally with its strong-Wolfe line search (see `minimize`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gradtx._core import checks, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    active_path,
    transformation,
)
from gradtx._optimizers.linesearch import strong_wolfe

CURVATURE_THRESHOLD = 1e-10  # a pair (s, y) is kept only if y.s exceeds this (torch's rule)


class LbfgsState(NamedTuple):
    """State of :func:`lbfgs`."""

    count: jax.Array  # int32[]: iterations made (torch's n_iter); a zero gradient does not count
    step: Updates  # s = t d, the last update: shaped like the params, in their dtype
    prev_grad: Updates  # the previous gradient: shaped like the params, in their dtype
    s_history: Updates  # per leaf [history_size, *shape], params' dtype: ring buffer of steps s_i
    y_history: Updates  # per leaf [history_size, *shape], params' dtype: ring buffer of y_i = g_{i+1} - g_i
    rho: jax.Array  # float[history_size] (float32 or wider): 1 / (y_i . s_i) per slot, 0 in empty slots
    head: jax.Array  # int32[]: the slot the next pair goes to (the oldest pair's once the ring is full)
    h_diag: jax.Array  # float[]: gamma = (y.s) / (y.y) of the newest pair, 1 before any
    evaluations: jax.Array | None  # int32[]: value_fn evaluations made by the line search; None without one


def _is_none(x: Any) -> bool:
    return x is None


def _dot(a: list[jax.Array], b: list[jax.Array]) -> jax.Array:
    """The dot product of two trees given as lists of leaves (elementwise: full precision on any backend)."""
    return tree.tree_sum([jnp.sum(x * y) for x, y in zip(a, b)])


def max_abs(leaves: list[jax.Array]) -> jax.Array:
    """The largest absolute entry of a list of floating arrays (0 for none), in float32 or wider."""
    dtype = tree.compute_dtype(*(x.dtype for x in leaves))
    if not leaves:
        return jnp.zeros((), dtype)
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x)).astype(dtype) for x in leaves]))


def _two_loop(
    q: list[jax.Array],
    s_history: list[jax.Array],
    y_history: list[jax.Array],
    rho: jax.Array,
    head: jax.Array,
    h_diag: jax.Array,
) -> list[jax.Array]:
    """The L-BFGS two-loop recursion: ``H q`` for the inverse-Hessian estimate the pairs define.

    The ring is read newest to oldest, then oldest to newest. Empty slots (zeros, ``rho = 0``)
    change nothing, so the loops always run over all ``history_size`` slots.
    """
    m = rho.shape[0]
    dtype = rho.dtype

    def pair(history: list[jax.Array], slot: jax.Array) -> list[jax.Array]:
        return [lax.dynamic_index_in_dim(h, slot, 0, keepdims=False).astype(dtype) for h in history]

    def newest_first(j, carry):
        q, alpha = carry
        slot = (head - 1 - j) % m
        a = _dot(pair(s_history, slot), q) * rho[slot]
        return [qi - a * yi for qi, yi in zip(q, pair(y_history, slot))], alpha.at[slot].set(a)

    q, alpha = lax.fori_loop(np.int32(0), np.int32(m), newest_first, (q, jnp.zeros(m, dtype)))
    r = [qi * h_diag for qi in q]

    def oldest_first(j, r):
        slot = (head + j) % m
        b = _dot(pair(y_history, slot), r) * rho[slot]
        return [ri + si * (alpha[slot] - b) for ri, si in zip(r, pair(s_history, slot))]

    return lax.fori_loop(np.int32(0), np.int32(m), oldest_first, r)


def _write(history: jax.Array, value: jax.Array, slot: jax.Array, keep: jax.Array) -> jax.Array:
    """``history[slot] = value`` if ``keep``; touches one slot, not the whole ring."""
    old = lax.dynamic_index_in_dim(history, slot, 0, keepdims=False)
    new = jnp.where(keep, value.astype(history.dtype), old)
    return lax.dynamic_update_index_in_dim(history, new, slot, 0)


@transformation
def lbfgs(
    learning_rate: ScalarOrSchedule = 1.0,
    history_size: int = 100,
    line_search: str | None = None,
    *,
    tolerance_change: float = 0.0,
) -> GradientTransformation:
    r"""L-BFGS, as ``torch.optim.LBFGS``: one ``update`` is one of its iterations.

    A quasi-Newton method for deterministic, smooth problems of moderate size (full-batch
    fitting, small networks, scientific models). Run it with :func:`minimize`, which passes
    the extra arguments the line search needs and stops on torch's tolerances.

    .. math::

       s_{k-1} = p_k - p_{k-1}, \quad y_{k-1} = g_k - g_{k-1}, \quad
       \text{the pair is kept if } y_{k-1}^\top s_{k-1} > 10^{-10} \\
       d_k = -H_k g_k, \quad H_k = \text{two-loop recursion on the last } m \text{ pairs from }
       \gamma_k I, \ \gamma_k = \tfrac{y^\top s}{y^\top y} \text{ (newest pair)} \\
       p_{k+1} = p_k + t_k d_k, \quad t_1 = \eta \min(1, 1 / \|g_1\|_1), \quad t_k = \eta,
       \ \text{or } t_k \text{ from the strong-Wolfe search started there}

    Args:
      learning_rate: :math:`\eta \ge 0`, the step (or, with a line search, the first step
        tried) along :math:`d_k`; a number or a schedule of the iteration count.
      history_size: :math:`m \ge 1`, how many pairs :math:`(s, y)` are kept (a ring
        buffer: the state holds :math:`2m` copies of the params).
      line_search: ``None`` (fixed steps) or ``"strong_wolfe"``: torch's bracketing and
        cubic-interpolation zoom (:math:`c_1 = 10^{-4}`, :math:`c_2 = 0.9`, at most 26
        evaluations). It needs ``params`` and the extra arguments ``value`` (the loss at
        ``params``) and ``value_fn`` (params -> loss).
      tolerance_change: :math:`\tau \ge 0`: a direction with :math:`g_k^\top d_k > -\tau`
        is not taken (a zero update), torch's rule. Give it the value of
        :func:`minimize`'s ``tolerance_change`` to reproduce a torch step with tolerances.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`LbfgsState`. Its ``update``
      takes the gradient as ``updates``; a gradient that is exactly zero gives a zero
      update and leaves the state as it is.

    Raises:
      ValueError: If ``learning_rate < 0``, ``history_size < 1``, ``tolerance_change < 0``
        or ``line_search`` is not ``None`` or ``"strong_wolfe"``; in ``update``, if the line
        search lacks ``params``, ``value`` or ``value_fn``.

    Examples:
      >>> f = lambda p: jnp.sum((p - 3.0) ** 2)
      >>> tx, params = gradtx.lbfgs(), jnp.zeros(2)
      >>> state = tx.init(params)
      >>> for _ in range(3):
      ...     updates, state = tx.update(jax.grad(f)(params), state)
      ...     params = gradtx.apply_updates(params, updates)
      >>> params
      Array([3., 3.], dtype=float32)
      >>> tx = gradtx.lbfgs(line_search="strong_wolfe")
      >>> value, grad = jax.value_and_grad(f)(jnp.zeros(2))
      >>> tx.update(grad, tx.init(jnp.zeros(2)), jnp.zeros(2), value=value, value_fn=f)[0]
      Array([0.5, 0.5], dtype=float32)

    References:
      Liu and Nocedal, `On the limited memory BFGS method for large scale optimization
      <https://doi.org/10.1007/BF01589116>`_, 1989.
      Nocedal and Wright, `Numerical Optimization <https://doi.org/10.1007/978-0-387-40065-5>`_,
      2nd ed., 2006 (Algorithm 7.4; Algorithms 3.5 and 3.6 for the line search).

    .. note::
       PyTorch: ``torch.optim.LBFGS(lr, max_iter, max_eval, tolerance_grad,
       tolerance_change, history_size, line_search_fn)`` -> ``lbfgs(learning_rate,
       history_size, line_search, tolerance_change=...)``; the loop and its stopping rules
       (``max_iter``, ``tolerance_grad``, ``tolerance_change``) are :func:`minimize`'s.
       ``n`` updates give the iterates of one ``LBFGS(max_iter=n, max_eval=10 * n,
       tolerance_grad=0, tolerance_change=0).step(closure)``, and of ``n`` calls of
       ``step`` with ``max_iter=1`` (``max_eval=26`` with the line search). Deviations:
       a line search makes at most 26 evaluations (torch: 26, or what is left of
       ``max_eval`` if less); in it a NaN loss counts as too high, and a cubic step that
       would be NaN is replaced by bisection (torch carries the NaN on); after a refused
       direction the state keeps the zero step taken (torch keeps :math:`t d` and may pair
       it with the gradient of its next ``step`` call). Optax: ``optax.lbfgs`` scales its
       first step by the gradient's 2-norm, keeps every pair and uses its own zoom line
       search, so its numbers differ; it reads ``value``, ``grad`` and ``value_fn`` as
       gradtx does.
    """
    checks.learning_rate(learning_rate)
    checks.integer("history_size", history_size, 1)
    checks.one_of("line_search", line_search, (None, "strong_wolfe"))
    checks.non_negative("tolerance_change", tolerance_change)
    m = history_size

    def init(params: Params) -> LbfgsState:
        zeros = tree.zeros_like(params)
        ring = tree.zeros_like(params, stack=m)
        dtype = tree.compute_dtype(*(x.dtype for x in tree.leaves_of(zeros)))
        return LbfgsState(
            count=tree.zero_count(params),
            step=zeros,
            prev_grad=zeros,
            s_history=ring,
            y_history=ring,
            rho=tree.replicated_like(params, jnp.zeros(m, dtype)),
            head=tree.zero_count(params),
            h_diag=tree.replicated_like(params, jnp.ones([], dtype)),
            evaluations=None if line_search is None else tree.zero_count(params),
        )

    def update(
        updates: Updates, state: LbfgsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, LbfgsState]:
        value, value_fn = extra_args.get("value"), extra_args.get("value_fn")
        if line_search is not None:
            given = {"params": params, "value": value, "value_fn": value_fn}
            missing = ", ".join(f"`{name}`" for name, x in given.items() if x is None)
            if missing:
                raise ValueError(
                    f"{active_path()}: line_search='strong_wolfe' needs {missing}: call "
                    "update(grads, state, params, value=loss, value_fn=loss_fn) with "
                    "value_fn(params) -> loss, or let gradtx.minimize pass them."
                )
        leaves, prev, last = tree.flatten_like(updates, state.prev_grad, state.step)
        treedef = jax.tree.structure(updates, is_leaf=_is_none)
        s_ring, y_ring = (treedef.flatten_up_to(h) for h in (state.s_history, state.y_history))
        floats = [i for i, u in enumerate(leaves) if tree.is_float(u)]
        dtype = tree.compute_dtype(*(x.dtype for i in floats for x in (leaves[i], prev[i])), state.rho.dtype)

        g = [leaves[i].astype(dtype) for i in floats]
        g_prev = [prev[i].astype(dtype) for i in floats]
        s = [last[i].astype(dtype) for i in floats]
        moving = jnp.any(jnp.stack([jnp.any(x != 0) for x in g])) if g else jnp.zeros((), bool)

        # Keep the pair (s, y) from the last step if it has enough positive curvature.
        y = [a - b for a, b in zip(g, g_prev)]
        ys = _dot(y, s)
        keep = moving & (ys > CURVATURE_THRESHOLD)
        head = state.head
        s_hist = [_write(s_ring[i], x, head, keep) for i, x in zip(floats, s)]
        y_hist = [_write(y_ring[i], x, head, keep) for i, x in zip(floats, y)]
        rho = state.rho.at[head].set(jnp.where(keep, 1 / ys, state.rho[head]).astype(state.rho.dtype))
        h_diag = jnp.where(keep, ys / _dot(y, y), state.h_diag.astype(dtype))
        head = jnp.where(keep, (head + 1) % m, head).astype(jnp.int32)

        d = _two_loop([-x for x in g], s_hist, y_hist, rho.astype(dtype), head, h_diag)
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        lr = jnp.asarray(lr).astype(dtype)
        l1 = tree.tree_sum([jnp.sum(jnp.abs(x)) for x in g]).astype(dtype)
        t = jnp.where(state.count == 0, jnp.minimum(1.0, 1 / l1) * lr, lr)
        slope = _dot(g, d)
        descent = ~(slope > -tolerance_change)

        evaluations = state.evaluations
        if line_search is None:
            t = jnp.where(descent, t, 0.0)
        else:
            p = tree.flatten_like(updates, params, what="params")[1]
            value_and_grad = jax.value_and_grad(value_fn, allow_int=True)

            def phi(t: jax.Array) -> tuple[jax.Array, jax.Array]:
                trial = list(p)
                for i, di in zip(floats, d):
                    trial[i] = (p[i].astype(dtype) + t * di).astype(p[i].dtype)
                f, grads = value_and_grad(treedef.unflatten(trial))
                grads = treedef.flatten_up_to(grads)
                return jnp.asarray(f).astype(dtype), _dot([grads[i].astype(dtype) for i in floats], d)

            def search() -> tuple[jax.Array, jax.Array]:
                return strong_wolfe(phi, jnp.asarray(value).astype(dtype), slope, t, max_abs(d).astype(dtype))

            def skip() -> tuple[jax.Array, jax.Array]:
                return jnp.zeros((), dtype), jnp.zeros((), jnp.int32)

            t, n = lax.cond(descent & moving, search, skip)
            evaluations = evaluations + n

        step = [jnp.where(moving, t * di, si) for di, si in zip(d, s)]
        out, new_step, new_prev = list(leaves), list(last), list(prev)
        new_s, new_y = list(s_ring), list(y_ring)
        for k, i in enumerate(floats):
            out[i] = (t * d[k]).astype(leaves[i].dtype)
            new_step[i] = step[k].astype(last[i].dtype)
            new_prev[i] = jnp.where(moving, g[k], g_prev[k]).astype(prev[i].dtype)
            new_s[i], new_y[i] = s_hist[k], y_hist[k]
        return treedef.unflatten(out), LbfgsState(
            count=jnp.where(moving, tree.safe_increment(state.count), state.count),
            step=treedef.unflatten(new_step),
            prev_grad=treedef.unflatten(new_prev),
            s_history=treedef.unflatten(new_s),
            y_history=treedef.unflatten(new_y),
            rho=rho,
            head=head,
            h_diag=h_diag.astype(state.h_diag.dtype),
            evaluations=evaluations,
        )

    return GradientTransformation(init, update)

