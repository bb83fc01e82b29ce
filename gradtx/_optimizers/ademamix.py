"""AdEMAMix (Adam with a second, slow momentum) and its simplified form."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


def _value(name: str, hyper: Any, count: jax.Array) -> Any:
    """A number, or a schedule's value at ``count`` (checked to be a real scalar)."""
    return checks.schedule_value(name, hyper(count)) if callable(hyper) else hyper


def _number_or_schedule(name: str, value: Any, check: Callable[[str, Any], None]) -> None:
    if callable(value):
        checks.schedule(name, value)
    else:
        check(name, value)


class ScaleByAdemamixState(NamedTuple):
    """State of :func:`scale_by_ademamix`."""

    # int32[]: updates applied so far (fast EMA and second moment)
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count
    count_m2: jax.Array  # int32[]: updates applied so far (slow EMA, schedules of b3 and alpha)
    m1: Updates  # fast EMA of the gradients: shaped like the params, in `mu_dtype`
    m2: Updates  # slow EMA of the gradients: shaped like the params, in `mu_dtype`
    nu: Updates  # EMA of the squared gradients: shaped like the params, in `mu_dtype`


@transformation
def scale_by_ademamix(
    b1: float = 0.9,
    b2: float = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 6.0,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""Rescale updates by AdEMAMix's mixture of a fast and a slow momentum.

    The scaling of :func:`ademamix`. The slow EMA :math:`m_2` is not bias-corrected, so it
    fills in slowly; :math:`\beta_3` and :math:`\alpha` may be schedules (read at the count
    of updates so far).

    .. math::

       m_{1,t} = \beta_1 m_{1,t-1} + (1 - \beta_1) g_t, \qquad
       m_{2,t} = \beta_3 m_{2,t-1} + (1 - \beta_3) g_t, \qquad
       \nu_t = \beta_2 \nu_{t-1} + (1 - \beta_2) g_t^2 \\
       u_t = \frac{m_{1,t} / (1 - \beta_1^t) + \alpha\, m_{2,t}}
       {\sqrt{\nu_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the fast EMA.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      b3: :math:`\beta_3 \in [0, 1)`, decay of the slow EMA: a number or a schedule.
      alpha: :math:`\alpha`, weight of the slow EMA: a number or a schedule.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of :math:`m_1, m_2, \nu`; ``None`` keeps the params' dtype.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByAdemamixState`.

    Examples:
      >>> tx = gradtx.scale_by_ademamix()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1.0006, -1.0006], dtype=float32)

    References:
      Pagliardini et al., `The AdEMAMix Optimizer: Better, Faster, Older
      <https://arxiv.org/abs/2409.03137>`_, 2024.

    .. note::
       Optax: ``optax.contrib.scale_by_ademamix``, same arguments and numbers.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    _number_or_schedule("b3", b3, checks.decay_rate)
    _number_or_schedule("alpha", alpha, checks.real)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.dtype_or_none("mu_dtype", mu_dtype)

    def init(params: Params) -> ScaleByAdemamixState:
        def zeros() -> Updates:
            return tree.zeros_like(params, mu_dtype)

        return ScaleByAdemamixState(tree.zero_count(params), tree.zero_count(params), zeros(), zeros(), zeros())

    def update(
        updates: Updates, state: ScaleByAdemamixState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByAdemamixState]:
        del params, extra_args
        beta3 = _value("b3", b3, state.count_m2)
        mix = _value("alpha", alpha, state.count_m2)
        count = tree.safe_increment(state.count)
        correction1 = tree.bias_correction(b1, count)
        correction2 = tree.bias_correction(b2, count)

        def leaf(
            g: jax.Array, m1: jax.Array, m2: jax.Array, v: jax.Array
        ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
            b3_, mix_ = jnp.asarray(beta3, g.dtype), jnp.asarray(mix, g.dtype)
            m1 = (1 - b1) * g + b1 * m1
            m2 = (1 - b3_) * g + b3_ * m2
            v = (1 - b2) * jnp.square(g) + b2 * v
            m1_hat = m1 / correction1.astype(g.dtype)
            v_hat = v / correction2.astype(g.dtype)
            return (m1_hat + mix_ * m2) / (jnp.sqrt(v_hat + eps_root) + eps), m1, m2, v

        updates, m1, m2, nu = tree.map_unzip(leaf, updates, state.m1, state.m2, state.nu)
        return updates, ScaleByAdemamixState(count, tree.safe_increment(state.count_m2), m1, m2, nu)

    return GradientTransformation(init, update)


@transformation
def ademamix(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    b3: ScalarOrSchedule = 0.9999,
    alpha: ScalarOrSchedule = 5.0,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 0.0,
    mask: Mask | None = None,
) -> GradientTransformation:
    r"""AdEMAMix, with Optax's arguments, defaults and numbers.

    AdamW whose numerator mixes a fast EMA with a slow one (:math:`\beta_3` near 1), to keep
    using gradients from thousands of steps back (see :func:`scale_by_ademamix`). Best for
    long runs: with few steps a smaller ``b3`` (e.g. 0.999) does better.

    .. math::

       p_t = p_{t-1} - \eta_t (u_t + \lambda p_{t-1})

    Composition: ``chain(scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype),
    add_decayed_weights(λ, mask), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the fast EMA.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      b3: :math:`\beta_3 \in [0, 1)`, decay of the slow EMA: a number or a schedule.
      alpha: :math:`\alpha`, weight of the slow EMA: a number or a schedule. Note the
        default, 5.0, differs from :func:`scale_by_ademamix`'s 6.0 (as in Optax).
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      mu_dtype: Storage dtype of the moments; ``None`` keeps the params' dtype.
      weight_decay: :math:`\lambda \ge 0`, decoupled (multiplied by :math:`\eta_t`).
      mask: Which leaves to decay: a bool tree, a callable ``params -> bool tree`` or path
        patterns (see :func:`masked`); ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.ademamix(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0].round(4)
      Array([-0.01,  0.01], dtype=float32)

    References:
      Pagliardini et al., `The AdEMAMix Optimizer: Better, Faster, Older
      <https://arxiv.org/abs/2409.03137>`_, 2024.

    .. note::
       Optax: ``optax.contrib.ademamix``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )


class ScaleBySimplifiedAdEMAMixState(NamedTuple):
    """State of :func:`scale_by_simplified_ademamix`."""

    t: jax.Array  # int32[]: updates applied so far
    m: Updates  # undamped momentum sum_s b1^(t-s) g_s: shaped like the params, in the params' dtype
    n: Updates  # EMA of the squared gradients: shaped like the params, in the params' dtype


@transformation
def scale_by_simplified_ademamix(
    b1: float = 0.99,
    b2: float = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: float = 1e-8,
    eps_root: float = 0.0,
) -> GradientTransformation:
    r"""Rescale updates by simplified AdEMAMix: one undamped momentum plus the current gradient.

    The scaling of :func:`simplified_ademamix`. :math:`\alpha` may be a schedule (read at
    the count of updates so far).

    .. math::

       m_t = \beta_1 m_{t-1} + g_t, \qquad
       n_t = \beta_2 n_{t-1} + (1 - \beta_2) g_t^2, \qquad
       u_t = \frac{m_t + \alpha g_t}{\sqrt{n_t / (1 - \beta_2^t) + \epsilon_{root}} + \epsilon}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the momentum (no :math:`1 - \beta_1` damping).
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      alpha: :math:`\alpha`, weight of the current gradient: a number or a schedule.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleBySimplifiedAdEMAMixState`.

    Examples:
      >>> tx = gradtx.scale_by_simplified_ademamix()
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 1., -1.], dtype=float32)

    References:
      Morwani et al., `Connections between Schedule-Free Optimizers, AdEMAMix, and
      Accelerated SGD Variants <https://arxiv.org/abs/2502.02431>`_, 2025.

    .. note::
       Optax: ``optax.contrib.scale_by_simplified_ademamix``, same arguments and numbers.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    _number_or_schedule("alpha", alpha, checks.real)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)

    def init(params: Params) -> ScaleBySimplifiedAdEMAMixState:
        return ScaleBySimplifiedAdEMAMixState(tree.zero_count(params), tree.zeros_like(params), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleBySimplifiedAdEMAMixState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleBySimplifiedAdEMAMixState]:
        del params, extra_args
        mix = _value("alpha", alpha, state.t)
        t = tree.safe_increment(state.t)
        correction2 = tree.bias_correction(b2, t)

        def leaf(g: jax.Array, m: jax.Array, n: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            m = g + b1 * m
            n = (1 - b2) * jnp.square(g) + b2 * n
            denominator = jnp.sqrt(n / correction2.astype(g.dtype) + eps_root) + eps
            return (m + jnp.asarray(mix, g.dtype) * g) / denominator, m, n

        updates, m, n = tree.map_unzip(leaf, updates, state.m, state.n)
        return updates, ScaleBySimplifiedAdEMAMixState(t, m, n)

    return GradientTransformation(init, update)


@transformation
def simplified_ademamix(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.99,
    b2: float = 0.95,
    alpha: ScalarOrSchedule = 0.0,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    mask: Mask | None = None,
) -> GradientTransformation:
    r"""Simplified AdEMAMix, with Optax's arguments, defaults and numbers.

    One momentum buffer instead of AdEMAMix's two, and no schedule needed for
    :math:`\alpha` (see :func:`scale_by_simplified_ademamix`). With :math:`\alpha = 0` it is
    Adam up to a rescaling of :math:`\eta` and :math:`\beta_1`.

    .. math::

       p_t = p_{t-1} - \eta_t (u_t + \lambda p_{t-1})

    Composition: ``chain(scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root),
    add_decayed_weights(λ, mask), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the momentum.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      alpha: :math:`\alpha`, weight of the current gradient: a number or a schedule.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      weight_decay: :math:`\lambda \ge 0`, decoupled (multiplied by :math:`\eta_t`).
      mask: Which leaves to decay: a bool tree, a callable ``params -> bool tree`` or path
        patterns (see :func:`masked`); ``None`` decays every leaf.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.simplified_ademamix(1e-2)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)), jnp.zeros(2))[0].round(4)
      Array([-0.01,  0.01], dtype=float32)

    References:
      Morwani et al., `Connections between Schedule-Free Optimizers, AdEMAMix, and
      Accelerated SGD Variants <https://arxiv.org/abs/2502.02431>`_, 2025.

    .. note::
       Optax: ``optax.contrib.simplified_ademamix``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root),
        add_decayed_weights(weight_decay, mask=mask),
        scale_by_learning_rate(learning_rate),
    )
