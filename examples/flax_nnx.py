"""Train a Flax NNX MLP on scikit-learn's digits with gradtx and ``nnx.Optimizer``.

    pip install -e ".[examples]" && python examples/flax_nnx.py

The recipe: global-norm clipping, then AdamW on a warmup-cosine schedule with no weight decay
on the biases (a path mask), a first layer kept frozen (a fixed random-feature layer, as a
pretrained backbone would be), and an exponential moving average of the parameters for
evaluation. gradtx reads through NNX's ``Variable``s: the masks see paths such as
``"hidden/bias"``, and ``eval_params``/``get_hyperparams`` take ``optimizer.opt_state`` as is.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
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


class MLP(nnx.Module):
    def __init__(self, sizes: Sequence[int], *, rngs: nnx.Rngs) -> None:
        n_in, n_features, n_hidden, n_out = sizes
        self.features = nnx.Linear(n_in, n_features, rngs=rngs)  # frozen below
        self.hidden = nnx.Linear(n_features, n_hidden, rngs=rngs)
        self.head = nnx.Linear(n_hidden, n_out, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = jax.nn.relu(self.features(x))
        x = jax.nn.relu(self.hidden(x))
        return self.head(x)


def loss_fn(model: MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()


def accuracy(model: MLP, x: jax.Array, y: jax.Array) -> float:
    return float(jnp.mean(jnp.argmax(model(x), -1) == y))


def make_optimizer(
    steps: int, peak_lr: float, weight_decay: float, ema_decay: float
) -> gradtx.GradientTransformation:
    schedule = gradtx.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak_lr, warmup_steps=max(1, steps // 10), decay_steps=steps
    )
    no_decay_on_biases = gradtx.path_labels({r".*bias": False}, default=True)
    # inject_hyperparams keeps the (scheduled) learning rate in the state, to read it back.
    adamw = gradtx.inject_hyperparams(gradtx.adamw)(
        schedule, weight_decay=weight_decay, mask=no_decay_on_biases
    )
    trainable = gradtx.chain(gradtx.clip_by_global_norm(1.0), adamw)
    # The frozen layer gets zero updates and no Adam moments.
    return gradtx.with_param_ema(gradtx.freeze(r"features/.*", inner=trainable), decay=ema_decay)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--ema-decay", type=float, default=0.98)
    args = parser.parse_args(argv)

    x_train, y_train, x_test, y_test = load_data()
    model = MLP([64, 256, 128, 10], rngs=nnx.Rngs(0))
    tx = make_optimizer(args.steps, args.learning_rate, args.weight_decay, args.ema_decay)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    frozen_before = [np.array(a) for a in jax.tree.leaves(nnx.state(model.features, nnx.Param))]

    @nnx.jit
    def train_step(model: MLP, optimizer: nnx.Optimizer, x: jax.Array, y: jax.Array) -> jax.Array:
        loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return loss

    start_loss = float(loss_fn(model, x_train, y_train))
    rng = np.random.default_rng(1)
    bar = tqdm(range(args.steps), desc="flax nnx", mininterval=0.5)
    for t in bar:
        idx = rng.integers(0, len(x_train), args.batch_size)
        loss = train_step(model, optimizer, x_train[idx], y_train[idx])
        if t % 50 == 0 or t == args.steps - 1:
            lr = gradtx.get_hyperparams(optimizer.opt_state)["learning_rate"]
            bar.set_postfix(loss=f"{float(loss):.4f}", lr=f"{float(lr):.2e}")
    end_loss = float(loss_fn(model, x_train, y_train))

    # The average the optimizer keeps, written into a copy of the model.
    ema_model = nnx.clone(model)
    nnx.update(ema_model, gradtx.eval_params(optimizer.opt_state, nnx.state(model, nnx.Param)))

    frozen_after = jax.tree.leaves(nnx.state(model.features, nnx.Param))
    assert all(np.array_equal(a, b) for a, b in zip(frozen_before, frozen_after)), "the frozen layer moved"
    result = {
        "start_loss": start_loss,
        "end_loss": end_loss,
        "accuracy": accuracy(model, x_test, y_test),
        "ema_accuracy": accuracy(ema_model, x_test, y_test),
    }
    print(f"train loss {start_loss:.4f} -> {end_loss:.4f}")
    print(f"test accuracy {result['accuracy']:.3f}  with the parameter EMA {result['ema_accuracy']:.3f}")
    return result


if __name__ == "__main__":
    main()
