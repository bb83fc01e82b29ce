"""Per-coordinate learning rates: SGD, Adagrad, RMSprop, Adadelta, Adam and Adamax on badly scaled coordinates.

    pip install -e ".[examples]" && python examples/adaptive_rates.py [--quick] [--out adaptive.png]

f(x, y) = (100 x^2 + 0.1 y^2) / 2 has curvatures 1000 times apart, as when one input
feature is in the hundreds and another in the tenths. One global rate cannot suit both: SGD
must keep lr < 2/100 for x, and then y shrinks by only 1 - 0.1 lr per step.

The adaptive optimizers divide each coordinate's gradient by a running size of its own
gradients, so each coordinate gets its own effective step size, |update| / |gradient|:

* Adagrad: lr / (sigma_t + eps), sigma_t = sqrt(g_1^2 + ... + g_t^2), the root of the sum of
  squared gradients (it only grows, so the steps only shrink);
* RMSprop: lr / (sqrt(E[g^2]) + eps), an exponential average instead of the sum;
* Adadelta: sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps), no rate at all (lr = 1 is a multiplier):
  it starts from sqrt(eps) and is slow to wake up;
* Adam: lr m_hat / (sqrt(v_hat) + eps), RMSprop with momentum and bias correction;
* Adamax: lr m_hat / max|g|, Adam with the infinity norm.

For Adam and Adamax the effective step size is |update| / |m_hat|, the size of the step
per unit of the averaged gradient they step along (m_hat is computed here from the
recorded gradients), so that it shows the adaptive rate lr / (sqrt(v_hat) + eps) rather
than the momentum.

The optimizers are ``gradtx.torch``'s (torch.optim's parameter names and numbers). Prints
the final losses and effective step sizes and checks Adagrad's against the formula above,
computed from the recorded gradients; writes the losses, the paths and the effective step
sizes of each coordinate over time.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from _teaching import parse, parser, pyplot, save
from tqdm import tqdm

import gradtx

CURVATURE = np.array([100.0, 0.1])  # float64, cast to the params dtype in f
START = (1.0, 3.0)
ADAGRAD_LR = 0.5


def f(p):
    return 0.5 * jnp.sum(jnp.asarray(CURVATURE, p.dtype) * p**2)


def optimizers() -> dict[str, tuple[gradtx.GradientTransformation, float]]:
    """name: (optimizer, b1), where b1 > 0 means it steps along the debiased average of the gradients."""
    return {
        "SGD lr=0.019": (gradtx.torch.SGD(lr=0.019), 0.0),
        f"Adagrad lr={ADAGRAD_LR:g}": (gradtx.torch.Adagrad(lr=ADAGRAD_LR), 0.0),
        "RMSprop lr=0.05": (gradtx.torch.RMSprop(lr=0.05), 0.0),
        "Adadelta lr=1": (gradtx.torch.Adadelta(lr=1.0), 0.0),
        "Adam lr=0.1": (gradtx.torch.Adam(lr=0.1, betas=(0.9, 0.999)), 0.9),
        "Adamax lr=0.1": (gradtx.torch.Adamax(lr=0.1, betas=(0.9, 0.999)), 0.9),
    }


def debiased_average(gs: np.ndarray, b1: float) -> np.ndarray:
    """m_t / (1 - b1^t), m_t = b1 m_(t-1) + (1 - b1) g_t: the direction Adam and Adamax step along."""
    m, out = np.zeros_like(gs[0]), []
    for t, g in enumerate(gs, 1):
        m = b1 * m + (1 - b1) * g
        out.append(m / (1 - b1**t))
    return np.stack(out)


def run(tx: gradtx.GradientTransformation, b1: float, steps: int, desc: str) -> dict[str, np.ndarray]:
    """``steps`` updates from START: iterates p_0 ..., losses f(p_0) ..., gradients g_1 ..., and the
    effective step sizes |u_t| / |g_t| (|u_t| / |m_hat_t| if ``b1``)."""

    @jax.jit
    def step(p, state):
        g = jax.grad(f)(p)
        u, state = tx.update(g, state, p)
        return gradtx.apply_updates(p, u), state, g, u

    p = jnp.asarray(START, jnp.float64)
    state = tx.init(p)
    ps, gs, us = [p], [], []
    for _ in tqdm(range(steps), desc=desc, leave=False):
        p, state, g, u = step(p, state)
        ps.append(p)
        gs.append(g)
        us.append(u)
    ps, gs, us = (np.asarray(jnp.stack(a), np.float64) for a in (ps, gs, us))
    direction = debiased_average(gs, b1) if b1 else gs
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = np.where(
            np.abs(direction) > 1e-300, np.abs(us) / np.abs(direction), np.nan
        )  # NaN where 0
    return {
        "params": ps,
        "loss": 0.5 * np.sum(np.asarray(CURVATURE) * ps**2, axis=1),
        "grads": gs,
        "effective": effective,
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse(parser(__doc__, "adaptive_rates", steps=300, quick_steps=10), argv)
    with jax.enable_x64(True):  # float64: the step sizes are read off tiny updates
        runs = {name: run(tx, b1, args.steps, name) for name, (tx, b1) in optimizers().items()}

    adagrad = runs[f"Adagrad lr={ADAGRAD_LR:g}"]
    sigma = np.sqrt(np.cumsum(adagrad["grads"] ** 2, axis=0))  # torch: initial_accumulator_value=0, eps=1e-10
    formula = ADAGRAD_LR / (sigma + 1e-10)
    seen = np.isfinite(adagrad["effective"])
    adagrad_error = float(np.max(np.abs(adagrad["effective"][seen] - formula[seen]) / formula[seen]))

    print(f"f = (100 x^2 + 0.1 y^2)/2 from {START}, {args.steps} steps")
    print(f"{'optimizer':16s} {'final loss':>11s} {'step size x':>12s} {'step size y':>12s}")
    for name, r in runs.items():
        last = [r["effective"][np.isfinite(r["effective"][:, i]), i] for i in range(2)]
        sx, sy = (f"{v[-1]:12.3g}" if v.size else f"{'-':>12s}" for v in last)
        print(f"{name:16s} {r['loss'][-1]:11.3g} {sx} {sy}")
    print(
        f"Adagrad's step size = lr / sqrt(sum of squared gradients), from the recorded gradients:"
        f" max relative difference {adagrad_error:.1e}"
    )
    t = min(3, args.steps)
    print(
        f"  after {t} steps: sigma = {np.array2string(sigma[t - 1], precision=4)},"
        f" lr/sigma = {np.array2string(formula[t - 1], precision=4)}"
    )

    plt = pyplot()
    fig = plt.figure(figsize=(16, 6.5))
    grid = fig.add_gridspec(2, 4, width_ratios=[1.3, 1, 1, 1])
    ax_loss, ax_path = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0])
    first = None
    xs, ys = np.meshgrid(np.linspace(-1.3, 1.3, 200), np.linspace(-0.6, 3.4, 200))
    ax_path.contour(
        xs,
        ys,
        0.5 * (100 * xs**2 + 0.1 * ys**2),
        levels=np.geomspace(0.01, 80, 12),
        colors="0.75",
        linewidths=0.7,
    )
    for k, (name, r) in enumerate(runs.items()):
        color = f"C{k}"
        ax_loss.plot(r["loss"], color=color, label=name)
        ax_path.plot(r["params"][:, 0], r["params"][:, 1], ".-", color=color, ms=2, lw=0.7)
        ax = fig.add_subplot(grid[k // 3, 1 + k % 3], sharey=first)
        first = first or ax
        ax.plot(r["effective"][:, 0], color=color, label="x (curvature 100)")
        ax.plot(r["effective"][:, 1], color=color, ls="--", label="y (curvature 0.1)")
        ax.set(
            yscale="log",
            title=name,
            xlabel="step" if k >= 3 else None,
            ylim=(1e-5, 20),
            ylabel=("|update| / |gradient|" if k < 4 else "|update| / |m_hat|") if k % 3 == 0 else None,
        )
        ax.legend(fontsize=7)
    ax_loss.set(yscale="log", xlabel="step", ylabel="f", title="loss", ylim=(1e-16, 1e3))
    ax_loss.legend(fontsize=7)
    ax_path.set(xlabel="x", ylabel="y", title="paths from (1, 3)")
    fig.tight_layout()
    out = save(fig, args.out)
    return {
        "losses": {name: r["loss"] for name, r in runs.items()},
        "effective": {name: r["effective"] for name, r in runs.items()},
        "adagrad_formula_error": adagrad_error,
        "out": out,
    }


if __name__ == "__main__":
    main()
