"""The optimizers being compared, and the contenders (columns) that run them.

An :class:`OptimizerSpec` holds one optimizer in every library with the same hyperparameters.
A :class:`Contender` turns a spec and a workload into a :class:`Runner`, which owns its arrays
and can compile (JAX only), step, and report its state. To compare a new gradtx execution
strategy, add one entry to :data:`CONTENDERS`, e.g.::

    JaxContender("gradtx-bucketed", lambda spec: my_engine(spec.gradtx()), gradtx.apply_updates)

Anything with the ``init``/``update`` protocol works; a strategy that changes how params are
stored can subclass :class:`JaxRunner` (build its params in ``__init__``, give them back as the
workload's leaves in ``params_leaves``) and return it from a :class:`JaxContender`'s ``prepare``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

import gradtx
from benchmarks import device

# The same hyperparameters for every library (torch's defaults where the spec does not say).
ADAM_LR = 1e-3
SGD_LR = 1e-2
MOMENTUM = 0.9
WEIGHT_DECAY = 1e-2
MAX_NORM = 1.0
HYPERPARAMETERS = {
    "adam": f"lr={ADAM_LR}, b1=0.9, b2=0.999, eps=1e-8, no weight decay",
    "adamw": f"lr={ADAM_LR}, b1=0.9, b2=0.999, eps=1e-8, weight_decay={WEIGHT_DECAY}",
    "sgd_nesterov": f"lr={SGD_LR}, momentum={MOMENTUM}, nesterov",
    "clip+adamw": f"clip_by_global_norm({MAX_NORM}), then adamw as above",
}


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer, built by each library with the same hyperparameters.

    ``moments`` is the number of parameter-sized buffers the algorithm must keep (Adam: m and
    v) and ``global_norm`` whether it needs a reduction over the whole gradient first: together
    they fix the bytes the bandwidth-limit kernel moves.
    """

    name: str
    gradtx: Callable[[], Any]
    optax: Callable[[], optax.GradientTransformation]
    torch: Callable[..., torch.optim.Optimizer]  # (params, foreach=/fused=) -> optimizer
    moments: int
    global_norm: bool = False
    missing: str | None = None  # why gradtx cannot run it yet

    def needed_state_bytes(self, size: int) -> int:
        """Bytes of the parameter-sized buffers the algorithm keeps, in float32."""
        return 4 * size * self.moments

    def limit_bytes(self, size: int) -> int:
        """Bytes one step must move at least: read p, g and the moments, write p and the moments,
        plus one more read of g for a global norm."""
        return 4 * size * (3 + 2 * self.moments + int(self.global_norm))


def _gradtx_clip_adamw() -> Any:
    clip = gradtx.clip_by_global_norm(MAX_NORM)
    return gradtx.chain(clip, gradtx.adamw(ADAM_LR, weight_decay=WEIGHT_DECAY))


OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec(
            "adam",
            lambda: gradtx.adam(ADAM_LR),
            lambda: optax.adam(ADAM_LR),
            lambda ps, **kw: torch.optim.Adam(ps, lr=ADAM_LR, **kw),
            moments=2,
        ),
        OptimizerSpec(
            "adamw",
            lambda: gradtx.adamw(ADAM_LR, weight_decay=WEIGHT_DECAY),
            lambda: optax.adamw(ADAM_LR, weight_decay=WEIGHT_DECAY),
            lambda ps, **kw: torch.optim.AdamW(ps, lr=ADAM_LR, weight_decay=WEIGHT_DECAY, **kw),
            moments=2,
        ),
        OptimizerSpec(
            "sgd_nesterov",
            lambda: gradtx.sgd(SGD_LR, momentum=MOMENTUM, nesterov=True),
            lambda: optax.sgd(SGD_LR, momentum=MOMENTUM, nesterov=True),
            lambda ps, **kw: torch.optim.SGD(ps, lr=SGD_LR, momentum=MOMENTUM, nesterov=True, **kw),
            moments=1,
        ),
        OptimizerSpec(
            "clip+adamw",
            _gradtx_clip_adamw,
            lambda: optax.chain(
                optax.clip_by_global_norm(MAX_NORM), optax.adamw(ADAM_LR, weight_decay=WEIGHT_DECAY)
            ),
            lambda ps, **kw: torch.optim.AdamW(ps, lr=ADAM_LR, weight_decay=WEIGHT_DECAY, **kw),
            moments=2,
            global_norm=True,
            missing=None
            if hasattr(gradtx, "clip_by_global_norm")
            else "gradtx.clip_by_global_norm is not in gradtx yet",
        ),
    )
}


def _owned_copy(tree: Any) -> Any:
    """Arrays on the selected device that own their memory (never aliasing the NumPy source), safe
    to donate."""
    return device.put(tree)


def _timed_compile(step: Callable[..., Any], donate: tuple[int, ...], *args: Any) -> tuple[Any, float, float]:
    """``jax.jit(step, donate_argnums=donate).lower(*args).compile()``: (executable, lower s, compile s)."""
    t0 = time.perf_counter()
    lowered = jax.jit(step, donate_argnums=donate).lower(*args)
    t1 = time.perf_counter()
    executable = lowered.compile()
    return executable, t1 - t0, time.perf_counter() - t1


def state_nbytes(tree: Any) -> int:
    """Sum of ``nbytes`` over the array leaves of a pytree."""
    return sum(int(x.nbytes) for x in jax.tree.leaves(tree) if hasattr(x, "nbytes"))


class Runner:
    """One contender set up on one workload: owns its params, state and the fixed gradient."""

    compiles = False  # whether `compile` measures anything
    has_params = True  # whether `params_leaves` gives params to compare

    def compile(self) -> tuple[float, float]:
        """Build the step from fresh function objects; return (trace+lower, compile) seconds."""
        raise NotImplementedError

    def run(self, steps: int) -> float:
        """Run ``steps`` steps back to back, wait for the result, return the elapsed seconds."""
        raise NotImplementedError

    def params_leaves(self) -> list[np.ndarray]:
        """The current params as NumPy arrays, in ``jax.tree.leaves`` order of the workload."""
        raise NotImplementedError

    def state_bytes(self) -> int | None:
        raise NotImplementedError


class Contender:
    """A column of the benchmark: a way to run an optimizer on a workload."""

    name: str

    def unavailable(self, spec: OptimizerSpec) -> str | None:
        """Why this contender cannot run ``spec`` (``None`` if it can)."""
        return None

    def prepare(self, spec: OptimizerSpec, params: Any, grads: Any) -> Runner:
        raise NotImplementedError


class JaxRunner(Runner):
    compiles = True

    def __init__(
        self, make_tx: Callable[[], Any], apply_updates: Callable[[Any, Any], Any], params: Any, grads: Any
    ):
        self._make_tx = make_tx
        self._apply_updates = apply_updates
        self.params = _owned_copy(params)
        self.grads = _owned_copy(grads)
        self.state = make_tx().init(self.params)  # eager: a jitted init would compile for a while
        self._step: Callable[..., Any] | None = None

    def compile(self) -> tuple[float, float]:
        tx = self._make_tx()  # a fresh transformation and a fresh step: no cache can answer
        apply_updates = self._apply_updates

        def step(params: Any, state: Any, grads: Any) -> tuple[Any, Any]:
            updates, state = tx.update(grads, state, params)
            return apply_updates(params, updates), state

        self._step, lower_s, compile_s = _timed_compile(step, (0, 1), self.params, self.state, self.grads)
        return lower_s, compile_s

    def run(self, steps: int) -> float:
        step, params, state, grads = self._step, self.params, self.state, self.grads
        t0 = time.perf_counter()
        for _ in range(steps):
            params, state = step(params, state, grads)
        device.sync((params, state))
        elapsed = time.perf_counter() - t0
        self.params, self.state = params, state
        return elapsed

    def params_leaves(self) -> list[np.ndarray]:
        return [np.asarray(x) for x in jax.tree.leaves(self.params)]

    def state_bytes(self) -> int:
        return state_nbytes(self.state)


class FlatRunner(JaxRunner):
    """gradtx on :func:`gradtx.flatten_params`: params, gradients and state in one bucket per dtype.

    The gradient is packed once, outside the timed step, as ``jax.grad`` with respect to a
    ``FlatParams`` returns it (see docs/performance.md for the cost on the model's side).
    """

    def __init__(self, make_tx: Callable[[], Any], params: Any, grads: Any):
        flat = gradtx.flatten_params(_owned_copy(params))
        super().__init__(make_tx, gradtx.apply_updates, flat, flat.pack(_owned_copy(grads)))

    def params_leaves(self) -> list[np.ndarray]:
        return [np.asarray(x) for x in jax.tree.leaves(self.params.unflatten())]


@dataclasses.dataclass
class JaxContender(Contender):
    """A JAX library: ``optimizer(spec)`` builds the transformation, stepped by a donated jit."""

    name: str
    optimizer: Callable[[OptimizerSpec], Any]
    apply_updates: Callable[[Any, Any], Any]
    needs_gradtx: bool = False  # skip optimizers gradtx cannot build yet
    flat: bool = False  # run on gradtx.flatten_params(params) (see FlatRunner)

    def unavailable(self, spec: OptimizerSpec) -> str | None:
        return spec.missing if self.needs_gradtx else None

    def prepare(self, spec: OptimizerSpec, params: Any, grads: Any) -> Runner:
        if self.flat:
            return FlatRunner(lambda: self.optimizer(spec), params, grads)
        return JaxRunner(lambda: self.optimizer(spec), self.apply_updates, params, grads)


class TorchRunner(Runner):
    def __init__(self, spec: OptimizerSpec, impl: str, params: Any, grads: Any):
        self._params = [device.torch_tensor(p, requires_grad=True) for p in jax.tree.leaves(params)]
        for p, g in zip(self._params, jax.tree.leaves(grads)):
            p.grad = device.torch_tensor(g)
        self._opt = spec.torch(self._params, **{impl: True})
        self._clip = spec.global_norm

    def run(self, steps: int) -> float:
        params, opt = self._params, self._opt
        t0 = time.perf_counter()
        for _ in range(steps):
            if self._clip:  # rescales the grads in place; the work per step stays the same
                torch.nn.utils.clip_grad_norm_(params, MAX_NORM, foreach=True)
            opt.step()
        device.sync()  # a no-op on the CPU, where torch's step is synchronous
        return time.perf_counter() - t0

    def params_leaves(self) -> list[np.ndarray]:
        return [p.detach().cpu().numpy().copy() for p in self._params]

    def state_bytes(self) -> int:
        return sum(
            t.numel() * t.element_size()
            for per_param in self._opt.state.values()
            for t in per_param.values()
            if isinstance(t, torch.Tensor)
        )


@dataclasses.dataclass
class TorchContender(Contender):
    """``torch.optim`` with ``foreach=True`` or ``fused=True`` (float32 tensors on the selected device)."""

    name: str
    impl: str  # "foreach" or "fused"

    def unavailable(self, spec: OptimizerSpec) -> str | None:
        if self.impl != "fused":
            return None
        probe = torch.zeros(2, device=device.torch_device(), requires_grad=True)
        probe.grad = torch.ones(2, device=device.torch_device())
        try:
            spec.torch([probe], fused=True).step()
        except (RuntimeError, ValueError) as err:
            return f"torch has no fused {device.name().upper()} kernel: {err}"
        return None

    def prepare(self, spec: OptimizerSpec, params: Any, grads: Any) -> Runner:
        return TorchRunner(spec, self.impl, params, grads)


class LimitRunner(Runner):
    """The bandwidth limit: one jitted elementwise pass over exactly the bytes the optimizer moves.

    Params and the optimizer's ``moments`` are interleaved in one buffer of shape
    ``(blocks, 1 + moments, BLOCK)`` and the gradient is ``(blocks, 1, BLOCK)``, so the
    kernel reads ``(2 + moments) N`` floats and writes ``(1 + moments) N`` in one loop (XLA:CPU
    fuses one output per loop, and this layout needs only one). With ``global_norm`` a
    reduction over the gradient (``N`` more reads) comes first, as clipping needs.
    """

    compiles = True
    has_params = False
    BLOCK = 1024

    def __init__(self, spec: OptimizerSpec, params: Any, grads: Any):
        self.size = sum(x.size for x in jax.tree.leaves(params))
        blocks = -(-self.size // self.BLOCK)
        self._global_norm = spec.global_norm
        self.state = jax.device_put(jnp.zeros((blocks, 1 + spec.moments, self.BLOCK), jnp.float32), device.jax_device())
        self.grads = jax.device_put(jnp.full((blocks, 1, self.BLOCK), 1e-2, jnp.float32), device.jax_device())
        self._step: Callable[..., Any] | None = None

    def compile(self) -> tuple[float, float]:
        global_norm = self._global_norm

        def step(state: jax.Array, grads: jax.Array) -> jax.Array:
            scale = jnp.float32(1e-3)
            if global_norm:
                scale = scale / jnp.maximum(jnp.sqrt(jnp.sum(jnp.square(grads))), 1.0)
            return state * jnp.float32(0.999) + grads * scale

        self._step, lower_s, compile_s = _timed_compile(step, (0,), self.state, self.grads)
        return lower_s, compile_s

    def run(self, steps: int) -> float:
        step, state, grads = self._step, self.state, self.grads
        t0 = time.perf_counter()
        for _ in range(steps):
            state = step(state, grads)
        device.sync(state)
        elapsed = time.perf_counter() - t0
        self.state = state
        return elapsed

    def state_bytes(self) -> None:
        return None


class LimitContender(Contender):
    """The one-pass kernel moving the optimizer's minimum bytes (see :class:`LimitRunner`)."""

    name = "limit"

    def prepare(self, spec: OptimizerSpec, params: Any, grads: Any) -> Runner:
        return LimitRunner(spec, params, grads)


CONTENDERS: list[Contender] = [
    JaxContender("gradtx", lambda spec: spec.gradtx(), gradtx.apply_updates, needs_gradtx=True),
    JaxContender("gradtx-flat", lambda spec: spec.gradtx(), gradtx.apply_updates, needs_gradtx=True, flat=True),
    JaxContender("optax", lambda spec: spec.optax(), optax.apply_updates),
    TorchContender("torch-foreach", "foreach"),
    TorchContender("torch-fused", "fused"),
    LimitContender(),
]
BASELINE = "optax"  # ratios are taken against this column
LIMIT = "limit"
