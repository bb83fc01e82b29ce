"""The per-leaf mapping every elementwise transformation goes through."""

import jax
import jax.numpy as jnp
import pytest

from gradtx._core import tree


def test_map_unzip_runs_bf16_math_in_float32_and_casts_back():
    seen = []

    def leaf(g, m):
        seen.append((g.dtype, m.dtype))
        return g + m, m * 0.999  # 0.999 would round to 1.0 in bfloat16

    u, m = tree.map_unzip(leaf, jnp.ones(2, jnp.bfloat16), jnp.ones(2, jnp.bfloat16))
    assert seen == [(jnp.float32, jnp.float32)]
    assert u.dtype == m.dtype == jnp.bfloat16


def test_map_unzip_passes_none_and_integer_leaves_through():
    updates = {"f": jnp.ones(2), "i": jnp.arange(2), "n": None}
    state = tree.zeros_like(updates)
    assert state["i"] is None and state["n"] is None
    u, s = tree.map_unzip(lambda g, m: (2 * g, m + g), updates, state)
    assert u["i"] is updates["i"] and u["n"] is None and s["i"] is None
    assert u["f"].tolist() == [2.0, 2.0] and s["f"].tolist() == [1.0, 1.0]


def test_map_unzip_with_no_floating_leaf_counts_outputs_without_running():
    u, m = tree.map_unzip(lambda g, m: (g, m), {}, {})
    assert u == {} and m == {}


def test_mismatched_shapes_and_structures_raise():
    with pytest.raises(ValueError, match="shape"):
        tree.map_unzip(lambda g, m: (g, m), jnp.ones(3), jnp.ones(1))
    with pytest.raises(ValueError, match="does not match"):
        tree.map_unzip(lambda g, m: (g, m), {"a": jnp.ones(1)}, {"b": jnp.ones(1)})


def test_zeros_like_works_on_abstract_and_complex_leaves():
    abstract = {"w": jax.ShapeDtypeStruct((2, 3), jnp.float32)}
    assert jax.eval_shape(tree.zeros_like, abstract)["w"].shape == (2, 3)
    assert tree.zeros_like(jnp.ones(2, jnp.complex64)).dtype == jnp.complex64
    # A real state dtype cannot hold a complex param's state (e.g. mu_dtype=bfloat16).
    with pytest.raises(TypeError, match="complex parameters need a complex state dtype"):
        tree.zeros_like(jnp.ones(2, jnp.complex64), jnp.bfloat16)


def test_safe_increment_saturates():
    top = jnp.array(jnp.iinfo(jnp.int32).max, jnp.int32)
    assert tree.safe_increment(top) == top
    assert tree.safe_increment(jnp.array(1, jnp.int32)) == 2
