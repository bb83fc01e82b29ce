"""signSGD: descend along the signs of the gradient's entries."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    transformation,
)
from gradtx._core.combine import chain
from gradtx._transforms.scale import scale_by_learning_rate


@transformation
def scale_by_sign() -> GradientTransformation:
    r"""Replace each entry of the updates by its sign: :math:`u \leftarrow \operatorname{sign}(u)`.

    The scaling of :func:`sign_sgd`; chained after :func:`ema` it gives Signum.

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Examples:
      >>> tx = gradtx.scale_by_sign()
      >>> tx.update(jnp.array([0.5, -2.0, 0.0]), tx.init(None))[0]
      Array([ 1., -1.,  0.], dtype=float32)

    .. note::
       Optax: ``optax.scale_by_sign()``, same numbers.
    """

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        return tree.map_float(jnp.sign, updates), state

    return GradientTransformation(init, update)


@transformation
def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    r"""signSGD, with Optax's arguments and numbers: a step of fixed size along the gradient's signs.

    The update communicates one bit per entry, which makes it a compressor for distributed
    training; it is also the limit of Adam and Lion without averaging.

    .. math::

       p_t = p_{t-1} - \eta_t \operatorname{sign}(g_t)

    Composition: ``chain(scale_by_sign(), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.sign_sgd(0.1)
      >>> tx.update(jnp.array([0.5, -2.0, 0.0]), tx.init(None))[0]
      Array([-0.1,  0.1, -0. ], dtype=float32)

    References:
      Bernstein et al., `signSGD: Compressed Optimisation for Non-Convex Problems
      <https://arxiv.org/abs/1802.04434>`_, 2018.
      Balles et al., `The Geometry of Sign Gradient Descent
      <https://arxiv.org/abs/2002.08056>`_, 2020.

    .. note::
       Optax: ``optax.sign_sgd(learning_rate)``, same argument and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(scale_by_sign(), scale_by_learning_rate(learning_rate))
