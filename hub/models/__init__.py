"""Hub models: the organisation tree and people, the referral/task workflow, and the audit trail."""

from __future__ import annotations

from hub.models.audit import AuditEvent
from hub.models.organisation import ApiToken, Heartbeat, Membership, Organisation, User

__all__ = ["ApiToken", "AuditEvent", "Heartbeat", "Membership", "Organisation", "User"]
