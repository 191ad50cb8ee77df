"""``quaywatch backtest``: replay history and score warnings against what happened.

- ``scoring``: ``Score`` (counts that pool with ``+``), the rolling-origin threshold and the
  deadline protocols, and the markdown table.
- ``baselines``: the cheap challengers (persistence, seasonal naive, linear) Prophet is
  compared with.
- ``rules``: every decision rule and baseline scored on the same threshold origins.
- ``thresholds``: the threshold part, per indicator, over stored history or a CSV series.
- ``champion``: the warning champion from those scores (fewest false-alarm episodes at the best
  seasonal naive's F1), for stored indicators and CSV series alike.
- ``deadlines``: the deadline part, held hazardous lots replayed hour by hour against the
  static rules.
- ``report``: runs both parts for the command, renders the markdown and stores the results.
"""
