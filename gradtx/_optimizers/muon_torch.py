"""torch.optim.Muon: momentum orthogonalized by Newton–Schulz, for matrices; AdamW for the other leaves."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.sharding import AxisType, NamedSharding, PartitionSpec

from gradtx._core import checks, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    Updates,
    active_path,
    blame,
    transformation,
)
from gradtx._core.combine import partition
from gradtx._core.paths import Mask
from gradtx._optimizers._common import descent
from gradtx._optimizers.adam import adamw

_ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


class ScaleByMuonState(NamedTuple):
    """State of the Muon scaling of :func:`gradtx.torch.Muon`."""

    mu: Updates  # B_t, momentum buffer: shaped like the params, in the params' dtype


def _whole(x: jax.Array) -> tuple[jax.Array, Callable[[jax.Array], jax.Array]]:
    """``x`` gathered whole if it is split over ``Explicit`` mesh axes, and the way back.

    Newton–Schulz multiplies the whole matrix by itself. With sharding in the types
    (meshes from ``jax.make_mesh``) a product of two operands split on the same axis has no
    legal sharding, so the matrix is gathered first; on ``Auto`` meshes XLA does the same.
    """
    sharding = jax.typeof(x).sharding
    mesh = sharding.mesh
    explicit = {name for name, kind in zip(mesh.axis_names, mesh.axis_types) if kind == AxisType.Explicit}
    entries = [entry if isinstance(entry, tuple) else (entry,) for entry in sharding.spec if entry is not None]
    if not {axis for entry in entries for axis in entry} & explicit:
        return x, lambda y: y
    whole = jax.sharding.reshard(x, NamedSharding(mesh, PartitionSpec()))
    return whole, lambda y: jax.sharding.reshard(y, sharding)


def _newton_schulz(
    x: jax.Array, coefficients: tuple[float, float, float], steps: int, eps: float, dtype: Any
) -> jax.Array:
    r"""Approximately orthogonalize a matrix: ``steps`` quintic Newton–Schulz iterations.

    .. math::

       X_0 = G / \max(\lVert G \rVert_F, \epsilon), \qquad A = X_k X_k^\top, \qquad
       X_{k+1} = a X_k + (b A + c A^2) X_k

    computed on :math:`G^\top` when :math:`G` has more rows than columns. :math:`G` and each
    quantity above is rounded once to the precision of ``dtype`` (``None``: the dtype of
    ``x``); products and sums run in float32, or in ``dtype`` if it is wider. That is how
    torch's bfloat16 ``addmm`` rounds. Rounding uses ``lax.reduce_precision``, which XLA
    keeps under ``jit`` (a round trip through ``astype`` may be dropped); matrix products
    take their operands in ``dtype``. The result is returned in the dtype of ``x``.
    """
    store = x.dtype if dtype is None else jnp.dtype(dtype)
    acc = tree.compute_dtype(store)
    info = jnp.finfo(store)

    def rounded(y: jax.Array) -> jax.Array:
        if info.nmant >= jnp.finfo(y.dtype).nmant:
            return y
        return jax.lax.reduce_precision(y, exponent_bits=info.nexp, mantissa_bits=info.nmant)

    def matmul(p: jax.Array, q: jax.Array) -> jax.Array:  # operands are exact in `store`; the product accumulates in `acc`
        return jnp.matmul(p.astype(store), q.astype(store), preferred_element_type=acc)

    a, b, c = coefficients
    tall = x.shape[0] > x.shape[1]
    out = x.dtype
    x, shard_back = _whole(x)
    x = rounded(x.T if tall else x).astype(acc)
    norm = rounded(jnp.sqrt(jnp.sum(jnp.square(x))))
    x = rounded(x / jnp.maximum(norm, rounded(jnp.asarray(eps, acc))))
    for _ in range(steps):
        gram = rounded(matmul(x, x.T))
        poly = rounded(b * gram + c * matmul(gram, gram))
        x = rounded(a * x + matmul(poly, x))
    return shard_back((x.T if tall else x).astype(out))


def _lr_ratio(shape: tuple[int, ...], adjust_lr_fn: str | None) -> float:
    rows, cols = shape
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return math.sqrt(max(1.0, rows / cols))


@transformation(needs_leaves=True)
def scale_by_torch_muon(
    momentum: float = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
    eps: float = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
    *,
    ns_dtype: Any = jnp.bfloat16,
) -> GradientTransformation:
    r"""Replace each matrix's momentum by its Newton–Schulz orthogonalization, as torch's Muon.

    The scaling of :func:`muon`. Every floating leaf must be a matrix (2-D); route other
    leaves elsewhere with :func:`partition`, as :func:`muon` does.

    .. math::

       B_t = \mu B_{t-1} + (1 - \mu) g_t, \quad B_0 = 0, \qquad
       \tilde B_t = (1 - \mu) g_t + \mu B_t \ \text{(nesterov) or } B_t \\
       u_t = s \cdot \mathrm{NS}^{(a,b,c)}_k(\tilde B_t; \epsilon), \qquad
       s = \sqrt{\max(1, A/B)} \ \text{(original) or } 0.2 \sqrt{\max(A, B)}

    Args:
      momentum: :math:`\mu \ge 0`, the weight of the old buffer.
      nesterov: Orthogonalize :math:`(1-\mu) g_t + \mu B_t` instead of :math:`B_t`.
      ns_coefficients: :math:`(a, b, c)`, the coefficients of the quintic iteration.
      eps: :math:`\epsilon \ge 0`, lower bound of the Frobenius norm :math:`G` is divided by.
      ns_steps: :math:`k`, the number of iterations, an integer in [0, 99].
      adjust_lr_fn: How the update of an :math:`A \times B` matrix is scaled: ``None`` or
        ``"original"`` (Keller Jordan's :math:`\sqrt{\max(1, A/B)}`) or ``"match_rms_adamw"``
        (Moonshot's :math:`0.2\sqrt{\max(A, B)}`).
      ns_dtype: The precision the iterates are rounded to (torch: ``jnp.bfloat16``);
        products and sums run in float32 or wider (matrix products take operands in it).
        ``None`` does not round (float32, or float64 for float64 leaves), and ``jnp.float64``
        (under ``jax_enable_x64``) gives a float64 iteration.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleByMuonState`.

    Raises:
      ValueError: If an argument is out of range; in ``update``, if a floating leaf is not 2-D.

    References:
      Jordan et al., `Muon: An optimizer for hidden layers in neural networks
      <https://kellerjordan.github.io/posts/muon/>`_, 2024.
      Liu et al., `Muon is Scalable for LLM Training <https://arxiv.org/abs/2502.16982>`_, 2025.

    .. note::
       PyTorch: the scaling of ``torch.optim.Muon`` including its learning-rate
       adjustment; torch's :math:`A, B` are ``shape[0], shape[1]``, i.e. (out, in) for
       ``nn.Linear``. A JAX kernel stored (in, out) gets the ratio of its transpose.
       Optax: ``optax.contrib.scale_by_muon`` debiases the momentum (torch does not),
       divides by :math:`\lVert G\rVert_F + \epsilon` and puts the shape factor in a separate
       ``scale_by_shape``.
    """
    checks.non_negative("momentum", momentum)
    checks.boolean("nesterov", nesterov)
    if not isinstance(ns_coefficients, tuple | list) or len(ns_coefficients) != 3:
        raise ValueError(
            blame(f"`ns_coefficients` must be three numbers (a, b, c), got ns_coefficients={ns_coefficients}")
        )
    for i, coefficient in enumerate(ns_coefficients):
        checks.real(f"ns_coefficients[{i}]", coefficient)
    checks.non_negative("eps", eps)
    checks.integer("ns_steps", ns_steps)
    checks.interval("ns_steps", ns_steps, 0, 99)
    checks.one_of("adjust_lr_fn", adjust_lr_fn, _ADJUST_LR_FNS)
    checks.dtype_or_none("ns_dtype", ns_dtype)
    coefficients = (ns_coefficients[0], ns_coefficients[1], ns_coefficients[2])  # (a, b, c), also from a list

    def init(params: Params) -> ScaleByMuonState:
        return ScaleByMuonState(tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleByMuonState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleByMuonState]:
        del params, extra_args

        def leaf(g: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
            if g.ndim != 2:
                raise ValueError(
                    f"{active_path()}: Newton–Schulz needs matrices, got a leaf of shape "
                    f"{tuple(g.shape)}. Give other leaves another transformation with `partition` "
                    "(gradtx.torch.Muon sends them to AdamW)."
                )
            b = b + (1 - momentum) * (g - b)
            direction = g + momentum * (b - g) if nesterov else b
            ortho = _newton_schulz(direction, coefficients, ns_steps, eps, ns_dtype)
            return _lr_ratio(g.shape, adjust_lr_fn) * ortho, b

        updates, mu = tree.map_unzip(leaf, updates, state.mu)
        return updates, ScaleByMuonState(mu)

    return GradientTransformation(init, update)


def _matrix_labels(params: Params) -> Any:
    """``"muon"`` for every 2-D leaf of ``params``, ``"adam"`` for the others."""
    return jax.tree.map(
        lambda p: "muon" if getattr(p, "ndim", None) == 2 else "adam", params, is_leaf=lambda x: x is None
    )


@transformation(needs_leaves=True)
def Muon(  # noqa: N802
    lr: ScalarOrSchedule = 1e-3,
    weight_decay: float = 0.1,
    momentum: float = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
    eps: float = 1e-7,
    ns_steps: int = 5,
    adjust_lr_fn: str | None = None,
    *,
    ns_dtype: Any = jnp.bfloat16,
    weight_decay_mask: Mask | None = None,
    adam_learning_rate: ScalarOrSchedule | None = None,
    adam_b1: float = 0.9,
    adam_b2: float = 0.999,
    adam_eps: float = 1e-8,
    adam_weight_decay: float = 0.0,
) -> GradientTransformation:
    r"""Muon on the matrices, as ``torch.optim.Muon``, and AdamW on every other leaf.

    .. math::

       p_t = p_{t-1} - \eta \left( u_t + \lambda p_{t-1} \right)

    for each 2-D leaf, with :math:`u_t` the orthogonalized, shape-scaled momentum of
    :func:`scale_by_torch_muon` (torch writes the decay as :math:`p \leftarrow p(1 - \eta\lambda)`;
    it is the same). Leaves that are not 2-D (biases, norms' scales, scalars, 3-D kernels)
    are optimized by ``adamw(adam_learning_rate, adam_b1, adam_b2, adam_eps,
    adam_weight_decay)``, the fallback torch's documentation recommends.

    Composition: ``partition({"muon": chain(scale_by_torch_muon(...), add_decayed_weights(λ),
    scale_by_learning_rate(η)), "adam": adamw(...)}, labels)``, where ``labels``
    says ``"muon"`` for the 2-D leaves.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      weight_decay: :math:`\lambda \ge 0`, decoupled, for the matrices.
      momentum: :math:`\mu \ge 0`.
      nesterov: Nesterov momentum.
      ns_coefficients: :math:`(a, b, c)` of the Newton–Schulz iteration.
      eps: :math:`\epsilon \ge 0`, floor of the norm the momentum is divided by.
      ns_steps: Number of Newton–Schulz iterations, in [0, 99].
      adjust_lr_fn: ``None``/``"original"`` or ``"match_rms_adamw"`` (see :func:`scale_by_torch_muon`).
      ns_dtype: The precision Newton–Schulz rounds to (torch: ``jnp.bfloat16``; ``None``:
        none); see :func:`scale_by_torch_muon`.
      weight_decay_mask: Which matrices to decay (see :func:`masked`); ``None`` for all.
      adam_learning_rate: Learning rate of the AdamW fallback; ``None`` uses ``lr``.
      adam_b1: :math:`\beta_1 \in [0, 1)` of the fallback.
      adam_b2: :math:`\beta_2 \in [0, 1)` of the fallback.
      adam_eps: :math:`\epsilon \ge 0` of the fallback.
      adam_weight_decay: Decoupled weight decay :math:`\ge 0` of the fallback.

    Returns:
      A :class:`GradientTransformation` (a :func:`partition`).

    Raises:
      ValueError: If an argument is out of range (as in :func:`scale_by_torch_muon`; the
        ``adam_*`` arguments as in :func:`adamw`).

    Examples:
      >>> params = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
      >>> tx = gradtx.torch.Muon(lr=0.5, weight_decay=0.0, ns_dtype=jnp.float32)
      >>> updates, _ = tx.update({"w": jnp.eye(2), "b": jnp.ones(2)}, tx.init(params), params)
      >>> updates["w"].round(3)  # Muon
      Array([[-0.554, -0.   ],
             [-0.   , -0.554]], dtype=float32)
      >>> updates["b"].round(3)  # AdamW
      Array([-0.5, -0.5], dtype=float32)

    References:
      Jordan et al., `Muon: An optimizer for hidden layers in neural networks
      <https://kellerjordan.github.io/posts/muon/>`_, 2024.
      Liu et al., `Muon is Scalable for LLM Training <https://arxiv.org/abs/2502.16982>`_, 2025.

    .. note::
       PyTorch: ``torch.optim.Muon(lr, weight_decay, momentum, nesterov, ns_coefficients,
       eps, ns_steps, adjust_lr_fn)`` -> the same arguments without ``params``; the matrices
       get torch's numbers (the bfloat16 iteration rounds like torch's; with
       ``ns_dtype=jnp.float64`` it is a float64 iteration). torch rejects
       parameters that are not 2-D; gradtx gives them to the AdamW fallback, which equals
       a second ``torch.optim.AdamW(lr, betas=(adam_b1, adam_b2), eps=adam_eps,
       weight_decay=adam_weight_decay)`` over them (torch's default weight decay there is
       1e-2; gradtx's, like Optax's, is 0). Optax: ``optax.contrib.muon`` debiases the
       momentum, uses ``eps=1e-8`` added to the norm, a Nesterov Adam fallback sharing
       ``eps``, and scales by :math:`\sqrt{\max(1, \text{fan\_out}/\text{fan\_in})}` for
       (in, out) kernels.
    """
    checks.learning_rate(lr, "lr")
    checks.non_negative("weight_decay", weight_decay)
    if adam_learning_rate is not None:
        checks.learning_rate(adam_learning_rate, "adam_learning_rate")
    checks.decay_rate("adam_b1", adam_b1)
    checks.decay_rate("adam_b2", adam_b2)
    checks.non_negative("adam_eps", adam_eps)
    checks.non_negative("adam_weight_decay", adam_weight_decay)
    return partition(
        {
            "muon": descent(
                scale_by_torch_muon(
                    momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn, ns_dtype=ns_dtype
                ),
                lr,
                weight_decay=weight_decay,
                weight_decay_mask=weight_decay_mask,
                decoupled=True,
            ),
            "adam": adamw(
                lr if adam_learning_rate is None else adam_learning_rate,
                b1=adam_b1,
                b2=adam_b2,
                eps=adam_eps,
                weight_decay=adam_weight_decay,
            ),
        },
        _matrix_labels,
    )
