"""The optimizers of ``optax.contrib``, under the same names, for familiarity.

gradtx treats them as first-class optimizers: each is also at the top level
(``gradtx.prodigy`` is ``gradtx.contrib.prodigy``), with Optax's arguments, defaults and
numbers. This module only re-exports them, so code written against ``optax.contrib``
reads the same here.
"""

# --- schedule-free, D-adaptation, Prodigy, DoG, Mechanic, COCOB, MADGRAD (G3)
# --- other contrib optimizers (G4)
from gradtx._optimizers.acprop import acprop, scale_by_acprop
from gradtx._optimizers.ademamix import (
    ScaleByAdemamixState,
    ScaleBySimplifiedAdEMAMixState,
    ademamix,
    scale_by_ademamix,
    scale_by_simplified_ademamix,
    simplified_ademamix,
)
from gradtx._optimizers.adopt import adopt, scale_by_adopt
from gradtx._optimizers.cocob import COCOBState, cocob, scale_by_cocob
from gradtx._optimizers.complex_valued import SplitRealAndImaginaryState, split_real_and_imaginary
from gradtx._optimizers.dadapt import DAdaptAdamWState, dadapt_adamw
from gradtx._optimizers.dog import DoGState, DoWGState, dog, dowg
from gradtx._optimizers.dpsgd import (
    DifferentiallyPrivateAggregateState,
    differentially_private_aggregate,
    dpsgd,
)
from gradtx._optimizers.madgrad import MadgradState, madgrad, scale_by_madgrad
from gradtx._optimizers.mechanic import MechanicState, mechanize
from gradtx._optimizers.momo import MomoAdamState, MomoState, momo, momo_adam
from gradtx._optimizers.prodigy import ProdigyState, prodigy
from gradtx._optimizers.sam import NormalizeState, SAMState, normalize, sam
from gradtx._optimizers.schedule_free import (
    ScheduleFreeState,
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)
from gradtx._optimizers.sophia import HutchinsonState, SophiaState, hutchinson_estimator_diag_hessian, sophia

__all__ = [
    # G3
    "COCOBState",
    "DAdaptAdamWState",
    # G4
    "DifferentiallyPrivateAggregateState",
    "DoGState",
    "DoWGState",
    "HutchinsonState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "NormalizeState",
    "ProdigyState",
    "SAMState",
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScheduleFreeState",
    "SophiaState",
    "SplitRealAndImaginaryState",
    "acprop",
    "ademamix",
    "adopt",
    "cocob",
    "dadapt_adamw",
    "differentially_private_aggregate",
    "dog",
    "dowg",
    "dpsgd",
    "hutchinson_estimator_diag_hessian",
    "madgrad",
    "mechanize",
    "momo",
    "momo_adam",
    "normalize",
    "prodigy",
    "sam",
    "scale_by_acprop",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_cocob",
    "scale_by_madgrad",
    "scale_by_simplified_ademamix",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "simplified_ademamix",
    "sophia",
    "split_real_and_imaginary",
]
