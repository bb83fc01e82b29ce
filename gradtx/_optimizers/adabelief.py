"""AdaBelief: Adam whose second moment tracks the gradient's deviation from its own average."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByBeliefState(NamedTuple):
    """State of :func:`scale_by_belief`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in the params' dtype
    nu: Updates  # s_t, second central moment (+ eps_root): shaped like the params, in the params' dtype


@transformation(complex_params="native")
def scale_by_belief(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Rescale updates by AdaBelief's moments: the mean gradient over its spread around that mean.

    The scaling of :func:`adabelief`. Where gradients agree with their average the step
    grows; where they scatter it shrinks.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       s_t = \beta_2 s_{t-1} + (1 - \beta_2) (g_t - m_t)^2 + \epsilon_{root} \\
       \hat m_t = \frac{m_t}{1 - \beta_1^t} \ \text{or, nesterov,}\
       \frac{\beta_1 m_t}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}, \qquad
       u_t = \frac{\hat m_t}{\sqrt{s_t / (1 - \beta_2^t)} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added to :math:`s_t` at every step (it
        accumulates in the state, as in the paper's algorithm).
      nesterov: Use the Nesterov form of :math:`\hat m_t`.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByBeliefState`.

    Examples:
      >>> tx = gradtx.scale_by_belief()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1.1111, -1.1111], dtype=float32)

    References:
      Zhuang et al., `AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
      Gradients <https://arxiv.org/abs/2010.07468>`_, 2020.

    .. note::
       Optax: ``optax.scale_by_belief(b1, b2, eps, eps_root, nesterov=...)``, same
       arguments and numbers.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.boolean("nesterov", nesterov)

    def init(params: Params) -> ScaleByBeliefState:
        return ScaleByBeliefState(tree.zero_count(params), tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByBeliefState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByBeliefState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction1 = tree.bias_correction(b1, count)
        correction2 = tree.bias_correction(b2, count)
        next_correction1 = tree.bias_correction(b1, tree.safe_increment(count))

        def leaf(g: jax.Array, m: jax.Array, s: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            m = (1 - b1) * g + b1 * m
            s = (1 - b2) * tree.abs_sq(g - m) + b2 * s + eps_root
            if nesterov:
                m_next = m / next_correction1.astype(g.dtype)
                m_hat = b1 * m_next + (1 - b1) * (g / correction1.astype(g.dtype))
            else:
                m_hat = m / correction1.astype(g.dtype)
            return m_hat / (jnp.sqrt(s / correction2.astype(g.dtype)) + eps), m, s

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByBeliefState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation
def adabelief(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""AdaBelief, with Optax's arguments, defaults and numbers.

    A drop-in for Adam that often generalises like SGD: the second moment measures how far
    gradients stray from their running mean (see :func:`scale_by_belief`).

    .. math::

       p_t = p_{t-1} - \eta_t \frac{\hat m_t}{\sqrt{\hat s_t} + \epsilon}

    Composition: ``chain(scale_by_belief(b1, b2, eps, eps_root, nesterov=...),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator (the paper uses 1e-8).
      eps_root: :math:`\epsilon_{root} \ge 0`, added to the second moment at every step
        (the paper uses 0).
      nesterov: Use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.adabelief(1e-3)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.001111,  0.001111], dtype=float32)

    References:
      Zhuang et al., `AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
      Gradients <https://arxiv.org/abs/2010.07468>`_, 2020.

    .. note::
       Optax: ``optax.adabelief(learning_rate, b1, b2, eps, eps_root, nesterov=...)``, same
       arguments, defaults and numbers. No weight decay, as in Optax: chain
       :func:`add_decayed_weights` before :func:`scale_by_learning_rate` for AdaBeliefW.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )
