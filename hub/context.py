"""Per-request context carried into services and Celery jobs (request id for the audit trail),
and who is at the keyboard when a management command runs."""

from __future__ import annotations

import getpass
import socket
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("vihub_request_id", default="")
# "root on vihub-1, manage.py set_agency_webhook": set by manage.py for the whole command, so
# what a shell operator does is on the trail as theirs, not as an anonymous "system".
operator_var: ContextVar[str] = ContextVar("vihub_operator", default="")
NOT_AN_OPERATOR = {"runserver", "help", "version"}


def operator_from_argv(argv: list[str]) -> str:
    """Who runs this management command, and which one ("" for the server itself)."""
    command = argv[1] if len(argv) > 1 else ""
    if not command or command.startswith("-") or command in NOT_AN_OPERATOR:
        return ""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return f"{user} on {socket.gethostname()}, manage.py {command}"[:150]


def current_request_id() -> str:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex
