-- A warning champion may be an agreement: Prophet's rule firing only where a seasonal naive
-- warns too (forecaster/crossings/decision.py AGREEMENT). The backtest scored these for CSV
-- series only while a decision row could not name one; the cycle now publishes them.
ALTER TABLE forecast_decision DROP CONSTRAINT forecast_decision_method_check;
ALTER TABLE forecast_decision ADD CONSTRAINT forecast_decision_method_check CHECK (
    method IN (
        'prophet', 'seasonal_naive_24h', 'seasonal_naive_168h',
        'blend_24h', 'blend_168h', 'blend_mean_3w',
        'agreement_24h', 'agreement_168h'
    )
);
