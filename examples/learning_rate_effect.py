"""What the learning rate does: gradient descent on 4x^2, then an MLP on digits, with rates too small, good and too large.

    pip install -e ".[examples]" && python examples/learning_rate_effect.py [--quick] [--out lr.png]

Part 1. On f(x) = 4 x^2 the gradient is 8 x, so one step of gradient descent is

    x_{k+1} = x_k - lr * 8 x_k = (1 - 8 lr) x_k.

From x0 = 2: lr = 1 multiplies x by -7 each step and diverges (2 -> -14 -> 98 -> -686 ...);
lr = 0.2 multiplies by -0.6 and converges while jumping across the minimum; lr = 0.125 =
1/8 lands on the minimum in one step; lr = 0.01 multiplies by 0.92 and crawls. Any rate
above 2/8 = 0.25 diverges. The example runs ``gradtx.sgd`` and prints each trajectory next
to the closed form.

Part 2. Full-batch gradient descent (``gradtx.sgd``) trains a 64-32-10 MLP on
scikit-learn's digits with a rate too small, a good one and one too large. Writes one PNG
with both parts and prints the final losses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from _teaching import init_mlp, load_digits, mlp_loss, parse, parser, pyplot, save
from tqdm import tqdm

import gradtx

X0 = 2.0
RATES_1D = (1.0, 0.2, 0.125, 0.01)
STEPS_1D = 12
RATES_MLP = {"too small": 0.01, "good": 0.5, "too large": 8.0}


def f(x):
    return 4.0 * x**2


def descend(learning_rate: float, x0: float, steps: int) -> np.ndarray:
    """``steps`` steps of ``gradtx.sgd(learning_rate)`` on ``f`` from ``x0``: the iterates x0 ... x_steps."""
    tx = gradtx.sgd(learning_rate)
    x = jnp.asarray(x0)
    state = tx.init(x)
    xs = [x]
    for _ in range(steps):
        updates, state = tx.update(jax.grad(f)(x), state, x)
        x = gradtx.apply_updates(x, updates)
        xs.append(x)
    return np.asarray(jnp.stack(xs))


def closed_form(learning_rate: float, x0: float, steps: int) -> np.ndarray:
    """``x_k = (1 - 8 lr)^k x0``, in float64."""
    return x0 * (1.0 - 8.0 * learning_rate) ** np.arange(steps + 1, dtype=np.float64)


def train_mlp(learning_rate: float, steps: int, data, label: str) -> np.ndarray:
    """Full-batch gradient descent on the MLP; the training loss before each step and after the last."""
    params = init_mlp(jax.random.key(0), [64, 32, 10])
    tx = gradtx.sgd(learning_rate)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(mlp_loss)(params, data.x_train, data.y_train)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state, loss

    losses = []
    for _ in tqdm(range(steps), desc=f"MLP, lr={learning_rate:g} ({label})", leave=False):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    losses.append(float(mlp_loss(params, data.x_train, data.y_train)))
    return np.asarray(losses)


def main(argv: list[str] | None = None) -> dict:
    args = parse(
        parser(__doc__, "learning_rate_effect", steps=300, quick_steps=5, steps_help="MLP steps"), argv
    )

    print(f"gradient descent on f(x) = 4x^2 from x0 = {X0:g}: x_(k+1) = (1 - 8 lr) x_k")
    trajectories = {}
    for lr in RATES_1D:
        xs = descend(lr, X0, STEPS_1D)
        trajectories[lr] = xs
        shown = " -> ".join(f"{x:.4g}" for x in xs[:5])
        print(f"  lr={lr:<6g} factor {1 - 8 * lr:+.3g}: {shown} ... x_{STEPS_1D} = {xs[-1]:.4g}")

    data = load_digits()
    curves = {label: train_mlp(lr, args.steps, data, label) for label, lr in RATES_MLP.items()}
    print(f"MLP on digits, {args.steps} full-batch steps of gradtx.sgd:")
    for (label, lr), losses in zip(RATES_MLP.items(), curves.values()):
        print(f"  lr={lr:<5g} ({label:9s}): loss {losses[0]:.3f} -> {losses[-1]:.3f}")

    plt = pyplot()
    fig, (ax_path, ax_iter, ax_mlp) = plt.subplots(1, 3, figsize=(15, 4.2))
    grid = np.linspace(-2.6, 2.6, 200)
    ax_path.plot(grid, f(grid), color="0.6", lw=1)
    for lr, xs in trajectories.items():
        ax_path.plot(xs, f(xs), "o-", ms=4, label=f"lr={lr:g}")  # lr=1 leaves the plot: x1 = -14
    ax_path.annotate("lr=1: on to x=-14, f=784", xy=(-2.5, 25), fontsize=8)
    ax_path.set(
        xlabel="x", ylabel="f(x) = 4x²", title="iterates on the parabola", xlim=(-2.6, 2.6), ylim=(-1, 28)
    )
    ax_path.legend(fontsize=8)
    for lr, xs in trajectories.items():
        size = np.where(xs == 0, np.nan, np.abs(xs))  # lr=0.125: exactly 0 from step 1 on
        ax_iter.plot(size, "o-", ms=3, label=f"lr={lr:g}, factor {1 - 8 * lr:+g}")
    ax_iter.set(yscale="log", xlabel="step k", ylabel="|x_k|", title="|x_k| = |1 - 8 lr|^k |x0|")
    ax_iter.legend(fontsize=8)
    for (label, lr), losses in zip(RATES_MLP.items(), curves.values()):
        ax_mlp.plot(losses, label=f"lr={lr:g} ({label})")
    ax_mlp.set(yscale="log", xlabel="step", ylabel="training loss", title="MLP on digits, gradient descent")
    ax_mlp.legend(fontsize=8)
    fig.tight_layout()
    out = save(fig, args.out)
    return {
        "trajectories": trajectories,
        "closed_form": {lr: closed_form(lr, X0, STEPS_1D) for lr in RATES_1D},
        "mlp_losses": curves,
        "out": out,
    }


if __name__ == "__main__":
    main()
