"""Rprop: sign steps whose per-coordinate sizes follow the gradient's sign (Optax's and torch's)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.core
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, blame, transformation
from gradtx._core.combine import chain
from gradtx._optimizers._common import torch_flags
from gradtx._transforms.scale import scale


class ScaleByRpropState(NamedTuple):
    """State of :func:`scale_by_rprop`."""

    step_size: Updates  # d_t, per-coordinate step sizes: shaped like the params, in their dtype
    prev: Updates  # h_t, the last gradient (0 where its sign flipped): shaped like the params


def _pair(name: str, value: Any) -> tuple[Any, Any]:
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise TypeError(blame(f"`{name}` must be a pair of numbers, got {name}={value!r}"))
    return value[0], value[1]


@transformation
def scale_by_rprop(
    learning_rate: float,
    eta_minus: float = 0.5,
    eta_plus: float = 1.2,
    min_step_size: float = 1e-6,
    max_step_size: float = 50.0,
) -> GradientTransformation:
    r"""Resilient backpropagation: a step of per-coordinate size in the direction of the gradient's sign.

    The scaling of :func:`rprop` (it returns the step to subtract). Each coordinate's step
    size grows by :math:`\eta_+` while the gradient keeps its sign and shrinks by
    :math:`\eta_-` when the sign flips; after a flip the coordinate pauses for one step and
    the next comparison restarts from 0 (the variant torch calls Rprop, "iRprop-").

    .. math::

       s_t = g_t h_{t-1}, \qquad
       d_t = \mathrm{clip}(\eta_\pm d_{t-1}, d_{\min}, d_{\max}) \text{ if } s_t \gtrless 0, \
       d_{t-1} \text{ if } s_t = 0 \\
       h_t = 0 \text{ if } s_t < 0 \text{ else } g_t, \qquad
       u_t = d_t \operatorname{sign}(h_t), \qquad d_0 = \eta, \ h_0 = 0

    Args:
      learning_rate: :math:`\eta \ge 0`, the initial step size of every coordinate (a
        number: Rprop reads it once).
      eta_minus: :math:`\eta_- \in (0, 1)`, the factor after a sign flip.
      eta_plus: :math:`\eta_+ > 1`, the factor while the sign holds.
      min_step_size: :math:`d_{\min} \ge 0`.
      max_step_size: :math:`d_{\max} \ge d_{\min}`.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByRpropState`.

    Raises:
      ValueError: If the etas or step sizes are out of order, or ``learning_rate < 0``.
      TypeError: If ``learning_rate`` is a schedule.

    Examples:
      >>> tx = gradtx.scale_by_rprop(0.1)
      >>> state = tx.init(jnp.zeros(2))
      >>> u, state = tx.update(jnp.array([3.0, -0.5]), state)
      >>> u
      Array([ 0.1, -0.1], dtype=float32)
      >>> tx.update(jnp.array([1.0, 2.0]), state)[0]  # same sign: grow; flipped: pause
      Array([0.12, 0.  ], dtype=float32)

    References:
      Riedmiller and Braun, `A Direct Adaptive Method for Faster Backpropagation Learning:
      The RPROP Algorithm <https://doi.org/10.1109/ICNN.1993.298623>`_, 1993.
      Igel and Hüsken, `Improving the Rprop Learning Algorithm
      <https://citeseerx.ist.psu.edu/document?doi=10.1.1.17.1332>`_, 2000.

    .. note::
       Optax: ``optax.scale_by_rprop(learning_rate, eta_minus, eta_plus, min_step_size,
       max_step_size)``, same arguments, defaults and step sizes, but Optax returns the step
       computed at the *previous* call (its first update is 0), so its trajectory lags by
       one step; gradtx returns the current step, as torch and the paper do.
    """
    if callable(learning_rate):
        raise TypeError(
            blame(
                f"`learning_rate` is Rprop's initial step size and must be a number, got the schedule "
                f"{learning_rate!r}; Rprop adapts its steps itself"
            )
        )
    checks.non_negative("learning_rate", learning_rate)
    checks.interval("eta_minus", eta_minus, 0.0, 1.0, low_open=True, high_open=True)
    checks.interval("eta_plus", eta_plus, 1.0, low_open=True)
    checks.non_negative("min_step_size", min_step_size)
    checks.non_negative("max_step_size", max_step_size)
    if not isinstance(min_step_size, jax.core.Tracer):  # A traced bound cannot be compared here.
        checks.interval("max_step_size", max_step_size, float(min_step_size))

    def init(params: Params) -> ScaleByRpropState:
        return ScaleByRpropState(tree.full_like(params, learning_rate), tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByRpropState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByRpropState]:
        del params, extra_args

        def leaf(g: jax.Array, d: jax.Array, h: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
            agreement = jnp.sign(g * h)
            flipped = agreement < 0
            factor = jnp.where(agreement > 0, eta_plus, eta_minus).astype(d.dtype)
            d = jnp.where(agreement == 0, d, jnp.clip(d * factor, min_step_size, max_step_size))
            h = jnp.where(flipped, jnp.zeros_like(g), g)
            return d * jnp.sign(h), d, h

        updates, step_size, prev = tree.map_unzip(leaf, updates, state.step_size, state.prev)
        return updates, ScaleByRpropState(step_size, prev)

    return GradientTransformation(init, update)


@transformation
def rprop(
    learning_rate: float,
    eta_minus: float = 0.5,
    eta_plus: float = 1.2,
    min_step_size: float = 1e-6,
    max_step_size: float = 50.0,
) -> GradientTransformation:
    r"""Rprop, as ``optax.rprop`` without its one-step lag: sign descent with adaptive per-coordinate steps.

    Meant for full-batch training (the gradient's sign must be reliable); with noisy
    mini-batch gradients the sizes random-walk.

    .. math::

       p_t = p_{t-1} - d_t \operatorname{sign}(h_t)

    with the step sizes :math:`d_t` and gradients :math:`h_t` of :func:`scale_by_rprop`.

    Composition: ``chain(scale_by_rprop(η, η_-, η_+, d_min, d_max), scale(-1))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, the initial step size (a number).
      eta_minus: :math:`\eta_- \in (0, 1)`, the factor after a sign flip.
      eta_plus: :math:`\eta_+ > 1`, the factor while the sign holds.
      min_step_size: :math:`d_{\min} \ge 0`.
      max_step_size: :math:`d_{\max} \ge d_{\min}`.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.rprop(0.1)
      >>> tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))[0]
      Array([-0.1,  0.1], dtype=float32)

    References:
      Riedmiller and Braun, `A Direct Adaptive Method for Faster Backpropagation Learning:
      The RPROP Algorithm <https://doi.org/10.1109/ICNN.1993.298623>`_, 1993.

    .. note::
       Optax: ``optax.rprop(learning_rate, eta_minus, eta_plus, min_step_size,
       max_step_size)``, same arguments and defaults; Optax returns each step one call late
       (see :func:`scale_by_rprop`), gradtx does not. PyTorch: ``torch.optim.Rprop`` is
       :func:`gradtx.torch.Rprop`.
    """
    return chain(scale_by_rprop(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size), scale(-1.0))


@transformation(complex_params="as_real")
def Rprop(  # noqa: N802
    lr: float = 1e-2,
    etas: tuple[float, float] = (0.5, 1.2),
    step_sizes: tuple[float, float] = (1e-6, 50),
    *,
    capturable: bool = False,
    foreach: bool | None = None,
    maximize: bool = False,
    differentiable: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.Rprop``, with torch's arguments and numbers.

    .. math::

       g_t \leftarrow \pm g_t, \qquad p_t = p_{t-1} - d_t \operatorname{sign}(h_t)

    with the step sizes :math:`d_t` and gradients :math:`h_t` of :func:`scale_by_rprop`
    started from :math:`d_0 = \mathrm{clip}(\eta, d_{\min}, d_{\max})` (torch clips every
    step size, also those that do not change).

    Composition: ``chain([scale(-1)], scale_by_rprop(clip(η), etas[0], etas[1],
    *step_sizes), scale(-1))``.

    Args:
      lr: :math:`\eta \ge 0`, the initial step size (a number: torch reads it once, so an
        ``lr_scheduler`` has no effect on Rprop).
      etas: :math:`(\eta_-, \eta_+)` with :math:`0 < \eta_- < 1 < \eta_+`.
      step_sizes: :math:`(d_{\min}, d_{\max})` with :math:`0 \le d_{\min} \le d_{\max}`
        (gradtx checks them; torch does not).
      capturable: Accepted and ignored (XLA compiles the whole step).
      foreach: Accepted and ignored (XLA fuses the whole step).
      maximize: Ascend instead of descend (the gradient's sign is flipped first).
      differentiable: Accepted and ignored (JAX code is always differentiable).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If the etas or step sizes are out of order, or ``lr < 0``.
      TypeError: If ``lr`` is a schedule, or ``etas``/``step_sizes`` is not a pair.

    Examples:
      >>> tx = gradtx.torch.Rprop(lr=0.1)
      >>> tx.update(jnp.array([3.0, -0.5]), tx.init(jnp.zeros(2)))[0]
      Array([-0.1,  0.1], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.Rprop(params, lr, etas, step_sizes, maximize=...)`` ->
       ``gradtx.torch.Rprop(lr, etas, step_sizes, maximize=...)``, same numbers. The Optax
       door is :func:`gradtx.rprop`.
    """
    checks.boolean("maximize", maximize)
    torch_flags(capturable=capturable, foreach=foreach, differentiable=differentiable)
    if callable(lr):
        raise TypeError(
            blame(f"`lr` is Rprop's initial step size and must be a number, got the schedule {lr!r}; "
                  "torch reads it once, so an lr_scheduler has no effect on Rprop")
        )
    checks.non_negative("lr", lr)
    eta_minus, eta_plus = _pair("etas", etas)
    checks.interval("etas[0]", eta_minus, 0.0, 1.0, low_open=True, high_open=True)
    checks.interval("etas[1]", eta_plus, 1.0, low_open=True)
    min_step, max_step = _pair("step_sizes", step_sizes)
    checks.non_negative("step_sizes[0]", min_step)
    checks.non_negative("step_sizes[1]", max_step)
    if not isinstance(min_step, jax.core.Tracer):
        checks.interval("step_sizes[1]", max_step, float(min_step))
    if any(isinstance(x, jax.core.Tracer) for x in (lr, min_step, max_step)):
        start = jnp.clip(lr, min_step, max_step)
    else:
        start = min(max(lr, min_step), max_step)
    parts = [scale(-1.0)] if maximize else []
    # An array lr (inject_hyperparams, jit) makes `start` an array; scale_by_rprop takes it like a float.
    rule = scale_by_rprop(start, eta_minus, eta_plus, min_step, max_step)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    return chain(*parts, rule, scale(-1.0))
