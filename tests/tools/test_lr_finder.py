"""lr_finder and plot_lr_finder: torch's rates and losses, fastai's smoothing, a quadratic's stable range."""

from __future__ import annotations

import functools
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import DEVIATIONS, RTOL, initial_params, loss, torch_in_float64

import gradtx


@pytest.mark.parametrize(
    ("min_lr", "max_lr", "num_steps"), [(1e-7, 10.0, 100), (3e-4, 0.5, 37), (1e-2, 1e-1, 3)]
)
def test_learning_rates_are_torch_exponential_lr_and_exact_at_both_ends(min_lr, max_lr, num_steps):
    with jax.enable_x64(True):
        result = gradtx.lr_finder(
            jnp.sum, jnp.zeros(2), gradtx.sgd, min_lr=min_lr, max_lr=max_lr, num_steps=num_steps
        )
    got = np.asarray(result.learning_rates)
    assert got.dtype == np.float64 and got[0] == min_lr and got[-1] == max_lr

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=min_lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(max_lr / min_lr) ** (1 / (num_steps - 1)))
    want = []
    for _ in range(num_steps):
        want.append(scheduler.get_last_lr()[0])
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(got, want, rtol=1e-12)


# (the `tx` argument of lr_finder, the torch optimizer built at lr=min_lr)
TORCH_SWEEPS = [
    pytest.param(
        functools.partial(gradtx.torch.SGD, momentum=0.9, weight_decay=1e-3),
        lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9, weight_decay=1e-3),
        id="sgd-momentum-factory",
    ),
    pytest.param(
        lambda lr: gradtx.adam(lr, b1=0.8),
        lambda ps, lr: torch.optim.Adam(ps, lr=lr, betas=(0.8, 0.999)),
        id="adam-lambda",
    ),
    pytest.param(
        gradtx.inject_hyperparams(gradtx.adamw)(learning_rate=0.5, weight_decay=0.1),
        lambda ps, lr: torch.optim.AdamW(ps, lr=lr, weight_decay=0.1),
        id="adamw-injected",
    ),
]


@torch_in_float64
def _torch_losses(make_opt, min_lr, max_lr, num_steps):
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in sorted(initial_params().items())}  # float64
    opt = make_opt(list(tp.values()), min_lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=(max_lr / min_lr) ** (1 / (num_steps - 1)))
    losses = []
    for _ in range(num_steps):
        opt.zero_grad()
        value = loss(tp, torch)
        value.backward()
        losses.append(value.item())
        opt.step()
        scheduler.step()
    return np.array(losses)


@pytest.mark.parametrize(("tx", "make_torch"), TORCH_SWEEPS)
def test_losses_are_torch_trained_under_exponential_lr(tx, make_torch, request):
    min_lr, max_lr, num_steps = 1e-4, 0.3, 40
    with jax.enable_x64(True):
        params = {k: jnp.asarray(v) for k, v in initial_params().items()}
        result = gradtx.lr_finder(
            lambda p: loss(p, jnp), params, tx,
            min_lr=min_lr, max_lr=max_lr, num_steps=num_steps, diverge_factor=math.inf,
        )
    want = _torch_losses(make_torch, min_lr, max_lr, num_steps)
    got = np.asarray(result.losses)
    assert int(result.diverged_at) == -1 and want[-1] < 0.75 * want[0], "the sweep must train"
    np.testing.assert_allclose(got, want, rtol=RTOL)
    case = f"torch/lr_finder-{request.node.callspec.id}"
    DEVIATIONS[case] = max(DEVIATIONS[case], float(np.max(np.abs(got - want) / np.abs(want))))


def _fastai_reference(losses, learning_rates, smoothing, diverge_factor, skip_start):
    """Smoothing, divergence and suggestion computed from the raw losses in numpy, by their definitions."""
    smoothed, average, best, diverged = [], 0.0, math.inf, -1
    for i, value in enumerate(losses):
        average = smoothing * average + (1 - smoothing) * value
        smoothed.append(average / (1 - smoothing ** (i + 1)))
        too_high = i >= skip_start and smoothed[-1] > best + (diverge_factor - 1) * abs(best)
        if not np.isfinite(smoothed[-1]) or too_high:
            diverged = i
            break
        best = min(best, smoothed[-1])
    end = diverged if diverged >= 0 else len(losses)
    slopes = np.gradient(np.array(smoothed[:end]), np.log(learning_rates[:end]))
    lowest = int(np.argmin(smoothed[:end]))
    candidates = range(max(skip_start, 1), min(end - 1, lowest + 1))  # interior points, down to the minimum
    suggested = learning_rates[min(candidates, key=lambda i: slopes[i])] if len(candidates) else math.nan
    return np.array(smoothed), diverged, suggested


def _noisy_regression(num_batches=16, batch_size=32, offset=0.0):
    """A least-squares loss over minibatches (numpy float64 arrays), shifted by ``offset``."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(num_batches, batch_size, 5))
    y = x @ rng.normal(size=5) + 0.3 * rng.normal(size=(num_batches, batch_size))

    def loss_fn(w, batch):
        xb, yb = batch
        return jnp.mean((xb @ w - yb) ** 2) + offset

    return loss_fn, (x, y)


@pytest.mark.parametrize(
    ("smoothing", "diverge_factor", "skip_start", "offset"),
    [(0.98, 4.0, None, 0.0), (0.9, 2.0, 0, 0.0), (0.0, 1.5, 3, 0.0), (0.9, 3.0, None, -5.0), (0.98, 4.0, 10, 0.0)],
    ids=["fastai", "short-memory", "unsmoothed", "negative-loss", "skip10"],
)
def test_smoothing_divergence_and_suggestion_follow_their_definitions(
    smoothing, diverge_factor, skip_start, offset
):
    loss_fn, batches = _noisy_regression(offset=offset)
    # By default the first steps skipped are those where the average's debiasing divides by less than 1/2.
    skip = next(i for i in range(120) if smoothing ** (i + 1) <= 0.5) if skip_start is None else skip_start
    with jax.enable_x64(True):
        result = gradtx.lr_finder(
            loss_fn, jnp.zeros(5), gradtx.sgd, batches, min_lr=1e-4, max_lr=10.0, num_steps=120,
            smoothing=smoothing, diverge_factor=diverge_factor, skip_start=skip_start,
        )
    lrs, losses = np.asarray(result.learning_rates), np.asarray(result.losses)
    smoothed, diverged, suggested = _fastai_reference(losses, lrs, smoothing, diverge_factor, skip)
    assert 0 < diverged < 119 and int(result.diverged_at) == diverged
    np.testing.assert_allclose(np.asarray(result.smoothed_losses)[: diverged + 1], smoothed, rtol=1e-12)
    assert np.all(np.isfinite(losses[:diverged])) and np.all(np.isnan(losses[diverged + 1 :]))
    assert np.all(np.isnan(np.asarray(result.smoothed_losses)[diverged + 1 :]))
    assert float(result.suggested_lr) == suggested


@pytest.mark.parametrize("curvature", [0.5, 2.0, 40.0])
@pytest.mark.parametrize("smoothing", [0.98, 0.0])
def test_suggestion_is_stable_on_a_quadratic_and_divergence_follows_instability(curvature, smoothing):
    # Gradient descent on sum(a x^2 / 2) is stable iff lr < 2 / max(a), fastest at lr = 1 / max(a).
    a = jnp.array([0.01, 0.1, 1.0]) * curvature

    def loss_fn(x):
        return 0.5 * jnp.sum(a * x**2)

    result = gradtx.lr_finder(
        loss_fn, jnp.ones(3), gradtx.sgd,
        min_lr=1e-4 / curvature, max_lr=1e3 / curvature, num_steps=120, smoothing=smoothing,
    )
    suggested, at = float(result.suggested_lr), int(result.diverged_at)
    lrs = np.asarray(result.learning_rates)
    assert 0.01 / curvature < suggested < 2 / curvature
    assert at > 0 and lrs[at - 1] > 2 / curvature, "divergence flagged before any unstable step"
    if smoothing == 0:  # without smoothing, it is flagged about a decade past the limit
        assert lrs[at] < 50 / curvature
    # The suggestion trains: 50 steps at it reduce the loss (the largest curvature's mode) a hundredfold.
    x = jnp.ones(3)
    for _ in range(50):
        x = x - suggested * jax.grad(loss_fn)(x)
    assert float(x[2] ** 2) < 1e-2


def test_suggestion_is_taken_on_the_way_down_to_the_lowest_loss():
    # Scripted losses: a first descent, a spike (not 4x the best), then a steeper fall after it.
    curve = jnp.array([5.0, 4.9, 4.5, 3.0, 2.0, 1.9, 1.85, 3.5, 7.0, 2.5, 1.95, 1.9])
    result = gradtx.lr_finder(
        lambda x, b: b + 0.0 * jnp.sum(x), jnp.zeros(2), gradtx.sgd, batch_fn=lambda step: curve[step],
        num_steps=12, smoothing=0.0, skip_start=0,
    )
    assert int(result.diverged_at) == -1
    assert float(result.suggested_lr) == float(result.learning_rates[3])  # not 9, after the minimum at 6


def test_integer_params_are_passed_through():
    params = {"w": jnp.ones(2), "n": jnp.array(3, jnp.int32)}
    result = gradtx.lr_finder(
        lambda p: jnp.sum(p["w"] ** 2) * p["n"].astype(jnp.float32), params, gradtx.adam, num_steps=20
    )
    assert np.all(np.isfinite(result.losses)) and float(result.losses[0]) == 6.0


def test_non_finite_loss_is_a_divergence_even_without_a_factor():
    result = gradtx.lr_finder(
        lambda x: jnp.sum(x**2), jnp.ones(2), gradtx.sgd,
        min_lr=1e-3, max_lr=1e30, num_steps=60, diverge_factor=math.inf,
    )
    at, losses = int(result.diverged_at), np.asarray(result.losses)
    assert at > 0 and not np.isfinite(result.smoothed_losses[at]) and np.all(np.isfinite(losses[:at]))
    assert np.all(np.isnan(losses[at + 1 :]))


def test_sweep_is_one_compiled_scan_and_cached():
    traces = []

    def loss_fn(x, batch):
        traces.append(None)
        return jnp.sum((x - batch) ** 2)

    batches = jnp.arange(12.0).reshape(4, 3)
    run = lambda n: gradtx.lr_finder(loss_fn, jnp.zeros(3), gradtx.adam, batches, num_steps=n)
    run(200)
    assert len(traces) == 1, "the loss must be traced once, whatever the number of steps"
    run(200)
    assert len(traces) == 1, "a second identical call must reuse the compiled sweep"
    jax.jit(lambda: run(30).suggested_lr)()  # also usable inside jit
    assert len(traces) == 2


def test_batches_are_cycled_and_batch_fn_gets_the_step():
    # The loss is the batch itself (plus a zero term in the params): it shows which batch each step took.
    loss_fn = lambda x, batch: batch["v"][0] + 0.0 * jnp.sum(x)
    batches = {"v": jnp.array([[5.0], [6.0], [7.0]])}
    result = gradtx.lr_finder(loss_fn, jnp.zeros(2), gradtx.sgd, batches, num_steps=8, smoothing=0.0)
    assert np.asarray(result.losses).tolist() == [5.0, 6.0, 7.0, 5.0, 6.0, 7.0, 5.0, 6.0]

    as_float = lambda step: step.astype(jnp.float32)
    steps = gradtx.lr_finder(
        lambda x, b: b + 0.0 * jnp.sum(x), jnp.zeros(2), gradtx.sgd,
        batch_fn=lambda step: 10.0 + as_float(step), num_steps=5, smoothing=0.0, diverge_factor=math.inf,
    )
    assert np.asarray(steps.losses).tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]

    with_aux = gradtx.lr_finder(
        lambda x, b: (b + 0.0 * jnp.sum(x), {"ignored": b}), jnp.zeros(2), gradtx.sgd,
        batch_fn=lambda step: 2.0 * as_float(step), num_steps=4, smoothing=0.0, has_aux=True, diverge_factor=math.inf,
    )
    assert np.asarray(with_aux.losses).tolist() == [0.0, 2.0, 4.0, 6.0]


def test_params_are_not_changed_and_float32_stays_float32():
    params = {"w": jnp.ones(3), "b": jnp.zeros(2)}
    result = gradtx.lr_finder(lambda p: jnp.sum(p["w"] ** 2 + p["b"][0]), params, gradtx.adam, num_steps=10)
    assert params["w"].tolist() == [1.0, 1.0, 1.0]
    assert result.losses.dtype == jnp.float32 and result.learning_rates.dtype == jnp.float32
    assert result.diverged_at.dtype == jnp.int32


@pytest.mark.parametrize(
    ("tx", "error", "pattern"),
    [
        (gradtx.adam(1e-3), ValueError,
         r"^lr_finder: `tx` must be .*adam\(learning_rate=0.001\) does not \(set_hyperparams: .* no injected"),
        (gradtx.inject_hyperparams(gradtx.adam)(learning_rate=gradtx.constant_schedule(0.1)), ValueError,
         r"^lr_finder: `tx` must be .*'learning_rate' is given by a schedule"),
        (gradtx.inject_hyperparams(lambda step_size: gradtx.sgd(step_size))(0.1), ValueError,
         r"^lr_finder: `tx` must be .*'learning_rate' is not an injected"),
        (3, TypeError, r"^lr_finder: `tx` must be a factory `learning_rate -> GradientTransformation` or a .*got 3"),
        (lambda: gradtx.sgd(0.1), TypeError, r"^lr_finder: `tx` must take the learning rate as its first argument"),
    ],
    ids=["plain-transformation", "scheduled", "other-name", "not-callable", "no-argument"],
)
def test_tx_must_let_the_learning_rate_be_set(tx, error, pattern):
    with pytest.raises(error, match=pattern):
        gradtx.lr_finder(jnp.sum, jnp.zeros(2), tx)


def test_plot_draws_the_curve_and_the_suggestion():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = gradtx.lr_finder(jnp.square, jnp.ones(()), gradtx.sgd, min_lr=1e-4, max_lr=1e2, num_steps=60)
    fig, ax = plt.subplots()
    assert gradtx.plot_lr_finder(result, ax) is ax
    assert ax.get_xscale() == "log"
    raw, smoothed = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(raw.get_xdata(), result.learning_rates)
    np.testing.assert_array_equal(smoothed.get_ydata(), result.smoothed_losses)
    assert ax.lines[2].get_xdata()[0] == float(result.suggested_lr)
    assert ax.lines[3].get_xdata()[0] == float(result.learning_rates[result.diverged_at])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["loss", "smoothed loss"] and labels[2].startswith("suggested")
    plt.close(fig)


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    result = gradtx.lr_finder(jnp.sum, jnp.zeros(2), gradtx.sgd, num_steps=5)
    with pytest.raises(ImportError, match="plot_lr_finder needs matplotlib.*pip install matplotlib"):
        gradtx.plot_lr_finder(result)
