"""Using gradtx transformations inside Optax's combinators."""

from typing import Any

from gradtx._core.base import GradientTransformation


def to_optax(tx: GradientTransformation) -> Any:
    """``tx`` as an ``optax.GradientTransformationExtraArgs``, for Optax's combinators.

    Optax's ``chain``, ``MultiSteps``, ``apply_if_finite`` and friends pass extra ``update``
    arguments (``value=``, ``grad=``, ...) only to parts of type
    ``optax.GradientTransformationExtraArgs``; a gradtx transformation is a plain
    :class:`GradientTransformation` (gradtx does not depend on Optax), so inside them it
    would silently lose ``value=`` (a :func:`reduce_on_plateau` would never reduce). Wrap it
    with ``to_optax``. The other direction needs nothing: gradtx's combinators accept any
    Optax transformation as it is.

    Args:
      tx: Any gradtx transformation.

    Returns:
      The same ``init`` and ``update`` as an ``optax.GradientTransformationExtraArgs``.

    Raises:
      ImportError: If Optax is not installed.

    Examples:
      >>> import optax
      >>> tx = optax.chain(gradtx.to_optax(gradtx.sgd(0.1)), gradtx.to_optax(gradtx.reduce_on_plateau()))
      >>> updates, state = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)), value=jnp.asarray(1.0))
    """
    try:
        import optax  # noqa: PLC0415 - optional dependency, only for this adapter
    except ImportError as error:
        raise ImportError("to_optax: Optax is not installed (pip install optax).") from error
    return optax.GradientTransformationExtraArgs(tx.init, tx.update)
