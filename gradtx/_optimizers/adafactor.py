"""Adafactor: a factored second moment, relative step sizes and update clipping (torch's rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    active_path,
    blame,
    transformation,
)
from gradtx._core.combine import chain
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent
from gradtx._transforms.clip import clip_by_block_rms
from gradtx._transforms.scale import scale_by_schedule


class FactoredMoment(NamedTuple):
    """The second-moment estimate :func:`scale_by_factored_rms` keeps for one leaf ``p``."""

    row: jax.Array | None  # R_t: shape p.shape[:-1] + (1,) when p is factored, else None
    col: jax.Array | None  # C_t: shape p.shape[:-2] + (1, p.shape[-1]) when p is factored, else None
    full: jax.Array | None  # V_t: shaped like p when p is not factored, else None


class ScaleByFactoredRmsState(NamedTuple):
    """State of :func:`scale_by_factored_rms`."""

    count: jax.Array  # int32[]: updates applied so far
    nu: Updates  # one FactoredMoment per floating leaf, in the params' dtype (None for other leaves)


def _factored(shape: tuple[int, ...], min_dim_size_to_factor: int) -> bool:
    return len(shape) >= 2 and min(shape[-2:]) >= min_dim_size_to_factor


def _check_moment(nu: FactoredMoment, g: jax.Array) -> None:
    parts = [x for x in nu if x is not None]
    want = [g.shape[:-1] + (1,), g.shape[:-2] + (1, g.shape[-1])] if nu.full is None else [g.shape]
    if [tuple(x.shape) for x in parts] != want:
        raise ValueError(
            f"{active_path()}: the state does not match the updates (a second moment of shapes "
            f"{[tuple(x.shape) for x in parts]} meets an update of shape {tuple(g.shape)}). "
            "Was the state made by `init` for parameters with another structure or shape?"
        )


@transformation(needs_leaves=True)
def scale_by_factored_rms(
    beta2_decay: float = -0.8,
    eps: float | None = None,
    *,
    eps_root: float = 0.0,
    min_dim_size_to_factor: int = 1,
) -> GradientTransformation:
    r"""Divide by a factored root-mean-square estimate of the gradients, as torch's Adafactor.

    The scaling of :func:`adafactor`, which clips its output with :func:`clip_by_block_rms`.
    A leaf with two or more dimensions keeps only a row and a column average of
    :math:`g^2` over its last two axes (memory :math:`n + m` instead of :math:`nm`); other
    leaves keep a full average.

    .. math::

       \beta_{2,t} = 1 - t^{\tau}, \quad
       R_t = \beta_{2,t} R_{t-1} + (1 - \beta_{2,t}) \operatorname{mean}_{\text{cols}}(g_t^2), \quad
       C_t = \beta_{2,t} C_{t-1} + (1 - \beta_{2,t}) \operatorname{mean}_{\text{rows}}(g_t^2) \\
       \hat V_t = R_t C_t / \max(\operatorname{mean}(R_t), \epsilon_1) \ \text{(factored) or }
       \beta_{2,t} \hat V_{t-1} + (1 - \beta_{2,t}) g_t^2 \\
       u_t = g_t / \max(\sqrt{\hat V_t}, \epsilon_1)

    Args:
      beta2_decay: :math:`\tau \le 0`, the exponent of the second-moment decay schedule.
      eps: :math:`\epsilon_1 \ge 0`, the floor of the row mean and of the root;
        ``None`` is the machine epsilon of each leaf's params' dtype (torch's default).
      eps_root: Added to :math:`g_t^2` before averaging (Optax's ``epsilon``; 0 in torch).
      min_dim_size_to_factor: A leaf is factored when it has two or more dimensions and
        its last two are at least this long (1, torch: every leaf with ``ndim >= 2``).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByFactoredRmsState`.

    Raises:
      ValueError: If ``beta2_decay > 0``, ``eps < 0``, ``eps_root < 0`` or
        ``min_dim_size_to_factor < 1``; in ``update``, if the state was made for other shapes.
      TypeError: If ``min_dim_size_to_factor`` is not an integer.

    Examples:
      >>> tx = gradtx.scale_by_factored_rms()
      >>> u, state = tx.update(jnp.array([[3.0, 0.0], [0.0, 4.0]]), tx.init(jnp.zeros((2, 2))))
      >>> u.round(3)
      Array([[1.667, 0.   ],
             [0.   , 1.25 ]], dtype=float32)
      >>> jax.tree.map(jnp.shape, state.nu)
      FactoredMoment(row=(2, 1), col=(1, 2), full=None)

    References:
      Shazeer and Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.

    .. note::
       PyTorch: the scaling of ``torch.optim.Adafactor`` before its clipping by ``d``;
       ``eps`` is its ``eps[0]``. Optax: ``optax.scale_by_factored_rms`` adds
       ``epsilon=1e-30`` to :math:`g^2` instead of flooring with :math:`\epsilon_1`,
       factors the *two largest* axes and only when both are at least
       ``min_dim_size_to_factor=128`` long, and computes its decay in float32. For leaves
       of at most two dimensions, ``scale_by_factored_rms(-decay_rate, eps=0.0,
       eps_root=epsilon, min_dim_size_to_factor=...)`` is Optax's.
    """
    checks.interval("beta2_decay", beta2_decay, high=0.0)
    if eps is not None:
        checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.integer("min_dim_size_to_factor", min_dim_size_to_factor, 1)

    def init(params: Params) -> ScaleByFactoredRmsState:
        def moment(p: Any) -> FactoredMoment | None:
            if not tree.is_float(p):
                return tree.zeros_like(p)  # None for an integer leaf; raises for a complex one
            if _factored(tuple(p.shape), min_dim_size_to_factor):
                zeros = tree.zeros_like(p)  # sharded like p: its sums are sharded like p's row and column sums
                row, col = jnp.sum(zeros, -1, keepdims=True), jnp.sum(zeros, -2, keepdims=True)
                return FactoredMoment(row, col, None)
            return FactoredMoment(None, None, tree.zeros_like(p))

        return ScaleByFactoredRmsState(tree.zero_count(params), jax.tree.map(moment, params))

    def update(
        updates: Updates, state: ScaleByFactoredRmsState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByFactoredRmsState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        weight = tree.float_count(count) ** beta2_decay  # 1 - beta2_t

        def leaf(g, nu):
            # `nu` is a FactoredMoment: map_unzip hands it over whole, in its storage dtype.
            _check_moment(nu, g)
            store = next(x.dtype for x in nu if x is not None)
            dtype = tree.compute_dtype(g.dtype, store)
            e1 = jnp.asarray(jnp.finfo(store).eps if eps is None else eps, dtype)
            g, w = g.astype(dtype), weight.astype(dtype)
            g2 = jnp.square(g) + eps_root
            if nu.full is None:
                row = nu.row.astype(dtype) + w * (jnp.mean(g2, axis=-1, keepdims=True) - nu.row.astype(dtype))
                col = nu.col.astype(dtype) + w * (jnp.mean(g2, axis=-2, keepdims=True) - nu.col.astype(dtype))
                v = row * col / jnp.maximum(jnp.mean(row, axis=-2, keepdims=True), e1)
                nu = FactoredMoment(row.astype(store), col.astype(store), None)
            else:
                v = nu.full.astype(dtype) + w * (g2 - nu.full.astype(dtype))
                nu = FactoredMoment(None, None, v.astype(store))
            return g * jax.lax.rsqrt(jnp.maximum(v, e1 * e1)), nu

        updates, nu = tree.map_unzip(leaf, updates, state.nu)
        return updates, ScaleByFactoredRmsState(count, nu)

    return GradientTransformation(init, update)


@transformation(needs_leaves=True)
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

        def leaf(u, p):
            return u * jnp.maximum(min_scale, jnp.sqrt(jnp.mean(jnp.square(p))))

        return tree.map_float(leaf, updates, params), state

    return GradientTransformation(init, update)


def _relative_step(learning_rate: ScalarOrSchedule) -> Callable[[jax.Array], jax.Array]:
    """The schedule ``min(1, 1 / (lr_t sqrt(t)))``: torch's ``min(lr_t, 1 / sqrt(t))`` divided by ``lr_t``."""

    def relative_step(count: jax.Array) -> jax.Array:
        rate = learning_rate(count) if callable(learning_rate) else learning_rate
        return jnp.minimum(1.0, 1.0 / (rate * jnp.sqrt(tree.float_count(count) + 1)))

    return relative_step


@transformation(needs_leaves=True)
def adafactor(
    learning_rate: ScalarOrSchedule = 1e-2,
    beta2_decay: float = -0.8,
    eps: tuple[float | None, float] = (None, 1e-3),
    d: float = 1.0,
    weight_decay: float = 0.0,
    *,
    weight_decay_mask: Mask | None = None,
    maximize: bool = False,
) -> GradientTransformation:
    r"""Adafactor, as ``torch.optim.Adafactor``: factored second moments, relative steps, clipping.

    .. math::

       \rho_t = \min(\eta_t, 1/\sqrt{t}), \qquad
       p_t = p_{t-1} - \max(\epsilon_2, \operatorname{RMS}(p_{t-1}))\, \rho_t\, u_t
       - \eta_t \lambda p_{t-1}

    with :math:`u_t` the factored-RMS-scaled :math:`\pm g_t` of :func:`scale_by_factored_rms`
    clipped to :math:`u_t / \max(1, \operatorname{RMS}(u_t)/d)` per leaf.

    Composition: ``chain([scale(-1)], scale_by_factored_rms(τ, ε1), clip_by_block_rms(d),
    scale_by_param_block_rms(ε2), scale_by_schedule(min(1, 1/(η_t √t))),
    [add_decayed_weights(λ)], scale_by_learning_rate(η))``: the relative step is written as
    :math:`\eta_t \min(1, 1/(\eta_t\sqrt t))` so that the learning rate comes last.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule: the cap of the relative
        step and the factor of the weight decay.
      beta2_decay: :math:`\tau \le 0`; :math:`1 - t^{\tau}` is the second-moment decay.
      eps: :math:`(\epsilon_1, \epsilon_2)`: the floor in the RMS scaling (``None``: the
        machine epsilon of the params' dtype) and the floor of the params' RMS; both >= 0.
      d: :math:`d \ge 1`, the threshold of each leaf's update RMS; ``float("inf")`` does not clip.
      weight_decay: :math:`\lambda \ge 0`, decoupled and multiplied by :math:`\eta_t`.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      maximize: Ascend instead of descend.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate``, ``eps[0]``, ``eps[1]`` or ``weight_decay`` is
        negative, ``beta2_decay > 0`` or ``d < 1``.
      TypeError: If ``eps`` is not a pair.

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
       PyTorch: ``torch.optim.Adafactor(lr, beta2_decay, eps, d, weight_decay,
       maximize=...)`` -> the same arguments with ``learning_rate``, same numbers. One
       difference: when ``eps[0]`` is ``None``, torch takes the machine epsilon of the
       *first* parameter's dtype for all of them, gradtx that of each leaf's dtype (the same
       when all params share a dtype). Optax: ``optax.adafactor`` has a different algorithm
       (no :math:`1/\sqrt t` cap, learning rate as a plain factor, weight decay not
       multiplied by it, factoring only of large axes; see :func:`scale_by_factored_rms`).
       Its default variant is ``chain(scale_by_factored_rms(-0.8, eps=0.0,
       eps_root=1e-30, min_dim_size_to_factor=128), clip_by_block_rms(1.0),
       scale_by_param_block_rms(1e-3), scale_by_learning_rate(η))`` for leaves of at most
       two dimensions.
    """
    checks.learning_rate(learning_rate)
    if not isinstance(eps, tuple | list) or len(eps) != 2:
        raise TypeError(blame(f"`eps` must be a pair (eps1 or None, eps2), got eps={eps!r}"))
    eps1, eps2 = eps
    if eps1 is not None:
        checks.non_negative("eps[0]", eps1)
    checks.non_negative("eps[1]", eps2)
    checks.interval("d", d, 1.0)
    checks.boolean("maximize", maximize)
    scaling = chain(
        scale_by_factored_rms(beta2_decay, eps1),
        clip_by_block_rms(d),
        scale_by_param_block_rms(eps2),
        scale_by_schedule(_relative_step(learning_rate)),
    )
    return descent(
        scaling,
        learning_rate,
        weight_decay=weight_decay,
        weight_decay_mask=weight_decay_mask,
        decoupled=True,
        maximize=maximize,
    )
