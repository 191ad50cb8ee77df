"""The equal-weight combination of Prophet's forecast with a seasonal naive's.

``yhat`` is the mean of the two point forecasts at each step (Bates & Granger 1969; equal
weights, because fitted weights rarely beat them out of sample, the "forecast combination
puzzle" of Stock & Watson 2004, and because weights fitted on the scored series would be tuned
on the test data). The band is Prophet's, shifted with its ``yhat``: its width, and so each
step's sigma in ``threshold_crossing``, stays Prophet's, so every Prophet decision rule applies
to the blend unchanged. Only steps both forecasts have are kept.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["ds", "yhat", "yhat_lower", "yhat_upper"]


def blend(prophet: pd.DataFrame, naive: pd.DataFrame, *, non_negative: bool) -> pd.DataFrame:
    """``(prophet + naive) / 2`` with Prophet's band moved by the same shift; with
    ``non_negative`` (counts) the lower edge is clipped at zero, as Prophet's own is.

    ``prophet`` needs ``ds, yhat, yhat_lower, yhat_upper``, ``naive`` ``ds, yhat``, in the
    same clock.
    """
    joined = prophet[COLUMNS].merge(naive[["ds", "yhat"]], on="ds", suffixes=("", "_naive"))
    shift = (joined["yhat_naive"] - joined["yhat"]) / 2
    out = pd.DataFrame(
        {
            "ds": joined["ds"],
            "yhat": joined["yhat"] + shift,
            "yhat_lower": joined["yhat_lower"] + shift,
            "yhat_upper": joined["yhat_upper"] + shift,
        }
    )
    if non_negative:
        out["yhat_lower"] = out["yhat_lower"].clip(lower=0.0)
    return out
