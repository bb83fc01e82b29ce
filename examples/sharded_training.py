"""FSDP-style training under ``jax.jit``: params and optimizer state sharded over all devices.

    pip install -e ".[examples]" && python examples/sharded_training.py

Every large leaf is split along one axis over a mesh axis ``"fsdp"``, and each device
keeps only its part of the params and of AdamW's moments: gradtx's ``init`` returns state
sharded like the params, and the jitted step keeps it so. The forward pass gathers a
layer's weights just before using them; the gradients come back split like the params.
The batch is split over the same axis (data parallelism). Before anything is allocated,
``gradtx.state_shardings`` plans the state's shardings and memory from ``ShapeDtypeStruct``s.
On a machine without a GPU or TPU the script asks XLA for 8 CPU devices.
"""

from __future__ import annotations

import _devices  # noqa: F401  (before jax: 8 CPU devices when there is no accelerator)

import argparse
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding, reshard
from jax.sharding import PartitionSpec as P
from sklearn.datasets import load_digits

import gradtx


def init_mlp(key, sizes):
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w = jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in)
        params.append({"w": w, "b": jnp.zeros(n_out)})
    return params


def gathered(a):
    """A whole copy of a split leaf on every device: FSDP gathers each weight just before use."""
    return reshard(a, P())


def logits_fn(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ gathered(layer["w"]) + gathered(layer["b"]))
    return x @ gathered(params[-1]["w"]) + gathered(params[-1]["b"])


def loss_fn(params, x, y):
    logp = jax.nn.log_softmax(logits_fn(params, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def fsdp_spec(shape: tuple[int, ...], n: int) -> P:
    """Split the largest axis that ``n`` divides; replicate leaves that have none."""
    axes = [i for i in np.argsort(shape)[::-1] if shape[i] % n == 0]
    if not axes:
        return P()
    return P(*("fsdp" if i == axes[0] else None for i in range(len(shape))))


def nbytes(shape, dtype) -> int:
    return math.prod(shape) * jnp.dtype(dtype).itemsize


def main() -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=256, help="global batch, split over the devices")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args()

    n = jax.device_count()
    mesh = jax.make_mesh((n,), ("fsdp",), axis_types=(AxisType.Explicit,))
    print(f"mesh: {n} {jax.devices()[0].platform} devices on axis 'fsdp'")
    if args.batch_size % n:
        parser.error(f"--batch-size must be a multiple of the {n} devices")

    sizes = [64, args.hidden, args.hidden, 10]
    tx = gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(args.learning_rate, weight_decay=1e-4))

    # Plan first: shapes, shardings and bytes, with nothing allocated.
    shapes = jax.eval_shape(functools.partial(init_mlp, sizes=sizes), jax.random.key(0))
    param_shardings = jax.tree.map(lambda a: NamedSharding(mesh, fsdp_spec(a.shape, n)), shapes)
    planned = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), shapes, param_shardings
    )
    state_shardings = gradtx.state_shardings(tx, planned)
    state_shapes = jax.eval_shape(tx.init, planned)
    total = sum(nbytes(a.shape, a.dtype) for a in jax.tree.leaves(state_shapes))
    pairs = list(zip(jax.tree.leaves(state_shapes), jax.tree.leaves(state_shardings)))
    mine = sum(nbytes(s.shard_shape(a.shape), a.dtype) for a, s in pairs)
    print(f"planned optimizer state: {total:,} bytes in all, {mine:,} bytes per device")
    for path, a in jax.tree_util.tree_leaves_with_path(state_shapes[1][0].mu):
        spec = a.sharding.spec
        where, per_device = jax.tree_util.keystr(path), a.sharding.shard_shape(a.shape)
        print(f"  mu{where:10s} {a.shape!s:11s} {spec!s:18s} per device {per_device}")

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    n_train = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    batch_sharding = NamedSharding(mesh, P("fsdp"))

    with jax.set_mesh(mesh):
        make_params = jax.jit(functools.partial(init_mlp, sizes=sizes), out_shardings=param_shardings)
        params = make_params(jax.random.key(0))
        state = jax.jit(tx.init)(params)  # sharded like the params: no device holds a whole moment
        per_device = sum(a.addressable_shards[0].data.nbytes for a in jax.tree.leaves(state))
        replicated = sum(a.nbytes for a in jax.tree.leaves(state))
        print(f"optimizer state per device: {per_device:,} bytes; replicated: {replicated:,} bytes "
              f"(ratio {per_device / replicated:.4f}, 1/{n} = {1 / n:.4f})")

        def train_step(params, state, xb, yb):
            loss, grads = jax.value_and_grad(loss_fn)(params, xb, yb)  # grads are split like the params
            updates, state = tx.update(grads, state, params)
            return gradtx.apply_updates(params, updates), state, loss

        out_shardings = (param_shardings, state_shardings, None)  # nothing can drift
        step = jax.jit(train_step, donate_argnums=(0, 1), out_shardings=out_shardings)
        rng = np.random.default_rng(1)
        for t in range(args.steps):
            idx = rng.integers(0, n_train, args.batch_size)
            xb, yb = jax.device_put((x_train[idx], y_train[idx]), batch_sharding)
            params, state, loss = step(params, state, xb, yb)
            if t % max(1, args.steps // 8) == 0 or t == args.steps - 1:
                print(f"step {t:4d}  loss {float(loss):.4f}")

        pairs = zip(jax.tree.leaves(state), jax.tree.leaves(state_shardings))
        kept = all(a.sharding.is_equivalent_to(s, a.ndim) for a, s in pairs)
        print(f"state still sharded as planned after training: {kept}")
        logits = jax.jit(logits_fn)(params, x_test)
        accuracy = float(jnp.mean(jnp.argmax(logits, -1) == y_test))
        test_loss = float(jax.jit(loss_fn)(params, x_test, y_test))
        print(f"final test loss {test_loss:.4f}  test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
