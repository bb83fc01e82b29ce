"""Applying updates to parameters."""

from typing import Any

import jax

from gradtx._core.base import Params, Updates
from gradtx._core.tree import as_array, compute_dtype, is_float


def _is_none(x: Any) -> bool:
    return x is None


def apply_updates(params: Params, updates: Updates) -> Params:
    """Return ``params + updates``, each leaf keeping the dtype of its param.

    The sum is computed in the wider of the two dtypes (at least float32; complex for complex
    leaves) and cast back. Leaves that are neither floating point nor complex (integers, ``None``)
    are returned unchanged; a Python float param becomes a 0-d array, as it does under ``jit``.

    Examples:
      >>> gradtx.apply_updates({"w": jnp.ones(2)}, {"w": jnp.full(2, -0.5)})
      {'w': Array([0.5, 0.5], dtype=float32)}
    """

    def leaf(p: Any, u: Any) -> Any:
        if u is None or not is_float(p):
            return p
        p, u = as_array(p), as_array(u)
        dtype = compute_dtype(p.dtype, u.dtype)
        return (p.astype(dtype) + u.astype(dtype)).astype(p.dtype)

    return jax.tree.map(leaf, params, updates, is_leaf=_is_none)
