"""Run a real-valued transformation on complex params, as two real halves."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform


class _RealImaginary(NamedTuple):
    """A complex array as its real and imaginary parts (two real leaves for the inner transformation)."""

    real: jax.Array
    imaginary: jax.Array


def _split(x: Any) -> Any:
    return _RealImaginary(jnp.real(x), jnp.imag(x)) if x is not None and jnp.iscomplexobj(x) else x


def _join(x: Any) -> Any:
    return jax.lax.complex(x.real, x.imaginary) if isinstance(x, _RealImaginary) else x


class SplitRealAndImaginaryState(NamedTuple):
    """State of :func:`split_real_and_imaginary`."""

    inner_state: State  # the inner transformation's state, for the split params


@transformation
def split_real_and_imaginary(inner: GradientTransformation) -> GradientTransformation:
    r"""Apply ``inner`` to the real and imaginary parts of complex leaves as separate real leaves.

    Each complex leaf :math:`z = x + iy` is seen by ``inner`` as two real leaves
    :math:`x, y` (its state holds one entry for each), and the two updates it returns are
    joined back into :math:`u_x + i u_y`. Real leaves pass through as they are. This gives
    ``adam`` on :math:`\mathbb{C}^n` the behaviour of ``adam`` on :math:`\mathbb{R}^{2n}`
    (its second moment then tracks :math:`x` and :math:`y` separately).

    Args:
      inner: The transformation to run on the real halves.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`SplitRealAndImaginaryState`.

    Examples:
      >>> tx = gradtx.split_real_and_imaginary(gradtx.sign_sgd(0.1))
      >>> z = jnp.array([1.0 + 2.0j])
      >>> tx.update(jnp.array([3.0 - 0.5j]), tx.init(z), z)[0]
      Array([-0.1+0.1j], dtype=complex64)

    .. note::
       Optax: ``optax.contrib.split_real_and_imaginary(inner)``, same argument and numbers.
       Extra ``update`` arguments are passed on to ``inner``.
    """
    inner = _check_transform("split_real_and_imaginary", "`inner`", inner)
    is_pair = lambda x: isinstance(x, _RealImaginary)

    def init(params: Params) -> SplitRealAndImaginaryState:
        return SplitRealAndImaginaryState(inner.init(jax.tree.map(_split, params)))

    def update(
        updates: Updates, state: SplitRealAndImaginaryState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, SplitRealAndImaginaryState]:
        split_params = None if params is None else jax.tree.map(_split, params)
        new, inner_state = inner.update(jax.tree.map(_split, updates), state.inner_state, split_params, **extra_args)
        return jax.tree.map(_join, new, is_leaf=is_pair), SplitRealAndImaginaryState(inner_state)

    return GradientTransformation(init, update)
