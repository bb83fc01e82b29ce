"""Tree helpers, and the one place that decides how per-leaf math runs over a tree.

Every elementwise transformation writes its rule for one array and maps it with
:func:`map_unzip`. Which leaves take part, in which dtype the math runs, and how
mismatched trees are reported are decided here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

from jax.sharding import NamedSharding, PartitionSpec
from jax.tree_util import PyTreeDef

from gradtx._core.base import Params, active_path


def _is_none(x: Any) -> bool:
    return x is None


def _find_weak_cast() -> Callable[[jax.Array], jax.Array] | None:
    """The cast that marks a traced value as weakly typed, or ``None`` if this JAX lacks it.

    JAX has no public API for it; ``jnp.asarray(python_float)`` uses this internal cast. It is
    looked up defensively: if a JAX release moves it, gradtx still imports and works, and only
    loses the weak typing of run-time scalars (an x64 session would then compute float32 leaves'
    bias corrections in float64 and cast back; strict dtype promotion would reject it).
    """
    try:
        from jax._src.lax.lax import _convert_element_type  # noqa: PLC0415 - see the docstring
    except ImportError:  # pragma: no cover - depends on the JAX release
        return None
    return lambda value: cast(jax.Array, _convert_element_type(value, value.dtype, weak_type=True))


_WEAK_CAST = _find_weak_cast()


def is_float(x: Any) -> bool:
    """Whether a leaf is an inexact array (real or complex floating point, or an abstract one), or
    a Python float or complex: a leaf that optimizers update.

    Complex leaves reach only the transformations that declare how they treat them (see
    :func:`gradtx.transformation`); the others refuse them in ``init``.
    """
    if isinstance(x, float | complex):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jnp.inexact)


def as_array(x: Any) -> Any:
    """A Python float leaf as a 0-d array (weakly typed, like ``jnp.asarray(1.0)``); others unchanged.

    A Python float (or complex) in a params tree is a parameter, as it is under ``jit`` (where it arrives
    as a 0-d array): eager and jitted steps must agree on it.
    """
    return jnp.asarray(x) if isinstance(x, float | complex) else x


def zeros_like(params: Params, dtype: Any = None, *, stack: int | None = None) -> Params:
    """Zeros shaped like the floating leaves of ``params`` (in ``dtype`` if given).

    Leaves that are not floating point (integers, ``None``) get ``None``: they are never
    updated, so they need no state. Works on ``jax.ShapeDtypeStruct`` leaves under
    ``jax.eval_shape``, and each leaf is sharded like its param, eagerly and under ``jit``
    (see :func:`sharded_zeros`). With ``stack=n`` each leaf is ``[n, *shape]`` (a history of
    ``n`` entries), sharded like its param along the param's axes.
    """

    def leaf(p: Any) -> Any:
        if not is_float(p):
            return None
        p = as_array(p)
        zeros = sharded_zeros(p, _state_dtype(p, dtype))
        return zeros if stack is None else jnp.broadcast_to(zeros, (stack, *p.shape))

    return jax.tree.map(leaf, params, is_leaf=_is_none)


def full_like(params: Params, value: float, dtype: Any = None) -> Params:
    """Like :func:`zeros_like`, filled with ``value``."""

    def leaf(p: Any) -> Any:
        if not is_float(p):
            return None
        p = as_array(p)
        full = jnp.full_like(p, value, dtype=_state_dtype(p, dtype))
        return full + sharded_zeros(p, full.dtype) if isinstance(p, jax.core.Tracer) else full

    return jax.tree.map(leaf, params, is_leaf=_is_none)


def _state_dtype(p: Any, dtype: Any) -> Any:
    """The dtype of a state leaf for param ``p``: ``dtype`` (e.g. ``mu_dtype``), else ``p``'s.

    A real ``dtype`` cannot hold the state of a complex param: that raises a ``TypeError``.
    """
    if dtype is None:
        return p.dtype
    if jnp.iscomplexobj(p) and not jnp.issubdtype(dtype, jnp.complexfloating):
        raise TypeError(
            f"{active_path()}: complex parameters need a complex state dtype, but the state of a {p.dtype} "
            f"leaf was asked for in {jnp.dtype(dtype)} (mu_dtype or a similar argument): use None "
            "(the params' dtype) or a complex dtype."
        )
    return dtype


def sharded_zeros(p: Any, dtype: Any) -> jax.Array:
    """Zeros shaped like the array ``p``, in ``dtype``, that XLA shards like ``p``.

    Eagerly, ``jnp.zeros_like`` keeps a sharded array's sharding. Under ``jax.jit`` zeros
    made from nothing do not depend on the params: XLA would replicate them (meshes with
    ``Auto`` axes) and ``jit`` would drop the params it does not read, then fail to find the
    devices of an ``Explicit`` mesh. So under tracing the zeros are computed from ``p``,
    as 0 times a 0/1 flag (exactly +0 whatever ``p`` holds, inf and NaN included): sharding
    propagation gives them ``p``'s sharding. Reductions of them (factored moments) are
    sharded like the reductions of ``p``. The cost is one read of ``p`` in a jitted ``init``.
    (``jax.experimental.shard_alike`` would need no read, but JAX 0.10 caches its lowering
    per shape and so ties all same-shaped leaves to one sharding.)
    """
    zeros = jnp.zeros_like(p, dtype=dtype)
    if isinstance(p, jax.core.Tracer):
        zeros = zeros * jnp.isfinite(p).astype(dtype)
    return zeros


def replicated_like(params: Params, x: jax.Array) -> jax.Array:
    """``x`` (a count, a flag, a key: state not shaped like a param) replicated on the params' devices.

    Eagerly, ``x`` is put on the devices of the first committed leaf: made with
    ``jnp.zeros([])`` it would sit on the default device, and the first jitted step, which
    returns it replicated on the mesh, would compile a second time. Under tracing ``x`` is
    tied to a param (a select XLA folds away), so that ``jit`` keeps the params' devices
    even for a state of scalars only.
    """
    for p in jax.tree.leaves(params):
        if isinstance(p, jax.core.Tracer):
            if not is_float(p):
                continue
            tie = jnp.broadcast_to(jnp.sum(p).astype(x.dtype), x.shape)
            return jax.lax.select_n(np.bool_(False), x, tie)
        sharding = getattr(p, "sharding", None)
        if sharding is None or not getattr(p, "committed", False):
            continue
        if isinstance(sharding, NamedSharding):
            replicated = NamedSharding(sharding.mesh, PartitionSpec(), memory_kind=sharding.memory_kind)
            placed: jax.Array = jax.device_put(x, replicated)
            return placed
        if sharding.is_fully_replicated:  # e.g. params committed to one device
            placed = jax.device_put(x, sharding)
            return placed
    return x


def replicated_scalars(params: Params, state: Any) -> Any:
    """``state`` with each 0-d array replicated on the params' devices (see :func:`replicated_like`)."""
    return jax.tree.map(lambda x: replicated_like(params, x) if getattr(x, "ndim", None) == 0 else x, state)


def zero_count(params: Params) -> jax.Array:
    """An ``int32`` step count of 0 for a state kept beside ``params`` (see :func:`replicated_like`)."""
    return replicated_like(params, jnp.zeros([], jnp.int32))


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1``, saturating at the largest value of its integer dtype."""
    top = np.iinfo(count.dtype).max
    return jnp.where(count < top, count + 1, count).astype(count.dtype)


def weak(value: Any) -> jax.Array:
    """``value`` as a weakly typed scalar: it combines with an array like a Python float does.

    ``weak(x) * m`` computes in ``m``'s dtype, exactly as ``0.9 * m`` would, so scalars
    computed at run time (bias corrections, injected hyperparameters) neither promote a
    float32 leaf to float64 under ``jax_enable_x64`` nor trip strict dtype promotion.
    """
    value = jnp.asarray(value)
    return _WEAK_CAST(value) if _WEAK_CAST is not None else value


def float_count(count: jax.Array) -> jax.Array:
    """An integer step count as a weakly typed float of the default dtype (float64 under x64)."""
    return weak(count.astype(jax.dtypes.canonicalize_dtype(jnp.float64)))


def bias_correction(decay: float | jax.Array, count: jax.Array) -> jax.Array:
    """``1 - decay ** count``: the debiasing factor of an exponential moving average started at 0."""
    return 1 - decay ** float_count(count)


def compute_dtype(*dtypes: Any) -> Any:
    """The dtype per-leaf math runs in: the widest of the floating inputs, never below float32.

    Complex if any input is complex (complex64, or complex128 when a part is 64 bits wide).
    Chosen by width rather than by JAX's promotion rules, so it also holds under
    ``jax_numpy_dtype_promotion="strict"`` (where bfloat16 and float32 do not promote).
    """
    # the width of a real number in each input (a complex number is two of them)
    bits = [jnp.finfo(d).bits if jnp.issubdtype(d, jnp.inexact) else np.dtype(d).itemsize * 8 for d in dtypes]
    wide = max(bits, default=32) >= 64
    if any(np.issubdtype(d, np.complexfloating) for d in dtypes):
        return np.dtype(np.complex128 if wide else np.complex64)
    return np.dtype(np.float64 if wide else np.float32)


def real_dtype(dtype: Any) -> Any:
    """The real dtype of ``dtype``'s parts: float32 for complex64, float32 for float32."""
    return np.dtype(jnp.finfo(dtype).dtype)


def abs_sq(x: jax.Array) -> jax.Array:
    r""":math:`|x|^2` elementwise, in ``x``'s dtype: ``x * x`` for real ``x``; for complex ``x``,
    :math:`\mathrm{re}^2 + \mathrm{im}^2` with a zero imaginary part, so that it adds to second
    moments stored like the params (Optax's convention for complex parameters)."""
    if not jnp.iscomplexobj(x):
        return jnp.square(x)
    return (jnp.square(x.real) + jnp.square(x.imag)).astype(x.dtype)


def abs_like(x: jax.Array) -> jax.Array:
    """:math:`|x|` elementwise, in ``x``'s dtype (complex ``x``: a zero imaginary part)."""
    return jnp.abs(x).astype(x.dtype)


def _mismatch(what: str, updates: Any, other: Any, detail: str = "") -> ValueError:
    return ValueError(
        f"{active_path()}: the {what} does not match the updates{detail}.\n"
        f"  updates: {jax.tree.structure(updates, is_leaf=_is_none)}\n"
        f"  {what}: {jax.tree.structure(other, is_leaf=_is_none)}\n"
        "Was the state made by `init` for parameters with another structure or shape?"
    )


def flatten_up_to(treedef: PyTreeDef, tree: Any) -> list[Any]:  # pyright: ignore[reportInvalidTypeForm]
    """``treedef.flatten_up_to(tree)``: the subtrees of ``tree`` at the leaves of ``treedef``.

    A typed spelling of the method (jaxlib's ``PyTreeDef`` is a C++ class without a stub, so
    neither checker sees its methods; pyright rejects it as an annotation too). Raises
    ``ValueError`` or ``TypeError`` when ``treedef`` is not a prefix of ``tree``'s structure.
    """
    leaves: list[Any] = treedef.flatten_up_to(tree)
    return leaves


def flatten_like(updates: Any, *trees: Any, what: str = "state") -> tuple[list[Any], ...]:
    """Leaves of ``updates`` and of each tree cut to the structure of ``updates``.

    ``None`` counts as a leaf. A tree that does not have the structure of ``updates``, or
    an array leaf whose shape differs from the update leaf it pairs with, raises a
    ``ValueError`` naming the transformation and both structures.
    """
    leaves, treedef = jax.tree.flatten(updates, is_leaf=_is_none)
    out = [leaves]
    for tree in trees:
        try:
            other = flatten_up_to(treedef, tree)
        except (ValueError, TypeError):
            raise _mismatch(what, updates, tree) from None
        for u, o in zip(leaves, other):
            if is_float(u) and hasattr(o, "shape") and o.shape != np.shape(u):
                raise _mismatch(
                    what, updates, tree, f" (a leaf of shape {tuple(o.shape)} meets an update of shape {np.shape(u)})"
                )
        out.append(other)
    return tuple(out)


def map_unzip(
    fn: Callable[..., tuple[Any, ...]], updates: Any, *trees: Any, outputs: int | None = None
) -> tuple[Any, ...]:
    """Map per-leaf math over trees and unzip its outputs into trees.

    ``fn(u, *others)`` gets one floating leaf of ``updates`` and the matching leaves of
    ``trees`` and returns a tuple of ``k`` arrays. Its outputs mirror its first ``k``
    arguments: output ``i`` gets the shape and dtype of argument ``i``. So a rule is
    written ``leaf(g, m, v, p) -> (u, m, v)``: updates first, then state, then read-only
    inputs such as params.

    * Math runs in :func:`compute_dtype` of the floating inputs: bfloat16/float16 leaves are
      computed in float32 and the outputs cast back to their storage dtype.
    * Leaves of ``updates`` that are not floating point (``None``, integers) are not given
      to ``fn``; their first ``k`` arguments are returned unchanged.
    * ``outputs``: the number of outputs, for a rule whose state leaves are not arrays (a
      NamedTuple per leaf): on a tree without floating leaves the rule is not run, and this
      number cannot be found by probing it with arrays.
    * Trees are checked against ``updates`` (see :func:`flatten_like`).

    Returns:
      A tuple of ``k`` trees with the structure of ``updates``.
    """
    leaves, *others = flatten_like(updates, *trees)
    treedef = jax.tree.structure(updates, is_leaf=_is_none)
    columns = [tuple(as_array(x) for x in column) for column in zip(leaves, *others)]
    results = [_apply(fn, args) if is_float(args[0]) else None for args in columns]
    n_out = outputs or _n_outputs(fn, results, len(columns[0]) if columns else 1 + len(trees))
    out_leaves: list[list[Any]] = [[] for _ in range(n_out)]
    for args, result in zip(columns, results):
        for i in range(n_out):
            out_leaves[i].append(args[i] if result is None else result[i])
    return tuple(jax.tree.unflatten(treedef, o) for o in out_leaves)


def map_float(fn: Callable[..., Any], updates: Any, *trees: Any) -> Any:
    """:func:`map_unzip` for a rule with one output (the new update)."""
    (out,) = map_unzip(lambda *args: (fn(*args),), updates, *trees)
    return out


def _apply(fn: Callable[..., tuple[Any, ...]], args: Sequence[Any]) -> tuple[Any, ...]:
    floats = [a.dtype for a in args if is_float(a)]
    dtype = compute_dtype(*floats)
    cast = [_as(a, dtype) if is_float(a) else a for a in args]
    result = fn(*cast)
    if not isinstance(result, tuple) or len(result) > len(args):
        raise TypeError("map_unzip: the per-leaf rule must return a tuple of at most as many arrays as it takes.")
    return tuple(_as(r, a.dtype) if is_float(a) else r for r, a in zip(result, args))


def _as(x: Any, dtype: Any) -> Any:
    """``x.astype(dtype)``, without a conversion in the graph when ``x`` already is strongly that."""
    if getattr(x, "dtype", None) == dtype and getattr(x, "weak_type", True) is False:
        return x
    return jnp.asarray(x).astype(dtype)


def _n_outputs(fn: Callable[..., Any], results: list[Any], n_args: int) -> int:
    for r in results:
        if r is not None:
            return len(r)
    # No floating leaf at all: ask the rule how many outputs it has, without running it, on
    # scalars, or on matrices for the rules that need them (factored moments, per-row counts).
    error: Exception | None = None
    for shape in ((), (2, 2)):
        try:
            return len(jax.eval_shape(fn, *[jax.ShapeDtypeStruct(shape, jnp.float32)] * n_args))
        except Exception as e:  # noqa: BLE001 - the next probe shape may suit the rule
            error = e
    raise TypeError(f"{active_path()}: cannot find how many outputs the per-leaf rule has: {error}") from error


def leaves_of(tree: Any) -> list[Any]:
    """The floating leaves of a tree."""
    return [x for x in jax.tree.leaves(tree) if is_float(x)]


def tree_sum(values: Sequence[jax.Array]) -> jax.Array:
    """Sum of scalars (0 for none), in the widest of their dtypes."""
    total = jnp.zeros((), compute_dtype(*(v.dtype for v in values)))
    for v in values:
        total = total + v.astype(total.dtype)
    return total


def global_norm(tree: Any) -> jax.Array:
    """The l2 norm of all floating leaves of ``tree`` taken as one vector (real, float32 or wider)."""
    leaves = leaves_of(tree)
    dtype = compute_dtype(*(x.dtype for x in leaves))
    return jnp.sqrt(tree_sum([jnp.sum(abs_sq(x.astype(dtype))).real for x in leaves]))


def cast_tree(tree: Any, dtype: Any) -> Any:
    """Cast the floating leaves of a tree to ``dtype`` (``None`` keeps them)."""
    if dtype is None:
        return tree
    return jax.tree.map(lambda x: x.astype(dtype) if is_float(x) else x, tree)
