"""Train a small MLP on scikit-learn's handwritten digits with gradtx.

    pip install -e ".[examples]" && python examples/quickstart.py

The optimizer is AdamW, the same numbers as ``torch.optim.AdamW``. Prints the loss as it
trains and ends with the test loss and accuracy.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.datasets import load_digits

import gradtx


def init_mlp(key, sizes):
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append({"w": jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in), "b": jnp.zeros(n_out)})
    return params


def logits_fn(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x, y):
    logp = jax.nn.log_softmax(logits_fn(params, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def main() -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    args = parser.parse_args()

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    params = init_mlp(jax.random.key(0), [64, 128, 10])
    tx = gradtx.adamw(args.learning_rate, weight_decay=1e-4)
    print(f"optimizer: {tx!r}")
    state = tx.init(params)

    @jax.jit
    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state, loss

    rng = np.random.default_rng(1)
    for t in range(args.steps):
        idx = rng.integers(0, n_train, args.batch_size)
        params, state, loss = step(params, state, x_train[idx], y_train[idx])
        if t % max(1, args.steps // 10) == 0 or t == args.steps - 1:
            print(f"step {t:4d}  loss {float(loss):.4f}")

    accuracy = float(jnp.mean(jnp.argmax(logits_fn(params, x_test), -1) == y_test))
    print(f"final test loss {float(loss_fn(params, x_test, y_test)):.4f}  test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
