-- A warning champion may be the blend of Prophet with the weekly mean: `blend_mean_3w` reads
-- the equal-weight mean of Prophet's forecast and the mean of the same hour of the week over
-- the last three weeks (`weekly_mean_3w`, forecaster/backtest/baselines.py), with Prophet's
-- band shifted by the same amount. The method check of sql/0071 is replaced to admit it.
ALTER TABLE forecast_decision
    DROP CONSTRAINT forecast_decision_method_check,
    ADD CONSTRAINT forecast_decision_method_check CHECK (
        method IN (
            'prophet', 'seasonal_naive_24h', 'seasonal_naive_168h',
            'blend_24h', 'blend_168h', 'blend_mean_3w'
        )
    );
