"""L-BFGS and `minimize`, live in float64: gradtx.torch.LBFGS against torch.optim.LBFGS, and gradtx.lbfgs
and its line searches against optax (reference problem and Rosenbrock)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference
import torch
from reference import LBFGS_RTOL, RTOL, assert_trajectories_close

import gradtx


def rosenbrock(p, xp=None):
    """The Rosenbrock function of the vector ``p["x"]``, for torch tensors and jax arrays alike."""
    x = p["x"]
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


PROBLEMS = {
    "reference": (reference.loss, reference.initial_params()),
    "rosenbrock": (rosenbrock, {"x": np.array([-1.2, 1.0, -0.5, 0.8])}),
}
STARTS = {
    "classic": np.array([-1.2, 1.0]),
    "far": np.array([-1.5, 2.0]),
    "5d": np.array([-1.2, 1.0, -0.5, 0.8, 1.3]),
}


def snapshot(tensors):
    return {k: v.detach().numpy().copy() for k, v in tensors.items()}


def torch_lbfgs(loss, params, steps=1, **kwargs):
    """``steps`` calls of ``LBFGS(**kwargs).step(closure)`` in float64.

    Returns the params after each call, the params at every evaluation of the closure, and
    torch's state.
    """
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(params.items())}
    opt = torch.optim.LBFGS(list(tp.values()), **kwargs)
    evaluated = []

    def closure():
        opt.zero_grad()
        value = loss(tp, torch)
        value.backward()
        evaluated.append(snapshot(tp))
        return value

    after = []
    for _ in range(steps):
        opt.step(closure)
        after.append(snapshot(tp))
    return after, evaluated, opt.state[next(iter(tp.values()))]


def gradtx_updates(loss, params, tx, steps):
    """Params after each of ``steps`` jitted updates in float64, and the final state (as numpy)."""
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        objective = lambda q: loss(q, jnp)

        @jax.jit
        def step(p, state):
            value, grad = jax.value_and_grad(objective)(p)
            updates, state = tx.update(grad, state, p, value=value, grad=grad, value_fn=objective)
            return gradtx.apply_updates(p, updates), state

        state, out = tx.init(p), []
        for _ in range(steps):
            p, state = step(p, state)
            out.append({k: np.asarray(v) for k, v in p.items()})
        return out, jax.tree.map(np.asarray, state)


def flat_slot(ring, slot):
    """One slot of a history ring, flattened as torch flattens its params (sorted keys)."""
    return np.concatenate([ring[k][slot].ravel() for k in sorted(ring)])


@pytest.mark.parametrize(
    ("problem", "n", "history_size", "lr"),
    [
        ("reference", 25, 5, 0.2),
        ("reference", 12, 100, 0.1),
        ("rosenbrock", 20, 2, 0.3),
        ("rosenbrock", 16, 6, 1.0),
        ("rosenbrock", 25, 100, 0.2),
    ],
)
def test_n_updates_are_one_torch_step(problem, n, history_size, lr):
    loss, params = PROBLEMS[problem]
    after, evaluated, torch_state = torch_lbfgs(
        loss, params, lr=lr, max_iter=n, max_eval=10 * n, tolerance_grad=0, tolerance_change=0,
        history_size=history_size,
    )
    # Without a line search torch evaluates once at the start and after every iteration but the last.
    want = evaluated[1:] + after
    assert len(want) == n
    tx = gradtx.torch.LBFGS(lr=lr, max_iter=n, tolerance_grad=0, tolerance_change=0, history_size=history_size)
    got, state = gradtx_updates(loss, params, tx, n)
    assert_trajectories_close(f"torch/lbfgs-{problem}-n{n}-h{history_size}-lr{lr}", got, want)

    # The ring holds torch's history, oldest first from `head`, evicting as torch does.
    pairs = len(torch_state["old_stps"])
    assert np.count_nonzero(state.rho) == pairs and int(state.count) == n
    assert pairs == history_size or history_size >= n, "a short history must wrap the ring"
    for i in range(pairs):
        slot = (int(state.head) - pairs + i) % history_size
        np.testing.assert_allclose(flat_slot(state.s_history, slot), torch_state["old_stps"][i], rtol=RTOL)
        np.testing.assert_allclose(flat_slot(state.y_history, slot), torch_state["old_dirs"][i], rtol=RTOL)
        np.testing.assert_allclose(state.rho[slot], float(torch_state["ro"][i]), rtol=RTOL)
    np.testing.assert_allclose(state.h_diag, float(torch_state["H_diag"]), rtol=RTOL)


@pytest.mark.parametrize(
    ("problem", "line_search", "history_size", "lr", "n"),
    [
        ("reference", None, 3, 0.2, 25),
        ("reference", "strong_wolfe", 100, 1.0, 15),
        ("reference", "strong_wolfe", 3, 0.5, 15),
        ("rosenbrock", "strong_wolfe", 100, 1.0, 30),
    ],
)
def test_updates_are_torch_steps_with_max_iter_1(problem, line_search, history_size, lr, n):
    # max_eval=26 gives each torch line search the 25 evaluations after the first that gradtx gives it.
    loss, params = PROBLEMS[problem]
    want, _, torch_state = torch_lbfgs(
        loss, params, n, lr=lr, max_iter=1, max_eval=26, tolerance_grad=0, tolerance_change=0,
        history_size=history_size, line_search_fn=line_search,
    )
    tx = gradtx.torch.LBFGS(lr, 1, 26, 0, 0, history_size, line_search)
    got, state = gradtx_updates(loss, params, tx, n)
    assert_trajectories_close(f"torch/lbfgs-{problem}-{line_search}-h{history_size}-lr{lr}-steps", got, want)
    if line_search:
        # torch counts every evaluation; gradtx's state counts the line search's (the caller makes
        # one more per update).
        assert int(state.evaluations) + n == torch_state["func_evals"]


@pytest.mark.parametrize("start", list(STARTS))
def test_strong_wolfe_reaches_torchs_minimum_with_at_most_twice_its_evaluations(start):
    params = {"x": STARTS[start]}
    after, _, torch_state = torch_lbfgs(rosenbrock, params, lr=1, max_iter=500, line_search_fn="strong_wolfe")
    with jax.enable_x64(True):
        tx = gradtx.torch.LBFGS(lr=1, max_iter=500, line_search_fn="strong_wolfe")
        result = gradtx.minimize(rosenbrock, {"x": jnp.asarray(STARTS[start])}, tx)
        evaluations = 1 + int(result.num_steps) + int(result.state.evaluations)
        x = np.asarray(result.params["x"])
    # Both reach the minimum (1, ..., 1); gradtx's search budget is the same for every update.
    np.testing.assert_allclose(after[-1]["x"], 1.0, atol=1e-4)
    np.testing.assert_allclose(x, 1.0, atol=1e-4)
    assert bool(result.converged)
    assert evaluations <= 2 * torch_state["func_evals"], (evaluations, torch_state["func_evals"])


@pytest.mark.parametrize(
    ("line_search", "start"),
    [(None, "classic"), ("strong_wolfe", "classic"), ("strong_wolfe", "far"), ("strong_wolfe", "5d")],
)
def test_minimize_is_one_torch_step_with_its_tolerances(line_search, start):
    # torch's default tolerances (tolerance_grad=1e-7, tolerance_change=1e-9) stop both loops.
    params = {"x": STARTS[start]}
    after, _, torch_state = torch_lbfgs(
        rosenbrock, params, lr=1, max_iter=300, max_eval=10**5, line_search_fn=line_search
    )
    with jax.enable_x64(True):
        tx = gradtx.torch.LBFGS(lr=1, max_iter=300, max_eval=10**5, line_search_fn=line_search)
        result = gradtx.minimize(rosenbrock, {"x": jnp.asarray(STARTS[start])}, tx)  # the loop rules are tx's
        x = np.asarray(result.params["x"])
    assert int(result.num_steps) == torch_state["n_iter"] < 300 and bool(result.converged)
    np.testing.assert_allclose(x, after[-1]["x"], rtol=RTOL, atol=reference.ATOL)
    case = f"torch/lbfgs-minimize-{line_search}-{start}"
    deviation = float(np.max(np.abs(x - after[-1]["x"]) / np.abs(after[-1]["x"])))
    reference.DEVIATIONS[case] = max(reference.DEVIATIONS[case], deviation)


def test_minimize_is_one_while_loop_traced_once():
    traces = []

    def fun(p):
        traces.append(None)
        return rosenbrock(p)

    solver = gradtx.torch.LBFGS(line_search_fn="strong_wolfe")
    counts, steps = [], []
    for max_steps in (3, 100):
        solve = jax.jit(lambda p: gradtx.minimize(fun, p, solver, max_steps=max_steps))
        steps.append(int(solve({"x": jnp.array([-1.2, 1.0])}).num_steps))
        counts.append(len(traces))
        steps.append(int(solve({"x": jnp.array([-1.5, 2.0])}).num_steps))
        assert len(traces) == counts[-1], "a second start must not retrace"
        traces.clear()
    assert counts[0] == counts[1], "tracing must not depend on the number of steps"
    assert steps[:2] == [3, 3] and min(steps[2:]) > 20
    jaxpr = jax.make_jaxpr(lambda p: gradtx.minimize(fun, p, solver))({"x": jnp.array([-1.2, 1.0])})
    assert [e.primitive.name for e in jaxpr.eqns].count("while") == 1


@pytest.mark.parametrize(
    "make_solver",
    [
        lambda: gradtx.sgd(1e-3, momentum=0.9),
        lambda: gradtx.adam(0.05),
        lambda: gradtx.torch.LBFGS(line_search_fn="strong_wolfe"),
        lambda: gradtx.lbfgs(),
    ],
    ids=["sgd-momentum", "adam", "torch.LBFGS-strong-wolfe", "lbfgs"],
)
def test_minimize_drives_any_transformation_like_a_python_loop(make_solver, request):
    solver = make_solver()
    # The zoom search's branches amplify the rounding differences of two compilations.
    rtol = 1e-6 if request.node.callspec.id == "lbfgs" else RTOL
    with jax.enable_x64(True):
        start = {"x": jnp.asarray(STARTS["5d"])}
        result = gradtx.minimize(
            rosenbrock, start, solver, max_steps=40, tolerance_grad=0.0, tolerance_change=0.0
        )

        @jax.jit
        def step(params, state):
            value, grad = jax.value_and_grad(rosenbrock)(params)
            updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=rosenbrock)
            return gradtx.apply_updates(params, updates), state

        params, state = start, solver.init(start)
        for _ in range(40):
            params, state = step(params, state)
        assert int(result.num_steps) == 40 and not bool(result.converged)
        # Two compilations of the same arithmetic may round differently (fused multiply-adds).
        np.testing.assert_allclose(result.params["x"], params["x"], rtol=rtol)
        # value and grad are those at the returned params.
        np.testing.assert_allclose(result.value, rosenbrock(result.params), rtol=1e-12)
        grad = jax.grad(rosenbrock)(result.params)["x"]
        np.testing.assert_allclose(result.grad["x"], grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "make_solver", [lambda: gradtx.torch.LBFGS(line_search_fn="strong_wolfe"), gradtx.lbfgs], ids=["torch.LBFGS", "lbfgs"]
)
def test_minimize_passes_args_kwargs_returns_aux_and_keeps_integer_leaves(make_solver):
    target = jnp.array([1.0, -2.0, 0.5])

    def fun(p, target, *, weight):
        residual = p["w"] - target
        return weight * jnp.sum(residual**2) + jnp.sum(p["w"] ** 4), {"residual": residual}

    params = {"w": jnp.zeros(3), "n": jnp.array(7, jnp.int32), "none": None}
    result = gradtx.minimize(fun, params, make_solver(), args=(target,), kwargs={"weight": 2.0}, has_aux=True)
    value, aux = fun(result.params, target, weight=2.0)
    assert bool(result.converged) and int(result.num_steps) > 2
    assert int(result.params["n"]) == 7 and result.params["none"] is None and result.grad["n"] is None
    np.testing.assert_allclose(result.value, value, rtol=1e-6)
    np.testing.assert_allclose(result.aux["residual"], aux["residual"], rtol=1e-6)
    grad = jax.grad(lambda w: fun({**params, "w": w}, target, weight=2.0)[0])(result.params["w"])
    np.testing.assert_allclose(result.grad["w"], grad, rtol=1e-6, atol=1e-6)
    assert float(jnp.max(jnp.abs(grad))) < 1e-3


def test_minimize_keeps_each_leaf_dtype():
    params = {"w": jnp.full(3, 2.0, jnp.bfloat16), "b": jnp.zeros(2)}

    def fun(p):
        return jnp.sum(jnp.square(p["w"].astype(jnp.float32) - 1.0)) + jnp.sum(jnp.square(p["b"] + 1.0))

    result = gradtx.minimize(fun, params, gradtx.adam(0.1), max_steps=200, tolerance_change=0.0)
    assert result.params["w"].dtype == jnp.bfloat16 and result.params["b"].dtype == jnp.float32
    assert float(result.value) < 1e-2 * float(fun(params))


def test_minimize_stops_before_the_first_step_at_a_stationary_point():
    result = gradtx.minimize(rosenbrock, {"x": jnp.ones(3)}, gradtx.torch.LBFGS(), max_steps=10)
    assert int(result.num_steps) == 0 and bool(result.converged)


def test_minimize_under_vmap_equals_separate_runs():
    starts = jnp.asarray(np.stack([STARTS["classic"], STARTS["far"]]), jnp.float32)

    def solve(x):
        return gradtx.minimize(rosenbrock, {"x": x}, gradtx.torch.LBFGS(max_iter=100, line_search_fn="strong_wolfe"))

    batched = jax.jit(jax.vmap(solve))(starts)
    for i in range(2):
        single = jax.jit(solve)(starts[i])
        assert int(batched.num_steps[i]) == int(single.num_steps)
        np.testing.assert_allclose(batched.params["x"][i], single.params["x"], rtol=1e-5)


def test_strong_wolfe_names_the_missing_extra_arguments():
    tx = gradtx.torch.LBFGS(line_search_fn="strong_wolfe")
    params = jnp.zeros(2)
    with pytest.raises(ValueError, match=r"^LBFGS: line_search_fn='strong_wolfe' needs `value`, `value_fn`"):
        tx.update(jnp.ones(2), tx.init(params), params)
    with pytest.raises(ValueError, match=r"^LBFGS: line_search_fn='strong_wolfe' needs `params`: "):
        tx.update(jnp.ones(2), tx.init(params), value=jnp.array(0.0), value_fn=jnp.sum)


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_a_small_gradient_gives_a_zero_update_and_keeps_the_state(line_search):
    # torch's step returns at once when max|g| <= tolerance_grad, changing nothing.
    tx = gradtx.torch.LBFGS(line_search_fn=line_search, tolerance_grad=1e-3)
    f = lambda p: jnp.sum((p - 1.0) ** 2)
    params = jnp.array([0.0, 2.0])
    updates, state = tx.update(jax.grad(f)(params), tx.init(params), params, value=f(params), value_fn=f)
    params = gradtx.apply_updates(params, updates)
    updates, new_state = tx.update(jnp.full(2, 5e-4), state, params, value=f(params), value_fn=f)
    assert bool(jnp.all(updates == 0)) and int(state.count) == 1
    for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)
    # The next real gradient continues where the state left off: the second step solves the quadratic.
    updates, _ = tx.update(jax.grad(f)(params), new_state, params, value=f(params), value_fn=f)
    np.testing.assert_array_equal(gradtx.apply_updates(params, updates), jnp.ones(2))


def test_a_direction_not_steep_enough_is_not_taken_as_in_torch():
    params = {"x": STARTS["classic"]}
    after, _, torch_state = torch_lbfgs(rosenbrock, params, lr=1, max_iter=5, tolerance_change=1e5)
    got, state = gradtx_updates(rosenbrock, params, gradtx.torch.LBFGS(tolerance_change=1e5), 1)
    np.testing.assert_array_equal(after[-1]["x"], params["x"])  # g.d = -|g|^2 = -5.4e4 > -1e5 at the start
    np.testing.assert_array_equal(got[-1]["x"], params["x"])
    assert torch_state["n_iter"] == int(state.count) == 1


def test_history_has_fixed_shapes_and_dtypes():
    tx = gradtx.torch.LBFGS(history_size=7, line_search_fn="strong_wolfe")
    params = {"w": jnp.zeros((3, 2), jnp.bfloat16), "b": jnp.zeros(4)}
    state = tx.init(params)
    assert state.s_history["w"].shape == (7, 3, 2) and state.y_history["w"].dtype == jnp.bfloat16
    assert state.rho.shape == (7,) and state.rho.dtype == jnp.float32
    assert gradtx.torch.LBFGS().init(params).evaluations is None


# ---------------------------------------------------------------- Optax's dialect (top level)

OPTAX_LBFGS = [
    pytest.param(lambda m: m.lbfgs(), id="defaults"),
    pytest.param(lambda m: m.lbfgs(0.5, 4, False, m.scale_by_backtracking_linesearch(20)), id="positional"),
    pytest.param(lambda m: m.lbfgs(0.05, linesearch=None), id="no-linesearch"),
    pytest.param(lambda m: m.lbfgs(learning_rate=0.3, memory_size=3), id="lr-short-memory"),
    pytest.param(lambda m: m.lbfgs(memory_size=5, linesearch=m.scale_by_backtracking_linesearch(15, store_grad=True)),
                 id="backtracking"),
    pytest.param(lambda m: m.lbfgs(linesearch=m.scale_by_zoom_linesearch(10, max_learning_rate=2.0, approx_dec_rtol=None)),
                 id="zoom-keep-capped-exact-decrease"),
    pytest.param(lambda m: m.chain(m.sgd(1.0), m.scale_by_backtracking_linesearch(20, 1e-3, 0.5, 2.0, 0.5, rtol=0.01)),
                 id="sgd-backtracking"),
    pytest.param(lambda m: m.chain(m.sgd(1.0), m.scale_by_zoom_linesearch(15, None, 1e-8, 1.5, 1e-3, 0.5, 1e-5, 1e-6, "one")),
                 id="sgd-zoom-positional"),
]


@pytest.mark.parametrize("make", OPTAX_LBFGS)
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_lbfgs_and_line_searches_match_optax(make, problem, request):
    loss, params = PROBLEMS[problem]
    steps = 20
    with jax.numpy_dtype_promotion("standard"):  # optax's own code relies on implicit promotion
        want, want_state = gradtx_updates(loss, params, make(optax), steps)
    got, got_state = gradtx_updates(loss, params, make(gradtx), steps)
    assert_trajectories_close(f"optax/{request.node.callspec.id}", got, want, rtol=LBFGS_RTOL)
    # The states hold the same numbers (line-search info, memory, stored gradients).
    for a, b in zip(jax.tree.leaves(got_state), jax.tree.leaves(want_state)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-12)


def test_value_and_grad_from_state_reuses_the_line_searchs_evaluation():
    with jax.enable_x64(True):
        params = {"x": jnp.asarray(STARTS["5d"])}
        results = []
        for m in (gradtx, optax):
            tx, p = m.lbfgs(), params
            state, value_and_grad = tx.init(p), m.value_and_grad_from_state(rosenbrock)

            @jax.jit
            def step(p, state, tx=tx, m=m, value_and_grad=value_and_grad):
                value, grad = value_and_grad(p, state=state)
                updates, state = tx.update(grad, state, p, value=value, grad=grad, value_fn=rosenbrock)
                return m.apply_updates(p, updates), state

            with jax.numpy_dtype_promotion("standard" if m is optax else "strict"):
                for _ in range(15):
                    p, state = step(p, state)
            results.append(np.asarray(p["x"]))
        np.testing.assert_allclose(results[0], results[1], rtol=RTOL)


def test_minimize_runs_optaxs_lbfgs_to_the_minimum():
    with jax.enable_x64(True):
        result = gradtx.minimize(rosenbrock, {"x": jnp.asarray(STARTS["far"])}, gradtx.lbfgs(), max_steps=200)
    assert bool(result.converged)
    np.testing.assert_allclose(result.params["x"], 1.0, atol=1e-5)


def test_line_searches_name_the_missing_extra_arguments():
    params = jnp.zeros(2)
    for tx, name in [(gradtx.lbfgs(), "zoom"), (gradtx.scale_by_backtracking_linesearch(5), "backtracking")]:
        with pytest.raises(ValueError, match=rf"the {name} line search needs `value`, `grad`, `value_fn`"):
            tx.update(jnp.ones(2), tx.init(params), params)


def test_line_search_passes_value_fn_its_keyword_arguments_and_ignores_others():
    f = lambda p, scale: scale * jnp.sum((p - 1.0) ** 2)
    tx, p = gradtx.scale_by_zoom_linesearch(10), jnp.zeros(2)
    value, grad = jax.value_and_grad(f)(p, 3.0)
    updates, state = tx.update(-grad, tx.init(p), p, value=value, grad=grad, value_fn=f, scale=3.0, unrelated=1)
    np.testing.assert_allclose(p + updates, jnp.ones(2), rtol=1e-6)
    assert int(state.info.num_linesearch_steps) >= 1
