"""The audit trail for auditors: search, export, chain verification and timelines. Every read
of the trail is itself on the trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.utils import timezone

from hub.api.audit import _stream_csv, _stream_json
from hub.constants import AuditAction
from hub.models import AuditEvent, AuditVerification, Membership, Referral, Task
from hub.policies.rules import Act, Actor
from hub.selectors import (
    AuditFilters,
    audit_activity_by_day,
    audit_head_seq,
    audit_search,
    audit_status,
    audit_timeline,
    known_actions,
    tasks_for,
    verification_on_trail,
    with_referral_reference,
)
from hub.services.audit import audit_record
from hub.services.audit_integrity import audit_verify, key_id, public_key
from hub.web.forms import AuditSearchForm
from hub.web.presenters import action_label, change_items, chart_payload, deadline_for
from hub.web.shortcuts import AuthenticatedHttpRequest, page, policy_view
from hub.web.views.referrals import referrals_of

PAGE_SIZE = 50
# Sortable columns of the trail (the default is newest first). Every order ends with ``seq``,
# which is unique, so a page's last row is a complete cursor for the next page.
AUDIT_SORTS: dict[str, tuple[str, ...]] = {
    "": ("-seq",),
    "seq": ("seq",),
    "actor": ("actor_display", "-seq"),
    "-actor": ("-actor_display", "-seq"),
    "action": ("action", "-seq"),
    "-action": ("-action", "-seq"),
}
SORT_NAMES = {"": "newest first", "seq": "oldest first", "actor": "by who, A–Z", "-actor": "by who, Z–A",
              "action": "by action, A–Z", "-action": "by action, Z–A"}  # fmt: skip
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _tasks(membership: Membership) -> Any:
    return tasks_for(membership)


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    label: str
    changes: list[tuple[str, str]]
    reference: str = ""


def _event_rows(events: list[AuditEvent]) -> list[EventRow]:
    return [
        EventRow(
            e,
            action_label(e.action),
            change_items(e.changes or {}),
            getattr(e, "referral_reference", "") or "",
        )
        for e in events
    ]


def _audit_filters(data: dict[str, Any]) -> AuditFilters:
    return AuditFilters(
        reference=data["reference"],
        object_id=data["object_id"],
        actor=data["actor"],
        action=data["action"],
        organisation=data["organisation"],
        since=data["since"],
        until=data["until"],
    )


def _audit_query(data: dict[str, Any]) -> dict[str, str]:
    """The search as recorded in the trail (and carried by the export buttons): what was
    filled in, without the purpose (which is recorded as the justification)."""
    return {key: str(value) for key, value in data.items() if value and key != "purpose"}


def _after(queryset: Any, order: tuple[str, ...], seq: int) -> Any:
    """The rows that come after event ``seq`` in ``order`` (keyset paging on any sort): for
    ``(a, -seq)`` that is ``a > last.a or (a == last.a and seq < last.seq)``."""
    names = [field.lstrip("-") for field in order]
    last = AuditEvent.objects.filter(seq=seq).values(*names).first()
    if last is None:
        return queryset.none()
    later, same = Q(pk__in=[]), Q()
    for field, name in zip(order, names, strict=True):
        beyond = f"{name}__lt" if field.startswith("-") else f"{name}__gt"
        later |= same & Q(**{beyond: last[name]})
        same &= Q(**{name: last[name]})
    return queryset.filter(later)


def _audit_search_refused(request: AuthenticatedHttpRequest, form: AuditSearchForm) -> HttpResponse:
    context = {"form": form, "actions": known_actions(), "rows": []}
    return page(request, "hub/audit_trail.html", context, status=400)


@policy_view(Act.AUDIT_SEARCH)
def audit_trail(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return _audit_search_refused(request, form)
    sort = request.GET.get("sort", "")
    if sort not in AUDIT_SORTS:
        messages.error(request, "Sort: choose one of the column headings.")
        return _audit_search_refused(request, form)
    data = form.cleaned_data
    filters = _audit_filters(data)
    queryset = audit_search(filters)
    order = AUDIT_SORTS[sort]
    # ``before`` (newest first, the links of v1 pages) and ``after`` (any order) page on.
    before = request.GET.get("after", "") or request.GET.get("before", "")
    if before.isdigit():
        queryset = _after(queryset, order, int(before))
    events = list(with_referral_reference(queryset.order_by(*order))[: PAGE_SIZE + 1])
    has_more, events = len(events) > PAGE_SIZE, events[:PAGE_SIZE]
    activity = audit_activity_by_day(audit_search(filters))
    query = _audit_query(data)
    audit_record(
        actor=request.user,
        action=AuditAction.AUDIT_SEARCHED,
        object_type="audit_trail",
        justification=data["purpose"],
        changes={
            "query": query,
            "before": before or None,
            "sort": sort or None,
            "count": len(events),
            "seqs": [e.seq for e in events],
        },
    )
    more = request.GET.copy()
    more.pop("before", None)
    if has_more:
        more["after"] = str(events[-1].seq)
    unsorted = request.GET.copy()
    for name in ("sort", "after", "before"):
        unsorted.pop(name, None)
    return page(
        request,
        "hub/audit_trail.html",
        {
            "form": form,
            "actions": known_actions(),
            "rows": _event_rows(events),
            "has_more": has_more,
            "more_query": more.urlencode(),
            "sort": sort,
            "sort_name": SORT_NAMES[sort],
            "unsorted": unsorted.urlencode(),
            "searched": bool(query),
            "paged": bool(before),
            "can_export": True,
            # The search as typed, carried by the export form's hidden fields.
            "export_query": [
                (name, request.GET[name])
                for name in form.fields
                if name != "purpose" and request.GET.get(name)
            ],
            "chart": chart_payload(
                [row["day"].strftime("%d %b") for row in activity],
                [
                    {"key": "events", "label": "Events", "data": [row["events"] for row in activity]},
                    {
                        "key": "refused",
                        "label": "Refused or failed",
                        "data": [row["refused"] for row in activity],
                    },
                ],
            ),
        },
    )


@policy_view(Act.AUDIT_EXPORT)
def audit_export(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponseBase:
    """The current search, whole and in chain order, as CSV or JSON: the API's streaming
    export, audited the same way (``audit.exported`` with the query, format and count; the
    purpose is the justification)."""
    form = AuditSearchForm(request.GET)
    kind = request.GET.get("format", "")
    if not form.is_valid():
        return _audit_search_refused(request, form)
    if kind not in EXPORT_FORMATS:
        form.add_error(None, "Choose the file format: CSV or JSON.")
        return _audit_search_refused(request, form)
    data = form.cleaned_data
    # Bound the file by the head of the chain now, so the count recorded below is exactly what
    # is streamed (the export's own event, appended next, is not in it).
    head = audit_head_seq()
    events = with_referral_reference(
        audit_search(_audit_filters(data)).filter(seq__lte=head).select_related("actor").order_by("seq")
    )
    count = events.count()
    audit_record(
        actor=request.user,
        action=AuditAction.AUDIT_EXPORTED,
        object_type="audit_trail",
        justification=data["purpose"],
        changes={"query": _audit_query(data), "format": kind, "count": count, "up_to_seq": head},
    )
    stream = _stream_csv(events) if kind == "csv" else _stream_json(events)
    response = StreamingHttpResponse(stream, content_type=EXPORT_FORMATS[kind])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="vihub-audit-{stamp}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response


@policy_view({"GET": Act.AUDIT_STATUS, "POST": Act.AUDIT_VERIFY})
def audit_verification(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """The chain's integrity: the latest verification and signed checkpoint (each view is an
    ``audit.status_viewed``), and Verify now, which walks the whole trail and records
    ``audit.verified`` as ``manage.py verify_audit`` does."""
    if request.method == "POST":
        # One connection, no worker processes: a web process (threaded, in tests and some
        # servers) is no place to fork; the command and the hourly job use the workers.
        result = audit_verify(actor=request.user, workers=1)
        if result.ok:
            checked = f"{result.events_checked} event{pluralize(result.events_checked)}"
            signed = f"{result.checkpoints_checked} signed checkpoint{pluralize(result.checkpoints_checked)}"
            messages.success(
                request, f"The trail is intact: {checked} and {signed} verified in {result.duration_ms} ms."
            )
        else:
            messages.error(
                request, f"Verification FAILED at event #{result.first_bad_seq}: {result.message}."
            )
        return redirect("hub:audit-verification")
    integrity = audit_status()
    run, checkpoint, head = integrity.last_run, integrity.last_checkpoint, integrity.head_seq
    audit_record(actor=request.user, action=AuditAction.AUDIT_STATUS_VIEWED, object_type="audit_trail")
    return page(
        request,
        "hub/audit_verification.html",
        {
            "run": run,
            "checkpoint": checkpoint,
            "head": head,
            "unsigned": head - checkpoint.seq if checkpoint else head,
            "history": _history(),
            "signing_key_id": _signing_key_id(),
        },
    )


def _history() -> list[tuple[AuditVerification, bool]]:
    """The last ten results, each with whether its ``audit.verified`` event vouches for it."""
    rows = list(AuditVerification.objects.order_by("-ran_at", "-id")[:10])
    believed = verification_on_trail(rows)
    return [(row, believed[row.pk]) for row in rows]


def _signing_key_id() -> str:
    """The id of the key checkpoints are verified with ("" when none is configured)."""
    try:
        return key_id(public_key())
    except ImproperlyConfigured:
        return ""


@policy_view(Act.AUDIT_TIMELINE, lookup=_tasks)
def audit_task_timeline(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    changes_only = request.GET.get("show") == "changes"
    events = list(audit_timeline(task=task, changes_only=changes_only)[:2000])
    audit_record(
        actor=request.user,
        action=AuditAction.AUDIT_SEARCHED,
        object_type="task",
        object_id=task.pk,
        task_id=task.pk,
        referral_id=task.referral_id,
        changes={
            "query": {"timeline": "task", "task_id": str(task.pk), "changes_only": changes_only},
            "count": len(events),
        },
    )
    return page(
        request,
        "hub/audit_timeline.html",
        {
            "task": task,
            "referral": task.referral,
            "rows": _event_rows(events),
            "deadline": deadline_for(task),
            "changes_only": changes_only,
        },
    )


@policy_view(Act.AUDIT_REFERRAL_TIMELINE, lookup=referrals_of)
def audit_referral_timeline(
    request: AuthenticatedHttpRequest, actor: Actor, referral: Referral
) -> HttpResponse:
    changes_only = request.GET.get("show") == "changes"
    events = list(audit_timeline(referral_id=referral.pk, changes_only=changes_only)[:2000])
    audit_record(
        actor=request.user,
        action=AuditAction.AUDIT_SEARCHED,
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        changes={
            "query": {"timeline": "referral", "referral_id": str(referral.pk), "changes_only": changes_only},
            "count": len(events),
        },
    )
    return page(
        request,
        "hub/audit_timeline.html",
        {"task": None, "referral": referral, "rows": _event_rows(events), "changes_only": changes_only},
    )
