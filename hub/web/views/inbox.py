"""Everyone's inbox of reminders and escalations, marking one read, and acknowledging a breach."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from hub.models import Membership, Notification, Task
from hub.policies.rules import Act, Actor
from hub.selectors import notification_list_for, notification_search, tasks_for
from hub.services.alerts import task_acknowledge
from hub.services.audit import audit_list_read
from hub.services.notifications import notification_mark_read
from hub.services.tasks import task_audit_read
from hub.web.forms import AcknowledgeForm
from hub.web.presenters import deadline_for, inbox_rows
from hub.web.shortcuts import AuthenticatedHttpRequest, list_query, page, policy_view, submit

PAGE_SIZE = 50


def _tasks(membership: Membership) -> Any:
    return tasks_for(membership)


def _inbox(membership: Membership) -> Any:
    return notification_list_for(membership.user)


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after a POST: the ``next`` field when it is a path on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@policy_view(Act.NOTIFICATION_LIST)
def inbox(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    show = "all" if request.GET.get("show") == "all" else "unread"
    q = request.GET.get("q", "").strip()[:100]
    queryset = notification_list_for(request.user)
    unread_count = queryset.filter(read_at__isnull=True).count()
    if show == "unread":
        queryset = queryset.filter(read_at__isnull=True)
    if q:
        queryset = notification_search(queryset, q)
    notifications = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_list_read(
        actor=request.user,
        object_type="notification",
        ids=[n.pk for n in notifications],
        query={"page": "inbox", **request.GET.dict()},
    )
    return page(
        request,
        "hub/inbox.html",
        {
            "notifications": notifications,
            "rows": inbox_rows(request, actor.membership, notifications),
            "show": show,
            "show_param": "all" if show == "all" else "",
            "q": q,
            "unread_count": unread_count,
            "query": list_query(show="all" if show == "all" else "", q=q),
        },
    )


@policy_view(Act.NOTIFICATION_READ, methods=["POST"], lookup=_inbox)
def notification_read(
    request: AuthenticatedHttpRequest, actor: Actor, notification: Notification
) -> HttpResponse:
    notification_mark_read(notification=notification, actor=request.user)
    return redirect(safe_next(request, reverse("hub:inbox")))


def _acknowledge_page(
    request: AuthenticatedHttpRequest, task: Task, form: AcknowledgeForm, status: int = 200
) -> HttpResponse:
    task_audit_read(actor=request.user, task=task)
    return page(
        request,
        "hub/acknowledge.html",
        {"task": task, "form": form, "deadline": deadline_for(task), "next": safe_next(request, "")},
        status=status,
    )


@policy_view(Act.TASK_ACKNOWLEDGE, methods=["GET", "POST"], lookup=_tasks)
def task_acknowledge_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    """Take responsibility for a breached task. A GET shows the form (with a note); the inbox
    and the task page post to it directly."""
    if request.method == "GET":
        return _acknowledge_page(request, task, AcknowledgeForm())

    def acknowledged(_: Task) -> HttpResponse:
        messages.success(request, "Escalation acknowledged: the chain has stopped and your name is on it.")
        return redirect(safe_next(request, reverse("spokes:task", kwargs={"pk": task.pk})))

    return submit(
        request,
        AcknowledgeForm(request.POST),
        lambda data: task_acknowledge(task=task, actor=request.user, note=data["note"]),
        again=lambda form, status: _acknowledge_page(request, task, form, status),
        done=acknowledged,
    )
