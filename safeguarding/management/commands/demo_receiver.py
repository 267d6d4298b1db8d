"""manage.py demo_receiver [--port 8766] [--secret whsec_…]: a tiny agency receiver on loopback
for the demo (``seed_demo`` points NCMEC's endpoint at it). It checks each delivery's Standard
Webhooks signature with the secret ``seed_demo`` kept in the data dir (or ``--secret``), prints
one line per delivery and answers 204, or 401 when the signature does not verify (so the
delivery log shows a failed attempt and the retry)."""

from __future__ import annotations

import hmac
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguarding.demo import receiver_port, secret_path
from safeguarding.webhooks import sign

TOLERANCE_SECONDS = 5 * 60


def verified(*, secret: str, headers: Any, body: bytes) -> str:
    """ "" when the delivery is signed with ``secret`` within the tolerance, else why not."""
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit():
        return "no webhook-id or webhook-timestamp"
    if abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return "timestamp outside 5 minutes"
    expected = sign(secret=secret, msg_id=msg_id, timestamp=int(stamp), body=body)
    offered = headers.get("webhook-signature", "").split()
    if any(hmac.compare_digest(expected, candidate) for candidate in offered):
        return ""
    return "signature does not match"


class Command(BaseCommand):
    help = "Run a loopback receiver for the demo agency's outcome webhooks (prints each delivery)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None, help="Port on 127.0.0.1 (default 8766)")
        parser.add_argument("--secret", default=None, help="Signing secret (default: the one seed_demo kept)")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = options["secret"]
        if not secret:
            if not secret_path().exists():
                raise CommandError(
                    f"No secret at {secret_path()}: run `manage.py seed_demo` first, or pass --secret"
                )
            secret = secret_path().read_text(encoding="utf-8").strip()
        port = options["port"] or receiver_port()
        out = self.stdout

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1_000_000))
                problem = verified(secret=secret, headers=self.headers, body=body)
                try:
                    event = json.loads(body)
                except ValueError:
                    event = {}
                data = event.get("data") or {}
                out.write(
                    f"{self.headers.get('webhook-id', '?')} {event.get('type', '?')} "
                    f"{data.get('external_id', data.get('referral_id', ''))} "
                    + ("signature OK → 204" if not problem else f"REFUSED ({problem}) → 401")
                )
                self.send_response(401 if problem else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        out.write(f"Demo receiver on http://127.0.0.1:{port}/vihub-hook (Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
