"""The board of every task with its deadline state (hub and auditors), and reassignment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from hub.models import Membership, Organisation, Task
from hub.policies.rules import Act, Actor, allowed
from hub.selectors import (
    BoardFilters,
    open_tasks_by_region,
    organisation_list,
    task_board,
    task_list_for,
    tasks_for,
)
from hub.services.audit import audit_list_read
from hub.services.tasks import task_audit_read, task_cancel, task_reassign
from hub.web.forms import BOARD_SORTS, BoardFilterForm, CancelForm, ReassignForm
from hub.web.presenters import DEADLINE_LABELS, chart_payload, deadline_for, task_rows
from hub.web.shortcuts import AuthenticatedHttpRequest, page, policy_view, submit

PAGE_SIZE = 50
REGION_CHART_STATES = ("escalated", "overdue", "due_soon", "on_time", "paused")


def _tasks(membership: Membership) -> QuerySet[Task]:
    return tasks_for(membership)


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


@policy_view(Act.TASK_BOARD)
def board(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    form = BoardFilterForm(request.GET)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        filters = BoardFilters(
            q=data["q"].strip(),
            sort=BOARD_SORTS.get(data["sort"], ()),
            status=data["status"],
            holder=data["holder"],
            region=data["region"],
            deadline=data["deadline"],
            grade=data["grade"],
        )
    else:
        filters, status = BoardFilters(), 400
    now = timezone.now()
    tasks = Paginator(task_board(task_list_for(actor.membership), filters, now), PAGE_SIZE).get_page(
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
    unsorted = query.copy()
    unsorted.pop("sort", None)
    return page(
        request,
        "hub/board.html",
        {
            "form": form,
            "tasks": tasks,
            "rows": task_rows(tasks, now),
            "query": query.urlencode(),
            "unsorted": unsorted.urlencode(),
            "sort": request.GET.get("sort", ""),
            "summary": _region_chart(actor.membership, now),
            "is_hub": allowed(request.user, Act.TASK_REASSIGN),
            "filtered": any(request.GET.get(f) for f in form.fields if f != "sort"),
        },
        status=status,
    )


def _reassign_page(
    request: AuthenticatedHttpRequest, task: Task, form: ReassignForm, status: int = 200
) -> HttpResponse:
    task_audit_read(actor=request.user, task=task)
    return page(
        request,
        "hub/task_reassign.html",
        {"task": task, "form": form, "deadline": deadline_for(task)},
        status=status,
    )


@policy_view(Act.TASK_REASSIGN, methods=["GET", "POST"], lookup=_tasks)
def task_reassign_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    if request.method == "GET":
        return _reassign_page(request, task, ReassignForm(task=task))
    old_holder = task.assignee_org

    def reassigned(moved: Task) -> HttpResponse:
        messages.success(
            request, f"Task reassigned to {moved.assignee_org.name}. {old_holder.name} no longer sees it."
        )
        return redirect("hub:board")

    return submit(
        request,
        ReassignForm(request.POST, task=task),
        lambda data: task_reassign(
            task=task, to_org=data["assignee_org"], actor=request.user, reason=data["reason"]
        ),
        again=lambda form, status: _reassign_page(request, task, form, status),
        done=reassigned,
    )


@policy_view(Act.TASK_CANCEL, methods=["POST"], lookup=_tasks)
def task_cancel_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    def cancelled(done: Task) -> HttpResponse:
        messages.success(
            request, f"Declined task of {done.assignee_org.name} on {done.referral.external_id} cancelled."
        )
        return redirect("hub:referral", pk=done.referral_id)

    def refused(form: CancelForm, status: int) -> HttpResponse:
        for error in [*form.errors.get("reason", []), *form.non_field_errors()]:
            messages.error(request, str(error))
        return redirect("spokes:task", pk=task.pk)

    return submit(
        request,
        CancelForm(request.POST),
        lambda data: task_cancel(task=task, actor=request.user, reason=data["reason"]),
        again=refused,
        done=cancelled,
    )
