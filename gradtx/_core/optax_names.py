"""Optax names gradtx does not define, and what to use instead (for ``gradtx.<name>`` lookups).

``gradtx.__getattr__`` turns a lookup of one of these names into an ``AttributeError`` that
says where the feature is in gradtx, so an Optax user swapping ``import optax`` for
``import gradtx`` learns the gradtx spelling instead of reading a bare "has no attribute".
docs/from_optax.md holds the same table for reading.
"""

from __future__ import annotations

_ISSUE_12 = "not offered yet (planned: Optax's remaining transformations, issue 12); use optax.{name} inside a gradtx chain meanwhile"
_OUT_OF_SCOPE = "out of scope for gradtx (an optimizer library); keep using optax.{name}"

EQUIVALENTS: dict[str, str] = {
    # types and state names
    "MaskOrFn": "gradtx's masks: a bool tree, a callable params -> bool tree, or path patterns (see gradtx.masked)",
    "TransformInitFn": "the `init` field of gradtx.GradientTransformation",
    "TransformUpdateFn": "the `update` field of gradtx.GradientTransformation (it always takes **extra_args)",
    "TransformUpdateExtraArgsFn": "the `update` field of gradtx.GradientTransformation (it always takes **extra_args)",
    "ShouldSkipUpdateFunction": "any callable (updates, gradients, params) -> (should_skip, info), as in Optax",
    "WrappedSchedule": "a plain schedule: gradtx schedules are pure functions count -> value",
    "ReduceLROnPlateauState": "gradtx.ReduceOnPlateauState (the same fields)",
    "ScaleByRStdDevState": "gradtx.ScaleByRmsState (the state of gradtx.scale_by_stddev)",
    "LookaheadParams": "the params themselves: gradtx.lookahead keeps the slow weights in its state (gradtx.eval_params)",
    "tree_utils": "gradtx.tree (Optax's newer name for the same utilities)",
    # combinators and wrappers
    "GradientTransformationExtraArgs": (
        "gradtx.GradientTransformation (every gradtx transformation accepts extra keyword arguments)"
    ),
    "OptState": "any pytree (gradtx states are NamedTuples of arrays)",
    # optimizers and blocks under another name
}

NOT_OFFERED: dict[str, str] = {
    **{
        name: _OUT_OF_SCOPE
        for name in (
            "losses projections perturbations second_order experimental assignment schedules transforms "
            "convex_kl_divergence cosine_distance cosine_similarity ctc_loss ctc_loss_with_forward_probs "
            "generalized_kl_divergence hinge_loss huber_loss kl_divergence l2_loss log_cosh ntxent "
            "safe_softmax_cross_entropy sigmoid_binary_cross_entropy sigmoid_focal_loss smooth_labels "
            "softmax_cross_entropy softmax_cross_entropy_with_integer_labels squared_error"
        ).split()
    },
}


def missing_name_error(name: str) -> AttributeError:
    """The error for ``gradtx.<name>``: with the gradtx equivalent when Optax has that name."""
    if name in EQUIVALENTS:
        return AttributeError(f"gradtx has no {name!r} (an Optax name); use {EQUIVALENTS[name]}. See docs/from_optax.md.")
    if name in NOT_OFFERED:
        return AttributeError(f"gradtx has no {name!r}: {NOT_OFFERED[name].format(name=name)}. See docs/from_optax.md.")
    try:
        import optax  # noqa: PLC0415 - optional: only to say whether the name is an Optax one
        import optax.contrib  # noqa: PLC0415
    except ImportError:
        optax = None
    if optax is not None and (hasattr(optax, name) or hasattr(optax.contrib, name)):
        return AttributeError(f"gradtx has no {name!r}: {_ISSUE_12.format(name=name)}. See docs/from_optax.md.")
    return AttributeError(f"module 'gradtx' has no attribute {name!r}")
