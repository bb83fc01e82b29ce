"""Adam family details the parity tables cannot show: storage dtypes, torch-door argument checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gradtx
import gradtx.torch


def _adam_with_rounded_mu(grads, b1, b2, eps, mu_dtype, nesterov=False):
    """Adam's updates in float64 with the first moment *stored* rounded to ``mu_dtype``."""
    m = v = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g  # m from the stored (rounded) moment, computed in float64
        v = b2 * v + (1 - b2) * g**2
        if nesterov:
            m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        else:
            m_hat = m / (1 - b1**t)
        out.append(m_hat / (np.sqrt(v / (1 - b2**t)) + eps))
        m = np.asarray(m, mu_dtype).astype(np.float64)
    return out


@pytest.mark.parametrize("nesterov", [False, True], ids=["adam", "nadam"])
def test_a_narrow_mu_dtype_only_rounds_the_stored_moment(nesterov):
    """With ``mu_dtype`` narrower than the params, gradtx computes ``b1 * m`` in the params' dtype.

    Optax computes ``b1 * mu`` in ``mu_dtype`` (a Python float times a float32 array stays
    float32), which adds a rounding error per step; it is why tests/cases.py compares
    ``mu_dtype`` only at ``None``. Optax stays within float32 rounding of gradtx.
    """
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=5) for _ in range(6)]
    want = _adam_with_rounded_mu(grads, 0.8, 0.99, 1e-6, np.float32, nesterov)
    with jax.enable_x64(True):
        tx = gradtx.scale_by_adam(0.8, 0.99, 1e-6, 0.0, jnp.float32, nesterov=nesterov)
        ref = optax.scale_by_adam(0.8, 0.99, 1e-6, 0.0, jnp.float32, nesterov=nesterov)
        params = jnp.zeros(5, jnp.float64)
        state, ref_state = tx.init(params), ref.init(params)
        for g, w in zip(grads, want):
            u, state = tx.update(jnp.asarray(g), state)
            with jax.numpy_dtype_promotion("standard"):
                r, ref_state = ref.update(jnp.asarray(g), ref_state)
            assert state.mu.dtype == ref_state.mu.dtype == jnp.float32
            np.testing.assert_allclose(np.asarray(u), w, rtol=1e-12)
            np.testing.assert_allclose(np.asarray(r), w, rtol=1e-5)


def test_torch_amsgrad_and_optax_amsgrad_differ_once_v_falls():
    """torch maximises the uncorrected v (then corrects it); Optax maximises the corrected v."""
    grads = [jnp.array([3.0]), jnp.array([0.1]), jnp.array([0.1])]
    torch_rule = gradtx.scale_by_adam(0.9, 0.5, 0.0, amsgrad=True)
    optax_rule = gradtx.scale_by_amsgrad(0.9, 0.5, 0.0)
    s1, s2 = torch_rule.init(jnp.zeros(1)), optax_rule.init(jnp.zeros(1))
    for g in grads:
        u1, s1 = torch_rule.update(g, s1)
        u2, s2 = optax_rule.update(g, s2)
    assert float(s1.nu_max[0]) == pytest.approx(0.5 * 9.0)  # max of raw v: step 1's
    assert float(s2.nu_max[0]) == pytest.approx(9.0)  # max of corrected v: step 1's, corrected
    assert not np.allclose(u1, u2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gradtx.torch.Adam(foreach="yes"),
        lambda: gradtx.torch.AdamW(fused=1),
        lambda: gradtx.torch.NAdam(capturable="x"),
        lambda: gradtx.torch.RAdam(differentiable="no"),
        lambda: gradtx.torch.Adamax(foreach=0),
        lambda: gradtx.torch.ASGD(capturable="no"),
    ],
    ids=["Adam-foreach", "AdamW-fused", "NAdam-capturable", "RAdam-differentiable", "Adamax-foreach", "ASGD"],
)
def test_torch_switches_must_be_bools(make):
    with pytest.raises(TypeError, match=r"must be True(, False or None| or False)"):
        make()


@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam", "Adamax", "SparseAdam"])
def test_torch_betas_are_checked(name):
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        getattr(gradtx.torch, name)(betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="must be a pair"):
        getattr(gradtx.torch, name)(betas=0.9)


def test_torch_door_repr_shows_the_call():
    assert repr(gradtx.torch.Adam(lr=0.0003, betas=(0.9, 0.95))) == "Adam(lr=0.0003, betas=(0.9, 0.95))"
