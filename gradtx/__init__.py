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
from gradtx._optimizers.adafactor import FactoredMoment as FactoredMoment
from gradtx._optimizers.adafactor import ScaleByFactoredRmsState as ScaleByFactoredRmsState
from gradtx._optimizers.adafactor import adafactor as adafactor
from gradtx._optimizers.adafactor import scale_by_factored_rms as scale_by_factored_rms
from gradtx._optimizers.adafactor import scale_by_param_block_rms as scale_by_param_block_rms
from gradtx._optimizers.adagrad import ScaleByRssState as ScaleByRssState
from gradtx._optimizers.adagrad import adagrad as adagrad
from gradtx._optimizers.adagrad import scale_by_rss as scale_by_rss
from gradtx._optimizers.adam import ScaleByAdamState as ScaleByAdamState
from gradtx._optimizers.adam import adam as adam
from gradtx._optimizers.adam import adamw as adamw
from gradtx._optimizers.adam import amsgrad as amsgrad
from gradtx._optimizers.adam import scale_by_adam as scale_by_adam
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
from gradtx._optimizers.lbfgs import LbfgsState as LbfgsState
from gradtx._optimizers.lbfgs import lbfgs as lbfgs
from gradtx._optimizers.lion import ScaleByLionState as ScaleByLionState
from gradtx._optimizers.lion import lion as lion
from gradtx._optimizers.lion import scale_by_lion as scale_by_lion
from gradtx._optimizers.minimize import MinimizeResult as MinimizeResult
from gradtx._optimizers.minimize import minimize as minimize
from gradtx._optimizers.muon import ScaleByMuonState as ScaleByMuonState
from gradtx._optimizers.muon import muon as muon
from gradtx._optimizers.muon import scale_by_muon as scale_by_muon
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
from gradtx._optimizers.rprop import ScaleByRpropState as ScaleByRpropState
from gradtx._optimizers.rprop import rprop as rprop
from gradtx._optimizers.rprop import scale_by_rprop as scale_by_rprop
from gradtx._optimizers.sgd import sgd as sgd
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
from gradtx._transforms.momentum import ema as ema
from gradtx._transforms.momentum import scale_by_momentum as scale_by_momentum
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

__version__ = "0.1.0"
