"""Per-example gradient clipping (differential privacy): clip each example's gradient, then sum."""

from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core import checks


def _leaves_with_batch(fn: str, grads: Any) -> list[jax.Array]:
    leaves = jax.tree.leaves(grads)
    if not leaves or any(
        jnp.ndim(g) < 1 or jnp.shape(g)[0] != jnp.shape(leaves[0])[0] for g in leaves
    ):
        raise ValueError(
            f"{fn}: unlike other transformations, it expects every leaf of `grads` to have the same "
            f"batch (example) dimension in axis 0; got shapes {jax.tree.map(jnp.shape, grads)}."
        )
    return leaves


def _clip_and_sum(leaves: list[jax.Array], clip_norm: Any) -> tuple[list[jax.Array], jax.Array]:
    """Scale each example to norm <= ``clip_norm`` (over ``leaves`` together), sum the examples."""
    dtype = jnp.result_type(*leaves)
    squares = [jnp.sum(jnp.square(g).reshape(g.shape[0], -1), axis=1).astype(dtype) for g in leaves]
    norms = jnp.sqrt(sum(squares[1:], squares[0]))
    factors = jnp.nan_to_num(jnp.minimum(clip_norm / norms, 1.0), nan=1.0)
    num_clipped = jnp.sum(factors < 1.0)
    return [jnp.tensordot(factors.astype(g.dtype), g, axes=1) for g in leaves], num_clipped


def per_example_global_norm_clip(grads: Any, l2_norm_clip: Any) -> tuple[Any, jax.Array]:
    r"""Clip each example's gradient to global norm ``l2_norm_clip``, and sum over the examples.

    .. math::

       u = \sum_i g_i \min\!\Big(1, \frac{C}{\lVert g_i \rVert_2}\Big)

    Args:
      grads: Per-example gradients: every leaf has the examples along axis 0.
      l2_norm_clip: :math:`C \ge 0`, the largest norm of one example's gradient.

    Returns:
      ``(summed, num_clipped)``: the sum of the clipped gradients (leaves without the batch
      axis), and how many examples were clipped.

    Raises:
      ValueError: If the leaves do not share a leading batch dimension.

    Examples:
      >>> grads = {"w": jnp.array([[3.0, 4.0], [0.3, 0.4]])}
      >>> summed, n = gradtx.per_example_global_norm_clip(grads, 1.0)
      >>> summed["w"], n
      (Array([0.90000004, 1.2       ], dtype=float32), Array(1, dtype=int32))

    .. note::
       Optax: ``optax.per_example_global_norm_clip(grads, l2_norm_clip)``, same numbers. Not a
       transformation (it changes the shapes): use it before the optimizer, as DP-SGD does.
    """
    checks.non_negative("l2_norm_clip", l2_norm_clip)
    leaves = _leaves_with_batch("per_example_global_norm_clip", grads)
    summed, num_clipped = _clip_and_sum(leaves, l2_norm_clip)
    return jax.tree.unflatten(jax.tree.structure(grads), summed), num_clipped


def per_example_layer_norm_clip(
    grads: Any, global_l2_norm_clip: Any, uniform: bool = True
) -> tuple[Any, Any]:
    r"""Clip each example's gradient leaf by leaf (per layer), and sum over the examples.

    Leaf :math:`l` is clipped to :math:`C_l`, chosen so that the clipped global norm is at
    most :math:`C`: :math:`C_l = C / \sqrt{L}` for ``uniform`` (:math:`L` leaves), else
    :math:`C_l = C \sqrt{n_l / n}` (:math:`n_l` entries per example in leaf :math:`l`, :math:`n` in all).

    Args:
      grads: Per-example gradients: every leaf has the examples along axis 0.
      global_l2_norm_clip: :math:`C \ge 0`.
      uniform: Split :math:`C` evenly between leaves, or in proportion to their sizes.

    Returns:
      ``(summed, num_clipped)``: two trees shaped like the params, the sums of the clipped
      gradients and the number of examples clipped in each leaf.

    Raises:
      ValueError: If the leaves do not share a leading batch dimension.

    Examples:
      >>> grads = {"a": jnp.array([[3.0], [0.1]]), "b": jnp.array([[4.0], [0.1]])}
      >>> summed, n = gradtx.per_example_layer_norm_clip(grads, 2.0 ** 0.5)
      >>> summed["a"], n["a"]
      (Array([1.1], dtype=float32), Array(1, dtype=int32))

    .. note::
       Optax: ``optax.per_example_layer_norm_clip(grads, global_l2_norm_clip, uniform)``, same
       numbers.
    """
    checks.non_negative("global_l2_norm_clip", global_l2_norm_clip)
    checks.boolean("uniform", uniform)
    leaves = _leaves_with_batch("per_example_layer_norm_clip", grads)
    if uniform:
        clips = [global_l2_norm_clip * (1.0 / len(leaves)) ** 0.5 for _ in leaves]
    else:
        total = sum(g[0].size for g in leaves)
        clips = [global_l2_norm_clip * (g[0].size / total) ** 0.5 for g in leaves]
    results = [_clip_and_sum([g], c) for g, c in zip(leaves, clips)]
    treedef = jax.tree.structure(grads)
    return (
        jax.tree.unflatten(treedef, [summed[0] for summed, _ in results]),
        jax.tree.unflatten(treedef, [n for _, n in results]),
    )
