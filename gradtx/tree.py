"""``gradtx.tree``: tree utilities for parameters and optimizer states, under ``optax.tree``'s names.

Arithmetic (``add``, ``sub``, ``mul``, ``div``, ``scale``, ``add_scale``, ``vdot``, ``sum``,
``max``, ``min``, ``norm``, ``size``, ``conj``, ``real``, ``where``, ``clip``, ``allclose``,
``batch_shape``), constructors (``zeros_like``, ``ones_like``, ``full_like``, ``random_like``,
``split_key_like``, ``unwrap_random_key_data``), dtypes (``cast``, ``cast_like``, ``dtype``),
moments (``update_moment``, ``update_moment_per_elem_norm``, ``update_infinity_moment``,
``bias_correction``) and lookups in nested states (``get``, ``set``, ``get_all_with_path``,
``map_params``, ``NamedTupleKey``). Each has Optax 0.2.8's signature and numbers.

Example:
  >>> state = gradtx.adam(1e-3).init({"w": jnp.zeros(2)})
  >>> gradtx.tree.get(state, "count")
  Array(0, dtype=int32)
  >>> gradtx.tree.norm({"a": jnp.array([3.0, 4.0])})
  Array(5., dtype=float32)
"""

from gradtx._core.tree_utils import Initable as Initable
from gradtx._core.tree_utils import NamedTupleKey as NamedTupleKey
from gradtx._core.tree_utils import add as add
from gradtx._core.tree_utils import add_scale as add_scale
from gradtx._core.tree_utils import allclose as allclose
from gradtx._core.tree_utils import batch_shape as batch_shape
from gradtx._core.tree_utils import bias_correction as bias_correction
from gradtx._core.tree_utils import cast as cast
from gradtx._core.tree_utils import cast_like as cast_like
from gradtx._core.tree_utils import clip as clip
from gradtx._core.tree_utils import conj as conj
from gradtx._core.tree_utils import div as div
from gradtx._core.tree_utils import dtype as dtype
from gradtx._core.tree_utils import full_like as full_like
from gradtx._core.tree_utils import get as get
from gradtx._core.tree_utils import get_all_with_path as get_all_with_path
from gradtx._core.tree_utils import map_params as map_params
from gradtx._core.tree_utils import max as max
from gradtx._core.tree_utils import min as min
from gradtx._core.tree_utils import mul as mul
from gradtx._core.tree_utils import norm as norm
from gradtx._core.tree_utils import ones_like as ones_like
from gradtx._core.tree_utils import random_like as random_like
from gradtx._core.tree_utils import real as real
from gradtx._core.tree_utils import scale as scale
from gradtx._core.tree_utils import set as set
from gradtx._core.tree_utils import size as size
from gradtx._core.tree_utils import split_key_like as split_key_like
from gradtx._core.tree_utils import sub as sub
from gradtx._core.tree_utils import sum as sum
from gradtx._core.tree_utils import unwrap_random_key_data as unwrap_random_key_data
from gradtx._core.tree_utils import update_infinity_moment as update_infinity_moment
from gradtx._core.tree_utils import update_moment as update_moment
from gradtx._core.tree_utils import update_moment_per_elem_norm as update_moment_per_elem_norm
from gradtx._core.tree_utils import vdot as vdot
from gradtx._core.tree_utils import where as where
from gradtx._core.tree_utils import zeros_like as zeros_like

__all__: list[str] = [
    "Initable",
    "NamedTupleKey",
    "add",
    "add_scale",
    "allclose",
    "batch_shape",
    "bias_correction",
    "cast",
    "cast_like",
    "clip",
    "conj",
    "div",
    "dtype",
    "full_like",
    "get",
    "get_all_with_path",
    "map_params",
    "max",
    "min",
    "mul",
    "norm",
    "ones_like",
    "random_like",
    "real",
    "scale",
    "set",
    "size",
    "split_key_like",
    "sub",
    "sum",
    "unwrap_random_key_data",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "vdot",
    "where",
    "zeros_like",
]
