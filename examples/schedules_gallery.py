"""Plot every gradtx schedule: the gallery of docs/schedules.md.

    pip install -e ".[examples]" && python examples/schedules_gallery.py

Writes one PNG per schedule (``<name>.png``) to ``docs/img/schedules/`` or to ``--out-dir``.
Each plot shows ``schedule(k)`` for the first updates ``k = 0, 1, ...``; the one-cycle and
cyclic plots also show the momentum schedule that goes with them.
"""

from __future__ import annotations

import argparse
import pathlib

import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import gradtx

WCD = dict(init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=60, end_value=0.05)

# name -> (steps plotted, schedule or {label: schedule}, momentum schedule or None)
GALLERY = {
    "constant_schedule": (100, gradtx.constant_schedule(1.0), None),
    "step_schedule": (100, gradtx.step_schedule(1.0, step_size=30, gamma=0.5), None),
    "multistep_schedule": (100, gradtx.multistep_schedule(1.0, [30, 60, 80], gamma=0.3), None),
    "piecewise_constant_schedule": (100, gradtx.piecewise_constant_schedule(1.0, {40: 0.5, 70: 0.2}), None),
    "exponential_schedule": (100, gradtx.exponential_schedule(1.0, gamma=0.97), None),
    "exponential_decay": (
        100,
        gradtx.exponential_decay(1.0, 15, 0.5, transition_begin=10, staircase=True, end_value=0.1),
        None,
    ),
    "constant_factor_schedule": (40, gradtx.constant_factor_schedule(1.0, factor=0.25, total_iters=10), None),
    "linear_factor_schedule": (
        40,
        gradtx.linear_factor_schedule(1.0, start_factor=0.1, total_iters=20),
        None,
    ),
    "polynomial_schedule": (
        100,
        gradtx.polynomial_schedule(1.0, 0.1, power=2.0, transition_steps=70, transition_begin=10),
        None,
    ),
    "linear_schedule": (
        100,
        gradtx.linear_schedule(1.0, 0.1, transition_steps=60, transition_begin=20),
        None,
    ),
    "cosine_annealing_schedule": (100, gradtx.cosine_annealing_schedule(1.0, t_max=30, eta_min=0.1), None),
    "cosine_warm_restarts_schedule": (
        100,
        gradtx.cosine_warm_restarts_schedule(1.0, t_0=10, t_mult=2, eta_min=0.05),
        None,
    ),
    "cosine_decay_schedule": (100, gradtx.cosine_decay_schedule(1.0, decay_steps=80, alpha=0.1), None),
    "cyclic_schedule": (
        100,
        gradtx.cyclic_schedule(0.1, 1.0, step_size_up=10, step_size_down=15, mode="triangular2"),
        gradtx.cyclic_schedule(0.95, 0.85, step_size_up=10, step_size_down=15, mode="triangular2"),
    ),
    "onecycle_schedule": (
        100,
        gradtx.onecycle_schedule(1.0, total_steps=100),
        gradtx.onecycle_momentum_schedule(100),
    ),
    "onecycle_schedule_three_phase": (
        100,
        gradtx.onecycle_schedule(1.0, total_steps=100, anneal_strategy="linear", three_phase=True),
        gradtx.onecycle_momentum_schedule(100, anneal_strategy="linear", three_phase=True),
    ),
    "join_schedules": (
        100,
        gradtx.join_schedules(
            [gradtx.linear_schedule(0.0, 1.0, 10), gradtx.exponential_schedule(1.0, 0.95)], boundaries=[10]
        ),
        None,
    ),
    "warmup_constant_schedule": (60, gradtx.warmup_constant_schedule(0.0, 1.0, warmup_steps=20), None),
    "warmup_cosine_decay_schedule": (80, gradtx.warmup_cosine_decay_schedule(**WCD), None),
    "warmup_exponential_decay_schedule": (
        100,
        gradtx.warmup_exponential_decay_schedule(
            0.0, 1.0, warmup_steps=10, transition_steps=10, decay_rate=0.5
        ),
        None,
    ),
    "sgdr_schedule": (
        150,
        gradtx.sgdr_schedule(
            [WCD, dict(WCD, peak_value=0.7, decay_steps=40), dict(WCD, peak_value=0.5, warmup_steps=0)]
        ),
        None,
    ),
    "warmup_stable_decay_schedule": (
        100,
        {
            f"decay_shape={shape!r}": gradtx.warmup_stable_decay_schedule(
                1.0, 10, 60, 25, end_value=0.05, decay_shape=shape
            )
            for shape in ("linear", "cosine", "1-sqrt")
        },
        None,
    ),
    "inverse_sqrt_schedule": (200, gradtx.inverse_sqrt_schedule(1.0, warmup_steps=20), None),
    "lambda_factor_schedule": (
        60, gradtx.lambda_factor_schedule(1.0, lambda epoch: 1.0 / (1.0 + 0.1 * epoch.astype(float))), None
    ),
    "multiplicative_factor_schedule": (60, gradtx.multiplicative_factor_schedule(1.0, lambda epoch: 0.95), None),
    "piecewise_interpolate_schedule": (
        100, gradtx.piecewise_interpolate_schedule("cosine", 1.0, {20: 0.5, 60: 0.1, 80: 2.0}), None
    ),
    "linear_onecycle_schedule": (100, gradtx.linear_onecycle_schedule(100, 1.0), None),
    "cosine_onecycle_schedule": (100, gradtx.cosine_onecycle_schedule(100, 1.0), None),
}


def plot(name: str, steps: int, schedules, momentum, out_dir: pathlib.Path) -> pathlib.Path:
    """One PNG: a schedule (or a dict label -> schedule), and a momentum schedule on a second axis."""
    counts = jnp.arange(steps + 1)
    fig, ax = plt.subplots(figsize=(6.0, 2.8), dpi=90)
    if isinstance(schedules, dict):
        for label, s in schedules.items():
            ax.plot(counts, s(counts), drawstyle="steps-post", label=label)
        ax.legend(fontsize=7, loc="lower left")
        title = name
    else:
        ax.plot(counts, schedules(counts), drawstyle="steps-post")
        title = repr(schedules) if len(repr(schedules)) <= 100 else name
    ax.set_title(title, fontsize=7)
    ax.set_xlabel("count k (updates applied)")
    ax.set_ylabel("schedule(k)")
    ax.grid(alpha=0.3)
    if momentum is not None:
        twin = ax.twinx()
        twin.plot(counts, momentum(counts), color="tab:orange", linestyle="--", drawstyle="steps-post")
        twin.set_ylabel("momentum (dashed)", color="tab:orange")
    fig.tight_layout()
    path = out_dir / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = pathlib.Path(__file__).resolve().parents[1] / "docs" / "img" / "schedules"
    parser.add_argument("--out-dir", type=pathlib.Path, default=default)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, (steps, schedules, momentum) in GALLERY.items():
        print(plot(name, steps, schedules, momentum, args.out_dir))


if __name__ == "__main__":
    main()
