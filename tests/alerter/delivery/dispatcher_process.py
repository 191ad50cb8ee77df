"""A dispatcher process for test_crash_recovery: loops dispatch_once against one database.

Usage: python tests/alerter/delivery/dispatcher_process.py DATABASE_URL
Short leases (2 s) so that the work of a killed process is taken over quickly.
"""

from __future__ import annotations

import sys
import time

from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.sending.retry import RetryPolicy
from quaywatch.db import make_engine
from quaywatch.settings import Settings

POLICY = RetryPolicy(base_s=0.05, cap_s=0.5, lease_s=2.0, timeout_s=2.0, workers=4)


def main(url: str) -> None:
    settings = Settings(database_url=url, allow_private_urls=True)
    engine = make_engine(settings)
    print("dispatcher ready", flush=True)
    while True:
        if not dispatch_once(engine, settings, policy=POLICY).more:
            time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
