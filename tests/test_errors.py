"""Bad arguments fail at construction with an error naming the function, argument, rule and value."""

import jax.numpy as jnp
import pytest

import gradtx

# (factory, kwargs, error type, message pattern). Add a row for every check a factory makes.
BAD_ARGUMENTS = [
    (gradtx.sgd, dict(learning_rate=-0.1), ValueError, r"^sgd: `learning_rate` must be >= 0, got learning_rate=-0.1"),
    (gradtx.sgd, dict(learning_rate="0.1"), TypeError, r"^sgd: `learning_rate` must be a real number"),
    (gradtx.sgd, dict(learning_rate=0.1, momentum=-0.9), ValueError, r"^sgd: `momentum` must be >= 0, got momentum=-0.9"),
    (gradtx.sgd, dict(learning_rate=0.1, nesterov=True), ValueError, r"^sgd: `nesterov=True` needs `momentum > 0`"),
    (gradtx.sgd, dict(learning_rate=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     r"^sgd: `nesterov=True` needs `dampening=0`"),
    (gradtx.sgd, dict(learning_rate=0.1, weight_decay=-1e-4), ValueError, r"^sgd: `weight_decay` must be >= 0"),
    (gradtx.sgd, dict(learning_rate=0.1, maximize=1), TypeError, r"^sgd: `maximize` must be True or False"),
    (gradtx.adam, dict(b1=1.0), ValueError, r"^adam: `b1` must be in \[0, 1\), got b1=1.0"),
    (gradtx.adam, dict(b2=-0.1), ValueError, r"^adam: `b2` must be in \[0, 1\), got b2=-0.1"),
    (gradtx.adam, dict(eps=-1e-8), ValueError, r"^adam: `eps` must be >= 0, got eps=-1e-08"),
    (gradtx.adam, dict(learning_rate=float("nan")), ValueError, r"^adam: `learning_rate` must be >= 0"),
    (gradtx.adam, dict(mu_dtype=jnp.int32), TypeError, r"^adam: `mu_dtype` must be a floating dtype or None"),
    (gradtx.adamw, dict(weight_decay=-0.01), ValueError, r"^adamw: `weight_decay` must be >= 0"),
    (gradtx.amsgrad, dict(eps_root=-1.0), ValueError, r"^amsgrad: `eps_root` must be >= 0"),
    (gradtx.scale_by_momentum, dict(momentum=0.9, dampening=0.5, nesterov=True), ValueError,
     r"^scale_by_momentum: `nesterov=True` needs `dampening=0`"),
    (gradtx.ema, dict(decay=1.5), ValueError, r"^ema: `decay` must be in \[0, 1\], got decay=1.5"),
    (gradtx.scale, dict(step_size=jnp.ones(2)), TypeError, r"^scale: `step_size` must be a real scalar"),
    (gradtx.scale_by_schedule, dict(schedule=0.1), TypeError, r"^scale_by_schedule: `schedule` must be callable"),
    # --- adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam
    # --- sparse_adam, adafactor, muon
    # --- lbfgs
    # --- optax/keras optimizers
    # --- clipping, robustness, accumulation, averaging blocks
    # --- schedules
    # --- run-time hyperparameters, plateau, freeze, parameter EMA
]


@pytest.mark.parametrize(
    ("factory", "kwargs", "error", "pattern"),
    BAD_ARGUMENTS,
    ids=[f"{f.__name__}-{'-'.join(k)}" for f, k, _, _ in BAD_ARGUMENTS],
)
def test_bad_argument_is_rejected_at_construction(factory, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        factory(**kwargs)
