"""Test-session settings shared by tests/ and the doctests in gradtx/."""

import os
import pathlib

# One persistent XLA compilation cache for the whole suite: the pytest-xdist workers, the
# 8-device subprocess and later runs reuse each other's compiled programs. Every program is
# cached, however quick its compile: the suite is thousands of small compiles (~0.1 s each),
# many of them repeated across tests and workers, so a cold run takes ~15% less time and a
# re-run ~65% less. Set through the environment (before jax starts) so subprocesses inherit it.
# JAX's own size limit (JAX_COMPILATION_CACHE_MAX_SIZE) is left off: it rescans the whole
# directory under a file lock on every write, which serializes the workers; the cache (~50 MB
# a cold run) is pruned once per session instead (pytest_sessionstart).
CACHE_LIMIT_BYTES = 1 << 30
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(pathlib.Path(__file__).parent / ".jax_cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
# The suite's time is XLA compile time (thousands of small programs), most of it LLVM's
# optimization passes. The everyday run skips them (`jax_disable_most_optimizations`): the
# programs compute the same IEEE operations, compile ~20% faster and the float64 parity
# tolerances hold. GRADTX_TEST_OPTIMIZED_XLA=1 keeps XLA's default pipeline, as users compile
# it; CI (.ci/run) runs the whole suite that way.
if os.environ.get("GRADTX_TEST_OPTIMIZED_XLA", "0") != "1":
    os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import jax  # noqa: E402 - after the cache settings
import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402

# Catch silent dtype promotion and rank broadcasting in gradtx's code: every cast is explicit.
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    import gradtx

    doctest_namespace.update(jax=jax, jnp=jnp, gradtx=gradtx)


def pytest_sessionstart(session):
    """Keep the compilation cache under CACHE_LIMIT_BYTES: drop its oldest entries (controller only)."""
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: the controller prunes
        return
    entries = sorted(
        (f.stat().st_mtime, f.stat().st_size, f)
        for f in pathlib.Path(os.environ["JAX_COMPILATION_CACHE_DIR"]).glob("*")
        if f.is_file()
    )
    excess = sum(size for _, size, _ in entries) - CACHE_LIMIT_BYTES
    for _, size, f in entries:
        if excess <= 0:
            break
        f.unlink(missing_ok=True)
        excess -= size


def pytest_terminal_summary(terminalreporter):
    """Print the largest relative deviation seen per parity case (for the parity table)."""
    try:
        from reference import DEVIATIONS
    except ImportError:
        return
    if DEVIATIONS:
        terminalreporter.section("parity: largest relative deviation per case")
        for case, dev in sorted(DEVIATIONS.items()):
            terminalreporter.write_line(f"{case:60s} {dev:.2e}")
