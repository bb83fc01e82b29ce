"""A whole training step (forward, backward, clip+adamw, apply) on a deep MLP of many small
layers, per-leaf vs gradtx.flatten_params, against Optax.

``python -m benchmarks.run`` times the optimizer step alone. With ``flatten_params`` the model
reads its weights through ``FlatParams.unflatten`` (slices of a bucket) and its gradient comes
back concatenated, so part of the cost moves into the model's forward and backward. This
script measures that whole step, so the flat layout is judged on what a user runs::

    python -m benchmarks.train_step                    # 50 and 500 layers (100 and 1000 leaves)
    python -m benchmarks.train_step --layers 50,500,1500

Reported per model: compile (trace + lower + compile) and the median [min–max] step time over
interleaved repetitions, params and optimizer state donated.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gradtx
from benchmarks import device

WIDTH = 16
BATCH = 64


def make_model(layers: int) -> tuple[Any, Callable[[Any, Any], jax.Array], Any]:
    rng = np.random.default_rng(0)
    params = {
        f"layer{i:04d}": {
            "w": jnp.asarray(rng.normal(size=(WIDTH, WIDTH)) / np.sqrt(WIDTH * layers), jnp.float32),
            "b": jnp.zeros(WIDTH, jnp.float32),
        }
        for i in range(layers)
    }
    batch = (
        jnp.asarray(rng.normal(size=(BATCH, WIDTH)), jnp.float32),
        jnp.asarray(rng.normal(size=(BATCH, WIDTH)), jnp.float32),
    )

    def loss(p: Any, batch: Any) -> jax.Array:
        x, y = batch
        for i in range(layers):
            layer = p[f"layer{i:04d}"]
            x = x + jnp.tanh(x @ layer["w"] + layer["b"])  # residual and small weights: a deep stack stays tame
        return jnp.mean((x - y) ** 2)

    return params, loss, batch


def contenders(loss: Callable[[Any, Any], jax.Array]) -> dict[str, tuple[Any, Callable[..., Any], Callable[[Any], Any]]]:
    """name -> (transformation, apply_updates, how to lay out the params)."""

    def clip_adamw_gradtx() -> Any:
        return gradtx.chain(gradtx.clip_by_global_norm(1.0), gradtx.adamw(1e-3, weight_decay=1e-2))

    optax_tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3, weight_decay=1e-2))
    return {
        "optax": (optax_tx, optax.apply_updates, lambda p: p),
        "gradtx": (clip_adamw_gradtx(), gradtx.apply_updates, lambda p: p),
        "gradtx-flat": (clip_adamw_gradtx(), gradtx.apply_updates, gradtx.flatten_params),
    }


def make_step(tx: Any, apply_updates: Callable[..., Any], loss: Callable[..., Any], flat: bool) -> Callable[..., Any]:
    def objective(p: Any, batch: Any) -> jax.Array:
        return loss(p.unflatten() if flat else p, batch)

    def step(params: Any, state: Any, batch: Any) -> tuple[Any, Any, jax.Array]:
        value, grads = jax.value_and_grad(objective)(params, batch)
        updates, state = tx.update(grads, state, params)
        return apply_updates(params, updates), state, value

    return step


def measure(layers: int, reps: int) -> dict[str, dict[str, Any]]:
    params, loss, batch = make_model(layers)
    runs: dict[str, Any] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, (tx, apply_updates, layout) in contenders(loss).items():
        p = jax.tree.map(jnp.copy, layout(params))
        state = tx.init(p)
        t0 = time.perf_counter()
        compiled = (
            jax.jit(make_step(tx, apply_updates, loss, name.endswith("flat")), donate_argnums=(0, 1))
            .lower(p, state, batch)
            .compile()
        )
        out[name] = {"compile_s": time.perf_counter() - t0, "step_s": []}
        for _ in range(2):
            p, state, value = compiled(p, state, batch)
        runs[name] = [compiled, p, state, float(value)]
    losses = {name: r[3] for name, r in runs.items()}  # after one update: the same algorithm
    assert np.allclose(list(losses.values()), losses["optax"], rtol=1e-4), losses
    gc.disable()
    try:
        for rep in range(reps):
            names = list(runs)
            names = names[rep % len(names) :] + names[: rep % len(names)]  # rotate who goes first
            for name in names:
                compiled, p, state, _ = runs[name]
                inner = 5
                t0 = time.perf_counter()
                for _ in range(inner):
                    p, state, value = compiled(p, state, batch)
                device.sync((p, state))
                out[name]["step_s"].append((time.perf_counter() - t0) / inner)
                runs[name][1:3] = [p, state]
    finally:
        gc.enable()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_step", description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="50,500", help="comma-separated layer counts (2 leaves each)")
    parser.add_argument("--reps", type=int, default=7)
    device.add_argument(parser)
    args = parser.parse_args(argv)
    device.select(args.device)  # the default device: every array below is made there
    print(f"Whole training step, deep residual MLP of width {WIDTH}, batch {BATCH}, clip_by_global_norm(1) + adamw,")
    print(f"jax {jax.__version__}, optax {optax.__version__}; times: median [min–max] over {args.reps} interleaved reps.\n")
    print("| layers | leaves | contender | compile (s) | step (ms) | step / optax | compile / optax |")
    print("| --: | --: | --- | --: | --: | --: | --: |")
    for layers in (int(n) for n in args.layers.split(",")):
        result = measure(layers, args.reps)
        base = result["optax"]
        for name, r in result.items():
            med = statistics.median(r["step_s"])
            ratio = med / statistics.median(base["step_s"])
            print(
                f"| {layers} | {2 * layers} | {name} | {r['compile_s']:.2f} | {med * 1e3:.3g} "
                f"[{min(r['step_s']) * 1e3:.3g}–{max(r['step_s']) * 1e3:.3g}] | {ratio:.2f} | "
                f"{r['compile_s'] / base['compile_s']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
