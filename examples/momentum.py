"""Momentum on an ill-conditioned valley: plain SGD, torch-form and EMA-form momentum, and Nesterov.

    pip install -e ".[examples]" && python examples/momentum.py [--quick] [--out momentum.png]

The valley f(x, y) = (x^2 + 100 y^2) / 2 is 100 times steeper across (y) than along (x).
A rate small enough not to diverge across the valley (lr < 2/100) makes slow progress
along it (x shrinks by 1 - lr per step); near that limit (lr = 0.019) gradient descent
zig-zags across the valley (y changes sign each step) and still crawls along it. Momentum keeps a velocity:

* torch form (``gradtx.sgd(lr, momentum=m)``, ``gradtx.torch.SGD(lr=lr, momentum=m)``):
  v_t = m v_{t-1} + g_t, step -lr v_t, so v_t = g_t + m g_{t-1} + m^2 g_{t-2} + ... is a
  sum of past gradients with weights m^k: the zig-zag components cancel, the steady ones
  add up to about 1 / (1 - m) times a gradient.
* EMA form (``chain(ema(m, debias=False), scale(-lr))``): v_t = m v_{t-1} + (1 - m) g_t =
  (1 - m) (g_t + m g_{t-1} + ...), the same direction (1 - m) times shorter: with lr / (1 - m)
  it retraces the torch form exactly; with the same lr it is ten times slower at m = 0.9.
* Nesterov (``gradtx.sgd(lr, momentum=m, nesterov=True)``) steps with g_t + m v_t, a
  look-ahead that damps the overshoot (it is stable for lr * 100 < 2 (1 + m) / (1 + 2m),
  a smaller range than the heavy ball's 2 (1 + m)).

Prints the expansion checked numerically on the recorded gradients and the steps each
method needs to get within 1e-3 of the minimum; writes the trajectories over the contours.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from _teaching import parse, parser, pyplot, save
from tqdm import tqdm

import gradtx

CURVATURE = jnp.array([1.0, 100.0])
START = (-9.0, 1.5)
LR = 0.012
LR_ZIGZAG = 0.019  # just under 2/100: the largest stable rate zig-zags across the valley
M = 0.9
TOL = 1e-3


def f(p):
    return 0.5 * jnp.sum(CURVATURE * p**2)


def methods(lr: float = LR, m: float = M) -> dict[str, gradtx.GradientTransformation]:
    return {
        f"SGD, lr={lr:g}": gradtx.sgd(lr),
        f"SGD, lr={LR_ZIGZAG:g} (zig-zags)": gradtx.sgd(LR_ZIGZAG),
        f"momentum {m:g}, torch form": gradtx.sgd(lr, momentum=m),
        f"momentum {m:g}, EMA form, same lr": gradtx.chain(gradtx.ema(m, debias=False), gradtx.scale(-lr)),
        f"Nesterov {m:g}": gradtx.sgd(lr, momentum=m, nesterov=True),
    }


def run(
    tx: gradtx.GradientTransformation, steps: int, desc: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``steps`` updates from START: the iterates p_0 ... p_steps, the gradients g_1 ... and the updates u_1 ..."""

    @jax.jit
    def step(p, state):
        g = jax.grad(f)(p)
        u, state = tx.update(g, state, p)
        return gradtx.apply_updates(p, u), state, g, u

    p = jnp.asarray(START)
    state = tx.init(p)
    ps, gs, us = [p], [], []
    for _ in tqdm(range(steps), desc=desc, leave=False):
        p, state, g, u = step(p, state)
        ps.append(p)
        gs.append(g)
        us.append(u)
    return np.asarray(jnp.stack(ps)), np.asarray(jnp.stack(gs)), np.asarray(jnp.stack(us))


def past_gradient_sum(gs: np.ndarray, m: float, weight: float = 1.0) -> np.ndarray:
    """``weight * sum_i m^(t-i) g_i`` for every t, computed directly from the gradients (no recursion)."""
    t = len(gs)
    powers = np.tril(m ** (np.arange(t)[:, None] - np.arange(t)[None, :]).clip(0))  # [t, i] = m^(t-i), i <= t
    return weight * powers @ gs


def steps_to_converge(ps: np.ndarray, tol: float = TOL) -> int | None:
    """The first k with ||p_k|| < tol (the minimum is 0), None if never."""
    inside = np.flatnonzero(np.linalg.norm(ps, axis=1) < tol)
    return int(inside[0]) if inside.size else None


def main(argv: list[str] | None = None) -> dict:
    args = parse(parser(__doc__, "momentum", steps=800, quick_steps=30), argv)
    runs = {name: run(tx, args.steps, name) for name, tx in methods().items()}
    torch_name, ema_name = f"momentum {M:g}, torch form", f"momentum {M:g}, EMA form, same lr"

    # The velocity is the update divided by -lr; compare it with the explicit sums of past gradients.
    _, gs, us = runs[torch_name]
    v_torch = -us / LR
    expansion_torch = past_gradient_sum(gs, M)
    _, gs_ema, us_ema = runs[ema_name]
    v_ema = -us_ema / LR
    expansion_ema = past_gradient_sum(gs_ema, M, weight=1 - M)
    err_torch = float(np.max(np.abs(v_torch - expansion_torch) / (1 + np.abs(expansion_torch))))
    err_ema = float(np.max(np.abs(v_ema - expansion_ema) / (1 + np.abs(expansion_ema))))
    print(f"valley f = (x^2 + 100 y^2)/2 from {START}, lr={LR:g}, momentum m={M:g}")
    print("torch form, v_t = m v_(t-1) + g_t = g_t + m g_(t-1) + m^2 g_(t-2) + ...:")
    for t in range(min(3, len(gs))):
        terms = " + ".join(
            f"{M ** (t - i):.3g}*{np.array2string(gs[i], precision=3)}" for i in range(t, -1, -1)
        )
        print(
            f"  v_{t + 1} = {terms} = {np.array2string(expansion_torch[t], precision=4)}"
            f"  (optimizer: {np.array2string(v_torch[t], precision=4)})"
        )
    print(f"  max relative difference buffer vs sum over {len(gs)} steps: {err_torch:.1e}")
    print(
        f"EMA form, v_t = m v_(t-1) + (1-m) g_t = (1-m)(g_t + m g_(t-1) + ...): max difference {err_ema:.1e}"
    )

    # The EMA form with lr / (1 - m) retraces the torch form; gradtx.torch.SGD is the torch form.
    rescaled = gradtx.chain(gradtx.ema(M, debias=False), gradtx.scale(-LR / (1 - M)))
    ps_rescaled, _, _ = run(rescaled, args.steps, "EMA form, lr/(1-m)")
    ps_torch_door, _, _ = run(gradtx.torch.SGD(lr=LR, momentum=M), args.steps, "gradtx.torch.SGD")
    ema_vs_torch = float(np.max(np.abs(ps_rescaled - runs[torch_name][0])))
    door_vs_torch = float(np.max(np.abs(ps_torch_door - runs[torch_name][0])))
    print(
        f"EMA form with lr/(1-m) = {LR / (1 - M):g} vs torch form: max difference of iterates {ema_vs_torch:.1e}"
    )
    print(
        f"gradtx.torch.SGD(lr={LR:g}, momentum={M:g}) vs gradtx.sgd({LR:g}, momentum={M:g}): {door_vs_torch:.1e}"
    )

    converged = {name: steps_to_converge(ps) for name, (ps, _, _) in runs.items()}
    print(f"steps to ||p|| < {TOL:g} (of {args.steps}):")
    for name, k in converged.items():
        print(f"  {name:34s} {k if k is not None else 'not yet'}")

    plt = pyplot()
    fig, (ax, ax_dist) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1.6, 1]})
    xs, ys = np.meshgrid(np.linspace(-10, 2, 300), np.linspace(-2.2, 2.2, 200))
    ax.contour(
        xs, ys, 0.5 * (xs**2 + 100 * ys**2), levels=np.geomspace(0.05, 250, 14), colors="0.75", linewidths=0.7
    )
    for name, (ps, _, _) in runs.items():
        k = converged[name] or len(ps) - 1
        ax.plot(ps[: k + 1, 0], ps[: k + 1, 1], ".-", ms=3, lw=0.9, label=name)
        ax_dist.plot(np.linalg.norm(ps, axis=1), label=name)
    ax.plot(0, 0, "k*", ms=10)
    ax.set(xlabel="x", ylabel="y", title=f"f = (x² + 100y²)/2, lr = {LR:g}", xlim=(-10, 2), ylim=(-2.2, 2.2))
    ax.legend(fontsize=8, loc="lower right")
    ax_dist.axhline(TOL, color="0.6", ls=":", lw=1)
    ax_dist.set(yscale="log", xlabel="step", ylabel="distance to the minimum", title="convergence")
    ax_dist.legend(fontsize=8)
    fig.tight_layout()
    out = save(fig, args.out)
    return {
        "converged": converged,
        "expansion_error": {"torch": err_torch, "ema": err_ema},
        "ema_rescaled_vs_torch": ema_vs_torch,
        "final_distance": {name: float(np.linalg.norm(ps[-1])) for name, (ps, _, _) in runs.items()},
        "torch_door_vs_sgd": door_vs_torch,
        "out": out,
    }


if __name__ == "__main__":
    main()
