"""The schedulers of :mod:`gradtx.torch.lr_scheduler` (the public namespace, which re-exports them)."""

from __future__ import annotations

import functools
import importlib
import inspect
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, NamedTuple, TypeVar

import jax
import jax.numpy as jnp

from gradtx._core import checks
from gradtx._core.base import GradientTransformation, Recipe, Schedule, blame, recipe_of, transformation
from gradtx._core.combine import chain
from gradtx._schedules._base import schedule_factory
from gradtx._schedules.cosine import cosine_annealing_schedule, cosine_warm_restarts_schedule
from gradtx._schedules.cyclic import cyclic_schedule, onecycle_momentum_schedule, onecycle_schedule
from gradtx._schedules.exponential import exponential_schedule
from gradtx._schedules.factor import lambda_factor_schedule, multiplicative_factor_schedule
from gradtx._schedules.join import join_schedules
from gradtx._schedules.plateau import scale_on_plateau
from gradtx._schedules.polynomial import linear_factor_schedule, polynomial_schedule
from gradtx._schedules.step import constant_factor_schedule, multistep_schedule, step_schedule
from gradtx._transforms.hyperparams import inject_hyperparams


class _Plan(NamedTuple):
    """What a scheduler sets: the learning rate and, for the cyclical ones, the momentum."""

    lr: Schedule
    momentum: Schedule | None = None


_T = TypeVar("_T")

# name -> (base lr, the scheduler's own arguments) -> _Plan; SequentialLR rebuilds its parts with these.
_PLANS: dict[str, Callable[..., _Plan]] = {}


# ------------------------------------------------------------------------------ plumbing


def _torch_recipe(optimizer: Any) -> Recipe:
    """The recipe of a ``gradtx.torch`` optimizer, or a TypeError that says what to pass."""
    recipe = recipe_of(optimizer) if isinstance(optimizer, GradientTransformation) else None
    door = importlib.import_module("gradtx.torch")
    if recipe is not None and getattr(door, recipe.name, None) is recipe.factory:
        return recipe
    if recipe is not None and (recipe.name in _PLANS or recipe.name == "ReduceLROnPlateau"):
        raise TypeError(
            blame(
                f"`optimizer` already has a scheduler ({recipe.name}); gradtx does not chain schedulers: "
                "pass the optimizer itself, and join schedulers with SequentialLR"
            )
        )
    raise TypeError(
        blame(
            "`optimizer` must be a gradtx.torch optimizer, e.g. gradtx.torch.SGD(lr=0.1, momentum=0.9), "
            f"got {optimizer!r}; for an Optax-style optimizer give a schedule as its learning rate "
            "instead, e.g. gradtx.sgd(gradtx.step_schedule(0.1, step_size=30))"
        )
    )


def _base_lr(recipe: Recipe) -> float:
    """The optimizer's ``lr`` (torch's ``initial_lr``), which must be a number."""
    lr = dict(recipe.defaults + recipe.arguments)["lr"]
    if callable(lr):
        raise TypeError(
            blame(f"the optimizer's `lr` must be a number for a scheduler to schedule it, got lr={lr!r}")
        )
    base_lr: float = lr
    return base_lr


@schedule_factory
def _per_epoch(schedule: Schedule, steps_per_epoch: int) -> Schedule:
    """``schedule(count // steps_per_epoch)``: a scheduler stepped once every ``steps_per_epoch`` updates."""
    return lambda count: schedule(jnp.floor_divide(count, steps_per_epoch))


def _epochs(schedule: Schedule, steps_per_epoch: int) -> Schedule:
    return schedule if steps_per_epoch == 1 else _per_epoch(schedule, steps_per_epoch)


@functools.cache
def _with_beta1(
    factory: Callable[..., GradientTransformation], b2: Any
) -> Callable[..., GradientTransformation]:
    """``factory`` with ``betas=(beta1, b2)`` given as a float argument ``beta1``, so it can be injected."""
    signature = inspect.signature(factory)
    parameters = [p for p in signature.parameters.values() if p.name != "betas"]
    parameters.append(inspect.Parameter("beta1", inspect.Parameter.KEYWORD_ONLY, annotation=float))

    wrapped = signature.replace(parameters=parameters)

    def build(*args: Any, **kwargs: Any) -> GradientTransformation:
        arguments = wrapped.bind(*args, **kwargs).arguments
        beta1 = arguments.pop("beta1")
        return factory(**arguments, betas=(beta1, b2))

    build.__name__ = build.__qualname__ = factory.__name__
    build.__signature__ = wrapped  # type: ignore[attr-defined]
    build.__annotations__ = {p.name: p.annotation for p in parameters if p.annotation is not p.empty}
    return build


def _rebuild(recipe: Recipe, lr: Schedule, momentum: Schedule | None) -> GradientTransformation:
    """The optimizer of ``recipe`` with ``lr`` (and its momentum or ``betas[0]``) scheduled."""
    arguments = dict(recipe.arguments)
    if momentum is None:
        return recipe.factory(**{**arguments, "lr": lr})
    parameters = inspect.signature(recipe.factory).parameters
    if "momentum" in parameters:
        static = frozenset(arguments) - {"lr", "momentum"}
        return inject_hyperparams(recipe.factory, static)(**{**arguments, "lr": lr, "momentum": momentum})
    if "betas" in parameters:
        b2 = tuple(dict(recipe.defaults + recipe.arguments)["betas"])[1]
        factory = _with_beta1(recipe.factory, b2)
        arguments.pop("betas", None)
        static = frozenset(arguments) - {"lr"}
        return inject_hyperparams(factory, static)(**{**arguments, "lr": lr, "beta1": momentum})
    raise ValueError(
        blame(
            f"{recipe.name} has no momentum or betas to cycle (torch raises too); "
            "pass cycle_momentum=False"
        )
    )


def _scheduled(name: str, optimizer: Any, steps_per_epoch: int, **kwargs: Any) -> GradientTransformation:
    """The body of every scheduler but SequentialLR and ReduceLROnPlateau."""
    recipe = _torch_recipe(optimizer)
    checks.integer("steps_per_epoch", steps_per_epoch, 1)
    plan = _PLANS[name](_base_lr(recipe), **kwargs)
    momentum = None if plan.momentum is None else _epochs(plan.momentum, steps_per_epoch)
    return _rebuild(recipe, _epochs(plan.lr, steps_per_epoch), momentum)


def _plan(name: str) -> Callable[[Callable[..., _Plan]], Callable[..., _Plan]]:
    def register(fn: Callable[..., _Plan]) -> Callable[..., _Plan]:
        _PLANS[name] = fn
        return fn

    return register


def _single(name: str, value: _T | list[_T] | tuple[_T, ...]) -> _T:
    """A scalar argument; torch's per-group lists are refused (use one optimizer per group)."""
    if isinstance(value, list | tuple):
        raise TypeError(
            blame(
                f"`{name}` must be a single number, got {name}={value!r}: gradtx has no param groups; "
                "build one optimizer and scheduler per group and combine them with gradtx.partition"
            )
        )
    return value


def _torch_int(name: str, value: Any, minimum: int) -> None:
    """An integer argument checked under torch's name (the schedule's own check uses gradtx's)."""
    checks.integer(name, value, minimum)


# ---------------------------------------------------------------------------- schedulers


@_plan("StepLR")
def _step(lr: float, step_size: int, gamma: float) -> _Plan:
    return _Plan(step_schedule(lr, step_size, gamma))


@transformation
def StepLR(  # noqa: N802
    optimizer: GradientTransformation, step_size: int, gamma: float = 0.1, *, steps_per_epoch: int = 1
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.StepLR``: multiply the rate by ``gamma`` every ``step_size`` steps.

    .. math::

       \eta_k = \eta\, \gamma^{\lfloor k / n \rfloor}, \qquad k = \lfloor t / \text{steps\_per\_epoch} \rfloor

    where :math:`t` counts the updates applied (:func:`gradtx.step_schedule`).

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      step_size: The period :math:`n \ge 1`, in scheduler steps.
      gamma: The factor :math:`\gamma \ge 0`.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension; 1 = one
        scheduler step per update).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled.

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range.

    Examples:
      >>> tx = gradtx.torch.lr_scheduler.StepLR(gradtx.torch.SGD(lr=0.1), step_size=2)
      >>> tx
      StepLR(optimizer=SGD(lr=0.1), step_size=2)
      >>> state = tx.init(jnp.zeros(1))
      >>> for _ in range(3):
      ...     updates, state = tx.update(jnp.ones(1), state)
      ...     print(updates)
      [-0.1]
      [-0.1]
      [-0.01]

    .. note::
       PyTorch: ``StepLR(optimizer, step_size, gamma)``, same values. torch does not check
       ``gamma``; gradtx rejects a negative one.
    """
    return _scheduled("StepLR", optimizer, steps_per_epoch, step_size=step_size, gamma=gamma)


@_plan("MultiStepLR")
def _multistep(lr: float, milestones: Iterable[int], gamma: float) -> _Plan:
    ordered = sorted(milestones) if isinstance(milestones, Iterable) else milestones  # torch takes any order
    return _Plan(multistep_schedule(lr, ordered, gamma))


@transformation
def MultiStepLR(  # noqa: N802
    optimizer: GradientTransformation,
    milestones: Iterable[int],
    gamma: float = 0.1,
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.MultiStepLR``: multiply the rate by ``gamma`` at each milestone.

    .. math::

       \eta_k = \eta\, \gamma^{\#\{i \,:\, m_i \le k\}}

    (:func:`gradtx.multistep_schedule`).

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      milestones: Scheduler steps :math:`m_i \ge 0`, in any order; one listed twice
        applies ``gamma`` twice (as in torch).
      gamma: The factor :math:`\gamma \ge 0`.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled.

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range.

    .. note::
       PyTorch: ``MultiStepLR(optimizer, milestones, gamma)``, same values.
    """
    return _scheduled("MultiStepLR", optimizer, steps_per_epoch, milestones=milestones, gamma=gamma)


@_plan("ExponentialLR")
def _exponential(lr: float, gamma: float) -> _Plan:
    return _Plan(exponential_schedule(lr, gamma))


@transformation
def ExponentialLR(  # noqa: N802
    optimizer: GradientTransformation, gamma: float, *, steps_per_epoch: int = 1
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.ExponentialLR``: :math:`\eta_k = \eta\, \gamma^k`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      gamma: The factor :math:`\gamma \ge 0` per scheduler step.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.exponential_schedule`).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If ``gamma < 0``.

    .. note::
       PyTorch: ``ExponentialLR(optimizer, gamma)``; torch multiplies step by step, gradtx
       takes the power: the same values to rounding.
    """
    return _scheduled("ExponentialLR", optimizer, steps_per_epoch, gamma=gamma)


@_plan("ConstantLR")
def _constant(lr: float, factor: float, total_iters: int) -> _Plan:
    return _Plan(constant_factor_schedule(lr, factor, total_iters))


@transformation
def ConstantLR(  # noqa: N802
    optimizer: GradientTransformation,
    factor: float = 1.0 / 3,
    total_iters: int = 5,
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.ConstantLR``: :math:`\eta f` for ``total_iters`` steps, then :math:`\eta`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      factor: :math:`f \in [0, 1]`.
      total_iters: The number :math:`T \ge 1` of reduced scheduler steps.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.constant_factor_schedule`).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range (torch's ``total_iters=0`` included).

    .. note::
       PyTorch: ``ConstantLR(optimizer, factor, total_iters)``, same values.
    """
    return _scheduled("ConstantLR", optimizer, steps_per_epoch, factor=factor, total_iters=total_iters)


@_plan("LinearLR")
def _linear(lr: float, start_factor: float, end_factor: float, total_iters: int) -> _Plan:
    return _Plan(linear_factor_schedule(lr, start_factor, end_factor, total_iters))


@transformation
def LinearLR(  # noqa: N802
    optimizer: GradientTransformation,
    start_factor: float = 1.0 / 3,
    end_factor: float = 1.0,
    total_iters: int = 5,
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.LinearLR``: a linear factor from ``start_factor`` to ``end_factor``.

    .. math::

       \eta_k = \eta \Big(f_0 + (f_1 - f_0) \frac{\min(k, T)}{T}\Big)

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      start_factor: :math:`f_0 \in (0, 1]`.
      end_factor: :math:`f_1 \in [0, 1]`.
      total_iters: :math:`T \ge 1` scheduler steps.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.linear_factor_schedule`).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range (torch's ``total_iters=0`` included).

    .. note::
       PyTorch: ``LinearLR(optimizer, start_factor, end_factor, total_iters)``; closed form
       instead of torch's step-by-step products, the same values to rounding.
    """
    return _scheduled(
        "LinearLR", optimizer, steps_per_epoch, start_factor=start_factor, end_factor=end_factor,
        total_iters=total_iters,
    )


@_plan("PolynomialLR")
def _polynomial(lr: float, total_iters: int, power: float) -> _Plan:
    return _Plan(polynomial_schedule(lr, 0.0, power, total_iters))


@transformation
def PolynomialLR(  # noqa: N802
    optimizer: GradientTransformation, total_iters: int = 5, power: float = 1.0, *, steps_per_epoch: int = 1
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.PolynomialLR``: :math:`\eta_k = \eta\, (1 - \min(k, T)/T)^p`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      total_iters: :math:`T` scheduler steps; ``T <= 0`` keeps :math:`\eta` (as torch).
      power: :math:`p \ge 0`.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.polynomial_schedule` to 0).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If ``power < 0``.

    .. note::
       PyTorch: ``PolynomialLR(optimizer, total_iters, power)``, same values.
    """
    return _scheduled("PolynomialLR", optimizer, steps_per_epoch, total_iters=total_iters, power=power)


@_plan("CosineAnnealingLR")
def _cosine(lr: float, T_max: int, eta_min: float) -> _Plan:  # noqa: N803
    _torch_int("T_max", T_max, 1)
    return _Plan(cosine_annealing_schedule(lr, T_max, eta_min))


@transformation
def CosineAnnealingLR(  # noqa: N802
    optimizer: GradientTransformation,
    T_max: int,  # noqa: N803
    eta_min: float = 0.0,
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.CosineAnnealingLR``: half a cosine from :math:`\eta` to ``eta_min``.

    .. math::

       \eta_k = \eta_{\min} + (\eta - \eta_{\min}) \frac{1 + \cos(\pi k / T)}{2}

    (periodic past ``T_max``, as torch's; :func:`gradtx.cosine_annealing_schedule`).

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      T_max: The half period :math:`T \ge 1`, in scheduler steps.
      eta_min: The lowest rate.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled.

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If ``T_max < 1``.

    .. note::
       PyTorch: ``CosineAnnealingLR(optimizer, T_max, eta_min)``; gradtx evaluates the
       closed form (torch a recursion): the same values to rounding.
    """
    return _scheduled("CosineAnnealingLR", optimizer, steps_per_epoch, T_max=T_max, eta_min=eta_min)


@_plan("CosineAnnealingWarmRestarts")
def _restarts(lr: float, T_0: int, T_mult: int, eta_min: float) -> _Plan:  # noqa: N803
    _torch_int("T_0", T_0, 1)
    _torch_int("T_mult", T_mult, 1)
    return _Plan(cosine_warm_restarts_schedule(lr, T_0, T_mult, eta_min))


@transformation
def CosineAnnealingWarmRestarts(  # noqa: N802
    optimizer: GradientTransformation,
    T_0: int,  # noqa: N803
    T_mult: int = 1,  # noqa: N803
    eta_min: float = 0.0,
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``: cosine cycles of growing length (SGDR).

    Cycle :math:`i` lasts :math:`T_0 m^i` scheduler steps and falls from :math:`\eta` towards
    ``eta_min`` (:func:`gradtx.cosine_warm_restarts_schedule`).

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      T_0: The first cycle's length (an integer >= 1).
      T_mult: The growth :math:`m` of each cycle (an integer >= 1).
      eta_min: The rate approached at the end of each cycle.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension). torch's
        fractional ``scheduler.step(epoch + i / iters)`` is this with ``steps_per_epoch``
        only at whole epochs; within an epoch gradtx keeps the epoch's rate.

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled.

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If ``T_0 < 1`` or ``T_mult < 1``.

    .. note::
       PyTorch: ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult, eta_min)`` stepped
       with ``scheduler.step()``, same values.
    """
    return _scheduled(
        "CosineAnnealingWarmRestarts", optimizer, steps_per_epoch, T_0=T_0, T_mult=T_mult, eta_min=eta_min
    )


@_plan("CyclicLR")
def _cyclic(
    lr: float,
    base_lr: float,
    max_lr: float,
    step_size_up: int,
    step_size_down: int | None,
    mode: str,
    gamma: float,
    scale_fn: Callable[[jax.Array], Any] | None,  # CyclicLR's (float) -> float, called on an integer array
    scale_mode: str,
    cycle_momentum: bool,
    base_momentum: float,
    max_momentum: float,
) -> _Plan:
    del lr  # torch's CyclicLR sets the rate to base_lr
    checks.boolean("cycle_momentum", cycle_momentum)

    def cycle(low: float, high: float) -> Schedule:
        return cyclic_schedule(
            low, high, step_size_up=step_size_up, step_size_down=step_size_down, mode=mode, gamma=gamma,
            scale_fn=scale_fn, scale_mode=scale_mode,
        )

    rate = cycle(_single("base_lr", base_lr), _single("max_lr", max_lr))
    if not cycle_momentum:
        return _Plan(rate)
    momentum = cycle(_single("max_momentum", max_momentum), _single("base_momentum", base_momentum))
    return _Plan(rate, momentum)


@transformation
def CyclicLR(  # noqa: N802
    optimizer: GradientTransformation,
    base_lr: float | list[float],
    max_lr: float | list[float],
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
    gamma: float = 1.0,
    scale_fn: Callable[[float], float] | None = None,
    scale_mode: Literal["cycle", "iterations"] = "cycle",
    cycle_momentum: bool = True,
    base_momentum: float = 0.8,
    max_momentum: float = 0.9,
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.CyclicLR``: the rate cycles between ``base_lr`` and ``max_lr``.

    The rate follows :func:`gradtx.cyclic_schedule`; with ``cycle_momentum`` (torch's
    default) the optimizer's ``momentum`` (SGD, RMSprop, Muon) or ``betas[0]`` (the Adam
    family) cycles the other way, between ``max_momentum`` and ``base_momentum``, through
    :func:`gradtx.inject_hyperparams`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is replaced by the cycle.
      base_lr: The lowest rate (a number; torch's per-group lists are refused).
      max_lr: The highest rate of a full-height cycle.
      step_size_up: Scheduler steps rising (an integer >= 1).
      step_size_down: Scheduler steps falling; ``None`` for ``step_size_up``.
      mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
      gamma: The factor per step of ``"exp_range"``.
      scale_fn: A custom amplitude, given the 1-based cycle or the step as an integer array
        (it must be jax-traceable); ``mode`` is then ignored.
      scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` is given.
      cycle_momentum: Cycle the momentum too.
      base_momentum: The momentum at the top of the rate.
      max_momentum: The momentum at the bottom of the rate.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension; CyclicLR is
        normally stepped per batch).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (and wrapped in ``inject_hyperparams``
      when the momentum cycles).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range, or ``cycle_momentum=True`` for an
        optimizer without ``momentum`` or ``betas`` (pass ``cycle_momentum=False``).

    .. note::
       PyTorch: ``CyclicLR(optimizer, base_lr, max_lr, ...)``, same values for the rate and
       the momentum. torch takes fractional step sizes; gradtx asks for integers.
    """
    return _scheduled(
        "CyclicLR", optimizer, steps_per_epoch, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up,
        step_size_down=step_size_down, mode=mode, gamma=gamma, scale_fn=scale_fn, scale_mode=scale_mode,
        cycle_momentum=cycle_momentum, base_momentum=base_momentum, max_momentum=max_momentum,
    )


@_plan("OneCycleLR")
def _onecycle(
    lr: float,
    max_lr: float,
    total_steps: int | None,
    epochs: int | None,
    steps_per_epoch: int | None,
    pct_start: float,
    anneal_strategy: str,
    cycle_momentum: bool,
    base_momentum: float,
    max_momentum: float,
    div_factor: float,
    final_div_factor: float,
    three_phase: bool,
) -> _Plan:
    del lr  # torch's OneCycleLR sets the rate to max_lr / div_factor
    checks.boolean("cycle_momentum", cycle_momentum)
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError(blame("give `total_steps`, or both `epochs` and `steps_per_epoch`"))
        _torch_int("epochs", epochs, 1)
        _torch_int("steps_per_epoch", steps_per_epoch, 1)
        total_steps = epochs * steps_per_epoch
    rate = onecycle_schedule(
        _single("max_lr", max_lr), total_steps, div_factor=div_factor, final_div_factor=final_div_factor,
        pct_start=pct_start, anneal_strategy=anneal_strategy, three_phase=three_phase,
    )
    if not cycle_momentum:
        return _Plan(rate)
    momentum = onecycle_momentum_schedule(
        total_steps, _single("base_momentum", base_momentum), _single("max_momentum", max_momentum),
        pct_start=pct_start, anneal_strategy=anneal_strategy, three_phase=three_phase,
    )
    return _Plan(rate, momentum)


@transformation
def OneCycleLR(  # noqa: N802
    optimizer: GradientTransformation,
    max_lr: float | list[float],
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    cycle_momentum: bool = True,
    base_momentum: float | list[float] = 0.85,
    max_momentum: float | list[float] = 0.95,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.OneCycleLR``: the 1cycle policy, stepped once per update.

    The rate follows :func:`gradtx.onecycle_schedule` over ``total_steps`` updates (or
    ``epochs * steps_per_epoch``); with ``cycle_momentum`` (torch's default) the
    optimizer's ``momentum`` or ``betas[0]`` follows :func:`gradtx.onecycle_momentum_schedule`
    through :func:`gradtx.inject_hyperparams`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is replaced by the cycle.
      max_lr: The peak rate (a number; torch's per-group lists are refused).
      total_steps: The cycle's length in updates; or give ``epochs`` and ``steps_per_epoch``.
      epochs: Epochs of the run (with ``steps_per_epoch``).
      steps_per_epoch: Updates per epoch (torch's argument: OneCycleLR is stepped per batch).
      pct_start: The fraction of the cycle spent rising, in (0, 1).
      anneal_strategy: ``"cos"`` or ``"linear"``.
      cycle_momentum: Cycle the momentum too.
      base_momentum: The momentum at the peak rate.
      max_momentum: The momentum at the start and the end.
      div_factor: The start rate is ``max_lr / div_factor``.
      final_div_factor: The end rate is ``max_lr / div_factor / final_div_factor``.
      three_phase: The paper's three phases instead of fastai's two.

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (and wrapped in ``inject_hyperparams``
      when the momentum cycles).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range, neither ``total_steps`` nor ``epochs``
        and ``steps_per_epoch`` are given, or ``cycle_momentum=True`` for an optimizer
        without ``momentum`` or ``betas`` (pass ``cycle_momentum=False``).

    .. note::
       PyTorch: ``OneCycleLR(optimizer, max_lr, ...)``, same values for the ``total_steps``
       updates of the cycle. After them gradtx keeps the final rate, where torch raises at
       the next ``scheduler.step()`` (see :func:`gradtx.onecycle_schedule`).
    """
    recipe = _torch_recipe(optimizer)
    plan = _onecycle(
        _base_lr(recipe), max_lr, total_steps, epochs, steps_per_epoch, pct_start, anneal_strategy,
        cycle_momentum, base_momentum, max_momentum, div_factor, final_div_factor, three_phase,
    )
    return _rebuild(recipe, plan.lr, plan.momentum)


@_plan("LambdaLR")
def _lambda(lr: float, lr_lambda: Callable[[jax.Array], Any]) -> _Plan:  # LambdaLR's (int) -> float, on an array
    return _Plan(lambda_factor_schedule(lr, _single("lr_lambda", lr_lambda)))


@transformation
def LambdaLR(  # noqa: N802
    optimizer: GradientTransformation,
    lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.LambdaLR``: :math:`\eta_k = \eta\, f(k)`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      lr_lambda: The factor :math:`f`. It is called on an integer *array* under ``jit``,
        so it must be jax-traceable: ``lambda k: 0.95**k`` works as written, ``lambda k:
        min(1.0, k / 10)`` must become ``lambda k: jnp.minimum(1.0, k / 10)``.
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.lambda_factor_schedule`).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``,
        or ``lr_lambda`` is a list (torch's per-group form) or not callable.

    .. note::
       PyTorch: ``LambdaLR(optimizer, lr_lambda)``, same values.
    """
    return _scheduled("LambdaLR", optimizer, steps_per_epoch, lr_lambda=lr_lambda)


@_plan("MultiplicativeLR")
def _multiplicative(lr: float, lr_lambda: Callable[[jax.Array], Any]) -> _Plan:  # as in _lambda
    return _Plan(multiplicative_factor_schedule(lr, _single("lr_lambda", lr_lambda)))


@transformation
def MultiplicativeLR(  # noqa: N802
    optimizer: GradientTransformation,
    lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.MultiplicativeLR``: :math:`\eta_k = \eta \prod_{i=1}^{k} f(i)`.

    Args:
      optimizer: A ``gradtx.torch`` optimizer; its ``lr`` is :math:`\eta`.
      lr_lambda: The factor :math:`f`, jax-traceable (see :func:`LambdaLR`).
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.multiplicative_factor_schedule`;
      each evaluation loops over the :math:`k` factors).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``,
        or ``lr_lambda`` is a list or not callable.

    .. note::
       PyTorch: ``MultiplicativeLR(optimizer, lr_lambda)``, the same values to rounding.
    """
    return _scheduled("MultiplicativeLR", optimizer, steps_per_epoch, lr_lambda=lr_lambda)


@transformation
def SequentialLR(  # noqa: N802
    optimizer: GradientTransformation,
    schedulers: list[GradientTransformation],
    milestones: list[int],
    *,
    steps_per_epoch: int = 1,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.SequentialLR``: schedulers one after another, each from its step 0.

    Args:
      optimizer: A ``gradtx.torch`` optimizer.
      schedulers: Schedulers built on ``optimizer`` (``[LinearLR(tx, ...), CosineAnnealingLR(tx,
        ...)]``), without their own ``steps_per_epoch`` and without cycled momentum.
      milestones: The scheduler steps where the next scheduler takes over (one fewer than
        ``schedulers``, sorted).
      steps_per_epoch: Updates per ``scheduler.step()`` (gradtx's extension).

    Returns:
      ``optimizer`` rebuilt with ``lr`` scheduled (:func:`gradtx.join_schedules`).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``,
        or a part is not a scheduler.
      ValueError: If a part is built on another optimizer, is a ``ReduceLROnPlateau``,
        cycles the momentum or has its own ``steps_per_epoch``, or the milestones do not fit.

    Examples:
      >>> tx = gradtx.torch.SGD(lr=0.1)
      >>> warmup = gradtx.torch.lr_scheduler.LinearLR(tx, start_factor=0.5, total_iters=2)
      >>> decay = gradtx.torch.lr_scheduler.ExponentialLR(tx, gamma=0.5)
      >>> tx = gradtx.torch.lr_scheduler.SequentialLR(tx, [warmup, decay], milestones=[2])
      >>> state = tx.init(jnp.zeros(1))
      >>> for _ in range(4):
      ...     updates, state = tx.update(jnp.ones(1), state)
      ...     print(updates)
      [-0.05]
      [-0.075]
      [-0.1]
      [-0.05]

    .. note::
       PyTorch: ``SequentialLR(optimizer, schedulers, milestones)``, same values.
    """
    recipe = _torch_recipe(optimizer)
    checks.integer("steps_per_epoch", steps_per_epoch, 1)
    lr = _base_lr(recipe)
    if isinstance(schedulers, GradientTransformation) or not isinstance(schedulers, Sequence):
        raise TypeError(blame(f"`schedulers` must be a list of schedulers, got {schedulers!r}"))
    parts = []
    for i, part in enumerate(schedulers):
        part_recipe = recipe_of(part) if isinstance(part, GradientTransformation) else None
        if part_recipe is not None and part_recipe.name == "ReduceLROnPlateau":
            raise ValueError(
                blame(f"`schedulers[{i}]` is a ReduceLROnPlateau, which SequentialLR does not take")
            )
        if part_recipe is None or part_recipe.name not in _PLANS:
            raise TypeError(
                blame(f"`schedulers[{i}]` must be a gradtx.torch.lr_scheduler scheduler, got {part!r}")
            )
        kwargs = dict(part_recipe.defaults + part_recipe.arguments)
        if kwargs.pop("optimizer") != optimizer:
            raise ValueError(blame(f"`schedulers[{i}]` is built on another optimizer than `optimizer`"))
        if part_recipe.name != "OneCycleLR" and kwargs.pop("steps_per_epoch") != 1:
            raise ValueError(
                blame(f"`schedulers[{i}]` has its own `steps_per_epoch`; give it to SequentialLR instead")
            )
        plan = _PLANS[part_recipe.name](lr, **kwargs)
        if plan.momentum is not None:
            raise ValueError(
                blame(
                    f"`schedulers[{i}]` cycles the momentum, which SequentialLR does not; "
                    "pass cycle_momentum=False"
                )
            )
        parts.append(plan.lr)
    if isinstance(milestones, Iterable) and not isinstance(milestones, str | Sequence):
        milestones = list(milestones)
    joined = join_schedules(parts, milestones)
    return _rebuild(recipe, _epochs(joined, steps_per_epoch), None)


@transformation
def ReduceLROnPlateau(  # noqa: N802
    optimizer: GradientTransformation,
    mode: Literal["min", "max"] = "min",
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: Literal["rel", "abs"] = "rel",
    cooldown: int = 0,
    min_lr: list[float] | float = 0,
    eps: float = 1e-8,
) -> GradientTransformation:
    r"""``torch.optim.lr_scheduler.ReduceLROnPlateau``: cut the rate when a metric stops improving.

    Returns ``chain(optimizer, <plateau rule>)``. Pass the metric as ``tx.update(...,
    value=metric)``: that call is torch's ``optimizer.step(); scheduler.step(metric)``, so
    its update uses the rate from before the metric and a reduction applies from the next
    update; calls without ``value`` are ``optimizer.step()`` alone. The rule (the one of
    :func:`gradtx.reduce_on_plateau`, with torch's options) in mode ``"min"``:

    .. math::

       \text{better} = m < b - \theta |b| \ \text{(rel)} \ \text{or}\ m < b - \theta \ \text{(abs)},
       \qquad n > \text{patience} \Rightarrow \eta \leftarrow \max(\gamma \eta, \eta_{\min})
       \ \text{(if that lowers } \eta \text{ by more than } \varepsilon)

    Args:
      optimizer: A ``gradtx.torch`` optimizer with a numeric ``lr``.
      mode: ``"min"`` (lower metrics are better) or ``"max"``.
      factor: :math:`\gamma \in [0, 1)`.
      patience: Bad metrics tolerated (an integer >= 0); the next one reduces.
      threshold: :math:`\theta \ge 0`.
      threshold_mode: ``"rel"`` or ``"abs"``.
      cooldown: Metrics ignored after a reduction (an integer >= 0).
      min_lr: :math:`\eta_{\min} \ge 0` (a number; torch's per-group lists are refused).
      eps: :math:`\varepsilon \ge 0`, compared with the drop of the rate.

    Returns:
      A :func:`gradtx.chain` of ``optimizer`` and the plateau rule, whose state is a
      :class:`gradtx.ReduceOnPlateauState` (``state[1].scale`` times ``lr`` is torch's rate).

    Raises:
      TypeError: If ``optimizer`` is not a ``gradtx.torch`` optimizer with a numeric ``lr``.
      ValueError: If an argument is out of range or a mode is unknown.

    Examples:
      >>> tx = gradtx.torch.lr_scheduler.ReduceLROnPlateau(gradtx.torch.SGD(lr=1.0), factor=0.5, patience=0)
      >>> state = tx.init(jnp.zeros(1))
      >>> for metric in [3.0, 3.0, 3.0]:
      ...     updates, state = tx.update(jnp.ones(1), state, value=metric)
      ...     print(updates, state[1].scale)
      [-1.] 1.0
      [-1.] 0.5
      [-0.5] 0.25

    .. note::
       PyTorch: ``ReduceLROnPlateau(optimizer, mode, factor, patience, threshold,
       threshold_mode, cooldown, min_lr, eps)``, same values, except on a plateau of
       *negative* metrics: torch's bar :math:`b (1 \mp \theta)` then moves the wrong way, so
       a constant negative metric counts as an improvement and torch never reduces; gradtx
       takes the threshold of :math:`|b|` and does. The scale multiplies the optimizer's
       whole update, which is torch's rate change for every optimizer whose step is
       proportional to ``lr`` (all but Rprop, whose ``lr`` is only its first step size).
    """
    recipe = _torch_recipe(optimizer)
    lr = _base_lr(recipe)
    checks.one_of("mode", mode, ("min", "max"))
    checks.interval("factor", factor, 0.0, 1.0, high_open=True)
    checks.integer("patience", patience)
    checks.non_negative("threshold", threshold)
    checks.one_of("threshold_mode", threshold_mode, ("rel", "abs"))
    checks.integer("cooldown", cooldown)
    min_lr = _single("min_lr", min_lr)
    checks.non_negative("min_lr", min_lr)
    checks.non_negative("eps", eps)
    if not isinstance(lr, numbers.Real) or lr != 0:
        min_scale, eps_scale = min_lr / lr, eps / lr
    else:
        min_scale, eps_scale = 0.0, eps
    rtol, atol = (threshold, 0.0) if threshold_mode == "rel" else (0.0, threshold)
    rule = scale_on_plateau(
        factor, patience + 1, rtol, atol, cooldown, 1, min_scale,
        eps=eps_scale, mode=mode, reduce_before_update=False,
    )
    return chain(optimizer, rule)

