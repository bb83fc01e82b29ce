"""gradtx: composable gradient transformations for JAX, with torch.optim's numbers.

Everything public is importable from here; the modules underneath are private.
"""

from gradtx._core.base import EmptyState as EmptyState
from gradtx._core.base import GradientTransformation as GradientTransformation
from gradtx._core.base import Params as Params
from gradtx._core.base import ScalarOrSchedule as ScalarOrSchedule
from gradtx._core.base import Schedule as Schedule
from gradtx._core.base import Updates as Updates
from gradtx._core.base import describe as describe
from gradtx._core.base import eval_params as eval_params
from gradtx._core.base import identity as identity
from gradtx._core.base import stateless as stateless
from gradtx._core.base import transformation as transformation
from gradtx._core.combine import MaskedNode as MaskedNode
from gradtx._core.combine import MaskedState as MaskedState
from gradtx._core.combine import PartitionState as PartitionState
from gradtx._core.combine import chain as chain
from gradtx._core.combine import masked as masked
from gradtx._core.combine import named_chain as named_chain
from gradtx._core.combine import partition as partition
from gradtx._core.flat import FlatParams as FlatParams
from gradtx._core.flat import flatten_params as flatten_params
from gradtx._core.interop import to_optax as to_optax
from gradtx._core.numerics import bias_correction as bias_correction
from gradtx._core.numerics import global_norm as global_norm
from gradtx._core.numerics import matrix_inverse_pth_root as matrix_inverse_pth_root
from gradtx._core.numerics import multi_normal as multi_normal
from gradtx._core.numerics import nnls as nnls
from gradtx._core.numerics import power_iteration as power_iteration
from gradtx._core.numerics import safe_increment as safe_increment
from gradtx._core.numerics import safe_int32_increment as safe_int32_increment
from gradtx._core.numerics import safe_norm as safe_norm
from gradtx._core.numerics import safe_root_mean_squares as safe_root_mean_squares
from gradtx._core.numerics import update_infinity_moment as update_infinity_moment
from gradtx._core.numerics import update_moment as update_moment
from gradtx._core.numerics import update_moment_per_elem_norm as update_moment_per_elem_norm
from gradtx._core.paths import path_labels as path_labels

# --- multi-device helpers
from gradtx._core.sharding import state_shardings as state_shardings
from gradtx._core.update import apply_updates as apply_updates

# --- optax/keras optimizers and their blocks
from gradtx._optimizers.adabelief import ScaleByBeliefState as ScaleByBeliefState
from gradtx._optimizers.adabelief import adabelief as adabelief
from gradtx._optimizers.adabelief import scale_by_belief as scale_by_belief

# --- torch optimizers: adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam
from gradtx._optimizers.adadelta import ScaleByAdadeltaState as ScaleByAdadeltaState
from gradtx._optimizers.adadelta import adadelta as adadelta
from gradtx._optimizers.adadelta import scale_by_adadelta as scale_by_adadelta

# --- torch optimizers: sparse_adam, adafactor, muon
from gradtx._optimizers.adafactor import FactoredState as FactoredState
from gradtx._optimizers.adafactor_torch import FactoredMoment as FactoredMoment
from gradtx._optimizers.adafactor_torch import ScaleByFactoredRmsState as ScaleByFactoredRmsState
from gradtx._optimizers.adafactor import adafactor as adafactor
from gradtx._optimizers.adafactor import scale_by_factored_rms as scale_by_factored_rms
from gradtx._optimizers.adafactor import scale_by_param_block_rms as scale_by_param_block_rms
from gradtx._optimizers.adagrad import ScaleByRssState as ScaleByRssState
from gradtx._optimizers.adagrad import adagrad as adagrad
from gradtx._optimizers.adagrad import scale_by_rss as scale_by_rss
from gradtx._optimizers.adam import ScaleByAdamState as ScaleByAdamState
from gradtx._optimizers.adam import ScaleByAmsgradState as ScaleByAmsgradState
from gradtx._optimizers.adam import adam as adam
from gradtx._optimizers.adam import adamw as adamw
from gradtx._optimizers.adam import amsgrad as amsgrad
from gradtx._optimizers.adam import scale_by_adam as scale_by_adam
from gradtx._optimizers.adam import scale_by_amsgrad as scale_by_amsgrad
from gradtx._optimizers.adamax import ScaleByAdamaxState as ScaleByAdamaxState
from gradtx._optimizers.adamax import adamax as adamax
from gradtx._optimizers.adamax import adamaxw as adamaxw
from gradtx._optimizers.adamax import scale_by_adamax as scale_by_adamax
from gradtx._optimizers.adan import ScaleByAdanState as ScaleByAdanState
from gradtx._optimizers.adan import adan as adan
from gradtx._optimizers.adan import scale_by_adan as scale_by_adan
from gradtx._optimizers.asgd import AsgdAveragingState as AsgdAveragingState
from gradtx._optimizers.asgd import asgd as asgd
from gradtx._optimizers.asgd import asgd_averaging as asgd_averaging
from gradtx._optimizers.asgd import averaged_params as averaged_params
from gradtx._optimizers.fromage import fromage as fromage
from gradtx._optimizers.ftrl import FtrlState as FtrlState
from gradtx._optimizers.ftrl import ftrl as ftrl
from gradtx._optimizers.lamb import lamb as lamb
from gradtx._optimizers.lars import lars as lars

# --- torch optimizers: lbfgs, minimize
from gradtx._optimizers.backtracking import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
from gradtx._optimizers.backtracking import ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState
from gradtx._optimizers.backtracking import scale_by_backtracking_linesearch as scale_by_backtracking_linesearch
from gradtx._optimizers.lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from gradtx._optimizers.lbfgs import lbfgs as lbfgs
from gradtx._optimizers.lbfgs import scale_by_lbfgs as scale_by_lbfgs
from gradtx._optimizers.lbfgs_torch import LbfgsState as LbfgsState
from gradtx._optimizers.lion import ScaleByLionState as ScaleByLionState
from gradtx._optimizers.lion import lion as lion
from gradtx._optimizers.lion import scale_by_lion as scale_by_lion
from gradtx._optimizers.minimize import MinimizeResult as MinimizeResult
from gradtx._optimizers.minimize import minimize as minimize
from gradtx._optimizers.zoom import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from gradtx._optimizers.zoom import ZoomLinesearchInfo as ZoomLinesearchInfo
from gradtx._optimizers.zoom import scale_by_zoom_linesearch as scale_by_zoom_linesearch
from gradtx._optimizers.zoom import value_and_grad_from_state as value_and_grad_from_state
from gradtx._optimizers.muon import MuonDimensionNumbers as MuonDimensionNumbers
from gradtx._optimizers.muon import MuonState as MuonState
from gradtx._optimizers.muon import muon as muon
from gradtx._optimizers.muon import scale_by_muon as scale_by_muon
from gradtx._optimizers.muon import scale_by_shape as scale_by_shape
from gradtx._optimizers.muon_torch import ScaleByMuonState as ScaleByMuonState
from gradtx._optimizers.nadam import ScaleByNadamState as ScaleByNadamState
from gradtx._optimizers.nadam import nadam as nadam
from gradtx._optimizers.nadam import nadamw as nadamw
from gradtx._optimizers.nadam import scale_by_nadam as scale_by_nadam
from gradtx._optimizers.noisy_sgd import AddNoiseState as AddNoiseState
from gradtx._optimizers.noisy_sgd import add_noise as add_noise
from gradtx._optimizers.noisy_sgd import noisy_sgd as noisy_sgd
from gradtx._optimizers.novograd import ScaleByNovogradState as ScaleByNovogradState
from gradtx._optimizers.novograd import novograd as novograd
from gradtx._optimizers.novograd import scale_by_novograd as scale_by_novograd
from gradtx._optimizers.optimistic import ScaleByOptimisticGradientState as ScaleByOptimisticGradientState
from gradtx._optimizers.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from gradtx._optimizers.optimistic import scale_by_optimistic_gradient as scale_by_optimistic_gradient
from gradtx._optimizers.polyak_sgd import polyak_sgd as polyak_sgd
from gradtx._optimizers.polyak_sgd import scale_by_polyak as scale_by_polyak
from gradtx._optimizers.radam import ScaleByRadamState as ScaleByRadamState
from gradtx._optimizers.radam import radam as radam
from gradtx._optimizers.radam import scale_by_radam as scale_by_radam
from gradtx._optimizers.rmsprop import ScaleByRmsState as ScaleByRmsState
from gradtx._optimizers.rmsprop import rmsprop as rmsprop
from gradtx._optimizers.rmsprop import scale_by_rms as scale_by_rms
from gradtx._optimizers.rmsprop import scale_by_stddev as scale_by_stddev
from gradtx._optimizers.rprop import ScaleByRpropState as ScaleByRpropState
from gradtx._optimizers.rprop import rprop as rprop
from gradtx._optimizers.rprop import scale_by_rprop as scale_by_rprop
from gradtx._optimizers.sgd import sgd as sgd
from gradtx._optimizers.schedule_free import ScheduleFreeState as ScheduleFreeState
from gradtx._optimizers.schedule_free import schedule_free as schedule_free
from gradtx._optimizers.schedule_free import schedule_free_adamw as schedule_free_adamw
from gradtx._optimizers.schedule_free import schedule_free_eval_params as schedule_free_eval_params
from gradtx._optimizers.schedule_free import schedule_free_sgd as schedule_free_sgd
from gradtx._optimizers.prodigy import ProdigyState as ProdigyState
from gradtx._optimizers.prodigy import prodigy as prodigy
from gradtx._optimizers.dadapt import DAdaptAdamWState as DAdaptAdamWState
from gradtx._optimizers.dadapt import dadapt_adamw as dadapt_adamw
from gradtx._optimizers.dog import DoGState as DoGState
from gradtx._optimizers.dog import DoWGState as DoWGState
from gradtx._optimizers.dog import dog as dog
from gradtx._optimizers.dog import dowg as dowg
from gradtx._optimizers.dog import scale_by_dog as scale_by_dog
from gradtx._optimizers.dog import scale_by_dowg as scale_by_dowg
from gradtx._optimizers.mechanic import MechanicState as MechanicState
from gradtx._optimizers.mechanic import mechanize as mechanize
from gradtx._optimizers.cocob import COCOBState as COCOBState
from gradtx._optimizers.cocob import cocob as cocob
from gradtx._optimizers.cocob import scale_by_cocob as scale_by_cocob
from gradtx._optimizers.madgrad import MadgradState as MadgradState
from gradtx._optimizers.madgrad import madgrad as madgrad
from gradtx._optimizers.madgrad import scale_by_madgrad as scale_by_madgrad
from gradtx._optimizers.sign_sgd import scale_by_sign as scale_by_sign
from gradtx._optimizers.sign_sgd import sign_sgd as sign_sgd
from gradtx._optimizers.sm3 import ScaleBySM3State as ScaleBySM3State
from gradtx._optimizers.sm3 import scale_by_sm3 as scale_by_sm3
from gradtx._optimizers.sm3 import sm3 as sm3
from gradtx._optimizers.sparse_adam import ScaleBySparseAdamState as ScaleBySparseAdamState
from gradtx._optimizers.sparse_adam import scale_by_sparse_adam as scale_by_sparse_adam
from gradtx._optimizers.sparse_adam import sparse_adam as sparse_adam
from gradtx._optimizers.yogi import ScaleByYogiState as ScaleByYogiState
from gradtx._optimizers.yogi import scale_by_yogi as scale_by_yogi
from gradtx._optimizers.yogi import yogi as yogi

# --- schedules
from gradtx._schedules.cosine import cosine_annealing_schedule as cosine_annealing_schedule
from gradtx._schedules.cosine import cosine_decay_schedule as cosine_decay_schedule
from gradtx._schedules.cosine import cosine_warm_restarts_schedule as cosine_warm_restarts_schedule
from gradtx._schedules.cyclic import cyclic_schedule as cyclic_schedule
from gradtx._schedules.cyclic import onecycle_momentum_schedule as onecycle_momentum_schedule
from gradtx._schedules.cyclic import onecycle_schedule as onecycle_schedule
from gradtx._schedules.exponential import exponential_decay as exponential_decay
from gradtx._schedules.exponential import exponential_schedule as exponential_schedule
from gradtx._schedules.factor import lambda_factor_schedule as lambda_factor_schedule
from gradtx._schedules.factor import multiplicative_factor_schedule as multiplicative_factor_schedule
from gradtx._schedules.join import join_schedules as join_schedules

# --- run-time hyperparameters, plateau, freeze, parameter EMA
from gradtx._schedules.plateau import ReduceOnPlateauState as ReduceOnPlateauState
from gradtx._schedules.plateau import reduce_on_plateau as reduce_on_plateau
from gradtx._schedules.polynomial import linear_factor_schedule as linear_factor_schedule
from gradtx._schedules.polynomial import linear_schedule as linear_schedule
from gradtx._schedules.polynomial import polynomial_schedule as polynomial_schedule
from gradtx._schedules.step import constant_factor_schedule as constant_factor_schedule
from gradtx._schedules.step import constant_schedule as constant_schedule
from gradtx._schedules.step import multistep_schedule as multistep_schedule
from gradtx._schedules.step import piecewise_constant_schedule as piecewise_constant_schedule
from gradtx._schedules.step import step_schedule as step_schedule
from gradtx._schedules.warmup import inverse_sqrt_schedule as inverse_sqrt_schedule
from gradtx._schedules.warmup import sgdr_schedule as sgdr_schedule
from gradtx._schedules.warmup import warmup_constant_schedule as warmup_constant_schedule
from gradtx._schedules.warmup import warmup_cosine_decay_schedule as warmup_cosine_decay_schedule
from gradtx._schedules.warmup import warmup_exponential_decay_schedule as warmup_exponential_decay_schedule
from gradtx._schedules.warmup import warmup_stable_decay_schedule as warmup_stable_decay_schedule

# --- tools
from gradtx._tools.loss_scale import DynamicLossScaleState as DynamicLossScaleState
from gradtx._tools.loss_scale import dynamic_loss_scale as dynamic_loss_scale
from gradtx._tools.loss_scale import scale_loss as scale_loss
from gradtx._tools.loss_scale import unscale_gradients as unscale_gradients
from gradtx._tools.lr_finder import LrFinderResult as LrFinderResult
from gradtx._tools.lr_finder import lr_finder as lr_finder
from gradtx._tools.lr_finder import plot_lr_finder as plot_lr_finder

# --- clipping, robustness, accumulation, averaging blocks
from gradtx._transforms.accumulate import AccumulateGradientsState as AccumulateGradientsState
from gradtx._transforms.accumulate import accumulate_gradients as accumulate_gradients
from gradtx._transforms.averaging import LookaheadState as LookaheadState
from gradtx._transforms.averaging import PolyakAveragingState as PolyakAveragingState
from gradtx._transforms.averaging import lookahead as lookahead
from gradtx._transforms.averaging import polyak_averaging as polyak_averaging
from gradtx._transforms.clip import adaptive_grad_clip as adaptive_grad_clip
from gradtx._transforms.clip import clip as clip
from gradtx._transforms.clip import clip_by_block_rms as clip_by_block_rms
from gradtx._transforms.clip import clip_by_global_norm as clip_by_global_norm
from gradtx._transforms.decay import AddDecayedWeightsState as AddDecayedWeightsState
from gradtx._transforms.decay import add_decayed_weights as add_decayed_weights
from gradtx._transforms.freeze import FreezeState as FreezeState
from gradtx._transforms.freeze import freeze as freeze
from gradtx._transforms.hyperparams import InjectHyperparamsState as InjectHyperparamsState
from gradtx._transforms.hyperparams import get_hyperparams as get_hyperparams
from gradtx._transforms.hyperparams import inject_hyperparams as inject_hyperparams
from gradtx._transforms.hyperparams import set_hyperparams as set_hyperparams
from gradtx._transforms.layerwise import scale_by_trust_ratio as scale_by_trust_ratio
from gradtx._transforms.momentum import EmaState as EmaState
from gradtx._transforms.momentum import MomentumState as MomentumState
from gradtx._transforms.momentum import TraceState as TraceState
from gradtx._transforms.momentum import ema as ema
from gradtx._transforms.momentum import scale_by_momentum as scale_by_momentum
from gradtx._transforms.momentum import trace as trace
from gradtx._transforms.param_ema import ParamEmaState as ParamEmaState
from gradtx._transforms.param_ema import with_param_ema as with_param_ema
from gradtx._transforms.robust import ApplyIfFiniteState as ApplyIfFiniteState
from gradtx._transforms.robust import ZeroNansState as ZeroNansState
from gradtx._transforms.robust import apply_if_finite as apply_if_finite
from gradtx._transforms.robust import zero_nans as zero_nans
from gradtx._transforms.scale import ScaleByScheduleState as ScaleByScheduleState
from gradtx._transforms.scale import scale as scale
from gradtx._transforms.scale import scale_by_learning_rate as scale_by_learning_rate
from gradtx._transforms.scale import scale_by_schedule as scale_by_schedule

# --- issue 12: Optax's remaining transformations (G1)
from gradtx._optimizers.signum import signum as signum
from gradtx._schedules.interpolate import cosine_onecycle_schedule as cosine_onecycle_schedule
from gradtx._schedules.interpolate import linear_onecycle_schedule as linear_onecycle_schedule
from gradtx._schedules.interpolate import piecewise_interpolate_schedule as piecewise_interpolate_schedule
from gradtx._transforms.conditional import ConditionallyMaskState as ConditionallyMaskState
from gradtx._transforms.conditional import ConditionallyTransformState as ConditionallyTransformState
from gradtx._transforms.conditional import conditionally_mask as conditionally_mask
from gradtx._transforms.conditional import conditionally_transform as conditionally_transform
from gradtx._transforms.conditional import selective_transform as selective_transform
from gradtx._transforms.conditional import skip_large_updates as skip_large_updates
from gradtx._transforms.conditional import skip_not_finite as skip_not_finite
from gradtx._transforms.elementwise import NonNegativeParamsState as NonNegativeParamsState
from gradtx._transforms.elementwise import centralize as centralize
from gradtx._transforms.elementwise import init_empty_state as init_empty_state
from gradtx._transforms.elementwise import keep_params_nonnegative as keep_params_nonnegative
from gradtx._transforms.elementwise import normalize_by_update_norm as normalize_by_update_norm
from gradtx._transforms.elementwise import scale_by_param_block_norm as scale_by_param_block_norm
from gradtx._transforms.elementwise import set_to_zero as set_to_zero
from gradtx._transforms.elementwise import stateless_with_tree_map as stateless_with_tree_map
from gradtx._transforms.elementwise import with_extra_args_support as with_extra_args_support
from gradtx._transforms.monitor import MonitorState as MonitorState
from gradtx._transforms.monitor import SnapshotState as SnapshotState
from gradtx._transforms.monitor import measure_with_ema as measure_with_ema
from gradtx._transforms.monitor import monitor as monitor
from gradtx._transforms.monitor import snapshot as snapshot
from gradtx._transforms.multi_steps import ApplyEvery as ApplyEvery
from gradtx._transforms.multi_steps import MultiSteps as MultiSteps
from gradtx._transforms.multi_steps import MultiStepsState as MultiStepsState
from gradtx._transforms.multi_steps import apply_every as apply_every
from gradtx._transforms.optax_wrappers import InjectStatefulHyperparamsState as InjectStatefulHyperparamsState
from gradtx._transforms.optax_wrappers import MultiTransformState as MultiTransformState
from gradtx._transforms.optax_wrappers import flatten as flatten
from gradtx._transforms.optax_wrappers import inject_stateful_hyperparams as inject_stateful_hyperparams
from gradtx._transforms.optax_wrappers import multi_transform as multi_transform
from gradtx._transforms.per_example import per_example_global_norm_clip as per_example_global_norm_clip
from gradtx._transforms.per_example import per_example_layer_norm_clip as per_example_layer_norm_clip
from gradtx._transforms.utilities import incremental_update as incremental_update
from gradtx._transforms.utilities import periodic_update as periodic_update
from gradtx._transforms.utilities import scale_gradient as scale_gradient
from gradtx._transforms.utilities import tree_map_params as tree_map_params

# --- issue 12: contrib optimizers and Optax leftovers (G4)
from gradtx._optimizers.acprop import acprop as acprop
from gradtx._optimizers.acprop import scale_by_acprop as scale_by_acprop
from gradtx._optimizers.ademamix import ScaleByAdemamixState as ScaleByAdemamixState
from gradtx._optimizers.ademamix import ScaleBySimplifiedAdEMAMixState as ScaleBySimplifiedAdEMAMixState
from gradtx._optimizers.ademamix import ademamix as ademamix
from gradtx._optimizers.ademamix import scale_by_ademamix as scale_by_ademamix
from gradtx._optimizers.ademamix import scale_by_simplified_ademamix as scale_by_simplified_ademamix
from gradtx._optimizers.ademamix import simplified_ademamix as simplified_ademamix
from gradtx._optimizers.adopt import adopt as adopt
from gradtx._optimizers.adopt import scale_by_adopt as scale_by_adopt
from gradtx._optimizers.complex_valued import SplitRealAndImaginaryState as SplitRealAndImaginaryState
from gradtx._optimizers.complex_valued import split_real_and_imaginary as split_real_and_imaginary
from gradtx._optimizers.distance_over_gradients import (
    ScaleByDistanceOverGradientsState as ScaleByDistanceOverGradientsState,
)
from gradtx._optimizers.distance_over_gradients import (
    scale_by_distance_over_gradients as scale_by_distance_over_gradients,
)
from gradtx._optimizers.dpsgd import DifferentiallyPrivateAggregateState as DifferentiallyPrivateAggregateState
from gradtx._optimizers.dpsgd import differentially_private_aggregate as differentially_private_aggregate
from gradtx._optimizers.dpsgd import dpsgd as dpsgd
from gradtx._optimizers.momo import MomoAdamState as MomoAdamState
from gradtx._optimizers.momo import MomoState as MomoState
from gradtx._optimizers.momo import momo as momo
from gradtx._optimizers.momo import momo_adam as momo_adam
from gradtx._optimizers.optimistic_adam import optimistic_adam as optimistic_adam
from gradtx._optimizers.optimistic_adam import optimistic_adam_v2 as optimistic_adam_v2
from gradtx._optimizers.sam import NormalizeState as NormalizeState
from gradtx._optimizers.sam import SAMState as SAMState
from gradtx._optimizers.sam import normalize as normalize
from gradtx._optimizers.sam import sam as sam
from gradtx._optimizers.sophia import HutchinsonState as HutchinsonState
from gradtx._optimizers.sophia import SophiaState as SophiaState
from gradtx._optimizers.sophia import hutchinson_estimator_diag_hessian as hutchinson_estimator_diag_hessian
from gradtx._optimizers.sophia import scale_by_sophia as scale_by_sophia
from gradtx._optimizers.sophia import sophia as sophia

# --- Optax's names for states that are EmptyState, or a gradtx state field for field
from gradtx._core.base import EmptyState as AdaptiveGradClipState
from gradtx._core.base import EmptyState as ClipByGlobalNormState
from gradtx._core.base import EmptyState as ClipState
from gradtx._core.base import EmptyState as ScaleByTrustRatioState
from gradtx._core.base import EmptyState as ScaleState
from gradtx._optimizers.adadelta import ScaleByAdadeltaState as ScaleByAdaDeltaState

__version__ = "0.1.0"

# --- the torch.optim dialect (a namespace of its own)
from gradtx import torch as torch  # noqa: E402 - after the names it re-exports
from gradtx import contrib as contrib  # noqa: E402 - optax.contrib's names, for familiarity

# --- Optax's tree utilities (gradtx.tree; the engine stays gradtx._core.tree)
from gradtx import tree as tree  # noqa: E402


# Everything public: the names above but the submodules (gradtx.torch, .contrib, .tree), which are
# namespaces of their own. tests/test_docs_api.py checks that it matches the module.
__all__: list[str] = [
    "AccumulateGradientsState",
    "AdaptiveGradClipState",
    "AddDecayedWeightsState",
    "AddNoiseState",
    "ApplyEvery",
    "ApplyIfFiniteState",
    "AsgdAveragingState",
    "BacktrackingLinesearchInfo",
    "COCOBState",
    "ClipByGlobalNormState",
    "ClipState",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "DAdaptAdamWState",
    "DifferentiallyPrivateAggregateState",
    "DoGState",
    "DoWGState",
    "DynamicLossScaleState",
    "EmaState",
    "EmptyState",
    "FactoredMoment",
    "FactoredState",
    "FlatParams",
    "FreezeState",
    "FtrlState",
    "GradientTransformation",
    "HutchinsonState",
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "LbfgsState",
    "LookaheadState",
    "LrFinderResult",
    "MadgradState",
    "MaskedNode",
    "MaskedState",
    "MechanicState",
    "MinimizeResult",
    "MomentumState",
    "MomoAdamState",
    "MomoState",
    "MonitorState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "MuonDimensionNumbers",
    "MuonState",
    "NonNegativeParamsState",
    "NormalizeState",
    "ParamEmaState",
    "Params",
    "PartitionState",
    "PolyakAveragingState",
    "ProdigyState",
    "ReduceOnPlateauState",
    "SAMState",
    "ScalarOrSchedule",
    "ScaleByAdaDeltaState",
    "ScaleByAdadeltaState",
    "ScaleByAdamState",
    "ScaleByAdamaxState",
    "ScaleByAdanState",
    "ScaleByAdemamixState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByDistanceOverGradientsState",
    "ScaleByFactoredRmsState",
    "ScaleByLBFGSState",
    "ScaleByLionState",
    "ScaleByMuonState",
    "ScaleByNadamState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleByRadamState",
    "ScaleByRmsState",
    "ScaleByRpropState",
    "ScaleByRssState",
    "ScaleBySM3State",
    "ScaleByScheduleState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScaleBySparseAdamState",
    "ScaleByTrustRatioState",
    "ScaleByYogiState",
    "ScaleByZoomLinesearchState",
    "ScaleState",
    "Schedule",
    "ScheduleFreeState",
    "SnapshotState",
    "SophiaState",
    "SplitRealAndImaginaryState",
    "TraceState",
    "Updates",
    "ZeroNansState",
    "ZoomLinesearchInfo",
    "accumulate_gradients",
    "acprop",
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "ademamix",
    "adopt",
    "amsgrad",
    "apply_every",
    "apply_if_finite",
    "apply_updates",
    "asgd",
    "asgd_averaging",
    "averaged_params",
    "bias_correction",
    "centralize",
    "chain",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "cocob",
    "conditionally_mask",
    "conditionally_transform",
    "constant_factor_schedule",
    "constant_schedule",
    "cosine_annealing_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "cosine_warm_restarts_schedule",
    "cyclic_schedule",
    "dadapt_adamw",
    "describe",
    "differentially_private_aggregate",
    "dog",
    "dowg",
    "dpsgd",
    "dynamic_loss_scale",
    "ema",
    "eval_params",
    "exponential_decay",
    "exponential_schedule",
    "flatten",
    "flatten_params",
    "freeze",
    "fromage",
    "ftrl",
    "get_hyperparams",
    "global_norm",
    "hutchinson_estimator_diag_hessian",
    "identity",
    "incremental_update",
    "init_empty_state",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "inverse_sqrt_schedule",
    "join_schedules",
    "keep_params_nonnegative",
    "lamb",
    "lambda_factor_schedule",
    "lars",
    "lbfgs",
    "linear_factor_schedule",
    "linear_onecycle_schedule",
    "linear_schedule",
    "lion",
    "lookahead",
    "lr_finder",
    "madgrad",
    "masked",
    "matrix_inverse_pth_root",
    "measure_with_ema",
    "mechanize",
    "minimize",
    "momo",
    "momo_adam",
    "monitor",
    "multi_normal",
    "multi_transform",
    "multiplicative_factor_schedule",
    "multistep_schedule",
    "muon",
    "nadam",
    "nadamw",
    "named_chain",
    "nnls",
    "noisy_sgd",
    "normalize",
    "normalize_by_update_norm",
    "novograd",
    "onecycle_momentum_schedule",
    "onecycle_schedule",
    "optimistic_adam",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "partition",
    "path_labels",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "periodic_update",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "plot_lr_finder",
    "polyak_averaging",
    "polyak_sgd",
    "polynomial_schedule",
    "power_iteration",
    "prodigy",
    "radam",
    "reduce_on_plateau",
    "rmsprop",
    "rprop",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
    "sam",
    "scale",
    "scale_by_acprop",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_cocob",
    "scale_by_distance_over_gradients",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_factored_rms",
    "scale_by_lbfgs",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_madgrad",
    "scale_by_momentum",
    "scale_by_muon",
    "scale_by_nadam",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_shape",
    "scale_by_sign",
    "scale_by_simplified_ademamix",
    "scale_by_sm3",
    "scale_by_sophia",
    "scale_by_sparse_adam",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "scale_gradient",
    "scale_loss",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
    "selective_transform",
    "set_hyperparams",
    "set_to_zero",
    "sgd",
    "sgdr_schedule",
    "sign_sgd",
    "signum",
    "simplified_ademamix",
    "skip_large_updates",
    "skip_not_finite",
    "sm3",
    "snapshot",
    "sophia",
    "sparse_adam",
    "split_real_and_imaginary",
    "state_shardings",
    "stateless",
    "stateless_with_tree_map",
    "step_schedule",
    "to_optax",
    "trace",
    "transformation",
    "tree_map_params",
    "unscale_gradients",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "value_and_grad_from_state",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
    "warmup_stable_decay_schedule",
    "with_extra_args_support",
    "with_param_ema",
    "yogi",
    "zero_nans",
]


def __getattr__(name: str) -> object:
    """``gradtx.<an Optax name gradtx lacks>`` says what to use instead (docs/from_optax.md)."""
    from gradtx._core.optax_names import missing_name_error

    raise missing_name_error(name)
