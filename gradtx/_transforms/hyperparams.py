"""Hyperparameters that live in the state: read, changed or scheduled at run time."""

import functools
import inspect
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import jax
import jax.core
import jax.numpy as jnp
import numpy as np

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, State, Updates, transformation, unwrap_variables


class InjectHyperparamsState(NamedTuple):
    """State of a transformation built by :func:`inject_hyperparams`."""

    # int32[]: updates applied so far; the argument of the schedules
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count
    hyperparams: dict[str, jax.Array]  # name -> float32[] (float64 under x64): the value the next update uses
    scheduled: dict[str, jax.Array]  # name -> float32[] (float64 under x64): schedule(count), read only
    inner_state: State  # the state of the wrapped transformation


def _storage_dtype(hyperparam_dtype: Any = None) -> np.dtype:
    """``hyperparam_dtype``, else float32 (float64 when ``jax_enable_x64`` is on); never the params' dtype."""
    return np.dtype(jax.dtypes.canonicalize_dtype(jnp.float64 if hyperparam_dtype is None else hyperparam_dtype))


def _admits_float(annotation: Any) -> bool:
    if annotation is float:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_admits_float(a) for a in typing.get_args(annotation))
    return False


def _numeric_parameters(factory: Callable[..., Any]) -> set[str]:
    """The parameters annotated with a type that admits a float (``float``, ``ScalarOrSchedule``...)."""
    try:
        hints = typing.get_type_hints(factory)
    except (NameError, TypeError):  # Annotations that cannot be resolved say nothing.
        return set()
    return {name for name, hint in hints.items() if _admits_float(hint)}


def _is_real_scalar(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, np.ndarray | jax.Array | np.generic):
        real = jnp.issubdtype(value.dtype, jnp.number) and not jnp.iscomplexobj(value)
        return np.shape(value) == () and real
    return isinstance(value, numbers.Real)


def _is_float_scalar(value: Any) -> bool:
    if isinstance(value, np.ndarray | jax.Array | np.generic):
        return _is_real_scalar(value) and jnp.issubdtype(value.dtype, jnp.floating)
    return isinstance(value, float)


def _split(
    bound: inspect.BoundArguments, given: set[str], numeric: set[str], static_args: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Callable[[jax.Array], Any]]]:
    """The constants to inject and the schedules, by argument name; everything else stays static."""
    constants, schedules = {}, {}
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if name in static_args or kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if name not in given and checks.is_static_zero(value):
            continue  # A default of 0 removes a part (no momentum buffer); it stays removed.
        if name in numeric and callable(value) and not isinstance(value, type | np.dtype):
            schedules[name] = value
        elif (name in numeric and _is_real_scalar(value)) or _is_float_scalar(value):
            constants[name] = value
    return constants, schedules


@functools.lru_cache(maxsize=256)  # Bounded: a program that makes factories in a loop does not leak.
def _injected(
    factory: Callable[..., GradientTransformation], static_args: frozenset[str], hyperparam_dtype: Any
) -> Callable[..., GradientTransformation]:
    """The recorded factory ``inject_hyperparams(factory)``; one per arguments, so equal (shared jit caches)."""
    signature = inspect.signature(factory)
    numeric = _numeric_parameters(factory)

    def build(*args: Any, **kwargs: Any) -> GradientTransformation:
        bound = signature.bind(*args, **kwargs)
        given = set(bound.arguments)
        bound.apply_defaults()
        constants, schedules = _split(bound, given, numeric, static_args)
        names = sorted(constants) + sorted(schedules)
        # Built once with the values as given (schedules at count 0), so that bad arguments
        # fail here, with the factory's own message.
        at_zero = {name: jnp.asarray(s(jnp.zeros([], jnp.int32))) for name, s in schedules.items()}
        first = inspect.BoundArguments(signature, {**bound.arguments, **at_zero})
        factory(*first.args, **first.kwargs)

        def make(values: Mapping[str, jax.Array]) -> GradientTransformation:
            arguments = dict(bound.arguments)
            arguments.update({name: tree.weak(values[name]) for name in names})
            call = inspect.BoundArguments(signature, arguments)
            return factory(*call.args, **call.kwargs)

        def scheduled_at(count: jax.Array, dtype: Any) -> dict[str, jax.Array]:
            return {name: jnp.asarray(s(count), dtype) for name, s in schedules.items()}

        def init(params: Params) -> InjectHyperparamsState:
            dtype = _storage_dtype(hyperparam_dtype)
            count = tree.zero_count(params)
            hyperparams = {
                name: tree.replicated_like(params, jnp.asarray(constants[name], dtype))
                for name in sorted(constants)
            }
            scheduled = scheduled_at(count, dtype)
            inner_state = make({**hyperparams, **scheduled}).init(params)
            return InjectHyperparamsState(count, hyperparams, scheduled, inner_state)

        def update(
            updates: Updates, state: InjectHyperparamsState, params: Params | None = None, **extra_args: Any
        ) -> tuple[Updates, InjectHyperparamsState]:
            dtype = _storage_dtype(hyperparam_dtype)
            values = {**state.hyperparams, **scheduled_at(state.count, dtype)}
            updates, inner_state = make(values).update(updates, state.inner_state, params, **extra_args)
            count = tree.safe_increment(state.count)
            return updates, InjectHyperparamsState(
                count, state.hyperparams, scheduled_at(count, dtype), inner_state
            )

        return GradientTransformation(init, update)

    build.__name__ = build.__qualname__ = f"inject_hyperparams({getattr(factory, '__name__', repr(factory))})"
    build.__doc__ = factory.__doc__
    build.__signature__ = signature  # type: ignore[attr-defined]
    return transformation(build, complex_params="native")  # the inner optimizer decides


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformation]:
    r"""Keep a factory's numeric hyperparameters in the state, to read, change or schedule them.

    ``inject_hyperparams(adam)(learning_rate=1e-3)`` builds the same optimizer as
    ``adam(1e-3)``, but its hyperparameters are values in the state rather than constants
    in the compiled step: :func:`set_hyperparams` changes them between steps without a
    recompilation (torch's ``optimizer.param_groups[0]["lr"] = ...``), and any of them may
    be a schedule evaluated at the wrapper's step count. At step :math:`t`, hyperparameter
    :math:`h` takes the value

    .. math::

       h_t = s_h(t) \ \text{(a schedule)} \quad \text{or} \quad
       h_t = \text{the stored value (the argument, until } \texttt{set\_hyperparams}\text{)}

    Which arguments are injected: every float, and every number or callable given for a
    parameter annotated with ``float`` (``learning_rate``, ``momentum``, ``b1``...; a
    callable there is a schedule). Booleans, strings, dtypes, ``None``, tuples,
    transformations, integers of ``int`` parameters (they decide structure, e.g.
    ``ns_steps``) and other callables stay static, and so does a hyperparameter left at
    a default of exactly 0, which removes its part (``sgd``'s momentum buffer, weight
    decay): pass it explicitly (``momentum=0.0``) to make it adjustable.

    Args:
      inner_factory: A function returning a :class:`GradientTransformation`, e.g. :func:`adam`.
      static_args: Names of arguments never injected (a name or an iterable of names).
      hyperparam_dtype: The dtype the values are stored in. ``None`` (the default) stores
        them in float32, or float64 under ``jax_enable_x64`` (Optax's ``None`` means the
        params' dtype, see the note).

    Returns:
      A factory with the signature of ``factory`` whose transformations have the state
      :class:`InjectHyperparamsState`.

    Raises:
      ValueError: If ``static_args`` names an argument ``factory`` does not have. The
        returned factory raises what ``factory`` raises for the same arguments.

    Examples:
      >>> tx = gradtx.inject_hyperparams(gradtx.sgd)(learning_rate=0.1)
      >>> tx
      inject_hyperparams(sgd)(learning_rate=0.1)
      >>> state = gradtx.set_hyperparams(tx.init(jnp.zeros(2)), learning_rate=0.5)
      >>> tx.update(jnp.ones(2), state)[0]
      Array([-0.5, -0.5], dtype=float32)

    .. note::
       **Storage dtype.** Values are stored in float32, or float64 under
       ``jax_enable_x64``, whatever the params' dtype (Optax stores them in the params'
       dtype, so bfloat16 params turn ``b2=0.999`` into 1.0 and Adam divides by
       :math:`\epsilon`). They reach the factory as *weakly typed* scalars, so ``b2 * v``
       computes in ``v``'s dtype exactly as with the Python float: under
       ``jax_enable_x64`` wrapped and unwrapped optimizers do the same operations on the
       same values (bit-identical trajectories, op by op). In 32-bit mode a value is
       rounded to float32 *before* the factory computes with it, so a derived constant
       such as ``1 - b2`` can differ from the Python-computed one in its last float32 bit.
       Under ``jit``, XLA may specialize the unwrapped program on its constants
       (``x ** 0.5`` becomes ``sqrt(x)``; a multiply-add fuses differently), which can
       move a last bit.

       **Injected zeros keep their part.** ``momentum=0.0`` passed explicitly to
       ``sgd`` keeps a momentum buffer (it equals the gradient, so the updates are
       unchanged) that a later ``set_hyperparams(state, momentum=0.9)`` uses. torch
       creates its buffer at the first step with momentum on; here it holds the previous
       gradient by then.

       Optax: ``optax.inject_hyperparams(inner_factory, static_args, hyperparam_dtype)``,
       same arguments; gradtx stores schedule values separately (``scheduled``) and refuses
       to set them, and ``hyperparam_dtype=None`` means float32, not the params' dtype.
    """
    factory = inner_factory
    static = frozenset([static_args] if isinstance(static_args, str) else static_args)
    checks.dtype_or_none("hyperparam_dtype", hyperparam_dtype)
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        raise TypeError(f"inject_hyperparams: `inner_factory` must be a function, got {factory!r}.") from None
    unknown = sorted(static - set(parameters))
    if unknown:
        raise ValueError(
            f"inject_hyperparams: `static_args` names {unknown}, which "
            f"{getattr(factory, '__name__', 'the factory')} does not take; it takes {list(parameters)}."
        )
    return _injected(factory, static, None if hyperparam_dtype is None else np.dtype(hyperparam_dtype))


def _is_injected(x: Any) -> bool:
    return isinstance(x, InjectHyperparamsState)


def _injected_states(state: State) -> list[InjectHyperparamsState]:
    """Every :class:`InjectHyperparamsState` in ``state``, also those nested in one another."""
    found = []
    for node in jax.tree.leaves(state, is_leaf=_is_injected):
        if _is_injected(node):
            found.append(node)
            found.extend(_injected_states(node.inner_state))
    return found


def _no_injection() -> ValueError:
    return ValueError(
        "the state holds no injected hyperparameters; build the transformation with "
        "gradtx.inject_hyperparams(factory)(...)."
    )


def get_hyperparams(state: State) -> dict[str, jax.Array]:
    """The values the next update will use, by name, from a state at any depth.

    Finds the :class:`InjectHyperparamsState` inside chains, named chains, masks,
    partitions and other wrappers. Scheduled hyperparameters appear with the value of
    their schedule at the current count, like torch's ``param_groups[i]["lr"]`` after a
    scheduler step.

    Args:
      state: The state of a transformation built with :func:`inject_hyperparams` (or of
        one that contains such a transformation).

    Returns:
      A dict name -> scalar array (float32, or float64 under ``jax_enable_x64``).

    Raises:
      ValueError: If the state holds no injected hyperparameters, or if a name occurs in
        several injected transformations (e.g. two partition groups): call it on the
        part of the state you mean (``state.inner_states["decay"]``).

    Examples:
      >>> tx = gradtx.chain(gradtx.inject_hyperparams(gradtx.adam)(learning_rate=0.1))
      >>> gradtx.get_hyperparams(tx.init(jnp.zeros(2)))
      {'b1': Array(0.9, dtype=float32), 'b2': Array(0.999, dtype=float32),
       'eps': Array(1.e-08, dtype=float32), 'learning_rate': Array(0.1, dtype=float32)}
    """
    states = _injected_states(unwrap_variables(state))
    if not states:
        raise ValueError(f"get_hyperparams: {_no_injection()}")
    values: dict[str, jax.Array] = {}
    for s in states:
        for name, value in {**s.hyperparams, **s.scheduled}.items():
            if name in values:
                raise ValueError(
                    f"get_hyperparams: {name!r} is injected in several places of the state; call "
                    "get_hyperparams on the part you mean (e.g. state.inner_states[label] of a partition)."
                )
            values[name] = value
    return dict(sorted(values.items()))


def _like(value: Any, old: jax.Array) -> jax.Array:
    """``value`` with the dtype and placement of ``old``, so that a jitted step sees the same input type."""
    array = jnp.asarray(value, old.dtype)
    if isinstance(old, jax.core.Tracer) or isinstance(array, jax.core.Tracer):
        return array
    placed: jax.Array = jax.device_put(array, old.sharding)
    return placed


def set_hyperparams(state: State, **new: Any) -> State:
    """A copy of ``state`` in which hyperparameters take new values (pure; nothing recompiles).

    Finds the :class:`InjectHyperparamsState` at any depth (chains, named chains, masks,
    partitions, ...) and sets each named value in every injected transformation that has
    it, as a loop over torch's ``param_groups`` would. The new value has the stored dtype
    and shape, so a jitted step keeps its compilation. Values may be traced (call it
    inside ``jit``); they are not range-checked.

    Args:
      state: A state containing injected hyperparameters.
      **new: Name -> new value (a real scalar).

    Returns:
      The new state; ``state`` itself is unchanged.

    Raises:
      ValueError: If the state holds no injected hyperparameters, if a name is not
        injected anywhere (hyperparameters left at a default of 0 stay static), or if it
        is driven by a schedule.
      TypeError: If a value is not a real scalar.

    Examples:
      >>> tx = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=0.1)
      >>> state = gradtx.set_hyperparams(tx.init(jnp.zeros(2)), learning_rate=0.01, b1=0.5)
      >>> gradtx.get_hyperparams(state)["learning_rate"]
      Array(0.01, dtype=float32)

    .. note::
       Flax NNX: ``nnx.update(optimizer.opt_state, nnx.state(gradtx.set_hyperparams(
       optimizer.opt_state, learning_rate=...)))``; the NNX variables are read through and a
       plain state is returned.
    """
    state = unwrap_variables(state)
    states = _injected_states(state)
    if not states:
        raise ValueError(f"set_hyperparams: {_no_injection()}")
    settable = {name for s in states for name in s.hyperparams}
    scheduled = {name for s in states for name in s.scheduled}
    for name, value in new.items():
        if name not in settable:
            if name in scheduled:
                raise ValueError(f"set_hyperparams: {name!r} is given by a schedule; it cannot be set.")
            raise ValueError(
                f"set_hyperparams: {name!r} is not an injected hyperparameter; the state has "
                f"{sorted(settable)}. (Arguments left at a default of 0 stay static: pass them to "
                "inject_hyperparams(factory)(...) explicitly to make them adjustable.)"
            )
        if not _is_real_scalar(value):
            raise TypeError(f"set_hyperparams: {name}={value!r} is not a real scalar.")

    def replace(node: Any) -> Any:
        if not _is_injected(node):
            return node
        hyperparams = {
            name: _like(new[name], old) if name in new else old for name, old in node.hyperparams.items()
        }
        inner_state = jax.tree.map(replace, node.inner_state, is_leaf=_is_injected)
        return node._replace(hyperparams=hyperparams, inner_state=inner_state)

    return jax.tree.map(replace, state, is_leaf=_is_injected)
