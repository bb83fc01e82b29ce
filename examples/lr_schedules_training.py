"""One MLP on digits trained five ways: a constant rate, StepLR, ReduceLROnPlateau, cosine annealing and one-cycle.

    pip install -e ".[examples]" && python examples/lr_schedules_training.py [--quick] [--out schedules.png]

Every run is SGD with momentum 0.9 from the same initial params, on the same minibatches,
for the same number of epochs; only the learning rate over time differs:

* constant: ``gradtx.torch.SGD(lr=0.3, momentum=0.9)``;
* StepLR: the ImageNet recipe "divide by 10 at epochs 30, 60 and 90 of 100" scaled to
  ``--steps`` epochs, ``gradtx.torch.lr_scheduler.StepLR(sgd, step_size=0.3 * epochs,
  steps_per_epoch=...)``;
* ReduceLROnPlateau: divide by 10 when the validation loss has not improved for 3 epochs,
  ``gradtx.torch.lr_scheduler.ReduceLROnPlateau(sgd, mode="min", factor=0.1, patience=3)``,
  in a loop written like PyTorch's (``scheduler.step(val_loss)`` after each epoch);
* cosine: ``gradtx.torch.SGD(lr=gradtx.cosine_annealing_schedule(0.3, t_max=total_steps), ...)``;
* one-cycle: ``gradtx.torch.SGD(lr=gradtx.onecycle_schedule(0.3, total_steps), ...)``, a
  warm-up from 0.3/25 = 0.012 to 0.3 over 30% of the steps, then a cosine down to 1.2e-6.

Prints each run's final validation loss and test accuracy; writes the training loss, the
validation loss and the learning rate side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np
from _teaching import accuracy, init_mlp, load_digits, mlp_logits, mlp_loss, parse, parser, pyplot, save
from tqdm import tqdm

import gradtx
from gradtx.torch.lr_scheduler import ReduceLROnPlateau, StepLR

LR = 0.3
BATCH = 50


class History(NamedTuple):
    train_loss: list[float]  # per epoch: the mean loss of its minibatches
    val_loss: list[float]  # per epoch, after it
    lrs: list[float]  # per update: the rate it used
    test_accuracy: float


def batches_of(epoch: int, n: int) -> np.ndarray:
    """The minibatch indices of an epoch: a permutation of the training set seeded by the epoch, [steps, BATCH]."""
    perm = np.random.default_rng(epoch).permutation(n)
    return perm[: n // BATCH * BATCH].reshape(-1, BATCH)


def train(
    name: str, tx: gradtx.GradientTransformation, lr_at: Callable[[int], float], epochs: int, data
) -> History:
    """Train the MLP with ``tx``; ``lr_at(t)`` is the rate of update ``t`` (for the plot)."""
    params = init_mlp(jax.random.key(0), [64, 64, 10])
    state = tx.init(params)

    @jax.jit
    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(mlp_loss)(params, xb, yb)
        updates, state = tx.update(grads, state, params)
        return gradtx.apply_updates(params, updates), state, loss

    history = History([], [], [], 0.0)
    t = 0
    for epoch in tqdm(range(epochs), desc=name, leave=False):
        losses = []
        for idx in batches_of(epoch, len(data.y_train)):
            params, state, loss = step(params, state, data.x_train[idx], data.y_train[idx])
            losses.append(float(loss))
            history.lrs.append(lr_at(t))
            t += 1
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(float(mlp_loss(params, data.x_val, data.y_val)))
    return history._replace(test_accuracy=accuracy(mlp_logits(params, data.x_test), data.y_test))


def train_with_plateau(epochs: int, data) -> History:
    """ReduceLROnPlateau, in a loop shaped like PyTorch's (the torch lines are in the comments).

    In PyTorch, ``scheduler.step(val_loss)`` comes after the epoch's last ``optimizer.step()``
    and its ``val_loss`` is measured after that step. ``tx.update(..., value=val_loss)`` is
    ``optimizer.step(); scheduler.step(val_loss)`` in one call, and its update does not
    depend on ``value``; so the epoch's last step computes the update, measures the
    validation loss after it, and then makes the call with ``value=val_loss``, whose
    update is the same and whose state has taken in the metric.
    """
    # optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    # scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=3)
    tx = ReduceLROnPlateau(gradtx.torch.SGD(lr=LR, momentum=0.9), mode="min", factor=0.1, patience=3)
    params = init_mlp(jax.random.key(0), [64, 64, 10])
    state = tx.init(params)

    @jax.jit
    def step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(mlp_loss)(params, xb, yb)  # loss_fn(model(x), y).backward()
        updates, state = tx.update(grads, state, params)  # optimizer.step()
        return gradtx.apply_updates(params, updates), state, loss

    @jax.jit
    def last_step(params, state, xb, yb):
        loss, grads = jax.value_and_grad(mlp_loss)(params, xb, yb)
        updates, _ = tx.update(grads, state, params)  # optimizer.step()
        params_after = gradtx.apply_updates(params, updates)
        val_loss = mlp_loss(params_after, data.x_val, data.y_val)  # val_loss = evaluate(model)
        _, state = tx.update(grads, state, params, value=val_loss)  # scheduler.step(val_loss)
        return params_after, state, loss, val_loss

    history = History([], [], [], 0.0)
    for epoch in tqdm(range(epochs), desc="ReduceLROnPlateau", leave=False):  # for epoch in range(epochs):
        losses = []
        batches = batches_of(epoch, len(data.y_train))
        for i, idx in enumerate(batches):  # for x, y in loader:
            history.lrs.append(LR * float(state[1].scale))  # optimizer.param_groups[0]["lr"]
            if i < len(batches) - 1:
                params, state, loss = step(params, state, data.x_train[idx], data.y_train[idx])
            else:
                params, state, loss, val_loss = last_step(params, state, data.x_train[idx], data.y_train[idx])
            losses.append(float(loss))
        history.train_loss.append(float(np.mean(losses)))
        history.val_loss.append(float(val_loss))
    return history._replace(test_accuracy=accuracy(mlp_logits(params, data.x_test), data.y_test))


def main(argv: list[str] | None = None) -> dict:
    args = parse(parser(__doc__, "lr_schedules_training", steps=40, quick_steps=3, steps_help="epochs"), argv)
    epochs = args.steps
    data = load_digits()
    steps_per_epoch = len(batches_of(0, len(data.y_train)))
    total = epochs * steps_per_epoch
    step_size = max(1, round(0.3 * epochs))  # 30 of 100 epochs
    sgd = gradtx.torch.SGD(lr=LR, momentum=0.9)
    cosine = gradtx.cosine_annealing_schedule(LR, t_max=total)
    onecycle = gradtx.onecycle_schedule(LR, total)
    step_lr = gradtx.step_schedule(LR, step_size, 0.1)

    runs = {
        "constant": train("constant", sgd, lambda t: LR, epochs, data),
        f"StepLR (step_size={step_size})": train(
            "StepLR",
            StepLR(sgd, step_size=step_size, gamma=0.1, steps_per_epoch=steps_per_epoch),
            lambda t: float(step_lr(t // steps_per_epoch)),
            epochs,
            data,
        ),
        "ReduceLROnPlateau (patience=3)": train_with_plateau(epochs, data),
        "cosine": train(
            "cosine", gradtx.torch.SGD(lr=cosine, momentum=0.9), lambda t: float(cosine(t)), epochs, data
        ),
        "one-cycle": train(
            "one-cycle",
            gradtx.torch.SGD(lr=onecycle, momentum=0.9),
            lambda t: float(onecycle(t)),
            epochs,
            data,
        ),
    }

    print(f"MLP 64-64-10 on digits, SGD momentum 0.9, lr {LR:g}, {epochs} epochs of {steps_per_epoch} steps")
    print(
        f"{'schedule':32s} {'train loss':>10s} {'val loss':>9s} {'best val':>9s} {'final lr':>9s} {'test acc':>9s}"
    )
    for name, h in runs.items():
        print(
            f"{name:32s} {h.train_loss[-1]:10.4f} {h.val_loss[-1]:9.4f} {min(h.val_loss):9.4f} "
            f"{h.lrs[-1]:9.2g} {h.test_accuracy:9.3f}"
        )

    plt = pyplot()
    fig, (ax_train, ax_val, ax_lr) = plt.subplots(1, 3, figsize=(16, 4.5))
    epoch_axis = np.arange(1, epochs + 1)
    for name, h in runs.items():
        ax_train.plot(epoch_axis, h.train_loss, label=name)
        ax_val.plot(epoch_axis, h.val_loss, label=name)
        ax_lr.plot(np.arange(len(h.lrs)) / steps_per_epoch, h.lrs, label=name)
    ax_train.set(yscale="log", xlabel="epoch", ylabel="mean minibatch loss", title="training loss")
    ax_val.set(yscale="log", xlabel="epoch", ylabel="cross-entropy", title="validation loss")
    ax_lr.set(yscale="log", xlabel="epoch", ylabel="learning rate", title="learning rate", ylim=(1e-6, 1.0))
    for ax in (ax_train, ax_val, ax_lr):
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = save(fig, args.out)
    return {"runs": runs, "steps_per_epoch": steps_per_epoch, "step_size": step_size, "out": out}


if __name__ == "__main__":
    main()
