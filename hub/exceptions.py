"""Domain errors raised by services; one DRF exception handler maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that is well-formed but not allowed by the domain rules (HTTP 400)."""

    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = (
            {self.field: [self.message], "code": self.code}
            if self.field
            else {"detail": self.message, "code": self.code}
        )
        if self.details:
            body["details"] = self.details
        return body


class InvalidTransition(DomainError):
    """A state-machine move that is illegal from the current state (HTTP 409)."""

    status_code = 409
    code = "invalid_transition"


class NotPermitted(DomainError):
    """The actor can see the object but may not do this to it (HTTP 403)."""

    status_code = 403
    code = "permission_denied"


class AuditUnavailable(DomainError):
    """The audit trail cannot be written, so the action or read is refused (HTTP 503): VIHub
    fails closed rather than show or change a record without a trace."""

    status_code = 503
    code = "audit_unavailable"


class NotFound(DomainError):
    """The object does not exist or the actor may not see it (HTTP 404, indistinguishable)."""

    status_code = 404
    code = "not_found"
