"""Leaf paths, labels made from them, and masks.

A leaf's path is its keys joined by ``/``: ``{"encoder": {"dense": {"bias": b}}}`` gives
``"encoder/dense/bias"``; list and tuple positions are numbers (``"layers/0/kernel"``);
attributes of dataclass-like nodes are their names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

from gradtx._core.base import Params, active_path
from gradtx._core.flat import FlatParams, per_bucket
from gradtx._core.tree import flatten_up_to

Mask = Any
"""A pytree of Python bools shaped like the params (or a prefix of them), a callable
``params -> such a tree``, or path patterns: a regex string or a sequence of them, true for
the leaves whose path fully matches one of them."""


def _is_none(x: Any) -> bool:
    return x is None


def _key_str(key: Any) -> str:
    if isinstance(key, DictKey):
        return str(key.key)
    if isinstance(key, GetAttrKey):
        return str(key.name)
    if isinstance(key, SequenceKey):
        return str(key.idx)
    if isinstance(key, FlattenedIndexKey):
        return str(key.key)
    return str(key)


def path_str(path: Sequence[Any]) -> str:
    """The ``a/b/0`` form of a ``jax.tree_util`` key path."""
    return "/".join(_key_str(k) for k in path)


def leaf_paths(tree: Any) -> list[str]:
    """The path string of every leaf (``None`` counts as a leaf), in flattening order."""
    return [path_str(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_none)[0]]


def path_labels(rules: Mapping[str, Any], default: Any = None) -> Callable[[Params], Any]:
    """Labels for parameter groups, given by regular expressions over leaf paths.

    Returns a function ``params -> labels`` (a tree of labels shaped like ``params``) for
    :func:`partition`, or, with boolean labels, a mask for :func:`masked` and any
    ``weight_decay_mask``. A leaf gets the label of the first pattern that matches its
    whole path (``re.fullmatch``), else ``default``.

    Args:
      rules: Pattern -> label, tried in order.
      default: The label of leaves no pattern matches. ``None`` makes such a leaf an error.

    Examples:
      >>> params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
      >>> gradtx.path_labels({r".*bias|.*norm.*": "no_decay"}, default="decay")(params)
      {'dense': {'bias': 'no_decay', 'kernel': 'decay'}}
    """
    if not isinstance(rules, Mapping):
        raise TypeError(f"path_labels: `rules` must be a mapping pattern -> label, got {type(rules).__name__}.")
    compiled = []
    for pattern, label in rules.items():
        try:
            compiled.append((re.compile(pattern), label))
        except (re.error, TypeError) as e:
            raise ValueError(f"path_labels: {pattern!r} is not a valid regular expression: {e}.") from None

    def labels(params: Params) -> Any:
        def label_of(path: Sequence[Any], leaf: Any) -> Any:
            name = path_str(path)
            for regex, label in compiled:
                if regex.fullmatch(name):
                    return label
            if default is None:
                raise ValueError(
                    f"path_labels: no pattern matches the leaf {name!r} and no `default` was given. "
                    f"Patterns: {list(rules)}."
                )
            return default

        return jax.tree_util.tree_map_with_path(label_of, params, is_leaf=_is_none)

    labels.__name__ = f"path_labels({dict(rules)!r}, default={default!r})"
    return labels


def resolve_labels(fn: str, labels: Any, tree: Any) -> list[Any]:
    """One label per leaf of ``tree`` (``None`` counts as a leaf), from a labels argument.

    ``labels`` is a tree shaped like ``tree`` (or a prefix of it), or a callable returning one.
    On a :class:`FlatParams` they are resolved on its original leaves, one value per bucket.
    """
    if isinstance(tree, FlatParams):
        return per_bucket(_where(fn), "labels", tree, lambda specs: resolve_labels(fn, labels, specs))
    if callable(labels):
        labels = labels(tree)
    leaves, treedef = jax.tree.flatten(tree, is_leaf=_is_none)
    try:
        per_leaf = flatten_up_to(treedef, _broadcast_prefix(labels, tree))
    except (ValueError, TypeError):
        raise ValueError(
            f"{fn}: the labels do not match the params.\n"
            f"  params: {treedef}\n  labels: {jax.tree.structure(labels)}"
        ) from None
    return per_leaf


def _where(fn: str) -> str:
    """``fn``, or the transformations being run when there are any (``"adamw > masked"``)."""
    path = active_path()
    return fn if path == "gradtx" else path


def _broadcast_prefix(prefix: Any, tree: Any) -> Any:
    return jax.tree.map(
        lambda label, sub: jax.tree.map(lambda _: label, sub, is_leaf=_is_none),
        prefix,
        tree,
    )


def resolve_mask(fn: str, mask: Mask, tree: Any) -> list[bool]:
    """One Python bool per leaf of ``tree`` from a :data:`Mask` (per bucket on a :class:`FlatParams`)."""
    if isinstance(tree, FlatParams):
        return per_bucket(_where(fn), "mask", tree, lambda specs: resolve_mask(fn, mask, specs))
    if isinstance(mask, str) or (
        isinstance(mask, Sequence) and mask and all(isinstance(m, str) for m in mask)
    ):
        patterns = [mask] if isinstance(mask, str) else list(mask)
        regexes = [re.compile(p) for p in patterns]
        paths = leaf_paths(tree)
        flags = [any(r.fullmatch(p) for r in regexes) for p in paths]
        if paths and not any(flags):  # A typo would otherwise silently decay or freeze nothing.
            shown = ", ".join(repr(p) for p in paths[:8]) + (", ..." if len(paths) > 8 else "")
            raise ValueError(
                f"{fn}: the mask pattern{'s' if len(patterns) > 1 else ''} {patterns!r} match no leaf. "
                f"Patterns must match a whole path (re.fullmatch); the paths are: {shown}."
            )
        return flags
    flags = resolve_labels(fn, mask, tree)
    for flag in flags:
        if not isinstance(flag, bool):
            raise TypeError(
                f"{fn}: a mask must hold Python bools (it decides the structure of the computation), "
                f"got a {type(flag).__name__} leaf: {flag!r}."
            )
    return flags

