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

Masks and parameter groups run on it too (``masked``, ``partition``/``multi_transform``,
``freeze``, ``selective_transform`` and every optimizer's weight-decay ``mask``): a
``FlatParams`` remembers where each of its leaves came from, so a mask written for the params
tree (path patterns, a bool tree, a callable of the params) is resolved leaf by leaf and must
then be uniform over each bucket. ``flatten_params(params, labels=mask)`` splits the buckets by
label as well as by dtype and sharding so that it is (one bucket of decayed matrices, one of
biases and norms); a mask that splits a bucket raises a ``ValueError`` saying so.

Per-leaf norms (the trust ratios of LAMB, LARS and Fromage, NovoGrad's second moment) run on
the buckets too: :func:`leaf_sums_of_squares` and :func:`leaf_scale` reduce and rescale every
leaf of a bucket in one pass by static segment ids (:func:`segment_sums`, :func:`segment_scale`).
Transformations that need the leaves' shapes (factored or blockwise second moments, Muon's
matrices, ...) are declared with ``@transformation(needs_leaves=True)`` and refuse a
``FlatParams`` in ``init`` with a ``TypeError``, so the two layouts never silently disagree.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax import lax


class _Slot(NamedTuple):
    """Where one leaf of the original tree lives inside a :class:`FlatParams`."""

    bucket: int  # index of its bucket, or -1 when the leaf is kept as it is
    position: int  # its index inside the bucket's leaf list, or inside ``kept``
    shape: tuple[int, ...]
    dtype: Any  # the leaf's dtype (a NumPy dtype), or None for a leaf that has none


class _Layout(NamedTuple):
    treedef: Any
    slots: tuple[_Slot, ...]
    bucket_sizes: tuple[tuple[int, ...], ...]  # per bucket, the sizes of its leaves in order
    bucket_labels: tuple[Hashable, ...]  # per bucket, its label (all None without ``labels``)


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

    @property
    def labels(self) -> tuple[Hashable, ...]:
        """Each bucket's label (see ``flatten_params(..., labels=...)``; ``None`` without labels)."""
        return self._layout.bucket_labels

    def leaf_paths(self) -> list[str]:
        """The path (``"layer0/attn/kernel"``) of every leaf of the original tree, in its order."""
        from gradtx._core.paths import path_str  # paths -> base -> flat: imported on use

        skeleton = jax.tree_util.tree_unflatten(self._layout.treedef, [0] * len(self._layout.slots))
        return [path_str(p) for p, _ in jax.tree_util.tree_flatten_with_path(skeleton)[0]]

    def leaf_specs(self) -> Any:
        """The original tree with a ``jax.ShapeDtypeStruct`` for each leaf.

        Masks and labels written for the params tree (a callable such as
        ``lambda p: jax.tree.map(lambda x: x.ndim > 1, p)``, or :func:`path_labels`) are
        evaluated on it when they meet a ``FlatParams``.
        """
        specs = [jax.ShapeDtypeStruct(s.shape, s.dtype if s.dtype is not None else jnp.float32) for s in self._layout.slots]
        return jax.tree_util.tree_unflatten(self._layout.treedef, specs)

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

    def stacked(self, label: Hashable) -> jax.Array:
        """The bucket labelled ``label`` as the stack of its leaves, shape ``(k, *leaf_shape)``.

        For a model that scans over its layers (``jax.lax.scan``): flatten with labels that
        name a leaf's role in its layer and not the layer (``"attn/q/kernel"`` for
        ``"layer007/attn/q/kernel"``), so that each bucket holds that leaf of every layer, in
        tree order, and read ``flat.stacked("attn/q/kernel")``: the ``(layers, d, d)`` array the
        scan indexes. It is a reshape of the bucket, no copy, and its gradient is the bucket's
        gradient; the model's graph then has one layer, whatever the depth, where
        :meth:`unflatten` cuts out every leaf of every layer.

        Raises:
          KeyError: If no bucket, or more than one (the label's leaves differ in dtype or
            sharding), has this label.
          ValueError: If the bucket's leaves differ in shape.
        """
        layout = self._layout
        found = [b for b, lab in enumerate(layout.bucket_labels) if _Distinct(lab) == _Distinct(label)]
        if len(found) != 1:
            raise KeyError(
                f"FlatParams.stacked: {len(found)} buckets have the label {label!r} (labels: "
                f"{sorted(set(map(repr, layout.bucket_labels)))}); it needs exactly one."
            )
        b = found[0]
        shapes = {s.shape for s in layout.slots if s.bucket == b}
        if len(shapes) != 1:
            raise ValueError(
                f"FlatParams.stacked: the leaves labelled {label!r} have different shapes {sorted(shapes)}, "
                "so they do not stack; label leaves of different shapes differently."
            )
        return self.buckets[b].reshape(len(layout.bucket_sizes[b]), *shapes.pop())

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
        def show(b: Any, label: Hashable) -> str:
            text = f"{b.dtype}[{b.size}]" if hasattr(b, "dtype") else type(b).__name__
            return text if label is None else f"{label!r}: {text}"

        buckets = ", ".join(show(b, label) for b, label in zip(self.buckets, self.labels, strict=True))
        return f"FlatParams({self.num_leaves} leaves in buckets [{buckets}], {len(self.kept)} kept)"


def per_bucket(fn: str, what: str, flat: FlatParams, resolve: Callable[[Any], list[Any]]) -> list[Any]:
    """One value per pytree leaf of ``flat``, from a mask or labels written for the original tree.

    ``resolve`` maps a tree to one value per leaf (``None`` counts as a leaf, as in
    :func:`resolve_labels`); it is called on :meth:`FlatParams.leaf_specs`. A bucket gets the
    value all its leaves share, a kept leaf its own; children that a
    ``masked``/``partition`` part does not see (``MaskedNode``, which has no pytree leaves) get
    none, so the result lines up with ``jax.tree.leaves(flat, is_leaf=lambda x: x is None)``.

    Raises:
      ValueError: If the leaves of one bucket disagree; the message names them and says to pass
        the mask or labels to :func:`flatten_params`.
    """
    layout = flat._layout
    specs = flat.leaf_specs()
    per_leaf = _without_none(specs, resolve(specs))
    values: list[dict[Any, list[int]]] = [{} for _ in layout.bucket_sizes]
    kept: list[Any] = [None] * len(flat.kept)
    for i, (slot, value) in enumerate(zip(layout.slots, per_leaf, strict=True)):
        if slot.bucket < 0:
            kept[slot.position] = value
        else:
            values[slot.bucket].setdefault(_Distinct(value), []).append(i)
    out: list[Any] = []
    for b, (bucket, seen) in enumerate(zip(flat.buckets, values, strict=True)):
        if not _has_leaves(bucket):  # not seen by this part: its leaves' values do not matter
            continue
        if len(seen) > 1:
            paths = flat.leaf_paths()

            def shown(leaves: list[int]) -> str:
                names = ", ".join(repr(paths[i]) for i in leaves[:3])
                return names + (f" and {len(leaves) - 3} more" if len(leaves) > 3 else "")

            groups = "; ".join(f"{v.value!r} for {shown(leaves)}" for v, leaves in seen.items())
            raise ValueError(
                f"{fn}: the {what} differs between leaves that share bucket {b} of the FlatParams ({groups}), "
                "but a bucket is updated as a whole. Pass the same mask or labels to flatten_params, so that "
                "leaves that differ go to different buckets: gradtx.flatten_params(params, labels=...)."
            )
        out.append(next(iter(seen)).value)
    out += [value for value, child in zip(kept, flat.kept, strict=True) if _has_leaves(child)]
    return out


class _Distinct:
    """A value compared by equality when hashable, else by identity (a mask may hold anything)."""

    __slots__ = ("_key", "value")

    def __init__(self, value: Any):
        self.value = value
        try:
            hash(value)
            self._key: Any = (type(value), value)
        except TypeError:
            self._key = id(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Distinct) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)


def _has_leaves(child: Any) -> bool:
    return bool(jax.tree.leaves(child, is_leaf=lambda x: x is None))


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


def flatten_params(params: Any, labels: Any = None) -> FlatParams:
    """Pack a tree of parameters into one flat buffer per dtype, replicated sharding and label.

    Float leaves of the same dtype, sharding and label are concatenated, in tree order, into
    one 1-D bucket; leaves that are sharded across devices (a ``NamedSharding`` that is not
    fully replicated) and non-float leaves are kept as they are, so sharded state stays
    sharded like its parameter. Optimizer state built with ``tx.init(flat)`` mirrors the
    buckets, so its size is unchanged; the step over a ``FlatParams`` is a few kernels over
    long arrays instead of several per leaf, and compiles in time independent of the
    number of leaves.

    Masks and parameter groups (an optimizer's weight-decay ``mask``, :func:`masked`,
    :func:`partition`, :func:`freeze`) are resolved on the original leaves and must be uniform
    over each bucket: give them to ``labels`` too (e.g. AdamW without decay on biases and
    norms: ``flatten_params(params, labels=mask)`` with the ``mask`` given to ``adamw``), and
    each bucket is then decayed, frozen or grouped as a whole.

    Use it when a model has many (hundreds or more) small leaves: the optimizer step then
    costs what one big leaf costs. Keep the default per-leaf layout when a transformation
    needs the leaves' shapes (e.g. ``adafactor``, ``muon``, ``sm3``: their ``init`` raises
    ``TypeError`` on a ``FlatParams``) or when the leaves are few and large (nothing to gain).

    Args:
      params: A pytree of arrays.
      labels: Splits the buckets further: leaves with different labels never share one. A
        tree of hashable labels shaped like ``params`` (or a prefix of it), a callable
        ``params -> such a tree`` (e.g. :func:`path_labels`), or a mask (path patterns, a
        bool tree, a callable) exactly as given to ``masked``/``adamw(mask=...)``. ``None``:
        buckets split by dtype and sharding only.

    Returns:
      A :class:`FlatParams`; ``flatten_params(p).unflatten()`` equals ``p``.

    Raises:
      TypeError: If ``params`` is already a ``FlatParams``, or a label is not hashable.
      ValueError: If ``labels`` does not match ``params`` (see :func:`partition`).

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

      With a mask, each bucket is decayed or not as a whole:

      >>> flat = gradtx.flatten_params(params, labels="w")
      >>> flat
      FlatParams(2 leaves in buckets [False: float32[3], True: float32[6]], 0 kept)
      >>> tx = gradtx.adamw(0.1, weight_decay=0.5, mask="w")
      >>> updates, _ = tx.update(jax.tree.map(jnp.zeros_like, flat), tx.init(flat), flat)
      >>> updates.unflatten()["w"][0], jnp.abs(updates.unflatten()["b"])  # -0. for b: -lr * 0
      (Array([-0.05, -0.05, -0.05], dtype=float32), Array([0., 0., 0.], dtype=float32))
    """
    if isinstance(params, FlatParams):
        raise TypeError("flatten_params: `params` is already a FlatParams.")
    leaves, treedef = jax.tree_util.tree_flatten(params)
    leaf_labels = [None] * len(leaves) if labels is None else _labels_of(params, labels)
    keys: list[Any] = []
    sizes: list[list[int]] = []
    slots: list[_Slot] = []
    kept = 0
    index: dict[Any, int] = {}
    for leaf, label in zip(leaves, leaf_labels, strict=True):
        key = _bucket_key(leaf)
        if key is None:
            slots.append(_Slot(-1, kept, tuple(jnp.shape(leaf)), _dtype_of(leaf)))
            kept += 1
            continue
        key = (*key, label)
        if key not in index:
            index[key] = len(keys)
            keys.append(key)
            sizes.append([])
        b = index[key]
        slots.append(_Slot(b, len(sizes[b]), tuple(leaf.shape), jnp.dtype(leaf.dtype)))
        sizes[b].append(math.prod(leaf.shape))
    layout = _Layout(treedef, tuple(slots), tuple(tuple(s) for s in sizes), tuple(label for *_, label in keys))
    flat = _pack(leaves, layout, [dtype for dtype, _, _ in keys])
    # A bucket of replicated leaves stays replicated on the same devices.
    buckets = tuple(
        b if sharding is None else jax.device_put(b, sharding) for b, (_, sharding, _) in zip(flat.buckets, keys)
    )
    return FlatParams(buckets, flat.kept, layout)


def _labels_of(params: Any, labels: Any) -> list[Hashable]:
    """One label per leaf of ``jax.tree_util.tree_flatten(params)`` from ``labels`` (or a mask)."""
    from gradtx._core.paths import resolve_labels, resolve_mask  # paths -> base -> flat: imported on use

    is_patterns = isinstance(labels, str) or (
        isinstance(labels, Sequence) and bool(labels) and all(isinstance(x, str) for x in labels)
    )
    resolve: Callable[..., list[Any]] = resolve_mask if is_patterns else resolve_labels
    per_leaf = _without_none(params, resolve("flatten_params", labels, params))
    for label in per_leaf:
        try:
            hash(label)
        except TypeError:
            raise TypeError(
                f"flatten_params: labels must be hashable (they key the buckets), got a "
                f"{type(label).__name__}: {label!r:.80}."
            ) from None
    return per_leaf


def _without_none(tree: Any, per_leaf: list[Any]) -> list[Any]:
    """``per_leaf`` (one value per leaf of ``tree``, ``None`` counted as a leaf) without the values
    of the ``None`` leaves, so that it lines up with ``jax.tree_util.tree_flatten(tree)``."""
    with_none = jax.tree.leaves(tree, is_leaf=lambda x: x is None)
    return [value for value, leaf in zip(per_leaf, with_none, strict=True) if leaf is not None]


def _dtype_of(leaf: Any) -> Any:
    try:
        return np.dtype(jnp.result_type(leaf))
    except TypeError:
        return None


# --------------------------------------------------------------------------- per-leaf reductions


class _Segments(NamedTuple):
    """A bucket's leaf boundaries, as the static plan of a one-pass per-leaf reduction.

    The bucket's first ``rows * chunk`` elements are read as a ``(rows, chunk)`` matrix: a row
    inside one leaf is reduced as a row (its leaf in ``row_leaf``, weight 1 in ``row_inside``);
    a row that a boundary crosses (``cut_rows``) is reduced element by element, as are the
    ``< chunk`` elements after the last row (``edge_leaf``: the leaf of each of them, in order).
    """

    leaves: int  # k, the number of leaves
    chunk: int
    rows: int
    row_leaf: np.ndarray  # (rows,) int32: the leaf of each row's first element (ascending)
    row_inside: np.ndarray  # (rows,) bool: the row lies inside one leaf
    cut_rows: np.ndarray  # (K,) int32: the rows a boundary crosses (ascending)
    edge_leaf: np.ndarray  # (K * chunk + tail,) int32: the leaf of each element of those rows, then of the tail


@functools.lru_cache(maxsize=256)
def _segments(sizes: tuple[int, ...]) -> _Segments:
    """The plan of :class:`_Segments` for a bucket of leaves of ``sizes`` (zero sizes allowed).

    The chunk is the power of two nearest :math:`\\sqrt{n / k}` (between 16 and 4096), which
    roughly balances the ``n / chunk`` row sums against the ``k * chunk`` elements of cut rows.
    """
    n, k = sum(sizes), len(sizes)
    chunk = int(min(max(2 ** round(math.log2(max(math.sqrt(n / max(k, 1)), 1))), 16), 4096))
    rows = n // chunk
    ends = np.cumsum(np.asarray(sizes, dtype=np.int64))
    first = np.arange(rows, dtype=np.int64) * chunk
    row_leaf = np.searchsorted(ends, first, side="right")
    row_inside = row_leaf == np.searchsorted(ends, first + chunk - 1, side="right")
    cut_rows = np.flatnonzero(~row_inside)
    edge = np.concatenate([(cut_rows[:, None] * chunk + np.arange(chunk)).ravel(), np.arange(rows * chunk, n)])
    return _Segments(
        k,
        chunk,
        rows,
        row_leaf.astype(np.int32),
        row_inside,
        cut_rows.astype(np.int32),
        np.searchsorted(ends, edge, side="right").astype(np.int32),
    )


def segment_sums(x: jax.Array, sizes: tuple[int, ...]) -> jax.Array:
    r"""The sum of each leaf's elements in a bucket ``x`` of leaves of ``sizes``: shape ``(k,)``.

    .. math::

       s_j = \sum_{i \in \text{leaf } j} x_i

    One pass over ``x`` and no per-leaf kernels: rows of ``x`` that lie inside one leaf are
    summed as rows, the few that a boundary crosses element by element, and both are
    scattered onto the leaves by static segment ids (XLA's scatter is slow per element on the
    CPU, so it only sees ``n / chunk + k * chunk`` of them). Accumulates in at least float32.
    """
    from gradtx._core.tree import compute_dtype  # tree -> base -> flat: imported on use

    plan = _segments(sizes)
    if plan.leaves == 0:
        return jnp.zeros((0,), x.dtype)
    wide = x.astype(compute_dtype(x.dtype))  # not jnp.promote_types: float64 fails it under strict promotion
    head = wide[: plan.rows * plan.chunk].reshape(plan.rows, plan.chunk)
    per_row = jnp.where(plan.row_inside, jnp.sum(head, axis=1), 0)
    edge = jnp.concatenate([head[plan.cut_rows].ravel(), wide[plan.rows * plan.chunk :]])
    sums = jax.ops.segment_sum(per_row, plan.row_leaf, plan.leaves, indices_are_sorted=True)
    sums = sums + jax.ops.segment_sum(edge, plan.edge_leaf, plan.leaves, indices_are_sorted=True)
    return sums.astype(x.dtype)


def segment_scale(x: jax.Array, factors: jax.Array, sizes: tuple[int, ...]) -> jax.Array:
    r"""Each leaf of the bucket ``x`` times its own factor: :math:`y_i = f_j x_i` for :math:`i` in leaf :math:`j`.

    ``factors`` has one value per leaf (shape ``(k,)``, e.g. from :func:`segment_sums`). One
    pass over ``x``, as in :func:`segment_sums`: whole rows take their leaf's factor, the cut
    rows are rewritten in place. The product is in ``x``'s dtype.
    """
    plan = _segments(sizes)
    if plan.leaves == 0:
        return x
    f = factors.astype(x.dtype)
    head = x[: plan.rows * plan.chunk].reshape(plan.rows, plan.chunk)
    out = head * f[plan.row_leaf][:, None]
    cut = plan.cut_rows.size * plan.chunk
    edge_f = f[plan.edge_leaf]
    out = out.at[plan.cut_rows].set(
        head[plan.cut_rows] * edge_f[:cut].reshape(-1, plan.chunk), indices_are_sorted=True, unique_indices=True
    )
    return jnp.concatenate([out.ravel(), x[plan.rows * plan.chunk :] * edge_f[cut:]])


def map_per_leaf(bucket_fn: Callable[..., Any], leaf_fn: Callable[..., Any], flat: FlatParams, *rest: Any) -> FlatParams:
    """A :class:`FlatParams` of the same layout: ``bucket_fn(bucket, *others, sizes=...)`` for each
    bucket, ``leaf_fn(leaf, *others)`` (via ``jax.tree.map``) for each kept leaf.

    ``rest`` are :class:`FlatParams` of the same layout (their buckets may hold one value per
    leaf). A child that is not an array (a ``MaskedNode`` of a ``masked`` part, ``None``) is
    left as it is.
    """
    layout = flat._layout
    buckets = [
        bucket_fn(b, *(r.buckets[i] for r in rest), sizes=layout.bucket_sizes[i]) if _is_array(b) else b
        for i, b in enumerate(flat.buckets)
    ]
    kept = [
        jax.tree.map(leaf_fn, k, *(r.kept[i] for r in rest)) if _is_array(k) else k for i, k in enumerate(flat.kept)
    ]
    return FlatParams(tuple(buckets), tuple(kept), layout)


def map_leaves(fn: Callable[..., jax.Array], flat: FlatParams, *rest: FlatParams) -> FlatParams:
    """A :class:`FlatParams` of the same layout: ``fn(leaf, *others)`` on every leaf of the original tree.

    For rules that need a leaf's shape (unit-wise norms over a kernel's columns): each bucket is
    cut into its leaves (static slices, reshaped), ``fn`` runs on each, and the results are
    concatenated back. That costs a kernel per leaf, as on the params tree; rules that only need
    a leaf's boundaries use :func:`map_per_leaf` and the one-pass :func:`segment_sums` instead.
    ``rest`` are :class:`FlatParams` of the same layout; kept leaves go to ``fn`` as they are.
    """
    layout = flat._layout
    parts = [_split_buckets(f.buckets, layout.bucket_sizes, layout.slots) for f in (flat, *rest)]
    buckets = tuple(
        jnp.concatenate([jnp.ravel(fn(*(p[b][i] for p in parts))) for i in range(len(sizes))])
        if sizes
        else flat.buckets[b]
        for b, sizes in enumerate(layout.bucket_sizes)
    )
    kept = tuple(jax.tree.map(fn, k, *(r.kept[i] for r in rest)) for i, k in enumerate(flat.kept))
    return FlatParams(buckets, kept, layout)


def _is_array(x: Any) -> bool:
    return isinstance(x, jax.Array | np.ndarray | jax.ShapeDtypeStruct)


def leaf_sums_of_squares(updates: Any, axis_name: Any = None) -> Any:
    r""":math:`\|u\|_2^2` of every leaf of the original tree, computed in the compute dtype.

    On a params tree: one scalar per floating leaf (``None`` elsewhere), as
    ``gradtx._transforms.layerwise.leaf_sums_of_squares``. On a :class:`FlatParams`: a
    ``FlatParams`` of the same layout whose buckets hold one value per leaf (:func:`segment_sums`
    of the squares) and whose kept leaves hold a scalar. With ``axis_name`` the sums are
    summed over that ``shard_map`` axis (leaves split across devices; the buckets must then be
    whole on each device).
    """
    from gradtx._core import tree  # tree -> base -> flat: imported on use
    from gradtx._transforms.layerwise import leaf_sums_of_squares as per_leaf, summed_over

    if not isinstance(updates, FlatParams):
        return per_leaf(updates, axis_name)

    def bucket(b: jax.Array, *, sizes: tuple[int, ...]) -> jax.Array:
        if b.shape != (sum(sizes),):
            raise ValueError(
                f"a bucket of {sum(sizes)} elements arrived with shape {b.shape} (split across devices?): "
                "per-leaf norms on FlatParams need whole buckets; shard leaves, not buckets "
                "(flatten_params keeps sharded leaves as they are)."
            )
        wide = b.astype(tree.compute_dtype(b.dtype))
        return summed_over(segment_sums(jnp.square(wide), sizes), axis_name)

    return map_per_leaf(bucket, lambda u: per_leaf(u, axis_name), updates)


def leaf_scale(updates: Any, factors: Any) -> Any:
    r"""Every leaf times its own factor: :math:`u \leftarrow f u`, in ``u``'s dtype.

    ``factors`` is shaped like :func:`leaf_sums_of_squares`'s result: one scalar per leaf of a
    tree (``None`` where ``updates`` has a non-float leaf), or a :class:`FlatParams` with one
    value per leaf in each bucket (:func:`segment_scale`).
    """
    if not isinstance(updates, FlatParams):
        return jax.tree.map(
            lambda u, f: u if f is None else u * f.astype(u.dtype), updates, factors, is_leaf=lambda x: x is None
        )
    return map_per_leaf(
        lambda u, f, *, sizes: segment_scale(u, f, sizes),
        lambda u, f: u if f is None else u * f.astype(u.dtype),
        updates,
        factors,
    )
