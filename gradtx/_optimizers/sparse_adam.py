"""SparseAdam: Adam that moves only the rows a gradient touches (embedding tables).

``sparse_adam`` (Optax has none) and torch's ``SparseAdam``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, transformation
from gradtx._optimizers._common import descent, torch_betas


class ScaleBySparseAdamState(NamedTuple):
    """State of :func:`scale_by_sparse_adam`."""

    count: Updates  # t: an int32[] per floating leaf (None for others), the steps in which it was touched
    mu: Updates  # m_t, first moment: shaped like the params, in the params' dtype
    nu: Updates  # v_t, second moment: shaped like the params, in the params' dtype


def _touched_rows(g: jax.Array) -> jax.Array:
    """Where a dense gradient stands for a stored row of a sparse one: rows with a non-zero entry.

    A row is a slice along the first axis (a single entry for vectors and scalars). The
    result broadcasts against ``g``.
    """
    if g.ndim < 2:
        return g != 0
    return jnp.any(g != 0, axis=tuple(range(1, g.ndim)), keepdims=True)


@transformation(needs_leaves=True)
def scale_by_sparse_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    r"""Adam's scaling applied only to the rows a gradient touches, as torch's SparseAdam.

    The scaling of :func:`sparse_adam`. A dense gradient stands for torch's sparse one:
    a row (a slice along the first axis; an entry of a vector) is *touched* when any of
    its entries is non-zero. Touched rows update their moments; the others keep them and
    get a zero update.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
       v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \quad \text{(touched rows)} \\
       u_t = \frac{\sqrt{1 - \beta_2^{t}}}{1 - \beta_1^{t}} \frac{m_t}{\sqrt{v_t} + \epsilon}
       \ \text{(touched rows), else } 0

    where :math:`t` counts, per leaf, the steps in which the leaf had a touched row.

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the first moment.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the second moment.
      eps: :math:`\epsilon > 0`, added to :math:`\sqrt{v_t}` (torch's placement, before
        the bias correction of :math:`v`).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`ScaleBySparseAdamState`.

    Raises:
      ValueError: If ``b1`` or ``b2`` is outside [0, 1), or ``eps <= 0``.

    Examples:
      >>> tx = gradtx.scale_by_sparse_adam()
      >>> g = jnp.array([[0.5, 0.0], [0.0, 0.0]])  # row 1 is not touched
      >>> tx.update(g, tx.init(jnp.zeros((2, 2))))[0].round(4)
      Array([[1., 0.],
             [0., 0.]], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014.

    .. note::
       PyTorch: the scaling of ``torch.optim.SparseAdam``. torch moves the entries its
       sparse gradient stores; for ``nn.Embedding(sparse=True)`` these are the rows looked
       up, zero entries included, which is what the row rule reproduces (a looked-up row
       whose gradient is exactly zero everywhere is the one case it cannot see). torch
       counts steps per tensor, advancing when the tensor has a gradient; gradtx advances
       a leaf's count when it has a touched row, which equals torch's count with
       ``zero_grad()``'s default ``set_to_none=True``.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.positive("eps", eps)

    def init(params: Params) -> ScaleBySparseAdamState:
        mu = tree.zeros_like(params)  # first: it rejects complex leaves
        count = jax.tree.map(lambda p: tree.zero_count(p) if tree.is_float(p) else None, params)
        return ScaleBySparseAdamState(count, mu, tree.zeros_like(params))

    def update(
        updates: Updates, state: ScaleBySparseAdamState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ScaleBySparseAdamState]:
        del params, extra_args

        def leaf(
            g: jax.Array, m: jax.Array, v: jax.Array, count: jax.Array | tuple[jax.Array, ...]
        ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
            # Unboxed (and float) when map_unzip probes the rule abstractly on a tree without floats.
            count = (count[0] if isinstance(count, tuple) else count).astype(jnp.int32)
            touched = _touched_rows(g)
            count = jnp.where(jnp.any(touched), tree.safe_increment(count), count)
            t = jnp.maximum(count, 1)  # t = 0 only when nothing was ever touched (and nothing moves)
            step = (jnp.sqrt(tree.bias_correction(b2, t)) / tree.bias_correction(b1, t)).astype(g.dtype)
            m = jnp.where(touched, m + (1 - b1) * (g - m), m)
            v = jnp.where(touched, v + (1 - b2) * (jnp.square(g) - v), v)
            return jnp.where(touched, step * (m / (jnp.sqrt(v) + eps)), 0), m, v, count

        # A leaf's count is a scalar, not shaped like the leaf: it rides through map_unzip in a
        # 1-tuple, which is handed to the rule as it is (and comes back as the bare count).
        boxed = jax.tree.map(lambda c: (c,), state.count)
        updates, mu, nu, count = tree.map_unzip(leaf, updates, state.mu, state.nu, boxed)
        return updates, ScaleBySparseAdamState(count, mu, nu)

    return GradientTransformation(init, update)


@transformation(needs_leaves=True)
def sparse_adam(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    maximize: bool = False,
) -> GradientTransformation:
    r"""SparseAdam, as ``torch.optim.SparseAdam``: Adam that moves only the touched rows.

    For embedding tables: a row of a leaf (a slice along its first axis; an entry of a
    vector) whose gradient has a non-zero entry is updated, with its moments, by Adam;
    the other rows, their moments and the params there do not change.

    .. math::

       p_t = p_{t-1} - \eta\, \frac{\sqrt{1 - \beta_2^{t}}}{1 - \beta_1^{t}}
       \frac{m_t}{\sqrt{v_t} + \epsilon} \quad \text{on the touched rows of } \pm g_t

    with :math:`m_t, v_t, t` as in :func:`scale_by_sparse_adam`.

    Composition: ``chain([scale(-1)], scale_by_sparse_adam(b1, b2, eps), scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)` (torch's ``betas[0]``).
      b2: :math:`\beta_2 \in [0, 1)` (torch's ``betas[1]``).
      eps: :math:`\epsilon > 0`.
      maximize: Ascend instead of descend.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Raises:
      ValueError: If ``learning_rate < 0``, ``b1`` or ``b2`` is outside [0, 1), or ``eps <= 0``.

    Examples:
      >>> tx = gradtx.sparse_adam(1e-3)
      >>> table = jnp.zeros((3, 2))
      >>> grad = jnp.zeros((3, 2)).at[1].set(jnp.array([0.5, 0.0]))  # only row 1 was looked up
      >>> tx.update(grad, tx.init(table))[0].round(6)
      Array([[-0.   , -0.   ],
             [-0.001, -0.   ],
             [-0.   , -0.   ]], dtype=float32)

    References:
      Kingma and Ba, `Adam: A Method for Stochastic Optimization
      <https://arxiv.org/abs/1412.6980>`_, 2014.

    .. note::
       PyTorch: ``torch.optim.SparseAdam(lr, betas=(b1, b2), eps, maximize)`` ->
       ``sparse_adam(learning_rate, b1, b2, eps, maximize=...)``. torch needs sparse
       gradients (``nn.Embedding(sparse=True)``); gradtx takes the dense gradients JAX
       computes and treats the rows with a non-zero entry as the stored ones. That equals
       torch for embedding gradients and for ``grad.to_sparse()`` of vectors, and for
       ``to_sparse(sparse_dim=1)`` of any leaf. Step counts are per leaf (see
       :func:`scale_by_sparse_adam`). torch rejects ``lr=0``; gradtx allows it. Optax has
       no SparseAdam.
    """
    checks.learning_rate(learning_rate)
    checks.boolean("maximize", maximize)
    return descent(scale_by_sparse_adam(b1, b2, eps), learning_rate, maximize=maximize)


# ------------------------------------------------------------------ torch.optim's dialect


@transformation(needs_leaves=True)
def SparseAdam(  # noqa: N802
    lr: ScalarOrSchedule = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    maximize: bool = False,
) -> GradientTransformation:
    r"""``torch.optim.SparseAdam``: its arguments (without ``params``), defaults and numbers.

    :func:`sparse_adam` with torch's argument names: Adam applied to the rows of each leaf
    that the gradient touches (see :func:`scale_by_sparse_adam`).

    Composition: ``chain([scale(-1)], scale_by_sparse_adam(β1, β2, ε), scale_by_learning_rate(η))``.

    Args:
      lr: :math:`\eta \ge 0`, a number or a schedule.
      betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
      eps: :math:`\epsilon > 0`.
      maximize: Ascend instead of descend.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.torch.SparseAdam(lr=1e-3)
      >>> grad = jnp.zeros((2, 2)).at[0].set(jnp.array([0.5, 0.0]))  # only row 0 was looked up
      >>> tx.update(grad, tx.init(jnp.zeros((2, 2))))[0].round(6)
      Array([[-0.001, -0.   ],
             [-0.   , -0.   ]], dtype=float32)

    .. note::
       PyTorch: ``torch.optim.SparseAdam(params, ...)`` -> ``gradtx.torch.SparseAdam(...)``,
       same arguments. gradtx takes the dense gradients JAX computes and treats the rows
       with a non-zero entry as the ones torch's sparse gradient stores (see
       :func:`sparse_adam`); torch rejects ``lr=0``, gradtx allows it. Optax has no SparseAdam.
    """
    checks.learning_rate(lr, "lr")
    checks.boolean("maximize", maximize)
    b1, b2 = torch_betas(betas)
    return sparse_adam(lr, b1, b2, eps, maximize=maximize)
