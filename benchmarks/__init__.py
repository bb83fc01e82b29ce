"""Benchmarks of gradtx against Optax and torch.optim (run ``python -m benchmarks.run --help``).

Not part of the installed package: run from the repository root. See ``docs/performance.md``.
"""
