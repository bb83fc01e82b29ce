"""Helpers shared by the optimizers that mirror ``optax.contrib``: whole-tree reductions and scalar state.

Learning-rate-free methods (Prodigy, D-Adaptation, DoG, Mechanic) reduce the whole tree to a
few scalars (dot products, norms) between their per-leaf passes. The reductions here check the
trees against the updates like :func:`gradtx._core.tree.map_unzip` does, skip the leaves that
are not floating point, and compute each leaf in float32 or wider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import tree
from gradtx._core.base import Params


def reduce_sum(fn: Callable[..., jax.Array], updates: Any, *trees: Any) -> jax.Array:
    """``sum over leaves of fn(u, *others)``, a scalar per leaf, over the floating leaves of ``updates``."""
    leaves, *others = tree.flatten_like(updates, *trees)
    terms = []
    for column in zip(leaves, *others):
        column = tuple(tree.as_array(x) for x in column)
        if not tree.is_float(column[0]):
            continue
        dtype = tree.compute_dtype(*(x.dtype for x in column if tree.is_float(x)))
        terms.append(fn(*(x.astype(dtype) if tree.is_float(x) else x for x in column)))
    return tree.tree_sum(terms)


def scalar_dtype(params: Params) -> Any:
    """The dtype of a state's scalars: the widest of the params' floating dtypes, never below float32."""
    return tree.compute_dtype(*(tree.as_array(x).dtype for x in tree.leaves_of(params)))


def scalar(params: Params, value: Any, dtype: Any = None) -> jax.Array:
    """``value`` as a 0-d array of ``dtype`` (default :func:`scalar_dtype`), placed like the params' counts."""
    return tree.replicated_like(params, jnp.asarray(value, dtype or scalar_dtype(params)))


def copy_params(params: Params, dtype: Any = None) -> Params:
    """A copy of the floating leaves of ``params`` (in ``dtype`` if given); ``None`` for the others."""

    def leaf(p: Any) -> Any:
        if not tree.is_float(p):
            return None
        p = tree.as_array(p)
        return jnp.array(p, dtype or p.dtype, copy=True)

    return jax.tree.map(leaf, params, is_leaf=lambda x: x is None)


def integer_power(base: Any, count: jax.Array) -> jax.Array:
    """``base ** count`` for an integer count, by repeated squaring (as Optax's ``beta ** count``), weakly typed."""
    return tree.weak(jax.lax.pow(tree.weak(base), count))
