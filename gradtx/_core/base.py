"""The protocol: `GradientTransformation`, the `@transformation` decorator and two trivial ones.

A transformation is a pair of pure functions ``(init, update)``. Factories decorated with
:func:`transformation` additionally record *how* the transformation was made (the factory
and the arguments it was given). That record gives every transformation a readable
``repr``, lets :func:`describe` print an optimizer's structure, and makes two
transformations built by the same factory with equal arguments compare equal, so that
``jax.jit`` caches (which key on the function) are shared between them.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple, ParamSpec, Protocol, overload

import jax
import jax.core
import jax.numpy as jnp

from gradtx._core import real_view
from gradtx._core.flat import FlatParams

Params = Any
"""A pytree of arrays: the parameters being optimized."""
Updates = Any
"""A pytree with the structure of the params: gradients going in, updates coming out."""
State = Any
"""A pytree (usually a NamedTuple of arrays) holding a transformation's state."""
Schedule = Callable[[jax.Array], jax.Array]
"""A pure function from the number of updates applied so far to a value."""
ScalarOrSchedule = float | jax.Array | Schedule


class InitFn(Protocol):
    def __call__(self, params: Params) -> State: ...


class UpdateFn(Protocol):
    def __call__(
        self, updates: Updates, state: State, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, State]: ...


class GradientTransformation(NamedTuple):
    """A gradient transformation: a pair of pure functions.

    ``init(params) -> state`` builds the state for a tree of parameters (it also works on
    ``jax.ShapeDtypeStruct`` leaves under ``jax.eval_shape``). ``update(updates, state,
    params=None, **extra_args) -> (updates, state)`` transforms one tree of updates.
    Keyword ``extra_args`` (``value=``, ``grad=``, ``value_fn=`` ...) are ignored by the
    transformations that do not use them, so :func:`chain` can pass them to every part.
    """

    init: InitFn
    update: UpdateFn

    def __repr__(self) -> str:
        recipe = recipe_of(self)
        if recipe is None:
            return f"GradientTransformation(init={self.init!r}, update={self.update!r})"
        return repr(recipe)


# --------------------------------------------------------------------------- recipes


@dataclasses.dataclass(frozen=True, eq=False)
class Recipe:
    """How a transformation was made: its factory and the arguments the factory was given.

    Attributes:
      name: The factory's name, e.g. ``"adam"``.
      factory: The decorated factory itself (calling it with ``arguments`` rebuilds the
        transformation; ``gradtx.torch.lr_scheduler`` rebuilds an optimizer with a scheduled rate).
      arguments: ``(name, value)`` pairs of the arguments the caller passed, in order.
      defaults: ``(name, value)`` pairs of the arguments left at their defaults.
      inner: For a factory that returns another recorded transformation (an alias such as
        ``adam`` returning a :func:`chain`), that transformation; else ``None``.
      key: A hashable identity (factory, every argument) or ``None`` when some argument is
        unhashable (an array, a tracer), in which case the transformation is only equal to
        itself.
      needs_leaves: Whether the result depends on the leaves' shapes or boundaries (so the
        transformation cannot run on :class:`FlatParams`).
      complex_params: How complex parameters are optimized: ``"native"`` (the rule's math
        takes complex leaves, as Optax's does), ``"as_real"`` (each complex leaf is seen as its
        real and imaginary halves, as ``torch.optim`` does), or ``None``: ``init`` refuses them.
    """

    name: str
    factory: Callable[..., GradientTransformation]
    arguments: tuple[tuple[str, Any], ...]
    defaults: tuple[tuple[str, Any], ...]
    inner: GradientTransformation | None
    key: Any
    var_positional: str | None = None
    needs_leaves: bool = False
    complex_params: ComplexParams = None

    def __repr__(self) -> str:
        parts: list[str] = []
        for name, value in self.arguments:
            if name == self.var_positional:
                parts.extend(repr(v) for v in value)
            else:
                parts.append(f"{name}={_short_repr(value)}")
        return f"{self.name}({', '.join(parts)})"


def _short_repr(value: Any) -> str:
    if callable(value) and not isinstance(value, GradientTransformation):
        return getattr(value, "__name__", type(value).__name__)
    if isinstance(value, jax.Array | jnp.ndarray) and getattr(value, "size", 2) > 1:
        return f"{type(value).__name__}(shape={tuple(value.shape)}, dtype={value.dtype})"
    return repr(value)


def _hashable(value: Any) -> Any:
    """A hashable stand-in for an argument, tagged with its type (so 1, 1.0, True differ)."""
    if isinstance(value, list | tuple):
        return (type(value), tuple(_hashable(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple(sorted((k, _hashable(v)) for k, v in value.items())))
    hash(value)  # Raises TypeError for arrays, tracers, ...
    return (type(value), value)


class _Step:
    """The ``init`` or ``update`` function of a recorded transformation.

    Calls through to the factory's closure. Two steps are equal when they have the same
    role and come from the same factory called with equal (hashable) arguments, so a
    second ``adam(1e-3)`` hits the ``jax.jit`` caches of the first.
    """

    __slots__ = ("__weakref__", "_fn", "_recipe", "_role", "_state_type")

    def __init__(self, fn: Callable[..., Any], recipe: Recipe, role: str):
        self._fn = fn
        self._recipe = recipe
        self._role = role
        self._state_type: dict[str, type] = {}  # shared by a pair: the NamedTuple class `init` returned

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with _entering(self._recipe.name):
            if self._role == "update":
                state = args[1] if len(args) > 1 else kwargs.get("state")
                expected = self._state_type.get("type")
                if expected is not None and _is_namedtuple(state) and type(state) is not expected:
                    raise TypeError(
                        f"{active_path()}: the state is a {type(state).__name__}, but this transformation's "
                        f"init makes a {expected.__name__}: was it made by another optimizer's init?"
                    )
                args = tuple(_floats_as_arrays(a) if i in (0, 2) else a for i, a in enumerate(args))
                for name in ("updates", "params"):
                    if name in kwargs:
                        kwargs[name] = _floats_as_arrays(kwargs[name])
                return self._fn(*args, **kwargs)
            params = args[0] if args else kwargs.get("params")
            if self._recipe.needs_leaves and isinstance(params, FlatParams):
                raise TypeError(
                    blame(
                        f"{self._recipe.name} works leaf by leaf (it needs the leaves' shapes or "
                        "boundaries), so it cannot run on FlatParams; use it on the params tree "
                        "(flat.unflatten())"
                    )
                )
            if args:
                args = (_floats_as_arrays(unwrap_variables(args[0])), *args[1:])
            elif "params" in kwargs:
                kwargs = {**kwargs, "params": _floats_as_arrays(unwrap_variables(kwargs["params"]))}
            if self._recipe.complex_params is None:
                _refuse_complex(args[0] if args else kwargs.get("params"))
            state = _unaliased(self._fn(*args, **kwargs), params)
            if _is_namedtuple(state):
                self._state_type["type"] = type(state)
            return state

    @property
    def __wrapped__(self) -> Callable[..., Any]:  # lets inspect.signature see the real one
        return self._fn

    @property
    def __name__(self) -> str:
        return f"{self._recipe.name}.{self._role}"

    def __repr__(self) -> str:
        return f"<{self._role} of {self._recipe!r}>"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, _Step) or self._recipe.key is None:
            return False
        return self._role == other._role and self._recipe.key == other._recipe.key

    def __hash__(self) -> int:
        if self._recipe.key is None:
            return id(self)
        return hash((self._role, self._recipe.key))


def is_variable(x: Any) -> bool:
    """Whether ``x`` is a Flax NNX ``Variable`` (``nnx.Param``...): a box around one array."""
    return type(x).__module__.startswith("flax.nnx") and hasattr(type(x), "get_value")


def unwrap_variables(tree: Any) -> Any:
    """``tree`` with every Flax NNX ``Variable`` replaced by the array it holds.

    ``nnx.Optimizer`` calls ``init`` on a tree of Variables and ``update`` on the plain arrays
    (``nnx.as_pure``); unwrapping in ``init`` gives both the same structure and the same leaf
    paths (``"linear/bias"``, not ``"linear/bias/value"``) for masks and labels.
    """
    return jax.tree.map(lambda x: x.get_value() if is_variable(x) else x, tree, is_leaf=is_variable)


def _floats_as_arrays(tree: Any) -> Any:
    """Python-float leaves as 0-d arrays, so that eager calls treat them as ``jit`` does (a parameter).

    Python complex leaves likewise. Transformations then meet arrays only; a tree without
    Python floats is returned as it is.
    """
    leaves = jax.tree.leaves(tree)
    if not any(isinstance(x, float | complex) for x in leaves):
        return tree
    return jax.tree.map(lambda x: jnp.asarray(x) if isinstance(x, float | complex) else x, tree)


def _refuse_complex(params: Params) -> None:
    """Raise a ``TypeError`` naming the transformation if ``params`` has a complex leaf."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        if real_view.is_complex(leaf):
            where = f"the leaf params{jax.tree_util.keystr(path)} is" if path else "the params are"
            raise TypeError(
                f"{active_path()}: complex parameters are not supported ({where} {jnp.result_type(leaf)}). "
                "Optimize the real and imaginary parts as real leaves with "
                "gradtx.split_real_and_imaginary(tx), or pick an optimizer that takes complex parameters "
                "(the docs' 'Complex parameters' section lists them)."
            )


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _unaliased(state: State, params: Params) -> State:
    """``state`` with no buffer in two leaves nor in a param, so that ``jit(step, donate_argnums=...)``
    accepts ``(params, state)``.

    An eager ``init`` may put one array in two places (AMSGrad's maximum starts as the second
    moment itself, an average starts as the params); donating such a state fails with
    "donate the same buffer twice". Each repeat is copied. Tracers (a jitted ``init``) are
    left alone.
    """
    leaves, treedef = jax.tree.flatten(state)
    seen = {id(p) for p in jax.tree.leaves(params) if isinstance(p, jax.Array)}
    copied = False
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, jax.Array) or isinstance(leaf, jax.core.Tracer):
            continue
        if id(leaf) in seen:
            leaves[i], copied = jnp.copy(leaf), True
        seen.add(id(leaves[i]))
    return jax.tree.unflatten(treedef, leaves) if copied else state


def recipe_of(tx: GradientTransformation) -> Recipe | None:
    """The :class:`Recipe` of a transformation built by a ``@transformation`` factory."""
    step = tx.update
    return step._recipe if isinstance(step, _Step) else None


P = ParamSpec("P")

# How a transformation treats complex parameters (see :func:`transformation`).
ComplexParams = Literal["native", "as_real"] | None


@overload
def transformation(
    factory: Callable[P, GradientTransformation], *, needs_leaves: bool = False, complex_params: ComplexParams = None
) -> Callable[P, GradientTransformation]: ...


@overload
def transformation(
    factory: None = None, *, needs_leaves: bool = False, complex_params: ComplexParams = None
) -> Callable[[Callable[P, GradientTransformation]], Callable[P, GradientTransformation]]: ...


def transformation(factory: Any = None, *, needs_leaves: bool = False, complex_params: ComplexParams = None) -> Any:
    """Decorate a factory of :class:`GradientTransformation` so its results are recorded.

    The factory keeps its name, docstring and signature (for type checkers too: the
    decorator is typed with a ``ParamSpec``). What it returns gets a readable
    ``repr`` (``adam(learning_rate=0.001)``), takes part in :func:`describe`, names itself
    in error messages raised while it updates, and compares equal to another
    transformation made by the same factory with equal arguments.

    Use ``@transformation(needs_leaves=True)`` for a transformation whose result depends on
    the leaves' shapes or boundaries (per-leaf norms, factored moments, masks by path):
    its ``init`` then refuses :class:`FlatParams` instead of computing something else.

    Complex parameters are refused by ``init`` with a ``TypeError`` naming the transformation,
    unless it declares how it treats them: ``complex_params="native"`` for a rule written for
    complex leaves (moments of :math:`|g|^2`, norms of :math:`|x|`: Optax's convention), or
    ``complex_params="as_real"`` to run the rule on each complex leaf's real and imaginary
    halves as two real leaves (``torch.view_as_real``: torch.optim's convention). An alias
    inherits the declaration of the transformation it returns; combinators declare
    ``"native"`` and leave the decision to their parts.
    """
    if factory is None:
        return functools.partial(transformation, needs_leaves=needs_leaves, complex_params=complex_params)
    try:  # Evaluated annotations (not strings), for tools that read inspect.signature.
        signature = inspect.signature(factory, eval_str=True)
    except (NameError, TypeError):
        signature = inspect.signature(factory)
    var_positional = next(
        (p.name for p in signature.parameters.values() if p.kind is p.VAR_POSITIONAL), None
    )

    @functools.wraps(factory)
    def build(*args: Any, **kwargs: Any) -> GradientTransformation:
        with _entering(factory.__name__):
            tx = factory(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        # As written: positional arguments first, then keywords in the caller's order.
        if all(k in bound.arguments for k in kwargs):
            positional = [(k, v) for k, v in bound.arguments.items() if k not in kwargs]
            given = tuple(positional + [(k, bound.arguments[k]) for k in kwargs])
        else:  # a **kwargs parameter collects some: keep the signature's order
            given = tuple(bound.arguments.items())
        bound.apply_defaults()
        defaults = tuple((k, v) for k, v in bound.arguments.items() if k not in dict(given))
        try:
            key = (factory, _hashable(tuple(bound.arguments.items())))
        except TypeError:
            key = None
        recipe = Recipe(
            name=factory.__name__,
            factory=build,
            arguments=given,
            defaults=defaults,
            inner=tx if recipe_of(tx) is not None else None,
            key=key,
            var_positional=var_positional,
            # An alias of a leaf-wise transformation (its inner step is unwrapped below) is one.
            needs_leaves=needs_leaves or getattr(recipe_of(tx), "needs_leaves", False),
            complex_params=complex_params or getattr(recipe_of(tx), "complex_params", None),
        )
        init, update = (s._fn if isinstance(s, _Step) else s for s in tx)
        if complex_params == "as_real":
            init, update = _as_real(init, update)
        init_step, update_step = _Step(init, recipe, "init"), _Step(update, recipe, "update")
        init_step._state_type = update_step._state_type
        return GradientTransformation(init_step, update_step)

    build.__signature__ = signature  # type: ignore[attr-defined]
    return build


def _as_real(init: Callable[..., Any], update: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``init`` and ``update`` run on each complex leaf's real and imaginary halves (two real leaves).

    The state is the inner one's, for the split tree; trees without complex leaves are unchanged.
    A ``value_fn`` extra argument (line searches) is called on the params joined back.
    """

    def init_as_real(params: Params) -> State:
        return init(real_view.split(params))

    def update_as_real(updates: Updates, state: State, params: Params | None = None, **extra: Any) -> Any:
        value_fn = extra.get("value_fn")
        if callable(value_fn):  # line searches evaluate the objective at split params
            extra["value_fn"] = lambda split_params, *a, **k: value_fn(real_view.join(split_params), *a, **k)
        split = real_view.split(updates)
        new, state = update(split, state, real_view.split(params), **extra)
        return (new if split is updates else real_view.join(new)), state

    return functools.wraps(init)(init_as_real), functools.wraps(update)(update_as_real)


def describe(tx: GradientTransformation) -> str:
    """A multi-line description of a transformation: its parts and all hyperparameters.

    Examples:
      >>> print(gradtx.describe(gradtx.sgd(0.1, momentum=0.9)))  # doctest: +ELLIPSIS
      sgd(learning_rate=0.1, momentum=0.9, ...)
      └─ chain(...)
      ...
    """
    lines: list[str] = []

    def visit(tx: GradientTransformation, prefix: str, child_prefix: str) -> None:
        recipe = recipe_of(tx)
        if recipe is None:
            lines.append(prefix + repr(tx))
            return
        arguments = [a for a in recipe.arguments if a[0] != recipe.var_positional]
        shown = ", ".join(f"{k}={_short_repr(v)}" for k, v in arguments + list(recipe.defaults))
        children = [v for k, v in recipe.arguments if k == recipe.var_positional]
        children = [c for group in children for c in group if isinstance(c, GradientTransformation)]
        children += [v for _, v in arguments if isinstance(v, GradientTransformation)]
        children += [
            c
            for _, v in arguments
            if isinstance(v, dict | tuple | list)
            for c in (v.values() if isinstance(v, dict) else v)
            if isinstance(c, GradientTransformation)
        ]
        if recipe.inner is not None:
            children.append(recipe.inner)
        shown = "..." if recipe.var_positional and not shown else shown
        lines.append(f"{prefix}{recipe.name}({shown})")
        for i, child in enumerate(children):
            last = i == len(children) - 1
            visit(child, child_prefix + ("└─ " if last else "├─ "), child_prefix + ("   " if last else "│  "))

    visit(tx, "", "")
    return "\n".join(lines)


# --------------------------------------------------------------- where errors come from

_ACTIVE: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("gradtx_active", default=())


@contextlib.contextmanager
def _entering(name: str) -> Iterator[None]:
    token = _ACTIVE.set(_ACTIVE.get() + (name,))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active_path() -> str:
    """The transformations being built or run, outermost first: ``"adam > chain > scale_by_adam"``."""
    return " > ".join(_ACTIVE.get()) or "gradtx"


def blame(message: str) -> str:
    """Prefix an argument error with the function the user called (and the part that checked).

    ``adam: `b1` must be in [0, 1), got b1=1.0 (checked by scale_by_adam).``
    The message is given without its final period.
    """
    names = _ACTIVE.get() or ("gradtx",)
    called, checked_by = names[0], names[-1]
    suffix = f" (checked by {checked_by})" if len(names) > 1 else ""
    return f"{called}: {message}{suffix}."


# ------------------------------------------------------------------- parameter averages


def _holds_average(x: Any) -> bool:
    return callable(getattr(type(x), "eval_params", None))


def eval_params(state: State, params: Params) -> Params:
    """The parameters to evaluate with: the average a state keeps, in place of ``params``.

    States that keep an average of the parameters (:func:`with_param_ema`,
    :func:`polyak_averaging`, :func:`asgd`, :func:`lookahead`) define a method
    ``eval_params(self, params) -> params``; this function finds the one inside ``state``
    (at any depth of chains and named chains) and calls it.

    Raises:
      ValueError: If the state keeps no average, or more than one.
    """
    state, params = unwrap_variables(state), unwrap_variables(params)
    found = [x for x in jax.tree.leaves(state, is_leaf=_holds_average) if _holds_average(x)]
    if len(found) != 1:
        what = "no parameter average" if not found else f"{len(found)} parameter averages"
        raise ValueError(
            f"eval_params: the state holds {what}; it needs exactly one (from with_param_ema, "
            "polyak_averaging, asgd or lookahead)."
        )
    return found[0].eval_params(params)


# ------------------------------------------------------------------- trivial transforms


class EmptyState(NamedTuple):
    """The state of a transformation that keeps none."""


@transformation(complex_params="native")
def identity() -> GradientTransformation:
    """The transformation that returns its updates unchanged and keeps no state.

    Examples:
      >>> gradtx.identity().update(jnp.ones(2), gradtx.identity().init(None))[0]
      Array([1., 1.], dtype=float32)
    """

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        return updates, state

    return GradientTransformation(init, update)


@transformation(needs_leaves=True, complex_params="native")
def stateless(f: Callable[[Updates, Params | None], Updates]) -> GradientTransformation:
    """A transformation from a function ``f(updates, params) -> updates``; it keeps no state.

    Args:
      f: A pure function of the update tree and the params (``None`` if not given).

    Examples:
      >>> double = gradtx.stateless(lambda u, p: jax.tree.map(lambda x: 2 * x, u))
      >>> double.update(jnp.ones(2), double.init(None))[0]
      Array([2., 2.], dtype=float32)
    """
    if not callable(f):
        raise TypeError(f"stateless: `f` must be callable, got {type(f).__name__}.")

    def init(params: Params) -> EmptyState:
        del params
        return EmptyState()

    def update(
        updates: Updates, state: EmptyState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, EmptyState]:
        del extra_args
        return f(updates, params), state

    return GradientTransformation(init, update)
