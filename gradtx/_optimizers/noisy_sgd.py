"""Annealed Gaussian gradient noise, and SGD with it."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gradtx._core import checks, tree
from gradtx._core.base import GradientTransformation, Params, ScalarOrSchedule, Updates, blame, transformation
from gradtx._core.combine import chain
from gradtx._transforms.scale import scale_by_learning_rate


class AddNoiseState(NamedTuple):
    """State of :func:`add_noise`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    key: jax.Array  # uint32[...]: the raw data of the random key for the next step (jax.random.key_data)


def _is_none(x: Any) -> bool:
    return x is None


def _typed_key(key: Any, seed: Any) -> jax.Array:
    """The key or seed the user gave, as a typed ``jax.random`` key."""
    if key is not None and seed is not None:
        raise ValueError(blame(f"give `key` or `seed`, not both; got key={key!r}, seed={seed!r}"))
    given = seed if key is None else key
    if given is None:
        return jax.random.key(0)
    dtype = getattr(given, "dtype", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key) and np.shape(given) == ():
        typed: jax.Array = given
        return typed
    if dtype is not None and jnp.issubdtype(dtype, jnp.integer) and np.shape(given) == ():
        return jax.random.key(given)
    if dtype == jnp.uint32 and np.ndim(given) == 1:
        wrapped: jax.Array = jax.random.wrap_key_data(given)
        return wrapped
    if isinstance(given, int) and not isinstance(given, bool):  # a numpy integer has an integer dtype (above)
        return jax.random.key(given)
    raise TypeError(
        blame(
            "`key` must be an int seed, a jax.random.key(...) or the uint32 data of a key "
            f"(jax.random.PRNGKey(...)); got key={given!r}"
        )
    )


@transformation(needs_leaves=True)
def add_noise(
    eta: float, gamma: float, key: Any = None, *, seed: int | None = None
) -> GradientTransformation:
    r"""Add annealed Gaussian noise to the updates.

    The noise of :func:`noisy_sgd`. Its variance decays polynomially with the step count,
    which helps very deep networks escape poor regions early in training.

    .. math::

       u_t = g_t + \sigma_t z_t, \qquad z_t \sim \mathcal N(0, I), \qquad
       \sigma_t^2 = \frac{\eta}{t^{\gamma}}, \quad t = 1, 2, \dots

    Each step splits the stored key into the next key and a sampling key, and the
    sampling key into one key per leaf, exactly as Optax does, so the same key gives
    Optax's noise.

    Args:
      eta: :math:`\eta \ge 0`, the variance of the first step's noise.
      gamma: :math:`\gamma \ge 0`, the decay exponent of the variance.
      key: The random key: an int seed, a ``jax.random.key(...)``, or the uint32 data of a
        key (``jax.random.PRNGKey(...)``). ``None`` (with no ``seed``) uses seed 0.
      seed: An int seed, the same as ``key=seed``; give one of the two.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`AddNoiseState`.

    Raises:
      ValueError: If ``eta`` or ``gamma`` is negative, or both ``key`` and ``seed`` are given.
      TypeError: If ``key`` is not a seed or a key.

    Examples:
      >>> tx = gradtx.add_noise(eta=0.01, gamma=0.55, key=0)
      >>> noisy, state = tx.update(jnp.zeros(3), tx.init(jnp.zeros(3)))
      >>> noisy.shape, int(state.count)
      ((3,), 1)

    References:
      Neelakantan et al., `Adding Gradient Noise Improves Learning for Very Deep Networks
      <https://arxiv.org/abs/1511.06807>`_, 2015.

    .. note::
       Optax: ``optax.add_noise(eta, gamma, key, seed=...)``, same arguments and the same
       noise for the same key on float32 and float64 leaves. Optax draws half-precision
       noise in the leaf's dtype; gradtx draws it in float32 and rounds the noisy update
       once. Without a key Optax warns and uses seed 0; gradtx uses seed 0 silently. The
       state keeps the key's raw uint32 data (so any array serializer can save it).
    """
    checks.non_negative("eta", eta)
    checks.non_negative("gamma", gamma)
    typed = _typed_key(key, seed)
    implementation = jax.random.key_impl(typed)
    start = jax.random.key_data(typed)

    def init(params: Params) -> AddNoiseState:
        return AddNoiseState(tree.zero_count(params), tree.replicated_like(params, start))

    def update(
        updates: Updates, state: AddNoiseState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, AddNoiseState]:
        del params, extra_args
        count = tree.safe_increment(state.count)
        std = jnp.sqrt(eta / tree.float_count(count) ** gamma)
        next_key, sample_key = jax.random.split(jax.random.wrap_key_data(state.key, impl=implementation))
        leaves, treedef = jax.tree.flatten(updates, is_leaf=_is_none)
        leaf_keys = iter(jax.random.split(sample_key, sum(u is not None for u in leaves)))
        noise = []
        for u in leaves:
            k = None if u is None else next(leaf_keys)  # every non-None leaf takes a key, as in Optax
            z = None
            if tree.is_float(u):
                assert k is not None  # a float leaf is not None
                u = tree.as_array(u)  # a Python float leaf is a 0-d parameter
                dtype = tree.compute_dtype(u.dtype)
                z = jax.random.normal(k, u.shape, dtype, out_sharding=jax.typeof(u).sharding)
            noise.append(z)

        updates = tree.map_float(lambda g, z: g + std.astype(g.dtype) * z, updates, jax.tree.unflatten(treedef, noise))
        return updates, AddNoiseState(count, jax.random.key_data(next_key))

    return GradientTransformation(init, update)


@transformation(needs_leaves=True)
def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: float = 0.01,
    gamma: float = 0.55,
    key: Any = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    r"""SGD on gradients with annealed Gaussian noise, with Optax's arguments and numbers.

    Noise on the gradients can improve both training and generalization of very deep
    networks; its variance decays as :math:`\eta / t^\gamma` (see :func:`add_noise`).

    .. math::

       p_t = p_{t-1} - \eta_t \left( g_t + \sqrt{\eta / t^{\gamma}}\, z_t \right), \qquad
       z_t \sim \mathcal N(0, I)

    (:math:`\eta_t` is the learning rate, :math:`\eta` the noise variance.)

    Composition: ``chain(add_noise(eta, gamma, key), scale_by_learning_rate(η_t))``.

    Args:
      learning_rate: :math:`\eta_t \ge 0`, a number or a schedule.
      eta: :math:`\eta \ge 0`, the variance of the first step's noise.
      gamma: :math:`\gamma \ge 0`, the decay exponent of the variance.
      key: The random key: an int seed, a ``jax.random.key(...)`` or the uint32 data of a
        key. ``None`` (with no ``seed``) uses seed 0.
      seed: An int seed, the same as ``key=seed``; give one of the two.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.noisy_sgd(0.1, eta=0.0, key=0)
      >>> tx.update(jnp.array([0.5, -2.0]), tx.init(jnp.zeros(2)))[0]
      Array([-0.05,  0.2 ], dtype=float32)

    References:
      Neelakantan et al., `Adding Gradient Noise Improves Learning for Very Deep Networks
      <https://arxiv.org/abs/1511.06807>`_, 2015.

    .. note::
       Optax: ``optax.noisy_sgd(learning_rate, eta, gamma, key, seed=...)``, same
       arguments, defaults and noise for the same key (see :func:`add_noise` for the
       half-precision and missing-key differences).
    """
    checks.learning_rate(learning_rate)
    return chain(add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate))
