"""Multi-device helpers: the shardings of a state, planned from the params' shardings."""

from __future__ import annotations

from typing import Any

import jax

from gradtx._core.base import GradientTransformation, Params, State


def _abstract(x: Any) -> Any:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(
            "state_shardings: every leaf of `params` must be an array or a jax.ShapeDtypeStruct, "
            f"got {type(x).__name__}: {x!r:.100}."
        )
    return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=getattr(x, "sharding", None))


def state_shardings(tx: GradientTransformation, params: Params) -> State:
    """The sharding of every leaf of ``tx.init(params)``, found without allocating anything.

    Use it to give a jitted step its ``out_shardings``, to restore a checkpointed state
    straight onto its devices, or to plan memory before a model exists. The answer is the
    one ``jax.jit(tx.init)`` gives: XLA compiles ``init`` for the params' shardings (it
    runs nothing). Leaves shaped like their param are sharded like it; a state
    entry that is not (a count, a flag, a factored moment) is spread over the same
    devices, scalars replicated.

    Args:
      tx: The transformation (an optimizer, a chain, ...).
      params: The params: ``jax.Array`` leaves, or ``jax.ShapeDtypeStruct(shape, dtype,
        sharding=...)`` leaves for params that do not exist yet. A leaf without a sharding
        is placed where ``jax.jit`` puts unplaced inputs (the default device).

    Returns:
      A pytree with the structure of ``tx.init(params)`` holding one
      ``jax.sharding.Sharding`` per array leaf (``None`` leaves of the state stay ``None``).

    Raises:
      TypeError: If a leaf of ``params`` is neither an array nor a ``ShapeDtypeStruct``.

    Examples:
      >>> mesh = jax.make_mesh((1,), ("fsdp",))
      >>> shard = jax.sharding.NamedSharding(mesh, jax.P("fsdp"))
      >>> params = {"w": jax.ShapeDtypeStruct((8, 4), jnp.float32, sharding=shard)}
      >>> shardings = gradtx.state_shardings(gradtx.adam(1e-3), params)
      >>> shardings[0].mu["w"].spec, shardings[0].count.spec
      (P('fsdp', None), P())
      >>> shapes = jax.eval_shape(gradtx.adam(1e-3).init, params)  # shapes and dtypes
      >>> shapes[0].mu["w"].shape
      (8, 4)

    .. note::
       Optax has no such helper; with Optax one writes ``jax.eval_shape`` plus a
       hand-made rule for each state field. gradtx states are sharded like their params
       under ``jit`` by construction, so the compiler's answer is exact. See
       ``docs/multidevice.md``.
    """
    abstract = jax.tree.map(_abstract, params)
    # keep_unused: a state made only of scalars must still land on the params' devices.
    compiled = jax.jit(tx.init, keep_unused=True).lower(abstract).compile()
    return compiled.output_shardings
