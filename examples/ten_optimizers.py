"""The ten classic torch.optim optimizers, ported with gradtx.torch, on one task: an embedding model of the digits.

    pip install -e ".[examples]" && python examples/ten_optimizers.py [--quick] [--out ten.png]

The task lets every optimizer take part, SparseAdam included: each 8x8 digit is a bag of
64 tokens, token = (pixel position, grey level 0..16), and the model sums one learned
10-vector per token (an embedding table of 64 * 17 rows) plus a bias into the logits; the
loss is the cross-entropy plus 1e-3/2 times the squared norm of the table. A batch's
gradient touches only the rows of the tokens it contains, which is what
``torch.optim.SparseAdam`` (``torch.nn.Embedding(sparse=True)``) is for. The loss is
strictly convex, so L-BFGS gets to show what a quasi-Newton method does on a smooth problem.

All ten train from the same initial table with full-batch gradients for ``--steps``
updates: SGD (momentum 0.9), Adagrad, RMSprop, Adadelta, Adam, Adamax, SparseAdam, ASGD,
Rprop and LBFGS (strong-Wolfe line search; one update is one L-BFGS iteration, which may
evaluate the loss several times). Each is written as the torch line minus ``params``.
Prints a table of final training losses (and their distance to the minimum, found by
running L-BFGS to convergence with ``gradtx.minimize``) and test accuracies; writes the
loss curves and the final losses in one figure.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from _teaching import accuracy, cross_entropy, load_digits, parse, parser, pyplot, save
from tqdm import tqdm

import gradtx

LEVELS = 17  # grey levels 0..16 of sklearn's digits
L2 = 1e-3


def optimizers() -> dict[str, gradtx.GradientTransformation]:
    t = gradtx.torch
    return {
        "SGD": t.SGD(lr=0.5, momentum=0.9),
        "Adagrad": t.Adagrad(lr=0.5),
        "RMSprop": t.RMSprop(lr=0.01),
        "Adadelta": t.Adadelta(lr=1.0),
        "Adam": t.Adam(lr=0.05),
        "Adamax": t.Adamax(lr=0.1),
        "SparseAdam": t.SparseAdam(lr=0.05),
        "ASGD": t.ASGD(lr=2.0),
        "Rprop": t.Rprop(lr=0.01),
        "LBFGS": t.LBFGS(lr=1, line_search_fn="strong_wolfe"),
    }


def tokens(x: np.ndarray) -> np.ndarray:
    """The token ids of digits ``x`` (pixels scaled to [0, 1]): position * 17 + grey level, int32[n, 64]."""
    levels = np.rint(x * 16).astype(np.int32)
    return np.arange(64, dtype=np.int32) * LEVELS + levels


def logits_fn(params, ids):
    return params["embedding"][ids].sum(axis=1) + params["bias"]  # an EmbeddingBag(mode="sum")


def main(argv: list[str] | None = None) -> dict:
    args = parse(parser(__doc__, "ten_optimizers", steps=100, quick_steps=4), argv)
    data = load_digits()
    ids_train, ids_test = tokens(data.x_train), tokens(data.x_test)
    y_train = data.y_train
    init = {
        "embedding": jnp.zeros((64 * LEVELS, 10)),  # the loss is convex: zeros are a fine start
        "bias": jnp.zeros(10),
    }

    def objective(params):  # cross-entropy + L2 on the table: a strictly convex loss with one minimum
        return cross_entropy(logits_fn(params, ids_train), y_train) + 0.5 * L2 * jnp.sum(
            params["embedding"] ** 2
        )

    results = {}
    for name, tx in optimizers().items():

        @jax.jit
        def step(params, state, tx=tx):
            value, grad = jax.value_and_grad(objective)(params)
            updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=objective)
            return gradtx.apply_updates(params, updates), state, value

        params, state = init, tx.init(init)
        losses = []
        start = time.perf_counter()
        for _ in tqdm(range(args.steps), desc=name, leave=False):
            params, state, value = step(params, state)
            losses.append(float(value))
        losses.append(float(objective(params)))
        touched = int(jnp.sum(jnp.any(params["embedding"] != init["embedding"], axis=1)))
        results[name] = {
            "tx": repr(tx),
            "losses": np.asarray(losses),
            "test_accuracy": accuracy(logits_fn(params, ids_test), data.y_test),
            "rows_updated": touched,
            "seconds": time.perf_counter() - start,
        }

    # The minimum, for the plot of f - f*: L-BFGS run to convergence (gradtx.minimize is torch's step(closure)).
    best = gradtx.minimize(
        objective, init, gradtx.torch.LBFGS(lr=1, line_search_fn="strong_wolfe"), max_steps=500
    )
    f_star = min(float(best.value), *(r["losses"].min() for r in results.values()))
    used = int(np.unique(ids_train).size)
    print(
        f"embedding-bag model on digits ({64 * LEVELS} rows, {used} used by the training set), "
        f"{args.steps} full-batch updates, initial loss {results['SGD']['losses'][0]:.4f}, "
        f"minimum f* = {f_star:.6f} ({int(best.num_steps)} L-BFGS iterations)"
    )
    print(f"{'optimizer':11s} {'final loss':>10s} {'f - f*':>8s} {'test acc':>8s}  gradtx.torch call")
    for name, r in sorted(results.items(), key=lambda item: item[1]["losses"][-1]):
        print(
            f"{name:11s} {r['losses'][-1]:10.4f} {r['losses'][-1] - f_star:8.1e} {r['test_accuracy']:8.3f}  {r['tx']}"
        )
    print(
        f"SparseAdam updated {results['SparseAdam']['rows_updated']} rows, the ones the data looks up "
        f"(Adam: {results['Adam']['rows_updated']})"
    )

    plt = pyplot()
    fig, (ax, ax_bar) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1.5, 1]})
    order = sorted(results, key=lambda n: results[n]["losses"][-1])
    for k, name in enumerate(results):
        ax.plot(np.maximum(results[name]["losses"] - f_star, 1e-9), color=f"C{k}", label=name)
    ax.set(
        yscale="log",
        xlabel="update",
        ylabel="training loss - minimum",
        title="ten torch.optim optimizers via gradtx.torch, full batch",
    )
    ax.legend(fontsize=8, ncol=2)
    colors = {name: f"C{k}" for k, name in enumerate(results)}
    gaps = [max(results[n]["losses"][-1] - f_star, 1e-9) for n in order[::-1]]
    ax_bar.barh(order[::-1], gaps, color=[colors[n] for n in order[::-1]])
    ax_bar.set(xscale="log", xlabel=f"training loss - minimum after {args.steps} updates", title="final loss")
    fig.tight_layout()
    out = save(fig, args.out)
    return {"results": results, "f_star": f_star, "rows_used": used, "out": out}


if __name__ == "__main__":
    main()
