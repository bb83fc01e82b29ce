"""Combinators: run transformations one after another, or on parts of the tree."""

from __future__ import annotations

import inspect
from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

import jax

from gradtx._core.base import GradientTransformation, Params, State, Updates, active_path, transformation
from gradtx._core.paths import Mask, resolve_labels, resolve_mask
from gradtx._core.tree import flatten_up_to


def _accepts_extra_args(update: Any) -> bool:
    """Whether ``update`` takes ``**kwargs`` (every gradtx transformation, Optax's ``...ExtraArgs``)."""
    try:
        parameters = inspect.signature(update).parameters.values()
    except (TypeError, ValueError):  # A builtin or C callable: assume it takes what it is given.
        return True
    return any(p.kind is p.VAR_KEYWORD for p in parameters)


def _check_transform(fn: str, where: str, tx: Any) -> GradientTransformation:
    """``tx`` as a :class:`GradientTransformation` whose ``update`` accepts extra keyword arguments.

    A foreign transformation (an ``optax.GradientTransformation`` without extra-args support)
    gets an ``update`` that drops them, as ``optax.chain`` does, so ``value=`` meant for one part
    of a chain never breaks another part.
    """
    init: Any = getattr(tx, "init", None)
    update: Any = getattr(tx, "update", None)
    if not all(callable(f) for f in (init, update)):
        raise TypeError(f"{fn}: {where} must be a GradientTransformation, got {type(tx).__name__}: {tx!r}.")
    if _accepts_extra_args(update):
        return tx if isinstance(tx, GradientTransformation) else GradientTransformation(init, update)

    def update_without_extra_args(
        updates: Updates, state: State, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, State]:
        del extra_args  # This transformation does not take them.
        result: tuple[Updates, State] = update(updates, state, params)
        return result

    return GradientTransformation(init, update_without_extra_args)


def _masked_extra_args(extra_args: dict[str, Any], updates: Updates, keep: list[bool]) -> dict[str, Any]:
    """The extra arguments shaped like ``updates``, restricted to the kept leaves (Optax's
    ``mask_compatible_extra_args``); the others unchanged."""
    structure: Any = jax.tree.structure(updates, is_leaf=_is_none)  # a PyTreeDef (no stub: mypy refuses its `==`)
    return {
        name: _select(value, keep) if jax.tree.structure(value, is_leaf=_is_none) == structure else value
        for name, value in extra_args.items()
    }


def _check_state_length(states: Any, n: int) -> None:
    if not isinstance(states, tuple) or len(states) != n:
        got = f"a {type(states).__name__} of length {len(states)}" if isinstance(states, tuple) else type(states).__name__
        raise ValueError(f"{active_path()}: expected the state of {n} transformations (a tuple), got {got}.")


@transformation(complex_params="native")
def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations one after the other; the state is the tuple of their states.

    Extra keyword arguments given to ``update`` (``value=``, ...) reach every part that
    accepts them: every gradtx transformation does; a plain ``optax.GradientTransformation``
    does not, and gets none (as in ``optax.chain``).

    Examples:
      >>> tx = gradtx.chain(gradtx.scale_by_adam(b1=0.8), gradtx.scale(-0.1))
      >>> tx
      chain(scale_by_adam(b1=0.8), scale(step_size=-0.1))
    """
    transforms = tuple(_check_transform("chain", f"part {i}", t) for i, t in enumerate(transforms))

    def init(params: Params) -> tuple[State, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(
        updates: Updates, state: tuple[State, ...], params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, tuple[State, ...]]:
        _check_state_length(state, len(transforms))
        new_state = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params, **extra_args)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


@transformation(complex_params="native")
def named_chain(*transforms: tuple[str, GradientTransformation]) -> GradientTransformation:
    """:func:`chain` whose state is a dict keyed by the given names, for readable states.

    Examples:
      >>> tx = gradtx.named_chain(("adam", gradtx.scale_by_adam()), ("lr", gradtx.scale(-0.1)))
      >>> list(tx.init(jnp.zeros(2)))
      ['adam', 'lr']
    """
    names = []
    for i, item in enumerate(transforms):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError(f"named_chain: part {i} must be a (name, transformation) pair, got {item!r}.")
        names.append(item[0])
    if len(set(names)) != len(names):
        raise ValueError(f"named_chain: names must be unique, got {names}.")
    parts = {name: _check_transform("named_chain", f"part {name!r}", t) for name, t in transforms}

    def init(params: Params) -> dict[str, State]:
        return {name: t.init(params) for name, t in parts.items()}

    def update(
        updates: Updates, state: dict[str, State], params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, dict[str, State]]:
        if not isinstance(state, dict) or set(state) != set(parts):
            raise ValueError(f"{active_path()}: expected a state dict with keys {names}, got {state!r:.200}.")
        new_state = {}
        for name, t in parts.items():
            updates, new_state[name] = t.update(updates, state[name], params, **extra_args)
        return updates, new_state

    return GradientTransformation(init, update)


# ----------------------------------------------------------------------------- masks


class MaskedNode(NamedTuple):
    """Stands in for a leaf that a :func:`masked` or :func:`partition` part does not see.

    An empty pytree node: it has no leaves, so inner states hold nothing for it.
    """


def _is_none(x: Any) -> bool:
    return x is None


def _select(tree: Any, keep: list[bool]) -> Any:
    leaves, treedef = jax.tree.flatten(tree, is_leaf=_is_none)
    return jax.tree.unflatten(treedef, [x if k else MaskedNode() for x, k in zip(leaves, keep)])


def _merge(tree: Any, parts: list[tuple[Any, list[bool]]]) -> Any:
    """Leaves of ``tree``, replaced by the leaves of each part where its mask is set."""
    leaves, treedef = jax.tree.flatten(tree, is_leaf=_is_none)
    for part, keep in parts:
        part_leaves = flatten_up_to(treedef, part)
        leaves = [p if k else x for x, p, k in zip(leaves, part_leaves, keep)]
    return jax.tree.unflatten(treedef, leaves)


class MaskedState(NamedTuple):
    """State of :func:`masked`."""

    inner_state: State  # the inner transformation's state, built on the selected leaves only


@transformation(complex_params="native")
def masked(
    inner: GradientTransformation, mask: Mask, *, mask_compatible_extra_args: bool = False
) -> GradientTransformation:
    """Apply ``inner`` to the leaves selected by ``mask``; pass the others through unchanged.

    ``inner`` sees a tree in which the unselected leaves are :class:`MaskedNode` (empty),
    so it keeps no state for them.

    Args:
      inner: The transformation for the selected leaves.
      mask: A tree of Python bools shaped like the params (or a prefix of them), a
        callable ``params -> mask`` (called with the updates in ``update``), or path
        patterns (a regex or a list of them matching the selected leaves' paths, see
        :func:`path_labels`).
      mask_compatible_extra_args: Also restrict extra ``update`` arguments that are trees
        shaped like the updates to the selected leaves (Optax's argument).

    Examples:
      >>> params = {"w": jnp.ones(1), "b": jnp.ones(1)}
      >>> tx = gradtx.masked(gradtx.scale(0.0), {"w": True, "b": False})
      >>> tx.update(params, tx.init(params))[0]
      {'b': Array([1.], dtype=float32), 'w': Array([0.], dtype=float32)}
    """
    inner = _check_transform("masked", "`inner`", inner)

    def init(params: Params) -> MaskedState:
        keep = resolve_mask("masked", mask, params)
        return MaskedState(inner.init(_select(params, keep)))

    def update(
        updates: Updates, state: MaskedState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MaskedState]:
        keep = resolve_mask("masked", mask, updates)
        sub_params = None if params is None else _select(params, keep)
        if mask_compatible_extra_args:
            extra_args = _masked_extra_args(extra_args, updates, keep)
        new, inner_state = inner.update(_select(updates, keep), state.inner_state, sub_params, **extra_args)
        return _merge(updates, [(new, keep)]), MaskedState(inner_state)

    return GradientTransformation(init, update)


class PartitionState(NamedTuple):
    """State of :func:`partition`."""

    inner_states: dict[Hashable, State]  # label -> that group's state (on its leaves only)


@transformation(complex_params="native")
def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any,
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformation:
    """Give each group of parameters its own transformation (torch's ``param_groups``).

    Args:
      transforms: Label -> the transformation for the leaves with that label.
      param_labels: A tree of labels shaped like the params (or a prefix), or a callable
        ``params -> labels`` such as :func:`path_labels`.
      mask_compatible_extra_args: Also give each group only its leaves of the extra
        ``update`` arguments that are trees shaped like the updates (Optax's argument).

    Raises:
      ValueError: In ``init``/``update``, when a leaf carries a label that ``transforms``
        does not have.

    Examples:
      >>> params = {"w": jnp.ones(2), "b": jnp.ones(2)}
      >>> tx = gradtx.partition({"fast": gradtx.sgd(1.0), "slow": gradtx.sgd(0.1)},
      ...                       {"w": "fast", "b": "slow"})
      >>> tx.update(params, tx.init(params))[0]
      {'b': Array([-0.1, -0.1], dtype=float32), 'w': Array([-1., -1.], dtype=float32)}
    """
    if not isinstance(transforms, Mapping) or not transforms:
        raise TypeError(f"partition: `transforms` must be a non-empty dict label -> transformation, got {transforms!r}.")
    parts = {label: _check_transform("partition", f"transforms[{label!r}]", t) for label, t in transforms.items()}

    def groups(tree: Any) -> dict[Hashable, list[bool]]:
        per_leaf = resolve_labels("partition", param_labels, tree)
        unknown = sorted({repr(label) for label in per_leaf} - {repr(label) for label in parts})
        if unknown:
            raise ValueError(
                f"partition: labels {', '.join(unknown)} have no transformation; `transforms` has {list(parts)}."
            )
        return {label: [leaf_label == label for leaf_label in per_leaf] for label in parts}

    def init(params: Params) -> PartitionState:
        return PartitionState({label: parts[label].init(_select(params, keep)) for label, keep in groups(params).items()})

    def update(
        updates: Updates, state: PartitionState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, PartitionState]:
        new_states, outputs = {}, []
        for label, keep in groups(updates).items():
            sub_params = None if params is None else _select(params, keep)
            group_extra_args = _masked_extra_args(extra_args, updates, keep) if mask_compatible_extra_args else extra_args
            new, new_states[label] = parts[label].update(
                _select(updates, keep), state.inner_states[label], sub_params, **group_extra_args
            )
            outputs.append((new, keep))
        return _merge(updates, outputs), PartitionState(new_states)

    return GradientTransformation(init, update)
