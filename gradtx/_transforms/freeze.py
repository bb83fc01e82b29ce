"""Freezing parameters: zero updates, and no optimizer state, for the leaves a mask selects."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from gradtx._core import tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation
from gradtx._core.combine import _check_transform, _merge, _select
from gradtx._core.paths import Mask, resolve_mask


class FreezeState(NamedTuple):
    """State of :func:`freeze`."""

    inner_state: State | None  # the optimizer's state, built on the trainable leaves only; None without one


@transformation(complex_params="native")
def freeze(mask: Mask, *, inner: GradientTransformation | None = None) -> GradientTransformation:
    r"""Give the leaves selected by ``mask`` zero updates, and optimize the others with ``inner``.

    Frozen leaves keep their values and cost no optimizer state: ``inner`` is built on a
    tree in which they are empty (:class:`MaskedNode`), exactly as :func:`partition`
    does, so Adam allocates no moments for a frozen backbone. This is torch's
    ``requires_grad_(False)`` (or leaving the tensors out of the optimizer), for a
    pure optimizer.

    .. math::

       u_i = 0 \ \text{if leaf } i \text{ is frozen}, \qquad
       u_i = \text{inner}(g)_i \ \text{otherwise}

    Args:
      mask: The frozen leaves: a bool tree shaped like the params (or a prefix of it), a
        callable ``params -> bool tree``, or path patterns (see :func:`path_labels`).
      inner: The optimizer of the trainable leaves. ``None`` passes their updates through
        unchanged; use it for ``chain(optimizer, freeze(mask))`` when the optimizer's
        state for frozen leaves does not matter (it is still allocated).

    Returns:
      A :class:`GradientTransformation` whose state is :class:`FreezeState`.

    Examples:
      >>> params = {"backbone": jnp.ones(3), "head": jnp.ones(2)}
      >>> tx = gradtx.freeze("backbone", inner=gradtx.sgd(0.1, momentum=0.9))
      >>> state = tx.init(params)
      >>> [leaf.shape for leaf in jax.tree.leaves(state)]  # the head's momentum buffer only
      [(2,)]
      >>> tx.update(params, state)[0]
      {'backbone': Array([0., 0., 0.], dtype=float32), 'head': Array([-0.1, -0.1], dtype=float32)}

    .. note::
       PyTorch: ``p.requires_grad_(False)`` for the frozen tensors, or an optimizer
       given only the trainable ones. Optax: ``optax.multi_transform({"train": tx,
       "freeze": optax.set_to_zero()}, labels)``, which is ``freeze`` with labels instead
       of a mask.
    """
    inner = None if inner is None else _check_transform("freeze", "`inner`", inner)

    def split(tree_: Any) -> tuple[list[bool], list[bool]]:
        frozen = resolve_mask("freeze", mask, tree_)
        return frozen, [not f for f in frozen]

    def init(params: Params) -> FreezeState:
        _, trainable = split(params)
        return FreezeState(None if inner is None else inner.init(_select(params, trainable)))

    def update(
        updates: Updates, state: FreezeState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, FreezeState]:
        frozen, trainable = split(updates)
        zeros = tree.map_float(jnp.zeros_like, updates)
        if inner is None:
            return _merge(updates, [(zeros, frozen)]), state
        sub_params = None if params is None else _select(params, trainable)
        new, inner_state = inner.update(
            _select(updates, trainable), state.inner_state, sub_params, **extra_args
        )
        return _merge(updates, [(new, trainable), (zeros, frozen)]), FreezeState(inner_state)

    return GradientTransformation(init, update)
