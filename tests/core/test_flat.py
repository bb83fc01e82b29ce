"""gradtx.flatten_params: the flat layout gives the per-leaf numbers, at a per-step cost
independent of the number of leaves."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import OPTIMIZERS

import gradtx

# The registry cases whose transformations work leaf by leaf and so refuse FlatParams.
LEAFWISE = {
    "sparse_adam", "torch.SparseAdam", "adafactor", "torch.Adafactor", "torch.Adafactor-wd", "muon", "torch.Muon",
    "scale_by_distance_over_gradients", "sm3", "noisy_sgd",
}
# Registry cases with a mask: flattened with the mask as labels, so that every bucket is uniform.
FLAT_LABELS = {"lion-bf16mu-mask": r"w.*", "lars-nesterov-mask": r"w.*|b.*"}


def tree_problem(dtype=jnp.float32):
    rng = np.random.default_rng(0)
    params = {
        "w": jnp.asarray(rng.normal(size=(4, 3)), dtype),
        "b": jnp.asarray(rng.normal(size=(3,)), dtype),
        "s": jnp.asarray(0.5, dtype),
        "layers": [jnp.asarray(rng.normal(size=(2, 2)), dtype) for _ in range(3)],
    }
    target = jax.tree.map(lambda p: 0.3 * jnp.ones_like(p), params)

    def loss(p):
        return sum(jnp.sum((x - t) ** 2 * (1.0 + x**2)) for x, t in zip(jax.tree.leaves(p), jax.tree.leaves(target)))

    return params, loss


def run(tx, params, loss, flat, steps=5, labels=None):
    unpack = (lambda q: q.unflatten()) if flat else (lambda q: q)
    objective = lambda q: loss(unpack(q))
    p = gradtx.flatten_params(params, labels=labels) if flat else params
    state = tx.init(p)

    @jax.jit
    def step(p, state):
        value, grads = jax.value_and_grad(objective)(p)
        updates, state = tx.update(grads, state, p, value=value, grad=grads, value_fn=objective)
        return gradtx.apply_updates(p, updates), state

    for _ in range(steps):
        p, state = step(p, state)
    return unpack(p)


@pytest.mark.parametrize("make_tx", OPTIMIZERS)
def test_flat_params_give_the_per_leaf_result_or_refuse(make_tx, request):
    # In float64: some registry cases leave the quartic's basin within the 5 steps, and float32
    # round-off (the two layouts compile to different kernels) then grows past any fixed tolerance.
    case = request.node.callspec.id
    with jax.enable_x64(True):
        params, loss = tree_problem(jnp.float64)
        want = run(make_tx(), params, loss, flat=False)
        if case in LEAFWISE:
            with pytest.raises(TypeError, match="cannot run on FlatParams"):
                run(make_tx(), params, loss, flat=True)
            return
        got = run(make_tx(), params, loss, flat=True, labels=FLAT_LABELS.get(case))
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12), got, want)


def test_round_trip_keeps_structure_dtypes_and_passes_other_leaves():
    params = {
        "a": jnp.arange(6.0).reshape(2, 3),
        "h": jnp.ones(3, jnp.bfloat16),
        "n": None,
        "i": jnp.array([1, 2], jnp.int32),
        "z": jnp.zeros((0,)),
        "c": jnp.array(3.0),
    }
    flat = gradtx.flatten_params(params)
    assert [b.dtype for b in flat.buckets] == [jnp.float32, jnp.bfloat16]
    assert [b.shape for b in flat.buckets] == [(7,), (3,)]
    assert len(flat.kept) == 1 and flat.kept[0].dtype == jnp.int32
    back = flat.unflatten()
    assert jax.tree.structure(back) == jax.tree.structure(params)
    jax.tree.map(lambda x, y: (np.testing.assert_array_equal(x, y), None)[1] or None, back, params)
    assert jax.tree.map(lambda x: x.dtype, back) == jax.tree.map(lambda x: x.dtype, params)
    assert flat.num_leaves == 5 and "2 buckets" not in repr(flat)


def test_gradient_comes_back_as_one_concatenation_per_bucket():
    params = {f"l{i}": jnp.full((i + 1, 2), float(i)) for i in range(12)}
    loss = lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p))
    flat = gradtx.flatten_params(params)
    grad_fn = jax.grad(lambda f: loss(f.unflatten()))
    grads = jax.jit(grad_fn)(flat)  # one compile; eagerly, every leaf's slice compiles on its own
    assert isinstance(grads, gradtx.FlatParams)
    np.testing.assert_allclose(grads.buckets[0], flat.pack(jax.grad(loss)(params)).buckets[0])
    jaxpr = str(jax.make_jaxpr(grad_fn)(flat))
    assert jaxpr.count("concatenate") == 1 and "pad" not in jaxpr


def test_pack_checks_structure_and_shapes():
    flat = gradtx.flatten_params({"a": jnp.ones(3), "b": jnp.ones((2, 2))})
    with pytest.raises(ValueError, match="structure"):
        flat.pack({"a": jnp.ones(3)})
    with pytest.raises(ValueError, match=r"leaf 1 .* shape \(4,\).*\(2, 2\)"):
        flat.pack({"a": jnp.ones(3), "b": jnp.ones(4)})
    with pytest.raises(TypeError, match="already a FlatParams"):
        gradtx.flatten_params(flat)


def test_state_mirrors_the_buckets_and_mu_dtype_halves_the_first_moment():
    params = {f"l{i}": jnp.ones(256) for i in range(30)}
    flat = gradtx.flatten_params(params)
    nbytes = lambda s: sum(x.nbytes for x in jax.tree.leaves(s))
    assert nbytes(gradtx.adam(1e-3).init(flat)) == nbytes(gradtx.adam(1e-3).init(params))
    half = gradtx.adam(1e-3, mu_dtype=jnp.bfloat16).init(flat)
    assert nbytes(half) == nbytes(gradtx.adam(1e-3).init(flat)) - 30 * 256 * 2


def _kernels(n_leaves):
    params = {f"l{i:04d}": jnp.ones(256) for i in range(n_leaves)}
    flat = gradtx.flatten_params(params)
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(1e-3, weight_decay=1e-2))

    def step(p, s, g):
        u, s = tx.update(g, s, p)
        return gradtx.apply_updates(p, u), s

    hlo = jax.jit(step, donate_argnums=(0, 1)).lower(flat, tx.init(flat), flat).compile().as_text()
    entry = hlo[hlo.index("ENTRY") :]
    return len(re.findall(r"\bfusion\(", entry)) + len(re.findall(r"= \S+ (add|multiply|reduce)\(", entry))


def test_step_graph_does_not_grow_with_the_number_of_leaves():
    few, many = _kernels(200), _kernels(4000)
    assert few == many <= 20, (few, many)


def test_leafwise_transformations_refuse_flat_params_by_name():
    flat = gradtx.flatten_params({"w": jnp.ones((2, 2))})
    with pytest.raises(TypeError, match=r"^adafactor: .*cannot run on FlatParams"):
        gradtx.adafactor(1e-3).init(flat)
    with pytest.raises(TypeError, match=r"^muon: .*cannot run on FlatParams"):
        gradtx.muon(1e-3).init(flat)



# Per-leaf norms on FlatParams (LAMB, LARS, Fromage, NovoGrad, block-RMS clipping): one pass over each bucket by static
# segment ids gives the per-leaf numbers, with masks and labels, zero-size and scalar leaves, and
# buckets of many leaves whose boundaries cross the reduction's rows.
SEGMENTED = [
    pytest.param(lambda: gradtx.lamb(0.05, weight_decay=1e-3, mask=r"w.*|layers.*"), r"w.*|layers.*", id="lamb-mask"),
    pytest.param(lambda: gradtx.lars(0.5, weight_decay=1e-3, trust_coefficient=0.05), None, id="lars"),
    pytest.param(lambda: gradtx.fromage(0.1, min_norm=1e-3), None, id="fromage"),
    pytest.param(lambda: gradtx.novograd(0.1, weight_decay=0.1, weight_decay_mask=r"b|s"), r"b|s", id="novograd-wd-mask"),
    pytest.param(lambda: gradtx.novograd(0.1, b2=0.5, eps_root=1e-3), None, id="novograd-eps_root"),
    # Thresholds that clip some leaves and not others, so that each leaf's own factor shows.
    pytest.param(lambda: gradtx.chain(gradtx.clip_by_block_rms(1.5), gradtx.sgd(0.05)), None, id="block-rms"),
    # Unit-wise (per column) norms: the bucket is cut into its leaves.
    pytest.param(lambda: gradtx.chain(gradtx.adaptive_grad_clip(0.05), gradtx.sgd(0.05)), None, id="agc"),
]


@pytest.mark.parametrize(("make_tx", "labels"), SEGMENTED)
def test_per_leaf_norms_on_flat_params_give_the_per_leaf_numbers(make_tx, labels):
    params, loss = tree_problem()
    want = run(make_tx(), params, loss, flat=False)
    got = run(make_tx(), params, loss, flat=True, labels=labels)
    jax.tree.map(lambda g, w: np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6), got, want)


def test_segment_sums_and_scale_match_the_leaves():
    from gradtx._core import flat as flat_lib

    rng = np.random.default_rng(1)
    # Leaves of every size class: empty, scalar, below and above the chunk, one much larger.
    sizes = (3, 0, 1, 17, 64, 65, 0, 1000, 5, 20_000, 2, 333)
    x = rng.normal(size=sum(sizes)).astype(np.float32)
    bounds = np.cumsum((0, *sizes))
    leaves = [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    got = flat_lib.segment_sums(jnp.asarray(x), sizes)
    np.testing.assert_allclose(got, [leaf.sum() for leaf in leaves], rtol=1e-5, atol=1e-5)
    factors = rng.normal(size=len(sizes)).astype(np.float32)
    scaled = jax.jit(lambda x, f: flat_lib.segment_scale(x, f, sizes))(jnp.asarray(x), jnp.asarray(factors))
    np.testing.assert_array_equal(scaled, np.concatenate([f * leaf for f, leaf in zip(factors, leaves)]))


def test_per_leaf_norms_run_in_a_graph_that_does_not_grow_with_the_leaves():
    def ops(n):
        params = {f"l{i}": jnp.full((3 + i % 5,), 0.5) for i in range(n)}
        flat = gradtx.flatten_params(params)
        tx = gradtx.lamb(1e-2)
        text = jax.jit(tx.update).lower(flat, tx.init(flat), flat).as_text()
        return text.count("stablehlo.")

    assert ops(400) <= ops(40) + 10  # the same kernels; only edge cases (an empty tail) differ


def test_stacked_views_a_bucket_of_equal_leaves_as_a_stack():
    layers = {f"layer{i}": {"w": jnp.full((2, 3), float(i)), "b": jnp.full((3,), -float(i))} for i in range(4)}
    role = lambda tree: jax.tree_util.tree_map_with_path(lambda path, _: path[-1].key, tree)
    flat = gradtx.flatten_params(layers, labels=role)
    w = flat.stacked("w")
    assert w.shape == (4, 2, 3)
    np.testing.assert_array_equal(w[:, 0, 0], [0.0, 1.0, 2.0, 3.0])
    grads = jax.grad(lambda f: jnp.sum(f.stacked("w") * jnp.arange(4.0)[:, None, None]))(flat)
    np.testing.assert_array_equal(grads.unflatten()["layer3"]["w"], jnp.full((2, 3), 3.0))
    np.testing.assert_array_equal(grads.unflatten()["layer3"]["b"], jnp.zeros(3))
    with pytest.raises(KeyError, match="0 buckets have the label"):
        flat.stacked("v")
    with pytest.raises(ValueError, match="different shapes"):
        gradtx.flatten_params(layers).stacked(None)
