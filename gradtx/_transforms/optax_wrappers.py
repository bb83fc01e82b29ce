"""Optax's spellings of gradtx combinators: ``multi_transform``, ``flatten``, ``inject_stateful_hyperparams``."""

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import PartitionState, _check_transform, partition
from gradtx._transforms.hyperparams import InjectHyperparamsState, inject_hyperparams

MultiTransformState = PartitionState
"""State of :func:`multi_transform`: Optax's name for :class:`PartitionState`."""

InjectStatefulHyperparamsState = InjectHyperparamsState
"""State of :func:`inject_stateful_hyperparams`: Optax's name for :class:`InjectHyperparamsState`."""


@transformation(complex_params="native")
def multi_transform(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Give each group of parameters its own transformation: Optax's name for :func:`partition`.

    Args:
      transforms: Label -> the transformation for the leaves with that label.
      param_labels: A tree of labels shaped like the params (or a prefix), or a callable
        ``params -> labels``.
      mask_compatible_extra_args: Also give each group only its leaves of the extra
        ``update`` arguments that are trees shaped like the updates.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`MultiTransformState`
      (:class:`PartitionState`).

    Examples:
      >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
      >>> tx = gradtx.multi_transform({"fast": gradtx.sgd(1.0), "slow": gradtx.sgd(0.1)},
      ...                             {"w": "fast", "b": "slow"})
      >>> tx.update(params, tx.init(params))[0]
      {'b': Array([-0.1, -0.1], dtype=float32), 'w': Array([-1., -1.], dtype=float32)}

    .. note::
       Optax: ``optax.multi_transform(transforms, param_labels, *, mask_compatible_extra_args)``,
       same arguments and numbers; gradtx's state keeps no entry for leaves of other groups
       (they are :class:`MaskedNode`, as in Optax).
    """
    return partition(transforms, param_labels, mask_compatible_extra_args=mask_compatible_extra_args)


def _flat(tree: Any) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.concatenate([jnp.reshape(x, (-1,)) for x in leaves])


def _unflat(like: Any, flat: jax.Array) -> Any:
    leaves, treedef = jax.tree.flatten(like)
    ends = np.cumsum([np.size(x) for x in leaves])[:-1]
    pieces = jnp.split(flat, ends)
    return jax.tree.unflatten(treedef, [jnp.reshape(piece, jnp.shape(x)) for piece, x in zip(pieces, leaves)])


@transformation
def flatten(inner: GradientTransformation) -> GradientTransformation:
    """Run ``inner`` on one vector: all leaves raveled and concatenated (params too).

    Fewer, larger operations for optimizers with many small leaves; the updates come back in
    the params' structure. Leaves should share a dtype (concatenation promotes them).

    Args:
      inner: The transformation to run on the concatenated vector.

    Returns:
      A :class:`GradientTransformation` whose state is ``inner``'s state for the vector.

    Examples:
      >>> tx = gradtx.flatten(gradtx.sgd(1.0))
      >>> params = {"a": jnp.ones(2), "b": jnp.ones((1, 1))}
      >>> tx.update(params, tx.init(params))[0]["b"]
      Array([[-1.]], dtype=float32)

    .. note::
       Optax: ``optax.flatten(inner)``, same numbers and state. :func:`flatten_params` is
       gradtx's own flat layout (buckets by dtype, the params stay flat between steps).
    """
    inner = _check_transform("flatten", "`inner`", inner)

    def init(params: Params) -> State:
        return inner.init(_flat(params))

    def update(
        updates: Updates, state: State, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, State]:
        flat_params = None if params is None else _flat(params)
        new, state = inner.update(_flat(updates), state, flat_params, **extra_args)
        return _unflat(updates, new), state

    return GradientTransformation(init, update)


def inject_stateful_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformation]:
    """Optax's deprecated name for :func:`inject_hyperparams` (which it forwards to).

    Examples:
      >>> tx = gradtx.inject_stateful_hyperparams(gradtx.sgd)(learning_rate=0.1)
      >>> gradtx.get_hyperparams(tx.init(jnp.zeros(1)))["learning_rate"]
      Array(0.1, dtype=float32)

    .. note::
       Optax: ``optax.inject_stateful_hyperparams(inner_factory, static_args, hyperparam_dtype)``
       returns ``inject_hyperparams(...)`` (after a ``DeprecationWarning``); so does gradtx,
       without the warning. Optax's stateful schedules (``WrappedSchedule``) are not supported:
       pass plain schedules.
    """
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
