"""Sophia: a clipped Newton-like step with a cheap diagonal Hessian estimate."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gradtx._core import checks, tree
from gradtx._core.base import (
    GradientTransformation,
    Params,
    ScalarOrSchedule,
    State,
    Updates,
    blame,
    transformation,
)
from gradtx._core.combine import _check_transform, chain
from gradtx._core.paths import Mask
from gradtx._transforms.decay import add_decayed_weights
from gradtx._transforms.scale import scale_by_learning_rate


class HutchinsonState(NamedTuple):
    """State of :func:`hutchinson_estimator_diag_hessian`."""

    key: jax.Array  # the random key of the next estimate (as given: raw uint32[2] or typed)


@transformation
def hutchinson_estimator_diag_hessian(random_seed: jax.Array | None = None) -> GradientTransformation:
    r"""Hutchinson's estimate of the Hessian's diagonal: :math:`z \odot (\nabla^2 f\, z)`.

    With :math:`z` a vector of random signs, :math:`\mathbb E[z \odot Hz] = \operatorname{diag} H`.
    One Hessian-vector product (a ``jvp`` of ``jax.grad(obj_fn)``) per call. The incoming
    updates are ignored; ``update`` needs ``params`` and ``obj_fn=`` (the loss as a
    function of the params).

    Args:
      random_seed: A PRNG key (``jax.random.key`` or ``jax.random.PRNGKey``); ``None`` uses
        ``PRNGKey(0)``.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`HutchinsonState`.

    Raises:
      ValueError: At ``update``, without ``params`` or ``obj_fn=``.

    Examples:
      >>> tx = gradtx.hutchinson_estimator_diag_hessian()
      >>> p = jnp.array([1.0, 2.0])
      >>> f = lambda p: jnp.sum(3.0 * p**2)  # Hessian 6 I: the estimate is exact
      >>> tx.update(p, tx.init(p), p, obj_fn=f)[0]
      Array([6., 6.], dtype=float32)

    .. note::
       Optax: ``optax.contrib.hutchinson_estimator_diag_hessian``, same argument, and the same
       random signs for the same key.
    """

    def init(params: Params) -> HutchinsonState:
        del params
        key = jax.random.PRNGKey(0) if random_seed is None else random_seed
        return HutchinsonState(jnp.array(key))

    def update(
        updates: Updates, state: HutchinsonState, params: Params | None = None, *, obj_fn: Any = None, **extra_args: Any
    ) -> tuple[Updates, HutchinsonState]:
        del updates, extra_args
        checks.params_given(params, "the Hessian estimate")
        if obj_fn is None:
            raise ValueError(blame("update needs `obj_fn=` (the loss as a function of the params)"))
        key, subkey = jax.random.split(state.key)
        leaves, treedef = jax.tree.flatten(params)
        keys = jax.random.split(subkey, len(leaves))
        dtype = min((x.dtype for x in tree.leaves_of(params)), key=lambda d: jnp.dtype(d).itemsize, default=jnp.float32)
        signs = jax.tree.unflatten(
            treedef,
            [jax.random.rademacher(k, jnp.shape(x), jnp.float32).astype(dtype) for k, x in zip(keys, leaves)],
        )
        hvp = jax.jvp(jax.grad(obj_fn), (params,), (signs,))[1]
        return jax.tree.map(lambda h, z: h * z.astype(h.dtype), hvp, signs), HutchinsonState(key)

    return GradientTransformation(init, update)


_HUTCHINSON = hutchinson_estimator_diag_hessian()  # the default estimator (key PRNGKey(0))


class SophiaState(NamedTuple):
    """State of :func:`scale_by_sophia`."""

    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count; int32[]: updates applied so far
    mu: Updates  # m_t, EMA of the gradients: shaped like the params, in `mu_dtype`
    nu: Updates  # h_t, EMA of the Hessian-diagonal estimates: shaped like the params, in the params' dtype
    hessian_fn_state: State  # state of `hessian_diagonal_fn`


@transformation
def scale_by_sophia(
    b1: float = 0.965,
    b2: float = 0.99,
    eps: float = 1e-8,
    gamma: float = 0.01,
    clip_threshold: float | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation = _HUTCHINSON,
    mu_dtype: Any = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: int = 0,
) -> GradientTransformation:
    r"""Rescale updates by Sophia's rule: momentum over a clipped diagonal Hessian.

    The scaling of :func:`sophia`. The Hessian diagonal is re-estimated every
    ``update_interval`` steps (on steps 1, 1 + k, ...) by ``hessian_diagonal_fn`` (given the
    gradients, ``params`` and every extra ``update`` argument: Hutchinson's needs
    ``obj_fn=``), and that estimate is used from the *next* step on.

    .. math::

       m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
       u_t = \operatorname{clip}\!\Big(\frac{m_t / (1 - \beta_1^t)}{\max(\gamma h_{t-1}, \epsilon)},
       \pm \rho\Big) \\
       h_t = \beta_2 h_{t-1} + (1 - \beta_2) \hat h_t \ \text{every k steps, else } h_{t-1}

    Args:
      b1: :math:`\beta_1 \in [0, 1)`, decay of the gradient EMA.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the Hessian EMA.
      eps: :math:`\epsilon \ge 0`, floor of the denominator.
      gamma: :math:`\gamma > 0`, scale of the Hessian.
      clip_threshold: :math:`\rho > 0`, the clipping bound; ``None`` does not clip.
      update_interval: :math:`k \ge 1`, steps between Hessian estimates.
      hessian_diagonal_fn: The estimator, a transformation returning the diagonal.
      mu_dtype: Storage dtype of :math:`m`; ``None`` keeps the params' dtype.
      verbose: Print the fraction of unclipped entries (the "win rate") with
        ``jax.debug.print``.
      print_win_rate_every_n_steps: With ``verbose``, print every this many steps.

    Returns:
      A :class:`GradientTransformation` whose state is :class:`SophiaState`.

    Raises:
      ValueError: At ``update``, without ``params``.

    Examples:
      >>> tx = gradtx.scale_by_sophia()
      >>> p = jnp.array([1.0, 2.0])
      >>> f = lambda p: jnp.sum(3.0 * p**2)
      >>> tx.update(jax.grad(f)(p), tx.init(p), p, obj_fn=f)[0]  # no estimate yet: clipped
      Array([1., 1.], dtype=float32)

    References:
      Liu et al., `Sophia: A Scalable Stochastic Second-order Optimizer for Language
      Model Pre-training <https://arxiv.org/abs/2305.14342>`_, ICLR 2024.

    .. note::
       Optax: ``optax.contrib.scale_by_sophia`` (not exported by ``optax.contrib``), same
       arguments and numbers.
    """
    checks.decay_rate("b1", b1)
    checks.decay_rate("b2", b2)
    checks.non_negative("eps", eps)
    checks.positive("gamma", gamma)
    if clip_threshold is not None:
        checks.positive("clip_threshold", clip_threshold)
    checks.integer("update_interval", update_interval, minimum=1)
    checks.dtype_or_none("mu_dtype", mu_dtype)
    checks.boolean("verbose", verbose)
    checks.integer("print_win_rate_every_n_steps", print_win_rate_every_n_steps, minimum=1 if verbose else 0)
    hessian_fn = _check_transform("scale_by_sophia", "`hessian_diagonal_fn`", hessian_diagonal_fn)

    def init(params: Params) -> SophiaState:
        return SophiaState(
            tree.zero_count(params), tree.zeros_like(params, mu_dtype), tree.zeros_like(params), hessian_fn.init(params)
        )

    def update(
        updates: Updates, state: SophiaState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, SophiaState]:
        params = checks.params_given(params, "sophia")
        grads = updates
        count = tree.safe_increment(state.count)
        correction1 = tree.bias_correction(b1, count)

        def leaf(g: jax.Array, m: jax.Array, h: jax.Array) -> tuple[jax.Array, jax.Array]:
            m = (1 - b1) * g + b1 * m
            u = (m / correction1.astype(g.dtype)) / jnp.maximum(gamma * h, eps)
            return u, m

        updates, mu = tree.map_unzip(leaf, updates, state.mu, state.nu)
        if clip_threshold is not None:
            if verbose:
                values = tree.leaves_of(updates)
                kept = tree.tree_sum([jnp.sum(jnp.abs(u) < clip_threshold).astype(jnp.float32) for u in values])
                rate = kept / max(sum(u.size for u in values), 1)
                jax.lax.cond(
                    count % print_win_rate_every_n_steps == 0,
                    lambda: jax.debug.print("Sophia optimizer win rate: {}", rate),
                    lambda: None,
                )
            threshold = clip_threshold  # a float here, also inside the lambda (pyright does not narrow captures)
            updates = tree.map_float(lambda u: jnp.clip(u, -threshold, threshold), updates)

        def estimate(hessian_state: State, nu: Updates) -> tuple[State, Updates]:
            diagonal, hessian_state = hessian_fn.update(grads, hessian_state, params, **extra_args)
            _, nu = tree.map_unzip(lambda g, h, d: (g, (1 - b2) * d + b2 * h), grads, nu, diagonal)
            return hessian_state, nu

        hessian_state, nu = jax.lax.cond(
            state.count % update_interval == 0, estimate, lambda s, n: (s, n), state.hessian_fn_state, state.nu
        )
        return updates, SophiaState(count, mu, nu, hessian_state)

    return GradientTransformation(init, update)


@transformation
def sophia(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.965,
    b2: float = 0.99,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    weight_decay_mask: Mask | None = None,
    gamma: float = 0.01,
    clip_threshold: float | None = 1.0,
    update_interval: int = 10,
    hessian_diagonal_fn: GradientTransformation = _HUTCHINSON,
    mu_dtype: Any = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: int = 0,
) -> GradientTransformation:
    r"""Sophia, with Optax's arguments, defaults and numbers.

    A second-order clipped method for language-model pre-training: momentum divided by a
    diagonal Hessian estimate refreshed every ``update_interval`` steps, clipped entrywise
    (see :func:`scale_by_sophia`). With the default Hutchinson estimator, ``update`` needs
    ``obj_fn=`` (the loss as a function of the params) besides ``params``.

    .. math::

       p_t = p_{t-1} - \eta_t (u_t + \lambda p_{t-1})

    Composition: ``chain(scale_by_sophia(...), add_decayed_weights(λ, weight_decay_mask),
    scale_by_learning_rate(η))``.

    Args:
      learning_rate: :math:`\eta \ge 0`, a number or a schedule.
      b1: :math:`\beta_1 \in [0, 1)`, decay of the gradient EMA.
      b2: :math:`\beta_2 \in [0, 1)`, decay of the Hessian EMA.
      eps: :math:`\epsilon \ge 0`, floor of the denominator.
      weight_decay: :math:`\lambda \ge 0`, decoupled (multiplied by :math:`\eta_t`).
      weight_decay_mask: Which leaves to decay (see :func:`masked`); ``None``: all.
      gamma: :math:`\gamma > 0`, scale of the Hessian.
      clip_threshold: :math:`\rho > 0`, the clipping bound; ``None`` does not clip.
      update_interval: Steps between Hessian estimates (>= 1).
      hessian_diagonal_fn: The estimator (default :func:`hutchinson_estimator_diag_hessian`).
      mu_dtype: Storage dtype of the gradient EMA; ``None`` keeps the params' dtype.
      verbose: Print the fraction of unclipped entries.
      print_win_rate_every_n_steps: With ``verbose``, print every this many steps.

    Returns:
      A :class:`GradientTransformation` (a :func:`chain`).

    Examples:
      >>> tx = gradtx.sophia(1e-2)
      >>> p = jnp.array([1.0, 2.0])
      >>> f = lambda p: jnp.sum(3.0 * p**2)
      >>> tx.update(jax.grad(f)(p), tx.init(p), p, obj_fn=f)[0].round(4)
      Array([-0.01, -0.01], dtype=float32)

    References:
      Liu et al., `Sophia: A Scalable Stochastic Second-order Optimizer for Language
      Model Pre-training <https://arxiv.org/abs/2305.14342>`_, ICLR 2024.

    .. note::
       Optax: ``optax.contrib.sophia``, same arguments, defaults and numbers (and the same
       random signs for the same key).
    """
    checks.learning_rate(learning_rate)
    return chain(
        scale_by_sophia(
            b1, b2, eps, gamma, clip_threshold, update_interval, hessian_diagonal_fn, mu_dtype, verbose,
            print_win_rate_every_n_steps,
        ),
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        scale_by_learning_rate(learning_rate),
    )
