"""Test-session settings shared by tests/ and the doctests in gradtx/."""

import jax
import jax.numpy as jnp
import pytest

# Catch silent dtype promotion and rank broadcasting in gradtx's code: every cast is explicit.
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    import gradtx

    doctest_namespace.update(jax=jax, jnp=jnp, gradtx=gradtx)


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
