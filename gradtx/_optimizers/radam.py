"""RAdam: Adam whose adaptive step is switched on, and rectified, once its variance is tractable.

Optax's ``radam``/``scale_by_radam`` and torch's ``RAdam``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._optimizers._common import descent, torch_betas, torch_flags
from gradtx._optimizers.adam import nesterov_mean
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByRadamState(NamedTuple):
    """State of :func:`scale_by_radam`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in their dtype
    nu: Updates  # v_t, second moment: shaped like the params, in their dtype


@transformation(complex_params="native")
def scale_by_radam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    threshold: float = 5.0,
    *,
    nesterov: bool = False,
    eps_before_correction: bool = False,
) -> GradientTransformation:
    r"""Rescale updates by Rectified Adam: momentum alone at first, then a rectified Adam step.

    The scaling of :func:`radam` and ``gradtx.torch.RAdam``. While the length
    :math:`\rho_t` of the approximated simple moving average is short, the variance of
    Adam's adaptive factor is not tractable and the update is the bias-corrected momentum;
    afterwards the adaptive factor is used, multiplied by the rectification :math:`r_t \le 1`.

    .. math::

       \rho_\infty = \frac{2}{1 - \beta_2} - 1, \quad
       \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \quad
       r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
       u_t = \frac{r_t \hat m_t}{\sqrt{v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}
       \ \text{if}\ \rho_t \ge \rho_{thr}, \ \text{else}\ u_t = \hat m_t

    with Adam's moments :math:`m_t, v_t` and :math:`\hat m_t` (plain or Nesterov) as in
    :func:`scale_by_adam`.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      threshold: :math:`\rho_{thr} \ge 4`, the length from which the adaptive step is used
        (5 in torch and the paper).
      nesterov: Use the Nesterov form of :math:`\hat m_t`.
      eps_before_correction: Divide by :math:`(\sqrt{v_t + \epsilon_{root}} + \epsilon) /
        \sqrt{1 - \beta_2^t}`, adding :math:`\epsilon` before the bias correction (torch's
        ``RAdam``) instead of after it.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRadamState`.

    Raises:
      ValueError: If a beta is outside [0, 1), ``eps`` or ``eps_root`` is negative, or
        ``threshold < 4``.

    Examples:
      >>> tx = gradtx.scale_by_radam()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(3)  # rho_1 = 1: momentum only
      Array([ 0.5, -2. ], dtype=float32)

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.

    .. note::
       Optax: ``optax.scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=...)``, same
       arguments and numbers. ``eps_before_correction`` is gradtx's addition for torch's
       placement of :math:`\epsilon`; torch also switches at :math:`\rho_t > 5` where Optax
       and gradtx switch at :math:`\rho_t \ge 5` (they differ only if :math:`\rho_t` is 5
       exactly).
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.interval("threshold", threshold, 4.0)
    checks.boolean("nesterov", nesterov)
    checks.boolean("eps_before_correction", eps_before_correction)

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
        next_correction1 = tree.bias_correction(b1, tree.safe_increment(count))
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * step * b2**step / correction2
        rectified = rho >= threshold
        ratio = (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
        rectification = jnp.sqrt(jnp.where(rectified, ratio, 1.0))  # no NaN where it is not used

        def leaf(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * tree.abs_sq(g)
            c1, c2, r = (x.astype(m.dtype) for x in (correction1, correction2, rectification))
            m_hat = nesterov_mean(b1, m, g, c1, next_correction1.astype(m.dtype)) if nesterov else m / c1
            if eps_before_correction:
                adaptive = r * m_hat * jnp.sqrt(c2) / (jnp.sqrt(v + eps_root) + eps)
            else:
                adaptive = r * m_hat / (jnp.sqrt(v / c2 + eps_root) + eps)
            return jnp.where(rectified, adaptive, m_hat), m, v

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByRadamState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation
def radam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    threshold: float = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""RAdam (Rectified Adam), with Optax's arguments and numbers.

    Needs no learning-rate warm-up: the first steps (:math:`\rho_t < 5`, about 5 steps
    for :math:`\beta_2 = 0.999`) are plain momentum steps of size :math:`\eta`.

    .. math::

       p_t = p_{t-1} - \eta_t u_t

    with :math:`u_t` from :func:`scale_by_radam`.

    Composition: ``chain(scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=...),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      threshold: :math:`\rho_{thr} \ge 4`, the length from which the adaptive step is used.
      nesterov: Use Nesterov momentum.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps`` or ``eps_root`` is negative, a beta is
        outside [0, 1), or ``threshold < 4``.

    Examples:
      >>> tx = gradtx.radam(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.005,  0.02 ], dtype=float32)

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.

    .. note::
       Optax: ``optax.radam``, same arguments, defaults and numbers. PyTorch:
       ``torch.optim.RAdam`` adds :math:`\epsilon` before the bias correction and has weight
       decay: it is ``gradtx.torch.RAdam``.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


# ------------------------------------------------------------------ torch.optim's dialect


@transformation(complex_params="as_real")
def RAdam(  # noqa: N802
    lr: ScalarOrSchedule = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0,
    decoupled_weight_decay: bool = False,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool = False,
    differentiable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.RAdam``: its arguments (without ``params``), defaults and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1} \ \text{(L2)}, \qquad
       p_t = p_{t-1} - \eta\, \big( u_t + \lambda p_{t-1} \ \text{(decoupled)} \big)

    with :math:`u_t` from :func:`scale_by_radam` with ``eps_before_correction=True``: the
    adaptive step is :math:`r_t \hat m_t \sqrt{1 - \beta_2^t} / (\sqrt{v_t} + \epsilon)`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_radam(β1, β2, ε,
    eps_before_correction=True), [add_decayed_weights(λ)], scale_by_learning_rate(η))``:
    the decay comes before the scaling (L2) or, with ``decoupled_weight_decay``, after it.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
      eps: :math:`\epsilon \ge 0`, added to :math:`\sqrt{v_t}`.
      weight_decay: :math:`\lambda \ge 0`.
      decoupled_weight_decay: Decay the params directly (scaled by :math:`\eta`) instead of
        adding :math:`\lambda p` to the gradient.
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      capturable: Accepted and ignored.
      differentiable: Accepted and ignored (JAX code is always differentiable).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.RAdam(lr=1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.005,  0.02 ], dtype=float32)

    References:
      Liu et al., `On the Variance of the Adaptive Learning Rate and Beyond
      <https://arxiv.org/abs/1908.03265>`_, 2020.

    .. note::
       PyTorch: ``torch.optim.RAdam(params, ...)`` -> ``gradtx.torch.RAdam(...)``, same
       arguments and numbers (torch switches at :math:`\rho_t > 5`, gradtx at
       :math:`\rho_t \ge 5`: they differ only if :math:`\rho_t` is 5 exactly). Optax:
       ``optax.radam`` (:func:`radam`) adds :math:`\epsilon` after the bias correction and
       has no weight decay.
    """
    torch_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
    checks.learning_rate(lr, "lr")
    checks.boolean("decoupled_weight_decay", decoupled_weight_decay)
    checks.boolean("maximize", maximize)
    b1, b2 = torch_betas(betas)
    return descent(
        scale_by_radam(b1, b2, eps, eps_before_correction=True),
        lr,
        weight_decay=weight_decay,
        decoupled=decoupled_weight_decay,
        maximize=maximize,
    )
