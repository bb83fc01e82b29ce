"""``torch.optim``'s dialect: optimizers with torch's parameter names, defaults and numbers.

Porting a PyTorch line is copying it and dropping ``params``::

    torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    gradtx.torch.AdamW(lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)

Each function returns a :class:`gradtx.GradientTransformation` whose trajectory equals
torch's (float64, rtol 1e-9). They are thin front doors over the same building blocks as
the Optax-dialect optimizers at gradtx's top level; schedulers are in
:mod:`gradtx.torch.lr_scheduler`. ``foreach``, ``fused``, ``capturable`` and
``differentiable`` are accepted for copy-paste compatibility and have no effect: XLA fuses
the whole step and JAX code is always differentiable.
"""

from gradtx._optimizers.adadelta import Adadelta as Adadelta
from gradtx._optimizers.adafactor import Adafactor as Adafactor
from gradtx._optimizers.adagrad import Adagrad as Adagrad
from gradtx._optimizers.adam import Adam as Adam
from gradtx._optimizers.adam import AdamW as AdamW
from gradtx._optimizers.adamax import Adamax as Adamax
from gradtx._optimizers.asgd import ASGD as ASGD
from gradtx._optimizers.lbfgs import LBFGS as LBFGS
from gradtx._optimizers.muon import Muon as Muon
from gradtx._optimizers.nadam import NAdam as NAdam
from gradtx._optimizers.radam import RAdam as RAdam
from gradtx._optimizers.rmsprop import RMSprop as RMSprop
from gradtx._optimizers.rprop import Rprop as Rprop
from gradtx._optimizers.sgd import SGD as SGD
from gradtx._optimizers.sparse_adam import SparseAdam as SparseAdam
from gradtx.torch import lr_scheduler as lr_scheduler

__all__: list[str] = [
    "ASGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "LBFGS",
    "Muon",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Rprop",
    "SGD",
    "SparseAdam",
]
