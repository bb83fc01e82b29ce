"""Eager (outside ``jit``) cost of ``flatten_params`` and ``FlatParams.unflatten`` on many small leaves.

    python -m benchmarks.flatten_eager --leaves 3000 10000

Prints the median of 5 runs per call after a first (compiling) call, and the first call itself.
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

import gradtx


def _timed(fn):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, nargs="+", default=[3000, 10000])
    args = parser.parse_args()
    for n in args.leaves:
        params = {f"layer{i}": jnp.full((4, 3), float(i)) for i in range(n)}
        first_flatten = _timed(lambda: gradtx.flatten_params(params).buckets)
        flat = gradtx.flatten_params(params)
        first_unflatten = _timed(flat.unflatten)
        flatten = statistics.median(_timed(lambda: gradtx.flatten_params(params).buckets) for _ in range(5))
        unflatten = statistics.median(_timed(flat.unflatten) for _ in range(5))
        print(
            f"{n} leaves: flatten_params first {first_flatten:.3f} s, median {flatten:.3f} s; "
            f"unflatten first {first_unflatten:.3f} s, median {unflatten:.3f} s"
        )


if __name__ == "__main__":
    main()
