"""The learning-rate range test: sweep the learning rate up in one compiled scan, watch the loss."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
from jax import lax

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, _entering, blame
from gradtx._core.update import apply_updates
from gradtx._optimizers.minimize import _float_grads
from gradtx._transforms.hyperparams import inject_hyperparams, set_hyperparams

_SWEPT = ("learning_rate", "lr")  # the injected names lr_finder sweeps, tried in order


class LrFinderResult(NamedTuple):
    """What :func:`lr_finder` returns. Entries after the divergence are NaN."""

    learning_rates: jax.Array  # float[n] (float64 under x64): the rate of each step, min_lr ... max_lr
    losses: jax.Array  # float[n]: the loss of each step's batch, before that step's update
    smoothed_losses: jax.Array  # float[n]: the debiased exponential moving average of `losses`
    suggested_lr: jax.Array  # float[]: the rate where the smoothed loss falls fastest (NaN if undecided)
    diverged_at: jax.Array  # int32[]: the step whose smoothed loss diverged, -1 if none did


def _factory_argument(factory: Callable[..., Any]) -> str:
    """The name of the argument a factory receives the learning rate in: its first one."""
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    if not parameters or parameters[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise TypeError(blame(f"`tx` must take the learning rate as its first argument, got {factory!r}"))
    return parameters[0].name


def _swept_transformation(tx: Any, params: Params, min_lr: float) -> tuple[GradientTransformation, str]:
    """A transformation whose state holds the learning rate as an injected hyperparameter, and its name."""
    if isinstance(tx, GradientTransformation):
        errors: list[ValueError] = []
        for name in _SWEPT:  # Optax's name, then torch's (gradtx.torch optimizers)
            try:
                jax.eval_shape(lambda p, name=name: set_hyperparams(tx.init(p), **{name: min_lr}), params)
            except ValueError as e:
                errors.append(e)
            else:
                return tx, name
        error = errors[0]  # what went wrong with `learning_rate`
        raise ValueError(
            blame(
                "`tx` must be a factory such as gradtx.adam, or hold a `learning_rate` injected (or torch's "
                f"`lr`) with gradtx.inject_hyperparams(factory)(...); {tx!r} does not ({str(error).rstrip('.')})"
            )
        ) from None
    if not callable(tx):
        raise TypeError(
            blame(
                "`tx` must be a factory `learning_rate -> GradientTransformation` or a transformation, "
                f"got {tx!r}"
            )
        )
    name = _factory_argument(tx)
    factory = cast(Callable[..., GradientTransformation], tx)  # checked above as far as it can be
    return inject_hyperparams(factory)(float(min_lr)), name


def _learning_rates(min_lr: float, max_lr: float, num_steps: int) -> jax.Array:
    """``min_lr ** (1 - f) * max_lr ** f``, ``f = i / (n - 1)``: log-spaced, exact at both ends."""
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    fraction = jnp.arange(num_steps, dtype=dtype) / (num_steps - 1)
    return jnp.asarray(min_lr, dtype) ** (1 - fraction) * jnp.asarray(max_lr, dtype) ** fraction


def _warmup(smoothing: float) -> int:
    """The number of steps ``i`` with ``smoothing ** (i + 1) > 1/2`` (the average leans on new losses)."""
    return 0 if smoothing <= 0.5 else math.ceil(math.log(0.5) / math.log(smoothing)) - 1


def _suggestion(
    learning_rates: jax.Array, smoothed: jax.Array, valid: jax.Array, skip_start: int
) -> jax.Array:
    """The rate where the smoothed loss falls fastest against log(rate), on its way down to its minimum.

    Central differences at the steps from ``skip_start`` to the lowest valid smoothed loss.
    """
    log_lr = jnp.log(learning_rates).astype(smoothed.dtype)
    slope = (smoothed[2:] - smoothed[:-2]) / (log_lr[2:] - log_lr[:-2])  # central differences at 1 .. n-2
    index = jnp.arange(1, learning_rates.shape[0] - 1, dtype=jnp.int32)
    lowest = jnp.argmin(jnp.where(valid, smoothed, jnp.inf)).astype(jnp.int32)
    usable = valid[2:] & valid[:-2] & (index >= skip_start) & (index <= lowest)
    slope = jnp.where(usable, slope, jnp.inf)
    best = jnp.argmin(slope)
    return jnp.where(jnp.any(usable), learning_rates[best + 1], jnp.nan)


@functools.partial(
    jax.jit,
    static_argnames=(
        "loss_fn", "tx", "name", "batch_fn", "has_aux", "min_lr", "max_lr", "num_steps",
        "smoothing", "diverge_factor", "skip_start",
    ),
)
def _sweep(
    params: Params,
    batches: Any,
    *,
    loss_fn: Callable[..., Any],
    tx: GradientTransformation,
    name: str,
    batch_fn: Callable[[jax.Array], Any] | None,
    has_aux: bool,
    min_lr: float,
    max_lr: float,
    num_steps: int,
    smoothing: float,
    diverge_factor: float,
    skip_start: int,
) -> LrFinderResult:
    learning_rates = _learning_rates(min_lr, max_lr, num_steps)

    def batch_at(step: jax.Array) -> tuple[Any, ...]:
        if batch_fn is not None:
            return (batch_fn(step),)
        if batches is None:
            return ()
        size = jax.tree.leaves(batches)[0].shape[0]
        return (jax.tree.map(lambda x: lax.dynamic_index_in_dim(x, step % size, keepdims=False), batches),)

    def objective(p: Params, *batch: Any) -> Any:
        return loss_fn(p, *batch)

    value_and_grad = jax.value_and_grad(objective, has_aux=has_aux, allow_int=True)
    value_dtype = jax.dtypes.canonicalize_dtype(jnp.float64)  # losses are kept in float32 (float64 under x64)
    nan = jnp.full([], jnp.nan, value_dtype)

    class Carry(NamedTuple):
        params: Params
        state: Any
        average: jax.Array  # the moving average, not yet debiased
        best: jax.Array  # the lowest smoothed loss so far
        diverged_at: jax.Array  # int32[]

    def live(carry: Carry, step: jax.Array) -> tuple[Carry, tuple[jax.Array, jax.Array]]:
        out, grads = value_and_grad(carry.params, *batch_at(step))
        grads = _float_grads(grads)  # integer params get None, and are left alone
        value = (out[0] if has_aux else out).astype(value_dtype)
        average = smoothing * carry.average + (1 - smoothing) * value
        smoothed = average / tree.bias_correction(smoothing, step + 1)
        # smoothed > factor * best for positive losses; the same margin, (factor - 1) |best|, below 0.
        bound = carry.best + (diverge_factor - 1) * jnp.abs(carry.best)
        diverged = ~jnp.isfinite(smoothed) | ((step >= skip_start) & (smoothed > bound))
        state = set_hyperparams(carry.state, **{name: learning_rates[step]})
        updates, state = tx.update(grads, state, carry.params, value=value)
        new = Carry(
            apply_updates(carry.params, updates),
            state,
            average,
            jnp.minimum(carry.best, smoothed),
            jnp.where(diverged, step, -1).astype(jnp.int32),
        )
        return new, (value, smoothed)

    def stopped(carry: Carry, step: jax.Array) -> tuple[Carry, tuple[jax.Array, jax.Array]]:
        del step
        return carry, (nan, nan)

    def body(carry: Carry, step: jax.Array) -> tuple[Carry, tuple[jax.Array, jax.Array]]:
        out: tuple[Carry, tuple[jax.Array, jax.Array]] = lax.cond(carry.diverged_at >= 0, stopped, live, carry, step)
        return out

    start = Carry(
        params,
        tx.init(params),
        jnp.zeros([], value_dtype),
        jnp.full([], jnp.inf, value_dtype),
        jnp.full([], -1, jnp.int32),
    )
    end, (losses, smoothed) = lax.scan(body, start, jnp.arange(num_steps, dtype=jnp.int32))
    index = jnp.arange(num_steps, dtype=jnp.int32)
    valid = (end.diverged_at < 0) | (index < end.diverged_at)
    suggested = _suggestion(learning_rates, smoothed, valid, skip_start)
    return LrFinderResult(learning_rates, losses, smoothed, suggested, end.diverged_at)


def lr_finder(
    loss_fn: Callable[..., Any],
    params: Params,
    tx: GradientTransformation | Callable[[Any], GradientTransformation],
    batches: Any = None,
    *,
    batch_fn: Callable[[jax.Array], Any] | None = None,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    skip_start: int | None = None,
    has_aux: bool = False,
) -> LrFinderResult:
    r"""The learning-rate range test: train while the rate grows exponentially, and watch the loss.

    Run it before training to choose a learning rate. Step :math:`i` evaluates the loss and
    its gradient on batch :math:`i` and updates the params with rate :math:`\eta_i`: the
    loss falls slowly while the rate is too small, fastest in the useful range, and blows
    up once the rate is too large. The whole sweep is one ``lax.scan``, compiled once and
    cached for identical calls; the steps after a divergence cost nothing (a scan cannot
    stop early, so they are skipped and their losses are NaN). ``params`` are not changed,
    so there is nothing to restore afterwards. With smoothing :math:`\beta`, diverge factor
    :math:`d` and :math:`k` = ``skip_start``,

    .. math::

       \eta_i = \eta_{\min}^{1 - i/(n-1)} \eta_{\max}^{i/(n-1)}, \qquad
       a_i = \beta a_{i-1} + (1 - \beta) L_i, \qquad \bar L_i = a_i / (1 - \beta^{i+1}) \\
       \text{diverged at the first } i \text{ with } \bar L_i \ \text{not finite, or} \
       i \ge k \ \text{and} \ \bar L_i > m_i + (d - 1) |m_i|, \quad m_i = \min_{j<i} \bar L_j

    For a positive loss the rule reads :math:`\bar L_i > d\, m_i` (fastai's); it extends to
    negative losses. The suggested rate is the one where :math:`\bar L` falls fastest
    against :math:`\log \eta` (central differences, from step :math:`k` to the lowest
    :math:`\bar L` before the divergence): a rate in the steep part of the curve, well
    below the unstable ones, as Smith proposes. fastai's other rule, a tenth of the rate
    at the lowest smoothed loss, is
    ``result.learning_rates[jnp.nanargmin(result.smoothed_losses)] / 10``.
    The average lags about :math:`1 / (1 - \beta)` steps behind the losses, so start the
    sweep a few decades below the rates you expect, or smooth less.

    Args:
      loss_fn: ``loss_fn(params, batch)`` returns the scalar loss (or ``(loss, aux)`` with
        ``has_aux``); ``loss_fn(params)`` if neither ``batches`` nor ``batch_fn`` is given.
      params: The starting params (a pytree of arrays); not modified.
      tx: A factory called with the learning rate as its first argument (``gradtx.adam``,
        ``functools.partial(gradtx.sgd, momentum=0.9)``, ``lambda lr: gradtx.chain(...)``),
        or a transformation built with :func:`inject_hyperparams` holding a number
        ``learning_rate``. The rate is set in the state before each step with
        :func:`set_hyperparams`, so the rest of the optimizer is the one you train with.
      batches: A pytree whose leaves share a leading axis of batches; step :math:`i` takes
        batch ``i % size`` (fewer batches than steps are cycled through).
      batch_fn: Instead of ``batches``, a traceable ``batch_fn(step) -> batch`` (``step`` is
        an int32 scalar; e.g. slice a dataset, or draw with ``jax.random.fold_in(key, step)``).
      min_lr: :math:`\eta_{\min} > 0`, the first rate.
      max_lr: :math:`\eta_{\max} > \eta_{\min}`, the last rate.
      num_steps: :math:`n \ge 3`, the steps (and rates) of the sweep.
      smoothing: :math:`\beta \in [0, 1)`, the moving average's decay (0: no smoothing).
      diverge_factor: :math:`d \ge 1`; ``math.inf`` stops only at a non-finite loss.
      skip_start: :math:`k \ge 0`, the first steps, where the debiased average still follows
        single noisy losses, left out of the suggestion and of the factor rule. ``None``:
        the steps with :math:`\beta^{i+1} > 1/2` (34 for :math:`\beta = 0.98`, 6 for 0.9,
        0 for :math:`\beta \le 0.5`).
      has_aux: ``loss_fn`` returns ``(loss, aux)``; ``aux`` is ignored.

    Returns:
      An :class:`LrFinderResult`: ``learning_rates`` (default float dtype), ``losses``
      (batch :math:`i`'s loss before step :math:`i`'s update) and ``smoothed_losses`` (both
      float32, float64 under ``jax_enable_x64``), ``suggested_lr`` (NaN when fewer than
      three usable points) and ``diverged_at`` (-1 if the loss never diverged). Losses
      after ``diverged_at`` are NaN; the diverging one is kept.

    Raises:
      TypeError: If ``loss_fn`` or ``batch_fn`` is not callable, or ``tx`` is neither a
        factory nor a transformation.
      ValueError: If an argument is outside the range given above, both ``batches`` and
        ``batch_fn`` are given, or ``tx`` is a transformation without an injected
        ``learning_rate``.

    Examples:
      >>> loss_fn = lambda p: jnp.sum(p ** 2)  # curvature 2: rates above 1 are unstable
      >>> result = gradtx.lr_finder(loss_fn, jnp.ones(3), gradtx.sgd, min_lr=1e-4, max_lr=1e2, num_steps=60)
      >>> round(float(result.suggested_lr), 2), int(result.diverged_at)
      (0.29, 49)
      >>> round(float(result.learning_rates[49]), 1)
      9.6

    References:
      Smith, `Cyclical Learning Rates for Training Neural Networks
      <https://arxiv.org/abs/1506.01186>`_, 2017 (section 3.3, the "LR range test").

    .. note::
       fastai: ``learn.lr_find(start_lr, end_lr, num_it)`` -> ``lr_finder(..., min_lr,
       max_lr, num_steps)``: the same smoothing (0.98, debiased) and divergence rule (4x
       the best smoothed loss). fastai's rate at step :math:`i` is
       :math:`\eta_{\min} (\eta_{\max}/\eta_{\min})^{i/n}`, so it stops short of ``end_lr``;
       it checks divergence from the first step; its suggestions drop the first
       ``num_it // 10`` and the last 5 points, and ``steep`` (its default is ``valley``)
       takes forward differences. torch-lr-finder: ``range_test(loader, start_lr, end_lr,
       num_iter, "exp", smooth_f, diverge_th)`` -> ``smoothing = 1 - smooth_f``,
       ``diverge_factor = diverge_th`` (its defaults: 0.95 and 5); its average starts at
       the first loss instead of being debiased, and its plot suggests the steepest point
       after dropping 10 points at the start and 5 at the end.
    """
    with _entering("lr_finder"):
        checks.callable_("loss_fn", loss_fn)
        checks.interval("min_lr", min_lr, 0.0, math.inf, low_open=True, high_open=True)
        checks.interval("max_lr", max_lr, 0.0, math.inf, low_open=True, high_open=True)
        if not max_lr > min_lr:
            raise ValueError(blame(f"`max_lr` must be > `min_lr`, got min_lr={min_lr!r}, max_lr={max_lr!r}"))
        checks.integer("num_steps", num_steps, 3)
        checks.decay_rate("smoothing", smoothing)
        checks.interval("diverge_factor", diverge_factor, 1.0, allow_inf=True)
        if skip_start is None:
            skip_start = _warmup(smoothing)
        checks.integer("skip_start", skip_start, 0)
        checks.boolean("has_aux", has_aux)
        if batch_fn is not None:
            checks.callable_("batch_fn", batch_fn)
            if batches is not None:
                raise ValueError(blame("give `batches` or `batch_fn`, not both"))
        if batches is not None:
            sizes = {x.shape[0] if getattr(x, "ndim", 0) else None for x in jax.tree.leaves(batches)}
            if len(sizes) != 1 or None in sizes or 0 in sizes:
                shown = sorted(sizes, key=lambda size: -1 if size is None else size)
                raise ValueError(
                    blame(f"`batches` must be arrays sharing a leading axis, got leading sizes {shown}")
                )
        swept, name = _swept_transformation(tx, params, min_lr)
    result: LrFinderResult = _sweep(  # jitted: the checkers see Any
        params,
        batches,
        loss_fn=loss_fn,
        tx=swept,
        name=name,
        batch_fn=batch_fn,
        has_aux=has_aux,
        min_lr=float(min_lr),
        max_lr=float(max_lr),
        num_steps=num_steps,
        smoothing=float(smoothing),
        diverge_factor=float(diverge_factor),
        skip_start=skip_start,
    )
    return result


def plot_lr_finder(result: LrFinderResult, ax: Any = None, *, show_raw: bool = True) -> Any:
    """Plot a :func:`lr_finder` result: the loss against the learning rate (log scale), and the suggestion.

    Draws the smoothed loss (and the raw losses, faintly, with ``show_raw``), marks the
    suggested rate, and cuts the loss axis a little above the starting loss so that the
    divergence does not flatten the curve. Needs matplotlib (not a dependency of gradtx).

    Args:
      result: What :func:`lr_finder` returned.
      ax: The matplotlib ``Axes`` to draw on; ``None`` for the current one.
      show_raw: Also draw the raw losses.

    Returns:
      The ``Axes`` drawn on.

    Raises:
      ImportError: If matplotlib is not installed.

    Examples:
      >>> import matplotlib.pyplot as plt
      >>> result = gradtx.lr_finder(jnp.square, jnp.ones(()), gradtx.sgd, min_lr=1e-3, max_lr=10.0, num_steps=40)
      >>> fig, ax = plt.subplots()
      >>> gradtx.plot_lr_finder(result, ax).get_xscale()
      'log'
      >>> plt.close(fig)
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "plot_lr_finder needs matplotlib, which gradtx does not depend on: pip install matplotlib"
        ) from error
    import numpy as np

    if ax is None:
        ax = plt.gca()
    lrs = np.asarray(result.learning_rates)
    losses, smoothed = np.asarray(result.losses), np.asarray(result.smoothed_losses)
    if show_raw:
        ax.plot(lrs, losses, color="tab:blue", alpha=0.3, linewidth=1, label="loss")
    ax.plot(lrs, smoothed, color="tab:blue", linewidth=2, label="smoothed loss")
    suggested = float(result.suggested_lr)
    if math.isfinite(suggested):
        ax.axvline(suggested, color="tab:red", linestyle="--", label=f"suggested {suggested:.2g}")
    diverged = int(result.diverged_at)
    if diverged >= 0:
        ax.axvline(lrs[diverged], color="0.5", linestyle=":", label=f"diverged at {lrs[diverged]:.2g}")
    shown = np.concatenate([smoothed, losses]) if show_raw else smoothed
    finite = shown[np.isfinite(shown)]
    if finite.size:
        low, start = float(finite.min()), float(smoothed[0])
        ax.set_ylim(low - 0.05 * (start - low), start + 0.25 * (start - low) if start > low else None)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    return ax
