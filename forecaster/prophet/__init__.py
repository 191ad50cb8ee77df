"""Prophet for one series and for many.

- ``model``: ``ProphetConfig``, ``fit``/``predict`` with the analytic band, and the versioned
  model JSON (``to_json``/``from_json``).
- ``speedups``: faster Stan input files, a CmdStan run without cmdstanpy, numpy features and a
  numpy point forecast, with the same results as Prophet's own code.
- ``batch``: ``fit_many``, many series on a process pool (``FAST_CONFIG``, the production
  settings).
"""
