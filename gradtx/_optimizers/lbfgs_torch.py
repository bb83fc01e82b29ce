"""torch.optim.LBFGS's iteration (ring-buffer history, its first step and curvature rule), for :func:`gradtx.torch.LBFGS`."""

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
)
from gradtx._optimizers.linesearch import strong_wolfe

CURVATURE_THRESHOLD = 1e-10  # a pair (s, y) is kept only if y.s exceeds this (torch's rule)


class LbfgsState(NamedTuple):
    """State of :func:`gradtx.torch.LBFGS`."""

    # int32[]: iterations made (torch's n_iter); a zero gradient does not count
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count
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
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x), initial=0).astype(dtype) for x in leaves]))


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

    def newest_first(
        j: jax.Array, carry: tuple[list[jax.Array], jax.Array]
    ) -> tuple[list[jax.Array], jax.Array]:
        q, alpha = carry
        slot = (head - 1 - j) % m
        a = _dot(pair(s_history, slot), q) * rho[slot]
        return [qi - a * yi for qi, yi in zip(q, pair(y_history, slot))], alpha.at[slot].set(a)

    q, alpha = lax.fori_loop(np.int32(0), np.int32(m), newest_first, (q, jnp.zeros(m, dtype)))
    r = [qi * h_diag for qi in q]

    def oldest_first(j: jax.Array, r: list[jax.Array]) -> list[jax.Array]:
        slot = (head + j) % m
        b = _dot(pair(y_history, slot), r) * rho[slot]
        return [ri + si * (alpha[slot] - b) for ri, si in zip(r, pair(s_history, slot))]

    out: list[jax.Array] = lax.fori_loop(np.int32(0), np.int32(m), oldest_first, r)
    return out


def _write(history: jax.Array, value: jax.Array, slot: jax.Array, keep: jax.Array) -> jax.Array:
    """``history[slot] = value`` if ``keep``; touches one slot, not the whole ring."""
    old = lax.dynamic_index_in_dim(history, slot, 0, keepdims=False)
    new = jnp.where(keep, value.astype(history.dtype), old)
    out: jax.Array = lax.dynamic_update_index_in_dim(history, new, slot, 0)
    return out


def torch_lbfgs(
    learning_rate: ScalarOrSchedule,
    history_size: int,
    line_search: str | None,
    tolerance_grad: float,
    tolerance_change: float,
    max_evaluations: int,
) -> GradientTransformation:
    """One iteration of ``torch.optim.LBFGS`` per update: the math of :func:`gradtx.torch.LBFGS`.

    ``tolerance_grad``: a gradient with ``max|g| <= tolerance_grad`` gives a zero update and
    leaves the state as it is (torch's step returns at once). ``tolerance_change``: a
    direction with ``g.d > -tolerance_change`` is not taken. ``max_evaluations``: the most
    evaluations the strong-Wolfe search makes after its first (torch's ``max_ls``).
    """
    checks.learning_rate(learning_rate)
    checks.integer("history_size", history_size, 1)
    checks.one_of("line_search_fn", line_search, (None, "strong_wolfe"))
    checks.non_negative("tolerance_grad", tolerance_grad)
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
                    f"{active_path()}: line_search_fn='strong_wolfe' needs {missing}: call "
                    "update(grads, state, params, value=loss, value_fn=loss_fn) with "
                    "value_fn(params) -> loss, or let gradtx.minimize pass them."
                )
        leaves, prev, last = tree.flatten_like(updates, state.prev_grad, state.step)
        treedef = jax.tree.structure(updates, is_leaf=_is_none)
        s_ring, y_ring = (tree.flatten_up_to(treedef, h) for h in (state.s_history, state.y_history))
        floats = [i for i, u in enumerate(leaves) if tree.is_float(u)]
        dtype = tree.compute_dtype(*(x.dtype for i in floats for x in (leaves[i], prev[i])), state.rho.dtype)

        g = [leaves[i].astype(dtype) for i in floats]
        g_prev = [prev[i].astype(dtype) for i in floats]
        s = [last[i].astype(dtype) for i in floats]
        moving = max_abs(g) > tolerance_grad if g else jnp.zeros((), bool)

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
            t = jnp.where(descent & moving, t, 0.0)
        else:
            assert value_fn is not None  # the check above raised otherwise
            p = tree.flatten_like(updates, params, what="params")[1]
            value_and_grad = jax.value_and_grad(value_fn, allow_int=True)

            def phi(t: jax.Array) -> tuple[jax.Array, jax.Array]:
                trial = list(p)
                for i, di in zip(floats, d):
                    trial[i] = (p[i].astype(dtype) + t * di).astype(p[i].dtype)
                f, grads = value_and_grad(jax.tree.unflatten(treedef, trial))
                grads = tree.flatten_up_to(treedef, grads)
                return jnp.asarray(f).astype(dtype), _dot([grads[i].astype(dtype) for i in floats], d)

            def search() -> tuple[jax.Array, jax.Array]:
                return strong_wolfe(
                    phi, jnp.asarray(value).astype(dtype), slope, t, max_abs(d).astype(dtype), max_evaluations
                )

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
        return jax.tree.unflatten(treedef, out), LbfgsState(
            count=jnp.where(moving, tree.safe_increment(state.count), state.count),
            step=jax.tree.unflatten(treedef, new_step),
            prev_grad=jax.tree.unflatten(treedef, new_prev),
            s_history=jax.tree.unflatten(treedef, new_s),
            y_history=jax.tree.unflatten(treedef, new_y),
            rho=rho,
            head=head,
            h_diag=h_diag.astype(state.h_diag.dtype),
            evaluations=evaluations,
        )

    return GradientTransformation(init, update)

