"""Complex leaves seen as pairs of real leaves (``torch.view_as_real``'s view, one leaf per half)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class RealImaginary(NamedTuple):
    """A complex array as its real and imaginary parts: two real leaves for a real-valued rule."""

    real: jax.Array
    imaginary: jax.Array


def is_complex(x: Any) -> bool:
    """Whether a leaf is a complex array (or an abstract one), or a Python complex."""
    if isinstance(x, complex):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jnp.complexfloating)


def split(tree: Any) -> Any:
    """``tree`` with each complex leaf replaced by its :class:`RealImaginary` halves (``tree``
    itself when it has no complex leaf)."""
    if not any(is_complex(x) for x in jax.tree.leaves(tree)):
        return tree
    return jax.tree.map(lambda x: RealImaginary(jnp.real(x), jnp.imag(x)) if is_complex(x) else x, tree)


def join(tree: Any) -> Any:
    """The inverse of :func:`split`: each :class:`RealImaginary` pair back into one complex leaf."""

    def is_pair(x: Any) -> bool:
        return isinstance(x, RealImaginary)

    return jax.tree.map(lambda x: jax.lax.complex(x.real, x.imaginary) if is_pair(x) else x, tree, is_leaf=is_pair)
