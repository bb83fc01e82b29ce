"""The parameter trees of SPEC §6, as plain shapes: each library builds its own arrays from them.

A workload is a named, ordered dict ``path -> shape`` (float32 throughout). Parameters and the
fixed gradient are drawn once per workload from a seeded NumPy generator, so every contender
starts from the same numbers and their first steps can be compared.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

Shape = tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Workload:
    """A named tree of float32 leaves, given by their shapes."""

    name: str
    shapes: dict[str, Shape]
    note: str = ""

    @property
    def leaves(self) -> int:
        return len(self.shapes)

    @property
    def size(self) -> int:
        """Number of parameters (elements over all leaves)."""
        return sum(math.prod(s) for s in self.shapes.values())

    def arrays(self, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Params and the fixed gradient, as nested dicts of float32 NumPy arrays."""
        rng = np.random.default_rng(seed)
        params, grads = {}, {}
        for path, shape in self.shapes.items():
            _put(params, path, rng.standard_normal(shape, dtype=np.float32))
            _put(grads, path, rng.standard_normal(shape, dtype=np.float32) * np.float32(1e-2))
        return params, grads


def _put(tree: dict, path: str, value: np.ndarray) -> None:
    *parents, last = path.split("/")
    for key in parents:
        tree = tree.setdefault(key, {})
    tree[last] = value


def big_leaf(quick: bool) -> Workload:
    """One flat leaf of 16M elements (1M with ``quick``): the bandwidth-bound case."""
    n = 1 << (20 if quick else 24)
    return Workload("big_leaf", {"w": (n,)}, f"one leaf of {n:,} elements")


def resnet50(quick: bool) -> Workload:
    """The parameter tree of ResNet-50 (161 leaves, 25.6M): conv kernels (HWIO), BN scale/bias, fc.

    With ``quick``: one bottleneck block per stage and a quarter of the widths (53 leaves).
    """
    blocks, div = ((1, 1, 1, 1), 4) if quick else ((3, 4, 6, 3), 1)
    shapes: dict[str, Shape] = {}

    def conv_bn(prefix: str, k: int, c_in: int, c_out: int) -> None:
        shapes[f"{prefix}/conv/kernel"] = (k, k, c_in, c_out)
        shapes[f"{prefix}/bn/scale"] = (c_out,)
        shapes[f"{prefix}/bn/bias"] = (c_out,)

    c = 64 // div
    conv_bn("stem", 7, 3, c)
    for stage, (n_blocks, width) in enumerate(zip(blocks, (64, 128, 256, 512))):
        width //= div
        for b in range(n_blocks):
            name = f"stage{stage + 1}_block{b + 1}"
            conv_bn(f"{name}/conv1", 1, c, width)
            conv_bn(f"{name}/conv2", 3, width, width)
            conv_bn(f"{name}/conv3", 1, width, 4 * width)
            if b == 0:
                conv_bn(f"{name}/downsample", 1, c, 4 * width)
            c = 4 * width
    shapes["fc/kernel"] = (c, 1000)
    shapes["fc/bias"] = (1000,)
    note = "ResNet-50, 1 block per stage, widths / 4" if quick else "the parameters of ResNet-50"
    return Workload("resnet50", shapes, note)


def transformer(quick: bool) -> Workload:
    """A pre-LN transformer: 62 layers of width 160 (996 leaves, 20.6M), most leaves tiny.

    Each layer has q/k/v/o kernels and biases, two layer norms and a 4x MLP (16 leaves);
    plus token and position embeddings and a final layer norm. ``quick``: 6 layers of width 64.
    """
    layers, d, vocab = (6, 64, 1024) if quick else (62, 160, 8192)
    shapes: dict[str, Shape] = {"embed/tokens": (vocab, d), "embed/positions": (512, d)}
    for i in range(layers):
        for n in ("ln1", "ln2"):
            shapes[f"layer{i}/{n}/scale"] = (d,)
            shapes[f"layer{i}/{n}/bias"] = (d,)
        for n in ("q", "k", "v", "o"):
            shapes[f"layer{i}/attn/{n}/kernel"] = (d, d)
            shapes[f"layer{i}/attn/{n}/bias"] = (d,)
        shapes[f"layer{i}/mlp/up/kernel"] = (d, 4 * d)
        shapes[f"layer{i}/mlp/up/bias"] = (4 * d,)
        shapes[f"layer{i}/mlp/down/kernel"] = (4 * d, d)
        shapes[f"layer{i}/mlp/down/bias"] = (d,)
    shapes["final_ln/scale"] = (d,)
    shapes["final_ln/bias"] = (d,)
    return Workload("transformer", shapes, f"{layers} pre-LN layers of width {d}")


_TINY_SHAPES: tuple[Shape, ...] = ((8,), (16, 16), (3, 3, 8), (64,), (4, 32), (512,))


def tiny_leaves(quick: bool) -> Workload:
    """5000 tiny leaves (200 with ``quick``) of 8 to 512 elements, cycling through six shapes."""
    n = 200 if quick else 5000
    shapes = {f"leaf{i:04d}": _TINY_SHAPES[i % len(_TINY_SHAPES)] for i in range(n)}
    return Workload("tiny_leaves", shapes, f"{n} leaves of 8-512 elements")


def sweep_leaf(leaves: int) -> Workload:
    """``leaves`` leaves of 256 elements: one point of the leaf-count sweep."""
    return Workload(f"sweep_{leaves}", {f"leaf{i:04d}": (256,) for i in range(leaves)}, f"{leaves} x 256")


WORKLOADS = {f.__name__: f for f in (big_leaf, resnet50, transformer, tiny_leaves)}
SWEEP_FULL = (10, 30, 100, 300, 1000, 3000)
SWEEP_QUICK = (10, 100)
