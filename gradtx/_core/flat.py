"""Flat parameters: a model's leaves packed into a few contiguous buckets.

XLA compiles and launches a kernel per leaf and per output, so an optimizer over a tree of
thousands of small leaves costs thousands of tiny kernels every step and a compile time that
grows faster than linearly in the number of leaves. When the parameters themselves live in
one buffer per dtype, the whole optimizer step is a handful of kernels over a few long
arrays, whatever the number of leaves.

:func:`flatten_params` packs a tree into a :class:`FlatParams`: a pytree whose leaves are
those buckets. Every transformation whose result does not depend on where one leaf ends
and the next begins (elementwise rules, global norms, schedules, averaging, ...) runs on it
unchanged and gives the same numbers as on the original tree. The model reads its
parameters with :meth:`FlatParams.unflatten`, whose gradient comes back as one
concatenation per bucket, so ``jax.grad`` with respect to a ``FlatParams`` returns a
``FlatParams`` of gradients at no extra cost per leaf.

Transformations that look at individual leaves (factored or blockwise second moments,
per-layer trust ratios, masks and partitions by path, Muon's matrices, ...) are declared
with ``@transformation(needs_leaves=True)`` and refuse a ``FlatParams`` in ``init`` with a
``TypeError``, so the two layouts never silently disagree.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


class _Slot(NamedTuple):
    """Where one leaf of the original tree lives inside a :class:`FlatParams`."""

    bucket: int  # index of its bucket, or -1 when the leaf is kept as it is
    position: int  # its index inside the bucket's leaf list, or inside ``kept``
    shape: tuple[int, ...]


class _Layout(NamedTuple):
    treedef: Any
    slots: tuple[_Slot, ...]
    bucket_sizes: tuple[tuple[int, ...], ...]  # per bucket, the sizes of its leaves in order


def _bucket_key(leaf: Any) -> Any:
    """Leaves share a bucket when this key is equal; ``None`` keeps a leaf on its own."""
    if not isinstance(leaf, jax.Array | jnp.ndarray) or not jnp.issubdtype(leaf.dtype, jnp.floating):
        return None  # integers and other non-float leaves pass through transformations anyway
    sharding = getattr(leaf, "sharding", None)
    if sharding is not None and not isinstance(leaf, jax.core.Tracer):
        if not sharding.is_fully_replicated:
            return None  # a sharded leaf keeps its own (sharded) layout and state (SPEC §5)
        return (jnp.dtype(leaf.dtype), sharding)
    return (jnp.dtype(leaf.dtype), None)


@jax.tree_util.register_pytree_node_class
class FlatParams:
    """Parameters packed into one flat buffer per dtype (see :func:`flatten_params`).

    Its pytree leaves are the buckets followed by the leaves kept as they are (non-float
    leaves and leaves sharded across devices). Use :meth:`unflatten` to get the original
    tree back, e.g. inside the loss function.
    """

    __slots__ = ("_layout", "buckets", "kept")

    def __init__(self, buckets: tuple[jax.Array, ...], kept: tuple[Any, ...], layout: _Layout):
        self.buckets = tuple(buckets)
        self.kept = tuple(kept)
        self._layout = layout

    def tree_flatten(self) -> tuple[tuple[Any, ...], _Layout]:
        return self.buckets + self.kept, self._layout

    @classmethod
    def tree_unflatten(cls, layout: _Layout, children: Any) -> FlatParams:
        children = tuple(children)
        n = len(layout.bucket_sizes)
        return cls(children[:n], children[n:], layout)

    @property
    def num_leaves(self) -> int:
        """The number of leaves of the original tree."""
        return len(self._layout.slots)

    def unflatten(self) -> Any:
        """The original tree: each leaf a slice of its bucket, reshaped.

        Differentiable: the gradient of the slices with respect to a bucket is a single
        concatenation, so ``jax.grad`` over a ``FlatParams`` costs nothing per leaf.
        """
        layout = self._layout
        # Outside a trace, one compiled program per layout: op by op, thousands of slices would
        # each be dispatched (and first compiled) on their own.
        traced = any(isinstance(b, jax.core.Tracer) for b in self.buckets)
        split = _split_buckets if traced else _split_buckets_eagerly
        parts = split(self.buckets, layout.bucket_sizes, tuple(s for s in layout.slots))
        leaves = [self.kept[s.position] if s.bucket < 0 else parts[s.bucket][s.position] for s in layout.slots]
        return jax.tree_util.tree_unflatten(layout.treedef, leaves)

    def pack(self, tree: Any) -> FlatParams:
        """Pack another tree of the same structure, shapes and dtypes with this layout.

        Use it for gradients computed with respect to the unflattened tree, or to load a
        checkpoint of per-leaf values into flat form.
        """
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        if treedef != self._layout.treedef:
            raise ValueError(
                "FlatParams.pack: `tree` must have the structure of the flattened params; "
                f"expected {self._layout.treedef}, got {treedef}."
            )
        for i, (leaf, slot) in enumerate(zip(leaves, self._layout.slots, strict=True)):
            if tuple(jnp.shape(leaf)) != slot.shape:
                raise ValueError(
                    f"FlatParams.pack: leaf {i} of `tree` has shape {tuple(jnp.shape(leaf))}, "
                    f"the flattened params have {slot.shape} there."
                )
        return _pack(leaves, self._layout, [b.dtype for b in self.buckets])

    def __repr__(self) -> str:
        buckets = ", ".join(f"{b.dtype}[{b.size}]" for b in self.buckets)
        return f"FlatParams({self.num_leaves} leaves in buckets [{buckets}], {len(self.kept)} kept)"


def _split_buckets(
    buckets: tuple[jax.Array, ...], bucket_sizes: tuple[tuple[int, ...], ...], slots: tuple[_Slot, ...]
) -> list[list[jax.Array]]:
    """Each bucket cut into its leaves, reshaped: ``parts[bucket][position]`` (for use under a trace)."""
    parts = [list(lax.split(b, sizes)) for b, sizes in zip(buckets, bucket_sizes, strict=True)]
    for s in slots:
        if s.bucket >= 0:
            parts[s.bucket][s.position] = parts[s.bucket][s.position].reshape(s.shape)
    return parts


@functools.partial(jax.jit, static_argnums=(2, 3))
def _leaf_of(bucket: jax.Array, start: jax.Array, size: int, shape: tuple[int, ...]) -> jax.Array:
    return lax.dynamic_slice_in_dim(bucket, start, size).reshape(shape)


def _split_buckets_eagerly(
    buckets: tuple[jax.Array, ...], bucket_sizes: tuple[tuple[int, ...], ...], slots: tuple[_Slot, ...]
) -> list[list[jax.Array]]:
    """:func:`_split_buckets` outside a trace: one small program per distinct leaf shape, the offset an
    argument. (A static slice per leaf would compile once per leaf: minutes for thousands of leaves.)"""
    starts = [np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32) for sizes in bucket_sizes]
    parts: list[list[Any]] = [[None] * len(sizes) for sizes in bucket_sizes]
    for s in slots:
        if s.bucket >= 0:
            size = bucket_sizes[s.bucket][s.position]
            parts[s.bucket][s.position] = _leaf_of(buckets[s.bucket], starts[s.bucket][s.position], size, s.shape)
    return parts


def _pack(leaves: list[Any], layout: _Layout, dtypes: list[Any]) -> FlatParams:
    members: list[list[jax.Array]] = [[] for _ in layout.bucket_sizes]
    kept = []
    for leaf, slot in zip(leaves, layout.slots, strict=True):
        if slot.bucket < 0:
            kept.append(leaf)
        else:
            members[slot.bucket].append(leaf)
    if any(isinstance(x, jax.core.Tracer) for m in members for x in m):
        buckets = tuple(jnp.concatenate([jnp.ravel(x).astype(d) for x in m]) for m, d in zip(members, dtypes))
    else:  # Concatenated by NumPy: op by op, thousands of leaves would each dispatch (and compile) a program.
        buckets = tuple(
            jnp.asarray(np.concatenate([np.asarray(x, dtype=d).ravel() for x in m])) for m, d in zip(members, dtypes)
        )
    return FlatParams(buckets, tuple(kept), layout)


def flatten_params(params: Any) -> FlatParams:
    """Pack a tree of parameters into one flat buffer per dtype (and replicated sharding).

    Float leaves of the same dtype and sharding are concatenated, in tree order, into one
    1-D bucket; leaves that are sharded across devices (a ``NamedSharding`` that is not
    fully replicated) and non-float leaves are kept as they are, so sharded state stays
    sharded like its parameter. Optimizer state built with ``tx.init(flat)`` mirrors the
    buckets, so its size is unchanged; the step over a ``FlatParams`` is a few kernels over
    long arrays instead of several per leaf, and compiles in time independent of the
    number of leaves.

    Use it when a model has many (hundreds or more) small leaves: the optimizer step then
    costs what one big leaf costs. Keep the default per-leaf layout when a transformation
    needs the leaves (e.g. ``adafactor``, ``muon``, ``lamb``, masks and partitions: their
    ``init`` raises ``TypeError`` on a ``FlatParams``) or when the leaves are few and large
    (nothing to gain).

    Args:
      params: A pytree of arrays.

    Returns:
      A :class:`FlatParams`; ``flatten_params(p).unflatten()`` equals ``p``.

    Examples:
      >>> params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
      >>> flat = gradtx.flatten_params(params)
      >>> flat
      FlatParams(2 leaves in buckets [float32[9]], 0 kept)
      >>> tx = gradtx.sgd(0.1, momentum=0.9)
      >>> loss = lambda p: jnp.sum(p["w"] ** 2) + jnp.sum(p["b"])
      >>> grads = jax.grad(lambda f: loss(f.unflatten()))(flat)
      >>> updates, state = tx.update(grads, tx.init(flat), flat)
      >>> gradtx.apply_updates(flat, updates).unflatten()["b"]
      Array([-0.1, -0.1, -0.1], dtype=float32)
    """
    if isinstance(params, FlatParams):
        raise TypeError("flatten_params: `params` is already a FlatParams.")
    leaves, treedef = jax.tree_util.tree_flatten(params)
    keys: list[Any] = []
    sizes: list[list[int]] = []
    slots: list[_Slot] = []
    kept = 0
    index: dict[Any, int] = {}
    for leaf in leaves:
        key = _bucket_key(leaf)
        if key is None:
            slots.append(_Slot(-1, kept, tuple(jnp.shape(leaf))))
            kept += 1
            continue
        if key not in index:
            index[key] = len(keys)
            keys.append(key)
            sizes.append([])
        b = index[key]
        slots.append(_Slot(b, len(sizes[b]), tuple(leaf.shape)))
        sizes[b].append(math.prod(leaf.shape))
    layout = _Layout(treedef, tuple(slots), tuple(tuple(s) for s in sizes))
    flat = _pack(leaves, layout, [dtype for dtype, _ in keys])
    # A bucket of replicated leaves stays replicated on the same devices.
    buckets = tuple(
        b if sharding is None else jax.device_put(b, sharding) for b, (_, sharding) in zip(flat.buckets, keys)
    )
    return FlatParams(buckets, flat.kept, layout)
