"""Reads: tenant-scoped QuerySets and small lookups, one module per feature. Nothing here
writes.

- ``scoping``: who sees what (the querysets every list, page and policy check starts from);
- ``deadlines``: a task's deadline state, one table read in Python and SQL, one overdue;
- ``board``: the hub's board and triage queue over already-scoped querysets;
- ``audit``: the auditors' reads of the trail.
"""

from __future__ import annotations

from hub.selectors.audit import (
    AuditFilters,
    AuditStatus,
    audit_activity_by_day,
    audit_head_seq,
    audit_search,
    audit_status,
    audit_timeline,
    known_actions,
    verification_on_trail,
    with_referral_reference,
)
from hub.selectors.board import (
    BOARD_DEADLINE_FILTERS,
    BOARD_DEADLINE_STATES,
    BoardFilters,
    board_deadline_q,
    most_urgent_first,
    notification_search,
    open_tasks_by_region,
    referral_search,
    task_board,
    task_search,
    team_suggested,
    triage_queue,
)
from hub.selectors.deadlines import (
    DEADLINE_RULES,
    DEADLINE_STATES,
    OVERDUE_STATES,
    RUNNING_DEADLINE_STATES,
    DeadlineCondition,
    DeadlineRule,
    deadline_q,
    deadline_state_expression,
    deadline_states_q,
    task_deadline_state,
    task_overdue,
    task_overdue_q,
    task_paused_for,
    with_deadline_state,
    with_escalation_flag,
)
from hub.selectors.scoping import (
    escalation_list_for,
    membership_for,
    notification_list_for,
    organisation_list,
    people_for,
    referral_list_for,
    region_holder_ids,
    task_list_for,
    tasks_for,
)

__all__ = [
    "people_for",
    "AuditFilters",
    "AuditStatus",
    "BOARD_DEADLINE_FILTERS",
    "BOARD_DEADLINE_STATES",
    "BoardFilters",
    "DEADLINE_RULES",
    "DEADLINE_STATES",
    "DeadlineCondition",
    "DeadlineRule",
    "OVERDUE_STATES",
    "RUNNING_DEADLINE_STATES",
    "audit_activity_by_day",
    "audit_head_seq",
    "audit_search",
    "audit_status",
    "verification_on_trail",
    "audit_timeline",
    "board_deadline_q",
    "deadline_q",
    "deadline_state_expression",
    "deadline_states_q",
    "escalation_list_for",
    "known_actions",
    "with_referral_reference",
    "membership_for",
    "most_urgent_first",
    "notification_list_for",
    "open_tasks_by_region",
    "organisation_list",
    "referral_list_for",
    "region_holder_ids",
    "task_board",
    "notification_search",
    "task_search",
    "referral_search",
    "team_suggested",
    "task_deadline_state",
    "task_list_for",
    "task_overdue",
    "task_overdue_q",
    "task_paused_for",
    "tasks_for",
    "triage_queue",
    "with_deadline_state",
    "with_escalation_flag",
]
