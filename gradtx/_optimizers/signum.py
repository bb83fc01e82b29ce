"""Signum: sign descent on an exponential moving average of the gradients (Optax's ``signum``)."""

from typing import Any

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, ScalarOrSchedule, transformation
from gradtx._core.combine import chain
from gradtx._optimizers.sign_sgd import scale_by_sign
from gradtx._transforms.momentum import ema
from gradtx._transforms.scale import scale_by_learning_rate


@transformation
def signum(learning_rate: ScalarOrSchedule, beta: float = 0.9, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Signum: step by the sign of a moving average of the gradients.

    .. math::

       m_t = \beta m_{t-1} + (1 - \beta) g_t, \qquad p_t = p_{t-1} - \eta_t \operatorname{sign}(m_t)

    Composition: ``chain(ema(beta, debias=False, accumulator_dtype), scale_by_sign(),
    scale_by_learning_rate(η))`` (no debiasing: it does not change the sign).

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      beta: :math:`\beta \in [0, 1]`, decay of the moving average (0 gives :func:`sign_sgd`).
      accumulator_dtype: Storage dtype of the average; ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.signum(0.1)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0]
      Array([-0.1,  0.1], dtype=float32)

    References:
      Bernstein et al., `signSGD: Compressed Optimisation for Non-Convex Problems
      <https://arxiv.org/abs/1802.04434>`_, 2018.

    .. note::
       Optax: ``optax.signum(learning_rate, beta, accumulator_dtype)``, same arguments,
       defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        scale_by_sign(),
        scale_by_learning_rate(learning_rate),
    )
