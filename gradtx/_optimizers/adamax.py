"""Adamax: Adam with the infinity norm in place of the second moment.

Optax's ``adamax``/``adamaxw``/``scale_by_adamax`` and torch's ``Adamax``.
"""

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


class ScaleByAdamaxState(NamedTuple):
    """State of :func:`scale_by_adamax`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in their dtype
    nu: Updates  # u_t, decayed infinity norm: shaped like the params, in their dtype


@transformation(complex_params="native")
def scale_by_adamax(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    r"""Rescale updates by Adamax's bias-corrected first moment over a decayed infinity norm.

    The scaling of :func:`adamax`, :func:`adamaxw` and ``gradtx.torch.Adamax``.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       n_t = \max(\beta_2 n_{t-1}, |g_t| + \epsilon), \qquad
       u_t = \frac{m_t}{(1 - \beta_1^t)\, n_t}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the infinity norm.
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|` inside the maximum (so it keeps
        :math:`n_t` away from 0, as torch and Optax do).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdamaxState`.

    Raises:
      ValueError: If ``b1`` or ``b2`` is outside [0, 1), or ``eps < 0``.

    Examples:
      >>> tx = gradtx.scale_by_adamax()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014 (section 7.1).

    .. note::
       Optax: ``optax.scale_by_adamax(b1, b2, eps)``, same numbers. The paper has no
       :math:`\epsilon`.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)

    def init(params: Params) -> ScaleByAdamaxState:
        return ScaleByAdamaxState(tree.zero_count(params), tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByAdamaxState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdamaxState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction = tree.bias_correction(b1, count)

        def leaf(g: jax.Array, m: jax.Array, n: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            m = b1 * m + (1 - b1) * g
            n = jnp.maximum(b2 * n, tree.abs_like(g) + eps)
            return m / (correction.astype(m.dtype) * n), m, n

        updates, mu, nu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        return updates, ScaleByAdamaxState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation
def adamax(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> GradientTransformation:
    r"""Adamax, with Optax's arguments and numbers.

    .. math::

       p_t = p_{t-1} - \eta_t \frac{m_t}{(1 - \beta_1^t)\, n_t}

    with :math:`m_t, n_t` as in :func:`scale_by_adamax`.

    Composition: ``chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the infinity norm.
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate`` or ``eps`` is negative, or a beta is outside [0, 1).

    Examples:
      >>> tx = gradtx.adamax(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.01,  0.01], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014 (section 7.1).

    .. note::
       Optax: ``optax.adamax``, same arguments, defaults and numbers. PyTorch:
       ``torch.optim.Adamax(lr, betas=(b1, b2), eps)`` gives the same numbers; with weight
       decay or ``maximize`` use ``gradtx.torch.Adamax``.
    """
    checks.learning_rate(learning_rate)
    return chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(learning_rate))


@transformation
def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    mask: Mask | None = None,
) -> GradientTransformation:
    r"""Adamax with decoupled weight decay, with Optax's arguments and numbers.

    .. math::

       p_t = p_{t-1} - \eta_t \left( \frac{m_t}{(1 - \beta_1^t)\, n_t} + \lambda p_{t-1} \right)

    with :math:`m_t, n_t` as in :func:`scale_by_adamax`.

    Composition: ``chain(scale_by_adamax(b1, b2, eps), add_decayed_weights(λ, mask),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the infinity norm.
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|`.
      weight_decay: :math:`\lambda \ge 0`, decoupled from the gradient (scaled by :math:`\eta_t`).
      mask: Which leaves to decay (see :func:`masked`); ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps`` or ``weight_decay`` is negative, or a beta
        is outside [0, 1).

    Examples:
      >>> tx = gradtx.adamaxw(1e-2, weight_decay=0.1)
      >>> tx.update(jnp.array([0.5]), tx.init(jnp.ones(1)), params=jnp.ones(1))[0].round(6)
      Array([-0.011], dtype=float32)

    References:
      Loshchilov and Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.

    .. note::
       Optax: ``optax.adamaxw``, same arguments, defaults and numbers. PyTorch has no
       AdamaxW: ``torch.optim.Adamax`` decays as an L2 penalty (``gradtx.torch.Adamax``).
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adamax(b1, b2, eps),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )


# ------------------------------------------------------------------ torch.optim's dialect


@transformation(complex_params="as_real")
def Adamax(  # noqa: N802
    lr: ScalarOrSchedule = 2e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0,
    foreach: bool | None = None,
    *,
    maximize: bool = False,
    differentiable: bool = False,
    capturable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.Adamax``: its arguments (without ``params``), defaults and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       p_t = p_{t-1} - \eta\, \frac{m_t}{(1 - \beta_1^t)\, n_t}

    with :math:`m_t, n_t` as in :func:`scale_by_adamax`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_adamax(β1, β2, ε),
    scale_by_learning_rate(η))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
      eps: :math:`\epsilon \ge 0`, added to :math:`|g_t|`.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      differentiable: Accepted and ignored (JAX code is always differentiable).
      capturable: Accepted and ignored.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.Adamax(lr=1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(6)
      Array([-0.01,  0.01], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.Adamax(params, ...)`` -> ``gradtx.torch.Adamax(...)``, same
       arguments and numbers. Optax: ``optax.adamax`` (:func:`adamax`) has no weight decay;
       ``optax.adamaxw`` (:func:`adamaxw`) decays decoupled.
    """
    torch_flags(foreach=foreach, differentiable=differentiable, capturable=capturable)
    checks.learning_rate(lr, "lr")
    checks.boolean("maximize", maximize)
    b1, b2 = torch_betas(betas)
    return descent(scale_by_adamax(b1, b2, eps), lr, weight_decay=weight_decay, maximize=maximize)
