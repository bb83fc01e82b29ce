"""NAdam: Optax's ``nadam``/``nadamw`` (Adam with Nesterov momentum) and torch's ``NAdam`` (with a momentum schedule)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent, torch_betas, torch_flags
from gradtx._optimizers.adam import scale_by_adam
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByNadamState(NamedTuple):
    """State of :func:`scale_by_nadam`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu_product: jax.Array  # float[] (jax's default float dtype): prod_{i<=t} mu_i
    mu: Updates  # m_t, first moment: shaped like the params, in `mu_dtype` (default: the params')
    nu: Updates  # v_t, second moment: shaped like the params, in their dtype


def _momentum(b1: Any, momentum_decay: Any, step: jax.Array) -> jax.Array:
    """torch's momentum schedule: :math:`\\mu_t = \\beta_1 (1 - 0.5 \\cdot 0.96^{t \\psi})`."""
    mu: jax.Array = b1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
    return mu


@transformation
def scale_by_nadam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    momentum_decay: float = 4e-3,
    *,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""Rescale updates by NAdam's Nesterov-style first moment over Adam's second moment.

    The scaling of ``gradtx.torch.NAdam``. The momentum coefficient warms up from
    :math:`\beta_1/2` towards :math:`\beta_1` at the speed :math:`\psi`; the step combines the
    current gradient with the momentum that the *next* step will apply (Nesterov's look-ahead).

    .. math::

       \mu_t = \beta_1 (1 - \tfrac12 0.96^{t \psi}), \quad \Pi_t = \textstyle\prod_{i \le t} \mu_i, \qquad
       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
       u_t = \Big( \frac{1 - \mu_t}{1 - \Pi_t} g_t + \frac{\mu_{t+1}}{1 - \Pi_t \mu_{t+1}} m_t \Big)
       \Big/ \Big( \sqrt{v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon \Big)

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment and limit of :math:`\mu_t`.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      momentum_decay: :math:`\psi \ge 0`, the speed of the momentum warm-up.
        ``float("inf")`` gives a constant :math:`\mu_t = \beta_1` (Dozat's NAdam without the
        schedule, as Optax's ``nadam``).
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root (Optax's
        argument; 0 in torch).
      mu_dtype: Storage dtype of :math:`m`; ``None`` keeps the params' dtype. The math runs
        in float32 or wider.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByNadamState`.

    Raises:
      ValueError: If a beta is outside [0, 1), or ``eps``, ``momentum_decay`` or
        ``eps_root`` is negative.

    Examples:
      >>> tx = gradtx.scale_by_nadam()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(3)
      Array([ 1.056, -1.056], dtype=float32)

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.

    .. note::
       PyTorch: the scaling of ``torch.optim.NAdam``. Optax has no momentum schedule: the
       scaling of ``optax.nadam`` is :func:`scale_by_adam` ``(..., nesterov=True)``, which
       equals ``scale_by_nadam(b1, b2, eps, momentum_decay=float("inf"), eps_root=...,
       mu_dtype=...)`` up to rounding.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("momentum_decay", momentum_decay, allow_inf=True)
    checks.non_negative("eps_root", eps_root)
    checks.dtype_or_none("mu_dtype", mu_dtype)

    def init(params: Params) -> ScaleByNadamState:
        return ScaleByNadamState(
            count=tree.zero_count(params),
            mu_product=tree.replicated_like(params, jnp.ones([], jax.dtypes.canonicalize_dtype(jnp.float64))),
            mu=tree.zeros_like(params, mu_dtype),
            nu=tree.zeros_like(params),
        )

    def update(
        updates: Updates, state: ScaleByNadamState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByNadamState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        step = tree.float_count(count)
        mu_now = _momentum(b1, momentum_decay, step)
        mu_next = _momentum(b1, momentum_decay, step + 1)
        mu_product = (state.mu_product * mu_now).astype(state.mu_product.dtype)
        grad_weight = (1 - mu_now) / (1 - mu_product)
        momentum_weight = mu_next / (1 - mu_product * mu_next)
        correction2 = tree.bias_correction(b2, count)

        def leaf(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * jnp.square(g)
            denominator = jnp.sqrt(v / correction2.astype(v.dtype) + eps_root) + eps
            # Two quotients, as torch's two `addcdiv`s.
            grad_part = grad_weight.astype(g.dtype) * g / denominator
            return grad_part + momentum_weight.astype(m.dtype) * m / denominator, m, v

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByNadamState(count, mu_product, mu, nu)

    return GradientTransformation(init, update)


@transformation
def nadam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    r"""NAdam (Adam with Nesterov momentum), with Optax's arguments and numbers.

    Dozat's NAdam with a constant momentum :math:`\beta_1` (no warm-up schedule):

    .. math::

       p_t = p_{t-1} - \eta_t \frac{\beta_1 m_t / (1 - \beta_1^{t+1}) + (1 - \beta_1) g_t / (1 - \beta_1^t)}
       {\sqrt{v_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    with Adam's moments :math:`m_t, v_t` (see :func:`scale_by_adam`).

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=True),
    scale_by_learning_rate(η))``, i.e. :func:`adam` with ``nesterov=True``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nesterov: Use Nesterov momentum; ``False`` gives plain :func:`adam`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.nadam(1e-2)  # step 1: (1 + 0.9 * 0.1 / 0.19) = 1.47 times Adam's
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(3)
      Array([-0.015,  0.015], dtype=float32)

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.

    .. note::
       Optax: ``optax.nadam``, same arguments, defaults and numbers. PyTorch:
       ``torch.optim.NAdam`` warms the momentum up (``momentum_decay``) and is
       ``gradtx.torch.NAdam``; ``torch.optim.NAdam(lr, betas=(b1, b2), eps,
       momentum_decay=float("inf"))`` gives the numbers of ``nadam(lr, b1, b2, eps)``.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


@transformation
def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 1e-4,
    mask: Mask | None = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    r"""NAdamW (NAdam with decoupled weight decay), with Optax's arguments and numbers.

    .. math::

       p_t = p_{t-1} - \eta_t \left( u_t + \lambda p_{t-1} \right)

    with :math:`u_t` the update of :func:`nadam`.

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=True),
    add_decayed_weights(λ, mask), scale_by_learning_rate(η))``, i.e. :func:`adamw` with
    ``nesterov=True``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      weight_decay: :math:`\lambda \ge 0`, decoupled from the gradient (scaled by :math:`\eta_t`).
      mask: Which leaves to decay (see :func:`masked`); ``None`` decays every leaf.
      nesterov: Use Nesterov momentum; ``False`` gives plain :func:`adamw`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.nadamw(1e-2, weight_decay=0.1)
      >>> tx.update(jnp.array([0.5]), tx.init(jnp.ones(1)), params=jnp.ones(1))[0].round(3)
      Array([-0.016], dtype=float32)

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.
      Loshchilov and Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.

    .. note::
       Optax: ``optax.nadamw``, same arguments, defaults and numbers. PyTorch:
       ``torch.optim.NAdam(lr, betas, eps, weight_decay, momentum_decay=float("inf"),
       decoupled_weight_decay=True)`` gives the same numbers (with ``eps_root=0``).
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )


# ------------------------------------------------------------------ torch.optim's dialect


@transformation(complex_params="as_real")
def NAdam(  # noqa: N802
    lr: ScalarOrSchedule = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0,
    momentum_decay: float = 4e-3,
    decoupled_weight_decay: bool = False,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool = False,
    differentiable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.NAdam``: its arguments (without ``params``), defaults and numbers.

    Adam with Nesterov momentum whose coefficient warms up from :math:`\beta_1/2` towards
    :math:`\beta_1`.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1} \ \text{(L2)}, \qquad
       p_t = p_{t-1} - \eta\, \big( u_t + \lambda p_{t-1} \ \text{(decoupled)} \big)

    with :math:`u_t` from :func:`scale_by_nadam`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_nadam(β1, β2, ε, ψ),
    [add_decayed_weights(λ)], scale_by_learning_rate(η))``: the decay comes before the
    scaling (L2) or, with ``decoupled_weight_decay``, after it (NAdamW).

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      weight_decay: :math:`\lambda \ge 0`.
      momentum_decay: :math:`\psi \ge 0`, the speed of the momentum warm-up.
      decoupled_weight_decay: Decay the params directly (scaled by :math:`\eta`) instead of
        adding :math:`\lambda p` to the gradient.
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      capturable: Accepted and ignored.
      differentiable: Accepted and ignored (JAX code is always differentiable).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.NAdam(lr=1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(3)
      Array([-0.011,  0.011], dtype=float32)

    References:
      Dozat, `Incorporating Nesterov Momentum into Adam
      <https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ>`_, 2016.

    .. note::
       PyTorch: ``torch.optim.NAdam(params, ...)`` -> ``gradtx.torch.NAdam(...)``, same
       arguments and numbers. torch keeps :math:`\Pi_t` in its default dtype (float32 unless
       ``torch.set_default_dtype(torch.float64)``); gradtx in jax's default float dtype.
       Optax: ``optax.nadam``/``optax.nadamw`` (:func:`nadam`, :func:`nadamw`) have no
       momentum schedule: they are ``momentum_decay=float("inf")``.
    """
    torch_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
    checks.learning_rate(lr, "lr")
    checks.boolean("decoupled_weight_decay", decoupled_weight_decay)
    checks.boolean("maximize", maximize)
    b1, b2 = torch_betas(betas)
    return descent(
        scale_by_nadam(b1, b2, eps, momentum_decay),
        lr,
        weight_decay=weight_decay,
        decoupled=decoupled_weight_decay,
        maximize=maximize,
    )
