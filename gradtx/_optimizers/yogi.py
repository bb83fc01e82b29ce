"""Yogi: Adam whose second moment moves additively, so the effective step cannot jump."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByYogiState(NamedTuple):
    """State of :func:`scale_by_yogi`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in the params' dtype
    nu: Updates  # v_t, second moment: shaped like the params, in the params' dtype


@transformation(complex_params="native")
def scale_by_yogi(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-3,
    eps_root: float = 0.0,
    initial_accumulator_value: float = 1e-6,
) -> GradientTransformation:
    r"""Rescale updates by Yogi's moments: Adam with an additive, sign-controlled second moment.

    The scaling of :func:`yogi`. The second moment changes by at most
    :math:`(1 - \beta_2) g^2` per step, in the direction of :math:`g^2`.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       v_t = v_{t-1} - (1 - \beta_2) \operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2, \qquad
       m_0 = v_0 = v_{init} \\
       u_t = \frac{m_t / (1 - \beta_1^t)}{\sqrt{v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, rate of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      initial_accumulator_value: :math:`v_{init} \ge 0`, the starting value of both moments.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByYogiState`.

    Examples:
      >>> tx = gradtx.scale_by_yogi()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(2)
      Array([ 1., -1.], dtype=float32)

    References:
      Zaheer et al., `Adaptive Methods for Nonconvex Optimization
      <https://proceedings.neurips.cc/paper/2018/hash/90365351ccc7437a1309dc64e4db32a3-Abstract.html>`_,
      2018.

    .. note::
       Optax: ``optax.scale_by_yogi(b1, b2, eps, eps_root, initial_accumulator_value)``,
       same arguments and numbers (both moments start at ``initial_accumulator_value``
       and are bias-corrected as Adam's).
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.non_negative("initial_accumulator_value", initial_accumulator_value)

    def init(params: Params) -> ScaleByYogiState:
        start = tree.full_like(params, initial_accumulator_value)
        return ScaleByYogiState(tree.zero_count(params), start, start)

    def update(
        updates: Updates, state: ScaleByYogiState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByYogiState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction1 = tree.bias_correction(b1, count)
        correction2 = tree.bias_correction(b2, count)

        def leaf(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            m = (1 - b1) * g + b1 * m
            g2 = tree.abs_sq(g)
            v = v - (1 - b2) * jnp.sign(v - g2) * g2
            m_hat = m / correction1.astype(g.dtype)
            v_hat = v / correction2.astype(g.dtype)
            return m_hat / (jnp.sqrt(v_hat + eps_root) + eps), m, v

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByYogiState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation
def yogi(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-3,
) -> GradientTransformation:
    r"""Yogi, with Optax's arguments, defaults and numbers.

    An Adam variant for problems where Adam's effective learning rate grows too fast when
    gradients shrink (see :func:`scale_by_yogi` for the moments).

    .. math::

       p_t = p_{t-1} - \eta_t \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    Composition: ``chain(scale_by_yogi(b1, b2, eps), scale_by_learning_rate(η))``, with
    ``scale_by_yogi``'s defaults ``eps_root=0`` and ``initial_accumulator_value=1e-6``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, rate of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.yogi(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([-0.01,  0.01], dtype=float32)

    References:
      Zaheer et al., `Adaptive Methods for Nonconvex Optimization
      <https://proceedings.neurips.cc/paper/2018/hash/90365351ccc7437a1309dc64e4db32a3-Abstract.html>`_,
      2018.

    .. note::
       Optax: ``optax.yogi(learning_rate, b1, b2, eps)``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(scale_by_yogi(b1, b2, eps), scale_by_learning_rate(learning_rate))
