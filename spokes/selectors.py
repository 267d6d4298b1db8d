"""The spokes' reads: leads on the tasks a member may see. Nothing here writes."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Q, QuerySet

from hub.models import Membership, Task
from hub.policies.roles import READ_ALL_ROLES
from hub.selectors import task_list_for
from spokes.models import Child, ConferenceRequest, ExternalRequest, Handoff, Lead, SuspectEvent


def lead_list_for(membership: Membership) -> QuerySet[Lead]:
    """Leads on tasks in the member's scope (a lead is as visible as its task)."""
    return Lead.objects.filter(task__in=task_list_for(membership)).select_related(
        "task", "created_by__membership__organisation"
    )


def child_list_for(membership: Membership) -> QuerySet[Child]:
    """Children on tasks in the member's scope (as visible as their task)."""
    return Child.objects.filter(task__in=task_list_for(membership)).select_related("task")


def children_of(task: Task) -> list[Child]:
    return list(
        Child.objects.filter(task=task).prefetch_related("checks__checked_by__membership__organisation")
    )


def unchecked_reachable(task: Task) -> list[Child]:
    """Children the suspect can reach that nobody has checked yet: the release gate."""
    return list(
        Child.objects.filter(task=task, relation=Child.Relation.REACHABLE, checks__isnull=True).order_by(
            "created_at"
        )
    )


def suspect_events_of(task: Task) -> list[SuspectEvent]:
    return list(
        SuspectEvent.objects.filter(task=task).select_related("recorded_by__membership__organisation")
    )


def leads_of(task: Task) -> list[Lead]:
    return list(Lead.objects.filter(task=task).select_related("created_by__membership__organisation", "task"))


def handoff_list_for(membership: Membership) -> QuerySet[Handoff]:
    """Hand-offs the member's organisation sent or received (the hub and auditors: all)."""
    queryset = Handoff.objects.select_related("child", "from_org", "to_org", "answered_by")
    if membership.role in READ_ALL_ROLES:
        return queryset
    org = membership.organisation_id
    return queryset.filter(Q(to_org_id=org) | Q(from_org_id=org))


def request_list_for(membership: Membership) -> QuerySet[ExternalRequest]:
    """Requests on tasks in the member's scope, the longest waiting first."""
    return (
        ExternalRequest.objects.filter(task__in=task_list_for(membership))
        .select_related("task__referral__agency", "task__assignee_org")
        .order_by("answered_at", "sent_at", "id")
    )


def conference_list_for(membership: Membership) -> QuerySet[ConferenceRequest]:
    """Conference requests: all for the hub and auditors; a holder's own tasks' for a spoke."""
    queryset = ConferenceRequest.objects.select_related(
        "task__referral__agency",
        "task__assignee_org",
        "requested_by__membership__organisation",
        "answered_by__membership__organisation",
    ).order_by("-requested_at", "id")
    if membership.role in READ_ALL_ROLES:
        return queryset
    return queryset.filter(task__assignee_org_id=membership.organisation_id)


# --- The safeguarding review (the hub and auditors) --------------------------------------------

REVIEW_LIMIT = 200


def release_checks(limit: int = REVIEW_LIMIT, referrals: Any = None) -> list[dict[str, Any]]:
    """Each bail or release, newest first, with every reachable child on its task and the first
    check made on that child before the release (None: the child was unchecked at the time).
    ``referrals`` (a queryset or list of ids) narrows it to those referrals."""
    events_of = SuspectEvent.objects.filter(kind__in=SuspectEvent.RELEASES)
    if referrals is not None:
        events_of = events_of.filter(task__referral__in=referrals)
    events = list(
        events_of.select_related(
            "task__referral", "task__assignee_org", "recorded_by__membership__organisation"
        ).order_by("-occurred_at")[:limit]
    )
    reachable: dict[Any, list[Child]] = {}
    for child in (
        Child.objects.filter(task__in={event.task_id for event in events}, relation=Child.Relation.REACHABLE)
        .prefetch_related("checks")
        .order_by("created_at")
    ):
        reachable.setdefault(child.task_id, []).append(child)
    rows = []
    for event in events:
        children = []
        for child in reachable.get(event.task_id, []):
            if child.created_at > event.recorded_at:
                continue  # recorded after the release: not a child the gate knew of
            before = sorted(
                (check for check in child.checks.all() if check.checked_at <= event.occurred_at),
                key=lambda check: check.checked_at,
            )
            children.append({"child": child, "check": before[0] if before else None})
        unchecked = sum(1 for c in children if c["check"] is None)
        rows.append({"event": event, "children": children, "unchecked": unchecked})
    return rows


def custody_timelines(limit: int = REVIEW_LIMIT, referrals: Any = None) -> list[dict[str, Any]]:
    """Who held each handed-off child's safeguarding, and from when: the task's holder from
    the first offer, then each organisation that accepted. Pending and declined offers show
    between, so a gap in custody is visible."""
    handed = Child.objects.filter(handoffs__isnull=False)
    if referrals is not None:
        handed = handed.filter(task__referral__in=referrals)
    latest = (
        handed.annotate(last_offer=Max("handoffs__created_at"))
        .order_by("-last_offer")
        .values_list("pk", flat=True)[:limit]
    )
    handoffs = list(
        Handoff.objects.filter(child__in=list(latest))
        .select_related("child__task__referral", "from_org", "to_org", "answered_by")
        .order_by("child_id", "created_at")
    )
    by_child: dict[Any, list[Handoff]] = {}
    for handoff in handoffs:
        by_child.setdefault(handoff.child_id, []).append(handoff)
    timelines: list[dict[str, Any]] = []
    for offers in by_child.values():
        child = offers[0].child
        steps: list[dict[str, Any]] = [
            {"at": child.created_at, "org": offers[0].from_org, "how": "held with the task"}
        ]
        for offer in offers:
            steps.append({"at": offer.created_at, "org": offer.to_org, "how": "offered, not yet held"})
            if offer.status == Handoff.Status.ACCEPTED:
                steps.append({"at": offer.answered_at, "org": offer.to_org, "how": "accepted: holds"})
            elif offer.status == Handoff.Status.DECLINED:
                steps.append(
                    {"at": offer.answered_at, "org": offer.to_org, "how": f"declined: {offer.answer_reason}"}
                )
            elif offer.status == Handoff.Status.REVOKED:
                steps.append(
                    {
                        "at": offer.revoked_at,
                        "org": offer.from_org,
                        "how": f"withdrawn: {offer.revoke_reason}",
                    }
                )
        holder = next(
            (o.to_org for o in reversed(offers) if o.status == Handoff.Status.ACCEPTED), offers[0].from_org
        )
        timelines.append({"child": child, "steps": steps, "holder": holder})
    timelines.sort(key=lambda t: t["steps"][-1]["at"], reverse=True)
    return timelines


def handoffs_never_accepted(limit: int = REVIEW_LIMIT, referrals: Any = None) -> QuerySet[Handoff]:
    """Offers still waiting, turned down or withdrawn, the oldest first: a child nobody has taken on."""
    offers = Handoff.objects.exclude(status=Handoff.Status.ACCEPTED)
    if referrals is not None:
        offers = offers.filter(child__task__referral__in=referrals)
    return offers.select_related("child__task__referral", "from_org", "to_org").order_by("created_at")[:limit]


def oldest_waiting_requests(limit: int = 10) -> list[ExternalRequest]:
    """Requests to platforms and overseas still unanswered, the longest waiting first, across
    every spoke: the accountability reports name them (a pause on the task does not hide them)."""
    return list(
        ExternalRequest.objects.filter(answered_at__isnull=True)
        .select_related("task__referral", "task__assignee_org")
        .order_by("sent_at", "id")[:limit]
    )


def suspect_welfare_statistics(*, since: Any, referrals: Any = None) -> list[dict[str, Any]]:
    """The annual statistics the inquiry asks for (Recs 10 and 11), per holding organisation:
    suspects arrested since ``since`` (one per task), how many were assessed as a suicide risk,
    and how many families were signposted to support. Counted from the suspect events."""
    events = SuspectEvent.objects.filter(occurred_at__gte=since)
    if referrals is not None:
        events = events.filter(task__referral__in=referrals)
    per_task: dict[Any, dict[str, Any]] = {}
    for task_id, org_code, org_name, kind, risk, signposted in events.values_list(
        "task_id", "task__assignee_org__code", "task__assignee_org__name", "kind",
        "suicide_risk_flagged", "family_signposted",
    ):  # fmt: skip
        row = per_task.setdefault(task_id, {"org": org_code, "name": org_name, "arrested": False,
                                            "risk": False, "signposted": False})  # fmt: skip
        row["arrested"] |= kind == SuspectEvent.Kind.ARRESTED
        row["risk"] |= risk
        row["signposted"] |= signposted
    totals: dict[str, dict[str, Any]] = {}
    for row in per_task.values():
        if not row["arrested"]:
            continue
        total = totals.setdefault(row["org"], {"org": row["org"], "name": row["name"], "arrested": 0,
                                                "suicide_risk": 0, "family_signposted": 0})  # fmt: skip
        total["arrested"] += 1
        total["suicide_risk"] += row["risk"]
        total["family_signposted"] += row["signposted"]
    return [totals[code] for code in sorted(totals)]
