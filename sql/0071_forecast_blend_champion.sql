-- A warning champion may be a blend: `blend_24h` / `blend_168h` read the
-- equal-weight mean of Prophet's forecast and the seasonal naive's of that season, with
-- Prophet's band shifted by the same amount (forecaster/crossings/blend.py). The method check
-- of sql/0068 is replaced to admit them.
ALTER TABLE forecast_decision
    DROP CONSTRAINT forecast_decision_method_check,
    ADD CONSTRAINT forecast_decision_method_check CHECK (
        method IN (
            'prophet', 'seasonal_naive_24h', 'seasonal_naive_168h', 'blend_24h', 'blend_168h'
        )
    );
