"""Where the benchmarks run: ``--device cpu`` (the default) or ``--device gpu``.

One choice per process, made by :func:`select` before any array exists. JAX gets the first
device of that platform as its default device (so ``jnp.asarray``, ``jax.jit`` of uncommitted
inputs and ``gradtx.flatten_params`` land there) and every benchmark array is placed with
:func:`put`; torch tensors go to :func:`torch_device`, and every timed region ends with
:func:`sync` (``jax.block_until_ready`` on the JAX outputs, ``torch.cuda.synchronize()`` for
torch), because GPU work is asynchronous: without it a timer measures only the launches.
"""

from __future__ import annotations

import os
import pathlib
import platform
from typing import Any

import jax
import torch

CHOICES = ("cpu", "gpu")
_selected = {"name": "cpu"}


def add_argument(parser: Any) -> None:
    """The ``--device`` option shared by every benchmark entry point."""
    parser.add_argument(
        "--device",
        choices=CHOICES,
        default="cpu",
        help="run JAX and torch on the CPU (default) or on the first GPU (torch on cuda)",
    )


def select(name: str) -> None:
    """Run everything that follows on ``name`` (``"cpu"`` or ``"gpu"``)."""
    if name not in CHOICES:
        raise ValueError(f"--device must be one of {CHOICES}, got {name!r}.")
    if name == "gpu" and not torch.cuda.is_available():
        raise SystemExit("--device gpu: torch sees no CUDA device (is a CUDA build of torch installed?).")
    try:
        device = jax.devices(name)[0]
    except RuntimeError as err:
        raise SystemExit(f"--device {name}: JAX has no {name} device ({err}).") from None
    jax.config.update("jax_default_device", device)
    _selected["name"] = name


def name() -> str:
    return _selected["name"]


def jax_device() -> Any:
    return jax.devices(_selected["name"])[0]


def torch_device() -> torch.device:
    return torch.device("cuda" if _selected["name"] == "gpu" else "cpu")


def put(tree: Any) -> Any:
    """``tree`` as arrays that own their memory on the selected device (safe to donate)."""
    device = jax_device()
    return jax.tree.map(lambda x: jax.device_put(jax.numpy.array(x, copy=True), device), tree)


def torch_tensor(x: Any, requires_grad: bool = False) -> torch.Tensor:
    """A NumPy (or host) array as a torch tensor on the selected device."""
    t = torch.tensor(x, device=torch_device())
    return t.requires_grad_(requires_grad)


def sync(jax_outputs: Any = None) -> None:
    """Wait until the queued work is done: JAX outputs, and torch's CUDA stream on a GPU."""
    if jax_outputs is not None:
        jax.block_until_ready(jax_outputs)
    if _selected["name"] == "gpu":
        torch.cuda.synchronize()


def describe() -> str:
    """The machine the benchmark ran on, in words (for the report)."""
    if _selected["name"] == "gpu":
        d = jax_device()
        return f"{getattr(d, 'device_kind', 'GPU')} (JAX: {d}; torch: {torch.cuda.get_device_name(0)})"
    return f"{cpu()}, {len(os.sched_getaffinity(0))} cores"


def cpu() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
