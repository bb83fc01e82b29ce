"""The multi-device contract (SPEC §5), run on 8 simulated CPU devices.

tests/multidevice/test_multidevice.py runs this module in its own process with
``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the main session keeps one device).
To run it alone::

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python -m pytest tests/multidevice/on_8_devices.py

* ``pmap``: every optimizer of tests/cases.py, fed the mean of 8 per-device gradients with
  ``lax.pmean``, gives the single-device step on the mean gradient (float64).
* ``jit`` over a ``Mesh`` (``Explicit`` and ``Auto`` axes): ``init`` (jitted or eager)
  returns state sharded like the params, ``gradtx.state_shardings`` predicts it from
  ``ShapeDtypeStruct``s, three compiled steps keep it, and the step's HLO gathers nothing;
  with FSDP each device holds 1/8 of the state.
* ``shard_map``: every transformation that takes ``axis_name`` gives, on leaves split over
  8 devices, the step on whole leaves.
"""

from __future__ import annotations

import functools
import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import OPTIMIZERS
from jax import lax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import gradtx

N = 8


@pytest.fixture(autouse=True, scope="module")
def _eight_devices():
    assert jax.device_count() == N, f"run with XLA_FLAGS=--xla_force_host_platform_device_count={N}"


def test_the_session_has_8_devices():
    assert len(jax.devices()) == N


def leaves_close(got, want, rtol, atol=0.0):
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(got), jax.tree.leaves(want)):
        where = jax.tree_util.keystr(path)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=where)


# ------------------------------------------------------------------------------------ pmap

AXIS = "devices"
TARGET = {"w": np.linspace(-1.0, 1.0, 12).reshape(4, 3), "b": np.array([0.5, -0.25, 1.0]), "s": np.array(2.0)}
_rng = np.random.default_rng(0)
# Device i adds a linear term <c_i, p> to the loss: its gradient differs from the other devices'.
OFFSETS = {k: _rng.normal(size=(N, *np.shape(t))) for k, t in TARGET.items()}


def device_loss(params, offsets):
    return sum(
        0.5 * jnp.sum((1.0 + 0.1 * k) * jnp.square(params[name] - TARGET[name]))
        + jnp.sum(offsets[name] * params[name])
        for k, name in enumerate(sorted(TARGET))
    )


@pytest.mark.parametrize("make_tx", OPTIMIZERS)
def test_pmap_step_equals_the_single_device_step_on_the_mean_gradient(make_tx):
    with jax.enable_x64(True):
        tx = make_tx()
        offsets = jax.tree.map(jnp.asarray, OFFSETS)
        params = {k: jnp.zeros(np.shape(t), jnp.float64) for k, t in TARGET.items()}

        def device_step(params, state, offsets):
            loss = functools.partial(device_loss, offsets=offsets)
            value, grads = lax.pmean(jax.value_and_grad(loss)(params), AXIS)
            # The global loss, and (through the inner pmean) the global gradient on every device:
            # L-BFGS's line search differentiates it and must branch alike everywhere.
            value_fn = lambda p: lax.pmean(loss(lax.pmean(p, AXIS)), AXIS)
            updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=value_fn)
            return gradtx.apply_updates(params, updates), state

        def mean_step(params, state):
            mean_loss = lambda p: jnp.mean(jax.vmap(device_loss, in_axes=(None, 0))(p, offsets))
            values, grads = jax.vmap(jax.value_and_grad(device_loss), in_axes=(None, 0))(params, offsets)
            value, grads = jnp.mean(values), jax.tree.map(lambda g: jnp.mean(g, axis=0), grads)
            updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=mean_loss)
            return gradtx.apply_updates(params, updates), state

        replicated = jax.tree.map(lambda x: jnp.broadcast_to(x, (N, *x.shape)), params)
        p_params, p_state = replicated, jax.pmap(tx.init)(replicated)
        s_params, s_state = params, tx.init(params)
        p_step, s_step = jax.pmap(device_step, axis_name=AXIS), jax.jit(mean_step)
        for _ in range(3):
            p_params, p_state = p_step(p_params, p_state, offsets)
            s_params, s_state = s_step(s_params, s_state)
        assert jax.tree.structure(p_state) == jax.tree.structure(s_state)
        for device in range(N):
            replica = jax.tree.map(lambda x: x[device], (p_params, p_state))
            leaves_close(replica, (s_params, s_state), rtol=1e-9, atol=1e-12)
        assert not np.allclose(p_params["w"], 0.0)  # the steps moved the params


# ----------------------------------------------------------------------- jit over a mesh

# A 2 x 4 mesh: "data" x "model". Leaves are FSDP-sharded over both axes, 2-D sharded,
# model-parallel or replicated, and leaves of one shape are sharded differently.
LAYOUT = {
    "embed": ((32, 12), P(("data", "model"), None)),
    "w1": ((12, 24), P("data", "model")),
    "gate": ((12, 24), P(None, "model")),
    "w2": ((24, 8), P("model", "data")),
    "b1": ((24,), P("model")),
    "b2": ((24,), P()),
    "scale": ((12,), P()),
    "s": ((), P()),
}


def make_mesh(axis_type, shape=(2, 4), names=("data", "model")):
    if axis_type == "explicit":
        return jax.make_mesh(shape, names, axis_types=(AxisType.Explicit,) * len(shape))
    return Mesh(np.array(jax.devices()).reshape(shape), names)  # the classic constructor: Auto axes


def sharded_params(mesh, layout=LAYOUT, abstract=False):
    params = {}
    for k, (name, (shape, spec)) in enumerate(sorted(layout.items())):
        sharding = NamedSharding(mesh, spec)
        if abstract:
            params[name] = jax.ShapeDtypeStruct(shape, jnp.float32, sharding=sharding)
        else:
            values = jnp.cos(jnp.arange(int(np.prod(shape)), dtype=jnp.float32) + k).reshape(shape)
            params[name] = jax.device_put(values, sharding)
    return params


def model_loss(params):
    return sum(jnp.sum(jnp.square(p - 0.3) * (1.0 + 0.1 * k)) for k, p in enumerate(jax.tree.leaves(params)))


def assert_placed_like(state, params):
    """Every state leaf lives on all the params' devices, scalars replicated. A leaf kept for a
    param (its key is on the leaf's path) and shaped like it is sharded like it; a history
    ``[n, *shape]`` is sharded like it along its axes. (Factored moments are only checked to
    be spread over the devices.)"""
    devices = jax.tree.leaves(params)[0].sharding.device_set
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        where, s = jax.tree_util.keystr(path), leaf.sharding
        assert s.device_set == devices, f"{where} lives on {len(s.device_set)} devices"
        if leaf.ndim == 0:
            assert s.is_fully_replicated, where
        names = [k.key for k in path if isinstance(k, jax.tree_util.DictKey) and k.key in params]
        if not names:
            continue
        param = params[names[-1]]
        if leaf.shape == param.shape:
            assert s.is_equivalent_to(param.sharding, leaf.ndim), f"{where}: {s} vs {param.sharding}"
        elif leaf.shape[1:] == param.shape:
            assert s.shard_shape(leaf.shape)[1:] == param.sharding.shard_shape(param.shape), f"{where}: {s}"


def assert_same_shardings(state, shardings, params=None):
    """Leaf by leaf; given ``params``, only the leaves shaped like a param and the scalars (eager
    ``init`` and ``jit`` may place a factored moment differently; both spread it over the mesh)."""
    shapes = {p.shape for p in jax.tree.leaves(params)} if params is not None else None
    for (path, leaf), sharding in zip(jax.tree_util.tree_leaves_with_path(state), jax.tree.leaves(shardings)):
        if shapes is None or leaf.ndim == 0 or leaf.shape in shapes:
            where = jax.tree_util.keystr(path)
            assert leaf.sharding.is_equivalent_to(sharding, leaf.ndim), f"{where}: {sharding}"


# Newton–Schulz multiplies each whole matrix: Muon gathers its direction (its state stays sharded).
GATHERS_BY_DESIGN = ("muon", "Muon")


@pytest.mark.parametrize("axis_type", ["explicit", "auto"])
@pytest.mark.parametrize("make_tx", OPTIMIZERS)
def test_sharded_state_follows_the_params_through_init_and_steps(make_tx, axis_type):
    tx, mesh = make_tx(), make_mesh(axis_type)
    params = sharded_params(mesh)
    planned = gradtx.state_shardings(tx, sharded_params(mesh, abstract=True))

    state = jax.jit(tx.init)(params)
    assert_placed_like(state, params)
    assert_same_shardings(state, planned)
    eager = tx.init(params)
    assert_placed_like(eager, params)
    assert_same_shardings(eager, planned, params)

    traces = []

    @jax.jit
    def step(params, state):
        traces.append(None)
        value, grads = jax.value_and_grad(model_loss)(params)
        updates, state = tx.update(grads, state, params, value=value, grad=grads, value_fn=model_loss)
        return gradtx.apply_updates(params, updates), state

    for _ in range(3):
        params, state = step(params, state)
    assert len(traces) == 1, "a step changed the shardings: the next one compiled again"
    assert_placed_like(state, params)
    assert_same_shardings(state, planned)
    gathers = re.findall(r"all-gather(?:-start)?\(", step.lower(params, state).compile().as_text())
    if repr(tx).split("(")[0] not in GATHERS_BY_DESIGN:
        assert not gathers, f"the step gathers: {len(gathers)} all-gathers"


def test_init_in_a_mesh_context_and_on_abstract_params():
    mesh = make_mesh("explicit")
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(1e-3, mu_dtype=jnp.bfloat16))
    params = sharded_params(mesh)
    planned = gradtx.state_shardings(tx, params)
    with jax.set_mesh(mesh):
        assert_same_shardings(jax.jit(tx.init)(params), planned)
        assert_same_shardings(tx.init(params), planned)
    # eval_shape plans shapes, dtypes and (with Explicit axes) specs before anything exists.
    shapes = jax.eval_shape(tx.init, sharded_params(mesh, abstract=True))
    mu = shapes[1][0].mu
    assert mu["w1"].dtype == jnp.bfloat16 and mu["w1"].sharding.spec == P("data", "model")


def test_state_of_params_committed_to_one_device_stays_on_it():
    device = jax.devices()[3]
    params = jax.device_put({"w": jnp.ones((4, 3)), "b": jnp.ones(3)}, device)
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(0.1))
    for state in (tx.init(params), jax.jit(tx.init)(params)):
        assert {d for leaf in jax.tree.leaves(state) for d in leaf.devices()} == {device}


FSDP = {
    "embed": ((256, 64), P("fsdp")),
    "w1": ((64, 128), P("fsdp")),
    "w2": ((128, 64), P("fsdp")),
    "b": ((128,), P("fsdp")),
}


def per_device_bytes(tree):
    return sum(x.addressable_shards[0].data.nbytes for x in jax.tree.leaves(tree))


@pytest.mark.parametrize("axis_type", ["explicit", "auto"])
def test_fsdp_state_takes_an_eighth_of_the_replicated_bytes_per_device(axis_type):
    mesh = make_mesh(axis_type, (N,), ("fsdp",))
    params = sharded_params(mesh, FSDP)
    tx = gradtx.adamw(1e-3)
    state = jax.jit(tx.init)(params)
    replicated = sum(x.nbytes for x in jax.tree.leaves(state))
    scalars = sum(x.nbytes for x in jax.tree.leaves(state) if x.ndim == 0)
    assert replicated == 2 * sum(p.nbytes for p in params.values()) + scalars
    assert per_device_bytes(state) == (replicated - scalars) // N + scalars
    assert per_device_bytes(params) * 2 + scalars == per_device_bytes(state)


def test_state_shardings_serve_out_shardings_and_checkpoint_restore():
    mesh = make_mesh("auto")
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(1e-2))
    params = sharded_params(mesh)
    abstract = jax.tree.map(lambda p: jax.ShapeDtypeStruct(p.shape, p.dtype, sharding=p.sharding), params)
    shardings = gradtx.state_shardings(tx, abstract)
    param_shardings = jax.tree.map(lambda p: p.sharding, params)

    @functools.partial(jax.jit, out_shardings=(param_shardings, shardings))
    def step(params, state):
        grads = jax.grad(model_loss)(params)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state

    state = jax.jit(tx.init, out_shardings=shardings)(params)
    params, state = step(params, state)
    saved = jax.device_get((params, state))  # what a checkpoint holds: host arrays
    restored = jax.device_put(saved, (param_shardings, shardings))
    assert_same_shardings(restored[1], shardings)
    continued, resumed = step(params, state), step(*restored)
    for a, b in zip(jax.tree.leaves(continued), jax.tree.leaves(resumed)):
        assert a.sharding.is_equivalent_to(b.sharding, a.ndim)
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ shard_map + axis_name

SPLIT = "model"
AXIS_NAME_CASES = [
    pytest.param(
        lambda a: gradtx.chain(
            gradtx.clip_by_global_norm(1.0, axis_name=a), gradtx.adamw(0.1, weight_decay=0.1)
        ),
        id="clip_by_global_norm-adamw",
    ),
    pytest.param(lambda a: gradtx.apply_if_finite(gradtx.adam(0.1), 2, axis_name=a), id="apply_if_finite"),
    pytest.param(lambda a: gradtx.dynamic_loss_scale(gradtx.adam(0.1), 4.0, growth_interval=2, axis_name=a),
                 id="dynamic_loss_scale"),
    pytest.param(
        lambda a: gradtx.chain(gradtx.scale_by_trust_ratio(0.01, 0.5, 1e-3, axis_name=a), gradtx.scale(-0.1)),
        id="scale_by_trust_ratio",
    ),
    pytest.param(lambda a: gradtx.lamb(0.1, weight_decay=0.01, axis_name=a), id="lamb"),
    pytest.param(lambda a: gradtx.lars(0.5, 0.01, trust_coefficient=0.1, nesterov=True, axis_name=a),
                 id="lars"),
    pytest.param(lambda a: gradtx.fromage(0.1, axis_name=a), id="fromage"),
    pytest.param(lambda a: gradtx.novograd(0.1, b2=0.5, weight_decay=0.01, axis_name=a), id="novograd"),
    pytest.param(lambda a: gradtx.chain(gradtx.scale_by_novograd(axis_name=a), gradtx.scale(-0.1)),
                 id="scale_by_novograd"),
    pytest.param(lambda a: gradtx.polyak_sgd(scaling=0.5, f_min=-1.0, axis_name=a), id="polyak_sgd"),
    pytest.param(lambda a: gradtx.chain(gradtx.scale_by_polyak(f_min=-1.0, axis_name=a), gradtx.scale(-0.5)),
                 id="scale_by_polyak"),
]


def test_every_transformation_with_axis_name_is_checked_here():
    has_axis_name = {
        name
        for name, obj in vars(gradtx).items()
        if inspect.isfunction(obj) and "axis_name" in inspect.signature(obj).parameters
    }
    checked = {p.id.split("-")[0] for p in AXIS_NAME_CASES}
    assert has_axis_name == checked


SPLIT_PARAMS = {"w": np.linspace(-2.0, 2.0, 48).reshape(16, 3), "b": np.cos(np.arange(8.0))}
SPLIT_GRADS = [
    {k: np.sin(np.arange(v.size) * (t + 1.0)).reshape(v.shape) for k, v in SPLIT_PARAMS.items()}
    for t in range(3)
]
SPLIT_GRADS[1]["b"][3] = np.nan  # apply_if_finite must skip this step on every device, as on one


@pytest.mark.parametrize("make_tx", AXIS_NAME_CASES)
def test_shard_map_with_axis_name_equals_the_step_on_whole_leaves(make_tx):
    mesh = jax.make_mesh((N,), (SPLIT,))
    tx, whole = make_tx(SPLIT), make_tx(None)
    spec = {"w": P(SPLIT), "b": P(SPLIT)}
    params = {k: jnp.asarray(v, jnp.float32) for k, v in SPLIT_PARAMS.items()}
    grads = [{k: jnp.asarray(v, jnp.float32) for k, v in g.items()} for g in SPLIT_GRADS]
    skips_steps = repr(whole).startswith(("apply_if_finite", "dynamic_loss_scale"))  # skip non-finite steps
    if not skips_steps:
        grads[1]["b"] = jnp.nan_to_num(grads[1]["b"])
    state_spec = jax.tree.map(lambda x: P(SPLIT) if x.ndim else P(), whole.init(params))

    def shard_step(params, state, grads, value):
        updates, state = tx.update(grads, state, params, value=value)
        return gradtx.apply_updates(params, updates), state

    def put(tree, specs):
        return jax.tree.map(lambda x, s: jax.device_put(x, NamedSharding(mesh, s)), tree, specs)

    in_specs = (spec, state_spec, spec, P())
    sharded = jax.jit(jax.shard_map(shard_step, mesh=mesh, in_specs=in_specs, out_specs=(spec, state_spec)))
    s_params, s_state = put(params, spec), put(whole.init(params), state_spec)
    w_params, w_state = params, whole.init(params)
    value = jnp.float32(1.0)  # polyak: small enough that the step size is not capped
    for g in grads:
        s_params, s_state = sharded(s_params, s_state, put(g, spec), value)
        updates, w_state = whole.update(g, w_state, w_params, value=value)
        w_params = gradtx.apply_updates(w_params, updates)
        leaves_close(s_params, w_params, rtol=2e-5, atol=1e-6)
        leaves_close(s_state, w_state, rtol=2e-5, atol=1e-6)
    # Without axis_name each device would use its own shard's norm (or finite flag): the results differ.
    local = jax.jit(jax.shard_map(
        lambda p, s, g, v: gradtx.apply_updates(p, whole.update(g, s, p, value=v)[0]),
        mesh=mesh, in_specs=in_specs, out_specs=spec,
    ))
    p0, s0 = put(params, spec), put(whole.init(params), state_spec)
    g0 = put(grads[1 if skips_steps else 0], spec)
    assert not np.allclose(local(p0, s0, g0, value)["w"], sharded(p0, s0, g0, value)[0]["w"])


# ------------------------------------------------------------------- flat layout (issue 5)


def test_flat_params_bucket_only_replicated_leaves_and_keep_sharded_ones_sharded():
    """SPEC §5/§6: a bucket holds leaves of one dtype and sharding; FSDP-sharded leaves stay
    outside, with state sharded like them, and the step equals the per-leaf step."""
    mesh = make_mesh("explicit", (N,), ("fsdp",))
    layout = {**FSDP, "scale": ((16,), P()), "bias": ((8,), P())}
    params = sharded_params(mesh, layout)
    flat = gradtx.flatten_params(params)
    assert [b.shape for b in flat.buckets] == [(24,)]  # the two replicated leaves
    assert flat.buckets[0].sharding.is_fully_replicated and len(flat.buckets[0].sharding.device_set) == N
    assert len(flat.kept) == len(FSDP)
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(0.1, weight_decay=1e-2))
    state = jax.jit(tx.init)(flat)
    for leaf, kept in zip(state[1][0].mu.kept, flat.kept):
        assert leaf.sharding.is_equivalent_to(kept.sharding, leaf.ndim)

    flat_step, tree_step = flat_and_tree_steps(tx)
    tree, tree_state = params, tx.init(params)
    for _ in range(3):
        flat, state = flat_step(flat, state)
        tree, tree_state = tree_step(tree, tree_state)
    leaves_close(flat.unflatten(), tree, rtol=1e-5, atol=1e-6)
    for leaf, kept in zip(state[1][0].mu.kept, flat.kept):
        assert leaf.sharding.is_equivalent_to(kept.sharding, leaf.ndim)
    hlo = flat_step.lower(flat, state).compile().as_text()
    assert not re.findall(r"all-gather(?:-start)?\(", hlo)


def flat_and_tree_steps(tx):
    """Jitted training steps of ``tx`` on a ``FlatParams`` (the model reads ``unflatten()``) and on the tree."""

    def step(p, s, unpack):
        grads = jax.grad(lambda q: model_loss(unpack(q)))(p)
        u, s = tx.update(grads, s, p)
        return gradtx.apply_updates(p, u), s

    return jax.jit(functools.partial(step, unpack=lambda q: q.unflatten())), jax.jit(functools.partial(step, unpack=lambda q: q))


@pytest.mark.parametrize(
    "make_tx",
    [
        lambda: gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(0.1, weight_decay=1e-2, mask=r"w.*|embed")),
        lambda: gradtx.lamb(0.05, weight_decay=1e-3, mask=r"w.*|embed"),
    ],
    ids=["adamw-mask", "lamb-mask"],
)
def test_labelled_buckets_keep_sharded_leaves_sharded(make_tx):
    """Issue 14: buckets split by a mask's labels still hold only replicated leaves; FSDP leaves
    stay kept and sharded (state too), per-leaf norms (LAMB) run on both, and the step equals
    the per-leaf step without an all-gather."""
    mesh = make_mesh("explicit", (N,), ("fsdp",))
    layout = {**FSDP, "scale": ((16,), P()), "bias": ((8,), P()), "w0": ((4, 6), P())}
    params = sharded_params(mesh, layout)
    flat = gradtx.flatten_params(params, labels=r"w.*|embed")
    assert sorted((label, b.shape) for label, b in zip(flat.labels, flat.buckets)) == [(False, (24,)), (True, (24,))]
    assert all(b.sharding.is_fully_replicated and len(b.sharding.device_set) == N for b in flat.buckets)
    assert len(flat.kept) == len(FSDP) and all(not k.sharding.is_fully_replicated for k in flat.kept)
    tx = make_tx()

    flat_step, tree_step = flat_and_tree_steps(tx)
    state, tree, tree_state = jax.jit(tx.init)(flat), params, tx.init(params)
    for _ in range(3):
        flat, state = flat_step(flat, state)
        tree, tree_state = tree_step(tree, tree_state)
    leaves_close(flat.unflatten(), tree, rtol=1e-5, atol=1e-6)
    for kept in flat.kept:
        assert not kept.sharding.is_fully_replicated
    for leaf in jax.tree.leaves(state):
        if leaf.ndim and leaf.size >= 8 * N:  # moments of the FSDP leaves
            assert not leaf.sharding.is_fully_replicated or leaf.shape in {(24,)}
    hlo = flat_step.lower(flat, state).compile().as_text()
    assert not re.findall(r"all-gather(?:-start)?\(", hlo)
