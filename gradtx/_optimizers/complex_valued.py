"""Run a real-valued transformation on complex params, as two real halves."""

from __future__ import annotations

from typing import Any, NamedTuple

from gradtx._core import real_view
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform


class SplitRealAndImaginaryState(NamedTuple):
    """State of :func:`split_real_and_imaginary`."""

    inner_state: State  # the inner transformation's state, for the split params


@transformation(complex_params="native")  # its inner part sees real leaves only
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
    def init(params: Params) -> SplitRealAndImaginaryState:
        return SplitRealAndImaginaryState(inner.init(real_view.split(params)))

    def update(
        updates: Updates, state: SplitRealAndImaginaryState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, SplitRealAndImaginaryState]:
        split_params = None if params is None else real_view.split(params)
        new, inner_state = inner.update(real_view.split(updates), state.inner_state, split_params, **extra_args)
        return real_view.join(new), SplitRealAndImaginaryState(inner_state)

    return GradientTransformation(init, update)
