"""The blend of Prophet and a seasonal naive: the mean of the two forecasts at each step, with
Prophet's band moved along."""

from __future__ import annotations

import pandas as pd
import pytest

from forecaster.crossings.blend import blend

DS = pd.date_range("2026-04-10 10:00", periods=3, freq="h", tz="UTC")


def frame(yhat, lower, upper, ds=DS) -> pd.DataFrame:
    return pd.DataFrame({"ds": ds, "yhat": yhat, "yhat_lower": lower, "yhat_upper": upper})


def test_the_blend_is_the_mean_of_both_forecasts_at_each_step_with_prophets_band_shifted():
    prophet = frame([10.0, 20.0, 30.0], [6.0, 15.0, 22.0], [13.0, 26.0, 35.0])
    naive = frame([30.0, 10.0, 30.0], [0.0, 0.0, 0.0], [99.0, 99.0, 99.0])
    out = blend(prophet, naive, non_negative=False)
    assert out["yhat"].tolist() == [20.0, 15.0, 30.0]
    assert out["yhat_lower"].tolist() == [16.0, 10.0, 22.0]  # the naive's band plays no part
    assert out["yhat_upper"].tolist() == [23.0, 21.0, 35.0]
    assert out["ds"].tolist() == DS.tolist()


def test_only_steps_both_forecasts_have_are_kept():
    prophet = frame([10.0, 20.0, 30.0], [9.0, 19.0, 29.0], [11.0, 21.0, 31.0])
    naive = frame([0.0, 0.0], [0.0, 0.0], [0.0, 0.0], ds=DS[1:])
    out = blend(prophet, naive, non_negative=False)
    assert out["ds"].tolist() == DS[1:].tolist() and out["yhat"].tolist() == [10.0, 15.0]


@pytest.mark.parametrize(("non_negative", "lower"), [(True, 0.0), (False, -1.0)])
def test_a_count_blend_keeps_its_lower_edge_at_zero_and_a_rate_does_not(non_negative, lower):
    prophet = frame([4.0], [1.0], [8.0], ds=DS[:1])
    naive = frame([0.0], [0.0], [0.0], ds=DS[:1])
    out = blend(prophet, naive, non_negative=non_negative)
    assert (out["yhat"].iloc[0], out["yhat_lower"].iloc[0]) == (2.0, lower)
    assert out["yhat_upper"].iloc[0] == 6.0
