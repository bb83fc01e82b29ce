"""Adafactor: Optax's ``scale_by_factored_rms`` and ``adafactor``, and torch's ``Adafactor``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    active_path,
    blame,
    identity,
    transformation,
)
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent, torch_flags
from gradtx._optimizers.adafactor_torch import scale_by_torch_factored_rms
from gradtx._transforms.clip import clip_by_block_rms
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.momentum import ema
from gradtx._transforms.scale import scale, scale_by_learning_rate, scale_by_schedule


def _decay_rate_pow(i: jax.Array, exponent: float = 0.8) -> jax.Array:
    """Adafactor's second-moment decay :math:`1 - (i + 1)^{-\tau}`, in float32 (as Optax computes it)."""
    return 1.0 - jnp.asarray(i + 1, jnp.float32) ** (-exponent)


class FactoredState(NamedTuple):
    """State of :func:`scale_by_factored_rms` (Optax's layout: unused parts hold a ``(1,)`` zero)."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    v_row: Updates  # per leaf: R_t, the shape without its largest axis (factored), else zeros(1)
    v_col: Updates  # per leaf: C_t, the shape without its second-largest axis (factored), else zeros(1)
    v: Updates  # per leaf: V_t shaped like the leaf (not factored), else zeros(1)


def _factored_dims(shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int) -> tuple[int, int] | None:
    """The axes ``(second largest, largest)`` to factor over, or ``None`` (Optax's rule, ties included)."""
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return int(order[-2]), int(order[-1])


@transformation(needs_leaves=True, complex_params="native")
def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: float = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: float = 1e-30,
    decay_rate_fn: Callable[[jax.Array, Any], jax.Array] = _decay_rate_pow,
) -> GradientTransformation:
    r"""Divide by a factored root-mean-square estimate of the gradients (Adafactor's scaling).

    A leaf whose two largest axes are at least ``min_dim_size_to_factor`` long keeps only
    the averages of :math:`g^2` over each of them (memory :math:`n + m` instead of
    :math:`nm`); other leaves keep a full average. :func:`adafactor` chains it.

    .. math::

       eta_t = 	ext{decay\_rate\_fn}(t - 1 - 	ext{step\_offset}, 	au)
       = 1 - (t - 	ext{step\_offset})^{-	au}, \quad G = g_t^2 + \epsilon \
       R_t = eta_t R_{t-1} + (1 - eta_t) \operatorname{mean}_{	ext{largest}}(G), \quad
       C_t = eta_t C_{t-1} + (1 - eta_t) \operatorname{mean}_{	ext{2nd largest}}(G) \
       u_t = g_t ig(R_t / \operatorname{mean}(R_t)ig)^{-1/2} C_t^{-1/2} \ 	ext{(factored), else }
       g_t V_t^{-1/2}, \ V_t = eta_t V_{t-1} + (1 - eta_t) G

    Args:
      factored: Factor the leaves that qualify (else keep full averages everywhere).
      decay_rate: :math:`	au`, the exponent of the decay schedule.
      step_offset: Subtracted from the step count (to restart the schedule when fine-tuning).
      min_dim_size_to_factor: A leaf is factored when its two largest axes are at least
        this long.
      epsilon: :math:`\epsilon \ge 0`, added to :math:`g^2`.
      decay_rate_fn: ``(step, decay_rate) -> beta``; the default is Adafactor's
        :math:`1 - (	ext{step} + 1)^{-	au}`, computed in float32 as Optax does.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`FactoredState`.

    Raises:
      ValueError: If ``epsilon < 0`` or ``min_dim_size_to_factor < 1``.

    Examples:
      >>> tx = gradtx.scale_by_factored_rms(min_dim_size_to_factor=2)
      >>> u, state = tx.update(jnp.array([[3.0, 0.0], [0.0, 4.0]]), tx.init(jnp.zeros((2, 2))))
      >>> u.round(3)
      Array([[1.667, 0.   ],
             [0.   , 1.25 ]], dtype=float32)
      >>> jax.tree.map(jnp.shape, state.v_row), jax.tree.map(jnp.shape, state.v)
      ((2,), (1,))

    References:
      Shazeer and Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.

    .. note::
       Optax: ``optax.scale_by_factored_rms``, same arguments, state and numbers (params
       are not needed). PyTorch: ``torch.optim.Adafactor`` floors instead of adding
       :math:`\epsilon`, factors every leaf of two or more dimensions over its last two
       axes and decays with :math:`1 - t^{-0.8}` in the params' dtype: see
       :func:`gradtx.torch.Adafactor`.
    """
    checks.boolean("factored", factored)
    checks.integer("min_dim_size_to_factor", min_dim_size_to_factor, 1)
    checks.non_negative("epsilon", epsilon)
    checks.callable_("decay_rate_fn", decay_rate_fn)

    def init(params: Params) -> FactoredState:
        leaves, treedef = jax.tree.flatten(params, is_leaf=lambda x: x is None)
        rows, cols, full = [], [], []
        for p in leaves:
            if not tree.is_float(p):
                zero = tree.zeros_like(p)  # None; raises for a complex leaf
                rows.append(zero)
                cols.append(zero)
                full.append(zero)
                continue
            dims = _factored_dims(tuple(p.shape), factored, min_dim_size_to_factor)
            one = tree.replicated_like(p, jnp.zeros((1,), p.dtype))  # on p's devices, like the moments
            zeros = tree.zeros_like(p)  # sharded like p: its sums are sharded like p's reductions
            if dims is None:
                rows.append(one)
                cols.append(one)
                full.append(zeros)
            else:
                rows.append(jnp.sum(zeros, dims[1]))
                cols.append(jnp.sum(zeros, dims[0]))
                full.append(one)
        return FactoredState(tree.zero_count(params), *(jax.tree.unflatten(treedef, x) for x in (rows, cols, full)))

    def update(
        updates: Updates, state: FactoredState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, FactoredState]:
        del params, extra_args
        beta = decay_rate_fn(state.count - step_offset, decay_rate)
        leaves, treedef = jax.tree.flatten(updates, is_leaf=lambda x: x is None)
        try:
            rows, cols, full = (tree.flatten_up_to(treedef, x) for x in (state.v_row, state.v_col, state.v))
        except (ValueError, TypeError):
            raise ValueError(
                f"{active_path()}: the state does not match the updates ({treedef} against "
                f"{jax.tree.structure(state.v, is_leaf=lambda x: x is None)}). Was the state made by "
                "`init` for parameters with another structure?"
            ) from None
        out, new_rows, new_cols, new_full = list(leaves), list(rows), list(cols), list(full)
        for i, g in enumerate(leaves):
            if not tree.is_float(g):
                continue
            store = full[i].dtype
            dtype = tree.compute_dtype(g.dtype, store)
            b = jnp.asarray(beta).astype(dtype)
            x = g.astype(dtype)
            g2 = tree.abs_sq(x) + epsilon
            dims = _factored_dims(tuple(g.shape), factored, min_dim_size_to_factor)
            want = (g.shape,) if dims is None else (tuple(np.delete(g.shape, dims[1])), tuple(np.delete(g.shape, dims[0])))
            have = (full[i].shape,) if dims is None else (rows[i].shape, cols[i].shape)
            if tuple(map(tuple, have)) != tuple(map(tuple, want)):
                raise ValueError(
                    f"{active_path()}: the state does not match the updates (second moments of shapes "
                    f"{[tuple(x) for x in have]} meet an update of shape {tuple(g.shape)}). Was the state "
                    "made by `init` for parameters with another shape?"
                )
            if dims is None:
                v = (b * full[i].astype(dtype) + (1.0 - b) * g2).astype(store)
                out[i], new_full[i] = (x * v.astype(dtype) ** -0.5).astype(g.dtype), v
                continue
            second, largest = dims
            row = (b * rows[i].astype(dtype) + (1.0 - b) * jnp.mean(g2, axis=largest)).astype(store)
            col = (b * cols[i].astype(dtype) + (1.0 - b) * jnp.mean(g2, axis=second)).astype(store)
            r, c = row.astype(dtype), col.astype(dtype)
            row_mean = jnp.mean(r, axis=second - 1 if second > largest else second, keepdims=True)
            row_factor, col_factor = (r / row_mean) ** -0.5, c**-0.5
            u = x * jnp.expand_dims(row_factor, largest) * jnp.expand_dims(col_factor, second)
            out[i], new_rows[i], new_cols[i] = u.astype(g.dtype), row, col
        return jax.tree.unflatten(treedef, out), FactoredState(
            tree.safe_increment(state.count),
            jax.tree.unflatten(treedef, new_rows),
            jax.tree.unflatten(treedef, new_cols),
            jax.tree.unflatten(treedef, new_full),
        )

    return GradientTransformation(init, update)


@transformation(needs_leaves=True, complex_params="native")
def scale_by_param_block_rms(min_scale: float = 1e-3) -> GradientTransformation:
    r"""Scale each leaf by the RMS of its params, floored: :math:`u \max(\epsilon_2, \mathrm{RMS}(p))`.

    Adafactor's relative step: updates are proportional to the size of the params they
    change. :func:`adafactor` chains it.

    Args:
      min_scale: :math:`\epsilon_2 \ge 0`, the floor (torch's Adafactor ``eps[1]``).

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Raises:
      ValueError: If ``min_scale < 0``; in ``update``, if ``params`` is not given.

    Examples:
      >>> tx = gradtx.scale_by_param_block_rms()
      >>> tx.update(jnp.ones(2), tx.init(None), params=jnp.array([1.0, 7.0]))[0]
      Array([5., 5.], dtype=float32)

    .. note::
       Optax: ``optax.scale_by_param_block_rms(min_scale)``, same numbers.
    """
    checks.non_negative("min_scale", min_scale)

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        checks.params_given(params, "the parameter scale")

        def leaf(u: jax.Array, p: jax.Array) -> jax.Array:
            return u * jnp.maximum(min_scale, jnp.sqrt(jnp.mean(tree.abs_sq(p))))

        return tree.map_float(leaf, updates, params), state

    return GradientTransformation(init, update)


def _relative_step(learning_rate: ScalarOrSchedule) -> Callable[[jax.Array], jax.Array]:
    """The schedule ``min(1, 1 / (lr_t sqrt(t)))``: torch's ``min(lr_t, 1 / sqrt(t))`` divided by ``lr_t``."""

    def relative_step(count: jax.Array) -> jax.Array:
        rate = learning_rate(count) if callable(learning_rate) else learning_rate
        return jnp.minimum(1.0, 1.0 / (rate * jnp.sqrt(tree.float_count(count) + 1)))

    return relative_step


@transformation(needs_leaves=True)
def Adafactor(  # noqa: N802
    lr: ScalarOrSchedule = 1e-2,
    beta2_decay: float = -0.8,
    eps: tuple[float | None, float] = (None, 1e-3),
    d: float = 1.0,
    weight_decay: float = 0.0,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    weight_decay_mask: Mask | None = None,
) -> GradientTransformation:
    r"""``torch.optim.Adafactor``: factored second moments, relative steps, clipping.

    .. math::

       \rho_t = \min(\eta_t, 1/\sqrt{t}), \qquad
       p_t = p_{t-1} - \max(\epsilon_2, \operatorname{RMS}(p_{t-1}))\, \rho_t\, u_t
       - \eta_t \lambda p_{t-1}

    with :math:`u_t = \pm g_t / \max(\sqrt{\hat V_t}, \epsilon_1)` clipped to
    :math:`u_t / \max(1, \operatorname{RMS}(u_t)/d)` per leaf, where :math:`\hat V_t` is
    the row-times-column estimate :math:`R_t C_t / \max(\operatorname{mean}(R_t),
    \epsilon_1)` over the last two axes of a leaf with two or more dimensions (a full
    average otherwise), both decayed by :math:`\beta_{2,t} = 1 - t^{\tau}`.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule: the cap of the relative step and the
        factor of the weight decay.
      beta2_decay: :math:`\tau \le 0`; :math:`1 - t^{\tau}` is the second-moment decay.
      eps: :math:`(\epsilon_1, \epsilon_2)`: the floor in the RMS scaling (``None``: the
        machine epsilon of the params' dtype) and the floor of the params' RMS; both >= 0.
      d: :math:`d \ge 1`, the threshold of each leaf's update RMS; ``float("inf")`` does not clip.
      weight_decay: :math:`\lambda \ge 0`, decoupled and multiplied by :math:`\eta_t`.
      foreach: Accepted (a bool or ``None``) and ignored: XLA fuses the whole step.
      maximize: Ascend instead of descend.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all
        (a gradtx extension).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`); its ``update`` needs ``params``.

    Raises:
      ValueError: If ``lr``, ``eps[0]``, ``eps[1]`` or ``weight_decay`` is negative,
        ``beta2_decay > 0`` or ``d < 1``.
      TypeError: If ``eps`` is not a pair.

    Examples:
      >>> tx = gradtx.torch.Adafactor(lr=0.01)
      >>> p = jnp.array([[1.0, -1.0], [2.0, 0.5]])
      >>> tx.update(jnp.ones((2, 2)), tx.init(p), p)[0].round(4)
      Array([[-0.0125, -0.0125],
             [-0.0125, -0.0125]], dtype=float32)

    References:
      Shazeer and Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.

    .. note::
       PyTorch: ``torch.optim.Adafactor(params, lr, beta2_decay, eps, d, weight_decay,
       foreach=..., maximize=...)`` -> the same arguments without ``params``, same
       numbers. One difference: when ``eps[0]`` is ``None``, torch takes the machine
       epsilon of the *first* parameter's dtype for all of them, gradtx that of each
       leaf's dtype (the same when all params share a dtype). Optax: :func:`adafactor`
       is ``optax.adafactor``, a different algorithm.
    """
    checks.learning_rate(lr, "lr")
    if not isinstance(eps, tuple | list) or len(eps) != 2:
        raise TypeError(blame(f"`eps` must be a pair (eps1 or None, eps2), got eps={eps!r}"))
    eps1, eps2 = eps
    if eps1 is not None:
        checks.non_negative("eps[0]", eps1)
    checks.non_negative("eps[1]", eps2)
    checks.interval("d", d, 1.0, allow_inf=True)
    checks.boolean("maximize", maximize)
    torch_flags(foreach=foreach)
    scaling = chain(
        scale_by_torch_factored_rms(beta2_decay, eps1),
        # inf: torch divides by max(1, 0). A traced `d` (inject_hyperparams) is finite here.
        identity() if isinstance(d, int | float) and d == float("inf") else clip_by_block_rms(d),
        scale_by_param_block_rms(eps2),
        scale_by_schedule(_relative_step(lr)),
    )
    return descent(
        scaling,
        lr,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        decoupled=True,
        maximize=maximize,
    )

@transformation(needs_leaves=True)
def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: float = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: float | None = 1.0,
    momentum: float | None = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: ScalarOrSchedule | None = None,
    eps: float = 1e-30,
    factored: bool = True,
    weight_decay_mask: Mask | None = None,
) -> GradientTransformation:
    r"""Adafactor, as ``optax.adafactor``: factored second moments, clipping and relative steps.

    Memory-light adaptive steps for large models: a matrix keeps row and column averages
    of :math:`g^2` instead of a full second moment.

    .. math::

       u_t = -ig(\eta_t \max(10^{-3}, \operatorname{RMS}(p))\, \operatorname{clip}_d(\hat u_t)
       \ [	ext{ema}_\mu] + \lambda pig), \quad
       \operatorname{clip}_d(x) = x / \max(1, \operatorname{RMS}(x) / d)

    with :math:`\hat u_t` the output of :func:`scale_by_factored_rms`. Composition:
    ``chain(scale_by_factored_rms(factored, decay_rate, decay_offset,
    min_dim_size_to_factor, eps), [clip_by_block_rms(d)], [scale_by_learning_rate(η,
    flip_sign=False)], [scale_by_param_block_rms()], [ema(μ, debias=False,
    accumulator_dtype=dtype_momentum)], [add_decayed_weights(λ, weight_decay_mask)],
    scale(-1))``; bracketed parts are left out when their argument is ``None``/``False``.

    Args:
      learning_rate: :math:`\eta`: a number, a schedule, or ``None`` (no factor: the
        relative step alone).
      min_dim_size_to_factor: A leaf is factored when its two largest axes are at least
        this long.
      decay_rate: :math:`	au` of the second-moment decay :math:`1 - t^{-	au}`.
      decay_offset: Subtracted from the step count in that decay (for fine-tuning).
      multiply_by_parameter_scale: Scale by :math:`\max(10^{-3}, \operatorname{RMS}(p))`.
      clipping_threshold: :math:`d`, the largest RMS of a leaf's scaled update (``None``:
        no clipping).
      momentum: :math:`\mu`, a momentum on the steps (``None``: none).
      dtype_momentum: Storage dtype of that momentum.
      weight_decay_rate: :math:`\lambda`, added times the params after the learning rate
        (so not multiplied by it); ``None`` for none.
      eps: :math:`\epsilon`, added to :math:`g^2`.
      factored: Factor the leaves that qualify.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`). Its ``update`` needs ``params``
      when ``multiply_by_parameter_scale`` or ``weight_decay_rate`` is set.

    Raises:
      ValueError: If an argument is out of range.

    Examples:
      >>> tx = gradtx.adafactor(0.01)
      >>> p = jnp.array([[1.0, -1.0], [2.0, 0.5]])
      >>> tx.update(jnp.ones((2, 2)), tx.init(p), p)[0].round(4)
      Array([[-0.0125, -0.0125],
             [-0.0125, -0.0125]], dtype=float32)

    References:
      Shazeer and Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.

    .. note::
       Optax: ``optax.adafactor``, same arguments and numbers. PyTorch:
       ``torch.optim.Adafactor`` caps the relative step by :math:`1/\sqrt t`, multiplies the
       weight decay by the learning rate and factors every matrix: use
       :func:`gradtx.torch.Adafactor` for its numbers.
    """
    if learning_rate is not None:
        checks.learning_rate(learning_rate)
    checks.boolean("multiply_by_parameter_scale", multiply_by_parameter_scale)
    parts = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        parts.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        parts.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        parts.append(scale_by_param_block_rms())
    if momentum is not None:
        parts.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        parts.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    parts.append(scale(-1.0))
    return chain(*parts)
