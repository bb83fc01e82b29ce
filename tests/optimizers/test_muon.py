"""Muon against torch.optim.Muon (matrices) + torch.optim.AdamW (the other leaves), live.

torch runs Newton–Schulz in bfloat16 (``_zeropower_via_newtonschulz`` starts with
``grad.bfloat16()``). The float64 comparisons make torch's own Newton–Schulz run in float64
by turning that downcast into a plain copy (``torch.Tensor.bfloat16`` is monkeypatched to
``clone`` for the duration of the test) and ask gradtx for ``ns_dtype=jnp.float64``;
they must agree to rtol 1e-9. The bfloat16 comparisons use both libraries' defaults.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from reference import DEVIATIONS, assert_trajectories_close

import gradtx
from gradtx._optimizers.muon_torch import scale_by_torch_muon

STEPS = 25

# Matrices both tall (transposed inside Newton–Schulz) and wide; a vector, a 3-D leaf and a
# scalar go to the AdamW fallback.
_rng = np.random.default_rng(7)
INITIAL = {
    "tall": _rng.normal(size=(5, 3)),
    "wide": _rng.normal(size=(3, 6)) * 0.5,
    "bias": _rng.normal(size=(6,)) * 0.1,
    "cube": _rng.normal(size=(2, 2, 3)),
    "scale": np.array(0.8),
}
MATRICES = ("tall", "wide")
_X = _rng.normal(size=(16, 5))
_Y = np.tanh(_rng.normal(size=(16, 6)))


def loss(p, xp):
    x, y = (jnp.asarray(a) if xp is jnp else torch.as_tensor(a) for a in (_X, _Y))
    h = xp.tanh(x @ p["tall"]) @ p["wide"] * p["scale"] + p["bias"][None, :]
    return ((h - y) ** 2).sum() + (p["cube"] ** 2).sum() * 0.1 + (p["cube"][0, 0] * p["bias"][:3]).sum()


class _MuonAndAdamW:
    """torch.optim.Muon over the matrices and torch.optim.AdamW over the rest, as one optimizer."""

    def __init__(self, params: dict[str, torch.Tensor], muon_groups, adamw_kwargs):
        self.parts = [
            torch.optim.Muon(muon_groups(params)),
            torch.optim.AdamW([v for k, v in params.items() if k not in MATRICES], **adamw_kwargs),
        ]

    def zero_grad(self):
        for part in self.parts:
            part.zero_grad()

    def step(self):
        for part in self.parts:
            part.step()


def torch_run(muon_groups, adamw_kwargs, steps=STEPS):
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sorted(INITIAL.items())}
    opt = _MuonAndAdamW(tp, muon_groups, adamw_kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss(tp, torch).backward()
        opt.step()
        out.append({k: v.detach().numpy().copy() for k, v in tp.items()})
    return out


def gradtx_run(tx, steps=STEPS):
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in INITIAL.items()}
        state = tx.init(p)

        @jax.jit
        def step(p, state):
            updates, state = tx.update(jax.grad(loss)(p, jnp), state, p)
            return gradtx.apply_updates(p, updates), state

        out = []
        for _ in range(steps):
            p, state = step(p, state)
            out.append({k: np.asarray(v) for k, v in p.items()})
    return out


def _all(**kwargs):
    return lambda params: [{"params": [params[k] for k in MATRICES], **kwargs}]


_MATCH_RMS = dict(lr=0.01, momentum=0.5, adjust_lr_fn="match_rms_adamw")

CASES = [
    pytest.param(
        lambda **ns: gradtx.torch.Muon(lr=0.02, **ns),
        _all(lr=0.02),
        dict(lr=0.02, weight_decay=0.0),
        id="defaults",
    ),
    pytest.param(
        lambda **ns: gradtx.torch.Muon(
            0.03, 0.05, 0.9, False, (3.0, -3.2, 1.2), 1e-5, 3, "original",
            adam_learning_rate=0.01, adam_b1=0.8, adam_b2=0.99, adam_eps=1e-6, adam_weight_decay=0.01, **ns,
        ),
        _all(
            lr=0.03, weight_decay=0.05, momentum=0.9, nesterov=False, ns_coefficients=(3.0, -3.2, 1.2),
            eps=1e-5, ns_steps=3, adjust_lr_fn="original",
        ),
        dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
        id="no-nesterov-original-adam-args",
    ),
    pytest.param(
        lambda **ns: gradtx.torch.Muon(
            lr=0.01, weight_decay=0.2, momentum=0.5, adjust_lr_fn="match_rms_adamw",
            weight_decay_mask={k: k == "tall" for k in INITIAL}, **ns,
        ),
        lambda params: [
            {"params": [params["tall"]], "weight_decay": 0.2, **_MATCH_RMS},
            {"params": [params["wide"]], "weight_decay": 0.0, **_MATCH_RMS},
        ],
        dict(lr=0.01, weight_decay=0.0),
        id="match-rms-adamw-masked-decay",
    ),
]


@pytest.mark.parametrize(("make_tx", "muon_groups", "adamw_kwargs"), CASES)
def test_matches_torch_with_float64_newton_schulz(make_tx, muon_groups, adamw_kwargs, monkeypatch, request):
    # torch's NS keeps float64; a copy, as the real conversion is (NS writes into it in place).
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self: self.clone())
    want = torch_run(muon_groups, adamw_kwargs)
    got = gradtx_run(make_tx(ns_dtype=jnp.float64))
    assert_trajectories_close(f"torch/muon-f64-{request.node.callspec.id}", got, want)


@pytest.mark.parametrize(("make_tx", "muon_groups", "adamw_kwargs"), CASES)
def test_matches_torch_with_bfloat16_newton_schulz(make_tx, muon_groups, adamw_kwargs, request):
    """Both libraries' default: Newton–Schulz iterates rounded to bfloat16.

    gradtx rounds where torch's bfloat16 ``addmm`` rounds (once per product-and-sum,
    accumulating in float32), so the two can only differ where a float32 accumulation
    order flips a bfloat16 rounding. For matrices this small none does (measured: 1e-15).
    The tolerance, rtol 1e-5, is 100x below the size of the bfloat16 effect itself, which
    the test also measures (float64 Newton–Schulz vs torch's bfloat16 one: ~1e-3), so a
    bfloat16 iteration that rounds differently from torch (plain bfloat16 arithmetic is
    off by ~5e-2 per call) fails.
    """
    want = torch_run(muon_groups, adamw_kwargs)
    got = gradtx_run(make_tx())
    exact = gradtx_run(make_tx(ns_dtype=jnp.float64))
    for g, w in zip(got, want):
        for k in MATRICES:
            np.testing.assert_allclose(g[k], w[k], rtol=1e-5, atol=1e-8)
    deviation = max(float(np.max(np.abs(g[k] - w[k]) / np.abs(w[k]))) for g, w in zip(got, want) for k in MATRICES)
    DEVIATIONS[f"torch/muon-bf16-{request.node.callspec.id} (rtol 1e-5)"] = deviation
    bf16_effect = max(float(np.max(np.abs(e[k] - w[k]))) for e, w in zip(exact, want) for k in MATRICES)
    assert bf16_effect > 1e-4, "bfloat16 did not change torch's trajectory; the comparison proves nothing"


@pytest.mark.parametrize("shape", [(32, 64), (128, 128), (64, 256), (256, 64)])
def test_one_bfloat16_newton_schulz_rounds_like_torch(shape):
    """One orthogonalization of a random matrix, against torch's bfloat16 function.

    On larger matrices float32 accumulation orders differ (XLA's vs oneDNN's), and a few
    entries round to a neighbouring bfloat16 value: the relative (Frobenius) deviation
    must stay below 2^-7, two bfloat16 unit roundoffs, and gradtx must be as close to the
    float64 iteration as torch is (within one unit roundoff, 2^-8).
    """
    from torch.optim._muon import _zeropower_via_newtonschulz

    g = np.random.default_rng(sum(shape)).normal(size=shape)
    coefficients = (3.4445, -4.775, 2.0315)
    want = _zeropower_via_newtonschulz(torch.tensor(g), coefficients, 5, 1e-7).double().numpy()
    ratio = max(1.0, shape[0] / shape[1]) ** 0.5

    def ortho(ns_dtype):
        tx = scale_by_torch_muon(momentum=0.0, ns_dtype=ns_dtype)
        with jax.enable_x64(True):
            g64 = jnp.asarray(g, jnp.float64)
            return np.asarray(jax.jit(tx.update)(g64, tx.init(g64))[0]) / ratio

    got, exact = ortho(jnp.bfloat16), ortho(jnp.float64)
    distance = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))
    assert distance(got, want) < 2.0**-7
    assert distance(got, exact) < distance(want, exact) + 2.0**-8


def test_leaves_that_are_not_matrices_are_rejected_by_the_block():
    tx = scale_by_torch_muon()
    with pytest.raises(ValueError, match=r"^scale_by_torch_muon: Newton–Schulz needs matrices.* shape \(3,\)"):
        tx.update(jnp.ones(3), tx.init(jnp.ones(3)))


def test_fallback_is_adamw_on_every_leaf_that_is_not_2d():
    params = {"m": jnp.ones((2, 3)), "v": jnp.ones(3), "t": jnp.ones((2, 2, 2)), "s": jnp.array(1.0)}
    grads = jax.tree.map(lambda p: 0.5 * p, params)
    tx = gradtx.torch.Muon(lr=0.1, adam_learning_rate=0.05, adam_weight_decay=0.1)
    got, _ = tx.update(grads, tx.init(params), params)
    adam = gradtx.adamw(0.05, weight_decay=0.1)
    want, _ = adam.update(grads, adam.init(params), params)
    for k in ("v", "t", "s"):
        np.testing.assert_array_equal(got[k], want[k])
    assert not np.allclose(got["m"], want["m"])


# ---------------------------------------------------------------- Optax's dialect (top level)

_MDN = gradtx.MuonDimensionNumbers


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda m: m.muon(0.02), id="defaults"),
        pytest.param(lambda m: m.muon(0.02, (3.0, -3.2, 1.2), 4, 0.9, 1e-6, 0.01, None, None), id="positional"),
        pytest.param(lambda m: m.muon(0.02, nesterov=False, adaptive=True, weight_decay=0.1, adam_weight_decay=0.01,
                                      adam_learning_rate=0.01, adam_b1=0.8, adam_eps_root=1e-8), id="plain-adaptive-wd"),
        pytest.param(lambda m: m.muon(0.02, "dion", preconditioning="spectral", consistent_rms=0.2), id="dion-spectral-rms"),
        pytest.param(lambda m: m.muon(0.02, preconditioning="aol", beta=0.8), id="aol"),
        pytest.param(lambda m: m.muon(0.02, preconditioning="schatten", weight_decay=0.1,
                                      weight_decay_mask={k: k == "tall" for k in INITIAL},
                                      muon_weight_dimension_numbers={
                                          k: (m.MuonDimensionNumbers(1, 0) if k == "wide" else None)
                                          for k in INITIAL}), id="schatten-dims-mask"),
    ],
)
def test_muon_matches_optax_contrib(make, request):
    import optax

    with jax.numpy_dtype_promotion("standard"):  # optax's own code relies on implicit promotion
        want = gradtx_run(make(optax.contrib))
    got = gradtx_run(make(gradtx))
    assert_trajectories_close(f"optax/muon-{request.node.callspec.id}", got, want)


def test_scale_by_muon_orthogonalizes_batched_leaves_like_optax():
    import optax

    g = np.random.default_rng(3).normal(size=(2, 4, 3))
    dims = _MDN(reduction_axis=1, output_axis=2)
    with jax.enable_x64(True):
        got_tx = gradtx.scale_by_muon(weight_dimension_numbers=dims)
        want_tx = optax.contrib.scale_by_muon(weight_dimension_numbers=optax.contrib.MuonDimensionNumbers(1, 2))
        x = jnp.asarray(g)
        got = got_tx.update(x, got_tx.init(x))[0]
        with jax.numpy_dtype_promotion("standard"):
            want = want_tx.update(x, want_tx.init(x))[0]
    np.testing.assert_allclose(got, want, rtol=1e-10)
