"""gradtx: composable gradient transformations for JAX, with torch.optim's numbers.

Everything public is importable from here; the modules underneath are private.
"""

from gradtx._core.base import EmptyState as EmptyState
from gradtx._core.base import GradientTransformation as GradientTransformation
from gradtx._core.base import Params as Params
from gradtx._core.base import Schedule as Schedule
from gradtx._core.base import ScalarOrSchedule as ScalarOrSchedule
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
from gradtx._core.paths import path_labels as path_labels
from gradtx._core.update import apply_updates as apply_updates
from gradtx._optimizers.adam import ScaleByAdamState as ScaleByAdamState
from gradtx._optimizers.adam import adam as adam
from gradtx._optimizers.adam import adamw as adamw
from gradtx._optimizers.adam import amsgrad as amsgrad
from gradtx._optimizers.adam import scale_by_adam as scale_by_adam
from gradtx._optimizers.sgd import sgd as sgd
from gradtx._transforms.decay import add_decayed_weights as add_decayed_weights
from gradtx._transforms.momentum import EmaState as EmaState
from gradtx._transforms.momentum import MomentumState as MomentumState
from gradtx._transforms.momentum import ema as ema
from gradtx._transforms.momentum import scale_by_momentum as scale_by_momentum
from gradtx._transforms.scale import ScaleByScheduleState as ScaleByScheduleState
from gradtx._transforms.scale import scale as scale
from gradtx._transforms.scale import scale_by_learning_rate as scale_by_learning_rate
from gradtx._transforms.scale import scale_by_schedule as scale_by_schedule

# --- torch optimizers: adagrad, adadelta, adamax, rmsprop, rprop, asgd, nadam, radam
# --- torch optimizers: sparse_adam, adafactor, muon
# --- torch optimizers: lbfgs, minimize
# --- optax/keras optimizers and their blocks
# --- clipping, robustness, accumulation, averaging blocks
# --- schedules
# --- run-time hyperparameters, plateau, freeze, parameter EMA
# --- multi-device helpers
# --- tools

__version__ = "0.1.0"
