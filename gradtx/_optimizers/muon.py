"""Muon: Optax's ``optax.contrib.scale_by_muon`` and ``muon``, and torch's ``Muon`` (in muon_torch.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gradtx._core import checks, tree
from gradtx._core.base import (
    EmptyState,
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    active_path,
    transformation,
)
from gradtx._core.combine import MaskedNode, chain, partition
from gradtx._core.paths import Mask
from gradtx._optimizers.adam import adamw
from gradtx._optimizers.muon_torch import Muon as Muon
from gradtx._optimizers.muon_torch import _whole
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate

_PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")
_STANDARD = (3.4445, -4.7750, 2.0315)
_PRESETS = {
    "standard": _STANDARD,
    "dion": (
        (4.0848, -6.8946, 2.9270),
        (3.9505, -6.3029, 2.6377),
        (3.7418, -5.5913, 2.3037),
        (2.8769, -3.1427, 1.2046),
        (2.8366, -3.0525, 1.2012),
    ),
}


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a leaf are the matrix's rows (``reduction_axis``) and columns (``output_axis``).

    The remaining axes are batch axes: each slice along them is orthogonalized on its own.
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


class MuonState(NamedTuple):
    """State of :func:`scale_by_muon`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # the momentum, shaped like the params, in mu_dtype (or theirs)
    ns_coeffs: jax.Array  # float[3] or float[n, 3]: the Newton-Schulz coefficients used


def _is_dims(x: Any) -> bool:
    return isinstance(x, MuonDimensionNumbers)


def _is_slot(x: Any) -> bool:
    """A leaf position of an updates tree: an array, ``None``, or a leaf :func:`partition` hides."""
    return x is None or isinstance(x, MaskedNode)


def _axes(x: jax.Array, dims: MuonDimensionNumbers) -> tuple[tuple[int, ...], tuple[int, ...]]:
    def norm(a: Sequence[int] | int) -> tuple[int, ...]:
        return tuple(i % x.ndim for i in ((a,) if isinstance(a, int) else a))

    return norm(dims.reduction_axis), norm(dims.output_axis)


def _fans(x: jax.Array, dims: MuonDimensionNumbers) -> tuple[int, int]:
    rows, cols = _axes(x, dims)
    return math.prod(x.shape[i] for i in rows), math.prod(x.shape[i] for i in cols)


def _as_matrices(x: jax.Array, dims: MuonDimensionNumbers) -> tuple[jax.Array, Callable[[jax.Array], jax.Array]]:
    """``x`` as a stack of (rows, cols) matrices, and the way back."""
    if x.ndim < 2:
        raise ValueError(f"scale_by_muon: Muon needs leaves of rank >= 2, got a leaf of shape {tuple(x.shape)}.")
    rows, cols = _axes(x, dims)
    if set(rows) & set(cols):
        raise ValueError(f"scale_by_muon: reduction and output axes must be disjoint, got {dims} for shape {x.shape}.")
    batch = tuple(sorted(set(range(x.ndim)) - set(rows) - set(cols)))
    order = batch + rows + cols
    shape = tuple(x.shape[i] for i in order)
    flat = (math.prod(shape[: len(batch)]), math.prod(x.shape[i] for i in rows), math.prod(x.shape[i] for i in cols))
    inverse = tuple(sorted(range(x.ndim), key=lambda i: order[i]))
    return x.transpose(order).reshape(flat), lambda y: y.reshape(shape).transpose(inverse)


def _ns_step(x: jax.Array, c: jax.Array) -> jax.Array:
    a = x @ x.T
    return c[0] * x + (c[1] * a + c[2] * a @ a) @ x


def _ns_first_step(x: jax.Array, c: jax.Array, preconditioning: str, eps: float = 1e-8) -> jax.Array:
    """The first iteration of the "aol" and "schatten" variants, which rescale ``x`` by its Gram matrix."""
    a = x @ x.T
    if preconditioning == "aol":
        s = jnp.expand_dims(lax.rsqrt(jnp.clip(jnp.abs(a).sum(axis=-1), min=eps)), -1)
        x, a = x * s, a * s * s.transpose(-1, -2)
    else:
        s = jnp.expand_dims(lax.rsqrt(jnp.clip(jnp.linalg.norm(a, ord="fro", axis=(-2, -1)), min=eps)), (0, -1))
        x, a = x * s, a * s**2
    return c[0] * x + (c[1] * a + c[2] * a @ a) @ x


def _orthogonalize(x: jax.Array, coeffs: jax.Array, steps: int, preconditioning: str, eps: float) -> jax.Array:
    """Newton–Schulz on one matrix (wide orientation), Optax's iteration."""
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    if preconditioning == "frobenius":
        x = x / (jnp.linalg.norm(x, ord="fro") + eps)
    elif preconditioning == "spectral":
        x = x / (jnp.linalg.norm(x, ord=2) + eps)
    coeffs = coeffs.astype(x.dtype)
    rows = [coeffs] * steps if coeffs.ndim == 1 else [coeffs[i] for i in range(coeffs.shape[0])]
    for i, c in enumerate(rows):
        x = _ns_first_step(x, c, preconditioning) if i == 0 and preconditioning in ("aol", "schatten") else _ns_step(x, c)
    return x.T if tall else x


def _resolve(dims: Any, updates: Updates) -> Any:
    dims = dims(updates) if callable(dims) else dims
    if dims is None:
        return jax.tree.map(lambda _: MuonDimensionNumbers(), updates)
    if _is_dims(dims):
        return jax.tree.map(lambda _: dims, updates)
    return dims


@transformation(needs_leaves=True)
def scale_by_muon(
    ns_coeffs: Any = _STANDARD,
    ns_steps: int = 5,
    beta: float = 0.95,
    eps: float = 1e-8,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    weight_dimension_numbers: Any = None,
) -> GradientTransformation:
    r"""Orthogonalize a debiased momentum by Newton–Schulz iterations (Muon's scaling, Optax's rule).

    .. math::

       m_t = \beta m_{t-1} + (1 - \beta) g_t, \quad
       \hat m_t = \beta \frac{m_t}{1 - \beta^{t+1}} + (1 - \beta) \frac{g_t}{1 - \beta^t}
       \ \text{(nesterov) or } \frac{m_t}{1 - \beta^t} \\
       X_0 = \hat m_t / (\|\hat m_t\|_F + \epsilon), \quad
       X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \ A_k = X_k X_k^\top, \quad u_t = X_K
       \ [\times \langle \hat m_t, X_K \rangle \text{ (adaptive)}]

    Args:
      ns_coeffs: :math:`(a, b, c)`, or one triple per iteration (the last ``ns_steps``
        rows are used).
      ns_steps: :math:`K`, the number of iterations.
      beta: :math:`\beta`, the momentum decay.
      eps: :math:`\epsilon`, added to the norm.
      mu_dtype: Storage dtype of the momentum (``None``: the params').
      nesterov: Use the Nesterov form of the momentum.
      adaptive: Multiply by :math:`\langle \hat m_t, X_K \rangle` (scale-aware Muon).
      preconditioning: ``"frobenius"`` (divide by the Frobenius norm), ``"spectral"``
        (by the spectral norm), ``"aol"`` or ``"schatten"`` (rescale in the first
        iteration).
      weight_dimension_numbers: A :class:`MuonDimensionNumbers` for every leaf, a tree of
        them, or a callable ``updates -> tree``; ``None`` treats every leaf as a matrix
        (rows, columns) = (axis 0, axis 1).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MuonState`.

    Raises:
      ValueError: If ``ns_coeffs`` has the wrong shape, ``preconditioning`` is unknown or
        an argument is out of range; in ``update``, for a leaf of rank < 2.

    Examples:
      >>> tx = gradtx.scale_by_muon()
      >>> u, _ = tx.update(jnp.eye(2), tx.init(jnp.zeros((2, 2))))
      >>> u.round(2)
      Array([[1.11, 0.  ],
             [0.  , 1.11]], dtype=float32)

    References:
      Jordan et al., `Muon: An optimizer for hidden layers in neural networks
      <https://kellerjordan.github.io/posts/muon/>`_, 2024.

    .. note::
       Optax: ``optax.contrib.scale_by_muon``, same arguments, state and numbers.
       PyTorch: ``torch.optim.Muon`` does not debias and runs in bfloat16: see
       :func:`gradtx.torch.Muon`.
    """
    coeffs = np.asarray(_PRESETS.get(ns_coeffs, ns_coeffs) if isinstance(ns_coeffs, str) else ns_coeffs)
    if coeffs.ndim not in (1, 2) or coeffs.shape[-1] != 3:
        raise ValueError(f"scale_by_muon: `ns_coeffs` must have shape (3,) or (n, 3), got {coeffs.shape}.")
    checks.integer("ns_steps", ns_steps, 0)
    if coeffs.ndim == 2:
        if coeffs.shape[0] < ns_steps:
            raise ValueError(f"scale_by_muon: {coeffs.shape[0]} rows of `ns_coeffs` cannot make {ns_steps} steps.")
        coeffs = coeffs[-ns_steps:] if ns_steps else coeffs[:0]
    checks.interval("beta", beta, 0.0, 1.0)
    checks.non_negative("eps", eps)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.boolean("nesterov", nesterov)
    checks.boolean("adaptive", adaptive)
    checks.one_of("preconditioning", preconditioning, _PRECONDITIONINGS)

    def init(params: Params) -> MuonState:
        # Made here, not at construction, so that it takes the default float dtype in force (as Optax's).
        return MuonState(
            tree.zero_count(params), tree.zeros_like(params, mu_dtype), tree.replicated_like(params, jnp.asarray(coeffs))
        )

    def update(
        updates: Updates, state: MuonState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MuonState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        dims = _resolve(weight_dimension_numbers, updates)
        leaves, treedef = jax.tree.flatten(updates, is_leaf=_is_slot)
        mus = tree.flatten_up_to(treedef, state.mu)
        dim_leaves = tree.flatten_up_to(treedef, dims)
        out, new_mu = list(leaves), list(mus)
        for i, (g, m, d) in enumerate(zip(leaves, mus, dim_leaves)):
            if not tree.is_float(g) or d is None:
                continue
            if getattr(m, "shape", None) != g.shape:
                raise ValueError(
                    f"{active_path()}: the state does not match the updates (a momentum of shape "
                    f"{tuple(getattr(m, 'shape', ()))} meets an update of shape {tuple(g.shape)}). Was the state "
                    "made by `init` for parameters with another structure or shape?"
                )
            dtype = tree.compute_dtype(g.dtype, m.dtype)
            x, mu = g.astype(dtype), (1 - beta) * g.astype(dtype) + beta * m.astype(dtype)

            def debiased(v: jax.Array, n: jax.Array) -> jax.Array:
                return v / (1 - beta ** n.astype(dtype)).astype(dtype)

            if nesterov:
                direction = beta * debiased(mu, tree.safe_increment(count)) + (1 - beta) * debiased(x, count)
            else:
                direction = debiased(mu, count)
            whole, shard_back = _whole(direction)  # gathered if split over Explicit mesh axes
            matrices, back = _as_matrices(whole, d)
            ortho = back(jax.vmap(lambda y: _orthogonalize(y, state.ns_coeffs, ns_steps, preconditioning, eps))(matrices))
            ortho = shard_back(ortho)
            if adaptive:
                ortho = jnp.sum(direction * ortho) * ortho
            out[i], new_mu[i] = ortho.astype(g.dtype), mu.astype(m.dtype)
        return jax.tree.unflatten(treedef, out), MuonState(count, jax.tree.unflatten(treedef, new_mu), state.ns_coeffs)

    return GradientTransformation(init, update)


@transformation(needs_leaves=True)
def scale_by_shape(weight_dimension_numbers: Any = None, consistent_rms: float | None = None) -> GradientTransformation:
    r"""Scale each matrix by :math:`\sqrt{\max(1, n_{out}/n_{in})}`, or to an RMS of ``consistent_rms``.

    Muon's width transfer: :func:`muon` chains it after :func:`scale_by_muon`.

    Args:
      weight_dimension_numbers: As in :func:`scale_by_muon` (``None``: rows = axis 0).
      consistent_rms: If given, scale by :math:`\sqrt{\max(n_{in}, n_{out})}` times it
        instead.

    Returns:
      A :class:`GradientTransformation` that keeps no state.

    Examples:
      >>> gradtx.scale_by_shape().update(jnp.ones((1, 4)), EmptyState())[0]
      Array([[2., 2., 2., 2.]], dtype=float32)

    .. note::
       Optax: ``optax.contrib.scale_by_shape``, same arguments and numbers.
    """
    if consistent_rms is not None:
        checks.non_negative("consistent_rms", consistent_rms)

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        dims = _resolve(weight_dimension_numbers, updates)

        def leaf(u: Any, d: Any) -> Any:
            if d is None or not tree.is_float(u):
                return u
            fan_in, fan_out = _fans(u, d)
            if consistent_rms is not None:
                return jnp.sqrt(jnp.maximum(fan_in, fan_out)) * consistent_rms * u
            return jnp.sqrt(jnp.maximum(1, fan_out / fan_in)) * u

        return jax.tree.map(leaf, updates, dims, is_leaf=_is_slot), state

    return GradientTransformation(lambda params: EmptyState(), update)


@transformation(needs_leaves=True)
def muon(
    learning_rate: ScalarOrSchedule,
    ns_coeffs: Any = _STANDARD,
    ns_steps: int = 5,
    beta: float = 0.95,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    weight_decay_mask: Mask | None = None,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    adam_b1: float = 0.9,
    adam_b2: float = 0.999,
    adam_eps_root: float = 0.0,
    adam_weight_decay: float = 0.0,
    adam_learning_rate: ScalarOrSchedule | None = None,
    muon_weight_dimension_numbers: Any = None,
    consistent_rms: float | None = None,
) -> GradientTransformation:
    r"""Muon on the matrices and AdamW on the other leaves, as ``optax.contrib.muon``.

    Composition: ``partition({"muon": chain(scale_by_muon(ns_coeffs, ns_steps, beta, eps,
    mu_dtype, ...), scale_by_shape(dims, consistent_rms), add_decayed_weights(weight_decay,
    mask=weight_decay_mask), scale_by_learning_rate(learning_rate)), "adam":
    adamw(adam_learning_rate or learning_rate, adam_b1, adam_b2, eps, adam_eps_root,
    mu_dtype, adam_weight_decay, nesterov=nesterov)}, labels)``: a leaf goes to Muon when
    it is 2-D (``muon_weight_dimension_numbers=None``) or has dimension numbers.

    Args:
      learning_rate: :math:`\eta`, a number or a schedule.
      ns_coeffs: Newton–Schulz coefficients: a triple, one triple per step, or a preset
        name (``"standard"``, ``"dion"``).
      ns_steps: Newton–Schulz iterations.
      beta: Momentum decay (Muon), and AdamW's is ``adam_b1``.
      eps: Added to the norm in Muon, and AdamW's epsilon.
      weight_decay: Decoupled weight decay of the Muon leaves.
      weight_decay_mask: Which Muon leaves to decay.
      mu_dtype: Storage dtype of the momenta.
      nesterov: Nesterov momentum, in Muon and in AdamW.
      adaptive: Scale-aware Muon (see :func:`scale_by_muon`).
      preconditioning: See :func:`scale_by_muon`.
      adam_b1: AdamW's first-moment decay.
      adam_b2: AdamW's second-moment decay.
      adam_eps_root: AdamW's epsilon inside the root.
      adam_weight_decay: AdamW's weight decay.
      adam_learning_rate: AdamW's learning rate (``None``: ``learning_rate``).
      muon_weight_dimension_numbers: As in :func:`scale_by_muon`; leaves with ``None``
        go to AdamW.
      consistent_rms: See :func:`scale_by_shape`.

    Returns:
      A :class:`GradientTransformation` (a :func:`partition`).

    Raises:
      ValueError: If an argument is out of range or ``ns_coeffs`` is an unknown preset.

    Examples:
      >>> params = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
      >>> tx = gradtx.muon(0.5)
      >>> updates, _ = tx.update({"w": jnp.eye(2), "b": jnp.ones(2)}, tx.init(params), params)
      >>> updates["w"].round(3)  # Muon
      Array([[-0.554, -0.   ],
             [-0.   , -0.554]], dtype=float32)

    .. note::
       Optax: ``optax.contrib.muon``, same arguments and numbers. PyTorch:
       ``torch.optim.Muon`` is :func:`gradtx.torch.Muon`.
    """
    if isinstance(ns_coeffs, str) and ns_coeffs not in _PRESETS:
        raise ValueError(f"muon: unknown `ns_coeffs` preset {ns_coeffs!r}; use one of {sorted(_PRESETS)}.")
    dims_arg = muon_weight_dimension_numbers

    def labels(params: Params) -> Any:
        if dims_arg is None:
            return jax.tree.map(lambda p: "muon" if getattr(p, "ndim", None) == 2 else "adam", params,
                                is_leaf=lambda x: x is None)
        dims = dims_arg(params) if callable(dims_arg) else dims_arg
        if _is_dims(dims):
            return jax.tree.map(lambda _: "muon", params, is_leaf=lambda x: x is None)
        return jax.tree.map(lambda d, p: jax.tree.map(lambda _: "adam" if d is None else "muon", p),
                            dims, params, is_leaf=lambda x: x is None or _is_dims(x))

    def muon_dims(updates: Updates) -> Any:
        if dims_arg is None:
            return jax.tree.map(lambda u: MuonDimensionNumbers() if getattr(u, "ndim", None) == 2 else None, updates,
                                is_leaf=lambda x: x is None)
        return _resolve(dims_arg, updates)

    return partition(
        {
            "muon": chain(
                scale_by_muon(ns_coeffs, ns_steps, beta, eps, mu_dtype, nesterov=nesterov, adaptive=adaptive,
                              preconditioning=preconditioning, weight_dimension_numbers=muon_dims),
                scale_by_shape(muon_dims, consistent_rms),
                add_decayed_weights(weight_decay, mask=weight_decay_mask),
                scale_by_learning_rate(learning_rate),
            ),
            "adam": adamw(
                learning_rate if adam_learning_rate is None else adam_learning_rate,
                adam_b1, adam_b2, eps, adam_eps_root, mu_dtype, adam_weight_decay, nesterov=nesterov,
            ),
        },
        labels,
    )
