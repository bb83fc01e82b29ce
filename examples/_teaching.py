"""Shared pieces of the teaching examples: the command line, the digits data, a small MLP, saving a figure.

Not an example itself; ``learning_rate_effect.py``, ``momentum.py``, ``adaptive_rates.py``,
``lr_schedules_training.py`` and ``ten_optimizers.py`` import it.
"""

from __future__ import annotations

import argparse
import itertools
import pathlib
import tempfile
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def figure_path(name: str) -> str:
    """The default place of an example's PNG: ``<temp dir>/gradtx-examples/<name>.png``."""
    return str(pathlib.Path(tempfile.gettempdir()) / "gradtx-examples" / f"{name}.png")


def parser(
    doc: str, name: str, steps: int, quick_steps: int, steps_help: str = "steps"
) -> argparse.ArgumentParser:
    """An argument parser with ``--steps``, ``--quick`` (``--steps quick_steps``, for CI) and ``--out``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help=f"{steps_help} (default {steps})")
    p.add_argument("--quick", action="store_true", help=f"a smoke run: {quick_steps} {steps_help}")
    p.add_argument("--out", default=figure_path(name), help="the PNG to write (default: %(default)s)")
    p.set_defaults(full_steps=steps, quick_steps=quick_steps)
    return p


def parse(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` and resolve ``steps`` from ``--steps`` / ``--quick``."""
    args = p.parse_args(argv)
    if args.steps is None:
        args.steps = args.quick_steps if args.quick else args.full_steps
    return args


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: str) -> str:
    """Write ``fig`` to ``out`` (creating its folder), close it, print and return the path."""
    path = pathlib.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    print(f"wrote {path}")
    return str(path)


class Digits(NamedTuple):
    x_train: np.ndarray  # float32[n, 64], pixels scaled to [0, 1]
    y_train: np.ndarray  # int32[n]
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(n_train: int = 1000, n_val: int = 400) -> Digits:
    """scikit-learn's 8x8 handwritten digits (shipped with sklearn, nothing downloaded), shuffled and split."""
    from sklearn.datasets import load_digits as sk_load_digits

    digits = sk_load_digits()
    perm = np.random.default_rng(0).permutation(len(digits.target))
    x = (digits.data[perm] / 16.0).astype(np.float32)
    y = digits.target[perm].astype(np.int32)
    a, b = n_train, n_train + n_val
    return Digits(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


def init_mlp(key: jax.Array, sizes: list[int]) -> list[dict[str, jax.Array]]:
    """He-initialised weights and zero biases for the layer sizes ``sizes``."""
    params = []
    for k, (n_in, n_out) in zip(jax.random.split(key, len(sizes) - 1), itertools.pairwise(sizes)):
        params.append(
            {"w": jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in), "b": jnp.zeros(n_out)}
        )
    return params


def mlp_logits(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def cross_entropy(logits, y):
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def mlp_loss(params, x, y):
    """The mean cross-entropy of the MLP on ``(x, y)``."""
    return cross_entropy(mlp_logits(params, x), y)


def accuracy(logits, y) -> float:
    return float(jnp.mean(jnp.argmax(logits, -1) == y))
