"""Adam on one big leaf: how close each storage layout of params and moments gets to one pass.

XLA:CPU fuses elementwise work into loops that write one array each, so where Adam keeps
``p``, ``m`` and ``v`` in separate arrays (Optax's state, gradtx's per-leaf and flat
layouts alike) a step is three loops: ``m`` (read ``g, m``, write ``m``), ``v`` (likewise)
and ``p`` (read ``p, m, v``, write ``p``), 10N floats moved where one pass needs 7N. This
benchmark times, on the same ``N`` floats, the layouts a state could take:

* ``separate``: ``gradtx.adam`` on the leaf, as shipped (3 loops, 10N);
* ``moments-together``: ``m`` and ``v`` in one ``(blocks, 2, BLOCK)`` array, so one loop writes
  both, then ``p`` (2 loops: read ``g, m, v`` write ``m, v``; read ``p, m, v`` write ``p``; 9N);
* ``one-pass``: ``p``, ``m`` and ``v`` in one ``(blocks, 3, BLOCK)`` array, one loop (7N), what
  a layout storing the params inside the optimizer state would write; XLA cannot update it
  in place (see :class:`OnePass`);
* ``bandwidth``: the same 7N floats in one in-place loop that does not mix rows (the ``limit``
  of ``benchmarks.run``): the memory system's speed for a one-pass step, not an algorithm;
* ``torch-fused``: ``torch.optim.Adam(fused=True)`` on a tensor of ``N`` floats (one C++ loop).

Every Adam step is the same arithmetic (bias corrections included) under
``jax.jit(donate_argnums=...)``. The table gives the loops XLA compiled over the leaf (read off
the compiled HLO), the median step, the bytes moved per second, and the fraction of the
``bandwidth`` time each reaches.

    python -m benchmarks.big_leaf_layouts                  # 2^24 floats, ~1 min
    python -m benchmarks.big_leaf_layouts --size 4194304 --device gpu
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

import gradtx
from benchmarks import device

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8
BLOCK = 1024


def _gradient(size: int, shape: tuple[int, ...] | None = None) -> jax.Array:
    """The gradient every layout steps with: ``size`` random floats (zero-padded to ``shape``)."""
    g = np.random.default_rng(0).normal(scale=1e-2, size=size).astype(np.float32)
    if shape is not None:
        g = np.pad(g, (0, math.prod(shape) - size)).reshape(shape)
    return device.put(jnp.asarray(g))


def _new_moments(g: jax.Array, m: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
    return B1 * m + (1 - B1) * g, B2 * v + (1 - B2) * g * g


def _new_params(p: jax.Array, m: jax.Array, v: jax.Array, count: jax.Array) -> jax.Array:
    t = (count + 1).astype(jnp.float32)
    return p - LR * (m / (1 - B1**t)) / (jnp.sqrt(v / (1 - B2**t)) + EPS)


class Separate:
    """``gradtx.adam`` as shipped: params one array, ``mu`` and ``nu`` two more."""

    floats_moved = 10

    def __init__(self, size: int):
        self.tx = gradtx.adam(LR, b1=B1, b2=B2, eps=EPS)
        self.carry = device.put((jnp.zeros(size), self.tx.init(jnp.zeros(size))))
        self.grads = _gradient(size)

    def step_fn(self) -> Callable[..., Any]:
        tx = self.tx

        def step(carry: Any, g: jax.Array) -> Any:
            p, state = carry
            updates, state = tx.update(g, state, p)
            return gradtx.apply_updates(p, updates), state

        return step

    def params(self, carry: Any) -> np.ndarray:
        return np.asarray(carry[0])


class MomentsTogether:
    """``m`` and ``v`` interleaved in one ``(blocks, 2, BLOCK)`` array: one loop writes both.

    Written as one elementwise expression over the moments array (a ``where`` on the row), so
    each output element reads only the same element of the input and XLA updates it in place.
    """

    floats_moved = 9

    def __init__(self, size: int):
        blocks = -(-size // BLOCK)
        self.size = size
        self.carry = device.put((jnp.zeros((blocks, 1, BLOCK)), jnp.zeros((blocks, 2, BLOCK)), jnp.zeros((), jnp.int32)))
        self.grads = _gradient(size, (blocks, 1, BLOCK))

    def params(self, carry: Any) -> np.ndarray:
        return np.asarray(carry[0]).ravel()[: self.size]

    def step_fn(self) -> Callable[..., Any]:
        def step(carry: Any, g: jax.Array) -> Any:
            p, mv, count = carry
            first = jax.lax.broadcasted_iota(jnp.int32, mv.shape, 1) == 0
            mv = jnp.where(first, *_new_moments(g, mv, mv))  # row 0 takes m's rule, row 1 v's
            return _new_params(p, mv[:, :1], mv[:, 1:], count), mv, count + 1

        return step


class OnePass:
    """``p``, ``m`` and ``v`` interleaved in one ``(blocks, 3, BLOCK)`` array: one loop, 7N floats.

    The new ``p`` needs the new ``m`` and ``v``, stored in other rows of the same array: a loop
    writing the array in place would read rows it has already overwritten, so XLA writes a
    fresh array each step (and the allocator returns its pages to the system each time).
    """

    floats_moved = 7

    def __init__(self, size: int):
        blocks = -(-size // BLOCK)
        self.size = size
        self.carry = device.put((jnp.zeros((blocks, 3, BLOCK)), jnp.zeros((), jnp.int32)))
        self.grads = _gradient(size, (blocks, 1, BLOCK))

    def params(self, carry: Any) -> np.ndarray:
        return np.asarray(carry[0][:, 0]).ravel()[: self.size]

    def step_fn(self) -> Callable[..., Any]:
        def step(carry: Any, g: jax.Array) -> Any:
            pmv, count = carry
            m, v = _new_moments(g, pmv[:, 1:2], pmv[:, 2:3])
            return jnp.concatenate([_new_params(pmv[:, 0:1], m, v, count), m, v], axis=1), count + 1

        return step


class Bandwidth(OnePass):
    """The bytes of ``one-pass`` in one in-place loop that does not mix rows (``benchmarks.run``'s
    ``limit``): the memory system's speed for this traffic, not an algorithm."""

    def step_fn(self) -> Callable[..., Any]:
        def step(carry: Any, g: jax.Array) -> Any:
            pmv, count = carry
            return pmv * jnp.float32(B2) + g * jnp.float32(LR), count + 1

        return step

    def params(self, carry: Any) -> None:
        return None  # not Adam


JAX_LAYOUTS: dict[str, Any] = {
    "separate": Separate,
    "moments-together": MomentsTogether,
    "one-pass": OnePass,
    "bandwidth": Bandwidth,
}


class JaxContender:
    def __init__(self, layout: Any, size: int):
        self.impl = layout(size)
        self.floats_moved = layout.floats_moved
        self.step = jax.jit(self.impl.step_fn(), donate_argnums=(0,)).lower(self.impl.carry, self.impl.grads).compile()
        hlo = self.step.as_text()
        entry = hlo[hlo.index("ENTRY") :]
        # The loops XLA makes over the leaf: the entry computation's non-scalar fusions.
        self.loops = len(re.findall(r"= [a-z0-9]+\[[0-9,]+\]\S* fusion\(", entry))
        self.carry = self.step(self.impl.carry, self.impl.grads)  # the first step

    def params(self) -> np.ndarray | None:
        return self.impl.params(self.carry)

    def run(self, steps: int) -> None:
        carry, g = self.carry, self.impl.grads
        for _ in range(steps):
            carry = self.step(carry, g)
        device.sync(carry)
        self.carry = carry


class TorchFused:
    floats_moved = 7
    loops = 1  # one fused C++ kernel

    def __init__(self, size: int):
        self.p = device.torch_tensor(np.zeros(size, np.float32), requires_grad=True)
        self.p.grad = device.torch_tensor(np.asarray(_gradient(size)))
        self.opt = torch.optim.Adam([self.p], lr=LR, betas=(B1, B2), eps=EPS, fused=True)
        self.run(1)

    def params(self) -> np.ndarray:
        return self.p.detach().cpu().numpy()

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.opt.step()
        device.sync()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=1 << 24, help="floats in the leaf")
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--steps", type=int, default=10, help="steps per repetition")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    device.add_argument(parser)
    args = parser.parse_args(argv)
    device.select(args.device)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    contenders: dict[str, Any] = {name: JaxContender(layout, args.size) for name, layout in JAX_LAYOUTS.items()}
    contenders["torch-fused"] = TorchFused(args.size)
    # After one step from the same params and gradient, every Adam layout holds torch's params.
    reference = contenders["torch-fused"].params()
    agreement = {}
    for name, contender in contenders.items():
        after = contender.params()
        if after is not None:
            agreement[name] = float(np.max(np.abs(after - reference)) / np.max(np.abs(reference)))
            if agreement[name] > 1e-4:  # float32 rounding of the bias corrections: ~1e-5
                raise AssertionError(f"{name} differs from torch's Adam after one step: {agreement[name]:.2e} relative")
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for rep in range(args.reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:  # who goes first rotates
            t0 = time.perf_counter()
            contenders[name].run(args.steps)
            times[name].append((time.perf_counter() - t0) / args.steps)

    median = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"Adam on one leaf of {args.size:,} float32, {device.describe()}; jax {jax.__version__}, torch {torch.__version__}")
    print(f"median of {args.reps} interleaved repetitions of {args.steps} steps\n")
    print("| layout | loops over the leaf | floats moved | step (ms) [min-max] | GB/s | bandwidth time / step |")
    print("| --- | --: | --: | --: | --: | --: |")
    for name, contender in contenders.items():
        ms = 1e3 * median[name]
        gbps = contender.floats_moved * 4 * args.size / median[name] / 1e9
        spread = f"{1e3 * min(times[name]):.3g}-{1e3 * max(times[name]):.3g}"
        print(f"| {name} | {contender.loops} | {contender.floats_moved}N | {ms:.3g} [{spread}] | {gbps:.1f} | {median['bandwidth'] / median[name]:.0%} |")
    return {
        "size": args.size,
        "agreement": agreement,
        "loops": {name: c.loops for name, c in contenders.items()},
        "median_s": median,
    }


if __name__ == "__main__":
    main()
