"""``torch.optim.lr_scheduler``'s dialect: schedulers that return the optimizer with a scheduled rate.

Porting a PyTorch scheduler is copying its line and passing the gradtx optimizer::

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)

    tx = gradtx.torch.SGD(lr=0.1, momentum=0.9)
    tx = gradtx.torch.lr_scheduler.StepLR(tx, step_size=30)

Each scheduler takes torch's arguments (minus ``last_epoch`` and ``verbose``) and returns
the optimizer rebuilt with ``lr`` replaced by a pure schedule: the update after ``k``
updates uses torch's learning rate after ``k`` calls of ``scheduler.step()``, so one
``tx.update`` stands for torch's ``optimizer.step(); scheduler.step()``. The schedules are
gradtx's own (:func:`gradtx.step_schedule`, ...), built from the optimizer's ``lr``.

Schedulers stepped once per epoch port exactly with the extra keyword argument
``steps_per_epoch`` (a gradtx extension): the schedule then sees ``k = updates //
steps_per_epoch``. ``OneCycleLR`` has torch's own ``steps_per_epoch`` (it is stepped per
batch) and ``ReduceLROnPlateau`` is stepped by its metric, so neither takes the extension.
``ReduceLROnPlateau`` returns ``chain(optimizer, <plateau rule>)`` driven by
``tx.update(..., value=metric)``.
"""

from gradtx.torch._lr_scheduler import ConstantLR as ConstantLR
from gradtx.torch._lr_scheduler import CosineAnnealingLR as CosineAnnealingLR
from gradtx.torch._lr_scheduler import CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts
from gradtx.torch._lr_scheduler import CyclicLR as CyclicLR
from gradtx.torch._lr_scheduler import ExponentialLR as ExponentialLR
from gradtx.torch._lr_scheduler import LambdaLR as LambdaLR
from gradtx.torch._lr_scheduler import LinearLR as LinearLR
from gradtx.torch._lr_scheduler import MultiStepLR as MultiStepLR
from gradtx.torch._lr_scheduler import MultiplicativeLR as MultiplicativeLR
from gradtx.torch._lr_scheduler import OneCycleLR as OneCycleLR
from gradtx.torch._lr_scheduler import PolynomialLR as PolynomialLR
from gradtx.torch._lr_scheduler import ReduceLROnPlateau as ReduceLROnPlateau
from gradtx.torch._lr_scheduler import SequentialLR as SequentialLR
from gradtx.torch._lr_scheduler import StepLR as StepLR

__all__: list[str] = [
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]
