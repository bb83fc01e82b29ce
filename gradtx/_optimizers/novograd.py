"""NovoGrad: momentum over gradients normalised by a per-leaf (layer-wise) second moment."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, flat, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    transformation,
)
from gradtx._core.combine import chain
from gradtx._core.paths import Mask, resolve_mask
from gradtx._transforms.layerwise import check_axis_name
from gradtx._transforms.scale import scale_by_learning_rate


class ScaleByNovogradState(NamedTuple):
    """State of :func:`scale_by_novograd`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, first moment: shaped like the params, in `mu_dtype` (default: the params')
    nu: Updates  # v_t, per leaf one scalar (the leaf's second moment), in the params' dtype; on
    # FlatParams, a FlatParams whose buckets hold one value per leaf of the original tree


def _is_none(x: Any) -> bool:
    return x is None


@transformation(complex_params="native")
def scale_by_novograd(
    b1: float = 0.9,
    b2: float = 0.25,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    mu_dtype: Any = None,
    *,
    weight_decay_mask: Mask | None = None,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""Rescale updates by NovoGrad's layer-wise moments.

    The scaling of :func:`novograd`. The second moment is one number per leaf (the
    average squared norm of its gradient), so the state is half of Adam's.

    .. math::

       v_1 = \|g_1\|^2, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) \|g_t\|^2 \ \text{(per leaf)} \\
       m_t = \beta_1 m_{t-1} + \frac{g_t}{\sqrt{v_t + \epsilon_{root}} + \epsilon} + \lambda p_{t-1},
       \quad m_0 = 0, \qquad u_t = m_t

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment (not dampened).
      b2: :math:`\beta_2 \in [0, 1)`, decay of the per-leaf second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      weight_decay: :math:`\lambda \ge 0`, added inside the momentum (needs ``params``).
      mu_dtype: Storage dtype of :math:`m`; ``None`` keeps the params' dtype.
      weight_decay_mask: Which leaves to decay (a mask, see :func:`masked`); ``None`` for all.
      axis_name: The ``shard_map`` axis along which leaves are split; the squared norms are
        summed over it, so :math:`v_t` is the whole leaf's.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByNovogradState`.

    Raises:
      ValueError: If an argument is out of range; in ``update``, if ``weight_decay`` is set
        and ``params`` is not given.

    Examples:
      >>> tx = gradtx.scale_by_novograd()
      >>> tx.update(jnp.array([3.0, -4.0]), tx.init(jnp.zeros(2)))[0]
      Array([ 0.6, -0.8], dtype=float32)

    References:
      Ginsburg et al., `Stochastic Gradient Methods with Layer-wise Adaptive Moments for
      Training of Deep Networks <https://arxiv.org/abs/1905.11286>`_, 2019.

    .. note::
       Optax: ``optax.scale_by_novograd(b1, b2, eps, eps_root, weight_decay, mu_dtype)``,
       same numbers. With a narrower ``mu_dtype`` Optax returns :math:`m_t` rounded to
       that dtype; gradtx stores it rounded but returns the update at full precision.
       ``weight_decay_mask`` and ``axis_name`` are gradtx's additions.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.non_negative("weight_decay", weight_decay)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    check_axis_name(axis_name)
    decays = not checks.is_static_zero(weight_decay)

    def scalar_zero(p: Any) -> Any:
        # a real scalar per leaf (the mean |g|^2), also for complex leaves
        return tree.replicated_like(p, jnp.zeros([], tree.real_dtype(p.dtype))) if tree.is_float(p) else None

    def init(params: Params) -> ScaleByNovogradState:
        if isinstance(params, flat.FlatParams):  # one value per leaf of each bucket
            nu = flat.map_per_leaf(lambda b, *, sizes: jnp.zeros((len(sizes),), b.dtype), scalar_zero, params)
        else:
            nu = jax.tree.map(scalar_zero, params, is_leaf=_is_none)
        return ScaleByNovogradState(tree.zero_count(params), tree.zeros_like(params, mu_dtype), nu)

    def update(
        updates: Updates, state: ScaleByNovogradState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByNovogradState]:
        del extra_args
        first = state.count == 0

        def second_moment(s: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
            return s, jnp.where(first, s, b2 * v + (1 - b2) * s)

        _, nu = tree.map_unzip(second_moment, flat.leaf_sums_of_squares(updates, axis_name), state.nu)
        if isinstance(updates, flat.FlatParams):
            # g / (sqrt(v + eps_root) + eps) per leaf of each bucket, by static segment ids; the rule
            # below then reads a denominator of 1.
            inverse = jax.tree.map(lambda v: 1 / (jnp.sqrt(v + eps_root) + eps), nu)
            updates = flat.leaf_scale(updates, inverse)
            nu_wide = jax.tree.map(lambda u: jnp.ones_like(u), updates)
            root, offset = 0.0, 0.0
        else:
            # The per-leaf scalar, broadcast (free under jit) so the elementwise rule can read it.
            nu_wide = jax.tree.map(
                lambda u, v: None if v is None else jnp.broadcast_to(v, u.shape), updates, nu, is_leaf=_is_none
            )
            root, offset = eps_root, eps
        if decays:
            checks.params_given(params, "weight decay")
            leaves, treedef = jax.tree.flatten(updates, is_leaf=_is_none)
            keep = [True] * len(leaves) if weight_decay_mask is None else resolve_mask(
                "scale_by_novograd", weight_decay_mask, updates
            )

            def leaf_decayed(  # `decayed`: a Python bool from the mask
                g: jax.Array, m: jax.Array, v: jax.Array, p: jax.Array, decayed: bool
            ) -> tuple[jax.Array, jax.Array]:
                step = g / (jnp.sqrt(v + root) + offset)
                m = b1 * m + (step + weight_decay * p if decayed else step)
                return m, m

            updates, mu = tree.map_unzip(
                leaf_decayed, updates, state.mu, nu_wide, params, jax.tree.unflatten(treedef, keep)
            )
        else:

            def leaf(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
                m = b1 * m + g / (jnp.sqrt(v + root) + offset)
                return m, m

            updates, mu = tree.map_unzip(leaf, updates, state.mu, nu_wide)
        return updates, ScaleByNovogradState(tree.safe_increment(state.count), mu, nu)

    return GradientTransformation(init, update)


@transformation
def novograd(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.25,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    *,
    weight_decay_mask: Mask | None = None,
    axis_name: Any = None,
) -> GradientTransformation:
    r"""NovoGrad, with Optax's arguments, defaults and numbers.

    Robust to the learning rate and to initialization (it trains without warm-up) and
    stores one second-moment number per leaf; made for speech (Jasper) and large batches.

    .. math::

       p_t = p_{t-1} - \eta_t m_t, \qquad
       m_t = \beta_1 m_{t-1} + \frac{g_t}{\sqrt{v_t + \epsilon_{root}} + \epsilon} + \lambda p_{t-1}

    with :math:`v_t` the per-leaf average squared gradient norm of :func:`scale_by_novograd`.

    Composition: ``chain(scale_by_novograd(b1, b2, eps, eps_root, weight_decay),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the per-leaf second moment.
      eps: :math:`\epsilon \ge 0`, added to the denominator.
      eps_root: :math:`\epsilon_{root} \ge 0`, added inside the square root.
      weight_decay: :math:`\lambda \ge 0`, added inside the momentum.
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None`` for all.
      axis_name: The ``shard_map`` axis along which leaves are split (whole-leaf norms).

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.novograd(0.5)  # the first step is -η g / ‖g‖
      >>> tx.update(jnp.array([-2.0]), tx.init(jnp.zeros(1)))[0].round(4)
      Array([0.5], dtype=float32)

    References:
      Ginsburg et al., `Stochastic Gradient Methods with Layer-wise Adaptive Moments for
      Training of Deep Networks <https://arxiv.org/abs/1905.11286>`_, 2019.
      Li et al., `Jasper: An End-to-End Convolutional Neural Acoustic Model
      <https://arxiv.org/abs/1904.03288>`_, 2019.

    .. note::
       Optax: ``optax.novograd(learning_rate, b1, b2, eps, eps_root, weight_decay)``, same
       arguments, defaults and numbers (the alias's ``eps=1e-6`` differs from the block's
       ``1e-8``, as in Optax). ``weight_decay_mask`` and ``axis_name`` are gradtx's additions.
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_novograd(
            b1, b2, eps, eps_root, weight_decay, weight_decay_mask=weight_decay_mask, axis_name=axis_name
        ),
        scale_by_learning_rate(learning_rate),
    )
