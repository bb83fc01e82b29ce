"""Find a learning rate for a small MLP on scikit-learn's digits with the range test, then train with it.

    pip install -e ".[examples]" && python examples/lr_finder.py [--out lr_finder.png]

``gradtx.lr_finder`` trains from the initial params while the learning rate grows from
``--min-lr`` to ``--max-lr`` over ``--steps`` steps (one compiled ``lax.scan``), and suggests
the rate where the smoothed loss falls fastest. The example then trains AdamW with that
rate and prints the test accuracy. It saves the curve (with matplotlib) to ``--out``, by
default ``<temp dir>/gradtx-examples/lr_finder.png``, and prints where.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits

import gradtx


def init_mlp(key, sizes):
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), itertools.pairwise(sizes)):
        params.append(
            {"w": jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in), "b": jnp.zeros(n_out)}
        )
    return params


def logits_fn(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, batch):
    x, y = batch
    logp = jax.nn.log_softmax(logits_fn(params, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="steps of the range test")
    parser.add_argument("--min-lr", type=float, default=1e-5)
    parser.add_argument("--max-lr", type=float, default=10.0)
    parser.add_argument(
        "--train-steps", type=int, default=300, help="steps of training with the suggested rate"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--out",
        default=str(pathlib.Path(tempfile.gettempdir()) / "gradtx-examples" / "lr_finder.png"),
        help="write the curve to this PNG (needs matplotlib; default: %(default)s)",
    )
    args = parser.parse_args(argv)

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    params = init_mlp(jax.random.key(0), [64, 128, 10])
    make_tx = lambda learning_rate: gradtx.adamw(learning_rate, weight_decay=1e-4)

    # One batch per step of the sweep, stacked on a leading axis.
    idx = np.random.default_rng(1).integers(0, n_train, (args.steps, args.batch_size))
    result = gradtx.lr_finder(
        loss_fn,
        params,
        make_tx,
        (x_train[idx], y_train[idx]),
        min_lr=args.min_lr,
        max_lr=args.max_lr,
        num_steps=args.steps,
    )
    lr = float(result.suggested_lr)
    diverged = int(result.diverged_at)
    print(f"range test: {args.steps} steps from {args.min_lr:g} to {args.max_lr:g}")
    if diverged >= 0:
        print(f"diverged at step {diverged} (learning rate {float(result.learning_rates[diverged]):.3g})")
    print(f"suggested learning rate {lr:.3g}")

    if args.out:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot written")
        else:
            fig, ax = plt.subplots(figsize=(6, 4))
            gradtx.plot_lr_finder(result, ax)
            ax.set_title("learning-rate range test: MLP on digits, AdamW")
            fig.tight_layout()
            pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(args.out, dpi=100)
            plt.close(fig)
            print(f"wrote {args.out}")

    tx = make_tx(lr)
    state = tx.init(params)

    @jax.jit
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state, loss

    rng = np.random.default_rng(2)
    for t in range(args.train_steps):
        i = rng.integers(0, n_train, args.batch_size)
        params, state, loss = step(params, state, (x_train[i], y_train[i]))
    accuracy = float(jnp.mean(jnp.argmax(logits_fn(params, x_test), -1) == y_test))
    print(f"trained {args.train_steps} steps at the suggested rate, last batch loss {float(loss):.4f}")
    print(f"test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
