# pyright: reportUnnecessaryTypeIgnoreComment=true
"""Misuses of gradtx that both type checkers must reject (issue 11).

Each line carries the ignore comment of each checker for the error it must raise:
``# type: ignore[<code>]`` for mypy and ``# pyright: ignore[<rule>]`` for pyright. An ignore
that silences nothing fails the check (mypy's ``warn_unused_ignores``, on under ``--strict``;
pyright's ``reportUnnecessaryTypeIgnoreComment``, on above, where pyright also stops reading
``# type: ignore``), so a misuse that stops being an error fails ``tests/typing/test_typing.py``.
Nothing here runs: the lines are in a function that is never called.
"""

from __future__ import annotations

import jax.numpy as jnp

import gradtx


def misuses() -> None:
    # A factory keeps its signature through @transformation (ParamSpec): argument types...
    gradtx.adam("fast")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    gradtx.torch.AdamW(lr=1e-3, betas=0.9)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    # ... keyword names and arity ...
    gradtx.sgd(0.1, nesterovv=True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    gradtx.torch.SGD(lr=0.1, betas=(0.9, 0.99))  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    gradtx.adam()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    gradtx.torch.lr_scheduler.StepLR(gradtx.torch.SGD(lr=0.1))  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    # ... and a GradientTransformation result.
    bad: str = gradtx.adam(1e-3)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    del bad
    gradtx.chain(gradtx.adam(1e-3), "sgd")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    gradtx.torch.lr_scheduler.StepLR(gradtx.torch.SGD(lr=0.1), step_size="10")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    # init and update keep theirs.
    tx = gradtx.adam(1e-3)
    state = tx.init(jnp.zeros(3))
    tx.update(jnp.ones(3))  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    tx.init(jnp.zeros(3), state)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

    # A misspelt name is an error despite gradtx's module __getattr__ (which returns `object`).
    gradtx.adamm(1e-3)  # type: ignore[operator]  # pyright: ignore[reportCallIssue]
    # lr_scheduler exports its schedulers only, not the helpers it is built from.
    gradtx.torch.lr_scheduler.chain(tx)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
