"""A torch training loop (optimizer, scheduler, param groups) and its gradtx twin, run side by side.

    pip install -e ".[test]" && python examples/from_pytorch.py

Both loops train the same small network from the same initial weights on the same batches,
in float64: AdamW with two parameter groups (no weight decay on biases and the LayerNorm,
and a larger learning rate for them) and a per-step CosineAnnealingLR. The gradtx side
copies torch's lines into ``gradtx.torch`` (``gradtx.torch.AdamW``,
``gradtx.torch.lr_scheduler.CosineAnnealingLR``) and builds the groups with
``gradtx.partition`` and ``gradtx.path_labels``. They print their
losses as they go, and the script ends with the largest relative difference between the two
sets of parameters. See docs/from_pytorch.md.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import torch

import gradtx

jax.config.update("jax_enable_x64", True)
torch.set_default_dtype(torch.float64)


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    y = np.sin(x @ rng.normal(size=(8, 1))) + 0.1 * rng.normal(size=(n, 1))
    return x, y


# ------------------------------------------------------------------------------ torch


def torch_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 32), torch.nn.LayerNorm(32), torch.nn.Tanh(), torch.nn.Linear(32, 1)
    )


def torch_loop(args, batches) -> dict[str, np.ndarray]:
    model = torch_model()
    no_decay = [p for name, p in model.named_parameters() if name.endswith("bias") or name.startswith("1.")]
    decay = [
        p for name, p in model.named_parameters() if not (name.endswith("bias") or name.startswith("1."))
    ]
    optimizer = torch.optim.AdamW(
        [{"params": decay}, {"params": no_decay, "lr": 2 * args.lr, "weight_decay": 0.0}],
        lr=args.lr,
        weight_decay=0.05,
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps, eta_min=args.lr / 100)
    mse = torch.nn.MSELoss()
    for step, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        loss = mse(model(torch.as_tensor(x)), torch.as_tensor(y))
        loss.backward()
        optimizer.step()
        scheduler.step()
        if (step + 1) % args.print_every == 0:
            print(
                f"torch   step {step + 1:4d}  loss {loss.item():.6f}  lr {optimizer.param_groups[0]['lr']:.3e}"
            )
    return {name: p.detach().numpy() for name, p in model.named_parameters()}


# ------------------------------------------------------------------------------ gradtx


def forward(params, x):
    """The torch model's forward pass; params are keyed like ``model.named_parameters()``."""
    h = x @ params["0"]["weight"].T + params["0"]["bias"]
    mean, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    h = (h - mean) / jnp.sqrt(var + 1e-5) * params["1"]["weight"] + params["1"]["bias"]
    return jnp.tanh(h) @ params["3"]["weight"].T + params["3"]["bias"]


def mse(params, x, y):
    return jnp.mean((forward(params, x) - y) ** 2)


def gradtx_loop(args, batches) -> dict[str, np.ndarray]:
    params = {}  # the same initial weights, as a pytree {"0": {"weight": ..., "bias": ...}, ...}
    for name, p in torch_model().named_parameters():
        layer, leaf = name.split(".")
        params.setdefault(layer, {})[leaf] = jnp.asarray(p.detach().numpy())

    # torch.optim.AdamW(groups, lr=lr, weight_decay=0.05) with one gradtx.torch.AdamW per group
    # (the group's own options copied, params dropped), each under the scheduler's line with
    # the optimizer argument replaced: torch's scheduler acts on every group's lr.
    def scheduled(optimizer):
        return gradtx.torch.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps, eta_min=args.lr / 100)

    labels = gradtx.path_labels({r".*/bias|1/.*": "no_decay"}, default="decay")
    tx = gradtx.partition(
        {
            "decay": scheduled(gradtx.torch.AdamW(lr=args.lr, weight_decay=0.05)),
            "no_decay": scheduled(gradtx.torch.AdamW(lr=2 * args.lr, weight_decay=0.0)),
        },
        labels,
    )
    # the rate of the first group after k updates: the pure schedule CosineAnnealingLR is built on
    lr_after = gradtx.cosine_annealing_schedule(args.lr, t_max=args.steps, eta_min=args.lr / 100)
    state = tx.init(params)

    @jax.jit
    def train_step(params, state, x, y):
        loss, grads = jax.value_and_grad(mse)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state, loss

    for step, (x, y) in enumerate(batches):
        params, state, loss = train_step(params, state, x, y)
        if (step + 1) % args.print_every == 0:
            print(f"gradtx  step {step + 1:4d}  loss {float(loss):.6f}  lr {float(lr_after(step + 1)):.3e}")
    return {
        f"{layer}.{leaf}": np.asarray(v) for layer, leaves in params.items() for leaf, v in leaves.items()
    }


def main() -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-2)
    parser.add_argument("--print-every", type=int, default=25)
    args = parser.parse_args()

    x, y = make_data(args.steps * args.batch_size)
    batches = [
        (x[i : i + args.batch_size], y[i : i + args.batch_size]) for i in range(0, len(x), args.batch_size)
    ]
    want = torch_loop(args, batches)
    got = gradtx_loop(args, batches)
    worst = max(float(np.max(np.abs(got[k] - want[k]) / np.maximum(np.abs(want[k]), 1e-6))) for k in want)
    print(f"largest relative difference between the torch and gradtx parameters: {worst:.2e}")
    return worst


if __name__ == "__main__":
    main()
