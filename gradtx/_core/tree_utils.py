"""Tree utilities for users, under ``optax.tree``'s names and with its numbers (``gradtx.tree``).

These are the public helpers people reach for on parameters and optimizer states: arithmetic
(:func:`add`, :func:`scale`, :func:`vdot`, :func:`norm`, ...), constructors (:func:`zeros_like`,
:func:`random_like`, ...), dtype helpers (:func:`cast`, :func:`dtype`) and lookups in nested
states (:func:`get`, :func:`set`, :func:`map_params`). They follow Optax 0.2.8 leaf for leaf:
unlike gradtx's private engine (``gradtx._core.tree``), they neither skip non-floating leaves
nor widen bfloat16 math to float32.

No ``from __future__ import annotations`` here: signatures are read by tools (and tests) with
their annotations evaluated.
"""

import builtins
import dataclasses
import functools
import inspect
import operator
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

from gradtx._core import tree as engine

T = TypeVar("T")

# ---------------------------------------------------------------- arithmetic


def add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """The leafwise sum of two or more trees of the same structure.

    Examples:
      >>> gradtx.tree.add({"a": jnp.ones(2)}, {"a": jnp.ones(2)}, {"a": jnp.ones(2)})
      {'a': Array([3., 3.], dtype=float32)}

    .. note:: Optax: ``optax.tree.add``, same numbers.
    """
    return jax.tree.map(lambda *leaves: builtins.sum(leaves), tree_x, tree_y, *other_trees)


def sub(tree_x: Any, tree_y: Any) -> Any:
    """The leafwise difference ``tree_x - tree_y`` (``optax.tree.sub``)."""
    return jax.tree.map(operator.sub, tree_x, tree_y)


def mul(tree_x: Any, tree_y: Any) -> Any:
    """The leafwise product ``tree_x * tree_y`` (``optax.tree.mul``)."""
    return jax.tree.map(operator.mul, tree_x, tree_y)


def div(tree_x: Any, tree_y: Any) -> Any:
    """The leafwise quotient ``tree_x / tree_y`` (``optax.tree.div``)."""
    return jax.tree.map(operator.truediv, tree_x, tree_y)


def scale(scalar: ArrayLike, tree: Any) -> Any:
    """``scalar * tree``, leaf by leaf (``optax.tree.scale``).

    Examples:
      >>> gradtx.tree.scale(2.0, [jnp.ones(2)])
      [Array([2., 2.], dtype=float32)]
    """
    return jax.tree.map(lambda x: scalar * x, tree)


def add_scale(tree_x: Any, scalar: ArrayLike, tree_y: Any) -> Any:
    """``tree_x + scalar * tree_y``, leaf by leaf; ``None`` leaves of ``tree_x`` stay ``None``.

    .. note:: Optax: ``optax.tree.add_scale``, same numbers.
    """
    scalar = jnp.asarray(scalar)
    return jax.tree.map(lambda x, y: None if x is None else x + scalar * y, tree_x, tree_y, is_leaf=_is_none)


def _vdot_leaf(a: Any, b: Any) -> jax.Array:
    a, b = jnp.asarray(a), jnp.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"vdot: leaves of shapes {a.shape} and {b.shape} do not match.")
    if jnp.iscomplexobj(a):
        a = jnp.conj(a)
    return jnp.tensordot(a, b, a.ndim, precision=jax.lax.Precision.HIGHEST)


def vdot(tree_x: Any, tree_y: Any) -> ArrayLike:
    """The inner product of two trees, ``sum(conj(x) * y)`` over all leaves, at the highest precision.

    Examples:
      >>> gradtx.tree.vdot({"a": jnp.array([1.0, 2.0])}, {"a": jnp.array([3.0, -1.0])})
      Array(1., dtype=float32)

    .. note:: Optax: ``optax.tree.vdot``, same numbers.
    """
    return jax.tree.reduce(operator.add, jax.tree.map(_vdot_leaf, tree_x, tree_y), initializer=0)


def sum(tree: Any, associative_reduction: bool = False) -> ArrayLike:
    """The sum of all elements of all leaves (0 for an empty tree).

    Args:
      tree: A pytree of arrays.
      associative_reduction: Reduce the per-leaf sums as a balanced tree
        (``jax.tree.reduce_associative``): faster to compile for large trees, summed in another order.

    .. note:: Optax: ``optax.tree.sum``, same numbers.
    """
    sums = jax.tree.map(jnp.sum, tree)
    if associative_reduction:
        return jax.tree.reduce_associative(operator.add, sums, identity=0)
    return jax.tree.reduce(operator.add, sums, initializer=0)


def _leaf_reduction(
    reduce: Callable[[Any], Any], combine: Callable[[Any, Any], Any], start: float, tree: Any
) -> ArrayLike:
    partial = jax.tree.map(lambda x: None if jnp.size(x) == 0 else reduce(x), tree)
    return jax.tree.reduce(combine, partial, initializer=start)


def max(tree: Any) -> ArrayLike:
    """The largest element of all leaves (``-inf`` for an empty tree; ``optax.tree.max``)."""
    return _leaf_reduction(jnp.max, jnp.maximum, -float("inf"), tree)


def min(tree: Any) -> ArrayLike:
    """The smallest element of all leaves (``inf`` for an empty tree; ``optax.tree.min``)."""
    return _leaf_reduction(jnp.min, jnp.minimum, float("inf"), tree)


def size(tree: Any) -> int:
    """The number of elements in all leaves (``optax.tree.size``)."""
    return builtins.sum(jnp.size(leaf) for leaf in jax.tree.leaves(tree))


def conj(tree: Any) -> Any:
    """The complex conjugate of every leaf (``optax.tree.conj``)."""
    return jax.tree.map(jnp.conj, tree)


def real(tree: Any) -> Any:
    """The real part of every leaf (``optax.tree.real``)."""
    return jax.tree.map(jnp.real, tree)


def _abs_squared(x: Any) -> jax.Array:
    return jnp.square(x.real) + jnp.square(x.imag)


def norm(tree: Any, ord: str | float | None = None, squared: bool = False) -> jax.Array:
    r"""The vector norm of all leaves taken together as one vector.

    Args:
      tree: A pytree of (real or complex) arrays.
      ord: ``None`` or ``2`` (euclidean), ``1``, or ``inf`` (also ``'inf'``/``'infinity'``).
      squared: Return the norm squared.

    Returns:
      A scalar array.

    Examples:
      >>> gradtx.tree.norm({"a": jnp.array([3.0]), "b": jnp.array([-4.0])})
      Array(5., dtype=float32)
      >>> gradtx.tree.norm({"a": jnp.array([3.0]), "b": jnp.array([-4.0])}, ord=1)
      Array(7., dtype=float32)

    .. note:: Optax: ``optax.tree.norm``, same numbers (``squared`` with ``ord=1`` or ``inf``
       squares the norm, as Optax does).
    """
    if ord is None or ord == 2:
        total = sum(jax.tree.map(_abs_squared, tree))
        return jnp.array(total if squared else jnp.sqrt(total))
    if ord == 1:
        value = sum(jax.tree.map(jnp.abs, tree))
    elif ord == jnp.inf or ord in ("inf", "infinity"):
        value = max(jax.tree.map(jnp.abs, tree))
    else:
        raise ValueError(f"gradtx.tree.norm: unsupported ord={ord!r}; use None, 1, 2 or inf.")
    return jnp.array(_abs_squared(jnp.asarray(value)) if squared else value)


def where(condition: Any, tree_x: Any, tree_y: Any) -> Any:
    """``jnp.where(condition, x, y)`` leaf by leaf: ``tree_x`` where ``condition`` holds, else ``tree_y``."""
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


def clip(tree: Any, min_value: ArrayLike | None = None, max_value: ArrayLike | None = None) -> Any:
    """Every leaf clipped to ``[min_value, max_value]`` (``None``: no bound on that side)."""
    return jax.tree.map(lambda x: jnp.clip(x, min_value, max_value), tree)


def allclose(
    a: Any, b: Any, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08, equal_nan: bool = False
) -> bool | jax.Array:
    """Whether two trees are elementwise equal within tolerances (``jnp.allclose`` on every leaf).

    Examples:
      >>> bool(gradtx.tree.allclose({"a": jnp.array(1.0)}, {"a": jnp.array(1.0 + 1e-7)}))
      True
    """
    close = jax.tree.map(lambda x, y: jnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
    return functools.reduce(operator.and_, jax.tree.leaves(close), True)


def batch_shape(tree: Any, shape: tuple[int, ...] = ()) -> Any:
    """Every leaf broadcast to ``(*shape, *leaf.shape)``: leading batch dimensions added."""
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (*shape, *jnp.shape(x))), tree)


# ---------------------------------------------------------------- constructors


def zeros_like(tree: Any, dtype: DTypeLike | None = None) -> Any:
    """A tree of zeros shaped like ``tree`` (in ``dtype`` if given; ``optax.tree.zeros_like``)."""
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def ones_like(tree: Any, dtype: DTypeLike | None = None) -> Any:
    """A tree of ones shaped like ``tree`` (in ``dtype`` if given; ``optax.tree.ones_like``)."""
    return jax.tree.map(lambda x: jnp.ones_like(x, dtype=dtype), tree)


def full_like(tree: Any, fill_value: ArrayLike, dtype: DTypeLike | None = None) -> Any:
    """A tree shaped like ``tree`` filled with ``fill_value`` (``optax.tree.full_like``)."""
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


def split_key_like(rng_key: jax.Array, target_tree: Any) -> Any:
    """One key per leaf of ``target_tree`` (``jax.random.split`` of ``rng_key``), in its structure."""
    leaves, treedef = jax.tree.flatten(target_tree)
    return jax.tree.unflatten(treedef, jax.random.split(rng_key, len(leaves)))


def random_like(
    rng_key: jax.Array,
    target_tree: Any,
    sampler: Callable[..., ArrayLike] = jax.random.normal,
    dtype: DTypeLike | None = None,
) -> Any:
    """A random tree shaped like ``target_tree``: leaf ``i`` is ``sampler(key_i, shape, dtype)``.

    The keys are :func:`split_key_like` of ``rng_key``, so the draws equal Optax's for the same
    key. ``dtype=None`` samples in each leaf's dtype. A sampler that takes ``out_sharding`` is
    given the leaf's sharding.

    Examples:
      >>> x = gradtx.tree.random_like(jax.random.key(0), {"w": jnp.zeros((2, 3))})
      >>> x["w"].shape
      (2, 3)

    .. note:: Optax: ``optax.tree.random_like``, same draws.
    """
    keys = split_key_like(rng_key, target_tree)
    takes_sharding = "out_sharding" in inspect.signature(sampler).parameters

    def draw(leaf: Any, key: jax.Array) -> ArrayLike:
        if takes_sharding:
            return sampler(key, leaf.shape, dtype or leaf.dtype, out_sharding=jax.typeof(leaf).sharding)
        return sampler(key, leaf.shape, dtype or leaf.dtype)

    return jax.tree.map(draw, target_tree, keys)


def unwrap_random_key_data(input_tree: Any) -> Any:
    """The tree with typed PRNG keys replaced by their raw ``key_data`` (for comparisons)."""

    def unwrap(x: Any) -> Any:
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.key_data(x)
        return x

    return jax.tree.map(unwrap, input_tree)


# ---------------------------------------------------------------- dtypes


def cast(tree: Any, dtype: DTypeLike | None) -> Any:
    """Every leaf cast to ``dtype``; ``dtype=None`` returns ``tree`` as it is (``optax.tree.cast``)."""
    if dtype is None:
        return tree
    return jax.tree.map(lambda x: x.astype(dtype), tree)


def cast_like(tree: T, other_tree: Any) -> T:
    """Every leaf of ``tree`` cast to the dtype of the matching leaf of ``other_tree``."""
    cast_tree: T = jax.tree.map(lambda x, o: x.astype(o.dtype) if hasattr(o, "dtype") else x, tree, other_tree)
    return cast_tree


def _lower(a: Any, b: Any) -> Any:
    with jax.numpy_dtype_promotion("standard"):  # JAX's lattice, whatever the promotion mode
        joined = jnp.promote_types(a, b)
    if joined == a:
        return b
    if joined == b:
        return a
    raise ValueError(f"Cannot compare dtype of dtype1={a} and dtype2={b}: neither promotes to the other.")


def _promote(a: Any, b: Any) -> Any:
    with jax.numpy_dtype_promotion("standard"):
        return jnp.promote_types(a, b)


def _higher(a: Any, b: Any) -> Any:
    return b if _lower(a, b) == a else a


def dtype(tree: Any, mixed_dtype_handler: str | None = None) -> DTypeLike:
    """The dtype of a tree's leaves (JAX's default float dtype for an empty tree).

    Args:
      tree: A pytree of arrays.
      mixed_dtype_handler: What to do with leaves of different dtypes: ``None`` raises a
        ``ValueError``, ``'promote'`` returns their promotion (``jnp.promote_types``),
        ``'highest'`` / ``'lowest'`` the widest / narrowest (a ``ValueError`` if two do not
        promote to one another).

    Examples:
      >>> gradtx.tree.dtype({"a": jnp.ones(1, jnp.float16), "b": jnp.ones(1)}, "highest")
      dtype('float32')

    .. note::
       Optax: ``optax.tree.dtype``, same results. The mixed-dtype handlers use JAX's standard
       promotion lattice even under ``jax_numpy_dtype_promotion="strict"``, where Optax's raise.
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.asarray(leaves).dtype
    dtypes = [jnp.asarray(x).dtype for x in leaves]
    if mixed_dtype_handler is None:
        errors = [
            f"Expected dtype={dtypes[0]} for {jax.tree_util.keystr(path)} but got {jnp.asarray(x).dtype}."
            for path, x in jax.tree_util.tree_leaves_with_path(tree)
            if jnp.asarray(x).dtype != dtypes[0]
        ]
        if errors:
            raise ValueError("\n".join(errors))
        return dtypes[0]
    combine = {"promote": _promote, "highest": _higher, "lowest": _lower}.get(mixed_dtype_handler)
    if combine is None:
        raise ValueError(
            f"Invalid value for mixed_dtype_handler={mixed_dtype_handler!r}, possible values are: None, "
            '"promote", "highest", "lowest".'
        )
    return functools.reduce(combine, dtypes)


# ---------------------------------------------------------------- moments


def update_moment(updates: Any, moments: Any, decay: Any, order: Any) -> Any:
    r"""The exponential moving average of the ``order``-th power: :math:`(1 - d) g^k + d\, m`.

    ``None`` leaves of ``updates`` stay ``None``.

    Examples:
      >>> gradtx.tree.update_moment(jnp.array([2.0]), jnp.array([1.0]), 0.9, 2)
      Array([1.3], dtype=float32)

    .. note:: Optax: ``optax.tree.update_moment`` (also top-level ``update_moment``), same numbers.
    """
    return jax.tree.map(
        lambda g, m: None if g is None else (1 - decay) * (g**order) + decay * m,
        updates,
        moments,
        is_leaf=_is_none,
    )


def update_infinity_moment(updates: Any, moments: Any, decay: Any, eps: Any) -> Any:
    r"""The exponentially weighted infinity norm: :math:`\max(|g| + \epsilon, d\, m)`."""
    return jax.tree.map(
        lambda g, m: g if g is None else jnp.maximum(jnp.abs(g) + eps, decay * m),
        updates,
        moments,
        is_leaf=_is_none,
    )


def update_moment_per_elem_norm(updates: Any, moments: Any, decay: Any, order: Any) -> Any:
    r"""The EMA of the ``order``-th power of each element's modulus: :math:`(1 - d)|g|^k + d\, m`.

    Real leaves use ``g ** order`` as :func:`update_moment` does; complex ones
    :math:`(g \bar g)^{k/2}`.
    """

    def power(g: Any) -> Any:
        if jnp.isrealobj(g):
            return g**order
        half = order / 2
        if half.is_integer():
            half = int(half)
        return (g.conj() * g).real ** half

    return jax.tree.map(
        lambda g, m: None if g is None else (1 - decay) * power(g) + decay * m,
        updates,
        moments,
        is_leaf=_is_none,
    )


@functools.partial(jax.jit, inline=True)
def _bias_correction(moment: Any, decay: Any, count: Any) -> Any:
    if jnp.issubdtype(count.dtype, jnp.integer):
        # A weak float of the default dtype: what ``float ** int32`` promotes to, also under strict promotion.
        count = engine.float_count(count)
    correction = 1 - decay**count
    return jax.tree.map(lambda m: m / correction.astype(m.dtype), moment)


def bias_correction(moment: Any, decay: Any, count: Any) -> Any:
    r"""A moving average started at zero, debiased: :math:`m / (1 - d^{t})` with ``t = count``.

    Examples:
      >>> gradtx.tree.bias_correction(jnp.array([0.25]), 0.5, jnp.array(2))
      Array([0.33333334], dtype=float32)

    .. note:: Optax: ``optax.tree.bias_correction`` (also top-level ``bias_correction``), same numbers.
    """
    return _bias_correction(moment, decay, count)


# ---------------------------------------------------------------- lookups in nested states


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """A path entry for a field of a NamedTuple, naming the tuple's class too.

    :func:`get_all_with_path`, :func:`get` and :func:`set` put these in the paths they give
    ``filtering``, so a filter can tell ``ScaleByAdamState.count`` from ``ScaleByScheduleState.count``.
    ``str(key)`` is ``"TupleName.field"``.
    """

    tuple_name: str
    name: str

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


KeyPath = tuple[Any, ...]
Filtering = Callable[[KeyPath, Any], bool]


def _is_none(x: Any) -> bool:
    return x is None


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _has_any(node: Any, keys: tuple[Any, ...]) -> bool:
    """Whether ``node`` is a NamedTuple with one of ``keys`` as field or class name, or a dict holding one."""
    if _is_namedtuple(node):
        return any(k in node._fields or k == type(node).__name__ for k in keys)
    return isinstance(node, dict) and any(k in node for k in keys)


def _leaves_with_named_path(tree: Any, stop: Callable[[Any], bool]) -> list[tuple[KeyPath, Any]]:
    """``tree_leaves_with_path`` stopping at ``stop`` nodes, with NamedTuple fields as :class:`NamedTupleKey`."""
    out: list[tuple[KeyPath, Any]] = []
    for path, node in jax.tree_util.tree_leaves_with_path(
        tree, is_leaf=lambda x: stop(x) or _is_namedtuple(x)
    ):
        if stop(node) or not _is_namedtuple(node):
            out.append((path, node))
            continue
        for field in node._fields:
            entry = NamedTupleKey(type(node).__name__, field)
            out += [
                ((*path, entry, *sub), leaf)
                for sub, leaf in _leaves_with_named_path(getattr(node, field), stop)
            ]
    return out


def _children(path: KeyPath, node: Any) -> list[tuple[KeyPath, Any]]:
    if _is_namedtuple(node):
        return [((*path, NamedTupleKey(type(node).__name__, f)), getattr(node, f)) for f in node._fields]
    if isinstance(node, dict):
        return [((*path, jax.tree_util.DictKey(k)), v) for k, v in node.items()]
    raise ValueError(f"Subtree must be a dict or a NamedTuple. Got {type(node)}")


def _find(tree: Any, key: Any) -> list[tuple[KeyPath, Any]]:
    """Every value under ``key`` in ``tree``, outermost first, with its path."""
    stop = functools.partial(_has_any, keys=(key,))
    found: list[tuple[KeyPath, Any]] = []
    holders = [(path, node) for path, node in _leaves_with_named_path(tree, stop) if stop(node)]
    for path, node in holders:
        if _is_namedtuple(node):
            name = type(node).__name__
            found.append(
                (path, node) if key == name else ((*path, NamedTupleKey(name, key)), getattr(node, key))
            )
        else:
            found.append(((*path, jax.tree_util.DictKey(key)), node[key]))
    for path, node in holders:
        for child_path, child in _children(path, node):
            found += [((*child_path, *sub), value) for sub, value in _find(child, key)]
    return found


def get_all_with_path(tree: Any, key: Any, filtering: Filtering | None = None) -> list[tuple[KeyPath, Any]]:
    """Every ``(path, value)`` in ``tree`` under ``key``: a dict key, a NamedTuple field, or a NamedTuple's class name.

    Args:
      tree: A pytree, typically an optimizer state.
      key: The key, field or class name to look for.
      filtering: Optional ``filtering(path, value) -> bool`` keeping only some matches; paths
        name NamedTuple fields with :class:`NamedTupleKey`.

    Examples:
      >>> state = gradtx.adam(1e-3).init(jnp.zeros(2))
      >>> [jax.tree_util.keystr(p) for p, _ in gradtx.tree.get_all_with_path(state, "count")]
      ['[0]ScaleByAdamState.count']

    .. note:: Optax: ``optax.tree.get_all_with_path``, same matches and paths.
    """
    found = _find(tree, key)
    if filtering:
        found = [(path, value) for path, value in found if filtering(path, value)]
    return found


def get(tree: Any, key: Any, default: Any | None = None, filtering: Filtering | None = None) -> Any:
    """The one value under ``key`` in ``tree`` (see :func:`get_all_with_path`), or ``default``.

    Raises:
      KeyError: if ``key`` matches more than one value.

    Examples:
      >>> state = gradtx.adam(1e-3).init(jnp.zeros(2))
      >>> gradtx.tree.get(state, "count")
      Array(0, dtype=int32)

    .. note:: Optax: ``optax.tree.get``, same results.
    """
    found = get_all_with_path(tree, key, filtering=filtering)
    if len(found) > 1:
        raise KeyError(f"Found multiple values for '{key}' in {tree}.")
    return found[0][1] if found else default


def _key_of(entry: Any) -> int | str:
    if isinstance(entry, jax.tree_util.DictKey):
        if isinstance(entry.key, (str, int)):
            return entry.key
        raise KeyError("Hashable keys not supported")
    if isinstance(entry, jax.tree_util.FlattenedIndexKey):
        return int(entry.key)
    if isinstance(entry, jax.tree_util.GetAttrKey | NamedTupleKey):
        return entry.name
    if isinstance(entry, jax.tree_util.SequenceKey):
        return int(entry.idx)
    raise KeyError(f"Tree key '{entry}' of type '{type(entry)}' not valid.")


def set(tree: Any, filtering: Filtering | None = None, /, **kwargs: Any) -> Any:
    """A copy of ``tree`` with the values under the keys of ``kwargs`` replaced.

    A key is a dict key, a NamedTuple field, or a NamedTuple's class name (which replaces the
    whole tuple). ``filtering(path, value)`` limits which matches are replaced.

    Raises:
      KeyError: if a key of ``kwargs`` matches nothing (after ``filtering``).

    Examples:
      >>> tx = gradtx.inject_hyperparams(gradtx.sgd)(learning_rate=0.1)
      >>> state = gradtx.tree.set(tx.init(jnp.zeros(2)), learning_rate=jnp.array(0.5))
      >>> gradtx.tree.get(state, "learning_rate")
      Array(0.5, dtype=float32, weak_type=True)

    .. note:: Optax: ``optax.tree.set``, same results.
    """
    for key in kwargs:
        if not get_all_with_path(tree, key, filtering):
            detail = " given the filtering operation" if filtering else ""
            raise KeyError(f"Found no values matching '{key}'{detail} in {tree}")
    holds = functools.partial(_has_any, keys=tuple(kwargs))
    keep = filtering or (lambda path, value: True)

    def replace(path: KeyPath, node: Any) -> Any:
        if not holds(node):
            return node
        if _is_namedtuple(node) and type(node).__name__ in kwargs and keep(path, node):
            return kwargs[type(node).__name__]
        new: dict[int | str, Any] = {}
        for child_path, child in _children(path, node):
            key = _key_of(child_path[-1])
            if key in kwargs and keep(child_path, child):
                new[key] = kwargs[key]
            elif isinstance(child, (dict, list, tuple)):
                new[key] = replace(child_path, child)
            else:
                new[key] = child
        # A NamedTuple's children are keyed by field name.
        return node._replace(**typing.cast(dict[str, Any], new)) if _is_namedtuple(node) else new

    treedef = jax.tree.structure(tree, is_leaf=holds)
    return jax.tree.unflatten(treedef, (replace(path, node) for path, node in _leaves_with_named_path(tree, holds)))


# ---------------------------------------------------------------- mapping over the params inside a state


@jax.tree_util.register_pytree_node_class
class _ParamsMarker:
    """Stands in for the params when an ``init`` is run to find where the params sit in a state."""

    def tree_flatten(self) -> tuple[tuple[()], None]:
        return (), None

    @classmethod
    def tree_unflatten(cls, aux: Any, children: Any) -> "_ParamsMarker":
        del aux, children
        return cls()


@typing.runtime_checkable
class Initable(typing.Protocol):
    """Anything with an ``init(params) -> state`` method (a :class:`GradientTransformation`)."""

    def init(self, params: Any) -> Any:
        """A fresh state for ``params``."""


def map_params(
    initable: Callable[[Any], Any] | Initable,
    f: Callable[..., Any],
    state: Any,
    /,
    *rest: Any,
    transform_non_params: Callable[..., Any] | None = None,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` to every copy of the params tree inside an optimizer state.

    Finds the parts of ``state`` that ``initable``'s ``init`` builds from the params (moments,
    averages, ...) by running ``init`` on a marker, and maps ``f(leaf, *rest_leaves)`` over
    them; other parts are passed through, or to ``transform_non_params`` if given. Typical use:
    a sharding spec for a state from the params' spec.

    Args:
      initable: A transformation, or its ``init`` function.
      f: Applied leafwise to each params-shaped part of ``state`` and to ``rest``.
      state: The state to map over.
      *rest: Trees shaped like the params, given to ``f`` as further arguments.
      transform_non_params: Applied to each part that is not params-shaped (counts, ...).
      is_leaf: Passed to ``jax.tree.map`` over the params-shaped parts.

    Examples:
      >>> tx = gradtx.adam(1e-3)
      >>> specs = gradtx.tree.map_params(tx, lambda _, s: s, tx.init(jnp.zeros(2)), "spec",
      ...                                transform_non_params=lambda _: None)
      >>> specs[0]
      ScaleByAdamState(count=None, mu='spec', nu='spec', nu_max=None)

    .. note:: Optax: ``optax.tree.map_params`` (``optax.tree_map_params``), same results.
    """
    marker = _ParamsMarker()
    skeleton = initable.init(marker) if isinstance(initable, Initable) else initable(marker)

    def visit(probe: Any, value: Any) -> Any:
        if isinstance(probe, _ParamsMarker):
            return jax.tree.map(f, value, *rest, is_leaf=is_leaf)
        return value if transform_non_params is None else transform_non_params(value)

    return jax.tree.map(visit, skeleton, state, is_leaf=lambda v: isinstance(v, _ParamsMarker))
