"""A dispatcher process for test_crash_recovery: loops dispatch_once against one database.

Usage: python tests/alerter/delivery/dispatcher_process.py DATABASE_URL
The production lease (120 s): a killed process's claims must be taken over because its
database session is gone, not because the lease ran out. Fast retries, 4 senders.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

from alerter.delivery.dispatch import dispatch_once
from alerter.delivery.sending.retry import RetryPolicy
from quaywatch.db import make_engine
from quaywatch.settings import Secret, Settings

WORKERS = 4
POLICY = replace(RetryPolicy(), base_s=0.05, cap_s=0.5, timeout_s=2.0, workers=WORKERS)


def main(url: str) -> None:
    keys = Secret(os.environ.get("QUAYWATCH_SECRET_KEYS", ""))  # the test session's (conftest)
    settings = Settings(database_url=url, allow_private_urls=True, secret_keys=keys)
    engine = make_engine(settings)
    print("dispatcher ready", flush=True)
    while True:
        if not dispatch_once(engine, settings, policy=POLICY).more:
            time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
