"""Adam and AMSGrad: Optax's ``adam``, ``adamw``, ``amsgrad`` and torch's ``Adam``, ``AdamW``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent, torch_betas, torch_flags
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in `mu_dtype` (default: the params')
    nu: Updates  # v_t, second moment: shaped like the params, in `nu_dtype` (default: the params')
    nu_max: Updates | None  # max_{s<=t} v_s when `amsgrad`, else None


def nesterov_mean(
    b1: float, m: jax.Array, g: jax.Array, correction1: jax.Array, next_correction1: jax.Array
) -> jax.Array:
    """Dozat's look-ahead mean :math:`\\beta_1 m_t / (1 - \\beta_1^{t+1}) + (1 - \\beta_1) g_t / (1 - \\beta_1^t)`."""
    return b1 * (m / next_correction1) + (1 - b1) * (g / correction1)


@transformation(complex_params="native")
def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
    amsgrad: bool = False,
    nu_dtype: Any = None,
) -> GradientTransformation:
    r"""Rescale updates by Adam's bias-corrected moment estimates.

    The scaling of :func:`adam`, :func:`adamw`, :func:`nadam`, :func:`lamb` and of
    ``gradtx.torch.Adam``/``AdamW``.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
       \hat v_t = \max(\hat v_{t-1}, v_t) \ \text{(amsgrad) else}\ v_t \\
       \hat m_t = \frac{m_t}{1 - \beta_1^t} \ \text{or, nesterov,}\
       \frac{\beta_1 m_t}{1 - \beta_1^{t+1}} + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}, \qquad
       u_t = \frac{\hat m_t}{\sqrt{\hat v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root (0 in torch).
        Makes the update differentiable where :math:`v = 0`.
      mu_dtype: Storage dtype of :math:`m` (e.g. ``jnp.bfloat16`` halves its bytes);
        ``None`` keeps the params' dtype. The math runs in float32 or wider.
      nesterov: Use Dozat's Nesterov form of :math:`\hat m_t` (NAdam without torch's
        momentum schedule).
      amsgrad: Divide by the running maximum of :math:`v_t`, taken *before* bias
        correction (torch's ``Adam(amsgrad=True)``; see :func:`scale_by_amsgrad` for Optax's).
      nu_dtype: Storage dtype of :math:`v` (and of its maximum); ``None`` keeps the params'.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdamState`.

    Examples:
      >>> tx = gradtx.scale_by_adam()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014.
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.

    .. note::
       Optax: ``optax.scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=...)``, same
       arguments and numbers. ``amsgrad`` and ``nu_dtype`` are gradtx's additions.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.boolean("nesterov", nesterov)
    checks.boolean("amsgrad", amsgrad)
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
        next_correction1 = tree.bias_correction(b1, tree.safe_increment(count))

        def scaled(g: jax.Array, m: jax.Array, v: jax.Array) -> jax.Array:
            c1, c2 = correction1.astype(m.dtype), correction2.astype(v.dtype)
            m_hat = nesterov_mean(b1, m, g, c1, next_correction1.astype(m.dtype)) if nesterov else m / c1
            return m_hat / (jnp.sqrt(v / c2 + eps_root) + eps)

        def moments(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
            return b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * tree.abs_sq(g)

        if amsgrad:

            def leaf_max(
                g: jax.Array, m: jax.Array, v: jax.Array, v_max: jax.Array
            ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
                m, v = moments(g, m, v)
                v_max = jnp.maximum(v_max, v)
                return scaled(g, m, v_max), m, v, v_max

            updates, mu, nu, nu_max = tree.map_unzip(leaf_max, updates, state.mu, state.nu, state.nu_max)
        else:

            def leaf(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
                m, v = moments(g, m, v)
                return scaled(g, m, v), m, v

            updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
            nu_max = None
        return updates, ScaleByAdamState(count, mu, nu, nu_max)

    return GradientTransformation(init, update)


class ScaleByAmsgradState(NamedTuple):
    """State of :func:`scale_by_amsgrad`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in `mu_dtype` (default: the params')
    nu: Updates  # v_t, second moment: shaped like the params, in their dtype
    nu_max: Updates  # max_{s<=t} of the (bias-corrected) v_s: shaped like the params, in their dtype


@transformation(complex_params="native")
def scale_by_amsgrad(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    r"""Rescale updates by AMSGrad's moments, with Optax's rule: the maximum of the corrected :math:`v`.

    The scaling of :func:`amsgrad`.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
       \hat v_t = \max\Big(\hat v_{t-1}, \frac{v_t}{1 - \beta_2^t}\Big), \qquad
       u_t = \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t + \epsilon_{root}} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of :math:`m`; ``None`` keeps the params' dtype.
      bias_correction_mu: Divide :math:`m_t` by :math:`1 - \beta_1^t`. ``False`` (with
        ``bias_correction_nu=False``) is the paper's algorithm.
      bias_correction_nu: Divide :math:`v_t` by :math:`1 - \beta_2^t` before the maximum.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAmsgradState`.

    Examples:
      >>> tx = gradtx.scale_by_amsgrad()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Reddi et al., `On the Convergence of Adam and Beyond
      <https://openreview.net/forum?id=ryQu7f-RZ>`_, 2018.

    .. note::
       Optax: ``optax.scale_by_amsgrad``, same arguments and numbers. torch's
       ``Adam(amsgrad=True)`` takes the maximum of the *uncorrected* :math:`v_t` and corrects
       it afterwards: that is ``scale_by_adam(..., amsgrad=True)``.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.boolean("bias_correction_mu", bias_correction_mu)
    checks.boolean("bias_correction_nu", bias_correction_nu)

    def init(params: Params) -> ScaleByAmsgradState:
        zeros = tree.zeros_like(params)
        return ScaleByAmsgradState(tree.zero_count(params), tree.zeros_like(params, mu_dtype), zeros, zeros)

    def update(
        updates: Updates, state: ScaleByAmsgradState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAmsgradState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction1 = tree.bias_correction(b1, count)
        correction2 = tree.bias_correction(b2, count)

        def leaf(
            g: jax.Array, m: jax.Array, v: jax.Array, v_max: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * tree.abs_sq(g)
            m_hat = m / correction1.astype(m.dtype) if bias_correction_mu else m
            v_max = jnp.maximum(v_max, v / correction2.astype(v.dtype) if bias_correction_nu else v)
            return m_hat / (jnp.sqrt(v_max + eps_root) + eps), m, v, v_max

        updates, mu, nu, nu_max = tree.map_unzip(leaf, updates, state.mu, state.nu, state.nu_max)
        return updates, ScaleByAmsgradState(count, mu, nu, nu_max)

    return GradientTransformation(init, update)


@transformation
def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Adam, with Optax's arguments and numbers.

    .. math::

       p_t = p_{t-1} - \eta_t \frac{\hat m_t}{\sqrt{v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    with :math:`\hat m_t, v_t` as in :func:`scale_by_adam`.

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=...),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nesterov: Use Nesterov momentum (this is :func:`nadam`).

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
       Optax: ``optax.adam``, same arguments, defaults and numbers. PyTorch:
       ``torch.optim.Adam`` (with weight decay, ``amsgrad``, ``maximize``) is
       ``gradtx.torch.Adam``; ``torch.optim.Adam(lr, betas=(b1, b2), eps)`` gives the same
       numbers as ``adam(lr, b1, b2, eps)``.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


@transformation
def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 1e-4,
    mask: Mask | None = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""AdamW (Adam with decoupled weight decay), with Optax's arguments and numbers.

    .. math::

       p_t = p_{t-1} - \eta_t \left( \frac{\hat m_t}{\sqrt{v_t / (1 - \beta_2^t) + \epsilon_{root}}
       + \epsilon} + \lambda p_{t-1} \right)

    with :math:`\hat m_t, v_t` as in :func:`scale_by_adam`.

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=...),
    add_decayed_weights(λ, mask), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      weight_decay: :math:`\lambda \ge 0`, decoupled from the gradient (multiplied by
        :math:`\eta_t`).
      mask: Which leaves to decay: a bool tree, a callable ``params -> bool tree`` or path
        patterns (see :func:`masked`); ``None`` decays every leaf.
      nesterov: Use Nesterov momentum (this is :func:`nadamw`).

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
       Optax: ``optax.adamw``, same arguments, defaults (``weight_decay=1e-4``) and numbers.
       PyTorch: ``torch.optim.AdamW`` (default ``weight_decay=1e-2``) is
       ``gradtx.torch.AdamW``; ``torch.optim.AdamW(lr, betas=(b1, b2), eps, weight_decay)``
       gives the same numbers as ``adamw(lr, b1, b2, eps, weight_decay=weight_decay)``.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )


@transformation
def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    r"""AMSGrad, with Optax's arguments and numbers: Adam dividing by the largest corrected :math:`v` so far.

    .. math::

       p_t = p_{t-1} - \eta_t \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t + \epsilon_{root}} + \epsilon},
       \qquad \hat v_t = \max\Big(\hat v_{t-1}, \frac{v_t}{1 - \beta_2^t}\Big)

    Composition: ``chain(scale_by_amsgrad(b1, b2, eps, eps_root, mu_dtype,
    bias_correction_mu, bias_correction_nu), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`.
      b2: :math:`\beta_2 \in [0, 1)`.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      bias_correction_mu: Bias-correct the first moment.
      bias_correction_nu: Bias-correct the second moment before the maximum.

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
       Optax: ``optax.amsgrad``, same arguments, defaults and numbers. PyTorch:
       ``torch.optim.Adam(amsgrad=True)`` takes the maximum *before* bias correction; the
       two differ once :math:`v_t` falls. For torch's numbers use
       ``gradtx.torch.Adam(amsgrad=True)``.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_amsgrad(b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu),
        scale_by_learning_rate(learning_rate),
    )


# ------------------------------------------------------------------ torch.optim's dialect


@transformation(complex_params="as_real")
def Adam(  # noqa: N802
    lr: ScalarOrSchedule = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0,
    amsgrad: bool = False,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
    decoupled_weight_decay: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.Adam``: its arguments (without ``params``), defaults and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1} \ \text{(L2)}, \qquad
       p_t = p_{t-1} - \eta\, \Big( \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t / (1 - \beta_2^t)}
       + \epsilon} + \lambda p_{t-1} \ \text{(decoupled)} \Big)

    with :math:`m_t, \hat v_t` as in :func:`scale_by_adam` (``amsgrad``: the running maximum
    of the uncorrected :math:`v_t`).

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_adam(β1, β2, ε,
    amsgrad=...), [add_decayed_weights(λ)], scale_by_learning_rate(η))``: the decay comes
    before the scaling (L2) or, with ``decoupled_weight_decay``, after it (AdamW).

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      weight_decay: :math:`\lambda \ge 0`.
      amsgrad: Divide by the running maximum of :math:`v_t`.
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      capturable: Accepted and ignored.
      differentiable: Accepted and ignored (JAX code is always differentiable).
      fused: Accepted and ignored.
      decoupled_weight_decay: Decay the params directly (scaled by :math:`\eta`), as AdamW.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.Adam(lr=1e-3, weight_decay=0.1)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0].round(6)
      Array([-0.001,  0.001], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.Adam(params, ...)`` -> ``gradtx.torch.Adam(...)``, same
       arguments and numbers. ``foreach``, ``capturable``, ``differentiable`` and ``fused``
       must be bools (or ``None``) and have no effect. Optax: ``optax.adam`` has no weight
       decay; ``Adam(lr, betas, eps)`` is :func:`adam` ``(lr, *betas, eps)``.
    """
    torch_flags(foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused)
    checks.learning_rate(lr, "lr")
    checks.boolean("maximize", maximize)
    checks.boolean("decoupled_weight_decay", decoupled_weight_decay)
    b1, b2 = torch_betas(betas)
    return descent(
        scale_by_adam(b1, b2, eps, amsgrad=amsgrad),
        lr,
        weight_decay=weight_decay,
        decoupled=decoupled_weight_decay,
        maximize=maximize,
    )


@transformation(complex_params="as_real")
def AdamW(  # noqa: N802
    lr: ScalarOrSchedule = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
    foreach: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
) -> GradientTransformation:
    r"""``torch.optim.AdamW``: its arguments (without ``params``), defaults and numbers.

    .. math::

       p_t = p_{t-1} - \eta \left( \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t / (1 - \beta_2^t)}
       + \epsilon} + \lambda p_{t-1} \right)

    with :math:`m_t, \hat v_t` from :math:`\pm g_t` as in :func:`scale_by_adam`. torch writes
    the decay as :math:`p \leftarrow p (1 - \eta\lambda)` before the step; it is the same.
    This is ``gradtx.torch.Adam(..., decoupled_weight_decay=True)``.

    Composition: ``chain([scale(-1)], scale_by_adam(β1, β2, ε, amsgrad=...),
    add_decayed_weights(λ), scale_by_learning_rate(η))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      weight_decay: :math:`\lambda \ge 0`, decoupled from the gradient (scaled by :math:`\eta`).
      amsgrad: Divide by the running maximum of :math:`v_t`.
      maximize: Ascend instead of descend (weight decay still shrinks the params).
      foreach: Accepted and ignored (XLA fuses the whole step).
      capturable: Accepted and ignored.
      differentiable: Accepted and ignored (JAX code is always differentiable).
      fused: Accepted and ignored.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.AdamW(lr=1e-3, weight_decay=0.1)
      >>> tx.update(jnp.array([0.5]), tx.init(jnp.ones(1)), params=jnp.ones(1))[0].round(6)
      Array([-0.0011], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.AdamW(params, ...)`` -> ``gradtx.torch.AdamW(...)``, same
       arguments and numbers. Optax: ``optax.adamw(lr, b1, b2, eps, weight_decay=wd)``
       (default ``1e-4``, not torch's ``1e-2``) is :func:`adamw`.
    """
    torch_flags(foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused)
    checks.learning_rate(lr, "lr")
    checks.boolean("maximize", maximize)
    b1, b2 = torch_betas(betas)
    return descent(
        scale_by_adam(b1, b2, eps, amsgrad=amsgrad),
        lr,
        weight_decay=weight_decay,
        decoupled=True,
        maximize=maximize,
    )
