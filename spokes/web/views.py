"""The holder's pages: our organisation's tasks (most urgent first), and the task page where a
force or region accepts or declines, hands down, and records leads. Safeguarding actions and
the outcome are fragments of the safeguarding app, loaded into the task page with htmx.

Same rules as the API: a task outside the caller's scoped queryset is a 404; one the caller can
see but not work (a region overseeing a force's task, the hub, an auditor) is a 403 on POST.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hub.exceptions import DomainError
from hub.models import Membership, Organisation, Task
from hub.policies import (
    HUB_ROLES,
    PAUSE_ROLES,
    READ_ALL_ROLES,
    RESUME_ROLES,
    TASK_WORKER_ROLES,
    can_acknowledge,
    can_hand_down,
    can_pause,
    can_resume,
    can_work_task,
)
from hub.selectors import (
    escalation_list_for,
    most_urgent_first,
    notification_list_for,
    task_list_for,
    tasks_for,
)
from hub.services.alerts import task_pause, task_resume
from hub.services.audit import audit_list_read, audit_record
from hub.services.tasks import task_audit_read, task_hand_down
from hub.web.presenters import access_labels, deadline_for, inbox_rows, task_rows
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
from spokes.models import Lead
from spokes.services import lead_create, lead_update, task_accept, task_decline
from spokes.web.forms import DeclineForm, HandDownForm, LeadForm, LeadUpdateForm, PauseForm

R = Membership.Role
PAGE_SIZE = 50


def _tasks(membership: Membership) -> QuerySet[Task]:
    return tasks_for(membership)


def _require_worker(request: AuthenticatedHttpRequest, membership: Membership, task: Task) -> None:
    require_role(membership, TASK_WORKER_ROLES, "Only the organisation holding this task can work on it.")
    if not can_work_task(request.user, membership, task):
        raise PermissionDenied("Only the organisation holding this task can work on it.")


@login_required
@refusals_audited
@require_GET
def task_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    membership = member(request)
    if membership.role in READ_ALL_ROLES:
        return redirect("hub:board")
    require_role(membership, TASK_WORKER_ROLES, "Task lists are for regions and forces.")
    show = "all" if request.GET.get("show") == "all" else "open"
    queryset = _tasks(membership)
    if show == "open":
        queryset = queryset.filter(status__in=Task.OPEN_STATUSES)
    now = timezone.now()
    tasks = Paginator(most_urgent_first(queryset), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = task_rows(tasks, now)
    audit_list_read(
        actor=request.user,
        object_type="task",
        ids=[t.pk for t in tasks],
        query={"page": "tasks", **request.GET.dict()},
    )
    counts = {
        state: sum(1 for row in rows if row.deadline.state == state)
        for state in ("overdue", "escalated", "due_soon")
    }
    unread = notification_list_for(request.user).filter(read_at__isnull=True)
    org = membership.organisation
    return page(
        request,
        "spokes/task_list.html",
        {
            "tasks": tasks,
            "rows": rows,
            "show": show,
            "counts": counts,
            "query": "show=all" if show == "all" else "",
            "is_region": org.kind == Organisation.Kind.REGION,
            "offered": sum(1 for row in rows if row.task.status == Task.Status.OFFERED),
            "inbox": inbox_rows(request, membership, unread[:5]),
            "inbox_more": max(unread.count() - 5, 0),
        },
    )


def _task_page(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    task: Task,
    *,
    decline_form: DeclineForm | None = None,
    hand_down_form: HandDownForm | None = None,
    lead_form: LeadForm | None = None,
    lead_update_form: tuple[UUID, LeadUpdateForm] | None = None,
    pause_form: PauseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The task page; audited as a read each time it is shown (also after a refused POST)."""
    task_audit_read(actor=request.user, task=task)
    leads = list(Lead.objects.filter(task=task).select_related("created_by"))
    if leads:  # the same read audit as GET /tasks/{id}/leads/
        audit_record(
            actor=request.user,
            action="lead.listed" if len(leads) != 1 else "lead.viewed",
            object_type="lead",
            object_id=leads[0].pk if len(leads) == 1 else "",
            referral_id=task.referral_id,
            task_id=task.pk,
            changes={"ids": [str(lead.pk) for lead in leads]},
        )
    can_work = can_work_task(request.user, membership, task)
    workable = can_work and task.status == Task.Status.ACCEPTED
    may_hand_down = task.is_open and can_hand_down(request.user, membership, task)
    running = task.status in (Task.Status.OFFERED, Task.Status.ACCEPTED)
    may_pause = running and not task.is_paused and can_pause(request.user, membership, task)
    for refused, shown in [
        (pause_form, may_pause),
        (decline_form, can_work and task.status == Task.Status.OFFERED),
        (hand_down_form, may_hand_down),
        (lead_form, workable),
        (lead_update_form[1] if lead_update_form else None, workable),
    ]:
        flash_errors_of_hidden_form(request, refused, shown=shown)
    if can_work and task.status == Task.Status.OFFERED and decline_form is None:
        decline_form = DeclineForm()
    if may_hand_down and hand_down_form is None:
        hand_down_form = HandDownForm(region=task.assignee_org)
    if workable and lead_form is None:
        lead_form = LeadForm()
    if may_pause and pause_form is None:
        pause_form = PauseForm()
    lead_rows = []
    for lead in leads:
        if lead_update_form is not None and lead_update_form[0] == lead.pk:
            form = lead_update_form[1]
        else:
            form = LeadUpdateForm(
                prefix=f"lead-{lead.pk}", initial={"status": lead.status, "notes": lead.notes}
            )
        lead_rows.append({"lead": lead, "form": form if workable else None})
    referral = task.referral
    return page(
        request,
        "spokes/task.html",
        {
            "task": task,
            "referral": referral,
            "deadline": deadline_for(task),
            "access": access_labels(referral.access_to_children),
            "transfers": list(task.transfers.select_related("from_org", "to_org", "by")),
            "lead_rows": lead_rows,
            "can_work": can_work,
            "workable": workable,
            "decline_form": decline_form if can_work else None,
            "hand_down_form": hand_down_form if may_hand_down else None,
            "lead_form": lead_form if workable else None,
            "is_hub": membership.role in HUB_ROLES,
            "is_auditor": membership.role == R.AUDITOR,
            "oversight": not can_work and membership.role in TASK_WORKER_ROLES,
            "pause_form": pause_form if may_pause else None,
            "may_resume": task.is_paused and can_resume(request.user, membership, task),
            "is_escalated": bool(getattr(task, "is_escalated", False)),
            "may_acknowledge": bool(getattr(task, "is_escalated", False))
            and can_acknowledge(request.user, membership, task),
            "escalation_steps": list(
                escalation_list_for(membership).filter(
                    task=task, generation=task.alert_generation, acknowledged_at__isnull=True
                )
            ),
        },
        status=status,
    )


@login_required
@refusals_audited
@require_GET
def task_detail(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    return _task_page(request, membership, task)


@login_required
@refusals_audited
@require_POST
def task_accept_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    _require_worker(request, membership, task)
    try:
        task_accept(task=task, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _task_page(request, membership, task, status=exc.status_code)
    messages.success(
        request, "Task accepted. The accept-by clock has stopped; the act-by deadline still runs."
    )
    return redirect("spokes:task", pk=task.pk)


@login_required
@refusals_audited
@require_POST
def task_decline_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    _require_worker(request, membership, task)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _task_page(request, membership, task, decline_form=form, status=400)
    try:
        task_decline(
            task=task, actor=request.user, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        task.refresh_from_db()
        return _task_page(request, membership, task, decline_form=form, status=status)
    messages.success(request, "Task declined. The hub has been told why and will reassign it.")
    return redirect("spokes:task", pk=task.pk)


@login_required
@refusals_audited
@require_POST
def task_hand_down_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    require_role(membership, {R.REGIONAL_COORDINATOR}, "Only a regional coordinator hands tasks down.")
    if not can_hand_down(request.user, membership, task):
        raise PermissionDenied("Only the region holding this task can hand it down.")
    form = HandDownForm(request.POST, region=task.assignee_org)
    if not form.is_valid():
        return _task_page(request, membership, task, hand_down_form=form, status=400)
    to_org = form.cleaned_data["assignee_org"]
    try:
        task_hand_down(task=task, to_org=to_org, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        status = show_domain_error(form, exc)
        task.refresh_from_db()
        return _task_page(request, membership, task, hand_down_form=form, status=status)
    messages.success(request, f"Task handed down to {to_org.name}. Your region keeps read-only oversight.")
    return redirect("spokes:task", pk=task.pk)


@login_required
@refusals_audited
@require_POST
def lead_create_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    _require_worker(request, membership, task)
    form = LeadForm(request.POST)
    if not form.is_valid():
        return _task_page(request, membership, task, lead_form=form, status=400)
    try:
        lead_create(
            task=task,
            actor=request.user,
            kind=form.cleaned_data["kind"],
            description=form.cleaned_data["description"],
            notes=form.cleaned_data["notes"],
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        task.refresh_from_db()
        return _task_page(request, membership, task, lead_form=form, status=status)
    messages.success(request, "Lead added.")
    return redirect(reverse("spokes:task", kwargs={"pk": task.pk}) + "#leads")


@login_required
@refusals_audited
@require_POST
def lead_update_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    lead = scoped_get(Lead.objects.filter(task__in=task_list_for(membership)).select_related("task"), pk)
    task = _tasks(membership).get(pk=lead.task_id)
    _require_worker(request, membership, task)
    form = LeadUpdateForm(request.POST, prefix=f"lead-{lead.pk}")
    if not form.is_valid():
        return _task_page(request, membership, task, lead_update_form=(lead.pk, form), status=400)
    try:
        lead_update(
            lead=lead,
            actor=request.user,
            status=form.cleaned_data["status"],
            notes=form.cleaned_data["notes"],
        )
    except DomainError as exc:
        status = show_domain_error(form, exc)
        return _task_page(request, membership, task, lead_update_form=(lead.pk, form), status=status)
    messages.success(request, "Lead updated.")
    return redirect(reverse("spokes:task", kwargs={"pk": task.pk}) + f"#lead-{lead.pk}")


@login_required
@refusals_audited
@require_POST
def task_pause_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    require_role(membership, PAUSE_ROLES, "Only a supervisor of the holding organisation stops the clocks.")
    if not can_pause(request.user, membership, task):
        raise PermissionDenied("Only a supervisor of the holding organisation stops the clocks.")
    form = PauseForm(request.POST)
    if not form.is_valid():
        return _task_page(request, membership, task, pause_form=form, status=400)
    try:
        task_pause(task=task, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        status = show_domain_error(form, exc)
        task = _tasks(membership).get(pk=task.pk)
        return _task_page(request, membership, task, pause_form=form, status=status)
    messages.success(request, "Clocks stopped. Reminders and escalations wait until the task is resumed.")
    return redirect("spokes:task", pk=task.pk)


@login_required
@refusals_audited
@require_POST
def task_resume_view(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    membership = member(request)
    task = scoped_get(_tasks(membership), pk)
    require_role(membership, RESUME_ROLES, "Your role cannot restart this task's clocks.")
    if not can_resume(request.user, membership, task):
        raise PermissionDenied("Only the holder or the hub restarts this task's clocks.")
    try:
        task_resume(task=task, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _task_page(request, membership, task, status=exc.status_code)
    messages.success(request, "Clocks restarted. Every deadline moved on by the time paused.")
    return redirect("spokes:task", pk=task.pk)
