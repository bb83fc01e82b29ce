"""The objective along a search direction, shared by Optax's line searches (zoom, backtracking)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import tree
from gradtx._core.base import Params, Updates, active_path


def _is_none(x: Any) -> bool:
    return x is None


def needs(what: str, given: Mapping[str, Any]) -> None:
    """Raise a ``ValueError`` naming the extra arguments of ``update`` that are missing."""
    missing = ", ".join(f"`{name}`" for name, x in given.items() if x is None)
    if missing:
        raise ValueError(
            f"{active_path()}: {what} needs {missing}: call update(updates, state, params, "
            "value=loss, grad=grads, value_fn=loss_fn) with value_fn(params) -> loss, or let "
            "gradtx.minimize pass them."
        )


def value_fn_kwargs(value_fn: Callable[..., Any], extra_args: Mapping[str, Any]) -> dict[str, Any]:
    """The extra arguments of ``update`` that ``value_fn`` takes by name (Optax's rule); others are ignored."""
    try:
        names = inspect.signature(value_fn).parameters
    except (TypeError, ValueError):  # a builtin or C function: no keyword arguments to pass
        return {}
    return {k: v for k, v in extra_args.items() if k in names and k not in ("value", "grad", "value_fn")}


class Line:
    r"""``t -> f(p + t u)`` with its gradient and slope, for a direction ``u`` (the updates).

    Only floating leaves move; integer and ``None`` leaves are passed to ``value_fn`` as they
    are, and get ``None`` in the gradients returned. Scalars (steps, values, slopes) are in
    :attr:`dtype`: the widest floating dtype of the params, at least float32 (real for complex
    params).

    Complex params: a gradient given by the caller follows Optax's convention (the conjugate
    of ``jax.grad``, the direction of steepest ascent), so its slope is
    :math:`\mathrm{Re} \sum \bar u\, g`; the gradients this class computes are ``jax.grad``'s,
    whose slope is :math:`\mathrm{Re} \sum u\, g` (the same number for the same point).
    """

    def __init__(self, updates: Updates, params: Params, value_fn: Callable[..., Any], kwargs: Mapping[str, Any]):
        self.treedef = jax.tree.structure(updates, is_leaf=_is_none)
        self.u, self.p = tree.flatten_like(updates, params, what="params")
        self.floats = [i for i, x in enumerate(self.u) if tree.is_float(x)]
        self.dtype = value_dtype(params)
        self.value_and_grad = jax.value_and_grad(lambda q: value_fn(q, **kwargs), allow_int=True)

    def float_grad(self, grad: Updates) -> Updates:
        """``grad`` in the params' dtypes, with ``None`` at the leaves that do not move (float0, integers)."""
        leaves = tree.flatten_up_to(self.treedef, grad)
        return jax.tree.unflatten(
            self.treedef,
            [jnp.asarray(leaves[i]).astype(self.p[i].dtype) if i in self.floats else None for i in range(len(leaves))]
        )

    def slope(self, grad: Updates, *, from_jax: bool = False) -> jax.Array:
        """The directional derivative ``<grad, u>`` (``from_jax``: ``grad`` is ``jax.grad``'s, see above)."""
        g = tree.flatten_up_to(self.treedef, grad)
        terms = []
        for i in self.floats:
            dtype = tree.compute_dtype(g[i].dtype, self.u[i].dtype)
            u = self.u[i].astype(dtype)
            terms.append(jnp.sum(g[i].astype(dtype) * (u if from_jax else jnp.conj(u))).real)
        return tree.tree_sum(terms).astype(self.dtype)

    def point(self, t: jax.Array) -> Params:
        """The params at step ``t``: ``p + t u`` in each leaf's dtype."""
        moved = list(self.p)
        for i in self.floats:
            moved[i] = (self.p[i] + t.astype(self.p[i].dtype) * self.u[i].astype(self.p[i].dtype)).astype(self.p[i].dtype)
        return jax.tree.unflatten(self.treedef, moved)

    def __call__(self, t: jax.Array) -> tuple[jax.Array, Updates, jax.Array]:
        """``(f(p + t u), grad f(p + t u), <grad, u>)``."""
        value, grad = self.value_and_grad(self.point(t))
        grad = self.float_grad(grad)
        return jnp.asarray(value).astype(self.dtype), grad, self.slope(grad, from_jax=True)

    def value(self, t: jax.Array) -> jax.Array:
        """``f(p + t u)`` alone."""
        return jnp.asarray(self.value_and_grad(self.point(t))[0]).astype(self.dtype)

    def grad(self, t: jax.Array) -> Updates:
        """``grad f(p + t u)`` alone."""
        return self.float_grad(self.value_and_grad(self.point(t))[1])

    def scale(self, t: jax.Array) -> Updates:
        """The updates times ``t`` (in their dtypes)."""
        out = list(self.u)
        for i in self.floats:
            dtype = tree.compute_dtype(self.u[i].dtype)
            out[i] = (t.astype(dtype) * self.u[i].astype(dtype)).astype(self.u[i].dtype)
        return jax.tree.unflatten(self.treedef, out)


def value_dtype(params: Params) -> Any:
    """The dtype of the scalars a line search keeps: the widest floating dtype of ``params``, >= float32
    (the real one for complex params)."""
    return tree.real_dtype(tree.compute_dtype(*(x.dtype for x in tree.leaves_of(params))))
