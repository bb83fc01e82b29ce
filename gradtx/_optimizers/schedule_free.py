"""Schedule-Free learning: interpolation and averaging in place of momentum and a decaying schedule."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, State, Updates, transformation
from gradtx._core.combine import _check_transform, chain
from gradtx._optimizers import _contrib
from gradtx._optimizers.rmsprop import scale_by_rms
from gradtx._optimizers.sgd import sgd
from gradtx._schedules.warmup import warmup_constant_schedule
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free`; ``gradtx.eval_params(state, params)`` gives the averaged iterate."""

    b1: jax.Array  # float[]: the interpolation weight beta_1
    weight_sum: jax.Array  # float[]: sum of the averaging weights so far
    step_count: jax.Array  # int32[]: 1 + updates applied so far (the schedule is called with it)
    max_lr: jax.Array  # float[]: the largest learning rate seen so far
    base_optimizer_state: State  # the base optimizer's state
    z: Params  # z_t, the base optimizer's iterate: shaped like the params, in `state_dtype` or theirs

    def eval_params(self, params: Params) -> Params:
        """The averaged iterate :math:`x_t = (y_t - (1 - \\beta_1) z_t) / \\beta_1` to evaluate with."""

        def leaf(y: Any, z: Any) -> Any:
            if not tree.is_float(y) or z is None:
                return y
            b1 = tree.weak(self.b1)
            dtype = tree.compute_dtype(y.dtype, z.dtype)
            x = (y.astype(dtype) - (1 - b1) * z.astype(dtype)) / b1
            return x.astype(y.dtype)

        return jax.tree.map(leaf, params, self.z, is_leaf=lambda x: x is None)


def schedule_free_eval_params(state: State, params: Params) -> Params:
    r"""The parameters to evaluate a :func:`schedule_free` run at: the averaged iterate :math:`x_t`.

    The same as ``gradtx.eval_params(state, params)``: ``state`` is a
    :class:`ScheduleFreeState` or any state holding one (inside a chain, for example).

    Args:
      state: The optimizer state.
      params: The current (training) parameters :math:`y_t`.

    Returns:
      :math:`x_t = (y_t - (1 - \beta_1) z_t) / \beta_1`, shaped like ``params``.

    Raises:
      ValueError: If ``state`` holds no :class:`ScheduleFreeState`, or more than one.

    Examples:
      >>> tx = gradtx.schedule_free_sgd(0.5)
      >>> params = jnp.array([1.0, 2.0])
      >>> state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)  # the gradient of |p|^2 / 2
      >>> params = gradtx.apply_updates(params, updates)
      >>> gradtx.schedule_free_eval_params(state, params)
      Array([0.5, 1. ], dtype=float32)

    .. note::
       Optax: ``optax.contrib.schedule_free_eval_params(state, params)``, same numbers. Optax
       needs the :class:`ScheduleFreeState` itself; here it may sit anywhere in ``state``.
    """
    found = [
        x
        for x in jax.tree.leaves(state, is_leaf=lambda x: isinstance(x, ScheduleFreeState))
        if isinstance(x, ScheduleFreeState)
    ]
    if len(found) != 1:
        raise ValueError(
            f"schedule_free_eval_params needs a state holding exactly one ScheduleFreeState, found {len(found)}."
        )
    return found[0].eval_params(params)


@transformation
def schedule_free(
    base_optimizer: GradientTransformation,
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    weight_lr_power: float = 2.0,
    state_dtype: Any = None,
) -> GradientTransformation:
    r"""Make an optimizer schedule-free: averaging and interpolation replace momentum and decay.

    The base optimizer (with its momentum switched off) moves a sequence :math:`z`; the
    gradients are taken at :math:`y`, an interpolation between :math:`z` and the running
    average :math:`x`, and :math:`x` is what you evaluate (:func:`eval_params`). The
    params you train are :math:`y`. With :math:`\Delta_t` the base optimizer's update at
    :math:`y_t`, :math:`\gamma_t` the learning rate and :math:`\gamma^{\max}_t` its running maximum,

    .. math::

       z_{t+1} = z_t + \Delta_t, \qquad
       c_{t+1} = \frac{(\gamma^{\max}_t)^r}{\sum_{k \le t} (\gamma^{\max}_k)^r}, \qquad
       x_{t+1} = (1 - c_{t+1}) x_t + c_{t+1} z_{t+1}, \qquad
       y_{t+1} = \beta_1 x_{t+1} + (1 - \beta_1) z_{t+1}

    where :math:`x_t = (y_t - (1 - \beta_1) z_t) / \beta_1` is recovered from the params,
    so the state holds :math:`z` only (the same memory as momentum).

    Args:
      base_optimizer: The optimizer that moves :math:`z` (without momentum: e.g.
        ``sgd(lr)``, or ``adam(lr, b1=0)``).
      learning_rate: :math:`\gamma`, a number or a schedule (warmup, no decay), called with
        one plus the number of updates so far. It only weighs the average: pass the base
        optimizer's.
      b1: :math:`\beta_1 \in (0, 1]`, the interpolation weight.
      weight_lr_power: :math:`r`, the power of the learning rate in the averaging weights
        (it discounts the warmup steps).
      state_dtype: Storage dtype of :math:`z`; ``None`` keeps the params' dtypes.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScheduleFreeState`; ``update``
      needs ``params``.

    Raises:
      ValueError: If ``b1`` is outside (0, 1]; in ``update``, if ``params`` is missing.

    Examples:
      >>> tx = gradtx.schedule_free(gradtx.sgd(0.5), 0.5)
      >>> params = jnp.array([1.0, 2.0])
      >>> state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)
      >>> gradtx.apply_updates(params, updates)
      Array([0.5, 1. ], dtype=float32)

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.

    .. note::
       Optax: ``optax.contrib.schedule_free(base_optimizer, learning_rate, b1,
       weight_lr_power, state_dtype)``, same arguments, defaults and numbers. The state's
       scalars are float32 or wider (Optax keeps them in the params' lowest dtype).
    """
    base_optimizer = _check_transform("schedule_free", "`base_optimizer`", base_optimizer)
    checks.learning_rate(learning_rate)
    checks.interval("b1", b1, 0.0, 1.0, low_open=True)
    checks.real("weight_lr_power", weight_lr_power)
    checks.dtype_or_none("state_dtype", state_dtype)

    def init(params: Params) -> ScheduleFreeState:
        return ScheduleFreeState(
            b1=_contrib.scalar(params, b1),
            weight_sum=_contrib.scalar(params, 0.0),
            step_count=tree.replicated_like(params, jnp.ones([], jnp.int32)),
            max_lr=_contrib.scalar(params, 0.0),
            base_optimizer_state=base_optimizer.init(params),
            z=_contrib.copy_params(params, state_dtype),
        )

    def update(
        updates: Updates, state: ScheduleFreeState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScheduleFreeState]:
        params = checks.params_given(params, "schedule_free")
        lr: float | jax.Array
        if callable(learning_rate):
            lr = checks.schedule_value("learning_rate", learning_rate(state.step_count))
        else:
            lr = learning_rate
        max_lr = jnp.maximum(state.max_lr, jnp.asarray(lr, state.max_lr.dtype))
        weight = max_lr**weight_lr_power
        weight_sum = state.weight_sum + weight
        ratio = jnp.nan_to_num(weight / weight_sum, nan=0.0, posinf=jnp.inf)
        ck = tree.weak(jnp.where(jnp.isnan(weight) | jnp.isnan(weight_sum), jnp.nan, ratio))
        steps, base_state = base_optimizer.update(updates, state.base_optimizer_state, params, **extra_args)

        beta = tree.weak(b1)

        def leaf(g: jax.Array, z: jax.Array, step: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
            del g
            z_next = (z + step).astype(z.dtype)
            x = (y - (1 - beta) * z) / beta
            x = (1 - ck) * x + ck * z_next
            return beta * x + (1 - beta) * z_next - y, z_next

        new_updates, z = tree.map_unzip(leaf, updates, state.z, steps, params)
        return new_updates, ScheduleFreeState(
            state.b1, weight_sum, tree.safe_increment(state.step_count), max_lr, base_state, z
        )

    return GradientTransformation(init, update)


def _warmed_up(learning_rate: Any, warmup_steps: int | None) -> Any:
    if warmup_steps is None:
        return learning_rate
    return warmup_constant_schedule(init_value=0.0, peak_value=learning_rate, warmup_steps=warmup_steps)


@transformation
def schedule_free_sgd(
    learning_rate: float = 1.0,
    warmup_steps: int | None = None,
    b1: float = 0.9,
    weight_decay: float | None = None,
    weight_lr_power: float = 2.0,
    state_dtype: Any = None,
) -> GradientTransformation:
    r"""Schedule-Free SGD: :func:`schedule_free` around plain SGD, with an optional linear warmup.

    Composition: ``schedule_free(chain(add_decayed_weights(weight_decay), sgd(γ)), γ, b1,
    weight_lr_power, state_dtype)`` with :math:`\gamma` the learning rate, warmed up from 0
    over ``warmup_steps`` steps if given (:func:`warmup_constant_schedule`). Evaluate at
    ``gradtx.eval_params(state, params)``.

    Args:
      learning_rate: :math:`\gamma \ge 0`, the peak learning rate.
      warmup_steps: Length of the linear warmup; ``None`` for none.
      b1: :math:`\beta_1 \in (0, 1]`, the interpolation weight.
      weight_decay: Weight decay added to the gradient (and so multiplied by the learning
        rate, as in PyTorch); ``None`` for none.
      weight_lr_power: Power of the learning rate in the averaging weights.
      state_dtype: Storage dtype of :math:`z`; ``None`` keeps the params' dtypes.

    Returns:
      A :class:`GradientTransformation` (a :func:`schedule_free`); ``update`` needs ``params``.

    Examples:
      >>> tx = gradtx.schedule_free_sgd(0.5)
      >>> params = jnp.array([1.0, 2.0])
      >>> state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)
      >>> gradtx.apply_updates(params, updates)
      Array([0.5, 1. ], dtype=float32)

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.

    .. note::
       Optax: ``optax.contrib.schedule_free_sgd(learning_rate, warmup_steps, b1, weight_decay,
       weight_lr_power, state_dtype)``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    if warmup_steps is not None:
        checks.integer("warmup_steps", warmup_steps)
    lr = _warmed_up(learning_rate, warmup_steps)
    base = sgd(lr)
    if weight_decay is not None:
        base = chain(add_decayed_weights(weight_decay), base)
    return schedule_free(base, lr, b1, weight_lr_power, state_dtype)


@transformation
def schedule_free_adamw(
    learning_rate: float = 0.0025,
    warmup_steps: int | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    weight_lr_power: float = 2.0,
    state_dtype: Any = None,
) -> GradientTransformation:
    r"""Schedule-Free AdamW: :func:`schedule_free` around Adam without momentum, with decoupled weight decay.

    Composition: ``schedule_free(chain(scale_by_rms(b2, eps, eps_in_sqrt=False,
    bias_correction=True), add_decayed_weights(weight_decay), scale_by_learning_rate(γ)), γ,
    b1, weight_lr_power, state_dtype)``, :math:`\gamma` warmed up from 0 over
    ``warmup_steps`` steps if given. (``scale_by_rms`` with these flags is Adam with
    :math:`\beta_1 = 0`, without its unused first moment.) Evaluate at
    ``gradtx.eval_params(state, params)``.

    Args:
      learning_rate: :math:`\gamma \ge 0`, the peak learning rate.
      warmup_steps: Length of the linear warmup; ``None`` for none.
      b1: :math:`\beta_1 \in (0, 1]`, the interpolation weight.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon \ge 0`, added to the root of the second moment.
      weight_decay: Decoupled weight decay (multiplied by the learning rate).
      weight_lr_power: Power of the learning rate in the averaging weights.
      state_dtype: Storage dtype of :math:`z`; ``None`` keeps the params' dtypes.

    Returns:
      A :class:`GradientTransformation` (a :func:`schedule_free`); ``update`` needs ``params``.

    Examples:
      >>> tx = gradtx.schedule_free_adamw(1.0)
      >>> params = jnp.array([1.0, 2.0])
      >>> state = tx.init(params)
      >>> updates, state = tx.update(params, state, params)
      >>> gradtx.eval_params(state, params + updates).round(4)
      Array([0., 1.], dtype=float32)

    References:
      Defazio et al., `The Road Less Scheduled <https://arxiv.org/abs/2405.15682>`_, 2024.

    .. note::
       Optax: ``optax.contrib.schedule_free_adamw(learning_rate, warmup_steps, b1, b2, eps,
       weight_decay, weight_lr_power, state_dtype)``, same arguments, defaults and numbers.
    """
    checks.learning_rate(learning_rate)
    if warmup_steps is not None:
        checks.integer("warmup_steps", warmup_steps)
    lr = _warmed_up(learning_rate, warmup_steps)
    base = chain(
        scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(lr),
    )
    return schedule_free(base, lr, b1, weight_lr_power, state_dtype)
