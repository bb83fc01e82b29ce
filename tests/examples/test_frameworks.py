"""gradtx with Flax NNX, Flax Linen, Equinox and Optax (docs/frameworks.md).

The framework examples train (a few steps, in a subprocess as a user runs them), and each row
of the interop table in docs/frameworks.md holds on an ``nnx.Optimizer``: the same updates as
gradtx on the plain parameter tree (or as Optax), never hard-coded numbers.
"""

import pathlib
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradtx

pytestmark = pytest.mark.slow  # runs the examples end to end (CI runs it)

nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


# ----------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("name", ["flax_nnx.py", "flax_linen.py", "equinox_mlp.py"])
def test_framework_example_trains(name):
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    if name == "equinox_mlp.py":
        pytest.importorskip("equinox")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--steps", "40"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    start, end = map(float, re.search(r"train loss (\S+) -> (\S+)", result.stdout).groups())
    assert end < 0.5 * start, result.stdout  # loss on the whole training set, before and after
    accuracies = [float(a) for a in re.findall(r"\d\.\d{3}", result.stdout.splitlines()[-1])]
    assert accuracies and min(accuracies) > 0.5, result.stdout


# ------------------------------------------------------------------ NNX: the interop table


class Net(nnx.Module):
    def __init__(self, rngs):
        self.lin1 = nnx.Linear(4, 6, rngs=rngs)
        self.norm = nnx.LayerNorm(6, rngs=rngs)  # Params "norm/scale", "norm/bias"
        self.lin2 = nnx.Linear(6, 3, rngs=rngs)
        self.calls = nnx.Variable(jnp.zeros((), jnp.int32))  # not a Param: not optimized

    def __call__(self, x):
        return self.lin2(jax.nn.relu(self.norm(self.lin1(x))))


X = jnp.linspace(-1.0, 1.0, 20, dtype=jnp.float32).reshape(5, 4)
Y = jnp.array([0, 1, 2, 0, 1])


def loss_fn(model):
    return optax.softmax_cross_entropy_with_integer_labels(model(X), Y).mean()


def pure(tree):
    """An NNX state as the plain nested dict of arrays it holds."""
    return nnx.to_pure_dict(tree)


def run_nnx(tx, steps=3, update_kwargs=(), poison=()):
    """Train ``Net`` with ``nnx.Optimizer(model, tx)``; return the model, the optimizer and the
    gradients of each step (as plain dicts). At the steps in ``poison`` the gradients are NaN."""
    model = Net(nnx.Rngs(0))
    opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    grads_seen = []
    for t in range(steps):
        grads = nnx.grad(loss_fn)(model)
        if t in poison:
            grads = jax.tree.map(lambda g: jnp.full_like(g, jnp.nan), grads)
        grads_seen.append(pure(grads))
        opt.update(model, grads, **dict(update_kwargs[t]) if update_kwargs else {})
    return model, opt, grads_seen


def run_plain(tx, grads_seen, update_kwargs=()):
    """The same steps with gradtx on the plain parameter tree."""
    params = pure(nnx.state(Net(nnx.Rngs(0)), nnx.Param))
    state = tx.init(params)
    for t, grads in enumerate(grads_seen):
        updates, state = tx.update(grads, state, params, **dict(update_kwargs[t]) if update_kwargs else {})
        params = gradtx.apply_updates(params, updates)
    return params, state


def assert_trees_close(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-6, atol=1e-7)


def moved(params, initial):
    """Paths of the leaves that changed."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    flat0 = jax.tree.leaves(initial)
    return {jax.tree_util.keystr(k) for (k, a), b in zip(flat, flat0) if not np.array_equal(a, b)}


BIAS = r".*bias"
GROUPS = gradtx.path_labels({r"norm/.*": "norm", BIAS: "bias"}, default="rest")
CASES = {
    "partition+path_labels": gradtx.partition(
        {"norm": gradtx.sgd(0.05), "bias": gradtx.adam(0.1), "rest": gradtx.sgd(0.1, momentum=0.9)}, GROUPS
    ),
    "masked(regex)": gradtx.chain(gradtx.masked(gradtx.adam(0.1), BIAS), gradtx.scale(-0.01)),
    "masked(path_labels)": gradtx.masked(gradtx.sgd(0.1), gradtx.path_labels({BIAS: True}, default=False)),
    "freeze(regex)": gradtx.freeze(r"lin1/.*", inner=gradtx.adam(0.1)),
    "adamw(mask=path_labels)": gradtx.adamw(
        0.1, weight_decay=0.5, mask=gradtx.path_labels({BIAS: False}, default=True)
    ),
    "chain(optax part, gradtx)": gradtx.chain(
        optax.clip_by_global_norm(0.1), gradtx.freeze("norm/.*", inner=gradtx.sgd(1.0))
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_nnx_path_masks_match_the_plain_tree(case):
    tx = CASES[case]
    model, _, grads_seen = run_nnx(tx)
    params, _ = run_plain(tx, grads_seen)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)
    assert int(model.calls.get_value()) == 0  # only Params are optimized


def test_nnx_masks_select_the_paths_they_name():
    initial = pure(nnx.state(Net(nnx.Rngs(0)), nnx.Param))
    model, opt, _ = run_nnx(CASES["freeze(regex)"])
    changed = moved(pure(nnx.state(model, nnx.Param)), initial)
    assert changed and not any("lin1" in path for path in changed)
    # The frozen leaves hold no Adam moments (only empty placeholders).
    moments = nnx.as_pure(opt.opt_state).inner_state[0].mu
    holding = {jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_flatten_with_path(moments)[0]}
    assert holding and not any("lin1" in path for path in holding)

    # masked: sgd on the biases, the other leaves passed through unchanged.
    model = Net(nnx.Rngs(0))
    opt = nnx.Optimizer(model, CASES["masked(path_labels)"], wrt=nnx.Param)
    grads = pure(nnx.grad(loss_fn)(model))
    updates = pure(opt.update(model, nnx.grad(loss_fn)(model)))
    for (path, u), g in zip(jax.tree_util.tree_flatten_with_path(updates)[0], jax.tree.leaves(grads)):
        expected = -0.1 * g if jax.tree_util.keystr(path).endswith("['bias']") else g
        np.testing.assert_allclose(u, expected, rtol=1e-6, err_msg=jax.tree_util.keystr(path))


def test_nnx_weight_decay_mask_matches_optax():
    no_decay = gradtx.path_labels({BIAS: False}, default=True)
    model, _, grads_seen = run_nnx(gradtx.adamw(0.1, weight_decay=0.5, mask=no_decay))
    params = pure(nnx.state(Net(nnx.Rngs(0)), nnx.Param))
    tx = optax.adamw(0.1, weight_decay=0.5, mask=no_decay(params))
    with jax.numpy_dtype_promotion("standard"):  # Optax's own code mixes int and float
        state = tx.init(params)
        for grads in grads_seen:
            updates, state = tx.update(grads, state, params)
            params = optax.apply_updates(params, updates)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)


def test_nnx_eval_params_reads_the_ema():
    tx = gradtx.with_param_ema(gradtx.freeze("lin1/.*", inner=gradtx.adam(0.1)), decay=0.5)
    model, opt, grads_seen = run_nnx(tx)
    params, state = run_plain(tx, grads_seen)
    ema = gradtx.eval_params(opt.opt_state, nnx.state(model, nnx.Param))
    assert_trees_close(pure(ema), gradtx.eval_params(state, params))
    assert not np.allclose(pure(ema)["lin2"]["kernel"], params["lin2"]["kernel"])  # an average
    ema_model = nnx.clone(model)
    nnx.update(ema_model, ema)
    assert_trees_close(pure(nnx.state(ema_model, nnx.Param)), gradtx.eval_params(state, params))


def test_nnx_get_and_set_hyperparams_on_opt_state():
    schedule = gradtx.linear_schedule(0.1, 0.01, transition_steps=10)
    tx = gradtx.partition(
        {
            "bias": gradtx.inject_hyperparams(gradtx.sgd)(schedule, momentum=0.9),
            "rest": gradtx.scale(0.0),
            "norm": gradtx.scale(0.0),
        },
        GROUPS,
    )
    model, opt, grads_seen = run_nnx(tx)
    params, state = run_plain(tx, grads_seen)
    got = gradtx.get_hyperparams(opt.opt_state)
    assert got.keys() == gradtx.get_hyperparams(state).keys() and "learning_rate" in got
    assert_trees_close(got, gradtx.get_hyperparams(state))

    # set_hyperparams with NNX: the documented nnx.update form; then one more step on both sides.
    tx2 = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.inject_hyperparams(gradtx.adam)(0.1, b1=0.8))
    model, opt, grads_seen = run_nnx(tx2, steps=2)
    params, state = run_plain(tx2, grads_seen)
    nnx.update(opt.opt_state, nnx.state(gradtx.set_hyperparams(opt.opt_state, learning_rate=0.02, b1=0.5)))
    state = gradtx.set_hyperparams(state, learning_rate=0.02, b1=0.5)
    assert_trees_close(gradtx.get_hyperparams(opt.opt_state), gradtx.get_hyperparams(state))
    assert float(gradtx.get_hyperparams(opt.opt_state)["learning_rate"]) == pytest.approx(0.02)

    @nnx.jit
    def step(model, opt):
        grads = nnx.grad(loss_fn)(model)
        opt.update(model, grads)
        return grads

    grads = pure(step(model, opt))
    updates, state = tx2.update(grads, state, params)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), gradtx.apply_updates(params, updates))


def test_nnx_reduce_on_plateau_gets_value():
    tx = gradtx.chain(gradtx.sgd(0.1), gradtx.reduce_on_plateau(factor=0.5, patience=1))
    values = [{"value": jnp.asarray(1.0)}] * 4
    model, opt, grads_seen = run_nnx(tx, steps=4, update_kwargs=values)
    params, state = run_plain(tx, grads_seen, update_kwargs=values)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)
    scale = nnx.as_pure(opt.opt_state)[1].scale
    assert float(scale) == float(state[1].scale) < 1.0  # it did reduce


# optax.chain / MultiSteps / apply_if_finite around gradtx parts (``to_optax``), in an
# nnx.Optimizer, give what gradtx's own combinators give on the plain tree, `value=` included.
ROP = dict(factor=0.5, patience=1)
VALUES = [{"value": jnp.asarray(1.0)}] * 4
INNER = gradtx.chain(gradtx.sgd(0.1), gradtx.reduce_on_plateau(**ROP))


def test_nnx_optax_chain_passes_value_to_gradtx_parts():
    optax_tx = optax.chain(optax.clip_by_global_norm(0.1), gradtx.to_optax(gradtx.reduce_on_plateau(**ROP)))
    model, _, grads_seen = run_nnx(optax_tx, steps=4, update_kwargs=VALUES)
    plain = gradtx.chain(optax.clip_by_global_norm(0.1), gradtx.reduce_on_plateau(**ROP))
    params, state = run_plain(plain, grads_seen, VALUES)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)
    assert float(state[1].scale) < 1.0


def test_nnx_optax_multisteps_passes_value_to_gradtx_parts():
    with jax.numpy_dtype_promotion("standard"):  # optax.MultiSteps divides floats by its int32 count
        model, _, grads_seen = run_nnx(
            optax.MultiSteps(gradtx.to_optax(INNER), every_k_schedule=2), steps=8, update_kwargs=VALUES * 2
        )
    mean_grads = [jax.tree.map(lambda a, b: (a + b) / 2, *grads_seen[i : i + 2]) for i in range(0, 8, 2)]
    params, state = run_plain(INNER, mean_grads, VALUES)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)
    assert float(state[1].scale) < 1.0


def test_nnx_optax_apply_if_finite_passes_value_to_gradtx_parts():
    # The step with NaN gradients is skipped (no update, no `value` seen).
    tx = optax.apply_if_finite(gradtx.to_optax(INNER), 2)
    model, opt, grads_seen = run_nnx(tx, steps=5, update_kwargs=VALUES + VALUES[:1], poison={2})
    finite = [g for t, g in enumerate(grads_seen) if t != 2]
    params, state = run_plain(INNER, finite, VALUES)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)
    assert int(nnx.as_pure(opt.opt_state).total_notfinite) == 1
    assert float(nnx.as_pure(opt.opt_state).inner_state[1].scale) == float(state[1].scale) < 1.0


def test_nnx_reads_through_optax_chain_states():
    tx = optax.chain(
        optax.clip_by_global_norm(1.0),
        gradtx.to_optax(gradtx.with_param_ema(gradtx.inject_hyperparams(gradtx.adam)(0.1), decay=0.5)),
    )
    plain = gradtx.chain(
        optax.clip_by_global_norm(1.0),
        gradtx.with_param_ema(gradtx.inject_hyperparams(gradtx.adam)(0.1), decay=0.5),
    )
    model, opt, grads_seen = run_nnx(tx)
    params, state = run_plain(plain, grads_seen)
    assert_trees_close(pure(nnx.state(model, nnx.Param)), params)
    ema = gradtx.eval_params(opt.opt_state, nnx.state(model, nnx.Param))
    assert_trees_close(pure(ema), gradtx.eval_params(state, params))
    assert_trees_close(gradtx.get_hyperparams(opt.opt_state), gradtx.get_hyperparams(state))


def test_to_optax_keeps_value_where_a_bare_gradtx_part_loses_it():
    """Why ``to_optax`` exists: optax.chain drops ``value=`` for non-ExtraArgs parts."""
    params = {"w": jnp.ones(2)}
    grads = {"w": jnp.ones(2)}
    for wrap, reduces in [(gradtx.to_optax, True), (lambda tx: tx, False)]:
        tx = optax.chain(optax.identity(), wrap(gradtx.reduce_on_plateau(factor=0.5, patience=1)))
        state = tx.init(params)
        for _ in range(3):
            _, state = tx.update(grads, state, params, value=jnp.asarray(1.0))
        assert (float(state[1].scale) < 1.0) == reduces


# ------------------------------------------------------------- Linen and Equinox parameter trees


def test_linen_and_equinox_paths_for_masks():
    linen = pytest.importorskip("flax.linen")
    eqx = pytest.importorskip("equinox")
    labels = gradtx.path_labels({BIAS: "no_decay"}, default="decay")

    variables = linen.Dense(3).init(jax.random.key(0), jnp.ones((1, 2)))
    assert labels(variables["params"]) == {"bias": "no_decay", "kernel": "decay"}

    # Equinox: the filtered model (None where the activations were) with a path mask, as
    # Optax's adamw with a mask computed from the leaves (biases are the 1-D leaves).
    model = eqx.nn.MLP(4, 3, 8, 1, key=jax.random.key(0))
    params = eqx.filter(model, eqx.is_inexact_array)
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
    tx = gradtx.adamw(0.1, weight_decay=0.5, mask=gradtx.path_labels({BIAS: False}, default=True))
    reference = optax.adamw(0.1, weight_decay=0.5, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p))
    updates, _ = tx.update(grads, tx.init(params), params)
    with jax.numpy_dtype_promotion("standard"):
        expected, _ = reference.update(grads, reference.init(params), params)
    assert_trees_close(updates, expected)

    # eval_params on the filtered tree, put back into a model with eqx.combine.
    tx = gradtx.with_param_ema(gradtx.sgd(0.1), decay=0.5)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    new_params = gradtx.apply_updates(params, updates)
    _, static = eqx.partition(model, eqx.is_inexact_array)
    ema_model = eqx.combine(gradtx.eval_params(state, new_params), static)
    assert ema_model(jnp.ones(4)).shape == (3,)
