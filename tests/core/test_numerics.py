"""The numerics Optax exports (safe norms, counters, moments, power iteration, matrix roots, NNLS,
multi_normal): live parity with optax in float64, and the deliberate differences."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradtx

NUMERICS = [
    "global_norm",
    "safe_norm",
    "safe_root_mean_squares",
    "update_moment",
    "update_moment_per_elem_norm",
    "update_infinity_moment",
    "bias_correction",
    "safe_increment",
    "safe_int32_increment",
    "power_iteration",
    "matrix_inverse_pth_root",
    "nnls",
    "multi_normal",
]


def _reference(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # optax's own code relies on implicit dtype promotion and rank broadcasting
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # optax.global_norm is deprecated in optax
        return fn(*args, **kwargs)


def assert_same(got: Any, want: Any, rtol: float = 1e-12) -> None:
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=0)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", NUMERICS)
def test_every_numerics_name_is_exported_from_the_top_level(name):
    assert callable(getattr(gradtx, name))


def test_state_aliases_are_optax_names_for_the_same_states():
    assert gradtx.ScaleByAdaDeltaState is gradtx.ScaleByAdadeltaState
    assert gradtx.ScaleByAdaDeltaState._fields == optax.ScaleByAdaDeltaState._fields
    for name in (
        "AdaptiveGradClipState",
        "ClipByGlobalNormState",
        "ClipState",
        "ScaleByTrustRatioState",
        "ScaleState",
    ):
        assert getattr(gradtx, name) is gradtx.EmptyState and getattr(optax, name) is optax.EmptyState
    params = {"w": jnp.ones(2)}
    assert isinstance(gradtx.clip_by_global_norm(1.0).init(params), gradtx.ClipByGlobalNormState)
    assert isinstance(gradtx.scale_by_adadelta().init(params), gradtx.ScaleByAdaDeltaState)


# ---------------------------------------------------------------- norms


def test_global_norm_equals_optax():
    with jax.enable_x64(True):
        r = _rng(1)
        tree = {"a": jnp.asarray(r.normal(size=(3, 4))), "b": [jnp.asarray(r.normal(size=5))]}
        assert_same(gradtx.global_norm(tree), _reference(optax.global_norm, tree))
        z = jax.lax.complex(tree["a"], tree["a"])
        assert_same(gradtx.global_norm(z), _reference(optax.global_norm, z))


def test_global_norm_does_not_warn():
    """Deliberate difference: Optax warns that global_norm is deprecated; gradtx keeps it quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradtx.global_norm(jnp.ones(2))
    with pytest.warns(DeprecationWarning):
        optax.global_norm(jnp.ones(2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"ord": 1},
        {"ord": jnp.inf},
        {"axis": 1},
        {"axis": 0, "keepdims": True},
        {"ord": 2, "axis": 1, "keepdims": True},
        {"ord": "fro", "axis": (0, 1)},
        {"ord": "nuc"},
    ],
)
@pytest.mark.parametrize("min_norm", [0.0, 0.5, 100.0])
def test_safe_norm_values_and_gradients_equal_optax(kwargs, min_norm):
    with jax.enable_x64(True):
        x = jnp.asarray(_rng(2).normal(size=(3, 4)))
        x = x.at[1].set(0.0)  # a zero row: the floor applies there for axis=1
        assert_same(
            gradtx.safe_norm(x, min_norm, **kwargs), _reference(optax.safe_norm, x, min_norm, **kwargs)
        )

        def total(fn):
            return lambda v: jnp.sum(fn(v, min_norm, **kwargs))

        got = jax.grad(total(gradtx.safe_norm))(x)
        want = _reference(jax.grad(total(optax.safe_norm)), x)
        assert_same(got, want)
        assert np.all(np.isfinite(got))


@pytest.mark.parametrize("min_rms", [0.0, 0.3, 10.0])
def test_safe_root_mean_squares_values_and_gradients_equal_optax(min_rms):
    with jax.enable_x64(True):
        r = _rng(3)
        for x in (
            jnp.asarray(r.normal(size=(4, 2))),
            jnp.zeros(3),
            jax.lax.complex(*jnp.asarray(r.normal(size=(2, 5)))),
        ):
            assert_same(
                gradtx.safe_root_mean_squares(x, min_rms),
                _reference(optax.safe_root_mean_squares, x, min_rms),
            )
            if not jnp.iscomplexobj(x):
                got = jax.grad(gradtx.safe_root_mean_squares)(x, min_rms)
                assert_same(got, _reference(jax.grad(optax.safe_root_mean_squares), x, min_rms))
                assert np.all(np.isfinite(got))


# ---------------------------------------------------------------- moments and counters


def test_top_level_moment_helpers_equal_optax():
    with jax.enable_x64(True):
        r = _rng(4)
        g = {"w": jnp.asarray(r.normal(size=(2, 3))), "n": None}
        m = {"w": jnp.asarray(r.normal(size=(2, 3))), "n": None}
        for name, args in [
            ("update_moment", (g, m, 0.9, 1)),
            ("update_moment", (g, m, 0.999, 2)),
            ("update_moment_per_elem_norm", (g, m, 0.9, 2)),
            ("update_infinity_moment", (g, m, 0.99, 1e-8)),
        ]:
            assert_same(getattr(gradtx, name)(*args), _reference(getattr(optax, name), *args))
        moment = {"w": m["w"]}
        for count in (jnp.asarray(1, jnp.int32), jnp.asarray(17, jnp.int32), jnp.asarray(3.0)):
            assert_same(
                gradtx.bias_correction(moment, 0.9, count),
                _reference(optax.bias_correction, moment, 0.9, count),
            )


def test_bias_correction_keeps_float32_moments_in_float32_like_optax():
    moment = {"w": jnp.ones(3, jnp.float32)}
    with jax.enable_x64(True):
        got = gradtx.bias_correction(moment, 0.9, jnp.asarray(2, jnp.int32))
        assert_same(got, _reference(optax.bias_correction, moment, 0.9, jnp.asarray(2, jnp.int32)))


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.int8, jnp.uint8, jnp.float32, jnp.float16])
def test_safe_increment_equals_optax_and_saturates(dtype):
    info = jnp.iinfo(dtype) if jnp.issubdtype(dtype, jnp.integer) else jnp.finfo(dtype)
    for value in (0, 5, info.max):
        count = jnp.asarray(value, dtype)
        got = gradtx.safe_increment(count)
        assert_same(got, optax.safe_increment(count))
        assert_same(gradtx.safe_int32_increment(count), optax.safe_int32_increment(count))
    assert gradtx.safe_increment(jnp.asarray(info.max, dtype)) == info.max
    assert jax.jit(gradtx.safe_increment)(jnp.asarray(1, dtype)) == 2


def test_safe_increment_rejects_other_dtypes():
    with pytest.raises(ValueError, match="integer or floating"):
        gradtx.safe_increment(jnp.asarray(True))


# ---------------------------------------------------------------- linear algebra


def _psd(n: int, seed: int) -> jax.Array:
    g = _rng(seed).normal(size=(n, n + 2))
    return jnp.asarray(g @ g.T)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_power_iteration_on_a_matrix_equals_optax(n):
    with jax.enable_x64(True):
        a = _psd(n, 5)
        for kwargs in (
            {},
            {"num_iters": 3},
            {"error_tolerance": 1e-12, "num_iters": 1000},
            {"key": jax.random.PRNGKey(3)},
        ):
            assert_same(gradtx.power_iteration(a, **kwargs), _reference(optax.power_iteration, a, **kwargs))
        v0 = jnp.asarray(_rng(6).normal(size=n))
        assert_same(gradtx.power_iteration(a, v0=v0), _reference(optax.power_iteration, a, v0=v0))
        value, _ = gradtx.power_iteration(a, error_tolerance=1e-12, num_iters=10_000)
        np.testing.assert_allclose(value, np.linalg.eigvalsh(np.asarray(a))[-1], rtol=1e-9)


def test_power_iteration_on_a_function_of_trees_equals_optax():
    with jax.enable_x64(True):
        a, b = _psd(3, 7), _psd(2, 8)

        def mvp(v):
            return {"x": a @ v["x"], "y": 0.5 * (b @ v["y"])}

        v0 = {"x": jnp.ones(3), "y": jnp.asarray([1.0, -2.0])}
        assert_same(gradtx.power_iteration(mvp, v0=v0), _reference(optax.power_iteration, mvp, v0=v0))
        with pytest.raises(ValueError, match="v0"):
            gradtx.power_iteration(mvp)


def test_power_iteration_in_float32_and_under_jit():
    a = _psd(4, 9).astype(jnp.float32)
    got = jax.jit(gradtx.power_iteration)(a)
    assert got[0].dtype == jnp.float32
    assert_same(got, jax.jit(optax.power_iteration)(a), rtol=1e-5)


@pytest.mark.parametrize("n", [3, 6])
@pytest.mark.parametrize("p", [1, 2, 4, 8])
def test_matrix_inverse_pth_root_equals_optax(n, p):
    with jax.enable_x64(True):
        a = _psd(n, 10 + n)
        assert_same(gradtx.matrix_inverse_pth_root(a, p), _reference(optax.matrix_inverse_pth_root, a, p))
        kwargs = {"num_iters": 7, "ridge_epsilon": 1e-3, "error_tolerance": 1e-9}
        got = gradtx.matrix_inverse_pth_root(a, p, **kwargs)
        assert_same(got, _reference(optax.matrix_inverse_pth_root, a, p, **kwargs))


def test_matrix_inverse_pth_root_is_the_root():
    with jax.enable_x64(True):
        a = _psd(5, 20)
        root, error = gradtx.matrix_inverse_pth_root(a, 4, ridge_epsilon=0.0, error_tolerance=1e-14)
        want = np.linalg.matrix_power(np.linalg.inv(np.asarray(root)), 4)
        np.testing.assert_allclose(want, a, rtol=1e-8, atol=1e-8)
        assert error < 1e-10


def test_matrix_inverse_pth_root_in_float32_matches_optax_and_keeps_dtype():
    a = _psd(3, 21).astype(jnp.float32)
    got = gradtx.matrix_inverse_pth_root(a, 2)
    assert got[0].dtype == jnp.float32
    assert_same(got[0], _reference(optax.matrix_inverse_pth_root, a, 2)[0], rtol=1e-5)


@pytest.mark.parametrize("value", [0.01, 7.0, 1e5])
def test_matrix_inverse_pth_root_of_a_1x1_matrix_uses_the_exact_exponent(value):
    """Deliberate difference: Optax raises a 1x1 matrix to a float32-rounded -1/p (~1e-8 off in float64)."""
    with jax.enable_x64(True):
        a = jnp.asarray([[value]])
        exact = (value * (1 + 1e-6)) ** (-1 / 3)  # ridge = ridge_epsilon * largest eigenvalue
        got, error = gradtx.matrix_inverse_pth_root(a, 3)
        want, optax_error = _reference(optax.matrix_inverse_pth_root, a, 3)
        np.testing.assert_allclose(got[0, 0], exact, rtol=1e-14)
        assert abs(want[0, 0] - exact) / exact > 1e-9
        assert isinstance(error, jax.Array) and error == 0 and optax_error == 0


@pytest.mark.parametrize("shape", [(6, 4), (3, 5)])
@pytest.mark.parametrize("k", [None, 2])
def test_nnls_equals_optax(shape, k):
    with jax.enable_x64(True):
        r = _rng(30)
        a = jnp.asarray(r.normal(size=shape))
        b = jnp.asarray(r.normal(size=shape[:1] if k is None else (shape[0], k)))
        for args, kwargs in [((50,), {}), ((200,), {"unroll": 4}), ((80,), {"L": 40.0}), ((0,), {})]:
            assert_same(gradtx.nnls(a, b, *args, **kwargs), _reference(optax.nnls, a, b, *args, **kwargs))


def test_nnls_solves_and_handles_a_zero_matrix():
    with jax.enable_x64(True):
        a = jnp.asarray([[1.0, 2.0], [3.0, 4.0]])
        x = gradtx.nnls(a, jnp.asarray([5.0, 6.0]), 2000)
        np.testing.assert_allclose(x, [0.0, 1.7], atol=1e-9)
        zero = jnp.zeros((2, 2))
        assert_same(gradtx.nnls(zero, jnp.ones(2), 5), _reference(optax.nnls, zero, jnp.ones(2), 5))
        with pytest.raises(ValueError, match="nnls"):
            gradtx.nnls(a, jnp.ones(3), 5)


# ---------------------------------------------------------------- multi_normal


def test_multi_normal_samples_and_log_probs_equal_optax():
    with jax.enable_x64(True):
        r = _rng(40)
        loc = jnp.asarray(r.normal(size=(2, 3)))
        log_scale = jnp.asarray(r.normal(size=(2, 3)) * 0.1)
        ours, theirs = gradtx.multi_normal(loc, log_scale), optax.multi_normal(loc, log_scale)
        key = jax.random.key(11)
        assert_same(ours.sample((4,), key), _reference(theirs.sample, (4,), key))
        assert_same(ours.sample((), key), _reference(theirs.sample, (), key))
        x = jnp.asarray(r.normal(size=(5, 2, 3)))
        assert_same(ours.log_prob(x), _reference(theirs.log_prob, x))
        assert_same(ours.params, theirs.params)
        assert_same(ours.log_scale, theirs.log_scale)


def test_multi_normal_broadcasts_a_scalar_log_scale_like_optax():
    with jax.enable_x64(True):
        loc = jnp.asarray([0.5, -1.0, 2.0])
        ours, theirs = gradtx.multi_normal(loc, jnp.asarray(0.3)), optax.multi_normal(loc, jnp.asarray(0.3))
        key = jax.random.key(12)
        assert_same(ours.sample((2,), key), _reference(theirs.sample, (2,), key))


def test_multi_normal_samples_in_the_parameters_dtype():
    """Deliberate difference: Optax draws float64 for float32 parameters under x64 (and fails under strict)."""
    with jax.enable_x64(True):
        loc, log_scale = jnp.zeros(3, jnp.float32), jnp.zeros(3, jnp.float32)
        key = jax.random.key(0)
        assert gradtx.multi_normal(loc, log_scale).sample((2,), key).dtype == jnp.float32
        assert _reference(optax.multi_normal(loc, log_scale).sample, (2,), key).dtype == jnp.float64
