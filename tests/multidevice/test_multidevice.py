"""Runs the multi-device suite (on_8_devices.py) in its own process on 8 simulated CPU devices.

XLA fixes the number of CPU devices when the backend starts, and this session keeps one;
the suite gets a fresh interpreter with ``--xla_force_host_platform_device_count=8``.
Its pytest output is shown when it fails.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gradtx

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.slow  # a 4-minute subprocess (CI runs it)
def test_the_multidevice_suite_passes_on_8_simulated_devices():
    flags = os.environ.get("XLA_FLAGS", "")
    flags = " ".join(f for f in flags.split() if not f.startswith("--xla_force_host_platform_device_count"))
    flags = f"{flags} --xla_force_host_platform_device_count=8".strip()
    env = {**os.environ, "XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "on_8_devices.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
    )
    output = result.stdout[-20000:] + result.stderr[-5000:]
    assert result.returncode == 0, output
    assert " passed" in result.stdout and "skipped" not in result.stdout, output


def test_jitted_init_gives_exact_zeros_whatever_the_params_hold():
    # Under jit the moments are computed from the params (so that XLA shards them like the
    # params): they must still be +0 where a param is inf, -inf, NaN or negative.
    params = {
        "w": jnp.array([jnp.inf, -jnp.inf, jnp.nan, -2.0, 3.0]),
        "h": jnp.full((3, 2), -1.0, jnp.bfloat16),
    }
    for tx in (gradtx.adam(0.1), gradtx.lbfgs(memory_size=2), gradtx.torch.LBFGS(history_size=2), gradtx.adafactor(0.1), gradtx.sm3(0.1)):
        for leaf in jax.tree.leaves(jax.jit(tx.init)(params)):
            if jnp.issubdtype(leaf.dtype, jnp.floating) and leaf.ndim:
                values = np.asarray(leaf, np.float32)
                assert np.all((values == 0) & ~np.signbit(values)), (tx, leaf)


def test_state_shardings_rejects_a_leaf_that_is_not_an_array():
    with pytest.raises(TypeError, match=r"state_shardings: every leaf of `params` must be an array"):
        gradtx.state_shardings(gradtx.adam(1e-3), {"w": jnp.zeros(2), "n": 3.0})


def test_state_shardings_on_one_device_are_the_params_device():
    params = {"w": jax.ShapeDtypeStruct((4, 3), jnp.float32), "i": jax.ShapeDtypeStruct((), jnp.int32)}
    shardings = gradtx.state_shardings(gradtx.adamw(1e-3), params)
    shapes = jax.eval_shape(gradtx.adamw(1e-3).init, params)
    assert jax.tree.structure(shardings) == jax.tree.structure(shapes)
    assert {d for s in jax.tree.leaves(shardings) for d in s.device_set} == {jax.devices()[0]}
