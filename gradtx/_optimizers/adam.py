"""Adam, and its aliases with L2 (adam) or decoupled (adamw) weight decay and AMSGrad."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`."""

    count: jax.Array  # int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in `mu_dtype` (default: the params')
    nu: Updates  # v_t, second moment: shaped like the params, in `nu_dtype` (default: the params')
    nu_max: Updates | None  # max_{s<=t} v_s when `amsgrad`, else None


@transformation
def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    eps_root: float = 0.0,
    amsgrad: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""Rescale updates by Adam's bias-corrected moment estimates.

    The scaling of :func:`adam`, :func:`adamw` and :func:`amsgrad`.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
       \hat v_t = \max(\hat v_{t-1}, v_t) \ \text{(amsgrad) else}\ v_t \\
       u_t = \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root (Optax's
        argument; 0 in torch). Makes the update differentiable where :math:`v = 0`.
      amsgrad: Divide by the running maximum of :math:`v_t` (taken *before* bias
        correction, as torch and the paper do).
      mu_dtype: Storage dtype of :math:`m` (e.g. ``jnp.bfloat16`` halves its bytes);
        ``None`` keeps the params' dtype. The math runs in float32 or wider.
      nu_dtype: Storage dtype of :math:`v` (and of its maximum).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdamState`.

    Examples:
      >>> tx = gradtx.scale_by_adam()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014.
      Reddi et al., `On the Convergence of Adam and Beyond
      <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018 (AMSGrad).

    .. note::
       Optax: ``optax.scale_by_amsgrad`` takes the maximum of the bias-corrected
       :math:`v`, which differs from torch and from the paper; gradtx follows torch.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.boolean("amsgrad", amsgrad)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.dtype_or_none("nu_dtype", nu_dtype)

    def init(params: Params) -> ScaleByAdamState:
        nu = tree.zeros_like(params, nu_dtype)
        return ScaleByAdamState(
            count=tree.zero_count(params),
            mu=tree.zeros_like(params, mu_dtype),
            nu=nu,
            nu_max=nu if amsgrad else None,
        )

    def update(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdamState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction1 = tree.bias_correction(b1, count)
        correction2 = tree.bias_correction(b2, count)

        def moments(g, m, v):
            return b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * jnp.square(g)

        def scaled(m, v):
            return (m / correction1) / (jnp.sqrt(v / correction2 + eps_root) + eps)

        if amsgrad:

            def leaf(g, m, v, v_max):
                m, v = moments(g, m, v)
                v_max = jnp.maximum(v_max, v)
                return scaled(m, v_max), m, v, v_max

            updates, mu, nu, nu_max = tree.map_unzip(leaf, updates, state.mu, state.nu, state.nu_max)
        else:

            def leaf(g, m, v):
                m, v = moments(g, m, v)
                return scaled(m, v), m, v

            updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
            nu_max = None
        return updates, ScaleByAdamState(count, mu, nu, nu_max)

    return GradientTransformation(init, update)


@transformation
def adam(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""Adam, as ``torch.optim.Adam``: weight decay is an L2 penalty added to the gradient.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t / (1 - \beta_2^t)} + \epsilon}

    with :math:`m_t, \hat v_t` as in :func:`scale_by_adam`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_adam(...),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)` (torch's ``betas[0]``).
      b2: :math:`\beta_2 \in [0, 1)` (torch's ``betas[1]``).
      eps: :math:`\epsilon \ge 0`.
      weight_decay: :math:`\lambda \ge 0`, added to the gradient (L2). For decoupled weight
        decay use :func:`adamw`.
      amsgrad: Use the running maximum of :math:`v_t`.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nu_dtype: Storage dtype of the second moment.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.adam(1e-3)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.001,  0.001], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014.

    .. note::
       PyTorch: ``torch.optim.Adam(lr, betas=(b1, b2), eps, weight_decay, amsgrad,
       maximize=...)`` -> ``adam(learning_rate, b1, b2, eps, weight_decay, amsgrad,
       maximize=...)``, same numbers. Optax: ``optax.adam`` has no weight decay and its
       ``eps_root`` is reachable through :func:`scale_by_adam`.
    """
    return descent(
        scale_by_adam(b1, b2, eps, amsgrad=amsgrad, mu_dtype=mu_dtype, nu_dtype=nu_dtype),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        maximize=maximize,
    )


@transformation
def adamw(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
    mu_dtype: Any = None,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    .. math::

       p_t = p_{t-1} - \eta \left( \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t / (1 - \beta_2^t)}
       + \epsilon} + \lambda p_{t-1} \right)

    with :math:`m_t, \hat v_t` from :math:`\pm g_t` as in :func:`scale_by_adam`. torch writes
    the decay as :math:`p \leftarrow p (1 - \eta\lambda)` before the step; it is the same.

    Composition: ``chain([scale(-1)], scale_by_adam(...), add_decayed_weights(λ),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)` (torch's ``betas[0]``).
      b2: :math:`\beta_2 \in [0, 1)` (torch's ``betas[1]``).
      eps: :math:`\epsilon \ge 0`.
      weight_decay: :math:`\lambda \ge 0`, decoupled from the gradient (scaled by :math:`\eta`).
      amsgrad: Use the running maximum of :math:`v_t`.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend (weight decay still shrinks the params).
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nu_dtype: Storage dtype of the second moment.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.adamw(1e-3, weight_decay=0.1)
      >>> tx.update(jnp.array([0.5]), tx.init(jnp.ones(1)), params=jnp.ones(1))[0].round(6)
      Array([-0.0011], dtype=float32)

    References:
      Loshchilov and Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.

    .. note::
       PyTorch: ``torch.optim.AdamW(lr, betas=(b1, b2), eps, weight_decay, amsgrad,
       maximize=...)`` -> ``adamw(learning_rate, b1, b2, eps, weight_decay, amsgrad,
       maximize=...)``, same numbers and defaults. Optax: ``optax.adamw`` defaults to
       ``weight_decay=1e-4`` and calls the mask ``mask``.
    """
    return descent(
        scale_by_adam(b1, b2, eps, amsgrad=amsgrad, mu_dtype=mu_dtype, nu_dtype=nu_dtype),
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        decoupled=True,
        maximize=maximize,
    )


@transformation
def amsgrad(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""AMSGrad with Optax's arguments and torch's numbers (``Adam(amsgrad=True)``).

    The update is :func:`adam`'s with :math:`\hat v_t = \max(\hat v_{t-1}, v_t)`, the
    maximum taken before bias correction.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.amsgrad(1e-3)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.001,  0.001], dtype=float32)

    References:
      Reddi et al., `On the Convergence of Adam and Beyond
      <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018.

    .. note::
       Optax: ``optax.amsgrad`` has the same arguments but takes the maximum *after* bias
       correction, which is not the paper's rule; gradtx gives torch's
       ``Adam(amsgrad=True)`` numbers. The two differ once :math:`v_t` falls.
    """
    return descent(
        scale_by_adam(b1, b2, eps, eps_root=eps_root, amsgrad=True, mu_dtype=mu_dtype),
        learning_rate,
    )
