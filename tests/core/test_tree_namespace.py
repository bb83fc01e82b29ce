"""``gradtx.tree``: every ``optax.tree`` name, with Optax's signature and, in float64, Optax's outputs."""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree
import optax.tree_utils
import pytest
from test_signatures import assert_same_parameters

import gradtx
from gradtx._core import tree as engine

OPTAX_TREE_NAMES = sorted(n for n in dir(optax.tree) if not n.startswith("_"))


def _reference(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with jax.numpy_dtype_promotion("standard"):  # optax's own code relies on implicit promotion
        return fn(*args, **kwargs)


def assert_same_tree(got: Any, want: Any, rtol: float = 1e-12) -> None:
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=0)


def _trees(seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(seed)

    def make() -> dict[str, Any]:
        return {
            "w": jnp.asarray(rng.normal(size=(3, 2))),
            "b": jnp.asarray(rng.normal(size=(2,))),
            "nested": [jnp.asarray(rng.normal())],
        }

    return make(), make()


def test_gradtx_tree_is_the_public_namespace_and_the_engine_is_untouched():
    assert gradtx.tree.__name__ == "gradtx.tree"
    assert hasattr(engine, "map_unzip") and not hasattr(gradtx.tree, "map_unzip")


@pytest.mark.parametrize("name", OPTAX_TREE_NAMES)
def test_every_optax_tree_name_exists_with_optax_parameters(name):
    assert hasattr(gradtx.tree, name), f"gradtx.tree.{name} is missing"
    theirs = list(inspect.signature(getattr(optax.tree, name)).parameters.values())
    assert_same_parameters(f"gradtx.tree.{name}", inspect.signature(getattr(gradtx.tree, name)), theirs)


# name -> arguments built from two float64 trees x, y (and a key); the outputs must equal Optax's
ELEMENTWISE = {
    "add": lambda x, y: (x, y),
    "sub": lambda x, y: (x, y),
    "mul": lambda x, y: (x, y),
    "div": lambda x, y: (x, y),
    "scale": lambda x, y: (0.3, x),
    "add_scale": lambda x, y: (x, -1.7, y),
    "vdot": lambda x, y: (x, y),
    "sum": lambda x, y: (x,),
    "max": lambda x, y: (x,),
    "min": lambda x, y: (x,),
    "norm": lambda x, y: (x,),
    "conj": lambda x, y: (x,),
    "real": lambda x, y: (x,),
    "where": lambda x, y: (jnp.asarray(False), x, y),
    "clip": lambda x, y: (x, -0.5, 0.25),
    "batch_shape": lambda x, y: (x, (2, 1)),
    "zeros_like": lambda x, y: (x,),
    "ones_like": lambda x, y: (x, jnp.float32),
    "full_like": lambda x, y: (x, 0.7),
    "cast": lambda x, y: (x, jnp.float32),
    "cast_like": lambda x, y: (x, jax.tree.map(lambda a: a.astype(jnp.float16), y)),
    "update_moment": lambda x, y: (x, y, 0.9, 2),
    "update_moment_per_elem_norm": lambda x, y: (x, y, 0.99, 3),
    "update_infinity_moment": lambda x, y: (x, y, 0.95, 1e-3),
    "bias_correction": lambda x, y: (x, 0.9, jnp.asarray(3, jnp.int32)),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_float64_outputs_equal_optax(name):
    with jax.enable_x64(True):
        x, y = _trees()
        args = ELEMENTWISE[name](x, y)
        want = _reference(getattr(optax.tree, name), *args)
        got = getattr(gradtx.tree, name)(*args)
        assert_same_tree(got, want)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ord": 1},
        {"ord": 2},
        {"ord": "inf"},
        {"ord": jnp.inf},
        {"squared": True},
        {"ord": 1, "squared": True},
    ],
)
def test_norm_orders_equal_optax(kwargs):
    with jax.enable_x64(True):
        x, _ = _trees(1)
        assert_same_tree(gradtx.tree.norm(x, **kwargs), _reference(optax.tree.norm, x, **kwargs))


def test_complex_leaves_equal_optax():
    with jax.enable_x64(True):
        x, y = _trees(2)
        z = jax.tree.map(jax.lax.complex, x, y)
        for name, args in [
            ("norm", (z,)),
            ("vdot", (z, jax.tree.map(jnp.flip, z))),
            ("conj", (z,)),
            ("real", (z,)),
            ("update_moment_per_elem_norm", (z, x, 0.9, 2)),
            ("update_moment_per_elem_norm", (z, x, 0.9, 3)),
        ]:
            assert_same_tree(getattr(gradtx.tree, name)(*args), _reference(getattr(optax.tree, name), *args))


def test_sum_with_associative_reduction_and_empty_trees_equal_optax():
    with jax.enable_x64(True):
        x, _ = _trees(3)
        assert_same_tree(gradtx.tree.sum(x, True), _reference(optax.tree.sum, x, True))
        for name in ("sum", "max", "min", "size", "norm"):
            assert np.array_equal(getattr(gradtx.tree, name)({}), getattr(optax.tree, name)({})), name
        assert gradtx.tree.size(x) == optax.tree.size(x) == 9
        assert gradtx.tree.max({"e": jnp.zeros((0,)), "v": jnp.ones(2)}) == 1.0


def test_none_leaves_are_kept_as_optax_keeps_them():
    with jax.enable_x64(True):
        x, y = _trees(4)
        x["nested"] = None
        y["nested"] = None
        for name, args in [
            ("add_scale", (x, 2.0, y)),
            ("update_moment", (x, y, 0.9, 2)),
            ("update_infinity_moment", (x, y, 0.9, 1e-8)),
            ("update_moment_per_elem_norm", (x, y, 0.9, 2)),
        ]:
            assert_same_tree(getattr(gradtx.tree, name)(*args), _reference(getattr(optax.tree, name), *args))


def test_allclose_equals_optax():
    with jax.enable_x64(True):
        x, y = _trees(5)
        near = jax.tree.map(lambda a: a * (1 + 1e-7), x)
        for a, b, kw in [
            (x, near, {}),
            (x, y, {}),
            (x, near, {"rtol": 1e-9}),
            (x, near, {"rtol": 0, "atol": 1e-6}),
        ]:
            assert bool(gradtx.tree.allclose(a, b, **kw)) == bool(optax.tree.allclose(a, b, **kw))
        nan = {"a": jnp.array([jnp.nan])}
        assert bool(gradtx.tree.allclose(nan, nan, equal_nan=True)) and not bool(
            gradtx.tree.allclose(nan, nan)
        )


@pytest.mark.parametrize("handler", [None, "promote", "highest", "lowest"])
def test_dtype_equals_optax(handler):
    same = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(1, jnp.float16)}
    mixed = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(1, jnp.float32), "c": jnp.ones(1, jnp.bfloat16)}
    assert gradtx.tree.dtype(same, handler) == _reference(optax.tree.dtype, same, handler)
    assert gradtx.tree.dtype({}, handler) == _reference(optax.tree.dtype, {}, handler)
    two = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(1, jnp.float32)}
    if handler is None:
        with pytest.raises(ValueError, match="Expected dtype"):
            gradtx.tree.dtype(two)
    else:
        assert gradtx.tree.dtype(two, handler) == _reference(optax.tree.dtype, two, handler)
    if handler == "lowest":  # float16 and bfloat16 do not promote to one another
        for fn in (gradtx.tree.dtype, optax.tree.dtype):
            with pytest.raises(ValueError, match="Cannot compare"):
                _reference(fn, mixed, handler)
    elif handler is not None:
        assert gradtx.tree.dtype(mixed, handler) == _reference(optax.tree.dtype, mixed, handler)
    with pytest.raises(ValueError, match="mixed_dtype_handler"):
        gradtx.tree.dtype(same, "widest")


def test_dtype_handlers_work_under_strict_promotion_where_optax_raises():
    """Deliberate difference: 'promote'/'highest'/'lowest' read JAX's lattice whatever the promotion mode."""
    two = {"a": jnp.ones(2, jnp.float16), "b": jnp.ones(1, jnp.float32)}
    with jax.numpy_dtype_promotion("strict"):
        assert gradtx.tree.dtype(two, "highest") == jnp.float32
        with pytest.raises(ValueError, match="promotion"):
            optax.tree.dtype(two, "highest")


@pytest.mark.parametrize("dtype", [None, jnp.float32])
def test_random_like_and_split_key_like_draw_what_optax_draws(dtype):
    with jax.enable_x64(True):
        x, _ = _trees(6)
        key = jax.random.key(7)
        assert_same_tree(
            gradtx.tree.unwrap_random_key_data(gradtx.tree.split_key_like(key, x)),
            optax.tree.unwrap_random_key_data(optax.tree.split_key_like(key, x)),
        )
        assert_same_tree(
            gradtx.tree.random_like(key, x, dtype=dtype), optax.tree.random_like(key, x, dtype=dtype)
        )
        uniform = jax.random.uniform
        assert_same_tree(gradtx.tree.random_like(key, x, uniform), optax.tree.random_like(key, x, uniform))

        def legacy(k, shape, dtype):  # a sampler without out_sharding
            return jax.random.uniform(k, shape, dtype)

        assert_same_tree(gradtx.tree.random_like(key, x, legacy), optax.tree.random_like(key, x, legacy))


def test_unwrap_random_key_data_keeps_other_leaves():
    tree = {"k": jax.random.key(0), "x": jnp.ones(2)}
    got, want = gradtx.tree.unwrap_random_key_data(tree), optax.tree.unwrap_random_key_data(tree)
    assert_same_tree(got, want)


# ---------------------------------------------------------------- get / set / get_all_with_path / map_params


class Inner(NamedTuple):
    count: Any
    mu: Any


class Outer(NamedTuple):
    inner: Any
    hyperparams: Any
    count: Any


def _state() -> Any:
    return (
        Outer(
            Inner(jnp.array(1), {"w": jnp.ones(2)}),
            {"learning_rate": jnp.array(0.1), "b1": 0.9},
            jnp.array(5),
        ),
        {"count": jnp.array(3), "mu": [jnp.zeros(1)]},
    )


def _paths(found: list[tuple[Any, Any]]) -> list[str]:
    return [jax.tree_util.keystr(path) for path, _ in found]


@pytest.mark.parametrize("key", ["count", "mu", "learning_rate", "Inner", "Outer", "missing", "w"])
def test_get_all_with_path_equals_optax(key):
    state = _state()
    got = gradtx.tree.get_all_with_path(state, key)
    want = optax.tree.get_all_with_path(state, key)
    assert _paths(got) == _paths(want)
    assert_same_tree([v for _, v in got], [v for _, v in want])
    only_inner = lambda path, value: any(
        isinstance(e, gradtx.tree.NamedTupleKey) and e.tuple_name == "Inner" for e in path
    )
    only_inner_optax = lambda path, value: any(
        isinstance(e, optax.tree_utils.NamedTupleKey) and e.tuple_name == "Inner" for e in path
    )
    assert _paths(gradtx.tree.get_all_with_path(state, key, only_inner)) == _paths(
        optax.tree.get_all_with_path(state, key, only_inner_optax)
    )


def test_get_equals_optax_and_raises_on_ambiguity():
    state = _state()
    assert gradtx.tree.get(state, "learning_rate") == optax.tree.get(state, "learning_rate")
    assert gradtx.tree.get(state, "Inner") == optax.tree.get(state, "Inner")
    assert gradtx.tree.get(state, "nothing", default=4) == 4
    with pytest.raises(KeyError, match="multiple"):
        gradtx.tree.get(state, "count")
    is_array = lambda path, value: isinstance(value, jax.Array)
    assert gradtx.tree.get(state, "b1", 1.0, is_array) == optax.tree.get(state, "b1", 1.0, is_array) == 1.0
    in_outer = lambda path, value: str(path[-1]) == "Outer.count"
    assert gradtx.tree.get(state, "count", filtering=in_outer) == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": 0.5},
        {"count": 0},
        {"Inner": "replaced"},
        {"mu": None, "b1": 0.1},
        {"w": jnp.zeros(2)},
    ],
)
def test_set_equals_optax(kwargs):
    state = _state()
    got = gradtx.tree.set(state, **kwargs)
    want = optax.tree.set(state, **kwargs)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    assert str(got) == str(want)


def test_set_with_filtering_and_missing_keys_equal_optax():
    state = _state()
    in_outer = lambda path, value: not any(getattr(e, "tuple_name", None) == "Inner" for e in path)
    assert str(gradtx.tree.set(state, in_outer, count=0)) == str(optax.tree.set(state, in_outer, count=0))
    with pytest.raises(KeyError, match="no values matching 'absent'"):
        gradtx.tree.set(state, absent=1)
    with pytest.raises(KeyError, match="filtering"):
        gradtx.tree.set(state, lambda p, v: False, count=1)


def test_get_and_set_on_real_optimizer_states():
    params = {"w": jnp.zeros(3)}
    tx = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=0.1)
    state = tx.init(params)
    assert gradtx.tree.get(state, "learning_rate") == optax.tree.get(state, "learning_rate")
    new = gradtx.tree.set(state, learning_rate=jnp.asarray(0.5, jnp.float32))
    assert float(gradtx.tree.get(new, "learning_rate")) == 0.5
    ostate = optax.adam(0.1).init(params)
    assert str(gradtx.tree.set(ostate, count=2)) == str(optax.tree.set(ostate, count=2))


def test_map_params_equals_optax_on_an_optax_optimizer_and_maps_gradtx_states():
    params = {"w": jnp.zeros(3), "b": jnp.zeros(2)}
    specs = {"w": "rows", "b": "cols"}
    for opt in (optax.adam(1e-3), optax.chain(optax.add_decayed_weights(1e-4), optax.sgd(0.1, momentum=0.9))):
        state = opt.init(params)
        kwargs = {"transform_non_params": lambda _: None}
        got = gradtx.tree.map_params(opt, lambda _, s: s, state, specs, **kwargs)
        want = optax.tree.map_params(opt, lambda _, s: s, state, specs, **kwargs)
        assert str(got) == str(want)
        assert str(gradtx.tree.map_params(opt.init, jnp.negative, state)) == str(
            optax.tree.map_params(opt.init, jnp.negative, state)
        )
    tx = gradtx.adam(1e-3)
    got = gradtx.tree.map_params(
        tx, lambda _, s: s, tx.init(params), specs, transform_non_params=lambda _: None
    )
    assert got[0].mu == specs and got[0].nu == specs and got[0].count is None


def test_bias_correction_works_under_strict_promotion_where_optax_raises():
    """Deliberate difference: an int32 count meets a Python float decay without implicit promotion."""
    moment = {"w": jnp.full(2, 0.19)}
    count = jnp.asarray(2, jnp.int32)
    with jax.numpy_dtype_promotion("strict"):
        got = gradtx.tree.bias_correction(moment, 0.9, count)
        with pytest.raises(ValueError, match="promotion"):
            optax.tree.bias_correction(moment, 0.9, count)
    assert_same_tree(got, _reference(optax.tree.bias_correction, moment, 0.9, count))
