"""A typed user script: what a user of gradtx writes, checked by ``mypy --strict`` and ``pyright``.

Both checkers must accept every line (``tests/typing/test_typing.py`` runs them; issue 11). The
names come from the public namespaces only, annotated as a careful user would. Importing this
module builds the optimizers but trains nothing; ``main()`` runs a few jitted steps of each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import gradtx
from gradtx import GradientTransformation, Params, Schedule, Updates

Batch = tuple[jax.Array, jax.Array]
Step = Callable[[Params, Any, Batch], tuple[Params, Any, jax.Array]]

# --- Optax's dialect: schedules, optimizers, combinators
warmup: Schedule = gradtx.warmup_cosine_decay_schedule(
    init_value=0.0, peak_value=1e-2, warmup_steps=5, decay_steps=50, end_value=1e-4
)
steps: Schedule = gradtx.piecewise_constant_schedule(1e-2, {20: 0.5, 40: 0.5})
adam: GradientTransformation = gradtx.adam(warmup, b1=0.9, b2=0.99, nesterov=True)
adamw: GradientTransformation = gradtx.adamw(
    1e-3, weight_decay=1e-2, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p)
)
clipped: GradientTransformation = gradtx.chain(
    gradtx.clip_by_global_norm(1.0),
    gradtx.clip(10.0),
    gradtx.sgd(steps, momentum=0.9, nesterov=True),
)
injected: GradientTransformation = gradtx.inject_hyperparams(gradtx.adam)(learning_rate=1e-3, b1=0.9)
masked: GradientTransformation = gradtx.masked(gradtx.add_decayed_weights(1e-4), {"w": True, "b": False})
ema: GradientTransformation = gradtx.ema(0.99, debias=True)
state_type: type[gradtx.ClipState] = gradtx.ClipState  # an Optax alias, exported through __all__

# --- torch.optim's dialect: an optimizer, then a scheduler wrapping it
torch_adamw: GradientTransformation = gradtx.torch.AdamW(lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
torch_sgd: GradientTransformation = gradtx.torch.SGD(lr=0.1, momentum=0.9, nesterov=True)
scheduled: GradientTransformation = gradtx.torch.lr_scheduler.StepLR(torch_sgd, step_size=10, gamma=0.5)
onecycle: GradientTransformation = gradtx.torch.lr_scheduler.OneCycleLR(torch_adamw, max_lr=1e-2, total_steps=100)

OPTIMIZERS: dict[str, GradientTransformation] = {
    "adam": adam,
    "adamw": adamw,
    "clipped": clipped,
    "injected": injected,
    "masked_ema": gradtx.chain(masked, ema, gradtx.scale(-1e-2)),
    "torch_adamw": torch_adamw,
    "step_lr": scheduled,
    "onecycle": onecycle,
}


def loss_fn(params: Params, batch: Batch) -> jax.Array:
    x, y = batch
    prediction = x @ params["w"] + params["b"]
    return jnp.mean(jnp.square(prediction - y))


def make_step(tx: GradientTransformation) -> Step:
    """One jitted training step: gradients, ``tx.update``, ``apply_updates``."""

    @jax.jit
    def step(params: Params, state: Any, batch: Batch) -> tuple[Params, Any, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates: Updates
        updates, state = tx.update(grads, state, params)
        params = gradtx.apply_updates(params, updates)
        return params, state, loss

    return step


def train(tx: GradientTransformation, num_steps: int = 3) -> float:
    key_x, key_w = jax.random.split(jax.random.key(0))
    x = jax.random.normal(key_x, (16, 4))
    y = x @ jax.random.normal(key_w, (4,))
    params: Params = {"w": jnp.zeros(4), "b": jnp.zeros(())}
    state = tx.init(params)
    step = make_step(tx)
    loss = jnp.zeros(())
    for _ in range(num_steps):
        params, state, loss = step(params, state, (x, y))
    return float(loss)


def main() -> dict[str, float]:
    return {name: train(tx) for name, tx in OPTIMIZERS.items()}


if __name__ == "__main__":
    for name, loss in main().items():
        print(f"{name}: {loss:.4f}")
