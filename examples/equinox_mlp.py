"""Train an Equinox MLP on scikit-learn's digits with gradtx.

    pip install -e ".[examples]" && python examples/equinox_mlp.py

An Equinox model is a pytree that also holds non-arrays (activation functions, sizes), so the
optimizer sees only its arrays: ``eqx.filter(model, eqx.is_inexact_array)`` for ``init`` and
``update``, ``eqx.partition``/``eqx.combine`` inside the loss, ``eqx.apply_updates`` after.
The recipe: global-norm clipping, AdamW on a warmup-cosine schedule, no weight decay on the
biases (a path mask: Equinox paths read ``"layers/0/bias"``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from tqdm import tqdm

import gradtx


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def loss_fn(model: eqx.nn.MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    logits = jax.vmap(model)(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def make_optimizer(steps: int, peak_lr: float, weight_decay: float) -> gradtx.GradientTransformation:
    schedule = gradtx.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak_lr, warmup_steps=max(1, steps // 10), decay_steps=steps
    )
    no_decay_on_biases = gradtx.path_labels({r".*bias": False}, default=True)
    return gradtx.chain(
        gradtx.clip_by_global_norm(1.0),
        gradtx.adamw(schedule, weight_decay=weight_decay, mask=no_decay_on_biases),
    )


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_data()
    model = eqx.nn.MLP(64, 10, width_size=128, depth=2, key=jax.random.key(0))
    tx = make_optimizer(args.steps, args.learning_rate, args.weight_decay)
    opt_state = tx.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def train_step(model: eqx.nn.MLP, opt_state: Any, x: jax.Array, y: jax.Array):
        params, static = eqx.partition(model, eqx.is_inexact_array)

        def loss_of_params(params: eqx.nn.MLP) -> jax.Array:
            return loss_fn(eqx.combine(params, static), x, y)

        loss, grads = jax.value_and_grad(loss_of_params)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return eqx.apply_updates(model, updates), opt_state, loss

    start_loss = float(loss_fn(model, x_train, y_train))
    rng = np.random.default_rng(1)
    bar = tqdm(range(args.steps), desc="equinox", mininterval=0.5)
    for t in bar:
        idx = rng.integers(0, len(x_train), args.batch_size)
        model, opt_state, loss = train_step(model, opt_state, x_train[idx], y_train[idx])
        if t % 50 == 0 or t == args.steps - 1:
            bar.set_postfix(loss=f"{float(loss):.4f}")
    end_loss = float(loss_fn(model, x_train, y_train))

    accuracy = float(jnp.mean(jnp.argmax(jax.vmap(model)(x_test), -1) == y_test))
    result = {"start_loss": start_loss, "end_loss": end_loss, "accuracy": accuracy}
    print(f"train loss {start_loss:.4f} -> {end_loss:.4f}")
    print(f"test accuracy {accuracy:.3f}")
    return result


if __name__ == "__main__":
    main()
