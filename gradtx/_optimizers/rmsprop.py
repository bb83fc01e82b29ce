"""RMSprop: steps divided by a running root-mean-square of the gradients (Optax's and torch's)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._core.combine import chain
from gradtx._optimizers._common import descent, torch_flags
from gradtx._transforms.momentum import trace
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByRmsState(NamedTuple):
    """State of :func:`scale_by_rms` and :func:`scale_by_stddev`."""

    # int32[]: updates applied so far (read when `bias_correction`)
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count
    nu: Updates  # v_t, running mean of g^2: shaped like the params, in their dtype
    mu: Updates | None  # m_t, running mean of g when centered (same shapes), else None


@transformation(complex_params="native")
def scale_by_rms(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
    *,
    centered: bool = False,
) -> GradientTransformation:
    r"""Divide updates by the root of a running mean of squared gradients (RMSprop's scaling).

    The scaling of :func:`rmsprop`. Centered (see :func:`scale_by_stddev`), it divides by a
    running estimate of the gradients' standard deviation instead of their root-mean-square.

    .. math::

       v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad m_t = \rho m_{t-1} + (1 - \rho) g_t, \qquad
       s_t = \hat v_t - \hat m_t^2 \ \text{(centered) else}\ \hat v_t \\
       u_t = \frac{g_t}{\sqrt{s_t + \epsilon}} \ \text{(eps_in_sqrt)} \quad \text{or} \quad
       u_t = \frac{g_t}{\sqrt{s_t} + \epsilon}

    with :math:`\hat x_t = x_t / (1 - \rho^t)` if ``bias_correction``, else :math:`x_t`.

    Args:
      decay: :math:`\rho \in [0, 1]`, decay of the running means (torch's ``alpha``).
      eps: :math:`\epsilon \ge 0`, added inside the root (or to it).
      initial_scale: :math:`v_0 \ge 0` (:math:`m_0` is always 0).
      eps_in_sqrt: Add :math:`\epsilon` inside the root (Optax's default) instead of to it
        (torch's rule).
      bias_correction: Divide the running means by :math:`1 - \rho^t`.
      centered: Subtract the squared running mean of the gradients (gradtx's switch;
        :func:`scale_by_stddev` sets it).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRmsState`.

    Raises:
      ValueError: If ``decay`` is outside [0, 1], or ``eps`` or ``initial_scale`` is negative.

    Examples:
      >>> tx = gradtx.scale_by_rms(decay=0.75, eps=0.0)
      >>> tx.update(jnp.array([1.0, -4.0]), tx.init(jnp.zeros(2)))[0].round(4)
      Array([ 2., -2.], dtype=float32)

    References:
      Hinton, `Neural Networks for Machine Learning, lecture 6e
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
      Graves, `Generating Sequences With Recurrent Neural Networks
      <https://arxiv.org/abs/1308.0850>`_, 2013 (centered).

    .. note::
       Optax: ``optax.scale_by_rms(decay, eps, initial_scale, eps_in_sqrt,
       bias_correction)``, same arguments, defaults and numbers; ``centered=True`` is
       ``optax.scale_by_stddev``. Optax's state type depends on ``bias_correction``;
       gradtx's always holds the count.
    """
    checks.interval("decay", decay, 0.0, 1.0)
    checks.non_negative("eps", eps)
    checks.non_negative("initial_scale", initial_scale)
    checks.boolean("eps_in_sqrt", eps_in_sqrt)
    checks.boolean("bias_correction", bias_correction)
    checks.boolean("centered", centered)

    def init(params: Params) -> ScaleByRmsState:
        mu = tree.zeros_like(params) if centered else None
        return ScaleByRmsState(tree.zero_count(params), tree.full_like(params, initial_scale), mu)

    def update(
        updates: Updates, state: ScaleByRmsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByRmsState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        correction = tree.bias_correction(decay, count) if bias_correction else 1.0

        def scaled(g: jax.Array, s: jax.Array) -> jax.Array:
            return g * jax.lax.rsqrt(s + eps) if eps_in_sqrt else g / (jnp.sqrt(s) + eps)

        if centered:

            def leaf_centered(
                g: jax.Array, v: jax.Array, m: jax.Array
            ) -> tuple[jax.Array, jax.Array, jax.Array]:
                v = decay * v + (1 - decay) * tree.abs_sq(g)
                m = decay * m + (1 - decay) * g
                return scaled(g, v / correction - tree.abs_sq(m / correction)), v, m

            updates, nu, mu = tree.map_unzip(leaf_centered, updates, state.nu, state.mu)
        else:

            def leaf(g: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
                v = decay * v + (1 - decay) * tree.abs_sq(g)
                return scaled(g, v / correction), v

            updates, nu = tree.map_unzip(leaf, updates, state.nu)
            mu = None
        return updates, ScaleByRmsState(count, nu, mu)

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def scale_by_stddev(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Divide updates by a running estimate of the gradients' standard deviation (centered RMSprop).

    :func:`scale_by_rms` with ``centered=True``: the root of
    :math:`\hat v_t - \hat m_t^2` replaces that of :math:`\hat v_t`.

    Args:
      decay: :math:`\rho \in [0, 1]`, decay of the running means.
      eps: :math:`\epsilon \ge 0`, added inside the root (or to it).
      initial_scale: :math:`v_0 \ge 0`.
      eps_in_sqrt: Add :math:`\epsilon` inside the root instead of to it.
      bias_correction: Divide the running means by :math:`1 - \rho^t`.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRmsState`.

    Examples:
      >>> tx = gradtx.scale_by_stddev(decay=0.5, eps=0.0)
      >>> tx.update(jnp.array([2.0, -2.0]), tx.init(jnp.zeros(2)))[0]
      Array([ 2., -2.], dtype=float32)

    .. note::
       Optax: ``optax.scale_by_stddev(decay, eps, initial_scale, eps_in_sqrt,
       bias_correction)``, same arguments, defaults and numbers.
    """
    return scale_by_rms(decay, eps, initial_scale, eps_in_sqrt, bias_correction, centered=True)


@transformation
def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: float | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""RMSprop with optional centering and momentum, as ``optax.rmsprop``.

    .. math::

       d_t = \frac{g_t}{\sqrt{s_t + \epsilon}}, \qquad
       b_t = \mu b_{t-1} + \eta_t d_t \ (b_0 = 0), \qquad
       p_t = p_{t-1} - (\eta_t d_t + \mu b_t \ \text{if nesterov else}\ b_t)

    with :math:`s_t` as in :func:`scale_by_rms` (:math:`\epsilon` added to the root with
    ``eps_in_sqrt=False``); without momentum :math:`p_t = p_{t-1} - \eta_t d_t`. The
    momentum is applied after the learning rate.

    Composition: ``chain(scale_by_rms(ρ, ε, v_0, eps_in_sqrt, bias_correction,
    centered=...), scale_by_learning_rate(η), [trace(μ, nesterov)])``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      decay: :math:`\rho \in [0, 1]`, decay of the running means.
      eps: :math:`\epsilon \ge 0`.
      initial_scale: :math:`v_0 \ge 0`.
      eps_in_sqrt: Add :math:`\epsilon` inside the root instead of to it.
      centered: Divide by a running estimate of the standard deviation of the gradients.
      momentum: :math:`\mu \ge 0`, or ``None`` for no momentum buffer.
      nesterov: Nesterov momentum (ignored without ``momentum``, as in Optax).
      bias_correction: Divide the running means by :math:`1 - \rho^t`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps``, ``initial_scale`` or ``momentum`` is
        negative, or ``decay`` is outside [0, 1].

    Examples:
      >>> tx = gradtx.rmsprop(0.01, decay=0.75, eps=0.0, momentum=0.5)
      >>> u, state = tx.update(jnp.array([1.0, -4.0]), tx.init(jnp.zeros(2)))
      >>> u.round(4)
      Array([-0.02,  0.02], dtype=float32)

    References:
      Hinton, `Neural Networks for Machine Learning, lecture 6e
      <https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf>`_, 2012.
      Graves, `Generating Sequences With Recurrent Neural Networks
      <https://arxiv.org/abs/1308.0850>`_, 2013 (centered).

    .. note::
       Optax: ``optax.rmsprop(learning_rate, decay, eps, initial_scale, eps_in_sqrt,
       centered, momentum, nesterov, bias_correction)``, same arguments, defaults and
       numbers. PyTorch: ``torch.optim.RMSprop`` (``alpha=0.99``, :math:`\epsilon` outside
       the root, momentum before the learning rate, weight decay) is
       :func:`gradtx.torch.RMSprop`.
    """
    checks.learning_rate(learning_rate)
    if momentum is not None:
        checks.non_negative("momentum", momentum)
    checks.boolean("nesterov", nesterov)
    momentum_part = [] if momentum is None else [trace(momentum, nesterov)]
    return chain(
        scale_by_rms(decay, eps, initial_scale, eps_in_sqrt, bias_correction, centered=centered),
        scale_by_learning_rate(learning_rate),
        *momentum_part,
    )


@transformation(complex_params="as_real")
def RMSprop(  # noqa: N802
    lr: ScalarOrSchedule = 1e-2,
    alpha: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 0,
    momentum: float = 0,
    centered: bool = False,
    capturable: bool = False,
    foreach: bool | None = None,
    maximize: bool = False,
    differentiable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.RMSprop``, with torch's arguments and numbers.

    .. math::

       g_t \leftarrow \pm g_t + \lambda p_{t-1}, \qquad d_t = g_t / (\sqrt{s_t} + \epsilon), \qquad
       b_t = \mu b_{t-1} + d_t \ (b_0 = 0), \qquad p_t = p_{t-1} - \eta\, b_t

    with :math:`s_t` as in :func:`scale_by_rms` (decay :math:`\alpha`, :math:`v_0 = 0`);
    without momentum (:math:`\mu = 0`) :math:`p_t = p_{t-1} - \eta\, d_t`.

    Composition: ``chain([scale(-1)], [add_decayed_weights(λ)], scale_by_rms(α, ε,
    eps_in_sqrt=False, centered=...), [trace(μ)], scale_by_learning_rate(η))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule (gradtx's extension).
      alpha: :math:`\alpha \in [0, 1]`, decay of the running means.
      eps: :math:`\epsilon \ge 0`, added to the root.
      weight_decay: :math:`\lambda \ge 0`, an L2 penalty added to the gradient.
      momentum: :math:`\mu \ge 0`; 0 keeps no momentum buffer.
      centered: Divide by a running estimate of the standard deviation of the gradients.
      capturable: Accepted and ignored (XLA compiles the whole step).
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      differentiable: Accepted and ignored (JAX code is always differentiable).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.RMSprop(lr=0.01, alpha=0.75, momentum=0.5)
      >>> u, state = tx.update(jnp.array([1.0, -4.0]), tx.init(jnp.zeros(2)))
      >>> u.round(4)
      Array([-0.02,  0.02], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum,
       centered, maximize=...)`` -> ``gradtx.torch.RMSprop(lr, alpha, eps, weight_decay,
       momentum, centered, maximize=...)``, same numbers. The Optax door is :func:`gradtx.rmsprop`.
    """
    checks.learning_rate(lr, "lr")
    checks.interval("alpha", alpha, 0.0, 1.0)  # torch's name, before scale_by_rms checks it as `decay`
    checks.non_negative("momentum", momentum)
    checks.boolean("maximize", maximize)
    torch_flags(capturable=capturable, foreach=foreach, differentiable=differentiable)
    scaling = scale_by_rms(alpha, eps, eps_in_sqrt=False, centered=centered)
    if not checks.is_static_zero(momentum):
        scaling = chain(scaling, trace(momentum))
    return descent(scaling, lr, weight_decay=weight_decay, maximize=maximize)
