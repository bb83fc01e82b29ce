"""RAdam: Adam whose adaptive step is switched on, and rectified, once its variance is tractable."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent


class ScaleByRadamState(NamedTuple):
    """State of :func:`scale_by_radam`."""

    count: jax.Array  # int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in their dtype
    nu: Updates  # v_t, second moment: shaped like the params, in their dtype


@transformation
def scale_by_radam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    threshold: float = 5.0,
    eps_after_correction: bool = False,
) -> GradientTransformation:
    r"""Rescale updates by Rectified Adam: momentum alone at first, then a rectified Adam step.

    The scaling of :func:`radam`. While the length :math:`\rho_t` of the approximated simple
    moving average is short, the variance of Adam's adaptive factor is not tractable and
    the update is the bias-corrected momentum; afterwards the adaptive factor is used,
    multiplied by the rectification :math:`r_t \le 1`.

    .. math::

       \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \rho_\infty = \frac{2}{1 - \beta_2} - 1, \quad
       \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \quad
       r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
       u_t = r_t \hat m_t \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon} \ \text{if}\ \rho_t > \rho_{thr},
       \ \text{else}\ u_t = \hat m_t

    with Adam's moments :math:`m_t, v_t` (see :func:`scale_by_adam`).

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to :math:`\sqrt{v_t}`.
      threshold: :math:`\rho_{thr} \ge 4`, the length above which the adaptive step is used
        (5 in torch and the paper).
      eps_after_correction: Use :math:`r_t \hat m_t / (\sqrt{v_t / (1 - \beta_2^t)} + \epsilon)`,
        adding :math:`\epsilon` to the bias-corrected root (Optax's rule, and torch's Adam's)
        instead of to :math:`\sqrt{v_t}` (torch's RAdam).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRadamState`.

    Raises:
      ValueError: If a beta is outside [0, 1), ``eps < 0`` or ``threshold < 4``.

    Examples:
      >>> tx = gradtx.scale_by_radam()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(3)  # rho_1 = 1: momentum only
      Array([ 0.5, -2. ], dtype=float32)

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.

    .. note::
       Optax: ``optax.scale_by_radam(b1, b2, eps, eps_root=0.0, threshold)`` is
       ``scale_by_radam(b1, b2, eps, threshold=..., eps_after_correction=True)``, except
       that Optax switches at :math:`\rho_t \ge \rho_{thr}` (gradtx and torch: :math:`>`,
       which differ only when :math:`\rho_t` equals the threshold exactly). Optax's
       ``eps_root`` and ``nesterov`` have no counterpart here.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.interval("threshold", threshold, 4.0)
    checks.boolean("eps_after_correction", eps_after_correction)

    def init(params: Params) -> ScaleByRadamState:
        return ScaleByRadamState(tree.zero_count(params), tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByRadamState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByRadamState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        step = tree.float_count(count)
        correction1 = tree.bias_correction(b1, count)
        correction2 = tree.bias_correction(b2, count)
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * step * b2**step / correction2
        rectified = rho > threshold
        ratio = (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
        rectification = jnp.sqrt(jnp.where(rectified, ratio, 1.0))

        def leaf(g, m, v):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * jnp.square(g)
            m_hat = m / correction1.astype(m.dtype)
            c2, r = correction2.astype(v.dtype), rectification.astype(v.dtype)
            if eps_after_correction:
                adaptive = r * m_hat / (jnp.sqrt(v / c2) + eps)
            else:
                adaptive = r * m_hat * jnp.sqrt(c2) / (jnp.sqrt(v) + eps)
            return jnp.where(rectified, adaptive, m_hat), m, v

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByRadamState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation
def radam(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""RAdam, as ``torch.optim.RAdam``: Adam with a variance-rectified adaptive step.

    Needs no learning-rate warm-up: the first steps (:math:`\rho_t \le 5`, about 5 steps
    for :math:`\beta_2 = 0.999`) are plain momentum steps of size :math:`\eta`.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1} \ \text{(L2)}, \qquad
       p_t = p_{t-1} - \eta\, \big( u_t + \lambda p_{t-1} \ \text{(decoupled)} \big)

    with :math:`u_t` from :func:`scale_by_radam`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_radam(β1, β2, ε),
    [add_decayed_weights(λ)], scale_by_learning_rate(η))``: the decay comes before the
    scaling (L2) or, with ``decoupled_weight_decay``, after it (RAdamW).

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)` (torch's ``betas[0]``).
      b2: :math:`\beta_2 \in [0, 1)` (torch's ``betas[1]``).
      eps: :math:`\epsilon \ge 0`, added to :math:`\sqrt{v_t}`.
      weight_decay: :math:`\lambda \ge 0`.
      decoupled_weight_decay: Decay the params directly (scaled by :math:`\eta`) instead of
        adding :math:`\lambda p` to the gradient.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps`` or ``weight_decay`` is negative, or a beta
        is outside [0, 1).

    Examples:
      >>> tx = gradtx.radam(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.005,  0.02 ], dtype=float32)

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.

    .. note::
       PyTorch: ``torch.optim.RAdam(lr, betas=(b1, b2), eps, weight_decay,
       decoupled_weight_decay, maximize=...)`` -> ``radam(learning_rate, b1, b2, eps,
       weight_decay, decoupled_weight_decay, maximize=...)``, same numbers and defaults.
       Optax: ``optax.radam(learning_rate, b1, b2, eps, eps_root, threshold, nesterov=...)``
       adds :math:`\epsilon` after the bias correction, has no weight decay and no default
       learning rate; with ``eps_root=0`` and no nesterov it is
       ``chain(scale_by_radam(b1, b2, eps, threshold=..., eps_after_correction=True),
       scale_by_learning_rate(η))``.
    """
    checks.learning_rate(learning_rate)
    checks.boolean("decoupled_weight_decay", decoupled_weight_decay)
    checks.boolean("maximize", maximize)
    return descent(
        scale_by_radam(b1, b2, eps),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        decoupled=decoupled_weight_decay,
        maximize=maximize,
    )
