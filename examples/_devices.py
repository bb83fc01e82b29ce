"""Shared by the multi-device examples: ask XLA for 8 CPU devices when there is no accelerator.

Import it before ``jax``: XLA reads the flag once, when JAX starts its CPU backend.
"""

from __future__ import annotations

import importlib.metadata
import os


def has_accelerator() -> bool:
    """Whether JAX will find a GPU or TPU (asked without starting JAX's backends)."""
    platforms = os.environ.get("JAX_PLATFORMS", "")
    if platforms:
        return any(p.strip() not in ("", "cpu") for p in platforms.split(","))
    names = {(d.metadata["Name"] or "").lower().replace("_", "-") for d in importlib.metadata.distributions()}
    return any(name.startswith(("jax-cuda", "jax-rocm", "libtpu")) for name in names)


if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", "") and not has_accelerator():
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=8".strip()
