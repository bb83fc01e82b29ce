"""Stochastic gradient descent: Optax's ``sgd`` (momentum as a trace) and torch's ``SGD``."""

from __future__ import annotations

from typing import Any

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, blame, transformation
from gradtx._core.combine import chain
from gradtx._optimizers._common import descent, torch_flags
from gradtx._transforms.momentum import scale_by_momentum, trace
from gradtx._transforms.scale import scale_by_learning_rate


@transformation(complex_params="native")
def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
) -> GradientTransformation:
    r"""Stochastic gradient descent with optional heavy-ball or Nesterov momentum, as ``optax.sgd``.

    .. math::

       b_0 = 0, \qquad b_t = \mu b_{t-1} + g_t, \qquad
       p_t = p_{t-1} - \eta_t\, (g_t + \mu b_t \ \text{if nesterov else}\ b_t)

    Without momentum (``momentum=None``) the step is :math:`p_t = p_{t-1} - \eta_t g_t`.
    The learning rate multiplies the buffer's output, so a schedule also rescales past
    gradients (torch's ``SGD`` behaves the same way).

    Composition: ``chain([trace(μ, nesterov, accumulator_dtype)], scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      momentum: :math:`\mu \ge 0`, or ``None`` for no momentum buffer.
      nesterov: Nesterov momentum (ignored without ``momentum``, as in Optax).
      accumulator_dtype: Storage dtype of the momentum buffer; ``None`` keeps the params'.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.sgd(0.1, momentum=0.9)
      >>> updates, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> tx.update(jnp.ones(2), state)[0]
      Array([-0.19, -0.19], dtype=float32)

    References:
      Sutskever et al., `On the importance of initialization and momentum in deep
      learning <https://proceedings.mlr.press/v28/sutskever13.html>`_, 2013.

    .. note::
       Optax: ``optax.sgd(learning_rate, momentum, nesterov, accumulator_dtype)``, same
       arguments, defaults and numbers. PyTorch: ``torch.optim.SGD`` (with dampening,
       weight decay and ``maximize``) is :func:`gradtx.torch.SGD`; without dampening its
       numbers are these.
    """
    checks.learning_rate(learning_rate)
    if momentum is not None:
        checks.non_negative("momentum", momentum)
    checks.boolean("nesterov", nesterov)
    checks.dtype_or_none("accumulator_dtype", accumulator_dtype)
    momentum_part = [] if momentum is None else [trace(momentum, nesterov, accumulator_dtype)]
    return chain(*momentum_part, scale_by_learning_rate(learning_rate))


@transformation(complex_params="as_real")
def SGD(  # noqa: N802
    lr: ScalarOrSchedule = 1e-3,
    momentum: float = 0,
    dampening: float = 0,
    weight_decay: float = 0,
    nesterov: bool = False,
    *,
    maximize: bool = False,
    foreach: bool | None = None,
    differentiable: bool = False,
    fused: bool | None = None,
) -> GradientTransformation:
    r"""``torch.optim.SGD``, with torch's arguments and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad
       b_1 = g_1, \quad b_t = \mu b_{t-1} + (1 - \tau) g_t, \qquad
       p_t = p_{t-1} - \eta\, (g_t + \mu b_t \ \text{if nesterov else}\ b_t)

    Without momentum (:math:`\mu = 0`) the step is :math:`p_t = p_{t-1} - \eta g_t`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], [scale_by_momentum(μ,
    dampening=τ, nesterov=...)], scale_by_learning_rate(η))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule (gradtx's extension).
      momentum: :math:`\mu \ge 0`; 0 keeps no momentum buffer.
      dampening: :math:`\tau`, taken off new gradients from step 2 on.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      foreach: Accepted and ignored (XLA fuses the whole step).
      differentiable: Accepted and ignored (JAX code is always differentiable).
      fused: Accepted and ignored (XLA fuses the whole step).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If a number is out of range, or ``nesterov`` without momentum or with dampening.

    Examples:
      >>> tx = gradtx.torch.SGD(lr=0.1, momentum=0.9)
      >>> updates, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
      >>> updates
      Array([-0.1, -0.1], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov,
       maximize=...)`` -> ``gradtx.torch.SGD(lr, momentum, dampening, weight_decay,
       nesterov, maximize=...)``, same numbers. The Optax door is :func:`gradtx.sgd`.
    """
    checks.learning_rate(lr, "lr")
    checks.boolean("nesterov", nesterov)
    checks.boolean("maximize", maximize)
    torch_flags(foreach=foreach, differentiable=differentiable, fused=fused)
    if nesterov and checks.is_static_zero(momentum):
        raise ValueError(blame(f"`nesterov=True` needs `momentum > 0`, got momentum={momentum!r}"))
    buffer = scale_by_momentum(momentum, dampening=dampening, nesterov=nesterov)
    scaling = None if checks.is_static_zero(momentum) else buffer
    return descent(scaling, lr, weight_decay=weight_decay, maximize=maximize)
