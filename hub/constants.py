"""Cross-module constants."""

from __future__ import annotations

from enum import StrEnum

from django.db import models

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key that serialises appends to the audit hash chain.
AUDIT_CHAIN_LOCK_KEY = 0x56494855_41554449  # "VIHUAUDI"
TOKEN_PREFIX = "vih_"  # noqa: S105  (a public prefix, not a secret)


# Outcome codes (api-contract.md). Defined here, in the shared kernel, because the hub's referral
# views show them to agencies; the safeguarding app records them.
JUSTICE_OUTCOMES = (
    ("charge_summons", "Charged / summonsed"),
    ("caution", "Caution"),
    ("community_resolution", "Community / other resolution"),
    ("not_in_public_interest", "Not in the public interest"),
    ("outcome_21", "Outcome 21 (further action not in the public interest, e.g. youth diversion)"),
    ("no_suspect_identified", "No suspect identified"),
    ("evidential_difficulties", "Evidential difficulties"),
    ("action_by_another_agency", "Action by another agency"),
    ("other", "Other (died, time-barred, too ill, no crime)"),
)
SAFEGUARDING_OUTCOMES = (
    ("child_safeguarded", "Child safeguarded"),
    ("referred_to_childrens_services", "Referred to children's services / MASH"),
    ("referred_overseas", "Referred to overseas police"),
    ("no_child_at_risk", "No child at risk"),
    ("child_not_identified", "Child not identified"),
    ("other", "Other"),
)


class WebhookEvent(models.TextChoices):
    """The referral events an agency can subscribe to, and the only names that can be sent.

    Owned by the hub because the hub raises them (``hub.hooks.referral_event``); the
    safeguarding app stores and delivers them. The values are the wire ``type`` of each
    webhook (api-contract.md) and are stored in ``WebhookEndpoint.event_types`` and
    ``OutboxEvent.event_type``: never rename one, add a new member instead.
    """

    OUTCOME_RECORDED = "referral.outcome_recorded", "Outcome recorded"
    TRIAGED = "referral.triaged", "Triaged"
    NON_ACTIONABLE = "referral.non_actionable", "Closed as non-actionable"
    ALLOCATED = "referral.allocated", "Allocated to a spoke"
    CLOSED = "referral.closed", "Closed"
    # An outcome changed after it was first sent (amended, or another holder's part of the
    # case): sent to every endpoint that hears of outcomes, as a new event (new webhook-id).
    OUTCOME_UPDATED = "referral.outcome_updated", "Outcome updated"


def webhook_event(name: WebhookEvent | str) -> WebhookEvent:
    """``name`` as a ``WebhookEvent`` (a member or its string value is accepted); raises
    ``ValueError`` naming the known events for anything else, so a misspelt event fails where
    it is raised instead of silently never being sent."""
    try:
        return WebhookEvent(name)
    except ValueError:
        known = ", ".join(WebhookEvent.values)
        raise ValueError(f"unknown webhook event {name!r}; known events: {known}") from None


class AuditAction(StrEnum):
    """Every action the audit trail records, namespaced by what it is about (as Zulip's
    ``AuditLogEventType``). ``audit_record`` refuses a name that is not here, so a misspelt
    action fails its test instead of quietly starting a new kind of event nobody searches for."""

    ACCESS_DENIED = "access.denied"
    ACCESS_NOT_FOUND = "access.not_found"
    AUDIT_SEARCHED = "audit.searched"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_STATUS_VIEWED = "audit.status_viewed"
    AUDIT_VERIFIED = "audit.verified"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGOUT = "auth.logout"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOCKED_OUT = "auth.locked_out"
    AUTH_SESSION_ENDED = "auth.session_ended"
    AUTH_SECOND_FACTOR = "auth.second_factor"
    AUTH_SECOND_FACTOR_FAILED = "auth.second_factor_failed"
    AUTH_FACTOR_ENROLLED = "auth.factor_enrolled"
    AUTH_FACTORS_RESET = "auth.factors_reset"
    AUTH_RECOVERY_CODES_ISSUED = "auth.recovery_codes_issued"
    PEOPLE_LISTED = "person.listed"
    REPORT_TRENDS_VIEWED = "report.trends_viewed"
    MONTHLY_SUMMARY_PRODUCED = "report.monthly_produced"
    MONTHLY_SUMMARIES_LISTED = "report.monthly_listed"
    MONTHLY_SUMMARY_DOWNLOADED = "report.monthly_downloaded"
    RESEARCH_EXPORTED = "research.exported"
    SECRETS_REENCRYPTED = "webhook.secrets_reencrypted"  # noqa: S105  (an action name)
    AUTH_TOKEN_REJECTED = "auth.token_rejected"  # noqa: S105  (an action name, not a secret)
    TOKEN_CREATED = "token.created"  # noqa: S105  (an action name, not a secret)
    TOKEN_REVOKED = "token.revoked"  # noqa: S105  (an action name, not a secret)
    MEMBERSHIP_SET = "membership.set"
    PERSON_ADDED = "person.added"
    PERSON_EDITED = "person.edited"
    PERSON_MOVED = "person.moved"
    PERSON_DEACTIVATED = "person.deactivated"
    PERSON_REACTIVATED = "person.reactivated"
    PERSON_INVITED = "person.invited"
    PERSON_VIEWED = "person.viewed"
    PERSON_WELCOMED = "person.welcomed"
    TOKENS_LISTED = "token.listed"  # noqa: S105  (an action name, not a secret)
    ORGANISATION_CONTACTS_SET = "organisation.contacts_set"
    CONTACTS_LISTED = "organisation.contacts_listed"
    DEADLINE_POLICY_SET = "deadline_policy.set"
    ORGANISATION_SEEDED = "organisation.seeded"
    REFERRAL_RECEIVED = "referral.received"
    REFERRAL_TRIAGED = "referral.triaged"
    REFERRAL_REGRADED = "referral.regraded"
    REFERRAL_NON_ACTIONABLE = "referral.non_actionable"
    REFERRAL_CLOSED = "referral.closed"
    REFERRAL_VIEWED = "referral.viewed"
    REFERRAL_LISTED = "referral.listed"
    REFERRAL_DISCLOSED = "referral.disclosed"
    TASK_ALLOCATED = "task.allocated"
    TASK_REASSIGNED = "task.reassigned"
    TASK_HANDED_DOWN = "task.handed_down"
    TASK_ACCEPTED = "task.accepted"
    TASK_DECLINED = "task.declined"
    TASK_PAUSED = "task.paused"
    TASK_RESUMED = "task.resumed"
    TASK_REMINDED = "task.reminded"
    TASK_ESCALATED = "task.escalated"
    TASK_ESCALATION_ACKNOWLEDGED = "task.escalation_acknowledged"
    TASK_VIEWED = "task.viewed"
    TASK_DEADLINE_TIGHTENED = "task.deadline_tightened"
    TASK_DEADLINE_RELAXED = "task.deadline_relaxed"
    TASK_LISTED = "task.listed"
    ESCALATION_LISTED = "escalation.listed"
    NOTIFICATION_LISTED = "notification.listed"
    NOTIFICATION_READ = "notification.read"
    LEAD_CREATED = "lead.created"
    CHILD_ADDED = "child.added"
    CHILD_CHECKED = "child.checked"
    CHILD_LISTED = "child.listed"
    SUSPECT_EVENT_RECORDED = "suspect_event.recorded"
    HANDOFF_OFFERED = "handoff.offered"
    HANDOFF_ACCEPTED = "handoff.accepted"
    HANDOFF_DECLINED = "handoff.declined"
    HANDOFF_REVOKED = "handoff.revoked"
    TEAM_MEMBER_ADDED = "team.member_added"
    TASK_REASSESSED = "task.reassessed"
    TASK_CANCELLED = "task.cancelled"
    OUTCOMES_OUTSTANDING_SENT = "webhook.outstanding_sent"
    REASSESSMENT_LISTED = "reassessment.listed"
    MEDIA_MATCHED = "media.matched"
    MATCH_LISTED = "media_match.listed"
    HASHSET_IMPORTED = "hashset.imported"
    CONFERENCE_REQUESTED = "conference.requested"
    CONFERENCE_GRANTED = "conference.granted"
    CONFERENCE_REFUSED = "conference.refused"
    CONFERENCE_LISTED = "conference.listed"
    MEDIA_LISTED = "media.listed"
    MEDIA_REVIEWED = "media.reviewed"
    EXPOSURE_LOGGED = "exposure.logged"
    EXPOSURE_LIMIT_PASSED = "exposure.limit_passed"
    WELFARE_VIEWED = "welfare.viewed"
    WELFARE_DEBRIEF_RECORDED = "welfare.debrief_recorded"
    HANDOFF_OVERDUE = "handoff.overdue"
    HANDOFF_LISTED = "handoff.listed"
    SAFEGUARDING_REVIEWED = "safeguarding.reviewed"
    EXTERNAL_REQUEST_SENT = "external_request.sent"
    EXTERNAL_REQUEST_CHASED = "external_request.chased"
    EXTERNAL_REQUEST_ANSWERED = "external_request.answered"
    EXTERNAL_REQUEST_LISTED = "external_request.listed"
    SUSPECT_EVENT_LISTED = "suspect_event.listed"
    LEAD_UPDATED = "lead.updated"
    LEAD_VIEWED = "lead.viewed"
    LEAD_LISTED = "lead.listed"
    SAFEGUARDING_ACTION_RECORDED = "safeguarding_action.recorded"
    SAFEGUARDING_ACTION_LISTED = "safeguarding_action.listed"
    OUTCOME_RECORDED = "outcome.recorded"
    OUTCOME_VIEWED = "outcome.viewed"
    OUTCOME_AMENDED = "outcome.amended"
    NOTIFICATION_EMAILED = "notification.emailed"
    NOTIFICATION_EMAIL_FAILED = "notification.email_failed"
    WEBHOOK_REGISTERED = "webhook.registered"
    WEBHOOK_CHANGE_PROPOSED = "webhook.change_proposed"
    WEBHOOK_CHANGE_APPROVED = "webhook.change_approved"
    WEBHOOK_CHANGE_REFUSED = "webhook.change_refused"
    WEBHOOK_CHANGES_LISTED = "webhook.changes_listed"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"  # noqa: S105  (an action name, not a secret)
    WEBHOOK_DELIVERIES_VIEWED = "webhook.deliveries_viewed"
    WEBHOOK_FAILED = "webhook.failed"
    WEBHOOK_DISABLED = "webhook.disabled"
    REPORT_SPOKES_VIEWED = "report.spokes_viewed"
    ON_CALL_SHIFT_ADDED = "on_call.shift_added"
    ON_CALL_SHIFT_REMOVED = "on_call.shift_removed"
    ON_CALL_VIEWED = "on_call.viewed"
    PAGE_SENT = "page.sent"
    PAGE_FAILED = "page.failed"
    REPORT_FUNNEL_VIEWED = "report.funnel_viewed"
