"""Hub models: the organisation tree and people, the referral/task workflow, and the audit trail."""

from __future__ import annotations

from hub.models.alerts import Alert, Notification, escalated_task_filter
from hub.models.audit import AuditCheckpoint, AuditEvent, AuditPending, AuditRecord, AuditVerification
from hub.models.media import (
    PDQ_MATCH_DISTANCE,
    HashType,
    KnownHash,
    KnownHashSet,
    MediaMatch,
    PdqEntry,
    pdq_entry,
    pdq_slices,
)
from hub.models.oncall import OnCallShift, Page
from hub.models.organisation import TASK_HOLDER_KINDS, ApiToken, Heartbeat, Membership, Organisation, User
from hub.models.referral import (
    AccessToChildren,
    DeadlinePolicy,
    MediaHash,
    Missing,
    Referral,
    Risk,
    RiskFactor,
    Team,
    TriageDecision,
)
from hub.models.task import Task, TaskGroupObjectPermission, TaskTransfer, TaskUserObjectPermission

__all__ = [
    "PDQ_MATCH_DISTANCE",
    "HashType",
    "KnownHash",
    "KnownHashSet",
    "MediaMatch",
    "PdqEntry",
    "pdq_entry",
    "pdq_slices",
    "TASK_HOLDER_KINDS",
    "AccessToChildren",
    "Alert",
    "Notification",
    "OnCallShift",
    "Page",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditPending",
    "AuditRecord",
    "AuditVerification",
    "DeadlinePolicy",
    "Heartbeat",
    "Membership",
    "MediaHash",
    "Missing",
    "Organisation",
    "Referral",
    "Risk",
    "RiskFactor",
    "Task",
    "Team",
    "TaskGroupObjectPermission",
    "TaskTransfer",
    "TaskUserObjectPermission",
    "TriageDecision",
    "User",
    "escalated_task_filter",
]
