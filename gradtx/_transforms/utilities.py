"""Tree utilities Optax exports next to its transformations: target-network updates, gradient scaling,
and mapping a function over the parameter-shaped parts of a state."""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gradtx._core.base import Params


def _is_none(x: Any) -> bool:
    return x is None


def incremental_update(new_tensors: Params, old_tensors: Params, step_size: Any) -> Params:
    r"""Move ``old_tensors`` a fraction ``step_size`` of the way to ``new_tensors`` (Polyak averaging).

    .. math::

       o \leftarrow \tau n + (1 - \tau) o

    Args:
      new_tensors: The latest values (e.g. the online network's params).
      old_tensors: The values to move (e.g. a target network's params), shaped alike.
      step_size: :math:`\tau \in [0, 1]`.

    Returns:
      The updated ``old_tensors`` (``None`` leaves stay ``None``).

    Examples:
      >>> gradtx.incremental_update(jnp.array([1.0]), jnp.array([0.0]), 0.25)
      Array([0.25], dtype=float32)

    .. note::
       Optax: ``optax.incremental_update(new_tensors, old_tensors, step_size)``, same numbers.
    """

    def leaf(new: Any, old: Any) -> Any:
        if new is None:
            return None
        return (step_size * new + (1.0 - step_size) * old).astype(jnp.result_type(new, old))

    return jax.tree.map(leaf, new_tensors, old_tensors, is_leaf=_is_none)


def periodic_update(new_tensors: Params, old_tensors: Params, steps: Any, update_period: Any) -> Params:
    """``new_tensors`` when ``steps`` is a multiple of ``update_period``, else ``old_tensors``.

    A ``lax.cond``, so ``steps`` may be traced (a target network copied every ``update_period`` steps).

    Examples:
      >>> gradtx.periodic_update(jnp.ones(1), jnp.zeros(1), 4, 2)
      Array([1.], dtype=float32)

    .. note::
       Optax: ``optax.periodic_update(new_tensors, old_tensors, steps, update_period)``, the same.
    """
    return jax.lax.cond(jnp.mod(steps, update_period) == 0, lambda: new_tensors, lambda: old_tensors)


@jax.custom_vjp
def _scaled_backward(inputs: Any, scale: Any) -> Any:
    del scale  # Used by the backward pass only.
    return inputs


def _scaled_backward_fwd(inputs: Any, scale: Any) -> tuple[Any, Any]:
    return inputs, scale


def _scaled_backward_bwd(scale: Any, cotangent: Any) -> tuple[Any, None]:
    return jax.tree.map(lambda g: (g * scale).astype(g.dtype), cotangent), None


_scaled_backward.defvjp(_scaled_backward_fwd, _scaled_backward_bwd)


def scale_gradient(inputs: Any, scale: Any) -> Any:
    """The identity on ``inputs`` whose gradient is multiplied by ``scale`` in the backward pass.

    ``scale = 0`` stops the gradient (``lax.stop_gradient``); ``scale = 1`` returns ``inputs``.

    Args:
      inputs: A pytree of arrays.
      scale: The factor applied to the cotangents flowing back through ``inputs``.

    Returns:
      ``inputs``, unchanged in the forward pass.

    Examples:
      >>> jax.grad(lambda x: gradtx.scale_gradient(x, 0.5) ** 2)(3.0)
      Array(3., dtype=float32)

    .. note::
       Optax: ``optax.scale_gradient(inputs, scale)``, the same.
    """
    if isinstance(scale, int | float):
        if scale == 1.0:
            return inputs
        if scale == 0.0:
            return jax.lax.stop_gradient(inputs)
    return _scaled_backward(inputs, scale)


@jax.tree_util.register_pytree_node_class
class _ParamsMarker:
    """An empty pytree standing for the params: ``init(marker)`` shows where a state holds param-shaped trees."""

    def tree_flatten(self) -> tuple[tuple[()], None]:
        return (), None

    @classmethod
    def tree_unflatten(cls, aux: Any, children: Any) -> "_ParamsMarker":
        del aux, children
        return cls()


def tree_map_params(
    initable: Any,
    f: Callable[..., Any],
    state: Any,
    /,
    *rest: Any,
    transform_non_params: Callable[..., Any] | None = None,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` to every leaf of the parameter-shaped parts of an optimizer state.

    Finds those parts by calling ``init`` on a marker standing for the params: wherever the
    resulting state holds the marker, ``state`` holds a tree shaped like the params (a
    moment, an average). Use it to shard, cast or re-place the params' companions.

    Args:
      initable: A transformation (anything with ``init``) or an ``init`` function.
      f: Applied to each leaf of each parameter-shaped subtree (with the matching leaves of ``rest``).
      state: The state built by ``initable.init(params)``.
      *rest: Trees shaped like the params, passed to ``f`` as further arguments.
      transform_non_params: If given, applied to every other leaf of the state (counts, ...).
      is_leaf: Passed to ``jax.tree.map`` over the parameter-shaped subtrees.

    Returns:
      ``state`` with ``f`` applied to its parameter-shaped parts.

    Examples:
      >>> tx = gradtx.adam(1e-3)
      >>> state = tx.init({"w": jnp.ones(2)})
      >>> state = gradtx.tree_map_params(tx, lambda p: p + 1, state)
      >>> state[0].mu["w"], state[0].count
      (Array([1., 1.], dtype=float32), Array(0, dtype=int32))

    .. note::
       Optax: ``optax.tree_map_params(initable, f, state, /, *rest, transform_non_params=..., is_leaf=...)``,
       the same.
    """
    marker = _ParamsMarker()
    init = getattr(initable, "init", initable)
    marked = init(marker)

    def visit(maybe_marker: Any, value: Any) -> Any:
        if isinstance(maybe_marker, _ParamsMarker):
            return jax.tree.map(f, value, *rest, is_leaf=is_leaf)
        if transform_non_params is not None:
            return transform_non_params(value)
        return value

    return jax.tree.map(visit, marked, state, is_leaf=lambda v: isinstance(v, _ParamsMarker))
