"""Optimistic Adam: Adam's direction, extrapolated with the previous one (for min-max games)."""

from __future__ import annotations

from typing import Any

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, blame, transformation
from gradtx._core.combine import chain
from gradtx._optimizers.adam import scale_by_adam
from gradtx._optimizers.optimistic import scale_by_optimistic_gradient
from gradtx._transforms.scale import scale_by_learning_rate


@transformation
def optimistic_adam(
    learning_rate: float,
    optimism: float | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-08,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
) -> GradientTransformation:
    r"""Optimistic Adam (Optax's first form): a constant rate and an optimism weight.

    With :math:`a_t` Adam's (Nesterov by default) direction, see :func:`scale_by_adam`:

    .. math::

       p_t = p_{t-1} - \big((\eta + \omega)\, a_t - \omega\, a_{t-1}\big), \qquad a_0 = a_1

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=...),
    scale_by_optimistic_gradient(η, ω), scale_by_learning_rate(1.0))``.
    :func:`optimistic_adam_v2` takes a schedule and separate weights.

    Args:
      learning_rate: :math:`\eta`, a number (a schedule is refused, as in Optax: use
        :func:`optimistic_adam_v2`).
      optimism: :math:`\omega`, the weight of the correction; ``None`` uses
        :math:`\eta`.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nesterov: Use Adam's Nesterov direction (the default, as in Optax).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate`` is a schedule.

    Examples:
      >>> tx = gradtx.optimistic_adam(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([-0.0147,  0.0147], dtype=float32)

    References:
      Daskalakis et al., `Training GANs with Optimism <https://arxiv.org/abs/1711.00141>`_,
      ICLR 2018.

    .. note::
       Optax: ``optax.optimistic_adam``, same arguments, defaults and numbers. Optax
       deprecates it in favour of ``optimistic_adam_v2`` and warns on each call; gradtx
       keeps it without a warning.
    """
    if callable(learning_rate):  # a ValueError, as in Optax
        raise ValueError(  # noqa: TRY004
            blame("`learning_rate` must be a number here; optimistic_adam_v2 takes a schedule")
        )
    checks.real("learning_rate", learning_rate)
    if optimism is None:
        optimism = learning_rate
    checks.real("optimism", optimism)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(learning_rate, optimism),
        scale_by_learning_rate(1.0),
    )


@transformation
def optimistic_adam_v2(
    learning_rate: ScalarOrSchedule,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-08,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    nesterov: bool = True,
) -> GradientTransformation:
    r"""Optimistic Adam, with Optax's arguments, defaults and numbers.

    With :math:`a_t` Adam's (Nesterov by default) direction, see :func:`scale_by_adam`:

    .. math::

       p_t = p_{t-1} - \eta_t \big((\alpha + \beta)\, a_t - \beta\, a_{t-1}\big), \qquad a_0 = a_1

    Composition: ``chain(scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=...),
    scale_by_optimistic_gradient(α, β), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      alpha: :math:`\alpha`, the weight of the current direction.
      beta: :math:`\beta`, the weight of the optimistic correction.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the first moment; ``None`` keeps the params' dtype.
      nesterov: Use Adam's Nesterov direction (the default, as in Optax).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.optimistic_adam_v2(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([-0.0147,  0.0147], dtype=float32)

    References:
      Daskalakis et al., `Training GANs with Optimism <https://arxiv.org/abs/1711.00141>`_,
      ICLR 2018.

    .. note::
       Optax: ``optax.optimistic_adam_v2``, same arguments (all but the rate keyword-only),
       defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(alpha, beta),
        scale_by_learning_rate(learning_rate),
    )
