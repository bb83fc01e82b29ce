"""accumulate_gradients: live parity with optax.MultiSteps and with torch's accumulation loop.

Each call sees a different micro-batch, so averaging the k gradients is really tested (on
the full batch every micro-step would have the same gradient).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from reference import assert_trajectories_close, initial_params

import gradtx

_rng = np.random.default_rng(99)
X = _rng.normal(size=(12, 3))
Y = np.tanh(_rng.normal(size=(12, 4)))


def micro_batch(call: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows micro-batch ``call % k`` of each accumulation cycle sees."""
    return X[call % k :: k], Y[call % k :: k]


def micro_loss(p, x, y, xp):
    """The reference problem's loss on some rows, for torch tensors (``xp=torch``) and jax arrays."""
    h = xp.tanh(x @ p["w"] + p["b"][None, :])
    return ((h - y) ** 2).sum() + 0.25 * (p["v"] ** 4).sum() + (p["v"][:4] * p["b"]).sum()


def torch_accumulation(make_optimizer, calls: int, k: int) -> list[dict[str, np.ndarray]]:
    """torch's loop: ``(loss / k).backward()`` on each micro-batch, ``step(); zero_grad()`` every k-th."""
    tp = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True) for name, v in sorted(initial_params().items())}
    opt = make_optimizer(list(tp.values()))
    out = []
    for t in range(calls):
        x, y = (torch.as_tensor(a) for a in micro_batch(t, k))
        (micro_loss(tp, x, y, torch) / k).backward()
        if (t + 1) % k == 0:
            opt.step()
            opt.zero_grad()
        out.append({name: v.detach().numpy().copy() for name, v in tp.items()})
    return out


def run(tx, calls: int, k: int):
    """``calls`` jitted float64 updates, call t on micro-batch t % k. Returns params and states after each."""
    with jax.enable_x64(True):
        p = {name: jnp.asarray(v, jnp.float64) for name, v in initial_params().items()}
        grad = jax.jit(jax.grad(lambda q, x, y: micro_loss(q, x, y, jnp)))
        update = jax.jit(tx.update)
        state = tx.init(p)
        params, states = [], []
        for t in range(calls):
            updates, state = update(grad(p, *micro_batch(t, k)), state, p)
            p = gradtx.apply_updates(p, updates)
            params.append({name: np.asarray(v) for name, v in p.items()})
            states.append(state)
    return params, states


TORCH_CASES = [
    pytest.param(lambda: gradtx.torch.SGD(lr=0.05, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                 4, id="sgd-momentum-k4"),
    pytest.param(lambda: gradtx.torch.Adam(lr=0.03, weight_decay=0.1),
                 lambda ps: torch.optim.Adam(ps, lr=0.03, weight_decay=0.1),
                 3, id="adam-wd-k3"),
]


@pytest.mark.parametrize(("make_inner", "make_torch", "k"), TORCH_CASES)
def test_matches_torch_accumulation_loop(make_inner, make_torch, k, request):
    calls = 8 * k
    got, states = run(gradtx.accumulate_gradients(make_inner(), k), calls, k)
    want = torch_accumulation(make_torch, calls, k)
    assert_trajectories_close(f"torch/accumulate_gradients-{request.node.callspec.id}", got, want)
    for t in range(calls):  # params move only on every k-th call; in between the updates are exactly zero
        if (t + 1) % k:
            before = got[t - 1] if t else initial_params()
            assert all(np.array_equal(got[t][name], before[name]) for name in before), t
        assert int(states[t].gradient_step) == (t + 1) // k and int(states[t].mini_step) == (t + 1) % k


@pytest.mark.parametrize("k", [2, 3])
def test_matches_optax_multisteps(k):
    calls = 10 * k
    got, states = run(gradtx.accumulate_gradients(gradtx.adam(0.02, b1=0.8), k), calls, k)
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        ref = optax.MultiSteps(optax.adam(0.02, b1=0.8), k, accumulator_dtype=jnp.float64)
        want, ref_states = run(ref.gradient_transformation(), calls, k)
    assert_trajectories_close(f"optax/accumulate_gradients-adam-k{k}", got, want)
    for s, r in zip(states, ref_states):
        assert (int(s.mini_step), int(s.gradient_step)) == (int(r.mini_step), int(r.gradient_step))


def test_inner_state_changes_only_on_every_kth_call():
    k, calls = 3, 9
    _, states = run(gradtx.accumulate_gradients(gradtx.adam(0.01), k), calls, k)
    inner = [s.inner_state for s in states]
    same = lambda a, b: jax.tree.all(jax.tree.map(lambda x, y: bool(jnp.array_equal(x, y)), a, b))
    for t in range(1, calls):
        assert same(inner[t], inner[t - 1]) == bool((t + 1) % k), t
    assert int(inner[-1][0].count) == calls // k  # chain(scale_by_adam, lr): adam ran once per cycle


def test_every_k_of_one_is_the_inner_optimizer():
    got, _ = run(gradtx.accumulate_gradients(gradtx.adam(0.05), 1), 6, 1)
    want, _ = run(gradtx.adam(0.05), 6, 1)
    for g, w in zip(got, want):
        for name in w:
            np.testing.assert_array_equal(g[name], w[name])


def test_accumulator_dtype_and_update_dtype():
    params = {"w": jnp.zeros(3, jnp.bfloat16)}
    tx = gradtx.accumulate_gradients(gradtx.sgd(1.0), 2, dtype=jnp.float32)
    state = tx.init(params)
    assert state.acc_grads["w"].dtype == jnp.float32
    grads = {"w": jnp.full(3, 1.0 / 3.0, jnp.bfloat16)}
    u, state = tx.update(grads, state, params)
    assert u["w"].dtype == jnp.bfloat16 and state.acc_grads["w"].dtype == jnp.float32
    np.testing.assert_array_equal(u["w"], 0.0)
    np.testing.assert_allclose(state.acc_grads["w"], float(grads["w"][0]) / 2, rtol=1e-7)  # kept in float32
    u, state = tx.update(grads, state, params)
    np.testing.assert_allclose(np.float32(u["w"]), -1.0 / 3.0, rtol=1e-2)
    np.testing.assert_array_equal(state.acc_grads["w"], 0.0)
