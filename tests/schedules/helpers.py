"""What the schedule tests share: the comparison with a live reference, recording deviations."""

from __future__ import annotations

import numpy as np
from reference import DEVIATIONS, RTOL


def compare(case_id: str, got: np.ndarray, want: np.ndarray) -> None:
    """rtol 1e-9, with an absolute floor far below the values' scale (for values that cross 0).

    The largest relative deviation is recorded under ``schedule/<case_id>`` for the table
    pytest prints at the end of the session.
    """
    atol = 1e-14 * float(np.max(np.abs(want)))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=case_id)
    deviation = np.abs(got - want) / np.maximum(np.abs(want), max(atol / RTOL, np.finfo(np.float64).tiny))
    key = f"schedule/{case_id}"
    DEVIATIONS[key] = max(DEVIATIONS[key], float(np.max(deviation)))
