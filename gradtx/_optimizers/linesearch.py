"""PyTorch's strong-Wolfe line search (bracketing, then zoom by cubic interpolation), in lax loops.

Used by :func:`gradtx.torch.LBFGS` with ``line_search_fn="strong_wolfe"``. The search works on the
one-dimensional restriction :math:`\\phi(t) = f(p + t d)` of the objective along a
direction :math:`d`, and looks for a step :math:`t` with

.. math::

   \\phi(t) \\le \\phi(0) + c_1 t \\phi'(0), \\qquad |\\phi'(t)| \\le -c_2 \\phi'(0)

(Nocedal and Wright, *Numerical Optimization*, 2nd ed., Algorithms 3.5 and 3.6). Every
decision (which bracket end moves, when an interpolated step sits too close to a bracket
end, when the search gives up) is the one ``torch.optim.lbfgs._strong_wolfe`` makes, so
the steps agree with torch's to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

C1 = 1e-4  # sufficient decrease (Armijo) constant
C2 = 0.9  # curvature constant
TOLERANCE_CHANGE = 1e-9  # the zoom stops when the bracket is this short (times max|d|)

Phi = Callable[[jax.Array], tuple[jax.Array, jax.Array]]
"""``phi(t) -> (f(p + t d), grad f(p + t d) . d)``: value and slope along the direction."""


def cubic_minimizer(
    x1: jax.Array, f1: jax.Array, g1: jax.Array, x2: jax.Array, f2: jax.Array, g2: jax.Array,
    low: jax.Array, high: jax.Array,
) -> jax.Array:
    """Minimizer of the cubic through two points with their values and slopes, clipped to ``[low, high]``.

    Returns the middle of ``[low, high]`` when the cubic has no minimizer (torch's rule) and
    also when the interpolation is not finite (two equal points, a NaN value), where torch
    would return NaN.
    """
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    d2 = jnp.sqrt(jnp.maximum(d2_square, 0))
    # The same formula with the right-most point as the anchor; it is symmetric in the two points.
    from_x2 = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    from_x1 = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    clipped = jnp.minimum(jnp.maximum(jnp.where(x1 <= x2, from_x2, from_x1), low), high)
    return jnp.where((d2_square >= 0) & jnp.isfinite(clipped), clipped, (low + high) / 2)


def _lower_end(f: jax.Array) -> jax.Array:
    """Index (0 or 1) of the bracket end with the lower value; a tie picks 0, a NaN loses."""
    return jnp.where((f[1] < f[0]) | jnp.isnan(f[0]), 1, 0).astype(jnp.int32)


class _Bracketing(NamedTuple):
    t: jax.Array  # the current trial step
    f: jax.Array  # phi(t)
    slope: jax.Array  # phi'(t)
    t_prev: jax.Array  # the previous trial step (0 at first)
    f_prev: jax.Array
    slope_prev: jax.Array
    iters: jax.Array  # int32[]: evaluations made after the first one (torch's ls_iter)
    status: jax.Array  # int32[]: 0 go on, 1 bracketed in [t_prev, t], 2 t satisfies both conditions


class _Zoom(NamedTuple):
    t: jax.Array  # [2]: the bracket's ends, in torch's order
    f: jax.Array  # [2]
    slope: jax.Array  # [2]
    low: jax.Array  # int32[]: index of the end with the lower value
    insufficient: jax.Array  # bool[]: the previous step was too close to a bracket end
    done: jax.Array  # bool[]: the strong Wolfe conditions hold at t[low]
    iters: jax.Array  # int32[]


def strong_wolfe(
    phi: Phi, f0: jax.Array, slope0: jax.Array, t0: jax.Array, d_norm: jax.Array, max_ls: int = 25
) -> tuple[jax.Array, jax.Array]:
    """Search a step along a descent direction that satisfies the strong Wolfe conditions.

    Args:
      phi: ``t -> (value, slope)`` along the direction (one objective evaluation per call).
      f0: The value at ``t = 0``.
      slope0: The slope at ``t = 0``; negative for a descent direction.
      t0: The first step tried.
      d_norm: ``max |d|``, to measure the bracket in parameter space.
      max_ls: The most evaluations after the first (torch's ``max_ls``: 25, or what is left
        of ``LBFGS``'s ``max_eval``).

    Returns:
      ``(t, evaluations)``: the step, and how many times ``phi`` was called (at most
      ``1 + max_ls``). Like torch, the search returns the lowest point it found
      when it runs out of evaluations, which may be ``t = 0``.
    """
    dtype = f0.dtype
    zero = jnp.zeros((), dtype)

    def armijo_fails(t: jax.Array, f: jax.Array) -> jax.Array:
        return ~(f <= f0 + C1 * t * slope0)  # written so that a NaN value fails

    def classify(t: jax.Array, f: jax.Array, slope: jax.Array, f_prev: jax.Array, iters: jax.Array) -> jax.Array:
        too_high = armijo_fails(t, f) | ((iters > 1) & (f >= f_prev))
        curvature = jnp.abs(slope) <= -C2 * slope0
        return jnp.where(too_high, 1, jnp.where(curvature, 2, jnp.where(slope >= 0, 1, 0))).astype(jnp.int32)

    # Bracketing: grow the step (by cubic extrapolation into [t + 0.01 (t - t_prev), 10 t])
    # until the conditions hold or an interval containing such a step is found.
    f1, slope1 = phi(t0)
    iters = jnp.zeros((), jnp.int32)
    start = _Bracketing(t0, f1, slope1, zero, f0, slope0, iters, classify(t0, f1, slope1, f0, iters))

    def extrapolate(s: _Bracketing) -> _Bracketing:
        t = cubic_minimizer(
            s.t_prev, s.f_prev, s.slope_prev, s.t, s.f, s.slope, s.t + 0.01 * (s.t - s.t_prev), s.t * 10
        )
        f, slope = phi(t)
        iters = s.iters + 1
        return _Bracketing(t, f, slope, s.t, s.f, s.slope, iters, classify(t, f, slope, s.f, iters))

    b = lax.while_loop(lambda s: (s.status == 0) & (s.iters < max_ls), extrapolate, start)

    exhausted = b.iters >= max_ls  # torch then falls back to the bracket [0, t]
    found = b.status == 2
    first = jnp.where(exhausted, zero, jnp.where(found, b.t, b.t_prev))
    first_f = jnp.where(exhausted, f0, jnp.where(found, b.f, b.f_prev))
    first_slope = jnp.where(exhausted, slope0, jnp.where(found, b.slope, b.slope_prev))
    f = jnp.stack([first_f, b.f])
    zoom = _Zoom(
        t=jnp.stack([first, b.t]),
        f=f,
        slope=jnp.stack([first_slope, b.slope]),
        low=_lower_end(f),
        insufficient=jnp.zeros((), bool),
        done=found & ~exhausted,
        iters=b.iters,
    )

    def zoom_goes_on(z: _Zoom) -> jax.Array:
        return ~z.done & (z.iters < max_ls) & ~(jnp.abs(z.t[1] - z.t[0]) * d_norm < TOLERANCE_CHANGE)

    def shrink(z: _Zoom) -> _Zoom:
        low_t, high_t = jnp.min(z.t), jnp.max(z.t)
        t = cubic_minimizer(z.t[0], z.f[0], z.slope[0], z.t[1], z.f[1], z.slope[1], low_t, high_t)
        # A step within 10% of the bracket's length from an end makes little progress: the
        # second time in a row (or when it is at an end), move it to 10% from that end.
        margin = 0.1 * (high_t - low_t)
        near_end = jnp.minimum(high_t - t, t - low_t) < margin
        push = near_end & (z.insufficient | (t >= high_t) | (t <= low_t))
        pushed = jnp.where(jnp.abs(t - high_t) < jnp.abs(t - low_t), high_t - margin, low_t + margin)
        t = jnp.where(push, pushed, t)
        f, slope = phi(t)
        high = 1 - z.low

        # Too high: the step replaces the high end.
        t_a, f_a, slope_a = z.t.at[high].set(t), z.f.at[high].set(f), z.slope.at[high].set(slope)
        # Low enough: the step becomes the low end; if the slope there points away from the
        # high end, the old low end becomes the high end first.
        done = jnp.abs(slope) <= -C2 * slope0
        flip = ~done & (slope * (z.t[high] - z.t[z.low]) >= 0)
        t_b, f_b, slope_b = (
            jnp.where(flip, x.at[high].set(x[z.low]), x).at[z.low].set(new)
            for x, new in ((z.t, t), (z.f, f), (z.slope, slope))
        )
        too_high = armijo_fails(t, f) | (f >= z.f[z.low])
        return _Zoom(
            t=jnp.where(too_high, t_a, t_b),
            f=jnp.where(too_high, f_a, f_b),
            slope=jnp.where(too_high, slope_a, slope_b),
            low=jnp.where(too_high, _lower_end(f_a), z.low),
            insufficient=near_end & ~push,
            done=~too_high & done,
            iters=z.iters + 1,
        )

    z = lax.while_loop(zoom_goes_on, shrink, zoom)
    return z.t[z.low], z.iters + 1
