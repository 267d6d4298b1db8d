"""manage.py audit_sequencer: link the audit events requests wrote into the hash chain."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hub.services.audit_sequencer import chain_pending, run_sequencer


class Command(BaseCommand):
    help = (
        "Run the audit sequencer (VIHUB_AUDIT_CHAIN=sequencer): chain committed audit events in "
        "batches until stopped. Run one or more per deployment; only one chains at a time, the "
        "others stand by. Celery beat also chains every few seconds, as a fallback."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.2, help="seconds to wait when nothing waits")
        parser.add_argument("--once", action="store_true", help="chain what waits now, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            done = chain_pending(wait=True)
            self.stdout.write(f"chained {done or 0} events")
            return
        stop = [False]

        def _stop(signum: int, frame: Any) -> None:
            stop[0] = True  # finish the round in hand, then exit

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.stdout.write(f"audit sequencer running (every {options['interval']} s when idle)")
        self.stdout.flush()
        run_sequencer(interval=options["interval"], stop=stop)
