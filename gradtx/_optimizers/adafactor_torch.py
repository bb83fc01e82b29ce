"""torch.optim.Adafactor's factored second moment, for :func:`gradtx.torch.Adafactor`."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, Updates, active_path, transformation


class FactoredMoment(NamedTuple):
    """The second-moment estimate :func:`gradtx.torch.Adafactor` keeps for one leaf ``p``."""

    row: jax.Array | None  # R_t: shape p.shape[:-1] + (1,) when p is factored, else None
    col: jax.Array | None  # C_t: shape p.shape[:-2] + (1, p.shape[-1]) when p is factored, else None
    full: jax.Array | None  # V_t: shaped like p when p is not factored, else None


class ScaleByFactoredRmsState(NamedTuple):
    """State of the factored scaling of :func:`gradtx.torch.Adafactor`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
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
def scale_by_torch_factored_rms(
    beta2_decay: float = -0.8,
    eps: float | None = None,
    *,
    eps_root: float = 0.0,
    min_dim_size_to_factor: int = 1,
) -> GradientTransformation:
    r"""Divide by a factored root-mean-square estimate of the gradients, as torch's Adafactor.

    The scaling of :func:`gradtx.torch.Adafactor`, which clips its output with
    :func:`clip_by_block_rms`. (Private: Optax's rule is :func:`scale_by_factored_rms`.)
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

    References:
      Shazeer and Stern, `Adafactor: Adaptive Learning Rates with Sublinear Memory Cost
      <https://arxiv.org/abs/1804.04235>`_, 2018.

    .. note::
       PyTorch: the scaling of ``torch.optim.Adafactor`` before its clipping by ``d``;
       ``eps`` is its ``eps[0]``. Optax's rule is :func:`scale_by_factored_rms`.
    """
    checks.interval("beta2_decay", beta2_decay, high=0.0)
    if eps is not None:
        checks.non_negative("eps", eps)
    checks.non_negative("eps_root", eps_root)
    checks.integer("min_dim_size_to_factor", min_dim_size_to_factor, 1)

    def init(params: Params) -> ScaleByFactoredRmsState:
        def moment(p: Any) -> FactoredMoment | None:
            if not tree.is_float(p):
                empty: None = tree.zeros_like(p)  # None for an integer leaf; raises for a complex one
                return empty
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

        def leaf(g: jax.Array, nu: FactoredMoment) -> tuple[jax.Array, FactoredMoment]:
            # `nu` is a FactoredMoment: map_unzip hands it over whole, in its storage dtype.
            _check_moment(nu, g)
            store = next(x.dtype for x in nu if x is not None)
            dtype = tree.compute_dtype(g.dtype, store)
            e1 = jnp.asarray(jnp.finfo(store).eps if eps is None else eps, dtype)
            g, w = g.astype(dtype), weight.astype(dtype)
            g2 = jnp.square(g) + eps_root
            if nu.full is None:
                assert nu.row is not None and nu.col is not None  # _check_moment: a factored moment has both
                row = nu.row.astype(dtype) + w * (jnp.mean(g2, axis=-1, keepdims=True) - nu.row.astype(dtype))
                col = nu.col.astype(dtype) + w * (jnp.mean(g2, axis=-2, keepdims=True) - nu.col.astype(dtype))
                v = row * col / jnp.maximum(jnp.mean(row, axis=-2, keepdims=True), e1)
                nu = FactoredMoment(row.astype(store), col.astype(store), None)
            else:
                v = nu.full.astype(dtype) + w * (g2 - nu.full.astype(dtype))
                nu = FactoredMoment(None, None, v.astype(store))
            return g * jax.lax.rsqrt(jnp.maximum(v, e1 * e1)), nu

        updates, nu = tree.map_unzip(leaf, updates, state.nu, outputs=2)
        return updates, ScaleByFactoredRmsState(count, nu)

    return GradientTransformation(init, update)


