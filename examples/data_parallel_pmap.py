"""Data-parallel training with ``jax.pmap``: every device holds the params and the optimizer state.

    pip install -e ".[examples]" && python examples/data_parallel_pmap.py

Each device takes a slice of the batch and computes its gradients; ``lax.pmean`` averages
them, and every device applies the same gradtx update, so the replicas stay identical and
the step equals one step on the whole batch (checked below). On a machine without a GPU
or TPU the script asks XLA for 8 CPU devices; on an accelerator it uses the ones present.
"""

from __future__ import annotations

import _devices  # noqa: F401  (before jax: 8 CPU devices when there is no accelerator)

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from sklearn.datasets import load_digits

import gradtx

AXIS = "batch"


def init_mlp(key, sizes):
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w = jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in)
        params.append({"w": w, "b": jnp.zeros(n_out)})
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
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=256, help="global batch, split over the devices")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    args = parser.parse_args()

    n = jax.local_device_count()
    if args.batch_size % n:
        parser.error(f"--batch-size must be a multiple of the {n} devices")
    print(f"{n} devices: {jax.local_devices()[0].platform}")

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]

    # The gradients are averaged before the optimizer sees them, so each device holds whole
    # leaves and clip_by_global_norm needs no axis_name.
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(args.learning_rate, weight_decay=1e-4))
    params = init_mlp(jax.random.key(0), [64, 128, 10])

    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)
        loss, grads = lax.pmean((loss, grads), AXIS)  # the mean over the devices' slices
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state, loss

    p_step = jax.pmap(step, axis_name=AXIS)
    replicas = jax.tree.map(lambda a: jnp.broadcast_to(a, (n, *a.shape)), params)  # one copy per device
    state = jax.pmap(tx.init)(replicas)

    # One pmap step equals one single-device step on the whole batch.
    single = jax.jit(lambda p, s, xb, yb: tx.update(jax.grad(loss_fn)(p, xb, yb), s, p))
    xb, yb = x_train[: args.batch_size], y_train[: args.batch_size]
    updates, _ = single(params, tx.init(params), xb, yb)
    want = gradtx.apply_updates(params, updates)
    got, _, _ = p_step(replicas, state, xb.reshape(n, -1, 64), yb.reshape(n, -1))
    pairs = zip(jax.tree.leaves(got), jax.tree.leaves(want))
    gap = max(float(jnp.max(jnp.abs(g - w[None]))) for g, w in pairs)  # g: one copy per device
    print(f"one pmap step vs one step on the whole batch: max |difference| {gap:.1e}")

    rng = np.random.default_rng(1)
    for t in range(args.steps):
        idx = rng.integers(0, n_train, args.batch_size)
        xb, yb = x_train[idx].reshape(n, -1, 64), y_train[idx].reshape(n, -1)  # one slice per device
        replicas, state, loss = p_step(replicas, state, xb, yb)
        if t % max(1, args.steps // 8) == 0 or t == args.steps - 1:
            print(f"step {t:4d}  loss {float(loss[0]):.4f}")

    spread = max(float(jnp.max(jnp.abs(a - a[0]))) for a in jax.tree.leaves(replicas))
    print(f"replicas differ by at most {spread:.1e}")
    params = jax.tree.map(lambda a: a[0], replicas)
    accuracy = float(jnp.mean(jnp.argmax(logits_fn(params, x_test), -1) == y_test))
    print(f"final test loss {float(loss_fn(params, x_test, y_test)):.4f}  test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
