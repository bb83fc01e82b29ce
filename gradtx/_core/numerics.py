"""Numerical helpers Optax exports: safe norms, counters, power iteration, matrix roots, NNLS.

Same names, signatures and numbers as Optax 0.2.8 (``optax.safe_norm``, ``optax.power_iteration``,
...), with the few deviations listed in each ``.. note::`` (they fix dtype handling: Optax mixes
float32 constants into float64 math, which fails under strict dtype promotion and, for a 1x1
matrix root, loses digits).

No ``from __future__ import annotations`` here: signatures are read by tools (and tests) with
their annotations evaluated.
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from gradtx._core import tree as engine
from gradtx._core import tree_utils

# The per-leaf moment helpers live with the tree utilities; Optax exports them at its top level too.
update_moment = tree_utils.update_moment
update_moment_per_elem_norm = tree_utils.update_moment_per_elem_norm
update_infinity_moment = tree_utils.update_infinity_moment
bias_correction = tree_utils.bias_correction


def _abs_sq(x: jax.Array) -> jax.Array:
    """``|x|^2`` for real or complex ``x``."""
    return (x.conj() * x).real


# ---------------------------------------------------------------- norms with a floor


def global_norm(updates: Any) -> jax.Array:
    r"""The l2 norm of all leaves of a tree taken as one vector: :math:`\sqrt{\sum_i \|x_i\|^2}`.

    Args:
      updates: A pytree of (real or complex) arrays.

    Returns:
      A scalar array, in the leaves' (promoted) dtype.

    Examples:
      >>> gradtx.global_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])})
      Array(5., dtype=float32)

    .. note::
       Optax: ``optax.global_norm``, same numbers (it equals ``gradtx.tree.norm``). Optax warns
       that it is deprecated in favour of ``optax.tree.norm``; gradtx keeps it without warning.
    """
    return tree_utils.norm(updates)


def safe_norm(
    x: ArrayLike,
    min_norm: ArrayLike,
    ord: float | str | None = None,
    axis: None | tuple[int, ...] | int = None,
    keepdims: bool = False,
) -> jax.Array:
    r"""``max(‖x‖, min_norm)`` whose gradient is 0, not NaN, where the floor applies.

    ``jnp.maximum(jnp.linalg.norm(x), min_norm)`` has a NaN gradient at ``x = 0`` (the norm's
    derivative is evaluated on both sides of the ``maximum``). Here ``x`` is swapped for ones
    wherever the floor wins before the norm is taken, so that branch has a finite derivative.

    Args:
      x: An array.
      min_norm: The floor of the result.
      ord: The norm's order, as in ``jnp.linalg.norm``.
      axis: The axis or axes to take the norm over, as in ``jnp.linalg.norm``.
      keepdims: Keep the reduced axes with size one.

    Returns:
      The floored norm.

    Examples:
      >>> gradtx.safe_norm(jnp.array([3.0, 4.0]), 1.0)
      Array(5., dtype=float32)
      >>> jax.grad(gradtx.safe_norm)(jnp.zeros(2), 1.0)
      Array([0., 0.], dtype=float32)

    .. note:: Optax: ``optax.safe_norm``, same signature and numbers.
    """
    norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    floored = norm <= min_norm
    masked = jnp.linalg.norm(jnp.where(floored, jnp.ones_like(x), x), ord=ord, axis=axis, keepdims=keepdims)
    if not keepdims:
        floored = jnp.squeeze(floored, axis=axis)
    return jnp.where(floored, min_norm, masked)


def safe_root_mean_squares(x: ArrayLike, min_rms: ArrayLike) -> jax.Array:
    r"""``max(sqrt(mean(|x|^2)), min_rms)`` whose gradient is 0, not NaN, where the floor applies.

    Args:
      x: An array (real or complex).
      min_rms: The floor of the result.

    Returns:
      The floored root mean square of ``x``.

    Examples:
      >>> print(f"{gradtx.safe_root_mean_squares(jnp.array([3.0, 4.0]), 1.0):.4f}")
      3.5355

    .. note:: Optax: ``optax.safe_root_mean_squares``, same signature and numbers.
    """
    x = jnp.asarray(x)
    floored = jnp.sqrt(jnp.mean(_abs_sq(x))) <= min_rms
    masked = jnp.sqrt(jnp.mean(_abs_sq(jnp.where(floored, jnp.ones_like(x), x))))
    return jnp.where(floored, min_rms, masked)


# ---------------------------------------------------------------- counters


def safe_increment(count: ArrayLike) -> ArrayLike:
    """``count + 1``, staying at the largest value of ``count``'s dtype instead of overflowing.

    Works for integer and floating counts.

    Examples:
      >>> gradtx.safe_increment(jnp.asarray(1, jnp.int32))
      Array(2, dtype=int32)
      >>> gradtx.safe_increment(jnp.asarray(2**31 - 1, jnp.int32))
      Array(2147483647, dtype=int32)

    .. note:: Optax: ``optax.safe_increment`` (and its alias ``safe_int32_increment``), same numbers.
    """
    count = jnp.asarray(count)
    dtype = count.dtype
    largest: int | np.floating[Any]
    if jnp.issubdtype(dtype, jnp.integer):
        largest = jnp.iinfo(dtype).max
    elif jnp.issubdtype(dtype, jnp.floating):
        largest = jnp.finfo(dtype).max
    else:
        raise ValueError(
            f"safe_increment: cannot increment a count of dtype {dtype}; use an integer or floating dtype."
        )
    top = jnp.array(largest, dtype)
    return jnp.where(count < top, count + jnp.array(1, dtype), top)


safe_int32_increment = safe_increment


# ---------------------------------------------------------------- linear algebra


def _normalized(v: Any) -> Any:
    return tree_utils.scale(1.0 / tree_utils.norm(v), v)


def power_iteration(
    matrix: ArrayLike | Callable[[Any], Any],
    *,
    v0: Any | None = None,
    num_iters: ArrayLike = 100,
    error_tolerance: ArrayLike = 1e-6,
    precision: lax.Precision = lax.Precision.HIGHEST,
    key: jax.Array | None = None,
) -> tuple[ArrayLike, Any]:
    r"""The dominant eigenvalue of a matrix and its eigenvector, by power iteration.

    Repeats :math:`v \leftarrow A v / \|A v\|` and estimates :math:`\lambda = v^* A v` until
    :math:`\|A v - \lambda v\| / |\lambda|` drops below ``error_tolerance`` or ``num_iters``
    iterations have run.

    Args:
      matrix: A square matrix, or a function computing the matrix-vector product (then the
        "vector" may be any pytree, and ``v0`` is required).
      v0: The starting vector. ``None`` (with an array ``matrix``): uniform in ``[-1, 1]``
        drawn with ``key``.
      num_iters: The most iterations to run.
      error_tolerance: The relative residual at which to stop.
      precision: The precision of the matrix products (for an array ``matrix``).
      key: The key ``v0`` is drawn with; ``None`` uses ``jax.random.PRNGKey(0)``.

    Returns:
      ``(eigenvalue, eigenvector)``, the eigenvector of unit norm.

    Examples:
      >>> value, vector = gradtx.power_iteration(jnp.array([[2.0, 0.0], [0.0, 1.0]]))
      >>> value.round(4), jnp.abs(vector).round(4)
      (Array(2., dtype=float32), Array([1., 0.], dtype=float32))

    References:
      `Power iteration <https://en.wikipedia.org/wiki/Power_iteration>`_.

    .. note:: Optax: ``optax.power_iteration``, same signature and numbers.
    """
    mvp: Callable[[Any], Any]
    if callable(matrix):
        if v0 is None:
            raise ValueError("power_iteration: v0 must be given when `matrix` is a function.")
        mvp = matrix
    else:
        matrix = jnp.asarray(matrix)

        def matvec(v: Any) -> jax.Array:
            return jnp.matmul(matrix, v, precision=precision)

        mvp = matvec

        if v0 is None:
            key = jax.random.PRNGKey(0) if key is None else key
            v0 = jax.random.uniform(key, matrix.shape[-1:], dtype=matrix.dtype, minval=-1.0, maxval=1.0)

    v0 = _normalized(v0)
    z0 = mvp(v0)
    estimate = jax.eval_shape(tree_utils.vdot, v0, z0)

    def unconverged(carry: tuple[Any, Any, ArrayLike, jax.Array]) -> jax.Array:
        v, z, eig, i = carry
        residual = tree_utils.norm(tree_utils.sub(z, tree_utils.scale(eig, v)))
        return ~(jnp.abs(residual / eig) < error_tolerance) & (i < num_iters)

    def step(carry: tuple[Any, Any, ArrayLike, jax.Array]) -> tuple[Any, Any, ArrayLike, jax.Array]:
        _, z, _, i = carry
        v = _normalized(z)
        z = mvp(v)
        return v, z, tree_utils.vdot(v, z), i + 1

    start: tuple[Any, Any, ArrayLike, jax.Array] = (v0, z0, jnp.zeros((), estimate.dtype), jnp.asarray(0))
    _, z, eig, _ = lax.while_loop(unconverged, step, start)
    return eig, _normalized(z)


def _matrix_power(m: jax.Array, p: ArrayLike, precision: lax.Precision) -> jax.Array:
    """``m ** p`` for ``p`` in 1, 2, 4 or 8 (``p`` may be traced), by repeated squaring."""

    def squarings(k: int) -> Callable[[jax.Array], jax.Array]:
        def power(x: jax.Array) -> jax.Array:
            for _ in range(k):
                x = jnp.matmul(x, x, precision=precision)
            return x

        return power

    branch = jnp.asarray(jnp.round(jnp.log2(p)), jnp.int32)
    powered: jax.Array = lax.switch(branch, [squarings(k) for k in range(4)], m)
    return powered


def matrix_inverse_pth_root(
    matrix: ArrayLike,
    p: ArrayLike,
    num_iters: ArrayLike = 100,
    ridge_epsilon: ArrayLike = 1e-6,
    error_tolerance: ArrayLike = 1e-6,
    precision: lax.Precision = lax.Precision.HIGHEST,
) -> tuple[jax.Array, jax.Array]:
    r"""``matrix ** (-1/p)`` of a symmetric PSD matrix, by coupled Newton iterations (Shampoo's root).

    With :math:`\alpha = -1/p`, the matrix damped by
    :math:`\epsilon_{ridge} \max(\lambda_{max}, 10^{-16}) I` and scaled by
    :math:`z = (1 + p) / (2 \|A\|_F)`:

    .. math::

       M_0 = z A, \quad H_0 = z^{1/p} I, \quad
       X_k = (1 - \alpha) I + \alpha M_k, \quad M_{k+1} = X_k^p M_k, \quad H_{k+1} = H_k X_k

    until :math:`\max |M_k - I| \le` ``error_tolerance``, ``num_iters`` iterations, or the
    error grows (by more than 20%; then the previous :math:`H` is returned).

    Args:
      matrix: A symmetric positive semi-definite matrix.
      p: The root, 1, 2, 4 or 8.
      num_iters: The most iterations to run.
      ridge_epsilon: The damping, relative to the largest eigenvalue (found by
        :func:`power_iteration`).
      error_tolerance: The error :math:`\max |M_k - I|` at which to stop.
      precision: The precision of the matrix products.

    Returns:
      ``(root, error)``: the inverse p-th root, in ``matrix``'s dtype, and the final error.

    Examples:
      >>> root, _ = gradtx.matrix_inverse_pth_root(jnp.array([[4.0, 0.0], [0.0, 16.0]]), 2)
      >>> root.round(3)
      Array([[0.5 , 0.  ],
             [0.  , 0.25]], dtype=float32)

    References:
      Higham, `Functions of Matrices: Theory and Computation
      <https://epubs.siam.org/doi/book/10.1137/1.9780898717778>`_, SIAM 2008, eq. 7.18.

    .. note::
       Optax: ``optax.matrix_inverse_pth_root``, same signature, and the same numbers for
       matrices larger than 1x1. The math runs in the matrix's dtype (float32 at least) where
       Optax mixes float32 constants in (which strict dtype promotion rejects). For a 1x1
       matrix Optax raises to a float32-rounded :math:`-1/p` (a relative error near
       :math:`10^{-8} |\ln a|` in float64) and returns the error as the Python int 0; gradtx
       uses :math:`-1/p` in the matrix's dtype and returns an array.
    """
    matrix = jnp.asarray(matrix)
    dtype = engine.compute_dtype(matrix.dtype)  # float32 at least, as Optax's float32 constants promote to
    a = matrix.astype(dtype)
    n = a.shape[0]
    identity = jnp.eye(n, dtype=dtype)
    max_ev, _ = power_iteration(a, num_iters=100, error_tolerance=1e-6, precision=precision)
    ridge = ridge_epsilon * jnp.maximum(max_ev, 1e-16)

    if n == 1:
        return ((a + ridge) ** (-1.0 / jnp.asarray(p, dtype))).astype(matrix.dtype), jnp.zeros((), dtype)

    # The iteration keeps M_k = H_k^p A whatever alpha is, so alpha only steers the path;
    # rounded to float32 as Optax has it, the iterates (and the stopping step) stay Optax's.
    alpha = jnp.asarray(-1.0 / p, jnp.float32).astype(dtype)

    def running(state: tuple[Any, ...]) -> jax.Array:
        i, _, _, _, error, improving = state
        go_on: jax.Array = (i < num_iters) & (error > error_tolerance) & improving
        return go_on

    def step(state: tuple[Any, ...]) -> tuple[Any, ...]:
        i, m, h, _, error, _ = state
        x = (1 - alpha) * identity + alpha * m
        m_next = jnp.matmul(_matrix_power(x, p, precision), m, precision=precision)
        new_error = jnp.max(jnp.abs(m_next - identity))
        return i + 1, m_next, jnp.matmul(h, x, precision=precision), h, new_error, new_error < error * 1.2

    damped = a + ridge * identity
    z = (1 + p) / (2 * jnp.linalg.norm(damped))
    m0 = damped * z
    h0 = identity * jnp.power(z, 1.0 / p)
    start = (0, m0, h0, h0, jnp.max(jnp.abs(m0 - identity)), True)
    _, m, h, previous, _, improving = lax.while_loop(running, step, start)
    root = jnp.where(improving, h, previous)
    return root.astype(matrix.dtype), jnp.max(jnp.abs(m - identity))


def _spectral_radius_bound(q: jax.Array) -> jax.Array:
    """An upper bound on the spectral radius of ``q``: the smaller of its Frobenius and 1-norms."""
    fro = jnp.linalg.matrix_norm(q, ord="fro")
    one = jnp.linalg.matrix_norm(q, ord=1) if q.size != 0 else 0
    return jnp.minimum(fro, one)


def nnls(
    A: jax.Array,
    b: jax.Array,
    iters: int,
    unroll: int | bool = 1,
    L: ArrayLike | None = None,
) -> jax.Array:
    r"""Non-negative least squares: :math:`\min_x \|A x - b\|_2` subject to :math:`x \ge 0`.

    Polyak's fast projected gradient: with :math:`Q = A^T A`, :math:`q = A^T b`,

    .. math::

       c_{k+1} = \tfrac{1 + \sqrt{1 + 4 c_k^2}}{2}, \quad
       x_{k+1} = \max(0, y_k - (Q y_k - q) / L), \quad
       y_{k+1} = x_{k+1} + \tfrac{c_k - 1}{c_{k+1}} (x_{k+1} - x_k)

    from :math:`x_0 = y_0 = 0`, :math:`c_0 = 0`.

    Args:
      A: A matrix of shape ``(M, N)``.
      b: A vector of shape ``(M,)``, or a matrix ``(M, K)`` (K problems at once).
      iters: The number of iterations.
      unroll: ``unroll`` of the ``lax.scan`` over iterations.
      L: An upper bound on the spectral radius of :math:`A^T A`; ``None`` uses the smaller of
        its Frobenius and 1-norms.

    Returns:
      The solution, of shape ``(N,)`` or ``(N, K)``.

    Examples:
      >>> x = gradtx.nnls(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([5.0, 6.0]), 1000)
      >>> print(f"{x[0]:.2f} {x[1]:.2f}")
      0.00 1.70

    References:
      Polyak, `Projected gradient method for non-negative least square
      <http://www.ams.org/books/conm/636/>`_, 2015.

    .. note:: Optax: ``optax.nnls``, same signature and numbers.
    """
    if A.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise ValueError(f"nnls: A must be (M, N) and b (M,) or (M, K); got A {A.shape} and b {b.shape}.")
    q_mat = A.mT @ A
    q_vec = A.mT @ b
    bound = _spectral_radius_bound(q_mat) if L is None else L
    bound = jnp.where(bound == 0, 1, bound)

    def step(
        carry: tuple[jax.Array, jax.Array, Any], _: Any
    ) -> tuple[tuple[jax.Array, jax.Array, Any], None]:
        x, y, c = carry
        c_next = (1 + jnp.sqrt(1 + 4 * c**2)) / 2
        x_next = (y - (q_mat @ y - q_vec) / bound).clip(0)
        return (x_next, x_next + (c - 1) / c_next * (x_next - x), c_next), None

    x0 = jnp.zeros_like(b, shape=A.shape[-1:] + b.shape[1:])
    (x, _, _), _ = lax.scan(step, (x0, x0, 0.0), length=iters, unroll=unroll)
    return x


# ---------------------------------------------------------------- distributions


class MultiNormalDiagFromLogScale:
    """A normal distribution with diagonal covariance, parametrized by its mean and log scale.

    Returned by :func:`multi_normal`; the parametrization evolution strategies update.
    """

    def __init__(self, loc: ArrayLike, log_scale: ArrayLike) -> None:
        self._mean = jnp.asarray(loc)
        self._log_scale = jnp.asarray(log_scale)
        self._scale = jnp.exp(self._log_scale)
        self._param_shape = jax.lax.broadcast_shapes(self._mean.shape, self._scale.shape)

    def sample(self, shape: Sequence[int], key: jax.Array) -> jax.Array:
        """Draws of shape ``(*shape, *param_shape)``: ``mean + scale * N(0, 1)``."""
        dtype = jnp.result_type(self._mean, self._scale)
        draws = jax.random.normal(key, (*tuple(shape), *self._param_shape), dtype=dtype)
        return draws * jnp.broadcast_to(self._scale, draws.shape) + jnp.broadcast_to(self._mean, draws.shape)

    def log_prob(self, x: ArrayLike) -> jax.Array:
        """The log density of ``x``, summed over the parameter axes."""
        x = jnp.asarray(x)
        shape = jnp.broadcast_shapes(x.shape, self._param_shape)
        per_element = jax.scipy.stats.norm.logpdf(
            jnp.broadcast_to(x, shape),
            loc=jnp.broadcast_to(self._mean, shape),
            scale=jnp.broadcast_to(self._scale, shape),
        )
        return jnp.sum(per_element, axis=[-(i + 1) for i in range(len(self._param_shape))])

    @property
    def log_scale(self) -> jax.Array:
        """The log of the standard deviation."""
        return self._log_scale

    @property
    def params(self) -> Sequence[jax.Array]:
        """``[mean, log_scale]``."""
        return [self._mean, self._log_scale]


def multi_normal(loc: ArrayLike, log_scale: ArrayLike) -> MultiNormalDiagFromLogScale:
    """A diagonal normal distribution with mean ``loc`` and standard deviation ``exp(log_scale)``.

    Examples:
      >>> dist = gradtx.multi_normal(jnp.zeros(3), jnp.zeros(3))
      >>> dist.sample((2,), jax.random.key(0)).shape
      (2, 3)

    .. note::
       Optax: ``optax.multi_normal``, same signature and numbers for float64 parameters.
       gradtx draws in the parameters' dtype; Optax draws in JAX's default float dtype (float64
       under ``jax_enable_x64``), which strict dtype promotion rejects for float32 parameters.
    """
    return MultiNormalDiagFromLogScale(loc=loc, log_scale=log_scale)
