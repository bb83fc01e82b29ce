"""A whole transformer training step with the usual recipe: gradtx (per-leaf and flat), Optax, torch.

The recipe: AdamW with no weight decay on biases and layer norms (a weight-decay mask),
``clip_by_global_norm(1.0)`` before it, and a warm-up + cosine learning-rate schedule. The model
is a small pre-LN GPT (token and position embeddings, ``layers`` blocks of causal multi-head
attention (no key bias) and a 4x GELU MLP, a final layer norm, the head tied to the token
embedding), 15 leaves per block, trained on next-token cross-entropy over a fixed random batch.
The params are a tree with one subtree per block (``layer007/attn/q/kernel``): 15 leaves a block,
994 leaves at 66 blocks. ``--model scan`` (the default) runs one block under ``jax.lax.scan``
over the blocks' stacked weights, so the model's graph does not grow with depth;
``--model unrolled`` writes every block into the graph (the compile grows with depth: on
XLA:CPU, 66 unrolled blocks need over 16 GB to compile).

    python -m benchmarks.transformer_step                     # ~2-3 min on a 2-core CPU
    python -m benchmarks.transformer_step --layers 66 --reps 7
    python -m benchmarks.transformer_step --model unrolled --layers 4,16
    python -m benchmarks.transformer_step --device gpu --layers 12,66 --width 512

Contenders, each stepping ``loss -> grads -> optimizer -> apply`` from the same parameters:

* ``gradtx``: ``jax.jit`` of the step on the params tree, ``gradtx.adamw(..., mask=r"...")``;
* ``gradtx-flat``: the same on a ``gradtx.flatten_params(params, labels=...)``. Scanned, the
  labels are each leaf's role in its block (``attn/q/kernel``), so a bucket is one role of every
  block and the model reads ``flat.stacked(role)``, a reshape of the bucket, where the tree
  contenders ``jnp.stack`` the blocks' leaves; unrolled, the labels are the weight-decay mask
  and the model reads ``FlatParams.unflatten()``;
* ``optax``: the same recipe with ``optax.adamw(..., mask=...)``;
* ``torch-fused``: the same model in torch (eager), ``torch.optim.AdamW(fused=True)`` with two
  param groups (decay / no decay), ``clip_grad_norm_(foreach=True)`` and the schedule's value
  set as each step's ``lr`` (``torch-foreach`` with ``--contenders``).

JAX steps are ``jax.jit(step, donate_argnums=(0, 1))``; compile time is trace + lower + compile
of a fresh step, with the persistent compilation cache off. Step time: after warm-up steps,
``reps`` interleaved repetitions (who goes first rotates) of ``inner`` steps each, waiting for
the result (``block_until_ready``; ``torch.cuda.synchronize()`` on a GPU); the median
[min-max] per step is reported, with its ratio to Optax and to torch-fused. Before timing, every
contender's params after two steps are compared with Optax's (the same algorithm).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import math
import os
import pathlib
import re
import shlex
import statistics
import sys
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

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

# The recipe (one set of numbers for every library).
PEAK_LR = 1e-3
INIT_LR = 1e-4  # warm-up starts above zero, so the first step already moves the params (agreement)
WARMUP_STEPS = 100
DECAY_STEPS = 10_000
END_LR = 1e-5
B1, B2, EPS = 0.9, 0.95, 1e-8
WEIGHT_DECAY = 0.1
MAX_NORM = 1.0
NO_DECAY = r".*bias|.*ln.*/scale"  # biases and layer-norm scales: the leaves AdamW leaves alone
DECAY = r".*kernel|embed/.*"  # the complement: matrices and embeddings (gradtx's mask selects these)
LN_EPS = 1e-5
AGREEMENT = 1e-2  # relative L2 tolerance of each leaf's change after two steps (see _agreement)
RECIPE = (
    f"clip_by_global_norm({MAX_NORM}); adamw(b1={B1}, b2={B2}, eps={EPS}, weight_decay={WEIGHT_DECAY}, "
    f"no decay on biases and layer-norm scales); warmup_cosine_decay_schedule(init {INIT_LR}, peak "
    f"{PEAK_LR}, warmup {WARMUP_STEPS}, decay {DECAY_STEPS}, end {END_LR})"
)


@dataclasses.dataclass(frozen=True)
class Model:
    layers: int
    width: int
    heads: int
    vocab: int
    seq: int
    batch: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        d = self.width
        shapes: dict[str, tuple[int, ...]] = {"embed/tokens": (self.vocab, d), "embed/positions": (self.seq, d)}
        for i in range(self.layers):
            for n in ("ln1", "ln2"):
                shapes[f"layer{i:03d}/{n}/scale"] = (d,)
                shapes[f"layer{i:03d}/{n}/bias"] = (d,)
            for n in ("q", "k", "v", "o"):
                shapes[f"layer{i:03d}/attn/{n}/kernel"] = (d, d)
                if n != "k":  # a key bias has a zero gradient (softmax ignores a per-row constant)
                    shapes[f"layer{i:03d}/attn/{n}/bias"] = (d,)
            shapes[f"layer{i:03d}/mlp/up/kernel"] = (d, 4 * d)
            shapes[f"layer{i:03d}/mlp/up/bias"] = (4 * d,)
            shapes[f"layer{i:03d}/mlp/down/kernel"] = (4 * d, d)
            shapes[f"layer{i:03d}/mlp/down/bias"] = (d,)
        shapes["final_ln/scale"] = (d,)
        shapes["final_ln/bias"] = (d,)
        return shapes

    def arrays(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Initial params (flat dict path -> float32 array) and a batch of token ids (B, T + 1)."""
        rng = np.random.default_rng(0)
        params = {}
        for path, shape in self.shapes().items():
            if path.endswith("scale"):
                params[path] = np.ones(shape, np.float32)
            elif path.endswith("bias"):
                params[path] = np.zeros(shape, np.float32)
            else:  # GPT-2's init; the output projections scaled down with depth
                std = 0.02 / math.sqrt(2 * self.layers) if path.endswith(("o/kernel", "down/kernel")) else 0.02
                params[path] = (rng.standard_normal(shape) * std).astype(np.float32)
        tokens = rng.integers(0, self.vocab, size=(self.batch, self.seq + 1)).astype(np.int32)
        return params, tokens


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a/b": x}`` -> ``{"a": {"b": x}}`` (the tree the optimizers see: paths like ``layer000/attn/q/kernel``)."""
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, last = path.split("/")
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return tree


def _path(keys: Any) -> str:
    """``a/b/c`` from a ``jax.tree_util`` key path of nested dicts."""
    return "/".join(str(k.key) for k in keys)


def decays(path: str) -> bool:
    return re.fullmatch(DECAY, path) is not None


# ----------------------------------------------------------------------------- JAX model


def role(path: str) -> str:
    """A leaf's role in its layer: ``"attn/q/kernel"`` for ``"layer007/attn/q/kernel"`` (other paths unchanged)."""
    return re.sub(r"^layer\d+/", "", path)


def jax_loss(model: Model) -> Callable[[Any, Any, jax.Array], jax.Array]:
    """``loss(top, layers, tokens)``: ``top`` holds ``embed`` and ``final_ln``; ``layers`` is a list of
    per-layer trees (the blocks unrolled in the graph) or one tree of stacked ``(layers, ...)``
    arrays (one block under ``jax.lax.scan``)."""
    h, d = model.heads, model.width

    def layer_norm(x: jax.Array, p: Any) -> jax.Array:
        mean = jnp.mean(x, -1, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), -1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + LN_EPS) * p["scale"] + p["bias"]

    def dense(x: jax.Array, p: Any) -> jax.Array:
        return x @ p["kernel"] + p["bias"]

    def block(x: jax.Array, p: Any, causal: jax.Array) -> jax.Array:
        b, t, _ = x.shape
        y = layer_norm(x, p["ln1"])
        q, v = (dense(y, p["attn"][n]).reshape(b, t, h, d // h) for n in "qv")
        k = (y @ p["attn"]["k"]["kernel"]).reshape(b, t, h, d // h)
        scores = jnp.einsum("bqhc,bkhc->bhqk", q, k) / math.sqrt(d // h)
        weights = jax.nn.softmax(jnp.where(causal, scores, -1e9), axis=-1)
        y = jnp.einsum("bhqk,bkhc->bqhc", weights, v).reshape(b, t, d)
        x = x + dense(y, p["attn"]["o"])
        y = layer_norm(x, p["ln2"])
        return x + dense(jax.nn.gelu(dense(y, p["mlp"]["up"]), approximate=True), p["mlp"]["down"])

    def loss(top: Any, layers: Any, tokens: jax.Array) -> jax.Array:
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        t = inputs.shape[1]
        x = top["embed"]["tokens"][inputs] + top["embed"]["positions"][None, :t]
        causal = jnp.tril(jnp.ones((t, t), bool))
        if isinstance(layers, list):
            for p in layers:
                x = block(x, p, causal)
        else:
            x, _ = jax.lax.scan(lambda x, p: (block(x, p, causal), None), x, layers)
        x = layer_norm(x, top["final_ln"])
        logits = x @ top["embed"]["tokens"].T
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, targets[..., None], axis=-1))

    return loss


def weights(params: Any, layers: int, scan: bool) -> tuple[Any, Any]:
    """``(top, layers)`` for :func:`jax_loss` from the params tree or its ``FlatParams``.

    Unrolled: the per-layer subtrees (``FlatParams.unflatten()`` cuts every leaf out of its
    bucket). Scanned: one stacked array per role; from a ``FlatParams`` flattened with
    ``labels=role`` that is ``flat.stacked(role)``, a reshape of the role's bucket (no copy);
    from the tree, ``jnp.stack`` of the layers' leaves (a copy each step, as a model with
    per-layer params that scans must make).
    """
    names = [f"layer{i:03d}" for i in range(layers)]
    if not scan:
        tree = params.unflatten() if isinstance(params, gradtx.FlatParams) else params
        return {k: v for k, v in tree.items() if k not in names}, [tree[n] for n in names]
    if isinstance(params, gradtx.FlatParams):
        roles = {r for r in params.labels if isinstance(r, str)}
        top = nest({r: params.stacked(r)[0] for r in roles if not r.startswith(("ln", "attn", "mlp"))})
        stacked = nest({r: params.stacked(r) for r in roles if r.startswith(("ln", "attn", "mlp"))})
        return top, stacked
    top = {k: v for k, v in params.items() if k not in names}
    return top, jax.tree.map(lambda *xs: jnp.stack(xs), *[params[n] for n in names])


def gradtx_recipe() -> Any:
    schedule = gradtx.warmup_cosine_decay_schedule(INIT_LR, PEAK_LR, WARMUP_STEPS, DECAY_STEPS, END_LR)
    return gradtx.chain(
        gradtx.clip_by_global_norm(MAX_NORM),
        gradtx.adamw(schedule, b1=B1, b2=B2, eps=EPS, weight_decay=WEIGHT_DECAY, mask=DECAY),
    )


def optax_recipe() -> optax.GradientTransformation:
    schedule = optax.warmup_cosine_decay_schedule(INIT_LR, PEAK_LR, WARMUP_STEPS, DECAY_STEPS, END_LR)

    def mask(params: Any) -> Any:
        return jax.tree_util.tree_map_with_path(lambda path, _: decays(_path(path)), params)

    return optax.chain(
        optax.clip_by_global_norm(MAX_NORM),
        optax.adamw(schedule, b1=B1, b2=B2, eps=EPS, weight_decay=WEIGHT_DECAY, mask=mask),
    )


class JaxRunner:
    compiles = True

    def __init__(self, name: str, model: Model, params: dict[str, np.ndarray], tokens: np.ndarray, scan: bool):
        self.name = name
        self.flat = name == "gradtx-flat"
        self._make_tx = optax_recipe if name == "optax" else gradtx_recipe
        self._apply = optax.apply_updates if name == "optax" else gradtx.apply_updates
        self._loss = jax_loss(model)
        self._read = lambda p: weights(p, model.layers, scan)
        tree = device.put(nest(params))
        # The flat layout's buckets split by the mask, so every bucket is decayed or not as a whole;
        # scanned, by role (which decides the mask), so each bucket is one role stacked over the layers.
        labels = (lambda t: jax.tree_util.tree_map_with_path(lambda p, _: role(_path(p)), t)) if scan else DECAY
        self.params = gradtx.flatten_params(tree, labels=labels) if self.flat else tree
        self.tokens = device.put(tokens)
        self.state = self._make_tx().init(self.params)
        self._step: Any = None

    def compile(self) -> float:
        tx, apply_updates, loss, read = self._make_tx(), self._apply, self._loss, self._read

        def step(params: Any, state: Any, tokens: jax.Array) -> tuple[Any, Any, jax.Array]:
            value, grads = jax.value_and_grad(lambda p: loss(*read(p), tokens))(params)
            updates, state = tx.update(grads, state, params)
            return apply_updates(params, updates), state, value

        t0 = time.perf_counter()
        self._step = jax.jit(step, donate_argnums=(0, 1)).lower(self.params, self.state, self.tokens).compile()
        return time.perf_counter() - t0

    def run(self, steps: int) -> float:
        step, params, state, tokens = self._step, self.params, self.state, self.tokens
        t0 = time.perf_counter()
        for _ in range(steps):
            params, state, _ = step(params, state, tokens)
        device.sync((params, state))
        elapsed = time.perf_counter() - t0
        self.params, self.state = params, state
        return elapsed

    def params_leaves(self) -> dict[str, np.ndarray]:
        tree = self.params.unflatten() if self.flat else self.params
        return {_path(p): np.asarray(x) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


# ----------------------------------------------------------------------------- torch model


def torch_schedule(count: int) -> float:
    """Optax's ``warmup_cosine_decay_schedule`` in plain Python (no JAX call inside torch's step)."""
    if count < WARMUP_STEPS:
        return INIT_LR + (PEAK_LR - INIT_LR) * count / WARMUP_STEPS
    t = min(count - WARMUP_STEPS, DECAY_STEPS - WARMUP_STEPS) / (DECAY_STEPS - WARMUP_STEPS)
    return END_LR + (PEAK_LR - END_LR) * 0.5 * (1 + math.cos(math.pi * t))


class TorchRunner:
    compiles = False

    def __init__(self, name: str, model: Model, params: dict[str, np.ndarray], tokens: np.ndarray, scan: bool):
        del scan  # eager: the layers run one after the other either way
        import torch.nn.functional as F

        self.name = name
        self.params = {path: device.torch_tensor(x, requires_grad=True) for path, x in params.items()}
        self.tokens = device.torch_tensor(tokens).long()
        impl = "fused" if name == "torch-fused" else "foreach"
        groups = [
            {"params": [p for path, p in self.params.items() if decays(path)], "weight_decay": WEIGHT_DECAY},
            {"params": [p for path, p in self.params.items() if not decays(path)], "weight_decay": 0.0},
        ]
        self.opt = torch.optim.AdamW(groups, lr=INIT_LR, betas=(B1, B2), eps=EPS, **{impl: True})
        self.count = 0
        h, d, P = model.heads, model.width, self.params

        def layer_norm(x: torch.Tensor, prefix: str) -> torch.Tensor:
            return F.layer_norm(x, (d,), P[f"{prefix}/scale"], P[f"{prefix}/bias"], LN_EPS)

        def dense(x: torch.Tensor, prefix: str) -> torch.Tensor:
            return torch.addmm(P[f"{prefix}/bias"], x.reshape(-1, x.shape[-1]), P[f"{prefix}/kernel"]).reshape(
                *x.shape[:-1], -1
            )

        def loss() -> torch.Tensor:
            inputs, targets = self.tokens[:, :-1], self.tokens[:, 1:]
            b, t = inputs.shape
            x = P["embed/tokens"][inputs] + P["embed/positions"][None, :t]
            for i in range(model.layers):
                pre = f"layer{i:03d}"
                y = layer_norm(x, f"{pre}/ln1")
                q, v = (dense(y, f"{pre}/attn/{n}").reshape(b, t, h, d // h).transpose(1, 2) for n in "qv")
                k = (y @ P[f"{pre}/attn/k/kernel"]).reshape(b, t, h, d // h).transpose(1, 2)
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
                x = x + dense(y, f"{pre}/attn/o")
                y = layer_norm(x, f"{pre}/ln2")
                x = x + dense(F.gelu(dense(y, f"{pre}/mlp/up"), approximate="tanh"), f"{pre}/mlp/down")
            x = layer_norm(x, "final_ln")
            logits = x @ P["embed/tokens"].T
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

        self._loss = loss

    def step(self) -> None:
        lr = torch_schedule(self.count)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        self._loss().backward()
        torch.nn.utils.clip_grad_norm_(list(self.params.values()), MAX_NORM, foreach=True)
        self.opt.step()
        self.count += 1

    def run(self, steps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            self.step()
        device.sync()
        return time.perf_counter() - t0

    def params_leaves(self) -> dict[str, np.ndarray]:
        return {path: p.detach().cpu().numpy() for path, p in self.params.items()}


RUNNERS: dict[str, type[JaxRunner] | type[TorchRunner]] = {
    "gradtx": JaxRunner,
    "gradtx-flat": JaxRunner,
    "optax": JaxRunner,
    "torch-fused": TorchRunner,
    "torch-foreach": TorchRunner,
}
DEFAULT_CONTENDERS = "gradtx,gradtx-flat,optax,torch-fused"


# ----------------------------------------------------------------------------- measuring


def _agreement(after: dict[str, np.ndarray], reference: dict[str, np.ndarray], initial: dict[str, np.ndarray]) -> float:
    """The largest per-leaf relative L2 difference of the params' change from the reference's,
    in units of ``AGREEMENT``. An L2 norm, because Adam's first steps amplify float32 noise in
    gradients near zero (``g / (|g| + eps)``) into a few elements that differ by a sizeable part
    of a step; a different algorithm (e.g. decaying the layer norms) moves a whole leaf."""
    worst = 0.0
    for k, p0 in initial.items():
        change, ref_change = after[k] - p0, reference[k] - p0
        worst = max(worst, float(np.linalg.norm(change - ref_change) / max(np.linalg.norm(ref_change), 1e-30)))
    return worst / AGREEMENT


def measure(
    model: Model, names: list[str], reps: int, target: float, log: Callable[[str], None], scan: bool = True
) -> dict[str, Any]:
    params, tokens = model.arrays()
    out: dict[str, dict[str, Any]] = {}
    runners: dict[str, Any] = {}
    for name in names:
        try:
            runners[name] = RUNNERS[name](name, model, params, tokens, scan)
        except (TypeError, ValueError) as err:  # e.g. a layout that cannot run this recipe
            out[name] = {"status": "not available", "reason": f"{type(err).__name__}: {err}".splitlines()[0]}
            log(f"  {name}: not available: {out[name]['reason']}")
            continue
        out[name] = {"status": "ok"}
    # One throwaway compile first: the first in a process pays one-time setup that no contender owns.
    jax.jit(lambda x: x + 1).lower(jnp.zeros(2)).compile()
    for name, runner in runners.items():
        if runner.compiles:
            out[name]["compile_s"] = runner.compile()
            log(f"  {name}: compiled in {out[name]['compile_s']:.1f} s")
    after = {}
    for name, runner in runners.items():
        runner.run(2)
        after[name] = runner.params_leaves()
    first = "optax" if "optax" in after else next(iter(after))
    for name in runners:
        out[name]["agreement"] = error = _agreement(after[name], after[first], params)
        if not error <= 1:  # still timed, but flagged in the table
            out[name]["mismatch"] = f"params after 2 steps differ from {first}'s ({error:.3g} x tolerance)"
            log(f"  {name}: MISMATCH: {out[name]['mismatch']}")
    inner = {}
    for name, runner in runners.items():
        one = min(runner.run(1) for _ in range(2))
        inner[name] = max(1, min(200, round(target / max(one, 1e-9))))
    samples: dict[str, list[float]] = {n: [] for n in runners}
    order = list(runners)
    gc.collect()
    gc.disable()
    try:
        for rep in range(reps):
            k = rep % len(order)
            for name in order[k:] + order[:k]:
                samples[name].append(runners[name].run(inner[name]) / inner[name])
                time.sleep(0.002)
    finally:
        gc.enable()
    for name in runners:
        s = samples[name]
        out[name].update(step_s={"median": statistics.median(s), "min": min(s), "max": max(s), "samples": s})
        out[name]["inner"] = inner[name]
    return out


def _ratio(cell: dict[str, Any], name: str, base: str, key: str) -> str:
    a, b = cell.get(name, {}), cell.get(base, {})
    if a.get("status") != "ok" or b.get("status") != "ok" or key not in a or key not in b:
        return "—"
    va = a[key]["median"] if key == "step_s" else a[key]
    vb = b[key]["median"] if key == "step_s" else b[key]
    return f"{va / vb:.2f}"


def render(run: dict[str, Any]) -> str:
    meta = run["meta"]
    lines = [
        f"Whole training step, pre-LN transformer ({meta.get('model', 'unrolled')} JAX model, "
        f"width {meta['width']}, {meta['heads']} heads, vocab {meta['vocab']}, sequence {meta['seq']}, "
        f"batch {meta['batch']}), float32",
        "",
        f"* date: {meta['date']}; wall time {meta['wall_s']:.0f} s; command: `{meta['command']}`",
        f"* device: {meta['device']}; load average before {meta['load_before']}, after {meta['load_after']}",
        f"* versions: {meta['versions']}; torch.set_num_threads({meta.get('torch_threads', '?')})",
        f"* recipe: {RECIPE}",
        f"* step: median [min–max] over {meta['reps']} interleaved repetitions of ~{meta['target'] * 1e3:.0f} ms;"
        " compile: trace + lower + compile of the whole step, once",
        "",
        "| layers | leaves | contender | compile (s) | step (ms) | step / optax | step / torch-fused |"
        " compile / optax |",
        "| --: | --: | --- | --: | --: | --: | --: | --: |",
    ]
    for cell in run["cells"]:
        for name in meta["contenders"]:
            r = cell["results"].get(name)
            if r is None:
                continue
            head = f"| {cell['layers']} | {cell['leaves']} | {name}{' (MISMATCH)' * ('mismatch' in r)} |"
            if r["status"] != "ok":
                lines.append(f"{head} {r['status']}: {r['reason'][:120]} | | | | |")
                continue
            s = r["step_s"]
            compile_s = f"{r['compile_s']:.2f}" if "compile_s" in r else "— (eager)"
            lines.append(
                f"{head} {compile_s} | {s['median'] * 1e3:.3g} [{s['min'] * 1e3:.3g}–{s['max'] * 1e3:.3g}] | "
                f"{_ratio(cell['results'], name, 'optax', 'step_s')} | "
                f"{_ratio(cell['results'], name, 'torch-fused', 'step_s')} | "
                f"{_ratio(cell['results'], name, 'optax', 'compile_s')} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transformer_step", description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="4,16", help="comma-separated block counts (15 leaves each, +4)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--seq", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument(
        "--model",
        choices=("scan", "unrolled"),
        default="scan",
        help="JAX model: one block under lax.scan over stacked layer weights, or every block in the graph",
    )
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.1, help="seconds per repetition and contender")
    parser.add_argument("--contenders", default=DEFAULT_CONTENDERS, help=f"subset of {list(RUNNERS)}")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: one per core). On a busy machine use 1: torch's OpenMP "
        "threads wait for each other at every op, and a descheduled one stalls them all (measured "
        "5-15x slower steps with 2 threads on a 2-core machine under load)",
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="output directory")
    parser.add_argument("--name", default="transformer_step", help="output file stem")
    device.add_argument(parser)
    args = parser.parse_args(argv)
    names = [n for n in args.contenders.split(",") if n]
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        raise SystemExit(f"--contenders: unknown {unknown}; choose from {list(RUNNERS)}")
    device.select(args.device)
    jax.config.update("jax_enable_compilation_cache", False)  # every compile is measured cold
    torch_threads = args.torch_threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(torch_threads)
    start, load_before = time.perf_counter(), [round(x, 2) for x in os.getloadavg()]
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m benchmarks.transformer_step " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "device": device.describe(),
        "versions": f"jax {jax.__version__}, optax {optax.__version__}, torch {torch.__version__}",
        "torch_threads": torch_threads,
        "contenders": names,
        "reps": args.reps,
        "target": args.target,
        "load_before": load_before,
        **{k: getattr(args, k) for k in ("model", "width", "heads", "vocab", "seq", "batch")},
    }
    cells = []
    for layers in (int(n) for n in args.layers.split(",") if n):
        model = Model(layers, args.width, args.heads, args.vocab, args.seq, args.batch)
        leaves = len(model.shapes())
        print(f"{layers} layers ({leaves} leaves)  ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        cells.append(
            {"layers": layers, "leaves": leaves, "results": measure(model, names, args.reps, args.target, _log, args.model == "scan")}
        )
    meta.update(wall_s=time.perf_counter() - start, load_after=[round(x, 2) for x in os.getloadavg()])
    run = {"meta": meta, "cells": cells}
    markdown = render(run)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(run, indent=1))
    (args.out / f"{args.name}.md").write_text(markdown + "\n")
    print(markdown)
    return run


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
