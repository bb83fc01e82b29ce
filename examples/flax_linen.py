"""Train a Flax Linen MLP on scikit-learn's digits with gradtx and Flax's ``TrainState``.

    pip install -e ".[examples]" && python examples/flax_linen.py

A gradtx transformation goes where an Optax one would: ``TrainState.create(tx=...)`` calls
``tx.init`` and ``tx.update``. The recipe: global-norm clipping, then parameter groups by
path (``partition`` + ``path_labels``): AdamW for the kernels, Adam without weight decay for
the biases, both on one warmup-cosine schedule.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state
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


class MLP(nn.Module):
    hidden: Sequence[int] = (128, 128)
    n_out: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.n_out)(x)


def make_optimizer(steps: int, peak_lr: float, weight_decay: float) -> gradtx.GradientTransformation:
    schedule = gradtx.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak_lr, warmup_steps=max(1, steps // 10), decay_steps=steps
    )
    # Linen's paths: "params/Dense_0/kernel", "params/Dense_0/bias", ...
    groups = gradtx.path_labels({r".*bias": "no_decay"}, default="decay")
    per_group = {
        "decay": gradtx.adamw(schedule, weight_decay=weight_decay),
        "no_decay": gradtx.adam(schedule),
    }
    return gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.partition(per_group, groups))


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_data()
    model = MLP()
    variables = model.init(jax.random.key(0), x_train[:1])
    state = train_state.TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        tx=make_optimizer(args.steps, args.learning_rate, args.weight_decay),
    )

    def loss_fn(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
        logits = state.apply_fn({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def train_step(
        state: train_state.TrainState, x: jax.Array, y: jax.Array
    ) -> tuple[train_state.TrainState, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(state.params, x, y)
        return state.apply_gradients(grads=grads), loss

    start_loss = float(loss_fn(state.params, x_train, y_train))
    rng = np.random.default_rng(1)
    bar = tqdm(range(args.steps), desc="flax linen", mininterval=0.5)
    for t in bar:
        idx = rng.integers(0, len(x_train), args.batch_size)
        state, loss = train_step(state, x_train[idx], y_train[idx])
        if t % 50 == 0 or t == args.steps - 1:
            bar.set_postfix(loss=f"{float(loss):.4f}")
    end_loss = float(loss_fn(state.params, x_train, y_train))

    logits = state.apply_fn({"params": state.params}, x_test)
    result = {
        "start_loss": start_loss,
        "end_loss": end_loss,
        "accuracy": float(jnp.mean(jnp.argmax(logits, -1) == y_test)),
    }
    print(f"train loss {start_loss:.4f} -> {end_loss:.4f}")
    print(f"test accuracy {result['accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main()
