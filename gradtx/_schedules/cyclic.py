"""Cyclical schedules: torch's ``CyclicLR`` and ``OneCycleLR`` (learning rate and momentum)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import Schedule, blame
from gradtx._schedules._base import (
    as_float,
    cosine,
    float_dtype,
    linear,
    power,
    ratio,
    real,
    schedule_factory,
    steps,
)
from gradtx._schedules.factor import call_user


@schedule_factory
def cyclic_schedule(
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    *,
    scale_fn: Callable[[jax.Array], Any] | None = None,
    scale_mode: str = "cycle",
) -> Schedule:
    r"""Cycle linearly between ``base_lr`` and ``max_lr`` (torch ``CyclicLR``).

    A cycle rises for ``step_size_up`` steps and falls for ``step_size_down``. ``mode``
    scales the height of the triangle: ``"triangular"`` keeps it, ``"triangular2"`` halves
    it every cycle, ``"exp_range"`` multiplies it by :math:`\gamma^k`. With the two values
    swapped (``base_lr=max_momentum, max_lr=base_momentum``) it gives CyclicLR's momentum.

    .. math::

       c = \lfloor k / (u + d) \rfloor, \quad r = k - c\,(u + d), \quad
       h = \begin{cases} r / u & r \le u \\ (u + d - r) / d & r > u \end{cases}, \qquad
       s(k) = \eta_b + (\eta_m - \eta_b)\, h\, a(c, k)

    with :math:`a = 1`, :math:`2^{-c}` or :math:`\gamma^k` by ``mode``.

    Args:
      base_lr: The value :math:`\eta_b` at the start of each cycle (any real number).
      max_lr: The value :math:`\eta_m` at the top of a full-height cycle (any real number).
      step_size_up: The rising steps :math:`u \ge 1` of a cycle.
      step_size_down: The falling steps :math:`d \ge 0`; ``None`` for ``step_size_up``.
      mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
      gamma: The factor :math:`\gamma \ge 0` per step of ``"exp_range"``.
      scale_fn: A custom amplitude :math:`a` in place of ``mode``'s (torch's ``scale_fn``):
        a jax-traceable function of an integer array, given the 1-based cycle number
        :math:`c + 1` (``scale_mode="cycle"``) or the step :math:`k` (``"iterations"``).
      scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` is given.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``step_size_up < 1``, ``step_size_down < 0``, ``mode`` is unknown or
        ``gamma < 0``.

    Examples:
      >>> s = gradtx.cyclic_schedule(0.0, 1.0, step_size_up=2, mode="triangular2")
      >>> s(jnp.arange(9))
      Array([0.  , 0.5 , 1.  , 0.5 , 0.  , 0.25, 0.5 , 0.25, 0.  ], dtype=float32)

    References:
      Smith, `Cyclical Learning Rates for Training Neural Networks
      <https://arxiv.org/abs/1506.01186>`_, 2017.

    .. note::
       PyTorch: ``CyclicLR(optimizer, base_lr, max_lr, step_size_up, step_size_down, mode,
       gamma)`` -> ``cyclic_schedule(base_lr, max_lr, step_size_up, step_size_down, mode,
       gamma)`` for the learning rate, and ``cyclic_schedule(max_momentum, base_momentum,
       ...)`` (same steps, mode and gamma) for the momentum it cycles when
       ``cycle_momentum=True`` (torch's defaults: 0.8 and 0.9); torch's ``scale_fn`` and
       ``scale_mode`` are the keyword arguments of the same names (``scale_fn`` must accept
       arrays). :func:`gradtx.torch.lr_scheduler.CyclicLR` does all this from torch's own
       call. torch accepts fractional step sizes; gradtx asks for integers.
    """
    real("base_lr", base_lr)
    real("max_lr", max_lr)
    steps("step_size_up", step_size_up, 1)
    up = step_size_up
    down = up if step_size_down is None else step_size_down
    steps("step_size_down", down, 0)
    checks.one_of("mode", mode, ("triangular", "triangular2", "exp_range"))
    checks.non_negative("gamma", gamma)
    if scale_fn is not None:
        checks.callable_("scale_fn", scale_fn)
    checks.one_of("scale_mode", scale_mode, ("cycle", "iterations"))
    period = up + down

    def schedule(count: jax.Array) -> jax.Array:
        cycle = jnp.floor_divide(count, period)
        rest = count - cycle * period
        height = jnp.where(rest <= up, ratio(rest, up), ratio(period - rest, max(down, 1)))
        if scale_fn is not None:
            amplitude = call_user(scale_fn, cycle + 1 if scale_mode == "cycle" else count)
        elif mode == "triangular":
            amplitude = as_float(1.0)
        elif mode == "triangular2":
            amplitude = power(0.5, cycle)
        else:
            amplitude = power(gamma, count)
        return as_float(base_lr) + (as_float(max_lr) - as_float(base_lr)) * height * amplitude

    return schedule


def _one_cycle(
    total_steps: int,
    pct_start: float,
    anneal_strategy: str,
    three_phase: bool,
    phases: Callable[[], Sequence[tuple[Any, Any]]],
) -> Callable[[jax.Array], jax.Array]:
    """The rule shared by the learning rate and the momentum of one-cycle.

    ``phases()`` gives the (start, end) values of each phase. The phase boundaries are
    torch's, in floating point: phase 1 ends at step ``pct_start * total_steps - 1``, phase
    2 (three-phase) at ``2 * pct_start * total_steps - 2``, the last at ``total_steps - 1``;
    the value at ``total_steps - 1`` is kept after it.
    """
    steps("total_steps", total_steps, 1)
    checks.interval("pct_start", pct_start, 0.0, 1.0, low_open=True, high_open=True)
    checks.one_of("anneal_strategy", anneal_strategy, ("cos", "linear"))
    checks.boolean("three_phase", three_phase)
    if three_phase and pct_start > 0.5:
        raise ValueError(
            blame(
                "`pct_start` must be <= 0.5 with `three_phase=True` (phases 1 and 2 take `pct_start` of the "
                f"steps each, so phase 3 would never come), got pct_start={pct_start!r}"
            )
        )
    ends = [float(pct_start * total_steps) - 1]
    if three_phase:
        ends.append(float(2 * pct_start * total_steps) - 2)
    ends.append(float(total_steps - 1))
    anneal = cosine if anneal_strategy == "cos" else linear

    def schedule(count: jax.Array) -> jax.Array:
        step = jnp.clip(count, 0, total_steps - 1).astype(float_dtype())
        values = []
        start = 0.0
        for end, (a, b) in zip(ends, phases()):
            values.append(anneal(a, b, ratio(step - start, (end - start) or 1.0)))
            start = end
        value = values[-1]
        for end, earlier in zip(ends[-2::-1], values[-2::-1]):
            value = jnp.where(step <= end, earlier, value)
        return value

    return schedule


@schedule_factory
def onecycle_schedule(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    r"""The 1cycle learning rate: up to ``max_lr``, then far below the start (torch ``OneCycleLR``).

    Phase 1 (a fraction ``pct_start`` of the steps) anneals from :math:`\eta_0 = \eta_{\max} /
    \delta` to :math:`\eta_{\max}`; phase 2 anneals to :math:`\eta_{\min} = \eta_0 / \delta_f`.
    With ``three_phase``, phase 2 returns to :math:`\eta_0` in as many steps as phase 1 and a
    third phase anneals to :math:`\eta_{\min}`. Each phase goes from :math:`a` to :math:`b` as

    .. math::

       p = \frac{k - k_{\text{start}}}{k_{\text{end}} - k_{\text{start}}}, \qquad
       \text{cos:}\ b + (a - b)\,\frac{1 + \cos(\pi p)}{2}, \qquad \text{linear:}\ a + (b - a)\, p

    Args:
      max_lr: The peak :math:`\eta_{\max}` (any real number).
      total_steps: The length :math:`N \ge 1` of the cycle; the value at step :math:`N - 1`
        (:math:`\eta_{\min}`) is kept after it.
      pct_start: The fraction in (0, 1) of the steps spent rising; at most 0.5 with
        ``three_phase``.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      div_factor: :math:`\delta > 0`, the start is ``max_lr / div_factor``.
      final_div_factor: :math:`\delta_f > 0`, the end is ``max_lr / div_factor / final_div_factor``.
      three_phase: Use the paper's three phases instead of fastai's two.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``total_steps < 1``, ``pct_start`` is outside (0, 1) (or above 0.5
        with ``three_phase``), ``anneal_strategy`` is unknown, or a divisor is not positive.

    Examples:
      >>> s = gradtx.onecycle_schedule(1.0, total_steps=10, pct_start=0.3, div_factor=10.0,
      ...                              final_div_factor=100.0, anneal_strategy="linear")
      >>> [round(v, 4) for v in s(jnp.arange(11)).tolist()]
      [0.1, 0.55, 1.0, 0.8573, 0.7146, 0.5719, 0.4291, 0.2864, 0.1437, 0.001, 0.001]

    References:
      Smith and Topin, `Super-Convergence: Very Fast Training of Neural Networks Using
      Large Learning Rates <https://arxiv.org/abs/1708.07120>`_, 2017.

    .. note::
       PyTorch: ``OneCycleLR(optimizer, max_lr, total_steps, pct_start=..., anneal_strategy,
       div_factor, final_div_factor, three_phase)`` -> ``onecycle_schedule(max_lr,
       total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)``,
       the same values for steps ``0 .. N - 1`` (all the updates of an ``N``-step run). Its
       momentum is :func:`onecycle_momentum_schedule`. Deviations: after step :math:`N - 1`
       gradtx keeps :math:`\eta_{\min}`, where torch's lr after the :math:`N`-th
       ``scheduler.step()`` carries the last phase one step past its end (below
       :math:`\eta_{\min}`, negative with ``"linear"`` when :math:`(1 - \text{pct\_start})\,
       N < \delta_f`) and torch raises after that; ``pct_start`` must be in (0, 1) where
       torch takes [0, 1], and at most 0.5 with ``three_phase`` (torch's third phase would
       never start); where ``pct_start * total_steps == 1`` torch divides by zero and gradtx
       starts at :math:`\eta_0`.
    """
    real("max_lr", max_lr)
    checks.positive("div_factor", div_factor)
    checks.positive("final_div_factor", final_div_factor)

    def phases() -> list[tuple[Any, Any]]:
        peak = as_float(max_lr)
        low = peak / div_factor
        final = low / final_div_factor
        return [(low, peak), (peak, low), (low, final)] if three_phase else [(low, peak), (peak, final)]

    return _one_cycle(total_steps, pct_start, anneal_strategy, three_phase, phases)


@schedule_factory
def onecycle_momentum_schedule(
    total_steps: int,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    three_phase: bool = False,
) -> Schedule:
    r"""The momentum of 1cycle: down while the learning rate rises, back up after (torch ``OneCycleLR``).

    The phases are those of :func:`onecycle_schedule` with the same ``total_steps``,
    ``pct_start``, ``anneal_strategy`` and ``three_phase``: phase 1 anneals from
    ``max_momentum`` to ``base_momentum``, phase 2 back to ``max_momentum``; a third phase
    (``three_phase``) stays at ``max_momentum``. Give it to an optimizer's momentum (or
    ``b1``) through :func:`inject_hyperparams`.

    Args:
      total_steps: The length :math:`N \ge 1` of the cycle.
      base_momentum: The momentum at the peak of the learning rate (any real number).
      max_momentum: The momentum at the start and the end (any real number).
      pct_start: The fraction in (0, 1) of the steps of phase 1; at most 0.5 with
        ``three_phase``.
      anneal_strategy: ``"cos"`` or ``"linear"``.
      three_phase: Use the paper's three phases instead of fastai's two.

    Returns:
      A schedule ``count -> value``.

    Raises:
      ValueError: If ``total_steps < 1``, ``pct_start`` is outside (0, 1) (or above 0.5
        with ``three_phase``) or ``anneal_strategy`` is unknown.

    Examples:
      >>> s = gradtx.onecycle_momentum_schedule(10, pct_start=0.3, anneal_strategy="linear")
      >>> [round(v, 4) for v in s(jnp.arange(0, 10, 3)).tolist()]
      [0.95, 0.8643, 0.9071, 0.95]

    References:
      Smith, `A disciplined approach to neural network hyper-parameters: Part 1
      <https://arxiv.org/abs/1803.09820>`_, 2018.

    .. note::
       PyTorch: the momentum (or ``betas[0]``) that ``OneCycleLR(..., cycle_momentum=True,
       base_momentum, max_momentum)`` sets, for steps ``0 .. N - 1``; after step
       :math:`N - 1` gradtx keeps ``max_momentum`` (see :func:`onecycle_schedule`).
    """
    real("base_momentum", base_momentum)
    real("max_momentum", max_momentum)

    def phases() -> list[tuple[Any, Any]]:
        top, bottom = as_float(max_momentum), as_float(base_momentum)
        return [(top, bottom), (bottom, top), (top, top)] if three_phase else [(top, bottom), (bottom, top)]

    return _one_cycle(total_steps, pct_start, anneal_strategy, three_phase, phases)
