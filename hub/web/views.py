"""The hub's web pages: landing by role, the triage queue, the referral page (grade and allocate),
the board of all tasks with reassignment, the agency's view, the auditor's trail (search,
export, chain verification) and a task's timeline, and everyone's inbox of reminders and
escalations (with Acknowledge).

Every view: login required → the caller's membership → the object looked up in the caller's
scoped queryset (404 outside it) → the API's role sets (403 for insiders without the right) →
one form → one service → PRG redirect, or the page again with the input and the error.
Every page that shows a sensitive record writes the same audit row an API read would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hub.api.audit import _stream_csv, _stream_json
from hub.exceptions import DomainError
from hub.hooks import outcome_view
from hub.models import (
    AuditEvent,
    AuditVerification,
    Membership,
    Organisation,
    Referral,
    Risk,
)
from hub.policies import ACK_ROLES, HUB_ROLES, READ_ALL_ROLES, can_acknowledge, sees_internal_notes
from hub.selectors import (
    AuditFilters,
    BoardFilters,
    audit_activity_by_day,
    audit_head_seq,
    audit_search,
    audit_status,
    audit_timeline,
    known_actions,
    membership_for,
    notification_list_for,
    open_tasks_by_region,
    organisation_list,
    referral_list_for,
    task_board,
    task_list_for,
    tasks_for,
    triage_queue,
)
from hub.services.alerts import task_acknowledge
from hub.services.audit import audit_list_read, audit_record
from hub.services.audit_integrity import audit_verify, key_id, public_key
from hub.services.notifications import notification_mark_read
from hub.services.referrals import (
    referral_audit_read,
    referral_close,
    referral_mark_non_actionable,
)
from hub.services.tasks import referral_triage_and_allocate, task_audit_read, task_reassign
from hub.web.forms import (
    AcknowledgeForm,
    AuditSearchForm,
    BoardFilterForm,
    CloseReferralForm,
    GradeAndAllocateForm,
    NonActionableForm,
    ReassignForm,
)
from hub.web.presenters import (
    DEADLINE_LABELS,
    access_labels,
    action_label,
    change_items,
    chart_payload,
    deadline_for,
    inbox_rows,
    outcome_display,
    task_rows,
)
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    flash_errors_of_hidden_form,
    member,
    page,
    refusals_audited,
    require_role,
    scoped_get,
    show_domain_error,
)

R = Membership.Role
AUDITOR_ROLES = frozenset({R.AUDITOR})
AGENCY_ROLES = frozenset({R.AGENCY})
PAGE_SIZE = 50
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}

# Where each role lands after signing in.
LANDING: dict[str, str] = {
    R.COORDINATOR: "hub:triage",
    R.AUDITOR: "hub:audit",
    R.OFFICER: "spokes:tasks",
    R.SUPERVISOR: "spokes:tasks",
    R.REGIONAL_COORDINATOR: "spokes:tasks",
    R.AGENCY: "hub:agency",
}

# What a referring agency is told about each status, in plain words.
AGENCY_STATUS_TEXT: dict[str, str] = {
    Referral.Status.RECEIVED: "Received by the hub; waiting to be graded.",
    Referral.Status.TRIAGED: "Graded by the hub; waiting to be allocated.",
    Referral.Status.NON_ACTIONABLE: "Closed by the hub: it could not be acted on.",
    Referral.Status.ALLOCATED: "With a police force or regional unit.",
    Referral.Status.OUTCOME_RECORDED: "The force or unit has recorded what happened.",
    Referral.Status.CLOSED: "Closed by the hub after the outcome.",
}


# --- Landing ----------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    membership = membership_for(request.user)
    if membership is None:
        return page(request, "hub/home.html")
    return redirect(LANDING[membership.role])


# --- Triage queue and the referral page ---------------------------------------------------------


@login_required
@refusals_audited
@require_GET
def triage(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = member(request)
    require_role(membership, HUB_ROLES, "The triage queue is for hub coordinators.")
    show = request.GET.get("show", "")
    queryset = triage_queue(referral_list_for(membership))
    counts = {
        "all": queryset.count(),
        "new": queryset.filter(status=Referral.Status.RECEIVED).count(),
        "graded": queryset.filter(status=Referral.Status.TRIAGED).count(),
        "urgent": queryset.filter(is_urgent=True).count(),
    }
    if show == "new":
        queryset = queryset.filter(status=Referral.Status.RECEIVED)
    elif show == "graded":
        queryset = queryset.filter(status=Referral.Status.TRIAGED)
    referrals = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_list_read(
        actor=request.user,
        object_type="referral",
        ids=[r.pk for r in referrals],
        query={"page": "triage", **request.GET.dict()},
    )
    return page(
        request,
        "hub/triage.html",
        {
            "referrals": referrals,
            "counts": counts,
            "show": show,
            "query": f"show={show}" if show else "",
            "now": timezone.now(),
        },
    )


def _referral_queryset(membership: Membership) -> Any:
    return referral_list_for(membership).select_related("agency", "suspect_force")


def _referral_page(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    referral: Referral,
    *,
    grade_form: GradeAndAllocateForm | None = None,
    non_actionable_form: NonActionableForm | None = None,
    close_form: CloseReferralForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The referral page, audited as a read each time it is shown (also after a refused POST)."""
    referral_audit_read(actor=request.user, referral=referral)
    if not sees_internal_notes(membership):
        return page(
            request,
            "hub/agency_referral.html",
            {
                "referral": referral,
                "status_text": AGENCY_STATUS_TEXT.get(referral.status, ""),
                "outcome": outcome_display(outcome_view(referral, internal=False)),
            },
            status=status,
        )
    is_hub = membership.role in HUB_ROLES
    outcome_recorded = referral.status == Referral.Status.OUTCOME_RECORDED
    grading_open = referral.status in {
        Referral.Status.RECEIVED,
        Referral.Status.TRIAGED,
        Referral.Status.ALLOCATED,
    }
    closable = referral.status in {Referral.Status.RECEIVED, Referral.Status.TRIAGED}
    for refused, shown in [
        (grade_form, grading_open),
        (non_actionable_form, closable),
        (close_form, outcome_recorded),
    ]:
        flash_errors_of_hidden_form(request, refused, shown=shown)
    now = timezone.now()
    tasks = task_rows(
        tasks_for(membership).filter(referral=referral).order_by("created_at"),
        now,
    )
    if is_hub and grading_open and grade_form is None:
        initial: dict[str, Any] = {}
        if referral.grade is not None:
            initial = {
                "grade": referral.grade,
                "risk": referral.risk,
                "access_to_children": referral.access_to_children,
                "information_incomplete": referral.is_information_incomplete,
            }
        if referral.status != Referral.Status.ALLOCATED and referral.suspect_force is not None:
            initial["assignee_org"] = referral.suspect_force.code
        grade_form = GradeAndAllocateForm(referral=referral, initial=initial)
    if is_hub and closable and non_actionable_form is None:
        non_actionable_form = NonActionableForm()
    if is_hub and outcome_recorded and close_form is None:
        close_form = CloseReferralForm()
    history = list(referral.triage_history.select_related("decided_by").order_by("-decided_at"))
    return page(
        request,
        "hub/referral.html",
        {
            "referral": referral,
            "tasks": tasks,
            "history": history,
            "access": access_labels(referral.access_to_children),
            "media": list(referral.media.all()[:20]),
            "media_count": referral.media.count(),
            "outcome": outcome_display(outcome_view(referral, internal=True)),
            "grade_form": grade_form if is_hub and grading_open else None,
            "non_actionable_form": non_actionable_form if is_hub and closable else None,
            "close_form": close_form if is_hub and outcome_recorded else None,
            "is_hub": is_hub,
        },
        status=status,
    )


@login_required
@refusals_audited
@require_GET
def referral_detail(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    referral = scoped_get(_referral_queryset(membership), pk)
    return _referral_page(request, membership, referral)


@login_required
@refusals_audited
@require_POST
def referral_grade(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    referral = scoped_get(_referral_queryset(membership), pk)
    require_role(membership, HUB_ROLES, "Only hub coordinators grade and allocate referrals.")
    form = GradeAndAllocateForm(request.POST, referral=referral)
    if not form.is_valid():
        return _referral_page(request, membership, referral, grade_form=form, status=400)
    data = form.cleaned_data
    to_org: Organisation | None = data["assignee_org"]
    grading = (
        {
            "grade": data["grade"],
            "risk": data["risk"],
            "access_to_children": data["access_to_children"],
            "is_information_incomplete": data["information_incomplete"],
            "rationale": data["rationale"],
        }
        if data["regrade"]
        else None
    )
    try:
        referral_triage_and_allocate(
            referral=referral,
            actor=request.user,
            grading=grading,
            to_org=to_org,
            instructions=data["instructions"],
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        referral.refresh_from_db()
        return _referral_page(request, membership, referral, grade_form=form, status=status)
    done = []
    if data["regrade"]:
        done.append(f"Graded {data['grade']} ({Risk(data['risk']).label.lower()} risk)")
    if to_org is not None:
        done.append(f"allocated to {to_org.name}")
    sentence = " and ".join(done)
    messages.success(request, sentence[:1].upper() + sentence[1:] + ".")
    return redirect("hub:referral", pk=referral.pk)


@login_required
@refusals_audited
@require_POST
def referral_non_actionable(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    referral = scoped_get(_referral_queryset(membership), pk)
    require_role(membership, HUB_ROLES, "Only hub coordinators close referrals.")
    form = NonActionableForm(request.POST)
    if not form.is_valid():
        return _referral_page(request, membership, referral, non_actionable_form=form, status=400)
    try:
        referral_mark_non_actionable(
            referral=referral,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        referral.refresh_from_db()
        return _referral_page(request, membership, referral, non_actionable_form=form, status=status)
    messages.success(request, "Referral closed as non-actionable.")
    return redirect("hub:triage")


@login_required
@refusals_audited
@require_POST
def referral_close_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    referral = scoped_get(_referral_queryset(membership), pk)
    require_role(membership, HUB_ROLES, "Only hub coordinators close referrals.")
    form = CloseReferralForm(request.POST)
    if not form.is_valid():
        return _referral_page(request, membership, referral, close_form=form, status=400)
    try:
        referral_close(referral=referral, actor=request.user, note=form.cleaned_data["note"])
    except DomainError as exc:
        status = show_domain_error(form, exc)
        referral.refresh_from_db()
        return _referral_page(request, membership, referral, close_form=form, status=status)
    messages.success(request, "Referral closed.")
    return redirect("hub:referral", pk=referral.pk)


# --- The board of all tasks, and reassignment -----------------------------------------------------


REGION_CHART_STATES = ("escalated", "overdue", "due_soon", "on_time", "paused")


def _region_chart(membership: Membership, now: datetime) -> dict[str, Any]:
    names = dict(organisation_list().filter(kind=Organisation.Kind.REGION).values_list("code", "name"))
    rows = open_tasks_by_region(task_list_for(membership), now)
    chart = chart_payload(
        [row["region_code"] or "—" for row in rows],
        [
            {"key": key, "label": DEADLINE_LABELS[key], "data": [row[key] for row in rows]}
            for key in REGION_CHART_STATES
        ],
        long_labels=[names.get(row["region_code"], row["region_code"] or "—") for row in rows],
    )
    totals = {key: sum(row[key] for row in rows) for key in REGION_CHART_STATES}
    return {"chart": chart, "totals": totals, "height": max(180, 46 * len(rows) + 70)}


@login_required
@refusals_audited
@require_GET
def board(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = member(request)
    require_role(membership, READ_ALL_ROLES, "The board of all tasks is for the hub.")
    form = BoardFilterForm(request.GET)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        filters = BoardFilters(
            status=data["status"],
            holder=data["holder"],
            region=data["region"],
            deadline=data["deadline"],
            grade=data["grade"],
        )
    else:
        filters, status = BoardFilters(), 400
    now = timezone.now()
    tasks = Paginator(task_board(task_list_for(membership), filters, now), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    audit_list_read(
        actor=request.user,
        object_type="task",
        ids=[t.pk for t in tasks],
        query={"page": "board", **request.GET.dict()},
    )
    query = request.GET.copy()
    query.pop("page", None)
    summary = _region_chart(membership, now)
    return page(
        request,
        "hub/board.html",
        {
            "form": form,
            "tasks": tasks,
            "rows": task_rows(tasks, now),
            "query": query.urlencode(),
            "summary": summary,
            "is_hub": membership.role in HUB_ROLES,
            "filtered": any(request.GET.get(f) for f in form.fields),
        },
        status=status,
    )


@login_required
@refusals_audited
@require_http_methods(["GET", "POST"])
def task_reassign_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(tasks_for(membership), pk)
    require_role(membership, HUB_ROLES, "Only hub coordinators reassign tasks.")
    status = 200
    if request.method == "POST":
        form = ReassignForm(request.POST, task=task)
        if form.is_valid():
            old_holder, to_org = task.assignee_org, form.cleaned_data["assignee_org"]
            try:
                task_reassign(
                    task=task, to_org=to_org, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                status = show_domain_error(form, exc)
            else:
                messages.success(
                    request, f"Task reassigned to {to_org.name}. {old_holder.name} no longer sees it."
                )
                return redirect("hub:board")
        else:
            status = 400
    else:
        form = ReassignForm(task=task)
    task_audit_read(actor=request.user, task=task)
    return page(
        request,
        "hub/task_reassign.html",
        {"task": task, "form": form, "deadline": deadline_for(task)},
        status=status,
    )


# --- The referring agency's view ------------------------------------------------------------------


@login_required
@refusals_audited
@require_GET
def agency_referrals(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = member(request)
    require_role(membership, AGENCY_ROLES, "This page is for referring agencies.")
    queryset = referral_list_for(membership).select_related("outcome").order_by("-received_at", "id")
    referrals = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "referral": r,
            "status_text": AGENCY_STATUS_TEXT.get(r.status, ""),
            "outcome": outcome_display(outcome_view(r, internal=False)),
        }
        for r in referrals
    ]
    audit_list_read(
        actor=request.user,
        object_type="referral",
        ids=[r.pk for r in referrals],
        query={"page": "agency", **request.GET.dict()},
    )
    return page(request, "hub/agency_referrals.html", {"referrals": referrals, "rows": rows})


# --- The audit trail (auditors only) --------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    label: str
    changes: list[tuple[str, str]]


def _event_rows(events: list[AuditEvent]) -> list[EventRow]:
    return [EventRow(e, action_label(e.action), change_items(e.changes or {})) for e in events]


def _audit_filters(data: dict[str, Any]) -> AuditFilters:
    return AuditFilters(
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


def _audit_search_refused(request: AuthenticatedHttpRequest, form: AuditSearchForm) -> HttpResponse:
    context = {"form": form, "actions": known_actions(), "rows": []}
    return page(request, "hub/audit_trail.html", context, status=400)


@login_required
@refusals_audited
@require_GET
def audit_trail(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = member(request)
    require_role(membership, AUDITOR_ROLES, "Only auditors may read the audit trail.")
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return _audit_search_refused(request, form)
    data = form.cleaned_data
    filters = _audit_filters(data)
    queryset = audit_search(filters)
    before = request.GET.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(seq__lt=int(before))
    events = list(queryset.order_by("-seq")[: PAGE_SIZE + 1])
    has_more, events = len(events) > PAGE_SIZE, events[:PAGE_SIZE]
    activity = audit_activity_by_day(audit_search(filters))
    query = _audit_query(data)
    audit_record(
        actor=request.user,
        action="audit.searched",
        object_type="audit_trail",
        justification=data["purpose"],
        changes={
            "query": query,
            "before": before or None,
            "count": len(events),
            "seqs": [e.seq for e in events],
        },
    )
    more = request.GET.copy()
    if has_more:
        more["before"] = str(events[-1].seq)
    return page(
        request,
        "hub/audit_trail.html",
        {
            "form": form,
            "actions": known_actions(),
            "rows": _event_rows(events),
            "has_more": has_more,
            "more_query": more.urlencode(),
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


@login_required
@refusals_audited
@require_GET
def audit_export(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """The current search, whole and in chain order, as CSV or JSON: the API's streaming
    export, audited the same way (``audit.exported`` with the query, format and count; the
    purpose is the justification)."""
    membership = member(request)
    require_role(membership, AUDITOR_ROLES, "Only auditors may export the audit trail.")
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
    events = audit_search(_audit_filters(data)).filter(seq__lte=head).select_related("actor").order_by("seq")
    count = events.count()
    audit_record(
        actor=request.user,
        action="audit.exported",
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


@login_required
@refusals_audited
@require_http_methods(["GET", "POST"])
def audit_verification(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The chain's integrity: the latest verification and signed checkpoint (each view is an
    ``audit.status_viewed``), and Verify now, which walks the whole trail and records
    ``audit.verified`` as ``manage.py verify_audit`` does."""
    membership = member(request)
    require_role(membership, AUDITOR_ROLES, "Only auditors may verify the audit trail.")
    if request.method == "POST":
        result = audit_verify(actor=request.user)
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
    audit_record(actor=request.user, action="audit.status_viewed", object_type="audit_trail")
    return page(
        request,
        "hub/audit_verification.html",
        {
            "run": run,
            "checkpoint": checkpoint,
            "head": head,
            "unsigned": head - checkpoint.seq if checkpoint else head,
            "history": list(AuditVerification.objects.order_by("-ran_at")[:10]),
            "signing_key_id": _signing_key_id(),
        },
    )


def _signing_key_id() -> str:
    """The id of the key checkpoints are verified with ("" when none is configured)."""
    try:
        return key_id(public_key())
    except ImproperlyConfigured:
        return ""


@login_required
@refusals_audited
@require_GET
def audit_task_timeline(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    require_role(membership, AUDITOR_ROLES, "Only auditors may read the audit trail.")
    task = scoped_get(tasks_for(membership), pk)
    events = list(audit_timeline(task=task)[:2000])
    audit_record(
        actor=request.user,
        action="audit.searched",
        object_type="task",
        object_id=task.pk,
        task_id=task.pk,
        referral_id=task.referral_id,
        changes={"query": {"timeline": "task", "task_id": str(task.pk)}, "count": len(events)},
    )
    return page(
        request,
        "hub/audit_timeline.html",
        {
            "task": task,
            "referral": task.referral,
            "rows": _event_rows(events),
            "deadline": deadline_for(task),
        },
    )


@login_required
@refusals_audited
@require_GET
def audit_referral_timeline(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    require_role(membership, AUDITOR_ROLES, "Only auditors may read the audit trail.")
    referral = scoped_get(_referral_queryset(membership), pk)
    events = list(audit_timeline(referral_id=referral.pk)[:2000])
    audit_record(
        actor=request.user,
        action="audit.searched",
        object_type="referral",
        object_id=referral.pk,
        referral_id=referral.pk,
        changes={"query": {"timeline": "referral", "referral_id": str(referral.pk)}, "count": len(events)},
    )
    return page(
        request, "hub/audit_timeline.html", {"task": None, "referral": referral, "rows": _event_rows(events)}
    )


# --- The inbox: reminders and escalations, and acknowledging a breach ------------------------------


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after a POST: the ``next`` field when it is a path on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@refusals_audited
@require_GET
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = member(request)
    show = "all" if request.GET.get("show") == "all" else "unread"
    queryset = notification_list_for(request.user)
    unread_count = queryset.filter(read_at__isnull=True).count()
    if show == "unread":
        queryset = queryset.filter(read_at__isnull=True)
    notifications = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return page(
        request,
        "hub/inbox.html",
        {
            "notifications": notifications,
            "rows": inbox_rows(request, membership, notifications),
            "show": show,
            "unread_count": unread_count,
            "query": "show=all" if show == "all" else "",
        },
    )


@login_required
@refusals_audited
@require_POST
def notification_read(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    member(request)
    notification = scoped_get(notification_list_for(request.user), pk)
    notification_mark_read(notification=notification, actor=request.user)
    return redirect(safe_next(request, reverse("hub:inbox")))


@login_required
@refusals_audited
@require_http_methods(["GET", "POST"])
def task_acknowledge_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    """Take responsibility for a breached task. A GET shows the form (with a note); the inbox
    and the task page post to it directly."""
    membership = member(request)
    task = scoped_get(tasks_for(membership), pk)
    require_role(membership, ACK_ROLES, "Your role is not in this task's escalation chain.")
    if not can_acknowledge(request.user, membership, task):
        raise PermissionDenied("Only the holder, its region or the hub acknowledge this task's escalation.")
    form = AcknowledgeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                task_acknowledge(task=task, actor=request.user, note=form.cleaned_data["note"])
            except DomainError as exc:
                status = show_domain_error(form, exc)
            else:
                messages.success(
                    request, "Escalation acknowledged: the chain has stopped and your name is on it."
                )
                return redirect(safe_next(request, reverse("spokes:task", kwargs={"pk": task.pk})))
        else:
            status = 400
    task_audit_read(actor=request.user, task=task)
    return page(
        request,
        "hub/acknowledge.html",
        {"task": task, "form": form, "deadline": deadline_for(task), "next": safe_next(request, "")},
        status=status,
    )
