"""clip, clip_by_global_norm, clip_by_block_rms, adaptive_grad_clip: live parity with torch and optax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from reference import assert_trajectories_close, gradtx_trajectory, initial_params, loss, torch_trajectory

import gradtx

STEPS = 25


class _ClipThenStep:
    """torch's loop: ``backward()``, then a ``torch.nn.utils`` clipping call, then ``step()``."""

    def __init__(self, optimizer: torch.optim.Optimizer, params: list[torch.Tensor], clip_fn):
        self.optimizer, self.params, self.clip_fn = optimizer, params, clip_fn

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def step(self, closure):
        value = closure()
        self.clip_fn(self.params)
        self.optimizer.step()
        return value


def _grad_norms_before_each_step(trajectory) -> np.ndarray:
    """The global gradient norm at the params each of the trajectory's steps started from."""
    with jax.enable_x64(True):
        grad = jax.jit(jax.grad(lambda p: loss(p, jnp)))
        starts = [initial_params()] + list(trajectory[:-1])
        return np.array([float(np.sqrt(sum(np.sum(g**2) for g in jax.tree.leaves(grad(p))))) for p in starts])


TORCH_CLIP_CASES = [
    pytest.param(
        lambda: gradtx.chain(gradtx.clip_by_global_norm(5.0, eps=1e-6), gradtx.sgd(0.02, momentum=0.9)),
        lambda ps: _ClipThenStep(torch.optim.SGD(ps, lr=0.02, momentum=0.9), ps,
                                 lambda q: torch.nn.utils.clip_grad_norm_(q, 5.0)),
        5.0,
        id="clip_grad_norm_-sgd-momentum",
    ),
    pytest.param(
        lambda: gradtx.chain(gradtx.clip_by_global_norm(4.0, eps=1e-6), gradtx.adamw(0.05, weight_decay=0.1)),
        lambda ps: _ClipThenStep(torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1), ps,
                                 lambda q: torch.nn.utils.clip_grad_norm_(q, 4.0)),
        4.0,
        id="clip_grad_norm_-adamw",
    ),
    pytest.param(
        lambda: gradtx.chain(gradtx.clip(2.0), gradtx.adam(0.05)),
        lambda ps: _ClipThenStep(torch.optim.Adam(ps, lr=0.05), ps, lambda q: torch.nn.utils.clip_grad_value_(q, 2.0)),
        None,
        id="clip_grad_value_-adam",
    ),
]


@pytest.mark.parametrize(("make_tx", "make_torch", "max_norm"), TORCH_CLIP_CASES)
def test_matches_torch_clipping_in_the_training_loop(make_tx, make_torch, max_norm, request):
    params = initial_params()
    want = torch_trajectory(make_torch, params, STEPS)
    got = gradtx_trajectory(make_tx(), params, STEPS)
    assert_trajectories_close(f"torch/{request.node.callspec.id}", got, want)
    if max_norm is not None:  # The case must exercise both sides of the threshold to prove anything.
        norms = _grad_norms_before_each_step(want)
        assert (norms > max_norm).any() and (norms < max_norm).any(), norms


# One update compared with optax on hand-made trees that land on both sides of each threshold
# and use every rank adaptive_grad_clip chooses units for.
SHAPES = {"scalar": (), "row": (1, 5), "dense": (3, 4), "heads": (2, 3, 4), "conv": (3, 3, 2, 4), "conv3d": (2, 2, 2, 2, 3)}


def _tree(seed: int, scale: float, dtype=jnp.float64) -> dict[str, jax.Array]:
    rng = np.random.default_rng(seed)
    return {k: jnp.asarray(scale * rng.normal(size=s), dtype) for k, s in SHAPES.items()}


PAIRS = [
    pytest.param(lambda: gradtx.clip(0.7), lambda: optax.clip(0.7), id="clip"),
    pytest.param(lambda: gradtx.clip_by_global_norm(3.0), lambda: optax.clip_by_global_norm(3.0), id="global-norm"),
    pytest.param(lambda: gradtx.clip_by_block_rms(0.8), lambda: optax.clip_by_block_rms(0.8), id="block-rms"),
    pytest.param(lambda: gradtx.adaptive_grad_clip(0.3), lambda: optax.adaptive_grad_clip(0.3), id="agc"),
    pytest.param(lambda: gradtx.adaptive_grad_clip(0.3, 0.5), lambda: optax.adaptive_grad_clip(0.3, 0.5), id="agc-eps"),
]


@pytest.mark.parametrize("grad_scale", [0.05, 1.0, 20.0], ids=["small", "medium", "large"])
@pytest.mark.parametrize(("make_tx", "make_optax"), PAIRS)
def test_one_update_matches_optax(make_tx, make_optax, grad_scale):
    with jax.enable_x64(True):
        params, grads = _tree(0, 1.0), _tree(1, grad_scale)
        tx, ref = make_tx(), make_optax()
        got, _ = jax.jit(tx.update)(grads, tx.init(params), params)
        with jax.numpy_dtype_promotion("standard"):
            want, _ = ref.update(grads, ref.init(params), params)
    for k in SHAPES:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0, err_msg=k)


def test_the_test_trees_reach_both_sides_of_each_threshold():
    """Guards test_one_update_matches_optax: its three gradient scales clip some leaves and not others."""
    with jax.enable_x64(True):
        params = _tree(0, 1.0)
        changed = {}
        for scale in (0.05, 1.0, 20.0):
            grads = _tree(1, scale)
            for name, tx in [("clip", gradtx.clip(0.7)), ("norm", gradtx.clip_by_global_norm(3.0)),
                             ("rms", gradtx.clip_by_block_rms(0.8)), ("agc", gradtx.adaptive_grad_clip(0.3))]:
                out, _ = jax.jit(tx.update)(grads, tx.init(params), params)
                changed.setdefault(name, set()).update(bool(jnp.any(out[k] != grads[k])) for k in SHAPES)
    assert all(v == {True, False} for v in changed.values()), changed


def test_adaptive_grad_clip_with_explicit_axis_matches_optax():
    with jax.enable_x64(True):
        params = {"k": jnp.asarray(np.random.default_rng(0).normal(size=(2, 3, 2, 2, 2, 4)))}
        grads = {"k": 5 * params["k"][::-1]}
        tx, ref = gradtx.adaptive_grad_clip(0.2, axis=(0, 1, 2, 3, 4)), optax.adaptive_grad_clip(0.2, axis=(0, 1, 2, 3, 4))
        got, _ = tx.update(grads, tx.init(params), params)
        with jax.numpy_dtype_promotion("standard"):
            want, _ = ref.update(grads, ref.init(params), params)
    np.testing.assert_allclose(got["k"], want["k"], rtol=1e-12)
    assert not np.allclose(got["k"], grads["k"])


def test_adaptive_grad_clip_needs_params_and_axes_for_high_ranks():
    tx = gradtx.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match=r"^adaptive_grad_clip: adaptive clipping needs the params"):
        tx.update(jnp.ones(3), tx.init(None))
    rank6 = jnp.ones((1, 2, 1, 2, 1, 2))
    with pytest.raises(ValueError, match=r"^adaptive_grad_clip: cannot choose the unit-wise norm axes.*pass `axis`"):
        tx.update(rank6, tx.init(rank6), rank6)


@pytest.mark.parametrize("eps", [0.0, 1e-6])
def test_global_norm_of_zero_gradients_with_zero_max_norm_stays_finite(eps):
    tx = gradtx.clip_by_global_norm(0.0, eps=eps)
    out, _ = tx.update({"a": jnp.zeros(3), "b": jnp.ones(2)}, tx.init(None))
    np.testing.assert_array_equal(out["a"], 0.0)
    np.testing.assert_array_equal(out["b"], 0.0)
    out, _ = tx.update({"a": jnp.zeros(3)}, tx.init(None))
    np.testing.assert_array_equal(out["a"], 0.0)


def test_global_norm_spans_mixed_dtypes_and_keeps_each_dtype():
    grads = {"a": jnp.array([3.0], jnp.bfloat16), "b": jnp.array([4.0], jnp.float32)}
    tx = gradtx.clip_by_global_norm(1.0)
    out, _ = tx.update(grads, tx.init(None))
    assert out["a"].dtype == jnp.bfloat16 and out["b"].dtype == jnp.float32
    np.testing.assert_allclose(np.float32(out["a"][0]), 0.6, rtol=1e-2)
    np.testing.assert_allclose(out["b"], [0.8], rtol=1e-6)


def test_global_norm_axis_name_inside_shard_map_equals_the_unsharded_step():
    mesh = jax.make_mesh((1,), ("data",))
    spec = {"w": P("data", None), "b": P("data")}
    grads = {"w": jnp.arange(12.0).reshape(4, 3) - 5.0, "b": jnp.array([1.0, -2.0, 7.0, 0.5])}
    sharded = jax.tree.map(lambda g, s: jax.device_put(g, NamedSharding(mesh, s)), grads, spec)
    tx = gradtx.clip_by_global_norm(2.0, axis_name="data")
    step = jax.jit(jax.shard_map(lambda g: tx.update(g, tx.init(g))[0], mesh=mesh, in_specs=(spec,), out_specs=spec))
    got = step(sharded)
    plain = gradtx.clip_by_global_norm(2.0)
    want, _ = plain.update(grads, plain.init(grads))
    for k in grads:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-6)
    assert float(jnp.sqrt(sum(jnp.sum(v**2) for v in got.values()))) == pytest.approx(2.0, rel=1e-5)
    with pytest.raises(NameError, match="data"):  # the axis_name path really is taken: outside shard_map it fails
        tx.update(grads, tx.init(grads))
